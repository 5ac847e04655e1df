//! `/audit`: search the audit trail (paged backwards with `before`), export it as CSV or JSON Lines
//! (`/audit/export`, streamed) and check the chain's integrity (`/audit/verify`). Who may do which is
//! the policy's answer inside `App::search_audit`, `export_audit` and `verify_audit`; every search
//! and export is itself appended to the chain by the app.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use shuyu_api::{ApiState, AuditEventOut, audit_csv_header, audit_csv_line, audit_jsonl_line};
use shuyu_app::{AppError, AuditQuery};
use shuyu_audit::{EventRecord, Outcome};
use shuyu_core::{Role, Timestamp};
use shuyu_policy::{Action, Resource};
use shuyu_store::VerifyOutcome;

use crate::i18n::{Lang, fill};
use crate::layout::{Notice, Section, describe_error, notice, when};
use crate::pages::personnel::org_names;
use crate::web::SignedIn;

/// Events per page.
const PAGE: u32 = 50;

/// The search form's fields, as sent (every one optional; the app validates).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    #[serde(default, skip_serializing_if = "is_blank")]
    actor: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    org: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    action: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    object_type: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    object_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    outcome: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    to: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    before: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    format: Option<String>,
}

fn is_blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

impl AuditParams {
    fn parse(raw: Option<&str>) -> Option<AuditParams> {
        serde_urlencoded::from_str(raw.unwrap_or_default()).ok()
    }

    fn query(&self) -> AuditQuery {
        AuditQuery {
            actor: self.actor.clone(),
            org: self.org.clone(),
            action: self.action.clone(),
            object_type: self.object_type.clone(),
            object_id: self.object_id.clone(),
            outcome: self.outcome.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }

    /// The filters as a query string, with `before` / `format` replaced.
    fn link(&self, before: Option<u64>, format: Option<&str>) -> String {
        let params = AuditParams {
            before: before.map(|b| b.to_string()),
            format: format.map(str::to_owned),
            ..self.clone()
        };
        serde_urlencoded::to_string(&params).unwrap_or_default()
    }
}

/// A filter's value as typed, for the form.
fn typed(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

/// `GET /audit`.
pub(crate) async fn search(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let t = me.lang().texts();
    let Some(params) = AuditParams::parse(raw.as_deref()) else {
        return me
            .chrome
            .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form);
    };
    let before = match params.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => match b.parse::<u64>() {
            Ok(seq) => Some(seq),
            Err(_) => {
                let err = AppError::Invalid {
                    field: "before",
                    message: "give a sequence number".into(),
                };
                return failed_search(&state, &me, &params, err);
            }
        },
    };
    let events = match state
        .app
        .search_audit(&me.ctx, &params.query(), before, PAGE)
        .await
    {
        Ok(events) => events,
        Err(err) => return failed_search(&state, &me, &params, err),
    };
    let names = person_names(&state, &me).await;
    let orgs = org_names(&state, &me).await;
    let next = (events.len() == PAGE as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    let lang = me.lang();
    let results = html! {
        section.card {
            div.card-head {
                h2 { (t.audit_results) }
                div.exports {
                    span.muted { (t.audit_export) ": " }
                    a.button.small.secondary href={ "/audit/export?" (params.link(None, Some("csv"))) } { (t.audit_export_csv) }
                    " "
                    a.button.small.secondary href={ "/audit/export?" (params.link(None, Some("jsonl"))) } { (t.audit_export_jsonl) }
                }
            }
            @if events.is_empty() {
                p.muted { (t.audit_none) }
            } @else {
                div.table-wrap {
                    table.data.audit {
                        thead { tr {
                            th { (t.audit_seq) } th { (t.audit_time) } th { (t.audit_actor_column) }
                            th { (t.role) } th { (t.audit_action) } th { (t.audit_object) }
                            th { (t.audit_outcome) } th { (t.audit_detail) } th { (t.audit_hash) }
                        } }
                        tbody {
                            @for event in &events { (event_row(lang, event, &names, &orgs)) }
                        }
                    }
                }
                nav.pager {
                    @if before.is_some() {
                        a href={ "/audit?" (params.link(None, None)) } { (t.audit_first) }
                    }
                    @if let Some(seq) = next {
                        a href={ "/audit?" (params.link(Some(seq), None)) } { (t.audit_next) }
                    }
                }
            }
        }
    };
    page(&state, &me, &params, None, Some(results), StatusCode::OK)
}

/// The search page again with the error (bad filter), or the error page (refused).
fn failed_search(state: &ApiState, me: &SignedIn, params: &AuditParams, err: AppError) -> Response {
    match err {
        AppError::Invalid { .. } => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            page(
                state,
                me,
                params,
                Some(Notice::Error(message)),
                None,
                status,
            )
        }
        other => me.chrome.fail(other),
    }
}

fn page(
    state: &ApiState,
    me: &SignedIn,
    params: &AuditParams,
    shown: Option<Notice>,
    results: Option<Markup>,
    status: StatusCode,
) -> Response {
    let t = me.lang().texts();
    let outcome = params.outcome.as_deref().unwrap_or_default();
    let can_verify = me.may(state, Action::AuditVerify, &Resource::AuditTrail);
    let body = html! {
        h1 { (t.audit_title) }
        p.muted { (t.audit_intro) }
        @if let Some(n) = &shown { (notice(n)) }
        section.card {
            form.filters method="get" action="/audit" {
                label.field {
                    span.label { (t.audit_actor) }
                    input type="text" name="actor" value=(typed(&params.actor));
                }
                label.field {
                    span.label { (t.audit_org) }
                    input type="text" name="org" value=(typed(&params.org));
                }
                label.field {
                    span.label { (t.audit_action) }
                    input type="text" name="action" value=(typed(&params.action)) placeholder="person.*";
                    small.hint { (t.audit_action_hint) }
                }
                label.field {
                    span.label { (t.audit_object_type) }
                    input type="text" name="object_type" value=(typed(&params.object_type));
                }
                label.field {
                    span.label { (t.audit_object_id) }
                    input type="text" name="object_id" value=(typed(&params.object_id));
                }
                label.field {
                    span.label { (t.audit_outcome) }
                    select name="outcome" {
                        option value="" selected[outcome.is_empty()] { (t.audit_outcome_any) }
                        @for o in Outcome::ALL {
                            option value=(o.as_str()) selected[outcome == o.as_str()] { (outcome_label(me.lang(), o)) }
                        }
                    }
                }
                label.field {
                    span.label { (t.audit_from) }
                    input type="text" name="from" value=(typed(&params.from)) placeholder="2026-11-24";
                    small.hint { (t.audit_date_hint) }
                }
                label.field {
                    span.label { (t.audit_to) }
                    input type="text" name="to" value=(typed(&params.to)) placeholder="2026-11-25";
                }
                div.form-buttons {
                    button.primary type="submit" { (t.audit_search) }
                    a.button.secondary href="/audit" { (t.audit_reset) }
                }
            }
        }
        @if let Some(results) = results { (results) }
        @if can_verify {
            section.card.integrity {
                h2 { (t.verify_title) }
                p.muted { (t.verify_text) }
                a.button.secondary href="/audit/verify" { (t.verify_run) }
            }
        }
    };
    me.chrome
        .respond(status, t.audit_title, Some(Section::Audit), body)
}

fn event_row(
    lang: Lang,
    event: &EventRecord,
    names: &HashMap<String, String>,
    orgs: &HashMap<String, String>,
) -> Markup {
    let t = lang.texts();
    let d = &event.draft;
    let hash = hex::encode(event.hash);
    let short_hash: String = hash.chars().take(12).collect();
    // Ids are UUIDv7 (time first), so their tail tells them apart; people and organisations the
    // caller may see are shown by name.
    let object_name = match d.object_type.as_str() {
        "person" => names.get(&d.object_id).cloned(),
        "org" => orgs.get(&d.object_id).cloned(),
        _ => None,
    };
    let object_tail: String = {
        let chars: Vec<char> = d.object_id.chars().collect();
        let skip = chars.len().saturating_sub(12);
        let tail: String = chars.into_iter().skip(skip).collect();
        if skip > 0 { format!("…{tail}") } else { tail }
    };
    html! {
        tr {
            td.num { (event.seq) }
            td.nowrap { (when(Timestamp::from_unix_micros(d.at_micros))) }
            td {
                @match &d.actor_person {
                    Some(id) => {
                        span title=(id) { (names.get(id).map_or(id.as_str(), String::as_str)) }
                        @if let Some(org) = d.actor_org.as_ref().and_then(|o| orgs.get(o)) {
                            br; small.muted { (org) }
                        }
                    },
                    None if d.role == "anonymous" => { span.muted { (t.audit_anonymous) } },
                    None => { span.muted { (t.audit_system) } },
                }
            }
            td { (role_label(lang, &d.role)) }
            td { code { (d.action) } }
            td {
                (d.object_type)
                @if let Some(name) = &object_name {
                    " " span title=(d.object_id) { (name) }
                } @else if !d.object_id.is_empty() {
                    " " code title=(d.object_id) { (object_tail) }
                }
            }
            td { span class={ "outcome " (d.outcome.as_str()) } { (outcome_label(lang, d.outcome)) } }
            td.detail { (d.detail) }
            td { code title=(hash) { (short_hash) } }
        }
    }
}

/// The role an event was recorded under (`merchant`, `merchant+token`, `system`, `anonymous`).
fn role_label(lang: Lang, recorded: &str) -> String {
    let (base, token) = match recorded.split_once('+') {
        Some((base, suffix)) => (base, Some(suffix)),
        None => (recorded, None),
    };
    let t = lang.texts();
    let label = match base {
        "system" => t.audit_system.to_owned(),
        "anonymous" => t.audit_anonymous.to_owned(),
        other => other
            .parse::<Role>()
            .map_or_else(|_| other.to_owned(), |r| r.label(lang.chinese()).to_owned()),
    };
    match token {
        Some(_) => format!("{label} (API)"),
        None => label,
    }
}

fn outcome_label(lang: Lang, outcome: Outcome) -> &'static str {
    let t = lang.texts();
    match outcome {
        Outcome::Ok => t.outcome_ok,
        Outcome::Denied => t.outcome_denied,
        Outcome::Failed => t.outcome_failed,
    }
}

/// Usernames by person id, for the people visible to the caller.
pub(crate) async fn person_names(state: &ApiState, me: &SignedIn) -> HashMap<String, String> {
    state
        .app
        .people(&me.ctx, None)
        .await
        .map(|people| {
            people
                .into_iter()
                .map(|p| (p.id.to_string(), p.username.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /audit/export?format=csv|jsonl&…`: every matching event, oldest first, streamed.
pub(crate) async fn export(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let t = me.lang().texts();
    let Some(params) = AuditParams::parse(raw.as_deref()) else {
        return me
            .chrome
            .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form);
    };
    let format = params
        .format
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or("csv")
        .to_owned();
    let csv = match format.as_str() {
        "csv" => true,
        "jsonl" => false,
        _ => {
            return me.chrome.fail(AppError::Invalid {
                field: "format",
                message: "format is csv or jsonl".into(),
            });
        }
    };
    let events = match state
        .app
        .export_audit(&me.ctx, &params.query(), &format)
        .await
    {
        Ok(events) => events,
        Err(err) => return me.chrome.fail(err),
    };
    let request_id = me.chrome.request_id.clone();
    let head = csv.then(|| Ok::<_, std::io::Error>(audit_csv_header()));
    let lines = events.map(move |item| match item {
        Ok(event) => {
            let out = AuditEventOut::from(&event);
            Ok(if csv {
                audit_csv_line(&out)
            } else {
                audit_jsonl_line(&out)
            })
        }
        Err(err) => {
            tracing::error!(request_id = %request_id, error = %err, "audit export failed midway");
            Err(std::io::Error::other("export failed"))
        }
    });
    let body = futures_util::stream::iter(head).chain(lines);
    let (content_type, name) = if csv {
        ("text/csv; charset=utf-8", "audit.csv")
    } else {
        ("application/jsonl", "audit.jsonl")
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `GET /audit/verify`: recomputes the chain (integrity only, no content).
pub(crate) async fn verify(State(state): State<ApiState>, me: SignedIn) -> Response {
    let t = me.lang().texts();
    let outcome = match state
        .app
        .verify_audit(&me.ctx, (*state.verifier).clone())
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return me.chrome.fail(err),
    };
    let can_search = me.may(&state, Action::AuditSearch, &Resource::AuditTrail);
    let body = html! {
        h1 { (t.verify_title) }
        p.muted { (t.verify_text) }
        @match &outcome {
            VerifyOutcome::Intact(report) => {
                div.notice.ok role="status" {
                    "✓ "
                    (fill(t.verify_intact, &[
                        &report.events.to_string(),
                        &report.checkpoints.to_string(),
                        &report.last_checkpoint_seq.to_string(),
                        &report.unsigned_tail.to_string(),
                    ]))
                }
            },
            VerifyOutcome::Broken(broken) => {
                div.notice.error role="alert" {
                    "✗ "
                    (fill(t.verify_broken, &[&broken.to_string(), &broken.seq().to_string()]))
                }
            },
        }
        p {
            a.button.secondary href="/audit/verify" { (t.verify_run) }
            @if can_search { " " a.button.secondary href="/audit" { (t.audit_title) } }
        }
    };
    me.chrome
        .respond(StatusCode::OK, t.verify_title, Some(Section::Audit), body)
}
