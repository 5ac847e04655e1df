//! Datasets (issue 4): data hooked (挂接) to an approved resource version.
//!
//! An import is authorized (`dataset.import`: the provider's source department, or the data service
//! agency acting for it, QQ5), checked against the approved version's registered fields, streamed
//! by `shuyu-engine` into an SM4-encrypted Parquet object under a fresh per-dataset data key, and
//! published in this order, so that a crash leaves at worst an unreferenced object, never a row
//! pointing at a missing one:
//!
//! 1. import to `datasets/<resource>/<dataset>/staging.parquet` (the importer deletes it on error);
//! 2. refuse a duplicate (same resource, same plaintext digest) and delete the staging object;
//! 3. publish: rename it to `datasets/<resource>/<dataset>/data.parquet` (atomic on local files;
//!    on S3 a copy that completes only if the target is absent, then a delete of the staging object);
//! 4. in one `Tx`: the dataset version row (with the data key wrapped by the master key) and the
//!    `dataset.import` audit event; if that fails, the published object is deleted again.
//!
//! Any failure after authorization is itself an audit event with outcome `failed` naming the
//! reason (lines, columns and fields — never values). Objects left by a crash between steps 3 and
//! 4 (or a staging object of an import that died) are unreferenced: [`App::sweep_datasets`] deletes
//! them once they are older than a grace period.
//!
//! Every import, whichever way it comes (API, command line, demo), is registered as an import job
//! once authorized ([`App::begin_import`]) and records its rows and bytes after every batch, then
//! its outcome ([`App::run_import`]); see `imports.rs` for who may watch it and for how long.
//!
//! The data key exists in memory only (in the encrypted store's key map); the database holds it
//! wrapped. Master key rotation re-wraps every data key in one transaction; no object is rewritten.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use futures_util::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_catalog::{ResourceId, ResourceVersionId};
use shuyu_core::{DatasetId, PersonId, Timestamp};
use shuyu_engine::{
    CacheStats, CachedStore, EncryptedStore, ImportError, ImportField, ImportOptions, ImportReport,
    KeyError, KeyRing, ObjectStorage, PlainCache, PrefixKeys, Progress, SpoolWriter, Spooled,
};
use shuyu_policy::{Action, Resource};
use shuyu_quality::FieldProfile;
use shuyu_store::{StoreError, StoredDataset};
use sm3::{Digest, Sm3};

use crate::catalog::{entry, person_actor};
use crate::imports::{ImportJob, ImportJobs, ImportState, PendingImport};
use crate::{App, AppError, Ctx, Object};

const DATASET: &str = "dataset";

/// The in-domain memory of decrypted byte ranges by default: 1 GiB (the server's
/// `data.cache_mib` sets it).
pub const DEFAULT_CACHE_BYTES: u64 = 1024 * 1024 * 1024;

/// Where dataset objects live and the keys that open them.
pub struct DataStore {
    dir: PathBuf,
    keys: Arc<PrefixKeys>,
    /// The ciphertext store (local files or S3) under `objects`.
    inner: Arc<dyn ObjectStore>,
    /// The decrypting store over `inner`.
    encrypted: Arc<dyn ObjectStore>,
    /// Decrypted ranges recently read, kept in the domain's memory (`shuyu_engine::cache`).
    cache: Arc<PlainCache>,
    /// `encrypted` read through `cache`: what everything here reads and writes.
    objects: Arc<dyn ObjectStore>,
    /// Per dataset, the most rows one privacy unit has in it (`None`: some row has none), once
    /// computed: datasets never change, so neither does this.
    unit_rows: Mutex<HashMap<DatasetId, Option<u64>>>,
    ring: RwLock<Option<Arc<KeyRing>>>,
    options: ImportOptions,
    jobs: ImportJobs,
    storage: String,
}

impl std::fmt::Debug for DataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStore")
            .field("dir", &self.dir)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl DataStore {
    /// Objects under `<dir>/objects`, upload spools under `<dir>/spool`. `ring` is `None` when no
    /// master key is configured: imports then answer a clear "unavailable" problem. `seed` seeds
    /// the generator of encrypted file ids and **must** come from the OS random source in
    /// production.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: &FsPath, ring: Option<KeyRing>, seed: [u8; 32]) -> Result<Self, AppError> {
        let storage = ObjectStorage::Local {
            root: dir.join("objects"),
        };
        Self::open_in(dir, &storage, ring, seed)
    }

    /// Objects in `storage` (local files or an S3-compatible bucket, as the binary's
    /// `[storage]` configuration says), upload spools under `<dir>/spool`; otherwise as
    /// [`DataStore::open`].
    ///
    /// # Errors
    /// When the storage cannot be opened (a directory that cannot be created, S3 settings the
    /// client refuses).
    pub fn open_in(
        dir: &FsPath,
        storage: &ObjectStorage,
        ring: Option<KeyRing>,
        seed: [u8; 32],
    ) -> Result<Self, AppError> {
        let inner = storage
            .open()
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        let keys = Arc::new(PrefixKeys::new());
        let resolver: Arc<dyn shuyu_engine::KeyResolver> = Arc::clone(&keys) as _;
        let encrypted: Arc<dyn ObjectStore> = Arc::new(EncryptedStore::new(
            Arc::clone(&inner),
            Arc::clone(&resolver),
            seed,
        ));
        let cache = Arc::new(PlainCache::new(DEFAULT_CACHE_BYTES));
        let objects: Arc<dyn ObjectStore> = Arc::new(CachedStore::new(
            Arc::clone(&encrypted),
            Arc::clone(&cache),
            resolver,
        ));
        Ok(Self {
            dir: dir.to_path_buf(),
            keys,
            inner,
            encrypted,
            cache,
            objects,
            unit_rows: Mutex::default(),
            ring: RwLock::new(ring.map(Arc::new)),
            options: ImportOptions::default(),
            jobs: ImportJobs::default(),
            storage: storage.describe(),
        })
    }

    /// The storage backend, for logs (never a credential).
    #[must_use]
    pub fn storage(&self) -> &str {
        &self.storage
    }

    /// Keeps at most `bytes` of decrypted ranges in memory (0: none), replacing the cache.
    #[must_use]
    pub fn with_cache_bytes(mut self, bytes: u64) -> Self {
        self.cache = Arc::new(PlainCache::new(bytes));
        let keys: Arc<dyn shuyu_engine::KeyResolver> = Arc::clone(&self.keys) as _;
        self.objects = Arc::new(CachedStore::new(
            Arc::clone(&self.encrypted),
            Arc::clone(&self.cache),
            keys,
        ));
        self
    }

    /// The most rows one privacy unit has in `dataset`, if computed (see `unit_rows`).
    pub(crate) fn unit_rows(&self, dataset: DatasetId) -> Option<Option<u64>> {
        self.unit_rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&dataset)
            .copied()
    }

    pub(crate) fn set_unit_rows(&self, dataset: DatasetId, rows: Option<u64>) {
        self.unit_rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(dataset, rows);
    }

    /// What the in-domain cache of decrypted ranges holds and how it served.
    #[must_use]
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Uses `options` for imports (tests use small batches).
    #[must_use]
    pub fn with_options(mut self, options: ImportOptions) -> Self {
        self.options = options;
        self
    }

    /// The data directory.
    pub fn dir(&self) -> &FsPath {
        &self.dir
    }

    /// The registry of import jobs (running, and recently finished).
    pub fn jobs(&self) -> &ImportJobs {
        &self.jobs
    }

    pub(crate) fn ring(&self) -> Result<Arc<KeyRing>, AppError> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| AppError::Unavailable(KeyError::MissingMasterKey.to_string()))
    }

    /// The decrypting store of every object (dataset and workspace files alike), read through
    /// the in-domain cache.
    pub(crate) fn objects(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.objects)
    }

    /// Makes `dataset`'s object readable: its data key, unwrapped by `ring`, joins the key map.
    pub(crate) fn open_dataset_key(
        &self,
        ring: &KeyRing,
        dataset: &StoredDataset,
    ) -> Result<(), AppError> {
        let key = ring.data_key(&dataset.wrapped_key).map_err(|e| {
            AppError::Unavailable(format!(
                "dataset {}: cannot open its data key: {e}",
                dataset.id
            ))
        })?;
        let prefix = Path::from(format!("datasets/{}/{}", dataset.resource, dataset.id));
        self.keys.insert(&prefix, key);
        Ok(())
    }

    /// The importer's options (batch size and the like).
    pub(crate) fn options(&self) -> ImportOptions {
        self.options
    }

    /// Makes the objects under `prefix` readable and writable with `key`.
    pub(crate) fn insert_key(&self, prefix: &Path, key: shuyu_engine::DataKey) {
        self.keys.insert(prefix, key);
    }

    fn set_ring(&self, ring: KeyRing) {
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(ring));
    }
}

/// What to import.
pub enum ImportSource {
    /// CSV, UTF-8 or GB18030 (detected), read sequentially.
    Csv(Box<dyn Read + Send>),
    /// A Parquet file on local disk (the command line).
    ParquetFile(File),
    /// A Parquet upload spooled encrypted (the API).
    ParquetSpooled(Spooled),
}

impl ImportSource {
    /// The input's size when it is cheap to know (a Parquet file on disk); the API passes the
    /// spooled upload's size itself.
    pub fn total_bytes(&self) -> Option<u64> {
        match self {
            ImportSource::ParquetFile(file) => file.metadata().ok().map(|m| m.len()),
            ImportSource::Csv(_) | ImportSource::ParquetSpooled(_) => None,
        }
    }
}

impl std::fmt::Debug for ImportSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImportSource::Csv(_) => "Csv",
            ImportSource::ParquetFile(_) => "ParquetFile",
            ImportSource::ParquetSpooled(_) => "ParquetSpooled",
        })
    }
}

/// Called after every imported batch.
pub type ProgressFn = Box<dyn FnMut(Progress) + Send>;

/// The quality profile of one field: aggregates only, never values.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FieldQuality {
    pub field: String,
    pub profile: FieldProfile,
}

/// A dataset version as shown to the source department and the authority.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetView {
    pub id: DatasetId,
    pub resource: ResourceId,
    pub resource_version: ResourceVersionId,
    pub resource_number: u32,
    pub number: u32,
    pub rows: u64,
    pub input_bytes: u64,
    pub parquet_bytes: u64,
    /// SM3 of the plaintext Parquet file, hex.
    pub sm3: String,
    /// `utf8` or `gb18030` for CSV input, `None` for Parquet.
    pub encoding: Option<String>,
    pub quality: Vec<FieldQuality>,
    pub created_at: Timestamp,
    pub created_by: PersonId,
}

fn view(d: StoredDataset) -> Result<DatasetView, AppError> {
    let quality: Vec<FieldQuality> = serde_json::from_str(&d.profiles).map_err(|e| {
        AppError::Internal(format!("dataset {} has unreadable profiles: {e}", d.id))
    })?;
    Ok(DatasetView {
        id: d.id,
        resource: d.resource,
        resource_version: d.resource_version,
        resource_number: d.resource_number,
        number: d.number,
        rows: d.rows,
        input_bytes: d.input_bytes,
        parquet_bytes: d.parquet_bytes,
        sm3: d.sm3,
        encoding: d.encoding,
        quality,
        created_at: d.created_at,
        created_by: d.created_by,
    })
}

/// What a master key rotation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotation {
    pub from_key: String,
    pub to_key: String,
    pub rewrapped: usize,
}

/// An import failure as a use-case error: bad input names lines, columns and fields.
fn import_error(err: ImportError) -> AppError {
    match err {
        ImportError::NoFields => AppError::Conflict(err.to_string()),
        ImportError::Schema(m) => {
            let mut problems = Vec::new();
            if !m.missing.is_empty() {
                problems.push((
                    "columns.missing".to_owned(),
                    format!(
                        "registered fields absent from the file: {}",
                        m.missing.join(", ")
                    ),
                ));
            }
            if !m.extra.is_empty() {
                problems.push((
                    "columns.extra".to_owned(),
                    format!(
                        "columns that are not registered fields: {}",
                        m.extra.join(", ")
                    ),
                ));
            }
            if !m.duplicated.is_empty() {
                problems.push((
                    "columns.duplicated".to_owned(),
                    format!("columns named more than once: {}", m.duplicated.join(", ")),
                ));
            }
            if !m.mismatched.is_empty() {
                let list: Vec<String> = m
                    .mismatched
                    .iter()
                    .map(|t| {
                        format!(
                            "{} is {}, registered as {}",
                            t.column,
                            t.found,
                            t.expected.as_str()
                        )
                    })
                    .collect();
                problems.push(("columns.mismatched".to_owned(), list.join("; ")));
            }
            AppError::InvalidFields(problems)
        }
        ImportError::Value {
            line,
            column,
            ref field,
            ref reason,
        } => AppError::InvalidFields(vec![(
            format!("file.line[{line}].column[{column}]"),
            format!("line {line}, column {column} ({field}): {reason}"),
        )]),
        ImportError::EmptyFile
        | ImportError::RowLength { .. }
        | ImportError::Csv { .. }
        | ImportError::ParquetInput(_) => AppError::invalid("file", err),
        ImportError::Write(_) | ImportError::Io(_) => AppError::Internal(err.to_string()),
    }
}

/// Runs the engine's synchronous importer of `source` (checked against `fields`) into `target` of
/// `store` on a blocking thread. The importer deletes `target` on its own errors.
pub(crate) async fn run_engine_import(
    store: Arc<dyn ObjectStore>,
    source: ImportSource,
    fields: Vec<ImportField>,
    target: Path,
    options: ImportOptions,
    mut progress: ProgressFn,
) -> Result<ImportReport, AppError> {
    let handle = tokio::runtime::Handle::current();
    let imported = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            let progress = &mut *progress;
            match source {
                ImportSource::Csv(input) => {
                    shuyu_engine::import_csv(input, &fields, store, &target, options, progress)
                        .await
                }
                ImportSource::ParquetFile(file) => {
                    shuyu_engine::import_parquet(file, &fields, store, &target, options, progress)
                        .await
                }
                ImportSource::ParquetSpooled(spooled) => {
                    shuyu_engine::import_parquet(
                        spooled, &fields, store, &target, options, progress,
                    )
                    .await
                }
            }
        })
    })
    .await;
    match imported {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(e)) => Err(import_error(e)),
        Err(e) => Err(AppError::Internal(format!("the import task failed: {e}"))),
    }
}

fn is_duplicate(err: &StoreError) -> bool {
    matches!(err, StoreError::Conflict(what) if what.contains("sm3"))
}

fn duplicate() -> AppError {
    AppError::Conflict(
        "this data was already imported for this resource (same content as an existing dataset version); nothing was written"
            .into(),
    )
}

/// The reason recorded on the chain for a failed import (no values: the errors never carry any).
fn failure_reason(err: &AppError) -> String {
    match err {
        AppError::Internal(_) => "internal error".into(),
        other => other.to_string(),
    }
}

impl App {
    /// The same app storing datasets in `data`.
    #[must_use]
    pub fn with_data(mut self, data: DataStore) -> Self {
        self.data = Some(Arc::new(data));
        self
    }

    /// What the domain's cache of decrypted ranges holds and how it served (`None` without a
    /// data store).
    #[must_use]
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.data.as_ref().map(|d| d.cache_stats())
    }

    pub(crate) fn data(&self) -> Result<&Arc<DataStore>, AppError> {
        self.data.as_ref().ok_or_else(|| {
            AppError::Unavailable("this deployment has no data directory for datasets".into())
        })
    }

    /// A new encrypted spool for an upload (the API writes the request body into it). Answers
    /// "unavailable" up front when no master key is configured, before the body is read.
    pub fn spool(&self) -> Result<SpoolWriter, AppError> {
        let data = self.data()?;
        data.ring()?;
        self.with_rng(|rng| SpoolWriter::new(&data.dir.join("spool"), rng))
            .map_err(|e| AppError::Internal(format!("cannot create the upload spool: {e}")))
    }

    /// Imports a dataset version of `resource` (see the module documentation): [`App::begin_import`]
    /// then [`App::run_import`]. Its job is registered, so others may watch it.
    pub async fn import_dataset(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
        source: ImportSource,
        progress: ProgressFn,
    ) -> Result<DatasetView, AppError> {
        let pending = self
            .begin_import(ctx, resource, source.total_bytes())
            .await?;
        self.run_import(ctx, pending, source, progress).await
    }

    /// Authorizes an import into `resource` and registers its job as running (`total_bytes`: the
    /// input's size, when known). The import itself is [`App::run_import`]; the API answers an
    /// asynchronous upload with the job in between.
    pub async fn begin_import(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
        total_bytes: Option<u64>,
    ) -> Result<PendingImport, AppError> {
        let catalog = self.load_resource(resource).await?;
        let id = DatasetId::mint(self.now(), self.random_bytes());
        self.authorize(
            ctx,
            Action::DatasetImport,
            &entry(&catalog),
            Object::new(DATASET, id),
        )
        .await?;
        let actor = person_actor(ctx).ok_or(AppError::Unauthenticated)?;
        let jobs = match self.data() {
            Ok(data) => data.jobs.clone(),
            Err(err) => {
                return Err(self
                    .import_failed(ctx, Object::new(DATASET, id), resource, err)
                    .await);
            }
        };
        let job = ImportJob {
            id,
            resource,
            started_by: actor.person,
            started_by_org: actor.org,
            started_at: self.now(),
            state: ImportState::Running,
            rows: 0,
            input_bytes: 0,
            total_bytes,
            finished_at: None,
        };
        Ok(self.new_pending_import(&jobs, job, catalog))
    }

    /// Runs an import begun by [`App::begin_import`], recording its progress and outcome on its
    /// job. A failure is a `dataset.import` event with outcome `failed`, and the job's error.
    pub async fn run_import(
        &self,
        ctx: &Ctx,
        pending: PendingImport,
        source: ImportSource,
        progress: ProgressFn,
    ) -> Result<DatasetView, AppError> {
        let progress = pending.recording(progress);
        let result = match self
            .import_steps(
                ctx,
                &pending.catalog,
                pending.id,
                pending.by,
                source,
                progress,
            )
            .await
        {
            Ok(view) => Ok(view),
            Err(err) => Err(self
                .import_failed(
                    ctx,
                    Object::new(DATASET, pending.id),
                    pending.catalog.id(),
                    err,
                )
                .await),
        };
        pending.finish(&result);
        result
    }

    /// Records a failed import of `resource` as a `dataset.import` event with outcome `failed`,
    /// and returns `err` (or the store's error if the event cannot be written).
    async fn import_failed(
        &self,
        ctx: &Ctx,
        object: Object<'_>,
        resource: ResourceId,
        err: AppError,
    ) -> AppError {
        let detail = format!("resource {resource}: {}", failure_reason(&err));
        self.failed(ctx, Action::DatasetImport, object, &detail, err)
            .await
    }

    async fn import_steps(
        &self,
        ctx: &Ctx,
        catalog: &shuyu_catalog::Resource,
        id: DatasetId,
        by: PersonId,
        source: ImportSource,
        progress: ProgressFn,
    ) -> Result<DatasetView, AppError> {
        let data = Arc::clone(self.data()?);
        let ring = data.ring()?;
        let version = catalog.current().ok_or_else(|| {
            AppError::Conflict(
                "the resource has no approved version: data is hooked to an approved resource version; submit it for the authority's approval first"
                    .into(),
            )
        })?;
        let fields: Vec<ImportField> = version
            .content()
            .fields()
            .iter()
            .map(ImportField::from)
            .collect();
        let prefix = Path::from(format!("datasets/{}/{id}", catalog.id()));
        let staging = prefix.clone().join("staging.parquet");
        let target = prefix.clone().join("data.parquet");
        let (key, wrapped) = self
            .with_rng(|rng| ring.new_data_key(rng))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        data.keys.insert(&prefix, key);
        let forget = |data: &DataStore| data.keys.remove(&prefix);

        let imported = run_engine_import(
            Arc::clone(&data.objects),
            source,
            fields,
            staging.clone(),
            data.options,
            progress,
        )
        .await;
        let report: ImportReport = match imported {
            Ok(report) => report,
            Err(e) => {
                let _ = data.objects.delete(&staging).await;
                forget(&data);
                return Err(e);
            }
        };
        if self
            .store
            .dataset_by_digest(catalog.id(), &report.sm3)
            .await?
            .is_some()
        {
            let _ = data.objects.delete(&staging).await;
            forget(&data);
            return Err(duplicate());
        }
        if let Err(e) = shuyu_engine::publish(data.objects.as_ref(), &staging, &target).await {
            let _ = data.objects.delete(&staging).await;
            forget(&data);
            return Err(AppError::Internal(format!(
                "cannot publish the dataset: {e}"
            )));
        }
        let quality: Vec<FieldQuality> = report
            .profiles
            .iter()
            .map(|(field, profile)| FieldQuality {
                field: field.clone(),
                profile: profile.clone(),
            })
            .collect();
        let stored = StoredDataset {
            id,
            resource: catalog.id(),
            resource_version: version.id(),
            resource_number: version.number(),
            number: self.store.last_dataset_number(catalog.id()).await? + 1,
            object_path: target.to_string(),
            wrapped_key: wrapped.to_string(),
            master_key_id: ring.master_key_id(),
            rows: report.rows,
            input_bytes: report.input_bytes,
            parquet_bytes: report.parquet_bytes,
            sm3: report.sm3.clone(),
            encoding: report.encoding.map(|e| {
                match e {
                    shuyu_engine::SourceEncoding::Utf8 => "utf8",
                    shuyu_engine::SourceEncoding::Gb18030 => "gb18030",
                }
                .to_owned()
            }),
            profiles: serde_json::to_string(&quality)
                .map_err(|e| AppError::Internal(e.to_string()))?,
            created_at: self.now(),
            created_by: by,
        };
        let saved = async {
            let mut tx = self.store.begin().await?;
            tx.insert_dataset(&stored).await?;
            let summary = (
                stored.id,
                stored.resource,
                stored.number,
                &stored.sm3,
                stored.rows,
            );
            tx.audit(self.event(
                ctx,
                Action::DatasetImport.as_str(),
                Object::new(DATASET, id),
                &summary,
                Outcome::Ok,
                &format!(
                    "resource {} version {}: dataset version {}, {} rows",
                    stored.resource, stored.resource_number, stored.number, stored.rows
                ),
            ))
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = saved {
            let _ = data.objects.delete(&target).await;
            forget(&data);
            return Err(if is_duplicate(&e) {
                duplicate()
            } else {
                e.into()
            });
        }
        view(stored)
    }

    /// Asks the policy for `dataset.read` on `resource` (the provider's source department, the
    /// agency where it supplies, and the authority), auditing a refusal against `object`.
    pub(crate) async fn authorize_dataset_read(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
        object: Object<'_>,
    ) -> Result<(), AppError> {
        let catalog = self.load_resource(resource).await?;
        self.authorize(ctx, Action::DatasetRead, &entry(&catalog), object)
            .await
    }

    /// The dataset versions of a resource with their quality profiles (the provider's source
    /// department, the agency and the authority).
    pub async fn datasets(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
    ) -> Result<Vec<DatasetView>, AppError> {
        self.authorize_dataset_read(ctx, resource, Object::new("resource", resource))
            .await?;
        self.store
            .datasets(resource)
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    /// Re-reads every dataset object with its data key opened by the current master key and
    /// checks its SM3 digest; returns `(dataset, rows)` of each. A wrong master key, a missing key
    /// or an altered object is a clear error, never garbage. The command line only.
    pub async fn verify_datasets(&self, ctx: &Ctx) -> Result<Vec<(DatasetId, u64)>, AppError> {
        self.authorize(
            ctx,
            Action::MasterKeyRotate,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        let data = self.data()?;
        let ring = data.ring()?;
        let mut out = Vec::new();
        for d in self.store.all_datasets().await? {
            let key = ring.data_key(&d.wrapped_key).map_err(|e| {
                AppError::Unavailable(format!("dataset {}: cannot open its data key: {e}", d.id))
            })?;
            let path = Path::from(d.object_path.as_str());
            let prefix = Path::from(format!("datasets/{}/{}", d.resource, d.id));
            data.keys.insert(&prefix, key);
            let mut stream = data
                .objects
                .get(&path)
                .await
                .map_err(|e| AppError::Unavailable(format!("dataset {}: {e}", d.id)))?
                .into_stream();
            let mut hash = Sm3::new();
            while let Some(part) = stream.next().await {
                let part =
                    part.map_err(|e| AppError::Unavailable(format!("dataset {}: {e}", d.id)))?;
                hash.update(&part);
            }
            if hex::encode(hash.finalize()) != d.sm3 {
                return Err(AppError::Unavailable(format!(
                    "dataset {}: its object does not match its recorded digest",
                    d.id
                )));
            }
            out.push((d.id, d.rows));
        }
        Ok(out)
    }

    /// Re-wraps every data key under `new` in one transaction (no object is re-encrypted), then
    /// uses `new` from now on. The command line only; a running server must be restarted with
    /// the new key.
    pub async fn rotate_master_key(&self, ctx: &Ctx, new: KeyRing) -> Result<Rotation, AppError> {
        self.authorize(
            ctx,
            Action::MasterKeyRotate,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        let data = self.data()?;
        let old = data.ring()?;
        let datasets = self.store.all_datasets().await?;
        let mut rewrapped = Vec::with_capacity(datasets.len());
        for d in &datasets {
            let text = self
                .with_rng(|rng| old.rotate(&new, &d.wrapped_key, rng))
                .map_err(|e| {
                    AppError::Unavailable(format!(
                        "dataset {}: cannot re-wrap its data key: {e}",
                        d.id
                    ))
                })?;
            rewrapped.push((d.id, text));
        }
        let rotation = Rotation {
            from_key: old.master_key_id(),
            to_key: new.master_key_id(),
            rewrapped: rewrapped.len(),
        };
        let mut tx = self.store.begin().await?;
        for (id, text) in &rewrapped {
            tx.rewrap_dataset_key(*id, text, &rotation.to_key).await?;
        }
        tx.audit(self.event(
            ctx,
            Action::MasterKeyRotate.as_str(),
            Object::platform(),
            &rotation,
            Outcome::Ok,
            &format!(
                "re-wrapped {} data keys from master key {} to {}",
                rotation.rewrapped, rotation.from_key, rotation.to_key
            ),
        ))
        .await?;
        tx.commit().await?;
        data.set_ring(new);
        Ok(rotation)
    }
}

impl App {
    /// Whether the caller may import into `resource` and the deployment can store datasets: the
    /// API asks before reading an upload's body (a refusal is audited as always).
    pub async fn check_import(&self, ctx: &Ctx, resource: ResourceId) -> Result<(), AppError> {
        let catalog = self.load_resource(resource).await?;
        self.authorize(
            ctx,
            Action::DatasetImport,
            &entry(&catalog),
            Object::new("resource", resource),
        )
        .await?;
        self.data()?.ring()?;
        Ok(())
    }

    /// Records an import refused before it started (e.g. an upload over the size limit) as a
    /// failed `dataset.import` event, and returns `err`.
    pub async fn import_refused(&self, ctx: &Ctx, resource: ResourceId, err: AppError) -> AppError {
        self.import_failed(ctx, Object::new("resource", resource), resource, err)
            .await
    }
}

impl App {
    /// A context acting as the person `username` on the command line: the host operator vouches
    /// that the person asked for the act (recorded with source `cli`). The person must exist and
    /// be active; the policy then checks their role, organisation and clearance as for any request.
    pub async fn cli_ctx_as(
        &self,
        request_id: shuyu_core::RequestId,
        username: &str,
    ) -> Result<Ctx, AppError> {
        let system = Ctx::system(request_id);
        let person = self.person_by_username(&system, username).await?;
        if !person.active {
            return Err(AppError::Disabled);
        }
        Ok(Ctx {
            principal: shuyu_policy::Principal::Person(shuyu_policy::Actor {
                person: person.id,
                org: person.org,
                role: person.role,
                credential: shuyu_policy::Credential::Session {
                    second_factor: true,
                },
                clearance: self.clearance(&person),
            }),
            request_id,
            source: "cli".into(),
        })
    }
}

/// An object the sweep deleted (or, on a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweptObject {
    /// `datasets/<resource>/<dataset>/<file>`.
    pub path: String,
    /// The dataset id of its folder (no row in `dataset_versions` holds this path).
    pub dataset: String,
    /// Stored (ciphertext) bytes.
    pub bytes: u64,
    pub last_modified: Timestamp,
}

/// What a housekeeping sweep did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// Nothing was deleted: `objects` is what a real sweep would delete.
    pub dry_run: bool,
    pub objects: Vec<SweptObject>,
    /// Stored bytes of `objects`.
    pub bytes: u64,
    /// Unreferenced objects kept because they are younger than the grace period (or belong to
    /// an import running in this process).
    pub kept_recent: usize,
}

impl Sweep {
    /// The distinct dataset ids of the swept objects, sorted.
    #[must_use]
    pub fn datasets(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.objects.iter().map(|o| o.dataset.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The default grace period of the sweep: an unreferenced object younger than this may belong to
/// an import still running (in this or another process) and is kept.
pub const SWEEP_GRACE_SECONDS: i64 = 3600;

/// The dataset id of an object at `datasets/<resource>/<dataset>/<file>`; `None` for any other
/// layout (which the sweep never touches).
fn dataset_of(path: &Path) -> Option<String> {
    let parts: Vec<_> = path.parts().collect();
    match parts.as_slice() {
        [root, resource, dataset, file]
            if root.as_ref() == "datasets"
                && resource.as_ref().parse::<ResourceId>().is_ok()
                && dataset.as_ref().parse::<DatasetId>().is_ok()
                && !file.as_ref().is_empty() =>
        {
            Some(dataset.as_ref().to_owned())
        }
        _ => None,
    }
}

impl App {
    /// Housekeeping: deletes the objects under `datasets/` that no dataset version references —
    /// left by a crash between publishing an import and committing its row, or a staging object
    /// of an import that died — once they are older than `grace_seconds` (by the store's
    /// last-modified time against the app's clock), so that an import running in another process
    /// is never touched; an object of an import running in this process (its dataset's data key
    /// is in the key map and it has no row yet) is never touched either. Objects in any other
    /// layout are left alone.
    ///
    /// The system only (`dataset.sweep`: the server at start, the command line). Object deletion
    /// cannot join a database transaction, so the objects are deleted first and then one
    /// `dataset.sweep` event records exactly what was deleted (count, stored bytes, dataset ids —
    /// no data). A sweep that deletes nothing, and a dry run, record no event: nothing changed.
    pub async fn sweep_datasets(
        &self,
        ctx: &Ctx,
        grace_seconds: i64,
        dry_run: bool,
    ) -> Result<Sweep, AppError> {
        self.authorize(
            ctx,
            Action::DatasetSweep,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        let data = Arc::clone(self.data()?);
        let (candidates, kept_recent) = self.sweep_candidates(&data, grace_seconds).await?;
        let mut sweep = Sweep {
            dry_run,
            objects: Vec::new(),
            bytes: 0,
            kept_recent,
        };
        if dry_run {
            sweep.bytes = candidates.iter().map(|o| o.bytes).sum();
            sweep.objects = candidates;
            return Ok(sweep);
        }
        let mut failed = None;
        for object in candidates {
            let path = Path::from(object.path.as_str());
            data.cache.evict(&path);
            match data.inner.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    tracing::info!(path = %object.path, bytes = object.bytes, "swept an unreferenced dataset object");
                    sweep.bytes += object.bytes;
                    sweep.objects.push(object);
                }
                Err(e) => {
                    failed = Some(format!("cannot delete {}: {e}", object.path));
                    break;
                }
            }
        }
        if !sweep.objects.is_empty() {
            self.record_sweep(ctx, &sweep).await?;
        }
        match failed {
            Some(reason) => Err(AppError::Unavailable(format!(
                "the dataset sweep stopped after deleting {} objects: {reason}",
                sweep.objects.len()
            ))),
            None => Ok(sweep),
        }
    }

    /// The unreferenced objects older than the grace period, and how many younger ones were kept.
    async fn sweep_candidates(
        &self,
        data: &DataStore,
        grace_seconds: i64,
    ) -> Result<(Vec<SweptObject>, usize), AppError> {
        let listed: Vec<object_store::ObjectMeta> = data
            .inner
            .list(Some(&Path::from("datasets")))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| AppError::Unavailable(format!("cannot list the dataset objects: {e}")))?;
        // Read the rows after listing: an import that commits in between is then seen as
        // referenced (its key is in the map until then, so it is skipped either way).
        let referenced: std::collections::HashSet<String> = self
            .store
            .dataset_object_paths()
            .await?
            .into_iter()
            .collect();
        let cutoff = self.now().plus_seconds(-grace_seconds.max(0));
        let mut candidates = Vec::new();
        let mut kept_recent = 0;
        for meta in listed {
            if referenced.contains(meta.location.as_ref()) {
                continue;
            }
            let Some(dataset) = dataset_of(&meta.location) else {
                continue;
            };
            let last_modified = Timestamp::from_datetime(meta.last_modified);
            if last_modified >= cutoff
                || shuyu_engine::KeyResolver::data_key(data.keys.as_ref(), &meta.location).is_some()
            {
                kept_recent += 1;
                continue;
            }
            candidates.push(SweptObject {
                path: meta.location.to_string(),
                dataset,
                bytes: meta.size,
                last_modified,
            });
        }
        Ok((candidates, kept_recent))
    }

    async fn record_sweep(&self, ctx: &Ctx, sweep: &Sweep) -> Result<(), AppError> {
        let datasets = sweep.datasets();
        let summary = (sweep.objects.len(), sweep.bytes, &datasets);
        let shown: Vec<&str> = datasets.iter().take(8).copied().collect();
        let more = datasets.len().saturating_sub(shown.len());
        let detail = format!(
            "deleted {} unreferenced dataset objects ({} bytes) of datasets {}{}",
            sweep.objects.len(),
            sweep.bytes,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        let mut tx = self.store.begin().await?;
        tx.audit(self.event(
            ctx,
            Action::DatasetSweep.as_str(),
            Object::platform(),
            &summary,
            Outcome::Ok,
            &detail,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
