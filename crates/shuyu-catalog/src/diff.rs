//! Field-level differences between two versions of a resource, for the history view.
//!
//! Must never: report a change that is not there, or miss one: each attribute of the metadata and of
//! every field is compared.

use serde::Serialize;

use crate::model::{FieldSpec, Metadata};
use crate::resource::ResourceVersion;

/// One difference from the older version to the newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Metadata {
        attribute: &'static str,
        old: String,
        new: String,
    },
    FieldAdded {
        field: String,
    },
    FieldRemoved {
        field: String,
    },
    FieldChanged {
        field: String,
        attribute: &'static str,
        old: String,
        new: String,
    },
}

/// The changes from `old` to `new`: metadata first, then removed, changed and added fields (fields
/// are matched by name, in the order of the older version, then of the newer one).
pub fn diff(old: &ResourceVersion, new: &ResourceVersion) -> Vec<Change> {
    let (a, b) = (old.content(), new.content());
    let mut changes = Vec::new();
    for (attribute, x, y) in metadata_attributes(a.metadata())
        .into_iter()
        .zip(metadata_attributes(b.metadata()))
        .map(|((k, x), (_, y))| (k, x, y))
    {
        if x != y {
            changes.push(Change::Metadata {
                attribute,
                old: x,
                new: y,
            });
        }
    }
    for f in a.fields() {
        match b.field(f.name().as_str()) {
            None => changes.push(Change::FieldRemoved {
                field: f.name().to_string(),
            }),
            Some(g) => {
                for ((attribute, x), (_, y)) in
                    field_attributes(f).into_iter().zip(field_attributes(g))
                {
                    if x != y {
                        changes.push(Change::FieldChanged {
                            field: f.name().to_string(),
                            attribute,
                            old: x,
                            new: y,
                        });
                    }
                }
            }
        }
    }
    for g in b.fields() {
        if a.field(g.name().as_str()).is_none() {
            changes.push(Change::FieldAdded {
                field: g.name().to_string(),
            });
        }
    }
    changes
}

fn metadata_attributes(m: &Metadata) -> Vec<(&'static str, String)> {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        ("name", m.name().to_string()),
        ("summary", m.summary().to_owned()),
        ("domain", m.domain().to_owned()),
        ("update_frequency", m.update_frequency().as_str().to_owned()),
        ("coverage.time_from", date(m.coverage().time_from)),
        ("coverage.time_to", date(m.coverage().time_to)),
        ("coverage.spatial", m.coverage().spatial.clone()),
        ("legal_basis", m.legal_basis().to_owned()),
        ("open_category", m.open_category().as_str().to_owned()),
        ("grade", m.grade().to_owned()),
    ]
}

fn field_attributes(f: &FieldSpec) -> Vec<(&'static str, String)> {
    let flags = f.flags();
    vec![
        ("type", f.field_type().as_str().to_owned()),
        ("description", f.description().to_owned()),
        ("grade", f.grade().to_owned()),
        (
            "personal_information",
            flags.personal_information.to_string(),
        ),
        ("direct_identifier", flags.direct_identifier.to_string()),
        ("quasi_identifier", flags.quasi_identifier.to_string()),
        ("privacy_unit", flags.privacy_unit.to_string()),
    ]
}
