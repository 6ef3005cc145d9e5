//! Webhook endpoints (API.md §5, secret key). The handlers only parse; the tenant does
//! the rest (`webhooks::manage`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::auth::unexpected;
use super::body::{required, JsonBody, OptionalJsonBody};
use super::error::ApiError;
use super::extract::Secret;
use super::pagination::{list, ListQuery};
use super::params::path_id;
use super::AppState;
use crate::ids::prefix;
use crate::tenant::messages::{TenantRequest, TenantResponse, WebhookAction};

fn object_id(v: &Value) -> &str {
    v.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// Sends one webhook action and renders the answer with `status`.
async fn call(state: &AppState, key: &Secret, action: WebhookAction, status: StatusCode) -> Result<Response, ApiError> {
    let limit = match &action {
        WebhookAction::List { page } | WebhookAction::ListDeliveries { page, .. } => page.limit,
        _ => 100,
    };
    match state.call(key, TenantRequest::Webhook(action)).await? {
        TenantResponse::Object(value) => Ok((status, Json(value)).into_response()),
        TenantResponse::Objects(page) => Ok(list(page, limit, object_id, Value::clone).into_response()),
        TenantResponse::Done => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => Err(unexpected()),
    }
}

#[derive(Deserialize)]
pub struct WebhookBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    status: Option<String>,
}

pub async fn create(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<Response, ApiError> {
    let action = WebhookAction::Create {
        url: required("url", body.url)?,
        events: required("events", body.events)?,
        description: body.description,
    };
    call(&state, &key, action, StatusCode::CREATED).await
}

pub async fn list_webhooks(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let page = q.page()?;
    call(&state, &key, WebhookAction::List { page }, StatusCode::OK).await
}

pub async fn get(key: Secret, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::Get { id }, StatusCode::OK).await
}

pub async fn update(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<WebhookBody>,
) -> Result<Response, ApiError> {
    let action = WebhookAction::Update {
        id: path_id(prefix::WEBHOOK, id)?,
        url: body.url,
        events: body.events,
        description: body.description,
        status: body.status,
    };
    call(&state, &key, action, StatusCode::OK).await
}

pub async fn delete(key: Secret, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::Delete { id }, StatusCode::NO_CONTENT).await
}

pub async fn rotate_secret(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: OptionalJsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::RotateSecret { id }, StatusCode::OK).await
}

pub async fn test(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: OptionalJsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::Test { id }, StatusCode::ACCEPTED).await
}

#[derive(Deserialize)]
pub struct DeliveryQuery {
    #[serde(flatten)]
    page: ListQuery,
    status: Option<String>,
}

pub async fn deliveries(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Response, ApiError> {
    let action = WebhookAction::ListDeliveries {
        id: path_id(prefix::WEBHOOK, id)?,
        status: q.status,
        page: q.page.page()?,
    };
    call(&state, &key, action, StatusCode::OK).await
}

pub async fn retry(
    key: Secret,
    State(state): State<AppState>,
    Path((id, delivery_id)): Path<(String, String)>,
    _: OptionalJsonBody<Value>,
) -> Result<Response, ApiError> {
    let action = WebhookAction::RetryDelivery {
        id: path_id(prefix::WEBHOOK, id)?,
        delivery_id: path_id(prefix::DELIVERY, delivery_id)?,
    };
    call(&state, &key, action, StatusCode::ACCEPTED).await
}
