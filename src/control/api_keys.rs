//! A tenant's API keys (`/v1/api-keys`): values shown once, stored hashed.

use super::tenants::new_api_key;
use super::ControlPlane;
use crate::error::ApiError;
use crate::store::*;

impl ControlPlane {
    /// Creates a key; returns its value (shown once) and record.
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        name: Option<String>,
        kind: &str,
    ) -> Result<(String, ApiKey), ApiError> {
        let kind = match kind {
            "publishable" => ApiKeyKind::Publishable,
            "secret" => ApiKeyKind::Secret,
            _ => return Err(ApiError::invalid("type", "type must be publishable or secret.")),
        };
        let name = crate::validate::text("name", name, 100)?.unwrap_or_else(|| "Unnamed key".to_owned());
        let (value, key) = new_api_key(tenant_id, &name, kind, self.clock.now());
        self.store.insert_api_key(&key).await?;
        Ok((value, key))
    }

    /// Lists a tenant's keys, newest first.
    pub async fn list_api_keys(&self, tenant_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, ApiError> {
        Ok(self.store.list_api_keys(tenant_id, page).await?)
    }

    /// Revokes a key at once (on this node; other nodes drop it from their caches on the next miss).
    pub async fn delete_api_key(&self, tenant_id: &str, id: &str) -> Result<(), ApiError> {
        let key = self.store.delete_api_key(tenant_id, id).await?;
        self.keys.remove(&key.key_hash);
        Ok(())
    }
}
