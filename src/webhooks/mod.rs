//! Webhooks (API.md §7): the event catalogue each tenant's changes emit into its outbox
//! (in the same store transaction as the change), the endpoints that manage webhooks, and
//! the per-tenant dispatcher that delivers, signed per Standard Webhooks, with retries.

pub mod dispatcher;
pub mod events;
pub mod manage;
pub mod model;
pub mod sender;
pub mod signing;
pub mod ssrf;
pub mod sweeper;

pub use events::{outbox_event, EventType};
pub use sender::Sender;
