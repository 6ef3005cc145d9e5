//! Sessions and tokens: starting a session, refresh rotation, checking an
//! access token against its session, sign-out and session administration.

use crate::webhooks::EventType;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use time::Duration;

use super::super::context::TenantContext;
use super::super::limits::Limit;
use super::super::messages::auth::{OrgSwitch, Verification};
use super::super::messages::{ClientInfo, Limited, TokenSet};
use super::orgs;
use super::orgs::claims::OrgClaims;
use crate::auth::secrets;
use crate::auth::tokens::{self, AccessClaims, TokenError};
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::views;

/// Prefix of refresh-token values.
const REFRESH_PREFIX: &str = "rt_";
/// Rotations a replayed refresh token follows to reach the newest token of its session.
const MAX_REPLAY_HOPS: usize = 8;
/// Sessions revoked one by one (with an event each) in a revoke-all.
const MAX_SESSIONS_PER_USER: usize = 1000;

/// A new session for `user`: the writes that persist it and the tokens to hand out.
pub struct NewSession {
    pub session: Session,
    pub writes: Vec<TenantWrite>,
    pub tokens: TokenSet,
}

/// Builds a session, its first refresh token and an access token.
pub fn start(ctx: &TenantContext, user: &User, amr: Vec<String>, client: ClientInfo) -> Result<NewSession, ApiError> {
    let now = ctx.deps.clock.now();
    let config = &ctx.tenant.auth_config;
    let session = Session {
        id: new_id(prefix::SESSION),
        user_id: user.id.clone(),
        status: SessionStatus::Active,
        user_agent: client.user_agent.map(|ua| ua.chars().take(512).collect()),
        ip_address: client.ip,
        created_at: now,
        last_active_at: now,
        expires_at: now + Duration::seconds(config.refresh_token_ttl as i64),
        active_organization_id: None,
        mfa_verified: amr.iter().any(|m| m == "otp"),
        amr,
    };
    let (refresh, refresh_record) = new_refresh_token(ctx, &session);
    let tokens = token_set(ctx, user, &session, None, refresh, refresh_record.expires_at)?;
    let event = event(
        EventType::SessionCreated,
        json!({ "session": views::session(&session) }),
        ctx,
    );
    let writes = vec![
        TenantWrite::PutSession(session.clone()),
        TenantWrite::PutRefreshToken(refresh_record),
        TenantWrite::AppendEvent(event),
    ];
    Ok(NewSession {
        session,
        writes,
        tokens,
    })
}

/// An outbox event of this tenant, stamped with its clock.
pub fn event(event_type: EventType, data: serde_json::Value, ctx: &TenantContext) -> OutboxEvent {
    crate::webhooks::outbox_event(event_type, data, ctx.deps.clock.now())
}

fn new_refresh_token(ctx: &TenantContext, session: &Session) -> (String, RefreshToken) {
    refresh_record(ctx, session, secrets::generate(REFRESH_PREFIX))
}

/// The refresh token that replaces `presented`: derived from it under the instance key, so
/// every concurrent refresh of one token computes the same successor, and a repeat inside
/// the reuse interval can hand it out again without the store ever holding a token value.
fn successor_value(ctx: &TenantContext, presented: &str) -> String {
    let derived = ctx
        .deps
        .master_key
        .derive("refresh-token-successor", presented.as_bytes());
    format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(derived))
}

fn refresh_record(ctx: &TenantContext, session: &Session, value: String) -> (String, RefreshToken) {
    let record = RefreshToken {
        token_hash: secrets::hash(&value),
        session_id: session.id.clone(),
        status: RefreshTokenStatus::Current,
        created_at: ctx.deps.clock.now(),
        expires_at: session.expires_at,
    };
    (value, record)
}

fn token_set(
    ctx: &TenantContext,
    user: &User,
    session: &Session,
    org: Option<OrgClaims>,
    refresh_token: String,
    refresh_expires: time::OffsetDateTime,
) -> Result<TokenSet, ApiError> {
    let now = ctx.deps.clock.now();
    let ttl = ctx.tenant.auth_config.access_token_ttl;
    let exp = now + Duration::seconds(ttl as i64);
    let mut claims = AccessClaims {
        iss: ctx.issuer.clone(),
        aud: ctx.tenant.id.clone(),
        sub: user.id.clone(),
        sid: session.id.clone(),
        tenant_id: ctx.tenant.id.clone(),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: exp.unix_timestamp(),
        jti: ulid::Ulid::new().to_string(),
        email: user.email.clone(),
        email_verified: user.email_verified,
        role: match user.role {
            UserRole::Admin => "admin".to_owned(),
            UserRole::Member => "member".to_owned(),
        },
        mfa_verified: session.mfa_verified,
        amr: session.amr.clone(),
        org_id: None,
        org_role: None,
        org_permissions: None,
        public_metadata: user.public_metadata.clone(),
    };
    OrgClaims::fill(org, &mut claims);
    let access_token = ctx.keys.sign(&claims).map_err(|e| {
        tracing::error!(tenant = %ctx.tenant.id, error = %e, "signing failed");
        ApiError::Internal
    })?;
    Ok(TokenSet {
        id: session.id.clone(),
        access_token,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl,
        access_token_expires_at: views::timestamp(exp),
        refresh_token_expires_at: views::timestamp(refresh_expires),
    })
}

/// Rotates a refresh token. Presenting an already-rotated token revokes its session,
/// except inside the tenant's reuse interval (API.md §3). On SQL the token, session and user
/// are read, and the rotation written, in one transaction.
pub async fn refresh(
    ctx: &TenantContext,
    refresh_token: &str,
    organization: OrgSwitch,
    client: ClientInfo,
) -> Limited<TokenSet> {
    if !refresh_token.starts_with(REFRESH_PREFIX) || refresh_token.len() > 128 {
        return Err(ApiError::RefreshTokenInvalid).into();
    }
    let mut rate_limit = None;
    let mut attempt = 0;
    loop {
        let read = match ctx.store.read_refresh(&secrets::hash(refresh_token)).await {
            Ok(Some(read)) => read,
            Ok(None) => return Err(ApiError::RefreshTokenInvalid).into(),
            Err(e) => return Err(e.into()).into(),
        };
        if attempt == 0 {
            rate_limit = match ctx.limit(Limit::RefreshSession, &read.session.id) {
                Ok(info) => info,
                Err((error, info)) => {
                    return Limited {
                        result: Err(error),
                        rate_limit: Some(info),
                    }
                }
            };
        }
        let result = rotate(ctx, refresh_token, read, organization.clone(), client.clone()).await;
        attempt += 1;
        match result {
            // A transaction the database rolled back (an InnoDB deadlock among concurrent
            // refreshes of one session) wrote nothing: run it again from the read, as the
            // client would, a few times before answering 503.
            Err(ApiError::ServiceUnavailable { .. }) if attempt < REFRESH_ATTEMPTS => continue,
            result => return Limited { result, rate_limit },
        }
    }
}

/// How many times a refresh whose transaction the database rolled back is run.
const REFRESH_ATTEMPTS: u32 = 3;

/// The session's user, if they may still hold a session.
async fn session_user(ctx: &TenantContext, session: &Session) -> Result<User, ApiError> {
    active_user(ctx.store.get_user(&session.user_id).await?)
}

fn active_user(user: Option<User>) -> Result<User, ApiError> {
    user.filter(|u| u.status == UserStatus::Active)
        .ok_or(ApiError::SessionRevoked)
}

async fn rotate(
    ctx: &TenantContext,
    presented: &str,
    read: RefreshRead,
    organization: OrgSwitch,
    client: ClientInfo,
) -> Result<TokenSet, ApiError> {
    let RefreshRead {
        token: record,
        mut session,
        user,
        mut hold,
    } = read;
    if session.status != SessionStatus::Active {
        return Err(ApiError::SessionRevoked);
    }
    if record.status == RefreshTokenStatus::Rotated {
        // Released first: the replay may revoke this very session.
        drop(hold);
        return replay(ctx, presented, &mut session).await;
    }
    let now = ctx.deps.clock.now();
    if record.expires_at <= now
        || ctx.effective_status(session.status, session.expires_at, session.last_active_at) == SessionStatus::Expired
    {
        return Err(ApiError::RefreshTokenExpired);
    }
    let user = active_user(user)?;
    // Checked before anything is written: a refused switch leaves the refresh token usable.
    match organization {
        OrgSwitch::Keep => {}
        OrgSwitch::Clear => session.active_organization_id = None,
        OrgSwitch::To(reference) => {
            session.active_organization_id =
                Some(orgs::claims::switch_target(ctx, &mut hold, &user.id, &reference).await?)
        }
    }
    let org = orgs::claims::current_in(ctx, &mut hold, &session).await?;
    session.active_organization_id = org.as_ref().map(|o| o.org_id.clone());
    session.last_active_at = now;
    // Where the session is used from now (a refresh without client details keeps the old ones).
    if let Some(ip) = client.ip {
        session.ip_address = Some(ip);
    }
    if let Some(agent) = client.user_agent {
        session.user_agent = Some(agent.chars().take(512).collect());
    }
    let (value, successor) = refresh_record(ctx, &session, successor_value(ctx, presented));
    let tokens = token_set(ctx, &user, &session, org, value, successor.expires_at)?;
    let writes = vec![
        TenantWrite::MarkRefreshTokenRotated {
            token_hash: record.token_hash.clone(),
        },
        TenantWrite::PutRefreshToken(successor),
        TenantWrite::PutSession(session.clone()),
    ];
    match RefreshRead::commit(hold, ctx.store.as_ref(), &record.token_hash, &session.id, writes).await {
        Ok(()) => {
            ctx.remember(&session);
            Ok(tokens)
        }
        // Another refresh of the same token won the compare-and-set (two tabs, or a reuse),
        // or the session was revoked meanwhile: the replay rules decide which.
        Err(StoreError::Conflict) => replay(ctx, presented, &mut session).await,
        Err(e) => Err(e.into()),
    }
}

/// A refresh token presented after it was rotated. Within `refresh_reuse_interval` of the
/// rotation it answers with the same successor (and a fresh access token for the session as
/// it now is), so tabs refreshing at once never fork or end the session; otherwise it is a
/// reuse, and the whole session is revoked.
async fn replay(ctx: &TenantContext, presented: &str, session: &mut Session) -> Result<TokenSet, ApiError> {
    let interval = ctx.tenant.auth_config.refresh_reuse_interval as i64;
    let mut value = successor_value(ctx, presented);
    let successor = match interval {
        0 => None,
        _ => ctx.store.find_refresh_token(&secrets::hash(&value)).await?,
    };
    let now = ctx.deps.clock.now();
    let in_grace = successor.filter(|s| s.session_id == session.id && s.created_at + Duration::seconds(interval) > now);
    let Some(mut successor) = in_grace else {
        revoke(ctx, session).await?;
        return Err(ApiError::SessionRevoked);
    };
    // The successor may have been rotated in turn (the other tab refreshed again): hand out
    // the newest token of the chain, never one that is already spent.
    for _ in 0..MAX_REPLAY_HOPS {
        if successor.status != RefreshTokenStatus::Rotated {
            break;
        }
        let next_value = successor_value(ctx, &value);
        match ctx.store.find_refresh_token(&secrets::hash(&next_value)).await? {
            Some(next) if next.session_id == session.id => (value, successor) = (next_value, next),
            _ => break,
        }
    }
    let current = ctx
        .store
        .get_session(&session.id)
        .await?
        .filter(|s| ctx.effective_status(s.status, s.expires_at, s.last_active_at) == SessionStatus::Active)
        .ok_or(ApiError::SessionRevoked)?;
    let user = session_user(ctx, &current).await?;
    let org = orgs::claims::current(ctx, &current).await?;
    let tokens = token_set(ctx, &user, &current, org, value, successor.expires_at)?;
    Ok(tokens)
}

/// Revokes one session (idempotent) and records `session.revoked`.
pub async fn revoke(ctx: &TenantContext, session: &mut Session) -> Result<(), ApiError> {
    if session.status == SessionStatus::Revoked {
        return Ok(());
    }
    session.status = SessionStatus::Revoked;
    let event = event(
        EventType::SessionRevoked,
        json!({ "session": views::session(session) }),
        ctx,
    );
    ctx.store
        .apply(
            TenantBatch::default()
                .write(TenantWrite::RevokeSession {
                    session_id: session.id.clone(),
                })
                .write(TenantWrite::AppendEvent(event)),
        )
        .await?;
    ctx.remember(session);
    Ok(())
}

/// The writes revoking every active session of a user (one event each), optionally sparing one.
pub async fn revoke_all_writes(
    ctx: &TenantContext,
    user_id: &str,
    except: Option<&str>,
) -> Result<Vec<TenantWrite>, ApiError> {
    let filter = SessionFilter {
        user_id: Some(user_id.to_owned()),
        status: Some(SessionStatus::Active),
    };
    let active = ctx
        .store
        .list_sessions(
            &filter,
            &PageRequest {
                limit: MAX_SESSIONS_PER_USER,
                after: None,
            },
        )
        .await?;
    let mut writes = vec![TenantWrite::RevokeUserSessions {
        user_id: user_id.to_owned(),
        except: except.map(str::to_owned),
    }];
    for mut session in active.items.into_iter().filter(|s| Some(s.id.as_str()) != except) {
        session.status = SessionStatus::Revoked;
        writes.push(TenantWrite::AppendEvent(event(
            EventType::SessionRevoked,
            json!({ "session": views::session(&session) }),
            ctx,
        )));
    }
    Ok(writes)
}

/// Revokes every session of a user except `except`.
pub async fn revoke_all(ctx: &TenantContext, user_id: &str, except: Option<&str>) -> Result<(), ApiError> {
    let writes = revoke_all_writes(ctx, user_id, except).await?;
    ctx.store
        .apply(TenantBatch {
            guards: Vec::new(),
            writes,
        })
        .await?;
    ctx.forget_user_sessions(user_id, except);
    Ok(())
}

/// Verifies an access token of this tenant and that its session is still live.
pub async fn authenticate(ctx: &TenantContext, token: &str) -> Result<AccessClaims, ApiError> {
    let claims =
        tokens::verify(&ctx.keys, token, &ctx.issuer, &ctx.tenant.id, ctx.deps.clock.unix()).map_err(|e| match e {
            TokenError::Expired => ApiError::TokenExpired,
            TokenError::Invalid => ApiError::InvalidToken,
        })?;
    let state = ctx.session_state(&claims.sid).await?.ok_or(ApiError::SessionRevoked)?;
    if state.user_id != claims.sub
        || ctx.effective_status(state.status, state.expires_at, state.last_active_at) != SessionStatus::Active
    {
        return Err(ApiError::SessionRevoked);
    }
    Ok(claims)
}

/// `/v1/sessions/verify`: `valid: false` for any bad token instead of an error.
pub async fn verify(ctx: &TenantContext, token: &str) -> Result<Verification, ApiError> {
    match authenticate(ctx, token).await {
        Ok(mut claims) => {
            let mut session = ctx.store.get_session(&claims.sid).await?;
            // The organization claims as they are now, not as they were when the token was signed.
            let org = match &session {
                Some(s) => orgs::claims::current(ctx, s).await?,
                None => None,
            };
            if let Some(s) = session.as_mut() {
                s.active_organization_id = org.as_ref().map(|o| o.org_id.clone());
            }
            OrgClaims::fill(org, &mut claims);
            Ok(Verification {
                valid: true,
                session: session.map(Box::new),
                claims: Some(Box::new(claims)),
            })
        }
        Err(ApiError::ServiceUnavailable { retry_after }) => Err(ApiError::ServiceUnavailable { retry_after }),
        Err(_) => Ok(Verification {
            valid: false,
            session: None,
            claims: None,
        }),
    }
}

/// Signs out the caller's session, or every session of the user.
pub async fn sign_out(ctx: &TenantContext, user_id: &str, session_id: &str, global: bool) -> Result<(), ApiError> {
    if global {
        revoke_all(ctx, user_id, None).await?;
    } else if let Some(mut session) = ctx.store.get_session(session_id).await? {
        revoke(ctx, &mut session).await?;
    }
    Ok(())
}

/// A session as shown: its stored status adjusted for expiry.
fn shown(ctx: &TenantContext, mut session: Session) -> Session {
    session.status = ctx.effective_status(session.status, session.expires_at, session.last_active_at);
    session
}

/// Lists sessions, newest first.
pub async fn list(ctx: &TenantContext, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, ApiError> {
    // Expired sessions are stored as active: ask for active ones and sort them out here.
    let stored_filter = SessionFilter {
        user_id: filter.user_id.clone(),
        status: filter.status.map(|s| {
            if s == SessionStatus::Expired {
                SessionStatus::Active
            } else {
                s
            }
        }),
    };
    let mut found = ctx.store.list_sessions(&stored_filter, page).await?;
    found.resume_after = found.items.last().map(|s| s.id.clone());
    found.items = found
        .items
        .into_iter()
        .map(|s| shown(ctx, s))
        .filter(|s| filter.status.is_none_or(|st| s.status == st))
        .collect();
    Ok(found)
}

async fn owned(ctx: &TenantContext, session_id: &str, owner: Option<&str>) -> Result<Session, ApiError> {
    let session = ctx.store.get_session(session_id).await?.ok_or(ApiError::NotFound)?;
    if owner.is_some_and(|o| o != session.user_id) {
        return Err(ApiError::NotFound);
    }
    Ok(session)
}

/// One session, optionally only if `owner` owns it.
pub async fn get(ctx: &TenantContext, session_id: &str, owner: Option<&str>) -> Result<Box<Session>, ApiError> {
    Ok(Box::new(shown(ctx, owned(ctx, session_id, owner).await?)))
}

/// Revokes one session, optionally only if `owner` owns it.
pub async fn revoke_one(ctx: &TenantContext, session_id: &str, owner: Option<&str>) -> Result<(), ApiError> {
    let mut session = owned(ctx, session_id, owner).await?;
    revoke(ctx, &mut session).await?;
    Ok(())
}
