//! Memberships: listing, adding, changing roles and removing members. Nobody
//! grants or takes away more than they hold, and the last owner stays.

use crate::webhooks::EventType;
use futures_util::future::join_all;
use serde_json::json;

use super::access::{self, authorize, Access};
use super::model::{from_record, membership_id, Membership, Organization};
use super::roles::{self, permission};
use super::{event, retrying, Race};
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::orgs::{OrgCaller, Shown};

/// The permissions of `role` in `org`, or a 400 naming the field when there is no such role.
pub fn role_permissions(org: &Organization, role: &str) -> Result<Vec<String>, ApiError> {
    roles::permissions(org, role)
        .ok_or_else(|| ApiError::invalid("role", format!("The organization has no role {role}.")))
}

/// A membership as shown, with its permissions and the member's summary.
pub async fn view(
    ctx: &TenantContext,
    org: &Organization,
    membership: &Membership,
) -> Result<crate::views::objects::Membership, ApiError> {
    let user = ctx.store.get_user(&membership.user_id).await?;
    let permissions = roles::permissions(org, &membership.role).unwrap_or_default();
    Ok(membership.view(&permissions, user.as_ref()))
}

/// Lists an organization's members by user id, newest user first; the cursor is a user id.
pub async fn list(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    page: &PageRequest,
) -> Result<Shown, ApiError> {
    let access = authorize(ctx, caller, reference, permission::MEMBERS_READ).await?;
    let org = &access.org;
    let request = PageRequest {
        limit: page.limit,
        after: page.after.as_deref().map(|user| membership_id(&org.id, user)),
    };
    let found = ctx
        .store
        .page_records(RecordKind::Membership, &membership_id(&org.id, ""), &request)
        .await?;
    let memberships = found
        .items
        .into_iter()
        .map(from_record::<Membership>)
        .collect::<Result<Vec<_>, _>>()?;
    let views = join_all(memberships.iter().map(|m| view(ctx, org, m))).await;
    let items = views.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Shown::objects(Page {
        items,
        has_more: found.has_more,
        resume_after: memberships.last().filter(|_| found.has_more).map(|m| m.user_id.clone()),
    }))
}

/// The counts of `org` after a member with `old` role changes to `new` role (`None`: absent).
pub fn recount(org: &mut Organization, old: Option<&str>, new: Option<&str>) {
    let owner = |r: Option<&str>| u64::from(r == Some(roles::OWNER));
    let present = |r: Option<&str>| u64::from(r.is_some());
    org.owner_count = (org.owner_count + owner(new)).saturating_sub(owner(old));
    org.member_count = (org.member_count + present(new)).saturating_sub(present(old));
}

/// Whether taking an `owner` away leaves the organization without one.
pub fn last_owner(org: &Organization, membership: &Membership) -> bool {
    membership.role == roles::OWNER && org.owner_count <= 1
}

/// The writes adding `user` to `org` with `role`, guarded on the organization's version
/// (the caller guards that the user exists, or creates them in the same batch).
pub fn join_writes(
    ctx: &TenantContext,
    org: &Organization,
    user: &User,
    role: &str,
) -> Result<(TenantBatch, Membership, crate::views::objects::Membership), ApiError> {
    let membership = Membership {
        organization_id: org.id.clone(),
        user_id: user.id.clone(),
        role: role.to_owned(),
        joined_at: ctx.deps.clock.now(),
    };
    let mut next = org.next();
    recount(&mut next, None, Some(role));
    let permissions = roles::permissions(org, role).unwrap_or_default();
    let shown = membership.view(&permissions, Some(user));
    let batch = TenantBatch::default()
        .guard(org.unchanged())
        .write(TenantWrite::InsertRecord(membership.record()?))
        .write(next.put()?)
        .write(event(ctx, EventType::MemberAdded, json!({ "membership": shown })));
    Ok((batch, membership, shown))
}

/// Adds a user to an organization (`member` unless another role is named).
pub async fn add(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    user_id: &str,
    role: Option<String>,
) -> Result<Shown, ApiError> {
    let role = role.unwrap_or_else(|| roles::MEMBER.to_owned());
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::MEMBERS_MANAGE).await?;
        let wanted = role_permissions(&access.org, &role)?;
        if !access.may_grant(&role, &wanted) {
            return Err(Race::Failed(ApiError::InsufficientPermissions));
        }
        let user = ctx
            .store
            .get_user(user_id)
            .await?
            .ok_or_else(|| ApiError::invalid("user_id", "user_id is not a user of this tenant."))?;
        if access::membership(ctx, &access.org.id, &user.id).await?.is_some() {
            return Err(Race::Failed(ApiError::AlreadyMember));
        }
        let (batch, _, shown) = join_writes(ctx, &access.org, &user, &role)?;
        let batch = batch.guard(Guard::UserExists {
            user_id: user.id.clone(),
        });
        ctx.store.apply(batch).await?;
        Ok(Shown::object(shown))
    })
    .await
}

/// The target membership, if the caller may manage it (holds everything its role grants).
async fn managed(ctx: &TenantContext, access: &Access, user_id: &str) -> Result<Membership, Race> {
    let membership = access::membership(ctx, &access.org.id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let held = roles::permissions(&access.org, &membership.role).unwrap_or_default();
    if !access.may_grant(&membership.role, &held) {
        return Err(Race::Failed(ApiError::InsufficientPermissions));
    }
    Ok(membership)
}

/// Changes a member's role; the last owner can't be demoted.
pub async fn update(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    user_id: &str,
    role: &str,
) -> Result<Shown, ApiError> {
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::MEMBERS_MANAGE).await?;
        let wanted = role_permissions(&access.org, role)?;
        if !access.may_grant(role, &wanted) {
            return Err(Race::Failed(ApiError::InsufficientPermissions));
        }
        let current = managed(ctx, &access, user_id).await?;
        if role != roles::OWNER && last_owner(&access.org, &current) {
            return Err(Race::Failed(ApiError::Conflict(
                "The last owner of an organization can't be demoted.".into(),
            )));
        }
        let mut membership = current.clone();
        membership.role = role.to_owned();
        let mut next = access.org.next();
        recount(&mut next, Some(&current.role), Some(role));
        let user = ctx.store.get_user(user_id).await?;
        let shown = membership.view(&wanted, user.as_ref());
        let batch = TenantBatch::default()
            .guard(access.org.unchanged())
            .write(TenantWrite::PutRecord(membership.record()?))
            .write(next.put()?)
            .write(event(ctx, EventType::MemberUpdated, json!({ "membership": shown })));
        ctx.store.apply(batch).await?;
        Ok(Shown::object(shown))
    })
    .await
}

/// Removes a member (any member may leave); the last owner stays.
pub async fn remove(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    user_id: &str,
) -> Result<Shown, ApiError> {
    let leaving = matches!(caller, OrgCaller::User { user_id: me } if me == user_id);
    retrying(|| async {
        let (org, membership) = if leaving {
            let org = access::find(ctx, reference).await?.ok_or(ApiError::NotFound)?;
            let membership = access::membership(ctx, &org.id, user_id)
                .await?
                .ok_or(ApiError::NotFound)?;
            (org, membership)
        } else {
            let access = authorize(ctx, caller, reference, permission::MEMBERS_MANAGE).await?;
            let membership = managed(ctx, &access, user_id).await?;
            (access.org, membership)
        };
        if last_owner(&org, &membership) {
            return Err(Race::Failed(ApiError::Conflict(
                "The last owner of an organization can't be removed.".into(),
            )));
        }
        let shown = view(ctx, &org, &membership).await?;
        let mut next = org.next();
        recount(&mut next, Some(&membership.role), None);
        let batch = TenantBatch::default()
            .guard(org.unchanged())
            .write(TenantWrite::DeleteRecord {
                kind: RecordKind::Membership,
                id: membership_id(&org.id, user_id),
            })
            .write(next.put()?)
            .write(event(ctx, EventType::MemberRemoved, json!({ "membership": shown })));
        ctx.store.apply(batch).await?;
        Ok(Shown::Done)
    })
    .await
}
