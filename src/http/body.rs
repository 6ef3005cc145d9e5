//! The JSON body extractor: checks the content type, enforces the size limit,
//! and reports which field was wrong, all in the contract's terms.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest accepted backup (`POST /cp/v1/tenants/{id}/import`): restores stream, so this
/// bounds the time one takes, not memory.
pub const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// A JSON request body of type `T`; unknown fields are ignored.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidRequest {
                    field: None,
                    message: "The request body could not be read.".into(),
                }
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// An optional JSON body: an empty body is `None`, anything else must be valid JSON.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
            || (req.headers().get(CONTENT_TYPE).is_none()
                && req.headers().get(axum::http::header::TRANSFER_ENCODING).is_none()
                && req.headers().get(axum::http::header::CONTENT_LENGTH).is_none());
        if empty {
            return Ok(Self(None));
        }
        JsonBody::from_request(req, state)
            .await
            .map(|JsonBody(v)| Self(Some(v)))
    }
}

/// Parses JSON, naming the field whose value has the wrong type.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every request body of the contract is an object; serde would also accept an array for a struct.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidRequest {
            field: None,
            message: "The request body must be a JSON object.".into(),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            ApiError::InvalidRequest {
                field: None,
                message: "The request body is not valid JSON of the expected shape.".into(),
            }
        } else {
            ApiError::InvalidRequest {
                message: format!("{path} has the wrong type."),
                field: Some(path),
            }
        }
    })?;
    de.end().map_err(|_| ApiError::InvalidRequest {
        field: None,
        message: "Trailing data after the JSON body.".into(),
    })?;
    Ok(value)
}

/// A required field: `invalid_request` naming it when absent.
pub fn required<T>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, format!("{field} is required.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[allow(dead_code)]
        email: Option<String>,
    }

    #[test]
    fn wrong_types_name_the_field_and_syntax_errors_do_not() {
        match parse::<Body>(br#"{"email": 5}"#) {
            Err(ApiError::InvalidRequest { field, .. }) => assert_eq!(field.as_deref(), Some("email")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse::<Body>(b"{"),
            Err(ApiError::InvalidRequest { field: None, .. })
        ));
        assert!(matches!(
            parse::<Body>(b"[1]"),
            Err(ApiError::InvalidRequest { field: None, .. })
        ));
        assert!(parse::<Body>(br#"{"email": "a", "role": "admin"}"#).is_ok());
    }
}
