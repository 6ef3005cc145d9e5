//! The users API (secret key) and the user's own profile edits.

use crate::webhooks::EventType;
use serde_json::{json, Map, Value};

use super::super::context::TenantContext;
use super::super::messages::users::NewUser;
use super::sessions;
use crate::auth::password;
use crate::error::ApiError;
use crate::store::*;
use crate::validate;
use crate::views::{self, Audience};

/// Fields a signed-in user may change on themselves.
const SELF_FIELDS: &[&str] = &["name", "username", "avatar_url", "unsafe_metadata"];
/// Fields a secret-key caller may change.
const SERVER_FIELDS: &[&str] = &[
    "name",
    "username",
    "avatar_url",
    "unsafe_metadata",
    "email",
    "email_verified",
    "role",
    "public_metadata",
    "private_metadata",
];

fn role(value: &str) -> Result<UserRole, ApiError> {
    match value {
        "member" => Ok(UserRole::Member),
        "admin" => Ok(UserRole::Admin),
        _ => Err(ApiError::invalid("role", "role must be member or admin.")),
    }
}

fn string_field(field: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ApiError::invalid(field, format!("{field} must be a string or null."))),
    }
}

/// Creates a user (with a password, an imported hash, or neither).
pub async fn create(ctx: &TenantContext, input: NewUser) -> Result<Box<User>, ApiError> {
    let email = validate::email(
        &input
            .email
            .ok_or_else(|| ApiError::invalid("email", "email is required."))?,
    )?;
    let password_hash = match (input.password, input.password_hash) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "password_hash",
                "Send password or password_hash, not both.",
            ))
        }
        (Some(password), None) => {
            validate::new_password(&password, ctx.tenant.auth_config.password_min_length)?;
            Some(ctx.deps.hasher.hash(&password).await.map_err(ApiError::from)?)
        }
        (None, Some(hash)) if password::is_supported_hash(&hash) => Some(hash),
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "password_hash",
                "password_hash must be an argon2 PHC or bcrypt hash.",
            ))
        }
        (None, None) => None,
    };
    let now = ctx.deps.clock.now();
    let user = User {
        email_verified: input.email_verified.unwrap_or(false),
        username: validate::text("username", input.username, 64)?,
        name: validate::text("name", input.name, 256)?,
        role: input.role.as_deref().map(role).transpose()?.unwrap_or(UserRole::Member),
        public_metadata: validate::metadata("public_metadata", input.public_metadata.unwrap_or_else(|| json!({})))?,
        private_metadata: validate::metadata("private_metadata", input.private_metadata.unwrap_or_else(|| json!({})))?,
        ..User::new(email, password_hash, now)
    };
    ctx.store
        .apply(TenantBatch {
            guards: Vec::new(),
            writes: creation(ctx, &user).to_vec(),
        })
        .await?;
    Ok(Box::new(user))
}

/// The user with the address `typed` (normalised: `account`). Addresses stored before
/// emails were NFC-normalised keep the form they were typed in, so that form is tried too.
pub async fn find_by_email(ctx: &TenantContext, account: &str, typed: &str) -> Result<Option<User>, ApiError> {
    if let Some(user) = ctx.store.find_user_by_email(account).await? {
        return Ok(Some(user));
    }
    match validate::pre_nfc_email(typed) {
        Some(legacy) => Ok(ctx.store.find_user_by_email(&legacy).await?),
        None => Ok(None),
    }
}

/// The writes that create `user`: the row (`Duplicate("email")` when taken) and `user.created`.
pub fn creation(ctx: &TenantContext, user: &User) -> [TenantWrite; 2] {
    let event = sessions::event(
        EventType::UserCreated,
        json!({ "user": views::user(user, Audience::Server) }),
        ctx,
    );
    [TenantWrite::InsertUser(user.clone()), TenantWrite::AppendEvent(event)]
}

/// Applies a PATCH body to a user; unknown fields are ignored, listed ones validated.
fn apply_patch(user: &mut User, patch: &Map<String, Value>, by_server: bool) -> Result<(), ApiError> {
    let allowed = if by_server { SERVER_FIELDS } else { SELF_FIELDS };
    for (field, value) in patch.iter().filter(|(k, _)| allowed.contains(&k.as_str())) {
        match field.as_str() {
            "name" => user.name = validate::text("name", string_field(field, value)?, 256)?,
            "username" => user.username = validate::text("username", string_field(field, value)?, 64)?,
            "avatar_url" => user.avatar_url = validate::url("avatar_url", string_field(field, value)?)?,
            "email" => {
                let email =
                    string_field(field, value)?.ok_or_else(|| ApiError::invalid("email", "email can't be null."))?;
                let email = validate::email(&email)?;
                if email != user.email {
                    user.email = email;
                    user.email_verified = false;
                }
            }
            "email_verified" => {
                user.email_verified = value
                    .as_bool()
                    .ok_or_else(|| ApiError::invalid(field, "email_verified must be a boolean."))?
            }
            "role" => user.role = role(value.as_str().unwrap_or_default())?,
            "public_metadata" | "private_metadata" | "unsafe_metadata" => {
                if !value.is_object() {
                    return Err(ApiError::invalid(field, format!("{field} must be an object.")));
                }
                let target = match field.as_str() {
                    "public_metadata" => &mut user.public_metadata,
                    "private_metadata" => &mut user.private_metadata,
                    _ => &mut user.unsafe_metadata,
                };
                validate::merge_patch(target, value);
                *target = validate::metadata(field, target.clone())?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// One user.
pub async fn get(ctx: &TenantContext, user_id: &str) -> Result<Box<User>, ApiError> {
    match ctx.store.get_user(user_id).await? {
        Some(user) => Ok(Box::new(user)),
        None => Err(ApiError::NotFound),
    }
}

/// PATCHes a user (`by_server`: secret key; else the user on themselves), with optimistic concurrency.
pub async fn update(ctx: &TenantContext, user_id: &str, patch: &Value, by_server: bool) -> Result<Box<User>, ApiError> {
    let patch = patch
        .as_object()
        .ok_or_else(|| ApiError::invalid("body", "The body must be a JSON object."))?;
    let current = ctx.store.get_user(user_id).await?.ok_or(ApiError::NotFound)?;
    let mut user = current.clone();
    apply_patch(&mut user, patch, by_server)?;
    let email_changed = user.email != current.email;
    let (user, mut batch) = replacement(ctx, &current, user, EventType::UserUpdated);
    if email_changed {
        // Links mailed to the old address stay dead, even if it comes back later.
        let purposes = super::onetime::Purpose::ALL;
        batch
            .writes
            .extend(super::onetime::end_tokens(ctx, user_id, &purposes, None).await?);
    }
    ctx.store.apply(batch).await?;
    Ok(Box::new(user))
}

/// `changed` (a copy of `current` with edits) as the user's next version, and the batch that
/// stores it with its `event_type` event only if nobody changed the user since `current`.
pub fn replacement(
    ctx: &TenantContext,
    current: &User,
    mut changed: User,
    event_type: EventType,
) -> (User, TenantBatch) {
    changed.updated_at = super::next_version(ctx, current);
    let event = sessions::event(
        event_type,
        json!({ "user": views::user(&changed, Audience::Server) }),
        ctx,
    );
    let batch = TenantBatch::default()
        .guard(Guard::UserVersion {
            user_id: current.id.clone(),
            updated_at: current.updated_at,
        })
        .write(TenantWrite::UpdateUser(changed.clone()))
        .write(TenantWrite::AppendEvent(event));
    (changed, batch)
}

/// Deletes a user and everything of theirs.
pub async fn delete(ctx: &TenantContext, user_id: &str) -> Result<(), ApiError> {
    let user = ctx.store.get_user(user_id).await?.ok_or(ApiError::NotFound)?;
    let event = sessions::event(
        EventType::UserDeleted,
        json!({ "user": { "id": user.id, "email": user.email } }),
        ctx,
    );
    super::orgs::claims::delete_user(ctx, &user, vec![TenantWrite::AppendEvent(event)]).await?;
    ctx.forget_user_sessions(user_id, None);
    Ok(())
}

/// Disables (revoking every session) or re-enables a user.
pub async fn set_disabled(ctx: &TenantContext, user_id: &str, disabled: bool) -> Result<Box<User>, ApiError> {
    let current = ctx.store.get_user(user_id).await?.ok_or(ApiError::NotFound)?;
    let mut user = current.clone();
    user.status = if disabled {
        UserStatus::Disabled
    } else {
        UserStatus::Active
    };
    let kind = if disabled {
        EventType::UserDisabled
    } else {
        EventType::UserEnabled
    };
    let (user, mut batch) = replacement(ctx, &current, user, kind);
    if disabled {
        batch
            .writes
            .extend(sessions::revoke_all_writes(ctx, user_id, None).await?);
    }
    ctx.store.apply(batch).await?;
    if disabled {
        ctx.forget_user_sessions(user_id, None);
    }
    Ok(Box::new(user))
}

/// Lists users, newest first.
pub async fn list(ctx: &TenantContext, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, ApiError> {
    Ok(ctx.store.list_users(filter, page).await?)
}
