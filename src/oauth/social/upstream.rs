//! Talking to a provider: where its endpoints are (OpenID discovery, or GitHub's and
//! Discord's fixed ones), the code exchange, and who the user is: for OpenID providers
//! the ID token, verified against the issuer's JWKS (signature, `iss`, `aud`, `exp`,
//! `nonce`); for GitHub and Discord their user APIs.

use std::sync::OnceLock;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::providers::{Provider, Settings};

/// How long one call to a provider may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Who the provider says the user is.
#[derive(Debug, Clone)]
pub struct Profile {
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider vouches for the address (linking needs this).
    pub email_verified: bool,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
}

/// Why talking to the provider failed (logged; the user sees a generic error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(pub String);

fn fail(what: impl std::fmt::Display) -> UpstreamError {
    UpstreamError(what.to_string())
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("hellojohn/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    })
}

/// How a provider is spoken to.
pub enum Endpoints {
    /// An OpenID provider, from its discovery document.
    Oidc {
        issuer: String,
        authorize: String,
        token: String,
        jwks: String,
    },
    /// OAuth 2 with a user API (GitHub, Discord).
    Plain {
        authorize: String,
        token: String,
        api: String,
        provider: Provider,
    },
}

impl Endpoints {
    /// The authorization endpoint.
    pub fn authorize(&self) -> &str {
        match self {
            Self::Oidc { authorize, .. } | Self::Plain { authorize, .. } => authorize,
        }
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The provider's endpoints.
pub async fn endpoints(provider: &Provider, settings: &Settings) -> Result<Endpoints, UpstreamError> {
    let issuer = settings.issuer.clone();
    let discover = |default: &str| issuer.clone().unwrap_or_else(|| default.to_owned());
    let issuer = match provider {
        Provider::Google => discover("https://accounts.google.com"),
        Provider::Microsoft => discover("https://login.microsoftonline.com/common/v2.0"),
        Provider::Gitlab => discover("https://gitlab.com"),
        Provider::Oidc(_) => issuer.ok_or_else(|| fail("no issuer configured"))?,
        Provider::Github => {
            // github.com, or a GitHub Enterprise Server named by `issuer`.
            let (web, api) = match issuer {
                None => ("https://github.com".to_owned(), "https://api.github.com".to_owned()),
                Some(base) => (base.clone(), format!("{base}/api/v3")),
            };
            return Ok(Endpoints::Plain {
                authorize: format!("{web}/login/oauth/authorize"),
                token: format!("{web}/login/oauth/access_token"),
                api,
                provider: provider.clone(),
            });
        }
        Provider::Discord => {
            let base = issuer.unwrap_or_else(|| "https://discord.com".to_owned());
            return Ok(Endpoints::Plain {
                authorize: format!("{base}/oauth2/authorize"),
                token: format!("{base}/api/oauth2/token"),
                api: format!("{base}/api"),
                provider: provider.clone(),
            });
        }
    };
    let url = format!("{issuer}/.well-known/openid-configuration");
    let found: Discovery = get_json(&url, None).await?;
    // Microsoft's multi-tenant document names `{tenantid}`; every other issuer must match.
    if found.issuer != issuer && !found.issuer.contains("{tenantid}") {
        return Err(fail(format!("discovery at {url} names issuer {}", found.issuer)));
    }
    Ok(Endpoints::Oidc {
        issuer: found.issuer,
        authorize: found.authorization_endpoint,
        token: found.token_endpoint,
        jwks: found.jwks_uri,
    })
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str, bearer: Option<&str>) -> Result<T, UpstreamError> {
    let mut request = http().get(url).header("accept", "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| fail(format!("GET {url}: {e}")))?;
    if !response.status().is_success() {
        return Err(fail(format!("GET {url}: {}", response.status())));
    }
    let body = response.bytes().await.map_err(|e| fail(format!("GET {url}: {e}")))?;
    serde_json::from_slice(&body).map_err(|e| fail(format!("GET {url}: {e}")))
}

/// What the exchange needs besides the code.
pub struct Exchange<'a> {
    pub settings: &'a Settings,
    pub secret: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a str,
    pub nonce: &'a str,
}

/// Trades the provider's code for tokens and reads who the user is.
pub async fn profile(endpoints: &Endpoints, code: &str, with: Exchange<'_>) -> Result<Profile, UpstreamError> {
    let token_url = match endpoints {
        Endpoints::Oidc { token, .. } | Endpoints::Plain { token, .. } => token,
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", with.redirect_uri),
        ("code_verifier", with.verifier),
        ("client_id", with.settings.client_id.as_str()),
        ("client_secret", with.secret),
    ];
    let response = http()
        .post(token_url)
        .header("accept", "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| fail(format!("POST {token_url}: {e}")))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| fail(format!("POST {token_url}: {e}")))?;
    let tokens: Value = serde_json::from_slice(&body).map_err(|e| fail(format!("POST {token_url}: {e}")))?;
    if !status.is_success() || tokens.get("error").is_some() {
        return Err(fail(format!("POST {token_url}: {status} {}", tokens["error"])));
    }
    match endpoints {
        Endpoints::Oidc { issuer, jwks, .. } => {
            let id_token = tokens["id_token"]
                .as_str()
                .ok_or_else(|| fail("no id_token in the token response"))?;
            verified_claims(id_token, issuer, jwks, &with).await
        }
        Endpoints::Plain { api, provider, .. } => {
            let access = tokens["access_token"].as_str().ok_or_else(|| fail("no access_token"))?;
            match provider {
                Provider::Discord => discord_user(api, access).await,
                _ => github_user(api, access).await,
            }
        }
    }
}

#[derive(Deserialize)]
struct IdClaims {
    iss: String,
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<Value>,
    name: Option<String>,
    picture: Option<String>,
    tid: Option<String>,
}

async fn verified_claims(
    token: &str,
    issuer: &str,
    jwks_uri: &str,
    with: &Exchange<'_>,
) -> Result<Profile, UpstreamError> {
    let header = jsonwebtoken::decode_header(token).map_err(fail)?;
    let keys: JwkSet = get_json(jwks_uri, None).await?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or_else(|| fail("the ID token's key is not in the issuer's JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(fail)?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[with.settings.client_id.as_str()]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    // `iss` is compared below (Microsoft's multi-tenant issuer is a template).
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(fail)?
        .claims;
    let expected = match &claims.tid {
        Some(tid) => issuer.replace("{tenantid}", tid),
        None => issuer.to_owned(),
    };
    if claims.iss != expected {
        return Err(fail(format!("ID token issuer {} is not {expected}", claims.iss)));
    }
    if claims.nonce.as_deref() != Some(with.nonce) {
        return Err(fail("ID token nonce mismatch"));
    }
    let email_verified = match claims.email_verified {
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(Profile {
        subject: claims.sub,
        email: claims.email,
        email_verified,
        name: claims.name,
        avatar_url: claims.picture,
    })
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    name: Option<String>,
    login: String,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

async fn github_user(api: &str, access: &str) -> Result<Profile, UpstreamError> {
    let user: GithubUser = get_json(&format!("{api}/user"), Some(access)).await?;
    let emails: Vec<GithubEmail> = get_json(&format!("{api}/user/emails"), Some(access)).await?;
    let primary = emails.into_iter().find(|e| e.primary);
    Ok(Profile {
        subject: user.id.to_string(),
        email_verified: primary.as_ref().is_some_and(|e| e.verified),
        email: primary.map(|e| e.email),
        name: user.name.or(Some(user.login)),
        avatar_url: user.avatar_url,
    })
}

#[derive(Deserialize)]
struct DiscordUser {
    id: String,
    username: String,
    email: Option<String>,
    verified: Option<bool>,
    avatar: Option<String>,
}

async fn discord_user(api: &str, access: &str) -> Result<Profile, UpstreamError> {
    let user: DiscordUser = get_json(&format!("{api}/users/@me"), Some(access)).await?;
    let avatar_url = user
        .avatar
        .as_ref()
        .map(|hash| format!("https://cdn.discordapp.com/avatars/{}/{hash}.png", user.id));
    Ok(Profile {
        email_verified: user.verified.unwrap_or(false),
        subject: user.id,
        email: user.email,
        name: Some(user.username),
        avatar_url,
    })
}
