//! Clustering: every node accepts every request, and each tenant's actor runs on exactly
//! one node, its owner. Membership, leases and the change feed live in the control-plane
//! database ([`crate::store::cluster`]); calls travel between nodes over `ractor_cluster`
//! links with mutual TLS, from gateway to gateway. Without `HELLOJOHN_CLUSTER_LISTEN` none
//! of this runs and the tenant registry is the router.

mod beat;
mod certs;
mod feed;
pub mod gateway;
mod leases;
pub mod membership;
pub mod placement;
mod tls;
mod transport;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ractor::Actor;

pub use certs::{gen_certs, CertError};

use crate::config::ClusterConfig;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::store::cluster::ClusterStore;
use crate::store::StoreError;
use crate::tenant::messages::auth::{AuthOp, SignIn, SignInCheck, SignInFinish};
use crate::tenant::messages::{Caller, Operation, TenantCall, TenantReply, TenantRequest};
use crate::tenant::ops::password_sign_in;
use crate::tenant::registry::TenantRegistry;
use crate::tenant::router::TenantRouter;
use membership::View;

/// How long a forwarded call may wait for the owner's answer: longer than the owner's own
/// wait for its tenant actor, so the owner's answer (a 503 of its own included) comes
/// back rather than a timeout here while the call may still be applied there.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(35);

/// Why the node could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster TLS: {0}")]
    Tls(String),
    #[error("cluster listener: {0}")]
    Listen(String),
    #[error("clustering needs PostgreSQL or MySQL")]
    NoSqlStore,
    #[error("cluster membership: {0}")]
    Store(#[from] StoreError),
}

/// This node's part in the cluster.
pub struct Cluster {
    name: String,
    config: ClusterConfig,
    store: Arc<dyn ClusterStore>,
    registry: TenantRegistry,
    control: Arc<ControlPlane>,
    transport: transport::Transport,
    leases: leases::Leases,
    view: parking_lot::RwLock<Arc<View>>,
    /// Recorded in the node table and reached by a peer (or alone): `/readyz` says ready.
    joined: AtomicBool,
    /// Shutting down: owns nothing, forwards everything.
    leaving: AtomicBool,
    /// Wakes the beat early (a link came or went).
    wake: Arc<tokio::sync::Notify>,
    /// Told when a node that was up no longer is (its tenants move).
    departed: Arc<tokio::sync::Notify>,
    /// Linked peers missing pings, with how many in a row.
    silent_peers: parking_lot::Mutex<std::collections::HashMap<String, u32>>,
    /// This node's recent request rate and latency, shared with peers at each heartbeat.
    traffic: Arc<crate::traffic::Traffic>,
}

impl Cluster {
    /// Starts the node server and gateway, records the node and starts its loops.
    pub async fn start(
        name: String,
        config: ClusterConfig,
        registry: TenantRegistry,
        control: Arc<ControlPlane>,
        traffic: Arc<crate::traffic::Traffic>,
    ) -> Result<Arc<Self>, ClusterError> {
        let store = control.backend().cluster().ok_or(ClusterError::NoSqlStore)?;
        let wake = Arc::new(tokio::sync::Notify::new());
        let transport = transport::Transport::start(&name, &config, wake.clone()).await?;
        let cluster = Arc::new(Self {
            leases: leases::Leases::new(store.clone(), name.clone(), config.lease),
            name,
            config,
            store: store.clone(),
            registry,
            control: control.clone(),
            transport,
            view: parking_lot::RwLock::default(),
            joined: AtomicBool::new(false),
            leaving: AtomicBool::new(false),
            wake,
            departed: Arc::new(tokio::sync::Notify::new()),
            silent_peers: parking_lot::Mutex::default(),
            traffic,
        });
        Actor::spawn(
            None,
            gateway::Gateway,
            (cluster.clone(), gateway::group_of(&cluster.name)),
        )
        .await
        .map_err(|e| ClusterError::Listen(format!("gateway: {e}")))?;
        // The first beat before serving: the node is listed, and alone it is ready at once.
        cluster.beat(true).await?;
        beat::start(cluster.clone());
        feed::start(cluster.clone());
        control.set_change_feed(store);
        tracing::info!(node = %cluster.name, listen = %cluster.config.listen, advertise = %cluster.config.advertise, "joined the cluster");
        Ok(cluster)
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The view of the last beat.
    pub fn view(&self) -> Arc<View> {
        self.view.read().clone()
    }

    /// A heartbeat older than this means the node is down.
    fn stale_ms(&self) -> i64 {
        self.config.lease.as_millis() as i64
    }

    /// The node that should own `tenant` now.
    pub fn owner_of(&self, tenant: &str) -> Option<String> {
        let view = self.view();
        if self.leaving.load(Ordering::Relaxed) {
            let others: Vec<String> = view.up.iter().filter(|n| **n != self.name).cloned().collect();
            return placement::owner(tenant, &others).map(str::to_owned);
        }
        placement::owner(tenant, &view.up).map(str::to_owned)
    }

    /// What the webhook sweeper listens to: a node left, so sweep once its leases lapsed.
    pub fn departures(&self) -> crate::webhooks::sweeper::Departures {
        crate::webhooks::sweeper::Departures {
            notify: self.departed.clone(),
            delay: self.config.lease + Duration::from_secs(1),
        }
    }

    /// Whether `/readyz` may say ready: listed, reached by the cluster, not leaving.
    pub fn is_ready(&self) -> bool {
        self.joined.load(Ordering::Relaxed) && !self.leaving.load(Ordering::Relaxed)
    }

    /// Serves a call on this node: only while it holds the tenant's lease, taken here when
    /// this node is the tenant's owner. Otherwise the tenant is moving: `503`, retry.
    pub async fn serve_here(&self, tenant: &str, call: TenantCall) -> TenantReply {
        if self.leaving.load(Ordering::Relaxed) {
            return Err(ApiError::moving()).into();
        }
        if !self.leases.holds(tenant) {
            if self.owner_of(tenant).as_deref() != Some(self.name.as_str()) {
                return Err(ApiError::moving()).into();
            }
            if let Err(e) = self.leases.ensure(tenant).await {
                return Err(e).into();
            }
        }
        self.registry.dispatch(tenant, call).await
    }

    /// SIGTERM: stop owning tenants (their next owners take them at once) and tell the
    /// others, before the HTTP server drains. Calls still arriving here are forwarded.
    pub async fn leave(&self) {
        self.leaving.store(true, Ordering::Relaxed);
        if let Err(e) = self.beat(false).await {
            tracing::warn!(error = %e, "could not record that this node is leaving");
        }
        let held = self.leases.held();
        for tenant in &held {
            self.registry.stop(tenant).await;
        }
        match self.leases.release(&held).await {
            Ok(()) => tracing::info!(tenants = held.len(), "released this node's tenants"),
            Err(e) => tracing::warn!(error = %e, "could not release leases; they lapse on their own"),
        }
    }

    /// Closes every link (after the HTTP server drained).
    pub fn stop(&self) {
        self.transport.stop();
    }

    /// Every live node's recent traffic: this node's from its own ring, the others' as their
    /// last heartbeat recorded it (at most a beat old).
    pub fn traffic(&self, now: i64) -> Vec<(String, Vec<crate::traffic::NodePoint>)> {
        let view = self.view();
        view.nodes
            .iter()
            .filter(|node| membership::is_fresh(node, view.now_ms, self.stale_ms()))
            .map(|node| {
                let points = if node.name == self.name {
                    self.traffic.series(now)
                } else {
                    crate::traffic::Traffic::expand(node.traffic.as_deref().unwrap_or("[]"), now)
                };
                (node.name.clone(), points)
            })
            .collect()
    }

    /// Every node and every running tenant's owner (API.md §8 `GET /cp/v1/cluster`). The
    /// nodes and their states are this node's view of the last beat, the one it routes by;
    /// the placements are read now.
    pub async fn snapshot(&self) -> Result<serde_json::Value, StoreError> {
        let (leases, _) = self.store.leases().await?;
        let view = self.view();
        let nodes: Vec<serde_json::Value> = view
            .nodes
            .iter()
            .map(|node| {
                serde_json::json!({
                    "name": node.name,
                    "cluster_address": node.address,
                    "state": membership::state_of(node, &view, self.stale_ms()),
                    "last_heartbeat_at": rfc3339_ms(node.heartbeat_ms),
                    "tenants": leases.iter().filter(|l| l.node == node.name).count(),
                })
            })
            .collect();
        let placements: Vec<serde_json::Value> = leases
            .iter()
            .map(|lease| {
                serde_json::json!({
                    "tenant_id": lease.tenant_id,
                    "node": lease.node,
                    "epoch": lease.epoch,
                    "lease_expires_at": rfc3339_ms(lease.expires_ms),
                })
            })
            .collect();
        Ok(serde_json::json!({ "nodes": nodes, "placements": placements }))
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC, second precision like every API time).
pub fn rfc3339_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::views::timestamp(at)
}

impl Cluster {
    /// Forwards `call` to `owner` and waits for its answer while `owner` still owns the
    /// tenant in this node's view: once it doesn't (it left, died or went silent), the
    /// call answers `503` with `Retry-After: 1` at once instead of waiting out the timeout.
    async fn forward(&self, owner: &str, tenant_id: &str, call: &TenantCall) -> TenantReply {
        let reply = gateway::forward(owner, tenant_id, call, FORWARD_TIMEOUT);
        tokio::pin!(reply);
        loop {
            tokio::select! {
                reply = &mut reply => return reply,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if self.owner_of(tenant_id).as_deref() != Some(owner) {
                        metrics::counter!("hellojohn_cluster_forwarded_calls_total", "result" => "owner_gone").increment(1);
                        return Err(ApiError::moving()).into();
                    }
                }
            }
        }
    }

    /// A sign-in for a tenant owned elsewhere, with the password checked here: the owner
    /// counts the limits and the lockout and names the stored hash, this node spends the
    /// argon2 time, the owner starts the session. So one hot tenant's sign-ins use every
    /// node's cores, not only its owner's. Both halves are routed like any call.
    async fn sign_in_via(&self, tenant_id: &str, caller: &Caller, op: &SignIn) -> TenantReply {
        let router: &dyn TenantRouter = self;
        let check = SignInCheck {
            email: op.email.clone(),
            too_long: op.password.len() > crate::validate::MAX_PASSWORD_BYTES,
        };
        let checked = router.run(tenant_id, caller.clone(), check).await;
        let hasher = &self.registry.deps().hasher;
        let signed_in = password_sign_in(hasher, &op.password, checked, |checked, verdict| async move {
            let finish = SignInFinish {
                email: op.email.clone(),
                checked,
                matched: verdict.matched,
                upgraded: verdict.upgraded,
            };
            router.run(tenant_id, caller.clone(), finish).await.result
        })
        .await;
        signed_in.map(SignIn::respond)
    }
}

#[async_trait]
impl TenantRouter for Cluster {
    /// Serves on this node when it owns the tenant, else forwards to the owner's gateway.
    async fn call(&self, tenant_id: &str, call: TenantCall) -> TenantReply {
        match self.owner_of(tenant_id) {
            Some(owner) if owner == self.name => self.serve_here(tenant_id, call).await,
            Some(owner) => match &call.request {
                TenantRequest::Auth(AuthOp::SignIn(op)) => self.sign_in_via(tenant_id, &call.caller, op).await,
                _ => self.forward(&owner, tenant_id, &call).await,
            },
            None => Err(ApiError::moving()).into(),
        }
    }
}
