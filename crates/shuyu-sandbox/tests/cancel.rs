//! A timeout and a cancellation stop a running query promptly, and the work stops with it.
//! Alone in its test binary, so that the process's CPU time measures only this query.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::Fixture;
use shuyu_sandbox::{CancellationToken, Limits, SandboxError};

/// CPU time of this process (user + system), from `/proc/self/stat`, in clock ticks (1/100 s).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of proc(5): utime and stime (the 12th and 13th after the name).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Asserts the process is (nearly) idle for half a second: the query's work has stopped.
async fn assert_work_stopped() {
    // Let aborted tasks reach their next yield point.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = cpu_ticks();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let used = cpu_ticks() - before;
    assert!(used <= 10, "{used} ticks of CPU in 0.5 s after the stop");
}

const SLOW: &str = "SELECT count(*) FROM social a, social b, social c WHERE a.name <> c.name";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_cancellation_stop_a_slow_cross_join_promptly() {
    let fx = Fixture::new().await;
    let limits = Limits {
        timeout: Duration::from_millis(800),
        ..Limits::default()
    };
    let session = fx.session("social", &["name"], limits).await;

    // The timeout.
    let started = Instant::now();
    let err = session
        .query(SLOW, &CancellationToken::new())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, SandboxError::Timeout { .. }), "{err}");
    assert!(took < Duration::from_secs(3), "returned after {took:?}");
    let metering = err.metering().unwrap();
    assert!(metering.elapsed >= Duration::from_millis(800));
    assert!(metering.rows_scanned > 0);
    assert_work_stopped().await;

    // Cancellation from outside, through the token.
    let token = CancellationToken::new();
    let canceller = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceller.cancel();
    });
    let patient = fx
        .session(
            "social",
            &["name"],
            Limits {
                timeout: Duration::from_secs(600),
                ..Limits::default()
            },
        )
        .await;
    let started = Instant::now();
    let err = patient.query(SLOW, &token).await.unwrap_err();
    assert!(matches!(err, SandboxError::Cancelled { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_work_stopped().await;

    // A token cancelled before the start stops the query at once.
    let done = CancellationToken::new();
    done.cancel();
    assert!(matches!(
        patient.query(SLOW, &done).await,
        Err(SandboxError::Cancelled { .. })
    ));
}
