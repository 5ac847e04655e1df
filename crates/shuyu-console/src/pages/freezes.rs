//! Freezes (SBX-9) in the console: `/orgs/{id}`, an organisation's page (name, type, credit code)
//! with its freeze panel for merchants and operators, and the supply freeze panel of
//! `/resources/{id}`. A panel shows the active freeze (since when, by whom, why) to those who may
//! read it, and a reasoned freeze or unfreeze form when the policy would allow it
//! (`App::freeze_state` asks `shuyu_policy::decide`); every post goes to `App::freeze` or
//! `App::unfreeze`, which ask the policy again.
//!
//! Must never: decide access itself, or show a form the policy would refuse.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{AppError, FreezeState, FreezeTarget};
use shuyu_core::{OrgId, OrgType, ResourceId};

use crate::i18n::{Lang, Texts};
use crate::layout::{Notice, describe_error, notice, when};
use crate::pages::DoneQuery;
use crate::web::{CSRF_FIELD, Posted, SignedIn};

const ORG_NOT_FOUND: AppError = AppError::NotFound {
    kind: "organisation",
};
const RESOURCE_NOT_FOUND: AppError = AppError::NotFound { kind: "resource" };

/// What a freeze of `target` stops, in words.
fn hint(t: &Texts, target: FreezeTarget) -> &'static str {
    match target {
        FreezeTarget::Merchant(_) => t.fz_hint_merchant,
        FreezeTarget::Operator(_) => t.fz_hint_operator,
        FreezeTarget::ResourceSupply(_) => t.fz_hint_supply,
    }
}

/// The freeze panel of one target: its state and, where allowed, the reasoned form posting to
/// `action`. Nothing is shown to someone who may neither see nor change the freeze.
pub(crate) fn panel(
    lang: Lang,
    csrf: &str,
    action: &str,
    target: FreezeTarget,
    state: &FreezeState,
    people: &HashMap<String, String>,
) -> Markup {
    let t = lang.texts();
    if !state.frozen && !state.may_freeze {
        return html! {};
    }
    let title = match target {
        FreezeTarget::ResourceSupply(_) => t.fz_supply_title,
        _ => t.fz_title,
    };
    html! {
        section.card.freeze {
            h2 {
                (title) " "
                @if state.frozen {
                    span.badge.state.refused { (t.fz_frozen) }
                } @else {
                    span.badge.state.approved { (t.fz_not_frozen) }
                }
            }
            @if let Some(f) = &state.active {
                dl.facts {
                    dt { (t.fz_since) } dd { (when(f.frozen_at)) }
                    dt { (t.fz_by) }
                    dd { (people.get(&f.frozen_by.to_string()).map_or("", String::as_str)) }
                    dt { (t.fz_reason) } dd { (f.reason) }
                }
            }
            @if state.may_freeze || state.may_unfreeze {
                p.hint { (hint(t, target)) }
                form method="post" action=(action) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    label for="freeze-reason" { (t.gr_reason) }
                    textarea #freeze-reason name="reason" rows="3" required maxlength="1000" {}
                    div.actions {
                        @if state.may_freeze {
                            button.button.danger type="submit" name="step" value="freeze" { (t.fz_freeze) }
                        }
                        @if state.may_unfreeze {
                            button.button type="submit" name="step" value="unfreeze" { (t.fz_unfreeze) }
                        }
                    }
                }
            }
        }
    }
}

/// The freeze panel of a resource's supply, for the resource page (empty when not applicable).
pub(crate) async fn supply_panel(state: &ApiState, me: &SignedIn, id: ResourceId) -> Markup {
    let target = FreezeTarget::ResourceSupply(id);
    let Ok(fs) = state.app.freeze_state(&me.ctx, target).await else {
        return html! {};
    };
    let people = if fs.active.is_some() {
        crate::pages::audit::person_names(state, me).await
    } else {
        HashMap::new()
    };
    panel(
        me.lang(),
        &me.session.csrf,
        &format!("/resources/{id}/supply"),
        target,
        &fs,
        &people,
    )
}

/// `GET /orgs/{id}`.
pub(crate) async fn org_page(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<OrgId>() else {
        return me.chrome.fail(ORG_NOT_FOUND);
    };
    let shown = DoneQuery::parse(raw.as_deref()).notice(me.lang().texts());
    render_org(&state, &me, id, shown, StatusCode::OK).await
}

async fn render_org(
    state: &ApiState,
    me: &SignedIn,
    id: OrgId,
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let org = match state.app.org(&me.ctx, id).await {
        Ok(org) => org,
        Err(err) => return me.chrome.fail(err),
    };
    let freeze = match org.org_type {
        OrgType::Merchant | OrgType::Operator => {
            let target = match org.org_type {
                OrgType::Merchant => FreezeTarget::Merchant(id),
                _ => FreezeTarget::Operator(id),
            };
            match state.app.freeze_state(&me.ctx, target).await {
                Ok(fs) => {
                    let people = if fs.active.is_some() {
                        crate::pages::audit::person_names(state, me).await
                    } else {
                        HashMap::new()
                    };
                    panel(
                        lang,
                        &me.session.csrf,
                        &format!("/orgs/{id}/freeze"),
                        target,
                        &fs,
                        &people,
                    )
                }
                Err(err) => return me.chrome.fail(err),
            }
        }
        _ => html! {},
    };
    let name = org.name.to_string();
    let body = html! {
        h1 { (name) }
        @if let Some(n) = &shown { (notice(n)) }
        section.card {
            dl.facts {
                dt { (t.fz_org_type) } dd { (org.org_type.label(lang.chinese())) }
                dt { (t.format_credit_code) } dd { code { (org.credit_code) } }
            }
        }
        (freeze)
    };
    me.chrome.respond(status, &name, None, body)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FreezeFields {
    step: String,
    #[serde(default)]
    reason: String,
}

/// `POST /orgs/{id}/freeze`: freeze or unfreeze a merchant or operator, with a reason.
pub(crate) async fn org_post(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<FreezeFields>,
) -> Response {
    let Ok(id) = id.parse::<OrgId>() else {
        return me.chrome.fail(ORG_NOT_FOUND);
    };
    let target = match state.app.org_freeze_target(&me.ctx, id).await {
        Ok(target) => target,
        Err(err) => return me.chrome.fail(err),
    };
    match apply(&state, &me, target, &form).await {
        Ok(done) => Redirect::to(&format!("/orgs/{id}?done={done}")).into_response(),
        Err(Shown::Page(err)) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render_org(&state, &me, id, Some(Notice::Error(message)), status).await
        }
        Err(Shown::Fail(response)) => response,
    }
}

/// `POST /resources/{id}/supply`: freeze or unfreeze a resource's supply, with a reason.
pub(crate) async fn supply_post(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<FreezeFields>,
) -> Response {
    let Ok(id) = id.parse::<ResourceId>() else {
        return me.chrome.fail(RESOURCE_NOT_FOUND);
    };
    match apply(&state, &me, FreezeTarget::ResourceSupply(id), &form).await {
        Ok(done) => Redirect::to(&format!("/resources/{id}?done={done}")).into_response(),
        Err(Shown::Page(err)) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            crate::pages::resources::render_with_notice(
                &state,
                &me,
                id,
                Notice::Error(message),
                status,
            )
            .await
        }
        Err(Shown::Fail(response)) => response,
    }
}

/// How a refused post is answered: on its page (bad input, a conflict) or as an error page.
enum Shown {
    Page(AppError),
    Fail(Response),
}

async fn apply(
    state: &ApiState,
    me: &SignedIn,
    target: FreezeTarget,
    form: &FreezeFields,
) -> Result<&'static str, Shown> {
    let reason = crate::pages::multiline(&form.reason);
    let (result, done) = match form.step.as_str() {
        "freeze" => (state.app.freeze(&me.ctx, target, &reason).await, "frozen"),
        "unfreeze" => (
            state.app.unfreeze(&me.ctx, target, &reason).await,
            "unfrozen",
        ),
        _ => {
            let t = me.lang().texts();
            return Err(Shown::Fail(me.chrome.error_page(
                StatusCode::BAD_REQUEST,
                t.error_title,
                t.bad_form,
            )));
        }
    };
    match result {
        Ok(_) => Ok(done),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => Err(Shown::Page(err)),
        Err(err) => Err(Shown::Fail(me.chrome.fail(err))),
    }
}
