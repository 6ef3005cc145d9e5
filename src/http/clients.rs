//! OAuth clients of the tenant's OpenID provider (API.md §9, secret key). The handlers only
//! parse; the tenant does the rest (`oauth::clients`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::body::{JsonBody, OptionalJsonBody};
use super::error::ApiError;
use super::extract::Secret;
use super::pagination::ListQuery;
use super::params::path_id;
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::tenant::messages::oauth::{ClientAction, ClientFields, Clients};

/// Sends one client action and renders the answer with `status`.
async fn call(state: &AppState, key: &Secret, action: ClientAction, status: StatusCode) -> Result<Response, ApiError> {
    let limit = match &action {
        ClientAction::List { page } => page.limit,
        _ => 100,
    };
    let shown = state.run(key, Clients { action }).await?;
    Ok(super::orgs::render(shown, status, limit))
}

/// A client's settable fields (POST needs `name`, `type` and `redirect_uris`).
#[derive(Deserialize, ToSchema)]
pub struct ClientBody {
    name: Option<String>,
    /// `public` (SPA, mobile app: PKCE, no secret) or `confidential` (a backend with a secret).
    #[serde(rename = "type")]
    client_type: Option<String>,
    /// Exact URLs the provider may send codes to.
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    /// Default `["openid","profile","email","offline_access"]`.
    scopes: Option<Vec<String>>,
    /// First-party clients skip the consent page (default false).
    first_party: Option<bool>,
}

impl From<ClientBody> for ClientFields {
    fn from(body: ClientBody) -> Self {
        Self {
            name: body.name,
            client_type: body.client_type,
            redirect_uris: body.redirect_uris,
            post_logout_redirect_uris: body.post_logout_redirect_uris,
            scopes: body.scopes,
            first_party: body.first_party,
        }
    }
}

#[utoipa::path(
    post,
    path = "/clients",
    tag = "oauth",
    summary = "Register an OAuth client (the secret is shown once)",
    operation_id = "create_client",
    request_body = ClientBody,
    responses((status = 201, description = "Created.", body = schema::OAuthClient)),
    security(("secret_key" = []))
)]
pub async fn create(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ClientBody>,
) -> Result<Response, ApiError> {
    call(&state, &key, ClientAction::Create(body.into()), StatusCode::CREATED).await
}

#[utoipa::path(
    get,
    path = "/clients",
    tag = "oauth",
    summary = "List OAuth clients",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::OAuthClient>)),
    security(("secret_key" = []))
)]
pub async fn list_clients(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let page = q.page()?;
    call(&state, &key, ClientAction::List { page }, StatusCode::OK).await
}

#[utoipa::path(
    get,
    path = "/clients/{id}",
    tag = "oauth",
    summary = "An OAuth client",
    operation_id = "get_client",
    responses((status = 200, description = "OK.", body = schema::OAuthClient)),
    security(("secret_key" = []))
)]
pub async fn get(key: Secret, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(prefix::CLIENT, id)?;
    call(&state, &key, ClientAction::Get { id }, StatusCode::OK).await
}

#[utoipa::path(
    patch,
    path = "/clients/{id}",
    tag = "oauth",
    summary = "Update an OAuth client",
    operation_id = "update_client",
    request_body = ClientBody,
    responses((status = 200, description = "OK.", body = schema::OAuthClient)),
    security(("secret_key" = []))
)]
pub async fn update(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ClientBody>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::CLIENT, id)?;
    let action = ClientAction::Update {
        id,
        fields: body.into(),
    };
    call(&state, &key, action, StatusCode::OK).await
}

#[utoipa::path(
    delete,
    path = "/clients/{id}",
    tag = "oauth",
    summary = "Delete an OAuth client",
    operation_id = "delete_client",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn delete(key: Secret, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_id(prefix::CLIENT, id)?;
    call(&state, &key, ClientAction::Delete { id }, StatusCode::NO_CONTENT).await
}

#[utoipa::path(
    post,
    path = "/clients/{id}/rotate-secret",
    tag = "oauth",
    summary = "Replace a confidential client's secret (shown once)",
    operation_id = "rotate_client_secret",
    responses((status = 200, description = "OK.", body = schema::OAuthClient)),
    security(("secret_key" = []))
)]
pub async fn rotate_secret(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _: OptionalJsonBody<Value>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::CLIENT, id)?;
    call(&state, &key, ClientAction::RotateSecret { id }, StatusCode::OK).await
}
