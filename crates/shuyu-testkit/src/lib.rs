//! Test support and the demo city.
//!
//! - [`ManualClock`]: a clock tests set and advance;
//! - [`demo`]: the demo city's organisations and accounts, seeded through the same use cases as
//!   everything else (acting as the command line, so every step is on the audit chain);
//! - [`TestApp`]: an app on a throw-away database with the demo city, its HTTP router for in-process
//!   requests, and a real listener for browser tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod demo;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_api::{ApiState, WebSettings};
use shuyu_app::{App, Clock, DataStore, KeyRing, Settings};
use shuyu_audit::AuditSigner;
use shuyu_core::Timestamp;
use shuyu_profile::Profile;
use shuyu_store::testing::TestDb;
use shuyu_store::{Store, StoreOptions};

/// A clock that stands still until told to move.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(t: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(t.unix_micros())))
    }

    pub fn advance_seconds(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1_000_000, Ordering::SeqCst);
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.unix_micros(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_micros(self.0.load(Ordering::SeqCst))
    }
}

/// 2026-11-24 09:00 Beijing time: the tests' "now".
pub fn test_now() -> Timestamp {
    Timestamp::parse("2026-11-24T01:00:00Z").expect("valid time")
}

/// The profile the tests run on unless they say otherwise: the deployment default.
pub fn default_profile() -> Profile {
    Profile::builtin(Profile::DEFAULT).expect("built-in profile")
}

/// The tests' master key (32 hex digits); never use it anywhere else.
pub const TEST_MASTER_KEY: &str = "00112233445566778899aabbccddeeff";

/// The data store of a test app: objects under `dir` (a temporary directory), data keys wrapped
/// by `master_key` (`None`: no master key is configured).
pub fn test_data_store(dir: &std::path::Path, master_key: Option<&str>) -> DataStore {
    let ring = master_key.map(|k| KeyRing::from_config(Some(k), None).expect("test master key"));
    DataStore::open(dir, ring, [3; 32]).expect("data store")
}

/// An app with the demo city on a throw-away database.
pub struct TestApp {
    pub app: App,
    pub state: ApiState,
    pub clock: ManualClock,
    pub logins: demo::DemoLogins,
    pub signer: AuditSigner,
    pub db: TestDb,
    /// The data directory: dataset objects (encrypted) and upload spools.
    pub data_dir: tempfile::TempDir,
}

impl TestApp {
    /// On SQLite, with the default profile.
    pub async fn sqlite() -> Self {
        Self::on(TestDb::sqlite(), default_profile()).await
    }

    /// One app per backend of [`TestDb::all`] (SQLite always, PostgreSQL when configured), with the
    /// default profile: for tests whose queries must hold on both.
    pub async fn all() -> Vec<Self> {
        let mut apps = Vec::new();
        for db in TestDb::all().await {
            apps.push(Self::on(db, default_profile()).await);
        }
        apps
    }

    pub async fn on(db: TestDb, profile: Profile) -> Self {
        let signer = AuditSigner::generate(&mut StdRng::seed_from_u64(7));
        let store = Store::open(&db.url, signer.clone(), StoreOptions::default())
            .await
            .expect("open store");
        store.migrate().await.expect("migrate");
        let clock = ManualClock::at(test_now());
        let data_dir = tempfile::tempdir().expect("data directory");
        let app = App::new(
            store,
            profile,
            Settings::default(),
            Arc::new(clock.clone()),
            StdRng::seed_from_u64(11),
        )
        .with_data(test_data_store(data_dir.path(), Some(TEST_MASTER_KEY)));
        let logins = demo::seed(&app).await.expect("seed demo city");
        let state = ApiState {
            app: app.clone(),
            verifier: Arc::new(signer.verifier()),
            web: Arc::new(WebSettings {
                secure_cookies: false,
                ..WebSettings::default()
            }),
            metrics: shuyu_api::install_metrics(),
        };
        Self {
            app,
            state,
            clock,
            logins,
            signer,
            db,
            data_dir,
        }
    }

    /// The API router, for in-process requests with `tower::ServiceExt::oneshot`.
    pub fn api(&self) -> Router {
        shuyu_api::router(self.state.clone())
    }

    /// The current TOTP code of a demo account.
    pub fn code(&self, username: &str) -> String {
        let login = self.logins.get(username);
        let secret = login
            .totp
            .as_ref()
            .unwrap_or_else(|| panic!("{username} has no TOTP"));
        let unix = u64::try_from(self.clock.now().unix_micros() / 1_000_000).unwrap();
        secret.code_at(unix).unwrap()
    }

    /// Serves `router` on a free loopback port until the returned handle is dropped.
    pub async fn serve(router: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let handle = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        (addr, handle)
    }
}
