//! The typed, serializable protocol of tenant actors. Everything here derives
//! serde so the cluster gateway can carry it between nodes unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::tokens::AccessClaims;
use crate::error::ApiError;
use crate::store::{Session, User};

/// Who is calling, as the HTTP edge saw it (for session records and rate limits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
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
    /// Re-read the tenant record and signing keys (after a CP change).
    Reload,
    /// Test hook: panic inside the actor (only with `HELLOJOHN_TEST_FAULTS`).
    InjectPanic,
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
    Done,
}

/// What a tenant actor answers: a response or a contract error.
pub type TenantReply = Result<TenantResponse, ApiError>;
