//! The users and sessions API (secret key) and the user's own sessions (`/v1/me`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::JsonBody;
use super::error::ApiError;
use super::extract::{Secret, SignedIn};
use super::pagination::{list, ListQuery};
use super::params::{field_id, path_id, search_text};
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::store::User;
use crate::store::{SessionFilter, SessionStatus, UserFilter, UserStatus};
use crate::tenant::messages::sessions::{GetSession, ListSessions, RevokeSession, RevokeUserSessions};
use crate::tenant::messages::users::{
    CreateUser, DeleteUser, GetUser, ListUsers, NewUser, SetUserDisabled, UpdateUser,
};
use crate::tenant::messages::UserRef;
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

fn user_json(user: &User) -> Json<Value> {
    Json(views::user(user, Audience::Server))
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
    let op = ListUsers {
        filter,
        page: page.clone(),
    };
    let users = state.run(&key, op).await?;
    Ok(list(users, page.limit, |u| &u.id, |u| views::user(u, Audience::Server)))
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
    let user = state.run(&key, CreateUser { user: body }).await?;
    Ok((StatusCode::CREATED, user_json(&user)))
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
    let user = state.run(&key, GetUser { user: UserRef::Id(id) }).await?;
    Ok(user_json(&user))
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
    let op = UpdateUser {
        user: UserRef::Id(id),
        patch,
    };
    Ok(user_json(&*state.run(&key, op).await?))
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
    state.run(&key, DeleteUser { user_id: id }).await?;
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
    let op = SetUserDisabled {
        user_id: id,
        disabled: true,
    };
    Ok(user_json(&*state.run(&key, op).await?))
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
    let op = SetUserDisabled {
        user_id: id,
        disabled: false,
    };
    Ok(user_json(&*state.run(&key, op).await?))
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
    state.run(&key, RevokeUserSessions { user_id: id }).await?;
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
    let op = ListSessions {
        filter,
        page: page.clone(),
    };
    let sessions = state.run(&key, op).await?;
    Ok(list(sessions, page.limit, |s| &s.id, views::session))
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
    let session = state.run(&key, GetSession { session_id: id }).await?;
    Ok(Json(views::session(&session)))
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
    state.run(&key, RevokeSession { session_id: id }).await?;
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
    let op = ListSessions {
        filter,
        page: page.clone(),
    };
    let sessions = state.run(&user, op).await?;
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
    state.run(&user, RevokeSession { session_id: id }).await?;
    Ok(StatusCode::NO_CONTENT)
}
