//! Typed identifiers. Two kinds of id never mix: an `OrgId` cannot be passed where a `PersonId` is
//! expected. All are UUIDs (v7 when minted, so they sort by creation time).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a valid {kind} id (expected a UUID such as 0190a0e2-7c4d-7d1e-9b1a-3f6c2d8e4a10)"
)]
pub struct IdError {
    pub kind: &'static str,
    pub input: String,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID minted elsewhere (for example by the caller's seeded RNG in tests).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Mints a time-ordered id from a timestamp and 10 random bytes supplied by the caller.
            pub fn mint(at: crate::Timestamp, random: [u8; 10]) -> Self {
                let millis = u64::try_from(at.unix_micros() / 1000).unwrap_or(0);
                let mut bytes = [0u8; 16];
                for (slot, byte) in bytes.iter_mut().zip(millis.to_be_bytes().iter().skip(2)) {
                    *slot = *byte;
                }
                for (slot, byte) in bytes.iter_mut().skip(6).zip(random.iter()) {
                    *slot = *byte;
                }
                Self(uuid::Builder::from_bytes(bytes)
                    .with_version(uuid::Version::SortRand)
                    .with_variant(uuid::Variant::RFC4122)
                    .into_uuid())
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            pub const KIND: &'static str = $kind;
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| IdError {
                    kind: $kind,
                    input: s.chars().take(64).collect(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

typed_id!(
    /// An organisation: authority, operator, merchant, source department...
    OrgId, "organisation"
);
typed_id!(
    /// A natural person with an account.
    PersonId, "person"
);
typed_id!(
    /// A machine API token.
    TokenId, "API token"
);
typed_id!(
    /// A resource of the public data catalog (CAT-1), across all its versions.
    ResourceId, "resource"
);
typed_id!(
    /// One version of a catalog resource's metadata and fields.
    ResourceVersionId, "resource version"
);
typed_id!(
    /// A data quality issue raised on a resource or a field (QLT-1).
    QualityIssueId, "quality issue"
);
typed_id!(
    /// One dataset version: data hooked (挂接) to an approved resource version.
    DatasetId, "dataset version"
);
typed_id!(
    /// A grant: the exact, time-bound permission of a merchant to use data in the secure domain.
    GrantId, "grant"
);
typed_id!(
    /// The workspace a grant opens in the secure domain (development and production environments).
    WorkspaceId, "workspace"
);
typed_id!(
    /// One query submitted in a workspace (run or refused) and its stored result.
    QueryId, "query"
);
typed_id!(
    /// A fusion import: a merchant's own data brought into its workspace once the authority
    /// approves (CC18(3), ZW26).
    FusionId, "fusion import"
);
typed_id!(
    /// One HTTP request or CLI invocation; ties log lines and audit events together.
    RequestId, "request"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    #[test]
    fn minted_ids_sort_by_time_and_round_trip_through_text() {
        let early = OrgId::mint(Timestamp::from_unix_micros(1_000_000), [9; 10]);
        let late = OrgId::mint(Timestamp::from_unix_micros(2_000_000), [0; 10]);
        assert!(early < late);
        assert_eq!(early.to_string().parse::<OrgId>(), Ok(early));
        assert_eq!(early.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn garbage_is_refused_with_the_kind_named() {
        let err = "not-a-uuid".parse::<PersonId>().unwrap_err();
        assert!(err.to_string().contains("person id"), "{err}");
    }
}
