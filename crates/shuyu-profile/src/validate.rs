//! Checks that no TOML type can express: empty texts, impossible dates and durations, a
//! second-factor list that leaves an administrator with a password alone. Each check returns the key
//! and a sentence saying what to change.
//!
//! Must never: check one city differently from another, or fix a value silently.

use std::collections::HashSet;

use crate::catalog::floors;
use crate::sandbox::floors as sandbox_floors;
use crate::{
    CatalogRules, ColumnControl, Desensitization, FieldHandling, IdentityRules, PrivacyBudget,
    Profile, SandboxRules, rules,
};

/// A failed check: the dotted key and the reason.
pub(crate) type Problem = (String, String);

pub(crate) fn check(profile: &Profile) -> Result<(), Problem> {
    regulation(profile)?;
    durations(profile)?;
    second_factor(&profile.identity)?;
    catalog(&profile.catalog)?;
    sandbox(&profile.sandbox, &profile.catalog)?;
    articles(profile)
}

fn problem(key: &str, reason: impl Into<String>) -> Problem {
    (key.to_owned(), reason.into())
}

fn non_empty(key: &str, value: &str, what: &str) -> Result<(), Problem> {
    if value.trim().is_empty() {
        Err(problem(key, format!("is empty; write {what}")))
    } else {
        Ok(())
    }
}

fn regulation(profile: &Profile) -> Result<(), Problem> {
    let reg = &profile.regulation;
    non_empty(
        "regulation.name",
        &reg.name,
        "the full Chinese title of the regulation",
    )?;
    non_empty(
        "regulation.name_en",
        &reg.name_en,
        "the English title of the regulation",
    )?;
    non_empty(
        "regulation.short_name",
        &reg.short_name,
        "the short English name people use, e.g. the city's name",
    )?;
    non_empty(
        "regulation.issuing_body.value",
        &reg.issuing_body.value,
        "the body that issued the regulation",
    )?;
    if let Some(number) = &reg.document_number.value {
        non_empty(
            "regulation.document_number.value",
            number,
            "the 文号, or leave `value` out and say in `article` why there is none",
        )?;
    }
    if let Some(last_day) = reg.expires.value
        && last_day <= reg.effective.value
    {
        return Err(problem(
            "regulation.expires.value",
            format!(
                "the last valid day {last_day} is not after the first day in force {} \
                 (regulation.effective); `expires` is the last day the regulation is valid",
                reg.effective.value
            ),
        ));
    }
    Ok(())
}

fn durations(profile: &Profile) -> Result<(), Problem> {
    if profile.audit.log_retention_after_termination_months.value == 0 {
        return Err(problem(
            "audit.log_retention_after_termination_months.value",
            "0 months would let the logs go the day an authorization ends; give the number of \
             months the regulation requires (at least 1)",
        ));
    }
    if profile.personnel.training_interval_days.value == 0 {
        return Err(problem(
            "personnel.training_interval_days.value",
            "an interval of 0 days is impossible; give the longest gap in days between two \
             security trainings (e.g. 90 for quarterly)",
        ));
    }
    Ok(())
}

fn second_factor(identity: &IdentityRules) -> Result<(), Problem> {
    const KEY: &str = "identity.second_factor_roles.value";
    let list = &identity.second_factor_roles.value;
    let mut seen = HashSet::new();
    if let Some(twice) = list.iter().find(|role| !seen.insert(**role)) {
        return Err(problem(
            KEY,
            format!("`{twice}` is listed twice; list each role once"),
        ));
    }
    if let Some(missing) = IdentityRules::MANDATORY_SECOND_FACTOR
        .iter()
        .find(|role| !list.contains(role))
    {
        let mandatory: Vec<&str> = IdentityRules::MANDATORY_SECOND_FACTOR
            .iter()
            .map(|r| r.as_str())
            .collect();
        return Err(problem(
            KEY,
            format!(
                "`{missing}` is missing; the roles that govern or oversee the platform ({}) \
                 must always use a second factor, so add `{missing}` to the list",
                mandatory.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Every cited value names its article; a default says why.
fn articles(profile: &Profile) -> Result<(), Problem> {
    for line in rules::lines(profile) {
        let key = format!("{}.article", line.key);
        let article = line.article.trim();
        if article.is_empty() {
            return Err(problem(
                &key,
                "is empty; cite the article the value rests on (e.g. \"CC28\"), or write \
                 \"default: <why>\" where the regulation is silent",
            ));
        }
        if article
            .strip_prefix("default:")
            .is_some_and(|why| why.trim().is_empty())
        {
            return Err(problem(
                &key,
                "says `default:` but not why; explain after the colon why this value was chosen",
            ));
        }
    }
    Ok(())
}

/// The grading scale, the domain list and the field defaults (`[catalog]`).
fn catalog(rules: &CatalogRules) -> Result<(), Problem> {
    let days = rules.quality_answer_days.value;
    if days == 0 || days > 365 {
        return Err(problem(
            "catalog.quality_answer_days.value",
            format!(
                "{days} days is impossible; give the calendar days a source department has to \
                 answer a quality issue (1 to 365)"
            ),
        ));
    }
    grades(rules)?;
    domains(rules)?;
    let flags = [
        (
            "catalog.personal_information.value",
            &rules.personal_information.value,
            floors::PERSONAL_INFORMATION,
            "personal information (个人信息保护法 art. 51)",
        ),
        (
            "catalog.direct_identifier.value",
            &rules.direct_identifier.value,
            floors::DIRECT_IDENTIFIER,
            "a direct identifier, which is never visible",
        ),
    ];
    for (key, handling, limit, what) in flags {
        handling_within(key, handling, limit, what)?;
    }
    if rules.direct_identifier.value.desensitization == Desensitization::None {
        return Err(problem(
            "catalog.direct_identifier.value.desensitization",
            "`none` would leave a direct identifier as it is; choose hash, mask, truncate, \
             suppress or null",
        ));
    }
    Ok(())
}

fn handling_within(
    key: &str,
    handling: &FieldHandling,
    limit: ColumnControl,
    what: &str,
) -> Result<(), Problem> {
    if handling.column_control.more_permissive_than(limit) {
        return Err(problem(
            &format!("{key}.column_control"),
            format!(
                "`{}` is more permissive than {what} allows; use `{limit}` or a stricter control \
                 (from the most to the least permissive: {})",
                handling.column_control,
                control_list()
            ),
        ));
    }
    Ok(())
}

fn control_list() -> String {
    let all: Vec<&str> = ColumnControl::ALL.iter().map(|c| c.as_str()).collect();
    all.join(", ")
}

fn is_code(code: &str, lower_only: bool) -> bool {
    (1..=32).contains(&code.len())
        && code.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'_'
                || (!lower_only && b.is_ascii_uppercase())
        })
}

fn grades(rules: &CatalogRules) -> Result<(), Problem> {
    let scale = &rules.grades.value;
    if scale.is_empty() {
        return Err(problem(
            "catalog.grades.value",
            "the grading scale is empty; list the grades from the least to the most sensitive",
        ));
    }
    if !scale.iter().any(|g| g.authorizable) {
        return Err(problem(
            "catalog.grades.value",
            "no grade is authorizable, so no resource could ever be authorized; set \
             `authorizable = true` on the grades the regulation allows",
        ));
    }
    let mut seen = HashSet::new();
    let mut previous: Option<(&str, ColumnControl)> = None;
    for (i, grade) in scale.iter().enumerate() {
        let key = format!("catalog.grades.value[{i}]");
        if !is_code(&grade.code, false) {
            return Err(problem(
                &format!("{key}.code"),
                format!(
                    "`{}` cannot be a grade code; use 1 to 32 ASCII letters, digits or `_`",
                    grade.code
                ),
            ));
        }
        if !seen.insert(grade.code.as_str()) {
            return Err(problem(
                &format!("{key}.code"),
                format!(
                    "`{}` is listed twice; each grade code appears once",
                    grade.code
                ),
            ));
        }
        non_empty(&format!("{key}.zh"), &grade.zh, "the grade's Chinese name")?;
        non_empty(&format!("{key}.en"), &grade.en, "the grade's English name")?;
        if !grade.authorizable && grade.column_control != floors::NEVER_AUTHORIZABLE {
            return Err(problem(
                &format!("{key}.column_control"),
                format!(
                    "grade `{}` is never authorizable, so its fields must be `denied`, not `{}`",
                    grade.code, grade.column_control
                ),
            ));
        }
        if !grade.authorizable && grade.authority_review {
            return Err(problem(
                &format!("{key}.authority_review"),
                format!(
                    "grade `{}` is never authorizable, so a review could not authorize it; set \
                     `authority_review = false`",
                    grade.code
                ),
            ));
        }
        if let Some((prev_code, prev_control)) = previous
            && grade.column_control.more_permissive_than(prev_control)
        {
            return Err(problem(
                &format!("{key}.column_control"),
                format!(
                    "`{}` is more permissive than `{prev_control}` of the less sensitive grade \
                     `{prev_code}` before it; the scale runs from the least to the most sensitive, \
                     so a grade allows at most what the grade before it allows",
                    grade.column_control
                ),
            ));
        }
        previous = Some((grade.code.as_str(), grade.column_control));
    }
    Ok(())
}

fn domains(rules: &CatalogRules) -> Result<(), Problem> {
    let list = &rules.domains.value;
    if list.is_empty() {
        return Err(problem(
            "catalog.domains.value",
            "the domain list is empty; list the domains resources are classified in",
        ));
    }
    let mut seen = HashSet::new();
    for (i, domain) in list.iter().enumerate() {
        let key = format!("catalog.domains.value[{i}]");
        if !is_code(&domain.code, true) {
            return Err(problem(
                &format!("{key}.code"),
                format!(
                    "`{}` cannot be a domain code; use 1 to 32 lower-case ASCII letters, digits \
                     or `_`",
                    domain.code
                ),
            ));
        }
        if !seen.insert(domain.code.as_str()) {
            return Err(problem(
                &format!("{key}.code"),
                format!(
                    "`{}` is listed twice; each domain code appears once",
                    domain.code
                ),
            ));
        }
        non_empty(
            &format!("{key}.zh"),
            &domain.zh,
            "the domain's Chinese name",
        )?;
        non_empty(
            &format!("{key}.en"),
            &domain.en,
            "the domain's English name",
        )?;
    }
    Ok(())
}

/// The secure domain's defaults and bounds (`[sandbox]`).
fn sandbox(rules: &SandboxRules, catalog: &CatalogRules) -> Result<(), Problem> {
    let floor = rules.min_group_size_floor.value;
    if floor < sandbox_floors::MIN_GROUP_SIZE {
        return Err(problem(
            "sandbox.min_group_size_floor.value",
            format!(
                "{floor} would let a group of one person through as an aggregate; the lowest \
                 minimum group size is at least {} distinct privacy units",
                sandbox_floors::MIN_GROUP_SIZE
            ),
        ));
    }
    let default = rules.min_group_size.value;
    if default < floor {
        return Err(problem(
            "sandbox.min_group_size.value",
            format!(
                "the default {default} is below the lowest allowed size {floor} \
                 (sandbox.min_group_size_floor); raise it to at least {floor}"
            ),
        ));
    }
    let budgets = [
        ("sandbox.default_budget.value", rules.default_budget.value),
        (
            "sandbox.max_grant_budget.value",
            rules.max_grant_budget.value,
        ),
        (
            "sandbox.population_budget.value",
            rules.population_budget.value,
        ),
    ];
    for (key, budget) in budgets {
        budget_floors(key, budget)?;
    }
    let ordered = [
        (
            "sandbox.default_budget.value",
            rules.default_budget.value,
            "sandbox.max_grant_budget",
            rules.max_grant_budget.value,
        ),
        (
            "sandbox.max_grant_budget.value",
            rules.max_grant_budget.value,
            "sandbox.population_budget",
            rules.population_budget.value,
        ),
    ];
    for (key, budget, limit_key, limit) in ordered {
        if !budget.within(limit) {
            return Err(problem(
                key,
                format!(
                    "{budget} exceeds {limit} of {limit_key}; a grant's budget fits within the \
                     most a grant may get, which fits within the budget of a data population"
                ),
            ));
        }
    }
    let days = rules.max_term_days.value;
    if days == 0 || days > sandbox_floors::TERM_DAYS_AT_MOST {
        return Err(problem(
            "sandbox.max_term_days.value",
            format!(
                "{days} days is not a time-bound grant; give the longest term in days (1 to {})",
                sandbox_floors::TERM_DAYS_AT_MOST
            ),
        ));
    }
    usage_methods(rules, catalog)?;
    let limits = rules.query_limits.value;
    let zero = [
        ("memory_mib", limits.memory_mib == 0, "MiB of memory"),
        ("timeout_seconds", limits.timeout_seconds == 0, "seconds"),
        ("scanned_rows", limits.scanned_rows == 0, "rows"),
    ];
    if let Some((name, _, unit)) = zero.iter().find(|(_, is_zero, _)| *is_zero) {
        return Err(problem(
            &format!("sandbox.query_limits.value.{name}"),
            format!("0 would refuse every query; give the most {unit} one query may use"),
        ));
    }
    let c = rules.dp_contribution.value;
    let pairs = [
        ("groups_per_unit", c.groups_per_unit, c.max_groups_per_unit),
        ("rows_per_unit", c.rows_per_unit, c.max_rows_per_unit),
    ];
    for (name, default, max) in pairs {
        if default == 0 || default > max {
            return Err(problem(
                &format!("sandbox.dp_contribution.value.{name}"),
                format!(
                    "{default} is not a usable default: give at least 1 and at most \
                     max_{name} ({max}); a unit that contributes nothing cannot be counted"
                ),
            ));
        }
        if max > sandbox_floors::CONTRIBUTIONS_AT_MOST {
            return Err(problem(
                &format!("sandbox.dp_contribution.value.max_{name}"),
                format!(
                    "{max} is too large: the noise grows with it and would drown any answer; \
                     give at most {}",
                    sandbox_floors::CONTRIBUTIONS_AT_MOST
                ),
            ));
        }
    }
    Ok(())
}

fn budget_floors(key: &str, budget: PrivacyBudget) -> Result<(), Problem> {
    let epsilon = budget.epsilon;
    if !epsilon.is_finite() || epsilon <= 0.0 || epsilon > sandbox_floors::EPSILON_AT_MOST {
        return Err(problem(
            &format!("{key}.epsilon"),
            format!(
                "ε = {epsilon} is impossible; give a number above 0 and at most {} (a larger ε \
                 hides nothing)",
                sandbox_floors::EPSILON_AT_MOST
            ),
        ));
    }
    let delta = budget.delta;
    if !delta.is_finite() || !(0.0..sandbox_floors::DELTA_BELOW).contains(&delta) {
        return Err(problem(
            &format!("{key}.delta"),
            format!(
                "δ = {delta} is too large; give 0 or a number below {:e} (δ is the chance that \
                 the guarantee fails, so it must be far below one over the population)",
                sandbox_floors::DELTA_BELOW
            ),
        ));
    }
    Ok(())
}

/// Every grade named is on the scale; a grade that is never authorized allows no use.
fn usage_methods(rules: &SandboxRules, catalog: &CatalogRules) -> Result<(), Problem> {
    for (code, methods) in &rules.usage_methods.value {
        let key = format!("sandbox.usage_methods.value.{code}");
        let Some(grade) = catalog.grade(code) else {
            return Err(problem(
                &key,
                format!(
                    "`{code}` is not a grade of catalog.grades ({}); use one of its codes",
                    catalog.grade_codes()
                ),
            ));
        };
        if !grade.authorizable && !methods.is_empty() {
            return Err(problem(
                &key,
                format!(
                    "grade `{code}` is never authorizable, so it allows no usage method; write `[]`"
                ),
            ));
        }
        let mut seen = HashSet::new();
        if let Some(twice) = methods.iter().find(|m| !seen.insert(**m)) {
            return Err(problem(
                &key,
                format!("`{twice}` is listed twice; list each usage method once"),
            ));
        }
    }
    if !catalog
        .grades
        .value
        .iter()
        .any(|g| rules.usage_methods_for(&g.code).iter().next().is_some())
    {
        return Err(problem(
            "sandbox.usage_methods.value",
            "no grade allows any usage method, so no grant could ever be used; give the \
             authorizable grades aggregate and/or dp_aggregate",
        ));
    }
    Ok(())
}
