//! Verify throughput against raw SM3, over 100 000 realistic events with a checkpoint every 1000.
//!
//! `cargo bench -p shuyu-audit --bench verify -- --warm-up-time 1 --measurement-time 3`
//!
//! Three measurements, all with `Throughput::Bytes(total canonical bytes)`:
//! - `verify`: the full `ChainVerifier` run (seq, links, hashes, 100 SM2 signatures, head);
//! - `sm3_concat`: one SM3 over all canonical bytes concatenated (the brief's baseline);
//! - `sm3_per_event`: one SM3 per event over exactly what the chain formula hashes,
//!   `CHAIN_TAG || prev || canonical`, precomputed — the floor for any verifier of this format.
//!
//! After criterion, the main function times each once more (best of 10 runs), also the chain walk
//! without checkpoints and the 100 SM2 verifications alone, and prints the ratios.
//!
//! Why verify cannot reach raw `sm3_concat`: the chain formula hashes each event separately, adding
//! a 14-byte tag, the 32-byte prev hash, SM3 padding (at least 9 bytes) and the rounding up to a
//! 64-byte block to every ~270-byte event, and pays one finalisation per event. `sm3_per_event`
//! measures that floor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use shuyu_audit::{
    AuditSigner, CHAIN_TAG, ChainHead, ChainVerifier, Checkpoint, EventDraft, EventRecord, Outcome,
    canonical_bytes,
};
use sm3::{Digest, Sm3};

const EVENTS: u64 = 100_000;
const EVERY: u64 = 1_000;

struct Fixture {
    signer: AuditSigner,
    records: Vec<EventRecord>,
    checkpoints: Vec<Checkpoint>,
    head: ChainHead,
    /// All canonical bytes, concatenated.
    concat: Vec<u8>,
    /// Per event, exactly the SM3 input of the chain formula.
    chain_inputs: Vec<Vec<u8>>,
}

fn uuid(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.random();
    let h = hex_lower(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// An event as the platform writes them: UUID actors and objects, dotted actions, IPv4 sources,
/// mostly successful with an empty detail, some refusals with a reason.
fn realistic(rng: &mut StdRng, i: u64) -> EventDraft {
    let system = rng.random_bool(0.1);
    let roll: f64 = rng.random();
    let (outcome, detail) = if roll < 0.90 {
        let detail = if rng.random_bool(0.3) {
            pick(
                rng,
                &[
                    "3 columns, 1 output file",
                    "reviewed in 2 working days",
                    "mfa",
                ],
            )
        } else {
            ""
        };
        (Outcome::Ok, detail)
    } else if roll < 0.98 {
        let reason = pick(
            rng,
            &[
                "grant expired",
                "no signed NDA",
                "privacy budget exhausted",
                "role operator_staff may not export raw rows",
            ],
        );
        (Outcome::Denied, reason)
    } else {
        (Outcome::Failed, "query engine timed out")
    };
    EventDraft {
        at_micros: 1_767_225_600_000_000 + i64::try_from(i).unwrap() * 37_000,
        actor_person: (!system).then(|| uuid(rng)),
        actor_org: (!system && rng.random_bool(0.8)).then(|| uuid(rng)),
        role: if system {
            "system".into()
        } else {
            pick(
                rng,
                &[
                    "authority",
                    "operator",
                    "operator_staff",
                    "merchant_staff",
                    "reviewer",
                ],
            )
            .into()
        },
        action: pick(
            rng,
            &[
                "auth.login",
                "person.create",
                "resource.register",
                "resource.publish",
                "authorization.grant",
                "application.submit",
                "application.review",
                "query.run",
                "export.review",
                "export.release",
            ],
        )
        .into(),
        object_type: pick(
            rng,
            &[
                "person",
                "org",
                "resource",
                "authorization",
                "application",
                "query",
                "export",
            ],
        )
        .into(),
        object_id: uuid(rng),
        digest: rng.random(),
        request_id: uuid(rng),
        source: if rng.random_bool(0.05) {
            "cli".into()
        } else {
            format!(
                "10.{}.{}.{}",
                rng.random_range(0..255),
                rng.random_range(0..255),
                rng.random_range(1..255)
            )
        },
        outcome,
        detail: detail.into(),
    }
}

impl Fixture {
    fn new() -> Self {
        let mut rng = StdRng::seed_from_u64(42);
        let signer = AuditSigner::generate(&mut rng);
        let mut head = ChainHead::genesis();
        let mut records = Vec::new();
        let mut checkpoints = Vec::new();
        for i in 1..=EVENTS {
            records.push(head.advance(realistic(&mut rng, i)));
            if i.is_multiple_of(EVERY) {
                checkpoints.push(signer.sign_checkpoint(&head, 1_767_225_600_000_000));
            }
        }
        let mut concat = Vec::new();
        let mut chain_inputs = Vec::new();
        for r in &records {
            let canonical = canonical_bytes(r);
            concat.extend_from_slice(&canonical);
            chain_inputs.push([CHAIN_TAG, &r.prev_hash, &canonical].concat());
        }
        Self {
            signer,
            records,
            checkpoints,
            head,
            concat,
            chain_inputs,
        }
    }

    fn verify(&self) -> u64 {
        let mut v = ChainVerifier::with_checkpoints(self.signer.verifier(), &self.checkpoints);
        for r in &self.records {
            v.push(r).unwrap();
        }
        let report = v.finish(&[], Some(&self.head)).unwrap();
        assert_eq!(report.bytes, self.concat.len() as u64);
        report.events
    }

    /// Links and hashes only: no checkpoints, so no SM2.
    fn verify_chain_only(&self) -> u64 {
        let mut v = ChainVerifier::with_checkpoints(self.signer.verifier(), &[]);
        for r in &self.records {
            v.push(r).unwrap();
        }
        v.finish(&[], Some(&self.head)).unwrap().events
    }

    fn sm3_concat(&self) -> [u8; 32] {
        Sm3::digest(&self.concat).into()
    }

    fn sm3_per_event(&self) -> u8 {
        self.chain_inputs
            .iter()
            .fold(0, |acc, input| acc ^ Sm3::digest(input)[0])
    }
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let fx = Fixture::new();
    let bytes = fx.concat.len() as u64;

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("audit_chain_100k");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("verify", |b| b.iter(|| black_box(fx.verify())));
    group.bench_function("sm3_concat", |b| b.iter(|| black_box(fx.sm3_concat())));
    group.bench_function("sm3_per_event", |b| {
        b.iter(|| black_box(fx.sm3_per_event()));
    });
    group.finish();
    c.final_summary();

    let verify = best_of(10, || {
        black_box(fx.verify());
    });
    let chain_only = best_of(10, || {
        black_box(fx.verify_chain_only());
    });
    let concat = best_of(10, || {
        black_box(fx.sm3_concat());
    });
    let per_event = best_of(10, || {
        black_box(fx.sm3_per_event());
    });
    let signatures = best_of(3, || {
        let v = fx.signer.verifier();
        for cp in &fx.checkpoints {
            v.verify_checkpoint(cp).unwrap();
        }
    });
    let mbps = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    let hashed: usize = fx.chain_inputs.iter().map(Vec::len).sum();
    println!();
    println!(
        "{EVENTS} events, {bytes} canonical bytes ({:.1} per event; the chain hashes {:.1} per event \
         with tag and prev)",
        bytes as f64 / EVENTS as f64,
        hashed as f64 / EVENTS as f64
    );
    println!(
        "verify         {:8.1} MB/s  {:7.2} ms  ({:.0} events/s)",
        mbps(verify),
        verify.as_secs_f64() * 1e3,
        EVENTS as f64 / verify.as_secs_f64()
    );
    println!(
        "chain only     {:8.1} MB/s  {:7.2} ms  (links and hashes, no checkpoints)",
        mbps(chain_only),
        chain_only.as_secs_f64() * 1e3
    );
    println!(
        "sm3 concat     {:8.1} MB/s  {:7.2} ms",
        mbps(concat),
        concat.as_secs_f64() * 1e3
    );
    println!(
        "sm3 per event  {:8.1} MB/s  {:7.2} ms  (SM3 of exactly the chain inputs)",
        mbps(per_event),
        per_event.as_secs_f64() * 1e3
    );
    println!(
        "{} SM2 checkpoint signatures: {:.2} ms",
        fx.checkpoints.len(),
        signatures.as_secs_f64() * 1e3
    );
    println!(
        "ratio verify / sm3 concat    = {:.3}",
        concat.as_secs_f64() / verify.as_secs_f64()
    );
    println!(
        "ratio verify / sm3 per event = {:.3}",
        per_event.as_secs_f64() / verify.as_secs_f64()
    );
    println!(
        "ratio chain only / sm3 concat    = {:.3}",
        concat.as_secs_f64() / chain_only.as_secs_f64()
    );
    println!(
        "ratio chain only / sm3 per event = {:.3}",
        per_event.as_secs_f64() / chain_only.as_secs_f64()
    );
}
