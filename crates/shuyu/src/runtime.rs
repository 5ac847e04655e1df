//! The edge: wall clock, OS randomness, keys on disk, logging, and opening the app.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rand::RngExt;
use rand::rngs::StdRng;
use shuyu_app::{App, Clock, DataStore, KeyRing};
use shuyu_audit::AuditSigner;
use shuyu_core::Timestamp;
use shuyu_profile::{Profile, Validity};
use shuyu_store::{Store, StoreOptions};

use crate::config::Config;

/// The wall clock: the only one in shuyu.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_datetime(chrono::Utc::now())
    }
}

pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.compact().init();
    }
}

/// The CSPRNG, seeded from the operating system.
pub fn os_rng() -> StdRng {
    rand::make_rng::<StdRng>()
}

/// Loads the profile the configuration names and reports its validity.
pub fn load_profile(config: &Config) -> anyhow::Result<Profile> {
    let profile = match &config.profile_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the profile file {}", path.display()))?;
            let key = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("custom");
            Profile::from_toml(key, &text)?
        }
        None => Profile::builtin(&config.profile)?,
    };
    match profile.validity_on(SystemClock.now().date()) {
        Validity::InForce { .. } => {}
        other => tracing::warn!(profile = profile.key(), "{}", other.describe(false)),
    }
    Ok(profile)
}

/// Reads the audit signing key, creating it (readable by the owner only) on first start.
pub fn signing_key(path: &Path) -> anyhow::Result<AuditSigner> {
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the audit key {}", path.display()))?;
        return AuditSigner::from_pem(&pem)
            .with_context(|| format!("the audit key {} is not a valid SM2 key", path.display()));
    }
    let dir = path
        .parent()
        .context("the audit key path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let signer = AuditSigner::generate(&mut os_rng());
    let pem = signer.to_pem().context("cannot encode the audit key")?;
    write_private(path, pem.as_bytes())?;
    let public = signer
        .verifier()
        .to_pem()
        .context("cannot encode the audit public key")?;
    std::fs::write(path.with_extension("pub.pem"), public)?;
    tracing::info!(path = %path.display(), key_id = signer.key_id(), "created the audit signing key");
    Ok(signer)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// Opens the store (creating the data dir), migrates it, and builds the app.
pub async fn open_app(config: &Config) -> anyhow::Result<(App, AuditSigner)> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let profile = load_profile(config)?;
    let signer = signing_key(&config.signing_key_file())?;
    let store = Store::open(
        &config.database_url(),
        signer.clone(),
        StoreOptions {
            checkpoint_every: config.audit.checkpoint_every,
            ..StoreOptions::default()
        },
    )
    .await?;
    store.migrate().await?;
    let ring = match &config.master_key {
        Some(key) => Some(
            KeyRing::from_config(Some(&key.0), None)
                .context("invalid configuration: `master_key` (or SHUYU_MASTER_KEY)")?,
        ),
        None => None,
    };
    let seed: [u8; 32] = os_rng().random();
    let storage = config.object_storage()?;
    let data = DataStore::open_in(&config.data_dir, &storage, ring, seed)
        .map_err(|e| anyhow::anyhow!("cannot open the dataset store: {e}"))?
        .with_cache_bytes(config.storage.cache_mib * 1024 * 1024);
    tracing::debug!(storage = %storage.describe(), "dataset objects");
    let app = App::new(
        store,
        profile,
        config.settings(),
        Arc::new(SystemClock),
        os_rng(),
    )
    .with_data(data)
    .with_query_domain(
        shuyu_app::QueryDomain::dedicated(
            usize::try_from(config.query.memory_mib * 1024 * 1024).unwrap_or(usize::MAX),
            config.query.worker_threads(),
        )
        .context("cannot start the query runtime")?,
    );
    Ok((app, signer))
}

/// The demo's master key when none is configured: read from `<data-dir>/keys/master.key`, or
/// generated there (readable by the owner only). Returns the key text and whether it was created.
pub fn demo_master_key(path: &Path) -> anyhow::Result<(String, bool)> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the master key {}", path.display()))?;
        return Ok((text.trim().to_owned(), false));
    }
    let dir = path
        .parent()
        .context("the master key path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let bytes: [u8; 16] = os_rng().random();
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, format!("{text}\n").as_bytes())?;
    Ok((text, true))
}
