//! Sign-up and sign-in with a password.

use serde_json::{json, Value};

use super::super::context::TenantContext;
use super::super::messages::{ClientInfo, TenantReply, TenantResponse};
use super::sessions;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::validate;
use crate::views;

/// The fields a sign-up may set; anything else in the body is ignored.
pub struct SignUp {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub username: Option<String>,
    pub unsafe_metadata: Option<Value>,
}

fn password_error(e: crate::auth::password::PasswordError) -> ApiError {
    tracing::error!(error = %e, "password hashing failed");
    ApiError::unavailable()
}

/// Creates an ordinary, unverified member and signs them in.
pub async fn sign_up(ctx: &TenantContext, input: SignUp, client: ClientInfo) -> TenantReply {
    let email = validate::email(&input.email)?;
    validate::new_password(&input.password, ctx.tenant.auth_config.password_min_length)?;
    let name = validate::text("name", input.name, 256)?;
    let username = validate::text("username", input.username, 64)?;
    let unsafe_metadata = match input.unsafe_metadata {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => {
            return Err(ApiError::invalid(
                "unsafe_metadata",
                "unsafe_metadata must be an object.",
            ))
        }
    };
    // Hash before looking at the email, so "taken" costs the same time as success.
    let password_hash = ctx.deps.hasher.hash(&input.password).await.map_err(password_error)?;
    let now = ctx.deps.clock.now();
    let user = User {
        id: new_id(prefix::USER),
        email,
        email_verified: false,
        username,
        name,
        avatar_url: None,
        phone: None,
        status: UserStatus::Active,
        role: UserRole::Member,
        mfa_enabled: false,
        public_metadata: json!({}),
        private_metadata: json!({}),
        unsafe_metadata,
        password_hash: Some(password_hash),
        created_at: now,
        updated_at: now,
        last_sign_in_at: Some(now),
    };
    let new_session = sessions::start(ctx, &user, vec!["pwd".to_owned()], client)?;
    let created = sessions::event(
        "user.created",
        json!({ "user": views::user(&user, views::Audience::Server) }),
        ctx,
    );
    let mut batch = TenantBatch::default()
        .write(TenantWrite::InsertUser(user.clone()))
        .write(TenantWrite::AppendEvent(created));
    batch.writes.extend(new_session.writes);
    ctx.store.apply(batch).await?;
    ctx.remember(&new_session.session);
    metrics::counter!("hellojohn_auth_events_total", "event" => "sign_up", "result" => "success").increment(1);
    Ok(TenantResponse::SignedIn {
        user: Box::new(user),
        tokens: new_session.tokens,
    })
}

/// Signs a user in with email and password. Unknown email and wrong password
/// take the same path through argon2 and give the same error.
pub async fn sign_in(ctx: &TenantContext, email: &str, password: &str, client: ClientInfo) -> TenantReply {
    let failed = || {
        metrics::counter!("hellojohn_auth_events_total", "event" => "sign_in", "result" => "failure").increment(1);
        ApiError::InvalidCredentials
    };
    if password.len() > validate::MAX_PASSWORD_BYTES {
        return Err(failed());
    }
    let email = validate::email(email).unwrap_or_default();
    let user = if email.is_empty() {
        None
    } else {
        ctx.store.find_user_by_email(&email).await?
    };
    let phc = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let matched = ctx.deps.hasher.verify(password, phc).await.map_err(password_error)?;
    let Some(mut user) = user.filter(|_| matched) else {
        return Err(failed());
    };
    if user.status == UserStatus::Disabled {
        return Err(ApiError::AccountDisabled);
    }
    user.last_sign_in_at = Some(ctx.deps.clock.now());
    let new_session = sessions::start(ctx, &user, vec!["pwd".to_owned()], client)?;
    let mut batch = TenantBatch::default().write(TenantWrite::UpdateUser(user.clone()));
    batch.writes.extend(new_session.writes);
    ctx.store.apply(batch).await?;
    ctx.remember(&new_session.session);
    metrics::counter!("hellojohn_auth_events_total", "event" => "sign_in", "result" => "success").increment(1);
    Ok(TenantResponse::SignedIn {
        user: Box::new(user),
        tokens: new_session.tokens,
    })
}
