//! The housekeeping sweep of dataset objects (`App::sweep_datasets`): unreferenced objects older
//! than the grace period are deleted and recorded on the chain; referenced ones, fresh ones and
//! objects outside the dataset layout are kept; a dry run deletes nothing; people may not sweep.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use shuyu_app::{AppError, Ctx, ImportSource, SWEEP_GRACE_SECONDS};
use shuyu_audit::Outcome;
use shuyu_core::{DatasetId, RequestId, ResourceId, Timestamp};
use shuyu_store::{AuditFilter, VerifyOutcome};
use shuyu_synth::CsvEncoding;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};

const SOCIAL: DemoDataset = DemoDataset::SocialInsurance;

fn system(t: &TestApp) -> Ctx {
    Ctx::system(RequestId::mint(t.app.now(), [9; 10]))
}

/// Writes `bytes` at the object path `key` of the local store and dates it `age` before `at`.
fn put_object(t: &TestApp, key: &str, at: SystemTime, age: Duration) -> PathBuf {
    let path = t.data_dir.path().join("objects").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"SYENC leftover ciphertext").unwrap();
    set_age(&path, at, age);
    path
}

fn set_age(path: &Path, at: SystemTime, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(at - age).unwrap();
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn at(time: SystemTime) -> Timestamp {
    Timestamp::from_datetime(chrono::DateTime::<chrono::Utc>::from(time))
}

async fn sweep_events(t: &TestApp) -> Vec<shuyu_store::AuditRow> {
    t.app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some("dataset.sweep".into()),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap()
}

/// A referenced dataset (imported through the app), its old published object, and three
/// leftovers: an old orphan, an old staging object of a dataset without a row, and a fresh orphan;
/// plus an old object outside the dataset layout.
struct Scene {
    referenced: PathBuf,
    old_orphan: PathBuf,
    old_staging: PathBuf,
    fresh_orphan: PathBuf,
    other: PathBuf,
    orphan_id: DatasetId,
    staging_id: DatasetId,
}

async fn scene(t: &TestApp) -> Scene {
    let resource: ResourceId = resource_titled(&t.app, SOCIAL.title()).await.unwrap();
    let source = t
        .app
        .cli_ctx_as(RequestId::mint(t.app.now(), [1; 10]), "source2")
        .await
        .unwrap();
    let view = t
        .app
        .import_dataset(
            &source,
            resource,
            ImportSource::Csv(Box::new(std::io::Cursor::new(
                SOCIAL.csv(50, CsvEncoding::Utf8),
            ))),
            Box::new(|_| {}),
        )
        .await
        .unwrap();
    let referenced = t
        .data_dir
        .path()
        .join("objects")
        .join(format!("datasets/{resource}/{}/data.parquet", view.id));
    assert!(referenced.is_file());
    // "Now" is the import's file time: objects are dated relative to it, and the app's clock
    // (a ManualClock) is set to it, so the test never depends on the wall clock.
    let now = modified(&referenced);
    t.clock.set(at(now));
    let two_hours = Duration::from_secs(2 * 3600);
    set_age(&referenced, now, two_hours);
    let orphan_id = DatasetId::mint(t.app.now(), [2; 10]);
    let staging_id = DatasetId::mint(t.app.now(), [3; 10]);
    let fresh_id = DatasetId::mint(t.app.now(), [4; 10]);
    Scene {
        referenced,
        old_orphan: put_object(
            t,
            &format!("datasets/{resource}/{orphan_id}/data.parquet"),
            now,
            two_hours,
        ),
        old_staging: put_object(
            t,
            &format!("datasets/{resource}/{staging_id}/staging.parquet"),
            now,
            two_hours,
        ),
        fresh_orphan: put_object(
            t,
            &format!("datasets/{resource}/{fresh_id}/data.parquet"),
            now,
            Duration::from_secs(60),
        ),
        other: put_object(t, "datasets/README.txt", now, two_hours),
        orphan_id,
        staging_id,
    }
}

#[tokio::test]
async fn old_orphans_are_swept_and_referenced_and_fresh_objects_are_kept() {
    let t = TestApp::sqlite().await;
    let s = scene(&t).await;

    let sweep = t
        .app
        .sweep_datasets(&system(&t), SWEEP_GRACE_SECONDS, false)
        .await
        .unwrap();
    assert!(!sweep.dry_run);
    assert_eq!(sweep.objects.len(), 2, "{sweep:?}");
    assert_eq!(sweep.kept_recent, 1, "{sweep:?}");
    let (orphan, staging) = (s.orphan_id.to_string(), s.staging_id.to_string());
    let mut expected = vec![orphan.as_str(), staging.as_str()];
    expected.sort_unstable();
    assert_eq!(sweep.datasets(), expected);
    assert_eq!(sweep.bytes, 2 * b"SYENC leftover ciphertext".len() as u64);
    assert!(!s.old_orphan.exists() && !s.old_staging.exists());
    assert!(s.referenced.is_file(), "a referenced object was deleted");
    assert!(
        s.fresh_orphan.is_file(),
        "an object within the grace period was deleted"
    );
    assert!(
        s.other.is_file(),
        "an object outside the dataset layout was deleted"
    );

    // One event, as the system, naming count, bytes and datasets; the chain is intact.
    let events = sweep_events(&t).await;
    assert_eq!(events.len(), 1);
    let event = &events[0].draft;
    assert_eq!(event.outcome, Outcome::Ok);
    assert_eq!(event.role, "system");
    assert!(
        event
            .detail
            .contains("deleted 2 unreferenced dataset objects")
            && event.detail.contains(&orphan)
            && event.detail.contains(&staging),
        "{}",
        event.detail
    );
    let verified = t
        .app
        .store()
        .verify_audit(t.signer.verifier())
        .await
        .unwrap();
    assert!(matches!(verified, VerifyOutcome::Intact(_)), "{verified:?}");
    // The dataset still reads back whole.
    assert_eq!(t.app.verify_datasets(&system(&t)).await.unwrap().len(), 1);

    // Once the grace period has passed, the fresh orphan goes too; a sweep with nothing left to
    // delete records nothing.
    t.clock.advance_seconds(SWEEP_GRACE_SECONDS);
    let later = t
        .app
        .sweep_datasets(&system(&t), SWEEP_GRACE_SECONDS, false)
        .await
        .unwrap();
    assert_eq!(later.objects.len(), 1, "{later:?}");
    assert!(!s.fresh_orphan.exists());
    let idle = t
        .app
        .sweep_datasets(&system(&t), SWEEP_GRACE_SECONDS, false)
        .await
        .unwrap();
    assert!(idle.objects.is_empty());
    assert_eq!(sweep_events(&t).await.len(), 2);
    assert!(s.referenced.is_file() && s.other.is_file());
}

#[tokio::test]
async fn a_dry_run_lists_what_it_would_delete_and_deletes_nothing() {
    let t = TestApp::sqlite().await;
    let s = scene(&t).await;
    let dry = t
        .app
        .sweep_datasets(&system(&t), SWEEP_GRACE_SECONDS, true)
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.objects.len(), 2, "{dry:?}");
    assert!(dry.objects.iter().all(|o| o.path.starts_with("datasets/")));
    for path in [
        &s.referenced,
        &s.old_orphan,
        &s.old_staging,
        &s.fresh_orphan,
        &s.other,
    ] {
        assert!(
            path.is_file(),
            "{} was deleted by a dry run",
            path.display()
        );
    }
    assert!(sweep_events(&t).await.is_empty());
}

#[tokio::test]
async fn people_may_not_sweep_and_the_refusal_is_audited() {
    let t = TestApp::sqlite().await;
    let s = scene(&t).await;
    for who in ["source2", "admin"] {
        let ctx = t
            .app
            .cli_ctx_as(RequestId::mint(t.app.now(), [5; 10]), who)
            .await
            .unwrap();
        let err = t
            .app
            .sweep_datasets(&ctx, SWEEP_GRACE_SECONDS, false)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Forbidden(_)), "{who}: {err:?}");
    }
    assert!(s.old_orphan.is_file());
    let denied: Vec<_> = sweep_events(&t)
        .await
        .into_iter()
        .filter(|e| e.draft.outcome == Outcome::Denied)
        .collect();
    assert_eq!(denied.len(), 2);
}

#[tokio::test]
async fn the_sweep_works_on_postgres_too() {
    let Some(db) = shuyu_store::testing::TestDb::postgres().await else {
        return;
    };
    let t = TestApp::on(db, shuyu_testkit::default_profile()).await;
    let s = scene(&t).await;
    let sweep = t
        .app
        .sweep_datasets(&system(&t), SWEEP_GRACE_SECONDS, false)
        .await
        .unwrap();
    assert_eq!(sweep.objects.len(), 2, "{sweep:?}");
    assert!(s.referenced.is_file() && s.fresh_orphan.is_file());
    assert_eq!(sweep_events(&t).await.len(), 1);
}
