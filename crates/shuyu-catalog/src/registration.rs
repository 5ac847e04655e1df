//! The registration record of a resource for the national public data resource registration platform
//! (NAT-1, 发改数据规〔2025〕26号) and the package sent there.
//!
//! States: `Draft → Submitted → UnderReview → PublicNotice → Registered{result_code}`, then
//! `Changed` for each change registration, and `Cancelled` at the end. The review or the public
//! notice can return a record to `Draft` with reasons. Cancelled is final.
//!
//! Must never: register without a result code, or accept a move not listed in `handle`.

use serde::{Deserialize, Serialize};
use serde_json::json;
use shuyu_core::{PersonId, ResourceId, ResourceVersionId, Timestamp};
use shuyu_profile::Profile;

use crate::error::CatalogError;
use crate::resource::{Resource, ResourceVersion};

/// The 登记结果查询码 issued by the national platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct ResultCode(String);

impl ResultCode {
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let text = text.trim();
        if (1..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            Ok(Self(text.to_owned()))
        } else {
            Err(CatalogError::InvalidResultCode(
                text.chars().take(80).collect(),
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<ResultCode> for String {
    fn from(value: ResultCode) -> Self {
        value.0
    }
}

/// The person who handles the registration for the provider (经办人).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub person: PersonId,
    pub name: String,
    pub phone: String,
}

/// A document attached to the registration, by reference (the file lives in storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    /// Where the file is, e.g. an object key, and its SM3 digest if known.
    pub reference: String,
}

/// What the record says, besides the resource's own metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationDetails {
    pub agent: Agent,
    /// 存储位置, e.g. `市政务云 / 授权运营域`.
    pub storage_location: String,
    /// 存储方式, e.g. `SM4 加密的 Parquet 文件`.
    pub storage_method: String,
    pub documents: Vec<Document>,
    /// 承诺书.
    pub commitment_letter: Document,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RegistrationState {
    Draft,
    Submitted,
    UnderReview,
    PublicNotice {
        until: Timestamp,
    },
    Registered {
        result_code: ResultCode,
    },
    /// Registered, with at least one change registration since.
    Changed {
        result_code: ResultCode,
        changes: u32,
    },
    Cancelled {
        reason: String,
    },
}

impl RegistrationState {
    pub const fn name(&self) -> &'static str {
        match self {
            RegistrationState::Draft => "draft",
            RegistrationState::Submitted => "submitted",
            RegistrationState::UnderReview => "under_review",
            RegistrationState::PublicNotice { .. } => "public_notice",
            RegistrationState::Registered { .. } => "registered",
            RegistrationState::Changed { .. } => "changed",
            RegistrationState::Cancelled { .. } => "cancelled",
        }
    }

    pub const fn label_zh(&self) -> &'static str {
        match self {
            RegistrationState::Draft => "草稿",
            RegistrationState::Submitted => "已提交",
            RegistrationState::UnderReview => "审核中",
            RegistrationState::PublicNotice { .. } => "公示中",
            RegistrationState::Registered { .. } => "已登记",
            RegistrationState::Changed { .. } => "已变更",
            RegistrationState::Cancelled { .. } => "已注销",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationCommand {
    /// Corrects the details while the record is a draft.
    UpdateDetails(RegistrationDetails),
    Submit,
    StartReview,
    /// Back to the provider to correct, from review or public notice.
    Return {
        reasons: Vec<String>,
    },
    PublishNotice {
        until: Timestamp,
    },
    Register {
        result_code: ResultCode,
    },
    /// A change registration (变更登记), e.g. for a new approved version.
    RecordChange {
        version: ResourceVersionId,
        summary: String,
    },
    Cancel {
        reason: String,
    },
}

impl RegistrationCommand {
    pub const fn name(&self) -> &'static str {
        match self {
            RegistrationCommand::UpdateDetails(_) => "update_details",
            RegistrationCommand::Submit => "submit",
            RegistrationCommand::StartReview => "start_review",
            RegistrationCommand::Return { .. } => "return",
            RegistrationCommand::PublishNotice { .. } => "publish_notice",
            RegistrationCommand::Register { .. } => "register",
            RegistrationCommand::RecordChange { .. } => "record_change",
            RegistrationCommand::Cancel { .. } => "cancel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RegistrationEvent {
    DetailsUpdated {
        details: RegistrationDetails,
        at: Timestamp,
    },
    Submitted {
        at: Timestamp,
    },
    ReviewStarted {
        at: Timestamp,
    },
    Returned {
        reasons: Vec<String>,
        at: Timestamp,
    },
    NoticePublished {
        until: Timestamp,
        at: Timestamp,
    },
    Registered {
        result_code: ResultCode,
        at: Timestamp,
    },
    ChangeRecorded {
        version: ResourceVersionId,
        summary: String,
        at: Timestamp,
    },
    Cancelled {
        reason: String,
        at: Timestamp,
    },
}

/// The registration record of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationRecord {
    resource: ResourceId,
    /// The version the record currently describes.
    version: ResourceVersionId,
    details: RegistrationDetails,
    state: RegistrationState,
}

impl RegistrationRecord {
    /// A new record in `Draft`.
    pub fn draft(
        resource: ResourceId,
        version: ResourceVersionId,
        details: RegistrationDetails,
    ) -> RegistrationRecord {
        RegistrationRecord {
            resource,
            version,
            details,
            state: RegistrationState::Draft,
        }
    }

    pub fn resource(&self) -> ResourceId {
        self.resource
    }
    pub fn version(&self) -> ResourceVersionId {
        self.version
    }
    pub fn details(&self) -> &RegistrationDetails {
        &self.details
    }
    pub fn state(&self) -> &RegistrationState {
        &self.state
    }
    /// The national result code, once issued.
    pub fn result_code(&self) -> Option<&ResultCode> {
        match &self.state {
            RegistrationState::Registered { result_code }
            | RegistrationState::Changed { result_code, .. } => Some(result_code),
            _ => None,
        }
    }

    pub fn handle(
        &self,
        cmd: RegistrationCommand,
        now: Timestamp,
        profile: &Profile,
    ) -> Result<Vec<RegistrationEvent>, CatalogError> {
        use RegistrationCommand as C;
        use RegistrationState as S;
        let command = cmd.name();
        let event = match (&self.state, cmd) {
            (S::Draft, C::UpdateDetails(details)) => {
                RegistrationEvent::DetailsUpdated { details, at: now }
            }
            (S::Draft, C::Submit) => {
                if !profile.catalog().registration_required.value {
                    return Err(CatalogError::RegistrationNotRequired);
                }
                check_details(&self.details)?;
                RegistrationEvent::Submitted { at: now }
            }
            (S::Submitted, C::StartReview) => RegistrationEvent::ReviewStarted { at: now },
            (S::UnderReview | S::PublicNotice { .. }, C::Return { reasons }) => {
                let reasons = non_empty(reasons);
                if reasons.is_empty() {
                    return Err(CatalogError::ReturnNeedsReasons);
                }
                RegistrationEvent::Returned { reasons, at: now }
            }
            (S::UnderReview, C::PublishNotice { until }) if until > now => {
                RegistrationEvent::NoticePublished { until, at: now }
            }
            (S::PublicNotice { .. }, C::Register { result_code }) => {
                RegistrationEvent::Registered {
                    result_code,
                    at: now,
                }
            }
            (S::Registered { .. } | S::Changed { .. }, C::RecordChange { version, summary }) => {
                let summary = summary.trim().to_owned();
                if summary.is_empty() {
                    return Err(CatalogError::EmptyText {
                        what: "the summary of the change",
                    });
                }
                RegistrationEvent::ChangeRecorded {
                    version,
                    summary,
                    at: now,
                }
            }
            (S::Draft | S::Registered { .. } | S::Changed { .. }, C::Cancel { reason }) => {
                let reason = reason.trim().to_owned();
                if reason.is_empty() {
                    return Err(CatalogError::EmptyText {
                        what: "the reason for cancelling the registration",
                    });
                }
                RegistrationEvent::Cancelled { reason, at: now }
            }
            (state, _) => {
                return Err(CatalogError::IllegalTransition {
                    machine: "registration record",
                    from: state.name(),
                    command,
                });
            }
        };
        Ok(vec![event])
    }

    #[must_use]
    pub fn apply(mut self, event: &RegistrationEvent) -> RegistrationRecord {
        use RegistrationEvent as E;
        use RegistrationState as S;
        self.state = match (event, self.state) {
            (E::DetailsUpdated { details, .. }, state) => {
                self.details = details.clone();
                state
            }
            (E::Submitted { .. }, _) => S::Submitted,
            (E::ReviewStarted { .. }, _) => S::UnderReview,
            (E::Returned { .. }, _) => S::Draft,
            (E::NoticePublished { until, .. }, _) => S::PublicNotice { until: *until },
            (E::Registered { result_code, .. }, _) => S::Registered {
                result_code: result_code.clone(),
            },
            (E::ChangeRecorded { version, .. }, S::Registered { result_code }) => {
                self.version = *version;
                S::Changed {
                    result_code,
                    changes: 1,
                }
            }
            (
                E::ChangeRecorded { version, .. },
                S::Changed {
                    result_code,
                    changes,
                },
            ) => {
                self.version = *version;
                S::Changed {
                    result_code,
                    changes: changes.saturating_add(1),
                }
            }
            (E::ChangeRecorded { .. }, state) => state,
            (E::Cancelled { reason, .. }, _) => S::Cancelled {
                reason: reason.clone(),
            },
        };
        self
    }
}

fn non_empty(list: Vec<String>) -> Vec<String> {
    list.into_iter()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect()
}

fn check_details(d: &RegistrationDetails) -> Result<(), CatalogError> {
    for (value, what) in [
        (&d.agent.name, "the agent's name (经办人)"),
        (&d.agent.phone, "the agent's phone number"),
        (&d.storage_location, "the storage location (存储位置)"),
        (&d.storage_method, "the storage method (存储方式)"),
        (
            &d.commitment_letter.reference,
            "the commitment letter (承诺书)",
        ),
    ] {
        if value.trim().is_empty() {
            return Err(CatalogError::EmptyText { what });
        }
    }
    Ok(())
}

/// The package for the national registration platform: a JSON document and the same content as a
/// readable Markdown document with Chinese headings.
pub fn registration_package(
    resource: &Resource,
    version: &ResourceVersion,
    record: &RegistrationRecord,
) -> (serde_json::Value, String) {
    let m = version.content().metadata();
    let d = record.details();
    let fields: Vec<serde_json::Value> = version
        .content()
        .fields()
        .iter()
        .map(|f| {
            json!({
                "name": f.name().as_str(),
                "type": f.field_type().as_str(),
                "description": f.description(),
                "grade": f.grade(),
                "flags": f.flags(),
            })
        })
        .collect();
    let value = json!({
        "resource_id": resource.id().to_string(),
        "version_id": version.id().to_string(),
        "version_number": version.number(),
        "provider_org_id": resource.provider().to_string(),
        "status": record.state().name(),
        "result_code": record.result_code().map(ResultCode::as_str),
        "basic_information": {
            "name": m.name().as_str(),
            "summary": m.summary(),
            "domain": m.domain(),
            "update_frequency": m.update_frequency().as_str(),
            "coverage": m.coverage(),
            "legal_basis": m.legal_basis(),
            "open_category": m.open_category().as_str(),
            "grade": m.grade(),
        },
        "agent": d.agent,
        "storage": { "location": d.storage_location, "method": d.storage_method },
        "documents": d.documents,
        "commitment_letter": d.commitment_letter,
        "fields": fields,
    });

    let mut md = String::new();
    let mut line = |s: String| {
        md.push_str(&s);
        md.push('\n');
    };
    line(format!("# 公共数据资源登记：{}", m.name()));
    line(String::new());
    line(format!(
        "登记状态：{}　登记结果查询码：{}",
        record.state().label_zh(),
        record
            .result_code()
            .map_or("（尚未取得）", ResultCode::as_str)
    ));
    line(String::new());
    line("## 基本信息".into());
    line(String::new());
    for (k, v) in [
        ("资源标识", resource.id().to_string()),
        (
            "版本",
            format!("第 {} 版（{}）", version.number(), version.id()),
        ),
        ("提供单位", resource.provider().to_string()),
        ("数据摘要", m.summary().to_owned()),
        ("所属领域", m.domain().to_owned()),
        ("更新频率", m.update_frequency().label_zh().to_owned()),
        ("时空范围", m.coverage().describe()),
        ("法律依据", m.legal_basis().to_owned()),
        ("开放类型", m.open_category().label_zh().to_owned()),
        ("数据分级", m.grade().to_owned()),
    ] {
        line(format!("- {k}：{}", one_line(&v)));
    }
    line(String::new());
    line("## 经办人".into());
    line(String::new());
    line(format!("- 姓名：{}", one_line(&d.agent.name)));
    line(format!("- 联系电话：{}", one_line(&d.agent.phone)));
    line(String::new());
    line("## 存储位置与方式".into());
    line(String::new());
    line(format!("- 存储位置：{}", one_line(&d.storage_location)));
    line(format!("- 存储方式：{}", one_line(&d.storage_method)));
    line(String::new());
    line("## 证明材料".into());
    line(String::new());
    if d.documents.is_empty() {
        line("（无）".into());
    }
    for doc in &d.documents {
        line(format!(
            "- {}：{}",
            one_line(&doc.title),
            one_line(&doc.reference)
        ));
    }
    line(String::new());
    line("## 承诺书".into());
    line(String::new());
    line(format!(
        "- {}：{}",
        one_line(&d.commitment_letter.title),
        one_line(&d.commitment_letter.reference)
    ));
    line(String::new());
    line("## 数据项".into());
    line(String::new());
    line("| 名称 | 类型 | 说明 | 分级 | 个人信息 | 直接标识符 | 准标识符 | 隐私单元 |".into());
    line("|---|---|---|---|---|---|---|---|".into());
    let yes = |b: bool| if b { "是" } else { "否" };
    for f in version.content().fields() {
        let flags = f.flags();
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            f.name(),
            f.field_type().label_zh(),
            one_line(f.description()).replace('|', "\\|"),
            f.grade(),
            yes(flags.personal_information),
            yes(flags.direct_identifier),
            yes(flags.quasi_identifier),
            yes(flags.privacy_unit),
        ));
    }
    (value, md)
}

/// Text on one Markdown line: newlines become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
