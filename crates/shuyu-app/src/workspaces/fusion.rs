//! Fusion imports (融合数据, Changchun art. 18(3), Zhongwei art. 26): "经市政数局审核批准后，授权运营单位
//! 可以将依法依规获取的社会数据导入授权运营域，与授权运营的公共数据进行融合计算。"
//!
//! 1. **Request** (`fusion.request`: the merchant's cleared personnel; the grant must be live): a
//!    [`FusionDeclaration`] (table name, source and legal basis, columns with type and control,
//!    optionally the join key / privacy unit and its format) and the file (CSV or Parquet, the
//!    dataset importer of `shuyu-engine`, bounded by the upload limit). The file is imported at
//!    once into the domain, encrypted under the workspace's data key, at
//!    `workspaces/<grant>/fusion/<import>-<random>.parquet`, with a development copy (a uniform
//!    sample of at most [`super::MAX_DEV_ROWS`] rows, its join key hashed with the rule and key of
//!    the granted unit field of the same kind, so development joins match) beside it
//!    (`….dev.parquet`); the row count and per-column quality profiles (never values) are stored,
//!    so that the reviewer sees what would be used. State `pending`.
//! 2. **Review** by the authority only (`fusion.review`: approve, or reject with a reason;
//!    `fusion.revoke`: revoke an approved import with a reason); the merchant may withdraw a
//!    pending import (`fusion.withdraw`). Each move is [`FusionState::handle`], stored with its
//!    `fusion.<move>` event in one `Tx`. A rejected, withdrawn or revoked import's objects are
//!    deleted after the commit; a revocation also cancels the workspace's running queries.
//! 3. **Use**: an approved import is one more table of the workspace's sessions
//!    (`tables.rs`, [`super::tables::FusionPlan`]), under the same output control as every table.
//!
//! Order of a request, so that a failure leaves nothing: import the objects, then one `Tx` with
//! the workspace key (when new), the import's row and the `fusion.request` event; if anything
//! fails the new objects are deleted and the failure is a `fusion.request` event with outcome
//! `failed` (naming lines, columns and fields, never values).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_catalog::{FieldType, FormatKind};
use shuyu_core::{FusionId, GrantId, OrgId, PersonId, Timestamp, WorkspaceId};
use shuyu_desensitize::{Context, Rule, Sampler, TableRules, apply_batch, default_rule};
use shuyu_engine::ImportField;
use shuyu_grant::{
    FusionColumn, FusionCommand, FusionDeclaration, FusionError, FusionState, FusionUnit, Grant,
};
use shuyu_policy::{Action, Principal};
use shuyu_store::{STALE_FUSION, StoreError, StoredFusion};

use super::dev::{hash_key, parquet_builder, unit_rule, write_parquet};
use super::{MAX_DEV_ROWS, resource_of};
use crate::datasets::{FieldQuality, ImportSource, run_engine_import};
use crate::{App, AppError, Ctx, Object};

const FUSION: &str = "fusion";
const NOT_FOUND: AppError = AppError::NotFound {
    kind: "fusion import",
};

/// A fusion import as its workspace's people and the authority see it.
#[derive(Debug, Clone, Serialize)]
pub struct FusionView {
    pub id: FusionId,
    pub workspace: WorkspaceId,
    pub grant: GrantId,
    pub merchant: OrgId,
    pub operator: OrgId,
    pub table: String,
    pub state: FusionState,
    pub legal_basis: String,
    pub columns: Vec<FusionColumn>,
    pub unit: Option<FusionUnit>,
    pub rows: u64,
    /// Rows of the development copy.
    pub dev_rows: u64,
    pub input_bytes: u64,
    /// SM3 of the imported (plaintext) Parquet file, hex.
    pub sm3: String,
    /// Per-column quality profiles: counts and rates, never values.
    pub quality: Vec<FieldQuality>,
    pub created_at: Timestamp,
    pub created_by: PersonId,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<PersonId>,
    /// Why it was rejected or revoked.
    pub reason: Option<String>,
}

pub(super) fn view(grant: &Grant, f: StoredFusion) -> Result<FusionView, AppError> {
    let declaration: FusionDeclaration = serde_json::from_str(&f.declaration)
        .map_err(|e| AppError::Internal(format!("fusion import {}: declaration: {e}", f.id)))?;
    let quality: Vec<FieldQuality> = serde_json::from_str(&f.profiles)
        .map_err(|e| AppError::Internal(format!("fusion import {}: profiles: {e}", f.id)))?;
    Ok(FusionView {
        id: f.id,
        workspace: grant.workspace(),
        grant: grant.id(),
        merchant: grant.merchant(),
        operator: grant.operator(),
        table: f.table,
        state: f.state,
        legal_basis: declaration.legal_basis,
        columns: declaration.columns,
        unit: declaration.unit,
        rows: f.rows,
        dev_rows: f.dev_rows,
        input_bytes: f.input_bytes,
        sm3: f.sm3,
        quality,
        created_at: f.created_at,
        created_by: f.created_by,
        decided_at: f.decided_at,
        decided_by: f.decided_by,
        reason: f.reason,
    })
}

/// A declaration from its written form (the API's query parameters, the console's form): the
/// columns as `name:type[:control]` entries separated by commas or lines, the join key as
/// `column:resident_id|credit_code` (blank: none). Checked again, fully, by the request.
pub fn fusion_declaration(
    table: &str,
    legal_basis: &str,
    columns: &str,
    unit: &str,
) -> Result<FusionDeclaration, AppError> {
    Ok(FusionDeclaration {
        table: table.trim().to_owned(),
        legal_basis: legal_basis.to_owned(),
        columns: shuyu_grant::parse_columns(columns).map_err(|e| declaration_error(&e))?,
        unit: shuyu_grant::parse_unit(unit).map_err(|e| declaration_error(&e))?,
    })
}

fn declaration_error(e: &FusionError) -> AppError {
    AppError::InvalidFields(vec![(e.path(), e.to_string())])
}

#[derive(Serialize)]
struct Requested<'a> {
    id: FusionId,
    table: &'a str,
    legal_basis: &'a str,
    columns: &'a [FusionColumn],
    unit: Option<&'a FusionUnit>,
    rows: u64,
    sm3: &'a str,
}

#[derive(Serialize)]
struct Moved<'a> {
    id: FusionId,
    table: &'a str,
    from: &'a str,
    to: &'a str,
    reason: Option<&'a str>,
}

impl App {
    /// Whether the actor may request a fusion import into `workspace` (checked before an upload's
    /// body is read; a refusal is audited).
    pub async fn check_fusion(&self, ctx: &Ctx, workspace: WorkspaceId) -> Result<(), AppError> {
        self.authorized_workspace(ctx, workspace, Action::FusionRequest)
            .await
            .map(|_| ())
    }

    /// Records a refused fusion upload (over the size limit) of `workspace` as a failed
    /// `fusion.request`, and returns `err`.
    pub async fn fusion_refused(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        err: AppError,
    ) -> AppError {
        self.fusion_failed(ctx, Object::new(super::WORKSPACE, workspace), err)
            .await
    }

    async fn fusion_failed(&self, ctx: &Ctx, object: Object<'_>, err: AppError) -> AppError {
        let reason = match &err {
            AppError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        self.failed(ctx, Action::FusionRequest, object, &reason, err)
            .await
    }

    /// Requests a fusion import into `workspace` (see the module documentation): the file is
    /// imported into the domain now and waits, `pending`, for the authority's review.
    /// `input_bytes` is the upload's size. Any failure after the policy's decision is audited and
    /// leaves nothing stored.
    pub async fn request_fusion(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
        declaration: FusionDeclaration,
        source: ImportSource,
    ) -> Result<FusionView, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::FusionRequest)
            .await?;
        let id = FusionId::mint(self.now(), self.random_bytes());
        match self
            .fusion_steps(ctx, &grant, id, declaration, source)
            .await
        {
            Ok(view) => Ok(view),
            Err(err) => Err(self.fusion_failed(ctx, Object::new(FUSION, id), err).await),
        }
    }

    async fn fusion_steps(
        &self,
        ctx: &Ctx,
        grant: &Grant,
        id: FusionId,
        declaration: FusionDeclaration,
        source: ImportSource,
    ) -> Result<FusionView, AppError> {
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        self.grant_liveness(grant, Action::FusionRequest).await?;
        let plans = self.table_plans(grant).await?;
        let mut taken: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
        taken.extend(
            self.store
                .fusions_of_grant(grant.id())
                .await?
                .into_iter()
                .filter(|f| f.state.is_current())
                .map(|f| f.table),
        );
        let declaration = declaration
            .check(&taken)
            .map_err(|e| declaration_error(&e))?;
        let data = Arc::clone(self.data()?);
        let ring = data.ring()?;
        let new_key = self.open_workspace_key(&data, &ring, grant).await?;
        let fields: Vec<ImportField> = declaration
            .columns
            .iter()
            .map(|c| {
                let format = match (&declaration.unit, c.field_type) {
                    (Some(unit), _) if unit.column == c.name => unit.format,
                    (_, FieldType::Date) => FormatKind::Date,
                    _ => FormatKind::None,
                };
                ImportField::new(c.name.clone(), c.field_type).with_format(format)
            })
            .collect();
        let suffix: [u8; 8] = self.random_bytes();
        let base = format!(
            "workspaces/{}/fusion/{id}-{}",
            grant.id(),
            hex::encode(suffix)
        );
        let path = Path::from(format!("{base}.parquet"));
        let dev_path = Path::from(format!("{base}.dev.parquet"));
        let objects = data.objects();
        let report = run_engine_import(
            Arc::clone(&objects),
            source,
            fields,
            path.clone(),
            data.options(),
            Box::new(|_| {}),
        )
        .await?;
        let delete_all = || async {
            let _ = objects.delete(&path).await;
            let _ = objects.delete(&dev_path).await;
        };
        // The development copy: the merchant's own rows, the join key hashed like the granted
        // unit field of the same kind.
        let unit_source = declaration.unit.as_ref().and_then(|u| {
            plans.iter().find(|p| {
                p.unit
                    .as_ref()
                    .is_some_and(|spec| spec.format() == u.format)
            })
        });
        let key = hash_key(&ring, grant);
        let mut rng = StdRng::from_seed(self.random_bytes());
        let dev = async {
            let batch = dev_copy(
                &objects,
                &path,
                &declaration,
                |data_type| {
                    unit_source
                        .and_then(|plan| unit_rule(plan, data_type))
                        .unwrap_or_else(|| {
                            default_rule(shuyu_profile::Desensitization::Hash, None, data_type)
                        })
                },
                &key,
                &mut rng,
            )
            .await?;
            write_parquet(&objects, &dev_path, &batch).await?;
            Ok::<u64, AppError>(batch.num_rows() as u64)
        }
        .await;
        let dev_rows = match dev {
            Ok(rows) => rows,
            Err(e) => {
                delete_all().await;
                return Err(e);
            }
        };
        let quality: Vec<FieldQuality> = report
            .profiles
            .iter()
            .map(|(field, profile)| FieldQuality {
                field: field.clone(),
                profile: profile.clone(),
            })
            .collect();
        let stored = StoredFusion {
            id,
            grant: grant.id(),
            table: declaration.table.clone(),
            state: FusionState::Pending,
            declaration: serde_json::to_string(&declaration)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            object_path: path.to_string(),
            dev_object_path: dev_path.to_string(),
            rows: report.rows,
            dev_rows,
            input_bytes: report.input_bytes,
            sm3: report.sm3.clone(),
            profiles: serde_json::to_string(&quality)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: self.now(),
            created_by: actor.person,
            decided_at: None,
            decided_by: None,
            reason: None,
        };
        let change = Requested {
            id,
            table: &declaration.table,
            legal_basis: &declaration.legal_basis,
            columns: &declaration.columns,
            unit: declaration.unit.as_ref(),
            rows: report.rows,
            sm3: &report.sm3,
        };
        let saved = async {
            let mut tx = self.store.begin().await?;
            if let Some(key) = &new_key {
                tx.insert_workspace_key(key).await?;
            }
            tx.insert_fusion(&stored).await?;
            tx.audit(self.event(
                ctx,
                Action::FusionRequest.as_str(),
                Object::new(FUSION, id),
                &change,
                Outcome::Ok,
                &format!(
                    "workspace {}: table {} requested, {} rows, pending review",
                    grant.workspace(),
                    stored.table,
                    stored.rows
                ),
            ))
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = saved {
            delete_all().await;
            return Err(match e {
                StoreError::Conflict(_) => declaration_error(&FusionError::TableClash {
                    table: declaration.table.clone(),
                }),
                other => other.into(),
            });
        }
        view(grant, stored)
    }

    /// Moves fusion import `id` by `command`: approve or reject (the authority), withdraw (the
    /// merchant), revoke (the authority). One `fusion.<move>` event in the move's `Tx`; the
    /// objects of an import that leaves are deleted after the commit.
    pub async fn move_fusion(
        &self,
        ctx: &Ctx,
        id: FusionId,
        command: FusionCommand,
    ) -> Result<FusionView, AppError> {
        let stored = self.store.fusion(id).await?.ok_or(NOT_FOUND)?;
        let grant = self.store.grant(stored.grant).await?.ok_or_else(|| {
            AppError::Internal(format!("fusion import {id} names a missing grant"))
        })?;
        let action = match command {
            FusionCommand::Approve | FusionCommand::Reject { .. } => Action::FusionReview,
            FusionCommand::Withdraw => Action::FusionWithdraw,
            FusionCommand::Revoke { .. } => Action::FusionRevoke,
        };
        self.authorize(ctx, action, &resource_of(&grant), Object::new(FUSION, id))
            .await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let event = stored.state.handle(&command).map_err(|e| match e {
            FusionError::Transition { .. } => AppError::Conflict(e.to_string()),
            other => declaration_error(&other),
        })?;
        let to = stored.state.apply(&event);
        let reason = event.reason();
        let change = Moved {
            id,
            table: &stored.table,
            from: stored.state.as_str(),
            to: to.as_str(),
            reason,
        };
        let mut tx = self.store.begin().await?;
        tx.move_fusion(id, stored.state, to, (self.now(), actor.person, reason))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(what) if what == STALE_FUSION => AppError::Conflict(
                    "the import was moved by someone else meanwhile; reload it and decide again"
                        .into(),
                ),
                other => other.into(),
            })?;
        tx.audit(self.event(
            ctx,
            &format!("fusion.{}", command.as_str()),
            Object::new(FUSION, id),
            &change,
            Outcome::Ok,
            &format!(
                "workspace {}: table {} {} → {}{}",
                grant.workspace(),
                stored.table,
                stored.state.as_str(),
                to.as_str(),
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
        ))
        .await?;
        tx.commit().await?;
        if !to.is_current() {
            if to == FusionState::Revoked {
                // Queries reading the table stop with it.
                self.inflight().cancel_grant(grant.id());
            }
            if let Ok(data) = self.data() {
                for path in [&stored.object_path, &stored.dev_object_path] {
                    if let Err(e) = data.objects().delete(&Path::from(path.as_str())).await {
                        tracing::warn!(path, error = %e, "a fusion import's object was not deleted");
                    }
                }
            }
        }
        let moved = self.store.fusion(id).await?.ok_or(NOT_FOUND)?;
        view(&grant, moved)
    }

    /// The fusion imports of a workspace (every state), oldest first.
    pub async fn workspace_fusions(
        &self,
        ctx: &Ctx,
        workspace: WorkspaceId,
    ) -> Result<Vec<FusionView>, AppError> {
        let grant = self
            .authorized_workspace(ctx, workspace, Action::WorkspaceRead)
            .await?;
        self.store
            .fusions_of_grant(grant.id())
            .await?
            .into_iter()
            .map(|f| view(&grant, f))
            .collect()
    }

    /// One fusion import, if the actor may read its workspace.
    pub async fn fusion(&self, ctx: &Ctx, id: FusionId) -> Result<FusionView, AppError> {
        let stored = self.store.fusion(id).await?.ok_or(NOT_FOUND)?;
        let grant = self.store.grant(stored.grant).await?.ok_or(NOT_FOUND)?;
        self.authorize(
            ctx,
            Action::WorkspaceRead,
            &resource_of(&grant),
            Object::new(FUSION, id),
        )
        .await?;
        view(&grant, stored)
    }

    /// The fusion imports the actor may read (the authority and supervisors: all; a merchant's
    /// verified personnel: their organisation's; an operator: those of the grants it runs),
    /// newest first, at most 500; `state` filters.
    pub async fn fusions(
        &self,
        ctx: &Ctx,
        state: Option<FusionState>,
    ) -> Result<Vec<FusionView>, AppError> {
        self.refuse_anonymous(ctx, Action::WorkspaceRead).await?;
        let mut grants: BTreeMap<GrantId, Option<Grant>> = BTreeMap::new();
        let mut out = Vec::new();
        for stored in self.store.fusions(500).await? {
            if state.is_some_and(|s| s != stored.state) {
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = grants.entry(stored.grant) {
                let grant = self.store.grant(stored.grant).await?.filter(|g| {
                    shuyu_policy::decide(
                        &ctx.principal,
                        Action::WorkspaceRead,
                        &resource_of(g),
                        &self.profile,
                    )
                    .is_allowed()
                });
                slot.insert(grant);
            }
            if let Some(Some(grant)) = grants.get(&stored.grant) {
                out.push(view(grant, stored)?);
            }
        }
        Ok(out)
    }
}

/// The development copy of an imported file: a uniform sample of at most [`MAX_DEV_ROWS`] rows,
/// the join key desensitized by `unit_rule` under the grant's key, every other column as is.
async fn dev_copy(
    store: &Arc<dyn object_store::ObjectStore>,
    path: &Path,
    declaration: &FusionDeclaration,
    unit_rule: impl Fn(&arrow_schema::DataType) -> Rule,
    key: &shuyu_desensitize::HashKey,
    rng: &mut StdRng,
) -> Result<arrow_array::RecordBatch, AppError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        AppError::Internal(format!("the imported fusion file cannot be read: {e}"))
    };
    let stream = parquet_builder(store, path)
        .await
        .map_err(|e| unreadable(&e))?
        .with_batch_size(8192)
        .build()
        .map_err(|e| unreadable(&e))?;
    let schema = Arc::clone(stream.schema());
    let mut sampler = Sampler::new(Arc::clone(&schema), MAX_DEV_ROWS as usize);
    let mut stream = std::pin::pin!(stream);
    while let Some(batch) = stream.try_next().await.map_err(|e| unreadable(&e))? {
        sampler.push(&batch, rng).map_err(|e| unreadable(&e))?;
    }
    let sampled = sampler.finish().map_err(|e| unreadable(&e))?;
    let unit = declaration.unit.as_ref().map(|u| u.column.as_str());
    let rules = schema
        .fields()
        .iter()
        .map(|f| {
            let rule = if Some(f.name().as_str()) == unit {
                unit_rule(f.data_type())
            } else {
                Rule::Keep
            };
            (f.name().clone(), rule)
        })
        .collect();
    let ctx = Context::new().with_key(key);
    apply_batch(&sampled, &TableRules::new(rules), &ctx).map_err(|e| unreadable(&e))
}
