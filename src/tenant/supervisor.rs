//! The tenant supervisor: the parent of every tenant actor. It restarts an
//! actor that fails, forgets one that stops (idle or deleted), and sends every
//! running actor its periodic idle check (one node-wide timer rather than one per
//! actor: a node of many tenants would otherwise run a timer task for each). Starting is
//! done by [`TenantActors::ensure`], outside the supervisor's loop, so one
//! tenant with a slow store never delays another tenant's first request.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::actor::{TenantActor, TenantArgs, TenantMsg};
use super::TenantDeps;
use crate::error::ApiError;

/// The running tenant actors and the per-tenant start locks.
pub struct TenantActors {
    deps: Arc<TenantDeps>,
    running: DashMap<String, ActorRef<TenantMsg>>,
    /// The tenant of each running actor, so a stopped actor is forgotten without a scan.
    tenant_of: DashMap<ActorId, String>,
    /// One lock per tenant being started (or stopped), so a tenant starts once.
    starting: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

impl TenantActors {
    /// An empty table.
    pub fn new(deps: Arc<TenantDeps>) -> Self {
        Self {
            deps,
            running: DashMap::new(),
            tenant_of: DashMap::new(),
            starting: DashMap::new(),
        }
    }

    /// What every tenant actor of this node shares.
    pub fn deps(&self) -> &Arc<TenantDeps> {
        &self.deps
    }

    /// The running actor of a tenant, if any.
    pub fn get(&self, tenant_id: &str) -> Option<ActorRef<TenantMsg>> {
        self.running.get(tenant_id).map(|a| a.clone())
    }

    /// How many tenant actors run.
    /// The tenants with a running actor.
    pub fn tenant_ids(&self) -> Vec<String> {
        self.tenant_of.iter().map(|e| e.value().clone()).collect()
    }

    pub fn len(&self) -> usize {
        self.running.len()
    }

    /// Whether no tenant actor runs.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Holds the tenant's start lock (waits for a start in progress).
    pub async fn lock(&self, tenant_id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self.starting.entry(tenant_id.to_owned()).or_default().clone();
        lock.lock_owned().await
    }

    /// Returns the tenant's actor, starting it (linked to `supervisor`) when none runs.
    pub async fn ensure(&self, tenant_id: &str, supervisor: ActorCell) -> Result<ActorRef<TenantMsg>, ApiError> {
        if let Some(actor) = self.get(tenant_id) {
            return Ok(actor);
        }
        let _guard = self.lock(tenant_id).await;
        if let Some(actor) = self.get(tenant_id) {
            return Ok(actor);
        }
        if self.deps.backend.control().get_tenant(tenant_id).await?.is_none() {
            return Err(ApiError::NotFound);
        }
        let args = TenantArgs {
            tenant_id: tenant_id.to_owned(),
            deps: self.deps.clone(),
        };
        match Actor::spawn_linked(None, TenantActor, args, supervisor).await {
            Ok((actor, _)) => {
                self.tenant_of.insert(actor.get_id(), tenant_id.to_owned());
                self.running.insert(tenant_id.to_owned(), actor.clone());
                self.publish();
                Ok(actor)
            }
            Err(e) => {
                // pre_start failed: the tenant's storage or keys can't be loaded now.
                tracing::warn!(tenant = %tenant_id, error = %e, "tenant actor did not start");
                Err(ApiError::unavailable())
            }
        }
    }

    /// Removes `actor` from the table if it is still the tenant's actor; returns the tenant.
    pub fn forget(&self, actor: &ActorCell) -> Option<String> {
        let (_, tenant) = self.tenant_of.remove(&actor.get_id())?;
        self.running.remove_if(&tenant, |_, a| a.get_id() == actor.get_id());
        self.publish();
        Some(tenant)
    }

    /// Stops a tenant's actor and waits for it (tenant deleted or suspended).
    pub async fn stop(&self, tenant_id: &str) {
        let _guard = self.lock(tenant_id).await;
        if let Some((_, actor)) = self.running.remove(tenant_id) {
            self.tenant_of.remove(&actor.get_id());
            actor
                .stop_and_wait(Some("stopped by control plane".into()), None)
                .await
                .ok();
        }
        self.publish();
    }

    /// How often each running actor checks whether it has been idle long enough to stop:
    /// a quarter of the idle timeout, between 250 ms and 30 s.
    pub fn idle_check_every(&self) -> Duration {
        (self.deps.idle_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(30))
    }

    /// Sends every running actor its idle check.
    fn check_idle(&self) {
        for actor in self.running.iter() {
            let _ = actor.value().cast(TenantMsg::IdleCheck);
        }
    }

    fn publish(&self) {
        metrics::gauge!("hellojohn_tenant_actors").set(self.running.len() as f64);
    }
}

/// The supervisor actor.
pub struct TenantSupervisor;

#[ractor::async_trait]
impl Actor for TenantSupervisor {
    type Msg = ();
    type State = Arc<TenantActors>;
    type Arguments = Arc<TenantActors>;

    async fn pre_start(
        &self,
        myself: ActorRef<()>,
        actors: Arc<TenantActors>,
    ) -> Result<Arc<TenantActors>, ActorProcessingErr> {
        myself.send_interval(actors.idle_check_every(), || ());
        Ok(actors)
    }

    /// The idle-check tick.
    async fn handle(&self, _: ActorRef<()>, _: (), actors: &mut Arc<TenantActors>) -> Result<(), ActorProcessingErr> {
        actors.check_idle();
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        actors: &mut Arc<TenantActors>,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(tenant) = actors.forget(&cell) {
                    tracing::debug!(%tenant, ?reason, "tenant actor stopped");
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                if let Some(tenant) = actors.forget(&cell) {
                    tracing::error!(%tenant, %error, "tenant actor failed; restarting");
                    metrics::counter!("hellojohn_tenant_actor_restarts_total").increment(1);
                    let (actors, cell) = (actors.clone(), myself.get_cell());
                    // Restarted off the supervisor loop; if it fails, the next request starts it again.
                    tokio::spawn(async move {
                        let _ = actors.ensure(&tenant, cell).await;
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}
