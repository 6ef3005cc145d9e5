//! Webhooks: the catalogue of events a tenant's changes emit into its outbox (written in
//! the same store transaction as the change, API.md §7).

pub mod events;

pub use events::{outbox_event, EventType};
