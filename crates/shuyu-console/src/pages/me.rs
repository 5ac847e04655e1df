//! `/me`: one's own personnel record, the confidentiality agreement, the password and API tokens.
//!
//! A new token's secret is rendered once, on the page answering its creation (never in a URL, a
//! redirect or a log); the token list shows only its prefix.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::AppError;
use shuyu_core::TokenId;
use shuyu_policy::{Action, Resource};

use crate::i18n::fill;
use crate::layout::{Notice, Section, describe_error, notice, when};
use crate::pages::DoneQuery;
use crate::pages::personnel::record_panel;
use crate::web::{CSRF_FIELD, NoFields, Posted, SignedIn};

/// `GET /me`.
pub(crate) async fn page(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    me: SignedIn,
) -> Response {
    let shown = DoneQuery::parse(query.as_deref()).notice(me.lang().texts());
    render(&state, &me, shown, None, StatusCode::OK).await
}

/// Renders `/me`, with a notice and, right after creating a token, its secret (shown once).
async fn render(
    state: &ApiState,
    me: &SignedIn,
    shown: Option<Notice>,
    secret: Option<String>,
    status: StatusCode,
) -> Response {
    let t = me.lang().texts();
    let lang = me.lang();
    let view = match state.app.me(&me.ctx).await {
        Ok(view) => view,
        Err(err) => return me.chrome.fail(err),
    };
    let tokens = match state.app.tokens(&me.ctx).await {
        Ok(tokens) => tokens,
        Err(err) => return me.chrome.fail(err),
    };
    let now = state.app.now();
    let current = &state.app.settings().agreement_version;
    let person = &view.person;
    let can_manage = me.may(state, Action::SelfManage, &Resource::Platform);
    let accepted = person.personnel.has_accepted(current);
    let can_create_token = me.may(
        state,
        Action::TokenCreate,
        &Resource::NewToken {
            org: person.org,
            role: person.role,
        },
    );
    let csrf = &me.session.csrf;
    let body = html! {
        h1 { (t.me_title) }
        @if let Some(n) = &shown { (notice(n)) }
        @if let Some(secret) = &secret {
            div.notice.secret role="status" {
                p { (t.token_secret_once) }
                code.secret { (secret) }
            }
        }
        (record_panel(lang, &view, me.chrome.org_name.as_deref(), current, now))
        @if can_manage {
            section.card id="agreement" {
                h2 { (t.agreement_title) }
                p { (fill(t.agreement_text, &[current])) }
                @if accepted {
                    p.ok { "✓ " (t.agreement_done_already) }
                } @else {
                    form method="post" action="/me/agreement" {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        input type="hidden" name="version" value=(current);
                        button.primary type="submit" { (fill(t.agreement_accept, &[current])) }
                    }
                }
            }
            @if person.password.is_some() {
                section.card id="password" {
                    h2 { (t.password_title) }
                    form.stack method="post" action="/me/password" {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        label.field {
                            span.label { (t.password_old) }
                            input type="password" name="old_password" autocomplete="current-password" required;
                        }
                        label.field {
                            span.label { (t.password_new) }
                            input type="password" name="new_password" autocomplete="new-password" required;
                        }
                        label.field {
                            span.label { (t.password_confirm) }
                            input type="password" name="confirm_password" autocomplete="new-password" required;
                        }
                        p.hint { (t.password_hint) }
                        button.secondary type="submit" { (t.password_submit) }
                    }
                }
            }
        }
        @if can_create_token || !tokens.is_empty() {
            section.card id="tokens" {
                h2 { (t.tokens_title) }
                p.muted { (t.tokens_intro) }
                @if tokens.is_empty() {
                    p.muted { (t.tokens_none) }
                } @else {
                    div.table-wrap {
                        table.data {
                            thead { tr {
                                th { (t.token_name) } th { (t.token_hint) } th { (t.token_created) }
                                th { (t.token_expires) } th { (t.token_state) } th {}
                            } }
                            tbody {
                                @for token in &tokens {
                                    @let live = token.is_live(now);
                                    @let may_revoke = live && me.may(state, Action::TokenRevoke,
                                        &Resource::Token { org: token.org, owner: token.owner });
                                    tr {
                                        td { (token.name) }
                                        td { code { (token.hint) "…" } }
                                        td { (when(token.created_at)) }
                                        td { (when(token.expires_at)) }
                                        td {
                                            @if token.revoked_at.is_some() { span.bad { (t.token_revoked) } }
                                            @else if live { span.ok { (t.token_live) } }
                                            @else { span.bad { (t.token_expired) } }
                                        }
                                        td {
                                            @if may_revoke {
                                                form.inline method="post" action={ "/me/tokens/" (token.id) "/revoke" } {
                                                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                                    button.danger.small type="submit" { (t.token_revoke) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if can_create_token {
                    form.row method="post" action="/me/tokens" {
                        input type="hidden" name=(CSRF_FIELD) value=(csrf);
                        label.field {
                            span.label { (t.token_name) }
                            input type="text" name="name" required maxlength="100";
                        }
                        label.field.narrow {
                            span.label { (t.token_days) }
                            input type="number" name="days" min="1"
                                max=(state.app.settings().token_max_days) value="90" required;
                        }
                        button.primary type="submit" { (t.token_create) }
                    }
                }
            }
        }
    };
    me.chrome
        .respond(status, t.me_title, Some(Section::Me), body)
}

/// After a form: back to `/me` with a notice, or `/me` again with the error (bad input, conflict),
/// or an error page (refused).
async fn finish(
    state: &ApiState,
    me: &SignedIn,
    result: Result<(), AppError>,
    done: &str,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/me?done={done}")).into_response(),
        Err(err @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render(state, me, Some(Notice::Error(message)), None, status).await
        }
        Err(err) => me.chrome.fail(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgreementFields {
    version: String,
}

/// `POST /me/agreement`.
pub(crate) async fn accept_agreement(
    State(state): State<ApiState>,
    Posted { me, form }: Posted<AgreementFields>,
) -> Response {
    let result = state.app.accept_agreement(&me.ctx, &form.version).await;
    finish(&state, &me, result, "agreement").await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordFields {
    old_password: String,
    new_password: String,
    confirm_password: String,
}

/// `POST /me/password`. Other sessions end; this one stays.
pub(crate) async fn change_password(
    State(state): State<ApiState>,
    Posted { me, form }: Posted<PasswordFields>,
) -> Response {
    let t = me.lang().texts();
    if form.new_password != form.confirm_password {
        return render(
            &state,
            &me,
            Some(Notice::Error(t.password_mismatch.to_owned())),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let result = state
        .app
        .change_password(
            &me.ctx,
            Some(&me.session),
            &form.old_password,
            &form.new_password,
        )
        .await;
    finish(&state, &me, result, "password").await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenFields {
    name: String,
    days: String,
}

/// `POST /me/tokens`: the answer shows the secret once.
pub(crate) async fn create_token(
    State(state): State<ApiState>,
    Posted { me, form }: Posted<TokenFields>,
) -> Response {
    let t = me.lang().texts();
    let Ok(days) = form.days.trim().parse::<u32>() else {
        return render(
            &state,
            &me,
            Some(Notice::Error(t.token_days_invalid.to_owned())),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state.app.create_token(&me.ctx, &form.name, days).await {
        Ok(issued) => {
            let secret = issued.secret.expose().to_owned();
            render(&state, &me, None, Some(secret), StatusCode::CREATED).await
        }
        Err(err) => finish(&state, &me, Err(err), "").await,
    }
}

/// `POST /me/tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted {
        me,
        form: NoFields {},
    }: Posted<NoFields>,
) -> Response {
    let Ok(id) = id.parse::<TokenId>() else {
        return me.chrome.fail(AppError::NotFound { kind: "token" });
    };
    let result = state.app.revoke_token(&me.ctx, id).await.map(|_| ());
    finish(&state, &me, result, "token_revoked").await
}
