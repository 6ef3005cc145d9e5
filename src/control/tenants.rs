//! Tenant lifecycle: create (with first keys), update, suspend, delete, key rotation.

use serde_json::Value;

use super::{auth_config, ControlPlane};
use crate::auth::{secrets, signing};
use crate::config::IsolationMode;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::signing_keys::{self, KeyChange};
use crate::store::*;

/// The fields of `POST /cp/v1/tenants`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CreateTenant {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub isolation_mode: Option<String>,
    pub database_url: Option<String>,
    pub region: Option<String>,
    pub auth_config: Option<Value>,
}

/// The fields of `PATCH /cp/v1/tenants/{id}`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub status: Option<String>,
    pub auth_config: Option<Value>,
}

/// A created tenant with its key values, shown once.
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub publishable_key: String,
    pub secret_key: String,
}

fn valid_name(name: Option<String>) -> Result<String, ApiError> {
    let name = name.ok_or_else(|| ApiError::invalid("name", "name is required."))?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name", "name must be 1 to 100 characters."));
    }
    Ok(name)
}

/// A URL-safe slug: lower-case letters, digits and single dashes.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(63).collect()
}

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty() && slug.len() <= 63 && slug == slugify(slug)
}

/// Builds an API key record and its value.
pub(super) fn new_api_key(
    tenant_id: &str,
    name: &str,
    kind: ApiKeyKind,
    now: time::OffsetDateTime,
) -> (String, ApiKey) {
    let value = secrets::generate(match kind {
        ApiKeyKind::Publishable => "pk_live_",
        ApiKeyKind::Secret => "sk_live_",
    });
    let key = ApiKey {
        id: new_id(prefix::KEY),
        tenant_id: tenant_id.to_owned(),
        name: name.to_owned(),
        kind,
        key_hash: secrets::hash(&value),
        last_four: value
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
        created_at: now,
    };
    (value, key)
}

impl ControlPlane {
    /// Creates a tenant with a publishable key, a secret key and a signing key.
    pub async fn create_tenant(&self, input: CreateTenant) -> Result<CreatedTenant, ApiError> {
        let name = valid_name(input.name)?;
        let slug = match input.slug {
            Some(slug) if valid_slug(&slug) => slug,
            Some(_) => {
                return Err(ApiError::invalid(
                    "slug",
                    "slug may hold lower-case letters, digits and dashes.",
                ))
            }
            None => {
                let slug = slugify(&name);
                if slug.is_empty() {
                    format!("tenant-{}", ulid::Ulid::new().to_string().to_lowercase())
                } else {
                    slug
                }
            }
        };
        let isolation_mode = match input.isolation_mode {
            Some(mode) => IsolationMode::parse(&mode).ok_or_else(|| {
                ApiError::invalid(
                    "isolation_mode",
                    "must be separate_database, separate_schema or shared_schema.",
                )
            })?,
            None => self.defaults.isolation_mode,
        };
        if let Some(url) = &input.database_url {
            if !self.backend.accepts_database_url(url) {
                return Err(ApiError::invalid(
                    "database_url",
                    "database_url must be a URL of the instance's own engine (postgres:// or mysql://, as HELLOJOHN_DATABASE_URL); the file store has none.",
                ));
            }
            if isolation_mode != IsolationMode::SeparateDatabase {
                return Err(ApiError::invalid(
                    "database_url",
                    "database_url places a tenant's own database: it needs isolation_mode separate_database.",
                ));
            }
        }
        let region = crate::validate::text("region", input.region, 64)?;
        let base = AuthConfig {
            access_token_ttl: self.defaults.access_token_ttl.as_secs(),
            refresh_token_ttl: self.defaults.refresh_token_ttl.as_secs(),
            ..AuthConfig::default()
        };
        // Validated even without a patch: the instance TTLs must fit the tenant's bounds.
        let auth_config = auth_config::patched(&base, input.auth_config.as_ref().unwrap_or(&serde_json::json!({})))?;
        let now = self.clock.now();
        let tenant = Tenant {
            id: new_id(prefix::TENANT),
            name,
            slug,
            status: TenantStatus::Active,
            isolation_mode,
            region,
            database_url: input.database_url,
            auth_config,
            created_at: now,
            updated_at: now,
        };
        let (publishable_key, pk) = new_api_key(&tenant.id, "Default publishable key", ApiKeyKind::Publishable, now);
        let (secret_key, sk) = new_api_key(&tenant.id, "Default secret key", ApiKeyKind::Secret, now);
        let current = self.new_signing_key(&tenant).await?;
        let next = SigningKeyRecord {
            next: true,
            ..self.new_signing_key(&tenant).await?
        };
        self.store.insert_tenant(&tenant, &[pk, sk], &[current, next]).await?;
        // Open the tenant's store now, so storage problems show at creation, not at first
        // sign-in; a tenant whose store can't be opened is not left behind.
        if let Err(e) = self.backend.open_tenant(&tenant).await {
            if let Err(cleanup) = self.store.delete_tenant(&tenant.id).await {
                tracing::warn!(tenant = %tenant.id, error = %cleanup, "could not remove a tenant whose store failed to open");
            }
            self.forget_tenant(&tenant.id);
            return Err(e.into());
        }
        Ok(CreatedTenant {
            tenant,
            publishable_key,
            secret_key,
        })
    }

    async fn new_signing_key(&self, tenant: &Tenant) -> Result<SigningKeyRecord, ApiError> {
        signing::generate_tenant_key(tenant, &self.master_key, self.clock.now())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "signing key generation failed");
                ApiError::Internal
            })
    }

    /// Lists tenants, newest first.
    pub async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, ApiError> {
        Ok(self.store.list_tenants(page).await?)
    }

    /// Applies a PATCH: name, status (suspend/activate) and an `auth_config` merge.
    pub async fn update_tenant(&self, id: &str, patch: TenantPatch) -> Result<Tenant, ApiError> {
        let mut tenant = self.store.get_tenant(id).await?.ok_or(ApiError::NotFound)?;
        if patch.name.is_some() {
            tenant.name = valid_name(patch.name)?;
        }
        if let Some(status) = patch.status {
            tenant.status = match status.as_str() {
                "active" => TenantStatus::Active,
                "suspended" => TenantStatus::Suspended,
                _ => return Err(ApiError::invalid("status", "status must be active or suspended.")),
            };
        }
        let old_alg = tenant.auth_config.signing_alg;
        if let Some(patch) = &patch.auth_config {
            tenant.auth_config = auth_config::patched(&tenant.auth_config, patch)?;
        }
        tenant.updated_at = self.clock.now();
        self.store.update_tenant(&tenant).await?;
        self.changed(id).await;
        if tenant.auth_config.signing_alg != old_alg {
            // Keys published ahead have the old algorithm: the new one signs at once.
            let _serialized = self.rotation.lock().await;
            let change = KeyChange::Replace {
                current: self.new_signing_key(&tenant).await?,
                next: self.new_signing_key(&tenant).await?,
            };
            self.store.change_signing_keys(&change, self.clock.now()).await?;
        }
        if tenant.status == TenantStatus::Suspended {
            self.registry.stop(id).await;
        } else {
            self.registry.reload(id).await?;
        }
        Ok(tenant)
    }

    /// Deletes a tenant and drops all of its data.
    pub async fn delete_tenant(&self, id: &str) -> Result<(), ApiError> {
        let tenant = self.store.get_tenant(id).await?.ok_or(ApiError::NotFound)?;
        self.registry.stop(id).await;
        self.store.delete_tenant(id).await?;
        self.changed(id).await;
        self.backend.drop_tenant(&tenant).await?;
        Ok(())
    }

    /// Promotes the next signing key (published ahead in the JWKS) to current and publishes a
    /// new next key; the old key keeps verifying for the access-token TTL.
    pub async fn rotate_signing_key(&self, id: &str) -> Result<Value, ApiError> {
        let _serialized = self.rotation.lock().await;
        let tenant = self.store.get_tenant(id).await?.ok_or(ApiError::NotFound)?;
        let next = self.new_signing_key(&tenant).await?;
        self.store
            .change_signing_keys(&KeyChange::Rotate { next: next.clone() }, self.clock.now())
            .await?;
        self.changed(id).await;
        self.registry.reload(id).await?;
        let keys = self.store.list_signing_keys(id).await?;
        let current = signing_keys::current(&keys).ok_or(ApiError::Internal)?;
        Ok(serde_json::json!({
            "id": current.id,
            "alg": signing::alg_name(current.alg),
            "created_at": crate::views::timestamp(current.created_at),
            "next": { "id": next.id, "alg": signing::alg_name(next.alg), "created_at": crate::views::timestamp(next.created_at) },
        }))
    }

    /// Creates the `default` tenant on an empty store; `None` when tenants already exist.
    pub async fn bootstrap_default_tenant(&self) -> Result<Option<CreatedTenant>, ApiError> {
        if self.store.count_tenants().await? > 0 {
            return Ok(None);
        }
        let created = self
            .create_tenant(CreateTenant {
                name: Some("Default".into()),
                slug: Some("default".into()),
                ..Default::default()
            })
            .await;
        match created {
            Ok(created) => Ok(Some(created)),
            // Another node starting at the same moment created it first.
            Err(ApiError::SlugAlreadyExists) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(super::slugify("Acme Corp!  Inc"), "acme-corp-inc");
        assert_eq!(super::slugify("---"), "");
        assert!(super::valid_slug("acme-1"));
        assert!(!super::valid_slug("Acme"));
        assert!(!super::valid_slug("a--b"));
    }
}
