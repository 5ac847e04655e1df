//! [`SandboxError`]: why a session could not be opened, a query was refused, or a run stopped.
//!
//! Messages are written for the merchant who typed the query: they name what was refused and
//! why. They must never quote a data value: planning errors only echo the query text and the
//! session's own table and column names; errors raised while running are reduced to their kind,
//! because DataFusion's run-time messages (a failed cast, an overflow) may quote a value.

use std::fmt;
use std::time::Duration;

use crate::Metering;

/// The kind of a refused statement that is not a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// Data definition: `CREATE`, `DROP`, `ALTER`, `TRUNCATE`, `CREATE EXTERNAL TABLE`.
    Ddl,
    /// Data manipulation: `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `COPY`.
    Dml,
    /// `EXPLAIN` (and `EXPLAIN ANALYZE`, which runs the query).
    Explain,
    /// Session and transaction statements: `SET`, `RESET`, `PREPARE`, `BEGIN`, `SHOW`, …
    Statement,
}

impl fmt::Display for StatementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ddl => "DDL",
            Self::Dml => "DML",
            Self::Explain => "EXPLAIN",
            Self::Statement => "a session statement",
        })
    }
}

/// Errors of the sandbox. Variants raised while running carry the [`Metering`] of the work done
/// until the query stopped, so a runaway query is still metered.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    // ---- opening a session ----
    /// A table name is not a plain lower-case SQL identifier.
    #[error(
        "table name `{name}` is not allowed: use lower-case letters, digits and `_`, starting with a letter or `_`"
    )]
    InvalidTableName {
        /// The name given.
        name: String,
    },
    /// Two tables of one session have the same name.
    #[error("table `{name}` is listed twice in this workspace")]
    DuplicateTable {
        /// The name given twice.
        name: String,
    },
    /// A table exposes no column.
    #[error("table `{table}` exposes no column: list at least one")]
    NoColumns {
        /// The table.
        table: String,
    },
    /// An exposed column is not in the table's dataset file.
    #[error("column `{column}` of table `{table}` is not in its dataset")]
    ColumnNotInDataset {
        /// The table.
        table: String,
        /// The column listed.
        column: String,
    },
    /// The dataset file cannot be read or decrypted (missing or wrong data key, altered file).
    #[error(
        "the data of table `{table}` cannot be read: {reason}; the operator must check the dataset and its data key"
    )]
    DatasetUnreadable {
        /// The table.
        table: String,
        /// What failed (no data values).
        reason: String,
    },

    // ---- planning ----
    /// A statement other than a query.
    #[error(
        "{kind} is not allowed in the secure domain (`{statement}`): only SELECT queries run here"
    )]
    NotAQuery {
        /// What kind of statement it is.
        kind: StatementKind,
        /// Its leading keywords.
        statement: String,
    },
    /// A table that is not one of the session's.
    #[error("table `{table}` does not exist in this workspace")]
    UnknownTable {
        /// The name in the query.
        table: String,
    },
    /// A column that does not exist (or is not exposed) in the query's tables.
    #[error("column `{column}` does not exist in this workspace's tables{hint}")]
    UnknownColumn {
        /// The name in the query.
        column: String,
        /// The columns that could have been meant (formatted, may be empty).
        hint: String,
    },
    /// A function outside the allow-list.
    #[error(
        "function `{function}` is not available in the secure domain; available functions: {available}"
    )]
    FunctionNotAvailable {
        /// The function named in the query.
        function: String,
        /// The allow-list, comma-separated.
        available: String,
    },
    /// A plan node the sandbox does not run (found by the plan check).
    #[error("the query uses {what}, which the secure domain does not run")]
    PlanNotAllowed {
        /// What was found, for the merchant (e.g. "window functions").
        what: String,
    },
    /// The query's output is not allowed under the grant's output control (e.g. row-level output
    /// where only aggregates may leave, or groups whose persons cannot be counted).
    #[error("the query's output is not allowed: {reason}")]
    OutputNotAllowed {
        /// Why, and what to do instead.
        reason: String,
    },
    /// The query's result is not allowed by the column controls (names the column and why).
    #[error(transparent)]
    ColumnControl(#[from] crate::control::ControlError),
    /// The differential privacy parameters of the grant or query cannot be used (a
    /// non-positive ε, δ out of range, `L` or `C` of 0, unusable bounds).
    #[error("the differential privacy parameters cannot be used: {reason}")]
    DpParameters {
        /// Which parameter and what to change.
        reason: String,
    },
    /// A differential privacy mechanism refused (its message names the parameter, never a value).
    #[error("differential privacy: {0}")]
    Dp(#[from] shuyu_dp::DpError),
    /// Any other planning error (syntax, types, ambiguity); the message is DataFusion's.
    #[error("the query is not valid: {message}")]
    InvalidQuery {
        /// DataFusion's message (it quotes only the query and schema).
        message: String,
    },

    // ---- running ----
    /// The query needed more memory than its limit.
    #[error(
        "the query stopped at its memory limit of {limit_bytes} bytes: aggregate or filter more, or group by fewer values"
    )]
    MemoryLimit {
        /// The limit.
        limit_bytes: usize,
        /// Work done until it stopped.
        metering: Metering,
    },
    /// The memory all running queries share was taken by others: a momentary condition.
    #[error(
        "the secure domain's shared query memory ({limit_bytes} bytes) is in use by other running queries: run the query again shortly"
    )]
    DomainBusy {
        /// The domain's bound.
        limit_bytes: usize,
        /// Work done until it stopped.
        metering: Metering,
    },
    /// The query ran longer than its time limit and was cancelled.
    #[error(
        "the query was cancelled at its time limit of {limit:?}: narrow it down or aggregate more"
    )]
    Timeout {
        /// The limit.
        limit: Duration,
        /// Work done until it stopped.
        metering: Metering,
    },
    /// The query's table scans produced more rows than its limit.
    #[error(
        "the query scanned more than its limit of {limit} rows: add a filter that narrows the scan"
    )]
    ScanLimit {
        /// The limit.
        limit: u64,
        /// Work done until it stopped.
        metering: Metering,
    },
    /// The query's result has more rows than its limit.
    #[error("the query's result has more than {limit} rows: aggregate it or add a LIMIT")]
    OutputLimit {
        /// The limit.
        limit: u64,
        /// Work done until it stopped.
        metering: Metering,
    },
    /// The query was cancelled from outside (a freeze, or the caller gave up).
    #[error("the query was cancelled")]
    Cancelled {
        /// Work done until it stopped.
        metering: Metering,
    },
    /// The data cannot be read or decrypted while running.
    #[error(
        "the data of this workspace cannot be read: {reason}; the operator must check the dataset and its data key"
    )]
    DataUnreadable {
        /// What failed (no data values).
        reason: String,
        /// Work done until it stopped.
        metering: Metering,
    },
    /// Any other failure while running. DataFusion's message is withheld: it may quote a value.
    #[error(
        "the query failed while running ({kind}); the details are withheld because they may contain data values"
    )]
    Execution {
        /// The kind of failure (e.g. "arithmetic or cast error").
        kind: &'static str,
        /// Work done until it stopped.
        metering: Metering,
    },
}

impl SandboxError {
    /// The metering of a run that stopped, if this error comes from running a query.
    #[must_use]
    pub fn metering(&self) -> Option<&Metering> {
        match self {
            Self::MemoryLimit { metering, .. }
            | Self::DomainBusy { metering, .. }
            | Self::Timeout { metering, .. }
            | Self::ScanLimit { metering, .. }
            | Self::OutputLimit { metering, .. }
            | Self::Cancelled { metering }
            | Self::DataUnreadable { metering, .. }
            | Self::Execution { metering, .. } => Some(metering),
            _ => None,
        }
    }

    /// Whether this is a refusal of the query itself (as opposed to a limit, a cancellation or a
    /// failure while running): what the caller audits as "refused".
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::NotAQuery { .. }
                | Self::UnknownTable { .. }
                | Self::UnknownColumn { .. }
                | Self::FunctionNotAvailable { .. }
                | Self::PlanNotAllowed { .. }
                | Self::OutputNotAllowed { .. }
                | Self::ColumnControl(_)
        )
    }
}
