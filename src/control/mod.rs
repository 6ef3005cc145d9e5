//! The control plane: tenants, their API keys and signing keys, and CP
//! admins. It is also where a credential is turned into a tenant, so the
//! tenant always comes from the credential and never from a client header.

mod admins;
pub use admins::{is_admin_token, ADMIN_PASSWORD_MIN_LENGTH};
mod api_keys;
mod auth_config;
mod backup;
mod key_check;
mod tenants;

pub use auth_config::parse_rate;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;

pub use backup::{backup_lines, RestoreProgress, RestoreReport, TenantExport, MAX_LINE_BYTES};
pub use key_check::{holds_key_check, verify_instance_key, KeyCheckError};
pub use tenants::{CreateTenant, CreatedTenant, TenantPatch};

use crate::auth::encryption::EncryptionKey;
use crate::auth::password::PasswordHasher;
use crate::auth::secrets;
use crate::auth::signing::KeyRing;
use crate::clock::Clock;
use crate::config::IsolationMode;
use crate::error::ApiError;
use crate::store::cluster::ClusterStore;
use crate::store::{ApiKey, ApiKeyKind, Backend, ControlStore, Tenant, TenantStatus};
use crate::tenant::context::key_ring;
use crate::tenant::limits::Limiter;
use crate::tenant::registry::TenantRegistry;

/// Instance defaults applied to new tenants.
#[derive(Debug, Clone)]
pub struct TenantDefaults {
    pub isolation_mode: IsolationMode,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

/// The control plane service, shared by every handler.
pub struct ControlPlane {
    store: Arc<dyn ControlStore>,
    backend: Arc<dyn Backend>,
    registry: TenantRegistry,
    hasher: PasswordHasher,
    master_key: EncryptionKey,
    clock: Clock,
    defaults: TenantDefaults,
    /// API keys by hash: the hot path of every data-plane request avoids the store.
    keys: DashMap<String, ApiKey>,
    /// Tenants by id, invalidated on every change made through this node.
    tenants: DashMap<String, Tenant>,
    /// Bumped by every invalidation: a cache fill that started before one is dropped.
    epoch: AtomicU64,
    /// Serializes signing-key rotations, so two never leave two active keys.
    rotation: tokio::sync::Mutex<()>,
    /// Rate limits and lockout of the control-plane sign-in.
    admin_limits: parking_lot::Mutex<Limiter>,
    /// Parsed keys of suspended tenants (no actor runs for them), so forged tokens naming
    /// one cost a signature check, not a key load.
    suspended_keys: DashMap<String, Arc<KeyRing>>,
    /// Tenants a restore is writing into: their data plane waits (503) until it is done.
    restoring: dashmap::DashSet<String>,
    /// The cluster's change feed, when this node is part of one: changes made here are
    /// announced there, so the other nodes drop what they cached.
    change_feed: std::sync::OnceLock<Arc<dyn ClusterStore>>,
    /// Tenants another node changed, for the edge's own caches (CORS origins).
    remote_changes: tokio::sync::broadcast::Sender<String>,
}

/// What a data-plane API key resolves to.
#[derive(Debug, Clone)]
pub struct ResolvedKey {
    pub key: ApiKey,
    pub tenant: Tenant,
}

impl ControlPlane {
    /// Builds the control plane over a backend.
    pub fn new(
        backend: Arc<dyn Backend>,
        registry: TenantRegistry,
        hasher: PasswordHasher,
        master_key: EncryptionKey,
        clock: Clock,
        defaults: TenantDefaults,
    ) -> Self {
        Self {
            store: backend.control(),
            backend,
            registry,
            hasher,
            master_key,
            clock,
            defaults,
            keys: DashMap::new(),
            tenants: DashMap::new(),
            epoch: AtomicU64::new(0),
            rotation: tokio::sync::Mutex::new(()),
            admin_limits: parking_lot::Mutex::new(Limiter::default()),
            suspended_keys: DashMap::new(),
            restoring: dashmap::DashSet::new(),
            change_feed: std::sync::OnceLock::new(),
            remote_changes: tokio::sync::broadcast::channel(64).0,
        }
    }

    /// The control store (for readiness checks).
    pub fn store(&self) -> &Arc<dyn ControlStore> {
        &self.store
    }

    /// The storage backend (tests read stored records through it).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The tenant registry (for routing data-plane requests).
    pub fn registry(&self) -> &TenantRegistry {
        &self.registry
    }

    /// A tenant by id, from the cache or the store.
    pub async fn tenant(&self, id: &str) -> Result<Tenant, ApiError> {
        let read = async { self.store.get_tenant(id).await?.ok_or(ApiError::NotFound) };
        self.cached(&self.tenants, id, read).await
    }

    /// An active tenant: suspended tenants answer `tenant_suspended` on the data plane.
    pub async fn active_tenant(&self, id: &str) -> Result<Tenant, ApiError> {
        let tenant = self.tenant(id).await?;
        if tenant.status == TenantStatus::Suspended {
            return Err(ApiError::TenantSuspended);
        }
        if self.restoring.contains(id) {
            return Err(ApiError::ServiceUnavailable { retry_after: 5 });
        }
        Ok(tenant)
    }

    /// Whether `token` carries a valid signature of one of `tenant`'s published keys. Used
    /// where the tenant's actor can't be asked (a suspended tenant), so that only a genuine
    /// token learns the tenant's state (API.md §6).
    pub async fn signature_holds(&self, tenant: &Tenant, token: &str) -> Result<bool, ApiError> {
        let read = async {
            let ring = key_ring(self.store.as_ref(), tenant, &self.master_key, self.clock.now()).await?;
            Ok(Arc::new(ring))
        };
        let ring = self.cached(&self.suspended_keys, &tenant.id, read).await?;
        Ok(ring.verify_signature(token).is_some())
    }

    /// Resolves a `pk_…`/`sk_…` key to its tenant; unknown keys get the contract's 401.
    pub async fn resolve_api_key(&self, raw: &str) -> Result<ResolvedKey, ApiError> {
        let unknown = if raw.starts_with("pk_") {
            ApiError::InvalidPublishableKey
        } else {
            ApiError::InvalidApiKey
        };
        if raw.len() > 128 {
            return Err(unknown);
        }
        let hash = secrets::hash(raw);
        let read = async { self.store.find_api_key(&hash).await?.ok_or(unknown.clone()) };
        let key = self.cached(&self.keys, &hash, read).await?;
        if !secrets::verify_hash(raw, &key.key_hash) {
            return Err(unknown);
        }
        let expected_prefix = match key.kind {
            ApiKeyKind::Publishable => "pk_",
            ApiKeyKind::Secret => "sk_",
        };
        if !raw.starts_with(expected_prefix) {
            return Err(unknown);
        }
        let tenant = self.active_tenant(&key.tenant_id).await.map_err(|e| match e {
            ApiError::NotFound => unknown,
            other => other,
        })?;
        Ok(ResolvedKey { key, tenant })
    }

    /// Publishes gauges that are sampled rather than counted (pools, actors).
    pub fn record_metrics(&self) {
        self.backend.record_metrics();
        metrics::gauge!("hellojohn_tenant_actors").set(self.registry.running() as f64);
        metrics::gauge!("hellojohn_webhook_outbox_depth").set(self.registry.webhook_backlog() as f64);
        metrics::gauge!("hellojohn_webhook_dispatchers").set(self.registry.webhook_dispatchers() as f64);
        metrics::gauge!("hellojohn_cache_bytes").set(self.registry.deps().cache.weighted_size() as f64);
        metrics::gauge!("hellojohn_rate_limit_bytes").set(self.registry.deps().limit_budget.held() as f64);
    }

    /// The clock every tenant shares (tests move it forward).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// `cache[key]`, or what `read` finds, kept unless an invalidation ran meanwhile (a fill
    /// that started before a change never brings the old value back).
    async fn cached<V: Clone>(
        &self,
        cache: &DashMap<String, V>,
        key: &str,
        read: impl std::future::Future<Output = Result<V, ApiError>>,
    ) -> Result<V, ApiError> {
        if let Some(hit) = cache.get(key) {
            return Ok(hit.clone());
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let value = read.await?;
        if self.epoch.load(Ordering::Acquire) == epoch {
            cache.insert(key.to_owned(), value.clone());
        }
        Ok(value)
    }

    fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Announces changes made on this node to the cluster's other nodes (set once, at start).
    pub fn set_change_feed(&self, feed: Arc<dyn ClusterStore>) {
        let _ = self.change_feed.set(feed);
    }

    /// A tenant's record, keys or status changed here: drop what this node cached of it
    /// and tell the other nodes to do the same.
    async fn changed(&self, id: &str) {
        self.forget_tenant(id);
        if let Some(feed) = self.change_feed.get() {
            if let Err(e) = feed.publish_change("tenant", id).await {
                tracing::warn!(tenant = %id, error = %e, "could not announce a tenant change to the cluster");
            }
        }
    }

    /// Another node changed a tenant: forget what this node cached of it and stop its
    /// actor here, if it runs, so the next call loads the new record and keys.
    pub async fn apply_remote_change(&self, id: &str) {
        self.forget_tenant(id);
        if self.registry.is_running(id) {
            self.registry.stop(id).await;
        }
        let _ = self.remote_changes.send(id.to_owned());
    }

    /// Tenants changed on other nodes of the cluster, as they are applied here.
    pub fn remote_changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.remote_changes.subscribe()
    }

    fn forget_tenant(&self, id: &str) {
        self.invalidate();
        self.tenants.remove(id);
        self.suspended_keys.remove(id);
        self.keys.retain(|_, k| k.tenant_id != id);
    }
}
