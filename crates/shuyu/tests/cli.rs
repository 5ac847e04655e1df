//! The `shuyu` binary as an operator uses it: bootstrap, verify, export, bad configuration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

fn shuyu(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shuyu"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("SHUYU_TEST_DATABASE_URL")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run shuyu")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn bootstrap_verify_tamper_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = shuyu(d, &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        d.join("keys/audit-sm2.pem").exists(),
        "the audit key is created in the data dir"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(d.join("keys/audit-sm2.pem"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    let out = shuyu(
        d,
        &[
            "org",
            "add",
            "--name",
            "示范市数据运营有限公司",
            "--type",
            "operator",
            "--credit-code",
            "91350100M000100Y43",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = shuyu(
        d,
        &[
            "org",
            "add",
            "--name",
            "x",
            "--type",
            "operator",
            "--credit-code",
            "91350100M000100Y44",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("check character"), "{}", text(&out));

    let out = shuyu(
        d,
        &[
            "user",
            "add",
            "--org",
            "91350100M000100Y43",
            "--username",
            "first.admin",
            "--name",
            "首位管理员",
            "--role",
            "admin",
            "--verified",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("password (shown once)") && printed.contains("TOTP secret"),
        "{printed}"
    );

    let out = shuyu(d, &["audit", "verify"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("audit chain intact: 2 events"),
        "{}",
        text(&out)
    );

    let csv = d.join("trail.csv");
    let out = shuyu(
        d,
        &[
            "audit",
            "export",
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let exported = std::fs::read_to_string(&csv).unwrap();
    // Header, the two events, and the export itself (it is audited before the rows are read).
    assert_eq!(exported.lines().count(), 4, "{exported}");
    assert!(
        exported.contains("org.create")
            && exported.contains("person.create")
            && exported.contains("audit.export")
    );
    assert!(!exported.contains("argon2"), "no secret in the trail");

    // Edit one stored event: verify fails and names it.
    let url = format!("sqlite://{}", d.join("shuyu.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query("UPDATE audit_events SET role = 'supervisor' WHERE seq = 1")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let out = shuyu(d, &["audit", "verify"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("BROKEN at event 1"), "{}", text(&out));
}

#[test]
fn an_invalid_configuration_is_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = shuyu(
        dir.path(),
        &["migrate"],
        &[("SHUYU_SECURITY__LOCKOUT_THRESHOLD", "0")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("security.lockout_threshold"),
        "{}",
        text(&out)
    );
    std::fs::write(
        dir.path().join("shuyu.toml"),
        "[audit]\ncheckpoint_evry = 5\n",
    )
    .unwrap();
    let out = shuyu(dir.path(), &["migrate"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("checkpoint_evry"), "{}", text(&out));
    assert!(!dir.path().join("shuyu.db").exists(), "nothing was created");
}

#[test]
fn profiles_are_shown_with_their_articles_and_bad_profile_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = shuyu(dir.path(), &["profile", "show", "futian"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("FT14") && shown.contains("24"), "{shown}");
    let bad = dir.path().join("mine.toml");
    std::fs::write(&bad, "[regulation]\nname = \"x\"\n").unwrap();
    let out = shuyu(
        dir.path(),
        &["profile", "check", bad.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("mine"), "{}", text(&out));
    let out = shuyu(
        dir.path(),
        &["--config", "/nonexistent.toml", "migrate"],
        &[],
    );
    assert!(!out.status.success());
}

#[test]
fn data_sweep_prints_and_deletes_old_unreferenced_objects_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let folder = "objects/datasets/0193a000-0000-7000-8000-000000000001";
    let old = d
        .join(folder)
        .join("0193a000-0000-7000-8000-0000000000a1/data.parquet");
    let fresh = d
        .join(folder)
        .join("0193a000-0000-7000-8000-0000000000b2/staging.parquet");
    for path in [&old, &fresh] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"SYENC leftover").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    let out = shuyu(d, &["data", "sweep", "--dry-run"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("would delete datasets/0193a000-0000-7000-8000-000000000001/0193a000-0000-7000-8000-0000000000a1/data.parquet"),
        "{}",
        text(&out)
    );
    assert!(old.exists() && fresh.exists());

    let out = shuyu(d, &["data", "sweep"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("deleted 1 unreferenced dataset objects"),
        "{}",
        text(&out)
    );
    assert!(!old.exists() && fresh.exists());
    let out = shuyu(d, &["audit", "export", "--action", "dataset.sweep"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0193a000-0000-7000-8000-0000000000a1"),
        "{}",
        text(&out)
    );
}

#[test]
fn s3_storage_needs_credentials_from_the_environment_and_never_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = [
        ("SHUYU_STORAGE__BACKEND", "s3"),
        ("SHUYU_STORAGE__S3_ENDPOINT", "http://127.0.0.1:9"),
        ("SHUYU_STORAGE__S3_BUCKET", "city-data"),
        ("SHUYU_STORAGE__S3_ALLOW_HTTP", "true"),
    ];
    let mut cmd_env: Vec<(&str, &str)> = s3.to_vec();
    // Without credentials: refused, naming the variables.
    let out = Command::new(env!("CARGO_BIN_EXE_shuyu"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["data", "sweep", "--dry-run"])
        .env_remove("SHUYU_TEST_DATABASE_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("SHUYU_S3_ACCESS_KEY_ID")
        .env_remove("SHUYU_S3_SECRET_ACCESS_KEY")
        .envs(cmd_env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("SHUYU_S3_SECRET_ACCESS_KEY"),
        "{}",
        text(&out)
    );
    // With credentials (SHUYU_S3_* are not configuration keys) the start gets as far as the
    // bucket, which nothing serves here: a clear error, and the secret is never printed.
    cmd_env.extend([
        ("SHUYU_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("SHUYU_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-very-secret"),
    ]);
    let out = shuyu(
        dir.path(),
        &["--log-json", "data", "sweep", "--dry-run"],
        &cmd_env,
    );
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(shown.contains("cannot list the dataset objects"), "{shown}");
    assert!(!shown.contains("very-secret"), "{shown}");
}
