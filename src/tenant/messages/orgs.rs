//! Organizations, memberships, invitations and roles. Authorization happens in one place,
//! in the tenant, from the call's verified credential.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::areas::area;
use super::TokenSet;
use crate::store::{Page, PageRequest, User};
use crate::views::objects::{Membership, MyMembership, Shape};

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

/// Objects in their API shape (organizations, memberships, invitations, roles, webhooks,
/// deliveries): one, a page of them (`resume_after` is the next cursor's id), or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Shown {
    Object(Shape),
    Objects(Page<Shape>),
    Done,
}

impl Shown {
    /// One object.
    pub fn object(object: impl Into<Shape>) -> Self {
        Self::Object(object.into())
    }

    /// A page of objects.
    pub fn objects<T: Into<Shape>>(page: Page<T>) -> Self {
        Self::Objects(Page {
            items: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
            resume_after: page.resume_after,
        })
    }
}

/// An accepted invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationAccepted {
    pub membership: Membership,
    /// The user created by the acceptance, signed in unless the tenant requires
    /// verification of an address nobody proved yet.
    pub created: Option<(Box<User>, Option<TokenSet>)>,
}

area! {
    /// Organization endpoints.
    Orgs: OrgOp / OrgReply {
        /// Any `/v1/organizations…` endpoint.
        Organization { action: OrgAction } => Shown;
        /// `/v1/me/organizations`: the caller's memberships with their organizations.
        MyOrganizations {} => Vec<MyMembership>;
        AcceptInvitation { token: String, acceptance: Acceptance } => InvitationAccepted;
    }
}
