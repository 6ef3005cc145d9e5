//! The tenant supervisor: the parent of every tenant actor. It restarts an
//! actor that fails and forgets one that stops (idle or deleted). Starting is
//! done by [`TenantActors::ensure`], outside the supervisor's loop, so one
//! tenant with a slow store never delays another tenant's first request.

use std::sync::Arc;

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SupervisionEvent};

use super::actor::{TenantActor, TenantArgs, TenantMsg};
use super::TenantDeps;
use crate::error::ApiError;

/// The running tenant actors and the per-tenant start locks.
pub struct TenantActors {
    deps: Arc<TenantDeps>,
    running: DashMap<String, ActorRef<TenantMsg>>,
    /// One lock per tenant being started (or stopped), so a tenant starts once.
    starting: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

impl TenantActors {
    /// An empty table.
    pub fn new(deps: Arc<TenantDeps>) -> Self {
        Self {
            deps,
            running: DashMap::new(),
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
        let tenant = self
            .running
            .iter()
            .find(|e| e.value().get_id() == actor.get_id())
            .map(|e| e.key().clone())?;
        self.running.remove_if(&tenant, |_, a| a.get_id() == actor.get_id());
        self.publish();
        Some(tenant)
    }

    /// Stops a tenant's actor and waits for it (tenant deleted or suspended).
    pub async fn stop(&self, tenant_id: &str) {
        let _guard = self.lock(tenant_id).await;
        if let Some((_, actor)) = self.running.remove(tenant_id) {
            actor
                .stop_and_wait(Some("stopped by control plane".into()), None)
                .await
                .ok();
        }
        self.publish();
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
        _myself: ActorRef<()>,
        actors: Arc<TenantActors>,
    ) -> Result<Arc<TenantActors>, ActorProcessingErr> {
        Ok(actors)
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
