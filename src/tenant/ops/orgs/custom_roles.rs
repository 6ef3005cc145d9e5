//! An organization's custom roles: listed beside the built-in ones, created,
//! changed and deleted by holders of `org:roles:manage`, who never grant or take
//! away a permission they don't hold themselves (the owner holds all). Roles live in the
//! organization's document, so every change goes through its version guard.

use super::access::authorize;
use super::model::{from_record, membership_id, CustomRole, Membership, Organization};
use super::roles::{self, permission};
use super::{retrying, Race};
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::orgs::{OrgCaller, Shown};
use crate::validate;

/// Custom roles one organization may define.
const MAX_CUSTOM_ROLES: usize = 50;
/// Distinct permissions all custom roles of an organization may name together (an owner's
/// token lists every one of them).
const MAX_CUSTOM_PERMISSIONS: usize = 100;

/// The built-in roles and the organization's custom ones.
pub async fn list(ctx: &TenantContext, caller: &OrgCaller, reference: &str) -> Result<Shown, ApiError> {
    let access = authorize(ctx, caller, reference, permission::READ).await?;
    let mut items = roles::builtin_views(&access.org);
    items.extend(access.org.roles.iter().map(CustomRole::view));
    Ok(Shown::objects(Page {
        items,
        has_more: false,
        resume_after: None,
    }))
}

fn role_name(name: String) -> Result<String, ApiError> {
    validate::text("name", Some(name), 128)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "name is required."))
}

/// Valid permission strings, duplicates dropped, order kept.
fn permission_list(permissions: Vec<String>) -> Result<Vec<String>, ApiError> {
    if permissions.len() > 100 || !permissions.iter().all(|p| roles::is_valid_permission(p)) {
        return Err(ApiError::invalid(
            "permissions",
            "permissions are at most 100 strings of the form org:<resource>:<action>.",
        ));
    }
    let mut unique: Vec<String> = Vec::new();
    for p in permissions {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    Ok(unique)
}

/// Refuses role sets whose distinct permissions exceed the cap.
fn check_total(org: &Organization) -> Result<(), Race> {
    let mut distinct: Vec<&String> = org.roles.iter().flat_map(|r| &r.permissions).collect();
    distinct.sort();
    distinct.dedup();
    if distinct.len() > MAX_CUSTOM_PERMISSIONS {
        return Err(Race::Failed(ApiError::invalid(
            "permissions",
            format!("An organization's custom roles name at most {MAX_CUSTOM_PERMISSIONS} distinct permissions."),
        )));
    }
    Ok(())
}

/// Writes `next`, the organization with its roles edited, guarded on `current`.
async fn save(ctx: &TenantContext, current: &Organization, next: &Organization) -> Result<(), Race> {
    check_total(next)?;
    let batch = TenantBatch::default().guard(current.unchanged()).write(next.put()?);
    ctx.store.apply(batch).await?;
    Ok(())
}

/// Defines a custom role.
pub async fn create(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    name: String,
    key: String,
    permissions: Vec<String>,
) -> Result<Shown, ApiError> {
    let name = role_name(name)?;
    if !roles::is_valid_role_key(&key) {
        return Err(ApiError::invalid(
            "key",
            "key may hold a-z, 0-9, '_', '-' and ':', at most 64 characters.",
        ));
    }
    let permissions = permission_list(permissions)?;
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::ROLES_MANAGE).await?;
        if !access.covers(&permissions) {
            return Err(Race::Failed(ApiError::InsufficientPermissions));
        }
        if roles::is_builtin(&key) || access.org.roles.iter().any(|r| r.key == key) {
            return Err(Race::Failed(ApiError::Conflict(format!(
                "The role {key} already exists."
            ))));
        }
        if access.org.roles.len() >= MAX_CUSTOM_ROLES {
            return Err(Race::Failed(ApiError::Conflict(format!(
                "An organization has at most {MAX_CUSTOM_ROLES} custom roles."
            ))));
        }
        let role = CustomRole {
            key: key.clone(),
            name: name.clone(),
            permissions: permissions.clone(),
            created_at: ctx.deps.clock.now(),
        };
        let mut next = access.org.next();
        next.roles.push(role.clone());
        save(ctx, &access.org, &next).await?;
        Ok(Shown::object(role.view()))
    })
    .await
}

/// Renames a custom role or replaces its permissions; members hold the new ones at once
/// on hellojohn's endpoints and in their next token.
pub async fn update(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    key: &str,
    name: Option<String>,
    permissions: Option<Vec<String>>,
) -> Result<Shown, ApiError> {
    let name = name.map(role_name).transpose()?;
    let permissions = permissions.map(permission_list).transpose()?;
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::ROLES_MANAGE).await?;
        let mut next = access.org.next();
        let role = next.roles.iter_mut().find(|r| r.key == key).ok_or(ApiError::NotFound)?;
        // Changing a role changes what its holders may do: the caller must hold what it
        // grants now and what it will grant.
        let granted = permissions.iter().flatten();
        if !access.covers(&role.permissions) || !access.covers(&granted.cloned().collect::<Vec<_>>()) {
            return Err(Race::Failed(ApiError::InsufficientPermissions));
        }
        if let Some(name) = &name {
            role.name = name.clone();
        }
        if let Some(permissions) = &permissions {
            role.permissions = permissions.clone();
        }
        let shown = role.view();
        save(ctx, &access.org, &next).await?;
        Ok(Shown::object(shown))
    })
    .await
}

/// Deletes a custom role nobody holds (`409 conflict` while a member does).
pub async fn delete(ctx: &TenantContext, caller: &OrgCaller, reference: &str, key: &str) -> Result<Shown, ApiError> {
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::ROLES_MANAGE).await?;
        let role = access
            .org
            .roles
            .iter()
            .find(|r| r.key == key)
            .ok_or(ApiError::NotFound)?;
        if !access.covers(&role.permissions) {
            return Err(Race::Failed(ApiError::InsufficientPermissions));
        }
        if held_by_someone(ctx, &access.org.id, key).await? {
            return Err(Race::Failed(ApiError::Conflict(format!(
                "Members still hold the role {key}; give them another role first."
            ))));
        }
        let mut next = access.org.next();
        next.roles.retain(|r| r.key != key);
        save(ctx, &access.org, &next).await?;
        Ok(Shown::Done)
    })
    .await
}

/// Whether any member of the organization holds `key` (the version guard of the write that
/// follows makes this answer hold until it commits).
async fn held_by_someone(ctx: &TenantContext, org_id: &str, key: &str) -> Result<bool, ApiError> {
    let prefix = membership_id(org_id, "");
    let mut after = None;
    loop {
        let request = PageRequest { limit: 500, after };
        let page = ctx
            .store
            .page_records(RecordKind::Membership, &prefix, &request)
            .await?;
        after = page.items.last().map(|r| r.id.clone());
        for record in page.items {
            if from_record::<Membership>(record)?.role == key {
                return Ok(true);
            }
        }
        if !page.has_more {
            return Ok(false);
        }
    }
}
