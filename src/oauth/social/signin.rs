//! The steps of a social sign-in: the app's start (to the provider), the provider's return
//! (to the app, with a one-time code) and the app's exchange of that code for a session.
//! The app proves it started the sign-in with PKCE (S256); hellojohn does the same toward
//! the provider, and sends an OpenID `nonce`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::identities::{self, Identity};
use super::providers::{self, Provider, Settings};
use super::upstream::{self, Exchange, Profile};
use crate::auth::secrets;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::oauth::{pkce, with_params};
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::auth::SignedIn;
use crate::tenant::messages::oauth::{ProviderReturn, SocialStart};
use crate::tenant::messages::ClientInfo;
use crate::tenant::ops::{mfa, sessions, users};
use crate::validate;
use crate::webhooks::EventType;

/// How long a sign-in may stay at the provider.
const FLOW_TTL: time::Duration = time::Duration::minutes(10);
/// How long the app's code lives.
const CODE_TTL: time::Duration = time::Duration::seconds(60);

/// A sign-in waiting for its provider (`hj_social_flow`, by hash of the state's token).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Flow {
    provider: String,
    redirect_uri: String,
    app_state: Option<String>,
    code_challenge: String,
    verifier: String,
    nonce: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    used: bool,
}

/// The code handed to the app (`hj_social_code`, by hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AppCode {
    provider: String,
    user_id: String,
    redirect_uri: String,
    code_challenge: String,
    /// The identity this sign-in linked, for `oauth.connected` (none when it was known).
    connected: Option<Identity>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    used: bool,
}

/// The provider a path names; an unknown name names nothing (404).
fn provider_named(raw: &str) -> Result<Provider, ApiError> {
    Provider::parse(raw).ok_or(ApiError::NotFound)
}

async fn enabled(ctx: &TenantContext, provider: &Provider) -> Result<Settings, ApiError> {
    providers::find(ctx, provider)
        .await?
        .filter(|s| s.enabled)
        .ok_or_else(|| ApiError::invalid("provider", "This provider is not enabled for this tenant."))
}

/// Where the provider sends the browser back: `{PUBLIC_URL}/v1/oauth/callback/{provider}`.
fn callback_url(ctx: &TenantContext, provider: &Provider) -> String {
    let public = ctx.issuer.trim_end_matches(&format!("/t/{}", ctx.tenant.id));
    format!("{public}/v1/oauth/callback/{}", provider.name())
}

fn unavailable(provider: &Provider, error: upstream::UpstreamError) -> ApiError {
    tracing::warn!(provider = %provider.name(), error = %error, "the social provider could not be reached");
    ApiError::ServiceUnavailable { retry_after: 5 }
}

/// The app's start: checks the request, records the flow, and answers the provider's
/// authorization URL.
pub async fn start(ctx: &TenantContext, raw: &str, request: SocialStart) -> Result<String, ApiError> {
    let provider = provider_named(raw)?;
    let settings = enabled(ctx, &provider).await?;
    let redirect_uri = request
        .redirect_uri
        .ok_or_else(|| ApiError::invalid("redirect_uri", "redirect_uri is required."))?;
    // The app's own pages, or the tenant's hosted sign-in page (its social buttons).
    let hosted = redirect_uri.starts_with(&format!("{}/oauth2/social/", ctx.issuer));
    if !hosted && !crate::tenant::ops::allowed_redirect(ctx, &redirect_uri) {
        return Err(ApiError::invalid(
            "redirect_uri",
            "redirect_uri must be under one of the tenant's allowed_origins.",
        ));
    }
    let challenge = request.code_challenge.filter(|c| pkce::well_formed(c));
    let (Some(code_challenge), Some("S256")) = (challenge, request.code_challenge_method.as_deref()) else {
        return Err(ApiError::invalid(
            "code_challenge",
            "PKCE with code_challenge_method=S256 is required.",
        ));
    };
    let app_state = validate::text("state", request.state, 1024)?;
    let endpoints = upstream::endpoints(&provider, &settings)
        .await
        .map_err(|e| unavailable(&provider, e))?;
    let token = secrets::generate("");
    let verifier = secrets::generate("");
    let nonce = secrets::generate("");
    let flow = Flow {
        provider: provider.name(),
        redirect_uri,
        app_state,
        code_challenge,
        verifier: verifier.clone(),
        nonce: nonce.clone(),
        expires_at: ctx.deps.clock.now() + FLOW_TTL,
        used: false,
    };
    let record = Record::new(RecordKind::SocialFlow, &secrets::hash(&token), "flows", &flow)?;
    ctx.store
        .apply(TenantBatch::default().write(TenantWrite::PutRecord(record)))
        .await?;
    let state = format!("{}.{token}", ctx.tenant.id);
    let scopes = settings.scopes.join(" ");
    let callback = callback_url(ctx, &provider);
    let challenge = pkce::challenge_of(&verifier);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", settings.client_id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("scope", scopes.as_str()),
        ("state", state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if matches!(endpoints, upstream::Endpoints::Oidc { .. }) {
        params.push(("nonce", nonce.as_str()));
    }
    Ok(with_params(endpoints.authorize(), &params))
}

/// The provider's return: spends the flow, learns who the user is, and answers where the
/// browser goes next: the app's redirect URI with a code, or with an `error`.
pub async fn provider_return(ctx: &TenantContext, raw: &str, answer: ProviderReturn) -> Result<String, ApiError> {
    let provider = provider_named(raw)?;
    let id = secrets::hash(&answer.state);
    let record = ctx
        .store
        .get_record(RecordKind::SocialFlow, &id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let mut flow: Flow = record.parse()?;
    if flow.provider != provider.name() || flow.used || flow.expires_at <= ctx.deps.clock.now() {
        return Err(ApiError::InvalidToken);
    }
    flow.used = true;
    let spend = TenantBatch::default()
        .guard(Guard::unused(RecordKind::SocialFlow, &id))
        .write(TenantWrite::PutRecord(Record::new(
            RecordKind::SocialFlow,
            &id,
            "flows",
            &flow,
        )?));
    match ctx.store.apply(spend).await {
        Err(StoreError::Conflict) => return Err(ApiError::TokenAlreadyUsed),
        other => other?,
    }
    let back = |params: &[(&str, &str)]| {
        let state = flow.app_state.as_deref().map(|s| ("state", s));
        let all: Vec<(&str, &str)> = params.iter().copied().chain(state).collect();
        Ok(with_params(&flow.redirect_uri, &all))
    };
    let (Some(code), None) = (answer.code.as_deref(), answer.error.as_deref()) else {
        return back(&[("error", "access_denied")]);
    };
    let settings = match enabled(ctx, &provider).await {
        Ok(settings) => settings,
        Err(_) => return back(&[("error", "access_denied")]),
    };
    let profile = async {
        let endpoints = upstream::endpoints(&provider, &settings).await?;
        let secret = settings
            .secret(ctx)
            .map_err(|_| upstream::UpstreamError("the secret does not open".into()))?;
        let with = Exchange {
            settings: &settings,
            secret: &secret,
            redirect_uri: &callback_url(ctx, &provider),
            verifier: &flow.verifier,
            nonce: &flow.nonce,
        };
        upstream::profile(&endpoints, code, with).await
    };
    let profile = match profile.await {
        Ok(profile) => profile,
        Err(e) => {
            tracing::warn!(provider = %provider.name(), error = %e, "a social sign-in failed at the provider");
            return back(&[("error", "server_error")]);
        }
    };
    let (user_id, connected, writes) = match resolve(ctx, &provider, &settings, &profile).await? {
        Ok(found) => found,
        Err(code) => return back(&[("error", code)]),
    };
    let app_code = secrets::generate("hjoc_");
    let stored = AppCode {
        provider: provider.name(),
        user_id: user_id.clone(),
        redirect_uri: flow.redirect_uri.clone(),
        code_challenge: flow.code_challenge.clone(),
        connected,
        expires_at: ctx.deps.clock.now() + CODE_TTL,
        used: false,
    };
    let record = Record::new(RecordKind::SocialCode, &secrets::hash(&app_code), &user_id, &stored)?;
    let signs_up = writes.iter().any(|w| matches!(w, TenantWrite::InsertUser(_)));
    let batch = writes.into_iter().fold(TenantBatch::default(), TenantBatch::write);
    match ctx.store.apply(batch.write(TenantWrite::PutRecord(record))).await {
        // The same provider account was linked by a concurrent sign-in, or the address taken.
        Err(StoreError::Duplicate(_)) => return back(&[("error", "temporarily_unavailable")]),
        other => other?,
    }
    if signs_up {
        ctx.auth_event("oauth_sign_up", true);
    }
    back(&[("code", &app_code)])
}

/// The user a provider account signs in as: its linked identity's; else, when the provider
/// vouches for an address of an existing user and the tenant allows linking, that user;
/// else a new user. An existing address without linking is refused (`account_exists`):
/// accounts are never merged silently. Answers the user, the identity it linked now (for
/// `oauth.connected`) and the writes to make.
async fn resolve(
    ctx: &TenantContext,
    provider: &Provider,
    settings: &Settings,
    profile: &Profile,
) -> Result<Result<(String, Option<Identity>, Vec<TenantWrite>), &'static str>, ApiError> {
    if let Some(identity) = identities::find(ctx, &provider.name(), &profile.subject).await? {
        return Ok(Ok((identity.user_id, None, Vec::new())));
    }
    let Some(email) = profile.email.as_deref().and_then(|e| validate::email(e).ok()) else {
        return Ok(Err("email_required"));
    };
    let now = ctx.deps.clock.now();
    let existing = ctx.store.find_user_by_email(&email).await?;
    let (user_id, mut writes) = match existing {
        Some(user) if settings.allow_linking && profile.email_verified => (user.id, Vec::new()),
        Some(_) => return Ok(Err("account_exists")),
        None => {
            let user = User {
                email_verified: profile.email_verified,
                name: profile.name.clone().map(|n| n.chars().take(256).collect()),
                avatar_url: profile
                    .avatar_url
                    .clone()
                    .filter(|u| u.starts_with("https://") && u.len() <= 2048),
                ..User::new(email.clone(), None, now)
            };
            (user.id.clone(), users::creation(ctx, &user).to_vec())
        }
    };
    let identity = Identity {
        id: new_id(prefix::IDENTITY),
        provider: provider.name(),
        subject: profile.subject.clone(),
        user_id: user_id.clone(),
        email: Some(email),
        created_at: now,
    };
    writes.extend(identity.link_writes()?);
    Ok(Ok((user_id, Some(identity), writes)))
}

/// The app trades its code (with the PKCE verifier) for a session.
pub async fn sign_in(
    ctx: &TenantContext,
    raw: &str,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
    client: ClientInfo,
) -> Result<SignedIn, ApiError> {
    let provider = provider_named(raw)?;
    let id = secrets::hash(code);
    let record = ctx
        .store
        .get_record(RecordKind::SocialCode, &id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let owner = record.owner_id.clone();
    let mut stored: AppCode = record.parse()?;
    if stored.used {
        return Err(ApiError::TokenAlreadyUsed);
    }
    let fits = stored.provider == provider.name()
        && stored.redirect_uri == redirect_uri
        && stored.expires_at > ctx.deps.clock.now()
        && pkce::verifies(&stored.code_challenge, verifier);
    if !fits {
        return Err(ApiError::InvalidToken);
    }
    let user = ctx
        .store
        .get_user(&stored.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if user.status != UserStatus::Active {
        return Err(ApiError::AccountDisabled);
    }
    let connected = stored.connected.take();
    stored.used = true;
    let mut batch = TenantBatch::default()
        .guard(Guard::unused(RecordKind::SocialCode, &id))
        .write(TenantWrite::PutRecord(Record::new(
            RecordKind::SocialCode,
            &id,
            &owner,
            &stored,
        )?));
    if let Some(identity) = &connected {
        batch = batch.write(identities::event(ctx, EventType::OauthConnected, identity));
    }
    // The code is spent (and the link recorded) before anything else can refuse.
    match ctx.store.apply(batch).await {
        Err(StoreError::Conflict) => return Err(ApiError::TokenAlreadyUsed),
        other => other?,
    }
    if ctx.tenant.auth_config.email_verification_required && !user.email_verified {
        return Err(ApiError::EmailNotVerified);
    }
    // A provider is one factor: an enrolled second factor is still asked for, exactly as
    // after a password (`/v1/auth/mfa/verify` then starts the session, amr `oauth`+`otp`).
    let amr = vec!["oauth".to_owned()];
    mfa::challenge_if_enrolled(ctx, &user, &amr).await?;
    let started = sessions::start(ctx, &user, amr, client)?;
    ctx.store
        .apply(TenantBatch {
            guards: Vec::new(),
            writes: started.writes,
        })
        .await?;
    ctx.remember(&started.session);
    ctx.auth_event("oauth_sign_in", true);
    Ok(SignedIn {
        user: Box::new(user),
        tokens: started.tokens,
    })
}
