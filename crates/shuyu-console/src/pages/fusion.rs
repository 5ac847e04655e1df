//! `/fusion`: fusion imports (融合数据, CC18(3), ZW26) the signed-in person may read — the authority
//! and supervisors all, a merchant's verified personnel their organisation's — with their state,
//! table, rows, columns and controls and the stated legal basis; the authority approves, rejects
//! (with a reason) and revokes (with a reason), the merchant withdraws a pending import. Forms are
//! shown when `shuyu_policy::decide` would allow their action; every post goes to
//! `App::move_fusion`, which asks the policy again. The upload itself is the API's
//! (`POST /api/v1/workspaces/{id}/fusion`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{AppError, FusionCommand, FusionState, FusionView};
use shuyu_core::FusionId;
use shuyu_policy::{Action, Resource};

use crate::i18n::{Lang, Texts};
use crate::layout::{Notice, Section, describe_error, notice};
use crate::pages::DoneQuery;
use crate::web::{CSRF_FIELD, Posted, SignedIn};

fn state_label(lang: Lang, state: FusionState) -> &'static str {
    match (state, lang.chinese()) {
        (FusionState::Pending, true) => "待审核",
        (FusionState::Approved, true) => "已批准",
        (FusionState::Rejected, true) => "已驳回",
        (FusionState::Withdrawn, true) => "已撤回",
        (FusionState::Revoked, true) => "已撤销",
        (other, false) => other.as_str(),
    }
}

pub(crate) fn state_badge(lang: Lang, state: FusionState) -> Markup {
    let label = state_label(lang, state);
    match state {
        FusionState::Pending => html! { span.badge.state.pending { (label) } },
        FusionState::Approved => html! { span.badge.state.approved { (label) } },
        FusionState::Rejected | FusionState::Revoked => {
            html! { span.badge.state.refused { (label) } }
        }
        FusionState::Withdrawn => html! { span.badge.state.superseded { (label) } },
    }
}

/// The imports as a table; `forms` adds the review forms the policy allows `me`.
pub(crate) fn imports_table(
    state: &ApiState,
    me: &SignedIn,
    t: &Texts,
    imports: &[FusionView],
    forms: bool,
) -> Markup {
    let lang = me.lang();
    html! {
        div.table-wrap {
            table.data.fusion {
                thead { tr {
                    th { (t.fu_table) } th { (t.fu_workspace) } th { (t.fu_state) }
                    th { (t.fu_rows) } th { (t.fu_columns) } th { (t.fu_basis) }
                    @if forms { th { (t.fu_decision) } }
                } }
                tbody {
                    @for f in imports {
                        tr {
                            td { code { (f.table) } }
                            td { a href={ "/workspaces/" (f.workspace) } { (f.workspace.to_string().chars().take(8).collect::<String>()) } }
                            td {
                                (state_badge(lang, f.state))
                                @if let Some(reason) = &f.reason { br; small.muted { (reason) } }
                            }
                            td { (f.rows) }
                            td {
                                ul.plain {
                                    @for c in &f.columns {
                                        li {
                                            code { (c.name) } " "
                                            small.muted {
                                                (c.field_type.as_str()) " · "
                                                (c.control.map_or(t.fu_hidden, |k| k.label(lang.chinese())))
                                                @if f.unit.as_ref().is_some_and(|u| u.column == c.name) {
                                                    " · " (t.fu_unit)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            td { (f.legal_basis) }
                            @if forms { td { (review_forms(state, me, t, f)) } }
                        }
                    }
                }
            }
        }
    }
}

fn review_forms(state: &ApiState, me: &SignedIn, t: &Texts, f: &FusionView) -> Markup {
    let resource = Resource::Grant {
        merchant: f.merchant,
        operator: f.operator,
    };
    let may = |action| me.may(state, action, &resource);
    let csrf = me.chrome.csrf.as_str();
    let action = format!("/fusion/{}/move", f.id);
    html! {
        @if f.state == FusionState::Pending && may(Action::FusionReview) {
            form method="post" action=(action) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label { (t.fu_reason) textarea name="reason" rows="2" maxlength="1000" {} }
                div.actions {
                    button.button type="submit" name="move" value="approve" { (t.fu_approve) }
                    button.button.danger type="submit" name="move" value="reject" { (t.fu_reject) }
                }
            }
        }
        @if f.state == FusionState::Pending && may(Action::FusionWithdraw) {
            form method="post" action=(action) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                button.button type="submit" name="move" value="withdraw" { (t.fu_withdraw) }
            }
        }
        @if f.state == FusionState::Approved && may(Action::FusionRevoke) {
            form method="post" action=(action) {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label { (t.fu_reason) textarea name="reason" rows="2" required maxlength="1000" {} }
                button.button.danger type="submit" name="move" value="revoke" { (t.fu_revoke) }
            }
        }
    }
}

async fn render(
    state: &ApiState,
    me: &SignedIn,
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let t = me.lang().texts();
    let imports = match state.app.fusions(&me.ctx, None).await {
        Ok(imports) => imports,
        Err(err) => return me.chrome.fail(err),
    };
    let body = html! {
        h1 { (t.fu_title) }
        p.muted { (t.fu_intro) }
        @if let Some(n) = &shown { (notice(n)) }
        @if imports.is_empty() {
            p { (t.fu_none) }
        } @else {
            (imports_table(state, me, t, &imports, true))
        }
    };
    me.chrome
        .respond(status, t.fu_title, Some(Section::Fusion), body)
}

/// `GET /fusion`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let shown = DoneQuery::parse(raw.as_deref()).notice(me.lang().texts());
    render(&state, &me, shown, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveFields {
    #[serde(rename = "move")]
    step: String,
    #[serde(default)]
    reason: String,
}

/// `POST /fusion/{id}/move`: approve, reject, withdraw or revoke.
pub(crate) async fn move_fusion(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<MoveFields>,
) -> Response {
    let Ok(id) = id.parse::<FusionId>() else {
        return me.chrome.fail(AppError::NotFound {
            kind: "fusion import",
        });
    };
    let reason = crate::pages::multiline(&form.reason);
    let command = match form.step.as_str() {
        "approve" => FusionCommand::Approve,
        "reject" => FusionCommand::Reject { reason },
        "withdraw" => FusionCommand::Withdraw,
        "revoke" => FusionCommand::Revoke { reason },
        _ => {
            let t = me.lang().texts();
            return me
                .chrome
                .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form);
        }
    };
    match state.app.move_fusion(&me.ctx, id, command).await {
        Ok(_) => Redirect::to("/fusion").into_response(),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render(&state, &me, Some(Notice::Error(message)), status).await
        }
        Err(err) => me.chrome.fail(err),
    }
}
