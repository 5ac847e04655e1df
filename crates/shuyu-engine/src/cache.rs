//! [`CachedStore`]: the plaintext of recently read byte ranges, kept in the domain's memory so that
//! a repeated query does not fetch and decrypt the same column chunks again.
//!
//! It sits above the decrypting [`crate::EncryptedStore`] and below the query sandbox. Parquet
//! readers ask for the same ranges again and again (a file's footer, one column chunk per row
//! group and column), so the cache keeps **ranges as they were asked for**, and a later request
//! is a hit when one cached range contains it: the answer is then a zero-copy slice.
//!
//! What it promises:
//! - **Bounded**: at most `capacity` plaintext bytes, least recently used ranges evicted first;
//!   a range larger than a quarter of the capacity is never kept (a whole-file read passes by).
//!   A capacity of 0 keeps nothing.
//! - **Never stale**: every write, copy, rename and delete through this store evicts the paths it
//!   touches, and [`PlainCache::evict`] serves those who delete below it (the sweep of orphaned
//!   ciphertext). Objects are written once under fresh paths in practice; this is the guard.
//! - **Never past its key**: a hit is served only while the object's data key is still in the key
//!   map ([`KeyResolver`]): once a dataset's key is forgotten (termination with deletion,
//!   crypto-shredding) its cached plaintext can no longer be read, and it is dropped on the next
//!   request.
//! - Plaintext stays in this process (the secure domain); nothing here writes it anywhere.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

use crate::KeyResolver;

const STORE: &str = "CachedStore";

/// Counters of a [`PlainCache`], for metrics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Ranges served from memory.
    pub hits: u64,
    /// Ranges fetched from the store below.
    pub misses: u64,
    /// Plaintext bytes held now.
    pub bytes: u64,
    /// Ranges held now.
    pub ranges: u64,
}

/// One cached range of one object.
struct Entry {
    range: Range<u64>,
    bytes: Bytes,
    used_at: u64,
}

#[derive(Default)]
struct State {
    /// Per object: its metadata (as the store below answered it) and its cached ranges.
    objects: HashMap<Path, Object>,
    used: u64,
    clock: u64,
}

#[derive(Default)]
struct Object {
    meta: Option<ObjectMeta>,
    entries: Vec<Entry>,
}

/// The bounded, least-recently-used memory of plaintext ranges shared by every session.
pub struct PlainCache {
    capacity: u64,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl fmt::Debug for PlainCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCache")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

impl PlainCache {
    /// A cache holding at most `capacity` bytes (0: nothing is kept).
    #[must_use]
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            state: Mutex::new(State::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The most bytes it holds.
    #[must_use]
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// What it holds and how it served.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: state.used,
            ranges: state.objects.values().map(|o| o.entries.len() as u64).sum(),
        }
    }

    /// Forgets everything held of `path`.
    pub fn evict(&self, path: &Path) {
        let mut state = self.lock();
        if let Some(object) = state.objects.remove(path) {
            let freed: u64 = object.entries.iter().map(|e| e.bytes.len() as u64).sum();
            state.used -= freed;
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.objects.clear();
        state.used = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn keeps(&self, len: u64) -> bool {
        len > 0 && len <= self.capacity / 4
    }

    /// The bytes of `range` of `path`, if a cached range contains it.
    fn get(&self, path: &Path, range: &Range<u64>) -> Option<Bytes> {
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let entry = state
            .objects
            .get_mut(path)?
            .entries
            .iter_mut()
            .find(|e| e.range.start <= range.start && range.end <= e.range.end)?;
        entry.used_at = now;
        let from = usize::try_from(range.start - entry.range.start).ok()?;
        let to = usize::try_from(range.end - entry.range.start).ok()?;
        Some(entry.bytes.slice(from..to))
    }

    fn meta(&self, path: &Path) -> Option<ObjectMeta> {
        self.lock().objects.get(path)?.meta.clone()
    }

    /// Keeps `bytes` as `range` of `path` (and its metadata, when known), evicting the least
    /// recently used ranges beyond the capacity. Ranges it contains are dropped.
    fn put(&self, path: &Path, meta: Option<ObjectMeta>, range: Range<u64>, bytes: Bytes) {
        let len = bytes.len() as u64;
        if !self.keeps(len) || range.end - range.start != len {
            return;
        }
        let mut state = self.lock();
        state.clock += 1;
        let now = state.clock;
        let object = state.objects.entry(path.clone()).or_default();
        if meta.is_some() {
            object.meta = meta;
        }
        if object
            .entries
            .iter()
            .any(|e| e.range.start <= range.start && range.end <= e.range.end)
        {
            return;
        }
        let mut freed = 0;
        object.entries.retain(|e| {
            let inside = range.start <= e.range.start && e.range.end <= range.end;
            if inside {
                freed += e.bytes.len() as u64;
            }
            !inside
        });
        object.entries.push(Entry {
            range,
            bytes,
            used_at: now,
        });
        state.used = state.used - freed + len;
        while state.used > self.capacity {
            let Some((victim, index)) = state
                .objects
                .iter()
                .flat_map(|(p, o)| o.entries.iter().enumerate().map(move |(i, e)| (p, i, e)))
                .min_by_key(|(_, _, e)| e.used_at)
                .map(|(p, i, _)| (p.clone(), i))
            else {
                break;
            };
            if let Some(object) = state.objects.get_mut(&victim) {
                let gone = object.entries.swap_remove(index);
                if object.entries.is_empty() {
                    state.objects.remove(&victim);
                }
                state.used -= gone.bytes.len() as u64;
            }
        }
    }
}

/// An [`ObjectStore`] that answers repeated ranged reads of `inner` from a [`PlainCache`]; see
/// the module documentation. Everything else passes through (writes evicting what they touch).
pub struct CachedStore {
    inner: Arc<dyn ObjectStore>,
    cache: Arc<PlainCache>,
    keys: Arc<dyn KeyResolver>,
}

impl CachedStore {
    /// `inner` (the decrypting store) read through `cache`; `keys` is the key map `inner`
    /// decrypts with: an object without a key is never served from memory.
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        cache: Arc<PlainCache>,
        keys: Arc<dyn KeyResolver>,
    ) -> Self {
        Self { inner, cache, keys }
    }

    /// Whether cached plaintext of `path` may be served; drops it when not.
    fn readable(&self, path: &Path) -> bool {
        if self.keys.data_key(path).is_some() {
            true
        } else {
            self.cache.evict(path);
            false
        }
    }
}

impl fmt::Display for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{STORE}({})", self.inner)
    }
}

impl fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(STORE)
            .field("inner", &self.inner)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// A read of one bounded range with no conditions: the only `get` the cache answers.
fn plain_range(options: &GetOptions) -> Option<Range<u64>> {
    let GetOptions {
        if_match: None,
        if_none_match: None,
        if_modified_since: None,
        if_unmodified_since: None,
        range: Some(GetRange::Bounded(range)),
        version: None,
        head: false,
        ..
    } = options
    else {
        return None;
    };
    Some(range.clone())
}

fn answer(meta: ObjectMeta, range: Range<u64>, bytes: Bytes) -> GetResult {
    GetResult {
        payload: GetResultPayload::Stream(stream::once(async move { Ok(bytes) }).boxed()),
        meta,
        range,
        attributes: Default::default(),
    }
}

#[async_trait]
impl ObjectStore for CachedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.cache.evict(location);
        let result = self.inner.put_opts(location, payload, opts).await;
        self.cache.evict(location);
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        // The object changes only when the upload completes; nothing reads it through the cache
        // before then (its path is new), and the eviction here covers a rewrite of a path read
        // earlier.
        self.cache.evict(location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let Some(range) = plain_range(&options) else {
            return self.inner.get_opts(location, options).await;
        };
        let readable = self.readable(location);
        if readable && let Some(meta) = self.cache.meta(location) {
            let wanted = range.start..range.end.min(meta.size);
            if wanted.start < wanted.end
                && let Some(bytes) = self.cache.get(location, &wanted)
            {
                self.cache.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(answer(meta, wanted, bytes));
            }
        }
        self.cache.misses.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.get_opts(location, options).await?;
        let got = result.range.clone();
        if !readable || !self.cache.keeps(got.end - got.start) {
            return Ok(result);
        }
        let meta = result.meta.clone();
        let bytes = result.bytes().await?;
        self.cache
            .put(location, Some(meta.clone()), got.clone(), bytes.clone());
        Ok(answer(meta, got, bytes))
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let readable = self.readable(location);
        let mut out: Vec<Option<Bytes>> = if readable {
            ranges.iter().map(|r| self.cache.get(location, r)).collect()
        } else {
            vec![None; ranges.len()]
        };
        let missing: Vec<Range<u64>> = ranges
            .iter()
            .zip(&out)
            .filter(|(_, hit)| hit.is_none())
            .map(|(r, _)| r.clone())
            .collect();
        let hits = (ranges.len() - missing.len()) as u64;
        self.cache.hits.fetch_add(hits, Ordering::Relaxed);
        if !missing.is_empty() {
            self.cache
                .misses
                .fetch_add(missing.len() as u64, Ordering::Relaxed);
            let mut fetched = self.inner.get_ranges(location, &missing).await?.into_iter();
            for (range, slot) in ranges.iter().zip(out.iter_mut()) {
                if slot.is_none() {
                    let bytes = fetched.next().ok_or_else(|| object_store::Error::Generic {
                        store: STORE,
                        source: "the store below answered fewer ranges than asked".into(),
                    })?;
                    if readable {
                        self.cache.put(location, None, range.clone(), bytes.clone());
                    }
                    *slot = Some(bytes);
                }
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let cache = Arc::clone(&self.cache);
        let evicting = locations
            .map(move |location| {
                if let Ok(path) = &location {
                    cache.evict(path);
                }
                location
            })
            .boxed();
        self.inner.delete_stream(evicting)
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
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.cache.evict(to);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.cache.evict(from);
        self.cache.evict(to);
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
// `get_ranges` takes a slice of ranges; one-range slices are the point of several tests.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use rand::SeedableRng;
    use shuyu_crypto::DataKey;

    use super::*;
    use crate::PrefixKeys;

    /// Counts the ranged reads that reach it.
    #[derive(Debug)]
    struct Counting {
        inner: InMemory,
        reads: AtomicUsize,
    }

    impl fmt::Display for Counting {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Counting")
        }
    }

    #[async_trait]
    impl ObjectStore for Counting {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.inner.get_opts(location, options).await
        }
        async fn get_ranges(
            &self,
            location: &Path,
            ranges: &[Range<u64>],
        ) -> object_store::Result<Vec<Bytes>> {
            self.reads.fetch_add(ranges.len(), Ordering::Relaxed);
            self.inner.get_ranges(location, ranges).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        fn list_with_offset(
            &self,
            prefix: Option<&Path>,
            offset: &Path,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list_with_offset(prefix, offset)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
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

    struct Fixture {
        below: Arc<Counting>,
        keys: Arc<PrefixKeys>,
        cache: Arc<PlainCache>,
        store: CachedStore,
    }

    fn fixture(capacity: u64) -> Fixture {
        let below = Arc::new(Counting {
            inner: InMemory::new(),
            reads: AtomicUsize::new(0),
        });
        let keys = Arc::new(PrefixKeys::new());
        let mut rng = rand::rngs::StdRng::from_seed([1; 32]);
        keys.insert(&Path::from("d"), DataKey::generate(&mut rng));
        let cache = Arc::new(PlainCache::new(capacity));
        let store = CachedStore::new(
            Arc::clone(&below) as Arc<dyn ObjectStore>,
            Arc::clone(&cache),
            Arc::clone(&keys) as Arc<dyn KeyResolver>,
        );
        Fixture {
            below,
            keys,
            cache,
            store,
        }
    }

    fn data(n: usize) -> Bytes {
        (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
    }

    fn reads(f: &Fixture) -> usize {
        f.below.reads.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn a_repeated_range_is_read_once_and_a_contained_one_is_a_slice() {
        let f = fixture(1024);
        let path = Path::from("d/a");
        f.store.put(&path, data(200).into()).await.unwrap();
        let first = f.store.get_ranges(&path, &[10..110]).await.unwrap();
        assert_eq!(first[0], data(200).slice(10..110));
        assert_eq!(reads(&f), 1);
        let again = f
            .store
            .get_ranges(&path, &[10..110, 20..30, 150..160])
            .await
            .unwrap();
        assert_eq!(again[1], data(200).slice(20..30));
        assert_eq!(again[2], data(200).slice(150..160));
        // Only the range no cached one contains went below.
        assert_eq!(reads(&f), 2);
        let stats = f.cache.stats();
        assert_eq!((stats.hits, stats.misses), (2, 2));
    }

    #[tokio::test]
    async fn bounded_gets_are_cached_with_their_metadata() {
        let f = fixture(1024);
        let path = Path::from("d/a");
        f.store.put(&path, data(200).into()).await.unwrap();
        let first = f.store.get_range(&path, 100..200).await.unwrap();
        let second = f.store.get_range(&path, 150..200).await.unwrap();
        assert_eq!(first, data(200).slice(100..200));
        assert_eq!(second, data(200).slice(150..200));
        assert_eq!(reads(&f), 1);
        // A head, or a read with conditions, always goes below.
        f.store.head(&path).await.unwrap();
        assert_eq!(reads(&f), 2);
    }

    #[tokio::test]
    async fn writes_and_deletes_evict_and_the_capacity_holds() {
        let f = fixture(400);
        let a = Path::from("d/a");
        f.store.put(&a, data(200).into()).await.unwrap();
        f.store.get_ranges(&a, &[0..100]).await.unwrap();
        f.store.put(&a, data(150).into()).await.unwrap();
        assert_eq!(f.cache.stats().bytes, 0, "a rewrite drops what was cached");
        f.store.get_ranges(&a, &[0..100]).await.unwrap();
        f.store.delete(&a).await.unwrap();
        assert_eq!(f.cache.stats().bytes, 0, "a delete drops what was cached");

        let b = Path::from("d/b");
        f.store.put(&b, data(400).into()).await.unwrap();
        // Four disjoint ranges of 100 fill the 400 bytes; a fifth evicts the least recently used.
        for start in [0, 100, 200, 300] {
            f.store.get_ranges(&b, &[start..start + 100]).await.unwrap();
        }
        f.store.get_ranges(&b, &[0..10]).await.unwrap(); // 0..100 is now the most recent
        assert_eq!(f.cache.stats().bytes, 400);
        let before = reads(&f);
        f.store.get_ranges(&b, &[50..150]).await.unwrap(); // evicts 100..200
        assert!(f.cache.stats().bytes <= 400);
        f.store.get_ranges(&b, &[0..100]).await.unwrap();
        assert_eq!(reads(&f), before + 1, "the recently used range stayed");
        f.store.get_ranges(&b, &[160..170]).await.unwrap();
        assert_eq!(reads(&f), before + 2, "the least recently used range went");
        // A range larger than a quarter of the capacity is never kept.
        f.store.get_ranges(&b, &[0..101]).await.unwrap();
        f.store.get_ranges(&b, &[0..101]).await.unwrap();
        assert_eq!(reads(&f), before + 4);
    }

    #[tokio::test]
    async fn no_plaintext_is_served_once_the_key_is_forgotten() {
        let f = fixture(1024);
        let path = Path::from("d/a");
        f.store.put(&path, data(200).into()).await.unwrap();
        f.store.get_ranges(&path, &[0..50]).await.unwrap();
        assert_eq!(reads(&f), 1);
        f.keys.remove(&Path::from("d"));
        // The store below is asked again (here it answers; the encrypting store would refuse
        // for want of a key), the cached plaintext is gone and nothing new is kept.
        f.store.get_ranges(&path, &[0..50]).await.unwrap();
        assert_eq!(reads(&f), 2);
        assert_eq!(
            f.cache.stats(),
            CacheStats {
                hits: 0,
                misses: 2,
                bytes: 0,
                ranges: 0
            }
        );
    }
}
