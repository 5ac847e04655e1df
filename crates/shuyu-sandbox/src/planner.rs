//! [`SandboxContext`]: what the SQL planner of a session can see — the session's tables and the
//! allowed functions, nothing else.
//!
//! DataFusion's planner asks a `ContextProvider` for every table and function a query names.
//! This one answers only from the session (isolation by construction: there is no shared catalog
//! to filter), and remembers what it could not answer, so that a failed plan is reported as
//! "table `x` does not exist in this workspace" or "function `f` is not available" rather than
//! as DataFusion's generic message. It has no table functions, no window functions, no
//! variables and no recursive CTE work tables.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::{DataType, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::{TableReference, plan_datafusion_err, plan_err};
use datafusion::config::ConfigOptions;
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::planner::ExprPlanner;
use datafusion::logical_expr::{
    AggregateUDF, Expr, HigherOrderUDF, ScalarUDF, TableSource, WindowUDF,
};
use datafusion::sql::planner::ContextProvider;

use crate::functions::Functions;

/// What the planner asked for and did not get.
#[derive(Debug, Default)]
pub struct Misses {
    /// Tables named in the query that are not the session's.
    pub tables: Vec<String>,
    /// Function names looked up that are not allowed (scalar, aggregate, window or table).
    pub functions: Vec<String>,
    /// Whether a recursive CTE was attempted.
    pub recursive: bool,
}

/// The planner's view of one session.
pub struct SandboxContext<'a> {
    /// The session's tables, by name.
    pub tables: &'a BTreeMap<String, Arc<dyn TableProvider>>,
    /// The allowed functions.
    pub functions: &'a Functions,
    /// Planners of SQL syntax (`EXTRACT`, `SUBSTRING … FROM`, operators).
    pub expr_planners: &'a [Arc<dyn ExprPlanner>],
    /// The session's options.
    pub options: &'a ConfigOptions,
    /// What was asked for and not found.
    pub misses: RefCell<Misses>,
}

impl SandboxContext<'_> {
    fn miss_function(&self, name: &str) {
        let mut misses = self.misses.borrow_mut();
        if !misses.functions.iter().any(|f| f == name) {
            misses.functions.push(name.to_owned());
        }
    }
}

impl ContextProvider for SandboxContext<'_> {
    fn get_table_source(
        &self,
        name: TableReference,
    ) -> datafusion::common::Result<Arc<dyn TableSource>> {
        if let TableReference::Bare { table } = &name
            && let Some(provider) = self.tables.get(table.as_ref())
        {
            return Ok(provider_as_source(Arc::clone(provider)));
        }
        self.misses.borrow_mut().tables.push(name.to_string());
        plan_err!("table '{name}' not found")
    }

    fn get_table_function_source(
        &self,
        name: &str,
        _args: Vec<Expr>,
    ) -> datafusion::common::Result<Arc<dyn TableSource>> {
        self.miss_function(name);
        plan_err!("table function '{name}' not found")
    }

    fn create_cte_work_table(
        &self,
        _name: &str,
        _schema: SchemaRef,
    ) -> datafusion::common::Result<Arc<dyn TableSource>> {
        self.misses.borrow_mut().recursive = true;
        Err(plan_datafusion_err!("recursive queries are not supported"))
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        self.expr_planners
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        let found = self.functions.scalar(name);
        if found.is_none() && self.functions.aggregate(name).is_none() {
            self.miss_function(name);
        }
        found
    }

    fn get_higher_order_meta(&self, _name: &str) -> Option<Arc<HigherOrderUDF>> {
        None
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        let found = self.functions.aggregate(name);
        if found.is_none() && self.functions.scalar(name).is_none() {
            self.miss_function(name);
        }
        found
    }

    fn get_window_meta(&self, _name: &str) -> Option<Arc<WindowUDF>> {
        None
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn options(&self) -> &ConfigOptions {
        self.options
    }

    fn udf_names(&self) -> Vec<String> {
        self.functions.scalar_names().map(str::to_owned).collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udaf_names(&self) -> Vec<String> {
        self.functions
            .aggregate_names()
            .map(str::to_owned)
            .collect()
    }

    fn udwf_names(&self) -> Vec<String> {
        Vec::new()
    }
}
