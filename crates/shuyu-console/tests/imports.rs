//! Importing a dataset version from the console (CAT-3): the upload form on the resource page (a
//! multipart post whose first part is the CSRF token), the job page that reloads itself while the
//! import runs, its outcome, and the refusals (no form and 403 for a merchant, no CSRF token, a file
//! over the size limit, an unsupported file type), each on the audit chain. Requests run
//! in-process against `shuyu_console::router` with a cookie jar; the multipart bodies are built by
//! hand as a browser sends them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use shuyu_catalog::ResourceId;
use shuyu_store::testing::TestDb;
use shuyu_synth::CsvEncoding;
use shuyu_testkit::TestApp;
use shuyu_testkit::demo::data::{DemoDataset, resource_titled};
use shuyu_testkit::demo::person_ctx;

mod common;
use common::*;

const SOCIAL: DemoDataset = DemoDataset::SocialInsurance;
const REFRESH: &str = r#"http-equiv="refresh""#;

async fn social(t: &TestApp) -> ResourceId {
    resource_titled(&t.app, SOCIAL.title()).await.unwrap()
}

async fn provider_ctx(t: &TestApp) -> shuyu_app::Ctx {
    let person = t
        .app
        .store()
        .person_by_username(SOCIAL.provider_username())
        .await
        .unwrap()
        .unwrap();
    person_ctx(&t.app, &person)
}

/// How many dataset versions the resource has, as its source department sees them.
async fn versions(t: &TestApp, id: ResourceId) -> usize {
    t.app
        .datasets(&provider_ctx(t).await, id)
        .await
        .unwrap()
        .len()
}

/// How many import jobs of the resource are kept.
async fn jobs(t: &TestApp, id: ResourceId) -> usize {
    t.app
        .import_jobs(&provider_ctx(t).await, id)
        .await
        .unwrap()
        .len()
}

fn spool_files(t: &TestApp) -> usize {
    std::fs::read_dir(t.data_dir.path().join("spool")).map_or(0, Iterator::count)
}

/// Uploads `data` as `file_name` through the resource page's form.
async fn upload(
    browser: &mut Browser,
    id: ResourceId,
    file_name: &str,
    content_type: &str,
    data: &[u8],
) -> Reply {
    let page = browser.get(&format!("/resources/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf();
    browser
        .post_multipart(
            &format!("/resources/{id}/datasets"),
            &[
                Part::field("_csrf", &csrf),
                Part::file("file", file_name, content_type, data),
            ],
        )
        .await
}

/// Reloads the job page until it stops reloading itself (at most a minute).
async fn until_finished(browser: &mut Browser, job: &str) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let page = browser.get(job).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if !page.has(REFRESH) {
            return page;
        }
        assert!(page.has(r#"content="2""#), "reloads every 2 s");
        assert!(Instant::now() < deadline, "still running: {}", page.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn upload_succeeds_and_the_job_page_follows_it_on(db: TestDb) {
    let t = TestApp::on(db, shuyu_testkit::default_profile()).await;
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;

    let page = source.get(&format!("/resources/{id}")).await;
    assert!(
        page.has(r#"enctype="multipart/form-data""#),
        "{}",
        page.body
    );
    assert!(page.has(&format!(r#"action="/resources/{id}/datasets""#)));
    assert!(page.has(r#"type="file""#) && page.has(r#"accept=".csv,.parquet""#));
    let form = &page.body[page.body.find("multipart/form-data").unwrap()..];
    assert!(
        form.find(r#"name="_csrf""#).unwrap() < form.find(r#"type="file""#).unwrap(),
        "the token comes before the file"
    );

    let csv = SOCIAL.csv(300, CsvEncoding::Utf8);
    let reply = upload(&mut source, id, "参保登记.csv", "text/csv", &csv).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let job = reply.location().to_owned();
    assert!(job.starts_with("/imports/"), "{job}");

    let done = until_finished(&mut source, &job).await;
    assert!(done.has("已成功"), "{}", done.body);
    assert!(
        done.has(&format!("已添加为数据集第 {} 版", before + 1)),
        "{}",
        done.body
    );
    assert!(done.has(&format!(r##"href="/resources/{id}#datasets""##)));
    assert!(done.has("300"), "rows read: {}", done.body);
    assert!(done.has("100%"), "{}", done.body);
    assert!(done.has(SOCIAL.title()), "the resource is named");
    assert_eq!(versions(&t, id).await, before + 1);

    let resource = source.get(&format!("/resources/{id}")).await;
    assert!(
        resource.has(&format!(r#"href="{job}""#)),
        "the job is listed"
    );
    assert!(resource.has("导入任务"));
    assert_eq!(events(&t, "dataset.import", "ok").await, 1);
    assert_eq!(spool_files(&t), 0, "the spool is gone");
}

#[tokio::test]
async fn source_department_uploads_a_csv_and_the_job_page_follows_it_to_success() {
    upload_succeeds_and_the_job_page_follows_it_on(TestDb::sqlite()).await;
}

#[tokio::test]
async fn upload_through_the_console_works_on_postgres_too() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    upload_succeeds_and_the_job_page_follows_it_on(db).await;
}

#[tokio::test]
async fn a_wrong_schema_ends_failed_naming_the_columns_and_adds_no_version() {
    let t = TestApp::sqlite().await;
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    let csv = DemoDataset::EnterpriseRegistry.csv(50, CsvEncoding::Utf8);
    let reply = upload(&mut source, id, "wrong.csv", "text/csv", &csv).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let done = until_finished(&mut source, reply.location()).await;
    assert!(done.has("已失败"), "{}", done.body);
    assert!(done.has("导入失败，未添加数据集版本"), "{}", done.body);
    assert!(done.has("resident_id"), "the missing column: {}", done.body);
    assert_eq!(versions(&t, id).await, before);
    assert_eq!(events(&t, "dataset.import", "failed").await, 1);

    // In English, the page's own words are English.
    let csrf = source.get("/").await.csrf();
    source
        .post("/lang", &[("_csrf", &csrf), ("lang", "en"), ("next", "/")])
        .await;
    let english = source.get(reply.location()).await;
    assert!(english.has("Failed"), "{}", english.body);
    assert!(english.has("no dataset version was added"));
}

#[tokio::test]
async fn a_merchant_sees_no_upload_form_and_its_post_is_refused_and_audited() {
    let t = TestApp::sqlite().await;
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let denied = events(&t, "dataset.import", "denied").await;
    let mut merchant = signed_in(&t, "merchant").await;
    let page = merchant.get(&format!("/resources/{id}")).await;
    assert!(!page.has("multipart/form-data"), "{}", page.body);

    let csrf = merchant.get("/").await.csrf();
    let csv = SOCIAL.csv(20, CsvEncoding::Utf8);
    let reply = merchant
        .post_multipart(
            &format!("/resources/{id}/datasets"),
            &[
                Part::field("_csrf", &csrf),
                Part::file("file", "x.csv", "text/csv", &csv),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(events(&t, "dataset.import", "denied").await, denied + 1);
    assert_eq!(versions(&t, id).await, before);
    assert_eq!(spool_files(&t), 0);

    // Nor may a merchant watch someone's job; an unknown job is not found.
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    let reply = upload(&mut source, id, "ok.csv", "text/csv", &csv).await;
    let job = reply.location().to_owned();
    until_finished(&mut source, &job).await;
    let watched = merchant.get(&job).await;
    assert_eq!(watched.status, StatusCode::FORBIDDEN, "{}", watched.body);
    let unknown = source
        .get("/imports/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let garbage = source.get("/imports/not-a-job").await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_without_the_csrf_token_is_refused_and_audited() {
    let t = TestApp::sqlite().await;
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let refused = events(&t, "auth.csrf", "denied").await;
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    let csv = SOCIAL.csv(20, CsvEncoding::Utf8);
    let path = format!("/resources/{id}/datasets");

    let reply = source
        .post_multipart(&path, &[Part::file("file", "x.csv", "text/csv", &csv)])
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    let wrong = "0".repeat(64);
    let reply = source
        .post_multipart(
            &path,
            &[
                Part::field("_csrf", &wrong),
                Part::file("file", "x.csv", "text/csv", &csv),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(events(&t, "auth.csrf", "denied").await, refused + 2);
    assert_eq!(events(&t, "dataset.import", "ok").await, 0);
    assert_eq!(jobs(&t, id).await, 0, "no import started");
    assert_eq!(versions(&t, id).await, before);
}

#[tokio::test]
async fn an_oversize_upload_gets_a_clear_page_and_is_audited() {
    let t = TestApp::sqlite().await;
    let state = shuyu_api::ApiState {
        web: Arc::new(shuyu_api::WebSettings {
            secure_cookies: false,
            upload_limit: 4 * 1024,
            ..shuyu_api::WebSettings::default()
        }),
        ..t.state.clone()
    };
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    source.router = shuyu_console::router(state);
    let page = source.get(&format!("/resources/{id}")).await;
    assert!(page.has("4.0 KiB"), "the limit is shown: {}", page.body);

    // Over the upload limit, within the route's body limit (the upload limit plus 64 KiB of
    // framing): the spool's own check refuses it, audited.
    let csv = SOCIAL.csv(200, CsvEncoding::Utf8);
    assert!(
        csv.len() > 4 * 1024 && csv.len() < 60 * 1024,
        "{}",
        csv.len()
    );
    let reply = upload(&mut source, id, "big.csv", "text/csv", &csv).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert!(reply.has("文件过大"), "{}", reply.body);
    assert!(reply.has("max_upload_mib"), "{}", reply.body);
    assert_eq!(events(&t, "dataset.import", "failed").await, 1);
    assert_eq!(versions(&t, id).await, before);
    assert_eq!(spool_files(&t), 0, "nothing kept");
}

#[tokio::test]
async fn an_endless_preamble_is_cut_off_at_the_upload_limit() {
    let t = TestApp::sqlite().await;
    let state = shuyu_api::ApiState {
        web: Arc::new(shuyu_api::WebSettings {
            secure_cookies: false,
            upload_limit: 4 * 1024,
            ..shuyu_api::WebSettings::default()
        }),
        ..t.state.clone()
    };
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    source.router = shuyu_console::router(state);
    let page = source.get(&format!("/resources/{id}")).await;
    let csrf = page.csrf();
    // Megabytes of junk before the first part: never read past the limit and its framing.
    let mut body = vec![b'x'; 4 * 1024 * 1024];
    body.extend_from_slice(b"\r\n");
    body.extend(common::multipart(&[
        Part::field("_csrf", &csrf),
        Part::file("file", "small.csv", "text/csv", b"a,b\n1,2\n"),
    ]));
    let content_type = format!("multipart/form-data; boundary={}", common::BOUNDARY);
    let reply = source
        .send_body(
            "POST",
            &format!("/resources/{id}/datasets"),
            Some(&content_type),
            body,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert!(reply.has("文件过大"), "{}", reply.body);
    assert_eq!(versions(&t, id).await, before);
    assert_eq!(spool_files(&t), 0, "nothing kept");
}

#[tokio::test]
async fn an_unsupported_file_type_or_no_file_gets_a_clear_page() {
    let t = TestApp::sqlite().await;
    let id = social(&t).await;
    let before = versions(&t, id).await;
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    let reply = upload(
        &mut source,
        id,
        "表格.xlsx",
        "application/zip",
        b"PK\x03\x04",
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        reply.body
    );
    assert!(reply.has("不支持的文件类型"), "{}", reply.body);

    let csrf = source.get(&format!("/resources/{id}")).await.csrf();
    let reply = source
        .post_multipart(
            &format!("/resources/{id}/datasets"),
            &[
                Part::field("_csrf", &csrf),
                Part::file("file", "", "application/octet-stream", b""),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.has("请选择要上传的数据文件"), "{}", reply.body);
    assert_eq!(events(&t, "dataset.import", "ok").await, 0);
    assert_eq!(versions(&t, id).await, before);
}

#[tokio::test]
async fn a_running_job_reloads_itself_every_two_seconds_and_stops_when_it_ends() {
    let t = TestApp::sqlite().await;
    let id = social(&t).await;
    let ctx = provider_ctx(&t).await;
    // An import authorized and registered, its file not yet read.
    let pending = t.app.begin_import(&ctx, id, Some(1_000)).await.unwrap();
    let job = format!("/imports/{}", pending.id());
    let mut source = signed_in(&t, SOCIAL.provider_username()).await;
    let running = source.get(&job).await;
    assert_eq!(running.status, StatusCode::OK, "{}", running.body);
    assert!(
        running.has(r#"<meta http-equiv="refresh" content="2">"#),
        "{}",
        running.body
    );
    assert!(running.has("进行中"), "{}", running.body);
    assert!(
        running.has(r#"<progress max="100" value="0">"#),
        "{}",
        running.body
    );
    let resource = source.get(&format!("/resources/{id}")).await;
    assert!(
        resource.has(&format!(r#"href="{job}""#)),
        "listed while running"
    );

    // Dropped unfinished, the job ends failed: the page stops reloading and says why.
    drop(pending);
    let ended = source.get(&job).await;
    assert!(!ended.has(REFRESH), "{}", ended.body);
    assert!(
        ended.has("已失败") && ended.has("send the file again"),
        "{}",
        ended.body
    );
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let t = TestApp::sqlite().await;
    let id = social(&t).await;
    let mut visitor = Browser::new(&t);
    let job = visitor
        .get("/imports/00000000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(job.status, StatusCode::SEE_OTHER);
    assert_eq!(job.location(), "/login");
    let csv = SOCIAL.csv(20, CsvEncoding::Utf8);
    let post = visitor
        .post_multipart(
            &format!("/resources/{id}/datasets"),
            &[
                Part::field("_csrf", "x"),
                Part::file("file", "x.csv", "text/csv", &csv),
            ],
        )
        .await;
    assert_eq!(post.status, StatusCode::SEE_OTHER);
    assert_eq!(post.location(), "/login");
    assert_eq!(jobs(&t, id).await, 0);
}
