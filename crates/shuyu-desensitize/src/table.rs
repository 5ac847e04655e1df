//! A whole table desensitized at once: one [`Rule`] per column, deny by default.
//!
//! [`TableRules`] names a rule for every column; [`apply_batch`] runs each column's rule with
//! [`apply`] and assembles the batch. Guarantees:
//! - a column without a rule, a rule without a column and two rules for one column are refused
//!   before anything runs (no column is ever passed through because nobody thought of it);
//! - the output schema ([`TableRules::output_schema`]) depends only on the rules and the input
//!   column names and types, never on values: the same names in the same order, each type as
//!   [`output_type`] gives it (hash, mask and truncate of an integer give `Utf8`, an age band of a
//!   birth date gives `Int32`), every field nullable (any rule may produce NULL), no metadata. So
//!   every batch of a table gives the same schema and the batches can be written to one file;
//! - errors name the column and the rule, never a value.
//!
//! `suppress` counts values within the batch it is given; run it over the whole sample (one batch
//! from [`Sampler::finish`](crate::Sampler::finish)) rather than over small slices, which would null
//! more than needed (never less).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field, Schema, SchemaRef};

use crate::kernels::{apply, output_type};
use crate::{Context, DesensitizeError, Rule};

/// The rule of every column of a table, matched by column name, plus the optional privacy-unit
/// column that date shifts are keyed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRules {
    rules: Vec<(String, Rule)>,
    privacy_unit: Option<String>,
}

impl TableRules {
    /// Rules by column name. Nothing is checked here; [`TableRules::output_schema`] and
    /// [`apply_batch`] refuse duplicates and names the table does not have.
    #[must_use]
    pub fn new(rules: Vec<(String, Rule)>) -> Self {
        Self {
            rules,
            privacy_unit: None,
        }
    }

    /// Names the privacy-unit column (person or enterprise identifier): [`apply_batch`] hands its
    /// **original** values to date shifts, so one unit's dates move together even when the unit column
    /// itself is hashed or nulled. Overrides a privacy-unit column already in the [`Context`].
    #[must_use]
    pub fn with_privacy_unit(mut self, column: impl Into<String>) -> Self {
        self.privacy_unit = Some(column.into());
        self
    }

    /// The rule of `column`, if any.
    #[must_use]
    pub fn rule(&self, column: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, rule)| rule)
    }

    /// The schema [`apply_batch`] gives for batches of schema `input`: see the module documentation.
    /// Refuses a column without a rule, a rule without a column, duplicate rules, and rules that do
    /// not fit their column's type.
    pub fn output_schema(&self, input: &Schema) -> Result<SchemaRef, DesensitizeError> {
        self.plan(input).map(|(schema, _)| schema)
    }

    /// The output schema and each input column's rule, in the input's column order.
    fn plan(&self, input: &Schema) -> Result<(SchemaRef, Vec<&Rule>), DesensitizeError> {
        let rules = self.by_column(input)?;
        let fields = input
            .fields()
            .iter()
            .zip(&rules)
            .map(|(field, rule)| {
                output_type(rule, field.data_type())
                    .map(|data_type| Field::new(field.name(), data_type, true))
                    .map_err(|error| in_column(field.name(), error))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((Arc::new(Schema::new(fields)), rules))
    }

    /// Each input column's rule, in the input's column order, after the deny-by-default checks.
    fn by_column(&self, input: &Schema) -> Result<Vec<&Rule>, DesensitizeError> {
        let mut named: HashMap<&str, &Rule> = HashMap::with_capacity(self.rules.len());
        for (column, rule) in &self.rules {
            if named.insert(column.as_str(), rule).is_some() {
                return Err(DesensitizeError::DuplicateRule {
                    column: column.clone(),
                });
            }
        }
        if let Some((column, _)) = self
            .rules
            .iter()
            .find(|(column, _)| input.index_of(column).is_err())
        {
            return Err(DesensitizeError::RuleWithoutColumn {
                column: column.clone(),
            });
        }
        input
            .fields()
            .iter()
            .map(|field| {
                named.get(field.name().as_str()).copied().ok_or_else(|| {
                    DesensitizeError::MissingRule {
                        column: field.name().clone(),
                    }
                })
            })
            .collect()
    }
}

/// Desensitizes every column of `batch` by its rule in `rules`, under `ctx` (the grant's key, the
/// reference date of ages). The result has the batch's row count and
/// [`TableRules::output_schema`]'s schema. Errors name the column (see [`TableRules::output_schema`]
/// and [`apply`]); nothing is returned unless every column succeeded.
pub fn apply_batch(
    batch: &RecordBatch,
    rules: &TableRules,
    ctx: &Context<'_>,
) -> Result<RecordBatch, DesensitizeError> {
    let (schema, column_rules) = rules.plan(batch.schema_ref())?;
    let mut ctx: Context<'_> = *ctx;
    if let Some(unit) = &rules.privacy_unit {
        let column =
            batch
                .column_by_name(unit)
                .ok_or_else(|| DesensitizeError::PrivacyUnitColumn {
                    column: unit.clone(),
                })?;
        ctx = ctx.with_privacy_unit(column);
    }
    let columns = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .zip(column_rules)
        .map(|((field, column), rule)| {
            apply(rule, column, &ctx).map_err(|error| in_column(field.name(), error))
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, columns, &options).map_err(|_| {
        DesensitizeError::Assembly {
            operation: "desensitized batch",
        }
    })
}

fn in_column(column: &str, error: DesensitizeError) -> DesensitizeError {
    DesensitizeError::Column {
        column: column.to_owned(),
        error: Box::new(error),
    }
}
