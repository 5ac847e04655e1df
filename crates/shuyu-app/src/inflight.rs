//! The registry of queries running in the secure domain, so that stopping what a query rests on —
//! a freeze of its merchant, its operator or a granted resource's supply, a grant suspended or
//! revoked — also stops the queries already running, within the request that stops it.
//!
//! A query registers its [`QueryScope`] before it starts and runs under the returned
//! [`InFlightQuery`]'s `CancellationToken` (the sandbox stops on it); dropping the handle, however
//! the query ends (finished, failed, its future dropped), deregisters it. [`InFlight::cancel_matching`]
//! cancels every registered query whose scope matches.
//!
//! Order for a caller running a query: **register, then check `App::grant_liveness`, then run**
//! under the token. A freeze or a grant move cancels after its transaction commits, so a query
//! registered before that commit is cancelled by it, and one registered after it sees the change
//! in `grant_liveness`; checking before registering would leave a window in which neither holds.
//!
//! Guarantees: a handle is deregistered exactly once, on drop; cancelling never blocks on a query
//! (a token is only signalled; the query notices it at its next batch). The registry holds ids
//! only, never a query's text or data.
//!
//! Must never: hold its lock across an `.await`, or keep a finished query's scope.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use shuyu_core::{GrantId, OrgId, ResourceId};
use shuyu_grant::Grant;
use tokio_util::sync::CancellationToken;

/// What a running query rests on: its grant, the grant's merchant and operator, and the resources
/// it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryScope {
    pub grant: GrantId,
    pub merchant: OrgId,
    pub operator: OrgId,
    pub resources: Vec<ResourceId>,
}

impl QueryScope {
    /// The scope of a query under `grant`: every resource the grant names.
    pub fn of_grant(grant: &Grant) -> Self {
        Self {
            grant: grant.id(),
            merchant: grant.merchant(),
            operator: grant.operator(),
            resources: grant.resources().iter().map(|r| r.resource).collect(),
        }
    }
}

/// The queries running now. `Send + Sync`; shared by the app's clones.
#[derive(Debug, Default)]
pub struct InFlight {
    registry: Arc<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Entry>>,
}

#[derive(Debug)]
struct Entry {
    scope: QueryScope,
    token: CancellationToken,
}

impl Registry {
    fn running(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        // A panic while holding the lock leaves the map consistent (every change is one insert or
        // remove), so a poisoned lock is still usable.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A registered query. Run the query under [`token`](Self::token); dropping this handle
/// deregisters it.
#[derive(Debug)]
pub struct InFlightQuery {
    id: u64,
    token: CancellationToken,
    registry: Arc<Registry>,
}

impl InFlight {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a query about to run under `scope`, with a fresh cancellation token.
    pub fn register(&self, scope: QueryScope) -> InFlightQuery {
        let id = self.registry.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.registry.running().insert(
            id,
            Entry {
                scope,
                token: token.clone(),
            },
        );
        InFlightQuery {
            id,
            token,
            registry: Arc::clone(&self.registry),
        }
    }

    /// Cancels every running query whose scope satisfies `f`, and answers how many were cancelled
    /// by this call (a query cancelled before is not counted again).
    pub fn cancel_matching(&self, f: impl Fn(&QueryScope) -> bool) -> usize {
        let running = self.registry.running();
        let mut cancelled = 0;
        for entry in running.values() {
            if f(&entry.scope) && !entry.token.is_cancelled() {
                entry.token.cancel();
                cancelled += 1;
            }
        }
        cancelled
    }

    /// Cancels the running queries of one grant.
    pub fn cancel_grant(&self, grant: GrantId) -> usize {
        self.cancel_matching(|scope| scope.grant == grant)
    }

    /// How many queries are registered now.
    pub fn len(&self) -> usize {
        self.registry.running().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl InFlightQuery {
    /// The token the query runs under: cancelled when something it rests on is stopped.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

impl Drop for InFlightQuery {
    fn drop(&mut self) {
        self.registry.running().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shuyu_core::Timestamp;

    fn t() -> Timestamp {
        Timestamp::from_unix_micros(1_790_000_000_000_000)
    }

    fn org(n: u8) -> OrgId {
        OrgId::mint(t(), [n; 10])
    }

    fn resource(n: u8) -> ResourceId {
        ResourceId::mint(t(), [n; 10])
    }

    fn scope(grant: u8, merchant: u8, operator: u8, resources: &[u8]) -> QueryScope {
        QueryScope {
            grant: GrantId::mint(t(), [grant; 10]),
            merchant: org(merchant),
            operator: org(operator),
            resources: resources.iter().map(|&n| resource(n)).collect(),
        }
    }

    #[test]
    fn dropping_a_handle_deregisters_its_query() {
        let inflight = InFlight::new();
        let first = inflight.register(scope(1, 10, 20, &[30]));
        let second = inflight.register(scope(1, 10, 20, &[30]));
        assert_eq!(inflight.len(), 2);
        drop(first);
        assert_eq!(inflight.len(), 1);
        drop(second);
        assert!(inflight.is_empty());
        // A dropped query is not cancelled (nor counted) any more.
        assert_eq!(inflight.cancel_matching(|_| true), 0);
    }

    #[test]
    fn cancelling_by_merchant_stops_only_that_merchants_queries() {
        let inflight = InFlight::new();
        let ours = inflight.register(scope(1, 10, 20, &[30]));
        let other_merchant = inflight.register(scope(2, 11, 20, &[30]));
        assert_eq!(inflight.cancel_matching(|s| s.merchant == org(10)), 1);
        assert!(ours.token().is_cancelled());
        assert!(!other_merchant.token().is_cancelled());
        // Cancelled queries stay registered until their handle is dropped, and are not counted twice.
        assert_eq!(inflight.len(), 2);
        assert_eq!(inflight.cancel_matching(|s| s.merchant == org(10)), 0);
    }

    #[test]
    fn cancelling_by_operator_stops_every_grant_it_runs() {
        let inflight = InFlight::new();
        let a = inflight.register(scope(1, 10, 20, &[30]));
        let b = inflight.register(scope(2, 11, 20, &[31]));
        let c = inflight.register(scope(3, 11, 21, &[31]));
        assert_eq!(inflight.cancel_matching(|s| s.operator == org(20)), 2);
        assert!(a.token().is_cancelled() && b.token().is_cancelled());
        assert!(!c.token().is_cancelled());
    }

    #[test]
    fn cancelling_by_resource_stops_every_query_over_it() {
        let inflight = InFlight::new();
        let over_both = inflight.register(scope(1, 10, 20, &[30, 31]));
        let over_one = inflight.register(scope(2, 11, 21, &[31]));
        let elsewhere = inflight.register(scope(3, 12, 22, &[32]));
        assert_eq!(
            inflight.cancel_matching(|s| s.resources.contains(&resource(31))),
            2
        );
        assert!(over_both.token().is_cancelled() && over_one.token().is_cancelled());
        assert!(!elsewhere.token().is_cancelled());
    }

    #[test]
    fn cancelling_a_grant_stops_all_its_queries_and_no_other() {
        let inflight = InFlight::new();
        let first = inflight.register(scope(1, 10, 20, &[30]));
        let second = inflight.register(scope(1, 10, 20, &[30]));
        let other = inflight.register(scope(2, 10, 20, &[30]));
        assert_eq!(inflight.cancel_grant(GrantId::mint(t(), [1; 10])), 2);
        assert!(first.token().is_cancelled() && second.token().is_cancelled());
        assert!(!other.token().is_cancelled());
    }

    #[tokio::test]
    async fn a_running_task_sees_the_cancellation() {
        let inflight = Arc::new(InFlight::new());
        let query = inflight.register(scope(1, 10, 20, &[30]));
        let token = query.token().clone();
        let task = tokio::spawn(async move {
            let _query = query;
            token.cancelled().await;
        });
        tokio::task::yield_now().await;
        assert_eq!(inflight.cancel_grant(GrantId::mint(t(), [1; 10])), 1);
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .expect("the task stops on cancellation")
            .expect("the task does not panic");
        assert!(inflight.is_empty(), "the handle was dropped with the task");
    }

    #[test]
    fn the_registry_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<InFlight>();
        assert_send_sync::<InFlightQuery>();
    }
}
