//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of clock skew either way).
//!
//! `verify` returns the time step the code belongs to; callers store the last accepted step and
//! refuse a code from the same or an earlier step, so an observed code cannot be replayed.

use rand::{CryptoRng, RngExt};
use totp_rs::{Algorithm, Builder, Secret, Totp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the stored TOTP secret is unreadable; renew the second factor")]
    CorruptSecret,
}

/// A TOTP shared secret, base32 as authenticator apps expect. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(String);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let bytes: [u8; 20] = rng.random();
        Self(Secret::from(bytes).to_base32())
    }

    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let secret = Self(text.trim().to_ascii_uppercase());
        secret.totp("x")?;
        Ok(secret)
    }

    pub fn base32(&self) -> &str {
        &self.0
    }

    fn totp(&self, account: &str) -> Result<Totp, TotpError> {
        let secret = Secret::try_from_base32(&self.0).map_err(|_| TotpError::CorruptSecret)?;
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(secret)
            .with_issuer(Some("shuyu"))
            .with_account_name(account)
            .build()
            .map_err(|_| TotpError::CorruptSecret)
    }

    /// The code valid at `unix_seconds` (for `shuyu demo code USER` and tests).
    pub fn code_at(&self, unix_seconds: u64) -> Result<String, TotpError> {
        Ok(self.totp("x")?.generate(unix_seconds).to_string())
    }

    /// The time step of `code` if it is valid at `unix_seconds` (±1 step).
    pub fn verify(&self, code: &str, unix_seconds: u64) -> Result<Option<u64>, TotpError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        Ok(self.totp("x")?.check(&code, unix_seconds))
    }

    /// `otpauth://` URI for enrolling an authenticator app.
    pub fn otpauth_uri(&self, account: &str) -> Result<String, TotpError> {
        self.totp(account)?
            .to_url()
            .map_err(|_| TotpError::CorruptSecret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s gives 94287082 (8 digits); the
        // 6-digit code is its last six digits.
        let secret = TotpSecret(Secret::from(*b"12345678901234567890").to_base32());
        assert_eq!(secret.code_at(59).unwrap(), "287082");
        assert_eq!(secret.verify("287 082", 59).unwrap(), Some(1));
        assert_eq!(
            secret.verify("287082", 59 + 30).unwrap(),
            Some(1),
            "one step of skew is accepted"
        );
        assert_eq!(
            secret.verify("287082", 59 + 90).unwrap(),
            None,
            "older codes are not"
        );
    }

    #[test]
    fn generated_secrets_produce_codes_an_app_would_show() {
        let secret = TotpSecret::generate(&mut rand::rngs::StdRng::seed_from_u64(3));
        let code = secret.code_at(1_700_000_000).unwrap();
        assert_eq!(code.len(), 6);
        assert!(secret.verify(&code, 1_700_000_010).unwrap().is_some());
        let uri = secret.otpauth_uri("li.wei").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/shuyu:li.wei?") && uri.contains("secret="),
            "{uri}"
        );
        assert!(TotpSecret::from_base32("not base32 !!").is_err());
    }
}
