//! Loading, checking and reading the shipped profiles, through the public API only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::NaiveDate;
use shuyu_core::Role;
use shuyu_profile::{IdentityRules, Profile, ProfileError, RegulationStatus, Validity};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn builtin(name: &str) -> Profile {
    Profile::builtin(name).unwrap()
}

/// A valid profile to break in one place: the first shipped profile's text.
fn base_text() -> &'static str {
    Profile::builtin_source(Profile::BUILTIN[0]).unwrap()
}

/// Replaces exactly one occurrence of `from` in the base text, so a test cannot pass by editing nothing.
fn edited(from: &str, to: &str) -> String {
    let text = base_text();
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// The base text with the line that sets `key` (e.g. `expires = `) replaced by `line`.
fn with_line(key: &str, line: &str) -> String {
    let text = base_text();
    let mut found = 0;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(key) {
                found += 1;
                line.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_eq!(found, 1, "`{key}` must start exactly one line");
    out.join("\n")
}

/// Loads `text` and returns the error, which must be about `key`.
fn refused(text: &str, key: &str) -> String {
    let err = Profile::from_toml("test", text).expect_err("profile should be refused");
    assert_eq!(err.key(), Some(key), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(key),
        "message should name `{key}`: {message}"
    );
    assert!(
        message.contains("`test`"),
        "message should name the profile: {message}"
    );
    message
}

#[test]
fn every_builtin_profile_loads() {
    assert_eq!(Profile::BUILTIN.len(), 5);
    for name in Profile::BUILTIN {
        let profile = builtin(name);
        assert_eq!(profile.key(), *name);
    }
}

#[test]
fn unknown_builtin_name_lists_the_five() {
    let err = Profile::builtin("atlantis").unwrap_err();
    assert!(matches!(err, ProfileError::UnknownBuiltin { .. }));
    let message = err.to_string();
    assert!(message.contains("atlantis"), "{message}");
    for name in Profile::BUILTIN {
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn every_rule_cites_an_article() {
    for name in Profile::BUILTIN {
        let rules = builtin(name).rules();
        assert!(!rules.is_empty());
        for rule in rules {
            assert!(
                !rule.article.trim().is_empty(),
                "{name}: {} has no article",
                rule.key
            );
            assert!(
                !rule.value.trim().is_empty(),
                "{name}: {} has no value",
                rule.key
            );
            assert!(!rule.label_zh.is_empty() && !rule.label_en.is_empty());
        }
    }
}

/// Walks a TOML table and collects the dotted keys of every `{ value, article }` table.
fn cited_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if let toml::Value::Table(inner) = value {
            if inner.contains_key("article") {
                out.push(path);
            } else {
                cited_keys(inner, &path, out);
            }
        }
    }
}

#[test]
fn every_cited_key_in_a_file_is_a_rule_line() {
    for name in Profile::BUILTIN {
        let table: toml::Table = Profile::builtin_source(name).unwrap().parse().unwrap();
        let mut in_file = Vec::new();
        cited_keys(&table, "", &mut in_file);
        in_file.sort();
        let mut shown: Vec<String> = builtin(name)
            .rules()
            .iter()
            .map(|r| r.key.to_owned())
            .collect();
        shown.sort();
        assert_eq!(in_file, shown, "{name}: file keys and rule lines differ");
    }
}

#[test]
fn rule_lines_read_in_both_languages() {
    let rules = builtin("changchun").rules();
    let retention = rules
        .iter()
        .find(|r| r.key == "audit.log_retention_after_termination_months")
        .unwrap();
    assert_eq!(retention.value, "6 个月 / 6 months");
    assert_eq!(retention.article, "CC28");
    let futian = builtin("futian").rules();
    let retention = futian
        .iter()
        .find(|r| r.key == "audit.log_retention_after_termination_months")
        .unwrap();
    assert_eq!(retention.value, "24 个月（2 年） / 24 months (2 years)");
    assert_eq!(retention.article, "FT14");
}

#[test]
fn retention_follows_the_regulations() {
    let months = |name| {
        builtin(name)
            .audit()
            .log_retention_after_termination_months
            .value
    };
    assert_eq!(months("changchun"), 6);
    assert_eq!(months("futian"), 24);
}

#[test]
fn quarterly_training_is_ninety_days() {
    let futian = builtin("futian");
    assert_eq!(futian.personnel().training_interval_days.value, 90);
    assert!(
        futian
            .personnel()
            .training_interval_days
            .article
            .starts_with("FT31")
    );
}

#[test]
fn unified_identity_where_the_regulation_asks_for_it() {
    let sso = |name| builtin(name).identity().unified_identity_sso.value;
    assert!(sso("changchun"));
    assert!(sso("futian"));
    assert!(!sso("weihai"));
}

#[test]
fn weihai_is_expired_after_2026_10_29() {
    let weihai = builtin("weihai");
    let last_day = day("2026-10-29");
    assert_eq!(
        weihai.validity_on(day("2026-11-24")),
        Validity::Expired { last_day }
    );
    assert_eq!(
        weihai.validity_on(day("2026-10-30")),
        Validity::Expired { last_day }
    );
    assert_eq!(
        weihai.validity_on(last_day),
        Validity::InForce {
            last_day: Some(last_day)
        }
    );
    assert_eq!(
        weihai.validity_on(day("2024-10-29")),
        Validity::NotYetEffective {
            from: day("2024-10-30")
        }
    );
    assert!(weihai.validity_on(day("2024-10-30")).is_in_force());
}

#[test]
fn validity_periods_end_the_day_before_their_anniversary() {
    let last_day = |name| builtin(name).regulation().expires.value;
    assert_eq!(last_day("futian"), Some(day("2027-01-29")));
    assert_eq!(last_day("qiqihar"), Some(day("2026-11-28")));
    assert_eq!(last_day("changchun"), None);
    assert_eq!(
        builtin("changchun").validity_on(day("2099-01-01")),
        Validity::InForce { last_day: None }
    );
}

#[test]
fn validity_is_described_in_both_languages() {
    let expired = builtin("weihai").validity_on(day("2026-11-24"));
    assert_eq!(
        expired.describe(false),
        "expired; the last valid day was 2026-10-29"
    );
    assert_eq!(expired.describe(true), "已失效，有效期至 2026-10-29");
}

#[test]
fn draft_regulation_is_marked_as_a_draft() {
    let zhongwei = builtin("zhongwei");
    assert_eq!(zhongwei.regulation().status.value, RegulationStatus::Draft);
    assert_eq!(zhongwei.regulation().document_number.value, None);
    assert!(
        zhongwei
            .regulation()
            .effective
            .article
            .starts_with("default:")
    );
}

#[test]
fn governing_roles_need_a_second_factor_everywhere() {
    for name in Profile::BUILTIN {
        let profile = builtin(name);
        for role in IdentityRules::MANDATORY_SECOND_FACTOR {
            assert!(profile.requires_second_factor(*role), "{name}: {role}");
        }
        assert!(!profile.requires_second_factor(Role::Consumer), "{name}");
    }
}

#[test]
fn unknown_key_is_refused_with_its_path() {
    let text = edited(
        "\n[audit]\n",
        "\n[audit]\nlog_retention_months = { value = 6, article = \"x\" }\n",
    );
    let message = refused(&text, "audit.log_retention_months");
    assert!(message.contains("unknown field"), "{message}");
    assert!(message.contains("(line "), "{message}");
}

#[test]
fn unknown_section_is_refused() {
    let text = format!("{}\n[fees]\nfree = true\n", base_text());
    refused(&text, "fees");
}

#[test]
fn unknown_field_inside_a_cited_value_is_refused() {
    let text = with_line(
        "log_retention_after_termination_months",
        "log_retention_after_termination_months = { value = 6, article = \"CC28\", note = \"x\" }",
    );
    refused(&text, "audit.log_retention_after_termination_months.note");
}

#[test]
fn missing_key_is_refused() {
    let text = with_line("training_interval_days", "");
    let message = refused(&text, "personnel.training_interval_days");
    assert!(message.contains("missing field"), "{message}");
}

#[test]
fn missing_article_is_refused() {
    let text = with_line(
        "log_retention_after_termination_months",
        "log_retention_after_termination_months = { value = 6 }",
    );
    refused(
        &text,
        "audit.log_retention_after_termination_months.article",
    );
}

#[test]
fn wrong_type_is_refused_with_its_path() {
    let text = with_line(
        "log_retention_after_termination_months",
        "log_retention_after_termination_months = { value = \"six\", article = \"CC28\" }",
    );
    refused(&text, "audit.log_retention_after_termination_months.value");
}

#[test]
fn unknown_role_is_refused_with_its_position() {
    let text = with_line(
        "second_factor_roles",
        "second_factor_roles = { value = [\"admin\", \"authority\", \"operator\", \"supervisor\", \"king\"], article = \"x\" }",
    );
    let message = refused(&text, "identity.second_factor_roles.value[4]");
    assert!(message.contains("king"), "{message}");
}

#[test]
fn zero_retention_is_refused() {
    let text = with_line(
        "log_retention_after_termination_months",
        "log_retention_after_termination_months = { value = 0, article = \"CC28\" }",
    );
    refused(&text, "audit.log_retention_after_termination_months.value");
}

#[test]
fn zero_training_interval_is_refused() {
    let text = with_line(
        "training_interval_days",
        "training_interval_days = { value = 0, article = \"FT31\" }",
    );
    refused(&text, "personnel.training_interval_days.value");
}

#[test]
fn expiry_must_come_after_the_effective_date() {
    let text = with_line(
        "expires",
        "expires = { value = 2024-10-30, article = \"x\" }",
    );
    let message = refused(&text, "regulation.expires.value");
    assert!(message.contains("2024-10-30"), "{message}");
}

#[test]
fn an_impossible_date_is_refused() {
    let text = with_line(
        "expires",
        "expires = { value = 2026-02-30, article = \"x\" }",
    );
    let err = Profile::from_toml("test", &text).unwrap_err();
    assert!(matches!(err, ProfileError::Syntax { .. }), "{err}");
}

#[test]
fn a_date_time_is_not_a_date() {
    let text = with_line(
        "effective",
        "effective = { value = 2024-10-30T08:00:00, article = \"x\" }",
    );
    refused(&text, "regulation.effective.value");
}

#[test]
fn a_profile_without_expiry_is_valid_forever() {
    let text = with_line("expires", "expires = { article = \"sets no end\" }");
    let profile = Profile::from_toml("test", &text).unwrap();
    assert_eq!(profile.regulation().expires.value, None);
    assert!(profile.validity_on(day("2200-01-01")).is_in_force());
}

#[test]
fn second_factor_list_must_cover_administrators() {
    let text = with_line(
        "second_factor_roles",
        "second_factor_roles = { value = [\"authority\", \"operator\", \"supervisor\"], article = \"x\" }",
    );
    let message = refused(&text, "identity.second_factor_roles.value");
    assert!(message.contains("`admin` is missing"), "{message}");
}

#[test]
fn second_factor_list_must_cover_every_governing_role() {
    for missing in IdentityRules::MANDATORY_SECOND_FACTOR {
        let others: Vec<String> = IdentityRules::MANDATORY_SECOND_FACTOR
            .iter()
            .filter(|r| *r != missing)
            .map(|r| format!("\"{r}\""))
            .collect();
        let text = with_line(
            "second_factor_roles",
            &format!(
                "second_factor_roles = {{ value = [{}], article = \"x\" }}",
                others.join(", ")
            ),
        );
        let message = refused(&text, "identity.second_factor_roles.value");
        assert!(
            message.contains(&format!("`{missing}` is missing")),
            "{message}"
        );
    }
}

#[test]
fn duplicate_roles_are_refused() {
    let text = with_line(
        "second_factor_roles",
        "second_factor_roles = { value = [\"admin\", \"authority\", \"operator\", \"supervisor\", \"operator\"], article = \"x\" }",
    );
    let message = refused(&text, "identity.second_factor_roles.value");
    assert!(message.contains("`operator` is listed twice"), "{message}");
}

#[test]
fn more_roles_may_need_a_second_factor() {
    let text = with_line(
        "second_factor_roles",
        "second_factor_roles = { value = [\"admin\", \"authority\", \"operator\", \"supervisor\", \"merchant\"], article = \"x\" }",
    );
    let profile = Profile::from_toml("test", &text).unwrap();
    assert!(profile.requires_second_factor(Role::Merchant));
    assert!(!profile.requires_second_factor(Role::Consumer));
}

#[test]
fn empty_strings_are_refused() {
    refused(&with_line("name =", "name = \" \""), "regulation.name");
    refused(
        &with_line("short_name", "short_name = \"\""),
        "regulation.short_name",
    );
    refused(
        &with_line(
            "document_number",
            "document_number = { value = \"\", article = \"x\" }",
        ),
        "regulation.document_number.value",
    );
}

#[test]
fn empty_article_is_refused() {
    let text = with_line(
        "real_name_required",
        "real_name_required = { value = true, article = \"  \" }",
    );
    let message = refused(&text, "personnel.real_name_required.article");
    assert!(message.contains("default: <why>"), "{message}");
}

#[test]
fn a_default_must_say_why() {
    let text = with_line(
        "real_name_required",
        "real_name_required = { value = true, article = \"default:\" }",
    );
    refused(&text, "personnel.real_name_required.article");
}

#[test]
fn broken_toml_is_refused_with_its_line() {
    let text = format!("{}\n[audit\n", base_text());
    let err = Profile::from_toml("test", &text).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ProfileError::Syntax { line: Some(_), .. }),
        "{message}"
    );
    assert!(message.contains("not valid TOML"), "{message}");
}

#[test]
fn a_profile_name_is_a_plain_file_name() {
    for bad in ["", "../etc/passwd", "Weird Name", &"x".repeat(65)] {
        let err = Profile::from_toml(bad, base_text()).unwrap_err();
        assert!(matches!(err, ProfileError::BadName { .. }), "{bad}: {err}");
    }
    assert!(Profile::from_toml("my-city_2", base_text()).is_ok());
}
