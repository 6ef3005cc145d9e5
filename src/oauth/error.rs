//! Errors in RFC 6749 form (`{"error", "error_description"}`): the provider's endpoints
//! answer these instead of the API's envelope (API.md §1.2 excepts them).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// One OAuth error: its RFC 6749 code, a human description and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub error: String,
    pub description: String,
    pub status: u16,
}

macro_rules! codes {
    ($($name:ident => ($code:literal, $status:literal)),* $(,)?) => {
        impl OAuthError {
            $(
                #[doc = concat!("`", $code, "` (", stringify!($status), ").")]
                pub fn $name(description: impl Into<String>) -> Self {
                    Self { error: $code.to_owned(), description: description.into(), status: $status }
                }
            )*
        }
    };
}

codes! {
    invalid_request => ("invalid_request", 400),
    invalid_client => ("invalid_client", 401),
    invalid_grant => ("invalid_grant", 400),
    unauthorized_client => ("unauthorized_client", 400),
    unsupported_grant_type => ("unsupported_grant_type", 400),
    unsupported_response_type => ("unsupported_response_type", 400),
    invalid_scope => ("invalid_scope", 400),
    access_denied => ("access_denied", 403),
    login_required => ("login_required", 400),
    consent_required => ("consent_required", 400),
    invalid_token => ("invalid_token", 401),
    server_error => ("server_error", 500),
    temporarily_unavailable => ("temporarily_unavailable", 503),
}

impl From<ApiError> for OAuthError {
    /// A failure below OAuth (storage down, tenant moving): retryable or a server error,
    /// never its internal cause.
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::ServiceUnavailable { .. } => Self::temporarily_unavailable("Try again shortly."),
            ApiError::RateLimitExceeded { .. } => Self::temporarily_unavailable("Too many requests; try again later."),
            ApiError::TenantSuspended => Self::access_denied("This tenant is suspended."),
            _ => Self::server_error("The request could not be completed."),
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::from(error).into()
    }
}
