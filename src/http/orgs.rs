//! Organization endpoints (API.md §5) and `/v1/me/organizations` (§4). The
//! handlers only parse; who may do what is decided in the tenant, in one place.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::auth::token_json;
use super::body::{required, JsonBody, OptionalJsonBody};
use super::control::no_store;
use super::error::ApiError;
use super::extract::{Invitee, OrgActor, SignedIn};
use super::pagination::{list, ListQuery};
use super::params::{field_id, path_id, search_text};
use super::schema;
use super::AppState;
use crate::ids::prefix;
use crate::tenant::messages::orgs::{
    AcceptInvitation, Acceptance, InvitationAccepted, MyOrganizations, NewOrganization, OrgAction, Organization, Shown,
};
use crate::views::objects::Shape;
use crate::views::{self, Audience};

/// Longest organization reference (id or slug) worth looking up.
const MAX_REFERENCE: usize = 64;

fn reference(org: String) -> Result<String, ApiError> {
    if org.len() > MAX_REFERENCE {
        return Err(ApiError::NotFound);
    }
    Ok(org)
}

/// An `organization_id` parameter (refresh switch): an organization id, or 400.
pub(super) fn organization_id(id: String) -> Result<String, ApiError> {
    field_id("organization_id", prefix::ORGANIZATION, id)
}

/// Renders objects in their API shape: one with `status`, a page as a list, or `204`.
pub(super) fn render(shown: Shown, status: StatusCode, limit: usize) -> Response {
    match shown {
        Shown::Object(object) => (status, Json(object.to_json())).into_response(),
        Shown::Objects(page) => list(page, limit, Shape::id, Shape::to_json).into_response(),
        Shown::Done => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Sends one organization action and renders the answer with `status`.
async fn call(state: &AppState, actor: OrgActor, action: OrgAction, status: StatusCode) -> Result<Response, ApiError> {
    let limit = match &action {
        OrgAction::List { page, .. }
        | OrgAction::ListMembers { page, .. }
        | OrgAction::ListInvitations { page, .. } => page.limit,
        _ => 100,
    };
    let shown = state.run(&actor, Organization { action }).await?;
    Ok(render(shown, status, limit))
}

#[derive(Deserialize, Default)]
pub struct OrgListQuery {
    #[serde(flatten)]
    page: ListQuery,
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/organizations",
    tag = "organizations",
    summary = "List organizations (a user: their own)",
    params(ListQuery, ("q" = Option<String>, Query, description = "Search in name and slug")),
    responses((status = 200, description = "OK.", body = schema::List<schema::Organization>)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn list_orgs(
    actor: OrgActor,
    State(state): State<AppState>,
    Query(q): Query<OrgListQuery>,
) -> Result<Response, ApiError> {
    let action = OrgAction::List {
        query: search_text("q", q.q, 256)?,
        page: q.page.page()?,
    };
    call(&state, actor, action, StatusCode::OK).await
}

#[utoipa::path(
    post,
    path = "/organizations",
    tag = "organizations",
    summary = "Create an organization",
    request_body = schema::NewOrganization,
    responses((status = 201, description = "Created.", body = schema::Organization)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn create_org(
    actor: OrgActor,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewOrganization>,
) -> Result<Response, ApiError> {
    call(&state, actor, OrgAction::Create(body), StatusCode::CREATED).await
}

#[utoipa::path(
    get,
    path = "/organizations/{id}",
    tag = "organizations",
    summary = "An organization (by id or slug)",
    responses((status = 200, description = "OK.", body = schema::Organization)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn get_org(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let action = OrgAction::Get { org: reference(org)? };
    call(&state, actor, action, StatusCode::OK).await
}

#[utoipa::path(
    patch,
    path = "/organizations/{id}",
    tag = "organizations",
    summary = "Update an organization",
    request_body = schema::OrganizationPatch,
    responses((status = 200, description = "OK.", body = schema::Organization)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn update_org(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let action = OrgAction::Update {
        org: reference(org)?,
        patch,
    };
    call(&state, actor, action, StatusCode::OK).await
}

#[utoipa::path(
    delete,
    path = "/organizations/{id}",
    tag = "organizations",
    summary = "Delete an organization",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn delete_org(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let action = OrgAction::Delete { org: reference(org)? };
    call(&state, actor, action, StatusCode::NO_CONTENT).await
}

#[utoipa::path(
    get,
    path = "/organizations/{id}/members",
    tag = "organizations",
    summary = "List members",
    params(ListQuery),
    responses((status = 200, description = "OK.", body = schema::List<schema::Membership>)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn list_members(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let action = OrgAction::ListMembers {
        org: reference(org)?,
        page: q.page()?,
    };
    call(&state, actor, action, StatusCode::OK).await
}

#[derive(Deserialize, ToSchema)]
pub struct MemberBody {
    user_id: Option<String>,
    role: Option<String>,
}

fn role_field(role: Option<String>) -> Result<Option<String>, ApiError> {
    match role {
        Some(r) if r.is_empty() || r.len() > 64 => {
            Err(ApiError::invalid("role", "role must name a role of the organization."))
        }
        other => Ok(other),
    }
}

#[utoipa::path(
    post,
    path = "/organizations/{id}/members",
    tag = "organizations",
    summary = "Add a member",
    request_body = MemberBody,
    responses((status = 201, description = "Created.", body = schema::Membership)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn add_member(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<MemberBody>,
) -> Result<Response, ApiError> {
    let user_id = field_id("user_id", prefix::USER, required("user_id", body.user_id)?)?;
    let action = OrgAction::AddMember {
        org: reference(org)?,
        user_id,
        role: role_field(body.role)?,
    };
    call(&state, actor, action, StatusCode::CREATED).await
}

fn member_id(user_id: String) -> Result<String, ApiError> {
    path_id(prefix::USER, user_id)
}

#[utoipa::path(
    patch,
    path = "/organizations/{id}/members/{user_id}",
    tag = "organizations",
    summary = "Change a member's role",
    request_body = MemberBody,
    responses((status = 200, description = "OK.", body = schema::Membership)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn update_member(
    actor: OrgActor,
    State(state): State<AppState>,
    Path((org, user_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<MemberBody>,
) -> Result<Response, ApiError> {
    let role = required("role", role_field(body.role)?)?;
    let action = OrgAction::UpdateMember {
        org: reference(org)?,
        user_id: member_id(user_id)?,
        role,
    };
    call(&state, actor, action, StatusCode::OK).await
}

#[utoipa::path(
    delete,
    path = "/organizations/{id}/members/{user_id}",
    tag = "organizations",
    summary = "Remove a member",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn remove_member(
    actor: OrgActor,
    State(state): State<AppState>,
    Path((org, user_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let action = OrgAction::RemoveMember {
        org: reference(org)?,
        user_id: member_id(user_id)?,
    };
    call(&state, actor, action, StatusCode::NO_CONTENT).await
}

#[derive(Deserialize, Default)]
pub struct InvitationQuery {
    #[serde(flatten)]
    page: ListQuery,
    status: Option<String>,
}

#[utoipa::path(
    get,
    path = "/organizations/{id}/invitations",
    tag = "organizations",
    summary = "List invitations",
    params(ListQuery, ("status" = Option<String>, Query, description = "`pending`, `accepted`, `revoked` or `expired`")),
    responses((status = 200, description = "OK.", body = schema::List<schema::Invitation>)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn list_invitations(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
    Query(q): Query<InvitationQuery>,
) -> Result<Response, ApiError> {
    let action = OrgAction::ListInvitations {
        org: reference(org)?,
        status: q.status,
        page: q.page.page()?,
    };
    call(&state, actor, action, StatusCode::OK).await
}

#[derive(Deserialize, ToSchema)]
pub struct InvitationBody {
    email: Option<String>,
    role: Option<String>,
    expires_in: Option<u64>,
    redirect_url: Option<String>,
}

#[utoipa::path(
    post,
    path = "/organizations/{id}/invitations",
    tag = "organizations",
    summary = "Invite someone by email",
    request_body = InvitationBody,
    responses((status = 201, description = "Created.", body = schema::Invitation)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn invite(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<InvitationBody>,
) -> Result<Response, ApiError> {
    let action = OrgAction::Invite {
        org: reference(org)?,
        email: required("email", body.email)?,
        role: role_field(body.role)?,
        expires_in: body.expires_in,
        redirect_url: body.redirect_url,
    };
    // The answer carries the invitation's token.
    let mut response = call(&state, actor, action, StatusCode::CREATED).await?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(
    delete,
    path = "/organizations/{id}/invitations/{inv}",
    tag = "organizations",
    summary = "Revoke an invitation",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn revoke_invitation(
    actor: OrgActor,
    State(state): State<AppState>,
    Path((org, invitation_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let action = OrgAction::RevokeInvitation {
        org: reference(org)?,
        invitation_id: path_id(prefix::INVITATION, invitation_id)?,
    };
    call(&state, actor, action, StatusCode::NO_CONTENT).await
}

#[utoipa::path(
    get,
    path = "/organizations/{id}/roles",
    tag = "organizations",
    summary = "List roles",
    responses((status = 200, description = "OK.", body = schema::List<schema::Role>)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn list_roles(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> Result<Response, ApiError> {
    let action = OrgAction::ListRoles { org: reference(org)? };
    call(&state, actor, action, StatusCode::OK).await
}

#[derive(Deserialize, ToSchema)]
pub struct RoleBody {
    name: Option<String>,
    key: Option<String>,
    permissions: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/organizations/{id}/roles",
    tag = "organizations",
    summary = "Create a custom role",
    request_body = RoleBody,
    responses((status = 201, description = "Created.", body = schema::Role)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn create_role(
    actor: OrgActor,
    State(state): State<AppState>,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Result<Response, ApiError> {
    let action = OrgAction::CreateRole {
        org: reference(org)?,
        name: required("name", body.name)?,
        key: required("key", body.key)?,
        permissions: required("permissions", body.permissions)?,
    };
    call(&state, actor, action, StatusCode::CREATED).await
}

#[utoipa::path(
    patch,
    path = "/organizations/{id}/roles/{key}",
    tag = "organizations",
    summary = "Update a custom role",
    request_body = RoleBody,
    responses((status = 200, description = "OK.", body = schema::Role)),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn update_role(
    actor: OrgActor,
    State(state): State<AppState>,
    Path((org, key)): Path<(String, String)>,
    JsonBody(body): JsonBody<RoleBody>,
) -> Result<Response, ApiError> {
    let action = OrgAction::UpdateRole {
        org: reference(org)?,
        key,
        name: body.name,
        permissions: body.permissions,
    };
    call(&state, actor, action, StatusCode::OK).await
}

#[utoipa::path(
    delete,
    path = "/organizations/{id}/roles/{key}",
    tag = "organizations",
    summary = "Delete a custom role",
    responses((status = 204, description = "Done, no content.")),
    security(("secret_key" = []), ("access_token" = []))
)]
pub async fn delete_role(
    actor: OrgActor,
    State(state): State<AppState>,
    Path((org, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let action = OrgAction::DeleteRole {
        org: reference(org)?,
        key,
    };
    call(&state, actor, action, StatusCode::NO_CONTENT).await
}

#[utoipa::path(
    get,
    path = "/me/organizations",
    tag = "me",
    summary = "My organizations and my role in each",
    responses((status = 200, description = "OK.", body = schema::MyOrganizations)),
    security(("access_token" = []))
)]
pub async fn my_organizations(user: SignedIn, State(state): State<AppState>) -> Result<Response, ApiError> {
    let memberships = state.run(&user, MyOrganizations {}).await?;
    Ok(Json(json!({ "data": memberships })).into_response())
}

#[derive(Deserialize, Default, ToSchema)]
pub struct AcceptBody {
    password: Option<String>,
    name: Option<String>,
}

#[utoipa::path(
    post,
    path = "/invitations/{token}/accept",
    tag = "organizations",
    summary = "Accept an invitation (signed in, or creating the invited user)",
    request_body = Option<AcceptBody>,
    responses((status = 200, description = "OK.", body = schema::Accepted)),
    security(("publishable_key" = []), ("access_token" = []))
)]
pub async fn accept_invitation(
    invitee: Invitee,
    State(state): State<AppState>,
    Path(token): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<AcceptBody>,
) -> Result<Response, ApiError> {
    let acceptance = match invitee.signed_in() {
        true => Acceptance::SignedIn,
        false => {
            let body = body.unwrap_or_default();
            Acceptance::NewUser {
                password: required("password", body.password)?,
                name: body.name,
            }
        }
    };
    match state.run(&invitee, AcceptInvitation { token, acceptance }).await? {
        InvitationAccepted {
            membership,
            created: None,
        } => Ok(Json(json!({ "membership": membership })).into_response()),
        InvitationAccepted {
            membership,
            created: Some((user, tokens)),
        } => Ok(no_store(
            StatusCode::OK,
            json!({
                "user": views::user(&user, Audience::User),
                "session": tokens.as_ref().map(token_json),
                "membership": membership,
            }),
        )
        .into_response()),
    }
}
