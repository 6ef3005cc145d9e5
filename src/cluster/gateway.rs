//! The gateway: the one network-visible actor of a node. Tenant actors stay local (a
//! remote-capable actor per tenant would cost every node memory for every tenant); a call
//! for a tenant owned elsewhere travels to the owner's gateway as a versioned frame
//! (`tenant::wire`) and its reply comes back the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::Cluster;
use crate::error::ApiError;
use crate::tenant::messages::{TenantCall, TenantReply};
use crate::tenant::wire;

/// The process group a node's gateway joins: one per node, so a caller finds the owner's.
pub fn group_of(node: &str) -> String {
    format!("hellojohn.gateway.{node}")
}

/// Messages of a gateway: one call, carried between nodes.
#[derive(ractor_cluster::RactorClusterMessage)]
pub enum GatewayMsg {
    /// A framed `(tenant, call)`; the reply is a framed [`TenantReply`].
    #[rpc]
    Call(Vec<u8>, RpcReplyPort<Vec<u8>>),
    /// Answered at once: the link and the peer's runtime are alive (a TCP session can
    /// outlive a silent partition by many minutes).
    #[rpc]
    Ping(RpcReplyPort<Vec<u8>>),
}

/// The gateway actor of this node.
pub struct Gateway;

#[async_trait::async_trait]
impl Actor for Gateway {
    type Msg = GatewayMsg;
    type State = Arc<Cluster>;
    type Arguments = (Arc<Cluster>, String);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (cluster, group): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        ractor::pg::join(group, vec![myself.get_cell()]);
        Ok(cluster)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        cluster: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (frame, reply) = match message {
            GatewayMsg::Call(frame, reply) => (frame, reply),
            GatewayMsg::Ping(reply) => {
                let _ = reply.send(Vec::new());
                return Ok(());
            }
        };
        // Served off the gateway, so one slow tenant never holds up the node's other calls.
        let cluster = cluster.clone();
        tokio::spawn(async move {
            let answer: TenantReply = match wire::decode_call(&frame) {
                Ok((tenant_id, call)) => cluster.serve_here(&tenant_id, call).await,
                Err(e) => Err(ApiError::from(e)).into(),
            };
            let _ = reply.send(wire::encode_reply(&answer));
        });
        Ok(())
    }
}

/// Whether `peer`'s gateway answers a ping within `timeout`.
pub async fn ping(peer: &str, timeout: Duration) -> bool {
    let Some(cell) = ractor::pg::get_members(&group_of(peer)).into_iter().next() else {
        return false;
    };
    let gateway: ActorRef<GatewayMsg> = cell.into();
    matches!(
        gateway.call(GatewayMsg::Ping, Some(timeout)).await,
        Ok(ractor::rpc::CallResult::Success(_))
    )
}

/// How a forwarded call ended (the `result` label of `hellojohn_cluster_forwarded_calls_total`).
fn outcome(reply: &TenantReply) -> &'static str {
    match &reply.result {
        Ok(_) => "ok",
        Err(ApiError::ServiceUnavailable { .. }) => "unavailable",
        Err(_) => "error",
    }
}

/// Sends `call` to `peer`'s gateway and waits (at most `timeout`) for its reply. A peer
/// without a link, a lost reply or a timeout answer `503` with `Retry-After: 1`: the
/// tenant is moving, and a retry lands on its next owner.
pub async fn forward(peer: &str, tenant_id: &str, call: &TenantCall, timeout: Duration) -> TenantReply {
    let started = Instant::now();
    let Some(cell) = ractor::pg::get_members(&group_of(peer)).into_iter().next() else {
        metrics::counter!("hellojohn_cluster_forwarded_calls_total", "result" => "no_link").increment(1);
        return Err(ApiError::moving()).into();
    };
    let gateway: ActorRef<GatewayMsg> = cell.into();
    let frame = wire::encode_call(tenant_id, call);
    let reply = match gateway.call(|port| GatewayMsg::Call(frame, port), Some(timeout)).await {
        Ok(ractor::rpc::CallResult::Success(bytes)) => match wire::decode_reply(&bytes) {
            Ok(reply) => reply,
            Err(e) => Err(ApiError::from(e)).into(),
        },
        Ok(ractor::rpc::CallResult::Timeout) => {
            metrics::counter!("hellojohn_cluster_forwarded_calls_total", "result" => "timeout").increment(1);
            return Err(ApiError::moving()).into();
        }
        Ok(ractor::rpc::CallResult::SenderError) | Err(_) => {
            metrics::counter!("hellojohn_cluster_forwarded_calls_total", "result" => "link_error").increment(1);
            return Err(ApiError::moving()).into();
        }
    };
    metrics::counter!("hellojohn_cluster_forwarded_calls_total", "result" => outcome(&reply)).increment(1);
    metrics::histogram!("hellojohn_cluster_forward_duration_seconds").record(started.elapsed().as_secs_f64());
    reply
}
