//! Passwords: the policy a new password must meet, and argon2id hashing.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::{CryptoRng, RngExt};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is {0} characters long; it needs at least {1}")]
    TooShort(usize, usize),
    #[error("the password is longer than 128 characters")]
    TooLong,
    #[error(
        "the password needs at least three of: lower-case letters, upper-case letters, digits, symbols"
    )]
    TooSimple,
    #[error("the password must not contain the username")]
    ContainsUsername,
    #[error("the stored password hash is unreadable; an administrator must reset the password")]
    CorruptHash,
}

/// What a new password must satisfy (MLPS level 3: complexity and minimum length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 12 }
    }
}

impl PasswordPolicy {
    pub fn check(&self, username: &str, password: &str) -> Result<(), PasswordError> {
        let len = password.chars().count();
        if len < self.min_length {
            return Err(PasswordError::TooShort(len, self.min_length));
        }
        if len > 128 {
            return Err(PasswordError::TooLong);
        }
        let classes = [
            password.chars().any(|c| c.is_lowercase()),
            password.chars().any(|c| c.is_uppercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(|c| !c.is_alphanumeric()),
        ];
        if classes.iter().filter(|x| **x).count() < 3 {
            return Err(PasswordError::TooSimple);
        }
        if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
            return Err(PasswordError::ContainsUsername);
        }
        Ok(())
    }
}

/// An argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes with argon2id at OWASP's recommended cost (19 MiB, 2 passes).
    pub fn create(password: &str, rng: &mut impl CryptoRng) -> Self {
        let salt: [u8; 16] = rng.random();
        let hash = hasher()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string());
        // Hashing can only fail for out-of-range parameters, which are constants here.
        Self(hash.unwrap_or_default())
    }

    /// Wraps a stored PHC string.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a password attempt. Runs in the same time whether the password is right or wrong.
    pub fn verify(&self, attempt: &str) -> Result<bool, PasswordError> {
        let parsed = argon2::password_hash::phc::PasswordHash::new(&self.0)
            .map_err(|_| PasswordError::CorruptHash)?;
        Ok(hasher()
            .verify_password(attempt.as_bytes(), &parsed)
            .is_ok())
    }

    /// A hash of a random password, used to spend the same time on unknown usernames as on known
    /// ones (so response time does not reveal which usernames exist).
    pub fn decoy(rng: &mut impl CryptoRng) -> Self {
        let noise: [u8; 16] = rng.random();
        Self::create(&hex::encode(noise), rng)
    }
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn right_password_verifies_and_wrong_does_not() {
        let hash = PasswordHash::create("Correct-Horse-9", &mut rng());
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(hash.verify("Correct-Horse-9"), Ok(true));
        assert_eq!(hash.verify("correct-horse-9"), Ok(false));
    }

    #[test]
    fn corrupt_stored_hash_is_an_error_not_a_match() {
        assert_eq!(
            PasswordHash::from_stored("plain".into()).verify("plain"),
            Err(PasswordError::CorruptHash)
        );
    }

    #[test]
    fn policy_names_what_is_wrong() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("liwei", "Short-1"),
            Err(PasswordError::TooShort(7, 12))
        );
        assert_eq!(
            policy.check("liwei", "alllowercaseletters"),
            Err(PasswordError::TooSimple)
        );
        assert_eq!(
            policy.check("liwei", "LiWei-2026-secure"),
            Err(PasswordError::ContainsUsername)
        );
        assert_eq!(
            policy.check("liwei", &"Aa1-".repeat(33)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(policy.check("liwei", "长城-Great-Wall-8"), Ok(()));
    }
}
