//! The beat: every fifth of a lease, this node heartbeats, reads the member list, dials
//! the peers it has no link to, renews its leases and gives up the tenants that now belong
//! to another node. A lost or new link wakes it early.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::gateway;
use super::membership::{is_fresh, is_live, up_nodes, View};
use super::{Cluster, ClusterError};
use crate::store::cluster::Heartbeat;

/// The shortest time between two beats.
const MIN_GAP: Duration = Duration::from_millis(100);

/// Node rows silent for this long are removed from the list.
const FORGET_AFTER_MS: i64 = 24 * 3_600_000;

/// Starts the beat loop.
pub fn start(cluster: Arc<Cluster>) {
    tokio::spawn(async move {
        let every = (cluster.config.lease / 5).max(Duration::from_millis(200));
        let mut beats: u64 = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = cluster.wake.notified() => {
                    // Woken by link events, which anyone reaching the cluster port can
                    // cause: at most one early beat per MIN_GAP.
                    tokio::time::sleep(MIN_GAP).await;
                }
            }
            if cluster.leaving.load(Ordering::Relaxed) {
                // Still heartbeating as leaving, so peers see the node go rather than die.
                let _ = cluster.beat(false).await;
                continue;
            }
            if let Err(e) = cluster.beat(false).await {
                tracing::warn!(error = %e, "cluster beat failed");
                cluster.joined.store(false, Ordering::Relaxed);
            }
            if let Err(e) = cluster.keep_leases().await {
                tracing::warn!(error = %e, "could not renew tenant leases");
            }
            beats += 1;
            if beats.is_multiple_of(500) {
                let _ = cluster
                    .store
                    .forget_nodes(cluster.view().now_ms - FORGET_AFTER_MS)
                    .await;
            }
        }
    });
}

impl Cluster {
    /// One heartbeat and a fresh view; `first` marks a (re)start in the node table.
    pub(super) async fn beat(&self, first: bool) -> Result<(), ClusterError> {
        let leaving = self.leaving.load(Ordering::Relaxed);
        let links = self.answering_links().await;
        self.store
            .heartbeat(&Heartbeat {
                name: self.name.clone(),
                address: self.config.advertise.clone(),
                version: crate::VERSION.to_owned(),
                state: if leaving { "leaving" } else { "active" }.to_owned(),
                links,
                restarted: first,
                traffic: self.traffic.compact(self.control.clock().unix()),
            })
            .await?;
        let (nodes, now_ms) = self.store.nodes().await?;
        let stale = self.stale_ms();
        let up = up_nodes(&nodes, now_ms, stale);
        let live_peers: Vec<(String, String)> = nodes
            .iter()
            .filter(|n| n.name != self.name && is_live(n, now_ms, stale))
            .map(|n| (n.name.clone(), n.address.clone()))
            .collect();
        self.transport.reset_backoff();
        if !leaving {
            // One side of each pair dials (the one with the smaller name): two nodes dialling
            // each other at once make duplicate sessions that `ractor_cluster` tears down.
            let to_dial: Vec<(String, String)> = live_peers
                .iter()
                .filter(|(name, _)| self.name < *name)
                .cloned()
                .collect();
            self.transport.dial_missing(&to_dial);
        }
        // Joined: alone, or reached by a live peer (not merely let in by the fallback of a
        // view where nobody reaches anybody).
        let alone = live_peers.is_empty();
        let reached = nodes
            .iter()
            .any(|n| n.name != self.name && is_fresh(n, now_ms, stale) && n.links.contains(&self.name));
        self.joined.store(alone || reached, Ordering::Relaxed);
        metrics::gauge!("hellojohn_cluster_nodes").set(up.len() as f64);
        let before = self.view();
        if before.up.iter().any(|n| !up.contains(n)) {
            self.departed.notify_one();
        }
        *self.view.write() = Arc::new(View { nodes, up, now_ms });
        Ok(())
    }

    /// The linked peers whose gateway answered a ping in this beat or the one before: a
    /// peer silent twice in a row (frozen, or behind a partition TCP has not noticed) no
    /// longer counts as linked, so the others stop routing to it within a few beats,
    /// while one slow answer under load moves nothing.
    async fn answering_links(&self) -> Vec<String> {
        let linked = self.transport.linked();
        let timeout = (self.config.lease / 5).clamp(Duration::from_millis(200), Duration::from_secs(1));
        let answers = futures_util::future::join_all(linked.iter().map(|peer| gateway::ping(peer, timeout))).await;
        let mut misses = self.silent_peers.lock();
        let mut counted = Vec::new();
        let mut now_missing = std::collections::HashMap::new();
        for (peer, answered) in linked.into_iter().zip(answers) {
            if answered {
                counted.push(peer);
                continue;
            }
            let missed = misses.get(&peer).copied().unwrap_or(0) + 1;
            if missed == 2 {
                tracing::warn!(peer = %peer, "a linked cluster peer missed two pings; not counting its link");
            }
            if missed < 2 {
                counted.push(peer.clone());
            }
            now_missing.insert(peer, missed);
        }
        *misses = now_missing;
        counted
    }

    /// Renews this node's leases, stops tenants whose lease was lost (or lapsed while the
    /// renewal failed), hands over the ones another node should own now (a node joined or
    /// came back), and stops any actor running here without a lease.
    async fn keep_leases(&self) -> Result<(), ClusterError> {
        let lost = match self.leases.renew().await {
            Ok(lost) => lost,
            Err(e) => {
                let lapsed = self.leases.drop_lapsed();
                for tenant in &lapsed {
                    self.registry.stop(tenant).await;
                }
                return Err(e.into());
            }
        };
        for tenant in lost {
            tracing::warn!(tenant = %tenant, "lost a tenant's lease; stopping it here");
            self.registry.stop(&tenant).await;
        }
        let moving: Vec<String> = self
            .leases
            .held()
            .into_iter()
            .filter(|t| self.owner_of(t).as_deref() != Some(self.name.as_str()))
            .collect();
        if !moving.is_empty() {
            // No call gets through from here on; then the actors stop; then the new
            // owners may take the leases.
            self.leases.drop_local(&moving);
            for tenant in &moving {
                self.registry.stop(tenant).await;
            }
            self.leases.release(&moving).await?;
            tracing::info!(tenants = moving.len(), "handed tenants to their new owners");
        }
        for tenant in self.registry.running_tenants() {
            if !self.leases.holds(&tenant) {
                self.registry.stop(&tenant).await;
            }
        }
        Ok(())
    }
}
