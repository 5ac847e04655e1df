//! [`QueryDomain`]: what every session of one server shares — the memory all running queries
//! draw from, and the runtime their operators run on.
//!
//! Each query has its own memory limit ([`crate::Limits::memory_bytes`]); the domain bounds them
//! all together, so that many queries at once cannot exhaust the server either. A query that
//! would pass its own limit stops with [`crate::SandboxError::MemoryLimit`]; one that finds the
//! domain's memory taken by others stops with [`crate::SandboxError::DomainBusy`] and may be run
//! again shortly. Nothing spills to disk.
//!
//! Query operators are CPU-bound: on a dedicated runtime ([`QueryDomain::dedicated`]) they never
//! hold the threads that answer HTTP requests, so a heavy query cannot make the server
//! unresponsive (or miss a freeze). The caller's runtime still keeps the time limit and
//! cancellation: it only awaits.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::DataFusionError;
use datafusion::execution::memory_pool::{MemoryLimit, MemoryPool, MemoryReservation};
use tokio::runtime::{Handle, Runtime};

/// A query found the domain's shared memory taken by other running queries.
#[derive(Debug, thiserror::Error)]
#[error("the secure domain's shared query memory ({limit} bytes) is in use by other queries")]
pub struct DomainBusy {
    /// The domain's memory bound.
    pub limit: usize,
}

/// The shared memory and query runtime of one server.
pub struct QueryDomain {
    limit: usize,
    used: AtomicUsize,
    runtime: Option<OwnedRuntime>,
}

impl fmt::Debug for QueryDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryDomain")
            .field("limit", &self.limit)
            .field("used", &self.used())
            .field("dedicated", &self.runtime.is_some())
            .finish()
    }
}

/// A runtime that shuts down in the background when dropped (dropping a runtime inside another
/// one's task would panic).
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl QueryDomain {
    /// Queries share `memory_bytes` and run on the runtime of whoever runs them (tests, tools).
    #[must_use]
    pub fn shared(memory_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: memory_bytes,
            used: AtomicUsize::new(0),
            runtime: None,
        })
    }

    /// Queries share `memory_bytes` and run on a runtime of their own with `threads` worker
    /// threads (named `shuyu-query`).
    ///
    /// # Errors
    /// When the operating system refuses the threads.
    pub fn dedicated(memory_bytes: usize, threads: usize) -> std::io::Result<Arc<Self>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("shuyu-query")
            .enable_all()
            .build()?;
        Ok(Arc::new(Self {
            limit: memory_bytes,
            used: AtomicUsize::new(0),
            runtime: Some(OwnedRuntime(Some(runtime))),
        }))
    }

    /// The memory bound of all running queries together.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The memory running queries hold now.
    #[must_use]
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Where query operators run: the dedicated runtime, or the caller's.
    pub(crate) fn handle(&self) -> Handle {
        self.runtime
            .as_ref()
            .and_then(|r| r.0.as_ref())
            .map_or_else(Handle::current, |r| r.handle().clone())
    }

    fn try_take(&self, bytes: usize) -> Result<(), DataFusionError> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|n| *n <= self.limit)
            })
            .map(|_| ())
            .map_err(|_| DataFusionError::External(Box::new(DomainBusy { limit: self.limit })))
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One query's memory pool: its own limit, drawn from the domain's.
#[derive(Debug)]
pub(crate) struct QueryMemory {
    limit: usize,
    used: AtomicUsize,
    domain: Arc<QueryDomain>,
    /// Whether the domain refused this query memory (operators turn memory errors into their
    /// own `ResourcesExhausted`, so the cause is kept here).
    refused_by_domain: std::sync::atomic::AtomicBool,
}

impl QueryMemory {
    pub(crate) fn new(limit: usize, domain: Arc<QueryDomain>) -> Self {
        Self {
            limit,
            used: AtomicUsize::new(0),
            domain,
            refused_by_domain: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether the domain's shared bound (not the query's own) refused memory.
    pub(crate) fn refused_by_domain(&self) -> bool {
        self.refused_by_domain.load(Ordering::Relaxed)
    }
}

impl fmt::Display for QueryMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "query memory: {} of {} bytes, in a domain of {}",
            self.reserved(),
            self.limit,
            self.domain.limit
        )
    }
}

impl Drop for QueryMemory {
    /// Whatever the query still holds goes back to the domain (operators shrink their
    /// reservations when dropped; this is the guard against one that did not).
    fn drop(&mut self) {
        self.domain.give_back(*self.used.get_mut());
    }
}

impl MemoryPool for QueryMemory {
    fn name(&self) -> &str {
        "shuyu-query"
    }

    fn grow(&self, _reservation: &MemoryReservation, additional: usize) {
        self.used.fetch_add(additional, Ordering::Relaxed);
        self.domain.used.fetch_add(additional, Ordering::Relaxed);
    }

    fn shrink(&self, _reservation: &MemoryReservation, shrink: usize) {
        self.used.fetch_sub(shrink, Ordering::Relaxed);
        self.domain.give_back(shrink);
    }

    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::common::Result<()> {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(additional).filter(|n| *n <= self.limit)
            })
            .map_err(|used| {
                DataFusionError::ResourcesExhausted(format!(
                    "{} could not take {additional} bytes: {} of the query's {} are free",
                    reservation.consumer().name(),
                    self.limit.saturating_sub(used),
                    self.limit
                ))
            })?;
        if let Err(e) = self.domain.try_take(additional) {
            self.used.fetch_sub(additional, Ordering::Relaxed);
            self.refused_by_domain.store(true, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::execution::memory_pool::MemoryConsumer;

    use super::*;

    #[test]
    fn queries_hold_their_own_limit_and_the_domains_together() {
        let domain = QueryDomain::shared(1000);
        let a: Arc<dyn MemoryPool> = Arc::new(QueryMemory::new(600, Arc::clone(&domain)));
        let b: Arc<dyn MemoryPool> = Arc::new(QueryMemory::new(600, Arc::clone(&domain)));
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        ra.try_grow(500).unwrap();
        // Its own limit first.
        let own = ra.try_grow(200).unwrap_err();
        assert!(
            matches!(own, DataFusionError::ResourcesExhausted(_)),
            "{own}"
        );
        // Then the domain: 500 + 600 > 1000.
        let busy = rb.try_grow(600).unwrap_err();
        assert!(
            busy.to_string().contains("in use by other queries"),
            "{busy}"
        );
        assert!(b.downcast_ref::<QueryMemory>().unwrap().refused_by_domain());
        assert!(!a.downcast_ref::<QueryMemory>().unwrap().refused_by_domain());
        assert_eq!(b.reserved(), 0, "a refused growth takes nothing");
        rb.try_grow(500).unwrap();
        assert_eq!(domain.used(), 1000);
        drop(ra);
        assert_eq!(
            domain.used(),
            500,
            "a released reservation goes back to the domain"
        );
        drop(rb);
        drop(a);
        drop(b);
        assert_eq!(domain.used(), 0);
    }

    #[tokio::test]
    async fn a_dedicated_domain_runs_work_on_its_own_threads() {
        let domain = QueryDomain::dedicated(1, 1).unwrap();
        let name = domain
            .handle()
            .spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("shuyu-query"));
        // Dropped inside a runtime without panicking.
        drop(domain);
    }
}
