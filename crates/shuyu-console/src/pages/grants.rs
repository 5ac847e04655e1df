//! `/grants`: the data-use grants the signed-in person may read (the authority and supervisors all,
//! an operator those it runs, a merchant's verified personnel their organisation's), and
//! `/grants/{id}` with the scenario, the granted fields with their column controls and
//! desensitization, the term, the budget, the status and its history. The authority and the
//! operator running a grant suspend, resume or revoke it here, with a reason.
//!
//! Forms are shown when `shuyu_policy::decide` would allow their action; every post goes to one use
//! case, which asks the policy again. There is no form that creates a grant: grants come from
//! development agreements (the demo's is seeded by the system).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{AppError, GrantView};
use shuyu_core::GrantId;
use shuyu_grant::{Grant, GrantEvent, GrantStatus};
use shuyu_policy::{Action, Resource};

use crate::i18n::{Lang, Texts};
use crate::layout::{Notice, Section, describe_error, notice, when};
use crate::pages::DoneQuery;
use crate::pages::catalog::grade_label;
use crate::web::{CSRF_FIELD, Posted, SignedIn};

const NOT_FOUND: AppError = AppError::NotFound { kind: "grant" };

/// The policy's view of a grant.
fn target(grant: &Grant) -> Resource {
    Resource::Grant {
        merchant: grant.merchant(),
        operator: grant.operator(),
    }
}

pub(crate) fn status_badge(lang: Lang, status: GrantStatus) -> Markup {
    let label = status.label(lang.chinese());
    match status {
        GrantStatus::Active => html! { span.badge.state.approved { (label) } },
        GrantStatus::Suspended => html! { span.badge.state.pending { (label) } },
        GrantStatus::Expired => html! { span.badge.state.superseded { (label) } },
        GrantStatus::Revoked => html! { span.badge.state.refused { (label) } },
    }
}

/// The term as two dates (UTC+8).
fn term(grant: &Grant) -> String {
    let date = |ts| when(ts).chars().take(10).collect::<String>();
    format!("{} — {}", date(grant.term().from), date(grant.term().to))
}

fn budget(grant: &Grant) -> String {
    let b = grant.budget();
    format!("ε = {} · δ = {:e}", b.epsilon, b.delta)
}

/// `GET /grants`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let grants = match state.app.grants(&me.ctx).await {
        Ok(grants) => grants,
        Err(err) => return me.chrome.fail(err),
    };
    let orgs = crate::pages::personnel::org_names(&state, &me).await;
    let shown = DoneQuery::parse(raw.as_deref()).notice(t);
    let body = html! {
        h1 { (t.gr_title) }
        p.muted { (t.gr_intro) }
        @if let Some(n) = &shown { (notice(n)) }
        @if grants.is_empty() {
            p { (t.gr_none) }
        } @else {
            div.table-wrap {
                table.data.grants {
                    thead { tr {
                        th { (t.gr_scenario) } th { (t.gr_merchant) } th { (t.gr_usage) }
                        th { (t.gr_term) } th { (t.gr_status) }
                    } }
                    tbody {
                        @for g in &grants {
                            tr {
                                td {
                                    a href={ "/grants/" (g.grant.id()) } { (g.grant.scenario().name) }
                                    br; small.muted { (g.grant.scenario().category.label(lang.chinese())) }
                                }
                                td { (org_name(&orgs, &g.grant.merchant().to_string())) }
                                td { (g.grant.usage().label(lang.chinese())) }
                                td { (term(&g.grant)) }
                                td { (status_badge(lang, g.status)) }
                            }
                        }
                    }
                }
            }
        }
    };
    me.chrome
        .respond(StatusCode::OK, t.gr_title, Some(Section::Grants), body)
}

fn org_name<'a>(orgs: &'a HashMap<String, String>, id: &'a str) -> &'a str {
    orgs.get(id).map_or(id, String::as_str)
}

/// `GET /grants/{id}`.
pub(crate) async fn detail(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<GrantId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let shown = DoneQuery::parse(raw.as_deref()).notice(me.lang().texts());
    render(&state, &me, id, shown, StatusCode::OK).await
}

async fn render(
    state: &ApiState,
    me: &SignedIn,
    id: GrantId,
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let view = match state.app.grant(&me.ctx, id).await {
        Ok(view) => view,
        Err(err) => return me.chrome.fail(err),
    };
    let orgs = crate::pages::personnel::org_names(state, me).await;
    let names = resource_names(state, me, &view).await;
    let grant = &view.grant;
    let may_move = [
        Action::GrantSuspend,
        Action::GrantResume,
        Action::GrantRevoke,
    ]
    .into_iter()
    .any(|a| me.may(state, a, &target(grant)));
    let body = html! {
        p { a href="/grants" { "← " (t.gr_title) } }
        h1 { (grant.scenario().name) " " (status_badge(lang, view.status)) }
        @if let Some(n) = &shown { (notice(n)) }
        section.card {
            dl.facts {
                dt { (t.gr_category) } dd { (grant.scenario().category.label(lang.chinese())) }
                dt { (t.gr_merchant) }
                dd { a href={ "/orgs/" (grant.merchant()) } { (org_name(&orgs, &grant.merchant().to_string())) } }
                dt { (t.gr_operator) }
                dd { a href={ "/orgs/" (grant.operator()) } { (org_name(&orgs, &grant.operator().to_string())) } }
                dt { (t.gr_usage) } dd { (grant.usage().label(lang.chinese())) }
                dt { (t.gr_term) } dd { (term(grant)) }
                dt { (t.gr_min_group) } dd { (grant.min_group_size()) }
                dt { (t.gr_budget) } dd { (budget(grant)) }
                dt { (t.gr_workspace) } dd { code { (grant.workspace()) } }
                @if grant.seeded() { dt { "" } dd { span.badge { (t.gr_seeded) } } }
            }
        }
        (fields_section(state, lang, grant, &names))
        (history_section(lang, grant, state, me).await)
        @if may_move { (manage_form(t, &me.session.csrf, grant.id(), view.status)) }
    };
    me.chrome
        .respond(status, &grant.scenario().name, Some(Section::Grants), body)
}

/// The names of the granted resources (the latest version's), for the fields table.
async fn resource_names(
    state: &ApiState,
    me: &SignedIn,
    view: &GrantView,
) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for granted in view.grant.resources() {
        let name = match state.app.catalog_entry(&me.ctx, granted.resource).await {
            Ok(entry) => entry.content.metadata().name().to_string(),
            Err(_) => granted.resource.to_string(),
        };
        names.insert(granted.resource.to_string(), name);
    }
    names
}

fn fields_section(
    state: &ApiState,
    lang: Lang,
    grant: &Grant,
    names: &HashMap<String, String>,
) -> Markup {
    let t = lang.texts();
    let chinese = lang.chinese();
    html! {
        section.card {
            h2 { (t.gr_fields) }
            div.table-wrap {
                table.data.fields {
                    thead { tr {
                        th { (t.gr_resource) } th { (t.gr_field) } th { (t.field_grade) }
                        th { (t.gr_control) } th { (t.gr_desensitization) }
                    } }
                    tbody {
                        @for r in grant.resources() {
                            @for f in &r.fields {
                                tr {
                                    td { (org_name(names, &r.resource.to_string())) }
                                    td { code { (f.name) } }
                                    td { (grade_label(state, lang, &f.grade)) }
                                    td { (f.column_control.label(chinese)) }
                                    td { (f.desensitization.label(chinese)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn history_section(lang: Lang, grant: &Grant, state: &ApiState, me: &SignedIn) -> Markup {
    let t = lang.texts();
    let people = crate::pages::audit::person_names(state, me).await;
    html! {
        section.card {
            h2 { (t.gr_history) }
            @if grant.history().is_empty() {
                p.muted { (t.gr_no_history) }
            } @else {
                ul.history {
                    @for e in grant.history() {
                        @let (label, by, at, reason) = match e {
                            GrantEvent::Suspended { by, at, reason } => (t.gr_suspend, by, at, reason),
                            GrantEvent::Resumed { by, at, reason } => (t.gr_resume, by, at, reason),
                            GrantEvent::Revoked { by, at, reason } => (t.gr_revoke, by, at, reason),
                        };
                        li {
                            strong { (label) } " · " (when(*at)) " · "
                            (people.get(&by.to_string()).map_or("", String::as_str))
                            br; span { (reason) }
                        }
                    }
                }
            }
        }
    }
}

fn manage_form(t: &Texts, csrf: &str, id: GrantId, status: GrantStatus) -> Markup {
    html! {
        section.card {
            h2 { (t.gr_manage) }
            p.hint { (t.gr_manage_hint) }
            form method="post" action={ "/grants/" (id) "/move" } {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label for="reason" { (t.gr_reason) }
                textarea #reason name="reason" rows="3" required maxlength="1000" {}
                div.actions {
                    @if status == GrantStatus::Active {
                        button.button type="submit" name="move" value="suspend" { (t.gr_suspend) }
                    }
                    @if status == GrantStatus::Suspended {
                        button.button type="submit" name="move" value="resume" { (t.gr_resume) }
                    }
                    @if matches!(status, GrantStatus::Active | GrantStatus::Suspended | GrantStatus::Expired) {
                        button.button.danger type="submit" name="move" value="revoke" { (t.gr_revoke) }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveFields {
    #[serde(rename = "move")]
    step: String,
    #[serde(default)]
    reason: String,
}

/// `POST /grants/{id}/move`: suspend, resume or revoke, with a reason.
pub(crate) async fn move_grant(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<MoveFields>,
) -> Response {
    let Ok(id) = id.parse::<GrantId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let reason = crate::pages::multiline(&form.reason);
    let (result, done) = match form.step.as_str() {
        "suspend" => (
            state.app.suspend_grant(&me.ctx, id, reason).await,
            "grant_suspended",
        ),
        "resume" => (
            state.app.resume_grant(&me.ctx, id, reason).await,
            "grant_resumed",
        ),
        "revoke" => (
            state.app.revoke_grant(&me.ctx, id, reason).await,
            "grant_revoked",
        ),
        _ => {
            let t = me.lang().texts();
            return me
                .chrome
                .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form);
        }
    };
    match result {
        Ok(_) => Redirect::to(&format!("/grants/{id}?done={done}")).into_response(),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render(&state, &me, id, Some(Notice::Error(message)), status).await
        }
        Err(err) => me.chrome.fail(err),
    }
}
