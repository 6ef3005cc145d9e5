//! The handle HTTP handlers use to reach tenant actors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorRef, MessagingErr};

use super::actor::TenantMsg;
use super::messages::node::Reload;
use super::messages::{Caller, TenantCall, TenantReply};
use super::router::TenantRouter;
use super::supervisor::{TenantActors, TenantSupervisor};
use super::TenantDeps;
use crate::error::ApiError;

/// How long a request may wait for its tenant before answering 503.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Routes requests to tenant actors, starting them on demand.
#[derive(Clone)]
pub struct TenantRegistry {
    supervisor: ActorRef<()>,
    actors: Arc<TenantActors>,
    /// Requests sent and not yet answered on this node (the mailbox-depth sample).
    in_flight: Arc<AtomicUsize>,
}

/// Decrements the in-flight count even when the caller's future is dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl TenantRegistry {
    /// Starts the supervisor.
    pub async fn start(deps: Arc<TenantDeps>) -> Result<Self, ractor::SpawnErr> {
        let actors = Arc::new(TenantActors::new(deps));
        let (supervisor, _) = Actor::spawn(None, TenantSupervisor, actors.clone()).await?;
        Ok(Self {
            supervisor,
            actors,
            in_flight: Arc::default(),
        })
    }

    /// Sends a call to a tenant's actor and waits for its answer, with the rate-limit report
    /// of limited endpoints. A stopped actor is restarted; a failure while serving answers 503.
    pub async fn dispatch(&self, tenant_id: &str, call: TenantCall) -> TenantReply {
        for _ in 0..3 {
            let actor = match self.actors.ensure(tenant_id, self.supervisor.get_cell()).await {
                Ok(actor) => actor,
                Err(e) => return Err(e).into(),
            };
            let call = call.clone();
            let depth = self.in_flight.fetch_add(1, Ordering::Relaxed);
            let _guard = InFlight(self.in_flight.clone());
            metrics::histogram!("hellojohn_tenant_mailbox_depth").record(depth as f64);
            match actor
                .call(|port| TenantMsg::Call(Box::new(call), port), Some(CALL_TIMEOUT))
                .await
            {
                Ok(CallResult::Success(reply)) => return reply,
                // Timed out, or the actor died while serving this request.
                Ok(CallResult::Timeout | CallResult::SenderError) => return Err(ApiError::unavailable()).into(),
                // The actor had stopped (idle): it is forgotten, the next round starts a new one.
                Err(MessagingErr::SendErr(_) | MessagingErr::ChannelClosed | MessagingErr::InvalidActorType) => {
                    self.actors.forget(&actor.get_cell());
                }
            }
        }
        Err(ApiError::unavailable()).into()
    }

    /// Stops a tenant's actor if it runs (tenant deleted, suspended or being restored)
    /// and forgets what the node cache holds of it.
    pub async fn stop(&self, tenant_id: &str) {
        self.actors.stop(tenant_id).await;
        // What follows (deletion, suspension, a restore) changes the tenant outside its owner.
        self.deps().cache.forget_tenant(tenant_id);
    }

    /// Tells a tenant's actor to reload its record and keys. Waits for a start in
    /// progress first, so an actor that loaded before the change still hears of it.
    pub async fn reload(&self, tenant_id: &str) -> Result<(), ApiError> {
        let running = {
            let _guard = self.actors.lock(tenant_id).await;
            self.actors.get(tenant_id)
        };
        if running.is_some() {
            let call = TenantCall {
                caller: Caller::operator(),
                request: Reload {}.into(),
            };
            self.dispatch(tenant_id, call).await.result?;
        }
        Ok(())
    }

    /// The tenants whose actor runs on this node, sorted.
    pub fn running_tenants(&self) -> Vec<String> {
        let mut ids = self.actors.tenant_ids();
        ids.sort();
        ids
    }

    /// How many tenant actors run on this node.
    pub fn running(&self) -> usize {
        self.actors.len()
    }

    /// What every tenant actor of this node shares (tests load a tenant's context with it).
    pub fn deps(&self) -> &std::sync::Arc<super::TenantDeps> {
        self.actors.deps()
    }

    /// Webhook deliveries waiting on this node, over every running tenant.
    pub fn webhook_backlog(&self) -> usize {
        self.deps().webhook_backlog.iter().map(|e| *e.value()).sum()
    }

    /// Webhook dispatchers running on this node (tenants with webhook work).
    pub fn webhook_dispatchers(&self) -> usize {
        self.deps()
            .webhook_dispatchers
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this tenant's actor runs on this node.
    pub fn is_running(&self, tenant_id: &str) -> bool {
        self.actors.get(tenant_id).is_some()
    }
}

/// On one node every tenant is local: the router is the registry itself.
#[async_trait::async_trait]
impl TenantRouter for TenantRegistry {
    async fn call(&self, tenant_id: &str, call: TenantCall) -> TenantReply {
        self.dispatch(tenant_id, call).await
    }
}
