//! The tenant leases this node holds. A node serves a tenant only while it holds the
//! tenant's lease in the database, renewed in one statement per beat for all of them; a
//! lapsed or released lease passes to the next owner. The local validity ends a tenth
//! before the database's expiry, and a tenant is dropped here (no new calls, its actor
//! stopped) before its lease is released, so a new owner starts only after this node
//! stopped taking its calls.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::error::ApiError;
use crate::store::cluster::ClusterStore;
use crate::store::StoreError;

/// How long a node waits before asking again for a lease another node holds.
const RETRY_REFUSED: Duration = Duration::from_millis(250);

/// A lease as this node holds it.
#[derive(Clone, Copy)]
struct Held {
    /// When this node asked for it (a renewal that started earlier can't have seen it).
    asked: Instant,
    /// Until when this node may serve the tenant.
    until: Instant,
}

/// This node's leases.
pub struct Leases {
    store: Arc<dyn ClusterStore>,
    node: String,
    lease: Duration,
    held: DashMap<String, Held>,
    /// Tenants another node holds: no new attempt before the instant given.
    refused: DashMap<String, Instant>,
    /// One acquisition at a time per tenant: a burst of calls for a tenant being placed
    /// makes one database transaction, not one each.
    acquiring: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

impl Leases {
    /// No leases yet.
    pub fn new(store: Arc<dyn ClusterStore>, node: String, lease: Duration) -> Self {
        Self {
            store,
            node,
            lease,
            held: DashMap::new(),
            refused: DashMap::new(),
            acquiring: DashMap::new(),
        }
    }

    fn valid_from(&self, asked_at: Instant) -> Instant {
        asked_at + self.lease.mul_f64(0.9)
    }

    /// Whether this node holds a valid lease of `tenant`.
    pub fn holds(&self, tenant: &str) -> bool {
        self.held.get(tenant).is_some_and(|h| h.until > Instant::now())
    }

    /// Makes sure this node holds `tenant`'s lease, taking it if it is free or lapsed.
    /// While another node holds it the answer is `503` with `Retry-After: 1`.
    pub async fn ensure(&self, tenant: &str) -> Result<(), ApiError> {
        if self.holds(tenant) {
            return Ok(());
        }
        let turn = self.acquiring.entry(tenant.to_owned()).or_default().clone();
        let _turn = turn.lock().await;
        let result = self.acquire(tenant).await;
        self.acquiring.remove_if(tenant, |_, t| Arc::strong_count(t) <= 2);
        result
    }

    async fn acquire(&self, tenant: &str) -> Result<(), ApiError> {
        if self.holds(tenant) {
            return Ok(()); // Taken by the call that held the turn before this one.
        }
        let now = Instant::now();
        if self.refused.get(tenant).is_some_and(|until| *until > now) {
            return Err(ApiError::moving());
        }
        match self.store.acquire_lease(tenant, &self.node, self.lease).await {
            Ok(Some(granted)) => {
                self.refused.remove(tenant);
                let held = Held {
                    asked: now,
                    until: self.valid_from(now),
                };
                if self.held.insert(tenant.to_owned(), held).is_none() {
                    metrics::counter!("hellojohn_cluster_lease_moves_total", "change" => "acquired").increment(1);
                    tracing::debug!(tenant, epoch = granted.epoch, "took a tenant's lease");
                }
                Ok(())
            }
            Ok(None) => {
                self.refused.insert(tenant.to_owned(), now + RETRY_REFUSED);
                Err(ApiError::moving())
            }
            Err(e) => {
                tracing::warn!(tenant, error = %e, "could not take a tenant's lease");
                Err(ApiError::moving())
            }
        }
    }

    /// Renews every lease this node holds; answers the tenants it lost (their lease was
    /// taken after it lapsed, e.g. while this node could not reach the database), which
    /// are no longer held here.
    pub async fn renew(&self) -> Result<Vec<String>, StoreError> {
        let asked = Instant::now();
        let still: HashSet<String> = self
            .store
            .renew_leases(&self.node, self.lease)
            .await?
            .into_iter()
            .collect();
        let valid = self.valid_from(asked);
        for tenant in &still {
            // Leases of an earlier run of this node count too: it serves them again.
            match self.held.get_mut(tenant) {
                Some(mut held) => held.until = valid,
                None => {
                    self.held.insert(tenant.clone(), Held { asked, until: valid });
                }
            }
        }
        // A lease taken while the renewal ran is not in its answer, and not lost.
        let lost: Vec<String> = self
            .held
            .iter()
            .filter(|e| !still.contains(e.key()) && e.value().asked < asked)
            .map(|e| e.key().clone())
            .collect();
        for tenant in &lost {
            self.held.remove(tenant);
        }
        self.refused.retain(|_, until| *until > asked);
        Ok(lost)
    }

    /// Drops (and answers) the tenants whose local validity ran out: a renewal failed,
    /// so another node may take them soon.
    pub fn drop_lapsed(&self) -> Vec<String> {
        let now = Instant::now();
        let lapsed: Vec<String> = self
            .held
            .iter()
            .filter(|e| e.value().until <= now)
            .map(|e| e.key().clone())
            .collect();
        for tenant in &lapsed {
            self.held.remove(tenant);
        }
        lapsed
    }

    /// Stops serving these tenants here at once (no new call is let through); call
    /// [`Leases::release`] once their actors have stopped.
    pub fn drop_local(&self, tenants: &[String]) {
        for tenant in tenants {
            self.held.remove(tenant);
        }
    }

    /// Gives up these tenants in the database, so their next owner takes them without
    /// waiting for the lease to lapse.
    pub async fn release(&self, tenants: &[String]) -> Result<(), StoreError> {
        if tenants.is_empty() {
            return Ok(());
        }
        self.drop_local(tenants);
        metrics::counter!("hellojohn_cluster_lease_moves_total", "change" => "released")
            .increment(tenants.len() as u64);
        self.store.release_leases(&self.node, tenants).await
    }

    /// The tenants whose lease this node holds.
    pub fn held(&self) -> Vec<String> {
        self.held.iter().map(|e| e.key().clone()).collect()
    }
}
