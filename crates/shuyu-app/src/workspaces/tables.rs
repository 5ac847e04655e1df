//! A workspace's tables: for each granted resource, its fields as granted, the dataset version its
//! production table reads and the development table, and the sandbox sessions built from them.
//!
//! A session contains only the grant's tables and the workspace's approved fusion imports
//! (isolation by construction, SBX-2): its table specs are made here from the grant and the
//! approved imports alone, and the session reads through a store that opens only those tables'
//! objects (`shuyu_sandbox::ScopedStore`).

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;
use shuyu_catalog::{FieldSpec, Resource as CatalogResource, ResourceId};
use shuyu_core::{DatasetId, FusionId};
use shuyu_grant::{FusionDeclaration, FusionState, Grant, GrantedField};
use shuyu_profile::ColumnControl;
use shuyu_quality::FormatKind;
use shuyu_sandbox::{Limits, SandboxSession, SessionSpec, TableSpec};
use shuyu_store::{StoredDataset, StoredDevTable};

use super::Env;
use crate::{App, AppError};

/// Result rows a development query may return (they are stored with the query).
pub(crate) const DEV_OUTPUT_ROWS: u64 = 1_000;
/// Result rows a production query may return.
pub(crate) const PROD_OUTPUT_ROWS: u64 = 10_000;

/// One granted resource as its workspace table.
#[derive(Debug, Clone)]
pub(crate) struct TablePlan {
    pub name: String,
    pub resource: CatalogResource,
    /// The granted fields with their catalog specs, in the grant's order.
    pub fields: Vec<(GrantedField, FieldSpec)>,
    /// The resource's privacy-unit field, if it declares one.
    pub unit: Option<FieldSpec>,
    /// The latest dataset version hooked to the granted resource version.
    pub dataset: Option<StoredDataset>,
    /// The development table, if it was prepared.
    pub dev: Option<StoredDevTable>,
}

impl TablePlan {
    /// The columns the table exposes: the granted fields, plus the privacy unit (denied unless
    /// granted) so that output control can count persons.
    pub fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = self.fields.iter().map(|(g, _)| g.name.clone()).collect();
        if let Some(unit) = &self.unit
            && !columns.iter().any(|c| c == unit.name().as_str())
        {
            columns.push(unit.name().as_str().to_owned());
        }
        columns
    }

    /// The production column controls: as granted (anything else is denied by default).
    pub fn prod_controls(&self) -> BTreeMap<String, ColumnControl> {
        self.fields
            .iter()
            .map(|(g, _)| (g.name.clone(), g.column_control))
            .collect()
    }

    /// The privacy-unit column, if any.
    pub fn unit_column(&self) -> Option<String> {
        self.unit.as_ref().map(|u| u.name().as_str().to_owned())
    }

    /// The data population of the privacy units (which register they belong to), for the
    /// population ledger: persons, enterprises, or the resource's own units.
    pub fn population(&self) -> String {
        population(self.unit.as_ref().map(FieldSpec::format), || {
            format!("resource:{}", self.resource.id())
        })
    }
}

/// The data population of privacy units of `format`: the registers of persons and enterprises
/// are shared by every table keyed by them (granted or imported alike, so one population ledger
/// covers them all); other units are a population of their own (`own`).
fn population(format: Option<FormatKind>, own: impl FnOnce() -> String) -> String {
    match format {
        Some(FormatKind::ResidentId) => "resident".to_owned(),
        Some(FormatKind::CreditCode) => "enterprise".to_owned(),
        _ => own(),
    }
}

/// One approved fusion import as a workspace table: production reads the merchant's rows as
/// imported, with the declared controls; development reads the same rows with the join key
/// hashed (all exposed columns visible: they are the merchant's own).
#[derive(Debug, Clone)]
pub(crate) struct FusionPlan {
    pub id: FusionId,
    pub name: String,
    pub declaration: FusionDeclaration,
    pub object_path: String,
    pub dev_object_path: String,
}

impl FusionPlan {
    /// The exposed columns: those declared with a control, and the join key (denied unless
    /// declared otherwise) so that output control can count units.
    pub fn columns(&self) -> Vec<String> {
        self.declaration
            .exposed()
            .into_iter()
            .map(|(c, _)| c)
            .collect()
    }

    pub fn unit_column(&self) -> Option<String> {
        self.declaration.unit.as_ref().map(|u| u.column.clone())
    }

    /// The data population of its units: the same kinds as a granted table's (persons or
    /// enterprises), or the import's own.
    pub fn population(&self) -> String {
        population(self.declaration.unit.as_ref().map(|u| u.format), || {
            format!("fusion:{}", self.id)
        })
    }
}

/// The tables of a workspace's sessions: the granted tables (this derefs to them) and the
/// approved fusion imports.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub granted: Vec<TablePlan>,
    pub fusion: Vec<FusionPlan>,
}

impl std::ops::Deref for Tables {
    type Target = [TablePlan];
    fn deref(&self) -> &[TablePlan] {
        &self.granted
    }
}

impl Tables {
    /// Whether production has any table with data.
    pub fn prod_has_data(&self) -> bool {
        self.granted.iter().any(|p| p.dataset.is_some()) || !self.fusion.is_empty()
    }

    /// Whether development has any table.
    pub fn dev_has_tables(&self) -> bool {
        self.granted.iter().any(|p| p.dev.is_some()) || !self.fusion.is_empty()
    }

    /// Each table's privacy-unit column, granted tables and fusion imports alike.
    pub fn units(&self) -> BTreeMap<String, String> {
        self.granted
            .iter()
            .filter_map(|p| p.unit_column().map(|u| (p.name.clone(), u)))
            .chain(
                self.fusion
                    .iter()
                    .filter_map(|f| f.unit_column().map(|u| (f.name.clone(), u))),
            )
            .collect()
    }
}

impl App {
    /// The tables of `grant`'s sessions: its granted tables and its approved fusion imports.
    pub(crate) async fn session_tables(&self, grant: &Grant) -> Result<Tables, AppError> {
        let granted = self.table_plans(grant).await?;
        let mut fusion = Vec::new();
        for stored in self.store.fusions_of_grant(grant.id()).await? {
            if stored.state != FusionState::Approved {
                continue;
            }
            let declaration: FusionDeclaration = serde_json::from_str(&stored.declaration)
                .map_err(|e| {
                    AppError::Internal(format!("fusion import {}: declaration: {e}", stored.id))
                })?;
            fusion.push(FusionPlan {
                id: stored.id,
                name: stored.table,
                declaration,
                object_path: stored.object_path,
                dev_object_path: stored.dev_object_path,
            });
        }
        Ok(Tables { granted, fusion })
    }

    /// The table plans of `grant`: its resources as granted, their data and development tables.
    pub(crate) async fn table_plans(&self, grant: &Grant) -> Result<Vec<TablePlan>, AppError> {
        let dev_tables = self.store.dev_tables(grant.id()).await?;
        let mut plans = Vec::with_capacity(grant.resources().len());
        for granted in grant.resources() {
            let resource = self.load_resource(granted.resource).await?;
            let version = resource
                .versions()
                .iter()
                .find(|v| v.id() == granted.version)
                .ok_or_else(|| {
                    AppError::Internal(format!(
                        "grant {} rests on a version resource {} does not have",
                        grant.id(),
                        granted.resource
                    ))
                })?;
            let content = version.content();
            let mut fields = Vec::with_capacity(granted.fields.len());
            for field in &granted.fields {
                let spec = content.field(&field.name).ok_or_else(|| {
                    AppError::Internal(format!(
                        "grant {} names a field its resource version lacks",
                        grant.id()
                    ))
                })?;
                fields.push((field.clone(), spec.clone()));
            }
            let dataset = self
                .store
                .datasets(granted.resource)
                .await?
                .into_iter()
                .filter(|d| d.resource_version == granted.version)
                .max_by_key(|d| d.number);
            plans.push(TablePlan {
                name: granted.table.clone(),
                unit: content.privacy_unit().cloned(),
                fields,
                dev: dev_tables
                    .iter()
                    .find(|d| d.table == granted.table)
                    .cloned(),
                resource,
                dataset,
            });
        }
        Ok(plans)
    }

    /// Opens the session of `env` over `plans`: production over the real datasets with the
    /// grant's column controls; development over the development tables, every column visible
    /// (their rows are desensitized or simulated). A table without data (no dataset yet, or no
    /// development table) is not in the session. Approved fusion imports join both: production
    /// with their declared controls, development with the join key hashed.
    pub(crate) async fn open_session(
        &self,
        grant: &Grant,
        plans: &Tables,
        env: Env,
    ) -> Result<SandboxSession, AppError> {
        let data = Arc::clone(self.data()?);
        let ring = data.ring()?;
        if (env == Env::Dev && plans.iter().any(|p| p.dev.is_some())) || !plans.fusion.is_empty() {
            // Development tables and fusion imports exist only once their workspace key was
            // stored: this opens it.
            self.open_workspace_key(&data, &ring, grant).await?;
        }
        let mut tables = Vec::new();
        for plan in plans.iter() {
            let columns = plan.columns();
            let (path, controls) = match env {
                Env::Prod => {
                    let Some(dataset) = &plan.dataset else {
                        continue;
                    };
                    data.open_dataset_key(&ring, dataset)?;
                    (dataset.object_path.clone(), plan.prod_controls())
                }
                Env::Dev => {
                    let Some(dev) = &plan.dev else {
                        continue;
                    };
                    let visible = columns
                        .iter()
                        .map(|c| (c.clone(), ColumnControl::Visible))
                        .collect();
                    (dev.object_path.clone(), visible)
                }
            };
            tables.push(TableSpec {
                name: plan.name.clone(),
                path: Path::from(path.as_str()),
                columns,
                controls,
            });
        }
        for fusion in &plans.fusion {
            let columns = fusion.columns();
            let (path, controls) = match env {
                Env::Prod => (
                    fusion.object_path.clone(),
                    fusion.declaration.exposed().into_iter().collect(),
                ),
                Env::Dev => (
                    fusion.dev_object_path.clone(),
                    columns
                        .iter()
                        .map(|c| (c.clone(), ColumnControl::Visible))
                        .collect(),
                ),
            };
            tables.push(TableSpec {
                name: fusion.name.clone(),
                path: Path::from(path.as_str()),
                columns,
                controls,
            });
        }
        // The session scopes the store to its tables' objects itself (`ScopedStore`).
        let store: Arc<dyn ObjectStore> = data.objects();
        let limits = self.query_limits(env);
        SandboxSession::new(SessionSpec {
            tables,
            store,
            limits,
            domain: std::sync::Arc::clone(self.query_domain()),
        })
        .await
        .map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// The limits of one query: the profile's `[sandbox] query_limits`, and a result size that
    /// suits each environment.
    fn query_limits(&self, env: Env) -> Limits {
        let limits = self.profile.sandbox().query_limits.value;
        Limits {
            memory_bytes: usize::try_from(u64::from(limits.memory_mib) * 1024 * 1024)
                .unwrap_or(usize::MAX),
            timeout: std::time::Duration::from_secs(u64::from(limits.timeout_seconds)),
            max_scanned_rows: limits.scanned_rows,
            max_output_rows: match env {
                Env::Dev => DEV_OUTPUT_ROWS,
                Env::Prod => PROD_OUTPUT_ROWS,
            },
        }
    }
}

/// The dataset ids a production run reads, for the fingerprint of a differentially private
/// query (new data is a new question).
pub(crate) fn datasets_of(plans: &[TablePlan]) -> Vec<(ResourceId, DatasetId)> {
    plans
        .iter()
        .filter_map(|p| p.dataset.as_ref().map(|d| (p.resource.id(), d.id)))
        .collect()
}
