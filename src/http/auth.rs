//! Data-plane authentication handlers (`/v1/auth/*`, `/v1/sessions/verify`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::{required, JsonBody};
use super::control::no_store;
use super::error::ApiError;
use super::extract::{Client, Publishable, Secret, SignedIn};
use super::AppState;
use crate::tenant::messages::{TenantRequest, TenantResponse, TokenSet};
use crate::views::{self, Audience};

fn unexpected() -> ApiError {
    tracing::error!("tenant actor answered with an unexpected response");
    ApiError::Internal
}

fn token_json(tokens: &TokenSet) -> Value {
    serde_json::to_value(tokens).unwrap_or(Value::Null)
}

#[derive(Deserialize)]
pub struct SignUpBody {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
    username: Option<String>,
    unsafe_metadata: Option<Value>,
}

pub async fn sign_up(
    key: Publishable,
    Client(client): Client,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignUpBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = TenantRequest::SignUp {
        email: required("email", body.email)?,
        password: required("password", body.password)?,
        name: body.name,
        username: body.username,
        unsafe_metadata: body.unsafe_metadata,
        client,
    };
    match state.control.registry().call(&key.tenant.id, request).await? {
        TenantResponse::SignedIn { user, tokens } => Ok(no_store(
            StatusCode::CREATED,
            json!({ "user": views::user(&user, Audience::User), "session": token_json(&tokens) }),
        )),
        _ => Err(unexpected()),
    }
}

#[derive(Deserialize)]
pub struct SignInBody {
    email: Option<String>,
    password: Option<String>,
}

pub async fn sign_in(
    key: Publishable,
    Client(client): Client,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = TenantRequest::SignIn {
        email: required("email", body.email)?,
        password: required("password", body.password)?,
        client,
    };
    match state.control.registry().call(&key.tenant.id, request).await? {
        TenantResponse::SignedIn { user, tokens } => Ok(no_store(
            StatusCode::OK,
            json!({ "user": views::user(&user, Audience::User), "session": token_json(&tokens) }),
        )),
        _ => Err(unexpected()),
    }
}

#[derive(Deserialize)]
pub struct RefreshBody {
    refresh_token: Option<String>,
}

pub async fn refresh(
    key: Publishable,
    Client(client): Client,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = TenantRequest::Refresh {
        refresh_token: required("refresh_token", body.refresh_token)?,
        client,
    };
    match state.control.registry().call(&key.tenant.id, request).await? {
        TenantResponse::Refreshed { tokens } => Ok(no_store(StatusCode::OK, json!({ "session": token_json(&tokens) }))),
        _ => Err(unexpected()),
    }
}

pub async fn me(user: SignedIn, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let request = TenantRequest::GetUser {
        user_id: user.claims.sub,
    };
    match state.control.registry().call(&user.tenant.id, request).await {
        Ok(TenantResponse::User(u)) => Ok(Json(views::user(&u, Audience::User))),
        // The user was deleted after the token was issued.
        Err(ApiError::NotFound) => Err(ApiError::SessionRevoked),
        Err(e) => Err(e),
        Ok(_) => Err(unexpected()),
    }
}

#[derive(Deserialize)]
pub struct VerifyBody {
    token: Option<String>,
}

pub async fn verify_session(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<Value>, ApiError> {
    let token = required("token", body.token)?;
    // Another tenant's token is simply not valid here: it never verifies with this tenant's keys.
    match state
        .control
        .registry()
        .call(&key.tenant.id, TenantRequest::VerifyToken { token })
        .await?
    {
        TenantResponse::Verified { valid, session, claims } => {
            let mut out = json!({ "valid": valid });
            if let Some(session) = session {
                out["session"] = views::session(&session);
            }
            if let Some(claims) = claims {
                out["claims"] = serde_json::to_value(&claims).unwrap_or(Value::Null);
            }
            Ok(Json(out))
        }
        _ => Err(unexpected()),
    }
}
