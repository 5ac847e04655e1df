//! People and their personnel records (PART-3).

use chrono::NaiveDate;
use serde::Serialize;
use shuyu_audit::Outcome;
use shuyu_core::{Name, OrgId, PersonId, Role, Username};
use shuyu_identity::{PasswordHash, Person, Personnel, TotpSecret, TrainingRecord};
use shuyu_policy::{Action, Clearance, Principal, Resource};

use crate::{App, AppError, Ctx, Object};

/// Input for a new account, as received (validated here).
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub org: OrgId,
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// `None` for a single-sign-on-only account.
    pub password: Option<String>,
    /// Give the account a TOTP secret now (returned once). Required for roles that need it.
    pub with_totp: bool,
    /// Mark the person as real-name verified at creation (the command line's bootstrap of the first
    /// administrator, and the demo). Recorded on the chain like any verification.
    pub verified: bool,
}

/// A person with what their record page shows.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub person: Person,
    pub training: Vec<TrainingRecord>,
    pub clearance: Clearance,
    /// Training is overdue under the profile's interval (FT31: quarterly).
    pub training_due: bool,
}

#[derive(Serialize)]
struct PersonChange<'a> {
    org: String,
    username: &'a str,
    role: &'a str,
    password_set: bool,
    totp_set: bool,
    verified: bool,
}

impl App {
    /// Creates an account. Returns the person and, when requested, the TOTP secret (shown once).
    pub async fn create_person(
        &self,
        ctx: &Ctx,
        input: NewPerson,
    ) -> Result<(Person, Option<TotpSecret>), AppError> {
        self.refuse_anonymous(ctx, Action::PersonCreate).await?;
        let org = self.store.org(input.org).await?.ok_or(AppError::NotFound {
            kind: "organisation",
        })?;
        self.authorize(
            ctx,
            Action::PersonCreate,
            &Resource::Org { id: org.id },
            Object::new("org", org.id),
        )
        .await?;
        let username =
            Username::parse(&input.username).map_err(|e| AppError::invalid("username", e))?;
        let display_name =
            Name::parse(&input.display_name).map_err(|e| AppError::invalid("display_name", e))?;
        let role: Role = input
            .role
            .parse()
            .map_err(|e| AppError::invalid("role", e))?;
        org.org_type
            .check_role(role)
            .map_err(|e| AppError::invalid("role", e))?;
        if self.profile.requires_second_factor(role) && !input.with_totp {
            return Err(AppError::invalid(
                "with_totp",
                format!(
                    "the {role} role must have a second factor under this profile; create it with a TOTP secret"
                ),
            ));
        }
        let password = match &input.password {
            Some(pw) => {
                self.settings
                    .password
                    .check(username.as_str(), pw)
                    .map_err(|e| AppError::invalid("password", e))?;
                Some(self.with_rng(|rng| PasswordHash::create(pw, rng)))
            }
            None => None,
        };
        let totp = input.with_totp.then(|| self.with_rng(TotpSecret::generate));
        let now = self.now();
        let verifier = match &ctx.principal {
            Principal::Person(actor) => Some(actor.person),
            _ => None,
        };
        let id = PersonId::mint(now, self.random_bytes());
        let person = Person {
            id,
            org: org.id,
            username,
            display_name,
            role,
            password,
            totp: totp.clone(),
            totp_last_step: 0,
            failed_logins: 0,
            locked_until: None,
            active: true,
            personnel: Personnel {
                real_name_verified_at: input.verified.then_some(now),
                real_name_verified_by: if input.verified { verifier } else { None },
                agreement_version: None,
                agreement_accepted_at: None,
            },
            sso_subject: None,
            created_at: now,
        };
        let change = PersonChange {
            org: org.id.to_string(),
            username: person.username.as_str(),
            role: role.as_str(),
            password_set: person.password.is_some(),
            totp_set: totp.is_some(),
            verified: input.verified,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_person(&person).await?;
        tx.audit(self.event(
            ctx,
            "person.create",
            Object::new("person", id),
            &change,
            Outcome::Ok,
            role.as_str(),
        ))
        .await?;
        tx.commit().await?;
        Ok((person, totp))
    }

    pub async fn person(&self, ctx: &Ctx, id: PersonId) -> Result<PersonView, AppError> {
        self.refuse_anonymous(ctx, Action::PersonRead).await?;
        let person = self
            .store
            .person(id)
            .await?
            .ok_or(AppError::NotFound { kind: "person" })?;
        self.authorize(
            ctx,
            Action::PersonRead,
            &Resource::Person {
                id,
                org: person.org,
            },
            Object::new("person", id),
        )
        .await?;
        self.record_read(
            ctx,
            "person.read",
            Object::new("person", id),
            "personnel record",
        )
        .await?;
        self.view(person).await
    }

    pub(crate) async fn view(&self, person: Person) -> Result<PersonView, AppError> {
        let training = self.store.training(person.id).await?;
        let interval = i64::from(self.profile.personnel().training_interval_days.value);
        let today = self.now().date();
        let training_due = training
            .first()
            .is_none_or(|t| (today - t.completed_on).num_days() > interval);
        let clearance = self.clearance(&person);
        Ok(PersonView {
            person,
            training,
            clearance,
            training_due,
        })
    }

    /// The people the actor may see, optionally of one organisation.
    pub async fn people(&self, ctx: &Ctx, org: Option<OrgId>) -> Result<Vec<Person>, AppError> {
        self.refuse_anonymous(ctx, Action::PersonRead).await?;
        let all = self.store.people(org).await?;
        let visible: Vec<Person> = all
            .into_iter()
            .filter(|p| {
                shuyu_policy::decide(
                    &ctx.principal,
                    Action::PersonRead,
                    &Resource::Person {
                        id: p.id,
                        org: p.org,
                    },
                    &self.profile,
                )
                .is_allowed()
            })
            .collect();
        let object = Object::new("org", org.map(|o| o.to_string()).unwrap_or_default());
        self.record_read(
            ctx,
            "person.list",
            object,
            &format!("{} people", visible.len()),
        )
        .await?;
        Ok(visible)
    }

    pub(crate) async fn load_for(
        &self,
        ctx: &Ctx,
        id: PersonId,
        action: Action,
    ) -> Result<Person, AppError> {
        self.refuse_anonymous(ctx, action).await?;
        let person = self
            .store
            .person(id)
            .await?
            .ok_or(AppError::NotFound { kind: "person" })?;
        self.authorize(
            ctx,
            action,
            &Resource::Person {
                id,
                org: person.org,
            },
            Object::new("person", id),
        )
        .await?;
        Ok(person)
    }

    /// Records the real-name verification of a person (by the operator's compliance staff).
    pub async fn verify_person(&self, ctx: &Ctx, id: PersonId) -> Result<PersonView, AppError> {
        let person = self.load_for(ctx, id, Action::PersonVerify).await?;
        if person.personnel.is_verified() {
            return Err(AppError::Conflict(
                "this person's real name is already verified".into(),
            ));
        }
        let by = match &ctx.principal {
            Principal::Person(actor) => actor.person,
            _ => person.id,
        };
        let mut tx = self.store.begin().await?;
        tx.record_verification(id, by, self.now()).await?;
        tx.audit(self.event(
            ctx,
            "person.verify",
            Object::new("person", id),
            &by.to_string(),
            Outcome::Ok,
            "real name verified",
        ))
        .await?;
        tx.commit().await?;
        self.view(
            self.store
                .person(id)
                .await?
                .ok_or(AppError::NotFound { kind: "person" })?,
        )
        .await
    }

    /// Adds a security training record (FT31).
    pub async fn record_training(
        &self,
        ctx: &Ctx,
        id: PersonId,
        topic: &str,
        completed_on: &str,
    ) -> Result<TrainingRecord, AppError> {
        let person = self.load_for(ctx, id, Action::PersonRecordTraining).await?;
        let topic = Name::parse(topic).map_err(|e| AppError::invalid("topic", e))?;
        let completed_on = NaiveDate::parse_from_str(completed_on.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("completed_on", "give the date as YYYY-MM-DD"))?;
        if completed_on > self.now().date() {
            return Err(AppError::invalid(
                "completed_on",
                "a training cannot be completed in the future",
            ));
        }
        let recorded_by = match &ctx.principal {
            Principal::Person(actor) => actor.person,
            _ => person.id,
        };
        let record = TrainingRecord {
            id: uuid::Uuid::from_bytes(self.random_bytes()),
            person: person.id,
            topic: topic.to_string(),
            completed_on,
            recorded_by,
            recorded_at: self.now(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_training(&record).await?;
        tx.audit(self.event(
            ctx,
            "person.training",
            Object::new("person", id),
            &(topic.as_str(), completed_on),
            Outcome::Ok,
            "",
        ))
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Enables or disables an account; disabling ends its sessions, enabling lifts a lockout.
    pub async fn set_person_active(
        &self,
        ctx: &Ctx,
        id: PersonId,
        active: bool,
    ) -> Result<PersonView, AppError> {
        self.load_for(ctx, id, Action::PersonAdminister).await?;
        let mut tx = self.store.begin().await?;
        tx.set_active(id, active).await?;
        if !active {
            tx.delete_sessions_of(id).await?;
        }
        let action = if active {
            "person.enable"
        } else {
            "person.disable"
        };
        tx.audit(self.event(
            ctx,
            action,
            Object::new("person", id),
            &active,
            Outcome::Ok,
            "",
        ))
        .await?;
        tx.commit().await?;
        self.view(
            self.store
                .person(id)
                .await?
                .ok_or(AppError::NotFound { kind: "person" })?,
        )
        .await
    }

    /// The signed-in person's own record.
    pub async fn me(&self, ctx: &Ctx) -> Result<PersonView, AppError> {
        self.authorize(
            ctx,
            Action::SelfRead,
            &Resource::Platform,
            Object::platform(),
        )
        .await?;
        let Principal::Person(actor) = &ctx.principal else {
            return Err(AppError::Unauthenticated);
        };
        let person = self
            .store
            .person(actor.person)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        self.view(person).await
    }

    /// Looks a person up by username for the command line (`shuyu demo code USER`).
    pub async fn person_by_username(&self, ctx: &Ctx, username: &str) -> Result<Person, AppError> {
        let person = self
            .store
            .person_by_username(username)
            .await?
            .ok_or(AppError::NotFound { kind: "person" })?;
        self.authorize(
            ctx,
            Action::PersonRead,
            &Resource::Person {
                id: person.id,
                org: person.org,
            },
            Object::new("person", person.id),
        )
        .await?;
        Ok(person)
    }
}

impl App {
    /// Seeding only (the demo city): records the current agreement as accepted for a seeded account,
    /// marked as seeded on the chain. Refused to anyone but the command line.
    pub async fn seed_agreement(&self, ctx: &Ctx, id: PersonId) -> Result<(), AppError> {
        if !matches!(ctx.principal, Principal::System) {
            return Err(AppError::Forbidden(shuyu_policy::Denial {
                code: "forbidden",
                message: "only the command line seeds demo accounts".into(),
                action: "person.agreement_accept",
            }));
        }
        let version = self.settings.agreement_version.clone();
        let mut tx = self.store.begin().await?;
        tx.accept_agreement(id, &version, self.now()).await?;
        tx.audit(self.event(
            ctx,
            "person.agreement_accept",
            Object::new("person", id),
            &version,
            Outcome::Ok,
            "seeded demo account",
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
