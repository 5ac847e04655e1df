//! Import jobs (CAT-3): asynchronous uploads (`Prefer: respond-async`), progress observed while an
//! import runs, failures as the job's problem (and on the audit chain), and who may watch a job.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Read;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Reply, Session, assert_problem, call, login, raw};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use shuyu_app::{App, ImportOptions, ImportSource, Settings};
use shuyu_audit::Outcome;
use shuyu_core::RequestId;
use shuyu_store::AuditFilter;
use shuyu_store::testing::TestDb;
use shuyu_synth::CsvEncoding;
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};
use shuyu_testkit::{TEST_MASTER_KEY, TestApp, test_data_store};

const SOCIAL: DemoDataset = DemoDataset::SocialInsurance;
const RESPOND_ASYNC: Option<&str> = Some("respond-async");

async fn upload(
    router: &Router,
    session: &Session,
    resource: &str,
    content_type: &str,
    prefer: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/resources/{resource}/datasets"))
        .header(header::CONTENT_TYPE, content_type);
    if let Some(p) = prefer {
        req = req.header("prefer", p);
    }
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

async fn get(router: &Router, session: &Session, path: &str) -> Reply {
    call(router, "GET", path, session, None).await
}

/// Polls `path` until `done` holds for its JSON (at most a minute).
async fn wait_for(
    router: &Router,
    session: &Session,
    path: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = get(router, session, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let value = reply.json();
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "still waiting on {path}: {value}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn finished(job: &Value) -> bool {
    job["state"] != "running"
}

/// The `Location` of an accepted asynchronous upload, checked against the job it answered.
fn accepted_job(reply: &Reply, body_len: usize) -> (String, Value) {
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text());
    assert_eq!(reply.headers["preference-applied"], "respond-async");
    let location = reply.headers[header::LOCATION].to_str().unwrap().to_owned();
    let job = reply.json();
    assert_eq!(
        location,
        format!("/api/v1/imports/{}", job["id"].as_str().unwrap())
    );
    assert_eq!(job["href"], location.as_str());
    assert_eq!(job["state"], "running", "{job}");
    assert_eq!(job["total_bytes"], body_len as u64, "{job}");
    assert!(
        job["dataset"].is_null() && job["problem"].is_null(),
        "{job}"
    );
    (location, job)
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

async fn async_upload_is_accepted_and_its_job_succeeds_on(db: TestDb) {
    let t = TestApp::on(db, shuyu_testkit::default_profile()).await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let body = SOCIAL.csv(500, CsvEncoding::Utf8);
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        RESPOND_ASYNC,
        body.clone(),
    )
    .await;
    let (location, accepted) = accepted_job(&reply, body.len());
    assert_eq!(accepted["resource_id"], resource.as_str());
    let job = wait_for(&router, &source, &location, finished).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["rows"], 500, "{job}");
    assert_eq!(job["input_bytes"], body.len() as u64, "{job}");
    assert_eq!(job["percent"], 100, "{job}");
    assert!(job["finished_at"].is_string(), "{job}");
    assert_eq!(job["dataset"]["number"], 1, "{job}");
    assert_eq!(job["dataset"]["id"], accepted["id"], "{job}");
    assert_eq!(
        job["dataset"]["href"],
        format!("/api/v1/resources/{resource}/datasets")
    );
    // The dataset version is listed, under the job's id, with the file's rows.
    let list = get(
        &router,
        &source,
        &format!("/api/v1/resources/{resource}/datasets"),
    )
    .await;
    assert_eq!(list.json().as_array().unwrap().len(), 1, "{}", list.text());
    assert_eq!(list.json()[0]["id"], accepted["id"]);
    assert_eq!(list.json()[0]["rows"], 500);
    // The authority watches it too.
    let authority = login(&t, &router, "authority").await;
    let seen = get(&router, &authority, &location).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text());
    assert_eq!(seen.json()["state"], "succeeded");

    // A synchronous upload still answers 201 with the version, and registers its job as well.
    t.clock.advance_seconds(1);
    let sync = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        None,
        SOCIAL.csv(20, CsvEncoding::Utf8),
    )
    .await;
    assert_eq!(sync.status, StatusCode::CREATED, "{}", sync.text());
    assert!(sync.headers.get("preference-applied").is_none());
    assert_eq!(sync.json()["number"], 2);
    let jobs = get(
        &router,
        &source,
        &format!("/api/v1/resources/{resource}/imports"),
    )
    .await;
    assert_eq!(jobs.status, StatusCode::OK, "{}", jobs.text());
    let jobs = jobs.json();
    let ids: Vec<&Value> = jobs.as_array().unwrap().iter().map(|j| &j["id"]).collect();
    assert_eq!(
        ids,
        vec![&sync.json()["id"], &accepted["id"]],
        "newest first"
    );
    assert_eq!(jobs[0]["state"], "succeeded");
    assert_eq!(jobs[0]["rows"], 20);
    assert_eq!(import_events(&t, Outcome::Ok).await.len(), 2);
}

#[tokio::test]
async fn async_upload_is_accepted_and_its_job_succeeds() {
    async_upload_is_accepted_and_its_job_succeeds_on(TestDb::sqlite()).await;
}

#[tokio::test]
async fn async_upload_round_trips_on_postgres_too() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    async_upload_is_accepted_and_its_job_succeeds_on(db).await;
}

#[tokio::test]
async fn async_upload_with_a_wrong_schema_ends_failed_with_the_problem_and_on_the_chain() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let body = DemoDataset::EnterpriseRegistry.csv(50, CsvEncoding::Utf8);
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        RESPOND_ASYNC,
        body.clone(),
    )
    .await;
    let (location, accepted) = accepted_job(&reply, body.len());
    let job = wait_for(&router, &source, &location, finished).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(job["dataset"].is_null(), "{job}");
    let problem = &job["problem"];
    assert_eq!(problem["status"], 422, "{job}");
    assert_eq!(problem["title"], "Invalid input", "{job}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("resident_id"), "{detail}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"columns.missing"), "{job}");
    // No value of the file is shown: the enterprise registry's first credit code is not there.
    let first = DemoDataset::EnterpriseRegistry.rows(1);
    if let shuyu_synth::Value::Text(code) = &first[0][0] {
        assert!(!job.to_string().contains(code.as_str()), "{job}");
    }
    // No dataset version, no object; one failed event naming the job on an intact chain.
    let list = get(
        &router,
        &source,
        &format!("/api/v1/resources/{resource}/datasets"),
    )
    .await;
    assert_eq!(list.json().as_array().unwrap().len(), 0);
    let objects = walk(&t.data_dir.path().join("objects"));
    assert!(objects.is_empty(), "{objects:?}");
    let failed = import_events(&t, Outcome::Failed).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].draft.object_id, accepted["id"].as_str().unwrap());
    assert!(
        failed[0].draft.detail.contains("missing"),
        "{}",
        failed[0].draft.detail
    );
    assert!(import_events(&t, Outcome::Ok).await.is_empty());
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

/// Every file under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn refusals_before_the_body_is_accepted_are_the_same_with_respond_async() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let merchant = login(&t, &router, "merchant").await;
    let csv = SOCIAL.csv(10, CsvEncoding::Utf8);
    let refused = upload(
        &router,
        &merchant,
        &resource,
        "text/csv",
        RESPOND_ASYNC,
        csv.clone(),
    )
    .await;
    assert_problem(&refused, StatusCode::FORBIDDEN);
    let unknown = shuyu_catalog::ResourceId::mint(t.app.now(), [7; 10]).to_string();
    let missing = upload(
        &router,
        &source,
        &unknown,
        "text/csv",
        RESPOND_ASYNC,
        csv.clone(),
    )
    .await;
    assert_problem(&missing, StatusCode::NOT_FOUND);
    let media = upload(
        &router,
        &source,
        &resource,
        "application/json",
        RESPOND_ASYNC,
        b"{}".to_vec(),
    )
    .await;
    assert_problem(&media, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let small = shuyu_api::router(shuyu_api::ApiState {
        web: Arc::new(shuyu_api::WebSettings {
            secure_cookies: false,
            upload_limit: 4 * 1024,
            ..shuyu_api::WebSettings::default()
        }),
        ..t.state.clone()
    });
    let large = upload(
        &small,
        &source,
        &resource,
        "text/csv",
        RESPOND_ASYNC,
        SOCIAL.csv(1_000, CsvEncoding::Utf8),
    )
    .await;
    assert_problem(&large, StatusCode::PAYLOAD_TOO_LARGE);
    let keyless = App::new(
        t.app.store().clone(),
        shuyu_testkit::default_profile(),
        Settings::default(),
        Arc::new(t.clock.clone()),
        StdRng::seed_from_u64(2),
    )
    .with_data(test_data_store(t.data_dir.path(), None));
    let keyless = shuyu_api::router(shuyu_api::ApiState {
        app: keyless,
        ..t.state.clone()
    });
    let unavailable = upload(&keyless, &source, &resource, "text/csv", RESPOND_ASYNC, csv).await;
    assert_problem(&unavailable, StatusCode::SERVICE_UNAVAILABLE);
    // None of them started an import.
    let jobs = get(
        &router,
        &source,
        &format!("/api/v1/resources/{resource}/imports"),
    )
    .await;
    assert_eq!(jobs.status, StatusCode::OK, "{}", jobs.text());
    assert_eq!(jobs.json(), serde_json::json!([]));
}

#[tokio::test]
async fn jobs_are_shown_only_to_who_may_read_the_resources_datasets() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = social_resource(&t).await;
    let source = login(&t, &router, "source2").await;
    let body = SOCIAL.csv(30, CsvEncoding::Utf8);
    let reply = upload(
        &router,
        &source,
        &resource,
        "text/csv",
        RESPOND_ASYNC,
        body.clone(),
    )
    .await;
    let (location, _) = accepted_job(&reply, body.len());
    wait_for(&router, &source, &location, finished).await;
    let listing = format!("/api/v1/resources/{resource}/imports");
    // The merchant, and the source department of another organisation, are refused (audited).
    for who in ["merchant", "source"] {
        let session = login(&t, &router, who).await;
        assert_problem(
            &get(&router, &session, &location).await,
            StatusCode::FORBIDDEN,
        );
        assert_problem(
            &get(&router, &session, &listing).await,
            StatusCode::FORBIDDEN,
        );
    }
    let denied = t
        .app
        .store()
        .search_audit(
            &AuditFilter {
                action: Some("dataset.read".into()),
                outcome: Some(Outcome::Denied),
                ..AuditFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(denied.len(), 4);
    assert_problem(
        &get(&router, &Session::default(), &location).await,
        StatusCode::UNAUTHORIZED,
    );
    // An unknown id is a 404 problem that says how long jobs are kept; a malformed one names the id.
    let unknown = format!(
        "/api/v1/imports/{}",
        shuyu_core::DatasetId::mint(t.app.now(), [4; 10])
    );
    let problem = assert_problem(
        &get(&router, &source, &unknown).await,
        StatusCode::NOT_FOUND,
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("24 hours"),
        "{problem}"
    );
    let malformed = get(&router, &source, "/api/v1/imports/not-an-id").await;
    assert!(malformed.status.is_client_error(), "{}", malformed.text());
    // A finished job expires after 24 hours.
    t.clock.advance_seconds(24 * 60 * 60 + 1);
    let source = login(&t, &router, "source2").await;
    assert_problem(
        &get(&router, &source, &location).await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(
        get(&router, &source, &listing).await.json(),
        serde_json::json!([])
    );
}

/// A CSV source that stops at `gate` bytes until the test lets it go on.
struct GatedReader {
    data: Vec<u8>,
    pos: usize,
    gate: usize,
    open: Option<Receiver<()>>,
}

impl Read for GatedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.gate
            && let Some(open) = self.open.take()
        {
            open.recv_timeout(Duration::from_secs(60))
                .map_err(|_| std::io::Error::other("the test never opened the gate"))?;
        }
        let end = if self.pos < self.gate {
            self.gate
        } else {
            self.data.len()
        };
        let n = buf.len().min(end - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[tokio::test]
async fn progress_is_observable_while_an_import_runs() {
    let t = TestApp::sqlite().await;
    // The same deployment with small batches: progress after every 25 rows.
    let app = App::new(
        t.app.store().clone(),
        shuyu_testkit::default_profile(),
        Settings::default(),
        Arc::new(t.clock.clone()),
        StdRng::seed_from_u64(3),
    )
    .with_data(
        test_data_store(t.data_dir.path(), Some(TEST_MASTER_KEY)).with_options(ImportOptions {
            batch_rows: 25,
            ..ImportOptions::default()
        }),
    );
    let router = shuyu_api::router(shuyu_api::ApiState {
        app: app.clone(),
        ..t.state.clone()
    });
    let resource = resource_titled(&app, SOCIAL.title()).await.unwrap();
    let source = login(&t, &router, "source2").await;
    let person = app
        .person_by_username(
            &shuyu_app::Ctx::system(RequestId::mint(app.now(), [1; 10])),
            "source2",
        )
        .await
        .unwrap();
    let ctx = shuyu_testkit::demo::person_ctx(&app, &person);
    let rows = 4_000_u64;
    let data = SOCIAL.csv(rows, CsvEncoding::Utf8);
    let total = data.len() as u64;
    let gate = data.len() / 2;
    assert!(
        gate > 128 * 1024,
        "the gate must be past the encoding sniff"
    );
    let (open, wait) = channel();
    let source_csv = ImportSource::Csv(Box::new(GatedReader {
        data,
        pos: 0,
        gate,
        open: Some(wait),
    }));
    let reported = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&reported);
    let pending = app.begin_import(&ctx, resource, Some(total)).await.unwrap();
    let id = pending.id();
    let run = {
        let (app, ctx) = (app.clone(), ctx.clone());
        tokio::spawn(async move {
            app.run_import(
                &ctx,
                pending,
                source_csv,
                Box::new(move |p| seen.lock().unwrap().push(p.rows)),
            )
            .await
        })
    };
    // Half the file is read and the reader waits: the job shows it running part way.
    let location = format!("/api/v1/imports/{id}");
    let listing = format!("/api/v1/resources/{resource}/imports");
    let mid = wait_for(&router, &source, &location, |j| {
        j["rows"].as_u64() > Some(0)
    })
    .await;
    assert_eq!(mid["state"], "running", "{mid}");
    let mid_rows = mid["rows"].as_u64().unwrap();
    assert!(mid_rows < rows, "{mid}");
    assert!(mid["input_bytes"].as_u64().unwrap() <= gate as u64, "{mid}");
    let percent = mid["percent"].as_u64().unwrap();
    assert!(percent <= 50, "{mid}");
    assert!(mid["finished_at"].is_null(), "{mid}");
    // The reader waits at the gate: the job shows the last batch the callback saw, and several
    // batches came before it, each with more rows.
    let last = || reported.lock().unwrap().last().copied();
    let settled = wait_for(&router, &source, &listing, |jobs| {
        jobs[0]["rows"].as_u64() == last() && reported.lock().unwrap().len() >= 3
    })
    .await;
    assert_eq!(settled[0]["id"], id.to_string());
    assert_eq!(settled[0]["state"], "running", "{settled}");
    let so_far = reported.lock().unwrap().clone();
    assert!(so_far.windows(2).all(|w| w[0] < w[1]), "{so_far:?}");
    assert!(settled[0]["rows"].as_u64().unwrap() < rows, "{settled}");
    // Nothing is visible as a dataset version yet.
    let list = get(
        &router,
        &source,
        &format!("/api/v1/resources/{resource}/datasets"),
    )
    .await;
    assert_eq!(list.json(), serde_json::json!([]));
    open.send(()).unwrap();
    let view = run.await.unwrap().unwrap();
    assert_eq!(view.rows, rows);
    assert_eq!(view.id, id);
    let done = get(&router, &source, &location).await.json();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["rows"], rows);
    assert_eq!(done["percent"], 100);
    // The callback saw the rows grow batch by batch, as the job did.
    let reported = reported.lock().unwrap().clone();
    assert!(
        reported.len() as u64 >= rows / 25,
        "{} reports",
        reported.len()
    );
    assert!(reported.windows(2).all(|w| w[0] < w[1]), "{reported:?}");
    assert_eq!(reported.last(), Some(&rows));
    assert!(reported.contains(&mid_rows), "{mid_rows} {reported:?}");
}

#[tokio::test]
async fn an_interrupted_import_ends_its_job_failed() {
    let t = TestApp::sqlite().await;
    let router = t.api();
    let resource = resource_titled(&t.app, SOCIAL.title()).await.unwrap();
    let source = login(&t, &router, "source2").await;
    let person = t
        .app
        .person_by_username(
            &shuyu_app::Ctx::system(RequestId::mint(t.app.now(), [1; 10])),
            "source2",
        )
        .await
        .unwrap();
    let ctx = shuyu_testkit::demo::person_ctx(&t.app, &person);
    let pending = t.app.begin_import(&ctx, resource, None).await.unwrap();
    let location = format!("/api/v1/imports/{}", pending.id());
    assert_eq!(
        get(&router, &source, &location).await.json()["state"],
        "running"
    );
    drop(pending);
    let job = get(&router, &source, &location).await.json();
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["problem"]["status"], 503, "{job}");
    assert!(
        job["problem"]["detail"]
            .as_str()
            .unwrap()
            .contains("send the file again"),
        "{job}"
    );
}

#[test]
fn openapi_describes_the_async_upload_and_the_job_routes() {
    let doc = serde_json::to_value(shuyu_api::openapi()).unwrap();
    let paths = &doc["paths"];
    let upload = &paths["/api/v1/resources/{id}/datasets"]["post"];
    let accepted = &upload["responses"]["202"];
    assert!(accepted["headers"]["Location"].is_object(), "{upload}");
    assert!(
        accepted["headers"]["Preference-Applied"].is_object(),
        "{upload}"
    );
    assert!(
        upload["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Prefer" && p["in"] == "header"),
        "{upload}"
    );
    for path in ["/api/v1/imports/{id}", "/api/v1/resources/{id}/imports"] {
        assert!(paths[path]["get"]["responses"]["200"].is_object(), "{path}");
    }
    let job = &doc["components"]["schemas"]["ImportJobOut"]["properties"];
    for field in [
        "state",
        "rows",
        "input_bytes",
        "total_bytes",
        "percent",
        "problem",
    ] {
        assert!(job[field].is_object(), "ImportJobOut lacks {field}: {job}");
    }
}
