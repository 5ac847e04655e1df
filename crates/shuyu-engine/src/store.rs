//! [`EncryptedStore`]: an [`ObjectStore`] that encrypts every object it writes with the SYENC
//! format of `shuyu-crypto` and decrypts what it reads, over any inner store (local files by
//! default, S3-compatible storage by configuration).
//!
//! Readers see plaintext only: sizes in `head`/`list` are plaintext sizes, and a ranged `get`
//! fetches the header and just the ciphertext chunks covering the range, authenticates them and
//! returns exactly the bytes asked for — so Parquet readers (and DataFusion later) push projection
//! and row-group selection down to the encrypted files.
//!
//! This module must never return bytes of a chunk that failed authentication, never write
//! plaintext to the inner store, and never hold a whole object in memory (writes stream chunk by
//! chunk, passed on in multipart parts of at least [`MIN_PART_BYTES`] as S3 requires; reads decrypt
//! in windows of [`READ_WINDOW_CHUNKS`] chunks).
//!
//! The data key of each object comes from a [`KeyResolver`] (in practice [`PrefixKeys`]: one key
//! per dataset prefix). Every object is written with the store's chunk size, so plaintext sizes
//! in listings are computed from the ciphertext size alone; reads take the chunk size from the
//! file header and check that it agrees.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    Attributes, CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, RenameOptions, UploadPart,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_crypto::{ChunkSize, CryptoError, DataKey, Encryptor, FileLayout, HEADER_LEN, TAG_LEN};

const STORE: &str = "EncryptedStore";
/// Chunks fetched and decrypted per step of a streaming read (1 MiB of plaintext at 64 KiB).
pub const READ_WINDOW_CHUNKS: u64 = 16;

/// Finds the data key of an object. `None` means the object belongs to no known dataset: reads
/// and writes of it fail with a clear error.
pub trait KeyResolver: Send + Sync + 'static {
    /// The data key for `path`.
    fn data_key(&self, path: &Path) -> Option<Arc<DataKey>>;
}

impl<F> KeyResolver for F
where
    F: Fn(&Path) -> Option<Arc<DataKey>> + Send + Sync + 'static,
{
    fn data_key(&self, path: &Path) -> Option<Arc<DataKey>> {
        self(path)
    }
}

/// One data key per path prefix (a dataset's folder, e.g. `datasets/<resource id>`); the longest
/// matching prefix wins. Keys can be added while the store is in use.
#[derive(Default)]
pub struct PrefixKeys {
    keys: RwLock<BTreeMap<String, Arc<DataKey>>>,
}

impl PrefixKeys {
    /// An empty key map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `key` for every object under `prefix` (whole path segments).
    pub fn insert(&self, prefix: &Path, key: DataKey) {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(prefix.as_ref().to_owned(), Arc::new(key));
    }

    /// Forgets the key of `prefix`.
    pub fn remove(&self, prefix: &Path) {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(prefix.as_ref());
    }
}

impl KeyResolver for PrefixKeys {
    fn data_key(&self, path: &Path) -> Option<Arc<DataKey>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        let path = path.as_ref();
        keys.iter()
            .filter(|(prefix, _)| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, key)| Arc::clone(key))
    }
}

impl fmt::Debug for PrefixKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("PrefixKeys")
            .field("prefixes", &keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Errors of the encryption layer, carried inside `object_store::Error::Generic` (so callers
/// that hold an `object_store::Error` can find them by downcasting its source).
#[derive(Debug, thiserror::Error)]
pub enum EncryptedStoreError {
    /// No data key is known for the object's path.
    #[error("no data key is configured for {path}: the dataset's key is missing")]
    NoDataKey {
        /// The object asked for.
        path: String,
    },
    /// Decryption or authentication failed (wrong data key, altered or truncated file).
    #[error("cannot decrypt {path}: {source}")]
    Crypto {
        /// The object asked for.
        path: String,
        /// What failed.
        source: CryptoError,
    },
    /// The requested range is outside the object.
    #[error("range {start}..{end} is outside {path} ({len} bytes)")]
    Range {
        /// The object asked for.
        path: String,
        /// Start asked for.
        start: u64,
        /// End asked for.
        end: u64,
        /// Plaintext bytes in the object.
        len: u64,
    },
}

impl From<EncryptedStoreError> for object_store::Error {
    fn from(error: EncryptedStoreError) -> Self {
        Self::Generic {
            store: STORE,
            source: Box::new(error),
        }
    }
}

fn crypto(path: &Path, source: CryptoError) -> object_store::Error {
    EncryptedStoreError::Crypto {
        path: path.to_string(),
        source,
    }
    .into()
}

/// An [`ObjectStore`] that encrypts on write and decrypts on read; see the module documentation.
pub struct EncryptedStore {
    inner: Arc<dyn ObjectStore>,
    keys: Arc<dyn KeyResolver>,
    chunk_size: ChunkSize,
    rng: Mutex<StdRng>,
}

impl EncryptedStore {
    /// Wraps `inner`. `seed` seeds the generator of file ids: it **must** come from the operating
    /// system's random source in production (a repeated seed repeats file ids, and so GCM nonces
    /// under the same file key); tests may pass a fixed seed.
    pub fn new(inner: Arc<dyn ObjectStore>, keys: Arc<dyn KeyResolver>, seed: [u8; 32]) -> Self {
        Self {
            inner,
            keys,
            chunk_size: ChunkSize::DEFAULT,
            rng: Mutex::new(StdRng::from_seed(seed)),
        }
    }

    /// Uses `chunk_size` for objects written from now on (reads take it from each header).
    #[must_use]
    pub fn with_chunk_size(mut self, chunk_size: ChunkSize) -> Self {
        self.chunk_size = chunk_size;
        self
    }

    /// The store holding the ciphertext.
    #[must_use]
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    fn key_for(&self, path: &Path) -> object_store::Result<Arc<DataKey>> {
        self.keys.data_key(path).ok_or_else(|| {
            EncryptedStoreError::NoDataKey {
                path: path.to_string(),
            }
            .into()
        })
    }

    fn encryptor(&self, key: &DataKey) -> Encryptor {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        Encryptor::new(key, self.chunk_size, &mut *rng)
    }

    /// Reads the header (and the ciphertext object's metadata) and opens the file.
    async fn open(
        &self,
        location: &Path,
        options: &GetOptions,
    ) -> object_store::Result<(shuyu_crypto::FileDecryptor, ObjectMeta, Attributes)> {
        let key = self.key_for(location)?;
        let header_options = GetOptions {
            range: Some(GetRange::Bounded(0..HEADER_LEN as u64)),
            head: false,
            ..options.clone()
        };
        let result = self.inner.get_opts(location, header_options).await?;
        let meta = result.meta.clone();
        let attributes = result.attributes.clone();
        let header = result.bytes().await?;
        let layout =
            FileLayout::from_header(&header, meta.size).map_err(|e| crypto(location, e))?;
        let decryptor = layout.open(&key).map_err(|e| crypto(location, e))?;
        let meta = ObjectMeta {
            size: layout.plaintext_len(),
            ..meta
        };
        Ok((decryptor, meta, attributes))
    }
}

impl fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(STORE)
            .field("inner", &self.inner)
            .field("chunk_size", &self.chunk_size.get())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for EncryptedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STORE}({})", self.inner)
    }
}

/// Resolves a requested range against an object of `len` plaintext bytes, with `object_store`'s
/// rules (a bounded range may end past the end; an empty or out-of-bounds start is an error).
fn resolve_range(
    path: &Path,
    range: Option<&GetRange>,
    len: u64,
) -> object_store::Result<Range<u64>> {
    let out_of_range = |start, end| -> object_store::Error {
        EncryptedStoreError::Range {
            path: path.to_string(),
            start,
            end,
            len,
        }
        .into()
    };
    match range {
        None => Ok(0..len),
        Some(GetRange::Bounded(r)) => {
            if r.start >= r.end || r.start >= len {
                Err(out_of_range(r.start, r.end))
            } else {
                Ok(r.start..r.end.min(len))
            }
        }
        Some(GetRange::Offset(start)) => {
            if *start >= len {
                Err(out_of_range(*start, len))
            } else {
                Ok(*start..len)
            }
        }
        Some(GetRange::Suffix(n)) => Ok(len.saturating_sub(*n)..len),
    }
}

/// Fetches and decrypts `plain` from the inner store, one window of chunks at a time.
fn decrypt_stream(
    inner: Arc<dyn ObjectStore>,
    location: Path,
    decryptor: Arc<shuyu_crypto::FileDecryptor>,
    plain: Range<u64>,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    let chunk = u64::from(decryptor.layout().chunk_size().get());
    let windows: Vec<Range<u64>> = if plain.is_empty() {
        Vec::new()
    } else {
        let window = chunk * READ_WINDOW_CHUNKS;
        let mut out = Vec::new();
        let mut start = plain.start;
        while start < plain.end {
            // Window ends fall on chunk boundaries, so no chunk is fetched twice.
            let end = ((start / window + 1) * window).min(plain.end);
            out.push(start..end);
            start = end;
        }
        out
    };
    stream::iter(windows)
        .then(move |part| {
            let inner = Arc::clone(&inner);
            let location = location.clone();
            let decryptor = Arc::clone(&decryptor);
            async move {
                let fetch = decryptor
                    .layout()
                    .ciphertext_range(&part)
                    .map_err(|e| crypto(&location, e))?;
                let fetched = inner.get_range(&location, fetch).await?;
                let plain = decryptor
                    .decrypt_range(&fetched, &part)
                    .map_err(|e| crypto(&location, e))?;
                Ok(Bytes::from(plain))
            }
        })
        .boxed()
}

#[async_trait]
impl ObjectStore for EncryptedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let key = self.key_for(location)?;
        let mut encryptor = self.encryptor(&key);
        let mut out = Vec::with_capacity(
            usize::try_from(shuyu_crypto::ciphertext_len(
                payload.content_length() as u64,
                self.chunk_size,
            ))
            .unwrap_or(0),
        );
        for part in &payload {
            encryptor
                .push_into(part, &mut out)
                .map_err(|e| crypto(location, e))?;
        }
        out.extend(encryptor.finish().map_err(|e| crypto(location, e))?);
        self.inner.put_opts(location, out.into(), opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let key = self.key_for(location)?;
        let encryptor = self.encryptor(&key);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(EncryptingUpload {
            inner,
            encryptor: Some(encryptor),
            location: location.clone(),
            pending: Vec::new(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let (decryptor, meta, attributes) = self.open(location, &options).await?;
        if options.head {
            return Ok(GetResult {
                payload: GetResultPayload::Stream(stream::empty().boxed()),
                range: 0..meta.size,
                meta,
                attributes,
            });
        }
        let plain = resolve_range(location, options.range.as_ref(), meta.size)?;
        let payload = decrypt_stream(
            Arc::clone(&self.inner),
            location.clone(),
            Arc::new(decryptor),
            plain.clone(),
        );
        Ok(GetResult {
            payload: GetResultPayload::Stream(payload),
            meta,
            range: plain,
            attributes,
        })
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let (decryptor, meta, _) = self.open(location, &GetOptions::default()).await?;
        let layout = decryptor.layout();
        let mut fetch = Vec::with_capacity(ranges.len());
        for range in ranges {
            if range.start > range.end || range.end > meta.size {
                return Err(EncryptedStoreError::Range {
                    path: location.to_string(),
                    start: range.start,
                    end: range.end,
                    len: meta.size,
                }
                .into());
            }
            fetch.push(
                layout
                    .ciphertext_range(range)
                    .map_err(|e| crypto(location, e))?,
            );
        }
        // The inner store coalesces nearby ranges into fewer requests.
        let fetched = self.inner.get_ranges(location, &fetch).await?;
        ranges
            .iter()
            .zip(fetched)
            .map(|(range, bytes)| {
                decryptor
                    .decrypt_range(&bytes, range)
                    .map(Bytes::from)
                    .map_err(|e| crypto(location, e))
            })
            .collect()
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let this = SizeOnly(self.chunk_size);
        self.inner
            .list(prefix)
            .map_ok(move |meta| this.plain_meta(meta))
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let this = SizeOnly(self.chunk_size);
        self.inner
            .list_with_offset(prefix, offset)
            .map_ok(move |meta| this.plain_meta(meta))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result.objects = result
            .objects
            .into_iter()
            .map(|meta| SizeOnly(self.chunk_size).plain_meta(meta))
            .collect();
        Ok(result)
    }

    /// Copies the ciphertext. The data key is found by path: copying across datasets makes the
    /// copy unreadable with the target dataset's key (a clear `WrongDataKey` error on read).
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// The chunk size alone, to compute plaintext sizes inside `'static` list streams: the plaintext
/// size of an object written with this chunk size follows from its ciphertext size (0 for an
/// object too short to be an encrypted file).
#[derive(Clone, Copy)]
struct SizeOnly(ChunkSize);

impl SizeOnly {
    fn plain_meta(self, meta: ObjectMeta) -> ObjectMeta {
        let sealed = u64::from(self.0.get()) + TAG_LEN as u64;
        let size = meta.size.checked_sub(HEADER_LEN as u64).map_or(0, |body| {
            body.saturating_sub(body.div_ceil(sealed).max(1) * TAG_LEN as u64)
        });
        ObjectMeta { size, ..meta }
    }
}

/// The smallest part the inner store is handed, except the last: S3 refuses a multipart upload
/// with a part under 5 MiB that is not the last one, and the parts handed in here may be short
/// (a buffered writer's final flush, followed by the encryptor's sealed tail).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// A multipart upload that encrypts each part as it is handed in (sequentially: the chunk index
/// follows the order of `put_part` calls) and seals the final chunk on `complete`. Ciphertext is
/// passed on in parts of at least [`MIN_PART_BYTES`] (the last one excepted), so at most that
/// much is held besides the part being encrypted.
struct EncryptingUpload {
    inner: Box<dyn MultipartUpload>,
    encryptor: Option<Encryptor>,
    location: Path,
    pending: Vec<u8>,
}

impl fmt::Debug for EncryptingUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptingUpload")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

fn closed(location: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: format!("upload of {location} was already completed or aborted").into(),
    }
}

#[async_trait]
impl MultipartUpload for EncryptingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let Some(encryptor) = self.encryptor.as_mut() else {
            let error = closed(&self.location);
            return Box::pin(async move { Err(error) });
        };
        self.pending.reserve(data.content_length() + 1024);
        for part in &data {
            if let Err(e) = encryptor.push_into(part, &mut self.pending) {
                let error = crypto(&self.location, e);
                return Box::pin(async move { Err(error) });
            }
        }
        if self.pending.len() < MIN_PART_BYTES {
            return Box::pin(async { Ok(()) });
        }
        let out = std::mem::take(&mut self.pending);
        self.inner.put_part(out.into())
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let encryptor = self
            .encryptor
            .take()
            .ok_or_else(|| closed(&self.location))?;
        let tail = encryptor.finish().map_err(|e| crypto(&self.location, e))?;
        let mut last = std::mem::take(&mut self.pending);
        last.extend_from_slice(&tail);
        self.inner.put_part(last.into()).await?;
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.encryptor = None;
        self.pending = Vec::new();
        self.inner.abort().await
    }
}
