//! The `[sandbox]` section: group sizes, privacy budgets, usage methods per grade, grant term, query
//! limits — and the national floors no profile may go below.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use shuyu_profile::{PrivacyBudget, Profile, UsageMethod};

fn base_text() -> &'static str {
    Profile::builtin_source(Profile::BUILTIN[0]).unwrap()
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

fn refused(text: &str, key: &str) -> String {
    let err = Profile::from_toml("test", text).expect_err("profile should be refused");
    assert_eq!(err.key(), Some(key), "{err}");
    let message = err.to_string();
    assert!(message.contains(key), "{message}");
    message
}

#[test]
fn every_builtin_profile_has_sane_sandbox_rules() {
    for name in Profile::BUILTIN {
        let profile = Profile::builtin(name).unwrap();
        let sandbox = profile.sandbox();
        assert!(sandbox.min_group_size_floor.value >= 2, "{name}");
        assert!(sandbox.min_group_size.value >= sandbox.min_group_size_floor.value);
        assert!(
            sandbox
                .default_budget
                .value
                .within(sandbox.max_grant_budget.value)
        );
        assert!(
            sandbox
                .max_grant_budget
                .value
                .within(sandbox.population_budget.value)
        );
        assert!(sandbox.max_term_days.value > 0);
        let c = sandbox.dp_contribution.value;
        assert!(
            (1..=c.max_groups_per_unit).contains(&c.groups_per_unit),
            "{name}"
        );
        assert!(
            (1..=c.max_rows_per_unit).contains(&c.rows_per_unit),
            "{name}"
        );
        for grade in &profile.catalog().grades.value {
            let allowed = sandbox.usage_methods_for(&grade.code);
            if grade.authorizable {
                assert!(
                    allowed.contains(&UsageMethod::DpAggregate),
                    "{name} {}",
                    grade.code
                );
            } else {
                assert!(allowed.is_empty(), "{name} {}", grade.code);
            }
        }
    }
}

#[test]
fn sensitive_grades_allow_only_differential_privacy() {
    let profile = Profile::builtin("zhongwei").unwrap();
    let sandbox = profile.sandbox();
    assert!(sandbox.allows("L1", UsageMethod::Aggregate));
    assert!(!sandbox.allows("L4", UsageMethod::Aggregate));
    assert!(sandbox.allows("L4", UsageMethod::DpAggregate));
    assert!(!sandbox.allows("core", UsageMethod::DpAggregate));
    assert!(!sandbox.allows("no_such_grade", UsageMethod::DpAggregate));
}

#[test]
fn a_group_of_one_is_refused() {
    let text = with_line(
        "min_group_size_floor",
        "min_group_size_floor = { value = 1, article = \"x\" }",
    );
    let message = refused(&text, "sandbox.min_group_size_floor.value");
    assert!(message.contains("at least 2"), "{message}");
}

#[test]
fn a_default_group_size_below_the_floor_is_refused() {
    let text = with_line(
        "min_group_size =",
        "min_group_size = { value = 3, article = \"x\" }",
    );
    refused(&text, "sandbox.min_group_size.value");
}

#[test]
fn a_zero_epsilon_is_refused() {
    let text = with_line(
        "default_budget",
        "default_budget = { value = { epsilon = 0.0, delta = 1e-6 }, article = \"x\" }",
    );
    refused(&text, "sandbox.default_budget.value.epsilon");
}

#[test]
fn a_large_delta_is_refused() {
    let text = with_line(
        "max_grant_budget",
        "max_grant_budget = { value = { epsilon = 3.0, delta = 0.01 }, article = \"x\" }",
    );
    let message = refused(&text, "sandbox.max_grant_budget.value.delta");
    assert!(message.contains("1e-3"), "{message}");
}

#[test]
fn a_default_budget_above_the_grant_maximum_is_refused() {
    let text = with_line(
        "default_budget",
        "default_budget = { value = { epsilon = 4.0, delta = 1e-6 }, article = \"x\" }",
    );
    refused(&text, "sandbox.default_budget.value");
}

#[test]
fn a_grant_maximum_above_the_population_budget_is_refused() {
    let text = with_line(
        "population_budget",
        "population_budget = { value = { epsilon = 2.0, delta = 1e-5 }, article = \"x\" }",
    );
    refused(&text, "sandbox.max_grant_budget.value");
}

#[test]
fn an_unknown_grade_in_the_usage_table_is_refused() {
    let text = with_line("L4 = [", "L9 = [\"dp_aggregate\"]");
    let message = refused(&text, "sandbox.usage_methods.value.L9");
    assert!(message.contains("L1, L2"), "{message}");
}

#[test]
fn a_never_authorizable_grade_may_not_be_used() {
    let text = with_line("core = []", "core = [\"dp_aggregate\"]");
    refused(&text, "sandbox.usage_methods.value.core");
}

#[test]
fn an_unknown_usage_method_is_refused_with_its_path() {
    let text = with_line("L1 = [", "L1 = [\"row_level\"]");
    let err = Profile::from_toml("test", &text).unwrap_err();
    assert!(
        err.to_string().contains("sandbox.usage_methods.value.L1"),
        "{err}"
    );
}

#[test]
fn a_zero_term_is_refused() {
    let text = base_text().replacen(
        "[sandbox.max_term_days]\nvalue = 365",
        "[sandbox.max_term_days]\nvalue = 0",
        1,
    );
    refused(&text, "sandbox.max_term_days.value");
}

#[test]
fn a_zero_query_limit_is_refused() {
    let text = with_line(
        "value = { memory_mib",
        "value = { memory_mib = 1024, timeout_seconds = 0, scanned_rows = 1 }",
    );
    refused(&text, "sandbox.query_limits.value.timeout_seconds");
}

#[test]
fn budgets_print_in_both_languages() {
    let profile = Profile::builtin("futian").unwrap();
    let line = profile
        .rules()
        .into_iter()
        .find(|l| l.key == "sandbox.default_budget")
        .unwrap();
    assert_eq!(line.value, "ε = 1，δ = 1e-6 / ε = 1, δ = 1e-6");
    assert_eq!(
        profile.sandbox().default_budget.value,
        PrivacyBudget::new(1.0, 1e-6)
    );
}

#[test]
fn a_contribution_default_above_its_maximum_or_zero_is_refused() {
    let line = |v: &str| format!("value = {{ {v} }}");
    let text = with_line(
        "value = { groups_per_unit",
        &line(
            "groups_per_unit = 11, rows_per_unit = 1, max_groups_per_unit = 10, max_rows_per_unit = 100",
        ),
    );
    let message = refused(&text, "sandbox.dp_contribution.value.groups_per_unit");
    assert!(message.contains("max_groups_per_unit (10)"), "{message}");
    let text = with_line(
        "value = { groups_per_unit",
        &line(
            "groups_per_unit = 1, rows_per_unit = 0, max_groups_per_unit = 10, max_rows_per_unit = 100",
        ),
    );
    refused(&text, "sandbox.dp_contribution.value.rows_per_unit");
    let text = with_line(
        "value = { groups_per_unit",
        &line(
            "groups_per_unit = 1, rows_per_unit = 1, max_groups_per_unit = 10, max_rows_per_unit = 100000",
        ),
    );
    refused(&text, "sandbox.dp_contribution.value.max_rows_per_unit");
}
