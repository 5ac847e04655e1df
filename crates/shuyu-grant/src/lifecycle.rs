//! The grant's lifecycle: `active ⇄ suspended`, either `→ revoked` (terminal); `expired` is not
//! stored but derived from the term at `now` ([`Grant::status`]).
//!
//! | from \ command | suspend   | resume                       | revoke  |
//! |----------------|-----------|------------------------------|---------|
//! | active         | suspended | —                            | revoked |
//! | suspended      | —         | active (not after the term)  | revoked |
//! | expired        | —         | —                            | revoked |
//! | revoked        | —         | —                            | —       |
//!
//! Every move carries who made it and a non-empty reason, kept in the grant's history.

use serde::{Deserialize, Serialize};
use shuyu_core::{PersonId, Timestamp};

use crate::error::GrantError;
use crate::grant::Grant;

/// The longest reason, in characters.
pub const MAX_REASON: usize = 1000;

/// The stored state of a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    Active,
    Suspended,
    Revoked,
}

impl GrantState {
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantState::Active => "active",
            GrantState::Suspended => "suspended",
            GrantState::Revoked => "revoked",
        }
    }
}

impl std::str::FromStr for GrantState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(GrantState::Active),
            "suspended" => Ok(GrantState::Suspended),
            "revoked" => Ok(GrantState::Revoked),
            other => Err(format!(
                "`{}` is not a grant state",
                other.chars().take(32).collect::<String>()
            )),
        }
    }
}

/// The status of a grant at a given time: the stored state, with `expired` once the term is over
/// (a revoked grant stays revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Active,
    Suspended,
    Expired,
    Revoked,
}

impl GrantStatus {
    pub const ALL: &'static [GrantStatus] = &[
        GrantStatus::Active,
        GrantStatus::Suspended,
        GrantStatus::Expired,
        GrantStatus::Revoked,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Active => "active",
            GrantStatus::Suspended => "suspended",
            GrantStatus::Expired => "expired",
            GrantStatus::Revoked => "revoked",
        }
    }

    pub const fn label(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (GrantStatus::Active, true) => "有效",
            (GrantStatus::Suspended, true) => "已暂停",
            (GrantStatus::Expired, true) => "已到期",
            (GrantStatus::Revoked, true) => "已撤销",
            (other, false) => other.as_str(),
        }
    }
}

/// What the authority or the operator asks of a grant. `by` is the person; `reason` is required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantCommand {
    Suspend { by: PersonId, reason: String },
    Resume { by: PersonId, reason: String },
    Revoke { by: PersonId, reason: String },
}

impl GrantCommand {
    pub const fn name(&self) -> &'static str {
        match self {
            GrantCommand::Suspend { .. } => "suspend",
            GrantCommand::Resume { .. } => "resume",
            GrantCommand::Revoke { .. } => "revoke",
        }
    }

    fn past(&self) -> &'static str {
        match self {
            GrantCommand::Suspend { .. } => "suspended",
            GrantCommand::Resume { .. } => "resumed",
            GrantCommand::Revoke { .. } => "revoked",
        }
    }
}

/// What happened to a grant; applied in order they rebuild its state and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GrantEvent {
    Suspended {
        by: PersonId,
        at: Timestamp,
        reason: String,
    },
    Resumed {
        by: PersonId,
        at: Timestamp,
        reason: String,
    },
    Revoked {
        by: PersonId,
        at: Timestamp,
        reason: String,
    },
}

/// One entry of a grant's history: the event that moved it.
pub type StatusChange = GrantEvent;

impl Grant {
    /// The status at `now`: `expired` once the term is over, unless revoked.
    pub fn status(&self, now: Timestamp) -> GrantStatus {
        match self.state {
            GrantState::Revoked => GrantStatus::Revoked,
            _ if self.term.ended(now) => GrantStatus::Expired,
            GrantState::Active => GrantStatus::Active,
            GrantState::Suspended => GrantStatus::Suspended,
        }
    }

    /// Whether the grant may be used at `now`: active, within its term, and both its merchant's and
    /// its operator's access are live (a grant dies with either).
    pub fn is_live(&self, now: Timestamp, merchant_live: bool, operator_live: bool) -> bool {
        merchant_live
            && operator_live
            && self.status(now) == GrantStatus::Active
            && self.term.contains(now)
    }

    /// Decides a command at `now`: the event to apply, or why not.
    pub fn handle(&self, command: GrantCommand, now: Timestamp) -> Result<GrantEvent, GrantError> {
        let status = self.status(now);
        let illegal = |command: &GrantCommand| GrantError::IllegalTransition {
            from: status.as_str(),
            command: command.past(),
        };
        let allowed = match (&command, status) {
            (GrantCommand::Suspend { .. }, GrantStatus::Active) => true,
            (GrantCommand::Resume { .. }, GrantStatus::Suspended) => true,
            (GrantCommand::Resume { .. }, GrantStatus::Expired)
                if self.state == GrantState::Suspended =>
            {
                return Err(GrantError::ResumeAfterTerm {
                    to: self.term.to.to_string(),
                });
            }
            (
                GrantCommand::Revoke { .. },
                GrantStatus::Active | GrantStatus::Suspended | GrantStatus::Expired,
            ) => true,
            _ => false,
        };
        if !allowed {
            return Err(illegal(&command));
        }
        let event = match command {
            GrantCommand::Suspend { by, reason } => GrantEvent::Suspended {
                by,
                at: now,
                reason: checked_reason(&reason)?,
            },
            GrantCommand::Resume { by, reason } => GrantEvent::Resumed {
                by,
                at: now,
                reason: checked_reason(&reason)?,
            },
            GrantCommand::Revoke { by, reason } => GrantEvent::Revoked {
                by,
                at: now,
                reason: checked_reason(&reason)?,
            },
        };
        Ok(event)
    }

    /// Applies an event that [`Grant::handle`] produced.
    #[must_use]
    pub fn apply(mut self, event: &GrantEvent) -> Grant {
        self.state = match event {
            GrantEvent::Suspended { .. } => GrantState::Suspended,
            GrantEvent::Resumed { .. } => GrantState::Active,
            GrantEvent::Revoked { .. } => GrantState::Revoked,
        };
        self.history.push(event.clone());
        self
    }
}

fn checked_reason(reason: &str) -> Result<String, GrantError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(GrantError::ReasonRequired { max: MAX_REASON });
    }
    Ok(reason.to_owned())
}
