//! The key hierarchy: a [`MasterKey`] from the configuration wraps one random [`DataKey`] per
//! dataset into a [`WrappedKey`] that the database stores; the data key encrypts the files.
//! Rotating the master key re-wraps data keys ([`rewrap`]) and never touches the files.
//!
//! Key bytes never leave this module except through [`MasterKey::expose_hex`] (for the CLI that
//! generates a key), never appear in `Debug` output or errors, and are zeroized on drop.
//!
//! ## Wrapped key layout (version 1, 61 bytes, stored as `syk1.` + unpadded base64url)
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 1  | version, `1` |
//! | 1  | 8  | master key id ([`MasterKey::key_id`]) |
//! | 9  | 8  | data key id ([`DataKey::key_id`]) |
//! | 17 | 12 | random nonce |
//! | 29 | 16 | SM4-GCM ciphertext of the data key |
//! | 45 | 16 | GCM tag; AAD = `"shuyu wrapped data key v1"` ‖ bytes 0..17 |

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::CryptoRng;
use sm3::{Digest, Sm3};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{CryptoError, Sm4Gcm};

/// Bytes in an SM4 key.
pub const KEY_LEN: usize = 16;
/// Bytes in a [`KeyId`].
pub const KEY_ID_LEN: usize = 8;

const MASTER_ID_LABEL: &[u8] = b"shuyu master key id v1\0";
const DATA_ID_LABEL: &[u8] = b"shuyu data key id v1\0";
const WRAP_AAD_LABEL: &[u8] = b"shuyu wrapped data key v1";
const WRAPPED_PREFIX: &str = "syk1.";
const WRAPPED_VERSION: u8 = 1;
const WRAPPED_LEN: usize = 61;
const WRAPPED_HEAD_LEN: usize = 17;
const NONCE_LEN: usize = 12;

/// A short public fingerprint of a key: the first 8 bytes of SM3(label ‖ key), shown as 16 hex
/// digits. Lets a reader name the key a file or wrapped key needs before trying to decrypt.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KEY_ID_LEN]);

impl KeyId {
    /// The id's bytes, as stored in file headers and wrapped keys.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; KEY_ID_LEN] {
        self.0
    }

    pub(crate) const fn from_bytes(bytes: [u8; KEY_ID_LEN]) -> Self {
        Self(bytes)
    }

    fn of(label: &[u8], key: &[u8; KEY_LEN]) -> Self {
        let digest = Sm3::new().chain_update(label).chain_update(key).finalize();
        let mut id = [0; KEY_ID_LEN];
        for (dst, src) in id.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Domain separation of [`MasterKey::derive_secret`].
const DERIVE_LABEL: &[u8] = b"shuyu-crypto/derived-secret\0";

/// The platform's 128-bit SM4 master key, read from the configuration or the environment. It only
/// wraps data keys; it never encrypts data.
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    /// A fresh random master key (for `shuyu keygen`-style commands).
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = [0; KEY_LEN];
        rng.fill_bytes(&mut key);
        Self(key)
    }

    /// Parses 32 hex digits, or standard or URL-safe base64 (padded or not) of 16 bytes; surrounding
    /// whitespace is ignored. The error never repeats the text, which may be a mistyped key.
    ///
    /// # Errors
    /// [`CryptoError::KeyFormat`] when the text is neither.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let mut key = [0; KEY_LEN];
        if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(text, &mut key).map_err(|_| key_format(text))?;
            return Ok(Self(key));
        }
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            if let Ok(bytes) = engine.decode(text) {
                let bytes = Zeroizing::new(bytes);
                if bytes.len() == KEY_LEN {
                    key.copy_from_slice(&bytes);
                    return Ok(Self(key));
                }
            }
        }
        Err(key_format(text))
    }

    /// The key's public fingerprint.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        KeyId::of(MASTER_ID_LABEL, &self.0)
    }

    /// A 256-bit secret derived from this key for one purpose: HMAC-SM3 keyed by the master key
    /// over a domain-separation label, `purpose` and `context` (e.g. a grant id). The same inputs
    /// give the same secret; another master key (after rotation) gives another one. Never a key
    /// that encrypts data.
    #[must_use]
    pub fn derive_secret(&self, purpose: &[u8], context: &[u8]) -> Zeroizing<[u8; 32]> {
        use hmac::Mac;
        let mut out = Zeroizing::new([0; 32]);
        if let Ok(mut mac) = <hmac::Hmac<Sm3> as hmac::KeyInit>::new_from_slice(&self.0) {
            mac.update(DERIVE_LABEL);
            mac.update(&(purpose.len() as u64).to_be_bytes());
            mac.update(purpose);
            mac.update(context);
            let mut digest = mac.finalize().into_bytes();
            for (dst, src) in out.iter_mut().zip(digest.iter()) {
                *dst = *src;
            }
            digest.as_mut_slice().zeroize();
        }
        out
    }

    /// The key as 32 lowercase hex digits, for printing a freshly generated key once.
    #[must_use]
    pub fn expose_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// Wraps a data key under this master key with a fresh random nonce.
    ///
    /// # Errors
    /// Never in practice (SM4-GCM rejects only messages longer than 64 GiB); returns
    /// [`CryptoError::CorruptWrappedKey`] if the cipher refuses.
    pub fn wrap(
        &self,
        data_key: &DataKey,
        rng: &mut impl CryptoRng,
    ) -> Result<WrappedKey, CryptoError> {
        let mut bytes = [0; WRAPPED_LEN];
        let (head, rest) = bytes.split_at_mut(WRAPPED_HEAD_LEN);
        let (nonce, body) = rest.split_at_mut(NONCE_LEN);
        let (ciphertext, tag_out) = body.split_at_mut(KEY_LEN);
        write_head(head, self.key_id(), data_key.key_id());
        rng.fill_bytes(nonce);
        let aad = wrap_aad(head);
        let cipher = self.cipher();
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(&*nonce)
            .map_err(|_| CryptoError::CorruptWrappedKey)?;
        let tag = cipher
            .encrypt_inout_detached(
                &nonce,
                &aad,
                InOutBuf::new(&data_key.0[..], ciphertext)
                    .map_err(|_| CryptoError::CorruptWrappedKey)?,
            )
            .map_err(|_| CryptoError::CorruptWrappedKey)?;
        tag_out.copy_from_slice(&tag);
        Ok(WrappedKey(bytes))
    }

    /// Opens a wrapped data key.
    ///
    /// # Errors
    /// - [`CryptoError::WrongMasterKey`] when the key was wrapped under another master key (found
    ///   by id before any decryption);
    /// - [`CryptoError::CorruptWrappedKey`] when the wrapped key was altered.
    pub fn unwrap(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        let expected_id = wrapped.master_key_id();
        let got_id = self.key_id();
        if expected_id != got_id {
            return Err(CryptoError::WrongMasterKey {
                expected_id,
                got_id,
            });
        }
        let (head, rest) = wrapped.0.split_at(WRAPPED_HEAD_LEN);
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let (ciphertext, tag) = body.split_at(KEY_LEN);
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(nonce)
            .map_err(|_| CryptoError::CorruptWrappedKey)?;
        let tag = aes_gcm::Tag::try_from(tag).map_err(|_| CryptoError::CorruptWrappedKey)?;
        let mut key = DataKey([0; KEY_LEN]);
        self.cipher()
            .decrypt_inout_detached(
                &nonce,
                &wrap_aad(head),
                InOutBuf::new(ciphertext, &mut key.0[..])
                    .map_err(|_| CryptoError::CorruptWrappedKey)?,
                &tag,
            )
            .map_err(|_| CryptoError::CorruptWrappedKey)?;
        if key.key_id() != wrapped.data_key_id() {
            return Err(CryptoError::CorruptWrappedKey);
        }
        Ok(key)
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new(&self.0.into())
    }
}

/// Re-wraps a data key from the old master key to the new one, for master key rotation. The data
/// key, and so every file encrypted with it, stays the same.
///
/// # Errors
/// As [`MasterKey::unwrap`] with the old key.
pub fn rewrap(
    old: &MasterKey,
    new: &MasterKey,
    wrapped: &WrappedKey,
    rng: &mut impl CryptoRng,
) -> Result<WrappedKey, CryptoError> {
    let data_key = old.unwrap(wrapped)?;
    new.wrap(&data_key, rng)
}

impl FromStr for MasterKey {
    type Err = CryptoError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id {})", self.key_id())
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for MasterKey {}

/// A dataset's 128-bit SM4 data key. Exists in memory only: stored as a [`WrappedKey`].
pub struct DataKey([u8; KEY_LEN]);

impl DataKey {
    /// A fresh random data key.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = [0; KEY_LEN];
        rng.fill_bytes(&mut key);
        Self(key)
    }

    /// The key's public fingerprint, written in every file header it encrypts.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        KeyId::of(DATA_ID_LABEL, &self.0)
    }

    pub(crate) const fn secret(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey(id {})", self.key_id())
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for DataKey {}

/// A data key encrypted under a master key; safe to store in the database. `Display` and
/// `FromStr` use the compact text form `syk1.<base64url>` (87 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey([u8; WRAPPED_LEN]);

impl WrappedKey {
    /// The master key that opens this wrapped key.
    #[must_use]
    pub fn master_key_id(&self) -> KeyId {
        KeyId(id_at(&self.0, 1))
    }

    /// The data key inside, as named in the headers of its files.
    #[must_use]
    pub fn data_key_id(&self) -> KeyId {
        KeyId(id_at(&self.0, 1 + KEY_ID_LEN))
    }

    /// The binary form (61 bytes).
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; WRAPPED_LEN] {
        &self.0
    }

    /// Reads the binary form.
    ///
    /// # Errors
    /// [`CryptoError::WrappedKeyFormat`] for a wrong length or an unknown version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: [u8; WRAPPED_LEN] = bytes.try_into().map_err(|_| {
            CryptoError::WrappedKeyFormat(format!("{} bytes, expected {WRAPPED_LEN}", bytes.len()))
        })?;
        match bytes.first() {
            Some(&WRAPPED_VERSION) => Ok(Self(bytes)),
            other => Err(CryptoError::WrappedKeyFormat(format!(
                "unknown version {}",
                other.copied().unwrap_or_default()
            ))),
        }
    }
}

impl fmt::Display for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{WRAPPED_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WrappedKey(data key {} under master key {})",
            self.data_key_id(),
            self.master_key_id()
        )
    }
}

impl FromStr for WrappedKey {
    type Err = CryptoError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let body = text.strip_prefix(WRAPPED_PREFIX).ok_or_else(|| {
            CryptoError::WrappedKeyFormat(format!("does not start with {WRAPPED_PREFIX:?}"))
        })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::WrappedKeyFormat("not base64url".to_owned()))?;
        Self::from_bytes(&bytes)
    }
}

fn key_format(text: &str) -> CryptoError {
    CryptoError::KeyFormat(format!(
        "expected a 128-bit key as 32 hex digits or base64 of 16 bytes, got {} characters that are neither",
        text.chars().count()
    ))
}

fn write_head(head: &mut [u8], master: KeyId, data: KeyId) {
    for (dst, src) in head
        .iter_mut()
        .zip([WRAPPED_VERSION].iter().chain(&master.0).chain(&data.0))
    {
        *dst = *src;
    }
}

fn wrap_aad(head: &[u8]) -> Vec<u8> {
    [WRAP_AAD_LABEL, head].concat()
}

fn id_at(bytes: &[u8], at: usize) -> [u8; KEY_ID_LEN] {
    let mut id = [0; KEY_ID_LEN];
    if let Some(src) = bytes.get(at..at + KEY_ID_LEN) {
        id.copy_from_slice(src);
    }
    id
}
