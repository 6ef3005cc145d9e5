//! CP admins: sign-in with argon2 passwords, bearer tokens, CRUD.

use time::Duration;

use super::ControlPlane;
use crate::auth::secrets;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::tenant::limits::{Limit, RateLimitInfo};
use crate::validate;

/// How long a CP admin token lives.
const ADMIN_TOKEN_TTL_SECS: i64 = 12 * 3600;
/// Prefix of CP admin token values.
const ADMIN_TOKEN_PREFIX: &str = "hjcp_";

/// The control-plane sign-in limits (API.md §1.4): fixed, not a tenant setting.
static ADMIN_RATE_LIMITS: std::sync::LazyLock<RateLimits> = std::sync::LazyLock::new(|| RateLimits {
    sign_in_ip: Some("10/1m".into()),
    sign_in_account: Some("10/1m".into()),
    sign_up_ip: None,
    email_send: None,
    mfa_user: None,
    refresh_session: None,
});

/// Consecutive failures that lock an admin account, and the first lock's length (doubling).
const ADMIN_LOCKOUT: Lockout = Lockout {
    threshold: 10,
    duration: 900,
};

/// The shortest CP admin password: these credentials rule every tenant.
pub const ADMIN_PASSWORD_MIN_LENGTH: u32 = 12;

/// Whether a bearer value is a CP admin token (other credentials are refused as such).
pub fn is_admin_token(token: &str) -> bool {
    token.starts_with(ADMIN_TOKEN_PREFIX)
}

/// A CP sign-in result: the token value (shown once) and its expiry.
pub struct AdminSignIn {
    pub token: String,
    pub expires_at: time::OffsetDateTime,
}

impl ControlPlane {
    /// Checks email and password; unknown email and wrong password cost and answer the same.
    /// Always limited per client IP and per email, with progressive lockout (API.md §1.4),
    /// whatever `HELLOJOHN_RATE_LIMITS` says: these credentials rule every tenant.
    pub async fn admin_sign_in(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> (Result<AdminSignIn, ApiError>, Option<RateLimitInfo>) {
        let account = validate::account_key(email);
        let now = self.clock.unix();
        let admitted = {
            let mut limits = self.admin_limits.lock();
            let by_ip = limits.hit(Limit::SignInIp, client_ip, &ADMIN_RATE_LIMITS, now);
            let by_account = limits.hit(Limit::SignInAccount, &account, &ADMIN_RATE_LIMITS, now);
            match (by_ip, by_account) {
                (Err((error, info)), _) | (_, Err((error, info))) => Err((error, info)),
                (Ok(a), Ok(b)) => Ok(a.map(|a| a.tighter(b))),
            }
        };
        let info = match admitted {
            Ok(info) => info,
            Err((error, info)) => return (Err(error), Some(info)),
        };
        (self.check_admin_password(&account, password).await, info)
    }

    async fn check_admin_password(&self, account: &str, password: &str) -> Result<AdminSignIn, ApiError> {
        self.admin_limits.lock().check_lock(account, self.clock.unix())?;
        let admin = if password.len() > validate::MAX_PASSWORD_BYTES || validate::email(account).is_err() {
            None
        } else {
            self.store.find_admin_by_email(account).await?
        };
        let matched = self
            .hasher
            .verify(password, admin.as_ref().map(|a| a.password_hash.as_str()))
            .await
            .map_err(ApiError::from)?;
        let Some(admin) = admin.filter(|_| matched) else {
            self.admin_limits
                .lock()
                .record_failure(account, &ADMIN_LOCKOUT, self.clock.unix());
            return Err(ApiError::InvalidCredentials);
        };
        {
            let mut limits = self.admin_limits.lock();
            // Failures that ran alongside this attempt may have locked the account meanwhile.
            limits.check_lock(account, self.clock.unix())?;
            limits.record_success(account);
        }
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
            return Err(ApiError::InvalidToken);
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
        validate::new_password(password, ADMIN_PASSWORD_MIN_LENGTH)?;
        let password_hash = self.hasher.hash(password).await.map_err(ApiError::from)?;
        let admin = CpAdmin {
            id: new_id(prefix::ADMIN),
            email,
            password_hash,
            created_at: self.clock.now(),
        };
        self.store.insert_admin(&admin).await?;
        Ok(admin)
    }

    /// Creates the seed admin when there is none yet; `true` when it did. Nodes starting
    /// at once on an empty store race here: the one whose insert loses has nothing to do.
    pub async fn ensure_admin(&self, email: &str, password: &str) -> Result<bool, ApiError> {
        if self.store.count_admins().await? > 0 {
            return Ok(false);
        }
        match self.create_admin(email, password).await {
            Ok(_) => Ok(true),
            Err(ApiError::EmailAlreadyExists) => Ok(false),
            Err(e) => Err(e),
        }
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
