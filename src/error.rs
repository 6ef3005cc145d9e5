//! The contract's error vocabulary (API.md §1.2). Domain code returns these;
//! `http::error` turns them into responses in exactly one place. The type is
//! serializable because tenant actors answer with it, possibly across nodes.

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// Every error a client can see, one variant per contract code.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ApiError {
    #[error("{message}")]
    InvalidRequest { field: Option<String>, message: String },
    #[error("An Authorization header with a bearer credential is required.")]
    MissingToken,
    #[error("The token is invalid.")]
    InvalidToken,
    #[error("The token has expired.")]
    TokenExpired,
    #[error("The API key is invalid.")]
    InvalidApiKey,
    #[error("The publishable key is invalid.")]
    InvalidPublishableKey,
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    #[error("The refresh token is invalid.")]
    RefreshTokenInvalid,
    #[error("The refresh token has expired.")]
    RefreshTokenExpired,
    #[error("The session has been revoked.")]
    SessionRevoked,
    #[error("The code is not valid.")]
    InvalidMfaCode,
    #[error("A second factor is required.")]
    MfaRequired {
        challenge_id: String,
        available_factors: Vec<String>,
    },
    #[error("The email address is not verified.")]
    EmailNotVerified,
    #[error("This link or token has already been used.")]
    TokenAlreadyUsed,
    #[error("The tenant of the request does not match the credential.")]
    TenantMismatch,
    #[error("The tenant is suspended.")]
    TenantSuspended,
    #[error("The credential does not allow this action.")]
    InsufficientPermissions,
    #[error("The account is disabled.")]
    AccountDisabled,
    #[error("Too many failed sign-ins; the account is locked for a while.")]
    AccountLocked { retry_after: u64 },
    #[error("A control-plane admin token is required.")]
    CpAdminRequired,
    #[error("Not found.")]
    NotFound,
    /// No route has this path: the same `not_found`, with a message that tells a mistyped
    /// URL from a missing object.
    #[error("No such endpoint.")]
    NoRoute,
    #[error("Method not allowed.")]
    MethodNotAllowed,
    #[error("An account with this email already exists.")]
    EmailAlreadyExists,
    #[error("The slug is already taken.")]
    SlugAlreadyExists,
    /// The user already belongs to the organization.
    #[error("The user is already a member of this organization.")]
    AlreadyMember,
    #[error("{0}")]
    Conflict(String),
    #[error("The request body is larger than 64 KiB.")]
    PayloadTooLarge,
    /// A backup beyond [`crate::http::body::MAX_IMPORT_BYTES`].
    #[error("A backup is at most 16 GiB.")]
    BackupTooLarge,
    #[error("The request body must be application/json.")]
    UnsupportedMediaType,
    #[error("{0}")]
    PasswordTooWeak(String),
    /// Well-formed input that can't be used as it is (e.g. a backup sealed with another key).
    #[error("{message}")]
    Unprocessable { field: String, message: String },
    #[error("The email address is invalid.")]
    InvalidEmail,
    #[error("Too many requests.")]
    RateLimitExceeded { retry_after: u64 },
    #[error("The service is temporarily unavailable.")]
    ServiceUnavailable { retry_after: u64 },
    /// A bug: logged with the request id, answered as a bare 500.
    #[error("Internal error.")]
    Internal,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        use ApiError::*;
        match self {
            InvalidRequest { .. } => 400,
            MissingToken
            | InvalidToken
            | TokenExpired
            | InvalidApiKey
            | InvalidPublishableKey
            | InvalidCredentials
            | RefreshTokenInvalid
            | RefreshTokenExpired
            | SessionRevoked
            | InvalidMfaCode => 401,
            MfaRequired { .. } | EmailNotVerified => 403,
            TokenAlreadyUsed => 410,
            TenantMismatch
            | TenantSuspended
            | InsufficientPermissions
            | AccountDisabled
            | AccountLocked { .. }
            | CpAdminRequired => 403,
            NotFound | NoRoute => 404,
            MethodNotAllowed => 405,
            EmailAlreadyExists | SlugAlreadyExists | AlreadyMember | Conflict(_) => 409,
            PayloadTooLarge | BackupTooLarge => 413,
            UnsupportedMediaType => 415,
            PasswordTooWeak(_) | InvalidEmail | Unprocessable { .. } => 422,
            RateLimitExceeded { .. } => 429,
            ServiceUnavailable { .. } => 503,
            Internal => 500,
        }
    }

    /// The contract's error code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest { .. } | Unprocessable { .. } => "invalid_request",
            MissingToken => "missing_token",
            InvalidToken => "invalid_token",
            TokenExpired => "token_expired",
            InvalidApiKey => "invalid_api_key",
            InvalidPublishableKey => "invalid_publishable_key",
            InvalidCredentials => "invalid_credentials",
            RefreshTokenInvalid => "refresh_token_invalid",
            RefreshTokenExpired => "refresh_token_expired",
            SessionRevoked => "session_revoked",
            InvalidMfaCode => "invalid_mfa_code",
            MfaRequired { .. } => "mfa_required",
            EmailNotVerified => "email_not_verified",
            TokenAlreadyUsed => "token_already_used",
            TenantMismatch => "tenant_mismatch",
            TenantSuspended => "tenant_suspended",
            InsufficientPermissions => "insufficient_permissions",
            AccountDisabled => "account_disabled",
            AccountLocked { .. } => "account_locked",
            CpAdminRequired => "cp_admin_required",
            NotFound | NoRoute => "not_found",
            MethodNotAllowed => "method_not_allowed",
            EmailAlreadyExists => "email_already_exists",
            SlugAlreadyExists => "slug_already_exists",
            AlreadyMember => "already_member",
            Conflict(_) => "conflict",
            PayloadTooLarge | BackupTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            PasswordTooWeak(_) => "password_too_weak",
            InvalidEmail => "invalid_email",
            RateLimitExceeded { .. } => "rate_limit_exceeded",
            ServiceUnavailable { .. } => "service_unavailable",
            Internal => "internal_error",
        }
    }

    /// A 400 naming the offending field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// The tenant is moving between nodes (or its owner is out of reach): retry in a second.
    pub fn moving() -> Self {
        Self::ServiceUnavailable { retry_after: 1 }
    }

    /// Storage trouble the client should retry.
    pub fn unavailable() -> Self {
        Self::ServiceUnavailable { retry_after: 5 }
    }
}

impl From<crate::auth::password::PasswordError> for ApiError {
    /// Overload gets the queue's `Retry-After`; anything else is logged and a longer one.
    fn from(e: crate::auth::password::PasswordError) -> Self {
        match e {
            crate::auth::password::PasswordError::Overloaded { retry_after } => {
                ApiError::ServiceUnavailable { retry_after }
            }
            other => {
                tracing::error!(error = %other, "password hashing failed");
                ApiError::unavailable()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Duplicate("email") => ApiError::EmailAlreadyExists,
            StoreError::Duplicate("slug") => ApiError::SlugAlreadyExists,
            StoreError::Duplicate("membership") => ApiError::AlreadyMember,
            StoreError::Duplicate(field) => ApiError::Conflict(format!("{field} is already taken.")),
            StoreError::Conflict => ApiError::Conflict("The resource changed concurrently; retry.".into()),
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "storage unavailable");
                ApiError::unavailable()
            }
            StoreError::InvalidInput(why) => {
                tracing::info!(error = %why, "the database refused a value of the request");
                ApiError::InvalidRequest {
                    field: None,
                    message: "The request holds a value that can't be stored or searched for.".into(),
                }
            }
            StoreError::Corrupt(why) => {
                tracing::error!(error = %why, "storage returned data this version cannot read");
                ApiError::Internal
            }
        }
    }
}
