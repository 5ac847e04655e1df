//! Organisations.

use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_core::{CreditCode, Name, OrgId, OrgType};
use shuyu_identity::Organisation;
use shuyu_policy::{Action, Resource};

use crate::{App, AppError, Ctx, Object};

/// Input for a new organisation, as received (validated here).
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: String,
    pub org_type: String,
    pub credit_code: String,
}

#[derive(Serialize)]
struct OrgChange<'a> {
    name: &'a str,
    org_type: &'a str,
    credit_code: &'a str,
}

impl App {
    pub async fn create_org(&self, ctx: &Ctx, input: NewOrg) -> Result<Organisation, AppError> {
        self.authorize(
            ctx,
            Action::OrgCreate,
            &Resource::Platform,
            Object::new("org", "new"),
        )
        .await?;
        let name = Name::parse(&input.name).map_err(|e| AppError::invalid("name", e))?;
        let org_type: OrgType = input
            .org_type
            .parse()
            .map_err(|e| AppError::invalid("org_type", e))?;
        let credit_code = CreditCode::parse(&input.credit_code)
            .map_err(|e| AppError::invalid("credit_code", e))?;
        let now = self.now();
        let org = Organisation {
            id: OrgId::mint(now, self.random_bytes()),
            name,
            org_type,
            credit_code,
            created_at: now,
        };
        let change = OrgChange {
            name: org.name.as_str(),
            org_type: org.org_type.as_str(),
            credit_code: org.credit_code.as_str(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_org(&org).await?;
        tx.audit(self.event(
            ctx,
            "org.create",
            Object::new("org", org.id),
            &change,
            Outcome::Ok,
            org.org_type.as_str(),
        ))
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    pub async fn org(&self, ctx: &Ctx, id: OrgId) -> Result<Organisation, AppError> {
        self.refuse_anonymous(ctx, Action::OrgRead).await?;
        let org = self.store.org(id).await?.ok_or(AppError::NotFound {
            kind: "organisation",
        })?;
        self.authorize(
            ctx,
            Action::OrgRead,
            &Resource::Org { id },
            Object::new("org", id),
        )
        .await?;
        Ok(org)
    }

    /// The organisations the actor may see.
    pub async fn orgs(&self, ctx: &Ctx) -> Result<Vec<Organisation>, AppError> {
        self.refuse_anonymous(ctx, Action::OrgRead).await?;
        let all = self.store.orgs().await?;
        Ok(all
            .into_iter()
            .filter(|o| {
                shuyu_policy::decide(
                    &ctx.principal,
                    Action::OrgRead,
                    &Resource::Org { id: o.id },
                    &self.profile,
                )
                .is_allowed()
            })
            .collect())
    }

    /// The source departments the actor may register a resource for (CAT-1): their own, or any
    /// of them for the data service agency — each one the policy allows `resource.register` on.
    /// Read-only: it feeds the provider choice of the console's register form.
    pub async fn resource_providers(&self, ctx: &Ctx) -> Result<Vec<Organisation>, AppError> {
        self.refuse_anonymous(ctx, Action::ResourceRegister).await?;
        let all = self.store.orgs().await?;
        Ok(all
            .into_iter()
            .filter(|o| {
                o.org_type == OrgType::SourceDepartment
                    && shuyu_policy::decide(
                        &ctx.principal,
                        Action::ResourceRegister,
                        &Resource::Org { id: o.id },
                        &self.profile,
                    )
                    .is_allowed()
            })
            .collect())
    }
}
