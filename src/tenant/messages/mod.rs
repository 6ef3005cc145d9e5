//! The typed, serializable protocol of tenant actors. Everything here derives serde so the
//! cluster gateway can carry it between nodes unchanged (`wire.rs` adds the version).
//!
//! Operations are grouped by area (one file each). Every operation is a struct with its own
//! reply type ([`Operation::Reply`]): the edge sends `SignIn { .. }` and gets a
//! [`auth::SignedIn`] back, never a response enum to pick apart, and the tenant answers an
//! operation only through its own `respond`, so the two can't disagree.

mod areas;
pub mod auth;
pub mod email;
pub mod mfa;
pub mod node;
pub mod oauth;
pub mod orgs;
#[cfg(test)]
mod round_trip;
pub mod sessions;
pub mod users;
pub mod webhooks;

use serde::{Deserialize, Serialize};

use super::limits::RateLimitInfo;
use crate::error::ApiError;

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

/// An operation of the tenant protocol, tied to the type of its reply.
pub trait Operation: Into<TenantRequest> + Send + 'static {
    /// What the tenant answers this operation with.
    type Reply: Send + 'static;
    /// Wraps this operation's reply for the trip back (the tenant side).
    fn respond(reply: Self::Reply) -> TenantResponse;
    /// This operation's reply out of a response (the calling side). `None` only when a peer
    /// answered with another operation's reply: a protocol fault, never a user error.
    fn reply(response: TenantResponse) -> Option<Self::Reply>;
}

/// A request to one tenant: an operation of one area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantRequest {
    Auth(auth::AuthOp),
    Users(users::UserOp),
    Sessions(sessions::SessionOp),
    Mfa(mfa::MfaOp),
    Email(email::EmailOp),
    Orgs(orgs::OrgOp),
    Webhooks(webhooks::WebhookOp),
    OAuth(oauth::OAuthOp),
    Node(node::NodeOp),
}

/// The reply to a [`TenantRequest`], in the same area and operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TenantResponse {
    Auth(auth::AuthReply),
    Users(users::UserReply),
    Sessions(sessions::SessionReply),
    Mfa(mfa::MfaReply),
    Email(email::EmailReply),
    Orgs(orgs::OrgReply),
    Webhooks(webhooks::WebhookReply),
    OAuth(oauth::OAuthReply),
    Node(node::NodeReply),
}

/// A result plus, for rate-limited operations, the limit state (the `X-RateLimit-*` headers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limited<T> {
    pub result: Result<T, ApiError>,
    pub rate_limit: Option<RateLimitInfo>,
}

impl<T> Limited<T> {
    /// Converts the result, keeping the limit state.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Limited<U> {
        Limited {
            result: self.result.map(f),
            rate_limit: self.rate_limit,
        }
    }
}

impl<T> From<Result<T, ApiError>> for Limited<T> {
    fn from(result: Result<T, ApiError>) -> Self {
        Self {
            result,
            rate_limit: None,
        }
    }
}

/// What a tenant actor answers a call with.
pub type TenantReply = Limited<TenantResponse>;
