//! Store errors. Database messages are kept for the log but never shown to users: callers map
//! `Database` to a generic internal error.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A uniqueness rule was broken; the text names the constraint or column, never a value.
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found")]
    NotFound,
    /// A stored value does not parse: the database was edited by hand or is corrupt.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("a transaction tried to commit without an audit event; every state change needs one")]
    NoAuditEvent,
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    pub(crate) fn connect(err: sqlx::Error) -> Self {
        StoreError::Connect(err.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            let message = db.message().to_ascii_lowercase();
            if db.is_unique_violation()
                || message.contains("unique")
                || message.contains("duplicate key")
            {
                let what = db.constraint().map(str::to_owned).unwrap_or_else(|| {
                    // SQLite says "UNIQUE constraint failed: people.username".
                    db.message()
                        .rsplit(':')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_owned()
                });
                return StoreError::Conflict(what);
            }
        }
        if matches!(err, sqlx::Error::RowNotFound) {
            return StoreError::NotFound;
        }
        StoreError::Database(err)
    }
}
