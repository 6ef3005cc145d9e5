//! The users and sessions API (secret key) and the user's own sessions (`/v1/me`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::unexpected;
use super::body::JsonBody;
use super::error::ApiError;
use super::extract::{Secret, SignedIn};
use super::pagination::{list, ListQuery};
use super::params::{field_id, path_id, search_text};
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::store::{SessionFilter, SessionStatus, UserFilter, UserStatus};
use crate::tenant::messages::{NewUser, TenantRequest, TenantResponse, UserRef};
use crate::views::{self, Audience};

#[derive(Deserialize, Default)]
pub struct UserQuery {
    #[serde(flatten)]
    page: ListQuery,
    email: Option<String>,
    q: Option<String>,
    status: Option<String>,
    organization_id: Option<String>,
}

fn user_reply(response: TenantResponse) -> Result<Json<Value>, ApiError> {
    match response {
        TenantResponse::User(u) => Ok(Json(views::user(&u, Audience::Server))),
        _ => Err(unexpected()),
    }
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    summary = "List users",
    params(ListQuery, ("email" = Option<String>, Query, description = "Exact address"), ("q" = Option<String>, Query, description = "Search in email, name and username"), ("status" = Option<String>, Query, description = "`active` or `disabled`"), ("organization_id" = Option<String>, Query, description = "Members of this organization")),
    responses((status = 200, description = "OK.", body = schema::List<schema::User>)),
    security(("secret_key" = []))
)]
pub async fn list_users(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<UserQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = q.page.page()?;
    let status = match q.status.as_deref() {
        None => None,
        Some("active") => Some(UserStatus::Active),
        Some("disabled") => Some(UserStatus::Disabled),
        Some(_) => return Err(ApiError::invalid("status", "status must be active or disabled.")),
    };
    let organization_id = q.organization_id.map(super::orgs::organization_id).transpose()?;
    let email = q
        .email
        .map(|e| crate::validate::email(&e).map_err(|_| ApiError::invalid("email", "email is not an email address.")))
        .transpose()?;
    let filter = UserFilter {
        email,
        query: search_text("q", q.q, 256)?,
        status,
        organization_id,
    };
    match state
        .call(
            &key,
            TenantRequest::ListUsers {
                filter,
                page: page.clone(),
            },
        )
        .await?
    {
        TenantResponse::Users(users) => Ok(list(users, page.limit, |u| &u.id, |u| views::user(u, Audience::Server))),
        _ => Err(unexpected()),
    }
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    summary = "Create a user",
    request_body = schema::NewUser,
    responses((status = 201, description = "Created.", body = schema::User)),
    security(("secret_key" = []))
)]
pub async fn create_user(
    key: Secret,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<impl IntoResponse, ApiError> {
    let user = user_reply(state.call(&key, TenantRequest::CreateUser(body)).await?)?;
    Ok((StatusCode::CREATED, user))
}

#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    summary = "A user",
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("secret_key" = []))
)]
pub async fn get_user(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::USER, id)?;
    user_reply(
        state
            .call(&key, TenantRequest::GetUser { user: UserRef::Id(id) })
            .await?,
    )
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    summary = "Update a user",
    request_body = schema::UserPatch,
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("secret_key" = []))
)]
pub async fn update_user(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::USER, id)?;
    let request = TenantRequest::UpdateUser {
        user: UserRef::Id(id),
        patch,
    };
    user_reply(state.call(&key, request).await?)
}

#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "users",
    summary = "Delete a user and everything of theirs",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn delete_user(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::USER, id)?;
    state.call(&key, TenantRequest::DeleteUser { user_id: id }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/users/{id}/disable",
    tag = "users",
    summary = "Disable a user (ends their sessions)",
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("secret_key" = []))
)]
pub async fn disable_user(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::USER, id)?;
    let request = TenantRequest::SetUserDisabled {
        user_id: id,
        disabled: true,
    };
    user_reply(state.call(&key, request).await?)
}

#[utoipa::path(
    post,
    path = "/users/{id}/enable",
    tag = "users",
    summary = "Enable a user",
    responses((status = 200, description = "OK.", body = schema::User)),
    security(("secret_key" = []))
)]
pub async fn enable_user(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::USER, id)?;
    let request = TenantRequest::SetUserDisabled {
        user_id: id,
        disabled: false,
    };
    user_reply(state.call(&key, request).await?)
}

#[utoipa::path(
    delete,
    path = "/users/{id}/sessions",
    tag = "users",
    summary = "Revoke all of a user's sessions",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn revoke_user_sessions(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::USER, id)?;
    state
        .call(&key, TenantRequest::RevokeUserSessions { user_id: id })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
pub struct SessionQuery {
    #[serde(flatten)]
    page: ListQuery,
    user_id: Option<String>,
    status: Option<String>,
}

fn session_status(status: Option<&str>) -> Result<Option<SessionStatus>, ApiError> {
    match status {
        None => Ok(None),
        Some("active") => Ok(Some(SessionStatus::Active)),
        Some("revoked") => Ok(Some(SessionStatus::Revoked)),
        Some("expired") => Ok(Some(SessionStatus::Expired)),
        Some(_) => Err(ApiError::invalid(
            "status",
            "status must be active, revoked or expired.",
        )),
    }
}

#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    summary = "List sessions",
    params(ListQuery, ("user_id" = Option<String>, Query, description = "Sessions of this user"), ("status" = Option<String>, Query, description = "`active`, `revoked` or `expired`")),
    responses((status = 200, description = "OK.", body = schema::List<schema::Session>)),
    security(("secret_key" = []))
)]
pub async fn list_sessions(
    key: Secret,
    State(state): State<AppState>,
    Query(q): Query<SessionQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = q.page.page()?;
    let filter = SessionFilter {
        user_id: q.user_id.map(|id| field_id("user_id", prefix::USER, id)).transpose()?,
        status: session_status(q.status.as_deref())?,
    };
    match state
        .call(
            &key,
            TenantRequest::ListSessions {
                filter,
                page: page.clone(),
            },
        )
        .await?
    {
        TenantResponse::Sessions(sessions) => Ok(list(sessions, page.limit, |s| &s.id, views::session)),
        _ => Err(unexpected()),
    }
}

#[utoipa::path(
    get,
    path = "/sessions/{id}",
    tag = "sessions",
    summary = "A session",
    responses((status = 200, description = "OK.", body = schema::Session)),
    security(("secret_key" = []))
)]
pub async fn get_session(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(prefix::SESSION, id)?;
    match state.call(&key, TenantRequest::GetSession { session_id: id }).await? {
        TenantResponse::Session(s) => Ok(Json(views::session(&s))),
        _ => Err(unexpected()),
    }
}

#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    summary = "Revoke a session",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []))
)]
pub async fn revoke_session(
    key: Secret,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::SESSION, id)?;
    state
        .call(&key, TenantRequest::RevokeSession { session_id: id })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/me/sessions",
    tag = "me",
    summary = "The signed-in user's active sessions",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::Session>)),
    security(("access_token" = []))
)]
pub async fn my_sessions(
    user: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let page = q.page()?;
    // The tenant narrows this to the caller's own active sessions.
    let filter = SessionFilter::default();
    match state
        .call(
            &user,
            TenantRequest::ListSessions {
                filter,
                page: page.clone(),
            },
        )
        .await?
    {
        TenantResponse::Sessions(sessions) => {
            // The tenant verified the token in this call, so its `sid` can be trusted now.
            let current = user.session_id();
            Ok(list(
                sessions,
                page.limit,
                |s| &s.id,
                |s| {
                    let mut v = views::session(s);
                    v["current"] = json!(current.as_deref() == Some(s.id.as_str()));
                    v
                },
            ))
        }
        _ => Err(unexpected()),
    }
}

#[utoipa::path(
    delete,
    path = "/me/sessions/{id}",
    tag = "me",
    summary = "Revoke one of my sessions",
    responses((status = 204, description = "Done, no content.")),
    security(("access_token" = []))
)]
pub async fn revoke_my_session(
    user: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(prefix::SESSION, id)?;
    let request = TenantRequest::RevokeSession { session_id: id };
    state.call(&user, request).await?;
    Ok(StatusCode::NO_CONTENT)
}
