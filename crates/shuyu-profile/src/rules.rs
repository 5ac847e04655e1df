//! Every cited value of a profile as a line a person reads: key, label, value, article. Used by
//! `shuyu profile show NAME` and by the console, and by the check that every rule cites an article.
//!
//! Must never: leave out a cited key of the file (the test `every_cited_key_in_a_file_is_a_rule_line`
//! compares this list with the TOML), or print a number, flag or role in one language only.

use chrono::NaiveDate;
use shuyu_core::Role;

use std::collections::BTreeMap;

use crate::{
    DomainEntry, DpContribution, FieldHandling, Grade, PrivacyBudget, Profile, QueryLimits,
    UsageMethod,
};

/// One rule of a profile, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLine {
    /// The dotted TOML key, e.g. `audit.log_retention_after_termination_months`.
    pub key: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    /// The value in Chinese and English, e.g. `6 个月 / 6 months`.
    pub value: String,
    /// The article the value rests on, e.g. `CC28`, or `default: <why>`.
    pub article: String,
}

pub(crate) fn lines(profile: &Profile) -> Vec<RuleLine> {
    let reg = &profile.regulation;
    let audit = &profile.audit;
    let identity = &profile.identity;
    let personnel = &profile.personnel;
    let catalog = &profile.catalog;
    let sandbox = &profile.sandbox;
    vec![
        line(
            "regulation.issuing_body",
            "发布机关",
            "Issued by",
            reg.issuing_body.value.clone(),
            &reg.issuing_body.article,
        ),
        line(
            "regulation.document_number",
            "文号",
            "Document number",
            reg.document_number
                .value
                .clone()
                .unwrap_or_else(|| "无 / none".to_owned()),
            &reg.document_number.article,
        ),
        line(
            "regulation.status",
            "文本状态",
            "Status of the text",
            both(reg.status.value.label(true), reg.status.value.label(false)),
            &reg.status.article,
        ),
        line(
            "regulation.effective",
            "施行日期",
            "In force from",
            date(reg.effective.value),
            &reg.effective.article,
        ),
        line(
            "regulation.expires",
            "有效期至（含当日）",
            "Valid until (last day)",
            reg.expires
                .value
                .map(date)
                .unwrap_or_else(|| "未规定 / not set".to_owned()),
            &reg.expires.article,
        ),
        line(
            "audit.log_retention_after_termination_months",
            "授权终止后日志留存期",
            "Logs kept after an authorization ends",
            months(audit.log_retention_after_termination_months.value),
            &audit.log_retention_after_termination_months.article,
        ),
        line(
            "identity.second_factor_roles",
            "须使用第二认证因素的角色",
            "Roles that must use a second factor",
            roles(&identity.second_factor_roles.value),
            &identity.second_factor_roles.article,
        ),
        line(
            "identity.unified_identity_sso",
            "通过统一身份认证系统登录",
            "Sign-in through the unified identity system",
            yes_no(identity.unified_identity_sso.value),
            &identity.unified_identity_sso.article,
        ),
        line(
            "personnel.confidentiality_agreement_required",
            "须签订保密协议",
            "Confidentiality agreement required",
            yes_no(personnel.confidentiality_agreement_required.value),
            &personnel.confidentiality_agreement_required.article,
        ),
        line(
            "personnel.training_interval_days",
            "安全培训间隔",
            "Security training at least every",
            days(personnel.training_interval_days.value),
            &personnel.training_interval_days.article,
        ),
        line(
            "personnel.real_name_required",
            "须实名认证",
            "Real-name verification required",
            yes_no(personnel.real_name_required.value),
            &personnel.real_name_required.article,
        ),
        line(
            "catalog.registration_required",
            "资源须登记（国家公共数据资源登记）",
            "Resources are registered (national registration)",
            yes_no(catalog.registration_required.value),
            &catalog.registration_required.article,
        ),
        line(
            "catalog.agency_supplies",
            "公共数据服务机构代数源部门编目、供数",
            "The data service agency catalogs and supplies data for source departments",
            yes_no(catalog.agency_supplies.value),
            &catalog.agency_supplies.article,
        ),
        line(
            "catalog.quality_answer_days",
            "数据质量问题答复期限（自然日）",
            "Quality issues answered within (calendar days)",
            days(catalog.quality_answer_days.value),
            &catalog.quality_answer_days.article,
        ),
        line(
            "catalog.grades",
            "数据分级（由低到高）",
            "Grading scale (least to most sensitive)",
            grades(&catalog.grades.value),
            &catalog.grades.article,
        ),
        line(
            "catalog.domains",
            "数据分类领域",
            "Classification domains",
            domains(&catalog.domains.value),
            &catalog.domains.article,
        ),
        line(
            "catalog.personal_information",
            "个人信息字段默认处理",
            "Default for personal information",
            handling(&catalog.personal_information.value),
            &catalog.personal_information.article,
        ),
        line(
            "catalog.direct_identifier",
            "直接标识符字段默认处理",
            "Default for direct identifiers",
            handling(&catalog.direct_identifier.value),
            &catalog.direct_identifier.article,
        ),
        line(
            "catalog.quasi_identifier",
            "准标识符字段默认处理",
            "Default for quasi-identifiers",
            handling(&catalog.quasi_identifier.value),
            &catalog.quasi_identifier.article,
        ),
        line(
            "catalog.privacy_unit",
            "隐私单元字段默认处理",
            "Default for the privacy unit",
            handling(&catalog.privacy_unit.value),
            &catalog.privacy_unit.article,
        ),
        line(
            "sandbox.min_group_size",
            "默认最小分组规模（去重隐私单元）",
            "Default minimum group size (distinct privacy units)",
            units(sandbox.min_group_size.value),
            &sandbox.min_group_size.article,
        ),
        line(
            "sandbox.min_group_size_floor",
            "最小分组规模下限",
            "Lowest minimum group size a grant may set",
            units(sandbox.min_group_size_floor.value),
            &sandbox.min_group_size_floor.article,
        ),
        line(
            "sandbox.default_budget",
            "每项授权默认隐私预算",
            "Default privacy budget of a grant",
            budget(sandbox.default_budget.value),
            &sandbox.default_budget.article,
        ),
        line(
            "sandbox.max_grant_budget",
            "每项授权隐私预算上限",
            "Most privacy budget a grant may get",
            budget(sandbox.max_grant_budget.value),
            &sandbox.max_grant_budget.article,
        ),
        line(
            "sandbox.population_budget",
            "同一法人对同一数据群体的隐私预算（跨授权）",
            "Budget per data population per legal entity (across its grants)",
            budget(sandbox.population_budget.value),
            &sandbox.population_budget.article,
        ),
        line(
            "sandbox.usage_methods",
            "各数据级别允许的使用方式",
            "Usage methods allowed per grade",
            usage(&sandbox.usage_methods.value),
            &sandbox.usage_methods.article,
        ),
        line(
            "sandbox.max_term_days",
            "授权最长期限",
            "Longest grant term",
            days(sandbox.max_term_days.value),
            &sandbox.max_term_days.article,
        ),
        line(
            "sandbox.query_limits",
            "单次查询默认限额",
            "Default limits of one query",
            limits(sandbox.query_limits.value),
            &sandbox.query_limits.article,
        ),
        line(
            "sandbox.dp_contribution",
            "差分隐私查询中每个隐私主体的贡献上限",
            "Contribution of one privacy unit to a DP query",
            contribution(sandbox.dp_contribution.value),
            &sandbox.dp_contribution.article,
        ),
    ]
}

fn units(n: u32) -> String {
    format!("{n} 个 / {}", plural(n, "unit"))
}

fn budget(b: PrivacyBudget) -> String {
    format!(
        "ε = {}，δ = {:e} / ε = {}, δ = {:e}",
        b.epsilon, b.delta, b.epsilon, b.delta
    )
}

fn usage(table: &BTreeMap<String, Vec<UsageMethod>>) -> String {
    let side = |chinese: bool| {
        let parts: Vec<String> = table
            .iter()
            .map(|(grade, methods)| {
                let names: Vec<&str> = methods.iter().map(|m| m.label(chinese)).collect();
                let names = if names.is_empty() {
                    if chinese {
                        "不得使用".to_owned()
                    } else {
                        "none".to_owned()
                    }
                } else {
                    names.join(if chinese { "、" } else { ", " })
                };
                if chinese {
                    format!("{grade}：{names}")
                } else {
                    format!("{grade}: {names}")
                }
            })
            .collect();
        parts.join(if chinese { "；" } else { "; " })
    };
    both(&side(true), &side(false))
}

fn limits(l: QueryLimits) -> String {
    format!(
        "内存 {} MiB，超时 {} 秒，扫描 {} 行 / memory {} MiB, timeout {} s, {} rows scanned",
        l.memory_mib,
        l.timeout_seconds,
        l.scanned_rows,
        l.memory_mib,
        l.timeout_seconds,
        l.scanned_rows
    )
}

fn contribution(c: DpContribution) -> String {
    format!(
        "默认每个主体至多 {} 个分组、每组 {} 行，查询可选至多 {} 个分组、{} 行 / by default at most \
         {} groups and {} rows per group per unit; a query may ask for up to {} groups and {} rows",
        c.groups_per_unit,
        c.rows_per_unit,
        c.max_groups_per_unit,
        c.max_rows_per_unit,
        c.groups_per_unit,
        c.rows_per_unit,
        c.max_groups_per_unit,
        c.max_rows_per_unit
    )
}

fn line(
    key: &'static str,
    label_zh: &'static str,
    label_en: &'static str,
    value: String,
    article: &str,
) -> RuleLine {
    RuleLine {
        key,
        label_zh,
        label_en,
        value,
        article: article.to_owned(),
    }
}

fn both(zh: &str, en: &str) -> String {
    format!("{zh} / {en}")
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn yes_no(b: bool) -> String {
    if b {
        both("是", "yes")
    } else {
        both("否", "no")
    }
}

fn plural(n: u32, unit: &str) -> String {
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn months(n: u32) -> String {
    if n >= 12 && n.is_multiple_of(12) {
        let years = n / 12;
        format!(
            "{n} 个月（{years} 年） / {} ({})",
            plural(n, "month"),
            plural(years, "year")
        )
    } else {
        format!("{n} 个月 / {}", plural(n, "month"))
    }
}

fn days(n: u32) -> String {
    format!("{n} 天 / {}", plural(n, "day"))
}

fn handling(h: &FieldHandling) -> String {
    format!(
        "{}，{} / {}, {}",
        h.desensitization.label(true),
        h.column_control.label(true),
        h.desensitization.as_str(),
        h.column_control.as_str()
    )
}

fn grades(scale: &[Grade]) -> String {
    let zh: Vec<String> = scale
        .iter()
        .map(|g| {
            let standing = match (g.authorizable, g.authority_review) {
                (false, _) => "不得授权",
                (true, true) => "经主管部门审核后可授权",
                (true, false) => "可授权",
            };
            format!(
                "{} {}（{}，{}，{}）",
                g.code,
                g.zh,
                standing,
                g.desensitization.label(true),
                g.column_control.label(true)
            )
        })
        .collect();
    let en: Vec<String> = scale
        .iter()
        .map(|g| {
            let standing = match (g.authorizable, g.authority_review) {
                (false, _) => "never authorizable",
                (true, true) => "authorizable after authority review",
                (true, false) => "authorizable",
            };
            format!(
                "{} {} ({standing}, {}, {})",
                g.code, g.en, g.desensitization, g.column_control
            )
        })
        .collect();
    both(&zh.join("；"), &en.join("; "))
}

fn domains(list: &[DomainEntry]) -> String {
    let mark = |d: &DomainEntry| if d.priority { "*" } else { "" };
    let zh: Vec<String> = list
        .iter()
        .map(|d| format!("{}{}", d.zh, mark(d)))
        .collect();
    let en: Vec<String> = list
        .iter()
        .map(|d| format!("{} ({}){}", d.en, d.code, mark(d)))
        .collect();
    format!(
        "{}（*为优先领域） / {} (* priority)",
        zh.join("、"),
        en.join(", ")
    )
}

fn roles(list: &[Role]) -> String {
    let zh: Vec<&str> = list.iter().map(|r| r.label(true)).collect();
    let en: Vec<&str> = list.iter().map(|r| r.label(false)).collect();
    both(&zh.join("、"), &en.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_both_languages() {
        assert_eq!(months(6), "6 个月 / 6 months");
        assert_eq!(months(24), "24 个月（2 年） / 24 months (2 years)");
        assert_eq!(months(1), "1 个月 / 1 month");
        assert_eq!(days(90), "90 天 / 90 days");
        assert_eq!(
            roles(&[Role::Admin, Role::Supervisor]),
            "平台管理员、监管人员 / Platform administrator, Supervisor / auditor"
        );
    }
}
