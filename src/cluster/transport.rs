//! Links between nodes: a `ractor_cluster` node server behind mutual TLS, the set of peers
//! this node holds a working link to (from the server's session events), and dialling the
//! peers the database lists, with backoff. `ractor_cluster` has no membership or reconnect
//! of its own: the membership loop calls [`Transport::dial_missing`] on every beat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use ractor::{Actor, ActorRef};
use ractor_cluster::node::{NodeConnectionMode, NodeEventSubscription, NodeServerSessionInformation};
use ractor_cluster::{IncomingEncryptionMode, NodeServer, NodeServerMessage};

use super::tls::{peer_name, ClusterTls};
use super::ClusterError;
use crate::config::ClusterConfig;

/// The longest wait between two dials of an unreachable peer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A peer that could not be dialled: when to try again.
struct Backoff {
    next: Instant,
    delay: Duration,
}

/// The node server and what is known of its links.
pub struct Transport {
    server: ActorRef<NodeServerMessage>,
    tls: ClusterTls,
    /// Ready sessions (authenticated, process groups exchanged): the peer of each, by the
    /// session actor. Two nodes dialling each other at once briefly hold two sessions, and
    /// the duplicate's end must not count as the link's.
    linked: Arc<DashMap<ractor::ActorId, String>>,
    backoff: DashMap<String, Backoff>,
    /// Wakes the membership loop when a link comes or goes.
    changed: Arc<tokio::sync::Notify>,
}

/// Keeps [`Transport::linked`] in step with the server's sessions.
struct LinkEvents {
    linked: Arc<DashMap<ractor::ActorId, String>>,
    changed: Arc<tokio::sync::Notify>,
}

/// The peer's node name (`ractor_cluster` names a node `name@hostname`; both are ours).
fn name_of(session: &NodeServerSessionInformation) -> Option<String> {
    let full = &session.peer_name.as_ref()?.name;
    Some(full.split_once('@').map_or(full.as_str(), |(name, _)| name).to_owned())
}

impl NodeEventSubscription for LinkEvents {
    fn node_session_opened(&self, _session: NodeServerSessionInformation) {}

    fn node_session_disconnected(&self, session: NodeServerSessionInformation) {
        match name_of(&session) {
            Some(name) => {
                let was_ready = self.linked.remove(&session.actor.get_id()).is_some();
                if was_ready && !self.linked.iter().any(|e| *e.value() == name) {
                    tracing::warn!(peer = %name, "lost the link to a cluster peer");
                }
            }
            None => tracing::warn!(
                address = %session.peer_addr,
                "a cluster peer was refused before it named itself (certificate from another CA, or not a cluster node)"
            ),
        }
        self.changed.notify_one();
    }

    fn node_session_authenicated(&self, _session: NodeServerSessionInformation) {}

    fn node_session_ready(&self, session: NodeServerSessionInformation) {
        if let Some(name) = name_of(&session) {
            tracing::info!(peer = %name, address = %session.peer_addr, "linked to a cluster peer");
            self.linked.insert(session.actor.get_id(), name);
            self.changed.notify_one();
        }
    }
}

impl Transport {
    /// Starts the node server on `HELLOJOHN_CLUSTER_LISTEN`.
    pub async fn start(
        node: &str,
        config: &ClusterConfig,
        changed: Arc<tokio::sync::Notify>,
    ) -> Result<Self, ClusterError> {
        let tls = ClusterTls::load(config)?;
        let server = NodeServer::new(
            config.listen.port(),
            config.cookie.clone(),
            node.to_owned(),
            node.to_owned(),
            Some(IncomingEncryptionMode::Tls(tls.acceptor.clone())),
            Some(NodeConnectionMode::Isolated),
        )
        .with_listen_addr(config.listen.ip());
        let (server, _) = Actor::spawn(None, server, ())
            .await
            .map_err(|e| ClusterError::Listen(e.to_string()))?;
        let linked: Arc<DashMap<ractor::ActorId, String>> = Arc::default();
        server
            .cast(NodeServerMessage::SubscribeToEvents {
                id: "hellojohn.links".to_owned(),
                subscription: Box::new(LinkEvents {
                    linked: linked.clone(),
                    changed: changed.clone(),
                }),
            })
            .map_err(|e| ClusterError::Listen(e.to_string()))?;
        Ok(Self {
            server,
            tls,
            linked,
            backoff: DashMap::new(),
            changed,
        })
    }

    /// The peers this node holds a working link to, sorted.
    pub fn linked(&self) -> Vec<String> {
        let mut names: Vec<String> = self.linked.iter().map(|e| e.value().clone()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether a link to `peer` is up.
    pub fn is_linked(&self, peer: &str) -> bool {
        self.linked.iter().any(|e| e.value() == peer)
    }

    /// Dials every listed peer (name, address) without a link whose backoff has passed.
    pub fn dial_missing(&self, peers: &[(String, String)]) {
        let now = Instant::now();
        for (name, address) in peers {
            if self.is_linked(name) || self.backoff.get(name).is_some_and(|b| b.next > now) {
                continue;
            }
            let delay = self
                .backoff
                .get(name)
                .map(|b| (b.delay * 2).min(MAX_BACKOFF))
                .unwrap_or(Duration::from_millis(250));
            self.backoff.insert(
                name.clone(),
                Backoff {
                    next: now + delay,
                    delay,
                },
            );
            let Ok(server_name) = peer_name(name) else {
                tracing::warn!(peer = %name, "a listed peer's name can't be checked against a certificate");
                continue;
            };
            let server = self.server.clone();
            let connector = self.tls.connector.clone();
            let (name, address) = (name.clone(), address.clone());
            let changed = self.changed.clone();
            tokio::spawn(async move {
                if let Err(e) =
                    ractor_cluster::client_connect_enc(&server, address.as_str(), connector, server_name).await
                {
                    tracing::warn!(peer = %name, %address, error = %e, "could not link to a cluster peer; retrying with backoff");
                    changed.notify_one();
                }
            });
        }
    }

    /// Forgets the backoff of peers now linked, so a later loss redials at once.
    pub fn reset_backoff(&self) {
        let linked = self.linked();
        self.backoff.retain(|name, _| !linked.contains(name));
    }

    /// Stops the node server (and with it every link).
    pub fn stop(&self) {
        self.server.stop(None);
    }
}
