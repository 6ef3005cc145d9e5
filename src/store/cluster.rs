//! What the nodes of a cluster share through the control-plane database: their membership
//! (a row per node, heartbeated), the tenant leases that make one node a tenant's owner,
//! and the feed of control-plane changes every node applies to its caches. The database
//! is the one arbiter, so no consensus protocol of our own is needed. Times are
//! milliseconds on the database's clock.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A node as its last heartbeat recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub name: String,
    /// The `host:port` peers dial (`HELLOJOHN_CLUSTER_ADVERTISE`).
    pub address: String,
    pub version: String,
    /// `active` or `leaving` (a node that stopped heartbeating is down whatever this says).
    pub state: String,
    /// The peers this node holds a working link to.
    pub links: Vec<String>,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
    /// The node's recent traffic as [`crate::traffic::Traffic::compact`] wrote it (none from
    /// nodes of versions before the console).
    #[serde(default)]
    pub traffic: Option<String>,
}

/// What a node records at each beat (the database stamps the time).
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub name: String,
    /// The `host:port` peers dial (`HELLOJOHN_CLUSTER_ADVERTISE`).
    pub address: String,
    pub version: String,
    /// `active` or `leaving`.
    pub state: String,
    /// The peers this node holds a working link to.
    pub links: Vec<String>,
    /// The first beat of this run: the row's start time is reset.
    pub restarted: bool,
    /// The node's recent traffic, compacted (the console's node charts).
    pub traffic: String,
}

/// One tenant's lease: `node` serves the tenant until `expires_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub tenant_id: String,
    pub node: String,
    /// Grows by one each time the tenant changes owner.
    pub epoch: i64,
    pub expires_ms: i64,
}

/// A control-plane change other nodes must apply to their caches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub seq: i64,
    pub at_ms: i64,
    /// What changed (`tenant`: its record, keys or status).
    pub kind: String,
    pub subject: String,
}

/// Membership, leases and the change feed in the control-plane database.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// The database's clock, in milliseconds since the epoch.
    async fn now_ms(&self) -> Result<i64, StoreError>;
    /// Records this node's heartbeat (inserting its row on the first one).
    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError>;
    /// Every node ever recorded, with the database's clock at the time of reading.
    async fn nodes(&self) -> Result<(Vec<NodeRecord>, i64), StoreError>;
    /// Removes the rows of nodes silent since before `before_ms` (long gone).
    async fn forget_nodes(&self, before_ms: i64) -> Result<(), StoreError>;
    /// Gives `node` the tenant's lease for `lease` if it is free, lapsed or already
    /// `node`'s; `None` while another node holds it.
    async fn acquire_lease(
        &self,
        tenant_id: &str,
        node: &str,
        lease: Duration,
    ) -> Result<Option<LeaseRecord>, StoreError>;
    /// Extends every unexpired lease `node` holds; answers the tenants it still holds.
    async fn renew_leases(&self, node: &str, lease: Duration) -> Result<Vec<String>, StoreError>;
    /// Ends `node`'s leases of these tenants now, so their next owner need not wait.
    async fn release_leases(&self, node: &str, tenants: &[String]) -> Result<(), StoreError>;
    /// Every unexpired lease, with the database's clock at the time of reading.
    async fn leases(&self) -> Result<(Vec<LeaseRecord>, i64), StoreError>;
    /// Appends a change to the feed.
    async fn publish_change(&self, kind: &str, subject: &str) -> Result<(), StoreError>;
    /// Changes recorded since `since_ms` (a window, not a cursor: sequence numbers can
    /// commit out of order), oldest first; removes changes older than an hour.
    async fn changes_since(&self, since_ms: i64) -> Result<Vec<ChangeRecord>, StoreError>;
}

/// How long a change stays in the feed.
pub const CHANGE_RETENTION_MS: i64 = 3_600_000;

/// The lease `node` gets when the current one is `current` at `now_ms`: the same epoch
/// when it is `node`'s own, the next one when it lapsed (or was released) by another
/// node; `None` while another node's lease runs. Shared by every SQL backend, which run it
/// inside a transaction holding the row.
pub fn granted_lease(
    current: Option<&LeaseRecord>,
    tenant_id: &str,
    node: &str,
    now_ms: i64,
    lease: Duration,
) -> Option<LeaseRecord> {
    let epoch = match current {
        None => 1,
        Some(held) if held.node == node => held.epoch,
        Some(held) if held.expires_ms <= now_ms => held.epoch + 1,
        Some(_) => return None,
    };
    Some(LeaseRecord {
        tenant_id: tenant_id.to_owned(),
        node: node.to_owned(),
        epoch,
        expires_ms: now_ms + lease.as_millis() as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(node: &str, epoch: i64, expires_ms: i64) -> LeaseRecord {
        LeaseRecord {
            tenant_id: "tnt_1".into(),
            node: node.into(),
            epoch,
            expires_ms,
        }
    }

    #[test]
    fn a_lease_passes_to_another_node_only_once_it_lapsed() {
        let ten = Duration::from_secs(10);
        let first = granted_lease(None, "tnt_1", "a", 1_000, ten).unwrap();
        assert_eq!((first.epoch, first.expires_ms), (1, 11_000));
        // Renewing one's own lease keeps the epoch.
        assert_eq!(granted_lease(Some(&first), "tnt_1", "a", 5_000, ten).unwrap().epoch, 1);
        // Another node waits while it runs…
        assert_eq!(granted_lease(Some(&first), "tnt_1", "b", 10_999, ten), None);
        // …and takes it, one epoch on, once it lapsed (or was released: expires_ms 0).
        let moved = granted_lease(Some(&first), "tnt_1", "b", 11_000, ten).unwrap();
        assert_eq!((moved.node.as_str(), moved.epoch), ("b", 2));
        assert_eq!(
            granted_lease(Some(&held("a", 4, 0)), "tnt_1", "b", 1, ten)
                .unwrap()
                .epoch,
            5
        );
    }
}
