//! One-time tokens: password reset (1 h), email verification (48 h) and magic
//! links (15 min). 256 random bits, stored by hash in the tenant's store,
//! single use (a second use is `410 token_already_used`), bound to the tenant.

use crate::webhooks::EventType;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::super::context::TenantContext;
use super::super::limits::Limit;
use super::super::messages::auth::SignedIn;
use super::super::messages::{ClientInfo, Limited};
use super::{emails, mfa, sessions};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::store::*;
use crate::validate;

/// Prefix of one-time token values.
const PREFIX: &str = "hjt_";

/// What a token is for, and how long it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
    MagicLink,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 3] = [Purpose::PasswordReset, Purpose::EmailVerification, Purpose::MagicLink];

    fn ttl_secs(self) -> i64 {
        match self {
            Purpose::PasswordReset => 3600,
            Purpose::EmailVerification => 48 * 3600,
            Purpose::MagicLink => 15 * 60,
        }
    }
    fn template(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
            Purpose::MagicLink => "magic_link",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password-reset",
            Purpose::EmailVerification => "verify-email",
            Purpose::MagicLink => "magic-link",
        }
    }
}

/// A token as stored (by hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OneTime {
    purpose: Purpose,
    user_id: String,
    email: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    used: bool,
}

/// The link in the email: the caller's `redirect_url` when the tenant allows its origin,
/// else `path` under the tenant's issuer URL.
pub fn link(ctx: &TenantContext, path: &str, token: &str, redirect_url: Option<&str>) -> String {
    let allowed = redirect_url.filter(|url| allowed_redirect(ctx, url));
    let base = match allowed {
        Some(url) => url.to_owned(),
        None => format!("{}/{path}", ctx.issuer),
    };
    crate::oauth::with_params(&base, &[("token", token)])
}

/// Whether `url` lies under one of the tenant's `allowed_origins` (the app's own pages).
pub fn allowed_redirect(ctx: &TenantContext, url: &str) -> bool {
    ctx.tenant.auth_config.allowed_origins.iter().any(|origin| {
        let origin = origin.trim_end_matches('/');
        url == origin || url.starts_with(&format!("{origin}/")) || url.starts_with(&format!("{origin}?"))
    })
}

/// Issues a token for `user` and emails it.
pub(super) async fn issue(
    ctx: &TenantContext,
    purpose: Purpose,
    user: &User,
    redirect_url: Option<&str>,
) -> Result<(), ApiError> {
    let token = secrets::generate(PREFIX);
    let stored = OneTime {
        purpose,
        user_id: user.id.clone(),
        email: user.email.clone(),
        expires_at: ctx.deps.clock.now() + time::Duration::seconds(purpose.ttl_secs()),
        used: false,
    };
    let record = Record::new(RecordKind::OneTimeToken, &secrets::hash(&token), &user.id, &stored)?;
    ctx.store
        .apply(TenantBatch::default().write(TenantWrite::PutRecord(record)))
        .await?;
    let link = link(ctx, purpose.path(), &token, redirect_url);
    ctx.deps
        .mailer
        .send(emails::render(ctx, purpose.template(), &user.email, &link, &token));
    Ok(())
}

/// A token checked for its purpose, with the user it was mailed to: the stored claim, the
/// guard+write that use it up, and the user as read. A token mailed to an address the user
/// no longer has is worth nothing (API.md §3).
struct Redeemed {
    guard: Guard,
    write: TenantWrite,
    user: User,
}

async fn redeem(ctx: &TenantContext, purpose: Purpose, token: &str) -> Result<Redeemed, ApiError> {
    if !token.starts_with(PREFIX) || token.len() > 128 {
        return Err(ApiError::InvalidToken);
    }
    let hash = secrets::hash(token);
    let record = ctx
        .store
        .get_record(RecordKind::OneTimeToken, &hash)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let claim: OneTime = serde_json::from_value(record.doc.clone()).map_err(|_| ApiError::InvalidToken)?;
    if claim.purpose != purpose {
        return Err(ApiError::InvalidToken);
    }
    if claim.used {
        return Err(ApiError::TokenAlreadyUsed);
    }
    if claim.expires_at <= ctx.deps.clock.now() {
        return Err(ApiError::InvalidToken);
    }
    let user = ctx
        .store
        .get_user(&claim.user_id)
        .await?
        .filter(|u| u.email == claim.email)
        .ok_or(ApiError::InvalidToken)?;
    let guard = Guard::unused(RecordKind::OneTimeToken, &hash);
    let used = OneTime {
        used: true,
        ..claim.clone()
    };
    let write = TenantWrite::PutRecord(Record::new(RecordKind::OneTimeToken, &hash, &claim.user_id, &used)?);
    Ok(Redeemed { guard, write, user })
}

/// The writes ending every outstanding token of a user for one of `purposes`, except the
/// one being used: a reset or a password change leaves no other reset token alive, and an
/// email change no token at all (API.md §3).
pub async fn end_tokens(
    ctx: &TenantContext,
    user_id: &str,
    purposes: &[Purpose],
    except: Option<&str>,
) -> Result<Vec<TenantWrite>, ApiError> {
    let except = except.map(secrets::hash);
    let records = ctx.store.list_records(RecordKind::OneTimeToken, user_id).await?;
    Ok(records
        .into_iter()
        .filter(|r| Some(&r.id) != except.as_ref())
        .filter(|r| {
            serde_json::from_value::<OneTime>(r.doc.clone()).is_ok_and(|t| purposes.contains(&t.purpose) && !t.used)
        })
        .map(|r| TenantWrite::DeleteRecord {
            kind: RecordKind::OneTimeToken,
            id: r.id,
        })
        .collect())
}

/// The writes for a user who just proved a mailbox that was not verified yet: whoever
/// registered the address before keeps no password and no session (API.md §3,
/// pre-registration). A second factor stays: a mailbox alone never removes MFA, so a
/// factor someone else enrolled is for the tenant's admin to reset. `user` is edited to match.
async fn claim_mailbox(ctx: &TenantContext, user: &mut User) -> Result<Vec<TenantWrite>, ApiError> {
    if user.email_verified {
        return Ok(Vec::new());
    }
    user.email_verified = true;
    user.password_hash = None;
    sessions::revoke_all_writes(ctx, &user.id, None).await
}

/// A lost race on a token means someone used it first.
/// A lost compare-and-set: 410 when the token was used meanwhile; when only the user
/// record changed under us, the token is still good and the client may simply retry.
async fn lost_race(ctx: &TenantContext, token: &str, e: StoreError) -> ApiError {
    if !matches!(e, StoreError::Conflict) {
        return e.into();
    }
    match ctx
        .store
        .get_record(RecordKind::OneTimeToken, &secrets::hash(token))
        .await
    {
        Ok(Some(record)) if record.doc.get("used") == Some(&json!(false)) => {
            ApiError::Conflict("The account changed while the token was being used; retry.".into())
        }
        Ok(_) => ApiError::TokenAlreadyUsed,
        Err(e) => e.into(),
    }
}

/// Forgot-password and magic-link requests: 202 whether or not the email exists. The
/// lookup and the write happen after the answer, so its timing says nothing either.
pub async fn request(
    ctx: std::sync::Arc<TenantContext>,
    purpose: Purpose,
    email: String,
    redirect_url: Option<String>,
) -> Limited<()> {
    let account = validate::account_key(&email);
    let rate_limit = match ctx.limit(Limit::EmailSend, &account) {
        Ok(info) => info,
        Err((error, info)) => {
            return Limited {
                result: Err(error),
                rate_limit: Some(info),
            }
        }
    };
    tokio::spawn(async move {
        let sent = async {
            match super::users::find_by_email(&ctx, &account, &email).await? {
                Some(user) if user.status == UserStatus::Active => {
                    issue(&ctx, purpose, &user, redirect_url.as_deref()).await
                }
                _ => Ok(()),
            }
        };
        if let Err(e) = sent.await {
            tracing::warn!(tenant = %ctx.tenant.id, error = %e, "could not issue an email link");
        }
    });
    Limited {
        result: Ok(()),
        rate_limit,
    }
}

/// `POST /v1/auth/password/reset`: new password, every session revoked, the other reset
/// tokens ended; the reset proves the mailbox. MFA still applies at the next sign-in.
pub async fn reset_password(ctx: &TenantContext, token: &str, new_password: &str) -> Result<(), ApiError> {
    validate::new_password(new_password, ctx.tenant.auth_config.password_min_length)?;
    let redeemed = redeem(ctx, Purpose::PasswordReset, token).await?;
    let current = redeemed.user;
    let hash = ctx.deps.hasher.hash(new_password).await.map_err(ApiError::from)?;
    let mut changed = current.clone();
    let ended = if current.email_verified {
        sessions::revoke_all_writes(ctx, &current.id, None).await?
    } else {
        // Revokes every session too.
        claim_mailbox(ctx, &mut changed).await?
    };
    changed.password_hash = Some(hash);
    let (user, mut batch) = super::users::replacement(ctx, &current, changed, EventType::UserPasswordChanged);
    // The token is locked first, as before the user.
    batch.guards.insert(0, redeemed.guard);
    batch.writes.push(redeemed.write);
    batch.writes.extend(ended);
    batch
        .writes
        .extend(end_tokens(ctx, &user.id, &[Purpose::PasswordReset], Some(token)).await?);
    if let Err(e) = ctx.store.apply(batch).await {
        return Err(lost_race(ctx, token, e).await);
    }
    ctx.forget_user_sessions(&user.id, None);
    Ok(())
}

/// `POST /v1/auth/email/verify/send`: mails a verification link (nothing when already verified).
pub async fn send_verification(ctx: &TenantContext, user_id: &str) -> Result<(), ApiError> {
    let user = ctx.store.get_user(user_id).await?.ok_or(ApiError::SessionRevoked)?;
    if !user.email_verified {
        issue(ctx, Purpose::EmailVerification, &user, None).await?;
    }
    Ok(())
}

/// `POST /v1/auth/email/verify`: marks the address verified (if it is still the user's).
/// This is the sign-up's own path, so the password set at sign-up stays.
pub async fn verify_email(ctx: &TenantContext, token: &str) -> Result<Box<User>, ApiError> {
    let redeemed = redeem(ctx, Purpose::EmailVerification, token).await?;
    let current = redeemed.user;
    let changed = User {
        email_verified: true,
        ..current.clone()
    };
    let (user, mut batch) = super::users::replacement(ctx, &current, changed, EventType::UserUpdated);
    // The token is locked first, as before the user.
    batch.guards.insert(0, redeemed.guard);
    batch.writes.push(redeemed.write);
    if let Err(e) = ctx.store.apply(batch).await {
        return Err(lost_race(ctx, token, e).await);
    }
    Ok(Box::new(user))
}

/// `POST /v1/auth/magic-link/verify`: a session (`amr: ["email"]`), or an MFA challenge when
/// enrolled. The first proof of an unverified mailbox discards what came before it.
pub async fn magic_link_sign_in(ctx: &TenantContext, token: &str, client: ClientInfo) -> Result<SignedIn, ApiError> {
    let redeemed = redeem(ctx, Purpose::MagicLink, token).await?;
    let current = redeemed.user;
    if current.status == UserStatus::Disabled {
        return Err(ApiError::AccountDisabled);
    }
    // The link is used up even when a second factor is still required.
    let mut user = current.clone();
    let claimed = claim_mailbox(ctx, &mut user).await?;
    let discarded = !current.email_verified;
    user.last_sign_in_at = Some(ctx.deps.clock.now());
    user.updated_at = super::next_version(ctx, &current);
    let user_guard = Guard::UserVersion {
        user_id: user.id.clone(),
        updated_at: current.updated_at,
    };
    let mut consume = TenantBatch::default()
        .guard(redeemed.guard)
        .guard(user_guard)
        .write(redeemed.write)
        .write(TenantWrite::UpdateUser(user.clone()));
    if discarded {
        // The first proof of the mailbox verifies the email: a change webhooks hear of.
        let shown = json!({ "user": crate::views::user(&user, crate::views::Audience::Server) });
        consume = consume.write(TenantWrite::AppendEvent(sessions::event(
            EventType::UserUpdated,
            shown,
            ctx,
        )));
    }
    consume.writes.extend(claimed);
    if let Err(e) = ctx.store.apply(consume).await {
        return Err(lost_race(ctx, token, e).await);
    }
    if discarded {
        ctx.forget_user_sessions(&user.id, None);
    }
    mfa::challenge_if_enrolled(ctx, &user, &["email".to_owned()]).await?;
    let new_session = sessions::start(ctx, &user, vec!["email".to_owned()], client)?;
    ctx.store
        .apply(TenantBatch {
            guards: Vec::new(),
            writes: new_session.writes,
        })
        .await?;
    ctx.remember(&new_session.session);
    ctx.auth_event("magic_link_sign_in", true);
    Ok(SignedIn {
        user: Box::new(user),
        tokens: new_session.tokens,
    })
}
