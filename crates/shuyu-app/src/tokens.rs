//! API tokens for machine clients: scoped to the creator's organisation and role, expiring,
//! revocable, shown once and stored as a digest.

use shuyu_audit::Outcome;
use shuyu_core::TokenId;
use shuyu_identity::{ApiTokenRecord, OpaqueSecret, SecretKind};
use shuyu_policy::{Action, Principal, Resource};

use crate::{App, AppError, Ctx, Object};

/// A token just issued: the record and the secret, which is never shown again.
#[derive(Debug)]
pub struct IssuedToken {
    pub record: ApiTokenRecord,
    pub secret: OpaqueSecret,
}

impl App {
    pub async fn create_token(
        &self,
        ctx: &Ctx,
        name: &str,
        days: u32,
    ) -> Result<IssuedToken, AppError> {
        self.refuse_anonymous(ctx, Action::TokenCreate).await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        self.authorize(
            ctx,
            Action::TokenCreate,
            &Resource::NewToken {
                org: actor.org,
                role: actor.role,
            },
            Object::new("token", "new"),
        )
        .await?;
        let name = shuyu_core::Name::parse(name).map_err(|e| AppError::invalid("name", e))?;
        if days == 0 || days > self.settings.token_max_days {
            return Err(AppError::invalid(
                "days",
                format!("a token lives 1 to {} days", self.settings.token_max_days),
            ));
        }
        let now = self.now();
        let secret = self.with_rng(|rng| OpaqueSecret::generate(SecretKind::ApiToken, rng));
        let record = ApiTokenRecord {
            id: TokenId::mint(now, self.random_bytes()),
            digest: secret.digest(),
            hint: secret.hint(),
            name: name.to_string(),
            org: actor.org,
            role: actor.role,
            owner: actor.person,
            created_at: now,
            expires_at: now.plus_seconds(i64::from(days) * 86_400),
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_token(&record).await?;
        tx.audit(self.event(
            ctx,
            "token.create",
            Object::new("token", record.id),
            &(name.as_str(), days),
            Outcome::Ok,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(IssuedToken { record, secret })
    }

    /// The actor's own tokens.
    pub async fn tokens(&self, ctx: &Ctx) -> Result<Vec<ApiTokenRecord>, AppError> {
        self.refuse_anonymous(ctx, Action::TokenRead).await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let mine = self.store.tokens_of(actor.person).await?;
        Ok(mine
            .into_iter()
            .filter(|t| {
                shuyu_policy::decide(
                    &ctx.principal,
                    Action::TokenRead,
                    &Resource::Token {
                        org: t.org,
                        owner: t.owner,
                    },
                    &self.profile,
                )
                .is_allowed()
            })
            .collect())
    }

    pub async fn revoke_token(&self, ctx: &Ctx, id: TokenId) -> Result<ApiTokenRecord, AppError> {
        self.refuse_anonymous(ctx, Action::TokenRevoke).await?;
        let token = self
            .store
            .token(id)
            .await?
            .ok_or(AppError::NotFound { kind: "token" })?;
        self.authorize(
            ctx,
            Action::TokenRevoke,
            &Resource::Token {
                org: token.org,
                owner: token.owner,
            },
            Object::new("token", id),
        )
        .await?;
        let mut tx = self.store.begin().await?;
        if !tx.revoke_token(id, self.now()).await? {
            return Err(AppError::Conflict("this token is already revoked".into()));
        }
        tx.audit(self.event(
            ctx,
            "token.revoke",
            Object::new("token", id),
            &(),
            Outcome::Ok,
            "",
        ))
        .await?;
        tx.commit().await?;
        self.store
            .token(id)
            .await?
            .ok_or(AppError::NotFound { kind: "token" })
    }
}
