//! `/`: a greeting, the role's responsibilities, and cards for what the person can do now. A
//! person who may run queries in workspaces (a merchant's cleared analyst) also gets a card listing
//! them, each with its link and, for a differentially private grant, the budget left.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use shuyu_api::ApiState;
use shuyu_policy::{Action, Resource};
use shuyu_profile::UsageMethod;

use crate::i18n::fill;
use crate::layout::{Section, manages_resources};
use crate::pages::workspaces::epsilon;
use crate::web::SignedIn;

/// How many workspaces the home card lists.
const HOME_WORKSPACES: usize = 10;

/// One workspace on the home card: its scenario, link, and the ε left and granted (DP grants).
struct WorkspaceLine {
    name: String,
    href: String,
    budget: Option<(f64, f64)>,
}

/// The workspaces `me` may query, with what is left of their budgets; none when the app refuses
/// the listing (the card is then left out, as for anyone who may not query).
async fn my_workspaces(state: &ApiState, me: &SignedIn) -> Vec<WorkspaceLine> {
    let Ok(grants) = state.app.workspaces(&me.ctx).await else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for g in grants {
        let grant = &g.grant;
        let target = Resource::Grant {
            merchant: grant.merchant(),
            operator: grant.operator(),
        };
        if !me.may(state, Action::WorkspaceQuery, &target) {
            continue;
        }
        let budget = match grant.usage() {
            UsageMethod::DpAggregate => state
                .app
                .workspace_ledger(&me.ctx, grant.workspace())
                .await
                .ok()
                .map(|l| {
                    let total = l.grant_budget.epsilon;
                    ((total - l.grant_spent.epsilon).max(0.0), total)
                }),
            UsageMethod::Aggregate => None,
        };
        lines.push(WorkspaceLine {
            name: grant.scenario().name.clone(),
            href: format!("/workspaces/{}", grant.workspace()),
            budget,
        });
        if lines.len() == HOME_WORKSPACES {
            break;
        }
    }
    lines
}

struct Card {
    href: &'static str,
    title: &'static str,
    text: &'static str,
}

pub(crate) async fn page(State(state): State<ApiState>, me: SignedIn) -> Response {
    let t = me.lang().texts();
    let person = &me.session.person;
    let mut cards = Vec::new();
    if me.may(&state, Action::SelfRead, &Resource::Platform) {
        cards.push(Card {
            href: "/me",
            title: t.card_me,
            text: t.card_me_text,
        });
    }
    let own = Resource::Person {
        id: person.id,
        org: person.org,
    };
    if me.may(&state, Action::PersonRead, &own) {
        cards.push(Card {
            href: "/personnel",
            title: t.card_personnel,
            text: t.card_personnel_text,
        });
    }
    cards.push(Card {
        href: "/catalog",
        title: t.card_catalog,
        text: t.card_catalog_text,
    });
    if manages_resources(&me.ctx.principal, person.org, &state) {
        cards.push(Card {
            href: "/resources",
            title: t.card_resources,
            text: t.card_resources_text,
        });
    }
    if me.may(&state, Action::AuditSearch, &Resource::AuditTrail) {
        cards.push(Card {
            href: "/audit",
            title: t.card_audit,
            text: t.card_audit_text,
        });
    }
    if me.may(&state, Action::AuditVerify, &Resource::AuditTrail) {
        cards.push(Card {
            href: "/audit/verify",
            title: t.card_verify,
            text: t.card_verify_text,
        });
    }
    let new_token = Resource::NewToken {
        org: person.org,
        role: person.role,
    };
    if me.may(&state, Action::TokenCreate, &new_token) {
        cards.push(Card {
            href: "/me#tokens",
            title: t.card_tokens,
            text: t.card_tokens_text,
        });
    }
    if me.may(&state, Action::ProfileRead, &Resource::Platform) {
        cards.push(Card {
            href: "/profile",
            title: t.card_profile,
            text: t.card_profile_text,
        });
    }
    let workspaces = my_workspaces(&state, &me).await;
    let body = html! {
        section.hero {
            h1 { (fill(t.greeting, &[&me.chrome.display_name])) }
            p.lead {
                span.muted { (t.home_role_line) }
                span.badge { (me.chrome.role_label) }
                @if let Some(org) = &me.chrome.org_name { " " span.muted { (org) } }
            }
        }
        section.card {
            h2 { (t.home_duties) }
            p { (t.duties(person.role)) }
        }
        h2 { (t.home_now) }
        div.cards {
            @if !workspaces.is_empty() {
                section.card.workspaces-card {
                    h3 { a href="/workspaces" { (t.card_workspaces) } }
                    p { (t.card_workspaces_text) }
                    ul {
                        @for w in &workspaces {
                            li {
                                a href=(w.href) { (w.name) }
                                @if let Some((left, total)) = w.budget {
                                    " " small.muted { (fill(t.home_budget_left, &[&epsilon(left), &epsilon(total)])) }
                                }
                            }
                        }
                    }
                }
            }
            @for card in &cards {
                a.card.link-card href=(card.href) {
                    h3 { (card.title) }
                    p { (card.text) }
                }
            }
        }
    };
    me.chrome
        .respond(StatusCode::OK, t.nav_home, Some(Section::Home), body)
}
