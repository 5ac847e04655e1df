//! [`Guard`]: the sandbox's wrapper around every operator of a physical plan. It makes a query
//! stoppable and its scans countable:
//!
//! - **Stop.** Every guarded stream checks the query's stop flag before each batch and ends the
//!   query with [`Stopped`] once it is set (timeout, cancellation, the caller gone). DataFusion
//!   operators that compute from memory (a nested-loop join, an aggregate over it) return batch
//!   after batch without ever waiting, so aborting their tokio task alone would not stop them.
//! - **Yield.** Every guarded stream spends tokio's cooperative budget per batch, so a CPU-bound
//!   query returns control to the scheduler regularly: timers fire, other requests run, and an
//!   abort takes effect.
//! - **Count.** Guards around the leaves (the Parquet scans) add the rows they emit to one
//!   counter per query (after row-group pruning, before any filter above the scan) and stop the
//!   query with [`ScanLimitExceeded`] beyond its limit.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, RecordBatchStream,
    SendableRecordBatchStream,
};
use futures_util::{Stream, StreamExt};

/// The error a leaf guard stops its query with (found again by downcasting).
#[derive(Debug, thiserror::Error)]
#[error("the query scanned more than {limit} rows")]
pub struct ScanLimitExceeded {
    /// The limit.
    pub limit: u64,
}

/// The error a guard ends its stream with once the query's stop flag is set.
#[derive(Debug, thiserror::Error)]
#[error("the query was stopped")]
pub struct Stopped;

/// What all the guards of one query share.
#[derive(Debug, Clone)]
pub struct QueryControl {
    /// Set to stop the query.
    pub stop: Arc<AtomicBool>,
    /// Rows emitted by the scans so far.
    pub scanned: Arc<AtomicU64>,
    /// Rows the scans may emit together.
    pub limit: u64,
}

/// One operator of a plan, guarded.
#[derive(Debug)]
pub struct Guard {
    input: Arc<dyn ExecutionPlan>,
    control: QueryControl,
}

impl Guard {
    /// Guards `input` (a scan if it has no children).
    #[must_use]
    pub fn new(input: Arc<dyn ExecutionPlan>, control: QueryControl) -> Self {
        Self { input, control }
    }
}

impl DisplayAs for Guard {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Guard")
    }
}

impl ExecutionPlan for Guard {
    fn name(&self) -> &'static str {
        "Guard"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(Self {
                input,
                control: self.control.clone(),
            })),
            _ => internal_err!("Guard has exactly one child"),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(GuardStream {
            schema: input.schema(),
            input,
            control: self.control.clone(),
            counts: self.input.children().is_empty(),
        }))
    }
}

struct GuardStream {
    schema: SchemaRef,
    input: SendableRecordBatchStream,
    control: QueryControl,
    counts: bool,
}

impl GuardStream {
    fn count_rows(&self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows() as u64;
        let total = self.control.scanned.fetch_add(rows, Ordering::Relaxed) + rows;
        if total > self.control.limit {
            return Err(DataFusionError::External(Box::new(ScanLimitExceeded {
                limit: self.control.limit,
            })));
        }
        Ok(())
    }
}

impl Stream for GuardStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.control.stop.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(DataFusionError::External(Box::new(Stopped)))));
        }
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let item = ready!(self.input.poll_next_unpin(cx));
        coop.made_progress();
        Poll::Ready(match item {
            Some(Ok(batch)) if self.counts => Some(self.count_rows(&batch).map(|()| batch)),
            other => other,
        })
    }
}

impl RecordBatchStream for GuardStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}
