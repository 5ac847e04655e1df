//! The key ring: the master key (from the configuration or `SHUYU_MASTER_KEY`), creating one data
//! key per dataset and handing back its wrapped text for the database, opening wrapped keys, and
//! master key rotation by re-wrapping (no file is re-encrypted).
//!
//! This module must never print or return key material except as a [`WrappedKey`] text.

use std::fmt;

use rand::CryptoRng;
use shuyu_crypto::{CryptoError, DataKey, MasterKey, WrappedKey};

/// The environment variable holding the master key (32 hex digits or base64 of 16 bytes).
pub const MASTER_KEY_ENV: &str = "SHUYU_MASTER_KEY";

/// What goes wrong with keys. Messages name the key by its public id, never its bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Neither the configuration nor the environment gives a master key.
    #[error(
        "no master key is configured: set `master_key` in the configuration or the {MASTER_KEY_ENV} environment variable (32 hex digits)"
    )]
    MissingMasterKey,
    /// The master key text is malformed, or a wrapped key is wrong for this master key.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Holds the master key and manages data keys under it.
pub struct KeyRing {
    master: MasterKey,
}

impl KeyRing {
    /// A key ring over an already parsed master key.
    #[must_use]
    pub const fn new(master: MasterKey) -> Self {
        Self { master }
    }

    /// The master key from the configuration's text if given, else from the environment's text
    /// (the caller reads [`MASTER_KEY_ENV`]; see [`KeyRing::from_env`]).
    ///
    /// # Errors
    /// [`KeyError::MissingMasterKey`] when neither is set (or both are blank), or
    /// [`CryptoError::KeyFormat`] when the text is malformed.
    pub fn from_config(config: Option<&str>, env: Option<&str>) -> Result<Self, KeyError> {
        let text = config
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .or_else(|| env.map(str::trim).filter(|t| !t.is_empty()))
            .ok_or(KeyError::MissingMasterKey)?;
        Ok(Self::new(MasterKey::parse(text)?))
    }

    /// As [`KeyRing::from_config`] with the environment variable [`MASTER_KEY_ENV`].
    ///
    /// # Errors
    /// As [`KeyRing::from_config`].
    pub fn from_env(config: Option<&str>) -> Result<Self, KeyError> {
        let env = std::env::var(MASTER_KEY_ENV).ok();
        Self::from_config(config, env.as_deref())
    }

    /// The master key's public id (stored beside what it wraps).
    #[must_use]
    pub fn master_key_id(&self) -> String {
        self.master.key_id().to_string()
    }

    /// A new random data key for a dataset, and its wrapped text to store in the database.
    ///
    /// # Errors
    /// Only if the cipher refuses (never in practice).
    pub fn new_data_key(
        &self,
        rng: &mut impl CryptoRng,
    ) -> Result<(DataKey, WrappedKey), KeyError> {
        let key = DataKey::generate(rng);
        let wrapped = self.master.wrap(&key, rng)?;
        Ok((key, wrapped))
    }

    /// Opens a wrapped data key (its text form, as stored).
    ///
    /// # Errors
    /// [`CryptoError::WrappedKeyFormat`] for malformed text, [`CryptoError::WrongMasterKey`]
    /// (naming both key ids) for a key wrapped under another master key, or
    /// [`CryptoError::CorruptWrappedKey`] when it was altered.
    /// A secret derived from the master key for `purpose` and `context` (see
    /// [`MasterKey::derive_secret`]): stable while the master key is, never stored.
    #[must_use]
    pub fn derive_secret(&self, purpose: &[u8], context: &[u8]) -> zeroize::Zeroizing<[u8; 32]> {
        self.master.derive_secret(purpose, context)
    }

    pub fn data_key(&self, wrapped: &str) -> Result<DataKey, KeyError> {
        let wrapped: WrappedKey = wrapped.trim().parse()?;
        Ok(self.master.unwrap(&wrapped)?)
    }

    /// Re-wraps a data key from this master key to `new` (master key rotation); returns the new
    /// wrapped text. The data key — and every file under it — stays the same.
    ///
    /// # Errors
    /// As [`KeyRing::data_key`].
    pub fn rotate(
        &self,
        new: &Self,
        wrapped: &str,
        rng: &mut impl CryptoRng,
    ) -> Result<String, KeyError> {
        let wrapped: WrappedKey = wrapped.trim().parse()?;
        let rewrapped = shuyu_crypto::rewrap(&self.master, &new.master, &wrapped, rng)?;
        Ok(rewrapped.to_string())
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("master_key_id", &self.master.key_id())
            .finish()
    }
}
