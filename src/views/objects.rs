//! Typed API shapes of the objects a tenant shows (organizations, memberships,
//! invitations, roles, webhooks, deliveries, MFA factors). One type serves three
//! readers: the tenant protocol carries it between nodes, HTTP renders it, and the OpenAPI
//! document describes it, so the three can't drift apart. Timestamps are already in the
//! API's format ([`super::timestamp`]).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// Reads a field that is shown when present, even as `null` (absent stays `None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// An organization; `private_metadata` only for the secret key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub slug: String,
    #[schema(required = true)]
    pub logo_url: Option<String>,
    #[schema(value_type = Object)]
    pub public_metadata: Value,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub private_metadata: Option<Value>,
    pub member_count: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// The user of a membership, as much as other members may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberUser {
    pub id: String,
    pub email: String,
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true)]
    pub avatar_url: Option<String>,
}

/// A membership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub organization_id: String,
    pub user_id: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub joined_at: String,
    /// `null` when the user is gone.
    #[schema(required = true)]
    pub user: Option<MemberUser>,
}

/// One of the signed-in user's memberships, with its organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MyMembership {
    pub organization_id: String,
    pub user_id: String,
    pub role: String,
    pub permissions: Vec<String>,
    pub joined_at: String,
    #[schema(required = true)]
    pub user: Option<MemberUser>,
    pub organization: Organization,
}

impl MyMembership {
    /// A membership with its organization.
    pub fn of(m: Membership, organization: Organization) -> Self {
        Self {
            organization_id: m.organization_id,
            user_id: m.user_id,
            role: m.role,
            permissions: m.permissions,
            joined_at: m.joined_at,
            user: m.user,
            organization,
        }
    }
}

/// An invitation; `token` only in the answer that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub role: String,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub expires_at: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// An organization role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Role {
    pub key: String,
    pub name: String,
    pub permissions: Vec<String>,
    /// Built-in roles (`owner`, `admin`, `member`) can't be changed or deleted.
    pub builtin: bool,
    /// `null` for the built-in roles.
    #[schema(required = true)]
    pub created_at: Option<String>,
}

/// A webhook endpoint; `signing_secret` only at creation and rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub events: Vec<String>,
    /// `active` or `disabled`.
    pub status: String,
    pub created_at: String,
    #[schema(required = true)]
    pub last_triggered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}

/// A webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded`, `failed` or `permanently_failed`.
    pub status: String,
    pub attempts: u32,
    #[schema(required = true)]
    pub http_status: Option<u16>,
    #[schema(required = true)]
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// The start of the endpoint's last answer (or the transport error), for debugging.
    #[schema(required = true)]
    pub last_response: Option<String>,
}

/// An MFA factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Factor {
    pub id: String,
    /// `totp` or `backup_codes`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending` or `active`.
    pub status: String,
    #[schema(required = true)]
    pub name: Option<String>,
    pub created_at: String,
    #[schema(required = true)]
    pub last_used_at: Option<String>,
}

/// A client of the tenant's OpenID provider; `client_secret` only at creation and rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OAuthClient {
    pub id: String,
    /// The `client_id` of the OAuth protocol (the same value as `id`).
    pub client_id: String,
    pub name: String,
    /// `public` or `confidential`.
    #[serde(rename = "type")]
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Any object an organization or webhook operation shows, tagged by kind on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    Organization(Organization),
    Membership(Membership),
    Invitation(Invitation),
    Role(Role),
    Webhook(Webhook),
    Delivery(Delivery),
    OAuthClient(OAuthClient),
}

impl Shape {
    /// The id a page's cursor resumes after (a membership's is its user id; a role's, its key).
    pub fn id(&self) -> &str {
        match self {
            Self::Organization(o) => &o.id,
            Self::Membership(m) => &m.user_id,
            Self::Invitation(i) => &i.id,
            Self::Role(r) => &r.key,
            Self::Webhook(w) => &w.id,
            Self::Delivery(d) => &d.id,
            Self::OAuthClient(c) => &c.id,
        }
    }

    /// The object as the API shows it (untagged).
    pub fn to_json(&self) -> Value {
        let shown = match self {
            Self::Organization(o) => serde_json::to_value(o),
            Self::Membership(m) => serde_json::to_value(m),
            Self::Invitation(i) => serde_json::to_value(i),
            Self::Role(r) => serde_json::to_value(r),
            Self::Webhook(w) => serde_json::to_value(w),
            Self::Delivery(d) => serde_json::to_value(d),
            Self::OAuthClient(c) => serde_json::to_value(c),
        };
        // Plain structs of strings, numbers and JSON values always serialize.
        shown.unwrap_or(Value::Null)
    }
}

macro_rules! shape_from {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Shape {
            fn from(object: $kind) -> Self {
                Self::$kind(object)
            }
        }
    )*};
}
shape_from!(
    Organization,
    Membership,
    Invitation,
    Role,
    Webhook,
    Delivery,
    OAuthClient
);
