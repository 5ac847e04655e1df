//! The per-grant hash key and the context a rule runs in.
//!
//! The key must never be printed, serialized or left in memory: [`HashKey`] has no `Display`, no
//! serde, a redacting `Debug`, and zeroizes its bytes on drop.

use std::fmt;

use arrow_array::ArrayRef;
use chrono::NaiveDate;
use hmac::{Hmac, KeyInit, Mac};
use rand::CryptoRng;
use sm3::Sm3;
use zeroize::{Zeroize, Zeroizing};

use crate::DesensitizeError;

/// HMAC-SM3 keyed by a [`HashKey`].
pub(crate) type HmacSm3 = Hmac<Sm3>;

/// Domain separation of key derivation.
const DERIVE_LABEL: &[u8] = b"shuyu-desensitize/grant-key\0";

/// The secret key of one grant's keyed hashing and date shifting (32 bytes). Equal values hash
/// equally under one key and unrelatedly under another, so hashed columns join within a grant and
/// never across grants.
pub struct HashKey(Zeroizing<[u8; HashKey::LEN]>);

impl HashKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A key from its bytes (the caller should zeroize its own copy).
    #[must_use]
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh random key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = Zeroizing::new([0; Self::LEN]);
        rng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// A key derived from a domain secret and a context such as a grant id:
    /// HMAC-SM3(secret, label ‖ context). The same secret and context always give the same key, so
    /// a grant's key need not be stored; different contexts give unrelated keys.
    #[must_use]
    pub fn derive(secret: &[u8], context: &[u8]) -> Self {
        let mut key = Zeroizing::new([0; Self::LEN]);
        if let Ok(mut mac) = <HmacSm3 as KeyInit>::new_from_slice(secret) {
            mac.update(DERIVE_LABEL);
            mac.update(context);
            let mut digest = mac.finalize().into_bytes();
            for (dst, src) in key.iter_mut().zip(digest.iter()) {
                *dst = *src;
            }
            digest.as_mut_slice().zeroize();
        }
        Self(key)
    }

    /// HMAC-SM3 under this key, already fed `label` (domain separation between hashing and date
    /// shifting, so a hash never reveals an offset). Clone it per value.
    pub(crate) fn mac(&self, label: &[u8]) -> HmacSm3 {
        // HMAC accepts keys of any length, so this never fails; an empty key is the fallback only to
        // avoid a panic path.
        let mut mac = <HmacSm3 as KeyInit>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| <HmacSm3 as KeyInit>::new(&Default::default()));
        mac.update(label);
        mac
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(..)")
    }
}

/// What a rule may need besides the column: the grant's hash key (hashing, date shifting), the
/// privacy-unit column of the same batch (date shifting) and the reference date of ages (age bands of
/// birth dates). Rules that need none of them run with `Context::default()`.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    key: Option<&'a HashKey>,
    privacy_unit: Option<&'a ArrayRef>,
    as_of: Option<NaiveDate>,
}

/// Says what the context carries, never the key or a unit value.
impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("key", &self.key.is_some())
            .field(
                "privacy_unit_rows",
                &self.privacy_unit.map(|unit| unit.len()),
            )
            .field("as_of", &self.as_of)
            .finish()
    }
}

impl<'a> Context<'a> {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The grant's hash key.
    #[must_use]
    pub fn with_key(mut self, key: &'a HashKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The privacy-unit column (person or enterprise identifier) of the same batch, row for row.
    #[must_use]
    pub fn with_privacy_unit(mut self, column: &'a ArrayRef) -> Self {
        self.privacy_unit = Some(column);
        self
    }

    /// The date at which ages are counted (from a passed-in clock: this crate reads none).
    #[must_use]
    pub fn with_as_of(mut self, date: NaiveDate) -> Self {
        self.as_of = Some(date);
        self
    }

    pub(crate) fn key(&self, rule: &'static str) -> Result<&'a HashKey, DesensitizeError> {
        self.key.ok_or(DesensitizeError::MissingKey { rule })
    }

    pub(crate) fn privacy_unit(&self, rows: usize) -> Result<&'a ArrayRef, DesensitizeError> {
        let unit = self
            .privacy_unit
            .ok_or(DesensitizeError::MissingPrivacyUnit)?;
        if unit.len() != rows {
            return Err(DesensitizeError::PrivacyUnitLength {
                expected: rows,
                actual: unit.len(),
            });
        }
        Ok(unit)
    }

    pub(crate) fn as_of(&self, rule: &'static str) -> Result<NaiveDate, DesensitizeError> {
        self.as_of.ok_or(DesensitizeError::MissingAsOf { rule })
    }
}
