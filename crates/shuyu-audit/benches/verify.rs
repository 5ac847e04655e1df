//! `shuyu audit verify` throughput beside raw SM3 over the same bytes, in the same run: 100 000
//! realistic events (about 268 canonical bytes each) with a signed checkpoint every 1000.
//!
//! `cargo bench -p shuyu-audit --bench verify -- --warm-up-time 1 --measurement-time 3`
//!
//! Every figure is MB/s of canonical bytes (`Throughput::Bytes(total canonical bytes)`), so they are
//! directly comparable:
//! - `verify_batch_all_cores`: what `Store::verify_audit` does — `ChainVerifier::with_checkpoints`,
//!   `push_batch` per page of 5000 events, `finish` with the head; every hash, link, SM2 signature and
//!   the head are checked, on up to N threads (N = `available_parallelism()`, at most
//!   `ChainVerifier::MAX_THREADS`);
//! - `verify_single_thread`: the same verification with `push` one event at a time, on one thread;
//! - `sm3_concat`: one SM3 stream over all canonical bytes concatenated, on one thread (the issue's
//!   baseline);
//! - `sm3_concat_parallel`: the same bytes split into N chunks, each hashed on its own thread — the
//!   like-for-like baseline for the all-cores verify figure;
//! - `sm3_per_event`: one SM3 per event over exactly what the chain formula hashes,
//!   `CHAIN_TAG || prev || canonical`, precomputed, on one thread — the floor for any single-threaded
//!   verifier of this format.
//!
//! After criterion, the main function times each once more (best of 10 runs), plus `push_batch`
//! limited to one thread and the 100 SM2 verifications alone, and prints the core count and the
//! ratios. **The all-cores verify figure uses N cores while `sm3_concat` is one stream**: its ratio
//! to `sm3_concat` says how fast `audit verify` is on this machine compared with hashing the bytes
//! once, not that verification got cheaper per core; its ratio to `sm3_concat_parallel` is the
//! per-core comparison.
//!
//! Why a single thread cannot reach raw `sm3_concat`: the chain formula hashes each event
//! separately, adding a 14-byte tag, the 32-byte prev hash, SM3 padding (at least 9 bytes) and the
//! rounding up to a 64-byte block to every ~270-byte event, and pays one finalisation per event;
//! `sm3_per_event` measures that floor. The checkpoint signatures add about 0.24 ms each on top.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::thread;
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
/// Events per `push_batch` call: the page size of `Store::verify_audit`.
const PAGE: usize = 5_000;

struct Fixture {
    signer: AuditSigner,
    records: Vec<EventRecord>,
    checkpoints: Vec<Checkpoint>,
    head: ChainHead,
    /// All canonical bytes, concatenated.
    concat: Vec<u8>,
    /// Per event, exactly the SM3 input of the chain formula.
    chain_inputs: Vec<Vec<u8>>,
    /// The threads `push_batch` uses by default here, and the chunks `sm3_concat_parallel` hashes.
    threads: usize,
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
            threads: thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .min(ChainVerifier::MAX_THREADS),
        }
    }

    /// As `Store::verify_audit`: pages of `PAGE` events through `push_batch`, on up to `threads`
    /// threads (`None`: the verifier's default, all cores up to `MAX_THREADS`).
    fn verify_batch(&self, threads: Option<usize>) -> u64 {
        let mut v = ChainVerifier::with_checkpoints(self.signer.verifier(), &self.checkpoints);
        if let Some(threads) = threads {
            v = v.with_threads(threads);
        }
        for page in self.records.chunks(PAGE) {
            v.push_batch(page).unwrap();
        }
        self.finish(v)
    }

    /// One event at a time with `push`, all on this thread.
    fn verify_single(&self) -> u64 {
        let mut v = ChainVerifier::with_checkpoints(self.signer.verifier(), &self.checkpoints);
        for r in &self.records {
            v.push(r).unwrap();
        }
        self.finish(v)
    }

    fn finish(&self, v: ChainVerifier) -> u64 {
        let report = v.finish(&[], Some(&self.head)).unwrap();
        assert_eq!(report.bytes, self.concat.len() as u64);
        assert_eq!(report.checkpoints, self.checkpoints.len() as u64);
        report.events
    }

    fn sm3_concat(&self) -> [u8; 32] {
        Sm3::digest(&self.concat).into()
    }

    /// The concatenated bytes in `threads` chunks, each hashed on its own thread.
    fn sm3_concat_parallel(&self) -> u8 {
        let chunk = self.concat.len().div_ceil(self.threads);
        thread::scope(|scope| {
            let hashers: Vec<_> = self
                .concat
                .chunks(chunk)
                .map(|part| scope.spawn(move || Sm3::digest(part)[0]))
                .collect();
            hashers
                .into_iter()
                .fold(0, |acc, h| acc ^ h.join().unwrap())
        })
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
    let n = fx.threads;

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("audit_chain_100k");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("verify_batch_all_cores", |b| {
        b.iter(|| black_box(fx.verify_batch(None)));
    });
    group.bench_function("verify_single_thread", |b| {
        b.iter(|| black_box(fx.verify_single()));
    });
    group.bench_function("sm3_concat", |b| b.iter(|| black_box(fx.sm3_concat())));
    group.bench_function("sm3_concat_parallel", |b| {
        b.iter(|| black_box(fx.sm3_concat_parallel()));
    });
    group.bench_function("sm3_per_event", |b| {
        b.iter(|| black_box(fx.sm3_per_event()));
    });
    group.finish();
    c.final_summary();

    let batch = best_of(10, || {
        black_box(fx.verify_batch(None));
    });
    let batch_one = best_of(10, || {
        black_box(fx.verify_batch(Some(1)));
    });
    let single = best_of(10, || {
        black_box(fx.verify_single());
    });
    let concat = best_of(10, || {
        black_box(fx.sm3_concat());
    });
    let concat_parallel = best_of(10, || {
        black_box(fx.sm3_concat_parallel());
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
    let line = |name: &str, d: Duration, note: &str| {
        println!(
            "{name:<34} {:7.1} MB/s {:8.2} ms  {note}",
            mbps(d),
            d.as_secs_f64() * 1e3
        );
    };
    let ratio = |name: &str, fast: Duration, slow: Duration| {
        println!(
            "{name:<60} = {:.3}",
            fast.as_secs_f64() / slow.as_secs_f64()
        );
    };
    let hashed: usize = fx.chain_inputs.iter().map(Vec::len).sum();
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    println!();
    println!(
        "{cores} cores (available_parallelism); push_batch and sm3 parallel use N = {n} threads"
    );
    println!(
        "{EVENTS} events, {bytes} canonical bytes ({:.1} per event; the chain hashes {:.1} per event \
         with tag and prev), {} SM2 checkpoints, pages of {PAGE}; best of 10 runs",
        bytes as f64 / EVENTS as f64,
        hashed as f64 / EVENTS as f64,
        fx.checkpoints.len()
    );
    line(
        &format!("verify, push_batch, {n} threads"),
        batch,
        "all checks, N cores",
    );
    line("verify, push, single thread", single, "all checks, 1 core");
    line(
        "verify, push_batch, 1 thread",
        batch_one,
        "all checks, 1 core",
    );
    line("raw sm3, one stream", concat, "1 core");
    line(
        &format!("raw sm3, {n} chunks in parallel"),
        concat_parallel,
        "N cores",
    );
    line(
        "sm3 per event (chain inputs)",
        per_event,
        "1 core: floor for 1 thread",
    );
    println!(
        "{} SM2 checkpoint signatures alone: {:.2} ms on 1 core",
        fx.checkpoints.len(),
        signatures.as_secs_f64() * 1e3
    );
    ratio(
        &format!("verify push_batch ({n} threads) / raw sm3 one stream"),
        concat,
        batch,
    );
    ratio(
        &format!("verify push_batch ({n} threads) / raw sm3 {n} chunks parallel"),
        concat_parallel,
        batch,
    );
    ratio("verify single thread / raw sm3 one stream", concat, single);
    ratio("verify single thread / sm3 per event", per_event, single);
    println!(
        "(the first ratio compares {n} cores with 1 core; the second is like for like; the goal \
         is the first >= 0.80)"
    );
}
