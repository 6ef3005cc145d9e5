//! Organizations, memberships, invitations and roles (API.md §5), and the
//! organization claims of access tokens (§6).
//!
//! Every change of an organization or its memberships writes the organization's
//! next `version` under a guard on the one it read, so concurrent requests can't
//! lose a count or remove the last owner; a lost race is retried from a fresh read.

mod access;
pub mod claims;
mod custom_roles;
mod invitations;
mod members;
pub mod model;
mod organizations;
pub mod roles;

use crate::webhooks::EventType;
use std::future::Future;

use serde_json::Value;

use super::super::context::TenantContext;
use super::super::messages::orgs::{OrgAction, OrgCaller, Shown};
use super::sessions;
use crate::error::ApiError;
use crate::store::{Page, PageRequest, RecordKind};

pub use invitations::{accept, Joiner};

/// Attempts of an organization change that keeps losing compare-and-set races.
const ATTEMPTS: u64 = 40;

/// Runs `attempt` until it does not lose a race (a `Conflict` from a guard), backing off
/// a random few milliseconds between attempts so a crowd of writers spreads out.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Race>>,
{
    let mut round = 1;
    loop {
        match attempt().await {
            Err(Race::Lost) if round < ATTEMPTS => {
                let ceiling = (round * 2).min(40);
                let millis = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=ceiling);
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
                round += 1;
            }
            Err(Race::Lost) => {
                return Err(ApiError::Conflict(
                    "The organization changed concurrently; retry.".into(),
                ))
            }
            Err(Race::Failed(e)) => return Err(e),
            Ok(value) => return Ok(value),
        }
    }
}

/// Why one attempt of a guarded change ended.
enum Race {
    /// A guard failed: read again and retry.
    Lost,
    Failed(ApiError),
}

impl From<ApiError> for Race {
    fn from(e: ApiError) -> Self {
        Race::Failed(e)
    }
}

impl From<crate::store::StoreError> for Race {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict => Race::Lost,
            other => Race::Failed(other.into()),
        }
    }
}

/// An outbox event of this tenant.
fn event(ctx: &TenantContext, event_type: EventType, data: Value) -> crate::store::TenantWrite {
    crate::store::TenantWrite::AppendEvent(sessions::event(event_type, data, ctx))
}

/// Rows examined per store read when a list filters records after reading them.
const SCAN_BATCH: usize = 100;
/// Store reads one filtered list page may take before it answers with what it found.
const SCAN_ROUNDS: usize = 20;

/// One page of records of `kind` under `prefix` (newest first) that `keep` accepts.
/// Stops after a bounded number of reads; the cursor then resumes where it stopped.
async fn scan(
    ctx: &TenantContext,
    kind: RecordKind,
    prefix: &str,
    page: &PageRequest,
    keep: impl Fn(&crate::store::Record) -> bool,
) -> Result<Page<crate::store::Record>, ApiError> {
    let limit = page.limit.max(1);
    let mut found = Vec::new();
    let mut after = page.after.clone();
    for _ in 0..SCAN_ROUNDS {
        let batch = ctx
            .store
            .page_records(
                kind,
                prefix,
                &PageRequest {
                    limit: SCAN_BATCH,
                    after: after.clone(),
                },
            )
            .await?;
        for record in batch.items {
            if keep(&record) {
                if found.len() == limit {
                    // A further match exists: the next page starts after the last one shown.
                    let resume_after = found.last().map(|r: &crate::store::Record| r.id.clone());
                    return Ok(Page {
                        items: found,
                        has_more: true,
                        resume_after,
                    });
                }
                found.push(record.clone());
            }
            after = Some(record.id);
        }
        if !batch.has_more {
            return Ok(Page {
                items: found,
                has_more: false,
                resume_after: None,
            });
        }
    }
    Ok(Page {
        items: found,
        has_more: true,
        resume_after: after,
    })
}

/// Runs one organization operation for `caller`.
pub async fn execute(ctx: &TenantContext, caller: OrgCaller, action: OrgAction) -> Result<Shown, ApiError> {
    use OrgAction as A;
    match action {
        A::Create(input) => organizations::create(ctx, &caller, input).await,
        A::List { query, page } => organizations::list(ctx, &caller, query.as_deref(), &page).await,
        A::Get { org } => organizations::get(ctx, &caller, &org).await,
        A::Update { org, patch } => organizations::update(ctx, &caller, &org, &patch).await,
        A::Delete { org } => organizations::delete(ctx, &caller, &org).await,
        A::ListRoles { org } => custom_roles::list(ctx, &caller, &org).await,
        A::CreateRole {
            org,
            name,
            key,
            permissions,
        } => custom_roles::create(ctx, &caller, &org, name, key, permissions).await,
        A::UpdateRole {
            org,
            key,
            name,
            permissions,
        } => custom_roles::update(ctx, &caller, &org, &key, name, permissions).await,
        A::DeleteRole { org, key } => custom_roles::delete(ctx, &caller, &org, &key).await,
        A::ListMembers { org, page } => members::list(ctx, &caller, &org, &page).await,
        A::AddMember { org, user_id, role } => members::add(ctx, &caller, &org, &user_id, role).await,
        A::UpdateMember { org, user_id, role } => members::update(ctx, &caller, &org, &user_id, &role).await,
        A::RemoveMember { org, user_id } => members::remove(ctx, &caller, &org, &user_id).await,
        A::ListInvitations { org, status, page } => {
            invitations::list(ctx, &caller, &org, status.as_deref(), &page).await
        }
        A::Invite {
            org,
            email,
            role,
            expires_in,
            redirect_url,
        } => {
            let input = invitations::NewInvitation {
                email,
                role,
                expires_in,
                redirect_url,
            };
            invitations::create(ctx, &caller, &org, input).await
        }
        A::RevokeInvitation { org, invitation_id } => invitations::revoke(ctx, &caller, &org, &invitation_id).await,
    }
}
