//! Email-link flows (`/v1/auth/password/*`, `/v1/auth/email/*`, `/v1/auth/magic-link*`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::{limited, signed_in};
use super::body::{required, JsonBody};
use super::error::ApiError;
use super::extract::{Publishable, SignedIn};
use super::schema;
use super::AppState;
use crate::tenant::messages::auth::MagicLinkSignIn;
use crate::tenant::messages::email::{RequestEmailLink, ResetPassword, SendEmailVerification, VerifyEmail};
use crate::views::{self, Audience};

#[derive(Deserialize, ToSchema)]
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
    let op = RequestEmailLink {
        email,
        magic_link,
        redirect_url: body.redirect_url,
    };
    let reply = state.run_limited(key, op).await;
    // The same answer whether or not the email belongs to anyone.
    Ok(limited(reply, |()| StatusCode::ACCEPTED.into_response()))
}

#[utoipa::path(
    post,
    path = "/auth/password/forgot",
    tag = "auth",
    summary = "Mail a password-reset link (always 202)",
    request_body = EmailBody,
    responses((status = 202, description = "Accepted.")),
    security(("publishable_key" = []))
)]
pub async fn forgot_password(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    request_link(state, &key, body, false).await
}

#[utoipa::path(
    post,
    path = "/auth/magic-link",
    tag = "auth",
    summary = "Mail a sign-in link (always 202)",
    request_body = EmailBody,
    responses((status = 202, description = "Accepted.")),
    security(("publishable_key" = []))
)]
pub async fn magic_link(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EmailBody>,
) -> Result<Response, ApiError> {
    request_link(state, &key, body, true).await
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    token: Option<String>,
    new_password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/password/reset",
    tag = "auth",
    summary = "Set a new password with a reset token",
    request_body = ResetBody,
    responses((status = 204, description = "Done, no content.")),
    security(("publishable_key" = []))
)]
pub async fn reset_password(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ResetBody>,
) -> Result<StatusCode, ApiError> {
    let op = ResetPassword {
        token: required("token", body.token)?,
        new_password: required("new_password", body.new_password)?,
    };
    state.run(&key, op).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/auth/email/verify/send",
    tag = "me",
    summary = "Mail me a link that verifies my address",
    responses((status = 202, description = "Accepted.")),
    security(("access_token" = []))
)]
pub async fn send_verification(user: SignedIn, State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.run(&user, SendEmailVerification {}).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/email/verify",
    tag = "auth",
    summary = "Verify an address with its token",
    request_body = TokenBody,
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("publishable_key" = []))
)]
pub async fn verify_email(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, ApiError> {
    let op = VerifyEmail {
        token: required("token", body.token)?,
    };
    let user = state.run(&key, op).await?;
    Ok(Json(views::user(&user, Audience::User)))
}

#[utoipa::path(
    post,
    path = "/auth/magic-link/verify",
    tag = "auth",
    summary = "Sign in with a magic-link token",
    request_body = TokenBody,
    responses((status = 200, description = "OK.", body = schema::SignedIn)),
    security(("publishable_key" = []))
)]
pub async fn magic_link_verify(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Response, ApiError> {
    let op = MagicLinkSignIn {
        token: required("token", body.token)?,
    };
    let reply = state.run_limited(&key, op).await;
    Ok(limited(reply, |signed| signed_in(StatusCode::OK, signed)))
}
