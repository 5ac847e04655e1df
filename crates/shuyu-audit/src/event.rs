//! The audit event, its canonical bytes and the SM3 hash chain that links events together.
//!
//! Must never: change the canonical encoding or a domain tag in place (every stored chain would stop
//! verifying); a new encoding gets a new version byte and a new tag. `canonical_format_is_frozen`
//! pins both.
//!
//! ## Canonical encoding, version 1
//!
//! `canonical_bytes` is the concatenation of, in this order:
//!
//! | field          | encoding                                                        |
//! |----------------|-----------------------------------------------------------------|
//! | version        | one byte, `0x01`                                                |
//! | `seq`          | u64 big-endian                                                  |
//! | `at_micros`    | i64 big-endian (two's complement)                               |
//! | `actor_person` | `0x00` for `None`, or `0x01` followed by a string               |
//! | `actor_org`    | as `actor_person`                                               |
//! | `role`, `action`, `object_type`, `object_id` | string each                       |
//! | `digest`       | 32 bytes                                                        |
//! | `request_id`, `source` | string each                                             |
//! | `outcome`      | one byte: `0` ok, `1` denied, `2` failed                        |
//! | `detail`       | string                                                          |
//!
//! A *string* is its UTF-8 length as u32 big-endian, then its bytes. A length of `0xFFFF_FFFF` or more
//! (never seen in practice) is written as `FF FF FF FF` followed by the length as u64 big-endian, so
//! encoding cannot fail. Every element is either fixed-width or length-prefixed, so the encoding is
//! prefix-free and therefore injective: no two different events share canonical bytes.
//!
//! The chained hash is `SM3(b"shuyu-audit-v1" || prev_hash || canonical_bytes)`; `prev_hash` is not
//! part of `canonical_bytes` because the formula already puts it in front.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};

use crate::AuditError;

/// An SM3 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of event 1, and the hash of the empty chain.
pub const GENESIS: Hash = [0; 32];

/// Version byte at the start of every canonical encoding.
pub const CANONICAL_VERSION: u8 = 1;

/// Domain tag in front of every chained event hash.
pub const CHAIN_TAG: &[u8] = b"shuyu-audit-v1";

/// Domain tag in front of the bytes given to [`change_digest`].
pub const CHANGE_TAG: &[u8] = b"shuyu-audit-change-v1";

/// How the audited operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The operation was carried out.
    Ok,
    /// Policy refused it.
    Denied,
    /// It was allowed but did not complete.
    Failed,
}

impl Outcome {
    /// Every outcome, in canonical-byte order.
    pub const ALL: [Self; 3] = [Self::Ok, Self::Denied, Self::Failed];

    /// The stored text: `"ok"`, `"denied"` or `"failed"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Denied => "denied",
            Self::Failed => "failed",
        }
    }

    const fn canonical_byte(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Denied => 1,
            Self::Failed => 2,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = AuditError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| AuditError::UnknownOutcome(s.to_owned()))
    }
}

/// What the caller knows before the event is chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    /// When it happened, unix microseconds UTC.
    pub at_micros: i64,
    /// Person UUID text; `None` for system or anonymous actors.
    pub actor_person: Option<String>,
    /// Organisation UUID text, if the actor acted for one.
    pub actor_org: Option<String>,
    /// The role acted in, e.g. `"authority"`, `"system"`, `"anonymous"`.
    pub role: String,
    /// What was done, e.g. `"person.create"`, `"auth.login"`.
    pub action: String,
    /// Kind of the object acted on.
    pub object_type: String,
    /// Id of the object acted on.
    pub object_id: String,
    /// SM3 of the change, see [`change_digest`].
    pub digest: Hash,
    /// Request id of the HTTP request, CLI run or job.
    pub request_id: String,
    /// Client address, e.g. `"127.0.0.1"`, or `"cli"`.
    pub source: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Short human text such as a refusal reason; never data values.
    pub detail: String,
}

/// A chained event as stored. `seq` starts at 1 and has no gaps.
///
/// The draft is kept nested rather than flattened, so a store maps `record.draft.action` etc. to its
/// columns and `seq`, `prev_hash`, `hash` to the chain columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// The event's content.
    pub draft: EventDraft,
    /// Hash of event `seq - 1`, or [`GENESIS`] for event 1.
    pub prev_hash: Hash,
    /// `SM3(CHAIN_TAG || prev_hash || canonical_bytes(self))`.
    pub hash: Hash,
}

impl EventRecord {
    /// The chain head just after this event.
    #[must_use]
    pub const fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
        }
    }

    /// The hash this record's columns call for, whatever `self.hash` says.
    #[must_use]
    pub fn computed_hash(&self) -> Hash {
        event_hash(&self.prev_hash, self.seq, &self.draft)
    }
}

/// The last event of a chain: its seq and hash. A store keeps one, updated with every append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHead {
    /// Seq of the last event; 0 for the empty chain.
    pub seq: u64,
    /// Hash of the last event; [`GENESIS`] for the empty chain.
    pub hash: Hash,
}

impl ChainHead {
    /// The head of the empty chain: `{ seq: 0, hash: GENESIS }`.
    #[must_use]
    pub const fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS,
        }
    }

    /// Chains `draft` after this head. The new head is `record.head()`; `self` is left as it was so
    /// that a store can append inside a transaction and write the new head only on commit.
    #[must_use]
    pub fn append(&self, draft: EventDraft) -> EventRecord {
        // u64 seqs do not run out; saturating keeps this panic-free and a repeated seq is then
        // reported by the verifier as a duplicate.
        let seq = self.seq.saturating_add(1);
        let hash = event_hash(&self.hash, seq, &draft);
        EventRecord {
            seq,
            draft,
            prev_hash: self.hash,
            hash,
        }
    }

    /// [`append`](Self::append), then move this head onto the new record.
    pub fn advance(&mut self, draft: EventDraft) -> EventRecord {
        let record = self.append(draft);
        *self = record.head();
        record
    }
}

/// SM3 of `CHANGE_TAG || bytes`: the digest of a change, stored in [`EventDraft::digest`]. The tag
/// keeps it apart from chain hashes and from plain SM3 digests computed elsewhere.
#[must_use]
pub fn change_digest(bytes: &[u8]) -> Hash {
    let mut hasher = Sm3::new();
    hasher.update(CHANGE_TAG);
    hasher.update(bytes);
    hasher.finalize().into()
}

/// The canonical encoding (see the module header) of a record's seq and every draft field.
#[must_use]
pub fn canonical_bytes(record: &EventRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical_len(&record.draft));
    encode_canonical(record.seq, &record.draft, &mut out);
    out
}

/// Appends the canonical encoding of `seq` and `draft` to `out` (which is not cleared), for callers
/// that reuse one buffer.
pub fn encode_canonical(seq: u64, draft: &EventDraft, out: &mut Vec<u8>) {
    out.reserve(canonical_len(draft));
    out.push(CANONICAL_VERSION);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&draft.at_micros.to_be_bytes());
    put_opt_str(out, draft.actor_person.as_deref());
    put_opt_str(out, draft.actor_org.as_deref());
    put_str(out, &draft.role);
    put_str(out, &draft.action);
    put_str(out, &draft.object_type);
    put_str(out, &draft.object_id);
    out.extend_from_slice(&draft.digest);
    put_str(out, &draft.request_id);
    put_str(out, &draft.source);
    out.push(draft.outcome.canonical_byte());
    put_str(out, &draft.detail);
}

/// The chained hash of event `seq` with content `draft` after an event hashed `prev`.
#[must_use]
pub fn event_hash(prev: &Hash, seq: u64, draft: &EventDraft) -> Hash {
    let mut buf = Vec::new();
    hash_in(&mut buf, prev, seq, draft)
}

/// Length of [`CHAIN_TAG`] plus a hash: where the canonical bytes start in [`hash_in`]'s buffer.
pub(crate) const HASH_INPUT_PREFIX: usize = CHAIN_TAG.len() + 32;

/// Hashes an event using `buf` as scratch space: afterwards `buf` holds the whole SM3 input
/// (`CHAIN_TAG || prev || canonical`), so the canonical length is `buf.len() - HASH_INPUT_PREFIX`.
/// Hashing one contiguous slice is the fastest way through the SM3 block buffer.
pub(crate) fn hash_in(buf: &mut Vec<u8>, prev: &Hash, seq: u64, draft: &EventDraft) -> Hash {
    buf.clear();
    buf.extend_from_slice(CHAIN_TAG);
    buf.extend_from_slice(prev);
    encode_canonical(seq, draft, buf);
    Sm3::digest(buf.as_slice()).into()
}

/// Escape value of the u32 length prefix, followed by a u64 length.
const LONG_LEN: u32 = u32::MAX;

fn put_str(out: &mut Vec<u8>, s: &str) {
    match u32::try_from(s.len()) {
        Ok(len) if len != LONG_LEN => out.extend_from_slice(&len.to_be_bytes()),
        _ => {
            out.extend_from_slice(&LONG_LEN.to_be_bytes());
            let len = u64::try_from(s.len()).unwrap_or(u64::MAX);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Exact canonical length for short strings (an upper bound is not needed: `reserve` is a hint).
fn canonical_len(d: &EventDraft) -> usize {
    let s = |text: &str| 4 + text.len();
    let o = |opt: &Option<String>| 1 + opt.as_deref().map_or(0, s);
    1 + 8
        + 8
        + o(&d.actor_person)
        + o(&d.actor_org)
        + s(&d.role)
        + s(&d.action)
        + s(&d.object_type)
        + s(&d.object_id)
        + 32
        + s(&d.request_id)
        + s(&d.source)
        + 1
        + s(&d.detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads canonical bytes back, failing on anything left over: a decoder that inverts the encoder
    /// proves the encoding injective.
    fn decode(mut b: &[u8]) -> Option<(u64, EventDraft)> {
        fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, tail) = b.split_at_checked(n)?;
            *b = tail;
            Some(head)
        }
        fn u8_(b: &mut &[u8]) -> Option<u8> {
            take(b, 1)?.first().copied()
        }
        fn u32_(b: &mut &[u8]) -> Option<u32> {
            Some(u32::from_be_bytes(take(b, 4)?.try_into().ok()?))
        }
        fn u64_(b: &mut &[u8]) -> Option<u64> {
            Some(u64::from_be_bytes(take(b, 8)?.try_into().ok()?))
        }
        fn str_(b: &mut &[u8]) -> Option<String> {
            let len = match u32_(b)? {
                LONG_LEN => usize::try_from(u64_(b)?).ok()?,
                n => usize::try_from(n).ok()?,
            };
            String::from_utf8(take(b, len)?.to_vec()).ok()
        }
        fn opt(b: &mut &[u8]) -> Option<Option<String>> {
            match u8_(b)? {
                0 => Some(None),
                1 => Some(Some(str_(b)?)),
                _ => None,
            }
        }
        let b = &mut b;
        if u8_(b)? != CANONICAL_VERSION {
            return None;
        }
        let seq = u64_(b)?;
        let at_micros = i64::from_be_bytes(take(b, 8)?.try_into().ok()?);
        let draft = EventDraft {
            at_micros,
            actor_person: opt(b)?,
            actor_org: opt(b)?,
            role: str_(b)?,
            action: str_(b)?,
            object_type: str_(b)?,
            object_id: str_(b)?,
            digest: take(b, 32)?.try_into().ok()?,
            request_id: str_(b)?,
            source: str_(b)?,
            outcome: *Outcome::ALL.get(usize::from(u8_(b)?))?,
            detail: str_(b)?,
        };
        b.is_empty().then_some((seq, draft))
    }

    fn draft() -> EventDraft {
        EventDraft {
            at_micros: 1_767_225_600_000_000,
            actor_person: Some("0190f1c2-7b1a-7c3e-9a4b-2f6d8e0a1b2c".into()),
            actor_org: None,
            role: "authority".into(),
            action: "person.create".into(),
            object_type: "person".into(),
            object_id: "0190f1c2-7b1a-7c3e-9a4b-2f6d8e0a1b2d".into(),
            digest: change_digest(b"{}"),
            request_id: "req-1".into(),
            source: "127.0.0.1".into(),
            outcome: Outcome::Ok,
            detail: String::new(),
        }
    }

    /// Short strings over a two-letter alphabet, so that neighbouring fields often could trade bytes.
    fn short() -> impl Strategy<Value = String> {
        "[ab]{0,3}"
    }

    fn any_draft() -> impl Strategy<Value = EventDraft> {
        let people = (
            any::<i64>(),
            proptest::option::of(short()),
            proptest::option::of(short()),
            short(),
            short(),
            short(),
        );
        let rest = (
            short(),
            any::<[u8; 32]>(),
            short(),
            short(),
            proptest::sample::select(Outcome::ALL.to_vec()),
            short(),
        );
        (people, rest).prop_map(
            |(
                (at_micros, actor_person, actor_org, role, action, object_type),
                (object_id, digest, request_id, source, outcome, detail),
            )| EventDraft {
                at_micros,
                actor_person,
                actor_org,
                role,
                action,
                object_type,
                object_id,
                digest,
                request_id,
                source,
                outcome,
                detail,
            },
        )
    }

    proptest! {
        #[test]
        fn canonical_bytes_decode_back_to_the_same_event(seq: u64, d in any_draft()) {
            let mut out = Vec::new();
            encode_canonical(seq, &d, &mut out);
            prop_assert_eq!(out.len(), canonical_len(&d));
            prop_assert_eq!(decode(&out), Some((seq, d)));
        }

        #[test]
        fn different_events_have_different_canonical_bytes(
            a in any_draft(), b in any_draft(), seq_a in 0u64..3, seq_b in 0u64..3,
        ) {
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            encode_canonical(seq_a, &a, &mut ea);
            encode_canonical(seq_b, &b, &mut eb);
            prop_assert_eq!(ea == eb, seq_a == seq_b && a == b);
        }
    }

    #[test]
    fn moving_bytes_between_neighbouring_fields_changes_the_encoding() {
        let split = |role: &str, action: &str| {
            let mut d = draft();
            d.role = role.into();
            d.action = action.into();
            d
        };
        let a = split("ab", "c");
        let b = split("a", "bc");
        let c = split("", "abc");
        let none = EventDraft {
            actor_person: None,
            actor_org: Some(String::new()),
            ..draft()
        };
        let some_empty = EventDraft {
            actor_person: Some(String::new()),
            actor_org: None,
            ..draft()
        };
        let all = [a, b, c, none, some_empty];
        for (i, x) in all.iter().enumerate() {
            for y in all.iter().skip(i + 1) {
                let (mut ex, mut ey) = (Vec::new(), Vec::new());
                encode_canonical(7, x, &mut ex);
                encode_canonical(7, y, &mut ey);
                assert_ne!(ex, ey, "{x:?} and {y:?} encode alike");
                assert_ne!(event_hash(&GENESIS, 7, x), event_hash(&GENESIS, 7, y));
            }
        }
    }

    /// Pins encoding v1 and the chain formula. The expected hash was computed independently with
    /// OpenSSL's SM3 (Python `hashlib.new("sm3")`) over `b"shuyu-audit-v1" + bytes(32) + canonical`.
    #[test]
    fn canonical_format_is_frozen() {
        let record = ChainHead::genesis().append(draft());
        let expected = [
            "01",               // version
            "0000000000000001", // seq
            "0006474846204000", // at_micros
            "01",
            "00000024",
            "30313930663163322d376231612d376333652d396134622d326636643865306131623263",
            "00", // actor_org None
            "00000009",
            "617574686f72697479", // role
            "0000000d",
            "706572736f6e2e637265617465", // action
            "00000006",
            "706572736f6e", // object_type
            "00000024",
            "30313930663163322d376231612d376333652d396134622d326636643865306131623264",
            "a7a5cb43f5a81c6963a0884085e1cf28d12dffc3d941264e4e45fbbb16ed6bdc", // digest
            "00000005",
            "7265712d31", // request_id
            "00000009",
            "3132372e302e302e31", // source
            "00",                 // outcome ok
            "00000000",           // detail
        ]
        .concat();
        assert_eq!(hex::encode(canonical_bytes(&record)), expected);
        assert_eq!(
            hex::encode(record.hash),
            "efc9b35a04352f4c86df5346b4176d06fd27b8ea3fc1346c12b4c29c14c40da2"
        );
        assert_eq!(
            hex::encode(change_digest(b"{}")),
            "a7a5cb43f5a81c6963a0884085e1cf28d12dffc3d941264e4e45fbbb16ed6bdc"
        );
    }

    #[test]
    fn change_digest_is_domain_separated_from_plain_sm3() {
        let plain: Hash = Sm3::digest(b"x").into();
        assert_ne!(change_digest(b"x"), plain);
        assert_ne!(change_digest(b"x"), change_digest(b"y"));
    }

    #[test]
    fn appending_links_to_the_previous_event() {
        let mut head = ChainHead::genesis();
        let first = head.advance(draft());
        let second = head.advance(draft());
        assert_eq!((first.seq, first.prev_hash), (1, GENESIS));
        assert_eq!((second.seq, second.prev_hash), (2, first.hash));
        assert_eq!(head, second.head());
        assert_ne!(first.hash, second.hash);
        assert_eq!(second.computed_hash(), second.hash);
    }

    #[test]
    fn outcome_text_round_trips() {
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>().unwrap(), o);
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
        assert!("OK".parse::<Outcome>().is_err());
    }
}
