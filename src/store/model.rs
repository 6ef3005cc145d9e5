//! The records every backend stores. They are plain serde types so the same
//! values travel through actor messages, JSON-lines backups and the file store.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::IsolationMode;

/// Whether a tenant may serve its data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

/// A JWT signing algorithm a tenant can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlg {
    EdDSA,
    ES256,
    RS256,
}

/// Per-tenant rate limits (API.md §1.4); `None` turns one off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    pub sign_in_ip: Option<String>,
    pub sign_in_account: Option<String>,
    pub sign_up_ip: Option<String>,
    pub email_send: Option<String>,
    pub mfa_user: Option<String>,
    pub refresh_session: Option<String>,
}

impl Default for RateLimits {
    fn default() -> Self {
        let some = |s: &str| Some(s.to_owned());
        Self {
            sign_in_ip: some("10/1m"),
            sign_in_account: some("10/1m"),
            sign_up_ip: some("5/1m"),
            email_send: some("5/10m"),
            mfa_user: some("10/10m"),
            refresh_session: some("60/1m"),
        }
    }
}

/// Progressive lockout after consecutive failed sign-ins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lockout {
    pub threshold: u32,
    pub duration: u64,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            threshold: 10,
            duration: 900,
        }
    }
}

/// A tenant's authentication settings (API.md §2 Tenant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    pub access_token_ttl: u64,
    pub refresh_token_ttl: u64,
    pub session_idle_timeout: Option<u64>,
    /// Seconds after a rotation during which the rotated refresh token still answers with
    /// the same successor (two tabs refreshing at once); 0 is strict.
    pub refresh_reuse_interval: u64,
    pub password_min_length: u32,
    pub mfa_required: bool,
    pub email_verification_required: bool,
    pub allowed_origins: Vec<String>,
    pub signing_alg: SigningAlg,
    pub rate_limits: RateLimits,
    pub lockout: Lockout,
    /// Per-tenant overrides of the emails (`password_reset`, `email_verification`,
    /// `magic_link`, `invitation`); placeholders `{{link}}`, `{{token}}`, `{{email}}`, `{{tenant}}`.
    pub email_templates: std::collections::BTreeMap<String, EmailTemplate>,
    /// Days finished webhook deliveries stay in the delivery log; `None`: the node's
    /// `HELLOJOHN_WEBHOOK_RETENTION`.
    pub webhook_retention_days: Option<u32>,
    /// The logo the hosted pages show beside the tenant's name (an https URL).
    pub logo_url: Option<String>,
}

/// One email template: subject, plain text and HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailTemplate {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl: 900,
            refresh_token_ttl: 2_592_000,
            session_idle_timeout: None,
            refresh_reuse_interval: 10,
            password_min_length: 8,
            mfa_required: false,
            email_verification_required: false,
            allowed_origins: Vec::new(),
            signing_alg: SigningAlg::EdDSA,
            rate_limits: RateLimits::default(),
            lockout: Lockout::default(),
            email_templates: Default::default(),
            webhook_retention_days: None,
            logo_url: None,
        }
    }
}

/// A tenant as the control plane stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: TenantStatus,
    pub isolation_mode: IsolationMode,
    pub region: Option<String>,
    /// Where this tenant's data lives when it is not the instance's database (never shown).
    pub database_url: Option<String>,
    pub auth_config: AuthConfig,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Which kind of API key: publishable keys are safe in browsers, secret keys are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyKind {
    Publishable,
    Secret,
}

/// A tenant API key; only the SHA-256 of its value is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub kind: ApiKeyKind,
    /// Hex SHA-256 of the full key value.
    pub key_hash: String,
    pub last_four: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A control-plane administrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpAdmin {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A CP admin bearer token; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminToken {
    pub token_hash: String,
    pub admin_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A tenant's JWT signing key; the private part is encrypted with the instance key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    pub id: String,
    pub tenant_id: String,
    pub alg: SigningAlg,
    /// Sealed PKCS#8 DER of the private key (see `auth::encryption`).
    pub private_key_enc: String,
    /// The public JWK as published in the JWKS.
    pub public_jwk: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the key stopped signing; it stays published for the access-token TTL after this.
    #[serde(with = "time::serde::rfc3339::option")]
    pub retired_at: Option<OffsetDateTime>,
    /// Published ahead, not yet signing: the next rotation promotes it (keys stored
    /// before next keys existed read as current).
    #[serde(default)]
    pub next: bool,
}

/// Whether a user may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
}

/// A user's tenant-level role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Member,
    Admin,
}

/// A tenant's user; `email` is stored lower-cased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub phone: Option<String>,
    pub status: UserStatus,
    pub role: UserRole,
    pub mfa_enabled: bool,
    pub public_metadata: Value,
    pub private_metadata: Value,
    pub unsafe_metadata: Value,
    /// PHC string; `None` for users without a password.
    pub password_hash: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sign_in_at: Option<OffsetDateTime>,
}

impl User {
    /// A new, active, unverified member with empty metadata and nothing else set: where every
    /// way of creating a user starts (each then sets what it knows).
    pub fn new(email: String, password_hash: Option<String>, now: OffsetDateTime) -> Self {
        Self {
            id: crate::ids::new_id(crate::ids::prefix::USER),
            email,
            email_verified: false,
            username: None,
            name: None,
            avatar_url: None,
            phone: None,
            status: UserStatus::Active,
            role: UserRole::Member,
            mfa_enabled: false,
            public_metadata: Value::Object(Default::default()),
            private_metadata: Value::Object(Default::default()),
            unsafe_metadata: Value::Object(Default::default()),
            password_hash,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
        }
    }
}

/// Lifecycle of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Active,
    Revoked,
    Expired,
}

/// One sign-in of a user on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub status: SessionStatus,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_active_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub active_organization_id: Option<String>,
    /// Authentication methods of this sign-in (`pwd`, `otp`, …), copied into tokens.
    pub amr: Vec<String>,
    pub mfa_verified: bool,
}

/// Whether a refresh token may still be exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokenStatus {
    Current,
    Rotated,
}

/// A refresh token, stored by the SHA-256 of its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub token_hash: String,
    pub session_id: String,
    pub status: RefreshTokenStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// An event recorded in the same write as the change that caused it (the webhook outbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: String,
    pub event_type: String,
    pub data: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
