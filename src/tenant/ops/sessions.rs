//! Sessions and tokens: starting a session, refresh rotation, and checking
//! an access token against the session behind it.

use serde_json::json;
use time::Duration;

use super::super::context::TenantContext;
use super::super::messages::{ClientInfo, TenantReply, TenantResponse, TokenSet};
use crate::auth::secrets;
use crate::auth::tokens::{self, AccessClaims, TokenError};
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::views;

/// Prefix of refresh-token values.
const REFRESH_PREFIX: &str = "rt_";

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
    let tokens = token_set(ctx, user, &session, refresh, refresh_record.expires_at)?;
    let event = event("session.created", json!({ "session": views::session(&session) }), ctx);
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

/// An outbox event of this tenant.
pub fn event(event_type: &str, data: serde_json::Value, ctx: &TenantContext) -> OutboxEvent {
    OutboxEvent {
        id: new_id(prefix::EVENT),
        event_type: event_type.to_owned(),
        data,
        created_at: ctx.deps.clock.now(),
    }
}

fn new_refresh_token(ctx: &TenantContext, session: &Session) -> (String, RefreshToken) {
    let value = secrets::generate(REFRESH_PREFIX);
    let now = ctx.deps.clock.now();
    let record = RefreshToken {
        token_hash: secrets::hash(&value),
        session_id: session.id.clone(),
        status: RefreshTokenStatus::Current,
        created_at: now,
        expires_at: session.expires_at,
    };
    (value, record)
}

fn token_set(
    ctx: &TenantContext,
    user: &User,
    session: &Session,
    refresh_token: String,
    refresh_expires: time::OffsetDateTime,
) -> Result<TokenSet, ApiError> {
    let now = ctx.deps.clock.now();
    let ttl = ctx.tenant.auth_config.access_token_ttl;
    let exp = now + Duration::seconds(ttl as i64);
    let claims = AccessClaims {
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

/// Rotates a refresh token. Presenting an already-rotated token revokes its session.
pub async fn refresh(ctx: &TenantContext, refresh_token: &str, _client: ClientInfo) -> TenantReply {
    if !refresh_token.starts_with(REFRESH_PREFIX) || refresh_token.len() > 128 {
        return Err(ApiError::RefreshTokenInvalid);
    }
    let hash = secrets::hash(refresh_token);
    let record = ctx
        .store
        .find_refresh_token(&hash)
        .await?
        .ok_or(ApiError::RefreshTokenInvalid)?;
    let mut session = ctx
        .store
        .get_session(&record.session_id)
        .await?
        .ok_or(ApiError::RefreshTokenInvalid)?;
    if session.status != SessionStatus::Active {
        return Err(ApiError::SessionRevoked);
    }
    if record.status == RefreshTokenStatus::Rotated {
        revoke(ctx, &mut session).await?;
        return Err(ApiError::SessionRevoked);
    }
    let now = ctx.deps.clock.now();
    if record.expires_at <= now || session.expires_at <= now {
        return Err(ApiError::RefreshTokenExpired);
    }
    let user = ctx
        .store
        .get_user(&session.user_id)
        .await?
        .ok_or(ApiError::SessionRevoked)?;
    if user.status != UserStatus::Active {
        return Err(ApiError::SessionRevoked);
    }
    session.last_active_at = now;
    let (value, successor) = new_refresh_token(ctx, &session);
    let tokens = token_set(ctx, &user, &session, value, successor.expires_at)?;
    let batch = TenantBatch::default()
        .guard(Guard::RefreshTokenCurrent {
            token_hash: hash.clone(),
        })
        .write(TenantWrite::MarkRefreshTokenRotated { token_hash: hash })
        .write(TenantWrite::PutRefreshToken(successor))
        .write(TenantWrite::PutSession(session.clone()));
    match ctx.store.apply(batch).await {
        Ok(()) => Ok(TenantResponse::Refreshed { tokens }),
        // Another refresh of the same token won the compare-and-set: this one is a reuse.
        Err(StoreError::Conflict) => {
            revoke(ctx, &mut session).await?;
            Err(ApiError::SessionRevoked)
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(ctx: &TenantContext, session: &mut Session) -> Result<(), ApiError> {
    session.status = SessionStatus::Revoked;
    let event = event("session.revoked", json!({ "session": views::session(session) }), ctx);
    ctx.store
        .apply(
            TenantBatch::default()
                .write(TenantWrite::PutSession(session.clone()))
                .write(TenantWrite::AppendEvent(event)),
        )
        .await?;
    ctx.remember(session);
    Ok(())
}

/// Verifies an access token of this tenant and that its session is still active.
pub async fn authenticate(ctx: &TenantContext, token: &str) -> Result<AccessClaims, ApiError> {
    let claims =
        tokens::verify(&ctx.keys, token, &ctx.issuer, &ctx.tenant.id, ctx.deps.clock.unix()).map_err(|e| match e {
            TokenError::Expired => ApiError::TokenExpired,
            TokenError::Invalid => ApiError::InvalidToken,
        })?;
    let state = ctx.session_state(&claims.sid).await?.ok_or(ApiError::SessionRevoked)?;
    if state.status != SessionStatus::Active || state.expires_at <= ctx.deps.clock.now() {
        return Err(ApiError::SessionRevoked);
    }
    Ok(claims)
}

/// `/v1/sessions/verify`: `valid: false` for any bad token instead of an error.
pub async fn verify(ctx: &TenantContext, token: &str) -> TenantReply {
    let invalid = TenantResponse::Verified {
        valid: false,
        session: None,
        claims: None,
    };
    match authenticate(ctx, token).await {
        Ok(claims) => {
            let session = ctx.store.get_session(&claims.sid).await?;
            Ok(TenantResponse::Verified {
                valid: true,
                session: session.map(Box::new),
                claims: Some(Box::new(claims)),
            })
        }
        Err(ApiError::ServiceUnavailable { retry_after }) => Err(ApiError::ServiceUnavailable { retry_after }),
        Err(_) => Ok(invalid),
    }
}
