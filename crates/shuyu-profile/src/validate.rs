//! Checks that no TOML type can express: empty texts, impossible dates and durations, a
//! second-factor list that leaves an administrator with a password alone. Each check returns the key
//! and a sentence saying what to change.
//!
//! Must never: check one city differently from another, or fix a value silently.

use std::collections::HashSet;

use crate::{IdentityRules, Profile, rules};

/// A failed check: the dotted key and the reason.
pub(crate) type Problem = (String, String);

pub(crate) fn check(profile: &Profile) -> Result<(), Problem> {
    regulation(profile)?;
    durations(profile)?;
    second_factor(&profile.identity)?;
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
