//! Data I/O for shuyu: the only crate that reads and writes dataset files.
//!
//! - [`store`]: [`EncryptedStore`], an `object_store::ObjectStore` that encrypts every object with
//!   SM4-GCM in authenticated chunks (the SYENC format of `shuyu-crypto`) and decrypts any byte
//!   range on read, over local files or S3-compatible storage.
//! - [`storage`]: [`ObjectStorage`], the inner store (local files or an S3-compatible bucket) built
//!   from a description the binary makes from its configuration.
//! - [`cache`]: [`CachedStore`], the bounded in-domain memory of decrypted byte ranges that
//!   repeated queries read instead of fetching and decrypting again.
//! - [`keys`]: [`KeyRing`], the master key and per-dataset data keys (wrapped for the database),
//!   rotation by re-wrapping.
//! - [`import`]: CSV (UTF-8 or GB18030) and Parquet import into Parquet through any object store,
//!   streaming, checked against the registered fields, profiled for quality, to a staging path
//!   that the caller publishes.
//!
//! Nothing here decides access (that is `shuyu-policy`) or records versions (that is the store,
//! through `shuyu-app`).

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod cache;
pub mod decode;
pub mod import;
pub mod keys;
pub mod spool;
pub mod storage;
pub mod store;

pub use cache::{CacheStats, CachedStore, PlainCache};
pub use decode::SourceEncoding;
pub use import::{
    ImportError, ImportField, ImportOptions, ImportReport, Progress, SchemaMismatch, TypeMismatch,
    arrow_schema, import_csv, import_parquet, publish,
};
pub use keys::{KeyError, KeyRing, MASTER_KEY_ENV};
pub use shuyu_crypto::DataKey;
pub use spool::{SpoolReader, SpoolWriter, Spooled};
pub use storage::{ObjectStorage, S3Storage, Secret, StorageError};
pub use store::{EncryptedStore, EncryptedStoreError, KeyResolver, PrefixKeys};
