//! The embedded filesystem backend for development: one directory for the
//! control plane and one per tenant, each an [`engine::FsEngine`] (fsync'd
//! journal + atomically replaced snapshot).

pub mod control;
pub mod engine;
pub mod tenant;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use dashmap::DashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Backend, ControlStore, StoreError, Tenant, TenantStore};
use engine::{Batch, EngineError, FsEngine};

/// The file-store backend rooted at one data directory.
pub struct FsBackend {
    root: PathBuf,
    control: Arc<control::FsControlStore>,
    /// Open tenant stores, so a restarted actor reuses the handle (and its directory lock).
    /// Each slot is held while its tenant opens, so two opens at once (an actor starting
    /// while the webhook sweeper looks at the same tenant) share one engine instead of the
    /// second failing on the first's directory lock.
    open: DashMap<String, Arc<tokio::sync::Mutex<Weak<tenant::FsTenantStore>>>>,
}

impl FsBackend {
    /// Opens (creating) `root/control` and prepares `root/tenants`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let engine = open_engine(&root.join("control"))?;
        Ok(Self {
            root: root.to_owned(),
            control: Arc::new(control::FsControlStore::new(engine)),
            open: DashMap::new(),
        })
    }

    fn tenant_dir(&self, tenant_id: &str) -> Result<PathBuf, StoreError> {
        if !crate::ids::is_valid(crate::ids::prefix::TENANT, tenant_id) {
            return Err(StoreError::NotFound);
        }
        Ok(self.root.join("tenants").join(tenant_id))
    }
}

#[async_trait]
impl Backend for FsBackend {
    fn control(&self) -> Arc<dyn ControlStore> {
        self.control.clone()
    }

    async fn open_tenant(&self, tenant: &Tenant) -> Result<Arc<dyn TenantStore>, StoreError> {
        let dir = self.tenant_dir(&tenant.id)?;
        let slot = self.open.entry(tenant.id.clone()).or_default().clone();
        // On its own task: a caller that gives up (a cancelled request) must not let go of
        // the slot while the blocking open still holds the directory lock.
        let opening = tokio::spawn(async move {
            let mut held = slot.lock_owned().await;
            if let Some(store) = held.upgrade() {
                return Ok(store);
            }
            let engine = tokio::task::spawn_blocking(move || open_engine(&dir))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))??;
            let store = Arc::new(tenant::FsTenantStore::new(engine));
            *held = Arc::downgrade(&store);
            Ok::<_, StoreError>(store)
        });
        let store = opening.await.map_err(|e| StoreError::Unavailable(e.to_string()))??;
        Ok(store)
    }

    async fn drop_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        self.open.remove(&tenant.id);
        let dir = self.tenant_dir(&tenant.id)?;
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }
}

fn open_engine(dir: &Path) -> Result<Arc<FsEngine>, StoreError> {
    let engine = FsEngine::open(dir, engine::EngineOptions::default()).map_err(|e| match e {
        EngineError::Locked => StoreError::Unavailable(format!(
            "the data directory {} is in use by another hellojohn process (a running server?). \
             Stop the server first, or use the HTTP endpoints instead (POST /cp/v1/admins, \
             GET /cp/v1/tenants/{{id}}/export, POST /cp/v1/tenants/{{id}}/import, POST /cp/v1/tenants/{{id}}/api-keys)",
            dir.parent().unwrap_or(dir).display()
        )),
        other => engine_error(other),
    })?;
    if engine.recovered_bytes() > 0 {
        tracing::warn!(dir = %dir.display(), bytes = engine.recovered_bytes(), "dropped a torn journal tail");
    }
    Ok(Arc::new(engine))
}

/// Maps engine errors; `CheckFailed` is mapped by the caller, which knows what each check meant.
fn engine_error(e: EngineError) -> StoreError {
    match e {
        EngineError::Corrupt(why) => StoreError::Corrupt(why),
        EngineError::CheckFailed { .. } => StoreError::Conflict,
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Commits on the blocking pool (it fsyncs); `meanings[i]` says which unique field check `i` protects.
async fn commit(engine: &Arc<FsEngine>, batch: Batch, meanings: Vec<Option<&'static str>>) -> Result<(), StoreError> {
    let engine = engine.clone();
    let result = tokio::task::spawn_blocking(move || engine.commit(batch))
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    match result {
        Ok(()) => Ok(()),
        Err(EngineError::CheckFailed { index }) => match meanings.get(index).copied().flatten() {
            Some(field) => Err(StoreError::Duplicate(field)),
            None => Err(StoreError::Conflict),
        },
        Err(e) => Err(engine_error(e)),
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, StoreError> {
    T::deserialize(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn get<T: DeserializeOwned>(engine: &FsEngine, table: &str, key: &str) -> Result<Option<T>, StoreError> {
    engine.get(table, key).map(|v| from_value(&v)).transpose()
}

/// Rows of `table` newest first (keys are ULID-based ids), filtered, as one page.
fn page_of<T: DeserializeOwned>(
    engine: &FsEngine,
    table: &str,
    keep: impl Fn(&T) -> bool,
    page: &super::PageRequest,
) -> Result<super::Page<T>, StoreError> {
    let rows: Vec<T> = engine.read(|tables| {
        tables
            .table(table)
            .map(|rows| {
                rows.iter()
                    .rev()
                    .filter(|(key, _)| page.after.as_deref().is_none_or(|after| key.as_str() < after))
                    .filter_map(|(_, v)| from_value::<T>(v).ok())
                    .filter(|item| keep(item))
                    .take(page.limit.max(1) + 1)
                    .collect()
            })
            .unwrap_or_default()
    });
    Ok(super::Page::from_fetched(rows, page.limit))
}

/// An index row pointing at a record id.
fn pointer(id: &str) -> serde_json::Value {
    serde_json::json!({ "id": id })
}

fn pointed_id(value: &serde_json::Value) -> Option<String> {
    value.get("id").and_then(|v| v.as_str()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_opens_of_one_tenant_share_its_store() {
        let dir = tempfile::tempdir().unwrap();
        let backend = FsBackend::open(dir.path()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let tenant = Tenant {
            id: crate::ids::new_id(crate::ids::prefix::TENANT),
            name: "Shared".into(),
            slug: "shared".into(),
            status: crate::store::TenantStatus::Active,
            isolation_mode: crate::config::IsolationMode::SeparateDatabase,
            region: None,
            database_url: None,
            auth_config: Default::default(),
            created_at: now,
            updated_at: now,
        };
        for _ in 0..20 {
            let opens = (0..8).map(|_| backend.open_tenant(&tenant));
            let stores = futures_util::future::join_all(opens).await;
            let stores: Vec<_> = stores.into_iter().map(|s| s.expect("every open succeeds")).collect();
            assert!(stores.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
        }
    }
}
