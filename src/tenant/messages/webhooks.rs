//! Webhook endpoints and their deliveries (secret key).

use serde::{Deserialize, Serialize};

use super::areas::area;
use super::orgs::Shown;
use crate::store::PageRequest;

/// What the tenant's backend does to its webhooks (API.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WebhookAction {
    Create {
        url: String,
        events: Vec<String>,
        description: Option<String>,
    },
    List {
        page: PageRequest,
    },
    Get {
        id: String,
    },
    Update {
        id: String,
        url: Option<String>,
        events: Option<Vec<String>>,
        description: Option<String>,
        status: Option<String>,
    },
    Delete {
        id: String,
    },
    RotateSecret {
        id: String,
    },
    Test {
        id: String,
    },
    ListDeliveries {
        id: String,
        status: Option<String>,
        page: PageRequest,
    },
    RetryDelivery {
        id: String,
        delivery_id: String,
    },
}

area! {
    /// `/v1/webhooks…`.
    Webhooks: WebhookOp / WebhookReply {
        Webhook { action: WebhookAction } => Shown;
    }
}
