//! Importing a dataset version from the console (CAT-3): the upload form on `/resources/{id}`
//! posts a file to `/resources/{id}/datasets`, which is spooled encrypted and imported in the
//! background; `/imports/{id}` shows the job and reloads itself while it runs.
//!
//! The upload is `multipart/form-data` whose first part must be the session's `_csrf` token: it is
//! checked ([`check_csrf`]) and the import authorized (`App::check_import`, the policy decides and
//! a refusal is audited) before the file part is read. The file part is streamed into the app's
//! encrypted spool within `[storage] max_upload_mib` (`App::spool_upload`: an upload over it is
//! refused and audited, nothing is kept), never held in memory whole; then `App::start_import`
//! registers the job and runs the import in a task, and the browser is sent (303) to the job.
//!
//! Must never: show a data value (a failed job shows its error, which names lines, columns and
//! fields only), decide access itself.

use axum::extract::multipart::{Field, Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use shuyu_api::ApiState;
use shuyu_app::{AppError, ImportJob, ImportState, UploadError, UploadKind};
use shuyu_catalog::ResourceId;
use shuyu_core::DatasetId;

use crate::i18n::{Lang, fill};
use crate::layout::{Section, describe_error, when};
use crate::pages::resources::size;
use crate::web::{CSRF_FIELD, SignedIn, check_csrf};

/// The name of the file part of the upload form.
pub(crate) const FILE_FIELD: &str = "file";
/// How long the job page waits before reloading itself while the import runs.
const REFRESH_SECONDS: u32 = 2;
/// A CSRF token is 64 hex digits; a longer `_csrf` part is not read further.
const CSRF_MAX: usize = 128;

/// The upload form on the resource page (shown when the policy would allow `dataset.import` and
/// the resource has an approved version; the use case asks again).
pub(crate) fn upload_form(lang: Lang, id: ResourceId, csrf: &str, limit: u64) -> Markup {
    let t = lang.texts();
    html! {
        section.card.upload {
            h2 { (t.up_title) }
            p.muted { (t.up_intro) }
            form.action.stack method="post" action={ "/resources/" (id) "/datasets" } enctype="multipart/form-data" {
                // The token comes first: the server checks it before it reads the file.
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label.field {
                    span.label { (t.up_file) }
                    input type="file" name=(FILE_FIELD) accept=".csv,.parquet" required;
                }
                p.hint { (fill(t.up_limit, &[&size(limit)])) }
                button.primary type="submit" { (t.up_submit) }
            }
        }
    }
}

/// A job's state as a badge.
pub(crate) fn job_badge(lang: Lang, state: &ImportState) -> Markup {
    let t = lang.texts();
    match state {
        ImportState::Running => html! { span.badge.state.pending { (t.job_running) } },
        ImportState::Succeeded { .. } => html! { span.badge.state.approved { (t.job_succeeded) } },
        ImportState::Failed(_) => html! { span.badge.state.refused { (t.job_failed) } },
    }
}

/// The import jobs of a resource, newest first, each linking to its page.
pub(crate) fn jobs_section(
    lang: Lang,
    jobs: &[ImportJob],
    names: &std::collections::HashMap<String, String>,
) -> Markup {
    let t = lang.texts();
    html! {
        section.card.import-jobs {
            h2 { (t.jobs_title) }
            p.muted { (t.jobs_intro) }
            div.table-wrap {
                table.data.import-jobs {
                    thead { tr {
                        th { (t.job_started_at) } th { (t.job_started_by) } th { (t.job_state) }
                        th { (t.job_rows) } th { (t.job_progress) } th {}
                    } }
                    tbody {
                        @for job in jobs {
                            tr {
                                td.nowrap { (when(job.started_at)) }
                                td { (person(names, job)) }
                                td { (job_badge(lang, &job.state)) }
                                td.num { (job.rows) }
                                td.num { @if let Some(p) = job.percent() { (p) "%" } @else { "—" } }
                                td { a href={ "/imports/" (job.id) } { (t.job_view) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn person(names: &std::collections::HashMap<String, String>, job: &ImportJob) -> Markup {
    match names.get(&job.started_by.to_string()) {
        Some(name) => html! { (name) },
        None => html! { code { (job.started_by) } },
    }
}

/// The kind of file a part carries: by its file name's extension, else its content type.
fn kind_of(file_name: Option<&str>, content_type: Option<&str>) -> Option<UploadKind> {
    let extension = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => return Some(UploadKind::Csv),
        Some("parquet") => return Some(UploadKind::Parquet),
        _ => {}
    }
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "text/csv" => Some(UploadKind::Csv),
        shuyu_api::PARQUET | "application/x-parquet" => Some(UploadKind::Parquet),
        _ => None,
    }
}

/// The value of the `_csrf` part, read up to [`CSRF_MAX`] bytes (longer is wrong anyway).
async fn read_token(field: &mut Field<'_>) -> Option<String> {
    read_text(field, CSRF_MAX).await
}

/// A text part, read up to `max` bytes (`None` when longer or not UTF-8).
async fn read_text(field: &mut Field<'_>, max: usize) -> Option<String> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.ok()? {
        if value.len() + chunk.len() > max {
            return None;
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value).ok()
}

/// The text parts of the fusion form, in the order the form sends them (after `_csrf`, before
/// the file).
const FUSION_FIELDS: [&str; 4] = ["table", "legal_basis", "columns", "unit"];
/// The most bytes of one text part of the fusion form.
const FUSION_TEXT_MAX: usize = 16 * 1024;

/// The fusion request form on the workspace page (shown when the policy would allow
/// `fusion.request`; the use case asks again): the declaration as text, then the file.
pub(crate) fn fusion_form(
    lang: Lang,
    workspace: shuyu_core::WorkspaceId,
    csrf: &str,
    limit: u64,
) -> Markup {
    let t = lang.texts();
    html! {
        form.action.stack method="post" action={ "/workspaces/" (workspace) "/fusion" } enctype="multipart/form-data" {
            h3 { (t.fu_form_title) }
            // The token comes first: the server checks it before it reads anything else.
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            label.field {
                span.label { (t.fu_table) }
                input type="text" name="table" required pattern="[a-z_][a-z0-9_]{0,62}" autocomplete="off";
            }
            label.field {
                span.label { (t.fu_basis) }
                textarea name="legal_basis" rows="2" required {}
            }
            label.field {
                span.label { (t.fu_columns) }
                textarea name="columns" rows="4" required {}
                span.hint { (t.fu_form_columns_hint) }
            }
            label.field {
                span.label { (t.fu_unit) }
                input type="text" name="unit" autocomplete="off";
                span.hint { (t.fu_form_unit_hint) }
            }
            label.field {
                span.label { (t.up_file) }
                input type="file" name=(FILE_FIELD) accept=".csv,.parquet" required;
            }
            p.hint { (fill(t.up_limit, &[&size(limit)])) }
            button.primary type="submit" { (t.fu_form_submit) }
        }
    }
}

/// `POST /workspaces/{id}/fusion`: a fusion request from the console (`_csrf`, the declaration's
/// text parts, then the file), spooled and imported like the API's; back to the workspace page.
pub(crate) async fn fusion_upload(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    me: SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(id) = id.parse::<shuyu_core::WorkspaceId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "workspace" });
    };
    let Ok(mut multipart) = multipart else {
        return bad_form(&me);
    };
    let presented = match multipart.next_field().await {
        Ok(Some(mut field)) if field.name() == Some(CSRF_FIELD) => {
            read_token(&mut field).await.unwrap_or_default()
        }
        Ok(_) => String::new(),
        Err(err) => return unreadable(&state, &me, &err),
    };
    if let Err(refused) = check_csrf(&state, &me, &presented).await {
        return refused;
    }
    if let Err(err) = state.app.check_fusion(&me.ctx, id).await {
        return me.chrome.fail(err);
    }
    let mut texts: Vec<String> = Vec::with_capacity(FUSION_FIELDS.len());
    for name in FUSION_FIELDS {
        match multipart.next_field().await {
            Ok(Some(mut field)) if field.name() == Some(name) => {
                match read_text(&mut field, FUSION_TEXT_MAX).await {
                    Some(text) => texts.push(text),
                    None => return bad_form(&me),
                }
            }
            Ok(_) => return bad_form(&me),
            Err(err) => return unreadable(&state, &me, &err),
        }
    }
    let [table, legal_basis, columns, unit] = texts.as_slice() else {
        return bad_form(&me);
    };
    let declaration = match shuyu_app::fusion_declaration(table, legal_basis, columns, unit) {
        Ok(declaration) => declaration,
        Err(err) => return me.chrome.fail(err),
    };
    let (field, kind) = match file_part(&state, &me, &mut multipart).await {
        Ok(part) => part,
        Err(refused) => return refused,
    };
    let limit = state.web.upload_limit;
    let spooled = state
        .app
        .spool_fusion_upload(&me.ctx, id, kind, None, limit, field)
        .await;
    let source = match spooled {
        Ok((source, _)) => source,
        Err(err) => return upload_failed(&me, err),
    };
    match state
        .app
        .request_fusion(&me.ctx, id, declaration, source)
        .await
    {
        Ok(_) => Redirect::to(&format!("/workspaces/{id}")).into_response(),
        Err(err) => me.chrome.fail(err),
    }
}

fn bad_form(me: &SignedIn) -> Response {
    let t = me.lang().texts();
    me.chrome
        .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form)
}

/// A multipart body that cannot be read: over the route's body limit (the upload limit plus its
/// framing: a body that big before its file part is not an upload) → the "too large" page, else
/// the "bad form" page.
fn unreadable(state: &ApiState, me: &SignedIn, err: &MultipartError) -> Response {
    if err.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return bad_form(me);
    }
    let t = me.lang().texts();
    me.chrome.error_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        t.up_too_large_title,
        &fill(t.up_too_large, &[&size(state.web.upload_limit)]),
    )
}

/// The upload's file part, which must come next, with its kind (CSV or Parquet); otherwise the
/// page that says what is wrong.
async fn file_part<'m>(
    state: &ApiState,
    me: &SignedIn,
    multipart: &'m mut Multipart,
) -> Result<(Field<'m>, UploadKind), Response> {
    let t = me.lang().texts();
    let field = match multipart.next_field().await {
        Ok(Some(field))
            if field.name() == Some(FILE_FIELD)
                && field.file_name().is_some_and(|n| !n.is_empty()) =>
        {
            field
        }
        Ok(_) => {
            return Err(me
                .chrome
                .error_page(StatusCode::BAD_REQUEST, t.error_title, t.up_no_file));
        }
        Err(err) => return Err(unreadable(state, me, &err)),
    };
    match kind_of(field.file_name(), field.content_type()) {
        Some(kind) => Ok((field, kind)),
        None => Err(me.chrome.error_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            t.up_unsupported_title,
            t.up_unsupported,
        )),
    }
}

/// The page of an upload that could not be spooled.
fn upload_failed(me: &SignedIn, err: UploadError) -> Response {
    let t = me.lang().texts();
    match err {
        UploadError::TooLarge { limit } => me.chrome.error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            t.up_too_large_title,
            &fill(t.up_too_large, &[&size(limit)]),
        ),
        UploadError::Interrupted => {
            me.chrome
                .error_page(StatusCode::BAD_REQUEST, t.error_title, t.up_interrupted)
        }
        UploadError::App(err) => me.chrome.fail(err),
    }
}

/// `POST /resources/{id}/datasets`: spool the uploaded file and start its import.
pub(crate) async fn upload(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    me: SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "resource" });
    };
    let Ok(mut multipart) = multipart else {
        return bad_form(&me);
    };
    // The first part must be the CSRF token; anything else is refused like a missing token.
    let presented = match multipart.next_field().await {
        Ok(Some(mut field)) if field.name() == Some(CSRF_FIELD) => {
            read_token(&mut field).await.unwrap_or_default()
        }
        Ok(_) => String::new(),
        Err(err) => return unreadable(&state, &me, &err),
    };
    if let Err(refused) = check_csrf(&state, &me, &presented).await {
        return refused;
    }
    if let Err(err) = state.app.check_import(&me.ctx, id).await {
        return me.chrome.fail(err);
    }
    let (field, kind) = match file_part(&state, &me, &mut multipart).await {
        Ok(part) => part,
        Err(refused) => return refused,
    };
    let limit = state.web.upload_limit;
    let spooled = state
        .app
        .spool_upload(&me.ctx, id, kind, None, limit, field)
        .await;
    let (source, bytes) = match spooled {
        Ok(spooled) => spooled,
        Err(err) => return upload_failed(&me, err),
    };
    match state.app.start_import(&me.ctx, id, source, bytes).await {
        Ok(job) => Redirect::to(&format!("/imports/{}", job.id)).into_response(),
        Err(err) => me.chrome.fail(err),
    }
}

/// A failed job's error as the console words app errors (`describe_error`), one line per field
/// it names: lines, columns and fields, never a data value.
fn failure_lines(lang: Lang, request_id: &str, err: &AppError) -> Vec<String> {
    match err {
        AppError::InvalidFields(problems) => problems
            .iter()
            .map(|(field, message)| {
                format!("{}{message}", fill(lang.texts().field_prefix, &[field]))
            })
            .collect(),
        other => vec![describe_error(lang, request_id, other.clone()).2],
    }
}

/// `GET /imports/{id}`: the job, reloading every 2 s while it runs.
pub(crate) async fn job(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<DatasetId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "import job" });
    };
    let job = match state.app.import_job(&me.ctx, id).await {
        Ok(job) => job,
        Err(err) => return me.chrome.fail(err),
    };
    let lang = me.lang();
    let t = lang.texts();
    let resource_name = state
        .app
        .resource(&me.ctx, job.resource)
        .await
        .ok()
        .and_then(|view| {
            view.resource
                .latest()
                .map(|v| v.content().metadata().name().to_string())
        })
        .unwrap_or_else(|| job.resource.to_string());
    let names = crate::pages::audit::person_names(&state, &me).await;
    let resource_href = format!("/resources/{}", job.resource);
    let failure = match &job.state {
        ImportState::Failed(err) => Some(failure_lines(lang, &me.chrome.request_id, err)),
        _ => None,
    };
    let body = html! {
        p { a href=(resource_href) { "← " (resource_name) } }
        h1 { (t.job_title) " " (job_badge(lang, &job.state)) }
        section.card.import-job {
            dl.facts {
                dt { (t.job_resource) } dd { a href=(resource_href) { (resource_name) } }
                dt { (t.job_started_by) } dd { (person(&names, &job)) }
                dt { (t.job_started_at) } dd { (when(job.started_at)) }
                dt { (t.job_state) } dd { (job_badge(lang, &job.state)) }
                dt { (t.job_rows) } dd { (job.rows) }
                dt { (t.job_bytes) } dd {
                    (size(job.input_bytes))
                    @if let Some(total) = job.total_bytes { " / " (size(total)) }
                }
                // A failed import's share read says nothing useful: it is not shown.
                @if let (Some(p), false) = (job.percent(), failure.is_some()) {
                    dt { (t.job_progress) }
                    dd.progress {
                        progress max="100" value=(p) { (p) "%" }
                        " " span.num { (p) "%" }
                    }
                }
            }
            @match &job.state {
                ImportState::Running => p.hint.refreshing { (t.job_refreshing) },
                ImportState::Succeeded { number, .. } => div.notice.ok role="status" {
                    (fill(t.job_done, &[&number.to_string()])) " "
                    a href={ (resource_href) "#datasets" } { (resource_name) }
                },
                ImportState::Failed(_) => div.notice.error role="alert" {
                    p { strong { (t.job_failed_text) } }
                    @if let Some(lines) = &failure {
                        ul.problems { @for line in lines { li { (line) } } }
                    }
                },
            }
            p.muted { small { (t.job_kept) } }
        }
    };
    if matches!(job.state, ImportState::Running) {
        me.chrome
            .respond_refreshing(t.job_title, Some(Section::Resources), body, REFRESH_SECONDS)
    } else {
        me.chrome
            .respond(StatusCode::OK, t.job_title, Some(Section::Resources), body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_kind_comes_from_the_name_then_the_content_type() {
        assert_eq!(kind_of(Some("a.CSV"), None), Some(UploadKind::Csv));
        assert_eq!(
            kind_of(Some("x.parquet"), Some("application/octet-stream")),
            Some(UploadKind::Parquet)
        );
        assert_eq!(
            kind_of(Some("data"), Some("text/csv; charset=utf-8")),
            Some(UploadKind::Csv)
        );
        assert_eq!(kind_of(Some("a.xlsx"), Some("application/zip")), None);
        assert_eq!(kind_of(None, None), None);
    }
}
