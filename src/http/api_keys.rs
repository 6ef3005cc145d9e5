//! API keys: `/v1/api-keys`, a tenant managing its own keys with its secret key, and
//! `/cp/v1/tenants/{id}/api-keys`, the operator's way back in when a secret key is lost.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::body::{required, JsonBody};
use super::control::no_store;
use super::error::ApiError;
use super::extract::{Admin, Secret};
use super::pagination::{list as list_page, ListQuery};
use super::params::path_id;
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::views;

/// `POST` body: `type` on `/v1/api-keys`; the control plane names it `kind` (API.md §8)
/// and takes either.
#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "kind")]
    cp_kind: Option<String>,
}

async fn create_for(state: &AppState, tenant_id: &str, body: CreateBody, field: &str) -> Result<Response, ApiError> {
    let kind = required(field, body.cp_kind.or(body.kind))?;
    let (value, record) = state.control.create_api_key(tenant_id, body.name, &kind, field).await?;
    let mut out = views::api_key(&record);
    out["key"] = serde_json::Value::String(value);
    Ok(no_store(StatusCode::CREATED, out).into_response())
}

async fn list_for(state: &AppState, tenant_id: &str, q: &ListQuery) -> Result<Response, ApiError> {
    let page = q.page()?;
    let keys = state.control.list_api_keys(tenant_id, &page).await?;
    Ok(list_page(keys, page.limit, |k| &k.id, views::api_key).into_response())
}

#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "api-keys",
    summary = "Create an API key",
    operation_id = "create_api_key",
    request_body = CreateBody,
    responses((status = 201, description = "Created.", body = schema::ApiKey)),
    security(("secret_key" = []))
)]
pub async fn create(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    create_for(&state, &key.tenant.id, body, "type").await
}

#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "api-keys",
    summary = "List API keys",
    operation_id = "list_api_keys",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::ApiKey>)),
    security(("secret_key" = []))
)]
pub async fn list(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    list_for(&state, &key.tenant.id, &q).await
}

#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "api-keys",
    summary = "Revoke an API key",
    operation_id = "delete_api_key",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn delete(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::KEY, id)?;
    state.control.delete_api_key(&key.tenant.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/tenants/{id}/api-keys",
    tag = "control-plane",
    summary = "Create a tenant's API key",
    operation_id = "cp_create_api_key",
    request_body = CreateBody,
    responses((status = 201, description = "Created.", body = schema::ApiKey)),
    security(("admin_token" = []))
)]
pub async fn cp_create(
    admin: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    let tenant = path_id(prefix::TENANT, tenant)?;
    let created = create_for(&state, &tenant, body, "kind").await?;
    tracing::info!(admin = %admin.id(), tenant = %tenant, "API key minted by an operator");
    Ok(created)
}

#[utoipa::path(
    get,
    path = "/tenants/{id}/api-keys",
    tag = "control-plane",
    summary = "List a tenant's API keys",
    operation_id = "cp_list_api_keys",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::ApiKey>)),
    security(("admin_token" = []))
)]
pub async fn cp_list(
    _: Admin,
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let tenant = path_id(prefix::TENANT, tenant)?;
    state.control.tenant(&tenant).await?;
    list_for(&state, &tenant, &q).await
}

#[utoipa::path(
    delete,
    path = "/tenants/{id}/api-keys/{key_id}",
    tag = "control-plane",
    summary = "Revoke a tenant's API key",
    operation_id = "cp_delete_api_key",
    responses((status = 204, description = "Done, no content.")),
    security(("admin_token" = []))
)]
pub async fn cp_delete(
    admin: Admin,
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (tenant, id) = (path_id(prefix::TENANT, tenant)?, path_id(prefix::KEY, id)?);
    state.control.delete_api_key(&tenant, &id).await?;
    tracing::info!(admin = %admin.id(), tenant = %tenant, key = %id, "API key revoked by an operator");
    Ok(StatusCode::NO_CONTENT)
}
