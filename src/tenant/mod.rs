//! Tenant actors: one supervised `ractor` actor per active tenant owns that
//! tenant's store handle, session cache and signing keys. Handlers reach it
//! through a [`router::TenantRouter`] with one serializable
//! [`messages::TenantCall`] per request; the actor runs heavy work (argon2, store I/O)
//! in spawned tasks so one busy tenant still uses every core.

pub mod activity;
pub mod actor;
pub mod cache;
pub mod context;
pub mod limits;
pub mod messages;
pub mod ops;
pub mod owner_store;
pub mod registry;
pub mod router;
pub mod supervisor;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use crate::auth::encryption::EncryptionKey;
use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::store::Backend;

/// What every tenant actor needs from the process, shared by all of them.
pub struct TenantDeps {
    pub backend: Arc<dyn Backend>,
    pub hasher: PasswordHasher,
    pub clock: Clock,
    pub master_key: EncryptionKey,
    pub public_url: String,
    pub idle_timeout: Duration,
    /// `HELLOJOHN_RATE_LIMITS`: off disables every limit and lockout (benchmarks only).
    pub rate_limits_enabled: bool,
    /// Honour fault-injection requests (tests only).
    pub test_faults: bool,
    /// Sends email off the request path.
    pub mailer: crate::mail::Mailer,
    /// Each tenant's rate windows and lockouts, kept here rather than in its actor so that
    /// stopping an idle actor never lifts a lock or forgets failures and escalation.
    pub limiters: dashmap::DashMap<String, Arc<parking_lot::Mutex<limits::Limiter>>>,
    /// Each tenant's sign-in counts not yet written (see [`activity`]), kept here so a
    /// reloaded context counts into the same log.
    pub activity: dashmap::DashMap<String, Arc<activity::ActivityLog>>,
    /// What every limiter of the node may hold together: a quarter of
    /// `HELLOJOHN_CACHE_MEMORY_MB` (the node cache has the rest).
    pub limit_budget: Arc<limits::LimitBudget>,
    /// `HELLOJOHN_WEBHOOK_ALLOW_PRIVATE`: webhooks may target internal addresses.
    pub webhook_allow_private: bool,
    /// `HELLOJOHN_WEBHOOK_RETRY_SCHEDULE`: the delay before each attempt of a delivery.
    pub webhook_schedule: Vec<Duration>,
    /// The node's one client for webhook deliveries.
    pub webhook_sender: Arc<crate::webhooks::Sender>,
    /// Deliveries waiting per running tenant, summed into `hellojohn_webhook_outbox_depth`.
    pub webhook_backlog: dashmap::DashMap<String, usize>,
    /// Webhook dispatchers running on this node (`hellojohn_webhook_dispatchers`): one per
    /// tenant with webhook work, none for the rest.
    pub webhook_dispatchers: std::sync::atomic::AtomicUsize,
    /// The node's memory-bounded cache of users and session states, over every tenant.
    pub cache: Arc<cache::NodeCache>,
    /// `HELLOJOHN_WEBHOOK_RETENTION`: how long finished deliveries stay in the log.
    pub webhook_retention: Duration,
}

impl TenantDeps {
    /// The `iss` of a tenant's tokens; discovery must answer exactly this.
    pub fn issuer(&self, tenant_id: &str) -> String {
        format!("{}/t/{tenant_id}", self.public_url)
    }
}
