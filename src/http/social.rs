//! Social sign-in over HTTP (API.md §9): the operator's provider settings, the app's start
//! and code exchange, the provider's return, and the user's linked identities. The
//! handlers only parse; the tenant does the rest (`oauth::social`).

use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::body::{required, JsonBody};
use super::error::ApiError;
use super::extract::{publishable_tenant, Admin, Publishable, SignedIn};
use super::params::path_id;
use super::AppState;
use crate::ids::{self, prefix};
use crate::tenant::messages::oauth::{
    FinishProvider, Identities, ProviderAction, ProviderFields, ProviderReturn, Providers, SocialSignIn, SocialStart,
    StartSocial,
};
use crate::tenant::messages::Caller;

fn found(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

async fn providers(state: &AppState, tenant: String, action: ProviderAction) -> Result<serde_json::Value, ApiError> {
    let tenant = path_id(prefix::TENANT, tenant)?;
    state.control.tenant(&tenant).await?;
    state
        .tenants
        .run(&tenant, Caller::operator(), Providers { action })
        .await
        .result
}

#[utoipa::path(
    get,
    path = "/tenants/{id}/oauth-providers",
    tag = "control-plane",
    summary = "A tenant's social sign-in providers (secrets never shown)",
    responses((status = 200, description = "`{data: [provider settings]}`.")),
    security(("admin_token" = []))
)]
pub async fn list_providers(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(providers(&state, id, ProviderAction::List).await?).into_response())
}

/// A provider's settings.
#[derive(Deserialize, ToSchema)]
pub struct ProviderBody {
    client_id: Option<String>,
    /// Sealed at rest, never returned.
    client_secret: Option<String>,
    scopes: Option<Vec<String>>,
    /// For `oidc:<name>`, the issuer whose discovery document is read; for `github`, a
    /// GitHub Enterprise Server's base URL.
    issuer: Option<String>,
    /// Sign in as an existing user whose address the provider vouches for (default false).
    allow_linking: Option<bool>,
    enabled: Option<bool>,
}

#[utoipa::path(
    put,
    path = "/tenants/{id}/oauth-providers/{provider}",
    tag = "control-plane",
    summary = "Set a social provider (`google`, `github`, `microsoft`, `gitlab`, `discord`, `oidc:<name>`)",
    request_body = ProviderBody,
    responses((status = 200, description = "The settings, without the secret.")),
    security(("admin_token" = []))
)]
pub async fn put_provider(
    _: Admin,
    State(state): State<AppState>,
    Path((id, provider)): Path<(String, String)>,
    JsonBody(body): JsonBody<ProviderBody>,
) -> Result<Response, ApiError> {
    let fields = ProviderFields {
        client_id: body.client_id,
        client_secret: body.client_secret,
        scopes: body.scopes,
        issuer: body.issuer,
        allow_linking: body.allow_linking,
        enabled: body.enabled,
    };
    let shown = providers(&state, id, ProviderAction::Put { provider, fields }).await?;
    Ok(Json(shown).into_response())
}

#[utoipa::path(
    delete,
    path = "/tenants/{id}/oauth-providers/{provider}",
    tag = "control-plane",
    summary = "Remove a social provider",
    responses((status = 204, description = "Done, no content.")),
    security(("admin_token" = []))
)]
pub async fn delete_provider(
    _: Admin,
    State(state): State<AppState>,
    Path((id, provider)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    providers(&state, id, ProviderAction::Delete { provider }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The app's start of a social sign-in.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The tenant's publishable key.
    client_id: Option<String>,
    /// Where the app gets its code: under one of the tenant's `allowed_origins`.
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    /// `S256`.
    code_challenge_method: Option<String>,
}

#[utoipa::path(
    get,
    path = "/auth/oauth/{provider}/authorize",
    tag = "auth",
    summary = "Start a social sign-in: redirects to the provider",
    params(StartQuery),
    responses((status = 302, description = "To the provider.")),
    security(())
)]
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    parts: axum::http::request::Parts,
    Query(q): Query<StartQuery>,
) -> Result<Response, ApiError> {
    let tenant = publishable_tenant(&state, q.client_id.as_deref()).await?;
    let caller = super::hosted::caller(&parts, &state);
    let start = SocialStart {
        redirect_uri: q.redirect_uri,
        state: q.state,
        code_challenge: q.code_challenge,
        code_challenge_method: q.code_challenge_method,
    };
    let op = StartSocial { provider, start };
    let location = state.tenants.run(&tenant.id, caller, op).await.result?;
    Ok(found(&location))
}

/// What the provider sends back.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/oauth/callback/{provider}",
    tag = "auth",
    summary = "The provider's return: redirects to the app with a one-time code",
    params(ReturnQuery),
    responses((status = 302, description = "To the app's redirect_uri with `code` and `state`, or `error`.")),
    security(())
)]
pub async fn provider_return(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    parts: axum::http::request::Parts,
    Query(q): Query<ReturnQuery>,
) -> Result<Response, ApiError> {
    // The state is `<tenant id>.<token>`: the token, checked by that tenant, is the credential.
    let (tenant, token) = q
        .state
        .as_deref()
        .and_then(|s| s.split_once('.'))
        .filter(|(tenant, token)| ids::is_valid(prefix::TENANT, tenant) && !token.is_empty() && token.len() <= 128)
        .ok_or(ApiError::InvalidToken)?;
    state.control.active_tenant(tenant).await.map_err(|e| match e {
        ApiError::NotFound => ApiError::InvalidToken,
        other => other,
    })?;
    let answer = ProviderReturn {
        code: q.code,
        state: token.to_owned(),
        error: q.error,
    };
    let caller = super::hosted::caller(&parts, &state);
    let location = state
        .tenants
        .run(tenant, caller, FinishProvider { provider, answer })
        .await
        .result?;
    Ok(found(&location))
}

/// The app's exchange of its code.
#[derive(Deserialize, ToSchema)]
pub struct CallbackBody {
    code: Option<String>,
    code_verifier: Option<String>,
    redirect_uri: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/oauth/{provider}/callback",
    tag = "auth",
    summary = "Finish a social sign-in: the app's code and PKCE verifier for a session",
    request_body = CallbackBody,
    responses((status = 200, description = "`{user, session}`.", body = super::schema::SignedIn)),
    security(("publishable_key" = []))
)]
pub async fn callback(
    key: Publishable,
    State(state): State<AppState>,
    Path(provider): Path<String>,
    JsonBody(body): JsonBody<CallbackBody>,
) -> Result<Response, ApiError> {
    let op = SocialSignIn {
        provider,
        code: required("code", body.code)?,
        code_verifier: required("code_verifier", body.code_verifier)?,
        redirect_uri: required("redirect_uri", body.redirect_uri)?,
    };
    let signed = state.run(&key, op).await?;
    Ok(super::auth::signed_in(StatusCode::OK, signed))
}

#[utoipa::path(
    get,
    path = "/me/identities",
    tag = "me",
    summary = "The signed-in user's linked social identities",
    responses((status = 200, description = "`{data: [identity]}`.")),
    security(("access_token" = []))
)]
pub async fn my_identities(user: SignedIn, State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.run(&user, Identities { remove: None }).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/me/identities/{id}",
    tag = "me",
    summary = "Unlink one of the signed-in user's social identities",
    responses((status = 204, description = "Done, no content.")),
    security(("access_token" = []))
)]
pub async fn remove_identity(
    user: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(prefix::IDENTITY, id)?;
    state.run(&user, Identities { remove: Some(id) }).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
