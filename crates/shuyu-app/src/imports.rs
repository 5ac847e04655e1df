//! Import jobs (issue 4, CAT-3: progress in the API): an in-process registry of dataset imports,
//! so that whoever may read a resource's datasets can watch an import while it runs.
//!
//! A job's id is the [`DatasetId`] minted for the import; it is registered once the import is
//! authorized, counts rows and input bytes after every batch, and ends `succeeded` (with the
//! dataset version) or `failed` (with the same error the synchronous path answers: it names lines,
//! columns and fields, never a value). Finished jobs are kept for [`KEEP_FINISHED_SECONDS`] and at
//! most [`KEEP_FINISHED`] of them, whichever limit is reached first, so memory stays bounded;
//! running jobs are always kept.
//!
//! Jobs live in memory only: after a restart, an import's outcome is in the audit trail (one
//! `dataset.import` event, `ok` or `failed`) and, when it succeeded, in the resource's dataset
//! versions. A job interrupted before it finished (the request was cancelled, the server stopped
//! it) ends `failed` with a message saying to send the file again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use shuyu_catalog::ResourceId;
use shuyu_core::{DatasetId, OrgId, PersonId, Timestamp};
use shuyu_engine::Progress;

use crate::{App, AppError, Clock, Ctx, Object};

/// How many finished jobs are kept at most.
pub const KEEP_FINISHED: usize = 1_000;
/// How long a finished job is kept (24 hours).
pub const KEEP_FINISHED_SECONDS: i64 = 24 * 60 * 60;

/// Where an import job stands.
#[derive(Debug, Clone)]
pub enum ImportState {
    Running,
    /// The dataset version was recorded.
    Succeeded {
        dataset: DatasetId,
        number: u32,
    },
    /// The import failed: the error the synchronous path answers (never a data value).
    Failed(AppError),
}

impl ImportState {
    /// `running`, `succeeded` or `failed`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            ImportState::Running => "running",
            ImportState::Succeeded { .. } => "succeeded",
            ImportState::Failed(_) => "failed",
        }
    }
}

/// One import as it runs or as it ended.
#[derive(Debug, Clone)]
pub struct ImportJob {
    /// The id of the dataset version the import creates.
    pub id: DatasetId,
    pub resource: ResourceId,
    pub started_by: PersonId,
    pub started_by_org: OrgId,
    pub started_at: Timestamp,
    pub state: ImportState,
    /// Data rows read so far.
    pub rows: u64,
    /// Input bytes read so far (CSV; a Parquet input reports rows only, and its size at the end).
    pub input_bytes: u64,
    /// The size of the input when known (the spooled upload).
    pub total_bytes: Option<u64>,
    pub finished_at: Option<Timestamp>,
}

impl ImportJob {
    /// How far the import has come in whole percent of the input bytes, when its size is known:
    /// at most 99 until it succeeded (publishing and recording follow the last byte), then 100.
    pub fn percent(&self) -> Option<u8> {
        if matches!(self.state, ImportState::Succeeded { .. }) {
            return Some(100);
        }
        let total = self.total_bytes.filter(|t| *t > 0)?;
        let share = self.input_bytes.saturating_mul(100) / total;
        Some(u8::try_from(share.min(99)).unwrap_or(99))
    }
}

/// The registry of import jobs. Cheap to clone: clones share the same jobs.
#[derive(Clone)]
pub struct ImportJobs {
    inner: Arc<Mutex<Jobs>>,
    keep: usize,
    keep_seconds: i64,
}

#[derive(Default)]
struct Jobs {
    by_id: HashMap<DatasetId, ImportJob>,
    /// Finished jobs, oldest first.
    finished: VecDeque<DatasetId>,
}

impl std::fmt::Debug for ImportJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportJobs")
            .field("keep", &self.keep)
            .field("keep_seconds", &self.keep_seconds)
            .finish_non_exhaustive()
    }
}

impl Default for ImportJobs {
    fn default() -> Self {
        Self::with_limits(KEEP_FINISHED, KEEP_FINISHED_SECONDS)
    }
}

impl ImportJobs {
    /// A registry keeping at most `keep` finished jobs, each for at most `keep_seconds`.
    #[must_use]
    pub fn with_limits(keep: usize, keep_seconds: i64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Jobs::default())),
            keep,
            keep_seconds,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a running job.
    pub fn start(&self, job: ImportJob, now: Timestamp) {
        let mut jobs = self.lock();
        self.prune(&mut jobs, now);
        jobs.by_id.insert(job.id, job);
    }

    /// Records how far a running job has come.
    pub fn progress(&self, id: DatasetId, progress: Progress) {
        if let Some(job) = self.lock().by_id.get_mut(&id)
            && matches!(job.state, ImportState::Running)
        {
            job.rows = progress.rows;
            job.input_bytes = progress.input_bytes;
        }
    }

    /// Ends a running job in `state` (a job that already ended keeps its first outcome).
    pub fn finish(&self, id: DatasetId, state: ImportState, now: Timestamp) {
        let mut jobs = self.lock();
        let Some(job) = jobs.by_id.get_mut(&id) else {
            return;
        };
        if !matches!(job.state, ImportState::Running) {
            return;
        }
        job.state = state;
        job.finished_at = Some(now);
        jobs.finished.push_back(id);
        self.prune(&mut jobs, now);
    }

    /// Ends a running job as succeeded with the imported version's final counts.
    fn succeed(&self, id: DatasetId, number: u32, rows: u64, input_bytes: u64, now: Timestamp) {
        if let Some(job) = self.lock().by_id.get_mut(&id) {
            job.rows = rows;
            job.input_bytes = input_bytes;
        }
        self.finish(
            id,
            ImportState::Succeeded {
                dataset: id,
                number,
            },
            now,
        );
    }

    /// The job `id`, unless unknown or expired.
    pub fn get(&self, id: DatasetId, now: Timestamp) -> Option<ImportJob> {
        let mut jobs = self.lock();
        self.prune(&mut jobs, now);
        jobs.by_id.get(&id).cloned()
    }

    /// The jobs of `resource`, newest first.
    pub fn of_resource(&self, resource: ResourceId, now: Timestamp) -> Vec<ImportJob> {
        let mut jobs = self.lock();
        self.prune(&mut jobs, now);
        let mut out: Vec<ImportJob> = jobs
            .by_id
            .values()
            .filter(|j| j.resource == resource)
            .cloned()
            .collect();
        out.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        out
    }

    /// Forgets finished jobs beyond the count limit or older than the age limit.
    fn prune(&self, jobs: &mut Jobs, now: Timestamp) {
        let oldest = now.plus_seconds(-self.keep_seconds);
        while let Some(first) = jobs.finished.front().copied() {
            let expired = jobs
                .by_id
                .get(&first)
                .and_then(|j| j.finished_at)
                .is_none_or(|at| at < oldest);
            if jobs.finished.len() > self.keep || expired {
                jobs.finished.pop_front();
                jobs.by_id.remove(&first);
            } else {
                break;
            }
        }
    }
}

/// An authorized import whose job is registered and running (see [`App::begin_import`]). Dropped
/// before [`App::run_import`] finished it, its job ends failed ("interrupted").
pub struct PendingImport {
    pub(crate) id: DatasetId,
    pub(crate) catalog: shuyu_catalog::Resource,
    pub(crate) by: PersonId,
    jobs: ImportJobs,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for PendingImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingImport")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl PendingImport {
    /// The id of the job, which is also the id of the dataset version it will create.
    pub fn id(&self) -> DatasetId {
        self.id
    }

    /// The job as it stands now.
    pub fn job(&self) -> Option<ImportJob> {
        self.jobs.get(self.id, self.clock.now())
    }

    /// A progress callback that records on the job, then calls `inner`.
    pub(crate) fn recording(&self, mut inner: crate::ProgressFn) -> crate::ProgressFn {
        let jobs = self.jobs.clone();
        let id = self.id;
        Box::new(move |p| {
            jobs.progress(id, p);
            inner(p);
        })
    }

    /// Ends the job with the outcome the caller receives.
    pub(crate) fn finish(&self, result: &Result<crate::DatasetView, AppError>) {
        let now = self.clock.now();
        match result {
            Ok(view) => self
                .jobs
                .succeed(self.id, view.number, view.rows, view.input_bytes, now),
            Err(err) => self
                .jobs
                .finish(self.id, ImportState::Failed(err.clone()), now),
        }
    }
}

impl Drop for PendingImport {
    fn drop(&mut self) {
        // A no-op when the job was finished: only an interrupted import is still running here.
        self.jobs.finish(
            self.id,
            ImportState::Failed(AppError::Unavailable(
                "the import was interrupted before it finished (the request was cancelled or the server stopped); no dataset version was recorded: send the file again"
                    .into(),
            )),
            self.clock.now(),
        );
    }
}

impl App {
    pub(crate) fn new_pending_import(
        &self,
        jobs: &ImportJobs,
        job: ImportJob,
        catalog: shuyu_catalog::Resource,
    ) -> PendingImport {
        let pending = PendingImport {
            id: job.id,
            catalog,
            by: job.started_by,
            jobs: jobs.clone(),
            clock: Arc::clone(&self.clock),
        };
        jobs.start(job, self.now());
        pending
    }

    /// An import job with its progress (`dataset.read` on its resource: the provider's source
    /// department, the agency and the authority). Unknown and expired jobs are "not found".
    pub async fn import_job(&self, ctx: &Ctx, id: DatasetId) -> Result<ImportJob, AppError> {
        let job = self
            .data()?
            .jobs()
            .get(id, self.now())
            .ok_or(AppError::NotFound { kind: "import job" })?;
        self.authorize_dataset_read(ctx, job.resource, Object::new("dataset", id))
            .await?;
        Ok(job)
    }

    /// The import jobs of a resource still kept in memory, newest first (who may read its
    /// datasets).
    pub async fn import_jobs(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
    ) -> Result<Vec<ImportJob>, AppError> {
        self.authorize_dataset_read(ctx, resource, Object::new("resource", resource))
            .await?;
        Ok(self.data()?.jobs().of_resource(resource, self.now()))
    }
}

/// The kind of file an upload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// CSV, UTF-8 or GB18030 (detected).
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Why an upload could not be spooled.
#[derive(Debug)]
pub enum UploadError {
    /// The upload is larger than `limit` bytes (`[storage] max_upload_mib`); the refusal is
    /// audited and nothing was written.
    TooLarge { limit: u64 },
    /// The upload's stream broke off before its end.
    Interrupted,
    /// A refusal or failure of the app (no data directory or master key, an I/O error).
    App(AppError),
}

impl From<AppError> for UploadError {
    fn from(err: AppError) -> Self {
        UploadError::App(err)
    }
}

fn over_limit() -> AppError {
    AppError::Invalid {
        field: "file",
        message: "the upload is over the size limit".into(),
    }
}

impl App {
    /// Spools an upload into `resource` from `stream` encrypted (`App::spool`), within `limit`
    /// bytes: a `declared` size or a stream over it is refused, audited as a failed
    /// `dataset.import` ([`App::import_refused`]), before more is read. Returns the source to import
    /// and its size. The API (request body) and the console (a multipart file part) both call it.
    pub async fn spool_upload<S, B, E>(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
        kind: UploadKind,
        declared: Option<u64>,
        limit: u64,
        stream: S,
    ) -> Result<(crate::ImportSource, u64), UploadError>
    where
        S: futures_util::Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
    {
        let spooled = self.spool_within(kind, declared, limit, stream).await;
        if let Err(UploadError::TooLarge { .. }) = &spooled {
            self.import_refused(ctx, resource, over_limit()).await;
        }
        spooled
    }

    /// Spools a fusion upload into `workspace` like [`App::spool_upload`]; an upload over the
    /// limit is audited as a failed `fusion.request`.
    pub async fn spool_fusion_upload<S, B, E>(
        &self,
        ctx: &Ctx,
        workspace: shuyu_core::WorkspaceId,
        kind: UploadKind,
        declared: Option<u64>,
        limit: u64,
        stream: S,
    ) -> Result<(crate::ImportSource, u64), UploadError>
    where
        S: futures_util::Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
    {
        let spooled = self.spool_within(kind, declared, limit, stream).await;
        if let Err(UploadError::TooLarge { .. }) = &spooled {
            self.fusion_refused(ctx, workspace, over_limit()).await;
        }
        spooled
    }

    /// Spools `stream` encrypted within `limit` bytes (a `declared` size over it is refused before
    /// anything is read).
    async fn spool_within<S, B, E>(
        &self,
        kind: UploadKind,
        declared: Option<u64>,
        limit: u64,
        stream: S,
    ) -> Result<(crate::ImportSource, u64), UploadError>
    where
        S: futures_util::Stream<Item = Result<B, E>>,
        B: AsRef<[u8]>,
    {
        use futures_util::StreamExt;
        if declared.is_some_and(|n| n > limit) {
            return Err(UploadError::TooLarge { limit });
        }
        let mut spool = self.spool()?;
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| UploadError::Interrupted)?;
            let chunk = chunk.as_ref();
            if spool.written() + chunk.len() as u64 > limit {
                return Err(UploadError::TooLarge { limit });
            }
            std::io::Write::write_all(&mut spool, chunk)
                .map_err(|e| AppError::Internal(format!("cannot spool the upload: {e}")))?;
        }
        let size = spool.written();
        let spooled = spool
            .finish()
            .map_err(|e| AppError::Internal(format!("cannot spool the upload: {e}")))?;
        let source = match kind {
            UploadKind::Csv => crate::ImportSource::Csv(Box::new(spooled.reader())),
            UploadKind::Parquet => crate::ImportSource::ParquetSpooled(spooled),
        };
        Ok((source, size))
    }

    /// Starts an import of a spooled upload of `size` bytes in the background: authorizes it and
    /// registers its job ([`App::begin_import`]), then runs it ([`App::run_import`]) in a task
    /// and returns the running job at once. Progress and the outcome are logged with the request
    /// id and recorded on the job.
    pub async fn start_import(
        &self,
        ctx: &Ctx,
        resource: ResourceId,
        source: crate::ImportSource,
        size: u64,
    ) -> Result<ImportJob, AppError> {
        let pending = self.begin_import(ctx, resource, Some(size)).await?;
        let job = pending
            .job()
            .ok_or_else(|| AppError::Internal("a new import job is not registered".into()))?;
        let (app, ctx) = (self.clone(), ctx.clone());
        tokio::spawn(async move {
            let request_id = ctx.request_id.to_string();
            match app
                .run_import(&ctx, pending, source, log_progress(&ctx))
                .await
            {
                Ok(view) => tracing::info!(request_id, dataset = %view.id, "import succeeded"),
                Err(AppError::Internal(error)) => {
                    tracing::error!(request_id, error, "import failed: internal error");
                }
                Err(err) => tracing::info!(request_id, error = %err, "import failed"),
            }
        });
        Ok(job)
    }
}

/// A progress callback that logs every batch with the request id (counts only).
#[must_use]
pub fn log_progress(ctx: &Ctx) -> crate::ProgressFn {
    let request_id = ctx.request_id.to_string();
    Box::new(move |p: Progress| {
        tracing::info!(
            request_id,
            rows = p.rows,
            input_bytes = p.input_bytes,
            "import progress"
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix_micros(1_800_000_000_000_000).plus_seconds(seconds)
    }

    fn id(n: u8) -> DatasetId {
        DatasetId::mint(at(i64::from(n)), [n; 10])
    }

    fn job(n: u8, resource: ResourceId) -> ImportJob {
        ImportJob {
            id: id(n),
            resource,
            started_by: PersonId::mint(at(0), [1; 10]),
            started_by_org: OrgId::mint(at(0), [2; 10]),
            started_at: at(i64::from(n)),
            state: ImportState::Running,
            rows: 0,
            input_bytes: 0,
            total_bytes: Some(1_000),
            finished_at: None,
        }
    }

    fn resource(n: u8) -> ResourceId {
        ResourceId::mint(at(0), [n; 10])
    }

    #[test]
    fn progress_is_recorded_until_the_job_ends() {
        let jobs = ImportJobs::default();
        jobs.start(job(1, resource(1)), at(1));
        jobs.progress(
            id(1),
            Progress {
                rows: 10,
                input_bytes: 250,
            },
        );
        let seen = jobs.get(id(1), at(2)).unwrap();
        assert_eq!((seen.rows, seen.input_bytes), (10, 250));
        assert_eq!(seen.percent(), Some(25));
        assert_eq!(seen.state.as_str(), "running");
        jobs.progress(
            id(1),
            Progress {
                rows: 40,
                input_bytes: 1_000,
            },
        );
        // Every byte read is not yet done: publishing and recording follow.
        assert_eq!(jobs.get(id(1), at(3)).unwrap().percent(), Some(99));
        jobs.succeed(id(1), 1, 40, 1_000, at(4));
        let done = jobs.get(id(1), at(5)).unwrap();
        assert_eq!(done.percent(), Some(100));
        assert_eq!(done.finished_at, Some(at(4)));
        assert!(matches!(
            done.state,
            ImportState::Succeeded { number: 1, .. }
        ));
        // Late progress and a second outcome change nothing.
        jobs.progress(
            id(1),
            Progress {
                rows: 99,
                input_bytes: 9,
            },
        );
        jobs.finish(
            id(1),
            ImportState::Failed(AppError::Conflict("x".into())),
            at(6),
        );
        let done = jobs.get(id(1), at(7)).unwrap();
        assert_eq!(done.rows, 40);
        assert_eq!(done.state.as_str(), "succeeded");
    }

    #[test]
    fn unknown_size_has_no_percent() {
        let mut j = job(1, resource(1));
        j.total_bytes = None;
        assert_eq!(j.percent(), None);
    }

    #[test]
    fn finished_jobs_expire_after_the_age_limit_running_ones_stay() {
        let jobs = ImportJobs::with_limits(10, 60);
        jobs.start(job(1, resource(1)), at(0));
        jobs.start(job(2, resource(1)), at(0));
        jobs.finish(
            id(1),
            ImportState::Failed(AppError::Conflict("duplicate".into())),
            at(10),
        );
        assert!(jobs.get(id(1), at(70)).is_some());
        assert!(jobs.get(id(1), at(71)).is_none(), "expired");
        assert!(jobs.get(id(2), at(100_000)).is_some(), "running jobs stay");
    }

    #[test]
    fn at_most_the_count_limit_of_finished_jobs_is_kept_oldest_go_first() {
        let jobs = ImportJobs::with_limits(3, 3_600);
        for n in 1..=5 {
            jobs.start(job(n, resource(1)), at(i64::from(n)));
            jobs.finish(
                id(n),
                ImportState::Succeeded {
                    dataset: id(n),
                    number: u32::from(n),
                },
                at(i64::from(n)),
            );
        }
        jobs.start(job(6, resource(2)), at(6));
        let kept: Vec<DatasetId> = jobs
            .of_resource(resource(1), at(7))
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(kept, vec![id(5), id(4), id(3)], "newest first");
        assert_eq!(jobs.of_resource(resource(2), at(7)).len(), 1);
        assert!(jobs.get(id(1), at(7)).is_none());
    }
}
