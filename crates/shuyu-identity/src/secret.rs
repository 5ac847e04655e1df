//! Opaque bearer secrets (session cookies, API tokens) and the digests under which they are stored.
//!
//! A secret is 32 random bytes, shown once to its holder; the database keeps only its SM3 digest, so
//! a copy of the database grants no access.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{CryptoRng, RngExt};
use sm3::{Digest, Sm3};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Session,
    Csrf,
    ApiToken,
}

impl SecretKind {
    const fn prefix(self) -> &'static str {
        match self {
            SecretKind::Session => "sys_",
            SecretKind::Csrf => "syc_",
            SecretKind::ApiToken => "syt_",
        }
    }
}

/// The secret itself. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueSecret(String);

impl OpaqueSecret {
    pub fn generate(kind: SecretKind, rng: &mut impl CryptoRng) -> Self {
        let bytes: [u8; 32] = rng.random();
        Self(format!(
            "{}{}",
            kind.prefix(),
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// Accepts a presented secret if it has the right shape for its kind; anything else is `None`.
    pub fn parse(kind: SecretKind, presented: &str) -> Option<Self> {
        let body = presented.trim().strip_prefix(kind.prefix())?;
        let ok = body.len() == 43 && URL_SAFE_NO_PAD.decode(body).is_ok_and(|b| b.len() == 32);
        ok.then(|| Self(presented.trim().to_owned()))
    }

    /// The text handed to the holder (cookie value, token shown once).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> SecretDigest {
        let mut hasher = Sm3::new();
        hasher.update(b"shuyu-secret-v1\0");
        hasher.update(self.0.as_bytes());
        SecretDigest(hex::encode(hasher.finalize()))
    }

    /// A short public hint for listing tokens ("syt_Ab3d…"), safe to show.
    pub fn hint(&self) -> String {
        self.0.chars().take(8).collect::<String>() + "…"
    }
}

impl fmt::Debug for OpaqueSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueSecret(..)")
    }
}

/// The SM3 digest of a secret, hex-encoded: what the database stores and looks up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretDigest(String);

impl SecretDigest {
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn secrets_round_trip_only_with_their_own_kind() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let token = OpaqueSecret::generate(SecretKind::ApiToken, &mut rng);
        assert!(token.expose().starts_with("syt_"));
        assert_eq!(
            OpaqueSecret::parse(SecretKind::ApiToken, token.expose()),
            Some(token.clone())
        );
        assert_eq!(
            OpaqueSecret::parse(SecretKind::Session, token.expose()),
            None
        );
        assert_eq!(OpaqueSecret::parse(SecretKind::ApiToken, "syt_short"), None);
        assert_eq!(format!("{token:?}"), "OpaqueSecret(..)");
    }

    #[test]
    fn digests_differ_per_secret_and_hide_it() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let a = OpaqueSecret::generate(SecretKind::Session, &mut rng);
        let b = OpaqueSecret::generate(SecretKind::Session, &mut rng);
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest().as_str().len(), 64);
        assert!(!a.digest().as_str().contains(&a.expose()[4..12]));
    }
}
