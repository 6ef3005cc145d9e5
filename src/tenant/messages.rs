//! The typed, serializable protocol of tenant actors. Everything here derives
//! serde so the cluster gateway can carry it between nodes unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::limits::RateLimitInfo;
use crate::auth::tokens::AccessClaims;
use crate::error::ApiError;
use crate::store::{Page, PageRequest, Session, SessionFilter, User, UserFilter};

/// Where a call comes from, as the HTTP edge saw it (for session records and rate limits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The credential a call was made with. API keys were resolved by the edge (the tenant
/// comes from the key); an access token is verified by the tenant itself, in the same call
/// as the operation, so a signed-in request costs one trip to the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Credential {
    /// The tenant's publishable key.
    Publishable,
    /// The tenant's secret key (the tenant's backend).
    Secret,
    /// A user's access token, not yet verified.
    AccessToken(String),
    /// The node itself or a control-plane admin (reload, fault injection, wake-ups).
    Operator,
    /// No credential: what anyone may read (the JWKS).
    Anonymous,
}

/// Who calls a tenant, and from where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Caller {
    pub credential: Credential,
    pub client: ClientInfo,
}

impl Caller {
    /// A call the node makes on its own behalf.
    pub fn operator() -> Self {
        Self {
            credential: Credential::Operator,
            client: ClientInfo::default(),
        }
    }
}

/// One call to a tenant: who calls and what they ask. Serializable, so a node can forward
/// it to the node that owns the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantCall {
    pub caller: Caller,
    pub request: TenantRequest,
}

/// Whose account an operation is about: the signed-in caller's own (`/v1/me…`, needs an
/// access token) or a user named by the tenant's backend (needs the secret key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserRef {
    Me,
    Id(String),
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

/// Who acts on an organization, derived from the call's verified credential: the tenant's
/// backend (secret key) or a signed-in user, whose membership decides what they may do.
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

/// How an invitation is accepted: by the signed-in caller, or by creating the invited user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Acceptance {
    SignedIn,
    NewUser { password: String, name: Option<String> },
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
    },
    SignIn {
        email: String,
        password: String,
    },
    Refresh {
        refresh_token: String,
        #[serde(default)]
        organization: OrgSwitch,
    },
    /// Nothing but the check of the call's access token (an admin-only endpoint tells a
    /// valid user token, `403`, from an invalid one, `401`).
    CheckToken,
    /// `/v1/sessions/verify`: never an error for a bad token, just `valid: false`.
    VerifyToken {
        token: String,
    },
    GetUser {
        user: UserRef,
    },
    /// Revokes the caller's session, or all of the caller's sessions when `global`.
    SignOut {
        global: bool,
    },
    /// A profile PATCH; the secret key may also set the server-only fields.
    UpdateUser {
        user: UserRef,
        patch: Value,
    },
    /// The caller's own password.
    ChangePassword {
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
    /// Sessions; a signed-in caller sees only their own active ones.
    ListSessions {
        filter: SessionFilter,
        page: PageRequest,
    },
    /// A session; a signed-in caller only one of their own.
    GetSession {
        session_id: String,
    },
    /// Revokes a session; a signed-in caller only one of their own.
    RevokeSession {
        session_id: String,
    },
    RevokeUserSessions {
        user_id: String,
    },
    /// Starts TOTP enrollment of the caller (a pending factor).
    StartTotp,
    ConfirmTotp {
        factor_id: String,
        code: String,
    },
    ListFactors {
        user: UserRef,
    },
    /// Removes a factor; `code` is required from the user, absent for the secret key.
    RemoveFactor {
        user: UserRef,
        factor_id: String,
        code: Option<String>,
    },
    RegenerateBackupCodes {
        code: String,
    },
    /// Finishes a sign-in that answered `mfa_required`.
    VerifyMfa {
        challenge_id: String,
        code: String,
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
    /// Sends the caller a link proving their address.
    SendEmailVerification,
    VerifyEmail {
        token: String,
    },
    MagicLinkSignIn {
        token: String,
    },
    /// Any organization endpoint; authorization happens in one place, in the tenant.
    Organization(OrgAction),
    /// `/v1/me/organizations`.
    MyOrganizations,
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
