//! Configuration: built-in defaults, then a TOML file, then `SHUYU_*` environment variables, then
//! command-line flags. Unknown keys and impossible values are refused at start with the key named.
//!
//! Nested keys use `__` in the environment: `SHUYU_SECURITY__LOCKOUT_THRESHOLD=3`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Holds the SQLite database, data files and keys.
    pub data_dir: PathBuf,
    pub listen: String,
    /// `sqlite://...` or `postgres://...`; empty means `sqlite://<data_dir>/shuyu.db`.
    pub database_url: String,
    /// A built-in profile name (weihai, zhongwei, changchun, futian, qiqihar).
    pub profile: String,
    /// A profile file of one's own, instead of a built-in one.
    pub profile_file: Option<PathBuf>,
    pub security: Security,
    pub personnel: Personnel,
    pub audit: Audit,
    /// Single sign-on through the unified identity system (OpenID Connect); absent: off.
    pub oidc: Option<Oidc>,
    /// The master key wrapping every dataset's data key: 32 hex digits or base64 of 16 bytes.
    /// Better given as the `SHUYU_MASTER_KEY` environment variable than written in the file (a key
    /// kept beside the data defeats its encryption). Absent: the server runs, but dataset imports
    /// answer 503 naming this key.
    pub master_key: Option<MasterKeyText>,
    pub storage: Storage,
    pub query: Query,
}

/// `[query]`: the secure domain's query execution on this server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Query {
    /// Worker threads of the runtime queries run on, apart from the one answering requests;
    /// 0: one fewer than the machine's cores (at least one).
    pub threads: usize,
    /// Memory all running queries share, in MiB (each also has its profile's per-query limit).
    pub memory_mib: u64,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            threads: 0,
            memory_mib: (shuyu_app::DEFAULT_DOMAIN_MEMORY_BYTES / (1024 * 1024)) as u64,
        }
    }
}

impl Query {
    /// The worker threads to start.
    pub fn worker_threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    }
}

/// The master key's text; `Debug` and serialization never show it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct MasterKeyText(pub String);

impl std::fmt::Debug for MasterKeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKeyText(..)")
    }
}

impl Serialize for MasterKeyText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

/// `[storage]`: dataset files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// Largest accepted dataset upload through the API, in MiB (413 beyond it).
    pub max_upload_mib: u64,
    /// Decrypted byte ranges of datasets kept in memory for repeated queries, in MiB (0: none).
    pub cache_mib: u64,
    /// Where the (encrypted) dataset objects live: `local` (`<data_dir>/objects`) or `s3`.
    pub backend: StorageBackend,
    /// The S3-compatible endpoint, `https://host[:port]` (plain http only on loopback, with
    /// `s3_allow_http`).
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    /// A key prefix inside the bucket (several deployments may share one bucket); empty: the root.
    pub s3_prefix: String,
    /// Permit a plain `http://` endpoint; refused unless the endpoint is on a loopback address.
    pub s3_allow_http: bool,
    /// Unreferenced dataset objects younger than this are kept by the sweep (an import may still
    /// be running in another process).
    pub sweep_grace_minutes: i64,
    /// The S3 credentials, from the environment only (never from the file); `Debug` hides them.
    #[serde(skip)]
    pub s3_credentials: Option<S3Credentials>,
}

/// `storage.backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Local,
    S3,
}

/// S3 credentials read from the environment: `SHUYU_S3_ACCESS_KEY_ID` and
/// `SHUYU_S3_SECRET_ACCESS_KEY` (and `SHUYU_S3_SESSION_TOKEN`), or else the standard
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
#[derive(Debug, Clone, Default)]
pub struct S3Credentials {
    pub access_key_id: String,
    /// Where the pair came from (`SHUYU_S3_*` or `AWS_*`), for messages.
    pub from: &'static str,
    pub secret_access_key: shuyu_app::Secret,
    pub session_token: Option<shuyu_app::Secret>,
}

impl S3Credentials {
    /// The first complete pair of `SHUYU_S3_*`, then `AWS_*`; `None` when neither is set.
    fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        [("SHUYU_S3_", "SHUYU_S3_*"), ("AWS_", "AWS_*")]
            .into_iter()
            .find_map(|(prefix, from)| {
                let id = var(&format!("{prefix}ACCESS_KEY_ID"))?;
                let secret = var(&format!("{prefix}SECRET_ACCESS_KEY"))?;
                Some(Self {
                    access_key_id: id.trim().to_owned(),
                    from,
                    secret_access_key: shuyu_app::Secret::new(secret.trim()),
                    session_token: var(&format!("{prefix}SESSION_TOKEN"))
                        .map(|t| shuyu_app::Secret::new(t.trim())),
                })
            })
    }
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            max_upload_mib: 1024,
            cache_mib: shuyu_app::DEFAULT_CACHE_BYTES / (1024 * 1024),
            backend: StorageBackend::Local,
            s3_endpoint: String::new(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".into(),
            s3_prefix: String::new(),
            s3_allow_http: false,
            sweep_grace_minutes: shuyu_app::SWEEP_GRACE_SECONDS / 60,
            s3_credentials: None,
        }
    }
}

impl Storage {
    fn validate(&self) -> anyhow::Result<()> {
        let bad =
            |key: &str, why: &str| Err(anyhow::anyhow!("invalid configuration: `{key}` {why}"));
        if !(1..=1024 * 1024).contains(&self.max_upload_mib) {
            return bad("storage.max_upload_mib", "must be 1 to 1048576 MiB");
        }
        if self.cache_mib > 1024 * 1024 {
            return bad("storage.cache_mib", "must be 0 to 1048576 MiB");
        }
        if !(1..=30 * 24 * 60).contains(&self.sweep_grace_minutes) {
            return bad(
                "storage.sweep_grace_minutes",
                "must be 1 to 43200 minutes (longer than the longest import)",
            );
        }
        if self.backend == StorageBackend::Local {
            return Ok(());
        }
        shuyu_oidc::check_url("storage.s3_endpoint", &self.s3_endpoint)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        if self.s3_endpoint.starts_with("http://") && !self.s3_allow_http {
            return bad(
                "storage.s3_allow_http",
                "must be true to use a plain http:// endpoint (allowed on a loopback address only); better, use https://",
            );
        }
        let bucket = &self.s3_bucket;
        if !(3..=63).contains(&bucket.len())
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return bad(
                "storage.s3_bucket",
                "must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens",
            );
        }
        if self.s3_region.trim().is_empty() {
            return bad("storage.s3_region", "must not be empty (e.g. us-east-1)");
        }
        if self.s3_prefix.starts_with('/')
            || self.s3_prefix.ends_with('/')
            || self.s3_prefix.split('/').any(|p| p == "." || p == "..")
            || (!self.s3_prefix.is_empty() && self.s3_prefix.split('/').any(str::is_empty))
        {
            return bad(
                "storage.s3_prefix",
                "must be path segments without a leading or trailing / (e.g. shuyu/prod)",
            );
        }
        if self.s3_credentials.is_none() {
            return bad(
                "storage.backend",
                "is s3, but no credentials are set: set SHUYU_S3_ACCESS_KEY_ID and SHUYU_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) in the environment",
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    pub lockout_threshold: u32,
    pub lockout_minutes: i64,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub password_min_length: usize,
    /// Mark cookies Secure. Turn off only for plain-HTTP loopback use (the demo does).
    pub secure_cookies: bool,
    pub token_max_days: u32,
    pub body_limit_kib: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Personnel {
    /// Version of the confidentiality agreement people must accept.
    pub agreement_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Audit {
    /// Sign a checkpoint every this many events...
    pub checkpoint_every: u64,
    /// ...and at least this often while events arrive.
    pub checkpoint_interval_seconds: u64,
    /// The SM2 signing key; default `<data_dir>/keys/audit-sm2.pem`.
    pub signing_key_file: Option<PathBuf>,
}

/// `[oidc]`: shuyu as an OpenID Connect relying party (authorization code flow with PKCE).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oidc {
    /// The provider's issuer URL (https; plain http only on loopback). Discovery reads
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Better given as `SHUYU_OIDC__CLIENT_SECRET` than written in the file.
    #[serde(default)]
    pub client_secret: String,
    /// Our callback as registered at the provider: `https://<host>/sso/callback`.
    pub redirect_url: String,
    /// Space-separated scopes; `openid` is always asked.
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// `amr` values that count as a second factor.
    #[serde(default = "default_second_factor_amr")]
    pub second_factor_amr: Vec<String>,
    /// The sign-in button's text (default: 统一身份认证登录 / Sign in with unified identity (SSO)).
    #[serde(default)]
    pub label_zh: String,
    #[serde(default)]
    pub label_en: String,
    /// Extra trusted root certificates (PEM) for a provider behind a private CA.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Timeout of each request to the provider.
    #[serde(default = "default_oidc_timeout")]
    pub timeout_seconds: u64,
}

fn default_scopes() -> String {
    "openid profile".into()
}

fn default_second_factor_amr() -> Vec<String> {
    ["mfa", "otp", "hwk", "swk", "sms"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn default_oidc_timeout() -> u64 {
    10
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("second_factor_amr", &self.second_factor_amr)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    pub fn scope_list(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self.scopes.split_whitespace().map(str::to_owned).collect();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        scopes
    }

    fn validate(&self) -> anyhow::Result<()> {
        let bad =
            |key: &str, why: &str| Err(anyhow::anyhow!("invalid configuration: `{key}` {why}"));
        shuyu_oidc::check_url("oidc.issuer", &self.issuer)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        shuyu_oidc::check_url("oidc.redirect_url", &self.redirect_url)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        if !self
            .redirect_url
            .trim_end_matches('/')
            .ends_with("/sso/callback")
        {
            return bad(
                "oidc.redirect_url",
                "must be this server's callback, https://<host>/sso/callback",
            );
        }
        if self.client_id.trim().is_empty() {
            return bad("oidc.client_id", "must not be empty");
        }
        if self.client_secret.is_empty() {
            return bad(
                "oidc.client_secret",
                "must not be empty; set it in the file or in SHUYU_OIDC__CLIENT_SECRET",
            );
        }
        if self.scopes.split_whitespace().any(|s| {
            !s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }) {
            return bad("oidc.scopes", "must be scope names separated by spaces");
        }
        if self.second_factor_amr.iter().any(|m| m.trim().is_empty()) {
            return bad("oidc.second_factor_amr", "must not contain empty values");
        }
        if !(1..=120).contains(&self.timeout_seconds) {
            return bad("oidc.timeout_seconds", "must be 1 to 120 seconds");
        }
        if let Some(path) = &self.ca_file
            && !path.is_file()
        {
            return bad("oidc.ca_file", "must name an existing PEM file");
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./shuyu-data"),
            listen: "127.0.0.1:8080".into(),
            database_url: String::new(),
            profile: shuyu_profile::Profile::DEFAULT.into(),
            profile_file: None,
            security: Security::default(),
            personnel: Personnel::default(),
            audit: Audit::default(),
            oidc: None,
            master_key: None,
            storage: Storage::default(),
            query: Query::default(),
        }
    }
}

impl Default for Security {
    fn default() -> Self {
        Self {
            lockout_threshold: 5,
            lockout_minutes: 15,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            password_min_length: 12,
            secure_cookies: true,
            token_max_days: 365,
            body_limit_kib: 64,
        }
    }
}

impl Default for Personnel {
    fn default() -> Self {
        Self {
            agreement_version: "2026-01".into(),
        }
    }
}

impl Default for Audit {
    fn default() -> Self {
        Self {
            checkpoint_every: 64,
            checkpoint_interval_seconds: 60,
            signing_key_file: None,
        }
    }
}

/// Flags that override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub profile: Option<String>,
}

impl Config {
    /// Loads and validates. `file` is `--config`; without it `<data_dir>/shuyu.toml` is read if present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let implicit = overrides
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./shuyu-data"))
            .join("shuyu.toml");
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("the config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if implicit.exists() => figment = figment.merge(Toml::file_exact(&implicit)),
            None => {}
        }
        // SHUYU_TEST_* and SHUYU_REQUIRE_* (CI's "this suite must not skip" switches, such as
        // SHUYU_REQUIRE_OIDC) belong to the test suite, not to the server.
        figment = figment.merge(Env::prefixed("SHUYU_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            // The master key is read as text below: figment would parse an all-digit key as a number.
            // SHUYU_S3_* are the S3 credentials, read below (never from the file).
            !key.starts_with("test_")
                && !key.starts_with("require_")
                && !key.starts_with("s3_")
                && key != "master_key"
        }));
        let mut config: Config = figment
            .extract()
            .map_err(|e| anyhow::anyhow!(describe(&e)))?;
        if let Some(v) = std::env::var(shuyu_app::MASTER_KEY_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            config.master_key = Some(MasterKeyText(v));
        }
        if config.storage.backend == StorageBackend::S3 {
            config.storage.s3_credentials = S3Credentials::from_env();
        }
        if let Some(v) = &overrides.data_dir {
            config.data_dir = v.clone();
        }
        if let Some(v) = &overrides.listen {
            config.listen = v.clone();
        }
        if let Some(v) = &overrides.profile {
            config.profile = v.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let bad =
            |key: &str, why: &str| Err(anyhow::anyhow!("invalid configuration: `{key}` {why}"));
        if self.listen.parse::<SocketAddr>().is_err() {
            return bad(
                "listen",
                "must be an address and port such as 127.0.0.1:8080",
            );
        }
        if !self.database_url.is_empty()
            && shuyu_store::Backend::of_url(&self.database_url).is_err()
        {
            return bad("database_url", "must start with sqlite: or postgres://");
        }
        if !(64..=1024 * 1024).contains(&self.query.memory_mib) {
            return bad("query.memory_mib", "must be 64 to 1048576 MiB");
        }
        if self.query.threads > 1024 {
            return bad("query.threads", "must be 0 (automatic) to 1024");
        }
        let s = &self.security;
        if !(1..=100).contains(&s.lockout_threshold) {
            return bad(
                "security.lockout_threshold",
                "must be 1 to 100 failed attempts",
            );
        }
        if !(1..=24 * 60).contains(&s.lockout_minutes) {
            return bad("security.lockout_minutes", "must be 1 to 1440 minutes");
        }
        if !(1..=24 * 60).contains(&s.session_idle_minutes) {
            return bad("security.session_idle_minutes", "must be 1 to 1440 minutes");
        }
        if !(1..=24 * 7).contains(&s.session_absolute_hours)
            || s.session_absolute_hours * 60 < s.session_idle_minutes
        {
            return bad(
                "security.session_absolute_hours",
                "must be 1 to 168 hours and not shorter than the idle timeout",
            );
        }
        if !(8..=128).contains(&s.password_min_length) {
            return bad(
                "security.password_min_length",
                "must be 8 to 128 characters (MLPS level 3 expects at least 8)",
            );
        }
        if !(1..=3650).contains(&s.token_max_days) {
            return bad("security.token_max_days", "must be 1 to 3650 days");
        }
        if !(1..=100 * 1024).contains(&s.body_limit_kib) {
            return bad("security.body_limit_kib", "must be 1 to 102400 KiB");
        }
        if self.personnel.agreement_version.trim().is_empty() {
            return bad("personnel.agreement_version", "must not be empty");
        }
        if !(1..=1_000_000).contains(&self.audit.checkpoint_every) {
            return bad("audit.checkpoint_every", "must be 1 to 1000000 events");
        }
        if !(1..=86_400).contains(&self.audit.checkpoint_interval_seconds) {
            return bad(
                "audit.checkpoint_interval_seconds",
                "must be 1 to 86400 seconds",
            );
        }
        if let Some(oidc) = &self.oidc {
            oidc.validate()?;
        }
        self.storage.validate()?;
        if let Some(key) = &self.master_key
            && let Err(e) = shuyu_app::KeyRing::from_config(Some(&key.0), None)
        {
            return Err(anyhow::anyhow!(
                "invalid configuration: `master_key` (or SHUYU_MASTER_KEY): {e}"
            ));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("shuyu.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    /// Where dataset objects are stored, for the app.
    pub fn object_storage(&self) -> anyhow::Result<shuyu_app::ObjectStorage> {
        let s = &self.storage;
        Ok(match (s.backend, &s.s3_credentials) {
            (StorageBackend::S3, None) => {
                bail!(
                    "invalid configuration: `storage.backend` is s3, but no S3 credentials are set"
                )
            }
            (StorageBackend::S3, Some(keys)) => {
                shuyu_app::ObjectStorage::S3(shuyu_app::S3Storage {
                    endpoint: s.s3_endpoint.clone(),
                    bucket: s.s3_bucket.clone(),
                    region: s.s3_region.clone(),
                    prefix: s.s3_prefix.clone(),
                    allow_http: s.s3_allow_http,
                    access_key_id: keys.access_key_id.clone(),
                    secret_access_key: keys.secret_access_key.clone(),
                    session_token: keys.session_token.clone(),
                })
            }
            (StorageBackend::Local, _) => shuyu_app::ObjectStorage::Local {
                root: self.data_dir.join("objects"),
            },
        })
    }

    /// The sweep's grace period (`storage.sweep_grace_minutes`) in seconds.
    pub fn sweep_grace_seconds(&self) -> i64 {
        self.storage.sweep_grace_minutes * 60
    }

    /// Where `shuyu demo` keeps the master key it generates when none is configured.
    pub fn demo_master_key_file(&self) -> PathBuf {
        self.data_dir.join("keys").join("master.key")
    }

    pub fn signing_key_file(&self) -> PathBuf {
        self.audit
            .signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys").join("audit-sm2.pem"))
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .context("invalid configuration: `listen`")
    }

    pub fn settings(&self) -> shuyu_app::Settings {
        let s = &self.security;
        shuyu_app::Settings {
            login: shuyu_identity::LoginRules {
                lockout_threshold: s.lockout_threshold,
                lockout_seconds: s.lockout_minutes * 60,
                session_idle_seconds: s.session_idle_minutes * 60,
                session_absolute_seconds: s.session_absolute_hours * 3600,
            },
            password: shuyu_identity::PasswordPolicy {
                min_length: s.password_min_length,
            },
            agreement_version: self.personnel.agreement_version.clone(),
            token_max_days: s.token_max_days,
        }
    }
}

/// Figment's error with the key path and the reason, as one sentence.
fn describe(err: &figment::Error) -> String {
    let mut out = Vec::new();
    for e in err.clone() {
        let key = e.path.join(".");
        let place = e
            .metadata
            .as_ref()
            .map(|m| format!(" (from {})", m.name))
            .unwrap_or_default();
        if key.is_empty() {
            out.push(format!("invalid configuration{place}: {}", e.kind));
        } else {
            out.push(format!("invalid configuration: `{key}`{place}: {}", e.kind));
        }
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path), &Overrides::default())
    }

    #[test]
    fn defaults_are_valid() {
        let c = load_text("").unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert!(c.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn unknown_keys_are_refused_with_the_key_named() {
        let err = load_text("[security]\nlockout_treshold = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lockout_treshold"), "{err}");
    }

    #[test]
    fn impossible_values_are_refused_with_the_key_and_reason() {
        let err = load_text("[security]\nlockout_threshold = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("security.lockout_threshold") && err.contains("1 to 100"),
            "{err}"
        );
        let err = load_text("listen = \"everywhere\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`listen`"), "{err}");
        let err = load_text("[security]\nsession_idle_minutes = \"ten\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("security.session_idle_minutes"), "{err}");
    }

    #[test]
    fn the_master_key_is_checked_and_never_shown() {
        let c = load_text("master_key = \"00112233445566778899aabbccddeeff\"\n").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("00112233"), "{shown}");
        assert!(c.master_key.is_some());
        let err = load_text("master_key = \"not a key\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`master_key`") && err.contains("SHUYU_MASTER_KEY"),
            "{err}"
        );
        let err = load_text("[storage]\nmax_upload_mib = 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.max_upload_mib"), "{err}");
        assert_eq!(load_text("").unwrap().storage.max_upload_mib, 1024);
        let err = load_text("[storage]\ncache_mib = 2000000\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("storage.cache_mib"), "{err}");
        let err = load_text("[query]\nmemory_mib = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("query.memory_mib"), "{err}");
        let query = load_text("[query]\nthreads = 3\n").unwrap().query;
        assert_eq!(query.worker_threads(), 3);
        assert!(load_text("").unwrap().query.worker_threads() >= 1);
        assert_eq!(
            load_text("[storage]\ncache_mib = 0\n")
                .unwrap()
                .storage
                .cache_mib,
            0
        );
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\n").unwrap();
        let c = Config::load(
            Some(&path),
            &Overrides {
                listen: Some("127.0.0.1:9100".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9100");
    }

    const OIDC: &str = "[oidc]\nissuer = \"https://idp.example.gov.cn/realms/city\"\nclient_id = \"shuyu\"\nclient_secret = \"s3cret\"\nredirect_url = \"https://shuyu.example/sso/callback\"\n";

    #[test]
    fn oidc_is_off_by_default_and_takes_its_defaults() {
        assert!(load_text("").unwrap().oidc.is_none());
        let c = load_text(OIDC).unwrap();
        let o = c.oidc.unwrap();
        assert_eq!(o.scope_list(), ["openid", "profile"]);
        assert_eq!(o.second_factor_amr, ["mfa", "otp", "hwk", "swk", "sms"]);
        assert!(!format!("{o:?}").contains("s3cret"));
    }

    #[test]
    fn bad_oidc_values_are_refused_with_the_key_named() {
        for (from, to, key) in [
            (
                "https://idp.example.gov.cn/realms/city",
                "http://idp.example.gov.cn",
                "oidc.issuer",
            ),
            (
                "https://idp.example.gov.cn/realms/city",
                "not a url",
                "oidc.issuer",
            ),
            (
                "https://shuyu.example/sso/callback",
                "https://shuyu.example/elsewhere",
                "oidc.redirect_url",
            ),
            (
                "client_id = \"shuyu\"",
                "client_id = \"\"",
                "oidc.client_id",
            ),
            (
                "client_secret = \"s3cret\"",
                "client_secret = \"\"",
                "oidc.client_secret",
            ),
            (
                "client_id = \"shuyu\"",
                "client_id = \"shuyu\"\ncolour = 1",
                "colour",
            ),
        ] {
            let err = load_text(&OIDC.replace(from, to)).unwrap_err().to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        // Plain HTTP is fine on loopback (the test provider).
        let local = OIDC
            .replace(
                "https://idp.example.gov.cn/realms/city",
                "http://127.0.0.1:9000",
            )
            .replace("https://shuyu.example", "http://127.0.0.1:8080");
        assert!(load_text(&local).is_ok());
    }

    const S3: &str = "[storage]\nbackend = \"s3\"\ns3_endpoint = \"https://s3.example.gov.cn\"\ns3_bucket = \"city-data\"\n";

    /// `[storage]` from `text` with credentials as if read from the environment (tests may not
    /// set environment variables).
    fn storage_with_keys(text: &str) -> anyhow::Result<Storage> {
        let mut storage: Storage = Figment::from(Toml::string(text)).extract_inner("storage")?;
        storage.s3_credentials = Some(S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            from: "SHUYU_S3_*",
            secret_access_key: shuyu_app::Secret::new("wJalrXUtnFEMI-very-secret"),
            session_token: None,
        });
        storage.validate().map(|()| storage)
    }

    #[test]
    fn storage_is_local_by_default() {
        let c = load_text("").unwrap();
        assert_eq!(c.storage.backend, StorageBackend::Local);
        assert_eq!(c.sweep_grace_seconds(), 3600);
        assert!(matches!(
            c.object_storage().unwrap(),
            shuyu_app::ObjectStorage::Local { root } if root.ends_with("objects")
        ));
    }

    #[test]
    fn s3_storage_is_checked_with_the_key_named_and_never_shows_its_secret() {
        let storage = storage_with_keys(S3).unwrap();
        let config = Config {
            storage,
            ..Config::default()
        };
        let built = config.object_storage().unwrap();
        let shown = format!("{config:?} {built:?} {}", built.describe());
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(
            built
                .describe()
                .contains("https://s3.example.gov.cn bucket city-data")
        );

        for (from, to, key) in [
            (
                "https://s3.example.gov.cn",
                "http://s3.example.gov.cn",
                "storage.s3_endpoint",
            ),
            (
                "https://s3.example.gov.cn",
                "s3.example",
                "storage.s3_endpoint",
            ),
            (
                "https://s3.example.gov.cn",
                "http://127.0.0.1:9000",
                "storage.s3_allow_http",
            ),
            ("city-data", "City_Data", "storage.s3_bucket"),
            (
                "city-data\"",
                "city-data\"\ns3_prefix = \"/a/\"",
                "storage.s3_prefix",
            ),
            (
                "city-data\"",
                "city-data\"\ns3_region = \"\"",
                "storage.s3_region",
            ),
            ("city-data\"", "city-data\"\ns3_secret = \"x\"", "s3_secret"),
        ] {
            let err = storage_with_keys(&S3.replace(from, to))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{to}: {err}");
        }
        // Plain http on loopback when asked for explicitly (the test server).
        let local = S3.replace("https://s3.example.gov.cn", "http://127.0.0.1:9000")
            + "s3_allow_http = true\ns3_prefix = \"shuyu/test\"\n";
        assert!(storage_with_keys(&local).is_ok());
        // Without credentials in the environment the start is refused, naming where to put them.
        if S3Credentials::from_env().is_none() {
            let err = load_text(S3).unwrap_err().to_string();
            assert!(
                err.contains("storage.backend") && err.contains("SHUYU_S3_SECRET_ACCESS_KEY"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Config::load(
            Some(Path::new("/nonexistent/shuyu.toml")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
