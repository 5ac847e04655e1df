//! Organisation types and the roles people hold in them (REQUIREMENTS.md, "Actors").
//!
//! A person has exactly one role, and the role must fit the type of the person's organisation:
//! a merchant's analyst cannot be given the authority's role. Platform administrators belong to the
//! operator or the authority, the two organisations that run the platform.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("`{0}` is not a role; roles are: {list}", list = Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
    UnknownRole(String),
    #[error("`{0}` is not an organisation type; types are: {list}", list = OrgType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))]
    UnknownOrgType(String),
    #[error("a person in a {org_type} organisation cannot hold the {role} role (allowed: {allowed})", org_type = .0.as_str(), role = .1.as_str(), allowed = .0.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))]
    RoleDoesNotFitOrg(OrgType, Role),
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $err:ident, { $($variant:ident => $text:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// The name a person reads, in Chinese and in English.
            pub const fn label(self, chinese: bool) -> &'static str {
                match self { $($name::$variant => if chinese { $zh } else { $en }),* }
            }
        }

        impl FromStr for $name {
            type Err = RoleError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($text => Ok($name::$variant),)*
                    other => Err(RoleError::$err(other.chars().take(64).collect())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What kind of body an organisation is.
    OrgType, UnknownOrgType, {
        Authority => "authority", "公共数据主管部门", "Public data authority";
        Approver => "approver", "审批机关", "Approving government";
        ExpertPanel => "expert_panel", "专家组", "Expert panel";
        SourceDepartment => "source_department", "数源部门", "Source department";
        DataServiceAgency => "data_service_agency", "公共数据服务机构", "Data service agency";
        Operator => "operator", "运营单位", "Operator";
        Merchant => "merchant", "数据商", "Merchant";
        Consumer => "consumer", "数据产品使用单位", "Data product consumer";
        Supervisor => "supervisor", "监管部门", "Supervisor";
    }
);

string_enum!(
    /// What a person may do, decided by `shuyu-policy`.
    Role, UnknownRole, {
        Admin => "admin", "平台管理员", "Platform administrator";
        Authority => "authority", "主管部门工作人员", "Authority official";
        Approver => "approver", "审批人", "Approver";
        Expert => "expert", "专家", "Expert";
        SourceDepartment => "source_department", "数源部门人员", "Source department staff";
        DataServiceAgency => "data_service_agency", "数据服务机构人员", "Data service agency staff";
        Operator => "operator", "运营单位合规人员", "Operator compliance staff";
        Merchant => "merchant", "数据商分析人员", "Merchant analyst";
        Consumer => "consumer", "产品使用人员", "Product consumer";
        Supervisor => "supervisor", "监管人员", "Supervisor / auditor";
    }
);

impl OrgType {
    /// The roles a member of this kind of organisation may hold.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            OrgType::Authority => &[Role::Authority, Role::Admin],
            OrgType::Approver => &[Role::Approver],
            OrgType::ExpertPanel => &[Role::Expert],
            OrgType::SourceDepartment => &[Role::SourceDepartment],
            OrgType::DataServiceAgency => &[Role::DataServiceAgency],
            OrgType::Operator => &[Role::Operator, Role::Admin],
            OrgType::Merchant => &[Role::Merchant],
            OrgType::Consumer => &[Role::Consumer],
            OrgType::Supervisor => &[Role::Supervisor],
        }
    }

    pub fn check_role(self, role: Role) -> Result<(), RoleError> {
        if self.roles().contains(&role) {
            Ok(())
        } else {
            Err(RoleError::RoleDoesNotFitOrg(self, role))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_fits_at_least_one_organisation_type() {
        for role in Role::ALL {
            assert!(
                OrgType::ALL.iter().any(|t| t.roles().contains(role)),
                "{role} fits nowhere"
            );
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        let err = "king".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("supervisor") && err.contains("king"), "{err}");
    }

    #[test]
    fn a_merchant_cannot_be_made_an_authority_official() {
        let err = OrgType::Merchant
            .check_role(Role::Authority)
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowed: merchant"), "{err}");
        assert!(OrgType::Operator.check_role(Role::Admin).is_ok());
    }
}
