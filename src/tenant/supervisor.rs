//! The tenant supervisor: starts a tenant's actor on first use, restarts it
//! when it fails, and forgets it when it stops (idle or deleted).

use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;
use ractor::{Actor, ActorId, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::actor::{TenantActor, TenantArgs, TenantMsg};
use super::TenantDeps;
use crate::error::ApiError;

/// The running tenant actors, shared with the registry's fast path.
pub type ActorTable = Arc<DashMap<String, ActorRef<TenantMsg>>>;

/// Messages of the supervisor.
pub enum SupervisorMsg {
    /// Returns the tenant's actor, starting it if needed.
    Ensure(String, RpcReplyPort<Result<ActorRef<TenantMsg>, ApiError>>),
    /// Stops the tenant's actor (deletion, suspension) and waits for it.
    Stop(String, RpcReplyPort<()>),
}

/// Arguments and state of the supervisor.
pub struct SupervisorState {
    deps: Arc<TenantDeps>,
    actors: ActorTable,
    tenants_by_actor: HashMap<ActorId, String>,
}

/// The supervisor actor.
pub struct TenantSupervisor;

impl TenantSupervisor {
    async fn start_child(
        myself: &ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
        tenant_id: &str,
    ) -> Result<ActorRef<TenantMsg>, ApiError> {
        match state.deps.backend.control().get_tenant(tenant_id).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(ApiError::NotFound),
            Err(e) => return Err(e.into()),
        }
        let args = TenantArgs {
            tenant_id: tenant_id.to_owned(),
            deps: state.deps.clone(),
        };
        match Actor::spawn_linked(None, TenantActor, args, myself.get_cell()).await {
            Ok((actor, _)) => {
                state.tenants_by_actor.insert(actor.get_id(), tenant_id.to_owned());
                state.actors.insert(tenant_id.to_owned(), actor.clone());
                Ok(actor)
            }
            Err(e) => {
                // pre_start failed: the tenant's storage or keys can't be loaded now.
                tracing::warn!(tenant = %tenant_id, error = %e, "tenant actor did not start");
                Err(ApiError::unavailable())
            }
        }
    }

    fn forget(state: &mut SupervisorState, id: ActorId) -> Option<String> {
        let tenant = state.tenants_by_actor.remove(&id)?;
        state.actors.remove_if(&tenant, |_, actor| actor.get_id() == id);
        Some(tenant)
    }
}

#[ractor::async_trait]
impl Actor for TenantSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = (Arc<TenantDeps>, ActorTable);

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        (deps, actors): Self::Arguments,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState {
            deps,
            actors,
            tenants_by_actor: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Ensure(tenant_id, reply) => {
                let running = state.actors.get(&tenant_id).map(|a| a.clone());
                let result = match running {
                    Some(actor) => Ok(actor),
                    None => Self::start_child(&myself, state, &tenant_id).await,
                };
                let _ = reply.send(result);
            }
            SupervisorMsg::Stop(tenant_id, reply) => {
                if let Some((_, actor)) = state.actors.remove(&tenant_id) {
                    state.tenants_by_actor.remove(&actor.get_id());
                    actor
                        .stop_and_wait(Some("stopped by control plane".into()), None)
                        .await
                        .ok();
                }
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(tenant) = Self::forget(state, cell.get_id()) {
                    tracing::debug!(%tenant, ?reason, "tenant actor stopped");
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                if let Some(tenant) = Self::forget(state, cell.get_id()) {
                    tracing::error!(%tenant, %error, "tenant actor failed; restarting");
                    metrics::counter!("hellojohn_tenant_actor_restarts_total").increment(1);
                    // A failed restart is not fatal: the next request starts it again.
                    let _ = Self::start_child(&myself, state, &tenant).await;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
