//! The `[catalog]` section: grading scale, domains, field defaults, quality deadline, registration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_profile::{ColumnControl, Desensitization, Profile};

fn builtin(name: &str) -> Profile {
    Profile::builtin(name).unwrap()
}

fn base_text() -> &'static str {
    Profile::builtin_source(Profile::BUILTIN[0]).unwrap()
}

/// The base text with exactly one occurrence of `from` replaced.
fn edited(from: &str, to: &str) -> String {
    let text = base_text();
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

/// The base text with the line starting with `key` replaced by `line`.
fn with_line(key: &str, line: &str) -> String {
    let text = base_text();
    assert_eq!(
        text.lines().filter(|l| l.starts_with(key)).count(),
        1,
        "`{key}` must start exactly one line"
    );
    text.lines()
        .map(|l| if l.starts_with(key) { line } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The grade block of the base text whose code is `code`, from its `[[…]]` header to its last line.
fn grade_block(code: &str) -> String {
    let text = base_text();
    let start = text.find(&format!("code = \"{code}\"")).unwrap();
    let end = text[start..].find("column_control").unwrap() + start;
    let end = text[end..].find('\n').unwrap() + end;
    text[start..end].to_owned()
}

fn with_grade(code: &str, from: &str, to: &str) -> String {
    let block = grade_block(code);
    assert_eq!(block.matches(from).count(), 1, "`{from}` in grade {code}");
    edited(&block, &block.replacen(from, to, 1))
}

fn refused(text: &str, key: &str) -> String {
    let err = Profile::from_toml("test", text).expect_err("profile should be refused");
    assert_eq!(err.key(), Some(key), "{err}");
    let message = err.to_string();
    assert!(message.contains(key), "{message}");
    message
}

const CATALOG_KEYS: &[&str] = &[
    "catalog.registration_required",
    "catalog.agency_supplies",
    "catalog.quality_answer_days",
    "catalog.grades",
    "catalog.domains",
    "catalog.personal_information",
    "catalog.direct_identifier",
    "catalog.quasi_identifier",
    "catalog.privacy_unit",
];

#[test]
fn every_catalog_key_is_a_rule_line_with_an_article() {
    for name in Profile::BUILTIN {
        let rules = builtin(name).rules();
        for key in CATALOG_KEYS {
            let line = rules
                .iter()
                .find(|r| r.key == *key)
                .unwrap_or_else(|| panic!("{name}: no rule line {key}"));
            assert!(!line.article.trim().is_empty(), "{name}: {key}");
            assert!(line.value.contains(" / "), "{name}: {key}: {}", line.value);
        }
    }
}

#[test]
fn core_and_state_secret_grades_are_never_authorizable_anywhere() {
    for name in Profile::BUILTIN {
        let profile = builtin(name);
        let catalog = profile.catalog();
        for code in ["core", "state_secret"] {
            let grade = catalog.grade(code).unwrap();
            assert!(!grade.authorizable, "{name}: {code}");
            assert_eq!(
                grade.column_control,
                ColumnControl::Denied,
                "{name}: {code}"
            );
        }
        assert!(
            catalog.grade("important").unwrap().authority_review,
            "{name}"
        );
        assert!(catalog.grade("L1").unwrap().authorizable, "{name}");
    }
}

#[test]
fn the_priority_domains_of_the_changchun_text_are_listed() {
    let profile = builtin("changchun");
    let catalog = profile.catalog();
    let priority: Vec<&str> = catalog
        .domains
        .value
        .iter()
        .filter(|d| d.priority)
        .map(|d| d.zh.as_str())
        .collect();
    assert_eq!(priority.len(), 19);
    assert_eq!(priority.first(), Some(&"信用"));
    assert_eq!(priority.last(), Some(&"企业登记监管"));
    assert!(catalog.domains.article.starts_with("CC8"));
    assert!(!catalog.domain("other").unwrap().priority);
}

#[test]
fn quality_deadline_and_registration_are_set_everywhere() {
    for name in Profile::BUILTIN {
        let catalog = builtin(name).catalog().clone();
        assert!(catalog.quality_answer_days.value > 0, "{name}");
        assert!(catalog.registration_required.value, "{name}");
    }
    let zhongwei = builtin("zhongwei");
    assert!(
        zhongwei
            .catalog()
            .registration_required
            .article
            .starts_with("ZW8")
    );
}

#[test]
fn direct_identifiers_are_never_visible_and_personal_information_at_most_aggregated() {
    for name in Profile::BUILTIN {
        let profile = builtin(name);
        let catalog = profile.catalog();
        assert!(
            !catalog
                .direct_identifier
                .value
                .column_control
                .more_permissive_than(ColumnControl::AggregateOnly)
        );
        assert_ne!(
            catalog.direct_identifier.value.desensitization,
            Desensitization::None
        );
        assert!(
            !catalog
                .personal_information
                .value
                .column_control
                .more_permissive_than(ColumnControl::AggregateOnly)
        );
    }
}

#[test]
fn the_stricter_of_two_controls_is_the_less_permissive() {
    assert_eq!(
        ColumnControl::Visible.stricter(ColumnControl::JoinKey),
        ColumnControl::JoinKey
    );
    assert_eq!(
        ColumnControl::Denied.stricter(ColumnControl::GroupBy),
        ColumnControl::Denied
    );
    assert!(ColumnControl::Visible.more_permissive_than(ColumnControl::AggregateOnly));
    assert!(!ColumnControl::Denied.more_permissive_than(ColumnControl::CompareOnly));
}

#[test]
fn an_empty_scale_is_refused() {
    let text = base_text();
    let start = text.find("[[catalog.grades.value]]").unwrap();
    let end = text.find("\n[catalog.domains]").unwrap();
    let text = format!("{}value = []\n{}", &text[..start], &text[end..]);
    let message = refused(&text, "catalog.grades.value");
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn duplicate_grade_codes_are_refused() {
    let text = edited("code = \"L2\"", "code = \"L1\"");
    let message = refused(&text, "catalog.grades.value[1].code");
    assert!(message.contains("`L1` is listed twice"), "{message}");
}

#[test]
fn a_grade_code_must_be_a_plain_code() {
    let text = edited("code = \"L2\"", "code = \"L 2\"");
    refused(&text, "catalog.grades.value[1].code");
}

#[test]
fn a_never_authorizable_grade_must_be_denied() {
    let text = with_grade(
        "core",
        "column_control = \"denied\"",
        "column_control = \"compare_only\"",
    );
    let message = refused(&text, "catalog.grades.value[5].column_control");
    assert!(message.contains("never authorizable"), "{message}");
}

#[test]
fn a_never_authorizable_grade_cannot_await_review() {
    let text = with_grade(
        "core",
        "authority_review = false",
        "authority_review = true",
    );
    refused(&text, "catalog.grades.value[5].authority_review");
}

#[test]
fn a_grade_may_not_allow_more_than_the_less_sensitive_grade_before_it() {
    let text = with_grade(
        "L4",
        "column_control = \"group_by\"",
        "column_control = \"visible\"",
    );
    let message = refused(&text, "catalog.grades.value[3].column_control");
    assert!(message.contains("`L3`"), "{message}");
}

#[test]
fn a_scale_without_an_authorizable_grade_is_refused() {
    let mut text = base_text().to_owned();
    for code in ["L1", "L2", "L3", "L4", "important"] {
        let block = {
            let start = text.find(&format!("code = \"{code}\"")).unwrap();
            let end = text[start..].find("column_control").unwrap() + start;
            let end = text[end..].find('\n').unwrap() + end;
            text[start..end].to_owned()
        };
        let changed = block
            .replace("authorizable = true", "authorizable = false")
            .replace("authority_review = true", "authority_review = false");
        let changed = changed
            .lines()
            .map(|l| {
                if l.starts_with("column_control") {
                    "column_control = \"denied\""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        text = text.replacen(&block, &changed, 1);
    }
    let message = refused(&text, "catalog.grades.value");
    assert!(message.contains("no grade is authorizable"), "{message}");
}

#[test]
fn an_unknown_desensitization_rule_is_refused_with_its_path() {
    let text = with_grade(
        "L2",
        "desensitization = \"mask\"",
        "desensitization = \"scramble\"",
    );
    let message = refused(&text, "catalog.grades.value[1].desensitization");
    assert!(message.contains("scramble"), "{message}");
}

#[test]
fn a_visible_direct_identifier_is_refused() {
    let text = with_line(
        "direct_identifier",
        "direct_identifier = { value = { desensitization = \"hash\", column_control = \"visible\" }, article = \"x\" }",
    );
    let message = refused(&text, "catalog.direct_identifier.value.column_control");
    assert!(message.contains("never visible"), "{message}");
}

#[test]
fn an_undesensitized_direct_identifier_is_refused() {
    let text = with_line(
        "direct_identifier",
        "direct_identifier = { value = { desensitization = \"none\", column_control = \"join_key\" }, article = \"x\" }",
    );
    refused(&text, "catalog.direct_identifier.value.desensitization");
}

#[test]
fn visible_personal_information_is_refused() {
    let text = with_line(
        "personal_information",
        "personal_information = { value = { desensitization = \"mask\", column_control = \"visible\" }, article = \"x\" }",
    );
    let message = refused(&text, "catalog.personal_information.value.column_control");
    assert!(message.contains("aggregate_only"), "{message}");
}

#[test]
fn duplicate_domain_codes_are_refused() {
    let text = edited("code = \"transport\"", "code = \"credit\"");
    refused(&text, "catalog.domains.value[1].code");
}

#[test]
fn an_empty_domain_list_is_refused() {
    let text = base_text();
    let start = text.find("[catalog.domains]").unwrap();
    let value = text[start..].find("value = [").unwrap() + start;
    let end = text[value..].find("\n]").unwrap() + value + 2;
    let text = format!("{}value = []{}", &text[..value], &text[end..]);
    refused(&text, "catalog.domains.value");
}

#[test]
fn a_zero_day_quality_deadline_is_refused() {
    let text = with_line(
        "quality_answer_days",
        "quality_answer_days = { value = 0, article = \"x\" }",
    );
    refused(&text, "catalog.quality_answer_days.value");
}
