//! The webhook dispatcher: a child actor of a tenant actor (linked, so a crash restarts
//! the dispatcher, not the tenant), running only while the tenant has webhook work: the
//! tenant actor starts it when work is signalled and stops it once it is idle. It turns
//! outbox events into one delivery per subscribed webhook (in the transaction that takes the event out of the outbox), and
//! attempts due deliveries concurrently, at most [`IN_FLIGHT`] at a time per tenant, each
//! on its own task: a receiver that hangs delays nobody else. Every attempt is recorded;
//! failures follow the retry schedule (with jitter) and end in `permanently_failed`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashSet;
use parking_lot::Mutex;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use rand::Rng;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::manage::{self, live_secrets, new_delivery, save};
use super::model::{claimed_until, Delivery, DeliveryStatus, WebhookStatus, CLAIMED_UNTIL, DUE};
use super::sender::Outgoing;
use super::signing::signature_header;
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::TenantDeps;

/// Deliveries of one tenant in flight at once.
pub const IN_FLIGHT: usize = 16;
/// Outbox events read per round.
const EVENT_BATCH: usize = 100;
/// How often the dispatcher checks whether a retry has come due.
const TICK: Duration = Duration::from_millis(500);

/// Messages of a dispatcher.
#[derive(ractor_cluster::RactorMessage)]
pub enum DispatcherMsg {
    /// New events or deliveries due now.
    Wake,
    /// Periodic: attempt what came due since.
    Tick,
}

/// What the tenant actor sees of its dispatcher: whether work is left (an idle tenant with
/// pending deliveries stays up until they are done) and whether the dispatcher may stop.
#[derive(Default)]
pub struct Backlog {
    /// When the earliest waiting delivery is due; `None`: nothing waits.
    next_due: Mutex<Option<OffsetDateTime>>,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Set by the tenant actor when it signals work, cleared when a round begins: a wake
    /// no round has started on yet.
    woken: AtomicBool,
    /// A round is running (of this dispatcher or of one it replaced: the flags are the
    /// tenant's, not a dispatcher's, so no two rounds of one tenant run at once).
    running: AtomicBool,
    /// A wake-up came while a round was running: that round runs once more.
    again: AtomicBool,
}

impl Backlog {
    /// Whether deliveries are waiting or in flight.
    pub fn pending(&self) -> bool {
        self.next_due.lock().is_some() || self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Records a wake-up the dispatcher has not started a round on yet.
    pub fn woken(&self) {
        self.woken.store(true, Ordering::Release);
    }

    /// Nothing waits, runs or is about to: the dispatcher can stop without losing work.
    pub fn idle(&self) -> bool {
        !self.woken.load(Ordering::Acquire) && !self.running.load(Ordering::Acquire) && !self.pending()
    }

    fn due_by(&self, at: OffsetDateTime) {
        let mut next = self.next_due.lock();
        *next = Some(next.map_or(at, |n| n.min(at)));
    }
}

/// Arguments of a dispatcher.
pub struct DispatcherArgs {
    pub ctx: Arc<TenantContext>,
    pub backlog: Arc<Backlog>,
}

/// State of a running dispatcher.
pub struct DispatcherState {
    work: Arc<Work>,
    _counted: Running,
}

/// Counts a dispatcher in [`TenantDeps::webhook_dispatchers`](crate::tenant::TenantDeps)
/// while its state lives, however it ends (stopped or failed).
struct Running(Arc<TenantDeps>);

impl Running {
    fn new(deps: Arc<TenantDeps>) -> Self {
        deps.webhook_dispatchers.fetch_add(1, Ordering::Relaxed);
        Self(deps)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.webhook_dispatchers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the dispatcher's rounds share.
struct Work {
    ctx: Arc<TenantContext>,
    backlog: Arc<Backlog>,
    permits: Arc<Semaphore>,
    claimed: DashSet<String>,
}

/// Holds the tenant's `running` flag for a round loop and lets go of it however the loop
/// ends, a panic included (else no round of the tenant would ever run again).
struct RoundsRunning {
    backlog: Arc<Backlog>,
    holding: bool,
}

impl RoundsRunning {
    fn release(&mut self) {
        self.backlog.running.store(false, Ordering::Release);
        self.holding = false;
    }
}

impl Drop for RoundsRunning {
    fn drop(&mut self) {
        if self.holding {
            self.release();
        }
    }
}

/// Whether a tenant's store holds webhook work: outbox events or deliveries waiting (a
/// tenant that starts, or the sweeper, looks once).
pub async fn work_left(store: &dyn TenantStore) -> Result<bool, StoreError> {
    Ok(!store.list_events(1).await?.is_empty() || !store.list_records(RecordKind::DueDelivery, DUE).await?.is_empty())
}

/// One tenant's webhook dispatcher.
pub struct Dispatcher;

#[ractor::async_trait]
impl Actor for Dispatcher {
    type Msg = DispatcherMsg;
    type State = DispatcherState;
    type Arguments = DispatcherArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<DispatcherMsg>,
        args: DispatcherArgs,
    ) -> Result<DispatcherState, ActorProcessingErr> {
        myself.send_interval(TICK, || DispatcherMsg::Tick);
        // Started for work, or restarted after a failure: look at once.
        let _ = myself.cast(DispatcherMsg::Wake);
        Ok(DispatcherState {
            _counted: Running::new(args.ctx.deps.clone()),
            work: Arc::new(Work {
                ctx: args.ctx,
                backlog: args.backlog,
                permits: Arc::new(Semaphore::new(IN_FLIGHT)),
                claimed: DashSet::new(),
            }),
        })
    }

    async fn post_stop(
        &self,
        _: ActorRef<DispatcherMsg>,
        state: &mut DispatcherState,
    ) -> Result<(), ActorProcessingErr> {
        let ctx = &state.work.ctx;
        ctx.deps.webhook_backlog.remove(&ctx.tenant.id);
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<DispatcherMsg>,
        message: DispatcherMsg,
        state: &mut DispatcherState,
    ) -> Result<(), ActorProcessingErr> {
        let due = match message {
            DispatcherMsg::Wake => true,
            DispatcherMsg::Tick => {
                let backlog = &state.work.backlog;
                if backlog.idle() {
                    state.work.ctx.webhooks.dispatcher_idle();
                }
                let now = state.work.ctx.deps.clock.now();
                // A wake-up no round has taken (its round ended in a panic): take it now.
                let unserved = backlog.woken.load(Ordering::Acquire) && !backlog.running.load(Ordering::Acquire);
                unserved || backlog.next_due.lock().is_some_and(|at| at <= now)
            }
        };
        if due {
            Work::start_round(&state.work);
        }
        Ok(())
    }
}

impl Work {
    /// Runs rounds off the actor until no wake-up came in meanwhile.
    fn start_round(work: &Arc<Work>) {
        let backlog = &work.backlog;
        if backlog.running.swap(true, Ordering::AcqRel) {
            backlog.again.store(true, Ordering::Release);
            return;
        }
        let work = work.clone();
        tokio::spawn(async move {
            let backlog = work.backlog.clone();
            let mut running = RoundsRunning {
                backlog: backlog.clone(),
                holding: true,
            };
            loop {
                // Before reading the store: a wake-up from here on gets a round of its own.
                backlog.woken.store(false, Ordering::Release);
                if let Err(e) = work.round().await {
                    tracing::warn!(tenant = %work.ctx.tenant.id, error = %e, "webhook dispatch round failed; retried");
                    backlog.due_by(work.ctx.deps.clock.now() + time::Duration::seconds(1));
                }
                if backlog.again.swap(false, Ordering::AcqRel) {
                    continue;
                }
                running.release();
                // A wake-up between the check above and the release found the round running
                // and only left `again`: take it, unless another loop has started meanwhile,
                // which then gets it.
                if !backlog.again.swap(false, Ordering::AcqRel) {
                    break;
                }
                if backlog.running.swap(true, Ordering::AcqRel) {
                    backlog.again.store(true, Ordering::Release);
                    break;
                }
                running.holding = true;
            }
        });
    }

    async fn round(self: &Arc<Self>) -> Result<(), ApiError> {
        self.fan_out().await?;
        self.attempt_due().await
    }

    /// Turns outbox events into deliveries, one store transaction per event.
    async fn fan_out(&self) -> Result<(), ApiError> {
        let ctx = &self.ctx;
        loop {
            let events = ctx.store.list_events(EVENT_BATCH).await?;
            if events.is_empty() {
                return Ok(());
            }
            let webhooks = manage::all(ctx).await?;
            for event in &events {
                let mut batch = TenantBatch::default();
                // A webhook hears of events from its registration on, never of older ones.
                for webhook in webhooks
                    .iter()
                    .filter(|w| w.subscribes(&event.event_type) && w.created_at <= event.created_at)
                {
                    for write in new_delivery(ctx, &webhook.id, event).queue()? {
                        batch = batch.write(write);
                    }
                }
                ctx.store
                    .apply(batch.write(TenantWrite::RemoveEvent { id: event.id.clone() }))
                    .await?;
            }
            if events.len() < EVENT_BATCH {
                return Ok(());
            }
        }
    }

    /// Starts an attempt of every delivery that is due, within the in-flight cap.
    async fn attempt_due(self: &Arc<Self>) -> Result<(), ApiError> {
        let ctx = &self.ctx;
        let now = ctx.deps.clock.now();
        *self.backlog.next_due.lock() = None;
        let waiting = ctx.store.list_records(RecordKind::DueDelivery, DUE).await?;
        ctx.deps.webhook_backlog.insert(ctx.tenant.id.clone(), waiting.len());
        let unclaimed: Vec<Record> = waiting.into_iter().filter(|d| !self.claimed.contains(&d.id)).collect();
        for chunk in unclaimed.chunks(EVENT_BATCH) {
            // The deliveries of a chunk in one read (one transaction in SQL), not one each.
            let keys: Vec<(RecordKind, String)> = chunk
                .iter()
                .map(|due| (RecordKind::WebhookDelivery, due.id.clone()))
                .collect();
            let deliveries = ctx.store.get_records(&keys).await?;
            for (due, record) in chunk.iter().zip(deliveries) {
                if !self.consider(due, record, now).await? {
                    // Full: the rest waits for the next tick.
                    self.backlog.due_by(now);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Starts, schedules or drops one due delivery; `false` when the in-flight cap is reached.
    async fn consider(
        self: &Arc<Self>,
        due: &Record,
        record: Option<Record>,
        now: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        let ctx = &self.ctx;
        let Some(record) = record else {
            forget_due(ctx, &due.id).await?;
            return Ok(true);
        };
        let delivery: Delivery = record.parse()?;
        let waiting = matches!(delivery.status, DeliveryStatus::Pending | DeliveryStatus::Failed);
        let claim = claimed_until(due);
        match delivery.next_attempt_at {
            _ if !waiting => forget_due(ctx, &due.id).await?,
            Some(at) if at > now => self.backlog.due_by(at),
            // Another attempt (here or on another node) holds it until its claim runs out.
            _ if claim > now.unix_timestamp() => self
                .backlog
                .due_by(OffsetDateTime::from_unix_timestamp(claim).unwrap_or(now)),
            _ => match self.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    if claim_due(ctx, due, &delivery, now).await? {
                        self.spawn_attempt(delivery, permit);
                    }
                }
                Err(_) => return Ok(false),
            },
        }
        Ok(true)
    }

    fn spawn_attempt(self: &Arc<Self>, delivery: Delivery, permit: OwnedSemaphorePermit) {
        self.claimed.insert(delivery.id.clone());
        self.backlog.in_flight.fetch_add(1, Ordering::Relaxed);
        let work = self.clone();
        tokio::spawn(async move {
            let id = delivery.id.clone();
            if let Err(e) = attempt(&work.ctx, delivery, &work.backlog).await {
                tracing::warn!(tenant = %work.ctx.tenant.id, delivery = %id, error = %e, "webhook attempt not recorded; retried");
                work.backlog
                    .due_by(work.ctx.deps.clock.now() + time::Duration::seconds(1));
            }
            work.claimed.remove(&id);
            work.backlog.in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// How long an attempt holds its delivery: the receiver's 10 s timeout and a margin. After
/// a crash, deliveries that were in flight wait this long before another attempt.
const CLAIM: time::Duration = time::Duration::seconds(15);

/// Claims a due delivery for one attempt (guarded on the claim read, so two dispatchers
/// never both win); `false` when another one took it first.
async fn claim_due(
    ctx: &TenantContext,
    due: &Record,
    delivery: &Delivery,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    let guard = Guard::RecordField {
        kind: RecordKind::DueDelivery,
        id: due.id.clone(),
        field: CLAIMED_UNTIL.to_owned(),
        value: serde_json::Value::from(claimed_until(due)),
    };
    let claimed = delivery.claimed_due_record((now + CLAIM).unix_timestamp());
    match ctx
        .store
        .apply(
            TenantBatch::default()
                .guard(guard)
                .write(TenantWrite::PutRecord(claimed)),
        )
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

async fn forget_due(ctx: &TenantContext, id: &str) -> Result<(), ApiError> {
    let write = TenantWrite::DeleteRecord {
        kind: RecordKind::DueDelivery,
        id: id.to_owned(),
    };
    ctx.store.apply(TenantBatch::default().write(write)).await?;
    Ok(())
}

/// `delay` give or take a tenth, so retries of many deliveries spread out.
fn jittered(delay: Duration) -> time::Duration {
    let tenth = delay.as_millis() as i64 / 10;
    let jitter = if tenth > 0 {
        rand::thread_rng().gen_range(-tenth..=tenth)
    } else {
        0
    };
    time::Duration::milliseconds(delay.as_millis() as i64 + jitter)
}

/// One attempt of one delivery, recorded whatever happens.
async fn attempt(ctx: &TenantContext, delivery: Delivery, backlog: &Backlog) -> Result<(), ApiError> {
    let now = ctx.deps.clock.now();
    let webhook = manage::find(ctx, &delivery.webhook_id).await?;
    let mut next = delivery.next();
    let webhook = match webhook {
        Some(w) if w.status == WebhookStatus::Active => w,
        _ => {
            // Deleted or disabled meanwhile: nothing will take it.
            next.status = DeliveryStatus::PermanentlyFailed;
            next.next_attempt_at = None;
            return record(ctx, &delivery, &next, "permanently_failed").await;
        }
    };
    let secrets = live_secrets(ctx, &webhook, now)?;
    let timestamp = now.unix_timestamp();
    let outgoing = Outgoing {
        url: &webhook.url,
        body: &delivery.payload,
        headers: vec![
            ("webhook-id", delivery.event_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature_header(&secrets, &delivery.event_id, timestamp, &delivery.payload),
            ),
            ("x-hellojohn-event", delivery.event_type.clone()),
            ("x-hellojohn-delivery-id", delivery.id.clone()),
        ],
    };
    let result = ctx.deps.webhook_sender.send(outgoing, now).await;
    metrics::histogram!("hellojohn_webhook_delivery_duration_seconds").record(result.latency_ms as f64 / 1000.0);
    let status = result.http_status;
    next.attempts.push(result);
    let outcome = match status {
        Some(200..=299) => {
            next.status = DeliveryStatus::Succeeded;
            next.next_attempt_at = None;
            let mut touched = webhook.next();
            touched.last_triggered_at = Some(now);
            // Best effort: a concurrent change of the webhook wins over this timestamp.
            let _ = save(ctx, &webhook, &touched).await;
            "succeeded"
        }
        Some(410) => {
            // The receiver says it is gone for good: stop sending to it.
            next.status = DeliveryStatus::PermanentlyFailed;
            next.next_attempt_at = None;
            let mut disabled = webhook.next();
            disabled.status = WebhookStatus::Disabled;
            let _ = save(ctx, &webhook, &disabled).await;
            "permanently_failed"
        }
        _ => match ctx.deps.webhook_schedule.get(next.attempts.len()) {
            Some(delay) => {
                let at = ctx.deps.clock.now() + jittered(*delay);
                next.status = DeliveryStatus::Failed;
                next.next_attempt_at = Some(at);
                backlog.due_by(at);
                "failed"
            }
            None => {
                next.status = DeliveryStatus::PermanentlyFailed;
                next.next_attempt_at = None;
                "permanently_failed"
            }
        },
    };
    record(ctx, &delivery, &next, outcome).await
}

/// Stores an attempt's outcome (guarded: a manual retry meanwhile wins), taking finished
/// deliveries off the dispatcher's list.
async fn record(
    ctx: &TenantContext,
    current: &Delivery,
    next: &Delivery,
    outcome: &'static str,
) -> Result<(), ApiError> {
    metrics::counter!("hellojohn_webhook_deliveries_total", "result" => outcome).increment(1);
    let mut batch = TenantBatch::default()
        .guard(current.unchanged())
        .write(TenantWrite::PutRecord(next.record()?));
    batch = batch.write(match next.next_attempt_at {
        None => TenantWrite::DeleteRecord {
            kind: RecordKind::DueDelivery,
            id: next.id.clone(),
        },
        // Waiting for its next attempt: the claim is released.
        Some(_) => TenantWrite::PutRecord(next.due_record()),
    });
    match ctx.store.apply(batch).await {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Removes finished deliveries (succeeded or permanently failed) older than the retention
/// (the tenant's `webhook_retention_days`, else the node's) from the delivery log; returns
/// how many went. Run by the tenant's housekeeping.
pub async fn purge_finished(ctx: &TenantContext) -> Result<usize, ApiError> {
    let retention = match ctx.tenant.auth_config.webhook_retention_days {
        Some(days) => time::Duration::days(i64::from(days)),
        None => time::Duration::try_from(ctx.deps.webhook_retention).unwrap_or(time::Duration::days(30)),
    };
    let cutoff = ctx.deps.clock.now() - retention;
    let mut removed = 0;
    for webhook in manage::all(ctx).await? {
        let mut batch = TenantBatch::default();
        for record in ctx.store.list_records(RecordKind::WebhookDelivery, &webhook.id).await? {
            let delivery: Delivery = record.parse()?;
            let finished = matches!(
                delivery.status,
                DeliveryStatus::Succeeded | DeliveryStatus::PermanentlyFailed
            );
            if finished && delivery.created_at < cutoff {
                batch = batch.write(TenantWrite::DeleteRecord {
                    kind: RecordKind::WebhookDelivery,
                    id: delivery.id,
                });
                removed += 1;
            }
        }
        if !batch.writes.is_empty() {
            ctx.store.apply(batch).await?;
        }
    }
    Ok(removed)
}
