//! Linked identities: (provider, provider user id) → user, unique per tenant, listed and
//! removable by their user (`/v1/me/identities`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::auth::secrets;
use crate::error::ApiError;
use crate::store::*;
use crate::tenant::context::TenantContext;
use crate::tenant::ops::sessions;
use crate::views::timestamp;
use crate::webhooks::EventType;

/// A linked identity (`hj_identity`, owned by its user).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    pub provider: String,
    /// The provider's id of the user.
    pub subject: String,
    pub user_id: String,
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// (provider, subject) → identity id (`hj_identity_key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityKey {
    pub identity_id: String,
}

impl Identity {
    /// The API shape.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "provider": self.provider,
            "provider_user_id": self.subject,
            "user_id": self.user_id,
            "email": self.email,
            "created_at": timestamp(self.created_at),
        })
    }

    /// The writes that link this identity (the key is inserted: a second link of the same
    /// provider account fails as a duplicate).
    pub fn link_writes(&self) -> Result<Vec<TenantWrite>, ApiError> {
        let key = IdentityKey {
            identity_id: self.id.clone(),
        };
        Ok(vec![
            TenantWrite::PutRecord(Record::new(RecordKind::Identity, &self.id, &self.user_id, self)?),
            TenantWrite::InsertRecord(Record::new(
                RecordKind::IdentityKey,
                &key_id(&self.provider, &self.subject),
                &self.user_id,
                &key,
            )?),
        ])
    }
}

/// The record id of a (provider, subject) pair.
pub fn key_id(provider: &str, subject: &str) -> String {
    secrets::hash(&format!("{provider}\n{subject}"))
}

/// The identity of a provider account, if one is linked.
pub async fn find(ctx: &TenantContext, provider: &str, subject: &str) -> Result<Option<Identity>, ApiError> {
    let Some(key) = ctx
        .store
        .get_record(RecordKind::IdentityKey, &key_id(provider, subject))
        .await?
    else {
        return Ok(None);
    };
    let key: IdentityKey = key.parse()?;
    match ctx.store.get_record(RecordKind::Identity, &key.identity_id).await? {
        Some(record) => Ok(Some(record.parse()?)),
        None => Ok(None),
    }
}

/// An `oauth.connected` or `oauth.disconnected` event.
pub fn event(ctx: &TenantContext, kind: EventType, identity: &Identity) -> TenantWrite {
    TenantWrite::AppendEvent(sessions::event(kind, json!({ "identity": identity.view() }), ctx))
}

/// Lists the user's identities, or removes one (`remove`). The last way to sign in can't
/// be removed: a user without a password keeps at least one identity (409 `conflict`).
pub async fn execute(ctx: &TenantContext, user_id: &str, remove: Option<String>) -> Result<Value, ApiError> {
    let mut linked: Vec<Identity> = ctx
        .store
        .list_records(RecordKind::Identity, user_id)
        .await?
        .into_iter()
        .map(|r| r.parse())
        .collect::<Result<_, _>>()?;
    linked.sort_by_key(|i| std::cmp::Reverse(i.created_at));
    let Some(id) = remove else {
        return Ok(json!({ "data": linked.iter().map(Identity::view).collect::<Vec<_>>() }));
    };
    let identity = linked.iter().find(|i| i.id == id).ok_or(ApiError::NotFound)?;
    let user = ctx.store.get_user(user_id).await?.ok_or(ApiError::NotFound)?;
    if user.password_hash.is_none() && linked.len() == 1 {
        return Err(ApiError::Conflict(
            "This is the account's only way to sign in; set a password first.".into(),
        ));
    }
    let batch = TenantBatch::default()
        .write(TenantWrite::DeleteRecord {
            kind: RecordKind::Identity,
            id: identity.id.clone(),
        })
        .write(TenantWrite::DeleteRecord {
            kind: RecordKind::IdentityKey,
            id: key_id(&identity.provider, &identity.subject),
        })
        .write(event(ctx, EventType::OauthDisconnected, identity));
    ctx.store.apply(batch).await?;
    Ok(Value::Null)
}
