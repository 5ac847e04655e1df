//! `/resources/new` and `/resources/{id}/edit`: the forms in which a source department (or the data
//! service agency acting for one) registers a resource or drafts a new version of it (CAT-1/CAT-2).
//!
//! One form for both: the metadata in grouped fieldsets and the data items as a table of rows. The
//! rows are a repeated group without JavaScript: the form shows the existing rows plus a few empty
//! ones, "add empty rows" posts the form back and re-renders it with more (keeping what was typed),
//! and empty rows are dropped on saving. The draft goes to `App::register_resource` /
//! `App::edit_resource`, which ask the policy and let the catalog validate it; the catalog's problems
//! (`fields[2].grade`, …) are shown next to the inputs they name, with everything typed kept.
//!
//! Showing a form to someone the policy would refuse is itself a refusal: the 403 page, audited.
//!
//! Must never: decide access (only choose whether to show the form), lose what was typed, or
//! validate a resource itself (the catalog does).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use shuyu_api::ApiState;
use shuyu_app::{AppError, NewResource};
use shuyu_catalog::{
    Coverage, FieldDraft, FieldFlags, FieldType, OpenCategory, Resource as CatalogResource,
    ResourceDraft, ResourceId, UpdateFrequency,
};
use shuyu_core::OrgId;
use shuyu_policy::{Action, Principal, Resource};
use shuyu_quality::FormatKind;

use crate::i18n::{Lang, fill};
use crate::layout::{Notice, Section, notice};
use crate::pages::catalog::grade_label;
use crate::pages::multiline;
use crate::web::{CSRF_FIELD, Posted, SignedIn};

/// Empty rows offered below the filled ones.
const EMPTY_ROWS: usize = 3;
/// Rows added by "add empty rows".
const MORE_ROWS: usize = 5;
/// The most rows a form may carry (a bound on what a posted form can make us allocate).
const MAX_ROWS: usize = 300;

const TYPES: [FieldType; 6] = [
    FieldType::String,
    FieldType::Integer,
    FieldType::Decimal,
    FieldType::Date,
    FieldType::Timestamp,
    FieldType::Boolean,
];
const FREQUENCIES: [UpdateFrequency; 8] = [
    UpdateFrequency::RealTime,
    UpdateFrequency::Daily,
    UpdateFrequency::Weekly,
    UpdateFrequency::Monthly,
    UpdateFrequency::Quarterly,
    UpdateFrequency::Yearly,
    UpdateFrequency::Irregular,
    UpdateFrequency::Once,
];
const CATEGORIES: [OpenCategory; 3] = [
    OpenCategory::Unconditional,
    OpenCategory::Conditional,
    OpenCategory::NotOpen,
];
/// The identifier formats with their codes (as the catalog serializes them).
const FORMATS: [(FormatKind, &str); 5] = [
    (FormatKind::None, "none"),
    (FormatKind::ResidentId, "resident_id"),
    (FormatKind::CreditCode, "credit_code"),
    (FormatKind::Mobile, "mobile"),
    (FormatKind::Date, "date"),
];
/// The flags of a row: the key after `fields[i].` and the label.
const FLAGS: [&str; 4] = [
    "flags.personal_information",
    "flags.direct_identifier",
    "flags.quasi_identifier",
    "flags.privacy_unit",
];

/// One data item as typed: every value a string, so nothing typed is lost on a round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Row {
    name: String,
    field_type: String,
    description: String,
    grade: String,
    format: String,
    /// Personal information, direct identifier, quasi-identifier, privacy unit (as [`FLAGS`]).
    flags: [bool; 4],
}

impl Row {
    /// Nothing typed: no name, no description, no flag, no format.
    fn is_empty(&self) -> bool {
        self.name.trim().is_empty()
            && self.description.trim().is_empty()
            && !self.flags.iter().any(|f| *f)
            && matches!(self.format.trim(), "" | "none")
    }

    fn set(&mut self, key: &str, value: String) -> bool {
        match key {
            "name" => self.name = value,
            "type" => self.field_type = value,
            "description" => self.description = value,
            "grade" => self.grade = value,
            "format" => self.format = value,
            other => match FLAGS.iter().position(|f| *f == other) {
                Some(i) => {
                    if let Some(flag) = self.flags.get_mut(i) {
                        *flag = true;
                    }
                }
                None => return false,
            },
        }
        true
    }
}

/// The whole form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResourceForm {
    name: String,
    summary: String,
    domain: String,
    update_frequency: String,
    time_from: String,
    time_to: String,
    spatial: String,
    legal_basis: String,
    open_category: String,
    grade: String,
    /// The providing organisation's id, when the person may choose it (the agency).
    provider: String,
    rows: Vec<Row>,
}

/// What the person pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Save,
    MoreRows,
}

/// A problem to show: the form path it belongs to (`fields[2].grade`, `name`, or empty for the
/// whole form) and the sentence.
type Problem = (String, String);

impl ResourceForm {
    /// A blank form with a few empty rows.
    fn blank() -> Self {
        let mut form = ResourceForm {
            update_frequency: UpdateFrequency::Monthly.as_str().to_owned(),
            open_category: OpenCategory::Conditional.as_str().to_owned(),
            ..ResourceForm::default()
        };
        form.pad(EMPTY_ROWS);
        form
    }

    /// The form of an existing version, to start a new one from.
    fn from_draft(draft: &ResourceDraft) -> Self {
        let mut form = ResourceForm {
            name: draft.name.clone(),
            summary: draft.summary.clone(),
            domain: draft.domain.clone(),
            update_frequency: draft.update_frequency.as_str().to_owned(),
            time_from: draft
                .coverage
                .time_from
                .map(|d| d.to_string())
                .unwrap_or_default(),
            time_to: draft
                .coverage
                .time_to
                .map(|d| d.to_string())
                .unwrap_or_default(),
            spatial: draft.coverage.spatial.clone(),
            legal_basis: draft.legal_basis.clone(),
            open_category: draft.open_category.as_str().to_owned(),
            grade: draft.grade.clone(),
            provider: String::new(),
            rows: draft
                .fields
                .iter()
                .map(|f| Row {
                    name: f.name.clone(),
                    field_type: f.field_type.as_str().to_owned(),
                    description: f.description.clone(),
                    grade: f.grade.clone(),
                    format: format_code(f.format).to_owned(),
                    flags: [
                        f.flags.personal_information,
                        f.flags.direct_identifier,
                        f.flags.quasi_identifier,
                        f.flags.privacy_unit,
                    ],
                })
                .collect(),
        };
        form.pad(EMPTY_ROWS);
        form
    }

    /// Adds `n` empty rows (up to [`MAX_ROWS`] in all).
    fn pad(&mut self, n: usize) {
        let target = (self.rows.len() + n).min(MAX_ROWS);
        self.rows.resize(target, Row::default());
    }

    /// Reads a posted form. `None` for a key the form does not have or a row index out of bounds.
    fn from_pairs(pairs: Vec<(String, String)>) -> Option<(Self, Intent)> {
        let mut form = ResourceForm::default();
        let mut intent = Intent::Save;
        let mut rows: BTreeMap<usize, Row> = BTreeMap::new();
        let mut count = 0usize;
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value,
                "summary" => form.summary = value,
                "domain" => form.domain = value,
                "update_frequency" => form.update_frequency = value,
                "coverage.time_from" => form.time_from = value,
                "coverage.time_to" => form.time_to = value,
                "coverage.spatial" => form.spatial = value,
                "legal_basis" => form.legal_basis = value,
                "open_category" => form.open_category = value,
                "grade" => form.grade = value,
                "provider" => form.provider = value,
                "rows" => count = value.trim().parse::<usize>().ok()?.min(MAX_ROWS),
                "intent" => {
                    intent = match value.as_str() {
                        "more" => Intent::MoreRows,
                        _ => Intent::Save,
                    }
                }
                other => {
                    let (index, field) = row_key(other)?;
                    if !rows.entry(index).or_default().set(field, value) {
                        return None;
                    }
                }
            }
        }
        let len = rows
            .keys()
            .next_back()
            .map_or(0, |last| last + 1)
            .max(count);
        form.rows = (0..len)
            .map(|i| rows.remove(&i).unwrap_or_default())
            .collect();
        Some((form, intent))
    }

    /// The draft, and for each of its fields the form row it came from; or the problems found in
    /// reading the form (a date that is not one, a choice not on the list), in the person's language.
    fn to_draft(&self, lang: Lang) -> Result<(ResourceDraft, Vec<usize>), Vec<Problem>> {
        let t = lang.texts();
        let mut problems: Vec<Problem> = Vec::new();
        let mut choice = |path: String, value: &str| {
            problems.push((path, fill(t.rf_bad_choice, &[value.trim()])));
        };
        let update_frequency = FREQUENCIES
            .into_iter()
            .find(|f| f.as_str() == self.update_frequency.trim());
        if update_frequency.is_none() {
            choice("update_frequency".into(), &self.update_frequency);
        }
        let open_category = CATEGORIES
            .into_iter()
            .find(|c| c.as_str() == self.open_category.trim());
        if open_category.is_none() {
            choice("open_category".into(), &self.open_category);
        }
        let mut kept = Vec::new();
        let mut fields = Vec::new();
        for (i, row) in self.rows.iter().enumerate() {
            if row.is_empty() {
                continue;
            }
            let field_type = TYPES
                .into_iter()
                .find(|ft| ft.as_str() == row.field_type.trim());
            if field_type.is_none() {
                choice(format!("fields[{i}].type"), &row.field_type);
            }
            let format = parse_format(&row.format);
            if format.is_none() {
                choice(format!("fields[{i}].format"), &row.format);
            }
            let [
                personal_information,
                direct_identifier,
                quasi_identifier,
                privacy_unit,
            ] = row.flags;
            if let (Some(field_type), Some(format)) = (field_type, format) {
                kept.push(i);
                fields.push(FieldDraft {
                    name: row.name.trim().to_owned(),
                    field_type,
                    description: row.description.trim().to_owned(),
                    grade: row.grade.trim().to_owned(),
                    flags: FieldFlags {
                        personal_information,
                        direct_identifier,
                        quasi_identifier,
                        privacy_unit,
                    },
                    format,
                });
            }
        }
        let mut date = |path: &str, text: &str| -> Option<NaiveDate> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
            if parsed.is_none() {
                problems.push((path.to_owned(), t.rf_bad_date.to_owned()));
            }
            parsed
        };
        let time_from = date("coverage.time_from", &self.time_from);
        let time_to = date("coverage.time_to", &self.time_to);
        match (update_frequency, open_category) {
            (Some(update_frequency), Some(open_category)) if problems.is_empty() => Ok((
                ResourceDraft {
                    name: self.name.trim().to_owned(),
                    summary: multiline(&self.summary),
                    domain: self.domain.trim().to_owned(),
                    update_frequency,
                    coverage: Coverage {
                        time_from,
                        time_to,
                        spatial: self.spatial.trim().to_owned(),
                    },
                    legal_basis: multiline(&self.legal_basis),
                    open_category,
                    grade: self.grade.trim().to_owned(),
                    fields,
                },
                kept,
            )),
            _ => Err(problems),
        }
    }
}

/// `fields[12].flags.privacy_unit` → `(12, "flags.privacy_unit")`, the index below [`MAX_ROWS`].
fn row_key(key: &str) -> Option<(usize, &str)> {
    let rest = key.strip_prefix("fields[")?;
    let (index, field) = rest.split_once("].")?;
    let index: usize = index.parse().ok()?;
    (index < MAX_ROWS).then_some((index, field))
}

fn format_code(format: FormatKind) -> &'static str {
    FORMATS
        .iter()
        .find(|(f, _)| *f == format)
        .map_or("none", |(_, code)| code)
}

fn parse_format(code: &str) -> Option<FormatKind> {
    match code.trim() {
        "" => Some(FormatKind::None),
        code => FORMATS.iter().find(|(_, c)| *c == code).map(|(f, _)| *f),
    }
}

/// The use case's refusal of a draft as problems at form paths: the catalog's `draft.fields[k].x`
/// becomes `fields[i].x` of the form row `kept[k]` it came from. Anything other than bad input or a
/// conflict is handed back (an error page).
fn problems_of(err: AppError, kept: &[usize]) -> Result<(StatusCode, Vec<Problem>), AppError> {
    let at = |path: &str| form_path(path, kept);
    match err {
        AppError::InvalidFields(list) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            list.into_iter().map(|(p, m)| (at(&p), m)).collect(),
        )),
        AppError::Invalid { field, message } => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, vec![(at(field), message)]))
        }
        AppError::Conflict(message) => Ok((StatusCode::CONFLICT, vec![(String::new(), message)])),
        other => Err(other),
    }
}

fn form_path(path: &str, kept: &[usize]) -> String {
    let path = path.strip_prefix("draft.").unwrap_or(path);
    if path == "provider_org_id" {
        return "provider".to_owned();
    }
    match row_key(path) {
        Some((k, rest)) => match kept.get(k) {
            Some(row) => format!("fields[{row}].{rest}"),
            None => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// What to do about a problem at `path`, in the person's language. The catalog's own sentence (in
/// English, naming the exact rule) is shown beside it.
fn explain(lang: Lang, path: &str) -> Option<&'static str> {
    let t = lang.texts();
    let rest = row_key(path).map_or(path, |(_, rest)| rest);
    let in_row = row_key(path).is_some();
    Some(match (in_row, rest) {
        (false, "name") => t.rf_why_name,
        (false, "summary" | "legal_basis" | "coverage.spatial") | (true, "description") => {
            t.rf_why_text
        }
        (false, "domain") => t.rf_why_domain,
        (false, "grade") => t.rf_why_grade,
        (false, "coverage.time_to") => t.rf_why_time,
        (false, "fields") => t.rf_why_fields,
        (false, "provider") => t.rf_bad_provider,
        (true, "name") => t.rf_why_field_name,
        (true, "grade") => t.rf_why_field_grade,
        (true, "flags.personal_information") => t.rf_why_personal,
        (true, "flags.privacy_unit") => t.rf_why_privacy_unit,
        (true, "format") => t.rf_why_format,
        _ => return None,
    })
}

/// A problem's sentence: the explanation in the person's language, then the catalog's detail.
fn problem_text(lang: Lang, path: &str, message: &str) -> Markup {
    match explain(lang, path) {
        Some(why) if why != message => html! { (why) " " small.detail { "(" (message) ")" } },
        _ => html! { (message) },
    }
}

/// What a form path is called on the page, for the list of problems above the form.
fn path_label(lang: Lang, path: &str) -> String {
    let t = lang.texts();
    let metadata = match path {
        "name" => Some(t.catalog_name),
        "summary" => Some(t.catalog_summary),
        "domain" => Some(t.catalog_domain),
        "update_frequency" => Some(t.catalog_frequency),
        "coverage.time_from" => Some(t.rf_time_from),
        "coverage.time_to" => Some(t.rf_time_to),
        "coverage.spatial" => Some(t.rf_spatial),
        "legal_basis" => Some(t.catalog_legal_basis),
        "open_category" => Some(t.catalog_open_category),
        "grade" => Some(t.catalog_grade),
        "fields" => Some(t.catalog_fields),
        "provider" => Some(t.rf_provider),
        _ => None,
    };
    if let Some(label) = metadata {
        return label.to_owned();
    }
    match row_key(path) {
        Some((i, rest)) => {
            let what = match rest {
                "name" => t.field_name,
                "type" => t.field_type,
                "description" => t.field_description,
                "grade" => t.field_grade,
                "format" => t.rf_format,
                "flags.personal_information" => t.flag_personal,
                "flags.direct_identifier" => t.flag_direct,
                "flags.quasi_identifier" => t.flag_quasi,
                "flags.privacy_unit" => t.flag_privacy_unit,
                other => other,
            };
            fill(t.rf_row_path, &[&(i + 1).to_string(), what])
        }
        None => path.to_owned(),
    }
}

/// Which form, for whom.
enum Target {
    New,
    Edit { id: ResourceId, name: String },
}

impl Target {
    fn action(&self) -> String {
        match self {
            Target::New => "/resources/new".to_owned(),
            Target::Edit { id, .. } => format!("/resources/{id}/edit"),
        }
    }

    fn back(&self) -> String {
        match self {
            Target::New => "/resources".to_owned(),
            Target::Edit { id, .. } => format!("/resources/{id}"),
        }
    }

    /// Where the back link leads: the list, or the resource.
    fn back_label(&self, lang: Lang) -> String {
        match self {
            Target::New => lang.texts().resources_title.to_owned(),
            Target::Edit { name, .. } => name.clone(),
        }
    }

    fn title(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            Target::New => t.rf_new_title.to_owned(),
            Target::Edit { name, .. } => fill(t.rf_edit_title, &[name]),
        }
    }
}

/// The person's organisation.
fn own_org(me: &SignedIn) -> Option<OrgId> {
    match &me.ctx.principal {
        Principal::Person(actor) => Some(actor.org),
        Principal::Anonymous | Principal::System => None,
    }
}

/// Refuses (the 403 page, audited) when the policy would not allow `action` on `resource`; the use
/// case behind the form asks again when it is saved.
async fn gate(
    state: &ApiState,
    me: &SignedIn,
    action: Action,
    resource: &Resource,
) -> Result<(), Response> {
    match shuyu_policy::decide(&me.ctx.principal, action, resource, state.app.profile()) {
        shuyu_policy::Decision::Allow => Ok(()),
        shuyu_policy::Decision::Deny(denial) => {
            let detail = format!("console form: {}: {}", denial.code, denial.message);
            if let Err(err) = state
                .app
                .record_refusal(&me.ctx, action.as_str(), &detail)
                .await
            {
                tracing::error!(request_id = %me.chrome.request_id, error = %err, "could not record a refusal");
            }
            Err(me.chrome.fail(AppError::Forbidden(denial)))
        }
    }
}

async fn gate_register(state: &ApiState, me: &SignedIn) -> Result<(), Response> {
    let Some(org) = own_org(me) else {
        return Err(me.chrome.fail(AppError::Unauthenticated));
    };
    gate(
        state,
        me,
        Action::ResourceRegister,
        &Resource::Org { id: org },
    )
    .await
}

/// The source departments to choose from, when the person may register for other organisations
/// than their own (the data service agency); empty otherwise.
async fn providers(state: &ApiState, me: &SignedIn) -> Vec<(String, String)> {
    let elsewhere = Resource::Org {
        id: OrgId::from_uuid(uuid::Uuid::nil()),
    };
    if !me.may(state, Action::ResourceRegister, &elsewhere) {
        return Vec::new();
    }
    state
        .app
        .resource_providers(&me.ctx)
        .await
        .map(|orgs| {
            orgs.into_iter()
                .map(|o| (o.id.to_string(), o.name.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /resources/new`.
pub(crate) async fn new_form(State(state): State<ApiState>, me: SignedIn) -> Response {
    if let Err(refused) = gate_register(&state, &me).await {
        return refused;
    }
    let providers = providers(&state, &me).await;
    page(
        &state,
        &me,
        &Target::New,
        &ResourceForm::blank(),
        &providers,
        &[],
        None,
        StatusCode::OK,
    )
}

/// `POST /resources/new`: registers the resource (its first version, a draft), or shows the form
/// again with more rows or with the problems.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Posted { me, form }: Posted<Vec<(String, String)>>,
) -> Response {
    let Some((mut form, intent)) = ResourceForm::from_pairs(form) else {
        return bad_form(&me);
    };
    let providers = providers(&state, &me).await;
    let again = |form: &ResourceForm, problems: &[Problem], status| {
        page(
            &state,
            &me,
            &Target::New,
            form,
            &providers,
            problems,
            None,
            status,
        )
    };
    let (draft, kept, provider) = match (intent, read_new(&form, me.lang())) {
        (Intent::Save, Ok(found)) => found,
        (intent, read) => {
            // The form again, without the use case: the policy is asked here instead.
            if let Err(refused) = gate_register(&state, &me).await {
                return refused;
            }
            return match read {
                Err(problems) if intent == Intent::Save => {
                    again(&form, &problems, StatusCode::UNPROCESSABLE_ENTITY)
                }
                _ => {
                    form.pad(MORE_ROWS);
                    again(&form, &[], StatusCode::OK)
                }
            };
        }
    };
    match state
        .app
        .register_resource(&me.ctx, NewResource { provider, draft })
        .await
    {
        Ok(resource) => {
            Redirect::to(&format!("/resources/{}?done=registered", resource.id())).into_response()
        }
        Err(err) => match problems_of(err, &kept) {
            Ok((status, problems)) => again(&form, &problems, status),
            Err(err) => me.chrome.fail(err),
        },
    }
}

/// A registration form read: the draft, the rows it came from, and the chosen provider.
type NewRead = (ResourceDraft, Vec<usize>, Option<OrgId>);

fn read_new(form: &ResourceForm, lang: Lang) -> Result<NewRead, Vec<Problem>> {
    let provider = match form.provider.trim() {
        "" => Ok(None),
        text => text.parse::<OrgId>().map(Some).map_err(|_| {
            vec![(
                "provider".to_owned(),
                lang.texts().rf_bad_provider.to_owned(),
            )]
        }),
    };
    match (form.to_draft(lang), provider) {
        (Ok((draft, kept)), Ok(provider)) => Ok((draft, kept, provider)),
        (Err(mut problems), Err(more)) => {
            problems.extend(more);
            Err(problems)
        }
        (Err(problems), _) | (_, Err(problems)) => Err(problems),
    }
}

/// The resource to edit, readable by the person (the use case asks the policy), and the edit
/// allowed by the policy (else the 403 page, audited).
async fn editable(
    state: &ApiState,
    me: &SignedIn,
    id: &str,
) -> Result<(ResourceId, CatalogResource), Response> {
    let not_found = || me.chrome.fail(AppError::NotFound { kind: "resource" });
    let id = id.parse::<ResourceId>().map_err(|_| not_found())?;
    let view = state
        .app
        .resource(&me.ctx, id)
        .await
        .map_err(|err| me.chrome.fail(err))?;
    let resource = view.resource;
    gate(state, me, Action::ResourceEdit, &entry(&resource)).await?;
    Ok((id, resource))
}

/// The policy's view of a resource.
fn entry(resource: &CatalogResource) -> Resource {
    Resource::CatalogEntry {
        provider: resource.provider(),
        public: resource.current().is_some(),
    }
}

/// Why no new version can be saved now: a version is still a draft or awaiting review.
fn pending_notice(lang: Lang, resource: &CatalogResource) -> Option<Notice> {
    let t = lang.texts();
    resource.pending().map(|p| {
        Notice::Error(fill(
            t.rf_pending,
            &[&p.number().to_string(), t.version_state(p.state())],
        ))
    })
}

fn edit_target(id: ResourceId, resource: &CatalogResource) -> Target {
    let name = resource
        .latest()
        .map(|v| v.content().metadata().name().to_string())
        .unwrap_or_default();
    Target::Edit { id, name }
}

/// `GET /resources/{id}/edit`: the form filled with the latest version's content.
pub(crate) async fn edit_form(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    me: SignedIn,
) -> Response {
    let (id, resource) = match editable(&state, &me, &id).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Some(latest) = resource.latest() else {
        return me.chrome.fail(AppError::NotFound { kind: "resource" });
    };
    let form = ResourceForm::from_draft(&latest.content().to_draft());
    page(
        &state,
        &me,
        &edit_target(id, &resource),
        &form,
        &[],
        &[],
        pending_notice(me.lang(), &resource),
        StatusCode::OK,
    )
}

/// `POST /resources/{id}/edit`: drafts a new version, or shows the form again.
pub(crate) async fn update(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Posted { me, form }: Posted<Vec<(String, String)>>,
) -> Response {
    let (id, resource) = match editable(&state, &me, &id).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let Some((mut form, intent)) = ResourceForm::from_pairs(form) else {
        return bad_form(&me);
    };
    let target = edit_target(id, &resource);
    let again = |form: &ResourceForm, problems: &[Problem], status| {
        page(&state, &me, &target, form, &[], problems, None, status)
    };
    let (draft, kept) = match (intent, form.to_draft(me.lang())) {
        (Intent::Save, Ok(found)) => found,
        (Intent::Save, Err(problems)) => {
            return again(&form, &problems, StatusCode::UNPROCESSABLE_ENTITY);
        }
        (Intent::MoreRows, _) => {
            form.pad(MORE_ROWS);
            return again(&form, &[], StatusCode::OK);
        }
    };
    match state.app.edit_resource(&me.ctx, id, draft).await {
        Ok(_) => Redirect::to(&format!("/resources/{id}?done=edited")).into_response(),
        Err(err) => match problems_of(err, &kept) {
            Ok((status, problems)) => again(&form, &problems, status),
            Err(err) => me.chrome.fail(err),
        },
    }
}

fn bad_form(me: &SignedIn) -> Response {
    let t = me.lang().texts();
    me.chrome
        .error_page(StatusCode::BAD_REQUEST, t.error_title, t.bad_form)
}

/// The problems at `path`.
fn at<'a>(problems: &'a [Problem], path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    problems
        .iter()
        .filter(move |(p, _)| p == path)
        .map(|(_, m)| m.as_str())
}

/// The messages under an input.
fn messages<'a>(lang: Lang, problems: &'a [Problem], path: &'a str) -> Markup {
    html! {
        @for m in at(problems, path) { span.field-error { (problem_text(lang, path, m)) } }
    }
}

fn invalid(problems: &[Problem], path: &str) -> bool {
    problems.iter().any(|(p, _)| p == path)
}

/// A labelled text input (or a textarea when `rows` is given) with its hint and problems.
fn text_field(
    lang: Lang,
    label: &str,
    name: &str,
    value: &str,
    hint: Option<&str>,
    area: Option<u8>,
    problems: &[Problem],
) -> Markup {
    let id = format!("rf-{}", name.replace('.', "-"));
    html! {
        div.field.invalid[invalid(problems, name)] {
            label.label for=(id) { (label) }
            @if let Some(rows) = area {
                textarea id=(id) name=(name) rows=(rows) maxlength="2000" { (value) }
            } @else {
                input id=(id) type="text" name=(name) value=(value) maxlength="200";
            }
            @if let Some(hint) = hint { span.hint { (hint) } }
            (messages(lang, problems, name))
        }
    }
}

/// A labelled select of `(value, label)` choices. A value not on the list (a stale code) is kept as
/// an extra choice so the person sees it and the catalog names it.
fn select_field(
    lang: Lang,
    label: &str,
    name: &str,
    value: &str,
    choices: &[(String, String)],
    placeholder: Option<&str>,
    problems: &[Problem],
) -> Markup {
    let id = format!("rf-{}", name.replace('.', "-"));
    html! {
        div.field.invalid[invalid(problems, name)] {
            label.label for=(id) { (label) }
            (select(&id, name, value, choices, placeholder, None))
            (messages(lang, problems, name))
        }
    }
}

fn select(
    id: &str,
    name: &str,
    value: &str,
    choices: &[(String, String)],
    placeholder: Option<&str>,
    aria: Option<&str>,
) -> Markup {
    let value = value.trim();
    let known = value.is_empty() || choices.iter().any(|(v, _)| v == value);
    html! {
        select id=(id) name=(name) aria-label=[aria] {
            @if let Some(p) = placeholder { option value="" selected[value.is_empty()] { (p) } }
            @if !known { option value=(value) selected { (value) } }
            @for (v, l) in choices { option value=(v) selected[v == value] { (l) } }
        }
    }
}

/// The grading scale as choices: `L2 · 二级`.
fn grades(state: &ApiState, lang: Lang) -> Vec<(String, String)> {
    state
        .app
        .profile()
        .catalog()
        .grades
        .value
        .iter()
        .map(|g| (g.code.clone(), grade_label(state, lang, &g.code)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn page(
    state: &ApiState,
    me: &SignedIn,
    target: &Target,
    form: &ResourceForm,
    providers: &[(String, String)],
    problems: &[Problem],
    shown: Option<Notice>,
    status: StatusCode,
) -> Response {
    let lang = me.lang();
    let t = lang.texts();
    let title = target.title(lang);
    let catalog = state.app.profile().catalog();
    let domains: Vec<(String, String)> = catalog
        .domains
        .value
        .iter()
        .map(|d| {
            let label = if lang.chinese() { &d.zh } else { &d.en };
            (d.code.clone(), label.clone())
        })
        .collect();
    let grades = grades(state, lang);
    let frequencies: Vec<(String, String)> = FREQUENCIES
        .iter()
        .map(|f| (f.as_str().to_owned(), t.frequency(*f).to_owned()))
        .collect();
    let categories: Vec<(String, String)> = CATEGORIES
        .iter()
        .map(|c| (c.as_str().to_owned(), t.open_category(*c).to_owned()))
        .collect();
    let intro = match target {
        Target::New => t.rf_new_intro,
        Target::Edit { .. } => t.rf_edit_intro,
    };
    let save = match target {
        Target::New => t.rf_save_new,
        Target::Edit { .. } => t.rf_save_edit,
    };
    let body = html! {
        p { a href=(target.back()) { "← " (target.back_label(lang)) } }
        h1 { (title) }
        p.muted { (intro) }
        @if let Some(n) = &shown { (notice(n)) }
        @if !problems.is_empty() {
            div.notice.error role="alert" {
                p { (t.rf_errors) }
                ul.problems {
                    @for (path, message) in problems {
                        li {
                            @if !path.is_empty() { strong { (path_label(lang, path)) } "：" }
                            (problem_text(lang, path, message))
                        }
                    }
                }
            }
        }
        form.resource-form method="post" action=(target.action()) {
            input type="hidden" name=(CSRF_FIELD) value=(me.session.csrf);
            input type="hidden" name="rows" value=(form.rows.len());
            // Enter in a text input presses the form's first submit button: make it "save".
            button.implicit-save type="submit" name="intent" value="save" tabindex="-1" aria-hidden="true" { (save) }
            fieldset.card {
                legend { (t.rf_basic) }
                div.grid {
                    (text_field(lang, t.catalog_name, "name", &form.name, Some(t.rf_name_hint), None, problems))
                    (select_field(lang, t.catalog_domain, "domain", &form.domain, &domains, Some(t.rf_choose), problems))
                    @if !providers.is_empty() {
                        (select_field(lang, t.rf_provider, "provider", &form.provider, providers, Some(t.rf_choose), problems))
                    }
                }
                (text_field(lang, t.catalog_summary, "summary", &form.summary, Some(t.rf_summary_hint), Some(3), problems))
                (text_field(lang, t.catalog_legal_basis, "legal_basis", &form.legal_basis, Some(t.rf_legal_basis_hint), Some(2), problems))
            }
            fieldset.card {
                legend { (t.rf_scope) }
                div.grid {
                    (date_field(lang, t.rf_time_from, "coverage.time_from", &form.time_from, problems))
                    (date_field(lang, t.rf_time_to, "coverage.time_to", &form.time_to, problems))
                    (text_field(lang, t.rf_spatial, "coverage.spatial", &form.spatial, Some(t.rf_spatial_hint), None, problems))
                    (select_field(lang, t.catalog_frequency, "update_frequency", &form.update_frequency, &frequencies, None, problems))
                }
                p.hint { (t.rf_time_hint) }
            }
            fieldset.card {
                legend { (t.rf_openness) }
                div.grid {
                    (select_field(lang, t.catalog_open_category, "open_category", &form.open_category, &categories, None, problems))
                    div {
                        (select_field(lang, t.catalog_grade, "grade", &form.grade, &grades, Some(t.rf_choose), problems))
                        span.hint { (t.rf_grade_hint) }
                    }
                }
            }
            fieldset.card.rows {
                legend { (t.catalog_fields) }
                p.hint { (t.rf_fields_hint) }
                @for m in at(problems, "fields") { p.field-error { (problem_text(lang, "fields", m)) } }
                (rows_table(lang, form, &grades, problems))
                div.form-buttons {
                    button.secondary type="submit" name="intent" value="more" formnovalidate { (t.rf_more_rows) }
                }
            }
            div.form-buttons.save {
                button.primary type="submit" name="intent" value="save" { (save) }
                a.button.secondary href=(target.back()) { (t.rf_cancel) }
            }
        }
    };
    me.chrome
        .respond(status, &title, Some(Section::Resources), body)
}

fn date_field(lang: Lang, label: &str, name: &str, value: &str, problems: &[Problem]) -> Markup {
    let id = format!("rf-{}", name.replace('.', "-"));
    html! {
        div.field.invalid[invalid(problems, name)] {
            label.label for=(id) { (label) }
            input id=(id) type="date" name=(name) value=(value);
            (messages(lang, problems, name))
        }
    }
}

/// The data items as a table of rows, one input per cell, each row's problems in its cells.
fn rows_table(
    lang: Lang,
    form: &ResourceForm,
    grades: &[(String, String)],
    problems: &[Problem],
) -> Markup {
    let t = lang.texts();
    let types: Vec<(String, String)> = TYPES
        .iter()
        .map(|ft| (ft.as_str().to_owned(), t.field_type(*ft).to_owned()))
        .collect();
    let formats: Vec<(String, String)> = FORMATS
        .iter()
        .map(|(f, code)| ((*code).to_owned(), t.format_kind(*f).to_owned()))
        .collect();
    let flag_labels = [
        t.flag_personal,
        t.flag_direct,
        t.flag_quasi,
        t.flag_privacy_unit,
    ];
    html! {
        div.table-wrap {
            table.data.field-rows {
                thead { tr {
                    th.num { (t.rf_row) } th { (t.field_name) } th { (t.field_type) }
                    th { (t.field_description) } th { (t.field_grade) } th { (t.field_flags) }
                    th { (t.rf_format) }
                } }
                tbody {
                    @for (i, row) in form.rows.iter().enumerate() {
                        @let key = |k: &str| format!("fields[{i}].{k}");
                        @let number = (i + 1).to_string();
                        @let aria = |what: &str| format!("{} {number} · {what}", t.rf_row);
                        @let row_invalid = problems.iter().any(|(p, _)| p.starts_with(&format!("fields[{i}].")));
                        tr.invalid[row_invalid] {
                            td.num { (number) }
                            td.invalid[invalid(problems, &key("name"))] {
                                input type="text" name=(key("name")) value=(row.name) maxlength="63"
                                    aria-label=(aria(t.field_name)) placeholder="column_name";
                                (messages(lang, problems, &key("name")))
                            }
                            td.invalid[invalid(problems, &key("type"))] {
                                (select(&format!("rf-{i}-type"), &key("type"), if row.field_type.is_empty() { "string" } else { &row.field_type }, &types, None, Some(&aria(t.field_type))))
                                (messages(lang, problems, &key("type")))
                            }
                            td.description.invalid[invalid(problems, &key("description"))] {
                                input type="text" name=(key("description")) value=(row.description) maxlength="2000"
                                    aria-label=(aria(t.field_description));
                                (messages(lang, problems, &key("description")))
                            }
                            td.invalid[invalid(problems, &key("grade"))] {
                                (select(&format!("rf-{i}-grade"), &key("grade"), &row.grade, grades, Some(t.rf_choose), Some(&aria(t.field_grade))))
                                (messages(lang, problems, &key("grade")))
                            }
                            td.flags {
                                @for (j, flag) in FLAGS.iter().enumerate() {
                                    label.check {
                                        input type="checkbox" name=(key(flag)) value="1"
                                            checked[row.flags.get(j).copied().unwrap_or(false)];
                                        " " (flag_labels.get(j).copied().unwrap_or_default())
                                    }
                                }
                                @for flag in FLAGS { (messages(lang, problems, &key(flag))) }
                            }
                            td.invalid[invalid(problems, &key("format"))] {
                                (select(&format!("rf-{i}-format"), &key("format"), if row.format.is_empty() { "none" } else { &row.format }, &formats, None, Some(&aria(t.rf_format))))
                                (messages(lang, problems, &key("format")))
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

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rows_are_read_by_index_and_empty_rows_are_dropped_from_the_draft() {
        let (form, intent) = ResourceForm::from_pairs(pairs(&[
            ("name", "企业登记信息"),
            ("summary", "第一行\r\n第二行\r\n"),
            ("update_frequency", "daily"),
            ("open_category", "conditional"),
            ("coverage.time_from", "2020-01-01"),
            ("rows", "4"),
            ("fields[0].name", "a"),
            ("fields[0].type", "string"),
            ("fields[0].grade", "L1"),
            ("fields[2].name", "c"),
            ("fields[2].type", "integer"),
            ("fields[2].flags.privacy_unit", "1"),
            ("fields[2].format", "none"),
            ("fields[1].type", "string"),
        ]))
        .unwrap();
        assert_eq!(intent, Intent::Save);
        assert_eq!(form.rows.len(), 4, "the posted row count is kept");
        let (draft, kept) = form.to_draft(Lang::Zh).unwrap();
        assert_eq!(kept, vec![0, 2]);
        assert_eq!(draft.fields.len(), 2);
        assert_eq!(draft.fields[1].field_type, FieldType::Integer);
        assert!(draft.fields[1].flags.privacy_unit);
        assert_eq!(
            draft.coverage.time_from,
            NaiveDate::from_ymd_opt(2020, 1, 1)
        );
        assert_eq!(draft.coverage.time_to, None);
        assert_eq!(draft.summary, "第一行\n第二行", "CRLF from a textarea");
        // The catalog's fields[1] is the form's row 2 (index 2).
        assert_eq!(form_path("draft.fields[1].grade", &kept), "fields[2].grade");
        assert_eq!(form_path("draft.name", &kept), "name");
    }

    #[test]
    fn unknown_keys_and_out_of_range_rows_make_a_bad_form() {
        assert!(ResourceForm::from_pairs(pairs(&[("admin", "1")])).is_none());
        assert!(ResourceForm::from_pairs(pairs(&[("fields[300].name", "x")])).is_none());
        assert!(ResourceForm::from_pairs(pairs(&[("fields[0].secret", "x")])).is_none());
        let (_, intent) = ResourceForm::from_pairs(pairs(&[("intent", "more")])).unwrap();
        assert_eq!(intent, Intent::MoreRows);
    }

    #[test]
    fn a_bad_date_or_choice_is_named_in_the_persons_language() {
        let (form, _) = ResourceForm::from_pairs(pairs(&[
            ("update_frequency", "hourly"),
            ("open_category", "conditional"),
            ("coverage.time_to", "31/01/2024"),
        ]))
        .unwrap();
        let problems = form.to_draft(Lang::Zh).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|(p, m)| p == "update_frequency" && m.contains("hourly"))
        );
        assert!(
            problems
                .iter()
                .any(|(p, m)| p == "coverage.time_to" && m.contains("YYYY-MM-DD"))
        );
        assert_eq!(
            path_label(Lang::Zh, "fields[2].grade"),
            "数据项第 3 行的分级"
        );
        assert_eq!(
            path_label(Lang::En, "fields[0].name"),
            "data item row 1, Name"
        );
    }

    #[test]
    fn a_draft_round_trips_through_the_form() {
        let draft = ResourceDraft {
            name: "n".into(),
            summary: "s".into(),
            domain: "credit".into(),
            update_frequency: UpdateFrequency::Weekly,
            coverage: Coverage {
                time_from: NaiveDate::from_ymd_opt(2021, 3, 4),
                time_to: None,
                spatial: "全市".into(),
            },
            legal_basis: "l".into(),
            open_category: OpenCategory::NotOpen,
            grade: "L2".into(),
            fields: vec![FieldDraft {
                name: "id_no".into(),
                field_type: FieldType::String,
                description: "d".into(),
                grade: "L2".into(),
                flags: FieldFlags {
                    personal_information: true,
                    direct_identifier: true,
                    quasi_identifier: false,
                    privacy_unit: true,
                },
                format: FormatKind::ResidentId,
            }],
        };
        let form = ResourceForm::from_draft(&draft);
        assert_eq!(form.rows.len(), 1 + EMPTY_ROWS);
        let (back, kept) = form.to_draft(Lang::En).unwrap();
        assert_eq!(back, draft);
        assert_eq!(kept, vec![0]);
    }
}
