//! The webhook endpoints' work inside the tenant (API.md §5): registration with the SSRF
//! guard, changes under a version guard, secret rotation with a 24 h overlap, test
//! events, the delivery log and manual retries.

use serde_json::json;
use time::OffsetDateTime;

use super::events::{outbox_event, EventType};
use super::model::{Delivery, DeliveryStatus, SealedSecret, Webhook, WebhookStatus};
use super::signing::new_secret;
use super::ssrf::check_url;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::orgs::Shown;
use crate::tenant::messages::webhooks::WebhookAction;
use crate::validate;

/// Webhooks one tenant may register.
const MAX_WEBHOOKS: usize = 50;
/// How long the previous secret keeps signing after a rotation.
const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

/// Runs one webhook action.
pub async fn execute(ctx: &TenantContext, action: WebhookAction) -> Result<Shown, ApiError> {
    use WebhookAction as A;
    match action {
        A::Create {
            url,
            events,
            description,
        } => create(ctx, url, events, description).await,
        A::List { page } => {
            let found = ctx.store.page_records(RecordKind::Webhook, "wh_", &page).await?;
            let items = found
                .items
                .into_iter()
                .map(|r| Ok(r.parse::<Webhook>()?.view(None)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(Shown::objects(Page {
                items,
                has_more: found.has_more,
                resume_after: found.resume_after,
            }))
        }
        A::Get { id } => Ok(Shown::object(load(ctx, &id).await?.view(None))),
        A::Update {
            id,
            url,
            events,
            description,
            status,
        } => update(ctx, &id, url, events, description, status).await,
        A::Delete { id } => {
            let webhook = load(ctx, &id).await?;
            let batch = TenantBatch::default()
                .guard(webhook.unchanged())
                .write(TenantWrite::DeleteRecord {
                    kind: RecordKind::Webhook,
                    id: id.clone(),
                })
                .write(TenantWrite::DeleteOwnerRecords {
                    kind: RecordKind::WebhookDelivery,
                    owner_id: id,
                });
            ctx.store.apply(batch).await?;
            Ok(Shown::Done)
        }
        A::RotateSecret { id } => rotate(ctx, &id).await,
        A::Test { id } => test(ctx, &id).await,
        A::ListDeliveries { id, status, page } => deliveries(ctx, &id, status, &page).await,
        A::RetryDelivery { id, delivery_id } => retry(ctx, &id, &delivery_id).await,
    }
}

/// A webhook of this tenant, or 404.
pub async fn load(ctx: &TenantContext, id: &str) -> Result<Webhook, ApiError> {
    find(ctx, id).await?.ok_or(ApiError::NotFound)
}

/// A webhook of this tenant, if it exists.
pub async fn find(ctx: &TenantContext, id: &str) -> Result<Option<Webhook>, ApiError> {
    match ctx.store.get_record(RecordKind::Webhook, id).await? {
        Some(record) => Ok(Some(record.parse()?)),
        None => Ok(None),
    }
}

/// Every webhook of this tenant (at most [`MAX_WEBHOOKS`] can be registered).
pub async fn all(ctx: &TenantContext) -> Result<Vec<Webhook>, ApiError> {
    let page = PageRequest {
        limit: 1000,
        after: None,
    };
    let found = ctx.store.page_records(RecordKind::Webhook, "wh_", &page).await?;
    found.items.into_iter().map(|r| Ok(r.parse()?)).collect()
}

/// Subscribed event names: known types or `*`, at least one, duplicates dropped.
fn event_list(events: Vec<String>) -> Result<Vec<String>, ApiError> {
    if events.is_empty() || events.len() > EventType::ALL.len() + 1 {
        return Err(ApiError::invalid(
            "events",
            "events lists the event types to send, or [\"*\"].",
        ));
    }
    let mut unique: Vec<String> = Vec::new();
    for event in events {
        if event != "*" && EventType::parse(&event).is_none() {
            return Err(ApiError::invalid("events", format!("{event} is not an event type.")));
        }
        if !unique.contains(&event) {
            unique.push(event);
        }
    }
    Ok(unique)
}

fn description(text: Option<String>) -> Result<Option<String>, ApiError> {
    validate::text("description", text, 512)
}

/// A new secret, sealed under its own id; returns (plain, sealed).
fn seal_secret(ctx: &TenantContext) -> Result<(String, SealedSecret), ApiError> {
    let plain = new_secret();
    let id = new_id(prefix::WEBHOOK_SECRET);
    let sealed = ctx
        .deps
        .master_key
        .seal(plain.as_bytes(), &id)
        .map_err(|_| ApiError::Internal)?;
    Ok((
        plain,
        SealedSecret {
            id,
            sealed,
            retires_at: None,
        },
    ))
}

async fn create(
    ctx: &TenantContext,
    url: String,
    events: Vec<String>,
    text: Option<String>,
) -> Result<Shown, ApiError> {
    let events = event_list(events)?;
    let description = description(text)?;
    // Last: it may resolve the host name.
    let url = check_url(&url, ctx.deps.webhook_allow_private).await?;
    if all(ctx).await?.len() >= MAX_WEBHOOKS {
        return Err(ApiError::invalid(
            "url",
            format!("A tenant has at most {MAX_WEBHOOKS} webhooks."),
        ));
    }
    let (plain, sealed) = seal_secret(ctx)?;
    let webhook = Webhook {
        id: new_id(prefix::WEBHOOK),
        url,
        description,
        events,
        status: WebhookStatus::Active,
        secrets: vec![sealed],
        created_at: ctx.deps.clock.now(),
        last_triggered_at: None,
        version: 1,
    };
    ctx.store
        .apply(TenantBatch::default().write(TenantWrite::InsertRecord(webhook.record()?)))
        .await?;
    Ok(Shown::object(webhook.view(Some(&plain))))
}

async fn update(
    ctx: &TenantContext,
    id: &str,
    url: Option<String>,
    events: Option<Vec<String>>,
    text: Option<String>,
    status: Option<String>,
) -> Result<Shown, ApiError> {
    let events = events.map(event_list).transpose()?;
    let text = description(text)?;
    let status = match status.as_deref() {
        None => None,
        Some("active") => Some(WebhookStatus::Active),
        Some("disabled") => Some(WebhookStatus::Disabled),
        Some(_) => return Err(ApiError::invalid("status", "status must be active or disabled.")),
    };
    let url = match url {
        Some(url) => Some(check_url(&url, ctx.deps.webhook_allow_private).await?),
        None => None,
    };
    let current = load(ctx, id).await?;
    let mut next = current.next();
    next.url = url.unwrap_or(next.url);
    next.events = events.unwrap_or(next.events);
    next.description = text.or(next.description);
    next.status = status.unwrap_or(next.status);
    save(ctx, &current, &next).await?;
    Ok(Shown::object(next.view(None)))
}

/// Writes `next` guarded on `current` (409 when someone changed it meanwhile).
pub async fn save(ctx: &TenantContext, current: &Webhook, next: &Webhook) -> Result<(), ApiError> {
    let batch = TenantBatch::default().guard(current.unchanged()).write(next.put()?);
    ctx.store.apply(batch).await?;
    Ok(())
}

async fn rotate(ctx: &TenantContext, id: &str) -> Result<Shown, ApiError> {
    let current = load(ctx, id).await?;
    let now = ctx.deps.clock.now();
    let (plain, sealed) = seal_secret(ctx)?;
    let mut next = current.next();
    let mut kept: Vec<SealedSecret> = next
        .secrets
        .into_iter()
        .filter(|s| s.retires_at.is_none_or(|at| at > now))
        .map(|mut s| {
            s.retires_at.get_or_insert(now + ROTATION_OVERLAP);
            s
        })
        .collect();
    kept.insert(0, sealed);
    next.secrets = kept;
    save(ctx, &current, &next).await?;
    Ok(Shown::object(next.view(Some(&plain))))
}

/// The plain secrets that sign now: the current one and any still in their overlap.
pub fn live_secrets(ctx: &TenantContext, webhook: &Webhook, now: OffsetDateTime) -> Result<Vec<String>, ApiError> {
    webhook
        .secrets
        .iter()
        .filter(|s| s.retires_at.is_none_or(|at| at > now))
        .map(|s| {
            let plain = ctx
                .deps
                .master_key
                .open(&s.sealed, &s.id)
                .map_err(|_| ApiError::Internal)?;
            String::from_utf8(plain).map_err(|_| ApiError::Internal)
        })
        .collect()
}

/// The JSON body of an event as receivers get it (API.md §7).
pub fn payload(ctx: &TenantContext, event: &OutboxEvent) -> String {
    json!({
        "id": event.id,
        "type": event.event_type,
        "created_at": crate::views::timestamp(event.created_at),
        "tenant_id": ctx.tenant.id,
        "data": event.data,
    })
    .to_string()
}

/// A delivery of `event` to `webhook`, due after the schedule's first delay
/// ([`Delivery::queue`] stores it).
pub fn new_delivery(ctx: &TenantContext, webhook_id: &str, event: &OutboxEvent) -> Delivery {
    let now = ctx.deps.clock.now();
    Delivery {
        id: new_id(prefix::DELIVERY),
        webhook_id: webhook_id.to_owned(),
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        payload: payload(ctx, event),
        status: DeliveryStatus::Pending,
        attempts: Vec::new(),
        // The schedule's first delay (API.md §7: `0s`, immediately, by default).
        next_attempt_at: Some(
            now + ctx.deps.webhook_schedule.first().map_or(time::Duration::ZERO, |d| {
                time::Duration::milliseconds(d.as_millis() as i64)
            }),
        ),
        created_at: now,
        version: 1,
    }
}

async fn test(ctx: &TenantContext, id: &str) -> Result<Shown, ApiError> {
    let webhook = load(ctx, id).await?;
    let event = outbox_event(
        EventType::WebhookTest,
        json!({ "webhook": webhook.view(None) }),
        ctx.deps.clock.now(),
    );
    let delivery = new_delivery(ctx, &webhook.id, &event);
    let [record, due] = delivery.queue()?;
    ctx.store.apply(TenantBatch::default().write(record).write(due)).await?;
    ctx.webhooks.due();
    Ok(Shown::object(delivery.view()))
}

async fn deliveries(
    ctx: &TenantContext,
    id: &str,
    status: Option<String>,
    page: &PageRequest,
) -> Result<Shown, ApiError> {
    let status = status
        .map(|s| {
            DeliveryStatus::parse(&s).ok_or_else(|| {
                ApiError::invalid(
                    "status",
                    "status must be pending, succeeded, failed or permanently_failed.",
                )
            })
        })
        .transpose()?;
    load(ctx, id).await?;
    let mut all: Vec<Delivery> = ctx
        .store
        .list_records(RecordKind::WebhookDelivery, id)
        .await?
        .into_iter()
        .map(|r| r.parse())
        .collect::<Result<_, _>>()?;
    // Newest first; ids are ULIDs.
    all.sort_by(|a, b| b.id.cmp(&a.id));
    let mut chosen = all
        .into_iter()
        .filter(|d| status.is_none_or(|s| d.status == s))
        .filter(|d| page.after.as_deref().is_none_or(|after| d.id.as_str() < after));
    let items: Vec<_> = chosen.by_ref().take(page.limit).map(|d| d.view()).collect();
    Ok(Shown::objects(Page {
        items,
        has_more: chosen.next().is_some(),
        resume_after: None,
    }))
}

async fn retry(ctx: &TenantContext, id: &str, delivery_id: &str) -> Result<Shown, ApiError> {
    let record = ctx
        .store
        .get_record(RecordKind::WebhookDelivery, delivery_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let current: Delivery = record.parse()?;
    if current.webhook_id != id {
        return Err(ApiError::NotFound);
    }
    let mut next = current.next();
    next.status = DeliveryStatus::Pending;
    next.next_attempt_at = Some(ctx.deps.clock.now());
    let [record, due] = next.queue()?;
    let batch = TenantBatch::default()
        .guard(current.unchanged())
        .write(record)
        .write(due);
    ctx.store.apply(batch).await?;
    ctx.webhooks.due();
    Ok(Shown::object(next.view()))
}
