//! The response objects of API.md §2 as OpenAPI schemas. The objects a tenant shows
//! (organizations, memberships, invitations, roles, webhooks, deliveries, factors) are the
//! typed shapes of `views::objects`, re-exported here; the rest are described here and
//! rendered through `views`. `tests/api/openapi.rs` checks real answers against the
//! schemas, so a field added on one side and not the other fails a test.

#![allow(dead_code)] // The structs defined here are read by the OpenAPI derive, never built.

use serde_json::Value;
use utoipa::ToSchema;

pub use crate::views::objects::{
    Delivery, Factor, Invitation, Membership, MyMembership, OAuthClient, Organization, Role, Webhook,
};

/// The error envelope every non-2xx answer carries (API.md §1.2).
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    error: ErrorBody,
}

/// The error itself; `field` on validation errors, the MFA fields on `mfa_required`.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code (`invalid_request`, `invalid_credentials`, …).
    code: String,
    message: String,
    status: u16,
    request_id: String,
    field: Option<String>,
    challenge_id: Option<String>,
    available_factors: Option<Vec<String>>,
}

/// The `pagination` object of every list.
#[derive(ToSchema)]
pub struct Pagination {
    limit: u32,
    has_more: bool,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// A page of objects (API.md §1.3).
#[derive(ToSchema)]
pub struct List<T: ToSchema> {
    data: Vec<T>,
    pagination: Pagination,
}

/// A user; `private_metadata` only in secret-key answers.
#[derive(ToSchema)]
pub struct User {
    id: String,
    email: String,
    email_verified: bool,
    #[schema(required = true)]
    username: Option<String>,
    #[schema(required = true)]
    name: Option<String>,
    #[schema(required = true)]
    avatar_url: Option<String>,
    #[schema(required = true)]
    phone: Option<String>,
    /// `active` or `disabled`.
    status: String,
    /// `member` or `admin`.
    role: String,
    mfa_enabled: bool,
    #[schema(value_type = Object)]
    public_metadata: Value,
    #[schema(value_type = Option<Object>)]
    private_metadata: Option<Value>,
    #[schema(value_type = Object)]
    unsafe_metadata: Value,
    created_at: String,
    updated_at: String,
    #[schema(required = true)]
    last_sign_in_at: Option<String>,
}

/// A session.
#[derive(ToSchema)]
pub struct Session {
    id: String,
    user_id: String,
    /// `active`, `revoked` or `expired`.
    status: String,
    #[schema(required = true)]
    user_agent: Option<String>,
    #[schema(required = true)]
    ip_address: Option<String>,
    created_at: String,
    last_active_at: String,
    expires_at: String,
    #[schema(required = true)]
    active_organization_id: Option<String>,
    /// Only in `/v1/me/sessions`: whether this is the caller's own session.
    current: Option<bool>,
}

/// The tokens of a signed-in session.
#[derive(ToSchema)]
pub struct TokenSet {
    /// The session id.
    id: String,
    access_token: String,
    refresh_token: String,
    token_type: String,
    expires_in: u64,
    access_token_expires_at: String,
    refresh_token_expires_at: String,
}

/// A sign-in, sign-up or MFA completion; `session` is `null` when the address must be
/// verified first.
#[derive(ToSchema)]
pub struct SignedIn {
    user: User,
    #[schema(required = true)]
    session: Option<TokenSet>,
}

/// A refreshed session.
#[derive(ToSchema)]
pub struct Refreshed {
    session: TokenSet,
}

/// `/v1/sessions/verify`: `valid: false` for any token that doesn't verify.
#[derive(ToSchema)]
pub struct Verification {
    valid: bool,
    session: Option<Session>,
    /// The token's claims (API.md §6).
    #[schema(value_type = Option<Object>)]
    claims: Option<Value>,
}

/// An accepted invitation; `user` and `session` when the acceptance created the user.
#[derive(ToSchema)]
pub struct Accepted {
    membership: Membership,
    user: Option<User>,
    session: Option<TokenSet>,
}

/// `/v1/me/organizations`.
#[derive(ToSchema)]
pub struct MyOrganizations {
    data: Vec<MyMembership>,
}

/// A TOTP enrollment to confirm with a first code.
#[derive(ToSchema)]
pub struct TotpEnrollment {
    factor_id: String,
    secret: String,
    otpauth_uri: String,
    qr_code_svg: String,
}

/// A confirmed factor and the backup codes, shown once.
#[derive(ToSchema)]
pub struct FactorConfirmed {
    factor: Factor,
    backup_codes: Vec<String>,
}

/// New backup codes, shown once.
#[derive(ToSchema)]
pub struct BackupCodes {
    backup_codes: Vec<String>,
}

/// An API key; `key` only in the answer that created it.
#[derive(ToSchema)]
pub struct ApiKey {
    id: String,
    #[schema(required = true)]
    name: Option<String>,
    /// `publishable` or `secret`.
    #[schema(rename = "type")]
    kind: String,
    last_four: String,
    created_at: String,
    key: Option<String>,
}

/// A tenant (control plane).
#[derive(ToSchema)]
pub struct Tenant {
    id: String,
    name: String,
    slug: String,
    /// `active` or `suspended`.
    status: String,
    /// `separate_database`, `separate_schema` or `shared_schema`.
    isolation_mode: String,
    #[schema(required = true)]
    region: Option<String>,
    #[schema(value_type = Object)]
    auth_config: Value,
    created_at: String,
    updated_at: String,
}

/// A created tenant with its first keys, shown once.
#[derive(ToSchema)]
pub struct CreatedTenant {
    tenant: Tenant,
    publishable_key: String,
    secret_key: String,
}

/// A control-plane admin.
#[derive(ToSchema)]
pub struct Admin {
    id: String,
    email: String,
    created_at: String,
}

/// A CP admin's token.
#[derive(ToSchema)]
pub struct AdminToken {
    token: String,
    expires_at: String,
}

/// A signing key, as a rotation reports it.
#[derive(ToSchema)]
pub struct SigningKey {
    id: String,
    alg: String,
    created_at: String,
}

/// The tenant's current signing key after a rotation, and the next one, published ahead.
#[derive(ToSchema)]
pub struct RotatedKeys {
    id: String,
    alg: String,
    created_at: String,
    next: SigningKey,
}

/// What a backup import restored.
#[derive(ToSchema)]
pub struct Imported {
    tenant_id: String,
    users: u64,
    sessions: u64,
    created_tenant: bool,
}

/// The JWKS document.
pub use crate::auth::signing::Jwks;

/// The OpenID discovery document (only what is served).
#[derive(ToSchema)]
pub struct Discovery {
    issuer: String,
    jwks_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    end_session_endpoint: String,
    response_types_supported: Vec<String>,
    response_modes_supported: Vec<String>,
    grant_types_supported: Vec<String>,
    subject_types_supported: Vec<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    scopes_supported: Vec<String>,
    claims_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    introspection_endpoint_auth_methods_supported: Vec<String>,
    code_challenge_methods_supported: Vec<String>,
    prompt_values_supported: Vec<String>,
    authorization_response_iss_parameter_supported: bool,
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
}

/// `/health`.
#[derive(ToSchema)]
pub struct Health {
    status: String,
    version: String,
}

/// `/readyz`.
#[derive(ToSchema)]
pub struct Ready {
    status: String,
}

/// `GET /cp/v1/cluster`: every node and the owner of every running tenant.
#[derive(ToSchema)]
pub struct ClusterStatus {
    nodes: Vec<ClusterNode>,
    placements: Vec<Placement>,
}

/// A node of the cluster.
#[derive(ToSchema)]
pub struct ClusterNode {
    name: String,
    /// The `host:port` peers dial; null on a node that is not clustered.
    cluster_address: Option<String>,
    /// `up`, `down` or `leaving`.
    state: String,
    last_heartbeat_at: String,
    /// Tenants this node owns now.
    tenants: u64,
}

/// Which node serves a tenant, under which lease.
#[derive(ToSchema)]
pub struct Placement {
    tenant_id: String,
    node: String,
    /// Grows each time the tenant changes node.
    epoch: i64,
    lease_expires_at: String,
}

/// `PATCH /v1/auth/me`: what users may change on themselves; other fields are ignored.
#[derive(ToSchema)]
pub struct ProfilePatch {
    name: Option<String>,
    username: Option<String>,
    avatar_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    unsafe_metadata: Option<Value>,
}

/// `PATCH /v1/users/{id}` (secret key).
#[derive(ToSchema)]
pub struct UserPatch {
    name: Option<String>,
    username: Option<String>,
    avatar_url: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    /// `member` or `admin`.
    role: Option<String>,
    #[schema(value_type = Option<Object>)]
    public_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    private_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    unsafe_metadata: Option<Value>,
}

/// `POST /v1/users` (secret key): `password` or an imported `password_hash` (argon2 or bcrypt).
#[derive(ToSchema)]
pub struct NewUser {
    email: String,
    password: Option<String>,
    password_hash: Option<String>,
    name: Option<String>,
    username: Option<String>,
    email_verified: Option<bool>,
    role: Option<String>,
    #[schema(value_type = Option<Object>)]
    public_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    private_metadata: Option<Value>,
}

/// `POST /v1/organizations`; `created_by` (secret key) makes that user its first admin.
#[derive(ToSchema)]
pub struct NewOrganization {
    name: String,
    slug: Option<String>,
    logo_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    public_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    private_metadata: Option<Value>,
    created_by: Option<String>,
}

/// `PATCH /v1/organizations/{id}`.
#[derive(ToSchema)]
pub struct OrganizationPatch {
    name: Option<String>,
    slug: Option<String>,
    logo_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    public_metadata: Option<Value>,
    #[schema(value_type = Option<Object>)]
    private_metadata: Option<Value>,
}

/// `POST /cp/v1/tenants`.
#[derive(ToSchema)]
pub struct NewTenant {
    name: String,
    slug: Option<String>,
    /// `separate_database`, `separate_schema` or `shared_schema`; the node's default if absent.
    isolation_mode: Option<String>,
    /// Only for `separate_database`: the tenant's own database.
    database_url: Option<String>,
    region: Option<String>,
    /// Settings to change from their defaults (API.md §2 "Tenant").
    #[schema(value_type = Option<Object>)]
    auth_config: Option<Value>,
}

/// `PATCH /cp/v1/tenants/{id}`.
#[derive(ToSchema)]
pub struct TenantPatch {
    name: Option<String>,
    /// `active` or `suspended`.
    status: Option<String>,
    #[schema(value_type = Option<Object>)]
    auth_config: Option<Value>,
}
