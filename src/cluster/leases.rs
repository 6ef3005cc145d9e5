//! The tenant leases this node holds. A node serves a tenant only while it holds the
//! tenant's lease in the database, renewed in one statement per beat for all of them; a
//! lapsed or released lease passes to the next owner. The local validity ends a tenth
//! before the database's expiry, so the old owner has stopped before a new one can start.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use crate::error::ApiError;
use crate::store::cluster::ClusterStore;
use crate::store::StoreError;

/// How long a node waits before asking again for a lease another node holds.
const RETRY_REFUSED: Duration = Duration::from_millis(250);

/// This node's leases.
pub struct Leases {
    store: Arc<dyn ClusterStore>,
    node: String,
    lease: Duration,
    /// Held tenants, each valid (locally) until the instant given.
    held: DashMap<String, Instant>,
    /// Tenants another node holds: no new attempt before the instant given.
    refused: DashMap<String, Instant>,
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
        }
    }

    fn valid_from(&self, asked_at: Instant) -> Instant {
        asked_at + self.lease.mul_f64(0.9)
    }

    /// Whether this node holds a valid lease of `tenant`.
    pub fn holds(&self, tenant: &str) -> bool {
        self.held.get(tenant).is_some_and(|until| *until > Instant::now())
    }

    /// Makes sure this node holds `tenant`'s lease, taking it if it is free or lapsed.
    /// While another node holds it the answer is `503` with `Retry-After: 1`.
    pub async fn ensure(&self, tenant: &str) -> Result<(), ApiError> {
        if self.holds(tenant) {
            return Ok(());
        }
        let now = Instant::now();
        if self.refused.get(tenant).is_some_and(|until| *until > now) {
            return Err(ApiError::moving());
        }
        match self.store.acquire_lease(tenant, &self.node, self.lease).await {
            Ok(Some(granted)) => {
                self.refused.remove(tenant);
                if self.held.insert(tenant.to_owned(), self.valid_from(now)).is_none() {
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
    /// taken after it lapsed, e.g. while this node could not reach the database).
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
            self.held.insert(tenant.clone(), valid);
        }
        let lost: Vec<String> = self
            .held
            .iter()
            .filter(|e| !still.contains(e.key()))
            .map(|e| e.key().clone())
            .collect();
        for tenant in &lost {
            self.held.remove(tenant);
        }
        self.refused.retain(|_, until| *until > asked);
        Ok(lost)
    }

    /// Gives up these tenants now, so their next owner takes them without waiting.
    pub async fn release(&self, tenants: &[String]) -> Result<(), StoreError> {
        if tenants.is_empty() {
            return Ok(());
        }
        for tenant in tenants {
            self.held.remove(tenant);
        }
        metrics::counter!("hellojohn_cluster_lease_moves_total", "change" => "released")
            .increment(tenants.len() as u64);
        self.store.release_leases(&self.node, tenants).await
    }

    /// The tenants whose lease this node holds.
    pub fn held(&self) -> Vec<String> {
        self.held.iter().map(|e| e.key().clone()).collect()
    }
}
