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
    let tenant = state.control.tenant(&tenant_id).await?;
    let issuer = format!("{}/t/{tenant_id}", state.config.public_url);
    let alg = serde_json::to_value(tenant.auth_config.signing_alg).unwrap_or_else(|_| json!("EdDSA"));
    // Exactly what is served (API.md §6, §9).
    Ok((
        [PUBLIC_CACHE, ANY_ORIGIN],
        Json(json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "end_session_endpoint": format!("{issuer}/oauth2/end_session"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "scopes_supported": crate::oauth::scopes::KNOWN,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "azp",
                "email", "email_verified", "name", "preferred_username", "picture", "updated_at"
            ],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        })),
    ))
}
