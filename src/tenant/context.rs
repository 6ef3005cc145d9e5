//! The state a tenant's work needs, shared (by `Arc`) between the actor and
//! the tasks it spawns.

use std::sync::Arc;

use parking_lot::Mutex;
use ractor::ActorRef;
use time::OffsetDateTime;

use super::limits::{Limit, Limiter, RateLimitInfo};

use super::cache::{CachedSession, TenantCache};
use super::owner_store::OwnerStore;
use super::TenantDeps;
use crate::auth::encryption::EncryptionKey;
use crate::auth::signing::{self, KeyRing};
use crate::error::ApiError;
use crate::store::signing_keys::KeyChange;
use crate::store::{ControlStore, Session, SessionStatus, Tenant, TenantStore};

/// One tenant's loaded state.
pub struct TenantContext {
    pub tenant: Tenant,
    pub issuer: String,
    pub store: Arc<dyn TenantStore>,
    pub keys: Arc<KeyRing>,
    /// This tenant's view of the node cache (users, session states).
    pub cache: TenantCache,
    /// Rate-limit windows and lockouts; carried over when the context is reloaded.
    pub limits: Arc<Mutex<Limiter>>,
    /// Sign-in figures for the console, shared with every context of the tenant on this node.
    pub activity: Arc<super::activity::ActivityLog>,
    /// Tells the tenant actor of webhook work (its dispatcher runs only while there is some).
    pub webhooks: Arc<WebhookSignals>,
    pub deps: Arc<TenantDeps>,
}

/// What a tenant's webhook work tells its actor: work waits (an outbox event committed, a
/// delivery came due now), so the actor starts its dispatcher if none runs; or the
/// dispatcher has nothing left, so the actor may stop it. A tenant without webhook work
/// runs no dispatcher, and most tenants of a node never have any. A stopped actor is not
/// told: the work stays in the store for its next start or the node's sweeper.
#[derive(Default)]
pub struct WebhookSignals(Option<ActorRef<super::actor::TenantMsg>>);

impl WebhookSignals {
    /// Signals to the actor `owner`.
    pub fn to(owner: ActorRef<super::actor::TenantMsg>) -> Self {
        Self(Some(owner))
    }

    /// Webhook work waits.
    pub fn due(&self) {
        self.tell(super::actor::TenantMsg::WebhooksDue);
    }

    /// The dispatcher found nothing left to do.
    pub fn dispatcher_idle(&self) {
        self.tell(super::actor::TenantMsg::DispatcherIdle);
    }

    /// A context loaded outside an actor (a test) has no owner to tell.
    fn tell(&self, message: super::actor::TenantMsg) {
        if let Some(owner) = &self.0 {
            let _ = owner.cast(message);
        }
    }
}

/// Logs why a tenant's keys can't be used; the tenant answers 503 meanwhile.
fn key_trouble(tenant_id: &str) -> impl Fn(signing::KeyError) -> ApiError + '_ {
    move |e| {
        tracing::error!(tenant = %tenant_id, error = %e, "cannot load signing keys");
        ApiError::unavailable()
    }
}

/// A tenant's published keys, parsed: retired keys stay for the access-token TTL plus a minute.
pub async fn key_ring(
    control: &dyn ControlStore,
    tenant: &Tenant,
    master: &EncryptionKey,
    now: OffsetDateTime,
) -> Result<KeyRing, ApiError> {
    let records = control.list_signing_keys(&tenant.id).await?;
    let grace = crate::store::signing_keys::retired_key_grace(&tenant.auth_config);
    KeyRing::load(&records, master, now, grace).map_err(key_trouble(&tenant.id))
}

impl TenantContext {
    /// Loads a tenant: its record, its store and its signing keys; webhook work is
    /// signalled to `webhooks`.
    pub async fn load(tenant_id: &str, deps: Arc<TenantDeps>, webhooks: WebhookSignals) -> Result<Self, ApiError> {
        let control = deps.backend.control();
        let tenant = control.get_tenant(tenant_id).await?.ok_or(ApiError::NotFound)?;
        let webhooks = Arc::new(webhooks);
        let cache = deps.cache.tenant(&tenant.id);
        let store = Arc::new(OwnerStore {
            inner: deps.backend.open_tenant(&tenant).await?,
            wake: webhooks.clone(),
            cache: cache.clone(),
        });
        let keys = Self::load_keys(&tenant, &deps).await?;
        let limits = deps
            .limiters
            .entry(tenant.id.clone())
            .or_insert_with(|| Arc::new(Mutex::new(Limiter::within(deps.limit_budget.clone()))))
            .clone();
        let activity = deps.activity.entry(tenant.id.clone()).or_default().clone();
        Ok(Self {
            issuer: deps.issuer(&tenant.id),
            activity,
            tenant,
            store,
            keys,
            cache,
            limits,
            webhooks,
            deps,
        })
    }

    async fn load_keys(tenant: &Tenant, deps: &TenantDeps) -> Result<Arc<KeyRing>, ApiError> {
        let ring = Self::read_keys(tenant, deps).await?;
        if ring.has_next() {
            return Ok(ring);
        }
        // Keys stored before next keys existed (or restored from such a backup): publish one.
        // Best effort: the tenant serves with the keys it has meanwhile.
        match Self::publish_next_key(tenant, deps).await {
            Ok(()) => Self::read_keys(tenant, deps).await,
            Err(e) => {
                tracing::warn!(tenant = %tenant.id, error = %e, "could not publish a next signing key; retried at the next load");
                Ok(ring)
            }
        }
    }

    async fn read_keys(tenant: &Tenant, deps: &TenantDeps) -> Result<Arc<KeyRing>, ApiError> {
        key_ring(
            deps.backend.control().as_ref(),
            tenant,
            &deps.master_key,
            deps.clock.now(),
        )
        .await
        .map(Arc::new)
    }

    async fn publish_next_key(tenant: &Tenant, deps: &TenantDeps) -> Result<(), ApiError> {
        let now = deps.clock.now();
        let next = signing::generate_tenant_key(tenant, &deps.master_key, now)
            .await
            .map_err(key_trouble(&tenant.id))?;
        deps.backend
            .control()
            .change_signing_keys(&KeyChange::PublishNext(next), now)
            .await?;
        tracing::info!(tenant = %tenant.id, "published a next signing key ahead of rotation");
        Ok(())
    }

    /// A fresh context with re-read tenant record and keys, keeping store and session cache contents.
    pub async fn reloaded(&self) -> Result<Self, ApiError> {
        let control = self.deps.backend.control();
        let tenant = control.get_tenant(&self.tenant.id).await?.ok_or(ApiError::NotFound)?;
        let keys = Self::load_keys(&tenant, &self.deps).await?;
        Ok(Self {
            issuer: self.issuer.clone(),
            tenant,
            store: self.store.clone(),
            keys,
            cache: self.cache.clone(),
            limits: self.limits.clone(),
            activity: self.activity.clone(),
            webhooks: self.webhooks.clone(),
            deps: self.deps.clone(),
        })
    }

    /// Records an authentication event: the `hellojohn_auth_events_total` metric (the
    /// node's view) and the tenant's own hourly figures (the console's charts).
    pub fn auth_event(&self, event: &'static str, success: bool) {
        use super::activity::Activity;
        let result = if success { "success" } else { "failure" };
        metrics::counter!("hellojohn_auth_events_total", "event" => event, "result" => result).increment(1);
        let activity = match (event.ends_with("sign_up"), success) {
            (true, _) => Activity::SignUp,
            (false, true) => Activity::SignIn,
            (false, false) => Activity::FailedSignIn,
        };
        self.activity.record(activity, self.deps.clock.now());
    }

    /// Records a session's current state in the cache (after every session write).
    pub fn remember(&self, session: &Session) {
        self.cache.remember_session(&session.id, CachedSession::from(session));
    }

    /// The cached state of a session, loading it from the store on a miss.
    pub async fn session_state(&self, session_id: &str) -> Result<Option<CachedSession>, ApiError> {
        if let Some(hit) = self.cache.session(session_id) {
            return Ok(Some(hit));
        }
        let Some(session) = self.store.get_session(session_id).await? else {
            return Ok(None);
        };
        self.remember(&session);
        Ok(Some(CachedSession::from(&session)))
    }

    /// Marks every cached session of a user revoked (after a revoke-all, disable or delete).
    pub fn forget_user_sessions(&self, user_id: &str, except: Option<&str>) {
        self.cache.revoke_user_sessions(user_id, except);
    }

    /// The effective status of a session now: active sessions past their absolute
    /// expiry or idle timeout count as expired.
    pub fn effective_status(
        &self,
        status: SessionStatus,
        expires_at: OffsetDateTime,
        last_active_at: OffsetDateTime,
    ) -> SessionStatus {
        let now = self.deps.clock.now();
        let idle_expired = self
            .tenant
            .auth_config
            .session_idle_timeout
            .is_some_and(|idle| last_active_at + time::Duration::seconds(idle as i64) <= now);
        match status {
            SessionStatus::Active if expires_at <= now || idle_expired => SessionStatus::Expired,
            other => other,
        }
    }

    /// Counts a hit against a rate limit (no-op when limits are off instance-wide).
    pub fn limit(&self, limit: Limit, key: &str) -> Result<Option<RateLimitInfo>, (ApiError, RateLimitInfo)> {
        if !self.deps.rate_limits_enabled {
            return Ok(None);
        }
        self.limits
            .lock()
            .hit(limit, key, &self.tenant.auth_config.rate_limits, self.deps.clock.unix())
    }

    /// `Err(account_locked)` while `account` is locked out (never when limits are off).
    pub fn check_lock(&self, account: &str) -> Result<(), ApiError> {
        if !self.deps.rate_limits_enabled {
            return Ok(());
        }
        self.limits.lock().check_lock(account, self.deps.clock.unix())
    }

    /// Counts a failed sign-in of `account` toward its lockout.
    pub fn record_failure(&self, account: &str) {
        if self.deps.rate_limits_enabled {
            let lockout = &self.tenant.auth_config.lockout;
            self.limits
                .lock()
                .record_failure(account, lockout, self.deps.clock.unix());
        }
    }

    /// A successful sign-in of `account`, unless failures that ran alongside it locked the
    /// account meanwhile: then `Err(account_locked)`.
    pub fn record_success(&self, account: &str) -> Result<(), ApiError> {
        if !self.deps.rate_limits_enabled {
            return Ok(());
        }
        let mut limits = self.limits.lock();
        limits.check_lock(account, self.deps.clock.unix())?;
        limits.record_success(account);
        Ok(())
    }
}
