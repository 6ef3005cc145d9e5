//! Clients of the tenant's OpenID provider (`/v1/clients`, secret key): registration with
//! exact redirect URIs, changes under a version guard, and secrets stored only as hashes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::scopes;
use crate::auth::secrets;
use crate::error::ApiError;
use crate::ids::{new_id, prefix};
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::messages::oauth::{ClientAction, ClientFields};
use crate::tenant::messages::orgs::Shown;
use crate::views::{objects, timestamp};

/// Clients one tenant may register.
const MAX_CLIENTS: usize = 200;
/// Redirect URIs one client may register.
const MAX_URIS: usize = 20;
/// Prefix of client secrets.
const SECRET_PREFIX: &str = "cs_";

/// Whether a client can keep a secret (a backend) or not (an SPA, a mobile app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    Public,
    Confidential,
}

impl ClientKind {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        match raw {
            "public" => Ok(Self::Public),
            "confidential" => Ok(Self::Confidential),
            _ => Err(ApiError::invalid("type", "type must be public or confidential.")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Confidential => "confidential",
        }
    }
}

/// A client as stored (`hj_oauth_client`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub kind: ClientKind,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// SHA-256 of the secret (confidential clients only).
    pub secret_hash: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

impl Client {
    /// The API shape; `secret` only at creation and rotation.
    pub fn view(&self, secret: Option<&str>) -> objects::OAuthClient {
        objects::OAuthClient {
            id: self.id.clone(),
            client_id: self.id.clone(),
            name: self.name.clone(),
            client_type: self.kind.as_str().to_owned(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            scopes: self.scopes.clone(),
            first_party: self.first_party,
            created_at: timestamp(self.created_at),
            updated_at: timestamp(self.updated_at),
            client_secret: secret.map(str::to_owned),
        }
    }

    /// Whether `secret` is this client's (constant time); a public client has none.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash
            .as_deref()
            .is_some_and(|hash| secrets::verify_hash(secret, hash))
    }

    /// Whether `uri` is registered, compared as an exact string (RFC 9700 §2.1): no
    /// normalisation, so `/CB`, `/cb/../x` or an added query never match.
    pub fn redirects_to(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    fn record(&self) -> Result<Record, StoreError> {
        Record::new(RecordKind::OAuthClient, &self.id, &self.id, self)
    }

    fn unchanged(&self) -> Guard {
        Guard::version(RecordKind::OAuthClient, &self.id, self.version)
    }
}

/// Runs one client action.
pub async fn execute(ctx: &TenantContext, action: ClientAction) -> Result<Shown, ApiError> {
    match action {
        ClientAction::Create(fields) => create(ctx, fields).await,
        ClientAction::List { page } => {
            let found = ctx.store.page_records(RecordKind::OAuthClient, "cli_", &page).await?;
            let items = found
                .items
                .into_iter()
                .map(|r| Ok(r.parse::<Client>()?.view(None)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(Shown::objects(Page {
                items,
                has_more: found.has_more,
                resume_after: found.resume_after,
            }))
        }
        ClientAction::Get { id } => Ok(Shown::object(load(ctx, &id).await?.view(None))),
        ClientAction::Update { id, fields } => update(ctx, &id, fields).await,
        ClientAction::Delete { id } => {
            let client = load(ctx, &id).await?;
            let batch = TenantBatch::default()
                .guard(client.unchanged())
                .write(TenantWrite::DeleteRecord {
                    kind: RecordKind::OAuthClient,
                    id,
                });
            ctx.store.apply(batch).await?;
            Ok(Shown::Done)
        }
        ClientAction::RotateSecret { id } => {
            let current = load(ctx, &id).await?;
            if current.kind == ClientKind::Public {
                return Err(ApiError::invalid("type", "A public client has no secret."));
            }
            let secret = secrets::generate(SECRET_PREFIX);
            let mut next = current.clone();
            next.secret_hash = Some(secrets::hash(&secret));
            next.version += 1;
            next.updated_at = ctx.deps.clock.now();
            save(ctx, &current, &next).await?;
            Ok(Shown::object(next.view(Some(&secret))))
        }
    }
}

/// A client of this tenant, if it exists (`id` as sent: anything that is no client id is none).
pub async fn find(ctx: &TenantContext, id: &str) -> Result<Option<Client>, ApiError> {
    if !crate::ids::is_valid(prefix::CLIENT, id) {
        return Ok(None);
    }
    match ctx.store.get_record(RecordKind::OAuthClient, id).await? {
        Some(record) => Ok(Some(record.parse()?)),
        None => Ok(None),
    }
}

async fn load(ctx: &TenantContext, id: &str) -> Result<Client, ApiError> {
    find(ctx, id).await?.ok_or(ApiError::NotFound)
}

async fn save(ctx: &TenantContext, current: &Client, next: &Client) -> Result<(), ApiError> {
    let batch = TenantBatch::default()
        .guard(current.unchanged())
        .write(TenantWrite::PutRecord(next.record()?));
    ctx.store.apply(batch).await?;
    Ok(())
}

async fn create(ctx: &TenantContext, fields: ClientFields) -> Result<Shown, ApiError> {
    let name = name(fields.name)?.ok_or_else(|| ApiError::invalid("name", "name is required."))?;
    let kind = ClientKind::parse(
        fields
            .client_type
            .as_deref()
            .ok_or_else(|| ApiError::invalid("type", "type is required."))?,
    )?;
    let redirect_uris = fields
        .redirect_uris
        .ok_or_else(|| ApiError::invalid("redirect_uris", "redirect_uris is required."))?;
    let redirect_uris = uris("redirect_uris", redirect_uris, kind, true)?;
    let post_logout = uris(
        "post_logout_redirect_uris",
        fields.post_logout_redirect_uris.unwrap_or_default(),
        kind,
        false,
    )?;
    let scopes = scope_list(fields.scopes)?.unwrap_or_else(scopes::default_scopes);
    let page = PageRequest {
        limit: MAX_CLIENTS,
        after: None,
    };
    if ctx
        .store
        .page_records(RecordKind::OAuthClient, "cli_", &page)
        .await?
        .items
        .len()
        >= MAX_CLIENTS
    {
        return Err(ApiError::invalid(
            "name",
            format!("A tenant has at most {MAX_CLIENTS} clients."),
        ));
    }
    let secret = (kind == ClientKind::Confidential).then(|| secrets::generate(SECRET_PREFIX));
    let now = ctx.deps.clock.now();
    let client = Client {
        id: new_id(prefix::CLIENT),
        name,
        kind,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        scopes,
        first_party: fields.first_party.unwrap_or(false),
        secret_hash: secret.as_deref().map(secrets::hash),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    ctx.store
        .apply(TenantBatch::default().write(TenantWrite::InsertRecord(client.record()?)))
        .await?;
    Ok(Shown::object(client.view(secret.as_deref())))
}

async fn update(ctx: &TenantContext, id: &str, fields: ClientFields) -> Result<Shown, ApiError> {
    let current = load(ctx, id).await?;
    if fields.client_type.is_some_and(|t| t != current.kind.as_str()) {
        return Err(ApiError::invalid(
            "type",
            "A client's type can't change; register a new client.",
        ));
    }
    let mut next = current.clone();
    if let Some(name) = name(fields.name)? {
        next.name = name;
    }
    if let Some(list) = fields.redirect_uris {
        next.redirect_uris = uris("redirect_uris", list, current.kind, true)?;
    }
    if let Some(list) = fields.post_logout_redirect_uris {
        next.post_logout_redirect_uris = uris("post_logout_redirect_uris", list, current.kind, false)?;
    }
    if let Some(list) = scope_list(fields.scopes)? {
        next.scopes = list;
    }
    if let Some(first_party) = fields.first_party {
        next.first_party = first_party;
    }
    next.version += 1;
    next.updated_at = ctx.deps.clock.now();
    save(ctx, &current, &next).await?;
    Ok(Shown::object(next.view(None)))
}

fn name(value: Option<String>) -> Result<Option<String>, ApiError> {
    let value = crate::validate::text("name", value, 200)?;
    match value {
        Some(v) if v.trim().is_empty() => Err(ApiError::invalid("name", "name can't be empty.")),
        other => Ok(other),
    }
}

fn scope_list(value: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = value else { return Ok(None) };
    let parsed = scopes::parse(&list.join(" "))
        .map_err(|unknown| ApiError::invalid("scopes", format!("{unknown} is not a scope this provider knows.")))?;
    if parsed.is_empty() || list.iter().any(|s| s.contains(' ')) {
        return Err(ApiError::invalid(
            "scopes",
            "scopes lists one or more of openid, profile, email, offline_access.",
        ));
    }
    Ok(Some(parsed))
}

/// Registered URIs: absolute, no fragment, no user info; `https`, or `http` on a loopback
/// host (RFC 8252 §7.3), or, for public clients, a private-use scheme with a dot
/// (`com.example.app:/cb`, RFC 8252 §7.1). Stored exactly as given.
fn uris(field: &str, list: Vec<String>, kind: ClientKind, required: bool) -> Result<Vec<String>, ApiError> {
    if (required && list.is_empty()) || list.len() > MAX_URIS {
        return Err(ApiError::invalid(
            field,
            format!("{field} lists 1 to {MAX_URIS} exact URLs."),
        ));
    }
    let mut kept: Vec<String> = Vec::new();
    for raw in list {
        if !acceptable_uri(&raw, kind) {
            return Err(ApiError::invalid(
                field,
                "Each URL must be absolute https (http only on localhost), without a fragment or user info.",
            ));
        }
        if !kept.contains(&raw) {
            kept.push(raw);
        }
    }
    Ok(kept)
}

fn acceptable_uri(raw: &str, kind: ClientKind) -> bool {
    if raw.len() > 2048 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Ok(url) = url::Url::parse(raw) else { return false };
    if url.fragment().is_some() || raw.contains('#') || !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        scheme => kind == ClientKind::Public && scheme.contains('.'),
    }
}

#[cfg(test)]
mod tests {
    use super::{acceptable_uri, ClientKind};

    #[test]
    fn redirect_uris_follow_rfc_8252_and_the_security_bcp() {
        let public = ClientKind::Public;
        assert!(acceptable_uri("https://app.example/cb", ClientKind::Confidential));
        assert!(acceptable_uri("http://127.0.0.1:8080/cb", public));
        assert!(acceptable_uri("com.example.app:/cb", public));
        assert!(!acceptable_uri("com.example.app:/cb", ClientKind::Confidential));
        assert!(!acceptable_uri("http://app.example/cb", public));
        assert!(!acceptable_uri("https://app.example/cb#x", public));
        assert!(!acceptable_uri("https://user@app.example/cb", public));
        assert!(!acceptable_uri("/relative", public));
        assert!(!acceptable_uri("javascript:alert(1)", public));
    }
}
