//! A tenant's social providers: settings set by the operator, the client secret sealed at
//! rest under the instance key and never shown again.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::ids::new_id;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::oauth::{ProviderAction, ProviderFields};
use crate::views::timestamp;

/// The record owner of every provider's settings.
const OWNER: &str = "providers";

/// A provider hellojohn knows how to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    Google,
    Github,
    Microsoft,
    Gitlab,
    Discord,
    /// Any OpenID Connect issuer, named by the operator (`oidc:<name>`).
    Oidc(String),
}

impl Provider {
    /// A provider from its path name; `oidc:` names are 1–40 of `a-z`, `0-9`, `-`.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "google" => Self::Google,
            "github" => Self::Github,
            "microsoft" => Self::Microsoft,
            "gitlab" => Self::Gitlab,
            "discord" => Self::Discord,
            other => {
                let name = other.strip_prefix("oidc:")?;
                let ok = (1..=40).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                return ok.then(|| Self::Oidc(name.to_owned()));
            }
        })
    }

    /// The provider's name, as in paths and records.
    pub fn name(&self) -> String {
        match self {
            Self::Google => "google".into(),
            Self::Github => "github".into(),
            Self::Microsoft => "microsoft".into(),
            Self::Gitlab => "gitlab".into(),
            Self::Discord => "discord".into(),
            Self::Oidc(name) => format!("oidc:{name}"),
        }
    }

    /// The scopes asked for when the operator names none.
    fn default_scopes(&self) -> Vec<String> {
        let list: &[&str] = match self {
            Self::Github => &["read:user", "user:email"],
            Self::Discord => &["identify", "email"],
            _ => &["openid", "email", "profile"],
        };
        list.iter().map(|s| (*s).to_owned()).collect()
    }
}

/// A provider's settings as stored (`hj_oauth_provider`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub provider: String,
    pub client_id: String,
    /// The client secret, sealed under `secret_id`.
    pub sealed_secret: String,
    pub secret_id: String,
    pub scopes: Vec<String>,
    pub issuer: Option<String>,
    pub allow_linking: bool,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Settings {
    /// The API shape: everything but the secret.
    pub fn view(&self) -> Value {
        json!({
            "provider": self.provider,
            "client_id": self.client_id,
            "scopes": self.scopes,
            "issuer": self.issuer,
            "allow_linking": self.allow_linking,
            "enabled": self.enabled,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        })
    }

    /// The client secret, opened.
    pub fn secret(&self, ctx: &TenantContext) -> Result<String, ApiError> {
        let plain = ctx
            .deps
            .master_key
            .open(&self.sealed_secret, &self.secret_id)
            .map_err(|_| ApiError::Internal)?;
        String::from_utf8(plain).map_err(|_| ApiError::Internal)
    }
}

/// A provider's settings, if it is configured.
pub async fn find(ctx: &TenantContext, provider: &Provider) -> Result<Option<Settings>, ApiError> {
    match ctx
        .store
        .get_record(RecordKind::OAuthProvider, &provider.name())
        .await?
    {
        Some(record) => Ok(Some(record.parse()?)),
        None => Ok(None),
    }
}

/// The names of the tenant's enabled providers (the hosted sign-in page's buttons).
pub async fn enabled_names(ctx: &TenantContext) -> Result<Vec<String>, ApiError> {
    let page = PageRequest {
        limit: 100,
        after: None,
    };
    let found = ctx.store.page_records(RecordKind::OAuthProvider, "", &page).await?;
    let mut names = Vec::new();
    for record in found.items {
        let settings: Settings = record.parse()?;
        if settings.enabled {
            names.push(settings.provider);
        }
    }
    Ok(names)
}

/// How a provider is named on a button.
pub fn display_name(provider: &str) -> String {
    match provider {
        "google" => "Google".into(),
        "github" => "GitHub".into(),
        "microsoft" => "Microsoft".into(),
        "gitlab" => "GitLab".into(),
        "discord" => "Discord".into(),
        other => other.trim_start_matches("oidc:").to_owned(),
    }
}

/// Runs one operator action.
pub async fn execute(ctx: &TenantContext, action: ProviderAction) -> Result<Value, ApiError> {
    match action {
        ProviderAction::List => {
            let page = PageRequest {
                limit: 100,
                after: None,
            };
            let found = ctx.store.page_records(RecordKind::OAuthProvider, "", &page).await?;
            let data = found
                .items
                .into_iter()
                .map(|r| Ok(r.parse::<Settings>()?.view()))
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(json!({ "data": data }))
        }
        ProviderAction::Put { provider, fields } => put(ctx, &provider, fields).await,
        ProviderAction::Delete { provider } => {
            let provider = parse(&provider)?;
            find(ctx, &provider).await?.ok_or(ApiError::NotFound)?;
            let write = TenantWrite::DeleteRecord {
                kind: RecordKind::OAuthProvider,
                id: provider.name(),
            };
            ctx.store.apply(TenantBatch::default().write(write)).await?;
            Ok(Value::Null)
        }
    }
}

fn parse(raw: &str) -> Result<Provider, ApiError> {
    Provider::parse(raw).ok_or(ApiError::NotFound)
}

fn required(field: &str, value: Option<String>, max: usize) -> Result<String, ApiError> {
    match value {
        Some(v) if !v.trim().is_empty() && v.len() <= max && !v.chars().any(char::is_control) => Ok(v),
        _ => Err(ApiError::invalid(
            field,
            format!("{field} is required (at most {max} characters)."),
        )),
    }
}

async fn put(ctx: &TenantContext, raw: &str, fields: ProviderFields) -> Result<Value, ApiError> {
    let provider = parse(raw)?;
    let client_id = required("client_id", fields.client_id, 512)?;
    let secret = required("client_secret", fields.client_secret, 1024)?;
    let issuer = match (&provider, fields.issuer) {
        (Provider::Oidc(_), None) => {
            return Err(ApiError::invalid("issuer", "An oidc: provider needs its issuer URL."))
        }
        (_, None) => None,
        (_, Some(issuer)) => {
            let parsed = url::Url::parse(&issuer).map_err(|_| ApiError::invalid("issuer", "issuer must be a URL."))?;
            if !["https", "http"].contains(&parsed.scheme()) || parsed.query().is_some() || parsed.fragment().is_some()
            {
                return Err(ApiError::invalid(
                    "issuer",
                    "issuer must be an http(s) URL without query or fragment.",
                ));
            }
            Some(issuer.trim_end_matches('/').to_owned())
        }
    };
    let scopes = match fields.scopes {
        None => provider.default_scopes(),
        Some(list)
            if !list.is_empty()
                && list.len() <= 20
                && list.iter().all(|s| !s.is_empty() && s.len() <= 100 && !s.contains(' ')) =>
        {
            list
        }
        Some(_) => return Err(ApiError::invalid("scopes", "scopes lists 1 to 20 scope names.")),
    };
    let now = ctx.deps.clock.now();
    let created_at = find(ctx, &provider).await?.map(|s| s.created_at).unwrap_or(now);
    let secret_id = new_id("ops");
    let sealed_secret = ctx
        .deps
        .master_key
        .seal(secret.as_bytes(), &secret_id)
        .map_err(|_| ApiError::Internal)?;
    let settings = Settings {
        provider: provider.name(),
        client_id,
        sealed_secret,
        secret_id,
        scopes,
        issuer,
        allow_linking: fields.allow_linking.unwrap_or(false),
        enabled: fields.enabled.unwrap_or(true),
        created_at,
        updated_at: now,
    };
    let record = Record::new(RecordKind::OAuthProvider, &settings.provider, OWNER, &settings)?;
    ctx.store
        .apply(TenantBatch::default().write(TenantWrite::PutRecord(record)))
        .await?;
    Ok(settings.view())
}

#[cfg(test)]
mod tests {
    use super::Provider;

    #[test]
    fn provider_names_round_trip_and_oidc_names_are_bounded() {
        for name in ["google", "github", "microsoft", "gitlab", "discord", "oidc:corp-sso"] {
            assert_eq!(Provider::parse(name).unwrap().name(), name);
        }
        assert!(Provider::parse("oidc:").is_none());
        assert!(Provider::parse("oidc:Corp").is_none());
        assert!(Provider::parse("facebook").is_none());
    }
}
