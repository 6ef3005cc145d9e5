//! The one gate of every organization endpoint: find the organization (by id
//! or slug) and decide whether the caller may do the named thing. A user who
//! is not a member sees `404`, exactly as if the organization did not exist.

use super::model::{from_record, membership_id, Membership, Organization};
use super::roles;
use crate::error::ApiError;
use crate::ids::{self, prefix};
use crate::store::{Record, RecordKind};
use crate::tenant::context::TenantContext;
use crate::tenant::messages::orgs::OrgCaller;
use crate::views::Audience;

/// What the gate found: the organization and, for a user, their membership and permissions.
pub struct Access {
    pub org: Organization,
    /// The caller's permissions; `None` for the secret key, which may do everything.
    pub permissions: Option<Vec<String>>,
    /// Whether the caller is an owner, who holds every permission, even one no role names yet.
    pub owner: bool,
}

impl Access {
    /// Who sees the answer (private metadata is for the secret key only).
    pub fn audience(&self) -> Audience {
        match self.permissions {
            None => Audience::Server,
            Some(_) => Audience::User,
        }
    }

    /// Whether the caller may give or take away `role`, which grants `permissions`: it must
    /// hold all of them, and `owner` is given and taken by owners (and the secret key) only,
    /// so no custom role, however wide, makes or unmakes an owner.
    pub fn may_grant(&self, role: &str, permissions: &[String]) -> bool {
        match role {
            roles::OWNER => self.permissions.is_none() || self.owner,
            _ => self.covers(permissions),
        }
    }

    /// Whether the caller holds every one of `wanted`: nobody hands out or takes away
    /// more than they hold themselves (an admin can't make an owner, nor demote one).
    pub fn covers(&self, wanted: &[String]) -> bool {
        self.owner
            || self
                .permissions
                .as_ref()
                .is_none_or(|held| wanted.iter().all(|p| held.contains(p)))
    }
}

/// An organization by id or slug.
pub async fn find(ctx: &TenantContext, reference: &str) -> Result<Option<Organization>, ApiError> {
    let id = if ids::is_valid(prefix::ORGANIZATION, reference) {
        reference.to_owned()
    } else if super::organizations::is_valid_slug(reference) {
        match ctx.store.get_record(RecordKind::OrgSlug, reference).await? {
            Some(slug) => slug.owner_id,
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    match ctx.store.get_record(RecordKind::Organization, &id).await? {
        Some(record) => Ok(Some(from_record(record)?)),
        None => Ok(None),
    }
}

/// A user's membership of an organization.
pub async fn membership(ctx: &TenantContext, org_id: &str, user_id: &str) -> Result<Option<Membership>, ApiError> {
    match ctx
        .store
        .get_record(RecordKind::Membership, &membership_id(org_id, user_id))
        .await?
    {
        Some(record) => Ok(Some(from_record(record)?)),
        None => Ok(None),
    }
}

/// An organization (by id) and a user's membership of it, read together.
pub async fn with_membership(
    ctx: &TenantContext,
    org_id: &str,
    user_id: &str,
) -> Result<Option<(Organization, Option<Membership>)>, ApiError> {
    let found = ctx.store.get_records(&membership_keys(org_id, user_id)).await?;
    parse_with_membership(found)
}

/// The keys [`with_membership`] reads, for callers that read them elsewhere.
pub fn membership_keys(org_id: &str, user_id: &str) -> [(RecordKind, String); 2] {
    [
        (RecordKind::Organization, org_id.to_owned()),
        (RecordKind::Membership, membership_id(org_id, user_id)),
    ]
}

/// What [`with_membership`] answers, from the records read at [`membership_keys`].
pub fn parse_with_membership(
    found: Vec<Option<Record>>,
) -> Result<Option<(Organization, Option<Membership>)>, ApiError> {
    let mut found = found.into_iter();
    let (Some(org), membership) = (found.next().flatten(), found.next().flatten()) else {
        return Ok(None);
    };
    let membership = membership.map(from_record).transpose()?;
    Ok(Some((from_record(org)?, membership)))
}

/// Finds the organization and checks that `caller` holds `permission` in it.
pub async fn authorize(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    permission: &str,
) -> Result<Access, ApiError> {
    let OrgCaller::User { user_id } = caller else {
        let org = find(ctx, reference).await?.ok_or(ApiError::NotFound)?;
        return Ok(Access {
            org,
            permissions: None,
            owner: false,
        });
    };
    let (org, membership) = if ids::is_valid(prefix::ORGANIZATION, reference) {
        with_membership(ctx, reference, user_id)
            .await?
            .ok_or(ApiError::NotFound)?
    } else {
        let org = find(ctx, reference).await?.ok_or(ApiError::NotFound)?;
        let membership = membership(ctx, &org.id, user_id).await?;
        (org, membership)
    };
    let membership = membership.ok_or(ApiError::NotFound)?;
    let permissions = roles::permissions(&org, &membership.role).unwrap_or_default();
    if !permissions.iter().any(|p| p == permission) {
        return Err(ApiError::InsufficientPermissions);
    }
    Ok(Access {
        owner: membership.role == roles::OWNER,
        org,
        permissions: Some(permissions),
    })
}
