//! The handle HTTP handlers use to reach tenant actors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef, MessagingErr};

use super::actor::TenantMsg;
use super::messages::{TenantRequest, TenantResponse};
use super::supervisor::{ActorTable, SupervisorMsg, TenantSupervisor};
use super::TenantDeps;
use crate::error::ApiError;

/// How long a request may wait for its tenant before answering 503.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Routes requests to tenant actors, starting them on demand.
#[derive(Clone)]
pub struct TenantRegistry {
    supervisor: ActorRef<SupervisorMsg>,
    actors: ActorTable,
    /// Requests sent and not yet answered on this node (the mailbox-depth sample).
    in_flight: Arc<AtomicUsize>,
}

impl TenantRegistry {
    /// Starts the supervisor.
    pub async fn start(deps: Arc<TenantDeps>) -> Result<Self, ractor::SpawnErr> {
        let actors: ActorTable = Arc::default();
        let (supervisor, _) = Actor::spawn(None, TenantSupervisor, (deps, actors.clone())).await?;
        Ok(Self {
            supervisor,
            actors,
            in_flight: Arc::default(),
        })
    }

    /// Sends a request to a tenant's actor and waits for its answer.
    /// A stopped actor is restarted once; a failure while serving answers 503.
    pub async fn call(&self, tenant_id: &str, request: TenantRequest) -> Result<TenantResponse, ApiError> {
        for _ in 0..3 {
            let actor = self.actor_for(tenant_id).await?;
            let request = request.clone();
            let depth = self.in_flight.fetch_add(1, Ordering::Relaxed);
            metrics::histogram!("hellojohn_tenant_mailbox_depth").record(depth as f64);
            let result = actor
                .call(|port| TenantMsg::Call(request, port), Some(CALL_TIMEOUT))
                .await;
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            match result {
                Ok(CallResult::Success(reply)) => return reply,
                Ok(CallResult::Timeout) => return Err(ApiError::unavailable()),
                // The actor died while serving this request.
                Ok(CallResult::SenderError) => return Err(ApiError::unavailable()),
                // The actor had stopped (idle): forget it and start a new one.
                Err(MessagingErr::SendErr(_) | MessagingErr::ChannelClosed | MessagingErr::InvalidActorType) => {
                    self.actors.remove_if(tenant_id, |_, a| a.get_id() == actor.get_id());
                }
            }
        }
        Err(ApiError::unavailable())
    }

    /// Stops a tenant's actor if it runs (tenant deleted or suspended).
    pub async fn stop(&self, tenant_id: &str) {
        let _ = self
            .supervisor
            .call(
                |port| SupervisorMsg::Stop(tenant_id.to_owned(), port),
                Some(CALL_TIMEOUT),
            )
            .await;
    }

    /// Tells a running tenant actor to reload its record and keys; a stopped one loads fresh anyway.
    pub async fn reload(&self, tenant_id: &str) -> Result<(), ApiError> {
        if self.actors.contains_key(tenant_id) {
            self.call(tenant_id, TenantRequest::Reload).await?;
        }
        Ok(())
    }

    /// How many tenant actors run on this node.
    pub fn running(&self) -> usize {
        self.actors.len()
    }

    async fn actor_for(&self, tenant_id: &str) -> Result<ActorRef<TenantMsg>, ApiError> {
        if let Some(actor) = self.actors.get(tenant_id) {
            return Ok(actor.clone());
        }
        match self
            .supervisor
            .call(
                |port| SupervisorMsg::Ensure(tenant_id.to_owned(), port),
                Some(CALL_TIMEOUT),
            )
            .await
        {
            Ok(CallResult::Success(result)) => result,
            _ => Err(ApiError::unavailable()),
        }
    }
}
