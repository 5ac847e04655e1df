//! `/profile`: the regulation this deployment runs, whether it is in force, and every rule with the
//! article it rests on (POL-1, POL-2).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use shuyu_api::ApiState;

use crate::layout::Section;
use crate::web::SignedIn;

pub(crate) async fn page(State(state): State<ApiState>, me: SignedIn) -> Response {
    let t = me.lang().texts();
    let lang = me.lang();
    let profile = match state.app.read_profile(&me.ctx).await {
        Ok(profile) => profile,
        Err(err) => return me.chrome.fail(err),
    };
    let regulation = profile.regulation();
    let validity = profile.validity_on(state.app.now().date());
    let in_force = validity.is_in_force();
    let rules = profile.rules();
    let body = html! {
        h1 { (t.profile_title) }
        section.card {
            dl.facts {
                dt { (t.profile_key) } dd { code { (profile.key()) } }
                dt { (t.profile_name) }
                dd {
                    @if lang.chinese() { (regulation.name) } @else { (regulation.name_en) }
                }
                dt { (t.profile_status) } dd { (regulation.status.value.label(lang.chinese())) }
                dt { (t.profile_validity) }
                dd { span.ok[in_force].bad[!in_force] { (validity.describe(lang.chinese())) } }
            }
        }
        section.card {
            h2 { (t.profile_rules) }
            div.table-wrap {
                table.data.rules {
                    thead { tr { th { (t.rule_label) } th { (t.rule_value) } th { (t.rule_article) } } }
                    tbody {
                        @for rule in &rules {
                            tr {
                                td {
                                    @if lang.chinese() { (rule.label_zh) } @else { (rule.label_en) }
                                    br; small.muted { code { (rule.key) } }
                                }
                                td { (rule.value) }
                                td.article { (rule.article) }
                            }
                        }
                    }
                }
            }
        }
    };
    me.chrome.respond(
        StatusCode::OK,
        t.profile_title,
        Some(Section::Profile),
        body,
    )
}
