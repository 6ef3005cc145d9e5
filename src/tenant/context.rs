//! The state a tenant's work needs, shared (by `Arc`) between the actor and
//! the tasks it spawns.

use std::sync::Arc;

use dashmap::DashMap;
use time::OffsetDateTime;

use super::TenantDeps;
use crate::auth::signing::KeyRing;
use crate::error::ApiError;
use crate::store::{Session, SessionStatus, Tenant, TenantStore};

/// Sessions remembered per tenant before the cache starts over.
const SESSION_CACHE_CAPACITY: usize = 100_000;

/// What the session cache remembers of a session: enough to answer "is it still active?".
#[derive(Debug, Clone)]
pub struct CachedSession {
    pub status: SessionStatus,
    pub expires_at: OffsetDateTime,
}

/// One tenant's loaded state.
pub struct TenantContext {
    pub tenant: Tenant,
    pub issuer: String,
    pub store: Arc<dyn TenantStore>,
    pub keys: Arc<KeyRing>,
    pub sessions: DashMap<String, CachedSession>,
    pub deps: Arc<TenantDeps>,
}

impl TenantContext {
    /// Loads a tenant: its record, its store and its signing keys.
    pub async fn load(tenant_id: &str, deps: Arc<TenantDeps>) -> Result<Self, ApiError> {
        let control = deps.backend.control();
        let tenant = control.get_tenant(tenant_id).await?.ok_or(ApiError::NotFound)?;
        let store = deps.backend.open_tenant(&tenant).await?;
        let keys = Self::load_keys(&tenant, &deps).await?;
        Ok(Self {
            issuer: deps.issuer(&tenant.id),
            tenant,
            store,
            keys,
            sessions: DashMap::new(),
            deps,
        })
    }

    async fn load_keys(tenant: &Tenant, deps: &TenantDeps) -> Result<Arc<KeyRing>, ApiError> {
        let records = deps.backend.control().list_signing_keys(&tenant.id).await?;
        let grace = tenant.auth_config.access_token_ttl.max(60) as i64 + 60;
        KeyRing::load(&records, &deps.master_key, deps.clock.now(), grace)
            .map(Arc::new)
            .map_err(|e| {
                tracing::error!(tenant = %tenant.id, error = %e, "cannot load signing keys");
                ApiError::unavailable()
            })
    }

    /// A fresh context with re-read tenant record and keys, keeping store and session cache contents.
    pub async fn reloaded(&self) -> Result<Self, ApiError> {
        let control = self.deps.backend.control();
        let tenant = control.get_tenant(&self.tenant.id).await?.ok_or(ApiError::NotFound)?;
        let keys = Self::load_keys(&tenant, &self.deps).await?;
        let sessions = DashMap::new();
        for entry in self.sessions.iter() {
            sessions.insert(entry.key().clone(), entry.value().clone());
        }
        Ok(Self {
            issuer: self.issuer.clone(),
            tenant,
            store: self.store.clone(),
            keys,
            sessions,
            deps: self.deps.clone(),
        })
    }

    /// Records a session's current state in the cache (after every session write).
    pub fn remember(&self, session: &Session) {
        if self.sessions.len() >= SESSION_CACHE_CAPACITY {
            // Crude but bounded: the store stays the source of truth, misses reload from it.
            self.sessions.clear();
        }
        self.sessions.insert(
            session.id.clone(),
            CachedSession {
                status: session.status,
                expires_at: session.expires_at,
            },
        );
    }

    /// The cached state of a session, loading it from the store on a miss.
    pub async fn session_state(&self, session_id: &str) -> Result<Option<CachedSession>, ApiError> {
        if let Some(hit) = self.sessions.get(session_id) {
            return Ok(Some(hit.clone()));
        }
        let Some(session) = self.store.get_session(session_id).await? else {
            return Ok(None);
        };
        self.remember(&session);
        Ok(Some(CachedSession {
            status: session.status,
            expires_at: session.expires_at,
        }))
    }
}
