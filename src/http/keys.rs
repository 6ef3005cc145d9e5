//! Key discovery (API.md §6): JWKS and OpenID configuration per tenant. Public, no credential.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::error::ApiError;
use super::AppState;
use crate::ids;
use crate::tenant::messages::{TenantRequest, TenantResponse};

async fn known_tenant(state: &AppState, tenant_id: &str) -> Result<(), ApiError> {
    if !ids::is_valid(ids::prefix::TENANT, tenant_id) {
        return Err(ApiError::NotFound);
    }
    state.control.tenant(tenant_id).await.map(|_| ())
}

pub async fn jwks(State(state): State<AppState>, Path(tenant_id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    match state.control.registry().call(&tenant_id, TenantRequest::Jwks).await? {
        TenantResponse::Jwks(keys) => Ok(([("cache-control", "public, max-age=300")], Json(keys))),
        _ => Err(ApiError::Internal),
    }
}

pub async fn discovery(
    State(state): State<AppState>,
    Path(tenant_id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    known_tenant(&state, &tenant_id).await?;
    let issuer = format!("{}/t/{tenant_id}", state.config.public_url);
    Ok((
        [("cache-control", "public, max-age=300")],
        Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "id_token_signing_alg_values_supported": ["EdDSA", "ES256", "RS256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["code"],
        })),
    ))
}
