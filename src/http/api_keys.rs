//! `/v1/api-keys`: a tenant manages its own keys with its secret key.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::body::{required, JsonBody};
use super::control::no_store;
use super::error::ApiError;
use super::extract::Secret;
use super::pagination::{list as list_page, ListQuery};
use super::params::path_id;
use super::AppState;
use crate::ids::prefix;
use crate::views;

#[derive(Deserialize)]
pub struct CreateBody {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub async fn create(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = required("type", body.kind)?;
    let (value, record) = state.control.create_api_key(&key.tenant.id, body.name, &kind).await?;
    let mut out = views::api_key(&record);
    out["key"] = serde_json::Value::String(value);
    Ok(no_store(StatusCode::CREATED, out))
}

pub async fn list(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = q.page()?;
    let keys = state.control.list_api_keys(&key.tenant.id, &page).await?;
    Ok(list_page(keys, page.limit, |k| &k.id, views::api_key))
}

pub async fn delete(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::KEY, id)?;
    state.control.delete_api_key(&key.tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
