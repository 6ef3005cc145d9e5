//! Data-plane authentication handlers (`/v1/auth/*`, `/v1/sessions/verify`).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::body::{required, JsonBody, OptionalJsonBody};
use super::control::no_store;
use super::error::ApiError;
use super::extract::{Publishable, Secret, SignedIn};
use super::schema;
use super::AppState;
use crate::tenant::limits::RateLimitInfo;
use crate::tenant::messages::auth::{
    self as ops, OrgSwitch, Refresh, SignIn, SignOut, SignUp, SignedUp, Verification, VerifyToken,
};
use crate::tenant::messages::users::{GetUser, UpdateUser};
use crate::tenant::messages::{Limited, TokenSet, UserRef};
use crate::views::{self, Audience};

pub(super) fn token_json(tokens: &TokenSet) -> Value {
    serde_json::to_value(tokens).unwrap_or(Value::Null)
}

/// Renders a limited endpoint's answer with its `X-RateLimit-*` headers, success or error.
pub(super) fn limited<T>(reply: Limited<T>, ok: impl FnOnce(T) -> Response) -> Response {
    let mut response = match reply.result {
        Ok(value) => ok(value),
        Err(error) => error.into_response(),
    };
    rate_limit_headers(&mut response, reply.rate_limit);
    response
}

/// The `X-RateLimit-*` headers of a limited endpoint (API.md §1.4).
pub(super) fn rate_limit_headers(response: &mut Response, info: Option<RateLimitInfo>) {
    if let Some(info) = info {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(info.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(info.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(info.reset));
    }
}

/// A user and their session's tokens (`null` when there is no session yet).
fn signed_in_body(status: StatusCode, user: &crate::store::User, tokens: Option<&TokenSet>) -> Response {
    no_store(
        status,
        json!({ "user": views::user(user, Audience::User), "session": tokens.map(token_json) }),
    )
    .into_response()
}

pub(super) fn signed_in(status: StatusCode, signed: ops::SignedIn) -> Response {
    signed_in_body(status, &signed.user, Some(&signed.tokens))
}

#[derive(Deserialize, ToSchema)]
pub struct SignUpBody {
    email: Option<String>,
    password: Option<String>,
    name: Option<String>,
    username: Option<String>,
    unsafe_metadata: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/auth/sign-up",
    tag = "auth",
    summary = "Sign a user up",
    request_body = SignUpBody,
    responses((status = 201, description = "Created.", body = schema::SignedIn)),
    security(("publishable_key" = []))
)]
pub async fn sign_up(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignUpBody>,
) -> Result<Response, ApiError> {
    let op = SignUp {
        email: required("email", body.email)?,
        password: required("password", body.password)?,
        name: body.name,
        username: body.username,
        unsafe_metadata: body.unsafe_metadata,
    };
    let reply = state.run_limited(&key, op).await;
    Ok(limited(reply, |SignedUp { user, tokens }| {
        signed_in_body(StatusCode::CREATED, &user, tokens.as_ref())
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct SignInBody {
    email: Option<String>,
    password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/sign-in",
    tag = "auth",
    summary = "Sign in with email and password",
    request_body = SignInBody,
    responses((status = 200, description = "OK.", body = schema::SignedIn)),
    security(("publishable_key" = []))
)]
pub async fn sign_in(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<Response, ApiError> {
    let op = SignIn {
        email: required("email", body.email)?,
        password: required("password", body.password)?,
    };
    let reply = state.run_limited(&key, op).await;
    Ok(limited(reply, |signed| signed_in(StatusCode::OK, signed)))
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    refresh_token: Option<String>,
    /// Absent keeps the active organization, `null` clears it, an id switches to it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    organization_id: Option<Value>,
}

/// Tells a field sent as `null` (`Some(Null)`) from an absent one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[utoipa::path(
    post,
    path = "/auth/token/refresh",
    tag = "auth",
    summary = "Rotate a refresh token",
    request_body = RefreshBody,
    responses((status = 200, description = "OK.", body = schema::Refreshed)),
    security(("publishable_key" = []))
)]
pub async fn refresh(
    key: Publishable,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Response, ApiError> {
    let organization = match body.organization_id {
        None => OrgSwitch::Keep,
        Some(Value::Null) => OrgSwitch::Clear,
        Some(Value::String(id)) => OrgSwitch::To(super::orgs::organization_id(id)?),
        Some(_) => {
            return Err(ApiError::invalid(
                "organization_id",
                "organization_id must be an organization id or null.",
            ))
        }
    };
    let op = Refresh {
        refresh_token: required("refresh_token", body.refresh_token)?,
        organization,
    };
    let reply = state.run_limited(&key, op).await;
    Ok(limited(reply, |tokens| {
        no_store(StatusCode::OK, json!({ "session": token_json(&tokens) })).into_response()
    }))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct SignOutBody {
    scope: Option<String>,
}

#[utoipa::path(
    post,
    path = "/auth/sign-out",
    tag = "auth",
    summary = "Sign out this session (or all, `scope: global`)",
    request_body = Option<SignOutBody>,
    responses((status = 204, description = "Done, no content.")),
    security(("access_token" = []))
)]
pub async fn sign_out(
    user: SignedIn,
    State(state): State<AppState>,
    OptionalJsonBody(body): OptionalJsonBody<SignOutBody>,
) -> Result<StatusCode, ApiError> {
    let global = match body.and_then(|b| b.scope).as_deref() {
        None | Some("local") => false,
        Some("global") => true,
        Some(_) => return Err(ApiError::invalid("scope", "scope must be local or global.")),
    };
    state.run(&user, SignOut { global }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    patch,
    path = "/auth/me",
    tag = "me",
    summary = "Update the signed-in user",
    request_body = schema::ProfilePatch,
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("access_token" = []))
)]
pub async fn update_me(
    user: SignedIn,
    State(state): State<AppState>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let op = UpdateUser {
        user: UserRef::Me,
        patch,
    };
    let updated = state.run(&user, op).await?;
    Ok(Json(views::user(&updated, Audience::User)))
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChangeBody {
    current_password: Option<String>,
    new_password: Option<String>,
    sign_out_other_sessions: Option<bool>,
}

#[utoipa::path(
    post,
    path = "/auth/password/change",
    tag = "me",
    summary = "Change the password",
    request_body = PasswordChangeBody,
    responses((status = 204, description = "Done, no content.")),
    security(("access_token" = []))
)]
pub async fn change_password(
    user: SignedIn,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PasswordChangeBody>,
) -> Result<StatusCode, ApiError> {
    let op = crate::tenant::messages::users::ChangePassword {
        current_password: required("current_password", body.current_password)?,
        new_password: required("new_password", body.new_password)?,
        sign_out_other_sessions: body.sign_out_other_sessions.unwrap_or(true),
    };
    state.run(&user, op).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "me",
    summary = "The signed-in user",
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("access_token" = []))
)]
pub async fn me(user: SignedIn, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.run(&user, GetUser { user: UserRef::Me }).await {
        Ok(u) => Ok(Json(views::user(&u, Audience::User))),
        // The user was deleted after the token was issued.
        Err(ApiError::NotFound) => Err(ApiError::SessionRevoked),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct VerifyBody {
    token: Option<String>,
}

#[utoipa::path(
    post,
    path = "/sessions/verify",
    tag = "sessions",
    summary = "Check an access token and its session",
    request_body = VerifyBody,
    responses((status = 200, description = "OK.", body = schema::Verification)),
    security(("secret_key" = []))
)]
pub async fn verify_session(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<Value>, ApiError> {
    let token = required("token", body.token)?;
    // Another tenant's token is simply not valid here: it never verifies with this tenant's keys.
    let Verification { valid, session, claims } = state.run(&key, VerifyToken { token }).await?;
    let mut out = json!({ "valid": valid });
    if let Some(session) = session {
        out["session"] = views::session(&session);
    }
    if let Some(claims) = claims {
        out["claims"] = serde_json::to_value(&claims).unwrap_or(Value::Null);
    }
    Ok(Json(out))
}
