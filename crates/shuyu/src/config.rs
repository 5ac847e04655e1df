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
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            max_upload_mib: 1024,
        }
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
            !key.starts_with("test_") && !key.starts_with("require_") && key != "master_key"
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
        if !(1..=1024 * 1024).contains(&self.storage.max_upload_mib) {
            return bad("storage.max_upload_mib", "must be 1 to 1048576 MiB");
        }
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
