//! Webhook endpoints (API.md §5, secret key). The handlers only parse; the tenant does
//! the rest (`webhooks::manage`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::body::{required, JsonBody, OptionalJsonBody};
use super::error::ApiError;
use super::extract::Secret;
use super::pagination::ListQuery;
use super::params::path_id;
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::tenant::messages::webhooks::{Webhook, WebhookAction};

/// Sends one webhook action and renders the answer with `status`.
async fn call(state: &AppState, key: &Secret, action: WebhookAction, status: StatusCode) -> Result<Response, ApiError> {
    let limit = match &action {
        WebhookAction::List { page } | WebhookAction::ListDeliveries { page, .. } => page.limit,
        _ => 100,
    };
    let shown = state.run(key, Webhook { action }).await?;
    Ok(super::orgs::render(shown, status, limit))
}

#[derive(Deserialize, ToSchema)]
pub struct WebhookBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    status: Option<String>,
}

#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    summary = "Create a webhook endpoint",
    operation_id = "create_webhook",
    request_body = WebhookBody,
    responses((status = 201, description = "Created.", body = schema::Webhook)),
    security(("secret_key" = []))
)]
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

#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    summary = "List webhook endpoints",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::Webhook>)),
    security(("secret_key" = []))
)]
pub async fn list_webhooks(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let page = q.page()?;
    call(&state, &key, WebhookAction::List { page }, StatusCode::OK).await
}

#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    summary = "A webhook endpoint",
    operation_id = "get_webhook",
    responses((status = 200, description = "OK.", body = schema::Webhook)),
    security(("secret_key" = []))
)]
pub async fn get(key: Secret, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::Get { id }, StatusCode::OK).await
}

#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    summary = "Update a webhook endpoint",
    operation_id = "update_webhook",
    request_body = WebhookBody,
    responses((status = 200, description = "OK.", body = schema::Webhook)),
    security(("secret_key" = []))
)]
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

#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    summary = "Delete a webhook endpoint",
    operation_id = "delete_webhook",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn delete(key: Secret, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::Delete { id }, StatusCode::NO_CONTENT).await
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    summary = "Rotate the signing secret (the old one signs too for 24 h)",
    operation_id = "rotate_webhook_secret",
    responses((status = 200, description = "OK.", body = schema::Webhook)),
    security(("secret_key" = []))
)]
pub async fn rotate_secret(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: OptionalJsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::WEBHOOK, id)?;
    call(&state, &key, WebhookAction::RotateSecret { id }, StatusCode::OK).await
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    summary = "Send a test event",
    operation_id = "test_webhook",
    responses((status = 202, description = "Accepted.", body = schema::Delivery)),
    security(("secret_key" = []))
)]
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

#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "List deliveries",
    operation_id = "list_deliveries",
    params(ListQuery, ("status" = Option<String>, Query, description = "`pending`, `succeeded`, `failed` or `permanently_failed`")),
    responses((status = 200, description = "OK.", body = schema::List<schema::Delivery>)),
    security(("secret_key" = []))
)]
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

#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{del}/retry",
    tag = "webhooks",
    summary = "Deliver again",
    operation_id = "retry_delivery",
    responses((status = 202, description = "Accepted.", body = schema::Delivery)),
    security(("secret_key" = []))
)]
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
