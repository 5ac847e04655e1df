//! Datasets end to end: uploads through the API into the encrypted object store, the problems of
//! bad uploads, the audit chain, master key rotation and the raw bytes of the data directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Reply, Session, assert_problem, call, login, raw};
use rand::SeedableRng;
use rand::rngs::StdRng;
use shuyu_app::{App, AppError, Ctx, KeyRing, Settings};
use shuyu_audit::Outcome;
use shuyu_core::RequestId;
use shuyu_store::AuditFilter;
use shuyu_synth::{CsvEncoding, Value};
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};
use shuyu_testkit::{TEST_MASTER_KEY, TestApp, test_data_store};

const SOCIAL: DemoDataset = DemoDataset::SocialInsurance;

async fn upload(
    router: &Router,
    session: &Session,
    resource: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/resources/{resource}/datasets"))
        .header(header::CONTENT_TYPE, content_type);
    if let Some(c) = &session.cookie {
        req = req.header(header::COOKIE, format!("shuyu_session={c}"));
    }
    if let Some(t) = &session.csrf {
        req = req.header("x-csrf-token", t);
    }
    raw(router, req.body(Body::from(body)).unwrap()).await
}

async fn social_resource(t: &TestApp) -> String {
    resource_titled(&t.app, SOCIAL.title())
        .await
        .unwrap()
        .to_string()
}

fn system(t: &TestApp) -> Ctx {
    Ctx::system(RequestId::mint(t.app.now(), [9; 10]))
}

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn objects(t: &TestApp) -> Vec<std::path::PathBuf> {
    files(&t.data_dir.path().join("objects"))
}

/// The bytes of every file of the data directory and of the database's directory.
fn all_bytes(t: &TestApp) -> Vec<u8> {
    let mut dirs = vec![t.data_dir.path().to_path_buf()];
    let db =
        t.db.url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap();
    dirs.push(std::path::Path::new(db).parent().unwrap().to_path_buf());
    dirs.iter()
        .flat_map(|d| files(d))
        .flat_map(|f| std::fs::read(f).unwrap_or_default())
        .collect()
}

async fn import_events(t: &TestApp, outcome: Outcome) -> Vec<shuyu_store::AuditRow> {
    t.app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some("dataset.import".into()),
                outcome: Some(outcome),
                ..AuditFilter::default()
            },
            None,
            100,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn source_department_imports_csv_and_a_version_appears() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(500, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let created = reply.json();
    assert_eq!(created["rows"], 500);
    assert_eq!(created["number"], 1);
    assert_eq!(created["encoding"], "utf8");
    let quality = created["quality"].as_array().unwrap();
    assert_eq!(quality[0]["field"], "resident_id");
    assert_eq!(quality[0]["profile"]["rows"], 500);
    // The registered format of the resident ID column is checked (QLT-1): all synthetic IDs are valid.
    assert_eq!(
        quality[0]["profile"]["format"], "resident_id",
        "{}",
        quality[0]
    );
    assert_eq!(quality[0]["profile"]["valid"], 500, "{}", quality[0]);

    for who in ["source2", "authority"] {
        let session = login(&t, &router, who).await;
        let list = call(
            &router,
            "GET",
            &format!("/api/v1/resources/{resource}/datasets"),
            &session,
            None,
        )
        .await;
        assert_eq!(list.status, StatusCode::OK, "{who}: {}", list.text());
        assert_eq!(list.json().as_array().unwrap().len(), 1);
        assert_eq!(list.json()[0]["id"], created["id"]);
    }
    let merchant = login(&t, &router, "merchant").await;
    let list = call(
        &router,
        "GET",
        &format!("/api/v1/resources/{resource}/datasets"),
        &merchant,
        None,
    )
    .await;
    assert_problem(&list, StatusCode::FORBIDDEN);
    // One object, published under the version's id, encrypted.
    let stored = objects(&t);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let path = stored[0].to_string_lossy().into_owned();
    assert!(path.ends_with(&format!("{}/data.parquet", created["id"].as_str().unwrap())));
    assert!(std::fs::read(&stored[0]).unwrap().starts_with(b"SYENC"));
    // Nothing is left in the spool.
    assert!(files(&t.data_dir.path().join("spool")).is_empty());
}

#[tokio::test]
async fn gb18030_csv_is_detected_and_imported() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv; charset=gb18030",
        SOCIAL.csv(300, CsvEncoding::Gb18030),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.json()["encoding"], "gb18030");
    assert_eq!(reply.json()["rows"], 300);
}

#[tokio::test]
async fn wrong_schema_is_refused_listing_columns_and_nothing_is_written() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        DemoDataset::EnterpriseRegistry.csv(50, CsvEncoding::Utf8),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = problem["errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"columns.missing"), "{problem}");
    assert!(fields.contains(&"columns.extra"), "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("resident_id"),
        "{problem}"
    );
    assert!(objects(&t).is_empty(), "{:?}", objects(&t));
    let list = call(
        &router,
        "GET",
        &format!("/api/v1/resources/{resource}/datasets"),
        &source,
        None,
    )
    .await;
    assert_eq!(list.json().as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn malformed_value_names_line_and_column() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let text = String::from_utf8(SOCIAL.csv(5, CsvEncoding::Utf8)).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let column = header
        .iter()
        .position(|c| *c == "contribution_base")
        .unwrap();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    cells[column] = "not-a-number".into();
    lines[3] = cells.join(",");
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        (lines.join("\n") + "\n").into_bytes(),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("line 4, column {}", column + 1)),
        "{detail}"
    );
    assert!(detail.contains("contribution_base"), "{detail}");
    assert!(!detail.contains("not-a-number"), "{detail}");
    assert!(objects(&t).is_empty());
}

#[tokio::test]
async fn merchant_cannot_import() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    for who in ["merchant", "source"] {
        let session = login(&t, &router, who).await;
        let reply = upload(
            &router,
            &session,
            &resource,
            "text/csv",
            SOCIAL.csv(10, CsvEncoding::Utf8),
        )
        .await;
        assert_problem(&reply, StatusCode::FORBIDDEN);
    }
    assert!(objects(&t).is_empty());
    assert_eq!(
        t.app
            .store()
            .search_audit(
                &AuditFilter {
                    action: Some("dataset.import".into()),
                    outcome: Some(Outcome::Denied),
                    ..AuditFilter::default()
                },
                None,
                10
            )
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn duplicate_upload_is_409() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let body = SOCIAL.csv(100, CsvEncoding::Utf8);
    let first = upload(&router, &source, &resource, "text/csv", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = upload(&router, &source, &resource, "text/csv", body).await;
    assert_problem(&again, StatusCode::CONFLICT);
    assert_eq!(objects(&t).len(), 1);
    // Different data is a new version.
    let other = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(101, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.text());
    assert_eq!(other.json()["number"], 2);
}

#[tokio::test]
async fn oversize_upload_is_413() {
    let t = TestApp::sqlite().await;
    let state = shuyu_api::ApiState {
        web: Arc::new(shuyu_api::WebSettings {
            secure_cookies: false,
            upload_limit: 4 * 1024,
            ..shuyu_api::WebSettings::default()
        }),
        ..t.state.clone()
    };
    let router = shuyu_api::router(state);
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(1_000, CsvEncoding::Utf8),
    )
    .await;
    assert_problem(&reply, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(objects(&t).is_empty());
    assert!(files(&t.data_dir.path().join("spool")).is_empty());
}

#[tokio::test]
async fn unknown_resource_is_404() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let source = login(&t, &router, "source2").await;
    let unknown = shuyu_catalog::ResourceId::mint(t.app.now(), [7; 10]);
    let reply = upload(
        &router,
        &source,
        &unknown.to_string(),
        "text/csv",
        SOCIAL.csv(10, CsvEncoding::Utf8),
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND);
    let reply = upload(
        &router,
        &source,
        "not-an-id",
        "text/csv",
        SOCIAL.csv(10, CsvEncoding::Utf8),
    )
    .await;
    assert!(reply.status.is_client_error(), "{}", reply.text());
}

#[tokio::test]
async fn import_and_failure_are_on_the_audit_chain() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let ok = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(50, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    let bad = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        b"resident_id,name\n".to_vec(),
    )
    .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    let done = import_events(&t, Outcome::Ok).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].draft.object_id, ok.json()["id"].as_str().unwrap());
    let failed = import_events(&t, Outcome::Failed).await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].draft.detail.contains("missing"),
        "{}",
        failed[0].draft.detail
    );
    let verified = t
        .app
        .store()
        .verify_audit(t.signer.verifier())
        .await
        .unwrap();
    assert!(
        matches!(verified, shuyu_store::VerifyOutcome::Intact(_)),
        "{verified:?}"
    );
}

#[tokio::test]
async fn no_identifier_appears_in_the_raw_bytes_of_the_data_dir() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let rows = SOCIAL.rows(1_000);
    let text = |v: &Value| match v {
        Value::Text(s) => Some(s.clone()),
        _ => None,
    };
    // Names that appear in the directory before the import (the demo's own people, catalog text)
    // are not evidence either way: only look for those that do not.
    let before = all_bytes(&t);
    let ids: Vec<String> = rows.iter().filter_map(|r| text(&r[0])).collect();
    let names: Vec<String> = rows.iter().filter_map(|r| text(&r[1])).collect();
    let names: Vec<String> = {
        let known = found_set(&before, &names);
        names.into_iter().filter(|n| !known.contains(n)).collect()
    };
    assert!(ids.len() > 500 && names.len() > 500);
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(1_000, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    t.app.store().checkpoint_now(t.app.now()).await.unwrap();
    let after = all_bytes(&t);
    assert!(after.len() > before.len());
    assert_eq!(found(&after, &ids), 0, "resident ids are readable");
    assert_eq!(found(&after, &names), 0, "names are readable");
    // The search itself works: the plaintext CSV holds them all.
    let plain = SOCIAL.csv(1_000, CsvEncoding::Utf8);
    assert_eq!(found(&plain, &ids), ids.len());
}

/// Those of `needles` that occur in `haystack` (one pass per needle length).
fn found_set(haystack: &[u8], needles: &[String]) -> Vec<String> {
    use std::collections::{BTreeMap, HashSet};
    let mut by_len: BTreeMap<usize, HashSet<&[u8]>> = BTreeMap::new();
    for n in needles {
        by_len.entry(n.len()).or_default().insert(n.as_bytes());
    }
    let mut hits: HashSet<&[u8]> = HashSet::new();
    for (len, set) in &by_len {
        for window in haystack.windows(*len) {
            if set.contains(window) {
                hits.insert(window);
            }
        }
    }
    needles
        .iter()
        .filter(|n| hits.contains(n.as_bytes()))
        .cloned()
        .collect()
}

/// How many of `needles` occur in `haystack`.
fn found(haystack: &[u8], needles: &[String]) -> usize {
    found_set(haystack, needles).len()
}

#[tokio::test]
async fn rotation_rewraps_and_data_stays_readable() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(200, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let object = objects(&t);
    let before = std::fs::read(&object[0]).unwrap();
    let new_key = "ffeeddccbbaa99887766554433221100";
    let rotation = t
        .app
        .rotate_master_key(
            &system(&t),
            KeyRing::from_config(Some(new_key), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rotation.rewrapped, 1);
    // The data file is untouched; it is read with the data key opened by the new master key.
    assert_eq!(std::fs::read(&object[0]).unwrap(), before);
    let fresh = App::new(
        t.app.store().clone(),
        shuyu_testkit::default_profile(),
        Settings::default(),
        Arc::new(t.clock.clone()),
        StdRng::seed_from_u64(1),
    )
    .with_data(test_data_store(t.data_dir.path(), Some(new_key)));
    let read = fresh.verify_datasets(&system(&t)).await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].1, 200);
    // The old master key no longer opens it.
    let old = App::new(
        t.app.store().clone(),
        shuyu_testkit::default_profile(),
        Settings::default(),
        Arc::new(t.clock.clone()),
        StdRng::seed_from_u64(1),
    )
    .with_data(test_data_store(t.data_dir.path(), Some(TEST_MASTER_KEY)));
    assert!(old.verify_datasets(&system(&t)).await.is_err());
    let events = t
        .app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some("key.rotate".into()),
                ..AuditFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    // People may not rotate keys.
    let admin = shuyu_testkit::demo::person_ctx(
        &t.app,
        &t.app
            .person_by_username(&system(&t), "admin")
            .await
            .unwrap(),
    );
    let refused = t
        .app
        .rotate_master_key(&admin, KeyRing::from_config(Some(new_key), None).unwrap())
        .await;
    assert!(matches!(refused, Err(AppError::Forbidden(_))));
}

#[tokio::test]
async fn wrong_master_key_is_a_clear_error() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(20, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let app_with = |key: Option<&str>| {
        App::new(
            t.app.store().clone(),
            shuyu_testkit::default_profile(),
            Settings::default(),
            Arc::new(t.clock.clone()),
            StdRng::seed_from_u64(2),
        )
        .with_data(test_data_store(t.data_dir.path(), key))
    };
    let wrong = app_with(Some("0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"));
    let err = wrong.verify_datasets(&system(&t)).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, AppError::Unavailable(_)), "{err:?}");
    assert!(message.contains("master key"), "{message}");

    // Without a master key, uploads are refused up front with a problem naming what to set.
    let none = app_with(None);
    let state = shuyu_api::ApiState {
        app: none,
        ..t.state.clone()
    };
    let router = shuyu_api::router(state);
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        SOCIAL.csv(20, CsvEncoding::Utf8),
    )
    .await;
    let problem = assert_problem(&reply, StatusCode::SERVICE_UNAVAILABLE);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("master_key") && detail.contains("SHUYU_MASTER_KEY"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_parquet_upload_imports_like_its_csv() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    // A parquet file with the wrong content is a clear 422, not a crash.
    let reply = upload(
        &router,
        &source,
        &resource,
        shuyu_api::PARQUET,
        b"PAR1 not really".to_vec(),
    )
    .await;
    assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
    let reply = upload(
        &router,
        &source,
        &resource,
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_problem(&reply, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn imports_round_trip_on_postgres_too() {
    let Some(db) = shuyu_store::testing::TestDb::postgres().await else {
        return;
    };
    let t = TestApp::on(db, shuyu_testkit::default_profile()).await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let body = SOCIAL.csv(100, CsvEncoding::Utf8);
    let first = upload(&router, &source, &resource, "text/csv", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let again = upload(&router, &source, &resource, "text/csv", body).await;
    assert_problem(&again, StatusCode::CONFLICT);
    let list = call(
        &router,
        "GET",
        &format!("/api/v1/resources/{resource}/datasets"),
        &source,
        None,
    )
    .await;
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    assert_eq!(list.json()[0]["quality"][0]["profile"]["rows"], 100);
    let rotation = t
        .app
        .rotate_master_key(
            &system(&t),
            KeyRing::from_config(Some("ffeeddccbbaa99887766554433221100"), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(rotation.rewrapped, 1);
    assert_eq!(t.app.verify_datasets(&system(&t)).await.unwrap().len(), 1);
}
