//! hellojohn: a multi-tenant authentication server.
//!
//! Request flow: `http` (thin axum handlers and extractors) resolves the tenant
//! from the caller's credential, then sends a typed, serializable message to
//! that tenant's actor (`tenant`), which owns the tenant's store handle
//! (`store`), session cache and signing keys (`auth`). The control plane
//! (`control`) owns tenants, API keys, CP admins and signing-key records.

pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod control;
pub mod error;
pub mod http;
pub mod ids;
pub mod mail;
pub mod oauth;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod traffic;
pub mod validate;
pub mod views;
pub mod webhooks;

/// The version reported in `X-HelloJohn-Version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
