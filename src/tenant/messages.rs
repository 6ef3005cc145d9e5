//! The typed, serializable protocol of tenant actors. Everything here derives
//! serde so the cluster gateway can carry it between nodes unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::limits::RateLimitInfo;
use crate::auth::tokens::AccessClaims;
use crate::error::ApiError;
use crate::store::{Page, PageRequest, Session, SessionFilter, User, UserFilter};

/// Who is calling, as the HTTP edge saw it (for session records and rate limits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The fields of `POST /v1/users` (secret key); anything else is ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_hash: Option<String>,
    pub name: Option<String>,
    pub username: Option<String>,
    pub email_verified: Option<bool>,
    pub role: Option<String>,
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
}

/// Who acts on an organization: the tenant's backend (secret key) or a signed-in user,
/// whose membership decides what they may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrgCaller {
    Server,
    User { user_id: String },
}

/// The fields of `POST /v1/organizations`; anything else is ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewOrganization {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub logo_url: Option<String>,
    pub public_metadata: Option<Value>,
    pub private_metadata: Option<Value>,
    pub created_by: Option<String>,
}

/// One organization operation; `org` is an organization id or slug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrgAction {
    Create(NewOrganization),
    List {
        query: Option<String>,
        page: PageRequest,
    },
    Get {
        org: String,
    },
    Update {
        org: String,
        patch: Value,
    },
    Delete {
        org: String,
    },
    ListMembers {
        org: String,
        page: PageRequest,
    },
    AddMember {
        org: String,
        user_id: String,
        role: Option<String>,
    },
    UpdateMember {
        org: String,
        user_id: String,
        role: String,
    },
    RemoveMember {
        org: String,
        user_id: String,
    },
    ListInvitations {
        org: String,
        status: Option<String>,
        page: PageRequest,
    },
    Invite {
        org: String,
        email: String,
        role: Option<String>,
        expires_in: Option<u64>,
        redirect_url: Option<String>,
    },
    RevokeInvitation {
        org: String,
        invitation_id: String,
    },
    ListRoles {
        org: String,
    },
    CreateRole {
        org: String,
        name: String,
        key: String,
        permissions: Vec<String>,
    },
    UpdateRole {
        org: String,
        key: String,
        name: Option<String>,
        permissions: Option<Vec<String>>,
    },
    DeleteRole {
        org: String,
        key: String,
    },
}

/// How an invitation is accepted: by a signed-in user, or by creating the invited user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Acceptance {
    Existing {
        user_id: String,
    },
    NewUser {
        password: String,
        name: Option<String>,
        client: ClientInfo,
    },
}

/// What a refresh does to the session's active organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum OrgSwitch {
    #[default]
    Keep,
    Clear,
    To(String),
}

/// A request to one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantRequest {
    /// The tenant's public JWKS.
    Jwks,
    SignUp {
        email: String,
        password: String,
        name: Option<String>,
        username: Option<String>,
        unsafe_metadata: Option<Value>,
        client: ClientInfo,
    },
    SignIn {
        email: String,
        password: String,
        client: ClientInfo,
    },
    Refresh {
        refresh_token: String,
        client: ClientInfo,
        #[serde(default)]
        organization: OrgSwitch,
    },
    /// Verifies an access token and that its session is still active.
    Authenticate {
        token: String,
    },
    /// `/v1/sessions/verify`: never an error for a bad token, just `valid: false`.
    VerifyToken {
        token: String,
    },
    GetUser {
        user_id: String,
    },
    /// Revokes the caller's session, or all of the user's sessions when `global`.
    SignOut {
        user_id: String,
        session_id: String,
        global: bool,
    },
    /// A profile PATCH; `by_server` (secret key) allows the server-only fields.
    UpdateUser {
        user_id: String,
        patch: Value,
        by_server: bool,
    },
    ChangePassword {
        user_id: String,
        session_id: String,
        current_password: String,
        new_password: String,
        sign_out_other_sessions: bool,
    },
    ListUsers {
        filter: UserFilter,
        page: PageRequest,
    },
    CreateUser(NewUser),
    DeleteUser {
        user_id: String,
    },
    SetUserDisabled {
        user_id: String,
        disabled: bool,
    },
    ListSessions {
        filter: SessionFilter,
        page: PageRequest,
    },
    /// A session; with `owner`, only if it belongs to that user.
    GetSession {
        session_id: String,
        owner: Option<String>,
    },
    /// Revokes a session; with `owner`, only if it belongs to that user.
    RevokeSession {
        session_id: String,
        owner: Option<String>,
    },
    RevokeUserSessions {
        user_id: String,
    },
    /// Starts TOTP enrollment (a pending factor).
    StartTotp {
        user_id: String,
    },
    ConfirmTotp {
        user_id: String,
        factor_id: String,
        code: String,
    },
    ListFactors {
        user_id: String,
    },
    /// Removes a factor; `code` is required from the user, absent for the secret key.
    RemoveFactor {
        user_id: String,
        factor_id: String,
        code: Option<String>,
    },
    RegenerateBackupCodes {
        user_id: String,
        code: String,
    },
    /// Finishes a sign-in that answered `mfa_required`.
    VerifyMfa {
        challenge_id: String,
        code: String,
        client: ClientInfo,
    },
    /// `password/forgot` (`magic_link: false`) or `magic-link` (`true`): always `Done`.
    RequestEmailLink {
        email: String,
        magic_link: bool,
        redirect_url: Option<String>,
    },
    ResetPassword {
        token: String,
        new_password: String,
    },
    SendEmailVerification {
        user_id: String,
    },
    VerifyEmail {
        token: String,
    },
    MagicLinkSignIn {
        token: String,
        client: ClientInfo,
    },
    /// Any organization endpoint; authorization happens in one place, in the tenant.
    Organization {
        caller: OrgCaller,
        action: OrgAction,
    },
    /// `/v1/me/organizations`.
    MyOrganizations {
        user_id: String,
    },
    AcceptInvitation {
        token: String,
        acceptance: Acceptance,
    },
    /// `/v1/webhooks…` (secret key).
    Webhook(WebhookAction),
    /// Re-read the tenant record and signing keys (after a CP change).
    Reload,
    /// Test hook: panic inside the actor (only with `HELLOJOHN_TEST_FAULTS`).
    InjectPanic,
}

/// What the tenant's backend does to its webhooks (API.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WebhookAction {
    Create {
        url: String,
        events: Vec<String>,
        description: Option<String>,
    },
    List {
        page: PageRequest,
    },
    Get {
        id: String,
    },
    Update {
        id: String,
        url: Option<String>,
        events: Option<Vec<String>>,
        description: Option<String>,
        status: Option<String>,
    },
    Delete {
        id: String,
    },
    RotateSecret {
        id: String,
    },
    Test {
        id: String,
    },
    ListDeliveries {
        id: String,
        status: Option<String>,
        page: PageRequest,
    },
    RetryDelivery {
        id: String,
        delivery_id: String,
    },
}

/// Tokens handed out at sign-in and refresh (API.md §2 "Token set").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSet {
    pub id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub access_token_expires_at: String,
    pub refresh_token_expires_at: String,
}

/// The answer to a [`TenantRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantResponse {
    Jwks(Value),
    SignedIn {
        user: Box<User>,
        tokens: TokenSet,
    },
    /// A sign-up that gets no session until the address is verified.
    SignedUp {
        user: Box<User>,
    },
    Refreshed {
        tokens: TokenSet,
    },
    Authenticated {
        claims: Box<AccessClaims>,
    },
    Verified {
        valid: bool,
        session: Option<Box<Session>>,
        claims: Option<Box<AccessClaims>>,
    },
    User(Box<User>),
    Users(Page<User>),
    Session(Box<Session>),
    Sessions(Page<Session>),
    TotpEnrollment {
        factor_id: String,
        secret: String,
        otpauth_uri: String,
        qr_code_svg: String,
    },
    FactorConfirmed {
        factor: Value,
        backup_codes: Vec<String>,
    },
    Factors(Vec<Value>),
    BackupCodes(Vec<String>),
    /// An object already in its API shape (organizations, memberships, invitations, roles).
    Object(Value),
    /// A page of objects in their API shape; `resume_after` is the next cursor's id.
    Objects(Page<Value>),
    InvitationAccepted {
        membership: Value,
        /// The user created by the acceptance, signed in unless the tenant requires
        /// verification of an address nobody proved yet.
        created: Option<(Box<User>, Option<TokenSet>)>,
    },
    Done,
}

/// What a tenant actor answers: a result plus, for limited endpoints, the limit state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantReply {
    pub result: Result<TenantResponse, ApiError>,
    pub rate_limit: Option<RateLimitInfo>,
}

impl From<Result<TenantResponse, ApiError>> for TenantReply {
    fn from(result: Result<TenantResponse, ApiError>) -> Self {
        Self {
            result,
            rate_limit: None,
        }
    }
}
