//! What organizations mean for sessions and users: the `org_*` claims of an
//! access token (read fresh at every refresh and by `/v1/sessions/verify`),
//! switching the active organization, the user's own memberships, and what
//! deleting a user does to the organizations they belong to.

use crate::webhooks::EventType;
use serde_json::json;

use super::access;
use super::members;
use super::model::{from_record, Membership};
use super::roles;
use super::{event, retrying, Race};
use crate::auth::tokens::AccessClaims;
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::views::objects::MyMembership;
use crate::views::Audience;

/// The organization claims of a token: the active organization, the role there and its permissions.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgClaims {
    pub org_id: String,
    pub role: String,
    pub permissions: Vec<String>,
}

impl OrgClaims {
    /// Writes these claims, or their absence, into a token's claims.
    pub fn fill(org: Option<OrgClaims>, claims: &mut AccessClaims) {
        claims.org_id = org.as_ref().map(|o| o.org_id.clone());
        claims.org_role = org.as_ref().map(|o| o.role.clone());
        claims.org_permissions = org.map(|o| o.permissions);
    }
}

/// The current claims of a session's active organization; `None` when it has none, or
/// when the membership is gone (a removal takes effect at the next refresh).
pub async fn current(ctx: &TenantContext, session: &Session) -> Result<Option<OrgClaims>, ApiError> {
    let Some(org_id) = &session.active_organization_id else {
        return Ok(None);
    };
    Ok(of(access::with_membership(ctx, org_id, &session.user_id).await?))
}

/// [`current`], read where a refresh will commit (inside its transaction on SQL).
pub async fn current_in(
    ctx: &TenantContext,
    hold: &mut RotationHold,
    session: &Session,
) -> Result<Option<OrgClaims>, ApiError> {
    let Some(org_id) = &session.active_organization_id else {
        return Ok(None);
    };
    let keys = access::membership_keys(org_id, &session.user_id);
    let found = hold.get_records(ctx.store.as_ref(), &keys).await?;
    Ok(of(access::parse_with_membership(found)?))
}

fn of(found: Option<(super::model::Organization, Option<Membership>)>) -> Option<OrgClaims> {
    let (org, Some(membership)) = found? else {
        return None;
    };
    Some(OrgClaims {
        org_id: org.id.clone(),
        permissions: roles::permissions(&org, &membership.role).unwrap_or_default(),
        role: membership.role,
    })
}

/// The organization a refresh switches to: it must exist and the user must belong to it.
/// Read where the refresh will commit.
pub async fn switch_target(
    ctx: &TenantContext,
    hold: &mut RotationHold,
    user_id: &str,
    org_id: &str,
) -> Result<String, ApiError> {
    let found = hold
        .get_records(ctx.store.as_ref(), &access::membership_keys(org_id, user_id))
        .await?;
    match access::parse_with_membership(found)? {
        Some((org, Some(_))) => Ok(org.id),
        _ => Err(ApiError::InsufficientPermissions),
    }
}

/// `/v1/me/organizations`: each membership with its organization, most recently joined first.
pub async fn mine(ctx: &TenantContext, user_id: &str) -> Result<Vec<MyMembership>, ApiError> {
    let mut memberships = ctx
        .store
        .list_records(RecordKind::Membership, user_id)
        .await?
        .into_iter()
        .map(from_record::<Membership>)
        .collect::<Result<Vec<_>, _>>()?;
    memberships.sort_by(|a, b| {
        b.joined_at
            .cmp(&a.joined_at)
            .then(b.organization_id.cmp(&a.organization_id))
    });
    let user = ctx.store.get_user(user_id).await?;
    let mut items = Vec::with_capacity(memberships.len());
    for membership in memberships {
        let Some(org) = access::find(ctx, &membership.organization_id).await? else {
            continue;
        };
        let permissions = roles::permissions(&org, &membership.role).unwrap_or_default();
        let shown = membership.view(&permissions, user.as_ref());
        items.push(MyMembership::of(shown, org.view(Audience::User)));
    }
    Ok(items)
}

/// Deletes a user together with `writes`, updating every organization they belong to.
/// Refused (`409`) while they are the last owner of an organization that has other members.
pub async fn delete_user(ctx: &TenantContext, user: &User, writes: Vec<TenantWrite>) -> Result<(), ApiError> {
    retrying(|| async {
        let current = ctx.store.get_user(&user.id).await?.ok_or(ApiError::NotFound)?;
        let records = ctx.store.list_records(RecordKind::Membership, &user.id).await?;
        // The user row is locked first, then the membership set must be the one read: a join
        // committed in between makes this attempt lose and re-read, so no count goes stale.
        let mut batch = TenantBatch::default()
            .guard(Guard::UserVersion {
                user_id: user.id.clone(),
                updated_at: current.updated_at,
            })
            .guard(Guard::OwnerRecords {
                kind: RecordKind::Membership,
                owner_id: user.id.clone(),
                ids: records.iter().map(|r| r.id.clone()).collect(),
            });
        for record in records {
            let membership: Membership = from_record(record)?;
            let Some(org) = access::find(ctx, &membership.organization_id).await? else {
                continue;
            };
            if members::last_owner(&org, &membership) && org.member_count > 1 {
                return Err(Race::Failed(ApiError::Conflict(format!(
                    "The user is the last owner of organization {}; transfer ownership first.",
                    org.id
                ))));
            }
            let permissions = roles::permissions(&org, &membership.role).unwrap_or_default();
            let shown = membership.view(&permissions, Some(&current));
            let mut next = org.next();
            members::recount(&mut next, Some(&membership.role), None);
            batch = batch.guard(org.unchanged()).write(next.put()?).write(event(
                ctx,
                EventType::MemberRemoved,
                json!({ "membership": shown }),
            ));
        }
        batch.writes.push(TenantWrite::DeleteUser {
            user_id: user.id.clone(),
        });
        batch.writes.extend(writes.iter().cloned());
        ctx.store.apply(batch).await?;
        Ok::<_, Race>(())
    })
    .await
}
