//! The data-access layer. Every backend (file store now; PostgreSQL and MySQL
//! next) implements [`ControlStore`] for the control plane and
//! [`TenantStore`] for one tenant's data, so nothing above this module knows
//! which backend runs.
//!
//! Tenant writes go through [`TenantBatch`]: guards (compare-and-set
//! conditions) plus writes, applied atomically. That one shape covers
//! "change + outbox event" in one transaction and refresh-token rotation.

pub mod budget;
pub mod cluster;
pub mod connect;
pub mod fs;
pub mod model;
pub mod mysql;
pub mod postgres;
pub mod signing_keys;
pub mod sql;

use std::sync::Arc;

use async_trait::async_trait;

pub use model::*;

/// How long a SQL pool keeps a connection nobody uses: hellojohn shares the server's
/// connection slots with everyone else on it, so idle ones go back.
pub(crate) const IDLE_CONNECTION_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// The same for a separate_database tenant's own pool: with hundreds of tenants, idle
/// connections go back to the node's budget quickly.
pub(crate) const TENANT_IDLE_CONNECTION_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a store call failed; mapped to HTTP once, in `http::error`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique field (named) is already taken.
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// A guard of a batch did not hold (lost a compare-and-set race).
    #[error("conflict")]
    Conflict,
    /// Storage can't be reached now; the caller should retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Data on disk or in the database is not what this version understands.
    #[error("storage corrupt: {0}")]
    Corrupt(String),
    /// The database refused a value the client sent (a NUL byte, a character outside the
    /// column's set, an over-long text): the request is wrong, the store is fine.
    #[error("value refused by the database: {0}")]
    InvalidInput(String),
}

/// A page request: newest first, `after` is the last id of the previous page.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<String>,
}

/// One page of results; `has_more` tells whether a next page exists.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    /// Where the next page starts when it is not after the last item (items were
    /// filtered out after reading): the id of the last row read.
    #[serde(default)]
    pub resume_after: Option<String>,
}

/// Filters of `GET /v1/users`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserFilter {
    pub email: Option<String>,
    pub query: Option<String>,
    pub status: Option<UserStatus>,
    /// Only members of this organization.
    #[serde(default)]
    pub organization_id: Option<String>,
}

/// Filters of `GET /v1/sessions`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionFilter {
    pub user_id: Option<String>,
    pub status: Option<SessionStatus>,
}

/// The control plane's records: tenants, API keys, CP admins, signing keys.
#[async_trait]
pub trait ControlStore: Send + Sync {
    /// Fails when storage is unreachable (drives `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Creates a tenant with its first API keys and signing keys, atomically.
    async fn insert_tenant(
        &self,
        tenant: &Tenant,
        keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError>;
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Replaces a tenant's API keys and signing keys (restoring a backup).
    async fn replace_keys(
        &self,
        tenant_id: &str,
        api_keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError>;
    /// Removes the tenant record with its API keys and signing keys.
    async fn delete_tenant(&self, id: &str) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError>;
    async fn get_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError>;
    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError>;
    async fn count_tenants(&self) -> Result<usize, StoreError>;

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Deletes a key of that tenant; `NotFound` when it is not the tenant's.
    async fn delete_api_key(&self, tenant_id: &str, id: &str) -> Result<ApiKey, StoreError>;
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn list_api_keys(&self, tenant_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, StoreError>;

    async fn insert_admin(&self, admin: &CpAdmin) -> Result<(), StoreError>;
    async fn find_admin_by_email(&self, email: &str) -> Result<Option<CpAdmin>, StoreError>;
    async fn get_admin(&self, id: &str) -> Result<Option<CpAdmin>, StoreError>;
    async fn list_admins(&self, page: &PageRequest) -> Result<Page<CpAdmin>, StoreError>;
    /// Deletes an admin and its tokens; `Conflict` when it is the last one.
    async fn delete_admin(&self, id: &str) -> Result<(), StoreError>;
    async fn count_admins(&self) -> Result<usize, StoreError>;
    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError>;
    async fn find_admin_token(&self, token_hash: &str) -> Result<Option<AdminToken>, StoreError>;

    /// An instance-wide setting of the control plane (e.g. the encryption key check).
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `name` unless a value is there already; returns the one that
    /// stands, so nodes starting at once agree.
    async fn init_setting(&self, name: &str, value: &str) -> Result<String, StoreError>;

    async fn list_signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Applies a change of a tenant's signing keys atomically, under the tenant's lock, as
    /// [`signing_keys::plan`] decides from the unretired keys; `NotFound` without the tenant.
    async fn change_signing_keys(
        &self,
        change: &signing_keys::KeyChange,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError>;
}

/// Kinds of per-user records kept as documents (one table each in SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A TOTP or backup-code factor (`hj_mfa_factor`).
    MfaFactor,
    /// A pending second-factor challenge of a sign-in (`hj_mfa_challenge`).
    MfaChallenge,
    /// A password-reset, email-verification or magic-link token, by hash (`hj_one_time_token`).
    OneTimeToken,
    /// An organization; owner is itself (`hj_organization`).
    Organization,
    /// An organization's slug, owned by the organization: makes slugs unique (`hj_org_slug`).
    OrgSlug,
    /// A membership, id `<org id>:<user id>`, owned by the user (`hj_org_membership`).
    Membership,
    /// An invitation, owned by its organization (`hj_org_invitation`).
    Invitation,
    /// A webhook endpoint, owned by itself (`hj_webhook`).
    Webhook,
    /// One event's delivery to one webhook, owned by the webhook (`hj_webhook_delivery`).
    WebhookDelivery,
    /// A delivery still to attempt, id = the delivery's, owner `due` (`hj_webhook_due`).
    DueDelivery,
    /// A client of the tenant's OpenID provider, owned by itself (`hj_oauth_client`).
    OAuthClient,
    /// An authorization code by hash, owned by its user (`hj_oauth_code`).
    OAuthCode,
    /// The client a session was issued to, id = session id, owned by the user (`hj_oauth_grant`).
    OAuthGrant,
    /// A user's remembered consent to a client, id `<user id>:<client id>` (`hj_oauth_consent`).
    OAuthConsent,
    /// A social provider's settings, id = provider name, owner `providers` (`hj_oauth_provider`).
    OAuthProvider,
    /// A social sign-in waiting for its provider, by state hash, owner `flows` (`hj_social_flow`).
    SocialFlow,
    /// The code a social sign-in hands the app, by hash, owned by the user (`hj_social_code`).
    SocialCode,
    /// A linked provider identity, owned by the user (`hj_identity`).
    Identity,
    /// (provider, provider user id) → identity id, owned by the user (`hj_identity_key`).
    IdentityKey,
    /// One hour of a tenant's sign-in figures, id = the hour, owner `activity` (`hj_activity_hour`).
    ActivityHour,
}

impl RecordKind {
    /// Every kind, for exports and user deletion.
    /// New kinds go at the end: the file store's export spool numbers kinds by position.
    pub const ALL: [RecordKind; 20] = [
        RecordKind::MfaFactor,
        RecordKind::MfaChallenge,
        RecordKind::OneTimeToken,
        RecordKind::Organization,
        RecordKind::OrgSlug,
        RecordKind::Membership,
        RecordKind::Invitation,
        RecordKind::Webhook,
        RecordKind::WebhookDelivery,
        RecordKind::DueDelivery,
        RecordKind::OAuthClient,
        RecordKind::OAuthCode,
        RecordKind::OAuthGrant,
        RecordKind::OAuthConsent,
        RecordKind::OAuthProvider,
        RecordKind::SocialFlow,
        RecordKind::SocialCode,
        RecordKind::Identity,
        RecordKind::IdentityKey,
        RecordKind::ActivityHour,
    ];

    /// The table (or file-store table) of this kind.
    pub fn table(self) -> &'static str {
        match self {
            RecordKind::MfaFactor => "hj_mfa_factor",
            RecordKind::MfaChallenge => "hj_mfa_challenge",
            RecordKind::OneTimeToken => "hj_one_time_token",
            RecordKind::Organization => "hj_organization",
            RecordKind::OrgSlug => "hj_org_slug",
            RecordKind::Membership => "hj_org_membership",
            RecordKind::Invitation => "hj_org_invitation",
            RecordKind::Webhook => "hj_webhook",
            RecordKind::WebhookDelivery => "hj_webhook_delivery",
            RecordKind::DueDelivery => "hj_webhook_due",
            RecordKind::OAuthClient => "hj_oauth_client",
            RecordKind::OAuthCode => "hj_oauth_code",
            RecordKind::OAuthGrant => "hj_oauth_grant",
            RecordKind::OAuthConsent => "hj_oauth_consent",
            RecordKind::OAuthProvider => "hj_oauth_provider",
            RecordKind::SocialFlow => "hj_social_flow",
            RecordKind::SocialCode => "hj_social_code",
            RecordKind::Identity => "hj_identity",
            RecordKind::IdentityKey => "hj_identity_key",
            RecordKind::ActivityHour => "hj_activity_hour",
        }
    }

    /// What [`StoreError::Duplicate`] names when an [`TenantWrite::InsertRecord`] finds its id taken.
    pub fn unique_field(self) -> &'static str {
        match self {
            RecordKind::OrgSlug => "slug",
            RecordKind::Membership => "membership",
            RecordKind::IdentityKey => "identity",
            _ => "key",
        }
    }
}

/// The id of a [`RecordKind::Membership`] record: organization first, so one
/// organization's members are the key range `membership_id(org, "")…` (SQL filters
/// spell the same `<org>:<user>` layout).
pub fn membership_id(org_id: &str, user_id: &str) -> String {
    format!("{org_id}:{user_id}")
}

/// A per-user record: its kind, id, owning user and the document itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub kind: RecordKind,
    pub id: String,
    pub owner_id: String,
    pub doc: serde_json::Value,
}

impl Record {
    /// A record holding `value` as its document.
    pub fn new<T: serde::Serialize>(kind: RecordKind, id: &str, owner_id: &str, value: &T) -> Result<Self, StoreError> {
        Ok(Self {
            kind,
            id: id.to_owned(),
            owner_id: owner_id.to_owned(),
            doc: serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    }

    /// The document as the type it was stored from.
    pub fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, StoreError> {
        serde_json::from_value(self.doc).map_err(|e| StoreError::Corrupt(format!("{} record: {e}", self.kind.table())))
    }
}

/// A compare-and-set condition of a [`TenantBatch`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Guard {
    /// The record exists and `doc[field] == value` (single use, replay protection).
    RecordField {
        kind: RecordKind,
        id: String,
        field: String,
        value: serde_json::Value,
    },
    /// The refresh token exists and has not been rotated.
    RefreshTokenCurrent { token_hash: String },
    /// The user exists.
    UserExists { user_id: String },
    /// The session exists and is active (a refresh must not revive a revoked session).
    SessionActive { session_id: String },
    /// A user owns exactly these records of `kind` (no record joined or left since they were read).
    OwnerRecords {
        kind: RecordKind,
        owner_id: String,
        ids: Vec<String>,
    },
    /// The user row is still the version that was read (optimistic concurrency for updates).
    UserVersion {
        user_id: String,
        #[serde(with = "time::serde::rfc3339")]
        updated_at: time::OffsetDateTime,
    },
}

impl Guard {
    /// The record's `version` field is still `version` (optimistic concurrency on documents).
    pub fn version(kind: RecordKind, id: &str, version: u64) -> Self {
        Guard::RecordField {
            kind,
            id: id.to_owned(),
            field: "version".into(),
            value: serde_json::Value::from(version),
        }
    }

    /// A single-use record (one-time token, authorization code, social flow) is not spent
    /// yet: its `used` field is still false, so two concurrent uses can't both succeed.
    pub fn unused(kind: RecordKind, id: &str) -> Self {
        Guard::RecordField {
            kind,
            id: id.to_owned(),
            field: "used".into(),
            value: serde_json::Value::Bool(false),
        }
    }
}

/// One write of a [`TenantBatch`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum TenantWrite {
    /// `Duplicate("email")` when the email is taken.
    InsertUser(User),
    /// Full replacement; re-indexes a changed email (`Duplicate("email")` when taken).
    UpdateUser(User),
    /// Removes the user with their sessions and refresh tokens.
    DeleteUser {
        user_id: String,
    },
    /// Field-level update after a sign-in: never undoes a concurrent profile change.
    TouchUser {
        user_id: String,
        #[serde(with = "time::serde::rfc3339")]
        last_sign_in_at: time::OffsetDateTime,
        /// A re-hash with the current parameters, when the stored one was weaker.
        password_hash: Option<String>,
    },
    PutSession(Session),
    PutRefreshToken(RefreshToken),
    MarkRefreshTokenRotated {
        token_hash: String,
    },
    /// Marks one session revoked (a field update: never re-creates a deleted session).
    RevokeSession {
        session_id: String,
    },
    /// Revokes every active session of a user, except `except` (the caller's own) when given.
    RevokeUserSessions {
        user_id: String,
        except: Option<String>,
    },
    AppendEvent(OutboxEvent),
    /// Takes an event out of the outbox once the dispatcher has turned it into deliveries.
    RemoveEvent {
        id: String,
    },
    /// Inserts or replaces a record.
    PutRecord(Record),
    /// Inserts a record whose id must be new: `Duplicate(kind.unique_field())` when taken.
    InsertRecord(Record),
    DeleteRecord {
        kind: RecordKind,
        id: String,
    },
    /// Deletes every record of one kind whose id starts with `prefix`.
    DeleteRecordsWithPrefix {
        kind: RecordKind,
        prefix: String,
    },
    /// Deletes every record of one kind owned by a user.
    DeleteOwnerRecords {
        kind: RecordKind,
        owner_id: String,
    },
}

/// Writes applied all-or-nothing, after every guard held.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TenantBatch {
    pub guards: Vec<Guard>,
    pub writes: Vec<TenantWrite>,
}

impl TenantBatch {
    /// Adds a guard.
    pub fn guard(mut self, guard: Guard) -> Self {
        self.guards.push(guard);
        self
    }
    /// Adds a write.
    pub fn write(mut self, write: TenantWrite) -> Self {
        self.writes.push(write);
        self
    }
}

/// Every record of one tenant's data store, read consistently: the data part of a backup.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TenantSnapshot {
    pub users: Vec<User>,
    pub sessions: Vec<Session>,
    pub refresh_tokens: Vec<RefreshToken>,
    pub events: Vec<OutboxEvent>,
    #[serde(default)]
    pub records: Vec<Record>,
}

/// One item of a streamed export ([`TenantStore::export_to`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ExportItem {
    /// Sent first: how many records follow, counted in the same consistent view, so a
    /// reader can show progress and check that nothing went missing.
    Total(usize),
    User(Box<User>),
    Session(Box<Session>),
    RefreshToken(RefreshToken),
    Event(OutboxEvent),
    Record(Record),
}

/// Where a streamed export goes: bounded, so a slow reader holds the export back instead
/// of letting it pile up in memory.
pub type ExportSink = tokio::sync::mpsc::Sender<ExportItem>;

/// Sends `item`; `false` when the reader has gone (the export should stop).
pub(crate) async fn send_item(sink: &ExportSink, item: ExportItem) -> bool {
    sink.send(item).await.is_ok()
}

/// The SQL tables of whole documents, in export order, each with the key it is read by.
pub(crate) const DOC_TABLES: [(&str, &str); 4] = [
    ("hj_user", "id"),
    ("hj_session", "id"),
    ("hj_refresh_token", "token_hash"),
    ("hj_outbox", "id"),
];

/// The export item of a document of the `index`th of [`DOC_TABLES`] (the file store keeps
/// the same four tables under its own names, in the same order).
pub(crate) fn doc_item(index: usize, doc: serde_json::Value) -> Result<ExportItem, StoreError> {
    fn parse<T: serde::de::DeserializeOwned>(doc: serde_json::Value) -> Result<T, StoreError> {
        serde_json::from_value(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
    Ok(match index {
        0 => ExportItem::User(Box::new(parse(doc)?)),
        1 => ExportItem::Session(Box::new(parse(doc)?)),
        2 => ExportItem::RefreshToken(parse(doc)?),
        _ => ExportItem::Event(parse(doc)?),
    })
}

/// One query counting every row of a tenant in all exported tables (`{t}` stands for the
/// bound tenant id, `{d}` for a database prefix where the backend needs one).
pub(crate) fn export_count_sql(placeholder: &str, database_prefix: &str) -> String {
    let tables = DOC_TABLES
        .iter()
        .map(|(table, _)| *table)
        .chain(RecordKind::ALL.iter().map(|kind| kind.table()));
    let counts: Vec<String> = tables
        .map(|table| format!("(SELECT COUNT(*) FROM {database_prefix}{table} WHERE tenant_id = {placeholder})"))
        .collect();
    format!("SELECT CAST({} AS CHAR(20))", counts.join(" + "))
}

impl TenantSnapshot {
    /// The writes that recreate this snapshot in an empty store.
    pub fn into_writes(self) -> Vec<TenantWrite> {
        let mut writes = Vec::new();
        writes.extend(self.users.into_iter().map(TenantWrite::InsertUser));
        writes.extend(self.sessions.into_iter().map(TenantWrite::PutSession));
        writes.extend(self.refresh_tokens.into_iter().map(TenantWrite::PutRefreshToken));
        writes.extend(self.events.into_iter().map(TenantWrite::AppendEvent));
        writes.extend(self.records.into_iter().map(TenantWrite::PutRecord));
        writes
    }
}

/// What a refresh reads: the presented token, its session and the session's user, plus how
/// the rotation's writes are committed.
pub struct RefreshRead {
    pub token: RefreshToken,
    pub session: Session,
    pub user: Option<User>,
    pub hold: RotationHold,
}

/// How a rotation's writes commit.
pub enum RotationHold {
    /// SQL: the transaction that read the token and session is still open and holds both
    /// rows locked, so the rotation commits in it without guards.
    Open(Box<dyn OpenRotation>),
    /// The file store: the writes go through [`TenantStore::apply`], guarded by the token
    /// still being current and the session still active.
    Guarded,
}

/// The open transaction of a refresh ([`RotationHold::Open`]); dropped, it rolls back.
#[async_trait]
pub trait OpenRotation: Send {
    /// Several records read inside the transaction (the organization claims), in order.
    async fn get_records(&mut self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError>;
    /// Applies `writes` (each to a distinct row) and commits.
    async fn commit(self: Box<Self>, writes: Vec<TenantWrite>) -> Result<(), StoreError>;
}

impl RotationHold {
    /// Reads records where the rotation will commit: in its transaction when one is open
    /// (it holds a connection, and a second one from a small pool might never come).
    pub async fn get_records(
        &mut self,
        store: &dyn TenantStore,
        keys: &[(RecordKind, String)],
    ) -> Result<Vec<Option<Record>>, StoreError> {
        match self {
            RotationHold::Open(open) => open.get_records(keys).await,
            RotationHold::Guarded => store.get_records(keys).await,
        }
    }
}

impl RefreshRead {
    /// Commits a rotation's `writes` the way this read holds them; `Conflict` when, without
    /// an open transaction, the token was rotated or the session ended meanwhile.
    pub async fn commit(
        hold: RotationHold,
        store: &dyn TenantStore,
        token_hash: &str,
        session_id: &str,
        writes: Vec<TenantWrite>,
    ) -> Result<(), StoreError> {
        match hold {
            RotationHold::Open(open) => open.commit(writes).await,
            RotationHold::Guarded => {
                let batch = TenantBatch {
                    guards: vec![
                        Guard::RefreshTokenCurrent {
                            token_hash: token_hash.to_owned(),
                        },
                        Guard::SessionActive {
                            session_id: session_id.to_owned(),
                        },
                    ],
                    writes,
                };
                store.apply(batch).await
            }
        }
    }
}

/// One tenant's data, behind whichever isolation mode and backend it uses.
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn ping(&self) -> Result<(), StoreError>;
    /// Applies a batch atomically; `Conflict` when a guard fails.
    async fn apply(&self, batch: TenantBatch) -> Result<(), StoreError>;
    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// `email` must already be lower-cased.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError>;
    async fn count_users(&self) -> Result<usize, StoreError>;
    async fn get_session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    async fn list_sessions(&self, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, StoreError>;
    async fn find_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError>;
    /// A refresh token with its session and user, for a rotation: on SQL read in the
    /// transaction that will write it, with token and session locked, so a refresh is one
    /// transaction. `None` when the token or its session is unknown.
    async fn read_refresh(&self, token_hash: &str) -> Result<Option<RefreshRead>, StoreError> {
        let Some(token) = self.find_refresh_token(token_hash).await? else {
            return Ok(None);
        };
        let Some(session) = self.get_session(&token.session_id).await? else {
            return Ok(None);
        };
        let user = self.get_user(&session.user_id).await?;
        Ok(Some(RefreshRead {
            token,
            session,
            user,
            hold: RotationHold::Guarded,
        }))
    }
    /// Outbox events not yet handed to the webhook dispatcher, oldest first.
    async fn list_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError>;
    /// Deletes every record of this tenant (tenant deletion where its storage is shared).
    async fn purge(&self) -> Result<(), StoreError>;
    /// Deletes refresh tokens that can never be used again: past their expiry, or of a
    /// session that is no longer active. Rotated tokens of live sessions stay, because
    /// presenting one must still revoke its session. Returns how many went.
    async fn purge_dead_refresh_tokens(&self, now: time::OffsetDateTime) -> Result<usize, StoreError>;
    /// Streams every record to `sink`, from one consistent view (a backup): first
    /// [`ExportItem::Total`], then users, sessions, refresh tokens, outbox events and the
    /// record kinds. Memory stays bounded whatever the tenant's size; a closed sink ends
    /// the export early without an error.
    async fn export_to(&self, sink: ExportSink) -> Result<(), StoreError>;
    /// Every record, from one consistent view, in memory (tests and small tenants).
    async fn export(&self) -> Result<TenantSnapshot, StoreError> {
        let (sink, mut items) = tokio::sync::mpsc::channel(256);
        let collect = async {
            let mut snapshot = TenantSnapshot::default();
            while let Some(item) = items.recv().await {
                match item {
                    ExportItem::Total(_) => {}
                    ExportItem::User(u) => snapshot.users.push(*u),
                    ExportItem::Session(s) => snapshot.sessions.push(*s),
                    ExportItem::RefreshToken(r) => snapshot.refresh_tokens.push(r),
                    ExportItem::Event(e) => snapshot.events.push(e),
                    ExportItem::Record(r) => snapshot.records.push(r),
                }
            }
            snapshot
        };
        let (exported, snapshot) = tokio::join!(self.export_to(sink), collect);
        exported.map(|()| snapshot)
    }
    async fn get_record(&self, kind: RecordKind, id: &str) -> Result<Option<Record>, StoreError>;
    /// Several records by kind and id, read together (one transaction in SQL), in order.
    async fn get_records(&self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError>;
    /// A user's records of one kind, oldest first.
    async fn list_records(&self, kind: RecordKind, owner_id: &str) -> Result<Vec<Record>, StoreError>;
    /// One page of the records of a kind whose id starts with `prefix`, by id descending
    /// (newest first for ULID ids). `page.after` is a full id.
    async fn page_records(
        &self,
        kind: RecordKind,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<Record>, StoreError>;
}

/// A storage backend: one control store plus per-tenant stores.
#[async_trait]
pub trait Backend: Send + Sync {
    fn control(&self) -> Arc<dyn ControlStore>;
    /// Membership, leases and the change feed of a cluster: SQL backends only, since a
    /// file store belongs to one process.
    fn cluster(&self) -> Option<Arc<dyn cluster::ClusterStore>> {
        None
    }
    /// Whether a tenant may live on the database server `url` names (`database_url`, data
    /// residency): only SQL backends, and only a server of their own engine.
    fn accepts_database_url(&self, _url: &str) -> bool {
        false
    }
    /// Publishes connection-pool gauges, when the backend has pools.
    fn record_metrics(&self) {}
    /// Opens (creating on first use) the store of one tenant.
    async fn open_tenant(&self, tenant: &Tenant) -> Result<Arc<dyn TenantStore>, StoreError>;
    /// Drops every piece of a tenant's data.
    async fn drop_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
}

/// Opens the backend named by the scheme of `HELLOJOHN_DATABASE_URL`.
pub async fn open_backend(config: &crate::config::Config) -> Result<Arc<dyn Backend>, StoreError> {
    let url = config.database_url.as_str();
    if let Some(dir) = config.file_store_dir() {
        Ok(Arc::new(fs::FsBackend::open(&dir)?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PgBackend::open(
                url,
                config.database_pool_size,
                config.database_max_connections,
                config.database_connect_timeout,
            )
            .await?,
        ))
    } else {
        Ok(Arc::new(
            mysql::MySqlBackend::open(
                url,
                config.database_pool_size,
                config.database_max_connections,
                config.database_connect_timeout,
            )
            .await?,
        ))
    }
}

/// A short, stable tag of an instance (from its control database's name), so server-wide
/// names such as per-tenant databases of two instances on one server never collide.
pub(crate) fn instance_tag(control_database: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(control_database.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The first string after every string that starts with `prefix` (an exclusive upper bound
/// for range scans): the prefix with its last byte raised by one. Prefixes are ASCII ids.
pub fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    // Only for an empty or all-DEL prefix: no upper bound below this.
    "\u{7f}".repeat(65)
}

impl<T> Page<T> {
    /// A page out of rows a store already read past the cursor, in order, asking for one
    /// more than `limit`: that extra row only tells that a next page exists.
    pub fn from_fetched(mut rows: Vec<T>, limit: usize) -> Self {
        let limit = limit.max(1);
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        Page {
            items: rows,
            has_more,
            resume_after: None,
        }
    }
}

/// Selects one page out of items already sorted newest first (by id descending).
pub fn paginate<T>(items: impl Iterator<Item = T>, id: impl Fn(&T) -> &str, page: &PageRequest) -> Page<T> {
    let limit = page.limit.max(1);
    let mut out: Vec<T> = items
        .skip_while(|item| page.after.as_deref().is_some_and(|after| id(item) >= after))
        .take(limit + 1)
        .collect();
    let has_more = out.len() > limit;
    out.truncate(limit);
    Page {
        items: out,
        has_more,
        resume_after: None,
    }
}

#[cfg(test)]
mod prefix_tests {
    #[test]
    fn prefix_end_bounds_exactly_the_strings_with_that_prefix() {
        let end = super::prefix_end("org_A:");
        assert_eq!(end, "org_A;");
        for inside in ["org_A:", "org_A:usr_Z", "org_A:\u{7e}"] {
            assert!(inside >= "org_A:" && inside < end.as_str(), "{inside}");
        }
        for outside in ["org_A", "org_A;", "org_B:", "org_A9"] {
            assert!(!(outside >= "org_A:" && outside < end.as_str()), "{outside}");
        }
    }
}
