//! Sign-up, sign-in and password change: the paths that hash passwords.

use crate::webhooks::EventType;
use serde_json::{json, Value};

use super::super::context::TenantContext;
use super::super::limits::{Limit, RateLimitInfo};
use super::super::messages::auth::{SignUp, SignedIn, SignedUp, StoredPassword};
use super::super::messages::{ClientInfo, Limited};
use super::sessions;
use crate::auth::password::{PasswordHasher, PasswordVerdict};
use crate::error::ApiError;
use crate::store::*;
use crate::validate;

/// Applies several limits in order, keeping the tightest report.
fn limits(ctx: &TenantContext, hits: &[(Limit, &str)]) -> Result<Option<RateLimitInfo>, (ApiError, RateLimitInfo)> {
    let mut tightest: Option<RateLimitInfo> = None;
    for (limit, key) in hits {
        if let Some(info) = ctx.limit(*limit, key)? {
            tightest = Some(info.tighter(tightest));
        }
    }
    Ok(tightest)
}

fn client_ip(client: &ClientInfo) -> &str {
    client.ip.as_deref().unwrap_or("unknown")
}

/// Creates an ordinary, unverified member and signs them in.
pub async fn sign_up(ctx: &TenantContext, input: SignUp, client: ClientInfo) -> Limited<SignedUp> {
    let rate_limit = match limits(ctx, &[(Limit::SignUpIp, client_ip(&client))]) {
        Ok(info) => info,
        Err((error, info)) => {
            return Limited {
                result: Err(error),
                rate_limit: Some(info),
            }
        }
    };
    Limited {
        result: create_and_sign_in(ctx, input, client).await,
        rate_limit,
    }
}

async fn create_and_sign_in(ctx: &TenantContext, input: SignUp, client: ClientInfo) -> Result<SignedUp, ApiError> {
    let email = validate::email(&input.email)?;
    validate::new_password(&input.password, ctx.tenant.auth_config.password_min_length)?;
    let name = validate::text("name", input.name, 256)?;
    let username = validate::text("username", input.username, 64)?;
    let unsafe_metadata = match input.unsafe_metadata {
        None | Some(Value::Null) => json!({}),
        Some(value) => validate::metadata("unsafe_metadata", value)?,
    };
    // Hash before looking at the email, so "taken" costs the same time as success.
    let password_hash = ctx.deps.hasher.hash(&input.password).await.map_err(ApiError::from)?;
    let now = ctx.deps.clock.now();
    // Pre-registration (API.md §3): until the address is proven, no session.
    let verify_first = ctx.tenant.auth_config.email_verification_required;
    let user = User {
        username,
        name,
        unsafe_metadata,
        last_sign_in_at: (!verify_first).then_some(now),
        ..User::new(email, Some(password_hash), now)
    };
    let mut batch = TenantBatch {
        guards: Vec::new(),
        writes: super::users::creation(ctx, &user).to_vec(),
    };
    if verify_first {
        ctx.store.apply(batch).await?;
        super::onetime::issue(ctx, super::onetime::Purpose::EmailVerification, &user, None).await?;
        ctx.auth_event("sign_up", true);
        return Ok(SignedUp {
            user: Box::new(user),
            tokens: None,
        });
    }
    let new_session = sessions::start(ctx, &user, vec!["pwd".to_owned()], client)?;
    batch.writes.extend(new_session.writes);
    ctx.store.apply(batch).await?;
    ctx.remember(&new_session.session);
    ctx.auth_event("sign_up", true);
    Ok(SignedUp {
        user: Box::new(user),
        tokens: Some(new_session.tokens),
    })
}

/// Signs a user in with email and password on the tenant's owner: [`sign_in_check`], the
/// argon2 check, then [`sign_in_finish`], composed by [`password_sign_in`]. Unknown email
/// and wrong password take the same path through argon2 and give the same error;
/// failures count toward the account's lockout, which holds even against the right
/// password.
pub async fn sign_in(ctx: &TenantContext, email: &str, password: &str, client: ClientInfo) -> Limited<SignedIn> {
    let checked = sign_in_check(ctx, email, password.len() > validate::MAX_PASSWORD_BYTES, &client).await;
    password_sign_in(&ctx.deps.hasher, password, checked, |stored, verdict| {
        sign_in_finish(ctx, email, stored, verdict, client)
    })
    .await
}

/// The three steps of a password sign-in, wherever its halves run (here, or on the
/// tenant's owner while another node checks the password): the outcome of the first half
/// (`checked`: limits, lockout, the stored hash), the password checked against that hash
/// with `hasher`, then `finish` with the hash and the verdict. The first half's limit
/// state stays with the answer.
pub async fn password_sign_in<F, Fut>(
    hasher: &PasswordHasher,
    password: &str,
    checked: Limited<StoredPassword>,
    finish: F,
) -> Limited<SignedIn>
where
    F: FnOnce(Option<String>, PasswordVerdict) -> Fut,
    Fut: std::future::Future<Output = Result<SignedIn, ApiError>>,
{
    let Limited { result, rate_limit } = checked;
    let result = match result {
        Ok(stored) => match hasher.check(password, stored.hash.as_deref()).await {
            Ok(verdict) => finish(stored.hash, verdict).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    Limited { result, rate_limit }
}

/// The first half of a sign-in: the rate limits, the lockout, and the stored hash the
/// password must match (`None` for an unknown account or an over-long password).
pub async fn sign_in_check(
    ctx: &TenantContext,
    email: &str,
    too_long: bool,
    client: &ClientInfo,
) -> Limited<StoredPassword> {
    let account = validate::account_key(email);
    let rate_limit = match limits(
        ctx,
        &[(Limit::SignInIp, client_ip(client)), (Limit::SignInAccount, &account)],
    ) {
        Ok(info) => info,
        Err((error, info)) => {
            return Limited {
                result: Err(error),
                rate_limit: Some(info),
            }
        }
    };
    let result = async {
        ctx.check_lock(&account)?;
        if too_long || validate::email(&account).is_err() {
            return Ok(StoredPassword { hash: None });
        }
        let user = super::users::find_by_email(ctx, &account, email).await?;
        Ok(StoredPassword {
            hash: user.and_then(|u| u.password_hash),
        })
    }
    .await;
    Limited { result, rate_limit }
}

/// The second half: counts a failure, or starts the session (or an MFA challenge) for a
/// matched password. `checked` is the hash the password was checked against; a password
/// changed since counts as a mismatch.
pub async fn sign_in_finish(
    ctx: &TenantContext,
    email: &str,
    checked: Option<String>,
    verdict: PasswordVerdict,
    client: ClientInfo,
) -> Result<SignedIn, ApiError> {
    let account = validate::account_key(email);
    let result = start_checked(ctx, &account, email, checked, verdict, client).await;
    // A right password that still needs its second factor is neither: the verification
    // counts it (see `mfa::verify`).
    match &result {
        Ok(_) => ctx.auth_event("sign_in", true),
        Err(ApiError::InvalidCredentials) => ctx.auth_event("sign_in", false),
        Err(_) => {}
    }
    result
}

async fn start_checked(
    ctx: &TenantContext,
    account: &str,
    typed: &str,
    checked: Option<String>,
    verdict: PasswordVerdict,
    client: ClientInfo,
) -> Result<SignedIn, ApiError> {
    let user = match (&checked, verdict.matched) {
        (Some(_), true) => super::users::find_by_email(ctx, account, typed).await?,
        _ => None,
    };
    let Some(mut user) = user.filter(|u| u.password_hash.is_some() && u.password_hash == checked) else {
        ctx.record_failure(account);
        return Err(ApiError::InvalidCredentials);
    };
    ctx.record_success(account)?;
    if user.status == UserStatus::Disabled {
        return Err(ApiError::AccountDisabled);
    }
    if ctx.tenant.auth_config.email_verification_required && !user.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    // A second factor: no session until `/v1/auth/mfa/verify` succeeds.
    super::mfa::challenge_if_enrolled(ctx, &user, &["pwd".to_owned()]).await?;
    let upgraded = verdict.upgraded;
    let now = ctx.deps.clock.now();
    user.last_sign_in_at = Some(now);
    if let Some(hash) = &upgraded {
        user.password_hash = Some(hash.clone());
    }
    let new_session = sessions::start(ctx, &user, vec!["pwd".to_owned()], client)?;
    let mut batch = TenantBatch::default()
        // The user as verified: a concurrent disable, password change or delete wins.
        .guard(Guard::UserVersion {
            user_id: user.id.clone(),
            updated_at: user.updated_at,
        })
        .write(TenantWrite::TouchUser {
            user_id: user.id.clone(),
            last_sign_in_at: now,
            password_hash: upgraded,
        });
    batch.writes.extend(new_session.writes);
    ctx.store.apply(batch).await.map_err(|e| match e {
        StoreError::Conflict => ApiError::InvalidCredentials,
        other => other.into(),
    })?;
    ctx.remember(&new_session.session);
    Ok(SignedIn {
        user: Box::new(user),
        tokens: new_session.tokens,
    })
}

/// Changes a signed-in user's password after checking the current one.
pub async fn change_password(
    ctx: &TenantContext,
    user_id: &str,
    session_id: &str,
    current: &str,
    new: &str,
    sign_out_others: bool,
) -> Result<(), ApiError> {
    let user = ctx.store.get_user(user_id).await?.ok_or(ApiError::SessionRevoked)?;
    // The current password is a sign-in of the account: same limit, same lockout (API.md §1.4).
    ctx.limit(Limit::SignInAccount, &user.email)
        .map_err(|(error, _)| error)?;
    ctx.check_lock(&user.email)?;
    let matched = current.len() <= validate::MAX_PASSWORD_BYTES
        && ctx
            .deps
            .hasher
            .verify(current, user.password_hash.as_deref())
            .await
            .map_err(ApiError::from)?;
    if !matched {
        ctx.record_failure(&user.email);
        return Err(ApiError::InvalidCredentials);
    }
    validate::new_password(new, ctx.tenant.auth_config.password_min_length)?;
    let hash = ctx.deps.hasher.hash(new).await.map_err(ApiError::from)?;
    let updated = User {
        password_hash: Some(hash),
        ..user.clone()
    };
    let (_, mut batch) = super::users::replacement(ctx, &user, updated, EventType::UserPasswordChanged);
    let resets = [super::onetime::Purpose::PasswordReset];
    batch
        .writes
        .extend(super::onetime::end_tokens(ctx, user_id, &resets, None).await?);
    if sign_out_others {
        batch
            .writes
            .extend(sessions::revoke_all_writes(ctx, user_id, Some(session_id)).await?);
    }
    ctx.store.apply(batch).await?;
    if sign_out_others {
        ctx.forget_user_sessions(user_id, Some(session_id));
    }
    Ok(())
}
