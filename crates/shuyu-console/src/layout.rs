//! The frame of every page: document head, header bar with navigation, the person and the language
//! switch, banners, notices and error pages.
//!
//! What the header *shows* (which links, which banners) is worked out once per request in
//! [`Chrome::build`], asking `shuyu_policy::decide` for links; the pages behind the links ask the
//! app's use cases, which decide again. Must never: show a secret, or decide access.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use shuyu_api::ApiState;
use shuyu_app::{AppError, Ctx, SessionView, SsoRefusal};
use shuyu_core::{OrgId, Role, Timestamp};
use shuyu_policy::{Action, Resource};
use shuyu_profile::Validity;

use crate::i18n::{Lang, fill};
use crate::web::CSRF_FIELD;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Home,
    Me,
    Personnel,
    Audit,
    Profile,
    Catalog,
    Resources,
    Grants,
    Workspaces,
    Fusion,
}

#[derive(Debug, Clone)]
pub(crate) struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub section: Section,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BannerKind {
    Warning,
    Attention,
}

#[derive(Debug, Clone)]
pub(crate) struct Banner {
    pub kind: BannerKind,
    pub text: String,
    pub link: Option<(&'static str, &'static str)>,
}

/// A message at the top of a page after a form was handled.
#[derive(Debug, Clone)]
pub(crate) enum Notice {
    Done(String),
    Error(String),
}

/// The frame of a signed-in person's pages.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub lang: Lang,
    pub display_name: String,
    pub role_label: &'static str,
    pub org_name: Option<String>,
    pub nav: Vec<NavItem>,
    pub banners: Vec<Banner>,
    /// The session's CSRF token, for the header's forms.
    pub csrf: String,
    /// Where the language switch returns to.
    pub here: String,
    pub request_id: String,
}

impl Chrome {
    pub(crate) async fn build(
        state: &ApiState,
        ctx: &Ctx,
        session: &SessionView,
        lang: Lang,
        here: String,
        request_id: String,
    ) -> Chrome {
        let t = lang.texts();
        let person = &session.person;
        let actor = &session.actor;
        let org_name = state
            .app
            .org(ctx, person.org)
            .await
            .ok()
            .map(|o| o.name.to_string());
        let may = |action: Action, resource: &Resource| {
            shuyu_policy::decide(&ctx.principal, action, resource, state.app.profile()).is_allowed()
        };

        let mut nav = vec![NavItem {
            href: "/",
            label: t.nav_home,
            section: Section::Home,
        }];
        if may(Action::SelfRead, &Resource::Platform) {
            nav.push(NavItem {
                href: "/me",
                label: t.nav_me,
                section: Section::Me,
            });
        }
        let own_record = Resource::Person {
            id: person.id,
            org: person.org,
        };
        if may(Action::PersonRead, &own_record) {
            nav.push(NavItem {
                href: "/personnel",
                label: t.nav_personnel,
                section: Section::Personnel,
            });
        }
        nav.push(NavItem {
            href: "/catalog",
            label: t.nav_catalog,
            section: Section::Catalog,
        });
        if manages_resources(&ctx.principal, person.org, state) {
            nav.push(NavItem {
                href: "/resources",
                label: t.nav_resources,
                section: Section::Resources,
            });
        }
        // The grants of the person's own organisation, as merchant or as operator; the authority and
        // supervisors read every grant.
        if may(
            Action::GrantRead,
            &Resource::Grant {
                merchant: person.org,
                operator: person.org,
            },
        ) {
            nav.push(NavItem {
                href: "/grants",
                label: t.nav_grants,
                section: Section::Grants,
            });
        }
        // The workspaces of those grants (one per grant), under the same condition as the grants.
        if may(
            Action::WorkspaceRead,
            &Resource::Grant {
                merchant: person.org,
                operator: person.org,
            },
        ) {
            nav.push(NavItem {
                href: "/workspaces",
                label: t.nav_workspaces,
                section: Section::Workspaces,
            });
        }
        // The authority reviews fusion imports (CC18(3)) of every workspace.
        if may(
            Action::FusionReview,
            &Resource::Grant {
                merchant: person.org,
                operator: person.org,
            },
        ) {
            nav.push(NavItem {
                href: "/fusion",
                label: t.nav_fusion,
                section: Section::Fusion,
            });
        }
        if may(Action::AuditSearch, &Resource::AuditTrail) {
            nav.push(NavItem {
                href: "/audit",
                label: t.nav_audit,
                section: Section::Audit,
            });
        } else if may(Action::AuditVerify, &Resource::AuditTrail) {
            nav.push(NavItem {
                href: "/audit/verify",
                label: t.nav_audit,
                section: Section::Audit,
            });
        }
        if may(Action::ProfileRead, &Resource::Platform) {
            nav.push(NavItem {
                href: "/profile",
                label: t.nav_profile,
                section: Section::Profile,
            });
        }

        let mut banners = Vec::new();
        if sees_profile_banner(actor.role)
            && let Some(text) = profile_banner(state, lang)
        {
            banners.push(Banner {
                kind: BannerKind::Warning,
                text,
                link: Some(("/profile", t.nav_profile)),
            });
        }
        let clearance = actor.clearance;
        let mut missing = Vec::new();
        if !clearance.real_name_verified {
            missing.push(t.missing_real_name);
        }
        if !clearance.agreement_current {
            missing.push(t.missing_agreement);
        }
        if !missing.is_empty() {
            banners.push(Banner {
                kind: BannerKind::Attention,
                text: fill(t.banner_clearance, &[&missing.join(t.list_separator)]),
                link: Some(("/me", t.banner_clearance_link)),
            });
        }

        Chrome {
            lang,
            display_name: person.display_name.to_string(),
            role_label: person.role.label(lang.chinese()),
            org_name,
            nav,
            banners,
            csrf: session.csrf.clone(),
            here,
            request_id,
        }
    }

    /// A full page in the frame.
    pub(crate) fn page(&self, title: &str, section: Option<Section>, body: Markup) -> Markup {
        self.framed(title, section, body, None)
    }

    /// A page in the frame that reloads itself every `seconds` (`<meta http-equiv="refresh">`:
    /// no script, so the Content-Security-Policy allows it), e.g. while an import runs.
    pub(crate) fn respond_refreshing(
        &self,
        title: &str,
        section: Option<Section>,
        body: Markup,
        seconds: u32,
    ) -> Response {
        (
            StatusCode::OK,
            self.framed(title, section, body, Some(seconds)),
        )
            .into_response()
    }

    fn framed(
        &self,
        title: &str,
        section: Option<Section>,
        body: Markup,
        refresh: Option<u32>,
    ) -> Markup {
        let t = self.lang.texts();
        let content = html! {
            header.topbar {
                div.bar {
                    a.brand href="/" { span.mark { "数域" } span.word { "shuyu" } }
                    nav.mainnav {
                        @for item in &self.nav {
                            a href=(item.href) class=[(Some(item.section) == section).then_some("active")] { (item.label) }
                        }
                    }
                    div.tools {
                        div.who {
                            span.who-name { (self.display_name) }
                            span.who-meta {
                                (self.role_label)
                                @if let Some(org) = &self.org_name { " · " (org) }
                            }
                        }
                        (lang_switch(self.lang, &self.csrf, &self.here))
                        form.inline method="post" action="/logout" {
                            input type="hidden" name=(CSRF_FIELD) value=(self.csrf);
                            button.link.signout type="submit" { (t.sign_out) }
                        }
                    }
                }
            }
            @for banner in &self.banners {
                div.banner.warning[banner.kind == BannerKind::Warning].attention[banner.kind == BannerKind::Attention] role="alert" {
                    span { (banner.text) }
                    @if let Some((href, label)) = banner.link {
                        " " a href=(href) { (label) }
                    }
                }
            }
            main.content { (body) }
            (footer(self.lang, &self.request_id))
        };
        document_with(self.lang, title, refresh, content)
    }

    pub(crate) fn respond(
        &self,
        status: StatusCode,
        title: &str,
        section: Option<Section>,
        body: Markup,
    ) -> Response {
        (status, self.page(title, section, body)).into_response()
    }

    /// An error page in the frame.
    pub(crate) fn error_page(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.error_with_hint(status, title, message, None)
    }

    fn error_with_hint(
        &self,
        status: StatusCode,
        title: &str,
        message: &str,
        hint: Option<(&str, &'static str)>,
    ) -> Response {
        let t = self.lang.texts();
        let body = html! {
            section.card.error-card {
                h1 { (title) }
                p { (message) }
                @if let Some((text, href)) = hint {
                    p { a href=(href) { (text) } }
                }
                p.muted { (t.request_id) ": " code { (self.request_id) } }
                p { a href="/" { (t.back_home) } }
            }
        };
        self.respond(status, title, None, body)
    }

    /// The answer to a use case's error: a 403 page with the denial, 404, 409, 422, or a generic
    /// 500 (logged with the request id).
    pub(crate) fn fail(&self, err: AppError) -> Response {
        let t = self.lang.texts();
        match err {
            AppError::Unauthenticated => Redirect::to("/login").into_response(),
            AppError::Forbidden(denial) => {
                let hint = (denial.code == "not_cleared").then_some((t.not_cleared_hint, "/me"));
                self.error_with_hint(
                    StatusCode::FORBIDDEN,
                    t.forbidden_title,
                    &denial_message(self.lang, &denial),
                    hint,
                )
            }
            AppError::NotFound { .. } => {
                self.error_page(StatusCode::NOT_FOUND, t.not_found_title, t.not_found_text)
            }
            other => {
                let (status, title, message) = describe_error(self.lang, &self.request_id, other);
                self.error_page(status, title, &message)
            }
        }
    }
}

/// Whether the managed side of the catalog has something for this person: they may register
/// resources for their organisation, review resources, or read other organisations' resources.
/// Asked of the policy, only to decide whether to show the link; `/resources` asks again.
pub(crate) fn manages_resources(
    principal: &shuyu_policy::Principal,
    own_org: OrgId,
    state: &ApiState,
) -> bool {
    let profile = state.app.profile();
    let may = |action: Action, resource: &Resource| {
        shuyu_policy::decide(principal, action, resource, profile).is_allowed()
    };
    // An organisation id that is nobody's: "a resource of another organisation".
    let elsewhere = OrgId::from_uuid(uuid::Uuid::nil());
    may(Action::ResourceRegister, &Resource::Org { id: own_org })
        || may(
            Action::ResourceReview,
            &Resource::CatalogEntry {
                provider: elsewhere,
                public: false,
            },
        )
        || may(
            Action::ResourceRead,
            &Resource::CatalogEntry {
                provider: elsewhere,
                public: false,
            },
        )
}

/// Status, title and sentence for an error shown inline in a form or on an error page.
pub(crate) fn describe_error(
    lang: Lang,
    request_id: &str,
    err: AppError,
) -> (StatusCode, &'static str, String) {
    let t = lang.texts();
    match err {
        AppError::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            t.error_title,
            AppError::Unauthenticated.to_string(),
        ),
        AppError::Forbidden(denial) => (
            StatusCode::FORBIDDEN,
            t.forbidden_title,
            denial_message(lang, &denial),
        ),
        AppError::NotFound { .. } => (
            StatusCode::NOT_FOUND,
            t.not_found_title,
            t.not_found_text.to_owned(),
        ),
        AppError::Invalid { field, message } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            t.invalid_title,
            format!("{}{message}", fill(t.field_prefix, &[field])),
        ),
        AppError::InvalidFields(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            t.invalid_title,
            problems
                .iter()
                .map(|(field, message)| format!("{}{message}", fill(t.field_prefix, &[field])))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AppError::Conflict(message) => (StatusCode::CONFLICT, t.conflict_title, message),
        AppError::LoginFailed => (
            StatusCode::UNAUTHORIZED,
            t.error_title,
            t.login_failed.to_owned(),
        ),
        AppError::SecondFactorRequired => (
            StatusCode::UNAUTHORIZED,
            t.error_title,
            t.login_second_factor.to_owned(),
        ),
        AppError::Locked { until } => (
            StatusCode::FORBIDDEN,
            t.error_title,
            fill(t.login_locked, &[&when(until)]),
        ),
        AppError::Disabled => (
            StatusCode::FORBIDDEN,
            t.error_title,
            t.login_disabled.to_owned(),
        ),
        AppError::Sso(refusal) => {
            let (status, text) = match &refusal {
                SsoRefusal::NotConfigured => {
                    (StatusCode::NOT_FOUND, t.sso_not_configured.to_owned())
                }
                SsoRefusal::UnknownState => {
                    (StatusCode::BAD_REQUEST, t.sso_unknown_state.to_owned())
                }
                SsoRefusal::Expired => (StatusCode::BAD_REQUEST, t.sso_expired.to_owned()),
                SsoRefusal::ProviderDenied { error } => (
                    StatusCode::UNAUTHORIZED,
                    fill(t.sso_provider_denied, &[error]),
                ),
                SsoRefusal::ProviderUnavailable => (
                    StatusCode::BAD_GATEWAY,
                    t.sso_provider_unavailable.to_owned(),
                ),
                SsoRefusal::InvalidResponse => {
                    (StatusCode::BAD_GATEWAY, t.sso_invalid_response.to_owned())
                }
                SsoRefusal::NotLinked => (StatusCode::FORBIDDEN, t.sso_not_linked.to_owned()),
                SsoRefusal::SecondFactorMissing => (
                    StatusCode::FORBIDDEN,
                    t.sso_second_factor_missing.to_owned(),
                ),
            };
            (status, t.sso_failed_title, text)
        }
        AppError::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, t.error_title, message),
        // A stored workspace query the secure domain refused or could not run: its reason names
        // tables, columns and rules, never a data value (the workspace pages link to the query).
        AppError::Query {
            refused, reason, ..
        } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            if refused { t.ws_refused } else { t.ws_failed },
            reason,
        ),
        AppError::Internal(message) => {
            tracing::error!(request_id, error = %message, "internal error behind a console page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                t.internal_title,
                t.internal_text.to_owned(),
            )
        }
    }
}

/// Who is told, on every page, that the deployment runs a regulation that is not in force: those
/// who can change that (the authority) and those who run the platform (administrators). This is
/// about informing, not access.
fn sees_profile_banner(role: Role) -> bool {
    matches!(role, Role::Authority | Role::Admin)
}

/// The POL-2 banner, if the profile is not in force today.
fn profile_banner(state: &ApiState, lang: Lang) -> Option<String> {
    let t = lang.texts();
    let profile = state.app.profile();
    let regulation = profile.regulation();
    let name = if lang.chinese() {
        regulation.name.as_str()
    } else {
        regulation.short_name.as_str()
    };
    match profile.validity_on(state.app.now().date()) {
        Validity::InForce { .. } => None,
        Validity::Expired { last_day } => Some(fill(
            t.banner_profile_expired,
            &[name, &last_day.format("%Y-%m-%d").to_string()],
        )),
        Validity::NotYetEffective { from } => Some(fill(
            t.banner_profile_not_yet,
            &[name, &from.format("%Y-%m-%d").to_string()],
        )),
    }
}

/// The HTML document around any page.
pub(crate) fn document(lang: Lang, title: &str, content: Markup) -> Markup {
    document_with(lang, title, None, content)
}

/// The HTML document, reloading itself every `refresh` seconds when given.
fn document_with(lang: Lang, title: &str, refresh: Option<u32>, content: Markup) -> Markup {
    let t = lang.texts();
    html! {
        (DOCTYPE)
        html lang=(lang.html_tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · " (t.platform) }
                link rel="stylesheet" href="/assets/shuyu.css";
                link rel="icon" type="image/svg+xml" href="/assets/favicon.svg";
            }
            body { (content) }
        }
    }
}

/// The language switch: one button offering the other language. `csrf` is the session's token, or
/// the login form's token for visitors who are not signed in.
pub(crate) fn lang_switch(lang: Lang, csrf: &str, next: &str) -> Markup {
    let t = lang.texts();
    let other = lang.other();
    html! {
        form.inline.lang-switch method="post" action="/lang" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            input type="hidden" name="lang" value=(other.code());
            input type="hidden" name="next" value=(next);
            button.link type="submit" title=(t.switch_label) lang=(other.html_tag()) { (t.switch_to) }
        }
    }
}

fn footer(lang: Lang, request_id: &str) -> Markup {
    let t = lang.texts();
    html! {
        footer.foot {
            span { (t.platform) " · " (t.tagline) }
            @if !request_id.is_empty() {
                span.rid { (t.request_id) ": " code { (request_id) } }
            }
        }
    }
}

/// A page for visitors who are not signed in (sign-in, errors before sign-in).
pub(crate) fn public_page(
    lang: Lang,
    title: &str,
    switch: Option<Markup>,
    request_id: &str,
    body: Markup,
) -> Markup {
    public_frame(lang, title, switch, request_id, body, true)
}

/// A wide page for visitors who are not signed in (the public catalog's tables).
pub(crate) fn public_wide_page(
    lang: Lang,
    title: &str,
    switch: Option<Markup>,
    request_id: &str,
    body: Markup,
) -> Markup {
    public_frame(lang, title, switch, request_id, body, false)
}

fn public_frame(
    lang: Lang,
    title: &str,
    switch: Option<Markup>,
    request_id: &str,
    body: Markup,
    narrow: bool,
) -> Markup {
    let t = lang.texts();
    let content = html! {
        header.topbar {
            div.bar {
                a.brand href="/" { span.mark { "数域" } span.word { "shuyu" } }
                span.tagline { (t.tagline) }
                div.tools { @if let Some(s) = switch { (s) } }
            }
        }
        main.content.narrow[narrow] { (body) }
        (footer(lang, request_id))
    };
    document(lang, title, content)
}

/// An error page for a visitor whose session could not be resolved.
pub(crate) fn bare_error(
    lang: Lang,
    request_id: &str,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    let t = lang.texts();
    let body = html! {
        section.card.error-card {
            h1 { (title) }
            p { (message) }
            p { a href="/login" { (t.login_title) } }
        }
    };
    (status, public_page(lang, title, None, request_id, body)).into_response()
}

pub(crate) fn notice(n: &Notice) -> Markup {
    match n {
        Notice::Done(text) => html! { div.notice.ok role="status" { (text) } },
        Notice::Error(text) => html! { div.notice.error role="alert" { (text) } },
    }
}

/// China Standard Time (UTC+8), the one time zone of the PRC, in which pages show times.
const DISPLAY_OFFSET_SECONDS: i32 = 8 * 3600;

/// A time as people read it: `2026-11-24 09:00:00` (UTC+8).
pub(crate) fn when(ts: Timestamp) -> String {
    match chrono::FixedOffset::east_opt(DISPLAY_OFFSET_SECONDS) {
        Some(offset) => ts
            .to_datetime()
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => ts.to_string(),
    }
}

/// A policy refusal in the reader's language. The policy words its reasons in English (they also go
/// to the audit chain and the API); the console shows its own sentence for each stable code.
pub(crate) fn denial_message(lang: Lang, denial: &shuyu_policy::Denial) -> String {
    let t = lang.texts();
    match denial.code {
        "not_signed_in" => t.denial_not_signed_in,
        "second_factor_required" => t.denial_second_factor,
        "interactive_session_required" => t.denial_needs_session,
        // The two PART-3 gates share a code; the policy's reason names which one applies.
        "not_cleared" if denial.message.contains("real-name") => t.denial_not_verified,
        "not_cleared" => t.denial_no_agreement,
        _ => return fill(t.denial_forbidden, &[denial.action]),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_china_standard_time() {
        let t = Timestamp::parse("2026-11-24T01:00:00Z").unwrap();
        assert_eq!(when(t), "2026-11-24 09:00:00");
    }
}
