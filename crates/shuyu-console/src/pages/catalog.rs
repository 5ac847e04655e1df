//! `/catalog`: the public data catalog, open to everyone (signed in or not). It lists approved
//! resources with their metadata and data items, searchable by name, domain, provider and open
//! category; `/catalog/{id}` is one entry. It never shows a value of the data: only what
//! `App::catalog` / `App::catalog_entry` return, which is metadata.
//!
//! A signed-in visitor sees the pages in their frame, the quality issues visible to them and, when
//! the policy would allow it, the form to raise one (`POST /catalog/{id}/issues`).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{AppError, CatalogQuery, Ctx, PublicEntry, QualityIssues};
use shuyu_catalog::{
    Coverage, FieldSpec, IssueState, IssueStatus, IssueTarget, OpenCategory, ResourceId,
    ValidatedResource,
};
use shuyu_core::OrgId;
use shuyu_policy::{Action, Principal, Resource};

use crate::i18n::{Lang, fill};
use crate::layout::{
    Chrome, Notice, Section, bare_error, describe_error, lang_switch, notice, public_wide_page,
    when,
};
use crate::pages::DoneQuery;
use crate::web::{CSRF_FIELD, Posted, Visitor, fresh_login_token, login_csrf, login_csrf_cookie};

const OPEN_CATEGORIES: [OpenCategory; 3] = [
    OpenCategory::Unconditional,
    OpenCategory::Conditional,
    OpenCategory::NotOpen,
];

/// The search form's fields; anything unparsable is left out of the search.
#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    open_category: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl SearchQuery {
    fn to_query(&self) -> CatalogQuery {
        CatalogQuery {
            name: non_empty(self.name.as_ref()),
            domain: non_empty(self.domain.as_ref()),
            provider: non_empty(self.provider.as_ref()).and_then(|p| p.parse::<OrgId>().ok()),
            open_category: non_empty(self.open_category.as_ref())
                .and_then(|c| OPEN_CATEGORIES.into_iter().find(|o| o.as_str() == c)),
        }
    }
}

/// Who is looking: a signed-in person (their frame) or a visitor (the public frame).
struct Viewer {
    ctx: Ctx,
    lang: Lang,
    request_id: String,
    chrome: Option<Chrome>,
    /// The visitor's login token, for the language switch of the public frame.
    login_token: String,
}

impl Viewer {
    async fn of(state: &ApiState, visitor: Visitor, here: String) -> Viewer {
        let chrome = match (&visitor.session, &visitor.ctx.principal) {
            (Some(session), Principal::Person(_)) => Some(
                Chrome::build(
                    state,
                    &visitor.ctx,
                    session,
                    visitor.lang,
                    here,
                    visitor.request_id.clone(),
                )
                .await,
            ),
            _ => None,
        };
        let login_token = login_csrf(&visitor.headers, state.web.secure_cookies)
            .unwrap_or_else(fresh_login_token);
        Viewer {
            ctx: visitor.ctx,
            lang: visitor.lang,
            request_id: visitor.request_id,
            chrome,
            login_token,
        }
    }

    fn from_chrome(ctx: Ctx, chrome: Chrome) -> Viewer {
        Viewer {
            ctx,
            lang: chrome.lang,
            request_id: chrome.request_id.clone(),
            login_token: String::new(),
            chrome: Some(chrome),
        }
    }

    fn may(&self, state: &ApiState, action: Action, resource: &Resource) -> bool {
        shuyu_policy::decide(&self.ctx.principal, action, resource, state.app.profile())
            .is_allowed()
    }

    fn respond(
        &self,
        state: &ApiState,
        status: StatusCode,
        title: &str,
        here: &str,
        body: Markup,
    ) -> Response {
        if let Some(chrome) = &self.chrome {
            return chrome.respond(status, title, Some(Section::Catalog), body);
        }
        let t = self.lang.texts();
        let body = html! {
            p.signin-link { a href="/login" { (t.catalog_sign_in) } }
            (body)
        };
        let page = public_wide_page(
            self.lang,
            title,
            Some(lang_switch(self.lang, &self.login_token, here)),
            &self.request_id,
            body,
        );
        let mut response = (status, page).into_response();
        if let Ok(v) = HeaderValue::from_str(&login_csrf_cookie(
            state.web.secure_cookies,
            Some(&self.login_token),
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    }

    fn fail(&self, err: AppError) -> Response {
        if let Some(chrome) = &self.chrome {
            return chrome.fail(err);
        }
        let t = self.lang.texts();
        let (status, title, message) = match err {
            AppError::NotFound { .. } => (
                StatusCode::NOT_FOUND,
                t.not_found_title,
                t.not_found_text.to_owned(),
            ),
            other => describe_error(self.lang, &self.request_id, other),
        };
        bare_error(self.lang, &self.request_id, status, title, &message)
    }
}

/// `GET /catalog`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    visitor: Visitor,
) -> Response {
    let here = match &raw {
        Some(q) if !q.is_empty() => format!("/catalog?{q}"),
        _ => "/catalog".to_owned(),
    };
    let viewer = Viewer::of(&state, visitor, here.clone()).await;
    let search: SearchQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    // Every provider with an approved resource, for the provider choice.
    let all = match state
        .app
        .catalog(&viewer.ctx, CatalogQuery::default())
        .await
    {
        Ok(all) => all,
        Err(err) => return viewer.fail(err),
    };
    let mut providers: Vec<(OrgId, String)> = all
        .iter()
        .map(|e| (e.provider, e.provider_name.clone()))
        .collect();
    providers.sort_by(|a, b| a.1.cmp(&b.1));
    providers.dedup_by(|a, b| a.0 == b.0);
    let entries = match state.app.catalog(&viewer.ctx, search.to_query()).await {
        Ok(entries) => entries,
        Err(err) => return viewer.fail(err),
    };
    let lang = viewer.lang;
    let t = lang.texts();
    let domains = &state.app.profile().catalog().domains.value;
    let chosen = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    let body = html! {
        h1 { (t.catalog_title) }
        p.muted { (t.catalog_intro) }
        section.card {
            form.search method="get" action="/catalog" {
                div.grid {
                    label.field {
                        span.label { (t.catalog_name) }
                        input type="text" name="name" maxlength="200"
                            value=(search.name.clone().unwrap_or_default());
                    }
                    label.field {
                        span.label { (t.catalog_domain) }
                        select name="domain" {
                            option value="" { (t.catalog_any) }
                            @for d in domains {
                                option value=(d.code) selected[chosen(&search.domain, &d.code)] {
                                    (domain_label(lang, &d.zh, &d.en))
                                }
                            }
                        }
                    }
                    label.field {
                        span.label { (t.catalog_provider) }
                        select name="provider" {
                            option value="" { (t.catalog_any) }
                            @for (id, name) in &providers {
                                @let id = id.to_string();
                                option value=(id) selected[chosen(&search.provider, &id)] { (name) }
                            }
                        }
                    }
                    label.field {
                        span.label { (t.catalog_open_category) }
                        select name="open_category" {
                            option value="" { (t.catalog_any) }
                            @for c in OPEN_CATEGORIES {
                                option value=(c.as_str()) selected[chosen(&search.open_category, c.as_str())] {
                                    (t.open_category(c))
                                }
                            }
                        }
                    }
                }
                div.form-buttons {
                    button.primary type="submit" { (t.catalog_search) }
                    " " a href="/catalog" { (t.catalog_reset) }
                }
            }
        }
        section.card {
            p.muted { (fill(t.catalog_results, &[&entries.len().to_string()])) }
            @if entries.is_empty() {
                p { (t.catalog_none) }
            } @else {
                div.table-wrap {
                    table.data.catalog {
                        thead { tr {
                            th { (t.catalog_name) } th { (t.catalog_provider) } th { (t.catalog_domain) }
                            th { (t.catalog_open_category) } th { (t.catalog_grade) } th { (t.catalog_frequency) }
                        } }
                        tbody {
                            @for e in &entries {
                                @let m = e.content.metadata();
                                tr {
                                    td { a href={ "/catalog/" (e.resource) } { (m.name()) } }
                                    td { (e.provider_name) }
                                    td { (domain_name(&state, lang, m.domain())) }
                                    td { (t.open_category(m.open_category())) }
                                    td { (grade_label(&state, lang, m.grade())) }
                                    td { (t.frequency(m.update_frequency())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    viewer.respond(&state, StatusCode::OK, t.catalog_title, &here, body)
}

/// `GET /catalog/{id}`.
pub(crate) async fn entry(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    visitor: Visitor,
) -> Response {
    let viewer = Viewer::of(&state, visitor, format!("/catalog/{id}")).await;
    let Ok(id) = id.parse::<ResourceId>() else {
        return viewer.fail(AppError::NotFound { kind: "resource" });
    };
    let shown = DoneQuery::parse(raw.as_deref()).notice(viewer.lang.texts());
    render_entry(&state, &viewer, id, shown, StatusCode::OK).await
}

async fn render_entry(
    state: &ApiState,
    viewer: &Viewer,
    id: ResourceId,
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let entry = match state.app.catalog_entry(&viewer.ctx, id).await {
        Ok(entry) => entry,
        Err(err) => return viewer.fail(err),
    };
    let lang = viewer.lang;
    let t = lang.texts();
    let public = Resource::CatalogEntry {
        provider: entry.provider,
        public: true,
    };
    // Signed-in people see the quality issues visible to them, and may raise one if allowed.
    let issues = match &viewer.chrome {
        Some(_) => state.app.quality_issues(&viewer.ctx, id).await.ok(),
        None => None,
    };
    let raise = viewer.chrome.as_ref().and_then(|chrome| {
        viewer
            .may(state, Action::QualityIssueRaise, &public)
            .then(|| (format!("/catalog/{id}/issues"), chrome.csrf.clone()))
    });
    let may_manage = viewer.may(
        state,
        Action::ResourceRead,
        &Resource::CatalogEntry {
            provider: entry.provider,
            public: true,
        },
    );
    let name = entry.content.metadata().name().to_string();
    let body = html! {
        p { a href="/catalog" { (t.catalog_back) } }
        h1 { (name) }
        @if let Some(n) = &shown { (notice(n)) }
        p.muted { (t.catalog_no_values) }
        (metadata_panel(state, lang, &entry))
        (fields_table(state, lang, entry.content.fields(), false))
        @if viewer.chrome.is_some() && may_manage {
            p { a href={ "/resources/" (id) } { (t.nav_resources) " →" } }
        }
        @if let Some(issues) = &issues {
            (quality_section(lang, issues, &[], None))
        }
        @if let Some((action, csrf)) = &raise {
            (raise_form(lang, action, csrf, entry.content.fields()))
        }
    };
    viewer.respond(state, status, &name, &format!("/catalog/{id}"), body)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RaiseFields {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    text: String,
}

impl RaiseFields {
    pub(crate) fn field(&self) -> Option<String> {
        non_empty(self.field.as_ref())
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// `POST /catalog/{id}/issues`: raises a quality issue from the public entry.
pub(crate) async fn raise(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<RaiseFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "resource" });
    };
    let result = state
        .app
        .raise_quality_issue(&me.ctx, id, form.field(), form.text())
        .await;
    match result {
        Ok(_) => Redirect::to(&format!("/catalog/{id}?done=issue_raised")).into_response(),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            let viewer = Viewer::from_chrome(me.ctx, me.chrome);
            render_entry(&state, &viewer, id, Some(Notice::Error(message)), status).await
        }
        Err(err) => me.chrome.fail(err),
    }
}

/// A domain code as its name in the profile, or the code.
pub(crate) fn domain_name(state: &ApiState, lang: Lang, code: &str) -> String {
    state.app.profile().catalog().domain(code).map_or_else(
        || code.to_owned(),
        |d| domain_label(lang, &d.zh, &d.en).to_owned(),
    )
}

fn domain_label<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    if lang.chinese() { zh } else { en }
}

/// A grade code with its name in the profile's scale: `L2 · 二级`.
pub(crate) fn grade_label(state: &ApiState, lang: Lang, code: &str) -> String {
    match state.app.profile().catalog().grade(code) {
        Some(g) => format!("{code} · {}", if lang.chinese() { &g.zh } else { &g.en }),
        None => code.to_owned(),
    }
}

pub(crate) fn coverage(lang: Lang, c: &Coverage) -> String {
    let t = lang.texts();
    let from = c
        .time_from
        .map_or_else(|| t.coverage_unknown.to_owned(), |d| d.to_string());
    let to = c
        .time_to
        .map_or_else(|| t.coverage_ongoing.to_owned(), |d| d.to_string());
    format!("{from} — {to} · {}", c.spatial)
}

fn metadata_panel(state: &ApiState, lang: Lang, entry: &PublicEntry) -> Markup {
    let t = lang.texts();
    html! {
        section.card {
            dl.facts {
                dt { (t.catalog_provider) } dd { (entry.provider_name) }
                (metadata_facts(state, lang, &entry.content))
                dt { (t.catalog_version) } dd { (entry.number) }
                @if let Some(at) = entry.approved_at {
                    dt { (t.catalog_approved_at) } dd { (when(at)) }
                }
            }
        }
    }
}

/// The metadata of a version as `dt`/`dd` pairs (without the provider).
pub(crate) fn metadata_facts(state: &ApiState, lang: Lang, content: &ValidatedResource) -> Markup {
    let t = lang.texts();
    let m = content.metadata();
    html! {
        dt { (t.catalog_summary) } dd { (m.summary()) }
        dt { (t.catalog_domain) } dd { (domain_name(state, lang, m.domain())) }
        dt { (t.catalog_frequency) } dd { (t.frequency(m.update_frequency())) }
        dt { (t.catalog_coverage) } dd { (coverage(lang, m.coverage())) }
        dt { (t.catalog_legal_basis) } dd { (m.legal_basis()) }
        dt { (t.catalog_open_category) } dd { (t.open_category(m.open_category())) }
        dt { (t.catalog_grade) } dd { (grade_label(state, lang, m.grade())) }
    }
}

/// The data items: name, type, description, grade and flags, and with `handling` (the managed
/// side) each field's default desensitization and column control under the profile. Never a value.
pub(crate) fn fields_table(
    state: &ApiState,
    lang: Lang,
    fields: &[FieldSpec],
    handling: bool,
) -> Markup {
    let t = lang.texts();
    let profile = state.app.profile();
    html! {
        section.card {
            h2 { (t.catalog_fields) }
            @if handling { p.hint { (t.rf_handling_hint) } }
            div.table-wrap {
                table.data.fields {
                    thead { tr {
                        th { (t.field_name) } th { (t.field_type) } th { (t.field_description) }
                        th { (t.field_grade) } th { (t.field_flags) }
                        @if handling { th { (t.rf_format) } th { (t.rf_handling) } th { (t.rf_column_control) } }
                    } }
                    tbody {
                        @for f in fields {
                            @let flags = f.flags();
                            tr {
                                td { code { (f.name()) } }
                                td { (t.field_type(f.field_type())) }
                                td { (f.description()) }
                                td { (grade_label(state, lang, f.grade())) }
                                td.flags {
                                    @if flags.personal_information { span.badge.flag { (t.flag_personal) } " " }
                                    @if flags.direct_identifier { span.badge.flag.strong { (t.flag_direct) } " " }
                                    @if flags.quasi_identifier { span.badge.flag { (t.flag_quasi) } " " }
                                    @if flags.privacy_unit { span.badge.flag.unit { (t.flag_privacy_unit) } }
                                }
                                @if handling {
                                    @let h = f.default_handling(profile);
                                    td { (t.format_kind(f.format())) }
                                    td { (h.desensitization.label(lang.chinese())) }
                                    td { (h.column_control.label(lang.chinese())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One issue's status as a badge.
fn status_badge(lang: Lang, status: IssueStatus) -> Markup {
    let t = lang.texts();
    match status {
        IssueStatus::Open => html! { span.badge.state.pending { (t.qi_open) } },
        IssueStatus::Overdue => html! { span.badge.state.refused.overdue { (t.qi_overdue) } },
        IssueStatus::Answered { late: false } => {
            html! { span.badge.state.approved { (t.qi_answered) } }
        }
        IssueStatus::Answered { late: true } => {
            html! { span.badge.state.refused { (t.qi_answered_late) } }
        }
    }
}

/// The quality issues with their counts; `answer` is, per issue (same order), where to post an
/// answer and the CSRF token, when the policy would allow it.
pub(crate) fn quality_section(
    lang: Lang,
    issues: &QualityIssues,
    answer: &[Option<(String, String)>],
    heading: Option<&str>,
) -> Markup {
    let t = lang.texts();
    let c = &issues.counts;
    html! {
        section.card.quality {
            h2 { (heading.unwrap_or(t.qi_title)) }
            @if issues.issues.is_empty() {
                p.muted { (t.qi_none) }
            } @else {
                p.muted {
                    (fill(t.qi_counts, &[
                        &c.raised.to_string(), &c.open.to_string(), &c.overdue.to_string(),
                        &c.answered_on_time.to_string(), &c.answered_late.to_string(),
                    ]))
                }
                div.table-wrap {
                    table.data.issues {
                        thead { tr {
                            th { (t.qi_target) } th { (t.qi_text) } th { (t.qi_raised) }
                            th { (t.qi_due) } th { (t.qi_status) } th { (t.qi_answer) }
                        } }
                        tbody {
                            @for (i, (issue, status)) in issues.issues.iter().enumerate() {
                                tr {
                                    td {
                                        @match issue.target() {
                                            IssueTarget::Resource => { (t.qi_whole) },
                                            IssueTarget::Field { name } => { code { (name) } },
                                        }
                                    }
                                    td { (issue.text()) }
                                    td.nowrap { (when(issue.raised_at())) }
                                    td.nowrap { (when(issue.due())) }
                                    td { (status_badge(lang, *status)) }
                                    td {
                                        @match issue.state() {
                                            IssueState::Answered { answer, at, .. } => {
                                                (answer) br; small.muted { (when(*at)) }
                                            },
                                            IssueState::Open => {
                                                @if let Some(Some((action, csrf))) = answer.get(i) {
                                                    form.stack method="post" action=(action) {
                                                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                                        textarea name="answer" rows="2" required maxlength="2000" {}
                                                        button.secondary type="submit" { (t.qi_answer_submit) }
                                                    }
                                                }
                                            },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form to raise a quality issue on the resource or one of its data items.
pub(crate) fn raise_form(lang: Lang, action: &str, csrf: &str, fields: &[FieldSpec]) -> Markup {
    let t = lang.texts();
    html! {
        section.card {
            h2 { (t.qi_raise) }
            form.stack method="post" action=(action) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label.field {
                    span.label { (t.qi_field) }
                    select name="field" {
                        option value="" { (t.qi_whole) }
                        @for f in fields {
                            option value=(f.name()) { (f.name()) " · " (f.description()) }
                        }
                    }
                }
                label.field {
                    span.label { (t.qi_text) }
                    textarea name="text" rows="3" required maxlength="2000" {}
                }
                button.primary type="submit" { (t.qi_raise_submit) }
            }
        }
    }
}
