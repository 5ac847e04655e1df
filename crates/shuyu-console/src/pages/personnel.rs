//! `/personnel`: the people visible to the caller; `/personnel/{id}`: one record, with the forms the
//! policy would allow (real-name verification, training, disable / enable).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{AppError, PersonView};
use shuyu_core::{PersonId, Timestamp};
use shuyu_identity::Person;
use shuyu_policy::{Action, Resource};

use crate::i18n::{Lang, fill};
use crate::layout::{Notice, Section, describe_error, notice, when};
use crate::pages::DoneQuery;
use crate::web::{CSRF_FIELD, NoFields, Posted, SignedIn};

/// `GET /personnel`.
pub(crate) async fn list(State(state): State<ApiState>, me: SignedIn) -> Response {
    let t = me.lang().texts();
    let people = match state.app.people(&me.ctx, None).await {
        Ok(people) => people,
        Err(err) => return me.chrome.fail(err),
    };
    let orgs = org_names(&state, &me).await;
    let now = state.app.now();
    let current = &state.app.settings().agreement_version;
    let lang = me.lang();
    let body = html! {
        h1 { (t.personnel_title) }
        p.muted { (t.personnel_intro) }
        @if people.is_empty() {
            p { (t.personnel_none) }
        } @else {
            div.table-wrap {
                table.data {
                    thead { tr {
                        th { (t.username) } th { (t.display_name) } th { (t.role) }
                        th { (t.organisation) } th { (t.real_name) } th { (t.agreement) }
                        th { (t.account_status) }
                    } }
                    tbody {
                        @for p in &people {
                            @let (status, status_ok) = account_status(lang, p, now);
                            tr {
                                td { a href={ "/personnel/" (p.id) } { (p.username) } }
                                td { (p.display_name) }
                                td { (p.role.label(lang.chinese())) }
                                td { (orgs.get(&p.org.to_string()).map_or("", String::as_str)) }
                                td { (mark(p.personnel.is_verified())) }
                                td { (mark(p.personnel.has_accepted(current))) }
                                td { span.ok[status_ok].bad[!status_ok] { (status) } }
                            }
                        }
                    }
                }
            }
        }
    };
    me.chrome.respond(
        StatusCode::OK,
        t.personnel_title,
        Some(Section::Personnel),
        body,
    )
}

/// `GET /personnel/{id}`.
pub(crate) async fn record(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<PersonId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "person" });
    };
    let notice = DoneQuery::parse(query.as_deref()).notice(me.lang().texts());
    render_record(&state, &me, id, notice, StatusCode::OK).await
}

async fn render_record(
    state: &ApiState,
    me: &SignedIn,
    id: PersonId,
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let t = me.lang().texts();
    let lang = me.lang();
    let view = match state.app.person(&me.ctx, id).await {
        Ok(view) => view,
        Err(err) => return me.chrome.fail(err),
    };
    let org = state
        .app
        .org(&me.ctx, view.person.org)
        .await
        .ok()
        .map(|o| o.name.to_string());
    let person = &view.person;
    let target = Resource::Person {
        id: person.id,
        org: person.org,
    };
    let now = state.app.now();
    let locked = person.locked_until.is_some_and(|until| until > now);
    let can_verify =
        !person.personnel.is_verified() && me.may(state, Action::PersonVerify, &target);
    let can_train = me.may(state, Action::PersonRecordTraining, &target);
    let can_administer = me.may(state, Action::PersonAdminister, &target);
    let can_disable = person.active && can_administer;
    let can_enable = (!person.active || locked) && can_administer;
    let base = format!("/personnel/{}", person.id);
    let csrf = &me.session.csrf;
    let body = html! {
        p.muted { (t.person_title) }
        h1 { (person.display_name) }
        @if let Some(n) = &shown { (notice(n)) }
        (record_panel(lang, &view, org.as_deref(), &state.app.settings().agreement_version, now))
        @if can_verify || can_train || can_disable || can_enable {
            section.card {
                h2 { (t.person_actions) }
                div.actions {
                    @if can_verify {
                        form.action method="post" action={ (base) "/verify" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            p.hint { (t.person_verify_text) }
                            button.primary type="submit" { (t.person_verify) }
                        }
                    }
                    @if can_train {
                        form.action.stack method="post" action={ (base) "/training" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            label.field {
                                span.label { (t.training_topic) }
                                input type="text" name="topic" required maxlength="200";
                            }
                            label.field {
                                span.label { (t.training_date) }
                                input type="date" name="completed_on" required
                                    value=(now.date().format("%Y-%m-%d").to_string());
                            }
                            button.secondary type="submit" { (t.person_add_training) }
                        }
                    }
                    @if can_disable {
                        form.action method="post" action={ (base) "/disable" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            p.hint { (t.person_disable_text) }
                            button.danger type="submit" { (t.person_disable) }
                        }
                    }
                    @if can_enable {
                        form.action method="post" action={ (base) "/enable" } {
                            input type="hidden" name=(CSRF_FIELD) value=(csrf);
                            p.hint { (t.person_enable_text) }
                            button.secondary type="submit" { (t.person_enable) }
                        }
                    }
                }
            }
        }
    };
    me.chrome
        .respond(status, t.person_title, Some(Section::Personnel), body)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrainingFields {
    topic: String,
    completed_on: String,
}

/// `POST /personnel/{id}/verify`.
pub(crate) async fn verify(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<PersonId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "person" });
    };
    let result = state.app.verify_person(&me.ctx, id).await.map(|_| ());
    finish(&state, &me, id, result, "verified").await
}

/// `POST /personnel/{id}/training`.
pub(crate) async fn training(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<TrainingFields>,
) -> Response {
    let Ok(id) = id.parse::<PersonId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "person" });
    };
    let result = state
        .app
        .record_training(&me.ctx, id, &form.topic, &form.completed_on)
        .await
        .map(|_| ());
    finish(&state, &me, id, result, "training").await
}

/// `POST /personnel/{id}/disable`.
pub(crate) async fn disable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    set_active(state, id, me, false).await
}

/// `POST /personnel/{id}/enable`.
pub(crate) async fn enable(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    set_active(state, id, me, true).await
}

async fn set_active(state: ApiState, id: String, me: SignedIn, active: bool) -> Response {
    let Ok(id) = id.parse::<PersonId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "person" });
    };
    let result = state
        .app
        .set_person_active(&me.ctx, id, active)
        .await
        .map(|_| ());
    let done = if active { "enabled" } else { "disabled" };
    finish(&state, &me, id, result, done).await
}

/// After a form: back to the record with a notice, or the record again with the error (bad input,
/// conflict), or an error page (refused, not found).
async fn finish(
    state: &ApiState,
    me: &SignedIn,
    id: PersonId,
    result: Result<(), AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/personnel/{id}?done={done}")).into_response(),
        Err(err @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render_record(state, me, id, Some(Notice::Error(message)), status).await
        }
        Err(err) => me.chrome.fail(err),
    }
}

/// Organisation names by id, for the organisations visible to the caller.
pub(crate) async fn org_names(state: &ApiState, me: &SignedIn) -> HashMap<String, String> {
    state
        .app
        .orgs(&me.ctx)
        .await
        .map(|orgs| {
            orgs.into_iter()
                .map(|o| (o.id.to_string(), o.name.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// ✓ or ✗.
fn mark(ok: bool) -> Markup {
    if ok {
        html! { span.ok { "✓" } }
    } else {
        html! { span.bad { "✗" } }
    }
}

/// "active", "disabled" or "locked until …", and whether that is the good state.
fn account_status(lang: Lang, person: &Person, now: Timestamp) -> (String, bool) {
    let t = lang.texts();
    if !person.active {
        return (t.status_disabled.to_owned(), false);
    }
    match person.locked_until.filter(|until| *until > now) {
        Some(until) => (fill(t.status_locked, &[&when(until)]), false),
        None => (t.status_active.to_owned(), true),
    }
}

/// The personnel record (PART-3) as facts, shared by `/me` and `/personnel/{id}`.
pub(crate) fn record_panel(
    lang: Lang,
    view: &PersonView,
    org_name: Option<&str>,
    current_version: &str,
    now: Timestamp,
) -> Markup {
    let t = lang.texts();
    let person = &view.person;
    let personnel = &person.personnel;
    let accepted_current = personnel.has_accepted(current_version);
    let (status, status_ok) = account_status(lang, person, now);
    html! {
        section.card {
            h2 { (t.record) }
            dl.facts {
                dt { (t.username) } dd { code { (person.username) } }
                dt { (t.display_name) } dd { (person.display_name) }
                dt { (t.role) } dd { (person.role.label(lang.chinese())) }
                dt { (t.organisation) } dd { (org_name.unwrap_or(t.none)) }
                dt { (t.real_name) }
                dd {
                    @match personnel.real_name_verified_at {
                        Some(at) => { (mark(true)) " " (fill(t.verified_at, &[&when(at)])) },
                        None => { (mark(false)) " " (t.not_verified) },
                    }
                }
                dt { (t.agreement) }
                dd {
                    (mark(accepted_current)) " "
                    @match (&personnel.agreement_version, personnel.agreement_accepted_at) {
                        (Some(version), Some(at)) => { (fill(t.agreement_accepted, &[version, &when(at)])) },
                        _ => { (t.agreement_none) },
                    }
                    br;
                    small.muted { (fill(t.agreement_current, &[current_version])) }
                }
                dt { (t.account_status) }
                dd { span.ok[status_ok].bad[!status_ok] { (status) } }
                dt { (t.second_factor) }
                dd { @if person.totp.is_some() { (t.enrolled) } @else { (t.not_enrolled) } }
                dt { (t.training) }
                dd {
                    @if view.training_due { (mark(false)) " " (t.training_due) }
                    @else { (mark(true)) " " (t.training_ok) }
                }
            }
        }
        section.card {
            h2 { (t.training) }
            @if view.training.is_empty() {
                p.muted { (t.training_none) }
            } @else {
                table.data {
                    thead { tr { th { (t.training_topic) } th { (t.training_date) } th { (t.training_recorded_at) } } }
                    tbody {
                        @for record in &view.training {
                            tr {
                                td { (record.topic) }
                                td { (record.completed_on.format("%Y-%m-%d").to_string()) }
                                td { (when(record.recorded_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
