//! [`ControlStore`] on the file engine.

use std::sync::Arc;

use async_trait::async_trait;

use super::engine::{Batch, Check, FsEngine};
use super::{commit, from_value, get, page_of, pointed_id, pointer, to_value};
use crate::store::signing_keys::{self, KeyChange};
use crate::store::*;

const TENANT: &str = "tenant";
const TENANT_SLUG: &str = "tenant_slug";
/// Instance-wide settings by name.
const SETTING: &str = "setting";
const API_KEY: &str = "api_key";
const API_KEY_ID: &str = "api_key_id";
const ADMIN: &str = "admin";
const ADMIN_EMAIL: &str = "admin_email";
const ADMIN_TOKEN: &str = "admin_token";
const SIGNING_KEY: &str = "signing_key";

/// Control-plane records in `DATA/control`.
pub struct FsControlStore {
    engine: Arc<FsEngine>,
    /// Serializes signing-key changes: each reads the keys, then writes what the plan says.
    key_changes: tokio::sync::Mutex<()>,
    /// Signing-key ids by tenant: a tenant's start reads its keys, and scanning every
    /// tenant's keys made each start cost O(tenants) (found by `benches/tenants.rs`).
    keys_by_tenant: KeyIndex,
}

/// Signing-key ids (oldest first) by tenant id.
type KeyIds = Arc<std::collections::HashMap<String, Vec<String>>>;

/// The index of signing keys by tenant, rebuilt on the first read after a change. Every
/// write of signing keys goes through this file (one process owns the directory) and bumps
/// the generation after it commits; an index built from older data is never used.
#[derive(Default)]
struct KeyIndex {
    generation: std::sync::atomic::AtomicU64,
    built: parking_lot::Mutex<Option<(u64, KeyIds)>>,
}

impl KeyIndex {
    fn changed(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn get(&self, engine: &FsEngine) -> KeyIds {
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if let Some((built_at, index)) = self.built.lock().as_ref() {
            if *built_at == generation {
                return index.clone();
            }
        }
        let index = Arc::new(engine.read(|t| {
            let mut index: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
            for (id, value) in t.table(SIGNING_KEY).into_iter().flatten() {
                if let Some(tenant) = value.get("tenant_id").and_then(serde_json::Value::as_str) {
                    index.entry(tenant.to_owned()).or_default().push(id.clone());
                }
            }
            index
        }));
        let mut built = self.built.lock();
        if self.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
            *built = Some((generation, index.clone()));
        }
        index
    }
}

impl FsControlStore {
    /// Wraps an opened engine.
    pub fn new(engine: Arc<FsEngine>) -> Self {
        Self {
            engine,
            key_changes: tokio::sync::Mutex::new(()),
            keys_by_tenant: KeyIndex::default(),
        }
    }

    /// The ids of a tenant's signing keys, oldest first (ULIDs, in table order).
    fn signing_key_ids(&self, tenant_id: &str) -> Vec<String> {
        self.keys_by_tenant
            .get(&self.engine)
            .get(tenant_id)
            .cloned()
            .unwrap_or_default()
    }

    fn all<T: serde::de::DeserializeOwned>(&self, table: &str) -> Vec<T> {
        self.engine.read(|t| {
            t.table(table)
                .map(|rows| rows.values().filter_map(|v| from_value(v).ok()).collect())
                .unwrap_or_default()
        })
    }
}

#[async_trait]
impl ControlStore for FsControlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn insert_tenant(
        &self,
        tenant: &Tenant,
        keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError> {
        let mut batch = Batch::new()
            .check(Check::Absent {
                table: TENANT_SLUG.into(),
                key: tenant.slug.clone(),
            })
            .check(Check::Absent {
                table: TENANT.into(),
                key: tenant.id.clone(),
            })
            .put(TENANT, &tenant.id, to_value(tenant)?)
            .put(TENANT_SLUG, &tenant.slug, pointer(&tenant.id));
        for key in signing_keys {
            batch = batch.put(SIGNING_KEY, &key.id, to_value(key)?);
        }
        for key in keys {
            batch = batch.put(API_KEY, &key.key_hash, to_value(key)?).put(
                API_KEY_ID,
                &key.id,
                serde_json::json!({ "hash": key.key_hash }),
            );
        }
        let committed = commit(&self.engine, batch, vec![Some("slug"), None]).await;
        self.keys_by_tenant.changed();
        committed
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let batch = Batch::new()
            .check(Check::Exists {
                table: TENANT.into(),
                key: tenant.id.clone(),
            })
            .put(TENANT, &tenant.id, to_value(tenant)?);
        commit(&self.engine, batch, vec![]).await.map_err(|e| match e {
            StoreError::Conflict => StoreError::NotFound,
            other => other,
        })
    }

    async fn replace_keys(
        &self,
        tenant_id: &str,
        api_keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError> {
        let mut batch = Batch::new().check(Check::Exists {
            table: TENANT.into(),
            key: tenant_id.to_owned(),
        });
        for key in self
            .all::<ApiKey>(API_KEY)
            .into_iter()
            .filter(|k| k.tenant_id == tenant_id)
        {
            batch = batch.delete(API_KEY, &key.key_hash).delete(API_KEY_ID, &key.id);
        }
        for key_id in self.signing_key_ids(tenant_id) {
            batch = batch.delete(SIGNING_KEY, &key_id);
        }
        for key in api_keys {
            batch = batch.put(API_KEY, &key.key_hash, to_value(key)?).put(
                API_KEY_ID,
                &key.id,
                serde_json::json!({ "hash": key.key_hash }),
            );
        }
        for key in signing_keys {
            batch = batch.put(SIGNING_KEY, &key.id, to_value(key)?);
        }
        let committed = commit(&self.engine, batch, vec![]).await;
        self.keys_by_tenant.changed();
        committed.map_err(|e| match e {
            StoreError::Conflict => StoreError::NotFound,
            other => other,
        })
    }

    async fn delete_tenant(&self, id: &str) -> Result<(), StoreError> {
        let tenant: Tenant = get(&self.engine, TENANT, id)?.ok_or(StoreError::NotFound)?;
        let mut batch = Batch::new().delete(TENANT, id).delete(TENANT_SLUG, &tenant.slug);
        for key in self.all::<ApiKey>(API_KEY).into_iter().filter(|k| k.tenant_id == id) {
            batch = batch.delete(API_KEY, &key.key_hash).delete(API_KEY_ID, &key.id);
        }
        for key_id in self.signing_key_ids(id) {
            batch = batch.delete(SIGNING_KEY, &key_id);
        }
        let committed = commit(&self.engine, batch, vec![]).await;
        self.keys_by_tenant.changed();
        committed
    }

    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        get(&self.engine, TENANT, id)
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        match self.engine.get(TENANT_SLUG, slug).as_ref().and_then(pointed_id) {
            Some(id) => get(&self.engine, TENANT, &id),
            None => Ok(None),
        }
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        page_of(&self.engine, TENANT, |_: &Tenant| true, page)
    }

    async fn count_tenants(&self) -> Result<usize, StoreError> {
        Ok(self.engine.read(|t| t.len(TENANT)))
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let batch = Batch::new()
            .check(Check::Exists {
                table: TENANT.into(),
                key: key.tenant_id.clone(),
            })
            .put(API_KEY, &key.key_hash, to_value(key)?)
            .put(API_KEY_ID, &key.id, serde_json::json!({ "hash": key.key_hash }));
        commit(&self.engine, batch, vec![]).await.map_err(|e| match e {
            StoreError::Conflict => StoreError::NotFound,
            other => other,
        })
    }

    async fn delete_api_key(&self, tenant_id: &str, id: &str) -> Result<ApiKey, StoreError> {
        let hash = self
            .engine
            .get(API_KEY_ID, id)
            .and_then(|v| v.get("hash").and_then(|h| h.as_str()).map(str::to_owned))
            .ok_or(StoreError::NotFound)?;
        let key: ApiKey = get(&self.engine, API_KEY, &hash)?.ok_or(StoreError::NotFound)?;
        if key.tenant_id != tenant_id {
            return Err(StoreError::NotFound);
        }
        let batch = Batch::new().delete(API_KEY, &hash).delete(API_KEY_ID, id);
        commit(&self.engine, batch, vec![]).await?;
        Ok(key)
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        get(&self.engine, API_KEY, key_hash)
    }

    async fn list_api_keys(&self, tenant_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let mut keys: Vec<ApiKey> = self
            .all::<ApiKey>(API_KEY)
            .into_iter()
            .filter(|k| k.tenant_id == tenant_id)
            .collect();
        keys.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(paginate(keys.into_iter(), |k| &k.id, page))
    }

    async fn insert_admin(&self, admin: &CpAdmin) -> Result<(), StoreError> {
        let batch = Batch::new()
            .check(Check::Absent {
                table: ADMIN_EMAIL.into(),
                key: admin.email.clone(),
            })
            .put(ADMIN, &admin.id, to_value(admin)?)
            .put(ADMIN_EMAIL, &admin.email, pointer(&admin.id));
        commit(&self.engine, batch, vec![Some("email")]).await
    }

    async fn find_admin_by_email(&self, email: &str) -> Result<Option<CpAdmin>, StoreError> {
        match self.engine.get(ADMIN_EMAIL, email).as_ref().and_then(pointed_id) {
            Some(id) => get(&self.engine, ADMIN, &id),
            None => Ok(None),
        }
    }

    async fn get_admin(&self, id: &str) -> Result<Option<CpAdmin>, StoreError> {
        get(&self.engine, ADMIN, id)
    }

    async fn list_admins(&self, page: &PageRequest) -> Result<Page<CpAdmin>, StoreError> {
        page_of(&self.engine, ADMIN, |_: &CpAdmin| true, page)
    }

    async fn delete_admin(&self, id: &str) -> Result<(), StoreError> {
        let admin: CpAdmin = get(&self.engine, ADMIN, id)?.ok_or(StoreError::NotFound)?;
        let others: Vec<CpAdmin> = self.all::<CpAdmin>(ADMIN).into_iter().filter(|a| a.id != id).collect();
        let Some(witness) = others.first() else {
            return Err(StoreError::Conflict);
        };
        // The witness check keeps two concurrent deletes from removing the last two admins.
        let mut batch = Batch::new()
            .check(Check::Exists {
                table: ADMIN.into(),
                key: witness.id.clone(),
            })
            .delete(ADMIN, id)
            .delete(ADMIN_EMAIL, &admin.email);
        for token in self
            .all::<AdminToken>(ADMIN_TOKEN)
            .into_iter()
            .filter(|t| t.admin_id == id)
        {
            batch = batch.delete(ADMIN_TOKEN, &token.token_hash);
        }
        commit(&self.engine, batch, vec![]).await
    }

    async fn count_admins(&self) -> Result<usize, StoreError> {
        Ok(self.engine.read(|t| t.len(ADMIN)))
    }

    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError> {
        let batch = Batch::new()
            .check(Check::Exists {
                table: ADMIN.into(),
                key: token.admin_id.clone(),
            })
            .put(ADMIN_TOKEN, &token.token_hash, to_value(token)?);
        commit(&self.engine, batch, vec![]).await
    }

    async fn find_admin_token(&self, token_hash: &str) -> Result<Option<AdminToken>, StoreError> {
        get(&self.engine, ADMIN_TOKEN, token_hash)
    }

    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        get(&self.engine, SETTING, name)
    }

    async fn init_setting(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let batch = Batch::new()
            .check(Check::Absent {
                table: SETTING.into(),
                key: name.to_owned(),
            })
            .put(SETTING, name, serde_json::Value::String(value.to_owned()));
        match commit(&self.engine, batch, vec![Some("setting")]).await {
            Ok(()) | Err(StoreError::Duplicate(_)) => self.get_setting(name).await?.ok_or(StoreError::NotFound),
            Err(e) => Err(e),
        }
    }

    async fn list_signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let mut keys = Vec::new();
        for id in self.signing_key_ids(tenant_id) {
            if let Some(key) = get::<SigningKeyRecord>(&self.engine, SIGNING_KEY, &id)? {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    async fn change_signing_keys(&self, change: &KeyChange, at: time::OffsetDateTime) -> Result<(), StoreError> {
        let tenant_id = change.tenant_id();
        // One process owns the directory and this lock serializes key changes, so reading
        // before the batch is safe; the check still refuses a deleted tenant.
        let _serialized = self.key_changes.lock().await;
        let unretired: Vec<SigningKeyRecord> = self
            .list_signing_keys(tenant_id)
            .await?
            .into_iter()
            .filter(|k| k.retired_at.is_none())
            .collect();
        let mut batch = Batch::new().check(Check::Exists {
            table: TENANT.into(),
            key: tenant_id.to_owned(),
        });
        for key in signing_keys::plan(&unretired, change, at) {
            batch = batch.put(SIGNING_KEY, &key.id, to_value(&key)?);
        }
        let committed = commit(&self.engine, batch, vec![]).await;
        self.keys_by_tenant.changed();
        committed
    }
}
