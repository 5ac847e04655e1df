//! Every string the console shows, in one table per language: [`ZH`] (the default) and [`EN`].
//!
//! A new string is a field of [`Texts`], so the compiler refuses a language that lacks it. Templates
//! never hold words of their own; they read `t.field`, or `fill(t.field, &[..])` for sentences with
//! slots (`{0}`, `{1}`). Role and organisation type names come from `shuyu_core` (`Role::label`), the
//! regulation's rules from the profile (`RuleLine::label_zh` / `label_en`).
//!
//! Must never: hold a rule, a number from a regulation or a city name — those are profile data.

use shuyu_core::Role;

/// The language of a page. Chinese unless the visitor chose English (the `shuyu_lang` cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Parses the cookie / form value; anything unknown is `None`.
    pub fn parse(value: &str) -> Option<Lang> {
        match value.trim() {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of `<html lang>`.
    pub const fn html_tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// For the `label(chinese)` / `describe(chinese)` functions of the domain crates.
    pub const fn chinese(self) -> bool {
        matches!(self, Lang::Zh)
    }

    /// The language the switch in the header offers.
    pub const fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub const fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

/// Replaces `{0}`, `{1}`, … in a template with `args`. Values are escaped later by maud.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = template.to_owned();
    for (i, arg) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), arg);
    }
    out
}

/// The strings of one language.
#[derive(Debug)]
pub struct Texts {
    // ---- frame
    pub platform: &'static str,
    pub tagline: &'static str,
    pub nav_home: &'static str,
    pub nav_me: &'static str,
    pub nav_personnel: &'static str,
    pub nav_audit: &'static str,
    pub nav_profile: &'static str,
    pub sign_out: &'static str,
    /// The name of the *other* language, on the switch button, in that language.
    pub switch_to: &'static str,
    pub switch_label: &'static str,
    pub request_id: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub none: &'static str,
    pub back_home: &'static str,
    /// `{0}`: regulation name, `{1}`: last valid day.
    pub banner_profile_expired: &'static str,
    /// `{0}`: regulation name, `{1}`: first day in force.
    pub banner_profile_not_yet: &'static str,
    /// `{0}`: what is missing.
    pub banner_clearance: &'static str,
    pub banner_clearance_link: &'static str,
    pub missing_real_name: &'static str,
    pub missing_agreement: &'static str,
    pub list_separator: &'static str,
    /// Between items of a short enumeration (role names).
    pub enumeration_separator: &'static str,

    // ---- sign-in
    pub login_title: &'static str,
    pub login_intro: &'static str,
    pub login_username: &'static str,
    pub login_password: &'static str,
    pub login_code: &'static str,
    /// `{0}`: the roles that need a code, from the profile.
    pub login_code_hint: &'static str,
    pub login_submit: &'static str,
    pub login_or: &'static str,
    pub login_sso: &'static str,
    pub login_sso_unavailable: &'static str,
    pub login_failed: &'static str,
    pub login_second_factor: &'static str,
    /// `{0}`: the time the lock ends.
    pub login_locked: &'static str,
    pub login_disabled: &'static str,
    pub login_form_expired: &'static str,

    // ---- single sign-on (unified identity)
    pub sso_failed_title: &'static str,
    pub sso_signed_in_title: &'static str,
    pub sso_continue: &'static str,
    pub sso_not_configured: &'static str,
    pub sso_unknown_state: &'static str,
    pub sso_expired: &'static str,
    /// `{0}`: the provider's error code (`access_denied`, ...).
    pub sso_provider_denied: &'static str,
    pub sso_provider_unavailable: &'static str,
    pub sso_invalid_response: &'static str,
    pub sso_not_linked: &'static str,
    pub sso_second_factor_missing: &'static str,
    pub sso_try_again: &'static str,

    // ---- home
    /// `{0}`: display name.
    pub greeting: &'static str,
    pub home_role_line: &'static str,
    pub home_duties: &'static str,
    pub home_now: &'static str,
    pub card_me: &'static str,
    pub card_me_text: &'static str,
    pub card_personnel: &'static str,
    pub card_personnel_text: &'static str,
    pub card_audit: &'static str,
    pub card_audit_text: &'static str,
    pub card_verify: &'static str,
    pub card_verify_text: &'static str,
    pub card_tokens: &'static str,
    pub card_tokens_text: &'static str,
    pub card_profile: &'static str,
    pub card_profile_text: &'static str,
    pub duty_admin: &'static str,
    pub duty_authority: &'static str,
    pub duty_approver: &'static str,
    pub duty_expert: &'static str,
    pub duty_source_department: &'static str,
    pub duty_data_service_agency: &'static str,
    pub duty_operator: &'static str,
    pub duty_merchant: &'static str,
    pub duty_consumer: &'static str,
    pub duty_supervisor: &'static str,

    // ---- personnel record (shared by /me and /personnel/{id})
    pub record: &'static str,
    pub username: &'static str,
    pub display_name: &'static str,
    pub role: &'static str,
    pub organisation: &'static str,
    pub real_name: &'static str,
    /// `{0}`: when.
    pub verified_at: &'static str,
    pub not_verified: &'static str,
    pub agreement: &'static str,
    /// `{0}`: accepted version, `{1}`: when.
    pub agreement_accepted: &'static str,
    pub agreement_none: &'static str,
    /// `{0}`: current version.
    pub agreement_current: &'static str,
    pub training: &'static str,
    pub training_due: &'static str,
    pub training_ok: &'static str,
    pub training_topic: &'static str,
    pub training_date: &'static str,
    pub training_recorded_at: &'static str,
    pub training_none: &'static str,
    pub account_status: &'static str,
    pub status_active: &'static str,
    pub status_disabled: &'static str,
    /// `{0}`: when the lock ends.
    pub status_locked: &'static str,
    pub second_factor: &'static str,
    pub enrolled: &'static str,
    pub not_enrolled: &'static str,

    // ---- my account
    pub me_title: &'static str,
    pub agreement_title: &'static str,
    /// `{0}`: version.
    pub agreement_text: &'static str,
    /// `{0}`: version.
    pub agreement_accept: &'static str,
    pub agreement_done_already: &'static str,
    pub password_title: &'static str,
    pub password_old: &'static str,
    pub password_new: &'static str,
    pub password_confirm: &'static str,
    pub password_hint: &'static str,
    pub password_submit: &'static str,
    pub password_mismatch: &'static str,
    pub tokens_title: &'static str,
    pub tokens_intro: &'static str,
    pub token_name: &'static str,
    pub token_days: &'static str,
    pub token_days_invalid: &'static str,
    pub token_create: &'static str,
    pub token_hint: &'static str,
    pub token_created: &'static str,
    pub token_expires: &'static str,
    pub token_state: &'static str,
    pub token_live: &'static str,
    pub token_revoked: &'static str,
    pub token_expired: &'static str,
    pub token_revoke: &'static str,
    pub tokens_none: &'static str,
    pub token_secret_once: &'static str,

    // ---- personnel
    pub personnel_title: &'static str,
    pub personnel_intro: &'static str,
    pub personnel_none: &'static str,
    pub person_title: &'static str,
    pub person_actions: &'static str,
    pub person_verify: &'static str,
    pub person_verify_text: &'static str,
    pub person_add_training: &'static str,
    pub person_disable: &'static str,
    pub person_enable: &'static str,
    pub person_disable_text: &'static str,
    pub person_enable_text: &'static str,

    // ---- audit
    pub audit_title: &'static str,
    pub audit_intro: &'static str,
    pub audit_actor: &'static str,
    pub audit_org: &'static str,
    pub audit_action: &'static str,
    pub audit_action_hint: &'static str,
    pub audit_object_type: &'static str,
    pub audit_object_id: &'static str,
    pub audit_outcome: &'static str,
    pub audit_outcome_any: &'static str,
    pub outcome_ok: &'static str,
    pub outcome_denied: &'static str,
    pub outcome_failed: &'static str,
    pub audit_from: &'static str,
    pub audit_to: &'static str,
    pub audit_date_hint: &'static str,
    pub audit_search: &'static str,
    pub audit_reset: &'static str,
    pub audit_seq: &'static str,
    pub audit_time: &'static str,
    pub audit_object: &'static str,
    pub audit_detail: &'static str,
    pub audit_hash: &'static str,
    pub audit_none: &'static str,
    pub audit_next: &'static str,
    pub audit_first: &'static str,
    pub audit_export: &'static str,
    pub audit_export_csv: &'static str,
    pub audit_export_jsonl: &'static str,
    pub audit_results: &'static str,
    pub audit_system: &'static str,
    pub audit_anonymous: &'static str,
    /// The actor column of the results (the filter is `audit_actor`).
    pub audit_actor_column: &'static str,
    pub verify_title: &'static str,
    pub verify_text: &'static str,
    pub verify_run: &'static str,
    /// `{0}`: events, `{1}`: checkpoints, `{2}`: last checkpoint seq, `{3}`: unsigned tail.
    pub verify_intact: &'static str,
    /// `{0}`: the break, `{1}`: its seq.
    pub verify_broken: &'static str,

    // ---- profile
    pub profile_title: &'static str,
    pub profile_key: &'static str,
    pub profile_name: &'static str,
    pub profile_status: &'static str,
    pub profile_validity: &'static str,
    pub profile_rules: &'static str,
    pub rule_label: &'static str,
    pub rule_value: &'static str,
    pub rule_article: &'static str,

    // ---- outcomes of forms
    pub done_agreement: &'static str,
    pub done_password: &'static str,
    pub done_token_revoked: &'static str,
    pub done_verified: &'static str,
    pub done_training: &'static str,
    pub done_disabled: &'static str,
    pub done_enabled: &'static str,

    // ---- errors
    pub error_title: &'static str,
    pub forbidden_title: &'static str,
    pub not_cleared_hint: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub invalid_title: &'static str,
    pub conflict_title: &'static str,
    pub internal_title: &'static str,
    pub internal_text: &'static str,
    pub bad_form: &'static str,
    pub too_large: &'static str,
    pub csrf_title: &'static str,
    pub csrf_text: &'static str,
    /// `{0}`: the field to fix.
    pub field_prefix: &'static str,
}

impl Texts {
    /// A role's responsibilities in a sentence or two (REQUIREMENTS.md, Actors).
    pub const fn duties(&self, role: Role) -> &'static str {
        match role {
            Role::Admin => self.duty_admin,
            Role::Authority => self.duty_authority,
            Role::Approver => self.duty_approver,
            Role::Expert => self.duty_expert,
            Role::SourceDepartment => self.duty_source_department,
            Role::DataServiceAgency => self.duty_data_service_agency,
            Role::Operator => self.duty_operator,
            Role::Merchant => self.duty_merchant,
            Role::Consumer => self.duty_consumer,
            Role::Supervisor => self.duty_supervisor,
        }
    }
}

pub const ZH: Texts = Texts {
    platform: "数域 shuyu",
    tagline: "公共数据授权运营平台",
    nav_home: "首页",
    nav_me: "我的账户",
    nav_personnel: "人员",
    nav_audit: "审计",
    nav_profile: "规章配置",
    sign_out: "退出登录",
    switch_to: "English",
    switch_label: "切换语言",
    request_id: "请求编号",
    yes: "是",
    no: "否",
    none: "无",
    back_home: "返回首页",
    banner_profile_expired: "本部署采用的规章《{0}》已过有效期（最后有效日 {1}）。请主管部门尽快更换为现行规章配置。",
    banner_profile_not_yet: "本部署采用的规章《{0}》尚未施行（自 {1} 起施行）。",
    banner_clearance: "您的人员资质尚不完整：{0}。在补齐之前，涉及数据的功能不可用。",
    banner_clearance_link: "前往我的账户",
    missing_real_name: "尚未完成实名认证",
    missing_agreement: "尚未签署现行保密协议",
    list_separator: "；",
    enumeration_separator: "、",

    login_title: "登录",
    login_intro: "请使用平台账户登录。每一次登录尝试都会记入审计链。",
    login_username: "用户名",
    login_password: "密码",
    login_code: "动态验证码（6 位）",
    login_code_hint: "以下角色必须填写：{0}",
    login_submit: "登录",
    login_or: "或",
    login_sso: "统一身份认证登录",
    login_sso_unavailable: "本部署尚未配置统一身份认证，请使用平台账户登录。",
    login_failed: "用户名、密码或动态验证码错误。连续失败将锁定账户。",
    login_second_factor: "此账户须输入 6 位动态验证码，请查看您的身份验证器应用。",
    login_locked: "连续登录失败，账户已锁定至 {0}。请稍后再试或联系平台管理员。",
    login_disabled: "此账户已停用，请联系平台管理员。",
    login_form_expired: "登录表单已过期，请重新输入并提交。",

    sso_failed_title: "统一身份认证登录未成功",
    sso_signed_in_title: "已登录",
    sso_continue: "继续",
    sso_not_configured: "本部署尚未配置统一身份认证，请使用平台账户登录。",
    sso_unknown_state: "此次登录无效、已使用过，或是在另一个浏览器中发起的。请重新发起统一身份认证登录。",
    sso_expired: "登录用时超过 10 分钟，请重新发起。",
    sso_provider_denied: "统一身份认证系统未完成登录（{0}）。请重新发起，或使用平台账户登录。",
    sso_provider_unavailable: "暂时无法连接统一身份认证系统。请稍后再试，或使用平台账户登录。",
    sso_invalid_response: "统一身份认证系统的应答未通过校验，请重新发起。",
    sso_not_linked: "此统一身份尚未关联数域平台账户，请联系平台管理员为您关联。",
    sso_second_factor_missing: "您的角色须经第二因素认证，而本次统一身份认证未确认第二因素。请改用平台账户密码和动态验证码登录。",
    sso_try_again: "重新发起统一身份认证登录",

    greeting: "{0}，您好",
    home_role_line: "您的角色：",
    home_duties: "职责",
    home_now: "现在可以",
    card_me: "我的账户",
    card_me_text: "查看人员档案与培训记录，签署保密协议，修改密码。",
    card_personnel: "人员",
    card_personnel_text: "查看您可见的人员及其实名认证、保密协议和账户状态。",
    card_audit: "审计检索",
    card_audit_text: "检索、导出审计记录，核验审计链完整性。",
    card_verify: "审计链核验",
    card_verify_text: "重新计算 SM3 哈希链并核验 SM2 签名检查点。",
    card_tokens: "API 令牌",
    card_tokens_text: "为机器客户端创建或吊销 API 令牌。",
    card_profile: "规章配置",
    card_profile_text: "查看本部署采用的规章及每条规则所依据的条款。",
    duty_admin: "管理平台账户与组织，保障平台运行；可核验审计链完整性。",
    duty_authority: "编目公共数据，授权运营单位，审核数据使用申请与数据产品，并对授权运营实施监督。",
    duty_approver: "对运营单位授权的授予、终止和撤销作出最终决定。",
    duty_expert: "对运营单位申请、应用场景和数据产品进行评审打分。",
    duty_source_department: "登记数据资源、供给数据、审核数据使用申请，并整改数据质量问题。",
    duty_data_service_agency: "在数据供给前对数据进行汇聚、治理和脱敏。",
    duty_operator: "运营平台，引入数据商，开展合规审查并审核数据出域。",
    duty_merchant: "按场景申请数据，在安全域内开发数据产品。",
    duty_consumer: "在获批场景内使用数据产品（下载或调用接口）。",
    duty_supervisor: "只读监督，开展安全检查，检索和导出审计记录。",

    record: "人员档案",
    username: "用户名",
    display_name: "姓名",
    role: "角色",
    organisation: "所属单位",
    real_name: "实名认证",
    verified_at: "已认证（{0}）",
    not_verified: "未认证",
    agreement: "保密协议",
    agreement_accepted: "已签署 {0} 版（{1}）",
    agreement_none: "未签署",
    agreement_current: "现行版本：{0}",
    training: "安全培训",
    training_due: "培训已到期，请尽快参加安全培训",
    training_ok: "培训在有效期内",
    training_topic: "培训主题",
    training_date: "完成日期",
    training_recorded_at: "登记时间",
    training_none: "暂无培训记录",
    account_status: "账户状态",
    status_active: "正常",
    status_disabled: "已停用",
    status_locked: "锁定至 {0}",
    second_factor: "动态验证码",
    enrolled: "已绑定",
    not_enrolled: "未绑定",

    me_title: "我的账户",
    agreement_title: "签署保密协议",
    agreement_text: "现行保密协议为 {0} 版。签署即承诺：对工作中接触的公共数据及其衍生信息严格保密，仅在获批场景内使用，不以任何方式使原始数据出域。",
    agreement_accept: "签署 {0} 版保密协议",
    agreement_done_already: "您已签署现行版本的保密协议。",
    password_title: "修改密码",
    password_old: "当前密码",
    password_new: "新密码",
    password_confirm: "再次输入新密码",
    password_hint: "修改后，您在其他设备上的登录会话将全部结束。",
    password_submit: "修改密码",
    password_mismatch: "两次输入的新密码不一致。",
    tokens_title: "API 令牌",
    tokens_intro: "令牌代表您本人、您的单位和角色，供机器客户端调用接口使用；令牌只在创建时显示一次。",
    token_name: "名称",
    token_days: "有效天数",
    token_days_invalid: "有效天数须为正整数。",
    token_create: "创建令牌",
    token_hint: "前缀",
    token_created: "创建时间",
    token_expires: "到期时间",
    token_state: "状态",
    token_live: "有效",
    token_revoked: "已吊销",
    token_expired: "已过期",
    token_revoke: "吊销",
    tokens_none: "暂无令牌",
    token_secret_once: "令牌已创建。请立即复制保存，此后不会再次显示：",

    personnel_title: "人员",
    personnel_intro: "您可见的人员。每个接触数据的人员都须完成实名认证并签署保密协议（PART-3）。",
    personnel_none: "没有可见的人员。",
    person_title: "人员档案",
    person_actions: "办理",
    person_verify: "确认实名认证",
    person_verify_text: "已核对此人的身份证件，确认其真实身份。",
    person_add_training: "登记培训",
    person_disable: "停用账户",
    person_enable: "启用 / 解锁账户",
    person_disable_text: "停用后此人的所有会话立即结束。",
    person_enable_text: "启用账户并解除登录锁定。",

    audit_title: "审计检索",
    audit_intro: "审计链记录平台上的每一次操作（谁、何时、对何对象、做了什么、结果如何）。检索本身也会记入审计链。",
    audit_actor: "操作人 ID",
    audit_org: "单位 ID",
    audit_action: "操作",
    audit_action_hint: "如 person.verify，或前缀 person.*",
    audit_object_type: "对象类型",
    audit_object_id: "对象 ID",
    audit_outcome: "结果",
    audit_outcome_any: "全部",
    outcome_ok: "成功",
    outcome_denied: "拒绝",
    outcome_failed: "失败",
    audit_from: "起始",
    audit_to: "截止",
    audit_date_hint: "日期（2026-11-24）或 RFC 3339 时间",
    audit_search: "检索",
    audit_reset: "清空条件",
    audit_seq: "序号",
    audit_time: "时间（UTC+8）",
    audit_object: "对象",
    audit_detail: "说明",
    audit_hash: "哈希",
    audit_none: "没有符合条件的记录。",
    audit_next: "更早的记录 →",
    audit_first: "← 最新记录",
    audit_export: "导出全部结果",
    audit_export_csv: "CSV",
    audit_export_jsonl: "JSON Lines",
    audit_results: "检索结果",
    audit_system: "系统",
    audit_anonymous: "匿名访问者",
    audit_actor_column: "操作人",
    verify_title: "审计链完整性",
    verify_text: "重新计算整条 SM3 哈希链，并核验 SM2 签名检查点。只显示完整性结论，不显示记录内容。",
    verify_run: "立即核验",
    verify_intact: "审计链完整：共 {0} 条记录，{1} 个签名检查点（最后一个位于第 {2} 条），其后 {3} 条尚未被检查点覆盖。",
    verify_broken: "审计链已被破坏：{0}（自第 {1} 条起）。请立即报告安全事件。",

    profile_title: "规章配置",
    profile_key: "配置名称",
    profile_name: "规章",
    profile_status: "文本状态",
    profile_validity: "有效性",
    profile_rules: "规则",
    rule_label: "规则",
    rule_value: "取值",
    rule_article: "依据条款",

    done_agreement: "已签署现行保密协议。",
    done_password: "密码已修改，其他会话已结束。",
    done_token_revoked: "令牌已吊销。",
    done_verified: "已记录实名认证。",
    done_training: "已登记培训记录。",
    done_disabled: "账户已停用。",
    done_enabled: "账户已启用。",

    error_title: "出错了",
    forbidden_title: "无权办理",
    not_cleared_hint: "请先在“我的账户”中补齐人员资质。",
    not_found_title: "未找到",
    not_found_text: "该记录不存在，或您无权查看。",
    invalid_title: "输入有误",
    conflict_title: "无法办理",
    internal_title: "服务器内部错误",
    internal_text: "服务器处理请求时出错。请将下方请求编号告知平台管理员。",
    bad_form: "表单内容无法识别，请返回页面重新提交。",
    too_large: "提交的内容过大。",
    csrf_title: "请求已拒绝",
    csrf_text: "表单缺少或带有错误的安全令牌（CSRF），请求未被处理，此次拒绝已记入审计链。请重新打开页面后再提交。",
    field_prefix: "字段 {0}：",
};

pub const EN: Texts = Texts {
    platform: "数域 shuyu",
    tagline: "Public data authorized operation platform",
    nav_home: "Home",
    nav_me: "My account",
    nav_personnel: "Personnel",
    nav_audit: "Audit",
    nav_profile: "Regulation profile",
    sign_out: "Sign out",
    switch_to: "中文",
    switch_label: "Switch language",
    request_id: "Request id",
    yes: "yes",
    no: "no",
    none: "none",
    back_home: "Back to the home page",
    banner_profile_expired: "The regulation profile of this deployment ({0}) expired on {1} (its last valid day). The authority should switch to the regulation in force.",
    banner_profile_not_yet: "The regulation profile of this deployment ({0}) is not in force yet (from {1}).",
    banner_clearance: "Your personnel clearance is incomplete: {0}. Functions that touch data stay closed until it is complete.",
    banner_clearance_link: "Go to my account",
    missing_real_name: "your real name is not verified yet",
    missing_agreement: "you have not accepted the current confidentiality agreement",
    list_separator: "; ",
    enumeration_separator: ", ",

    login_title: "Sign in",
    login_intro: "Sign in with your platform account. Every attempt is written to the audit chain.",
    login_username: "Username",
    login_password: "Password",
    login_code: "Authenticator code (6 digits)",
    login_code_hint: "Required for: {0}",
    login_submit: "Sign in",
    login_or: "or",
    login_sso: "Sign in with unified identity (SSO)",
    login_sso_unavailable: "Unified identity sign-in is not configured for this deployment; use your platform account.",
    login_failed: "The username, password or authenticator code is wrong. Repeated failures lock the account.",
    login_second_factor: "This account needs the 6-digit code from its authenticator app.",
    login_locked: "Too many failed sign-ins: the account is locked until {0}. Try again later or ask a platform administrator.",
    login_disabled: "This account is disabled; ask a platform administrator.",
    login_form_expired: "The sign-in form expired; enter your details and submit again.",

    sso_failed_title: "Unified identity sign-in did not succeed",
    sso_signed_in_title: "Signed in",
    sso_continue: "Continue",
    sso_not_configured: "Unified identity sign-in is not configured for this deployment; use your platform account.",
    sso_unknown_state: "This sign-in is unknown, was already used, or was started in another browser. Start the unified identity sign-in again.",
    sso_expired: "The sign-in took longer than 10 minutes; start again.",
    sso_provider_denied: "The unified identity system did not sign you in ({0}). Start again, or sign in with your platform account.",
    sso_provider_unavailable: "The unified identity system cannot be reached now. Try again later, or sign in with your platform account.",
    sso_invalid_response: "The unified identity system's answer could not be verified; start again.",
    sso_not_linked: "This unified identity is not linked to a shuyu account; ask your administrator to link it.",
    sso_second_factor_missing: "Your role needs a second factor and the unified identity sign-in confirmed none. Sign in with your password and TOTP code instead.",
    sso_try_again: "Start the unified identity sign-in again",

    greeting: "Hello, {0}",
    home_role_line: "Your role: ",
    home_duties: "Responsibilities",
    home_now: "What you can do now",
    card_me: "My account",
    card_me_text: "Your personnel record and training, the confidentiality agreement, your password.",
    card_personnel: "Personnel",
    card_personnel_text: "People visible to you, with real-name verification, agreement and account status.",
    card_audit: "Audit search",
    card_audit_text: "Search and export the audit trail; verify the integrity of the chain.",
    card_verify: "Audit chain integrity",
    card_verify_text: "Recompute the SM3 hash chain and check the SM2-signed checkpoints.",
    card_tokens: "API tokens",
    card_tokens_text: "Create or revoke API tokens for machine clients.",
    card_profile: "Regulation profile",
    card_profile_text: "The regulation this deployment follows, every rule with its article.",
    duty_admin: "Manages accounts and organisations and keeps the platform running; may verify the audit chain.",
    duty_authority: "Catalogues public data, authorizes operators, reviews applications and data products, and supervises authorized operation.",
    duty_approver: "Takes the final decision on granting, terminating and revoking an operator's authorization.",
    duty_expert: "Scores operator applications, scenarios and data products.",
    duty_source_department: "Registers resources, supplies data, reviews use applications and fixes data quality issues.",
    duty_data_service_agency: "Aggregates, governs and desensitizes data before it is supplied.",
    duty_operator: "Runs the platform, onboards merchants, checks compliance and reviews exports.",
    duty_merchant: "Applies for data per scenario and develops data products inside the secure domain.",
    duty_consumer: "Uses a data product (download or API) within its approved scenario.",
    duty_supervisor: "Read-only oversight, security inspections, audit search and export.",

    record: "Personnel record",
    username: "Username",
    display_name: "Name",
    role: "Role",
    organisation: "Organisation",
    real_name: "Real-name verification",
    verified_at: "verified ({0})",
    not_verified: "not verified",
    agreement: "Confidentiality agreement",
    agreement_accepted: "version {0} accepted ({1})",
    agreement_none: "not accepted",
    agreement_current: "current version: {0}",
    training: "Security training",
    training_due: "training is due: attend a security training soon",
    training_ok: "training is current",
    training_topic: "Topic",
    training_date: "Completed on",
    training_recorded_at: "Recorded at",
    training_none: "No training recorded",
    account_status: "Account",
    status_active: "active",
    status_disabled: "disabled",
    status_locked: "locked until {0}",
    second_factor: "Authenticator",
    enrolled: "enrolled",
    not_enrolled: "not enrolled",

    me_title: "My account",
    agreement_title: "Confidentiality agreement",
    agreement_text: "The current confidentiality agreement is version {0}. By accepting it you undertake to keep the public data you work with, and anything derived from it, confidential, to use it only within approved scenarios, and never to take raw data out of the domain.",
    agreement_accept: "Accept version {0}",
    agreement_done_already: "You have accepted the current version of the agreement.",
    password_title: "Change password",
    password_old: "Current password",
    password_new: "New password",
    password_confirm: "New password again",
    password_hint: "Your sessions on other devices end when the password changes.",
    password_submit: "Change password",
    password_mismatch: "The two new passwords differ.",
    tokens_title: "API tokens",
    tokens_intro: "A token acts as you, in your organisation and role, for machine clients of the API. Its secret is shown once, when it is created.",
    token_name: "Name",
    token_days: "Valid for (days)",
    token_days_invalid: "The number of days must be a whole number above zero.",
    token_create: "Create token",
    token_hint: "Prefix",
    token_created: "Created",
    token_expires: "Expires",
    token_state: "State",
    token_live: "live",
    token_revoked: "revoked",
    token_expired: "expired",
    token_revoke: "Revoke",
    tokens_none: "No tokens",
    token_secret_once: "Token created. Copy it now; it will not be shown again:",

    personnel_title: "Personnel",
    personnel_intro: "People visible to you. Everyone who touches data must be real-name verified and have accepted the confidentiality agreement (PART-3).",
    personnel_none: "No people are visible to you.",
    person_title: "Personnel record",
    person_actions: "Actions",
    person_verify: "Record real-name verification",
    person_verify_text: "I have checked this person's identity document and confirm their real name.",
    person_add_training: "Record training",
    person_disable: "Disable account",
    person_enable: "Enable / unlock account",
    person_disable_text: "Disabling ends all of this person's sessions at once.",
    person_enable_text: "Enables the account and lifts a sign-in lockout.",

    audit_title: "Audit search",
    audit_intro: "The audit chain records every operation on the platform: who, when, on what, what, with which result. Searching is itself recorded.",
    audit_actor: "Actor id",
    audit_org: "Organisation id",
    audit_action: "Action",
    audit_action_hint: "e.g. person.verify, or a prefix person.*",
    audit_object_type: "Object type",
    audit_object_id: "Object id",
    audit_outcome: "Outcome",
    audit_outcome_any: "any",
    outcome_ok: "ok",
    outcome_denied: "denied",
    outcome_failed: "failed",
    audit_from: "From",
    audit_to: "Until",
    audit_date_hint: "a date (2026-11-24) or an RFC 3339 time",
    audit_search: "Search",
    audit_reset: "Clear",
    audit_seq: "Seq",
    audit_time: "Time (UTC+8)",
    audit_object: "Object",
    audit_detail: "Detail",
    audit_hash: "Hash",
    audit_none: "No events match.",
    audit_next: "Older events →",
    audit_first: "← Newest events",
    audit_export: "Export all matching events",
    audit_export_csv: "CSV",
    audit_export_jsonl: "JSON Lines",
    audit_results: "Results",
    audit_system: "system",
    audit_anonymous: "anonymous visitor",
    audit_actor_column: "Actor",
    verify_title: "Audit chain integrity",
    verify_text: "Recomputes the whole SM3 hash chain and checks the SM2-signed checkpoints. Shows the verdict only, no event content.",
    verify_run: "Verify now",
    verify_intact: "The chain is intact: {0} events, {1} signed checkpoints (the last at event {2}); {3} events after it are not covered by a checkpoint yet.",
    verify_broken: "The chain is broken: {0} (from event {1} on). Report a security incident now.",

    profile_title: "Regulation profile",
    profile_key: "Profile",
    profile_name: "Regulation",
    profile_status: "Status of the text",
    profile_validity: "Validity",
    profile_rules: "Rules",
    rule_label: "Rule",
    rule_value: "Value",
    rule_article: "Article",

    done_agreement: "You accepted the current confidentiality agreement.",
    done_password: "Password changed; your other sessions have ended.",
    done_token_revoked: "Token revoked.",
    done_verified: "Real-name verification recorded.",
    done_training: "Training recorded.",
    done_disabled: "Account disabled.",
    done_enabled: "Account enabled.",

    error_title: "Something went wrong",
    forbidden_title: "Not allowed",
    not_cleared_hint: "Complete your personnel clearance on your account page first.",
    not_found_title: "Not found",
    not_found_text: "That record does not exist, or it is not visible to you.",
    invalid_title: "Please correct the input",
    conflict_title: "Cannot be done",
    internal_title: "Internal error",
    internal_text: "Something went wrong on our side. Quote the request id below to the platform's administrators.",
    bad_form: "The form could not be read; go back to the page and submit it again.",
    too_large: "The submitted form is too large.",
    csrf_title: "Request refused",
    csrf_text: "The form's security token (CSRF) is missing or wrong, so nothing was done; the refusal is on the audit chain. Reload the page and submit again.",
    field_prefix: "Field {0}: ",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_numbered_slots() {
        assert_eq!(fill("{0} until {1}", &["a", "b"]), "a until b");
    }

    #[test]
    fn every_role_has_duties_in_both_languages() {
        for role in Role::ALL {
            assert!(!ZH.duties(*role).is_empty());
            assert!(!EN.duties(*role).is_empty());
            assert_ne!(ZH.duties(*role), EN.duties(*role));
        }
    }

    #[test]
    fn unknown_language_codes_are_refused() {
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("zh"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
    }
}
