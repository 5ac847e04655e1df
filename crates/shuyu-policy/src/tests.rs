//! The policy as a table: one line per (role, action, relation to the resource) with the expected answer.

use super::*;
use shuyu_core::Timestamp;

fn profile() -> Profile {
    Profile::builtin("zhongwei").unwrap()
}

fn ids() -> (OrgId, OrgId, PersonId, PersonId) {
    let t = Timestamp::from_unix_micros(1_700_000_000_000_000);
    (
        OrgId::mint(t, [1; 10]),
        OrgId::mint(t, [2; 10]),
        PersonId::mint(t, [3; 10]),
        PersonId::mint(t, [4; 10]),
    )
}

fn actor(role: Role) -> Actor {
    let (own_org, _, me, _) = ids();
    Actor {
        person: me,
        org: own_org,
        role,
        credential: Credential::Session {
            second_factor: true,
        },
        clearance: Clearance {
            real_name_verified: true,
            agreement_current: true,
        },
    }
}

/// Where the resource sits relative to the actor.
#[derive(Clone, Copy, Debug)]
enum Rel {
    Platform,
    OwnOrg,
    OtherOrg,
    Myself,
    ColleagueInOwnOrg,
    PersonInOtherOrg,
    MyToken,
    ColleaguesToken,
    OtherOrgsToken,
    NewTokenOwnOrgOwnRole,
    NewTokenOtherRole,
    NewTokenOtherOrg,
    Audit,
}

fn resource(rel: Rel, role: Role) -> Resource {
    let (own_org, other_org, me, other) = ids();
    match rel {
        Rel::Platform => Resource::Platform,
        Rel::OwnOrg => Resource::Org { id: own_org },
        Rel::OtherOrg => Resource::Org { id: other_org },
        Rel::Myself => Resource::Person {
            id: me,
            org: own_org,
        },
        Rel::ColleagueInOwnOrg => Resource::Person {
            id: other,
            org: own_org,
        },
        Rel::PersonInOtherOrg => Resource::Person {
            id: other,
            org: other_org,
        },
        Rel::MyToken => Resource::Token {
            org: own_org,
            owner: me,
        },
        Rel::ColleaguesToken => Resource::Token {
            org: own_org,
            owner: other,
        },
        Rel::OtherOrgsToken => Resource::Token {
            org: other_org,
            owner: other,
        },
        Rel::NewTokenOwnOrgOwnRole => Resource::NewToken { org: own_org, role },
        Rel::NewTokenOtherRole => Resource::NewToken {
            org: own_org,
            role: if role == Role::Supervisor {
                Role::Merchant
            } else {
                Role::Supervisor
            },
        },
        Rel::NewTokenOtherOrg => Resource::NewToken {
            org: other_org,
            role,
        },
        Rel::Audit => Resource::AuditTrail,
    }
}

fn check(role: Role, action: Action, rel: Rel, expected: bool) {
    let got = decide(
        &Principal::Person(actor(role)),
        action,
        &resource(rel, role),
        &profile(),
    );
    assert_eq!(
        got.is_allowed(),
        expected,
        "{role} {action} {rel:?}: {got:?}"
    );
}

#[test]
fn grants_table() {
    use Action::*;
    use Rel::*;
    use Role::*;
    let everyone = Role::ALL;
    for &role in everyone {
        check(role, SelfRead, Platform, true);
        check(role, SelfManage, Platform, true);
        check(role, ProfileRead, Platform, true);
        check(role, OrgRead, OwnOrg, true);
        check(role, PersonRead, Myself, true);
        check(role, PersonRead, ColleagueInOwnOrg, true);
        check(role, TokenCreate, NewTokenOwnOrgOwnRole, true);
        check(role, TokenCreate, NewTokenOtherRole, false);
        check(role, TokenCreate, NewTokenOtherOrg, false);
        check(role, TokenRead, MyToken, true);
        check(role, TokenRevoke, MyToken, true);
        check(role, TokenRevoke, OtherOrgsToken, false);
        check(role, TokenRevoke, ColleaguesToken, role == Admin);
        let oversight = matches!(role, Admin | Authority | Operator | Supervisor);
        check(role, OrgRead, OtherOrg, oversight);
        check(role, PersonRead, PersonInOtherOrg, oversight);
        check(role, OrgCreate, Platform, role == Admin);
        check(role, PersonCreate, OtherOrg, role == Admin);
        check(
            role,
            PersonVerify,
            PersonInOtherOrg,
            matches!(role, Admin | Operator),
        );
        check(
            role,
            PersonRecordTraining,
            ColleagueInOwnOrg,
            matches!(role, Admin | Operator),
        );
        check(role, PersonAdminister, PersonInOtherOrg, role == Admin);
        check(role, PersonAdminister, Myself, false);
        check(role, PersonLinkSso, PersonInOtherOrg, role == Admin);
        check(role, PersonLinkSso, ColleagueInOwnOrg, role == Admin);
        check(role, PersonLinkSso, Myself, false);
        check(
            role,
            AuditSearch,
            Audit,
            matches!(role, Supervisor | Authority),
        );
        check(
            role,
            AuditExport,
            Audit,
            matches!(role, Supervisor | Authority),
        );
        check(
            role,
            AuditVerify,
            Audit,
            matches!(role, Supervisor | Authority | Admin),
        );
    }
}

#[test]
fn actions_on_the_wrong_kind_of_resource_are_denied() {
    for &role in Role::ALL {
        for &action in Action::ALL {
            if action != Action::AuditSearch
                && action != Action::AuditExport
                && action != Action::AuditVerify
            {
                check(role, action, Rel::Audit, false);
            }
        }
    }
}

#[test]
fn the_public_may_only_sign_in() {
    for &action in Action::ALL {
        let got = decide(
            &Principal::Anonymous,
            action,
            &Resource::Platform,
            &profile(),
        );
        assert_eq!(got.is_allowed(), action == Action::Login, "{action}");
    }
}

#[test]
fn uncleared_personnel_cannot_open_data_bearing_functions() {
    let mut supervisor = actor(Role::Supervisor);
    supervisor.clearance.real_name_verified = false;
    let got = decide(
        &Principal::Person(supervisor.clone()),
        Action::AuditSearch,
        &Resource::AuditTrail,
        &profile(),
    );
    assert!(
        matches!(got, Decision::Deny(Denial { code: "not_cleared", ref message, .. }) if message.contains("real-name"))
    );
    supervisor.clearance = Clearance {
        real_name_verified: true,
        agreement_current: false,
    };
    let got = decide(
        &Principal::Person(supervisor.clone()),
        Action::AuditExport,
        &Resource::AuditTrail,
        &profile(),
    );
    assert!(
        matches!(got, Decision::Deny(Denial { code: "not_cleared", ref message, .. }) if message.contains("agreement"))
    );
    // Not data-bearing: still allowed, so the person can reach the page where they accept.
    let got = decide(
        &Principal::Person(supervisor),
        Action::SelfManage,
        &Resource::Platform,
        &profile(),
    );
    assert!(got.is_allowed());
}

#[test]
fn roles_that_need_a_second_factor_are_refused_without_it() {
    let profile = profile();
    for &role in Role::ALL {
        let mut who = actor(role);
        who.credential = Credential::Session {
            second_factor: false,
        };
        let got = decide(
            &Principal::Person(who),
            Action::SelfRead,
            &Resource::Platform,
            &profile,
        );
        assert_eq!(
            got.is_allowed(),
            !profile.requires_second_factor(role),
            "{role}"
        );
    }
    for role in [
        Role::Admin,
        Role::Authority,
        Role::Operator,
        Role::Supervisor,
    ] {
        assert!(profile.requires_second_factor(role), "{role}");
    }
}

#[test]
fn api_tokens_cannot_manage_credentials() {
    let mut merchant = actor(Role::Merchant);
    merchant.credential = Credential::ApiToken;
    let principal = Principal::Person(merchant);
    let role = Role::Merchant;
    for (action, rel) in [
        (Action::SelfManage, Rel::Platform),
        (Action::TokenCreate, Rel::NewTokenOwnOrgOwnRole),
        (Action::TokenRevoke, Rel::MyToken),
    ] {
        let got = decide(&principal, action, &resource(rel, role), &profile());
        assert!(
            matches!(
                got,
                Decision::Deny(Denial {
                    code: "interactive_session_required",
                    ..
                })
            ),
            "{action}"
        );
    }
    assert!(
        decide(
            &principal,
            Action::TokenRead,
            &resource(Rel::MyToken, role),
            &profile()
        )
        .is_allowed()
    );
}

#[test]
fn every_denial_explains_itself_without_ids() {
    let (own_org, other_org, me, other) = ids();
    for &role in Role::ALL {
        for &action in Action::ALL {
            for rel in [
                Rel::OtherOrg,
                Rel::PersonInOtherOrg,
                Rel::OtherOrgsToken,
                Rel::Audit,
            ] {
                if let Decision::Deny(d) = decide(
                    &Principal::Person(actor(role)),
                    action,
                    &resource(rel, role),
                    &profile(),
                ) {
                    assert!(d.message.len() > 20, "{}", d.message);
                    for id in [
                        own_org.to_string(),
                        other_org.to_string(),
                        me.to_string(),
                        other.to_string(),
                    ] {
                        assert!(!d.message.contains(&id));
                    }
                }
            }
        }
    }
}

#[test]
fn the_command_line_administers_accounts_but_never_searches_the_trail_or_mints_tokens() {
    for action in [
        Action::AuditSearch,
        Action::TokenCreate,
        Action::SelfManage,
        Action::Login,
        Action::DatasetImport,
    ] {
        assert!(
            !decide(
                &Principal::System,
                action,
                &Resource::AuditTrail,
                &profile()
            )
            .is_allowed(),
            "{action}"
        );
    }
    for action in [
        Action::OrgCreate,
        Action::PersonCreate,
        Action::PersonLinkSso,
        Action::AuditVerify,
        Action::AuditExport,
        Action::MasterKeyRotate,
        Action::DatasetSweep,
        Action::DatasetRead,
    ] {
        assert!(
            decide(&Principal::System, action, &Resource::Platform, &profile()).is_allowed(),
            "{action}"
        );
    }
}

#[test]
fn a_denial_names_the_refused_action() {
    let got = decide(
        &Principal::Person(actor(Role::Merchant)),
        Action::AuditSearch,
        &Resource::AuditTrail,
        &profile(),
    );
    assert!(
        matches!(
            got,
            Decision::Deny(Denial {
                action: "audit.search",
                ..
            })
        ),
        "{got:?}"
    );
}

/// The catalog grants, in a city whose data service agency supplies data for the source
/// departments (qiqihar, QQ5) and in one where it does not (zhongwei).
#[test]
fn catalog_grants_table() {
    for (city, agency_supplies) in [("qiqihar", true), ("zhongwei", false)] {
        let profile = Profile::builtin(city).unwrap();
        assert_eq!(profile.catalog().agency_supplies.value, agency_supplies);
        catalog_grants(&profile, agency_supplies);
    }
}

fn catalog_grants(profile: &Profile, agency_supplies: bool) {
    use Action::*;
    use Role::*;
    let (own_org, other_org, _, _) = ids();
    let entry = |provider, public| Resource::CatalogEntry { provider, public };
    let registration = |provider, authority_step| Resource::Registration {
        provider,
        authority_step,
    };
    let issue = |provider, raised_by| Resource::QualityIssue {
        provider,
        raised_by,
    };
    let allowed = |role: Role, action, resource: &Resource| {
        decide(&Principal::Person(actor(role)), action, resource, profile).is_allowed()
    };
    for &role in Role::ALL {
        let oversight = matches!(role, Admin | Authority | Operator | Supervisor);
        let agency = role == DataServiceAgency && agency_supplies;
        let source = role == SourceDepartment;
        let cases: Vec<(Action, Resource, bool)> = vec![
            (
                ResourceRegister,
                Resource::Org { id: own_org },
                source || agency,
            ),
            (ResourceRegister, Resource::Org { id: other_org }, agency),
            (ResourceEdit, entry(own_org, false), source || agency),
            (ResourceEdit, entry(other_org, true), agency),
            (ResourceSubmit, entry(own_org, false), source || agency),
            (ResourceSubmit, entry(other_org, false), agency),
            (ResourceReview, entry(other_org, false), role == Authority),
            (ResourceRead, entry(own_org, false), true),
            (ResourceRead, entry(other_org, false), oversight || agency),
            (CatalogBrowse, Resource::PublicCatalog, true),
            (CatalogBrowse, entry(other_org, true), true),
            (CatalogBrowse, entry(other_org, false), false),
            (
                RegistrationManage,
                registration(own_org, false),
                source || agency || role == Authority,
            ),
            (
                RegistrationManage,
                registration(other_org, false),
                agency || role == Authority,
            ),
            (
                RegistrationManage,
                registration(own_org, true),
                role == Authority,
            ),
            (
                QualityIssueRaise,
                entry(other_org, true),
                matches!(role, Operator | Merchant),
            ),
            (QualityIssueRaise, entry(other_org, false), false),
            (QualityIssueAnswer, issue(own_org, other_org), source),
            (QualityIssueAnswer, issue(other_org, own_org), false),
            (QualityIssueRead, issue(own_org, other_org), true),
            (QualityIssueRead, issue(other_org, own_org), true),
            (
                QualityIssueRead,
                issue(other_org, other_org),
                role == Authority,
            ),
            (DatasetImport, entry(own_org, true), source || agency),
            (DatasetImport, entry(other_org, true), agency),
            (
                DatasetRead,
                entry(own_org, true),
                source || agency || role == Authority,
            ),
            (
                DatasetRead,
                entry(other_org, true),
                agency || role == Authority,
            ),
            (MasterKeyRotate, Resource::Platform, false),
            (DatasetSweep, Resource::Platform, false),
        ];
        for (action, resource, expected) in cases {
            assert_eq!(
                allowed(role, action, &resource),
                expected,
                "{role} {action} {resource:?}"
            );
        }
    }
}

#[test]
fn the_public_browses_approved_catalog_entries_only() {
    let (_, other_org, _, _) = ids();
    for &action in Action::ALL {
        for (resource, public) in [
            (Resource::PublicCatalog, true),
            (
                Resource::CatalogEntry {
                    provider: other_org,
                    public: true,
                },
                true,
            ),
            (
                Resource::CatalogEntry {
                    provider: other_org,
                    public: false,
                },
                false,
            ),
        ] {
            let got = decide(&Principal::Anonymous, action, &resource, &profile());
            assert_eq!(
                got.is_allowed(),
                action == Action::Login || (action == Action::CatalogBrowse && public),
                "{action} {resource:?}"
            );
        }
    }
}

/// The grants of the secure domain: the authority and supervisors read every grant, an operator the
/// grants it runs, a merchant its own organisation's (once real-name verified); the authority and
/// the running operator suspend, resume and revoke; only the system seeds.
#[test]
fn grant_grants_table() {
    use Action::*;
    use Role::*;
    let p = profile();
    let (own_org, other_org, _, _) = ids();
    let grant = |merchant, operator| Resource::Grant { merchant, operator };
    let ours_as_merchant = grant(own_org, other_org);
    let ours_as_operator = grant(other_org, own_org);
    let others = grant(other_org, other_org);
    for &role in Role::ALL {
        let allowed = |action, resource: &Resource| {
            decide(&Principal::Person(actor(role)), action, resource, &p).is_allowed()
        };
        let oversight = matches!(role, Authority | Supervisor);
        let cases: Vec<(Action, &Resource, bool)> = vec![
            (GrantRead, &ours_as_merchant, oversight || role == Merchant),
            (GrantRead, &ours_as_operator, oversight || role == Operator),
            (GrantRead, &others, oversight),
            (GrantSeed, &ours_as_merchant, false),
            (GrantSeed, &ours_as_operator, false),
        ];
        let mut cases = cases;
        for action in [GrantSuspend, GrantResume, GrantRevoke] {
            cases.push((
                action,
                &ours_as_operator,
                matches!(role, Authority | Operator),
            ));
            cases.push((action, &others, role == Authority));
            cases.push((action, &ours_as_merchant, role == Authority));
        }
        for (action, resource, expected) in cases {
            assert_eq!(
                allowed(action, resource),
                expected,
                "{role} {action} {resource:?}"
            );
        }
    }
    // The wrong kind of object is refused even for the authority.
    assert!(
        !decide(
            &Principal::Person(actor(Authority)),
            GrantRevoke,
            &Resource::Platform,
            &p
        )
        .is_allowed()
    );
}

/// Workspaces: the merchant's personnel read, prepare and query their own; oversight and the
/// running operator read; nobody queries another organisation's workspace.
#[test]
fn workspace_table() {
    use Action::*;
    use Role::*;
    let p = profile();
    let (own_org, other_org, _, _) = ids();
    let grant = |merchant, operator| Resource::Grant { merchant, operator };
    let ours_as_merchant = grant(own_org, other_org);
    let ours_as_operator = grant(other_org, own_org);
    let others = grant(other_org, other_org);
    for &role in Role::ALL {
        let allowed = |action, resource: &Resource| {
            decide(&Principal::Person(actor(role)), action, resource, &p).is_allowed()
        };
        let oversight = matches!(role, Authority | Supervisor);
        let cases = [
            (
                WorkspaceRead,
                &ours_as_merchant,
                oversight || role == Merchant,
            ),
            (
                WorkspaceRead,
                &ours_as_operator,
                oversight || role == Operator,
            ),
            (WorkspaceRead, &others, oversight),
            (WorkspaceQuery, &ours_as_merchant, role == Merchant),
            (WorkspaceQuery, &ours_as_operator, false),
            (WorkspaceQuery, &others, false),
            (WorkspacePrepare, &ours_as_merchant, role == Merchant),
            (WorkspacePrepare, &others, false),
            // Fusion imports (CC18(3)): the merchant asks and withdraws; only the authority
            // approves, rejects and revokes — never the operator or the merchant itself.
            (FusionRequest, &ours_as_merchant, role == Merchant),
            (FusionRequest, &ours_as_operator, false),
            (FusionRequest, &others, false),
            (FusionWithdraw, &ours_as_merchant, role == Merchant),
            (FusionWithdraw, &others, false),
            (FusionReview, &ours_as_merchant, role == Authority),
            (FusionReview, &ours_as_operator, role == Authority),
            (FusionRevoke, &ours_as_merchant, role == Authority),
            (FusionRevoke, &ours_as_operator, role == Authority),
        ];
        for (action, resource, expected) in cases {
            assert_eq!(
                allowed(action, resource),
                expected,
                "{role} {action} {resource:?}"
            );
        }
    }
    // Querying is data-bearing: an analyst without the current agreement is refused.
    let mut merchant = actor(Role::Merchant);
    merchant.clearance = Clearance {
        real_name_verified: true,
        agreement_current: false,
    };
    assert!(
        !decide(
            &Principal::Person(merchant),
            WorkspaceQuery,
            &ours_as_merchant,
            &p
        )
        .is_allowed()
    );
    assert!(!decide(&Principal::System, WorkspaceQuery, &ours_as_merchant, &p).is_allowed());
}

#[test]
fn a_merchant_sees_its_grants_only_once_real_name_verified() {
    let (own_org, other_org, _, _) = ids();
    let mut merchant = actor(Role::Merchant);
    merchant.clearance = Clearance {
        real_name_verified: false,
        agreement_current: true,
    };
    let resource = Resource::Grant {
        merchant: own_org,
        operator: other_org,
    };
    assert!(
        !decide(
            &Principal::Person(merchant.clone()),
            Action::GrantRead,
            &resource,
            &profile()
        )
        .is_allowed()
    );
    // Reading a grant is not data-bearing: an outdated agreement does not hide it.
    assert!(!Action::GrantRead.is_data_bearing());
    merchant.clearance = Clearance {
        real_name_verified: true,
        agreement_current: false,
    };
    assert!(
        decide(
            &Principal::Person(merchant),
            Action::GrantRead,
            &resource,
            &profile()
        )
        .is_allowed()
    );
}

#[test]
fn only_the_system_seeds_grants() {
    let (own_org, other_org, _, _) = ids();
    let resource = Resource::Grant {
        merchant: own_org,
        operator: other_org,
    };
    assert!(decide(&Principal::System, Action::GrantSeed, &resource, &profile()).is_allowed());
    for action in [
        Action::GrantSuspend,
        Action::GrantResume,
        Action::GrantRevoke,
    ] {
        assert!(!decide(&Principal::System, action, &resource, &profile()).is_allowed());
    }
    assert!(
        !decide(
            &Principal::Anonymous,
            Action::GrantSeed,
            &resource,
            &profile()
        )
        .is_allowed()
    );
    for &role in Role::ALL {
        assert!(
            !decide(
                &Principal::Person(actor(role)),
                Action::GrantSeed,
                &resource,
                &profile()
            )
            .is_allowed(),
            "{role}"
        );
    }
}

/// Freezes (SBX-9): the authority freezes and unfreezes everything; an operator freezes only the
/// merchants whose grants it runs and lifts only its own freeze; nobody else freezes anything.
#[test]
fn freeze_grants_table() {
    use Action::*;
    use Role::*;
    let p = profile();
    let (own_org, other_org, _, _) = ids();
    let freeze = |subject, frozen_by| Resource::Freeze { subject, frozen_by };
    let served_merchant = FreezeSubject::Merchant {
        merchant: other_org,
        serving_operator: Some(own_org),
    };
    let unserved_merchant = FreezeSubject::Merchant {
        merchant: other_org,
        serving_operator: None,
    };
    let operator = FreezeSubject::Operator {
        operator: other_org,
    };
    let own_operator = FreezeSubject::Operator { operator: own_org };
    let supply = FreezeSubject::ResourceSupply {
        provider: other_org,
    };
    let own_supply = FreezeSubject::ResourceSupply { provider: own_org };
    for &role in Role::ALL {
        let authority = role == Authority;
        let operator_role = role == Operator;
        let cases: Vec<(Action, Resource, bool)> = vec![
            (
                OrgFreeze,
                freeze(served_merchant, None),
                authority || operator_role,
            ),
            (OrgFreeze, freeze(unserved_merchant, None), authority),
            (OrgFreeze, freeze(operator, None), authority),
            (OrgFreeze, freeze(own_operator, None), authority),
            (OrgFreeze, freeze(supply, None), false),
            (
                OrgUnfreeze,
                freeze(served_merchant, Some(own_org)),
                authority || operator_role,
            ),
            (
                OrgUnfreeze,
                freeze(served_merchant, Some(other_org)),
                authority,
            ),
            (
                OrgUnfreeze,
                freeze(unserved_merchant, Some(own_org)),
                authority,
            ),
            (OrgUnfreeze, freeze(operator, Some(own_org)), authority),
            (OrgUnfreeze, freeze(supply, Some(own_org)), false),
            (SupplyFreeze, freeze(supply, None), authority),
            (SupplyFreeze, freeze(own_supply, None), authority),
            (SupplyFreeze, freeze(served_merchant, None), false),
            (SupplyUnfreeze, freeze(supply, Some(own_org)), authority),
            (SupplyUnfreeze, freeze(operator, Some(other_org)), false),
            (
                FreezeRead,
                freeze(served_merchant, Some(other_org)),
                matches!(role, Authority | Supervisor | Operator),
            ),
            (
                FreezeRead,
                freeze(unserved_merchant, Some(other_org)),
                matches!(role, Authority | Supervisor),
            ),
            (
                FreezeRead,
                freeze(own_operator, Some(other_org)),
                matches!(role, Authority | Supervisor | Operator),
            ),
            (
                FreezeRead,
                freeze(own_supply, Some(other_org)),
                matches!(role, Authority | Supervisor | SourceDepartment),
            ),
            (
                FreezeRead,
                freeze(supply, Some(other_org)),
                matches!(role, Authority | Supervisor)
                    || (role == DataServiceAgency && p.catalog().agency_supplies.value),
            ),
            (
                FreezeRead,
                freeze(
                    FreezeSubject::Merchant {
                        merchant: own_org,
                        serving_operator: None,
                    },
                    Some(other_org),
                ),
                matches!(role, Authority | Supervisor | Merchant),
            ),
            (FreezeRead, Resource::Platform, false),
        ];
        for (action, resource, expected) in cases {
            assert_eq!(
                decide(&Principal::Person(actor(role)), action, &resource, &p).is_allowed(),
                expected,
                "{role} {action} {resource:?}"
            );
        }
    }
}

#[test]
fn neither_the_public_nor_the_command_line_freezes() {
    let (own_org, _, _, _) = ids();
    let resource = Resource::Freeze {
        subject: FreezeSubject::Operator { operator: own_org },
        frozen_by: None,
    };
    for action in [
        Action::OrgFreeze,
        Action::OrgUnfreeze,
        Action::SupplyFreeze,
        Action::SupplyUnfreeze,
    ] {
        for principal in [Principal::Anonymous, Principal::System] {
            assert!(
                !decide(&principal, action, &resource, &profile()).is_allowed(),
                "{principal:?} {action}"
            );
        }
    }
    assert!(
        decide(
            &Principal::System,
            Action::FreezeRead,
            &resource,
            &profile()
        )
        .is_allowed()
    );
    assert!(
        !decide(
            &Principal::Anonymous,
            Action::FreezeRead,
            &resource,
            &profile()
        )
        .is_allowed()
    );
}
