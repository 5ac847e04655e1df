//! The secure domain's query foundation (授权运营域): a locked-down DataFusion session over the
//! encrypted datasets.
//!
//! A [`SandboxSession`] is one workspace environment's world. What it guarantees:
//!
//! - **Only its tables exist.** The session is built from a list of [`TableSpec`]s; the SQL
//!   planner ([`planner::SandboxContext`]) answers only from that list, and each table exposes only
//!   its listed columns (a Parquet `ListingTable` whose schema is the listed columns, so the file's
//!   other columns are not in the plan at all: "no such column"). There is no shared catalog, no
//!   `information_schema`, no URL or file tables, no table functions.
//! - **Only queries run.** `CREATE`, `INSERT`, `COPY`, `SET`, `PREPARE`, `EXPLAIN` … are refused
//!   on the parsed statement, by DataFusion's `SQLOptions` (DDL, DML and statements off), and by
//!   the plan check ([`check_plan`]), which walks the logical plan with its subqueries and refuses
//!   scans of foreign tables, unexpected node kinds (extensions, DML, DDL, windows, recursion) and
//!   functions outside the allow-list ([`functions`]). [`SandboxSession::execute`] checks again.
//! - **Reads only, and only its own objects.** The store is seen through [`store::ScopedStore`]
//!   (only the tables' objects exist and can be listed) and [`store::MeteredStore`], which refuses
//!   every write and counts every byte read, under a private URL scheme (`shuyu-sandbox://`).
//! - **Limits.** Each query gets its own memory pool (greedy, [`Limits::memory_bytes`]; no disk
//!   manager, so nothing spills to disk and no temporary files hold data), a timeout, a
//!   scanned-rows limit (a [`guard::Guard`] around every operator also stops and yields) and a result-rows limit. A query
//!   runs on its own tokio task; a timeout, a limit, a [`CancellationToken`] or dropping the
//!   `execute` future aborts that task and with it DataFusion's work.
//! - **Metering** ([`Metering`]): elapsed and compute time, rows scanned, bytes fetched, result
//!   rows and bytes — also on the errors of stopped runs.
//! - **Column controls.** Each exposed column carries a [`ColumnControl`] (deny by default);
//!   [`control::derive`] derives every result column's control through the logical plan and
//!   `plan` and `execute` refuse a result that is not allowed, naming the column and the reason.
//! - **Output control for `aggregate` grants** ([`output`]): [`SandboxSession::execute_aggregate`]
//!   runs only grouped COUNT/SUM/AVG and drops groups with fewer than `k` distinct privacy units,
//!   reporting what it suppressed.
//! - **Differential privacy for `dp_aggregate` grants** ([`dp`]):
//!   [`SandboxSession::preview_dp`] states the cost and expected errors without reading data;
//!   [`SandboxSession::execute_dp`] bounds each privacy unit's contribution (`L` groups, `C` rows),
//!   selects groups privately and answers COUNT/SUM/AVG with noise from `shuyu-dp`.
//! - **Plan fingerprints** ([`mod@fingerprint`]): an SM3 digest of the optimized, normalized plan and
//!   the control parameters, for the privacy ledger's free repeats.
//! - **No values in errors.** Refusals name the table, column, function or statement kind;
//!   failures while running are reduced to their kind.
//!
//! What it does **not** do yet (later pieces of the secure domain): deciding who may query
//! (`shuyu-policy`), grant terms and liveness, spending the privacy budget (the caller charges
//! `shuyu-dp`'s ledger with the preview's cost under the plan's fingerprint), desensitization of development tables
//! (`shuyu-desensitize`), dev/prod plan equivalence, result storage and auditing. It measures compute
//! time from DataFusion's operator metrics, not kernel thread CPU time. The session scopes the
//! store it is given to its tables' objects.
//!
//! Query operators run on the [`QueryDomain`]'s runtime (a dedicated one on the server, the
//! caller's in tests), drawing memory from the domain's shared bound as well as their own limit.
//! The caller's runtime keeps the time limit and cancellation.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod check;
pub mod control;
pub mod domain;
pub mod dp;
pub mod error;
pub mod fingerprint;
pub mod functions;
pub mod guard;
pub mod output;
pub mod planner;
mod session;
pub mod store;

pub use check::check_plan;
pub use control::{ControlError, Controls, OutputColumn, Reason, derive};
pub use domain::{DomainBusy, QueryDomain};
pub use dp::{DpAggregate, DpColumn, DpControl, DpOutput, DpPreview};
pub use error::{SandboxError, StatementKind};
pub use fingerprint::fingerprint;
pub use output::{AggregateControl, ControlledPlan, Suppression, apply_aggregate_control};
pub use session::{
    AggregateOutput, Limits, Metering, QueryOutput, SandboxSession, SessionSpec, TableSpec,
    sql_options,
};
pub use shuyu_profile::ColumnControl;
pub use store::ScopedStore;
pub use tokio_util::sync::CancellationToken;
