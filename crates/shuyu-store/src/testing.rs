//! Throw-away databases for tests: a SQLite file in a temporary directory, or a fresh PostgreSQL
//! database created on the server named by `SHUYU_TEST_DATABASE_URL` and dropped afterwards, so
//! concurrent test runs never collide.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection};

pub const POSTGRES_ENV: &str = "SHUYU_TEST_DATABASE_URL";

/// A database that exists for the life of this value.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("shuyu.db").display()
        );
        Self {
            url,
            label: "sqlite",
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a loud message) when `SHUYU_TEST_DATABASE_URL`
    /// is not set. A set but unreachable server is a test failure, not a skip.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
            // Written to the process's stderr directly, past the test harness's output capture, so
            // the skip is seen even when the test passes.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "==> SKIPPED the PostgreSQL half of this test: {POSTGRES_ENV} is not set. \
                 `bash .ci/run` sets it; to run it yourself: \
                 {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/test cargo test"
            );
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!(
            "shuyu_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let mut conn = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV} is set but the server refused: {e}"));
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let url = replace_database(&admin_url, &name);
        Some(Self {
            url,
            label: "postgres",
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// SQLite always, and PostgreSQL when configured: the backends a store test runs on.
    pub async fn all() -> Vec<Self> {
        let mut dbs = vec![Self::sqlite()];
        dbs.extend(Self::postgres().await);
        dbs
    }
}

fn rand_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos % 100_000
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[prefix_end..].find('/') {
        Some(slash) => &base[..prefix_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside a test's runtime, which cannot be blocked on; use a thread of our own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&admin_url).await {
                        let _ = sqlx::query(AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            super::replace_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::replace_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
