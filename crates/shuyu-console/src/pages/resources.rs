//! `/resources`: the managed side of the catalog for the people who run it. The list of resources
//! visible to the caller with the state of their latest version; `/resources/{id}` with its versions,
//! a field-level diff, whether it may be authorized, the review buttons, the national registration
//! record with its next steps and package, the quality issues, and — when the policy allows
//! `dataset.read` — the dataset versions with the field quality profile of the latest (aggregates
//! only, never a value), the resource's recent import jobs and — when the policy allows
//! `dataset.import` and a version is approved — the form to upload a new dataset version
//! (`imports.rs`).
//!
//! Buttons and forms are shown when `shuyu_policy::decide` would allow their action; every form
//! posts to one use case, which asks the policy again.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{AppError, DatasetView, RegistrationInput, RegistrationStep, ResourceView};
use shuyu_catalog::{
    Change, Document, QualityIssueId, RegistrationRecord, RegistrationState,
    Resource as CatalogResource, ResourceId, VersionState,
};
use shuyu_core::Timestamp;
use shuyu_policy::{Action, Resource};
use shuyu_quality::Extent;

use crate::i18n::{Lang, fill};
use crate::layout::{Notice, Section, describe_error, notice, when};
use crate::pages::DoneQuery;
use crate::pages::catalog::{
    RaiseFields, fields_table, metadata_facts, quality_section, raise_form,
};
use crate::pages::imports::{jobs_section, upload_form};
use crate::web::{CSRF_FIELD, NoFields, Posted, SignedIn};

const NOT_FOUND: AppError = AppError::NotFound { kind: "resource" };

/// The policy's view of a resource.
fn entry(resource: &CatalogResource) -> Resource {
    Resource::CatalogEntry {
        provider: resource.provider(),
        public: resource.current().is_some(),
    }
}

/// A version's state as a badge.
fn state_badge(lang: Lang, state: &VersionState) -> Markup {
    let t = lang.texts();
    let label = t.version_state(state);
    match state {
        VersionState::Draft => html! { span.badge.state.draft { (label) } },
        VersionState::Submitted { .. } => html! { span.badge.state.pending { (label) } },
        VersionState::Approved { .. } => html! { span.badge.state.approved { (label) } },
        VersionState::Refused { .. } => html! { span.badge.state.refused { (label) } },
        VersionState::Superseded { .. } => html! { span.badge.state.superseded { (label) } },
    }
}

fn reasons_of(state: &VersionState) -> &[String] {
    match state {
        VersionState::Refused { reasons, .. } => reasons,
        _ => &[],
    }
}

/// `GET /resources`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let t = me.lang().texts();
    let lang = me.lang();
    let resources = match state.app.resources(&me.ctx).await {
        Ok(resources) => resources,
        Err(err) => return me.chrome.fail(err),
    };
    let orgs = crate::pages::personnel::org_names(&state, &me).await;
    // Shown when the policy would allow registering for the person's own organisation; the use
    // case asks again.
    let can_register = match &me.ctx.principal {
        shuyu_policy::Principal::Person(actor) => me.may(
            &state,
            Action::ResourceRegister,
            &Resource::Org { id: actor.org },
        ),
        _ => false,
    };
    let shown = DoneQuery::parse(raw.as_deref()).notice(t);
    let body = html! {
        h1 { (t.resources_title) }
        p.muted { (t.resources_intro) }
        @if let Some(n) = &shown { (notice(n)) }
        @if can_register {
            p { a.button.primary href="/resources/new" { (t.res_register) } }
        }
        @if resources.is_empty() {
            p { (t.resources_none) }
        } @else {
            div.table-wrap {
                table.data.resources {
                    thead { tr {
                        th { (t.catalog_name) } th { (t.catalog_provider) } th { (t.res_latest) }
                        th { (t.res_state) } th { (t.res_current) }
                    } }
                    tbody {
                        @for r in &resources {
                            @if let Some(latest) = r.latest() {
                                tr {
                                    td { a href={ "/resources/" (r.id()) } { (latest.content().metadata().name()) } }
                                    td { (orgs.get(&r.provider().to_string()).map_or("", String::as_str)) }
                                    td.num { (latest.number()) }
                                    td {
                                        (state_badge(lang, latest.state()))
                                        @for reason in reasons_of(latest.state()) {
                                            br; small.muted { (reason) }
                                        }
                                    }
                                    td.num { @if let Some(c) = r.current() { (c.number()) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    me.chrome.respond(
        StatusCode::OK,
        t.resources_title,
        Some(Section::Resources),
        body,
    )
}

#[derive(Debug, Default, Deserialize)]
struct DetailQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `GET /resources/{id}`.
pub(crate) async fn detail(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let shown = DoneQuery::parse(raw.as_deref()).notice(me.lang().texts());
    let query: DetailQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let pick = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<u32>().ok());
    let pair = (pick(&query.from), pick(&query.to));
    render(&state, &me, id, pair, shown, StatusCode::OK).await
}

/// The resource page with a notice (a refused form of another module, e.g. a supply freeze).
pub(crate) async fn render_with_notice(
    state: &ApiState,
    me: &SignedIn,
    id: ResourceId,
    shown: Notice,
    status: StatusCode,
) -> Response {
    render(state, me, id, (None, None), Some(shown), status).await
}

async fn render(
    state: &ApiState,
    me: &SignedIn,
    id: ResourceId,
    (from, to): (Option<u32>, Option<u32>),
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let view = match state.app.resource(&me.ctx, id).await {
        Ok(view) => view,
        Err(err) => return me.chrome.fail(err),
    };
    let resource = &view.resource;
    let Some(latest) = resource.latest() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let count = u32::try_from(resource.versions().len()).unwrap_or(u32::MAX);
    let diff = if count >= 2 {
        let to = to.unwrap_or(count);
        let from = from.unwrap_or_else(|| to.saturating_sub(1).max(1));
        let changes = state.app.resource_diff(&me.ctx, id, from, to).await;
        Some((from, to, changes))
    } else {
        None
    };
    let registration = state.app.registration(&me.ctx, id).await.ok();
    let issues = state.app.quality_issues(&me.ctx, id).await.ok();
    let target = entry(resource);
    // Shown only when the policy allows reading datasets; the use case asks the policy again.
    let datasets = if me.may(state, Action::DatasetRead, &target) {
        let datasets = state.app.datasets(&me.ctx, id).await.ok();
        let jobs = state.app.import_jobs(&me.ctx, id).await.unwrap_or_default();
        let names = if datasets.as_ref().is_some_and(|d| !d.is_empty()) || !jobs.is_empty() {
            crate::pages::audit::person_names(state, me).await
        } else {
            HashMap::new()
        };
        datasets.map(|d| (d, jobs, names))
    } else {
        None
    };
    // Data can be imported once a version is approved.
    let can_import = resource.current().is_some() && me.may(state, Action::DatasetImport, &target);
    let csrf = me.session.csrf.clone();
    let base = format!("/resources/{id}");
    let pending = resource.pending();
    let can_submit = pending.is_some_and(|v| matches!(v.state(), VersionState::Draft))
        && me.may(state, Action::ResourceSubmit, &target);
    let can_review = pending.is_some_and(|v| matches!(v.state(), VersionState::Submitted { .. }))
        && me.may(state, Action::ResourceReview, &target);
    // A new version can be drafted once no version awaits review.
    let can_edit = pending.is_none() && me.may(state, Action::ResourceEdit, &target);
    let public = Resource::CatalogEntry {
        provider: resource.provider(),
        public: true,
    };
    let can_raise =
        resource.current().is_some() && me.may(state, Action::QualityIssueRaise, &public);
    let answers: Vec<Option<(String, String)>> = issues
        .as_ref()
        .map(|issues| {
            issues
                .issues
                .iter()
                .map(|(issue, _)| {
                    me.may(
                        state,
                        Action::QualityIssueAnswer,
                        &Resource::QualityIssue {
                            provider: resource.provider(),
                            raised_by: issue.raised_by(),
                        },
                    )
                    .then(|| (format!("{base}/issues/{}/answer", issue.id()), csrf.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    // The supply freeze panel (SBX-9), for approved resources: shown when the policy lets the
    // person see or change the freeze.
    let supply = if resource.current().is_some() {
        crate::pages::freezes::supply_panel(state, me, id).await
    } else {
        html! {}
    };
    let name = latest.content().metadata().name().to_string();
    let body = html! {
        p { a href="/resources" { "← " (t.resources_title) } }
        h1 { (name) " " (state_badge(lang, latest.state())) }
        @if let Some(n) = &shown { (notice(n)) }
        @if can_edit {
            p { a.button.secondary href={ (base) "/edit" } { (t.res_edit) } }
        }
        section.card {
            dl.facts {
                dt { (t.catalog_provider) } dd { (view.provider_name) }
                (metadata_facts(state, lang, latest.content()))
                dt { (t.res_authorizable) }
                dd { (authorizability(lang, &view)) }
            }
            @if resource.current().is_some() {
                p { a href={ "/catalog/" (id) } { (t.res_in_catalog) } }
            }
        }
        @if can_submit || can_review {
            section.card {
                h2 { (t.res_actions) }
                div.actions {
                    @if can_submit {
                        form.action method="post" action={ (base) "/submit" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            p.hint { (t.res_submit_text) }
                            button.primary type="submit" { (t.res_submit) }
                        }
                    }
                    @if can_review {
                        form.action method="post" action={ (base) "/approve" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            button.primary type="submit" { (t.res_approve) }
                        }
                        form.action.stack method="post" action={ (base) "/refuse" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            label.field {
                                span.label { (t.res_refuse_reasons) }
                                textarea name="reasons" rows="3" required maxlength="4000" {}
                            }
                            button.danger type="submit" { (t.res_refuse) }
                        }
                    }
                }
            }
        }
        (supply)
        (fields_table(state, lang, latest.content().fields(), true))
        (versions_table(lang, resource))
        @if let Some((from, to, changes)) = &diff {
            (diff_section(lang, &base, count, *from, *to, changes))
        }
        @if can_import {
            (upload_form(lang, id, &csrf, state.web.upload_limit))
        }
        @if let Some((datasets, jobs, names)) = &datasets {
            @if !jobs.is_empty() {
                (jobs_section(lang, jobs, names))
            }
            (datasets_section(lang, datasets, names))
        }
        (registration_section(state, me, resource, registration.as_ref(), &base))
        @if let Some(issues) = &issues {
            (quality_section(lang, issues, &answers, None))
        }
        @if can_raise {
            (raise_form(lang, &format!("{base}/issues"), &csrf, latest.content().fields()))
        }
    };
    me.chrome
        .respond(status, &name, Some(Section::Resources), body)
}

fn authorizability(lang: Lang, view: &ResourceView) -> Markup {
    let t = lang.texts();
    match &view.authorizable {
        None => html! { span.bad { (t.res_no_approved) } },
        Some(Ok(conditions)) => html! {
            span.ok { (t.res_authorizable_yes) }
            @if conditions.conditional { br; small { (t.res_conditional) } }
            @if conditions.authority_review { br; small { (t.res_authority_review) } }
        },
        Some(Err(reason)) => {
            html! { span.bad { (fill(t.res_not_authorizable, &[&reason.to_string()])) } }
        }
    }
}

fn versions_table(lang: Lang, resource: &CatalogResource) -> Markup {
    let t = lang.texts();
    html! {
        section.card {
            h2 { (t.res_versions) }
            div.table-wrap {
                table.data.versions {
                    thead { tr {
                        th { (t.res_number) } th { (t.catalog_name) } th { (t.res_state) }
                        th { (t.res_created) } th { (t.res_reasons) }
                    } }
                    tbody {
                        @for v in resource.versions().iter().rev() {
                            tr {
                                td.num { (v.number()) }
                                td { (v.content().metadata().name()) }
                                td { (state_badge(lang, v.state())) }
                                td.nowrap { (when(v.created_at())) }
                                td {
                                    @for reason in reasons_of(v.state()) { (reason) br; }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A byte count for people: B, KiB, MiB, GiB.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("B");
    if unit == 0 {
        format!("{bytes} {name}")
    } else {
        format!("{value:.1} {name}")
    }
}

/// A rate in `0..=1` as a percentage: exactly 0 and 1 read `0%` and `100%`; anything in between
/// keeps one decimal and never rounds to either end (99.96 % valid is not "100%").
fn percent(rate: f64) -> String {
    if rate >= 1.0 {
        "100%".to_owned()
    } else if rate <= 0.0 || rate.is_nan() {
        "0%".to_owned()
    } else {
        format!("{:.1}%", (rate * 100.0).clamp(0.1, 99.9))
    }
}

/// The range of a field: numbers and dates as min–max, text as its length range. Never a text
/// value: [`Extent`] has no variant that holds one.
fn extent(lang: Lang, extent: Option<&Extent>) -> String {
    let t = lang.texts();
    match extent {
        None => t.ds_not_applicable.to_owned(),
        Some(Extent::Integer { min, max }) => format!("{min} – {max}"),
        Some(Extent::Unsigned { min, max }) => format!("{min} – {max}"),
        Some(Extent::Number { min, max }) => format!("{min} – {max}"),
        Some(Extent::Date { min, max }) => format!("{min} – {max}"),
        Some(Extent::Timestamp { min, max }) => format!(
            "{} – {}",
            min.format("%Y-%m-%d %H:%M:%S"),
            max.format("%Y-%m-%d %H:%M:%S")
        ),
        Some(Extent::Length { min, max }) => {
            fill(t.ds_length, &[&min.to_string(), &max.to_string()])
        }
    }
}

/// The dataset versions of the resource and the field quality of the latest one: aggregates only.
fn datasets_section(
    lang: Lang,
    datasets: &[DatasetView],
    names: &HashMap<String, String>,
) -> Markup {
    let t = lang.texts();
    let latest = datasets.iter().max_by_key(|d| d.number);
    html! {
        section.card.datasets id="datasets" {
            h2 { (t.ds_title) }
            p.muted { (t.ds_intro) }
            @if datasets.is_empty() {
                p { (t.ds_none) }
            } @else {
                div.table-wrap {
                    table.data.dataset-versions {
                        thead { tr {
                            th { (t.ds_number) } th { (t.ds_resource_version) } th { (t.ds_rows) }
                            th { (t.ds_size) } th { (t.ds_encoding) } th { (t.ds_imported_at) }
                            th { (t.ds_imported_by) }
                        } }
                        tbody {
                            @for d in datasets.iter().rev() {
                                tr {
                                    td.num { (d.number) }
                                    td.num { (d.resource_number) }
                                    td.num { (d.rows) }
                                    td.num.nowrap { (size(d.parquet_bytes)) }
                                    td { (d.encoding.as_deref().unwrap_or(t.ds_encoding_parquet)) }
                                    td.nowrap { (when(d.created_at)) }
                                    td {
                                        @match names.get(&d.created_by.to_string()) {
                                            Some(name) => (name),
                                            None => code { (d.created_by) },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(latest) = latest {
                h3 { (fill(t.ds_quality, &[&latest.number.to_string()])) }
                div.table-wrap {
                    table.data.dataset-quality {
                        thead { tr {
                            th { (t.ds_field) } th { (t.ds_rows) } th { (t.ds_null_rate) }
                            th { (t.ds_distinct) } th { (t.ds_extent) } th { (t.ds_format) }
                            th { (t.ds_validity) }
                        } }
                        tbody {
                            @for q in &latest.quality {
                                @let p = &q.profile;
                                tr {
                                    td { code { (q.field) } }
                                    td.num { (p.rows) }
                                    td.num { (percent(p.null_rate)) }
                                    td.num { @if p.distinct_is_estimate { "≈" } (p.distinct) }
                                    td.nowrap { (extent(lang, p.extent.as_ref())) }
                                    td { (t.format_kind(p.format)) }
                                    td.num {
                                        @match p.validity_rate {
                                            Some(rate) => (percent(rate)),
                                            None => (t.ds_not_applicable),
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if latest.quality.iter().any(|q| q.profile.distinct_is_estimate) {
                    p.hint { (t.ds_estimate_hint) }
                }
            }
        }
    }
}

fn diff_section(
    lang: Lang,
    base: &str,
    count: u32,
    from: u32,
    to: u32,
    changes: &Result<Vec<Change>, AppError>,
) -> Markup {
    let t = lang.texts();
    html! {
        section.card.diff {
            h2 { (t.res_diff) }
            form.search method="get" action=(base) {
                label.field.inline {
                    span.label { (t.res_diff_from) }
                    select name="from" {
                        @for n in 1..=count { option value=(n) selected[n == from] { (n) } }
                    }
                }
                " "
                label.field.inline {
                    span.label { (t.res_diff_to) }
                    select name="to" {
                        @for n in 1..=count { option value=(n) selected[n == to] { (n) } }
                    }
                }
                " "
                button.secondary type="submit" { (t.res_diff_show) }
            }
            @match changes {
                Err(err) => {
                    @let message = match err {
                        AppError::Invalid { field, message } => format!("{}{message}", fill(t.field_prefix, &[field])),
                        _ => t.internal_text.to_owned(),
                    };
                    div.notice.error role="alert" { (message) }
                },
                Ok(changes) if changes.is_empty() => { p.muted { (t.res_diff_none) } },
                Ok(changes) => {
                    div.table-wrap {
                        table.data.changes {
                            thead { tr { th { (t.diff_change) } th { (t.diff_old) } th { (t.diff_new) } } }
                            tbody {
                                @for c in changes {
                                    @match c {
                                        Change::Metadata { attribute, old, new } => {
                                            tr.changed { td { (fill(t.diff_metadata, &[attribute])) } td.old { (old) } td.new { (new) } }
                                        },
                                        Change::FieldAdded { field } => {
                                            tr.added { td { (fill(t.diff_field_added, &[field])) } td {} td {} }
                                        },
                                        Change::FieldRemoved { field } => {
                                            tr.removed { td { (fill(t.diff_field_removed, &[field])) } td {} td {} }
                                        },
                                        Change::FieldChanged { field, attribute, old, new } => {
                                            tr.changed { td { (fill(t.diff_field_changed, &[field, attribute])) } td.old { (old) } td.new { (new) } }
                                        },
                                    }
                                }
                            }
                        }
                    }
                },
            }
        }
    }
}

/// The registration moves that may follow `state` (`None`: no record yet), as step codes.
fn next_steps(state: Option<&RegistrationState>) -> &'static [&'static str] {
    match state {
        None => &["update_details"],
        Some(RegistrationState::Draft) => &["update_details", "submit", "cancel"],
        Some(RegistrationState::Submitted) => &["start_review"],
        Some(RegistrationState::UnderReview) => &["return", "publish_notice"],
        Some(RegistrationState::PublicNotice { .. }) => &["return", "register"],
        Some(RegistrationState::Registered { .. } | RegistrationState::Changed { .. }) => {
            &["record_change", "cancel"]
        }
        Some(RegistrationState::Cancelled { .. }) => &[],
    }
}

/// The moves only the authority records (the app's `RegistrationStep::is_authority_step`), to ask
/// the policy whether to show their forms.
fn is_authority_step(step: &str) -> bool {
    matches!(
        step,
        "start_review" | "return" | "publish_notice" | "register"
    )
}

fn registration_section(
    state: &ApiState,
    me: &SignedIn,
    resource: &CatalogResource,
    record: Option<&RegistrationRecord>,
    base: &str,
) -> Markup {
    let lang = me.lang();
    let t = lang.texts();
    let csrf = &me.session.csrf;
    let action = format!("{base}/registration");
    let steps: Vec<&str> = if resource.current().is_some() {
        next_steps(record.map(RegistrationRecord::state))
            .iter()
            .copied()
            .filter(|step| {
                me.may(
                    state,
                    Action::RegistrationManage,
                    &Resource::Registration {
                        provider: resource.provider(),
                        authority_step: is_authority_step(step),
                    },
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    if record.is_none() && steps.is_empty() {
        return html! {};
    }
    let details = record.map(RegistrationRecord::details);
    let hidden = |step: &str| {
        html! {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            input type="hidden" name="step" value=(step);
        }
    };
    html! {
        section.card.registration {
            h2 { (t.reg_title) }
            @match record {
                None => { p.muted { (t.reg_none) } },
                Some(r) => {
                    dl.facts {
                        dt { (t.reg_state) } dd { span.badge.state { (t.registration_state(r.state())) } }
                        @if let Some(code) = r.result_code() {
                            dt { (t.reg_result_code) } dd { code { (code.as_str()) } }
                        }
                        @if let RegistrationState::PublicNotice { until } = r.state() {
                            dt { (t.reg_notice_until) } dd { (when(*until)) }
                        }
                        dt { (t.reg_agent_name) } dd { (r.details().agent.name) }
                        dt { (t.reg_storage_location) } dd { (r.details().storage_location) }
                        dt { (t.reg_package) }
                        dd {
                            a href={ (base) "/registration.json" } { "JSON" } " · "
                            a href={ (base) "/registration.md" } { "Markdown" }
                        }
                    }
                },
            }
            div.actions {
                @for step in &steps {
                    @match *step {
                        "update_details" => {
                            form.action.stack method="post" action=(action) {
                                (hidden(step))
                                (text_input(t.reg_agent_name, "agent_name", details.map(|d| d.agent.name.as_str())))
                                (text_input(t.reg_agent_phone, "agent_phone", details.map(|d| d.agent.phone.as_str())))
                                (text_input(t.reg_storage_location, "storage_location", details.map(|d| d.storage_location.as_str())))
                                (text_input(t.reg_storage_method, "storage_method", details.map(|d| d.storage_method.as_str())))
                                label.field {
                                    span.label { (t.reg_documents) }
                                    textarea name="documents" rows="3" maxlength="4000" {
                                        @if let Some(d) = details {
                                            @for doc in &d.documents { (doc.title) " | " (doc.reference) "\n" }
                                        }
                                    }
                                }
                                (text_input(t.reg_commitment_title, "commitment_title", details.map(|d| d.commitment_letter.title.as_str())))
                                (text_input(t.reg_commitment_reference, "commitment_reference", details.map(|d| d.commitment_letter.reference.as_str())))
                                button.secondary type="submit" { (t.reg_save_details) }
                            }
                        },
                        "submit" => {
                            form.action method="post" action=(action) {
                                (hidden(step)) button.primary type="submit" { (t.reg_submit) }
                            }
                        },
                        "start_review" => {
                            form.action method="post" action=(action) {
                                (hidden(step)) button.primary type="submit" { (t.reg_start_review) }
                            }
                        },
                        "return" => {
                            form.action.stack method="post" action=(action) {
                                (hidden(step))
                                label.field {
                                    span.label { (t.reg_return_reasons) }
                                    textarea name="reasons" rows="2" required maxlength="4000" {}
                                }
                                button.danger type="submit" { (t.reg_return) }
                            }
                        },
                        "publish_notice" => {
                            form.action.stack method="post" action=(action) {
                                (hidden(step))
                                label.field {
                                    span.label { (t.reg_notice_until) }
                                    input type="date" name="until" required;
                                }
                                button.primary type="submit" { (t.reg_publish) }
                            }
                        },
                        "register" => {
                            form.action.stack method="post" action=(action) {
                                (hidden(step))
                                (text_input(t.reg_result_code, "result_code", None))
                                button.primary type="submit" { (t.reg_register) }
                            }
                        },
                        "record_change" => {
                            form.action.stack method="post" action=(action) {
                                (hidden(step))
                                (text_input(t.reg_change_summary, "summary", None))
                                button.secondary type="submit" { (t.reg_record_change) }
                            }
                        },
                        "cancel" => {
                            form.action.stack method="post" action=(action) {
                                (hidden(step))
                                (text_input(t.reg_cancel_reason, "reason", None))
                                button.danger type="submit" { (t.reg_cancel) }
                            }
                        },
                        _ => {},
                    }
                }
            }
        }
    }
}

fn text_input(label: &str, name: &str, value: Option<&str>) -> Markup {
    html! {
        label.field {
            span.label { (label) }
            input type="text" name=(name) required maxlength="500" value=(value.unwrap_or_default());
        }
    }
}

/// After a form: back to the resource with a notice, or the page again with the error (bad input,
/// conflict), or an error page (refused, not found).
async fn finish(
    state: &ApiState,
    me: &SignedIn,
    id: ResourceId,
    result: Result<(), AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/resources/{id}?done={done}")).into_response(),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render(
                state,
                me,
                id,
                (None, None),
                Some(Notice::Error(message)),
                status,
            )
            .await
        }
        Err(err) => me.chrome.fail(err),
    }
}

/// `POST /resources/{id}/submit`.
pub(crate) async fn submit(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let result = state.app.submit_resource(&me.ctx, id).await.map(|_| ());
    finish(&state, &me, id, result, "submitted").await
}

/// `POST /resources/{id}/approve`.
pub(crate) async fn approve(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let result = state.app.approve_resource(&me.ctx, id).await.map(|_| ());
    finish(&state, &me, id, result, "approved").await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefuseFields {
    #[serde(default)]
    reasons: String,
}

/// One entry a line, blank lines dropped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /resources/{id}/refuse`: the reasons are required (the domain refuses a refusal without).
pub(crate) async fn refuse(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<RefuseFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let result = state
        .app
        .refuse_resource(&me.ctx, id, lines(&form.reasons))
        .await
        .map(|_| ());
    finish(&state, &me, id, result, "refused").await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrationFields {
    step: String,
    #[serde(default)]
    agent_name: String,
    #[serde(default)]
    agent_phone: String,
    #[serde(default)]
    storage_location: String,
    #[serde(default)]
    storage_method: String,
    #[serde(default)]
    documents: String,
    #[serde(default)]
    commitment_title: String,
    #[serde(default)]
    commitment_reference: String,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    result_code: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    reason: String,
}

impl RegistrationFields {
    fn step(self, lang: Lang) -> Result<RegistrationStep, AppError> {
        let t = lang.texts();
        Ok(match self.step.as_str() {
            "update_details" => RegistrationStep::UpdateDetails(RegistrationInput {
                agent_name: self.agent_name.trim().to_owned(),
                agent_phone: self.agent_phone.trim().to_owned(),
                storage_location: self.storage_location.trim().to_owned(),
                storage_method: self.storage_method.trim().to_owned(),
                documents: lines(&self.documents)
                    .into_iter()
                    .map(|line| {
                        let (title, reference) = line.split_once('|').unwrap_or((&line, ""));
                        Document {
                            title: title.trim().to_owned(),
                            reference: reference.trim().to_owned(),
                        }
                    })
                    .collect(),
                commitment_letter: Document {
                    title: self.commitment_title.trim().to_owned(),
                    reference: self.commitment_reference.trim().to_owned(),
                },
            }),
            "submit" => RegistrationStep::Submit,
            "start_review" => RegistrationStep::StartReview,
            "return" => RegistrationStep::Return {
                reasons: lines(&self.reasons),
            },
            "publish_notice" => {
                // The last moment of the chosen day in China Standard Time.
                let until = Timestamp::parse(&format!("{}T23:59:59+08:00", self.until.trim()))
                    .ok_or_else(|| AppError::Invalid {
                        field: "until",
                        message: t.reg_bad_date.to_owned(),
                    })?;
                RegistrationStep::PublishNotice { until }
            }
            "register" => RegistrationStep::Register {
                result_code: self.result_code.trim().to_owned(),
            },
            "record_change" => RegistrationStep::RecordChange {
                summary: self.summary,
            },
            "cancel" => RegistrationStep::Cancel {
                reason: self.reason,
            },
            _ => {
                return Err(AppError::Invalid {
                    field: "step",
                    message: "unknown registration step".to_owned(),
                });
            }
        })
    }
}

/// `POST /resources/{id}/registration`: one move of the registration record.
pub(crate) async fn registration(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<RegistrationFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let result = match form.step(me.lang()) {
        Ok(step) => state
            .app
            .registration_step(&me.ctx, id, step)
            .await
            .map(|_| ()),
        Err(err) => Err(err),
    };
    finish(&state, &me, id, result, "registration").await
}

/// `GET /resources/{id}/registration.json`: the package for the national registration platform.
pub(crate) async fn package_json(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> Response {
    package(&state, &me, &id, false).await
}

/// `GET /resources/{id}/registration.md`.
pub(crate) async fn package_markdown(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> Response {
    package(&state, &me, &id, true).await
}

async fn package(state: &ApiState, me: &SignedIn, id: &str, markdown: bool) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let (json, md) = match state.app.registration_package(&me.ctx, id).await {
        Ok(package) => package,
        Err(err) => return me.chrome.fail(err),
    };
    let (body, content_type, extension) = if markdown {
        (md, "text/markdown; charset=utf-8", "md")
    } else {
        (json.to_string(), "application/json", "json")
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"registration-{id}.{extension}\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// `POST /resources/{id}/issues`: raises a quality issue from the managed page.
pub(crate) async fn raise(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<RaiseFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let result = state
        .app
        .raise_quality_issue(&me.ctx, id, form.field(), form.text())
        .await
        .map(|_| ());
    finish(&state, &me, id, result, "issue_raised").await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerFields {
    #[serde(default)]
    answer: String,
}

/// `POST /resources/{id}/issues/{issue}/answer`: the provider answers a quality issue.
pub(crate) async fn answer(
    State(state): State<ApiState>,
    Path((id, issue)): Path<(String, String)>,
    Posted { me, form }: Posted<AnswerFields>,
) -> Response {
    let (Ok(id), Ok(issue)) = (id.parse::<ResourceId>(), issue.parse::<QualityIssueId>()) else {
        return me.chrome.fail(NOT_FOUND);
    };
    let result = state
        .app
        .answer_quality_issue(&me.ctx, id, issue, form.answer)
        .await
        .map(|_| ());
    finish(&state, &me, id, result, "issue_answered").await
}
