//! [`SandboxSession`]: one workspace environment's query session.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::DataFusionError;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SessionStateDefaults;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::logical_expr::planner::ExprPlanner;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SQLOptions, SessionConfig};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::planner::SqlToRel;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use futures_util::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path;
use shuyu_engine::EncryptedStoreError;
use shuyu_profile::ColumnControl;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::check::check_plan;
use crate::control::{Controls, OutputColumn, derive};
use crate::domain::{QueryDomain, QueryMemory};
use crate::error::{SandboxError, StatementKind};
use crate::functions::Functions;
use crate::guard::{Guard, QueryControl, ScanLimitExceeded};
use crate::output::{self, AggregateControl, Suppression};
use crate::planner::SandboxContext;
use crate::store::{MeteredStore, ScopedStore};

/// The private URL under which a session's store is registered (and the only one it knows).
const STORE_URL: &str = "shuyu-sandbox://datasets";

/// Bytes fetched at the end of a Parquet file to find its footer.
const FOOTER_HINT: usize = 64 * 1024;

/// One table of a session: a name, a Parquet file in the store, and the columns it exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's SQL name: lower-case letters, digits and `_`.
    pub name: String,
    /// The object path of the Parquet file in the session's store.
    pub path: Path,
    /// The exposed columns, in this order; the file's other columns do not exist in the session.
    pub columns: Vec<String>,
    /// The column control of each exposed column (from the grant). A column without one is
    /// [`ColumnControl::Denied`]: deny by default. See [`crate::control`].
    pub controls: BTreeMap<String, ColumnControl>,
}

/// Per-query limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Memory a query's operators may hold (hash tables, sorts, buffers). Nothing spills to disk.
    pub memory_bytes: usize,
    /// Wall-clock time after which a query is cancelled.
    pub timeout: Duration,
    /// Rows all the table scans of one query may emit together.
    pub max_scanned_rows: u64,
    /// Rows a result may have.
    pub max_output_rows: u64,
}

impl Default for Limits {
    /// 256 MiB, 60 s, 100 million scanned rows, 100 000 result rows.
    fn default() -> Self {
        Self {
            memory_bytes: 256 * 1024 * 1024,
            timeout: Duration::from_secs(60),
            max_scanned_rows: 100_000_000,
            max_output_rows: 100_000,
        }
    }
}

/// What opens a session.
#[derive(Clone)]
pub struct SessionSpec {
    /// The session's tables (its whole world).
    pub tables: Vec<TableSpec>,
    /// The store to read the tables' files from (in practice the `EncryptedStore`).
    pub store: Arc<dyn ObjectStore>,
    /// Limits of every query of the session.
    pub limits: Limits,
    /// The memory and runtime all sessions of the server share.
    pub domain: Arc<QueryDomain>,
}

/// The work a query did: the basis of metering and fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metering {
    /// Wall-clock time from the start of execution to its end (or stop).
    pub elapsed: Duration,
    /// Compute time: DataFusion's `elapsed_compute` summed over every operator of the plan,
    /// i.e. time spent in operator code on any thread, excluding waiting for I/O. (Not the
    /// kernel's thread CPU time: the query's work is spread over the runtime's threads.) Some
    /// operators record it only per finished batch, so a stopped query's figure is a lower bound.
    pub compute: Duration,
    /// Rows emitted by the table scans (after row-group pruning).
    pub rows_scanned: u64,
    /// Plaintext bytes fetched from the store (the ciphertext adds headers and tags).
    pub bytes_fetched: u64,
    /// Result rows.
    pub output_rows: u64,
    /// Result size in memory (Arrow buffers).
    pub output_bytes: u64,
}

/// The result of a query.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    /// The result's schema.
    pub schema: SchemaRef,
    /// The result rows.
    pub batches: Vec<RecordBatch>,
    /// The work done.
    pub metering: Metering,
}

/// A locked-down DataFusion session holding only its own tables. See the crate docs.
pub struct SandboxSession {
    state: SessionState,
    tables: BTreeMap<String, Arc<dyn TableProvider>>,
    controls: Controls,
    functions: Functions,
    expr_planners: Vec<Arc<dyn ExprPlanner>>,
    store: Arc<dyn ObjectStore>,
    limits: Limits,
    domain: Arc<QueryDomain>,
}

impl std::fmt::Debug for SandboxSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxSession")
            .field("tables", &self.tables.keys().collect::<Vec<_>>())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The options every statement is planned under: no DDL, no DML, no statements.
#[must_use]
pub fn sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

fn store_url() -> Result<Url, SandboxError> {
    Url::parse(STORE_URL).map_err(|e| SandboxError::InvalidQuery {
        message: e.to_string(),
    })
}

fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl SandboxSession {
    /// Opens a session over `spec.tables`: reads each file's schema (its Parquet footer) through
    /// the store and exposes only the listed columns.
    ///
    /// # Errors
    /// A bad table name, a duplicate, a column not in the file, or a file that cannot be read or
    /// decrypted ([`SandboxError::DatasetUnreadable`]).
    pub async fn new(mut spec: SessionSpec) -> Result<Self, SandboxError> {
        // The store holds only the session's own objects, whatever the caller passed.
        let objects: Vec<Path> = spec.tables.iter().map(|t| t.path.clone()).collect();
        spec.store = Arc::new(ScopedStore::new(spec.store, objects));
        let functions = Functions::allowed();
        let (scalar, aggregate) = functions.udfs();
        let mut config = SessionConfig::new()
            .with_target_partitions(2)
            .with_information_schema(false)
            .with_create_default_catalog_and_schema(true);
        // Identifiers are normalised to lower case (the default, relied on by the table names).
        config.options_mut().sql_parser.enable_ident_normalization = true;
        let runtime = runtime(
            Arc::clone(&spec.store),
            Arc::new(AtomicU64::new(0)),
            Arc::new(QueryMemory::new(
                spec.limits.memory_bytes,
                Arc::clone(&spec.domain),
            )),
        )?;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_scalar_functions(scalar)
            .with_aggregate_functions(aggregate)
            .with_window_functions(Vec::new())
            .with_table_functions(Default::default())
            .build();
        let mut tables: BTreeMap<String, Arc<dyn TableProvider>> = BTreeMap::new();
        for table in &spec.tables {
            if !valid_table_name(&table.name) {
                return Err(SandboxError::InvalidTableName {
                    name: table.name.clone(),
                });
            }
            if tables.contains_key(&table.name) {
                return Err(SandboxError::DuplicateTable {
                    name: table.name.clone(),
                });
            }
            let provider = open_table(&state, table).await?;
            tables.insert(table.name.clone(), provider);
        }
        // Also registered in the state's own catalog, so that DataFusion's own entry points (used
        // in the tests to prove `SQLOptions` refuses) see the same world; the sandbox plans with
        // its own `SandboxContext`.
        let catalog_state = state.clone();
        if let Some(schema) = catalog_state
            .catalog_list()
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
        {
            for (name, provider) in &tables {
                schema
                    .register_table(name.clone(), Arc::clone(provider))
                    .map_err(|e| SandboxError::InvalidQuery {
                        message: e.strip_backtrace(),
                    })?;
            }
        }
        let mut controls = Controls::new();
        for table in &spec.tables {
            for (column, control) in &table.controls {
                controls.set(&table.name, column, *control);
            }
        }
        Ok(Self {
            state,
            tables,
            controls,
            functions,
            expr_planners: SessionStateDefaults::default_expr_planners(),
            store: spec.store,
            limits: spec.limits,
            domain: spec.domain,
        })
    }

    /// The session's table names.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// The exposed schema of `table`, if the session has it.
    #[must_use]
    pub fn table_schema(&self, table: &str) -> Option<SchemaRef> {
        self.tables.get(table).map(|t| t.schema())
    }

    /// The session's limits.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The session's DataFusion state (for the optimizer of [`crate::fingerprint`]).
    pub(crate) fn state(&self) -> &SessionState {
        &self.state
    }

    /// The plan check against the session's own tables.
    pub(crate) fn check(&self, plan: &LogicalPlan) -> Result<(), SandboxError> {
        check_plan(plan, &self.tables)
    }

    /// Parses and plans one SQL query, then checks the plan ([`crate::check_plan`]) and its
    /// column controls ([`Self::check_controls`]).
    ///
    /// # Errors
    /// A refusal (not a query, unknown table, column or function, a plan node the sandbox does
    /// not run) or [`SandboxError::InvalidQuery`].
    pub fn plan(&self, sql: &str) -> Result<LogicalPlan, SandboxError> {
        let dialect = self.state.config().options().sql_parser.dialect;
        let statement =
            self.state
                .sql_to_statement(sql, &dialect)
                .map_err(|e| SandboxError::InvalidQuery {
                    message: e.strip_backtrace(),
                })?;
        refuse_non_query(&statement)?;
        let context = SandboxContext {
            tables: &self.tables,
            functions: &self.functions,
            expr_planners: &self.expr_planners,
            options: self.state.config_options(),
            misses: RefCell::default(),
        };
        let options = self.state.config_options().sql_parser.clone();
        let planned =
            SqlToRel::new_with_options(&context, (&options).into()).statement_to_plan(statement);
        let plan = match planned {
            Ok(plan) => plan,
            Err(e) => return Err(planning_error(&e, &context.misses.borrow())),
        };
        sql_options()
            .verify_plan(&plan)
            .map_err(|e| SandboxError::InvalidQuery {
                message: e.strip_backtrace(),
            })?;
        check_plan(&plan, &self.tables)?;
        self.check_controls(&plan)?;
        Ok(plan)
    }

    /// Derives the column control of each output column of `plan` through the plan and refuses
    /// a result its tables' column controls do not allow ([`crate::control::derive`]).
    ///
    /// # Errors
    /// [`SandboxError::ColumnControl`] naming the column and the reason.
    pub fn check_controls(&self, plan: &LogicalPlan) -> Result<Vec<OutputColumn>, SandboxError> {
        Ok(derive(plan, &self.controls)?)
    }

    /// Runs a checked plan under the session's limits; `cancel` stops it from outside.
    ///
    /// The plan is checked again first (it may come from anywhere). The query runs on its own
    /// task with a fresh memory pool and byte counter; on a limit, a timeout or cancellation the
    /// task is aborted (DataFusion's spawned work with it) and the error carries the metering.
    ///
    /// # Errors
    /// A refusal from the plan check, or a stopped run (see [`SandboxError`]).
    pub async fn execute(
        &self,
        plan: LogicalPlan,
        cancel: &CancellationToken,
    ) -> Result<QueryOutput, SandboxError> {
        check_plan(&plan, &self.tables)?;
        self.check_controls(&plan)?;
        self.run(plan, self.limits.max_output_rows, cancel).await
    }

    /// Runs `plan` under the session's limits (`max_rows` result rows) after the plan check but
    /// **without** the column controls: for the internal plans of the output controls, whose
    /// caller has checked the merchant's own plan against the column controls first.
    pub(crate) async fn run(
        &self,
        plan: LogicalPlan,
        max_rows: u64,
        cancel: &CancellationToken,
    ) -> Result<QueryOutput, SandboxError> {
        check_plan(&plan, &self.tables)?;
        let started = Instant::now();
        let fetched = Arc::new(AtomicU64::new(0));
        let scanned = Arc::new(AtomicU64::new(0));
        let memory = Arc::new(QueryMemory::new(
            self.limits.memory_bytes,
            Arc::clone(&self.domain),
        ));
        let runtime = runtime(
            Arc::clone(&self.store),
            Arc::clone(&fetched),
            Arc::clone(&memory) as Arc<dyn MemoryPool>,
        )?;
        let state = SessionStateBuilder::new_from_existing(self.state.clone())
            .with_runtime_env(runtime)
            .build();
        let meter = |physical: Option<&Arc<dyn ExecutionPlan>>, rows: u64, bytes: u64| Metering {
            elapsed: started.elapsed(),
            compute: physical.map_or(Duration::ZERO, |p| compute_time(p.as_ref())),
            rows_scanned: scanned.load(Ordering::Relaxed),
            bytes_fetched: fetched.load(Ordering::Relaxed),
            output_rows: rows,
            output_bytes: bytes,
        };
        let control = QueryControl {
            stop: Arc::new(AtomicBool::new(false)),
            scanned: Arc::clone(&scanned),
            limit: self.limits.max_scanned_rows,
        };
        let physical = match state.create_physical_plan(&plan).await {
            Ok(p) => guard(p, &control).map_err(|e| self.run_error(&e, meter(None, 0, 0)))?,
            Err(e) => return Err(self.run_error(&e, meter(None, 0, 0))),
        };
        // The operators run on the domain's runtime; this task only awaits them.
        let task =
            self.domain
                .handle()
                .spawn(collect(Arc::clone(&physical), state.task_ctx(), max_rows));
        let _abort = AbortOnDrop {
            task: task.abort_handle(),
            stop: Arc::clone(&control.stop),
        };
        let outcome = tokio::select! {
            joined = task => joined.unwrap_or_else(|_| Err(Stop::Panicked)),
            () = tokio::time::sleep(self.limits.timeout) => Err(Stop::Timeout),
            () = cancel.cancelled() => Err(Stop::Cancelled),
        };
        match outcome {
            Ok((batches, rows, bytes)) => Ok(QueryOutput {
                schema: physical.schema(),
                batches,
                metering: meter(Some(&physical), rows, bytes),
            }),
            Err(stop) => {
                let metering = meter(Some(&physical), 0, 0);
                Err(match stop {
                    Stop::Timeout => SandboxError::Timeout {
                        limit: self.limits.timeout,
                        metering,
                    },
                    Stop::Cancelled => SandboxError::Cancelled { metering },
                    Stop::Output => SandboxError::OutputLimit {
                        limit: max_rows,
                        metering,
                    },
                    Stop::Panicked => SandboxError::Execution {
                        kind: "internal error",
                        metering,
                    },
                    Stop::Failed(_) if memory.refused_by_domain() => SandboxError::DomainBusy {
                        limit_bytes: self.domain.limit(),
                        metering,
                    },
                    Stop::Failed(e) => self.run_error(&e, metering),
                })
            }
        }
    }

    /// Plans and runs `sql`.
    ///
    /// # Errors
    /// As [`Self::plan`] and [`Self::execute`].
    pub async fn query(
        &self,
        sql: &str,
        cancel: &CancellationToken,
    ) -> Result<QueryOutput, SandboxError> {
        let plan = self.plan(sql)?;
        self.execute(plan, cancel).await
    }

    fn run_error(&self, e: &DataFusionError, metering: Metering) -> SandboxError {
        if let Some(limit) = find_source::<ScanLimitExceeded>(e) {
            return SandboxError::ScanLimit {
                limit: limit.limit,
                metering,
            };
        }
        if let Some(store) = find_source::<EncryptedStoreError>(e) {
            return SandboxError::DataUnreadable {
                reason: unreadable_reason(store).to_owned(),
                metering,
            };
        }
        match e.find_root() {
            DataFusionError::ResourcesExhausted(_) => SandboxError::MemoryLimit {
                limit_bytes: self.limits.memory_bytes,
                metering,
            },
            DataFusionError::ArrowError(..) => SandboxError::Execution {
                kind: "arithmetic or cast error",
                metering,
            },
            DataFusionError::ObjectStore(_) | DataFusionError::IoError(_) => {
                SandboxError::Execution {
                    kind: "storage error",
                    metering,
                }
            }
            _ => SandboxError::Execution {
                kind: "execution error",
                metering,
            },
        }
    }
}

/// The result of a query under the `aggregate` output control.
#[derive(Debug, Clone)]
pub struct AggregateOutput {
    /// The groups that passed (the hidden counting columns are not in its schema). Its metering
    /// covers both runs: the aggregate with its hidden counts, and the nodes above it.
    pub output: QueryOutput,
    /// What was withheld.
    pub suppression: Suppression,
}

// Output control (`output.rs`), kept in its own block.
impl SandboxSession {
    /// Runs `plan` under the `aggregate` output control: only grouped COUNT/SUM/AVG, and only
    /// groups with at least `controls.k` distinct privacy units (see [`crate::output`]).
    ///
    /// One pass: the aggregate runs once with its hidden counts; the groups are split in Rust
    /// and the nodes above the aggregate (`HAVING`, `ORDER BY`, `LIMIT`, the select list) run over
    /// the passed groups. The metering covers both runs. The column controls are checked on
    /// `plan` itself.
    ///
    /// # Errors
    /// [`SandboxError::OutputNotAllowed`] for an output the control refuses, otherwise as
    /// [`Self::execute`].
    pub async fn execute_aggregate(
        &self,
        plan: LogicalPlan,
        controls: &AggregateControl,
        cancel: &CancellationToken,
    ) -> Result<AggregateOutput, SandboxError> {
        check_plan(&plan, &self.tables)?;
        self.check_controls(&plan)?;
        let counted = output::counted(&plan, controls, true)?;
        let mut first = self
            .run(counted.plan.clone(), self.limits.max_scanned_rows, cancel)
            .await?;
        let split = match output::split(&counted, &first.batches, controls.k)? {
            Some(split) => split,
            None => {
                // The rows did not prove every group's persons: count them exactly.
                let exact = output::counted(&plan, controls, false)?;
                let second = self
                    .run(exact.plan.clone(), self.limits.max_scanned_rows, cancel)
                    .await?;
                let split =
                    output::split(&exact, &second.batches, controls.k)?.ok_or_else(|| {
                        SandboxError::InvalidQuery {
                            message: "internal: the exact person count decided nothing".into(),
                        }
                    })?;
                first.metering = second.metering.after(&first.metering);
                first.metering.rows_scanned += second.metering.rows_scanned;
                split
            }
        };
        let (passed, suppression) = split;
        let relation = output::relation(Arc::clone(&counted.aggregate.schema), passed)?;
        let upper = output::replace_aggregate(plan.clone(), &relation).map_err(output::invalid)?;
        let mut output = self.run(upper, self.limits.max_output_rows, cancel).await?;
        output.metering = output.metering.after(&first.metering);
        Ok(AggregateOutput {
            output,
            suppression,
        })
    }
}

impl SandboxSession {
    /// The most rows any one privacy unit has in `table` (its column `unit`), or `None` when a
    /// row has no unit (or the table is empty or unknown): the bound that lets an aggregate
    /// over the table prove large groups pass without counting persons
    /// ([`AggregateControl::rows_per_unit`]). An internal plan (only counts leave it), run under
    /// the session's limits.
    ///
    /// # Errors
    /// As [`Self::execute`].
    pub async fn rows_per_unit(
        &self,
        table: &str,
        unit: &str,
        cancel: &CancellationToken,
    ) -> Result<Option<u64>, SandboxError> {
        use datafusion::common::Column;
        use datafusion::datasource::provider_as_source;
        use datafusion::functions_aggregate::expr_fn::{count, max};
        use datafusion::logical_expr::{Expr, LogicalPlanBuilder, lit};

        let Some(provider) = self.tables.get(table) else {
            return Ok(None);
        };
        let unit_column = || Expr::Column(Column::new(Some(table), unit));
        let plan = LogicalPlanBuilder::scan(table, provider_as_source(Arc::clone(provider)), None)
            .and_then(|b| b.aggregate(vec![unit_column()], vec![count(lit(1_i64)).alias("n")]))
            .and_then(|b| {
                b.aggregate(
                    Vec::<Expr>::new(),
                    vec![
                        max(Expr::Column(Column::from_name("n"))).alias("most"),
                        count(lit(1_i64)).alias("units"),
                        count(unit_column()).alias("named"),
                    ],
                )
            })
            .and_then(LogicalPlanBuilder::build)
            .map_err(output::invalid)?;
        let out = self.run(plan, 1, cancel).await?;
        let value = |name: &str| -> Option<i64> {
            use arrow_array::Array;
            use arrow_array::cast::AsArray;
            use arrow_array::types::Int64Type;
            let batch = out.batches.iter().find(|b| b.num_rows() == 1)?;
            let column = batch
                .column_by_name(name)?
                .as_primitive_opt::<Int64Type>()?;
            (!column.is_null(0)).then(|| column.value(0))
        };
        // A group of the unit `NULL` means rows without a unit: no bound.
        Ok(match (value("most"), value("units"), value("named")) {
            (Some(most), Some(units), Some(named)) if units == named && most > 0 => {
                u64::try_from(most).ok()
            }
            _ => None,
        })
    }
}

impl Metering {
    /// The work of a two-stage answer: `first` computed the groups from the tables, `self` ran
    /// the nodes above the aggregate over them. Times and bytes add up; rows scanned are
    /// `first`'s (the upper run's only leaf is the in-memory relation of groups, not a table);
    /// the result's rows and bytes are `self`'s.
    pub(crate) fn after(&self, first: &Self) -> Self {
        Self {
            rows_scanned: first.rows_scanned,
            ..self.plus(first)
        }
    }

    /// The work of two runs together (the result's rows and bytes are `self`'s).
    fn plus(&self, other: &Self) -> Self {
        Self {
            elapsed: self.elapsed + other.elapsed,
            compute: self.compute + other.compute,
            rows_scanned: self.rows_scanned + other.rows_scanned,
            bytes_fetched: self.bytes_fetched + other.bytes_fetched,
            output_rows: self.output_rows,
            output_bytes: self.output_bytes,
        }
    }
}

/// Why a run ended early.
enum Stop {
    Timeout,
    Cancelled,
    Output,
    Panicked,
    Failed(DataFusionError),
}

/// Stops the query's operators and aborts its task when the caller's future ends or is dropped.
struct AbortOnDrop {
    task: tokio::task::AbortHandle,
    stop: Arc<AtomicBool>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

type Collected = (Vec<RecordBatch>, u64, u64);

async fn collect(
    plan: Arc<dyn ExecutionPlan>,
    context: Arc<datafusion::execution::TaskContext>,
    max_rows: u64,
) -> Result<Collected, Stop> {
    let mut stream = execute_stream(plan, context).map_err(Stop::Failed)?;
    let mut batches = Vec::new();
    let (mut rows, mut bytes) = (0_u64, 0_u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(Stop::Failed)?;
        rows += batch.num_rows() as u64;
        if rows > max_rows {
            return Err(Stop::Output);
        }
        bytes += batch.get_array_memory_size() as u64;
        batches.push(batch);
    }
    Ok((batches, rows, bytes))
}

/// A runtime reading only `store` (counted, read-only) under the private URL, with the memory
/// pool `memory` (the query's own limit, drawn from the domain's shared bound), and no disk
/// manager (nothing spills).
fn runtime(
    store: Arc<dyn ObjectStore>,
    fetched: Arc<AtomicU64>,
    memory: Arc<dyn MemoryPool>,
) -> Result<Arc<RuntimeEnv>, SandboxError> {
    let env = RuntimeEnvBuilder::new()
        .with_memory_pool(memory)
        .with_disk_manager_builder(
            DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
        )
        .build_arc()
        .map_err(|e| SandboxError::InvalidQuery {
            message: e.strip_backtrace(),
        })?;
    env.register_object_store(&store_url()?, Arc::new(MeteredStore::new(store, fetched)));
    Ok(env)
}

async fn open_table(
    state: &SessionState,
    table: &TableSpec,
) -> Result<Arc<dyn TableProvider>, SandboxError> {
    if table.columns.is_empty() {
        return Err(SandboxError::NoColumns {
            table: table.name.clone(),
        });
    }
    let unreadable = |e: DataFusionError| SandboxError::DatasetUnreadable {
        table: table.name.clone(),
        reason: find_source::<EncryptedStoreError>(&e)
            .map_or("it is not a readable Parquet file", unreadable_reason)
            .to_owned(),
    };
    let url = ListingTableUrl::parse(format!("{STORE_URL}/{}", table.path)).map_err(unreadable)?;
    // Every byte read is decrypted: fetch 64 KiB for a Parquet footer, not DataFusion's 512 KiB
    // default (a footer that does not fit is fetched in a second read).
    let format = ParquetFormat::default().with_metadata_size_hint(Some(FOOTER_HINT));
    let options = ListingOptions::new(Arc::new(format)).with_file_extension("");
    let file_schema = options
        .infer_schema(state, &url)
        .await
        .map_err(unreadable)?;
    let mut fields = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        let field =
            file_schema
                .field_with_name(column)
                .map_err(|_| SandboxError::ColumnNotInDataset {
                    table: table.name.clone(),
                    column: column.clone(),
                })?;
        fields.push(field.clone());
    }
    let exposed = Arc::new(Schema::new(fields));
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(exposed);
    let provider = ListingTable::try_new(config).map_err(unreadable)?;
    Ok(Arc::new(provider))
}

fn unreadable_reason(e: &EncryptedStoreError) -> &'static str {
    match e {
        EncryptedStoreError::NoDataKey { .. } => "its data key is missing",
        EncryptedStoreError::Crypto { .. } => {
            "it cannot be decrypted (wrong data key, or the file was altered)"
        }
        EncryptedStoreError::Range { .. } => "a read fell outside the file",
    }
}

/// Refuses, on the parsed statement, anything but a query, naming its kind.
fn refuse_non_query(statement: &DFStatement) -> Result<(), SandboxError> {
    let refuse = |kind, text: String| {
        Err(SandboxError::NotAQuery {
            kind,
            statement: leading_keywords(&text),
        })
    };
    match statement {
        DFStatement::Statement(s) if matches!(**s, SqlStatement::Query(_)) => Ok(()),
        DFStatement::Statement(s) => {
            let text = s.to_string();
            let upper = text.to_ascii_uppercase();
            let kind = if ["CREATE", "DROP", "ALTER", "TRUNCATE", "COMMENT", "RENAME"]
                .iter()
                .any(|k| upper.starts_with(k))
            {
                StatementKind::Ddl
            } else if ["INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "REPLACE"]
                .iter()
                .any(|k| upper.starts_with(k))
            {
                StatementKind::Dml
            } else if upper.starts_with("EXPLAIN") || upper.starts_with("ANALYZE") {
                StatementKind::Explain
            } else {
                StatementKind::Statement
            };
            refuse(kind, text)
        }
        DFStatement::CreateExternalTable(s) => refuse(StatementKind::Ddl, s.to_string()),
        DFStatement::CopyTo(s) => refuse(StatementKind::Dml, s.to_string()),
        DFStatement::Explain(s) => refuse(StatementKind::Explain, s.to_string()),
        DFStatement::Reset(s) => refuse(StatementKind::Statement, s.to_string()),
    }
}

/// The first two words of a statement, for messages (never its literals).
fn leading_keywords(text: &str) -> String {
    text.split_whitespace()
        .take(2)
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphabetic() || *c == '_')
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

fn planning_error(e: &DataFusionError, misses: &crate::planner::Misses) -> SandboxError {
    if let Some(function) = misses.functions.first() {
        return SandboxError::FunctionNotAvailable {
            function: function.clone(),
            available: Functions::listing(),
        };
    }
    if let Some(table) = misses.tables.first() {
        return SandboxError::UnknownTable {
            table: table.clone(),
        };
    }
    if misses.recursive {
        return SandboxError::PlanNotAllowed {
            what: "a recursive query (WITH RECURSIVE)".to_owned(),
        };
    }
    if let DataFusionError::SchemaError(schema_error, _) = e.find_root()
        && let datafusion::common::SchemaError::FieldNotFound {
            field,
            valid_fields,
        } = schema_error.as_ref()
    {
        let hint = if valid_fields.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = valid_fields.iter().map(|c| c.flat_name()).collect();
            format!("; columns here: {}", names.join(", "))
        };
        return SandboxError::UnknownColumn {
            column: field.name.clone(),
            hint,
        };
    }
    SandboxError::InvalidQuery {
        message: e.strip_backtrace(),
    }
}

/// The first error of type `T` in `e`'s source chain.
fn find_source<T: std::error::Error + 'static>(e: &DataFusionError) -> Option<&T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        current = err.source();
    }
    None
}

/// Wraps every operator of `plan` in a [`Guard`] sharing `control`.
fn guard(
    plan: Arc<dyn ExecutionPlan>,
    control: &QueryControl,
) -> Result<Arc<dyn ExecutionPlan>, DataFusionError> {
    plan.transform_up(|node| {
        let guarded: Arc<dyn ExecutionPlan> = Arc::new(Guard::new(node, control.clone()));
        Ok(Transformed::yes(guarded))
    })
    .map(|t| t.data)
}

/// The summed `elapsed_compute` of every operator of `plan`.
fn compute_time(plan: &dyn ExecutionPlan) -> Duration {
    let own = plan
        .metrics()
        .and_then(|m| m.elapsed_compute())
        .map_or(Duration::ZERO, |ns| Duration::from_nanos(ns as u64));
    own + plan
        .children()
        .into_iter()
        .map(|c| compute_time(c.as_ref()))
        .sum::<Duration>()
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;
    use object_store::memory::InMemory;

    use super::*;

    async fn empty() -> SandboxSession {
        SandboxSession::new(SessionSpec {
            tables: Vec::new(),
            store: Arc::new(InMemory::new()),
            limits: Limits::default(),
            domain: crate::QueryDomain::shared(usize::MAX),
        })
        .await
        .unwrap()
    }

    /// DataFusion's own entry point over the sandbox's state refuses too: `SQLOptions` forbids
    /// DDL, DML and statements, and the state has no information_schema, table functions or
    /// functions outside the allow-list.
    #[tokio::test]
    async fn the_state_refuses_through_sql_with_options_as_well() {
        let session = empty().await;
        let ctx = SessionContext::new_with_state(session.state.clone());
        for sql in [
            "CREATE TABLE t (a INT)",
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc/'",
            "COPY (SELECT 1) TO '/tmp/shuyu-sandbox-leak.csv'",
            "SET datafusion.execution.batch_size = 1",
            "SELECT * FROM information_schema.tables",
            "SELECT * FROM generate_series(1, 3)",
            "SELECT md5('a')",
        ] {
            assert!(
                ctx.sql_with_options(sql, sql_options()).await.is_err(),
                "{sql}"
            );
        }
        assert!(
            ctx.sql_with_options("SELECT abs(-1)", sql_options())
                .await
                .is_ok()
        );
        assert!(!std::path::Path::new("/tmp/shuyu-sandbox-leak.csv").exists());
    }

    /// A session is shared between request handlers, and its query futures run on any thread.
    #[tokio::test]
    async fn sessions_and_their_queries_can_cross_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let session = empty().await;
        send_sync(&session);
        let cancel = CancellationToken::new();
        let run = session.query("SELECT 1", &cancel);
        send(&run);
        assert_eq!(run.await.unwrap().metering.output_rows, 1);
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in ["social", "_t", "t2_x"] {
            assert!(valid_table_name(good), "{good}");
        }
        for bad in ["", "Social", "2t", "a-b", "a.b", "表", &"t".repeat(64)] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn leading_keywords_never_carry_literals() {
        assert_eq!(
            leading_keywords("INSERT INTO t VALUES ('secret')"),
            "INSERT INTO"
        );
        assert_eq!(leading_keywords("SET x = 'secret'"), "SET X");
    }
}
