//! SM2-signed checkpoints over the chain head, and the platform's audit signing key.
//!
//! Must never: sign anything but a checkpoint message with the audit key, log or `Debug`-print the
//! secret key, or read randomness from anywhere but the RNG passed in.
//!
//! ## Formats
//!
//! - Signatures use SM2 (GB/T 32918.2) with the standard distinguishing ID [`DIST_ID`]
//!   `"1234567812345678"` (GM/T 0009), so other SM2 tools verify them without extra settings.
//!   They are stored as the raw 64 bytes `r || s` (each 32 bytes big-endian), not DER;
//!   `sm2::dsa::Signature::from_slice(..)?.to_der()` converts for tools that want DER.
//! - The signed message is `CHECKPOINT_TAG || seq (u64 BE) || hash (32 bytes) || at_micros (i64 BE)
//!   || len(key_id) (u32 BE) || key_id`.
//! - Signing is deterministic (RFC 6979 nonces over SM3), so it needs no RNG and the same checkpoint
//!   always gets the same signature.
//! - The secret key is PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, id-ecPublicKey with the SM2 curve
//!   OID 1.2.156.10197.1.301), as written by `openssl genpkey -algorithm SM2`; the public key is
//!   SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
//! - A key id is the first 8 bytes of SM3 over the uncompressed SEC1 public key (`04 || x || y`), as
//!   16 lower-case hex digits. It only selects a key; the signature is what proves anything.

use core::fmt;

use sm2::dsa::signature::{RandomizedSigner, Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::Generate;
use sm2::elliptic_curve::rand_core::{CryptoRng, Infallible, TryCryptoRng, TryRng};
use sm2::elliptic_curve::zeroize::Zeroizing;
use sm2::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use sm2::{PublicKey, SecretKey};
use sm3::{Digest, Sm3};

use crate::{AuditError, Break, ChainHead, Hash};

/// The SM2 distinguishing identifier: the GM/T 0009 default.
pub const DIST_ID: &str = "1234567812345678";

/// Domain tag in front of every signed checkpoint message.
pub const CHECKPOINT_TAG: &[u8] = b"shuyu-audit-checkpoint-v1";

/// A signed statement "the chain had `hash` at `seq`, at time `at_micros`".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Seq of the event the checkpoint covers (0 covers the empty chain).
    pub seq: u64,
    /// Hash of that event.
    pub hash: Hash,
    /// When it was signed, unix microseconds UTC.
    pub at_micros: i64,
    /// Key id of the signing key, see [`AuditVerifier::key_id`].
    pub key_id: String,
    /// SM2 signature, 64 bytes `r || s`.
    pub signature: Vec<u8>,
}

/// The bytes an SM2 checkpoint signature covers.
#[must_use]
pub fn checkpoint_message(seq: u64, hash: &Hash, at_micros: i64, key_id: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + 8 + 32 + 8 + 4 + key_id.len());
    m.extend_from_slice(CHECKPOINT_TAG);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&at_micros.to_be_bytes());
    // Key ids we make are 16 bytes; a longer one cannot verify, so saturating is harmless.
    let len = u32::try_from(key_id.len()).unwrap_or(u32::MAX);
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(key_id.as_bytes());
    m
}

/// The platform's audit signing key. `Debug` shows only the key id.
#[derive(Clone)]
pub struct AuditSigner {
    key: SigningKey,
    verifier: AuditVerifier,
}

impl AuditSigner {
    /// A new random key from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        loop {
            // Rejection sampling: the one scalar SM2 cannot use (d = n - 1) is drawn again.
            let secret = SecretKey::generate_from_rng(rng);
            if let Ok(signer) = Self::from_secret(&secret) {
                return signer;
            }
        }
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// [`AuditError::KeyFormat`] if it is not an SM2 private key in that format.
    pub fn from_pem(pem: &str) -> Result<Self, AuditError> {
        let secret = SecretKey::from_pkcs8_pem(pem)
            .map_err(|e| AuditError::KeyFormat(format!("private key: {e}")))?;
        Self::from_secret(&secret)
    }

    /// Writes the private key as PKCS#8 PEM; the text is wiped from memory when dropped.
    ///
    /// # Errors
    /// [`AuditError::KeyFormat`] if encoding fails (it does not for a valid key).
    pub fn to_pem(&self) -> Result<Zeroizing<String>, AuditError> {
        SecretKey::from(self.key.as_nonzero_scalar())
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| AuditError::KeyFormat(format!("private key: {e}")))
    }

    fn from_secret(secret: &SecretKey) -> Result<Self, AuditError> {
        let key = SigningKey::new(DIST_ID, secret)
            .map_err(|_| AuditError::KeyFormat("not a usable SM2 signing key".into()))?;
        let verifier = AuditVerifier::from_key(key.verifying_key().clone());
        Ok(Self { key, verifier })
    }

    /// The matching public key.
    #[must_use]
    pub fn verifier(&self) -> AuditVerifier {
        self.verifier.clone()
    }

    /// Key id of the matching public key.
    #[must_use]
    pub fn key_id(&self) -> &str {
        self.verifier.key_id()
    }

    /// Signs the chain as it stands at `head`.
    #[must_use]
    pub fn sign_checkpoint(&self, head: &ChainHead, at_micros: i64) -> Checkpoint {
        let key_id = self.key_id().to_owned();
        let message = checkpoint_message(head.seq, &head.hash, at_micros, &key_id);
        Checkpoint {
            seq: head.seq,
            hash: head.hash,
            at_micros,
            key_id,
            signature: self.sign(&message).to_vec(),
        }
    }

    fn sign(&self, message: &[u8]) -> Signature {
        let mut attempt = 0_u32;
        loop {
            // Plain RFC 6979 fails for about one message in 2^32 (a nonce out of range); then the
            // nonce derivation is re-run with the attempt number as RFC 6979 "additional data".
            if let Some(signature) = self.sign_attempt(message, attempt) {
                return signature;
            }
            attempt = attempt.wrapping_add(1);
        }
    }

    fn sign_attempt(&self, message: &[u8], attempt: u32) -> Option<Signature> {
        if attempt == 0 {
            self.key.try_sign(message).ok()
        } else {
            self.key
                .try_sign_with_rng(&mut RetryData(attempt), message)
                .ok()
        }
    }
}

impl fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditSigner")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// Deterministic extra input for RFC 6979 on a retry. It is not a source of secrecy: the nonce stays
/// secret because RFC 6979 derives it from the secret key; this only makes each retry different.
struct RetryData(u32);

impl TryRng for RetryData {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for (i, chunk) in (0_u32..).zip(dst.chunks_mut(32)) {
            let block = Sm3::new()
                .chain_update(b"shuyu-audit-sign-retry")
                .chain_update(self.0.to_be_bytes())
                .chain_update(i.to_be_bytes())
                .finalize();
            for (d, s) in chunk.iter_mut().zip(block.iter()) {
                *d = *s;
            }
        }
        Ok(())
    }
}

impl TryCryptoRng for RetryData {}

/// A trusted audit public key.
#[derive(Clone)]
pub struct AuditVerifier {
    key: VerifyingKey,
    key_id: String,
}

impl AuditVerifier {
    /// Reads a SubjectPublicKeyInfo PEM public key (`-----BEGIN PUBLIC KEY-----`).
    ///
    /// # Errors
    /// [`AuditError::KeyFormat`] if it is not an SM2 public key in that format.
    pub fn from_pem(pem: &str) -> Result<Self, AuditError> {
        let public = PublicKey::from_public_key_pem(pem)
            .map_err(|e| AuditError::KeyFormat(format!("public key: {e}")))?;
        Self::from_public(public)
    }

    /// Reads a SEC1-encoded public key (compressed or uncompressed).
    ///
    /// # Errors
    /// [`AuditError::KeyFormat`] if the bytes are not a point on the SM2 curve.
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, AuditError> {
        let public = PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| AuditError::KeyFormat("public key: not an SM2 SEC1 point".into()))?;
        Self::from_public(public)
    }

    fn from_public(public: PublicKey) -> Result<Self, AuditError> {
        VerifyingKey::new(DIST_ID, public)
            .map(Self::from_key)
            .map_err(|_| AuditError::KeyFormat("public key: not usable for SM2".into()))
    }

    fn from_key(key: VerifyingKey) -> Self {
        let digest = Sm3::digest(key.to_sec1_bytes());
        let key_id = hex::encode(digest.get(..8).unwrap_or_default());
        Self { key, key_id }
    }

    /// Writes the public key as SubjectPublicKeyInfo PEM.
    ///
    /// # Errors
    /// [`AuditError::KeyFormat`] if encoding fails (it does not for a valid key).
    pub fn to_pem(&self) -> Result<String, AuditError> {
        PublicKey::from(&self.key)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| AuditError::KeyFormat(format!("public key: {e}")))
    }

    /// The uncompressed SEC1 public key, `04 || x || y`.
    #[must_use]
    pub fn to_sec1_bytes(&self) -> Vec<u8> {
        self.key.to_sec1_bytes().into_vec()
    }

    /// 16 hex digits naming this key; see the module header.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Checks that `checkpoint` names this key and that its signature verifies. It does not check
    /// the checkpoint against any chain: [`ChainVerifier`](crate::ChainVerifier) does that.
    ///
    /// # Errors
    /// [`Break::UnknownKey`] if it names another key, [`Break::BadSignature`] if the signature is
    /// malformed or does not verify.
    pub fn verify_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), Break> {
        if checkpoint.key_id != self.key_id {
            return Err(Break::UnknownKey {
                seq: checkpoint.seq,
                key_id: checkpoint.key_id.clone(),
            });
        }
        let bad = || Break::BadSignature {
            seq: checkpoint.seq,
        };
        let signature = Signature::from_slice(&checkpoint.signature).map_err(|_| bad())?;
        let message = checkpoint_message(
            checkpoint.seq,
            &checkpoint.hash,
            checkpoint.at_micros,
            &checkpoint.key_id,
        );
        self.key.verify(&message, &signature).map_err(|_| bad())
    }
}

impl fmt::Debug for AuditVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditVerifier")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl PartialEq for AuditVerifier {
    fn eq(&self, other: &Self) -> bool {
        self.to_sec1_bytes() == other.to_sec1_bytes()
    }
}

impl Eq for AuditVerifier {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn signer(seed: u64) -> AuditSigner {
        AuditSigner::generate(&mut StdRng::seed_from_u64(seed))
    }

    fn head() -> ChainHead {
        ChainHead {
            seq: 10,
            hash: [7; 32],
        }
    }

    #[test]
    fn a_signed_checkpoint_verifies_with_the_matching_key() {
        let s = signer(1);
        let cp = s.sign_checkpoint(&head(), 1_000);
        assert_eq!((cp.seq, cp.hash, cp.at_micros), (10, [7; 32], 1_000));
        assert_eq!(cp.signature.len(), 64);
        assert_eq!(cp.key_id.len(), 16);
        s.verifier().verify_checkpoint(&cp).unwrap();
    }

    #[test]
    fn signing_is_deterministic() {
        let s = signer(1);
        assert_eq!(
            s.sign_checkpoint(&head(), 1_000),
            s.sign_checkpoint(&head(), 1_000)
        );
    }

    #[test]
    fn every_signed_field_is_covered_by_the_signature() {
        let s = signer(1);
        let v = s.verifier();
        let cp = s.sign_checkpoint(&head(), 1_000);
        let edits: [fn(&mut Checkpoint); 3] =
            [|c| c.seq += 1, |c| c.hash[31] ^= 1, |c| c.at_micros += 1];
        for edit in edits {
            let mut c = cp.clone();
            edit(&mut c);
            assert_eq!(
                v.verify_checkpoint(&c),
                Err(Break::BadSignature { seq: c.seq })
            );
        }
    }

    #[test]
    fn retried_signatures_verify_and_differ_per_attempt() {
        let s = signer(1);
        let message = checkpoint_message(3, &[1; 32], 5, s.key_id());
        let first = s.sign_attempt(&message, 1).unwrap();
        let second = s.sign_attempt(&message, 2).unwrap();
        assert_ne!(first, second);
        for sig in [first, second] {
            s.verifier().key.verify(&message, &sig).unwrap();
        }
    }

    #[test]
    fn keys_round_trip_through_pem() {
        let s = signer(2);
        let pem = s.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = AuditSigner::from_pem(&pem).unwrap();
        assert_eq!(back.key_id(), s.key_id());
        assert_eq!(
            back.sign_checkpoint(&head(), 9),
            s.sign_checkpoint(&head(), 9)
        );

        let public = s.verifier().to_pem().unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        let v = AuditVerifier::from_pem(&public).unwrap();
        assert_eq!(v, s.verifier());
        assert_eq!(v.key_id(), s.key_id());
        assert_eq!(
            AuditVerifier::from_sec1_bytes(&v.to_sec1_bytes()).unwrap(),
            v
        );
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(AuditSigner::from_pem("not a key").is_err());
        assert!(AuditVerifier::from_pem("not a key").is_err());
        assert!(AuditVerifier::from_sec1_bytes(&[4; 65]).is_err());
        // A public key is not a private key and vice versa.
        let s = signer(3);
        assert!(AuditSigner::from_pem(&s.verifier().to_pem().unwrap()).is_err());
        assert!(AuditVerifier::from_pem(&s.to_pem().unwrap()).is_err());
    }

    #[test]
    fn debug_output_shows_no_secret() {
        let s = signer(4);
        let text = format!("{s:?}");
        assert!(text.contains(s.key_id()));
        let secret_hex = hex::encode(s.key.to_bytes());
        assert!(!text.contains(&secret_hex));
    }

    #[test]
    fn key_id_is_sm3_of_the_uncompressed_public_key() {
        let v = signer(5).verifier();
        let sec1 = v.to_sec1_bytes();
        assert_eq!(sec1.len(), 65);
        assert_eq!(v.key_id(), &hex::encode(Sm3::digest(&sec1))[..16]);
    }
}
