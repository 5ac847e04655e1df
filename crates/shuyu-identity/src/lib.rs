//! Credentials of people and machines: password hashing and policy, TOTP second factors, and the
//! opaque secrets behind sessions and API tokens.
//!
//! Pure computation: randomness and time are passed in. This crate never stores or logs a secret;
//! what leaves it for storage is a one-way hash (argon2id PHC strings for passwords, SM3 for
//! high-entropy session and token secrets).
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod password;
mod secret;
mod totp;

pub use password::{PasswordError, PasswordHash, PasswordPolicy};
pub use secret::{OpaqueSecret, SecretDigest, SecretKind};
pub use totp::{TotpError, TotpSecret};

mod model;
pub use model::{
    ApiTokenRecord, LoginFailure, LoginRules, LoginVerdict, Organisation, Person, Personnel,
    SessionRecord, SsoSubject, SsoVerdict, TrainingRecord, judge_login, judge_sso_login,
};
