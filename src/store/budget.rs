//! One node's share of its database server's connection slots.
//!
//! Every pool this node opens on its main server (the main pool and each
//! separate_database tenant's own pool) takes a permit per open connection, so
//! the node never holds more than its budget however many tenants are active,
//! and the server keeps slots for everyone else. When the budget is spent, a
//! new connection waits (bounded) while the least recently used pools close
//! their idle connections; if none comes free in time, the request answers
//! 503 with `Retry-After` instead of the server refusing everybody.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a new connection waits for the budget before its request is shed.
pub const BUDGET_WAIT: Duration = Duration::from_secs(3);
/// How often a waiting connection asks idle pools again.
const RECLAIM_EVERY: Duration = Duration::from_millis(50);

/// A pool that can close its idle connections on request.
pub trait IdleConnections: Send + Sync {
    /// Closes every idle connection; `false` once the pool is gone (it is then forgotten).
    fn close_idle(&self) -> bool;
    /// Whether the pool still exists.
    fn alive(&self) -> bool;
}

/// When a pool last handed out a connection, kept by the pool's manager.
#[derive(Debug, Default)]
pub struct LastUse(AtomicU64);

struct Registered {
    pool: Box<dyn IdleConnections>,
    last_use: Arc<LastUse>,
}

/// The connection budget of one database server.
pub struct ConnectionBudget {
    size: usize,
    permits: Arc<Semaphore>,
    pools: Mutex<Vec<Registered>>,
    started: Instant,
}

/// The budget is spent and nothing came free in time.
#[derive(Debug, thiserror::Error)]
#[error("this node's database connection budget ({0}) is spent")]
pub struct BudgetSpent(pub usize);

impl ConnectionBudget {
    /// A budget of `size` connections.
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(Self {
            size,
            permits: Arc::new(Semaphore::new(size)),
            pools: Mutex::new(Vec::new()),
            started: Instant::now(),
        })
    }

    /// How many connections the budget allows.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Connections open under the budget now.
    pub fn in_use(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    /// Adds a pool whose idle connections may be closed for others.
    pub fn register(&self, pool: Box<dyn IdleConnections>, last_use: Arc<LastUse>) {
        let mut pools = self.pools.lock();
        // Tenants come and go: forget dropped pools now and then, so the list stays small.
        if pools.len() >= 64 && pools.len().is_power_of_two() {
            pools.retain(|p| p.pool.alive());
        }
        pools.push(Registered { pool, last_use });
    }

    /// Marks `last_use` as used now.
    pub fn touch(&self, last_use: &LastUse) {
        last_use
            .0
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// A permit for one new connection, held as long as the connection is open.
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, BudgetSpent> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let deadline = tokio::time::Instant::now() + BUDGET_WAIT;
        loop {
            self.reclaim_idle();
            let slice = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .min(RECLAIM_EVERY);
            if slice.is_zero() {
                metrics::counter!("hellojohn_db_budget_exhausted_total").increment(1);
                return Err(BudgetSpent(self.size));
            }
            if let Ok(Ok(permit)) = tokio::time::timeout(slice, self.permits.clone().acquire_owned()).await {
                return Ok(permit);
            }
        }
    }

    /// Closes idle connections, least recently used pools first, until a permit is free.
    fn reclaim_idle(&self) {
        let mut pools = self.pools.lock();
        pools.sort_by_key(|p| p.last_use.0.load(Ordering::Relaxed));
        let mut gone = Vec::new();
        for (index, registered) in pools.iter().enumerate() {
            if self.permits.available_permits() > 0 {
                break;
            }
            if !registered.pool.close_idle() {
                gone.push(index);
            }
        }
        for index in gone.into_iter().rev() {
            pools.swap_remove(index);
        }
    }

    /// Publishes the budget's gauges.
    pub fn record_metrics(&self) {
        metrics::gauge!("hellojohn_db_connection_budget").set(self.size as f64);
        metrics::gauge!("hellojohn_db_connections_open").set(self.in_use() as f64);
    }
}

/// This node's default budget on a server allowing `usable` connections to ordinary
/// users: a quarter, so that a few nodes and every other client of the server fit.
pub fn default_budget(usable: usize) -> usize {
    (usable / 4).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Idle {
        permits: Mutex<Vec<OwnedSemaphorePermit>>,
    }

    impl IdleConnections for Arc<Idle> {
        fn close_idle(&self) -> bool {
            self.permits.lock().clear();
            true
        }
        fn alive(&self) -> bool {
            true
        }
    }

    #[tokio::test]
    async fn a_spent_budget_takes_idle_connections_back_least_recently_used_first() {
        let budget = ConnectionBudget::new(2);
        let (old, recent) = (Arc::new(LastUse::default()), Arc::new(LastUse::default()));
        let old_pool = Arc::new(Idle {
            permits: Mutex::new(vec![budget.acquire().await.unwrap()]),
        });
        budget.touch(&old);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let recent_pool = Arc::new(Idle {
            permits: Mutex::new(vec![budget.acquire().await.unwrap()]),
        });
        budget.touch(&recent);
        budget.register(Box::new(recent_pool.clone()), recent);
        budget.register(Box::new(old_pool.clone()), old);
        assert_eq!(budget.in_use(), 2);
        let third = budget.acquire().await.unwrap();
        assert!(
            old_pool.permits.lock().is_empty(),
            "the least recently used pool gave back"
        );
        assert_eq!(
            recent_pool.permits.lock().len(),
            1,
            "the recent pool kept its connection"
        );
        drop(third);
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_held_by_busy_connections_sheds_after_a_bounded_wait() {
        let budget = ConnectionBudget::new(2);
        let _busy = (budget.acquire().await.unwrap(), budget.acquire().await.unwrap());
        let started = tokio::time::Instant::now();
        assert!(budget.acquire().await.is_err());
        assert!(started.elapsed() >= BUDGET_WAIT && started.elapsed() < BUDGET_WAIT * 2);
    }
}
