//! The development environment's tables (SBX-1, SBX-5): made inside the domain from the real
//! dataset, written encrypted under the workspace's own data key, and then the only rows people
//! ever see.
//!
//! - **sample**: a uniform reservoir sample of the real rows (`shuyu_desensitize::Sampler`), then
//!   every column desensitized by the grant's rule for it (`default_rule` of the granted
//!   desensitization, the field's format and type), keyed hashes under a per-grant key derived from
//!   the master key (so hashes do not join across grants), date shifts per privacy unit. The
//!   privacy unit, when not granted, is exposed as a keyed hash only.
//! - **simulated**: rows drawn column by column from the real data's marginals
//!   (`shuyu_synth::Marginals`): fresh format-valid identifiers, no value seen fewer times than the
//!   grant's minimum group size.
//!
//! Order, so that a failure loses nothing: write every new object, then one `Tx` with the
//! workspace key (when new), the table rows and the `workspace.prepare` event; on failure the new
//! objects are deleted; after the commit the replaced objects are deleted.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
// `ParquetObjectReader` is deprecated in parquet 59 in favour of an own `AsyncFileReader`; it still
// reads ranges through `object_store` (here the decrypting store) correctly.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_core::WorkspaceId;
use shuyu_desensitize::{Context, HashKey, Rule, Sampler, TableRules, apply_batch, default_rule};
use shuyu_engine::KeyRing;
use shuyu_grant::Grant;
use shuyu_policy::{Action, Principal};
use shuyu_store::{StoredDevTable, StoredPreparation, StoredWorkspaceKey};
use shuyu_synth::Marginals;

use super::tables::TablePlan;
use super::{DevMode, WORKSPACE, WorkspaceView};
use crate::datasets::DataStore;
use crate::{App, AppError, Ctx, Object};

/// The most rows a development table may have.
pub const MAX_DEV_ROWS: u32 = 10_000;

/// Purpose label of the per-grant desensitization key derived from the master key.
const HASH_KEY_PURPOSE: &[u8] = b"workspace-desensitization";

/// The per-grant key of keyed hashes and date shifts in development tables (derived from the
/// master key, so hashes do not join across grants).
pub(super) fn hash_key(ring: &KeyRing, grant: &Grant) -> HashKey {
    HashKey::from_bytes(*ring.derive_secret(HASH_KEY_PURPOSE, grant.id().to_string().as_bytes()))
}

/// The rule a development table applies to `plan`'s privacy-unit column of type `data_type`:
/// the granted field's desensitization when the unit is granted, else a keyed hash. A fusion
/// import's join key of the same kind gets the same rule, so development joins match.
pub(super) fn unit_rule(plan: &TablePlan, data_type: &arrow_schema::DataType) -> Option<Rule> {
    let unit = plan.unit.as_ref()?;
    Some(
        match plan
            .fields
            .iter()
            .find(|(g, _)| g.name == unit.name().as_str())
        {
            Some((granted, spec)) => {
                default_rule(granted.desensitization, Some(spec.format()), data_type)
            }
            None => default_rule(shuyu_profile::Desensitization::Hash, None, data_type),
        },
    )
}

#[derive(Serialize)]
struct Prepared<'a> {
    mode: &'a str,
    rows: u32,
    tables: Vec<(&'a str, u64)>,
}

impl App {
    /// Builds (or rebuilds) the development tables of a workspace, `rows` rows per table at most,
    /// as `mode` says. The merchant's cleared personnel only; the grant must be live.
    pub async fn prepare_dev(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        mode: DevMode,
        rows: u32,
    ) -> Result<WorkspaceView, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspacePrepare)
            .await?;
        if rows == 0 || rows > MAX_DEV_ROWS {
            return Err(AppError::invalid(
                "rows",
                format!("give 1 to {MAX_DEV_ROWS} rows per development table"),
            ));
        }
        if let Err(refusal) = self.grant_liveness(&grant, Action::WorkspacePrepare).await {
            // The refusal is on the chain under the action attempted, like a policy denial.
            let detail = match &refusal {
                AppError::Forbidden(d) => format!("{}: {}", d.code, d.message),
                other => other.to_string(),
            };
            let mut tx = self.store.begin().await?;
            tx.audit(self.event(
                ctx,
                Action::WorkspacePrepare.as_str(),
                Object::new(WORKSPACE, workspace),
                &(),
                Outcome::Denied,
                &detail,
            ))
            .await?;
            tx.commit().await?;
            return Err(refusal);
        }
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let plans = self.table_plans(&grant).await?;
        if plans.iter().all(|p| p.dataset.is_none()) {
            return Err(AppError::Conflict(
                "no granted resource has data yet: the source department must import a dataset first"
                    .into(),
            ));
        }
        let data = Arc::clone(self.data()?);
        let ring = data.ring()?;
        let new_key = self.open_workspace_key(&data, &ring, &grant).await?;
        let hash_key = hash_key(&ring, &grant);
        let mut rng = StdRng::from_seed(self.random_bytes());
        let now = self.now();
        let mut written: Vec<StoredDevTable> = Vec::new();
        let started = std::time::Instant::now();
        // Both modes read every row of each dataset (a reservoir sample; the marginals).
        let rows_read: u64 = plans
            .iter()
            .filter_map(|p| p.dataset.as_ref().map(|d| d.rows))
            .sum();
        let build = async {
            for plan in &plans {
                let Some(dataset) = &plan.dataset else {
                    continue;
                };
                data.open_dataset_key(&ring, dataset)?;
                let source = Path::from(dataset.object_path.as_str());
                let batch = match mode {
                    DevMode::Sample => {
                        sample(
                            &data.objects(),
                            &source,
                            plan,
                            rows,
                            &hash_key,
                            now,
                            &mut rng,
                        )
                        .await?
                    }
                    DevMode::Simulated => {
                        simulate(&data.objects(), &source, plan, &grant, rows, &mut rng).await?
                    }
                };
                let suffix: [u8; 8] = self.random_bytes();
                let path = format!(
                    "workspaces/{}/dev/{}-{}.parquet",
                    grant.id(),
                    plan.name,
                    hex::encode(suffix)
                );
                write_parquet(&data.objects(), &Path::from(path.as_str()), &batch).await?;
                written.push(StoredDevTable {
                    grant: grant.id(),
                    table: plan.name.clone(),
                    resource: plan.resource.id(),
                    dataset: dataset.id,
                    mode: mode.as_str().to_owned(),
                    object_path: path,
                    rows: batch.num_rows() as u64,
                    created_at: now,
                    created_by: actor.person,
                });
            }
            Ok::<(), AppError>(())
        };
        let built = build.await;
        let saved = match built {
            Ok(()) => {
                let preparation = StoredPreparation {
                    grant: grant.id(),
                    mode: mode.as_str().to_owned(),
                    rows_read,
                    rows_written: written.iter().map(|t| t.rows).sum(),
                    elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    created_at: now,
                    created_by: actor.person,
                };
                self.save_dev_tables(ctx, &grant, new_key.as_ref(), &written, &preparation, rows)
                    .await
            }
            Err(e) => Err(e),
        };
        match saved {
            Ok(replaced) => {
                for path in replaced {
                    if let Err(e) = data.objects().delete(&Path::from(path.as_str())).await {
                        tracing::warn!(path, error = %e, "a replaced development table was not deleted");
                    }
                }
            }
            Err(e) => {
                for table in &written {
                    let _ = data
                        .objects()
                        .delete(&Path::from(table.object_path.as_str()))
                        .await;
                }
                return Err(e);
            }
        }
        self.workspace(ctx, workspace).await
    }

    async fn save_dev_tables(
        &self,
        ctx: &Ctx,
        grant: &Grant,
        new_key: Option<&StoredWorkspaceKey>,
        tables: &[StoredDevTable],
        preparation: &StoredPreparation,
        rows: u32,
    ) -> Result<Vec<String>, AppError> {
        let mode = preparation.mode.as_str();
        let mut tx = self.store.begin().await?;
        if let Some(key) = new_key {
            tx.insert_workspace_key(key).await?;
        }
        let mut replaced = Vec::new();
        for table in tables {
            if let Some(old) = tx.replace_dev_table(table).await? {
                replaced.push(old);
            }
        }
        tx.insert_preparation(preparation).await?;
        let change = Prepared {
            mode,
            rows,
            tables: tables.iter().map(|t| (t.table.as_str(), t.rows)).collect(),
        };
        tx.audit(self.event(
            ctx,
            Action::WorkspacePrepare.as_str(),
            Object::new(WORKSPACE, grant.workspace()),
            &change,
            Outcome::Ok,
            &format!(
                "development tables ({mode}, {} rows read): {}",
                preparation.rows_read,
                tables
                    .iter()
                    .map(|t| format!("{} {} rows", t.table, t.rows))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
        .await?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// Puts the workspace's data key into the key map; makes one when the workspace has none yet
    /// and returns it for the caller to store in its `Tx`.
    pub(crate) async fn open_workspace_key(
        &self,
        data: &DataStore,
        ring: &KeyRing,
        grant: &Grant,
    ) -> Result<Option<StoredWorkspaceKey>, AppError> {
        let prefix = Path::from(format!("workspaces/{}", grant.id()));
        if let Some(stored) = self.store.workspace_key(grant.id()).await? {
            let key = ring.data_key(&stored.wrapped_key).map_err(|e| {
                AppError::Unavailable(format!("the workspace's data key cannot be opened: {e}"))
            })?;
            data.insert_key(&prefix, key);
            return Ok(None);
        }
        let (key, wrapped) = self
            .with_rng(|rng| ring.new_data_key(rng))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        data.insert_key(&prefix, key);
        Ok(Some(StoredWorkspaceKey {
            grant: grant.id(),
            wrapped_key: wrapped.to_string(),
            master_key_id: ring.master_key_id(),
            created_at: self.now(),
        }))
    }
}

/// A Parquet stream builder over the object `path` of `store` (the decrypting store): the one
/// place a workspace opens a Parquet object to read it itself (development tables, fusion
/// imports). The error describes the failure, never a value.
#[allow(deprecated)]
pub(super) async fn parquet_builder(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> Result<ParquetRecordBatchStreamBuilder<ParquetObjectReader>, String> {
    let meta = store.head(path).await.map_err(|e| e.to_string())?;
    #[allow(deprecated)]
    let reader =
        ParquetObjectReader::new(Arc::clone(store), path.clone()).with_file_size(meta.size);
    ParquetRecordBatchStreamBuilder::new_with_options(reader, ArrowReaderOptions::new())
        .await
        .map_err(|e| e.to_string())
}

/// The real rows of `plan`'s columns, batch by batch.
async fn read_real(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    plan: &TablePlan,
) -> Result<
    (
        SchemaRef,
        impl futures_util::Stream<Item = Result<RecordBatch, parquet::errors::ParquetError>>,
    ),
    AppError,
> {
    let unreadable = |e: &dyn std::fmt::Display| {
        AppError::Unavailable(format!(
            "the dataset of table {} cannot be read: {e}",
            plan.name
        ))
    };
    let builder = parquet_builder(store, path)
        .await
        .map_err(|e| unreadable(&e))?;
    let schema = Arc::clone(builder.schema());
    let mut indices = Vec::new();
    for column in plan.columns() {
        let index = schema.index_of(&column).map_err(|_| {
            AppError::Internal(format!(
                "the dataset of table {} lacks a granted column",
                plan.name
            ))
        })?;
        indices.push(index);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let stream = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(|e| unreadable(&e))?;
    let schema = Arc::clone(stream.schema());
    Ok((schema, stream))
}

/// A desensitized uniform sample of at most `rows` real rows.
async fn sample(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    plan: &TablePlan,
    rows: u32,
    key: &HashKey,
    now: shuyu_core::Timestamp,
    rng: &mut StdRng,
) -> Result<RecordBatch, AppError> {
    let (schema, stream) = read_real(store, path, plan).await?;
    let mut sampler = Sampler::new(Arc::clone(&schema), rows as usize);
    let mut stream = std::pin::pin!(stream);
    while let Some(batch) = stream
        .try_next()
        .await
        .map_err(|e| AppError::Unavailable(format!("table {}: {e}", plan.name)))?
    {
        sampler
            .push(&batch, rng)
            .map_err(|e| AppError::Internal(format!("table {}: {e}", plan.name)))?;
    }
    let sampled = sampler
        .finish()
        .map_err(|e| AppError::Internal(format!("table {}: {e}", plan.name)))?;
    let mut rules = Vec::new();
    for field in schema.fields() {
        let name = field.name();
        let rule = match plan.fields.iter().find(|(g, _)| &g.name == name) {
            Some((granted, spec)) => default_rule(
                granted.desensitization,
                Some(spec.format()),
                field.data_type(),
            ),
            // The privacy unit, exposed only so that persons can be counted: a keyed hash.
            None => default_rule(
                shuyu_profile::Desensitization::Hash,
                None,
                field.data_type(),
            ),
        };
        rules.push((name.clone(), rule));
    }
    let mut table_rules = TableRules::new(rules);
    if let Some(unit) = plan.unit_column() {
        table_rules = table_rules.with_privacy_unit(unit);
    }
    let today = DateTime::<Utc>::from_timestamp_micros(now.unix_micros())
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let ctx = Context::new().with_key(key).with_as_of(today);
    apply_batch(&sampled, &table_rules, &ctx)
        .map_err(|e| AppError::Internal(format!("table {}: {e}", plan.name)))
}

/// `rows` simulated rows drawn from the real data's per-column marginals.
async fn simulate(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    plan: &TablePlan,
    grant: &Grant,
    rows: u32,
    rng: &mut StdRng,
) -> Result<RecordBatch, AppError> {
    let (schema, stream) = read_real(store, path, plan).await?;
    let formats: Vec<(String, Option<shuyu_quality::FormatKind>)> = schema
        .fields()
        .iter()
        .map(|f| {
            let format = plan
                .fields
                .iter()
                .map(|(_, spec)| spec)
                .chain(plan.unit.iter())
                .find(|spec| spec.name().as_str() == f.name())
                .map(shuyu_catalog::FieldSpec::format)
                .filter(|k| *k != shuyu_quality::FormatKind::None);
            (f.name().clone(), format)
        })
        .collect();
    let min_count = u64::from(grant.min_group_size()).max(2);
    let mut marginals = Marginals::new(Arc::clone(&schema), &formats, min_count)
        .map_err(|e| AppError::Conflict(format!("table {}: {e}", plan.name)))?;
    let mut stream = std::pin::pin!(stream);
    while let Some(batch) = stream
        .try_next()
        .await
        .map_err(|e| AppError::Unavailable(format!("table {}: {e}", plan.name)))?
    {
        marginals
            .observe(&batch)
            .map_err(|e| AppError::Internal(format!("table {}: {e}", plan.name)))?;
    }
    marginals.sample(rows as usize, rng).map_err(|e| {
        AppError::Conflict(format!(
            "table {} cannot be simulated: {e}; use a desensitized sample instead",
            plan.name
        ))
    })
}

pub(super) async fn write_parquet(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    batch: &RecordBatch,
) -> Result<(), AppError> {
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), None)
        .map_err(|e| AppError::Internal(format!("development table: {e}")))?;
    writer
        .write(batch)
        .and_then(|()| writer.close().map(|_| ()))
        .map_err(|e| AppError::Internal(format!("development table: {e}")))?;
    store
        .put(path, PutPayload::from(buffer))
        .await
        .map_err(|e| AppError::Unavailable(format!("development table: {e}")))?;
    Ok(())
}
