//! The stored shapes of webhooks and their deliveries (documents in the tenant's store),
//! and how the API shows them (API.md §2).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::store::{Guard, Record, RecordKind, TenantWrite};
use crate::views::timestamp;

/// Owner id of every [`RecordKind::DueDelivery`] record: the dispatcher lists them all.
pub const DUE: &str = "due";

/// Whether a webhook receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    Active,
    Disabled,
}

impl WebhookStatus {
    /// The status as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// A signing secret, sealed with the instance key (context: its id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub id: String,
    pub sealed: String,
    /// Set on the previous secret at a rotation: it signs alongside until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retires_at: Option<OffsetDateTime>,
}

/// A webhook endpoint of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// Event type names, or `*` for all.
    pub events: Vec<String>,
    pub status: WebhookStatus,
    /// Newest first: the first signs, older ones until their `retires_at`.
    pub secrets: Vec<SealedSecret>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_triggered_at: Option<OffsetDateTime>,
    /// Optimistic concurrency: every change writes `version + 1` guarded on `version`.
    pub version: u64,
}

impl Webhook {
    /// Whether an event of `event_type` goes to this webhook.
    pub fn subscribes(&self, event_type: &str) -> bool {
        self.status == WebhookStatus::Active && self.events.iter().any(|e| e == "*" || e == event_type)
    }

    /// The record holding this webhook.
    pub fn record(&self) -> Result<Record, ApiError> {
        Ok(Record::new(RecordKind::Webhook, &self.id, &self.id, self)?)
    }

    /// The write storing this version.
    pub fn put(&self) -> Result<TenantWrite, ApiError> {
        Ok(TenantWrite::PutRecord(self.record()?))
    }

    /// The guard that this is still the stored version.
    pub fn unchanged(&self) -> Guard {
        Guard::version(RecordKind::Webhook, &self.id, self.version)
    }

    /// The next version, to be written with [`Webhook::unchanged`].
    pub fn next(&self) -> Webhook {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// The API shape (API.md §2); the secret only where the caller passes it in.
    pub fn view(&self, signing_secret: Option<&str>) -> crate::views::objects::Webhook {
        crate::views::objects::Webhook {
            id: self.id.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            events: self.events.clone(),
            status: self.status.as_str().to_owned(),
            created_at: timestamp(self.created_at),
            last_triggered_at: self.last_triggered_at.map(timestamp),
            signing_secret: signing_secret.map(str::to_owned),
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
    PermanentlyFailed,
}

impl DeliveryStatus {
    /// The status as the API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::PermanentlyFailed => "permanently_failed",
        }
    }

    /// The status a query parameter names.
    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        serde_json::from_value(Value::String(text.to_owned())).ok()
    }
}

/// One attempt of a delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The receiver's HTTP status; `None` when no answer came (refused, timed out).
    pub http_status: Option<u16>,
    pub latency_ms: u64,
    /// What went wrong, or the start of the receiver's answer (at most 1 KiB).
    pub response: String,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The event body as first sent: every retry sends the same bytes.
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub version: u64,
}

impl Delivery {
    /// The record holding this delivery (in its webhook's log).
    pub fn record(&self) -> Result<Record, ApiError> {
        Ok(Record::new(
            RecordKind::WebhookDelivery,
            &self.id,
            &self.webhook_id,
            self,
        )?)
    }

    /// The record that puts this delivery on the dispatcher's list, unclaimed.
    pub fn due_record(&self) -> Record {
        self.claimed_due_record(0)
    }

    /// The same, claimed by an attempt until `until` (Unix seconds): a dispatcher that
    /// crashes or loses the tenant mid-attempt leaves a claim that simply runs out.
    pub fn claimed_due_record(&self, until: i64) -> Record {
        Record {
            kind: RecordKind::DueDelivery,
            id: self.id.clone(),
            owner_id: DUE.to_owned(),
            doc: json!({ "webhook_id": self.webhook_id, CLAIMED_UNTIL: until }),
        }
    }
}

/// Field of a due record: until when (Unix seconds) an attempt holds it; 0 when free.
pub const CLAIMED_UNTIL: &str = "claimed_until";

/// Until when a due record is claimed (0: free).
pub fn claimed_until(due: &Record) -> i64 {
    due.doc.get(CLAIMED_UNTIL).and_then(Value::as_i64).unwrap_or(0)
}

impl Delivery {
    /// The writes that store this delivery and put it on the dispatcher's list, unclaimed.
    pub fn queue(&self) -> Result<[TenantWrite; 2], ApiError> {
        Ok([
            TenantWrite::PutRecord(self.record()?),
            TenantWrite::PutRecord(self.due_record()),
        ])
    }

    /// The guard that this is still the stored version.
    pub fn unchanged(&self) -> Guard {
        Guard::version(RecordKind::WebhookDelivery, &self.id, self.version)
    }

    /// The next version, to be written with [`Delivery::unchanged`].
    pub fn next(&self) -> Delivery {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// The API shape (API.md §2).
    pub fn view(&self) -> crate::views::objects::Delivery {
        crate::views::objects::Delivery {
            id: self.id.clone(),
            webhook_id: self.webhook_id.clone(),
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            status: self.status.as_str().to_owned(),
            attempts: u32::try_from(self.attempts.len()).unwrap_or(u32::MAX),
            http_status: self.attempts.last().and_then(|a| a.http_status),
            next_attempt_at: self.next_attempt_at.map(timestamp),
            created_at: timestamp(self.created_at),
            last_response: self.attempts.last().map(|a| a.response.clone()),
        }
    }
}
