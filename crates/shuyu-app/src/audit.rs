//! Searching, exporting and verifying the audit trail. Reading the trail is itself a data access,
//! so every search and export is appended to the chain.

use futures_util::Stream;
use serde::Serialize;
use shuyu_audit::{AuditVerifier, EventRecord, Outcome};
use shuyu_core::Timestamp;
use shuyu_policy::{Action, Resource};
use shuyu_store::{AuditFilter, VerifyOutcome};

use crate::{App, AppError, Ctx, Object};

/// A search as received from a person: every field optional, validated here.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub org: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub outcome: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl AuditQuery {
    fn to_filter(&self) -> Result<AuditFilter, AppError> {
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let time =
            |field: &'static str, v: &Option<String>| -> Result<Option<Timestamp>, AppError> {
                clean(v)
                    .map(|t| {
                        Timestamp::parse(&t).ok_or_else(|| {
                        AppError::invalid(
                            field,
                            "give a date (2026-11-24) or an RFC 3339 time (2026-11-24T08:00:00Z)",
                        )
                    })
                    })
                    .transpose()
            };
        let outcome = clean(&self.outcome)
            .map(|o| {
                o.parse::<Outcome>()
                    .map_err(|_| AppError::invalid("outcome", "outcome is ok, denied or failed"))
            })
            .transpose()?;
        let filter = AuditFilter {
            actor_person: clean(&self.actor),
            actor_org: clean(&self.org),
            action: clean(&self.action),
            object_type: clean(&self.object_type),
            object_id: clean(&self.object_id),
            outcome,
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
        };
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(AppError::invalid(
                "to",
                "the end of the time range must be after its start",
            ));
        }
        Ok(filter)
    }
}

impl App {
    /// The newest matching events (at most `limit`, before `before_seq` for paging).
    pub async fn search_audit(
        &self,
        ctx: &Ctx,
        query: &AuditQuery,
        before_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, AppError> {
        self.authorize(
            ctx,
            Action::AuditSearch,
            &Resource::AuditTrail,
            Object::new("audit_trail", ""),
        )
        .await?;
        let filter = query.to_filter()?;
        let found = self.store.search_audit(&filter, before_seq, limit).await?;
        let mut tx = self.store.begin().await?;
        let detail = format!("{} events", found.len());
        tx.audit(self.event(
            ctx,
            "audit.search",
            Object::new("audit_trail", ""),
            query,
            Outcome::Ok,
            &detail,
        ))
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    /// Every matching event, oldest first, as a stream (for CSV / JSON Lines export).
    pub async fn export_audit(
        &self,
        ctx: &Ctx,
        query: &AuditQuery,
        format: &str,
    ) -> Result<
        impl Stream<Item = Result<EventRecord, shuyu_store::StoreError>> + Send + 'static,
        AppError,
    > {
        self.authorize(
            ctx,
            Action::AuditExport,
            &Resource::AuditTrail,
            Object::new("audit_trail", ""),
        )
        .await?;
        let filter = query.to_filter()?;
        let mut tx = self.store.begin().await?;
        tx.audit(self.event(
            ctx,
            "audit.export",
            Object::new("audit_trail", ""),
            query,
            Outcome::Ok,
            format,
        ))
        .await?;
        tx.commit().await?;
        Ok(self.store.stream_audit(filter))
    }

    /// Recomputes the chain. Reveals integrity only, no event content.
    pub async fn verify_audit(
        &self,
        ctx: &Ctx,
        verifier: AuditVerifier,
    ) -> Result<VerifyOutcome, AppError> {
        self.authorize(
            ctx,
            Action::AuditVerify,
            &Resource::AuditTrail,
            Object::new("audit_trail", ""),
        )
        .await?;
        Ok(self.store.verify_audit(verifier).await?)
    }
}
