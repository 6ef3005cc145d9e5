//! CP admins: sign-in with argon2 passwords, bearer tokens, CRUD.

use time::Duration;

use super::ControlPlane;
use crate::auth::secrets;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::validate;

/// How long a CP admin token lives.
const ADMIN_TOKEN_TTL_SECS: i64 = 12 * 3600;
/// Prefix of CP admin token values.
const ADMIN_TOKEN_PREFIX: &str = "hjcp_";

/// A CP sign-in result: the token value (shown once) and its expiry.
pub struct AdminSignIn {
    pub token: String,
    pub expires_at: time::OffsetDateTime,
}

impl ControlPlane {
    /// Checks email and password; unknown email and wrong password cost and answer the same.
    pub async fn admin_sign_in(&self, email: &str, password: &str) -> Result<AdminSignIn, ApiError> {
        if password.len() > validate::MAX_PASSWORD_BYTES {
            return Err(ApiError::InvalidCredentials);
        }
        let admin = self.store.find_admin_by_email(&email.trim().to_lowercase()).await?;
        let matched = self
            .hasher
            .verify(password, admin.as_ref().map(|a| a.password_hash.as_str()))
            .await
            .map_err(|_| ApiError::unavailable())?;
        let admin = admin.filter(|_| matched).ok_or(ApiError::InvalidCredentials)?;
        let token = secrets::generate(ADMIN_TOKEN_PREFIX);
        let expires_at = self.clock.now() + Duration::seconds(ADMIN_TOKEN_TTL_SECS);
        self.store
            .insert_admin_token(&AdminToken {
                token_hash: secrets::hash(&token),
                admin_id: admin.id,
                expires_at,
            })
            .await?;
        Ok(AdminSignIn { token, expires_at })
    }

    /// Resolves a CP admin bearer token to its admin.
    pub async fn authenticate_admin(&self, token: &str) -> Result<CpAdmin, ApiError> {
        if !token.starts_with(ADMIN_TOKEN_PREFIX) || token.len() > 128 {
            return Err(ApiError::CpAdminRequired);
        }
        let record = self
            .store
            .find_admin_token(&secrets::hash(token))
            .await?
            .ok_or(ApiError::InvalidToken)?;
        if !secrets::verify_hash(token, &record.token_hash) {
            return Err(ApiError::InvalidToken);
        }
        if record.expires_at <= self.clock.now() {
            return Err(ApiError::TokenExpired);
        }
        self.store
            .get_admin(&record.admin_id)
            .await?
            .ok_or(ApiError::InvalidToken)
    }

    /// Creates a CP admin.
    pub async fn create_admin(&self, email: &str, password: &str) -> Result<CpAdmin, ApiError> {
        let email = validate::email(email)?;
        validate::new_password(password, 12)?;
        let password_hash = self.hasher.hash(password).await.map_err(|_| ApiError::unavailable())?;
        let admin = CpAdmin {
            id: new_id(prefix::ADMIN),
            email,
            password_hash,
            created_at: self.clock.now(),
        };
        self.store.insert_admin(&admin).await?;
        Ok(admin)
    }

    /// Creates the seed admin when there is none yet; `true` when it did.
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<bool, ApiError> {
        if self.store.count_admins().await? > 0 {
            return Ok(false);
        }
        self.create_admin(email, password).await?;
        Ok(true)
    }

    /// Whether any CP admin exists.
    pub async fn has_admin(&self) -> Result<bool, ApiError> {
        Ok(self.store.count_admins().await? > 0)
    }

    /// Lists CP admins, newest first.
    pub async fn list_admins(&self, page: &PageRequest) -> Result<Page<CpAdmin>, ApiError> {
        Ok(self.store.list_admins(page).await?)
    }

    /// Deletes a CP admin; the last one can't be deleted.
    pub async fn delete_admin(&self, id: &str) -> Result<(), ApiError> {
        self.store.delete_admin(id).await.map_err(|e| match e {
            StoreError::Conflict => ApiError::Conflict("The last admin can't be deleted.".into()),
            other => other.into(),
        })
    }
}
