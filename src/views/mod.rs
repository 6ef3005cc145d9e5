//! The JSON shapes of objects as API.md §2 shows them. Used by HTTP answers
//! and by webhook event payloads, so both always agree and never carry a
//! password hash, token or key. The objects a tenant shows are typed ([`objects`]).

pub mod objects;

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::store::{ApiKey, Session, Tenant, User};

/// RFC 3339 UTC, second precision (`2026-01-15T10:30:00Z`).
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn opt_timestamp(t: Option<OffsetDateTime>) -> Value {
    t.map(|t| Value::String(timestamp(t))).unwrap_or(Value::Null)
}

/// Who is looking: `private_metadata` is shown only to secret-key callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Server,
    User,
}

/// A user.
pub fn user(u: &User, audience: Audience) -> Value {
    let mut v = json!({
        "id": u.id, "email": u.email, "email_verified": u.email_verified, "username": u.username,
        "name": u.name, "avatar_url": u.avatar_url, "phone": u.phone, "status": u.status, "role": u.role,
        "mfa_enabled": u.mfa_enabled, "public_metadata": u.public_metadata, "unsafe_metadata": u.unsafe_metadata,
        "created_at": timestamp(u.created_at), "updated_at": timestamp(u.updated_at),
        "last_sign_in_at": opt_timestamp(u.last_sign_in_at),
    });
    if audience == Audience::Server {
        v["private_metadata"] = u.private_metadata.clone();
    }
    v
}

/// A session.
pub fn session(s: &Session) -> Value {
    json!({
        "id": s.id, "user_id": s.user_id, "status": s.status, "user_agent": s.user_agent,
        "ip_address": s.ip_address, "created_at": timestamp(s.created_at),
        "last_active_at": timestamp(s.last_active_at), "expires_at": timestamp(s.expires_at),
        "active_organization_id": s.active_organization_id,
    })
}

/// A tenant (control plane); its `database_url` is never shown.
pub fn tenant(t: &Tenant) -> Value {
    json!({
        "id": t.id, "name": t.name, "slug": t.slug, "status": t.status, "isolation_mode": t.isolation_mode,
        "region": t.region, "auth_config": t.auth_config, "created_at": timestamp(t.created_at),
        "updated_at": timestamp(t.updated_at),
    })
}

/// An API key, without its value.
pub fn api_key(k: &ApiKey) -> Value {
    json!({
        "id": k.id, "name": k.name, "type": k.kind, "last_four": k.last_four,
        "created_at": timestamp(k.created_at),
    })
}
