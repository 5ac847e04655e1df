//! Where the ciphertext lives: the inner store under [`EncryptedStore`](crate::EncryptedStore),
//! local files or an S3-compatible bucket, built from an [`ObjectStorage`] description that the
//! binary makes from its configuration (this crate parses no configuration).
//!
//! Credentials are held in [`Secret`], whose `Debug` and `Display` print nothing; [`describe`]
//! names the backend (endpoint, bucket, prefix) for logs, never a credential.
//!
//! S3 has no rename: publishing a dataset (`rename_if_not_exists`) is a copy that completes only
//! if the target does not exist (a one-part multipart upload copying the staging object, completed
//! with `If-None-Match: *`, as Amazon S3 supports), then a delete of the staging object.
//!
//! [`describe`]: ObjectStorage::describe

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{ClientOptions, RetryConfig};

/// A credential: `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret itself, for the client that sends it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// An S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Storage {
    /// `https://host[:port]` (plain `http://` only when `allow_http`, which the binary permits
    /// for loopback endpoints only).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Objects are kept under this key prefix (no leading or trailing `/`); empty: the bucket's root.
    pub prefix: String,
    pub allow_http: bool,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// A session token for temporary credentials.
    pub session_token: Option<Secret>,
}

/// Where objects are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStorage {
    /// Files under a local directory (created if missing).
    Local { root: PathBuf },
    /// An S3-compatible bucket.
    S3(S3Storage),
}

/// The inner store could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the object storage {what}: {reason}")]
pub struct StorageError {
    /// The backend, as [`ObjectStorage::describe`] names it.
    pub what: String,
    /// Why (never a credential).
    pub reason: String,
}

impl ObjectStorage {
    /// The backend for logs: the directory, or `s3 <endpoint> bucket <bucket>[/<prefix>]`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            ObjectStorage::Local { root } => format!("local files under {}", root.display()),
            ObjectStorage::S3(s3) => {
                let prefix = if s3.prefix.is_empty() {
                    String::new()
                } else {
                    format!(" prefix {}", s3.prefix)
                };
                format!("s3 {} bucket {}{prefix}", s3.endpoint, s3.bucket)
            }
        }
    }

    /// Builds the store (no request is made: an unreachable bucket shows on first use).
    ///
    /// # Errors
    /// When the directory cannot be created or the S3 settings are refused by the client.
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>, StorageError> {
        let fail = |reason: String| StorageError {
            what: self.describe(),
            reason,
        };
        match self {
            ObjectStorage::Local { root } => {
                std::fs::create_dir_all(root).map_err(|e| fail(e.to_string()))?;
                let local =
                    LocalFileSystem::new_with_prefix(root).map_err(|e| fail(e.to_string()))?;
                Ok(Arc::new(local))
            }
            ObjectStorage::S3(s3) => {
                let store = s3_builder(s3).build().map_err(|e| fail(e.to_string()))?;
                if s3.prefix.is_empty() {
                    Ok(Arc::new(store))
                } else {
                    Ok(Arc::new(PrefixStore::new(store, s3.prefix.as_str())))
                }
            }
        }
    }
}

fn s3_builder(s3: &S3Storage) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::new()
        .with_endpoint(s3.endpoint.trim_end_matches('/'))
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region)
        .with_access_key_id(&s3.access_key_id)
        .with_secret_access_key(s3.secret_access_key.expose())
        .with_allow_http(s3.allow_http)
        .with_virtual_hosted_style_request(false)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(s3.allow_http)
                .with_connect_timeout(Duration::from_secs(10))
                .with_timeout(Duration::from_secs(300)),
        )
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        });
    if let Some(token) = &s3.session_token {
        builder = builder.with_token(token.expose());
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3() -> S3Storage {
        S3Storage {
            endpoint: "http://127.0.0.1:9000".into(),
            bucket: "shuyu".into(),
            region: "us-east-1".into(),
            prefix: "city/a".into(),
            allow_http: true,
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI-very-secret"),
            session_token: Some(Secret::new("token-very-secret")),
        }
    }

    #[test]
    fn debug_and_describe_never_show_a_secret() {
        let storage = ObjectStorage::S3(s3());
        for shown in [format!("{storage:?}"), storage.describe()] {
            assert!(!shown.contains("very-secret"), "{shown}");
        }
        assert_eq!(
            storage.describe(),
            "s3 http://127.0.0.1:9000 bucket shuyu prefix city/a"
        );
        let store = storage.open().unwrap();
        assert!(!format!("{store:?} {store}").contains("very-secret"));
    }

    #[test]
    fn local_storage_creates_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("objects");
        ObjectStorage::Local { root: root.clone() }.open().unwrap();
        assert!(root.is_dir());
    }
}
