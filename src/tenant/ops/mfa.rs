//! TOTP factors, backup codes and sign-in challenges. Every code is checked
//! and consumed in the same batch as the action it unlocks, with a
//! compare-and-set on the factor's version, so a code works once even across
//! restarts and nodes (the last accepted TOTP step is stored with the factor).

use crate::webhooks::EventType;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use super::super::context::TenantContext;
use super::super::limits::Limit;
use super::super::messages::auth::SignedIn;
use super::super::messages::mfa::{FactorConfirmed, TotpEnrollment};
use super::super::messages::{ClientInfo, Limited};
use super::sessions;
use crate::auth::totp;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::views;

/// How long a sign-in challenge lives.
const CHALLENGE_SECS: i64 = 300;
/// Wrong codes a challenge takes before it dies.
const CHALLENGE_ATTEMPTS: u32 = 5;

/// A factor as stored (the TOTP secret sealed; backup codes hashed).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Factor {
    id: String,
    user_id: String,
    #[serde(rename = "type")]
    kind: String,
    status: String,
    name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
    secret_enc: Option<String>,
    /// The last TOTP time step accepted: a code of that step or an earlier one is a replay.
    last_step: u64,
    /// Hashes of the unused backup codes.
    codes: Vec<String>,
    version: u64,
}

/// A pending second step of a sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Challenge {
    id: String,
    user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    attempts: u32,
    used: bool,
    version: u64,
    amr: Vec<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(record: Record) -> Result<T, ApiError> {
    Ok(record.parse()?)
}

/// The API view of a factor.
fn view(f: &Factor) -> views::objects::Factor {
    views::objects::Factor {
        id: f.id.clone(),
        kind: f.kind.clone(),
        status: f.status.clone(),
        name: f.name.clone(),
        created_at: views::timestamp(f.created_at),
        last_used_at: f.last_used_at.map(views::timestamp),
    }
}

async fn factors(ctx: &TenantContext, user_id: &str) -> Result<Vec<Factor>, ApiError> {
    ctx.store
        .list_records(RecordKind::MfaFactor, user_id)
        .await?
        .into_iter()
        .map(parse)
        .collect()
}

fn active_totp(all: &[Factor]) -> Option<&Factor> {
    all.iter().find(|f| f.kind == "totp" && f.status == "active")
}

fn secret_of(ctx: &TenantContext, f: &Factor) -> Result<Vec<u8>, ApiError> {
    let sealed = f.secret_enc.as_deref().ok_or(ApiError::Internal)?;
    ctx.deps.master_key.open(sealed, &f.id).map_err(|_| ApiError::Internal)
}

/// A code checked against the user's factors: the guard and write that consume it.
struct Consumed {
    guard: Guard,
    write: TenantWrite,
}

/// Checks a TOTP or backup code; the result must be applied in the same batch as its action.
async fn consume(ctx: &TenantContext, user_id: &str, code: &str) -> Result<Consumed, ApiError> {
    let all = factors(ctx, user_id).await?;
    let now = ctx.deps.clock.now();
    let code = code.trim();
    if let Some(f) = active_totp(&all) {
        let step = totp::matching_step(&secret_of(ctx, f)?, code, now.unix_timestamp().max(0) as u64);
        if let Some(step) = step.filter(|s| *s > f.last_step) {
            let guard = Guard::version(RecordKind::MfaFactor, &f.id, f.version);
            let used = Factor {
                last_step: step,
                last_used_at: Some(now),
                version: f.version + 1,
                ..f.clone()
            };
            return Ok(Consumed {
                guard,
                write: TenantWrite::PutRecord(Record::new(RecordKind::MfaFactor, &f.id, user_id, &used)?),
            });
        }
    }
    if let Some(hash) = totp::backup_code_hash(code) {
        if let Some(f) = all.iter().find(|f| f.kind == "backup_codes" && f.codes.contains(&hash)) {
            let guard = Guard::version(RecordKind::MfaFactor, &f.id, f.version);
            let codes = f.codes.iter().filter(|c| **c != hash).cloned().collect();
            let used = Factor {
                codes,
                last_used_at: Some(now),
                version: f.version + 1,
                ..f.clone()
            };
            return Ok(Consumed {
                guard,
                write: TenantWrite::PutRecord(Record::new(RecordKind::MfaFactor, &f.id, user_id, &used)?),
            });
        }
    }
    Err(ApiError::InvalidMfaCode)
}

/// Guessing codes through factor management counts against the same per-user MFA limit as sign-in.
fn limit_guesses(ctx: &TenantContext, user_id: &str) -> Result<(), ApiError> {
    ctx.limit(Limit::MfaUser, user_id)
        .map(|_| ())
        .map_err(|(error, _)| error)
}

/// Maps a lost compare-and-set on a factor to a rejected code: it was used meanwhile.
fn code_race(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict => ApiError::InvalidMfaCode,
        other => other.into(),
    }
}

/// `POST /v1/me/mfa/totp`: a new pending factor (replacing an unconfirmed one).
pub async fn start_totp(ctx: &TenantContext, user_id: &str) -> Result<TotpEnrollment, ApiError> {
    let user = ctx.store.get_user(user_id).await?.ok_or(ApiError::SessionRevoked)?;
    let all = factors(ctx, user_id).await?;
    if active_totp(&all).is_some() {
        return Err(ApiError::Conflict(
            "A TOTP factor is already active; remove it first.".into(),
        ));
    }
    let id = new_id(prefix::FACTOR);
    let secret = totp::new_secret();
    let factor = Factor {
        id: id.clone(),
        user_id: user_id.to_owned(),
        kind: "totp".into(),
        status: "pending".into(),
        name: Some("Authenticator app".into()),
        created_at: ctx.deps.clock.now(),
        last_used_at: None,
        secret_enc: Some(ctx.deps.master_key.seal(&secret, &id).map_err(|_| ApiError::Internal)?),
        last_step: 0,
        codes: Vec::new(),
        version: 0,
    };
    let mut batch = TenantBatch::default();
    for old in all.iter().filter(|f| f.kind == "totp" && f.status == "pending") {
        batch.writes.push(TenantWrite::DeleteRecord {
            kind: RecordKind::MfaFactor,
            id: old.id.clone(),
        });
    }
    batch.writes.push(TenantWrite::PutRecord(Record::new(
        RecordKind::MfaFactor,
        &id,
        user_id,
        &factor,
    )?));
    ctx.store.apply(batch).await?;
    let secret_base32 = totp::to_base32(&secret);
    let uri = totp::otpauth_uri(&ctx.tenant.name, &user.email, &secret_base32);
    Ok(TotpEnrollment {
        factor_id: id,
        qr_code_svg: totp::qr_svg(&uri).unwrap_or_default(),
        secret: secret_base32,
        otpauth_uri: uri,
    })
}

fn backup_factor(ctx: &TenantContext, user_id: &str, codes: &[String]) -> Factor {
    Factor {
        id: new_id(prefix::FACTOR),
        user_id: user_id.to_owned(),
        kind: "backup_codes".into(),
        status: "active".into(),
        name: Some("Backup codes".into()),
        created_at: ctx.deps.clock.now(),
        last_used_at: None,
        secret_enc: None,
        last_step: 0,
        codes: codes.iter().filter_map(|c| totp::backup_code_hash(c)).collect(),
        version: 0,
    }
}

/// Writes that set `mfa_enabled` on the user (and the guard that makes it safe).
async fn set_mfa_enabled(
    ctx: &TenantContext,
    user_id: &str,
    enabled: bool,
) -> Result<(Guard, TenantWrite, User), ApiError> {
    let current = ctx.store.get_user(user_id).await?.ok_or(ApiError::SessionRevoked)?;
    let guard = Guard::UserVersion {
        user_id: user_id.to_owned(),
        updated_at: current.updated_at,
    };
    let mut user = current.clone();
    user.mfa_enabled = enabled;
    user.updated_at = super::next_version(ctx, &current);
    Ok((guard, TenantWrite::UpdateUser(user.clone()), user))
}

/// `POST /v1/me/mfa/totp/confirm`: activates the factor with a valid code and hands out backup codes.
pub async fn confirm_totp(
    ctx: &TenantContext,
    user_id: &str,
    factor_id: &str,
    code: &str,
) -> Result<FactorConfirmed, ApiError> {
    let record_ = ctx
        .store
        .get_record(RecordKind::MfaFactor, factor_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if record_.owner_id != user_id {
        return Err(ApiError::NotFound);
    }
    let pending: Factor = parse(record_)?;
    if pending.kind != "totp" || pending.status != "pending" {
        return Err(ApiError::Conflict(
            "This factor is not waiting for confirmation.".into(),
        ));
    }
    let now = ctx.deps.clock.now();
    let step = totp::matching_step(
        &secret_of(ctx, &pending)?,
        code.trim(),
        now.unix_timestamp().max(0) as u64,
    )
    .ok_or(ApiError::InvalidMfaCode)?;
    let active = Factor {
        status: "active".into(),
        last_step: step,
        last_used_at: Some(now),
        version: pending.version + 1,
        ..pending.clone()
    };
    let codes = totp::new_backup_codes();
    let backup = backup_factor(ctx, user_id, &codes);
    let (user_guard, user_write, user) = set_mfa_enabled(ctx, user_id, true).await?;
    let mut batch = TenantBatch::default()
        .guard(Guard::version(RecordKind::MfaFactor, factor_id, pending.version))
        .guard(user_guard)
        .write(TenantWrite::PutRecord(Record::new(
            RecordKind::MfaFactor,
            factor_id,
            user_id,
            &active,
        )?));
    for old in factors(ctx, user_id)
        .await?
        .into_iter()
        .filter(|f| f.kind == "backup_codes")
    {
        batch.writes.push(TenantWrite::DeleteRecord {
            kind: RecordKind::MfaFactor,
            id: old.id,
        });
    }
    batch.writes.push(TenantWrite::PutRecord(Record::new(
        RecordKind::MfaFactor,
        &backup.id,
        user_id,
        &backup,
    )?));
    batch.writes.push(user_write);
    let event = sessions::event(
        EventType::MfaEnrolled,
        json!({ "user": views::user(&user, views::Audience::Server), "factor": view(&active) }),
        ctx,
    );
    batch.writes.push(TenantWrite::AppendEvent(event));
    ctx.store.apply(batch).await.map_err(|e| match e {
        // Confirmed by a parallel request, or the account changed: nothing was consumed.
        StoreError::Conflict => ApiError::Conflict("The factor or the account changed meanwhile; retry.".into()),
        other => other.into(),
    })?;
    Ok(FactorConfirmed {
        factor: view(&active),
        backup_codes: codes,
    })
}

/// The user's factors (API views).
pub async fn list(ctx: &TenantContext, user_id: &str) -> Result<Vec<views::objects::Factor>, ApiError> {
    Ok(factors(ctx, user_id).await?.iter().map(view).collect())
}

/// Removes a factor: with `code` (the user, who must prove a current factor), or without (secret key).
/// Removing the TOTP factor removes the backup codes and turns `mfa_enabled` off.
pub async fn remove(ctx: &TenantContext, user_id: &str, factor_id: &str, code: Option<&str>) -> Result<(), ApiError> {
    let all = factors(ctx, user_id).await?;
    let target = all.iter().find(|f| f.id == factor_id).ok_or(ApiError::NotFound)?;
    let mut batch = TenantBatch::default();
    // A pending factor unlocks nothing, so removing it needs no code.
    if let Some(code) = code.filter(|_| target.status == "active") {
        limit_guesses(ctx, user_id)?;
        let consumed = consume(ctx, user_id, code).await?;
        batch = batch.guard(consumed.guard).write(consumed.write);
    }
    let removes_totp = target.kind == "totp";
    for f in all
        .iter()
        .filter(|f| f.id == factor_id || (removes_totp && f.kind == "backup_codes"))
    {
        batch.writes.push(TenantWrite::DeleteRecord {
            kind: RecordKind::MfaFactor,
            id: f.id.clone(),
        });
    }
    let user = if removes_totp && target.status == "active" {
        let (guard, write, user) = set_mfa_enabled(ctx, user_id, false).await?;
        batch = batch.guard(guard).write(write);
        Some(user)
    } else {
        ctx.store.get_user(user_id).await?
    };
    let user_view = user.as_ref().map(|u| views::user(u, views::Audience::Server));
    let event = sessions::event(
        EventType::MfaRemoved,
        json!({ "user": user_view, "factor": view(target) }),
        ctx,
    );
    batch.writes.push(TenantWrite::AppendEvent(event));
    ctx.store.apply(batch).await.map_err(code_race)?;
    Ok(())
}

/// New backup codes (a current code required); every older code stops working.
pub async fn regenerate_backup_codes(ctx: &TenantContext, user_id: &str, code: &str) -> Result<Vec<String>, ApiError> {
    let all = factors(ctx, user_id).await?;
    if active_totp(&all).is_none() {
        return Err(ApiError::Conflict("Backup codes need an active TOTP factor.".into()));
    }
    limit_guesses(ctx, user_id)?;
    let consumed = consume(ctx, user_id, code).await?;
    let codes = totp::new_backup_codes();
    let backup = backup_factor(ctx, user_id, &codes);
    let mut batch = TenantBatch::default().guard(consumed.guard).write(consumed.write);
    for old in all.into_iter().filter(|f| f.kind == "backup_codes") {
        batch.writes.push(TenantWrite::DeleteRecord {
            kind: RecordKind::MfaFactor,
            id: old.id,
        });
    }
    batch.writes.push(TenantWrite::PutRecord(Record::new(
        RecordKind::MfaFactor,
        &backup.id,
        user_id,
        &backup,
    )?));
    ctx.store.apply(batch).await.map_err(code_race)?;
    Ok(codes)
}

/// At sign-in: when the user has an active factor, a challenge instead of a session.
/// With the tenant's `mfa_required`, a user without a factor gets `mfa_required` too, with
/// no factor to offer: such users enroll from the session sign-up gives them.
pub async fn challenge_if_enrolled(ctx: &TenantContext, user: &User, amr: &[String]) -> Result<(), ApiError> {
    let all = factors(ctx, &user.id).await?;
    let enrolled = active_totp(&all).is_some();
    if !enrolled && !ctx.tenant.auth_config.mfa_required {
        return Ok(());
    }
    let available_factors = if enrolled {
        vec!["totp".into(), "backup_code".into()]
    } else {
        Vec::new()
    };
    let challenge = Challenge {
        id: new_id(prefix::CHALLENGE),
        user_id: user.id.clone(),
        expires_at: ctx.deps.clock.now() + time::Duration::seconds(CHALLENGE_SECS),
        attempts: 0,
        used: false,
        version: 0,
        amr: amr.to_vec(),
    };
    let write = TenantWrite::PutRecord(Record::new(
        RecordKind::MfaChallenge,
        &challenge.id,
        &user.id,
        &challenge,
    )?);
    ctx.store.apply(TenantBatch::default().write(write)).await?;
    Err(ApiError::MfaRequired {
        challenge_id: challenge.id,
        available_factors,
    })
}

/// `POST /v1/auth/mfa/verify`: finishes a sign-in with a TOTP or backup code.
pub async fn verify(ctx: &TenantContext, challenge_id: &str, code: &str, client: ClientInfo) -> Limited<SignedIn> {
    let found = match ctx.store.get_record(RecordKind::MfaChallenge, challenge_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(ApiError::InvalidMfaCode).into(),
        Err(e) => return Err(e.into()).into(),
    };
    let rate_limit = match ctx.limit(Limit::MfaUser, &found.owner_id) {
        Ok(info) => info,
        Err((error, info)) => {
            return Limited {
                result: Err(error),
                rate_limit: Some(info),
            }
        }
    };
    let result = finish(ctx, found, code, client).await;
    if result.is_ok() {
        ctx.auth_event("mfa_sign_in", true);
    }
    Limited { result, rate_limit }
}

/// Counts one attempt on a challenge before its code is looked at, so parallel guesses
/// each count: the fifth attempt is the last, whatever the timing. Returns the challenge
/// as it stands after counting.
async fn take_attempt(ctx: &TenantContext, challenge_id: &str, mut current: Record) -> Result<Challenge, ApiError> {
    for _ in 0..20 {
        let challenge: Challenge = parse(current)?;
        if challenge.used || challenge.expires_at <= ctx.deps.clock.now() || challenge.attempts >= CHALLENGE_ATTEMPTS {
            return Err(ApiError::InvalidMfaCode);
        }
        let counted = Challenge {
            attempts: challenge.attempts + 1,
            version: challenge.version + 1,
            ..challenge.clone()
        };
        let write = TenantWrite::PutRecord(Record::new(
            RecordKind::MfaChallenge,
            &counted.id,
            &counted.user_id,
            &counted,
        )?);
        let guard = Guard::version(RecordKind::MfaChallenge, &challenge.id, challenge.version);
        match ctx.store.apply(TenantBatch::default().guard(guard).write(write)).await {
            Ok(()) => return Ok(counted),
            // Another attempt counted first: read it again and count this one after it.
            Err(StoreError::Conflict) => {
                current = ctx
                    .store
                    .get_record(RecordKind::MfaChallenge, challenge_id)
                    .await?
                    .ok_or(ApiError::InvalidMfaCode)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::unavailable())
}

async fn finish(ctx: &TenantContext, found: Record, code: &str, client: ClientInfo) -> Result<SignedIn, ApiError> {
    let challenge_id = found.id.clone();
    let challenge = take_attempt(ctx, &challenge_id, found).await?;
    let now = ctx.deps.clock.now();
    let guard = Guard::version(RecordKind::MfaChallenge, &challenge.id, challenge.version);
    let user_id = challenge.user_id.clone();
    let consumed = consume(ctx, &user_id, code).await?;
    let mut user = ctx.store.get_user(&user_id).await?.ok_or(ApiError::InvalidMfaCode)?;
    if user.status == UserStatus::Disabled {
        return Err(ApiError::AccountDisabled);
    }
    let used = Challenge {
        used: true,
        version: challenge.version + 1,
        ..challenge.clone()
    };
    let mut amr = challenge.amr.clone();
    amr.push("otp".into());
    user.last_sign_in_at = Some(now);
    let new_session = sessions::start(ctx, &user, amr, client)?;
    let mut batch = TenantBatch::default()
        .guard(guard)
        .guard(consumed.guard)
        .write(consumed.write)
        .write(TenantWrite::PutRecord(Record::new(
            RecordKind::MfaChallenge,
            &used.id,
            &user_id,
            &used,
        )?))
        .write(TenantWrite::TouchUser {
            user_id: user_id.clone(),
            last_sign_in_at: now,
            password_hash: None,
        });
    batch.writes.extend(new_session.writes);
    ctx.store.apply(batch).await.map_err(code_race)?;
    ctx.remember(&new_session.session);
    Ok(SignedIn {
        user: Box::new(user),
        tokens: new_session.tokens,
    })
}
