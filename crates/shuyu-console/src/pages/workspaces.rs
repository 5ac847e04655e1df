//! `/workspaces`: the workspaces of the secure domain the signed-in person may read (one per grant),
//! and `/workspaces/{id}` with its **table browser** (fields with type, grade, column control,
//! desensitization and bounds; the production dataset's rows; the development table), the
//! **budget meter** (the grant's ε spent against its budget, the population ledgers), the form that
//! **prepares development tables**, the **SQL editor** with its environment switch, and the recent
//! queries. `/workspaces/{id}/queries/{qid}` shows one query: its outcome or the reason it was
//! refused, the released result with its SM3 digest, the budget it spent, what was suppressed,
//! its metering and, for a development run, production's verdict.
//!
//! Guarantees:
//! - every page shows only what the app's use cases return (`App::workspace`, `workspace_ledger`,
//!   `workspace_queries`, `workspace_query`, `run_query`, `prepare_dev`): the output control has
//!   already been applied there, the console adds no data of its own;
//! - a query, run or refused, is answered with a 303 to its own page (post/redirect/get, so a
//!   reload never runs it again); the app stores and audits refusals too;
//! - a form that the app refuses before anything is stored (an empty query, a bad ε, too many rows,
//!   a contribution bound beyond the profile's cap) comes back with what the person typed, and the
//!   reason;
//! - for a `dp_aggregate` grant the editor also takes the clamping bounds of each numeric column
//!   (`table.column`, lower and upper; empty: the grant's) and the contribution bounds `L` and `C`
//!   (empty: the profile's defaults), all passed to the app as they are;
//! - forms are shown when `shuyu_policy::decide` would allow their action; the use case asks again.
//!
//! Must never: show a value the app did not release, decide access itself, put a data value in an
//! error or a log line.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use shuyu_api::ApiState;
use shuyu_app::{
    AppError, DevMode, Env, LedgerView, MAX_DEV_ROWS, Production, QueryRequest, QueryView,
    ResultTable, WorkspaceTable, WorkspaceView,
};
use shuyu_catalog::FieldType;
use shuyu_core::{QueryId, WorkspaceId};
use shuyu_grant::Grant;
use shuyu_policy::{Action, Resource};
use shuyu_profile::{DpContribution, UsageMethod};

use crate::i18n::{Lang, Texts, fill};
use crate::layout::{Notice, Section, describe_error, notice, when};
use crate::pages::DoneQuery;
use crate::pages::catalog::grade_label;
use crate::pages::grants::status_badge;
use crate::web::{CSRF_FIELD, Posted, SignedIn};

const NOT_FOUND: AppError = AppError::NotFound { kind: "workspace" };
const QUERY_NOT_FOUND: AppError = AppError::NotFound { kind: "query" };
/// How many development rows the form proposes.
const DEFAULT_DEV_ROWS: u32 = 200;
/// How many recent queries the workspace page lists (the app returns at most 100).
const RECENT_QUERIES: usize = 20;

/// The policy's view of a workspace: its grant.
fn target(grant: &Grant) -> Resource {
    Resource::Grant {
        merchant: grant.merchant(),
        operator: grant.operator(),
    }
}

fn workspace_href(id: WorkspaceId) -> String {
    format!("/workspaces/{id}")
}

fn query_href(workspace: WorkspaceId, query: QueryId) -> String {
    format!("/workspaces/{workspace}/queries/{query}")
}

/// What the SQL editor holds: empty, pre-filled from `?sql=…&env=…` (the "run in production"
/// link), or what the person typed when the app refused the form.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct EditorFields {
    #[serde(default)]
    sql: String,
    #[serde(default)]
    env: String,
    #[serde(default)]
    epsilon: String,
    /// `L` as typed.
    #[serde(skip)]
    groups_per_unit: String,
    /// `C` as typed.
    #[serde(skip)]
    rows_per_unit: String,
    /// Clamping bounds as typed: `table.column` → (lower, upper).
    #[serde(skip)]
    bounds: BTreeMap<String, (String, String)>,
}

/// The most clamping-bound rows one form may carry.
const MAX_BOUND_FIELDS: usize = 64;

impl EditorFields {
    /// Reads the posted editor. `None` for a field the form does not have, or too many bounds.
    fn from_pairs(pairs: Vec<(String, String)>) -> Option<Self> {
        let mut fields = EditorFields::default();
        for (key, value) in pairs {
            match key.as_str() {
                "sql" => fields.sql = value,
                "env" => fields.env = value,
                "epsilon" => fields.epsilon = value,
                "groups_per_unit" => fields.groups_per_unit = value,
                "rows_per_unit" => fields.rows_per_unit = value,
                other => {
                    let (side, column) = other
                        .strip_prefix("lower.")
                        .map(|c| (0, c))
                        .or_else(|| other.strip_prefix("upper.").map(|c| (1, c)))?;
                    if column.is_empty() || column.len() > 200 {
                        return None;
                    }
                    if !fields.bounds.contains_key(column)
                        && fields.bounds.len() >= MAX_BOUND_FIELDS
                    {
                        return None;
                    }
                    let entry = fields.bounds.entry(column.to_owned()).or_default();
                    if side == 0 {
                        entry.0 = value;
                    } else {
                        entry.1 = value;
                    }
                }
            }
        }
        Some(fields)
    }

    /// The clamping bounds given: both numbers, or neither; `Err(column)` otherwise.
    fn clamp_bounds(&self) -> Result<BTreeMap<String, (f64, f64)>, String> {
        let mut out = BTreeMap::new();
        for (column, (lower, upper)) in &self.bounds {
            let (lower, upper) = (lower.trim(), upper.trim());
            if lower.is_empty() && upper.is_empty() {
                continue;
            }
            match (lower.parse::<f64>(), upper.parse::<f64>()) {
                (Ok(lo), Ok(hi)) if lo.is_finite() && hi.is_finite() && lo < hi => {
                    out.insert(column.clone(), (lo, hi));
                }
                _ => return Err(column.clone()),
            }
        }
        Ok(out)
    }

    fn env(&self) -> Env {
        self.env.parse().unwrap_or(Env::Dev)
    }
}

/// What the development-table form holds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct DevFields {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    rows: String,
}

impl Default for DevFields {
    fn default() -> Self {
        Self {
            mode: DevMode::Sample.as_str().to_owned(),
            rows: DEFAULT_DEV_ROWS.to_string(),
        }
    }
}

/// The query string of the workspace page: a notice code and the editor's pre-filled fields.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    #[serde(default)]
    sql: String,
    #[serde(default)]
    env: String,
}

/// `GET /workspaces`.
pub(crate) async fn list(State(state): State<ApiState>, me: SignedIn) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let grants = match state.app.workspaces(&me.ctx).await {
        Ok(grants) => grants,
        Err(err) => return me.chrome.fail(err),
    };
    let body = html! {
        h1 { (t.ws_title) }
        p.muted { (t.ws_intro) }
        @if grants.is_empty() {
            p { (t.ws_none) }
        } @else {
            div.table-wrap {
                table.data.workspaces {
                    thead { tr {
                        th { (t.gr_scenario) } th { (t.gr_usage) } th { (t.gr_status) } th {}
                    } }
                    tbody {
                        @for g in &grants {
                            @let href = workspace_href(g.grant.workspace());
                            tr {
                                td {
                                    a href=(href) { (g.grant.scenario().name) }
                                    br; small.muted { code { (g.grant.workspace()) } }
                                }
                                td { (g.grant.usage().label(lang.chinese())) }
                                td { (status_badge(lang, g.status)) }
                                td { a href=(href) { (t.ws_open) } }
                            }
                        }
                    }
                }
            }
        }
    };
    me.chrome
        .respond(StatusCode::OK, t.ws_title, Some(Section::Workspaces), body)
}

/// `GET /workspaces/{id}` (optionally `?sql=…&env=prod` to pre-fill the editor).
pub(crate) async fn page(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<WorkspaceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let shown = DoneQuery::parse(raw.as_deref()).notice(me.lang().texts());
    let asked: PageQuery = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let editor = EditorFields {
        sql: asked.sql,
        env: asked.env,
        ..EditorFields::default()
    };
    let forms = Forms {
        editor,
        dev: DevFields::default(),
    };
    render(&state, &me, id, shown, StatusCode::OK, &forms).await
}

/// The workspace page's two forms, as they are shown.
struct Forms {
    editor: EditorFields,
    dev: DevFields,
}

async fn render(
    state: &ApiState,
    me: &SignedIn,
    id: WorkspaceId,
    shown: Option<Notice>,
    status: StatusCode,
    forms: &Forms,
) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let view = match state.app.workspace(&me.ctx, id).await {
        Ok(view) => view,
        Err(err) => return me.chrome.fail(err),
    };
    let ledger = match state.app.workspace_ledger(&me.ctx, id).await {
        Ok(ledger) => ledger,
        Err(err) => return me.chrome.fail(err),
    };
    let queries = match state.app.workspace_queries(&me.ctx, id).await {
        Ok(queries) => queries,
        Err(err) => return me.chrome.fail(err),
    };
    let grant = &view.grant.grant;
    let may_prepare = me.may(state, Action::WorkspacePrepare, &target(grant));
    let may_request_fusion = me.may(state, Action::FusionRequest, &target(grant));
    let may_query = me.may(state, Action::WorkspaceQuery, &target(grant));
    let body = html! {
        p { a href="/workspaces" { "← " (t.ws_title) } }
        h1 { (grant.scenario().name) " " (status_badge(lang, view.grant.status)) }
        @if let Some(n) = &shown { (notice(n)) }
        section.card {
            dl.facts {
                dt { (t.gr_workspace) } dd { code { (view.id) } }
                dt { (t.gr_usage) } dd { (grant.usage().label(lang.chinese())) }
                @if grant.usage() == UsageMethod::Aggregate {
                    dt { (t.gr_min_group) } dd { (grant.min_group_size()) }
                }
                dt { (t.ws_grant) } dd { a href={ "/grants/" (grant.id()) } { (t.ws_grant_link) } }
            }
        }
        (budget_meter(lang, grant, &ledger))
        (tables_section(state, lang, &view))
        section.card.fusion {
            h2 { (t.fu_section) }
            @if view.fusion.is_empty() {
                p.muted { (t.fu_none) }
            } @else {
                (crate::pages::fusion::imports_table(state, me, t, &view.fusion, true))
            }
            @if may_request_fusion {
                (crate::pages::imports::fusion_form(lang, id, &me.session.csrf, state.web.upload_limit))
            }
            p.hint { (t.fu_upload_hint) }
        }
        @if may_prepare { (dev_form(t, &me.session.csrf, id, &forms.dev)) }
        @if may_query {
            (editor(t, &me.session.csrf, &view, state.app.profile().sandbox().dp_contribution.value, &forms.editor))
        }
        (recent_section(lang, id, &queries))
    };
    me.chrome.respond(
        status,
        &grant.scenario().name,
        Some(Section::Workspaces),
        body,
    )
}

/// ε rounded for people: a few significant digits, never scientific notation for usual budgets.
pub(crate) fn epsilon(value: f64) -> String {
    let rounded = (value * 10_000.0).round() / 10_000.0;
    format!("{rounded}")
}

/// δ as people write it: `0`, or `1e-6`.
fn delta(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else {
        format!("{value:e}")
    }
}

/// The budget meter: the grant's ε spent against its budget, the population ledgers, and the
/// workspace's totals. An `aggregate` grant spends no budget, which is said instead.
fn budget_meter(lang: Lang, grant: &Grant, ledger: &LedgerView) -> Markup {
    let t = lang.texts();
    let budget = ledger.grant_budget.epsilon;
    let spent = ledger.grant_spent.epsilon;
    html! {
        section.card.budget {
            h2 { (t.ws_budget) }
            @match grant.usage() {
                UsageMethod::Aggregate => p.muted { (fill(t.ws_budget_aggregate, &[&grant.min_group_size().to_string()])) },
                UsageMethod::DpAggregate => {
                    div.meter {
                        meter.budget min="0" max=(budget) value=(spent) { (epsilon(spent)) " / " (epsilon(budget)) }
                        span.num { "ε " (epsilon(spent)) " / " (epsilon(budget)) }
                    }
                    p.muted { (fill(t.ws_budget_left, &[&epsilon((budget - spent).max(0.0))])) " · δ = " (delta(ledger.grant_spent.delta)) " / " (delta(ledger.grant_budget.delta)) }
                    @if !ledger.populations.is_empty() {
                        h3 { (t.ws_populations) }
                        p.hint { (t.ws_populations_hint) }
                        div.table-wrap {
                            table.data.populations {
                                thead { tr { th { (t.ws_population) } th { (t.ws_spent) } th { (t.ws_budget_total) } th {} } }
                                tbody {
                                    @for p in &ledger.populations {
                                        tr {
                                            td { code { (p.population) } }
                                            td.num { (epsilon(p.spent.epsilon)) }
                                            td.num { (epsilon(p.budget.epsilon)) }
                                            td { meter.budget min="0" max=(p.budget.epsilon) value=(p.spent.epsilon) {} }
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
            }
            p.muted { small {
                (fill(t.ws_totals, &[
                    &ledger.totals.queries.to_string(),
                    &ledger.totals.refused.to_string(),
                    &ledger.totals.metering.rows_scanned.to_string(),
                    &format!("{:.1}", ledger.totals.metering.compute_ms),
                ]))
                " · "
                (fill(t.ws_prepared_totals, &[
                    &ledger.totals.preparation.preparations.to_string(),
                    &ledger.totals.preparation.rows_read.to_string(),
                    &ledger.totals.preparation.rows_written.to_string(),
                ]))
            } }
        }
    }
}

/// The table browser: each table with its fields as granted and its data in both environments.
fn tables_section(state: &ApiState, lang: Lang, view: &WorkspaceView) -> Markup {
    let t = lang.texts();
    html! {
        section.card.tables {
            h2 { (t.ws_tables) }
            @for table in &view.tables {
                (table_card(state, lang, table))
            }
            @if view.tables.is_empty() { p.muted { (t.ws_no_tables) } }
            p.hint { (t.ws_tables_hint) }
        }
    }
}

fn table_card(state: &ApiState, lang: Lang, table: &WorkspaceTable) -> Markup {
    let t = lang.texts();
    let chinese = lang.chinese();
    html! {
        div.ws-table {
            h3 { code { (table.name) } " " small.muted { (table.resource_name) } }
            dl.facts {
                dt { (t.ws_prod_rows) }
                dd { @match table.rows { Some(rows) => (rows), None => span.muted { (t.ws_no_data) } } }
                dt { (t.ws_dev_table) }
                dd {
                    @match &table.dev {
                        Some(dev) => {
                            (dev_mode_label(t, &dev.mode)) " · " (fill(t.ws_rows_n, &[&dev.rows.to_string()]))
                            " · " (when(dev.created_at))
                        },
                        None => span.muted { (t.ws_no_dev) },
                    }
                }
                dt { (t.ws_privacy_unit) }
                dd { @match &table.privacy_unit { Some(u) => code { (u) }, None => span.muted { (t.none) } } }
            }
            div.table-wrap {
                table.data.fields {
                    thead { tr {
                        th { (t.gr_field) } th { (t.field_type) } th { (t.field_grade) }
                        th { (t.gr_control) } th { (t.gr_desensitization) } th { (t.ws_bounds) }
                    } }
                    tbody {
                        @for f in &table.fields {
                            tr {
                                td {
                                    code { (f.name) }
                                    @if table.privacy_unit.as_deref() == Some(f.name.as_str()) {
                                        " " span.badge.flag.unit { (t.ws_privacy_unit) }
                                    }
                                    @if !f.description.is_empty() { br; small.muted { (f.description) } }
                                }
                                td { (t.field_type(f.field_type)) }
                                td { (grade_label(state, lang, &f.grade)) }
                                td { @match f.column_control {
                                    Some(c) => (c.label(chinese)),
                                    None => span.muted { (t.ws_unit_counted) },
                                } }
                                td { @match f.desensitization {
                                    Some(d) => (d.label(chinese)),
                                    None => span.muted { "—" },
                                } }
                                td.num { @match &f.bounds {
                                    Some(b) => { "[" (b.lower) ", " (b.upper) "]" },
                                    None => span.muted { "—" },
                                } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn dev_mode_label<'a>(t: &'a Texts, mode: &'a str) -> &'a str {
    match mode {
        "sample" => t.ws_mode_sample,
        "simulated" => t.ws_mode_simulated,
        other => other,
    }
}

fn dev_form(t: &Texts, csrf: &str, id: WorkspaceId, fields: &DevFields) -> Markup {
    html! {
        section.card.dev-form {
            h2 { (t.ws_prepare) }
            p.hint { (t.ws_prepare_hint) }
            form.row method="post" action={ (workspace_href(id)) "/dev" } {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                fieldset.choice {
                    legend { (t.ws_mode) }
                    label.check {
                        input type="radio" name="mode" value="sample" checked[fields.mode != "simulated"];
                        " " (t.ws_mode_sample)
                    }
                    label.check {
                        input type="radio" name="mode" value="simulated" checked[fields.mode == "simulated"];
                        " " (t.ws_mode_simulated)
                    }
                }
                label.field.narrow {
                    span.label { (t.ws_rows) }
                    input type="number" name="rows" min="1" max=(MAX_DEV_ROWS) value=(fields.rows) required;
                }
                div.form-buttons { button.primary type="submit" { (t.ws_prepare_submit) } }
            }
        }
    }
}

fn editor(
    t: &Texts,
    csrf: &str,
    view: &WorkspaceView,
    caps: DpContribution,
    fields: &EditorFields,
) -> Markup {
    let id = view.id;
    let grant = &view.grant.grant;
    let env = fields.env();
    // Numeric granted fields: what SUM and AVG may clamp.
    let numeric: Vec<(String, Option<(String, String)>)> = view
        .tables
        .iter()
        .flat_map(|table| {
            table
                .fields
                .iter()
                .filter(|f| {
                    f.column_control.is_some()
                        && matches!(f.field_type, FieldType::Integer | FieldType::Decimal)
                })
                .map(|f| {
                    (
                        format!("{}.{}", table.name, f.name),
                        f.bounds.map(|b| (b.lower.to_string(), b.upper.to_string())),
                    )
                })
        })
        .collect();
    let typed = |column: &str| fields.bounds.get(column).cloned().unwrap_or_default();
    html! {
        section.card.sql-editor #editor {
            h2 { (t.ws_editor) }
            p.hint { (t.ws_editor_hint) }
            form.stack method="post" action={ (workspace_href(id)) "/queries" } {
                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                label.field {
                    span.label { "SQL" }
                    textarea.sql name="sql" rows="8" required spellcheck="false" { (fields.sql) }
                }
                fieldset.choice {
                    legend { (t.ws_env) }
                    label.check {
                        input type="radio" name="env" value="dev" checked[env == Env::Dev];
                        " " (t.ws_env_dev)
                    }
                    label.check {
                        input type="radio" name="env" value="prod" checked[env == Env::Prod];
                        " " (t.ws_env_prod)
                    }
                }
                @if grant.usage() == UsageMethod::DpAggregate {
                    label.field.narrow {
                        span.label { "ε" }
                        input type="text" name="epsilon" inputmode="decimal" value=(fields.epsilon);
                    }
                    p.hint { (t.ws_epsilon_hint) }
                    fieldset.contribution {
                        legend { (t.ws_contribution) }
                        div.row {
                            label.field.narrow {
                                span.label { (t.ws_groups_per_unit) }
                                input type="number" name="groups_per_unit" min="1" max=(caps.max_groups_per_unit)
                                    placeholder=(caps.groups_per_unit) value=(fields.groups_per_unit);
                            }
                            label.field.narrow {
                                span.label { (t.ws_rows_per_unit) }
                                input type="number" name="rows_per_unit" min="1" max=(caps.max_rows_per_unit)
                                    placeholder=(caps.rows_per_unit) value=(fields.rows_per_unit);
                            }
                        }
                        p.hint { (fill(t.ws_contribution_hint, &[
                            &caps.groups_per_unit.to_string(),
                            &caps.rows_per_unit.to_string(),
                            &caps.max_groups_per_unit.to_string(),
                            &caps.max_rows_per_unit.to_string(),
                        ])) }
                    }
                    @if !numeric.is_empty() {
                        fieldset.clamp {
                            legend { (t.ws_clamp) }
                            table.data.clamp {
                                thead { tr { th { (t.ws_column) } th { (t.ws_lower) } th { (t.ws_upper) } } }
                                tbody {
                                    @for (column, granted) in &numeric {
                                        @let (lower, upper) = typed(column);
                                        @let (lo_hint, hi_hint) = granted.clone().unwrap_or_default();
                                        tr {
                                            td { code { (column) } }
                                            td { input type="text" inputmode="decimal" name={ "lower." (column) }
                                                aria-label={ (column) " " (t.ws_lower) } placeholder=(lo_hint) value=(lower); }
                                            td { input type="text" inputmode="decimal" name={ "upper." (column) }
                                                aria-label={ (column) " " (t.ws_upper) } placeholder=(hi_hint) value=(upper); }
                                        }
                                    }
                                }
                            }
                            p.hint { (t.ws_clamp_hint) }
                        }
                    }
                }
                div.form-buttons { button.primary type="submit" { (t.ws_run) } }
            }
        }
    }
}

fn env_label(t: &Texts, env: &str) -> &'static str {
    match env {
        "prod" => t.ws_env_prod,
        _ => t.ws_env_dev,
    }
}

fn outcome_badge(t: &Texts, outcome: &str) -> Markup {
    match outcome {
        "succeeded" => html! { span.badge.state.approved { (t.ws_succeeded) } },
        "refused" => html! { span.badge.state.refused { (t.ws_refused) } },
        _ => html! { span.badge.state.pending { (t.ws_failed) } },
    }
}

/// The first line of a query, shortened for the list.
fn sql_summary(sql: &str) -> String {
    const LIMIT: usize = 90;
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > LIMIT {
        let cut: String = one_line.chars().take(LIMIT).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

fn recent_section(lang: Lang, id: WorkspaceId, queries: &[QueryView]) -> Markup {
    let t = lang.texts();
    html! {
        section.card.recent {
            h2 { (t.ws_recent) }
            @if queries.is_empty() {
                p.muted { (t.ws_no_queries) }
            } @else {
                div.table-wrap {
                    table.data.queries {
                        thead { tr {
                            th { (t.ws_at) } th { (t.ws_env) } th { "SQL" } th { (t.ws_outcome) }
                            th { (t.ws_rows) } th { "ε" }
                        } }
                        tbody {
                            @for q in queries.iter().take(RECENT_QUERIES) {
                                tr {
                                    td.nowrap { a href=(query_href(id, q.id)) { (when(q.created_at)) } }
                                    td { (env_label(t, &q.env)) }
                                    td { code.sql { (sql_summary(&q.sql)) } }
                                    td { (outcome_badge(t, &q.outcome)) }
                                    td.num { (q.result_rows) }
                                    td.num { (epsilon(q.budget_spent.epsilon)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A contribution-bound field: empty is "the default", otherwise a whole number of at least 1
/// (the cap is the app's to check, so its message names it).
fn parse_count(raw: &str) -> Result<Option<u32>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => Err(()),
    }
}

/// The ε field: empty is "the default", otherwise a positive finite number.
fn parse_epsilon(raw: &str) -> Result<Option<f64>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(()),
    }
}

/// `POST /workspaces/{id}/queries`: runs the query; 303 to its page, refused or not.
pub(crate) async fn run(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<Vec<(String, String)>>,
) -> Response {
    let Ok(id) = id.parse::<WorkspaceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let t = me.lang().texts();
    let Some(mut form) = EditorFields::from_pairs(form) else {
        return me
            .chrome
            .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form);
    };
    let sql = crate::pages::multiline(&form.sql);
    form.sql.clone_from(&sql);
    let typed = Forms {
        editor: form.clone(),
        dev: DevFields::default(),
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Ok(env) = form.env.parse::<Env>() else {
        let shown = Some(Notice::Error(t.ws_bad_env.to_owned()));
        return render(&state, &me, id, shown, unprocessable, &typed).await;
    };
    let Ok(epsilon) = parse_epsilon(&form.epsilon) else {
        let shown = Some(Notice::Error(t.ws_bad_epsilon.to_owned()));
        return render(&state, &me, id, shown, unprocessable, &typed).await;
    };
    let (Ok(groups), Ok(rows)) = (
        parse_count(&form.groups_per_unit),
        parse_count(&form.rows_per_unit),
    ) else {
        let shown = Some(Notice::Error(t.ws_bad_contribution.to_owned()));
        return render(&state, &me, id, shown, unprocessable, &typed).await;
    };
    let bounds = match form.clamp_bounds() {
        Ok(bounds) => bounds,
        Err(column) => {
            let shown = Some(Notice::Error(fill(t.ws_bad_bounds, &[&column])));
            return render(&state, &me, id, shown, unprocessable, &typed).await;
        }
    };
    let request = QueryRequest {
        env,
        sql,
        epsilon,
        bounds,
        max_groups_per_unit: groups,
        max_rows_per_unit: rows,
    };
    match state.app.run_query(&me.ctx, id, request).await {
        Ok(view) => Redirect::to(&query_href(id, view.id)).into_response(),
        // Refused or failed: stored and audited by the app; its page shows why.
        Err(AppError::Query { query, .. }) => Redirect::to(&query_href(id, query)).into_response(),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render(
                &state,
                &me,
                id,
                Some(Notice::Error(message)),
                status,
                &typed,
            )
            .await
        }
        Err(err) => me.chrome.fail(err),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrepareFields {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    rows: String,
}

/// `POST /workspaces/{id}/dev`: (re)builds the development tables.
pub(crate) async fn prepare(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<PrepareFields>,
) -> Response {
    let Ok(id) = id.parse::<WorkspaceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let t = me.lang().texts();
    let typed = Forms {
        editor: EditorFields::default(),
        dev: DevFields {
            mode: form.mode.clone(),
            rows: form.rows.clone(),
        },
    };
    let mode = form.mode.parse::<DevMode>();
    let rows = form
        .rows
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|r| (1..=MAX_DEV_ROWS).contains(r));
    let (Ok(mode), Some(rows)) = (mode, rows) else {
        let message = fill(t.ws_bad_dev, &[&MAX_DEV_ROWS.to_string()]);
        return render(
            &state,
            &me,
            id,
            Some(Notice::Error(message)),
            StatusCode::UNPROCESSABLE_ENTITY,
            &typed,
        )
        .await;
    };
    match state.app.prepare_dev(&me.ctx, id, mode, rows).await {
        Ok(_) => Redirect::to(&format!("{}?done=dev_prepared", workspace_href(id))).into_response(),
        Err(
            err @ (AppError::Invalid { .. } | AppError::InvalidFields(_) | AppError::Conflict(_)),
        ) => {
            let (status, _, message) = describe_error(me.lang(), &me.chrome.request_id, err);
            render(
                &state,
                &me,
                id,
                Some(Notice::Error(message)),
                status,
                &typed,
            )
            .await
        }
        Err(err) => me.chrome.fail(err),
    }
}

/// `GET /workspaces/{id}/queries/{qid}`.
pub(crate) async fn query(
    State(state): State<ApiState>,
    Path((id, qid)): Path<(String, String)>,
    me: SignedIn,
) -> Response {
    let Ok(id) = id.parse::<WorkspaceId>() else {
        return me.chrome.fail(NOT_FOUND);
    };
    let Ok(qid) = qid.parse::<QueryId>() else {
        return me.chrome.fail(QUERY_NOT_FOUND);
    };
    let q = match state.app.workspace_query(&me.ctx, id, qid).await {
        Ok(q) => q,
        Err(err) => return me.chrome.fail(err),
    };
    let lang = me.lang();
    let t = lang.texts();
    let prefill =
        serde_urlencoded::to_string([("sql", q.sql.as_str()), ("env", "prod")]).unwrap_or_default();
    let body = html! {
        p { a href=(workspace_href(id)) { "← " (t.ws_back) } }
        h1 { (t.ws_query) " " (outcome_badge(t, &q.outcome)) }
        @if let Some(reason) = &q.reason {
            div.notice.error role="alert" {
                strong { (if q.outcome == "refused" { t.ws_refused_reason } else { t.ws_failed_reason }) }
                " " (reason)
            }
        }
        section.card.query {
            dl.facts {
                dt { (t.ws_env) } dd { (env_label(t, &q.env)) }
                dt { (t.ws_at) } dd { (when(q.created_at)) }
                dt { (t.ws_budget_spent) } dd { "ε = " (epsilon(q.budget_spent.epsilon)) " · δ = " (delta(q.budget_spent.delta)) }
                @if let Some(c) = q.contribution {
                    dt { (t.ws_contribution) }
                    dd { "L = " (c.groups_per_unit) " · C = " (c.rows_per_unit) " " small.muted { (fill(t.ws_contribution_n, &[&c.groups_per_unit.to_string(), &c.rows_per_unit.to_string()])) } }
                }
                dt { (t.ws_suppressed) } dd { (fill(t.ws_suppressed_n, &[&q.suppressed_groups.to_string(), &q.suppressed_rows.to_string()])) }
                dt { (t.ws_metering) } dd {
                    (fill(t.ws_metering_n, &[
                        &format!("{:.1}", q.metering.elapsed_ms),
                        &format!("{:.1}", q.metering.compute_ms),
                        &q.metering.rows_scanned.to_string(),
                        &q.metering.bytes_fetched.to_string(),
                        &q.metering.output_bytes.to_string(),
                    ]))
                }
                @if let Some(f) = &q.fingerprint { dt { (t.ws_fingerprint) } dd { code.digest { (f) } } }
                @if let Some(dev) = q.dev_query {
                    dt { (t.ws_dev_query) } dd { a href=(query_href(id, dev)) { (dev) } }
                }
                @if let Some(first) = q.repeat_of {
                    dt { (t.ws_repeat_of) } dd { a href=(query_href(id, first)) { (first) } " " small.muted { (t.ws_repeat_hint) } }
                }
            }
            h2 { "SQL" }
            pre.sql { code { (q.sql) } }
            @if q.env == Env::Dev.as_str() {
                p { a.button.secondary href={ (workspace_href(id)) "?" (prefill) "#editor" } { (t.ws_run_in_prod) } }
            }
        }
        @if let Some(result) = &q.result {
            (result_section(lang, &q, result))
        }
        @if q.env == Env::Dev.as_str() && q.outcome == "succeeded" {
            (production_section(t, &q))
        }
    };
    me.chrome
        .respond(StatusCode::OK, t.ws_query, Some(Section::Workspaces), body)
}

fn cell(value: &serde_json::Value) -> Markup {
    match value {
        serde_json::Value::Null => html! { span.muted { "NULL" } },
        serde_json::Value::String(s) => html! { (s) },
        other => html! { (other.to_string()) },
    }
}

fn result_section(lang: Lang, q: &QueryView, result: &ResultTable) -> Markup {
    let t = lang.texts();
    html! {
        section.card.result {
            h2 { (t.ws_result) " " small.muted { (fill(t.ws_rows_n, &[&q.result_rows.to_string()])) } }
            @if let Some(sm3) = &q.result_sm3 {
                p { (t.ws_result_sm3) ": " code.digest { (sm3) } }
            }
            div.table-wrap {
                table.data.result {
                    thead { tr {
                        @for c in &result.columns { th { (c.name) br; small.muted { (c.data_type) } } }
                    } }
                    tbody {
                        @for row in &result.rows {
                            tr { @for v in row { td { (cell(v)) } } }
                        }
                    }
                }
            }
            @if result.rows.is_empty() { p.muted { (t.ws_no_rows) } }
        }
    }
}

/// Production's verdict on a development run. The app returns it with the run; a stored run
/// read back carries its production plan's fingerprint exactly when production accepted it
/// (`shuyu_app` records the fingerprint only then), which is what is shown when the verdict itself
/// is not returned.
fn production_section(t: &Texts, q: &QueryView) -> Markup {
    html! {
        section.card.production {
            h2 { (t.ws_production) }
            @match &q.production {
                Some(p) => (verdict(t, p)),
                None => @if q.fingerprint.is_some() {
                    p { span.badge.state.approved { (t.ws_prod_accepted) } " " (t.ws_prod_accepted_hint) }
                } @else {
                    p { span.badge.state.refused { (t.ws_prod_not_accepted) } " " (t.ws_prod_not_accepted_hint) }
                },
            }
        }
    }
}

fn verdict(t: &Texts, p: &Production) -> Markup {
    html! {
        @if p.accepted {
            p { span.badge.state.approved { (t.ws_prod_accepted) } }
        } @else {
            p { span.badge.state.refused { (t.ws_prod_not_accepted) } }
        }
        @if let Some(reason) = &p.reason { p { (reason) } }
        @if let Some(e) = &p.estimate {
            dl.facts {
                dt { (t.ws_dp_cost) } dd { "ε = " (epsilon(e.cost.epsilon)) " · δ = " (delta(e.cost.delta)) }
                dt { (t.ws_dp_mechanism) } dd { (e.mechanism) }
                @if let Some(k) = e.threshold { dt { (t.ws_dp_threshold) } dd { (k) } }
                @if let Some(c) = e.contribution {
                    dt { (t.ws_contribution) } dd { "L = " (c.groups_per_unit) " · C = " (c.rows_per_unit) }
                }
            }
            @if !e.columns.is_empty() {
                table.data.estimate {
                    thead { tr { th { (t.ws_column) } th { (t.ws_ci95) } } }
                    tbody {
                        @for c in &e.columns {
                            tr {
                                td { code { (c.column) } }
                                td.num {
                                    @if c.per_rows { (fill(t.ws_mean_per_rows, &[&format!("{:.2}", c.ci95)])) }
                                    @else { "±" (format!("{:.2}", c.ci95)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_field_accepts_empty_or_a_positive_number() {
        assert_eq!(parse_epsilon(" "), Ok(None));
        assert_eq!(parse_epsilon("0.5"), Ok(Some(0.5)));
        assert_eq!(parse_epsilon("0"), Err(()));
        assert_eq!(parse_epsilon("-1"), Err(()));
        assert_eq!(parse_epsilon("NaN"), Err(()));
        assert_eq!(parse_epsilon("inf"), Err(()));
        assert_eq!(parse_epsilon("abc"), Err(()));
    }

    #[test]
    fn long_queries_are_shortened_on_one_line() {
        assert_eq!(sql_summary("SELECT 1\nFROM  t"), "SELECT 1 FROM t");
        let long = "x ".repeat(100);
        assert!(sql_summary(&long).ends_with('…'));
        assert_eq!(sql_summary(&long).chars().count(), 91);
    }

    #[test]
    fn contribution_fields_accept_empty_or_a_whole_number() {
        assert_eq!(parse_count(""), Ok(None));
        assert_eq!(parse_count(" 3 "), Ok(Some(3)));
        assert_eq!(parse_count("0"), Err(()));
        assert_eq!(parse_count("1.5"), Err(()));
        assert_eq!(parse_count("-2"), Err(()));
    }

    #[test]
    fn the_editor_reads_bounds_as_pairs_and_refuses_unknown_fields() {
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let fields = EditorFields::from_pairs(pairs(&[
            ("sql", "SELECT 1"),
            ("lower.t.a", "0"),
            ("upper.t.a", "10"),
            ("lower.t.b", ""),
            ("upper.t.b", ""),
            ("groups_per_unit", "2"),
        ]))
        .unwrap();
        assert_eq!(fields.groups_per_unit, "2");
        let bounds = fields.clamp_bounds().unwrap();
        assert_eq!(bounds.len(), 1);
        assert_eq!(bounds["t.a"], (0.0, 10.0));
        let half = EditorFields::from_pairs(pairs(&[("lower.t.a", "0")])).unwrap();
        assert_eq!(half.clamp_bounds(), Err("t.a".to_owned()));
        let reversed =
            EditorFields::from_pairs(pairs(&[("lower.t.a", "5"), ("upper.t.a", "1")])).unwrap();
        assert!(reversed.clamp_bounds().is_err());
        assert!(EditorFields::from_pairs(pairs(&[("admin", "1")])).is_none());
        let many: Vec<(String, String)> = (0..=MAX_BOUND_FIELDS)
            .map(|i| (format!("lower.t.c{i}"), "0".to_owned()))
            .collect();
        assert!(EditorFields::from_pairs(many).is_none());
    }

    #[test]
    fn the_editor_defaults_to_development() {
        assert_eq!(EditorFields::default().env(), Env::Dev);
        let prod = EditorFields {
            env: "prod".into(),
            ..EditorFields::default()
        };
        assert_eq!(prod.env(), Env::Prod);
    }
}
