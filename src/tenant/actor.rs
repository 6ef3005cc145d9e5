//! The tenant actor: keeps the state that must stay coherent (the loaded
//! context, idle tracking) and hands each request to a spawned task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use super::context::{TenantContext, WebhookSignals};
use super::messages::node::{NodeOp, Reload};
use super::messages::{Operation, TenantCall, TenantReply, TenantRequest};
use super::{ops, TenantDeps};
use crate::error::ApiError;
use crate::webhooks::dispatcher::{self, Backlog, Dispatcher, DispatcherArgs, DispatcherMsg};

/// Messages of a tenant actor.
/// Local only (the cluster gateway carries calls between nodes), hence `RactorMessage`.
#[derive(ractor_cluster::RactorMessage)]
pub enum TenantMsg {
    /// A call with the port its answer goes to.
    Call(Box<TenantCall>, RpcReplyPort<TenantReply>),
    /// Periodic tick from the supervisor: stop when idle for longer than the idle timeout.
    IdleCheck,
    /// Webhook work waits: start the dispatcher, or wake the running one.
    WebhooksDue,
    /// The dispatcher found nothing left: stop it unless work came in meanwhile.
    DispatcherIdle,
}

/// Arguments of a tenant actor.
pub struct TenantArgs {
    pub tenant_id: String,
    pub deps: Arc<TenantDeps>,
}

/// State of a running tenant actor.
pub struct TenantState {
    ctx: Arc<TenantContext>,
    last_activity: Instant,
    last_housekeeping: Instant,
    /// The webhook dispatcher (a linked child), running only while there is webhook work,
    /// and what it has left to deliver.
    dispatcher: Option<ActorRef<DispatcherMsg>>,
    backlog: Arc<Backlog>,
}

impl TenantState {
    /// Starts the webhook dispatcher, linked to the tenant actor, or wakes the running one.
    async fn wake_dispatcher(&mut self, myself: &ActorRef<TenantMsg>) -> Result<(), ActorProcessingErr> {
        self.backlog.woken();
        if let Some(running) = &self.dispatcher {
            if running.cast(DispatcherMsg::Wake).is_ok() {
                return Ok(());
            }
        }
        let args = DispatcherArgs {
            ctx: self.ctx.clone(),
            backlog: self.backlog.clone(),
        };
        let (dispatcher, _) = Actor::spawn_linked(None, Dispatcher, args, myself.get_cell()).await?;
        self.dispatcher = Some(dispatcher);
        Ok(())
    }

    /// Stops the dispatcher once it has nothing left. Checked here, between the actor's
    /// messages, because wake-ups come through the actor too: none can slip in between.
    fn stop_idle_dispatcher(&mut self) {
        if !self.backlog.idle() {
            return;
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.stop(Some("no webhook work".to_owned()));
        }
    }
}

/// Signals webhook work an earlier run left in the store (a crash, an idle stop with
/// events committed after it): looked up off the actor, so a start doesn't wait for it.
fn look_for_webhook_work(ctx: &Arc<TenantContext>) {
    let ctx = ctx.clone();
    tokio::spawn(async move {
        match dispatcher::work_left(ctx.store.as_ref()).await {
            Ok(true) => ctx.webhooks.due(),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(tenant = %ctx.tenant.id, error = %e, "could not look for webhook work; the sweeper will");
            }
        }
    });
}

/// How often a running tenant deletes refresh tokens that can never be used again.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// Writes the tenant's pending sign-in counts (`now`, or when a minute old); a failure
/// keeps them for the next tick.
async fn flush_activity(ctx: &TenantContext, now: bool) {
    if let Err(e) = ctx.activity.flush(ctx, now).await {
        tracing::warn!(tenant = %ctx.tenant.id, error = %e, "could not write sign-in figures; kept for the next try");
    }
}

/// One tenant's actor.
pub struct TenantActor;

#[ractor::async_trait]
impl Actor for TenantActor {
    type Msg = TenantMsg;
    type State = TenantState;
    type Arguments = TenantArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<TenantMsg>,
        args: TenantArgs,
    ) -> Result<TenantState, ActorProcessingErr> {
        let ctx = TenantContext::load(&args.tenant_id, args.deps, WebhookSignals::to(myself.clone()))
            .await
            .map_err(Box::new)?;
        let ctx = Arc::new(ctx);
        look_for_webhook_work(&ctx);
        Ok(TenantState {
            ctx,
            last_activity: Instant::now(),
            last_housekeeping: Instant::now(),
            dispatcher: None,
            backlog: Arc::new(Backlog::default()),
        })
    }

    async fn post_stop(&self, _: ActorRef<TenantMsg>, state: &mut TenantState) -> Result<(), ActorProcessingErr> {
        flush_activity(&state.ctx, true).await;
        if state.ctx.activity.is_empty() {
            state.ctx.deps.activity.remove(&state.ctx.tenant.id);
        }
        if let Some(dispatcher) = &state.dispatcher {
            dispatcher.stop(Some("tenant stopped".to_owned()));
        }
        Ok(())
    }

    /// A failed dispatcher is restarted; the tenant keeps serving meanwhile.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<TenantMsg>,
        event: SupervisionEvent,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ActorFailed(cell, error) = event {
            if state.dispatcher.as_ref().is_some_and(|d| d.get_id() == cell.get_id()) {
                tracing::error!(tenant = %state.ctx.tenant.id, %error, "webhook dispatcher failed; restarting");
                metrics::counter!("hellojohn_webhook_dispatcher_restarts_total").increment(1);
                state.dispatcher = None;
                state.wake_dispatcher(&myself).await?;
            }
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<TenantMsg>,
        message: TenantMsg,
        state: &mut TenantState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            TenantMsg::WebhooksDue => state.wake_dispatcher(&myself).await?,
            TenantMsg::DispatcherIdle => state.stop_idle_dispatcher(),
            TenantMsg::IdleCheck => {
                let ctx = state.ctx.clone();
                tokio::spawn(async move { flush_activity(&ctx, false).await });
                state.ctx.limits.lock().sweep(state.ctx.deps.clock.unix());
                if state.last_housekeeping.elapsed() >= HOUSEKEEPING_EVERY {
                    state.last_housekeeping = Instant::now();
                    let ctx = state.ctx.clone();
                    // Off the actor: a large purge must not hold up requests.
                    tokio::spawn(async move {
                        match crate::webhooks::dispatcher::purge_finished(&ctx).await {
                            Ok(n) if n > 0 => {
                                tracing::debug!(tenant = %ctx.tenant.id, purged = n, "old webhook deliveries deleted")
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(tenant = %ctx.tenant.id, error = %e, "webhook delivery housekeeping failed")
                            }
                        }
                        if let Err(e) = crate::tenant::activity::ActivityLog::sweep(&ctx).await {
                            tracing::warn!(tenant = %ctx.tenant.id, error = %e, "sign-in figures housekeeping failed");
                        }
                        match ctx.store.purge_dead_refresh_tokens(ctx.deps.clock.now()).await {
                            Ok(n) if n > 0 => {
                                tracing::debug!(tenant = %ctx.tenant.id, purged = n, "dead refresh tokens deleted")
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(tenant = %ctx.tenant.id, error = %e, "refresh-token housekeeping failed")
                            }
                        }
                    });
                }
                // Webhook work (waiting, in flight, woken or in a round) keeps an idle tenant
                // up until it is done: a round cut off by a stop would run again at the next
                // start, beside the first, and deliver twice.
                if state.last_activity.elapsed() >= state.ctx.deps.idle_timeout && state.backlog.idle() {
                    // The limiter outlives the actor (it lives in the deps) unless nothing is in it.
                    let empty = state.ctx.limits.lock().is_empty();
                    if empty {
                        state.ctx.deps.limiters.remove(&state.ctx.tenant.id);
                    }
                    tracing::debug!(tenant = %state.ctx.tenant.id, "stopping idle tenant actor");
                    myself.stop(Some("idle".to_owned()));
                }
            }
            TenantMsg::Call(call, reply) => {
                state.last_activity = Instant::now();
                match call.request {
                    #[cfg(feature = "test-faults")]
                    TenantRequest::Node(NodeOp::InjectPanic(_)) if state.ctx.deps.test_faults => {
                        // Deliberate: exercises supervision (restart, 503 to this caller only).
                        #[allow(clippy::panic)]
                        {
                            panic!("injected fault in tenant {}", state.ctx.tenant.id);
                        }
                    }
                    TenantRequest::Node(NodeOp::InjectPanic(_)) => {
                        let _ = reply.send(Err(ApiError::NotFound).into());
                    }
                    TenantRequest::Node(NodeOp::Reload(_)) => {
                        // Coherent state: rebuilt on the actor itself, so later requests see it.
                        match state.ctx.reloaded().await {
                            Ok(ctx) => {
                                state.ctx = Arc::new(ctx);
                                let _ = reply.send(Ok(Reload::respond(())).into());
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e).into());
                            }
                        }
                    }
                    request => {
                        let ctx = state.ctx.clone();
                        let call = TenantCall {
                            caller: call.caller,
                            request,
                        };
                        tokio::spawn(async move {
                            let _ = reply.send(ops::execute(&ctx, call).await);
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
