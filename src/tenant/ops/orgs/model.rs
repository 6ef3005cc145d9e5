//! Organizations as stored (documents inside store records) and as the API
//! shows them. Internal bookkeeping (`version`, `owner_count`, custom roles)
//! lives in the organization's document but never in its view.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::store::{Guard, Record, RecordKind, TenantWrite, User};
use crate::views::{objects, timestamp, Audience};

/// An organization of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub logo_url: Option<String>,
    pub public_metadata: Value,
    pub private_metadata: Value,
    pub member_count: u64,
    /// Members whose role is `owner`: the last one can't leave or be demoted.
    pub owner_count: u64,
    /// Bumped by every change of the organization or its memberships; guarded by each
    /// write, so counts and the last-owner rule hold under concurrent requests.
    pub version: u64,
    #[serde(default)]
    pub roles: Vec<CustomRole>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A role an organization defines beside the built-in ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomRole {
    pub key: String,
    pub name: String,
    pub permissions: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user's membership of an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub organization_id: String,
    pub user_id: String,
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
}

/// Stored lifecycle of an invitation; `expired` is derived from `expires_at` when shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
}

/// An invitation to join an organization; its token is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub role: String,
    pub status: InvitationStatus,
    pub token_hash: String,
    /// The member who sent it; `None` for the secret key. A user-sent invitation is only
    /// as good as its sender's current rights, and its token has been seen by a user.
    #[serde(default)]
    pub invited_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub use crate::store::membership_id;

/// A document out of a record.
pub fn from_record<T: DeserializeOwned>(record: Record) -> Result<T, ApiError> {
    Ok(record.parse()?)
}

impl Organization {
    /// The record holding this organization.
    pub fn record(&self) -> Result<Record, ApiError> {
        Ok(Record::new(RecordKind::Organization, &self.id, &self.id, self)?)
    }

    /// The record reserving this organization's slug.
    pub fn slug_record(&self) -> Record {
        Record {
            kind: RecordKind::OrgSlug,
            id: self.slug.clone(),
            owner_id: self.id.clone(),
            doc: json!({ "organization_id": self.id }),
        }
    }

    /// The guard that this is still the stored version.
    pub fn unchanged(&self) -> Guard {
        Guard::version(RecordKind::Organization, &self.id, self.version)
    }

    /// The next version, written with a guard on this one.
    pub fn next(&self) -> Organization {
        let mut next = self.clone();
        next.version += 1;
        next
    }

    /// The write storing this version.
    pub fn put(&self) -> Result<TenantWrite, ApiError> {
        Ok(TenantWrite::PutRecord(self.record()?))
    }

    /// The API shape; `private_metadata` only for the secret key.
    pub fn view(&self, audience: Audience) -> objects::Organization {
        objects::Organization {
            id: self.id.clone(),
            name: self.name.clone(),
            slug: self.slug.clone(),
            logo_url: self.logo_url.clone(),
            public_metadata: self.public_metadata.clone(),
            private_metadata: (audience == Audience::Server).then(|| self.private_metadata.clone()),
            member_count: self.member_count,
            created_at: timestamp(self.created_at),
            updated_at: timestamp(self.updated_at),
        }
    }
}

impl Membership {
    /// The record holding this membership (owned by the user).
    pub fn record(&self) -> Result<Record, ApiError> {
        Ok(Record::new(
            RecordKind::Membership,
            &membership_id(&self.organization_id, &self.user_id),
            &self.user_id,
            self,
        )?)
    }

    /// The API shape, with the member's summary when the user is known.
    pub fn view(&self, permissions: &[String], user: Option<&User>) -> objects::Membership {
        objects::Membership {
            organization_id: self.organization_id.clone(),
            user_id: self.user_id.clone(),
            role: self.role.clone(),
            permissions: permissions.to_vec(),
            joined_at: timestamp(self.joined_at),
            user: user.map(|u| objects::MemberUser {
                id: u.id.clone(),
                email: u.email.clone(),
                name: u.name.clone(),
                avatar_url: u.avatar_url.clone(),
            }),
        }
    }
}

impl Invitation {
    /// The record holding this invitation (owned by its organization).
    pub fn record(&self) -> Result<Record, ApiError> {
        Ok(Record::new(
            RecordKind::Invitation,
            &self.id,
            &self.organization_id,
            self,
        )?)
    }

    /// The status as shown: a pending invitation past its expiry is `expired`.
    pub fn shown_status(&self, now: OffsetDateTime) -> &'static str {
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => "expired",
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
        }
    }

    /// The API shape (never the token).
    pub fn view(&self, now: OffsetDateTime) -> objects::Invitation {
        objects::Invitation {
            id: self.id.clone(),
            organization_id: self.organization_id.clone(),
            email: self.email.clone(),
            role: self.role.clone(),
            status: self.shown_status(now).to_owned(),
            expires_at: timestamp(self.expires_at),
            created_at: timestamp(self.created_at),
            token: None,
        }
    }
}

impl CustomRole {
    /// The API shape.
    pub fn view(&self) -> objects::Role {
        objects::Role {
            key: self.key.clone(),
            name: self.name.clone(),
            permissions: self.permissions.clone(),
            builtin: false,
            created_at: Some(timestamp(self.created_at)),
        }
    }
}
