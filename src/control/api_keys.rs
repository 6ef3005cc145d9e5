//! A tenant's API keys (`/v1/api-keys` by the tenant, `/cp/v1/tenants/{id}/api-keys` and
//! `hellojohn tenant keys` by the operator): values shown once, stored hashed.

use super::tenants::new_api_key;
use super::ControlPlane;
use crate::error::ApiError;
use crate::store::*;

impl ControlPlane {
    /// Creates a key; returns its value (shown once) and record. `field` names the kind in
    /// errors (`type` on `/v1/api-keys`, `kind` on the control plane and the CLI).
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        name: Option<String>,
        kind: &str,
        field: &str,
    ) -> Result<(String, ApiKey), ApiError> {
        let kind = match kind {
            "publishable" => ApiKeyKind::Publishable,
            "secret" => ApiKeyKind::Secret,
            _ => {
                return Err(ApiError::invalid(
                    field,
                    format!("{field} must be publishable or secret."),
                ))
            }
        };
        // The operator's path names the tenant: an unknown one is a 404, not a dangling key.
        self.store.get_tenant(tenant_id).await?.ok_or(ApiError::NotFound)?;
        let name = crate::validate::text("name", name, 100)?.unwrap_or_else(|| "Unnamed key".to_owned());
        let (value, key) = new_api_key(tenant_id, &name, kind, self.clock.now());
        self.store.insert_api_key(&key).await?;
        Ok((value, key))
    }

    /// Lists a tenant's keys, newest first.
    pub async fn list_api_keys(&self, tenant_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, ApiError> {
        Ok(self.store.list_api_keys(tenant_id, page).await?)
    }

    /// Revokes a key at once on this node, and within a second on the others of a cluster.
    /// The last secret key stays: without it the tenant could never call the server API again.
    pub async fn delete_api_key(&self, tenant_id: &str, id: &str) -> Result<(), ApiError> {
        let keys = self
            .store
            .list_api_keys(
                tenant_id,
                &PageRequest {
                    limit: 1000,
                    after: None,
                },
            )
            .await?;
        let target = keys.items.iter().find(|k| k.id == id).ok_or(ApiError::NotFound)?;
        let secrets = keys.items.iter().filter(|k| k.kind == ApiKeyKind::Secret).count();
        if target.kind == ApiKeyKind::Secret && secrets <= 1 {
            return Err(ApiError::Conflict(
                "The last secret key can't be deleted; create another first.".into(),
            ));
        }
        let key = self.store.delete_api_key(tenant_id, id).await?;
        self.keys.remove(&key.key_hash);
        // Forgets the tenant's keys here and on every other node of a cluster.
        self.changed(tenant_id).await;
        Ok(())
    }
}
