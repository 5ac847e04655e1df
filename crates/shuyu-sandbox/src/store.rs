//! [`MeteredStore`]: the read-only, byte-counting view of the dataset store that a query runs on.
//!
//! Every byte a query fetches from the (decrypting) store passes through here and is counted,
//! which is the "bytes fetched" of the query's metering and the evidence that projection and
//! row-group pruning reach the encrypted files. The view refuses every write, copy, rename and
//! delete: a query can never change a dataset, whatever plan it runs.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

const STORE: &str = "SandboxStore";

/// A read-only view of `inner` that counts the bytes it returns.
pub struct MeteredStore {
    inner: Arc<dyn ObjectStore>,
    fetched: Arc<AtomicU64>,
}

impl MeteredStore {
    /// A view of `inner` counting into `fetched`.
    #[must_use]
    pub fn new(inner: Arc<dyn ObjectStore>, fetched: Arc<AtomicU64>) -> Self {
        Self { inner, fetched }
    }
}

impl fmt::Display for MeteredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STORE}({})", self.inner)
    }
}

impl fmt::Debug for MeteredStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(STORE)
            .field("fetched", &self.fetched.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn read_only(location: &Path) -> object_store::Error {
    object_store::Error::NotSupported {
        source: format!("the secure domain reads datasets only; {location} cannot be changed")
            .into(),
    }
}

#[async_trait]
impl ObjectStore for MeteredStore {
    async fn put_opts(
        &self,
        location: &Path,
        _payload: PutPayload,
        _opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        Err(read_only(location))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(read_only(location))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let result = self.inner.get_opts(location, options).await?;
        let meta = result.meta.clone();
        let range = result.range.clone();
        let attributes = result.attributes.clone();
        let fetched = Arc::clone(&self.fetched);
        let payload = result
            .into_stream()
            .inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    fetched.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                }
            })
            .boxed();
        Ok(GetResult {
            payload: GetResultPayload::Stream(payload),
            meta,
            range,
            attributes,
        })
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let out = self.inner.get_ranges(location, ranges).await?;
        let total: u64 = out.iter().map(|b| b.len() as u64).sum();
        self.fetched.fetch_add(total, Ordering::Relaxed);
        Ok(out)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        locations
            .map(|location| location.and_then(|l| Err(read_only(&l))))
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        _from: &Path,
        to: &Path,
        _options: CopyOptions,
    ) -> object_store::Result<()> {
        Err(read_only(to))
    }

    async fn rename_opts(
        &self,
        from: &Path,
        _to: &Path,
        _options: RenameOptions,
    ) -> object_store::Result<()> {
        Err(read_only(from))
    }
}
