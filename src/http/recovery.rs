//! Email-link flows (`/v1/auth/password/*`, `/v1/auth/email/*`, `/v1/auth/magic-link*`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::auth::{limited, signed_in, unexpected};
use super::body::{required, JsonBody};
use super::error::ApiError;
use super::extract::{Publishable, SignedIn};
use super::AppState;
use crate::tenant::messages::{TenantRequest, TenantResponse};
use crate::views::{self, Audience};

#[derive(Deserialize)]
pub struct EmailBody {
    email: Option<String>,
    redirect_url: Option<String>,
}

async fn request_link(
    state: AppState,
    key: &Publishable,
    body: EmailBody,
    magic_link: bool,
) -> Result<Response, ApiError> {
    let email = required("email", body.email)?;
    if email.len() > 320 {
        return Err(ApiError::InvalidEmail);
    }
    let request = TenantRequest::RequestEmailLink {
        email,
        magic_link,
        redirect_url: body.redirect_url,
    };
    let reply = state.call_with_limits(key, request).await;
    // The same answer whether or not the email belongs to anyone.
    Ok(limited(reply, |_| Ok(StatusCode::ACCEPTED.into_response())))
}

pub async fn forgot_password(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    request_link(state, &key, body, false).await
}

pub async fn magic_link(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    request_link(state, &key, body, true).await
}

#[derive(Deserialize)]
pub struct ResetBody {
    token: Option<String>,
    new_password: Option<String>,
}

pub async fn reset_password(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<StatusCode, ApiError> {
    let request = TenantRequest::ResetPassword {
        token: required("token", body.token)?,
        new_password: required("new_password", body.new_password)?,
    };
    state.call(&key, request).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn send_verification(user: SignedIn, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.call(&user, TenantRequest::SendEmailVerification).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct TokenBody {
    token: Option<String>,
}

pub async fn verify_email(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, ApiError> {
    let request = TenantRequest::VerifyEmail {
        token: required("token", body.token)?,
    };
    match state.call(&key, request).await? {
        TenantResponse::User(u) => Ok(Json(views::user(&u, Audience::User))),
        _ => Err(unexpected()),
    }
}

pub async fn magic_link_verify(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Response, ApiError> {
    let request = TenantRequest::MagicLinkSignIn {
        token: required("token", body.token)?,
    };
    let reply = state.call_with_limits(&key, request).await;
    Ok(limited(reply, |r| signed_in(StatusCode::OK, r)))
}
