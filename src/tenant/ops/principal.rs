//! Who a call acts as, once the tenant has checked its credential: the access token of a
//! signed-in call is verified here, in the same task as the operation it carries.

use super::super::context::TenantContext;
use super::super::messages::orgs::OrgCaller;
use super::super::messages::{Credential, UserRef};
use super::sessions;
use crate::auth::tokens::AccessClaims;
use crate::error::ApiError;

/// The verified identity behind a call.
pub enum Principal {
    /// The publishable key: anyone using the tenant's front end.
    Public,
    /// The secret key: the tenant's backend.
    Server,
    /// A signed-in user whose session is still live.
    User(Box<AccessClaims>),
    /// The node itself or a control-plane admin.
    Operator,
}

/// The edge sent an operation with a credential that can't make it: a bug, never user input.
fn wrong_credential(wanted: &str) -> ApiError {
    tracing::error!(wanted, "a tenant call came with a credential that cannot make it");
    ApiError::Internal
}

impl Principal {
    /// Checks a call's credential; an access token must verify and its session be live.
    pub async fn of(ctx: &TenantContext, credential: &Credential) -> Result<Self, ApiError> {
        Ok(match credential {
            Credential::Publishable | Credential::Anonymous => Self::Public,
            Credential::Secret => Self::Server,
            Credential::AccessToken(token) => Self::User(Box::new(sessions::authenticate(ctx, token).await?)),
            Credential::Operator => Self::Operator,
        })
    }

    /// The signed-in user's claims.
    pub fn claims(&self) -> Result<&AccessClaims, ApiError> {
        match self {
            Self::User(claims) => Ok(claims),
            _ => Err(wrong_credential("an access token")),
        }
    }

    /// Requires the secret key.
    pub fn server(&self) -> Result<(), ApiError> {
        match self {
            Self::Server => Ok(()),
            _ => Err(wrong_credential("the secret key")),
        }
    }

    /// Requires the secret key or the control plane (what an admin may read of a tenant).
    pub fn server_or_operator(&self) -> Result<(), ApiError> {
        match self {
            Self::Server | Self::Operator => Ok(()),
            _ => Err(wrong_credential("the secret key or an admin")),
        }
    }

    /// The user an operation is about: `Me` for a signed-in caller, an id for the secret key.
    pub fn user<'a>(&'a self, target: &'a UserRef) -> Result<&'a str, ApiError> {
        match (self, target) {
            (Self::User(claims), UserRef::Me) => Ok(&claims.sub),
            (Self::Server, UserRef::Id(id)) => Ok(id),
            _ => Err(wrong_credential("an access token for me, the secret key for a user id")),
        }
    }

    /// The user who must own what a signed-in caller asks for; `None` for the secret key.
    pub fn owner(&self) -> Result<Option<&str>, ApiError> {
        match self {
            Self::User(claims) => Ok(Some(&claims.sub)),
            Self::Server => Ok(None),
            _ => Err(wrong_credential("an access token or the secret key")),
        }
    }

    /// Who acts on an organization.
    pub fn org_caller(&self) -> Result<OrgCaller, ApiError> {
        match self {
            Self::User(claims) => Ok(OrgCaller::User {
                user_id: claims.sub.clone(),
            }),
            Self::Server => Ok(OrgCaller::Server),
            _ => Err(wrong_credential("an access token or the secret key")),
        }
    }
}
