//! Key discovery (API.md §6): JWKS and OpenID configuration per tenant. Public, no credential.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::cors::ANY_ORIGIN;
use super::error::ApiError;
use super::schema;
use super::AppState;
use crate::ids;
use crate::tenant::messages::node::Jwks;
use crate::tenant::messages::{Caller, ClientInfo, Credential};

/// Public documents may be cached by anyone for five minutes.
const PUBLIC_CACHE: (&str, &str) = ("cache-control", "public, max-age=300");

async fn known_tenant(state: &AppState, tenant_id: &str) -> Result<(), ApiError> {
    if !ids::is_valid(ids::prefix::TENANT, tenant_id) {
        return Err(ApiError::NotFound);
    }
    state.control.tenant(tenant_id).await.map(|_| ())
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/.well-known/jwks.json",
    tag = "keys",
    summary = "The tenant's JWKS",
    responses((status = 200, description = "OK.", body = schema::Jwks)),
    security(())
)]
pub async fn jwks(State(state): State<AppState>, Path(tenant_id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    let anyone = Caller {
        credential: Credential::Anonymous,
        client: ClientInfo::default(),
    };
    let keys = state.tenants.run(&tenant_id, anyone, Jwks {}).await.result?;
    Ok(([PUBLIC_CACHE, ANY_ORIGIN], Json(keys)))
}

#[utoipa::path(
    get,
    path = "/jwks/{tenant_id}",
    tag = "keys",
    summary = "The tenant's JWKS (the same document under `/v1`)",
    responses((status = 200, description = "OK.", body = schema::Jwks)),
    security(())
)]
pub async fn jwks_v1(state: State<AppState>, tenant_id: Path<String>) -> Result<impl IntoResponse, ApiError> {
    jwks(state, tenant_id).await
}

#[utoipa::path(
    get,
    path = "/t/{tenant_id}/.well-known/openid-configuration",
    tag = "keys",
    summary = "OpenID discovery",
    responses((status = 200, description = "OK.", body = schema::Discovery)),
    security(())
)]
pub async fn discovery(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    let issuer = format!("{}/t/{tenant_id}", state.config.public_url);
    // Only what is served: the issuer and its keys (no OAuth endpoints exist yet).
    Ok((
        [PUBLIC_CACHE, ANY_ORIGIN],
        Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        })),
    ))
}
