//! The grant and the rules a new one must pass ([`Grant::seed`]).

use serde::{Deserialize, Serialize};
use shuyu_catalog::{FieldType, ResourceId, ResourceVersion, ResourceVersionId, authorizable};
use shuyu_core::{GrantId, OrgId, Timestamp, WorkspaceId};
use shuyu_profile::{ColumnControl, Desensitization, PrivacyBudget, Profile, UsageMethod};

use crate::error::GrantError;
use crate::lifecycle::{GrantState, StatusChange};

/// The longest scenario name, in characters.
pub const MAX_SCENARIO_NAME: usize = 200;

/// What the data is used for (一场景一授权).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub category: ScenarioCategory,
}

/// The kind of scenario: public governance, public interest, or industry (commercial) use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioCategory {
    /// 公共治理.
    PublicGovernance,
    /// 公益事业.
    PublicInterest,
    /// 产业发展 / 行业应用.
    Industry,
}

impl ScenarioCategory {
    pub const ALL: &'static [ScenarioCategory] = &[
        ScenarioCategory::PublicGovernance,
        ScenarioCategory::PublicInterest,
        ScenarioCategory::Industry,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ScenarioCategory::PublicGovernance => "public_governance",
            ScenarioCategory::PublicInterest => "public_interest",
            ScenarioCategory::Industry => "industry",
        }
    }

    pub const fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (ScenarioCategory::PublicGovernance, true) => "公共治理",
            (ScenarioCategory::PublicInterest, true) => "公益事业",
            (ScenarioCategory::Industry, true) => "产业发展",
            (other, false) => other.as_str(),
        }
    }
}

/// When a grant may be used: from `from` (inclusive) to `to` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub from: Timestamp,
    pub to: Timestamp,
}

impl Term {
    /// Whether `now` is within the term.
    pub fn contains(self, now: Timestamp) -> bool {
        self.from <= now && now < self.to
    }

    /// Whether the term is over at `now`.
    pub fn ended(self, now: Timestamp) -> bool {
        now >= self.to
    }

    /// The length in days, a started day counting as a whole one.
    pub fn days(self) -> i64 {
        let seconds = self.to.seconds_since(self.from);
        seconds.div_euclid(86_400) + i64::from(seconds.rem_euclid(86_400) != 0)
    }
}

/// A field asked for in a new grant; a handling left out is the field's catalog default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRequest {
    pub name: String,
    #[serde(default)]
    pub column_control: Option<ColumnControl>,
    #[serde(default)]
    pub desensitization: Option<Desensitization>,
    /// For a numeric field: the clamping bounds differentially private sums and means use when
    /// the query does not declare its own.
    #[serde(default)]
    pub bounds: Option<ClampBounds>,
}

impl FieldRequest {
    /// The field with its catalog default handling.
    pub fn default_handling(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            column_control: None,
            desensitization: None,
            bounds: None,
        }
    }
}

/// Clamping bounds `[lower, upper]` of a numeric field (whole units of the field), `lower < upper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClampBounds {
    pub lower: i64,
    pub upper: i64,
}

/// A resource asked for: the approved version it is granted on, and the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    pub resource: ResourceId,
    pub version: ResourceVersionId,
    /// The resource's table name in the workspace (both environments): lower-case letters, digits
    /// and `_`, starting with a letter, at most 63 characters, unique within the grant.
    pub table: String,
    pub fields: Vec<FieldRequest>,
}

/// Everything a new grant says, before it is checked. A group size or budget left out is the
/// profile's default (`sandbox.min_group_size`, `sandbox.default_budget`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    pub merchant: OrgId,
    pub operator: OrgId,
    pub scenario: Scenario,
    pub resources: Vec<ResourceRequest>,
    pub usage: UsageMethod,
    pub term: Term,
    #[serde(default)]
    pub min_group_size: Option<u32>,
    #[serde(default)]
    pub budget: Option<PrivacyBudget>,
}

/// A granted field with the handling the secure domain enforces for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedField {
    pub name: String,
    /// The field's grade when granted (it decided the allowed usage methods).
    pub grade: String,
    pub column_control: ColumnControl,
    pub desensitization: Desensitization,
    /// Clamping bounds for differentially private sums and means over the field, if the grant
    /// gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<ClampBounds>,
}

/// A granted resource: the approved version it was granted on and its granted fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedResource {
    pub resource: ResourceId,
    pub version: ResourceVersionId,
    /// The table name in the workspace (checked by [`valid_table_name`]).
    pub table: String,
    pub fields: Vec<GrantedField>,
}

/// A checked grant. Made only by [`Grant::seed`] (or read back from the store); moved only through
/// [`Grant::handle`] and [`Grant::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub(crate) id: GrantId,
    pub(crate) merchant: OrgId,
    pub(crate) operator: OrgId,
    pub(crate) workspace: WorkspaceId,
    pub(crate) scenario: Scenario,
    pub(crate) resources: Vec<GrantedResource>,
    pub(crate) usage: UsageMethod,
    pub(crate) term: Term,
    pub(crate) min_group_size: u32,
    pub(crate) budget: PrivacyBudget,
    pub(crate) state: GrantState,
    pub(crate) seeded: bool,
    pub(crate) created_at: Timestamp,
    pub(crate) history: Vec<StatusChange>,
}

impl Grant {
    /// Checks `request` and makes the grant, `active`, marked as seeded (made by the system, not by
    /// a signed development agreement). `versions` are the resource versions the request names;
    /// `id` and `workspace` are minted by the caller.
    pub fn seed(
        id: GrantId,
        workspace: WorkspaceId,
        request: NewGrant,
        versions: &[&ResourceVersion],
        profile: &Profile,
        now: Timestamp,
    ) -> Result<Grant, GrantError> {
        let name = request.scenario.name.trim();
        if name.is_empty() || name.chars().count() > MAX_SCENARIO_NAME {
            return Err(GrantError::ScenarioName {
                max: MAX_SCENARIO_NAME,
            });
        }
        let min_group_size = check_group_size(request.min_group_size, profile)?;
        let budget = check_budget(request.budget, profile)?;
        check_term(request.term, profile, now)?;
        if request.resources.is_empty() {
            return Err(GrantError::NoResources);
        }
        let mut resources = Vec::with_capacity(request.resources.len());
        for (index, asked) in request.resources.iter().enumerate() {
            if request
                .resources
                .iter()
                .take(index)
                .any(|r| r.resource == asked.resource)
            {
                return Err(GrantError::DuplicateResource {
                    index,
                    resource: asked.resource.to_string(),
                });
            }
            resources.push(check_resource(
                index,
                asked,
                versions,
                request.usage,
                profile,
            )?);
        }
        Ok(Grant {
            id,
            merchant: request.merchant,
            operator: request.operator,
            workspace,
            scenario: Scenario {
                name: name.to_owned(),
                category: request.scenario.category,
            },
            resources,
            usage: request.usage,
            term: request.term,
            min_group_size,
            budget,
            state: GrantState::Active,
            seeded: true,
            created_at: now,
            history: Vec::new(),
        })
    }

    pub fn id(&self) -> GrantId {
        self.id
    }
    /// The merchant organisation whose verified personnel use the grant.
    pub fn merchant(&self) -> OrgId {
        self.merchant
    }
    /// The operator organisation running the domain the grant lives in.
    pub fn operator(&self) -> OrgId {
        self.operator
    }
    pub fn workspace(&self) -> WorkspaceId {
        self.workspace
    }
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn resources(&self) -> &[GrantedResource] {
        &self.resources
    }
    pub fn usage(&self) -> UsageMethod {
        self.usage
    }
    pub fn term(&self) -> Term {
        self.term
    }
    /// Groups smaller than this many distinct privacy units are suppressed.
    pub fn min_group_size(&self) -> u32 {
        self.min_group_size
    }
    /// The privacy budget (spent only by differentially private queries).
    pub fn budget(&self) -> PrivacyBudget {
        self.budget
    }
    /// The stored state; see [`Grant::status`] for the state at a given time.
    pub fn state(&self) -> GrantState {
        self.state
    }
    /// Made by the system through the one seeding function, not by a signed agreement.
    pub fn seeded(&self) -> bool {
        self.seeded
    }
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
    /// The suspensions, resumptions and the revocation, oldest first.
    pub fn history(&self) -> &[StatusChange] {
        &self.history
    }

    /// The granted field `name` of `resource`, if granted.
    pub fn field(&self, resource: ResourceId, name: &str) -> Option<&GrantedField> {
        self.resources
            .iter()
            .find(|r| r.resource == resource)?
            .fields
            .iter()
            .find(|f| f.name == name)
    }
}

/// Whether `name` may name a workspace table: a plain SQL identifier that needs no quoting
/// (lower-case ASCII letters, digits and `_`, starting with a letter, at most 63 characters).
#[must_use]
pub fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_group_size(asked: Option<u32>, profile: &Profile) -> Result<u32, GrantError> {
    let sandbox = profile.sandbox();
    let size = asked.unwrap_or(sandbox.min_group_size.value);
    let floor = sandbox.min_group_size_floor.value;
    if size < floor {
        return Err(GrantError::GroupTooSmall { asked: size, floor });
    }
    Ok(size)
}

fn check_budget(
    asked: Option<PrivacyBudget>,
    profile: &Profile,
) -> Result<PrivacyBudget, GrantError> {
    let sandbox = profile.sandbox();
    let budget = asked.unwrap_or(sandbox.default_budget.value);
    if !budget.is_well_formed() {
        return Err(GrantError::BudgetMalformed {
            asked: budget.to_string(),
        });
    }
    let max = sandbox.max_grant_budget.value;
    if !budget.within(max) {
        return Err(GrantError::BudgetTooLarge {
            asked: budget.to_string(),
            max: max.to_string(),
        });
    }
    Ok(budget)
}

fn check_term(term: Term, profile: &Profile, now: Timestamp) -> Result<(), GrantError> {
    if term.to <= term.from {
        return Err(GrantError::TermInverted {
            from: term.from.to_string(),
            to: term.to.to_string(),
        });
    }
    if term.ended(now) {
        return Err(GrantError::TermEnded {
            to: term.to.to_string(),
        });
    }
    let max = profile.sandbox().max_term_days.value;
    if term.days() > i64::from(max) {
        return Err(GrantError::TermTooLong {
            days: term.days(),
            max,
        });
    }
    Ok(())
}

fn check_resource(
    index: usize,
    asked: &ResourceRequest,
    versions: &[&ResourceVersion],
    usage: UsageMethod,
    profile: &Profile,
) -> Result<GrantedResource, GrantError> {
    let resource = asked.resource.to_string();
    if !valid_table_name(&asked.table) {
        return Err(GrantError::TableName {
            index,
            table: asked.table.chars().take(64).collect(),
        });
    }
    let version = versions
        .iter()
        .find(|v| v.id() == asked.version && v.resource() == asked.resource)
        .ok_or_else(|| GrantError::UnknownVersion {
            index,
            resource: resource.clone(),
            version: asked.version.to_string(),
        })?;
    authorizable(version, profile).map_err(|reason| GrantError::NotAuthorizable {
        index,
        resource: resource.clone(),
        reason,
    })?;
    if asked.fields.is_empty() {
        return Err(GrantError::NoFields { index, resource });
    }
    let mut fields = Vec::with_capacity(asked.fields.len());
    for (field_index, field) in asked.fields.iter().enumerate() {
        if asked
            .fields
            .iter()
            .take(field_index)
            .any(|f| f.name == field.name)
        {
            return Err(GrantError::DuplicateField {
                index,
                field_index,
                field: field.name.clone(),
            });
        }
        fields.push(check_field(
            (index, field_index),
            field,
            version,
            usage,
            profile,
        )?);
    }
    Ok(GrantedResource {
        resource: asked.resource,
        version: asked.version,
        table: asked.table.clone(),
        fields,
    })
}

fn check_field(
    (index, field_index): (usize, usize),
    asked: &FieldRequest,
    version: &ResourceVersion,
    usage: UsageMethod,
    profile: &Profile,
) -> Result<GrantedField, GrantError> {
    let content = version.content();
    let spec = content
        .field(&asked.name)
        .ok_or_else(|| GrantError::UnknownField {
            index,
            field_index,
            field: asked.name.chars().take(64).collect(),
            fields: content
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let name = spec.name().to_string();
    let default = spec.default_handling(profile);
    let control = asked.column_control.unwrap_or(default.column_control);
    if control.more_permissive_than(default.column_control) {
        return Err(GrantError::LoosenedControl {
            index,
            field_index,
            field: name,
            asked: control.as_str(),
            default: default.column_control.as_str(),
        });
    }
    if control == ColumnControl::Denied {
        return Err(GrantError::DeniedField {
            index,
            field_index,
            field: name,
        });
    }
    let rule = asked.desensitization.unwrap_or(default.desensitization);
    if !desensitization_at_least_as_strict(rule, default.desensitization) {
        return Err(GrantError::LoosenedDesensitization {
            index,
            field_index,
            field: name,
            asked: rule.as_str(),
            default: default.desensitization.as_str(),
        });
    }
    let sandbox = profile.sandbox();
    if !sandbox.allows(spec.grade(), usage) {
        let allowed: Vec<&str> = sandbox
            .usage_methods_for(spec.grade())
            .iter()
            .map(|m| m.as_str())
            .collect();
        return Err(GrantError::UsageNotAllowed {
            index,
            field_index,
            field: name,
            grade: spec.grade().to_owned(),
            usage: usage.as_str(),
            allowed: if allowed.is_empty() {
                "no usage method".to_owned()
            } else {
                allowed.join(", ")
            },
        });
    }
    if let Some(bounds) = asked.bounds {
        let numeric = matches!(spec.field_type(), FieldType::Integer | FieldType::Decimal);
        if !numeric || bounds.lower >= bounds.upper {
            return Err(GrantError::Bounds {
                index,
                field_index,
                field: name,
            });
        }
    }
    Ok(GrantedField {
        name,
        grade: spec.grade().to_owned(),
        column_control: control,
        desensitization: rule,
        bounds: asked.bounds,
    })
}

/// Whether desensitizing with `asked` is at least as strict as with `default`.
///
/// The rules are not a line: hashing keeps joins, masking keeps a prefix, generalizing keeps a band.
/// So only these count as tightening: the same rule; anything in place of `none`; `suppress` in
/// place of any rule but `null`; `null` in place of anything. Swapping one transforming rule for
/// another (e.g. `hash` for `mask`) would reveal something the default hides and is refused.
pub fn desensitization_at_least_as_strict(
    asked: Desensitization,
    default: Desensitization,
) -> bool {
    use Desensitization::{None, Null, Suppress};
    asked == default || default == None || asked == Null || (asked == Suppress && default != Null)
}
