//! Turning [`ApiError`] into responses. A handler's error becomes a response
//! carrying the error as an extension; the edge middleware (which knows the
//! request id) renders every error envelope, including axum's own 404/405/413.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use crate::error::ApiError;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The error a bare status (from axum or tower) stands for.
pub fn error_for_status(status: StatusCode) -> Option<ApiError> {
    Some(match status {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => ApiError::InvalidRequest {
            field: None,
            message: "The request is malformed.".into(),
        },
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::Internal,
        _ => return None,
    })
}

/// The contract's error envelope for `error`, with `request_id`.
pub fn render(error: &ApiError, request_id: &str) -> Response {
    let mut body = json!({
        "code": error.code(),
        "message": error.to_string(),
        "status": error.status(),
        "request_id": request_id,
    });
    match error {
        ApiError::InvalidRequest { field, .. } => body["field"] = json!(field),
        ApiError::Unprocessable { field, .. } => body["field"] = json!(field),
        ApiError::MfaRequired {
            challenge_id,
            available_factors,
        } => {
            body["challenge_id"] = json!(challenge_id);
            body["available_factors"] = json!(available_factors);
        }
        _ => {}
    }
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(json!({ "error": body }))).into_response();
    match error {
        ApiError::RateLimitExceeded { retry_after }
        | ApiError::ServiceUnavailable { retry_after }
        | ApiError::AccountLocked { retry_after } => {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(*retry_after));
        }
        _ => {}
    }
    response
}
