//! The dependency direction of ARCHITECTURE.md, checked over `cargo metadata`: domain crates do no
//! I/O (no database, web, async runtime, network or object store crates), and no crate depends on a
//! crate above it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::process::Command;

/// Crates that must stay pure.
const PURE: &[&str] = &[
    "shuyu-core",
    "shuyu-profile",
    "shuyu-audit",
    "shuyu-policy",
    "shuyu-identity",
    "shuyu-catalog",
    "shuyu-grant",
    "shuyu-crypto",
    "shuyu-quality",
    "shuyu-synth",
    "shuyu-desensitize",
    "shuyu-dp",
];

/// Third-party crates that mean I/O.
const IO: &[&str] = &[
    "sqlx",
    "axum",
    "tokio",
    "hyper",
    "reqwest",
    "object_store",
    "parquet",
    "openidconnect",
    "tower",
    "tower-http",
    "datafusion",
];

/// Layers, lowest first: a crate may depend only on crates of its own or a lower layer.
const LAYERS: &[&[&str]] = &[
    &["shuyu-core"],
    &[
        "shuyu-profile",
        "shuyu-audit",
        "shuyu-crypto",
        "shuyu-quality",
    ],
    &[
        "shuyu-policy",
        "shuyu-identity",
        "shuyu-catalog",
        "shuyu-grant",
        "shuyu-dp",
        "shuyu-synth",
        "shuyu-desensitize",
    ],
    &["shuyu-store", "shuyu-engine", "shuyu-sandbox"],
    &["shuyu-app"],
    &["shuyu-oidc", "shuyu-api"],
    &["shuyu-console"],
    &["shuyu-testkit"],
    &["shuyu", "shuyu-e2e"],
];

fn dependencies() -> BTreeMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null()) // normal dependencies; dev and build deps are not shipped
                .map(|d| d["name"].as_str().unwrap().to_owned())
                .collect();
            (p["name"].as_str().unwrap().to_owned(), deps)
        })
        .collect()
}

#[test]
fn domain_crates_do_no_io() {
    let deps = dependencies();
    for krate in PURE {
        let Some(list) = deps.get(*krate) else {
            panic!("{krate} is not in the workspace")
        };
        for dep in list {
            assert!(
                !IO.contains(&dep.as_str()),
                "{krate} depends on {dep}, but domain crates do no I/O"
            );
        }
    }
}

#[test]
fn no_crate_depends_on_a_crate_above_it() {
    let deps = dependencies();
    let layer = |name: &str| LAYERS.iter().position(|l| l.contains(&name));
    for (krate, list) in &deps {
        let Some(own) = layer(krate) else {
            panic!("{krate} has no layer in this test: add it to LAYERS")
        };
        for dep in list.iter().filter(|d| d.starts_with("shuyu")) {
            let Some(theirs) = layer(dep) else {
                panic!("{dep} has no layer in this test: add it to LAYERS")
            };
            assert!(
                theirs <= own,
                "{krate} depends on {dep}, which sits above it (see ARCHITECTURE.md)"
            );
        }
    }
}
