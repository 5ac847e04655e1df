//! What can go wrong in a use case, as facts a person can act on. The API maps each variant to an
//! RFC 9457 problem; `Internal` carries text for the log only and is answered generically.

use shuyu_core::Timestamp;
use shuyu_policy::Denial;
use shuyu_store::StoreError;

use crate::SsoRefusal;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// No valid session or token: sign in.
    #[error("sign in first")]
    Unauthenticated,
    #[error("{}", .0.message)]
    Forbidden(Denial),
    #[error("no {kind} with that id exists, or it is not visible to you")]
    NotFound { kind: &'static str },
    /// Bad input: `field` names what to fix.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Bad input in several places: each `(path, what to change)`, e.g. `draft.fields[2].grade`.
    #[error("{}", .0.iter().map(|(p, m)| format!("{p}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<(String, String)>),
    #[error("{0}")]
    Conflict(String),
    /// Wrong username, password or code (deliberately not saying which).
    #[error("the username, password or second-factor code is wrong")]
    LoginFailed,
    #[error("a second-factor code is required for this account")]
    SecondFactorRequired,
    #[error("the account is locked after repeated failed sign-ins until {until}")]
    Locked { until: Timestamp },
    #[error("the account is disabled; ask an administrator")]
    Disabled,
    /// A single sign-on was refused (see [`SsoRefusal`]).
    #[error("{0}")]
    Sso(SsoRefusal),
    /// A function the deployment is not set up for (e.g. no master key): the text says what to
    /// configure, never a secret.
    #[error("{0}")]
    Unavailable(String),
    /// A workspace query was refused (by the policy of the secure domain: controls, output
    /// control, budget, development first…) or failed while running (a limit); it is stored and
    /// audited under `query`.
    #[error("{reason}")]
    Query {
        query: shuyu_core::QueryId,
        refused: bool,
        reason: String,
    },
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub(crate) fn invalid(field: &'static str, message: impl ToString) -> Self {
        AppError::Invalid {
            field,
            message: message.to_string(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::NotFound { kind: "record" },
            StoreError::Conflict(what) => AppError::Conflict(conflict_message(&what)),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Turns a constraint name into a sentence without echoing any value.
fn conflict_message(what: &str) -> String {
    let field = if what.contains("username") {
        "username"
    } else if what.contains("credit_code") {
        "unified social credit code"
    } else if what.contains("sso_subject") {
        "single sign-on identity"
    } else {
        "key"
    };
    format!("another record already has this {field}; choose a different one")
}
