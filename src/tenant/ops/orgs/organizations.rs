//! Creating, reading, changing and deleting organizations, and their custom roles.

use crate::webhooks::EventType;
use serde_json::{json, Map, Value};

use super::access::{self, authorize};
use super::model::{from_record, membership_id, Membership, Organization};
use super::roles::{self, permission};
use super::{event, retrying, scan, Race};
use crate::error::ApiError;
use crate::ids::{self, new_id, prefix};
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::orgs::{NewOrganization, OrgCaller, Shown};
use crate::validate;
use crate::views::Audience;

/// Longest slug.
const MAX_SLUG: usize = 64;

/// `a-z`, `0-9` and single inner dashes, at most 64 bytes (never an `org_…` id).
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A slug made from a name: lower-case ASCII words joined by dashes.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.chars().take(MAX_SLUG - 7).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("org");
    }
    slug
}

/// A short random suffix making a generated slug unique.
fn suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn metadata(field: &str, value: Option<Value>) -> Result<Value, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v) => validate::metadata(field, v),
    }
}

fn name(value: Option<String>) -> Result<String, ApiError> {
    validate::text("name", value, 256)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "name is required."))
}

/// Creates an organization; its creator (the calling user, or `created_by`) becomes `owner`.
pub async fn create(ctx: &TenantContext, caller: &OrgCaller, input: NewOrganization) -> Result<Shown, ApiError> {
    let name = name(input.name)?;
    let explicit_slug = match input.slug {
        Some(slug) if !is_valid_slug(&slug) => {
            return Err(ApiError::invalid(
                "slug",
                "slug may hold a-z, 0-9 and single dashes, at most 64 characters.",
            ))
        }
        other => other,
    };
    let logo_url = validate::url("logo_url", input.logo_url)?;
    let public_metadata = metadata("public_metadata", input.public_metadata)?;
    let (creator, audience) = match caller {
        OrgCaller::User { user_id } => (Some(user_id.clone()), Audience::User),
        OrgCaller::Server => (input.created_by, Audience::Server),
    };
    let private_metadata = match audience {
        Audience::Server => metadata("private_metadata", input.private_metadata)?,
        Audience::User => json!({}),
    };
    let creator = match creator {
        Some(id) if !ids::is_valid(prefix::USER, &id) => {
            return Err(ApiError::invalid(
                "created_by",
                "created_by is not a user of this tenant.",
            ))
        }
        Some(id) => Some(
            ctx.store
                .get_user(&id)
                .await?
                .ok_or_else(|| ApiError::invalid("created_by", "created_by is not a user of this tenant."))?,
        ),
        None => None,
    };
    let now = ctx.deps.clock.now();
    let mut org = Organization {
        id: new_id(prefix::ORGANIZATION),
        slug: explicit_slug.clone().unwrap_or_else(|| slugify(&name)),
        name,
        logo_url,
        public_metadata,
        private_metadata,
        member_count: u64::from(creator.is_some()),
        owner_count: u64::from(creator.is_some()),
        version: 0,
        roles: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    for attempt in 0..5 {
        let mut batch = TenantBatch::default()
            .write(TenantWrite::InsertRecord(org.slug_record()))
            .write(TenantWrite::InsertRecord(org.record()?))
            .write(event(
                ctx,
                EventType::OrganizationCreated,
                json!({ "organization": org.view(Audience::Server) }),
            ));
        if let Some(user) = &creator {
            let membership = Membership {
                organization_id: org.id.clone(),
                user_id: user.id.clone(),
                role: roles::OWNER.to_owned(),
                joined_at: now,
            };
            let permissions = roles::permissions(&org, roles::OWNER).unwrap_or_default();
            batch = batch
                .guard(Guard::UserExists {
                    user_id: user.id.clone(),
                })
                .write(TenantWrite::InsertRecord(membership.record()?))
                .write(event(
                    ctx,
                    EventType::MemberAdded,
                    json!({ "membership": membership.view(&permissions, Some(user)) }),
                ));
        }
        match ctx.store.apply(batch).await {
            Ok(()) => return Ok(Shown::object(org.view(audience))),
            // A generated slug that is taken gets a random suffix; a chosen one is the caller's to change.
            Err(StoreError::Duplicate("slug")) if explicit_slug.is_none() && attempt < 4 => {
                org.slug = format!("{}-{}", slugify(&org.name), suffix());
            }
            Err(StoreError::Conflict) => {
                return Err(ApiError::invalid(
                    "created_by",
                    "created_by is not a user of this tenant.",
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::SlugAlreadyExists)
}

/// Lists organizations, newest first: all of them for the secret key, a user's own for a user.
pub async fn list(
    ctx: &TenantContext,
    caller: &OrgCaller,
    query: Option<&str>,
    page: &PageRequest,
) -> Result<Shown, ApiError> {
    let query = query.map(str::to_lowercase).filter(|q| !q.is_empty());
    let matches = |org: &Organization| {
        query
            .as_ref()
            .is_none_or(|q| org.name.to_lowercase().contains(q.as_str()) || org.slug.contains(q.as_str()))
    };
    match caller {
        OrgCaller::Server => {
            let found = scan(ctx, RecordKind::Organization, "org_", page, |record| {
                serde_json::from_value::<Organization>(record.doc.clone()).is_ok_and(|org| matches(&org))
            })
            .await?;
            let mut items = Vec::with_capacity(found.items.len());
            for record in found.items {
                items.push(from_record::<Organization>(record)?.view(Audience::Server));
            }
            Ok(Shown::objects(Page {
                items,
                has_more: found.has_more,
                resume_after: found.resume_after,
            }))
        }
        OrgCaller::User { user_id } => {
            let mut orgs = Vec::new();
            for record in ctx.store.list_records(RecordKind::Membership, user_id).await? {
                let membership: Membership = from_record(record)?;
                if let Some(org) = access::find(ctx, &membership.organization_id).await? {
                    if matches(&org) {
                        orgs.push(org);
                    }
                }
            }
            orgs.sort_by(|a, b| b.id.cmp(&a.id));
            let page = paginate(orgs.into_iter(), |o| &o.id, page);
            let resume_after = page.items.last().filter(|_| page.has_more).map(|o| o.id.clone());
            Ok(Shown::objects(Page {
                items: page.items.iter().map(|o| o.view(Audience::User)).collect(),
                has_more: page.has_more,
                resume_after,
            }))
        }
    }
}

/// One organization.
pub async fn get(ctx: &TenantContext, caller: &OrgCaller, reference: &str) -> Result<Shown, ApiError> {
    let access = authorize(ctx, caller, reference, permission::READ).await?;
    Ok(Shown::object(access.org.view(access.audience())))
}

/// Applies a PATCH body; unknown fields (and `private_metadata` from a user) are ignored.
fn apply_patch(org: &mut Organization, patch: &Map<String, Value>, audience: Audience) -> Result<(), ApiError> {
    for (field, value) in patch {
        let text = || match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(ApiError::invalid(field, format!("{field} must be a string."))),
        };
        match field.as_str() {
            "name" => org.name = name(text()?)?,
            "slug" => {
                let slug = text()?.filter(|s| is_valid_slug(s)).ok_or_else(|| {
                    ApiError::invalid(
                        "slug",
                        "slug may hold a-z, 0-9 and single dashes, at most 64 characters.",
                    )
                })?;
                org.slug = slug;
            }
            "logo_url" => org.logo_url = validate::url("logo_url", text()?)?,
            "public_metadata" | "private_metadata" => {
                if field == "private_metadata" && audience != Audience::Server {
                    continue;
                }
                let cleared = serde_json::json!({});
                let value = if value.is_null() { &cleared } else { value };
                if !value.is_object() {
                    return Err(ApiError::invalid(field, format!("{field} must be an object.")));
                }
                let target = if field == "public_metadata" {
                    &mut org.public_metadata
                } else {
                    &mut org.private_metadata
                };
                validate::merge_patch(target, value);
                *target = validate::metadata(field, target.clone())?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Changes an organization's name, slug, logo or metadata.
pub async fn update(
    ctx: &TenantContext,
    caller: &OrgCaller,
    reference: &str,
    patch: &Value,
) -> Result<Shown, ApiError> {
    let patch = patch
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "The body must be a JSON object."))?;
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::UPDATE).await?;
        let audience = access.audience();
        let current = access.org;
        let mut org = current.next();
        apply_patch(&mut org, patch, audience)?;
        org.updated_at = ctx.deps.clock.now();
        let mut batch = TenantBatch::default().guard(current.unchanged()).write(org.put()?);
        if org.slug != current.slug {
            batch = batch
                .write(TenantWrite::InsertRecord(org.slug_record()))
                .write(TenantWrite::DeleteRecord {
                    kind: RecordKind::OrgSlug,
                    id: current.slug.clone(),
                });
        }
        batch = batch.write(event(
            ctx,
            EventType::OrganizationUpdated,
            json!({ "organization": org.view(Audience::Server) }),
        ));
        ctx.store.apply(batch).await?;
        Ok::<_, Race>(Shown::object(org.view(audience)))
    })
    .await
}

/// Deletes an organization with its memberships and invitations.
pub async fn delete(ctx: &TenantContext, caller: &OrgCaller, reference: &str) -> Result<Shown, ApiError> {
    retrying(|| async {
        let access = authorize(ctx, caller, reference, permission::DELETE).await?;
        let org = access.org;
        let mut batch = TenantBatch::default()
            .guard(org.unchanged())
            .write(TenantWrite::DeleteRecord {
                kind: RecordKind::Organization,
                id: org.id.clone(),
            })
            .write(TenantWrite::DeleteRecord {
                kind: RecordKind::OrgSlug,
                id: org.slug.clone(),
            })
            .write(TenantWrite::DeleteOwnerRecords {
                kind: RecordKind::Invitation,
                owner_id: org.id.clone(),
            });
        batch = batch
            .write(TenantWrite::DeleteRecordsWithPrefix {
                kind: RecordKind::Membership,
                prefix: membership_id(&org.id, ""),
            })
            .write(event(
                ctx,
                EventType::OrganizationDeleted,
                json!({ "organization": org.view(Audience::Server) }),
            ));
        ctx.store.apply(batch).await?;
        Ok::<_, Race>(Shown::Done)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_names() {
        assert_eq!(slugify("Acme, Inc."), "acme-inc");
        assert_eq!(slugify("  ¡Olé!  "), "ol");
        assert_eq!(slugify("!!!"), "org");
        assert!(is_valid_slug(&slugify(&"x".repeat(300))));
        assert!(!is_valid_slug("org_01"));
        assert!(!is_valid_slug("-a"));
    }
}
