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
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions,
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

/// A read-only view of `inner` that holds only the listed objects: any other path is "not found",
/// and listing shows only the listed objects. A session's tables are its whole world; this makes
/// its store agree, so that no plan, whatever route it takes, can open another dataset even if the
/// underlying store (and its key map) could.
pub struct ScopedStore {
    inner: Arc<dyn ObjectStore>,
    allowed: Arc<[Path]>,
}

impl ScopedStore {
    /// A view of `inner` holding only `allowed`.
    #[must_use]
    pub fn new(inner: Arc<dyn ObjectStore>, allowed: Vec<Path>) -> Self {
        Self {
            inner,
            allowed: allowed.into(),
        }
    }

    fn check(&self, location: &Path) -> object_store::Result<()> {
        if self.allowed.contains(location) {
            Ok(())
        } else {
            Err(object_store::Error::NotFound {
                path: location.to_string(),
                source: "not an object of this session".into(),
            })
        }
    }

    fn listed(&self, prefix: Option<&Path>) -> Vec<Path> {
        self.allowed
            .iter()
            .filter(|p| prefix.is_none_or(|prefix| p.prefix_matches(prefix)))
            .cloned()
            .collect()
    }
}

impl fmt::Display for ScopedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopedStore({} objects)", self.allowed.len())
    }
}

impl fmt::Debug for ScopedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedStore")
            .field("objects", &self.allowed.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ObjectStore for ScopedStore {
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
        self.check(location)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.check(location)?;
        self.inner.get_ranges(location, ranges).await
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
        let inner = Arc::clone(&self.inner);
        futures_util::stream::iter(self.listed(prefix))
            .then(move |path| {
                let inner = Arc::clone(&inner);
                async move { inner.head(&path).await }
            })
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let offset = offset.clone();
        self.list(prefix)
            .filter(move |meta| {
                let keep = meta.as_ref().map_or(true, |m| m.location > offset);
                futures_util::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut objects = Vec::new();
        for path in self.listed(prefix) {
            // Only direct children, as a delimited listing shows them.
            let depth = prefix.map_or(0, |p| p.parts().count());
            if path.parts().count() == depth + 1 {
                objects.push(self.inner.head(&path).await?);
            }
        }
        Ok(ListResult {
            common_prefixes: Vec::new(),
            objects,
        })
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

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn a_scoped_store_opens_and_lists_only_its_objects() {
        let inner = Arc::new(InMemory::new());
        for p in ["datasets/a/1/data.parquet", "datasets/b/2/data.parquet"] {
            inner
                .put(&Path::from(p), PutPayload::from_static(b"x"))
                .await
                .unwrap();
        }
        let scoped = ScopedStore::new(inner, vec![Path::from("datasets/a/1/data.parquet")]);
        assert!(
            scoped
                .get(&Path::from("datasets/a/1/data.parquet"))
                .await
                .is_ok()
        );
        let other = scoped.get(&Path::from("datasets/b/2/data.parquet")).await;
        assert!(matches!(other, Err(object_store::Error::NotFound { .. })));
        let listed: Vec<_> = scoped
            .list(Some(&Path::from("datasets")))
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        assert_eq!(listed, ["datasets/a/1/data.parquet"]);
        assert!(
            scoped
                .list(Some(&Path::from("datasets/b")))
                .next()
                .await
                .is_none()
        );
        let put = scoped
            .put(
                &Path::from("datasets/a/1/data.parquet"),
                PutPayload::from_static(b"y"),
            )
            .await;
        assert!(put.is_err());
    }
}
