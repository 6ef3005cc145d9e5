//! Cursor pagination (API.md §1.3): `limit` (default 20, max 100) and an
//! opaque `cursor` that encodes the last id of the previous page.

use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::store::{Page, PageRequest};

/// The list query parameters every list endpoint accepts.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Validates `limit` and decodes `cursor`.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = match &self.limit {
            None => 20,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => return Err(ApiError::invalid("limit", "limit must be between 1 and 100.")),
            },
        };
        let after = match &self.cursor {
            None => None,
            Some(cursor) => {
                let decoded = URL_SAFE_NO_PAD
                    .decode(cursor)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                    .ok_or_else(|| ApiError::invalid("cursor", "cursor is invalid."))?;
                Some(decoded)
            }
        };
        Ok(PageRequest { limit, after })
    }
}

/// Renders a page in the contract's list shape.
pub fn list<T>(page: Page<T>, limit: usize, id: impl Fn(&T) -> &str, view: impl Fn(&T) -> Value) -> Json<Value> {
    let next_cursor = match (page.has_more, &page.resume_after, page.items.last()) {
        (true, Some(resume), _) => Value::String(URL_SAFE_NO_PAD.encode(resume)),
        (true, None, Some(last)) => Value::String(URL_SAFE_NO_PAD.encode(id(last))),
        _ => Value::Null,
    };
    Json(json!({
        "data": page.items.iter().map(view).collect::<Vec<_>>(),
        "pagination": { "limit": limit, "has_more": page.has_more, "next_cursor": next_cursor },
    }))
}
