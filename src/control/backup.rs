//! Per-tenant backup and restore as JSON lines: a header, the tenant record,
//! its API keys and signing keys (sealed as stored), every record of its data
//! store from one consistent view, and a trailer with counts so a truncated
//! file is refused. A restore works on any backend and isolation mode.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ControlPlane;
use crate::config::IsolationMode;
use crate::error::ApiError;
use crate::store::*;

/// Format name in the header line.
const FORMAT: &str = "hellojohn-tenant-backup";
/// Format version in the header line.
const VERSION: u32 = 1;

/// One line of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
enum Line {
    Header {
        format: String,
        version: u32,
        tenant_id: String,
    },
    Tenant(Box<Tenant>),
    ApiKey(ApiKey),
    SigningKey(SigningKeyRecord),
    User(Box<User>),
    Session(Box<Session>),
    RefreshToken(RefreshToken),
    Event(OutboxEvent),
    Record(Record),
    End {
        records: usize,
    },
}

/// What a restore brought back.
#[derive(Debug, Serialize)]
pub struct RestoreReport {
    pub tenant_id: String,
    pub users: usize,
    pub sessions: usize,
    pub created_tenant: bool,
}

fn line(value: &Line) -> Result<String, ApiError> {
    let mut text = serde_json::to_string(value).map_err(|_| ApiError::Internal)?;
    text.push('\n');
    Ok(text)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest {
        field: None,
        message: message.into(),
    }
}

impl ControlPlane {
    /// A complete, consistent backup of one tenant, as JSON lines.
    pub async fn export_tenant(&self, id: &str) -> Result<Vec<String>, ApiError> {
        let tenant = self.store.get_tenant(id).await?.ok_or(ApiError::NotFound)?;
        // A tenant's own database URL may hold credentials: it stays out of backups.
        let exported = Tenant {
            database_url: None,
            ..tenant.clone()
        };
        let keys = self
            .store
            .list_api_keys(
                id,
                &PageRequest {
                    limit: 10_000,
                    after: None,
                },
            )
            .await?;
        let signing = self.store.list_signing_keys(id).await?;
        let snapshot = self.backend.open_tenant(&tenant).await?.export().await?;
        let mut out = vec![line(&Line::Header {
            format: FORMAT.into(),
            version: VERSION,
            tenant_id: tenant.id.clone(),
        })?];
        out.push(line(&Line::Tenant(Box::new(exported)))?);
        let mut records = 0;
        let mut push = |l: Line, out: &mut Vec<String>| -> Result<(), ApiError> {
            records += 1;
            out.push(line(&l)?);
            Ok(())
        };
        for k in keys.items {
            push(Line::ApiKey(k), &mut out)?;
        }
        for k in signing {
            push(Line::SigningKey(k), &mut out)?;
        }
        for u in snapshot.users {
            push(Line::User(Box::new(u)), &mut out)?;
        }
        for s in snapshot.sessions {
            push(Line::Session(Box::new(s)), &mut out)?;
        }
        for r in snapshot.refresh_tokens {
            push(Line::RefreshToken(r), &mut out)?;
        }
        for e in snapshot.events {
            push(Line::Event(e), &mut out)?;
        }
        for r in snapshot.records {
            push(Line::Record(r), &mut out)?;
        }
        out.push(line(&Line::End { records })?);
        Ok(out)
    }

    /// Restores a backup into tenant `id`: created from the backup when it does not
    /// exist (in `isolation_mode`, or the backup's), or an existing tenant with no users.
    pub async fn import_tenant(
        &self,
        id: &str,
        body: &str,
        isolation_mode: Option<&str>,
    ) -> Result<RestoreReport, ApiError> {
        let mut header = None;
        let mut tenant = None;
        let (mut api_keys, mut signing_keys, mut snapshot) = (Vec::new(), Vec::new(), TenantSnapshot::default());
        let mut end = None;
        for (number, text) in body.lines().enumerate().filter(|(_, t)| !t.trim().is_empty()) {
            let parsed: Line =
                serde_json::from_str(text).map_err(|_| bad(format!("line {} is not a backup record", number + 1)))?;
            match parsed {
                Line::Header {
                    format,
                    version,
                    tenant_id,
                } => header = Some((format, version, tenant_id)),
                Line::Tenant(t) => tenant = Some(*t),
                Line::ApiKey(k) => api_keys.push(k),
                Line::SigningKey(k) => signing_keys.push(k),
                Line::User(u) => snapshot.users.push(*u),
                Line::Session(s) => snapshot.sessions.push(*s),
                Line::RefreshToken(r) => snapshot.refresh_tokens.push(r),
                Line::Event(e) => snapshot.events.push(e),
                Line::Record(r) => snapshot.records.push(r),
                Line::End { records } => end = Some(records),
            }
        }
        let Some((format, version, backup_id)) = header else {
            return Err(bad("the backup has no header line"));
        };
        if format != FORMAT || version != VERSION {
            return Err(bad(format!("unsupported backup format {format} v{version}")));
        }
        if backup_id != id {
            return Err(ApiError::invalid(
                "tenant_id",
                format!("this backup is of tenant {backup_id}"),
            ));
        }
        let records = api_keys.len()
            + signing_keys.len()
            + snapshot.users.len()
            + snapshot.sessions.len()
            + snapshot.refresh_tokens.len()
            + snapshot.events.len()
            + snapshot.records.len();
        if end != Some(records) {
            return Err(bad("the backup is truncated or its record count does not match"));
        }
        super::key_check::check_backup_opens(&self.master_key, &signing_keys, &snapshot.records)?;
        let mut from_backup = tenant.ok_or_else(|| bad("the backup has no tenant record"))?;
        if signing_keys.iter().any(|k| k.tenant_id != id) || api_keys.iter().any(|k| k.tenant_id != id) {
            return Err(bad("the backup holds keys of another tenant"));
        }
        let (tenant, created) = match self.store.get_tenant(id).await? {
            Some(existing) => (existing, false),
            None => {
                if let Some(mode) = isolation_mode {
                    from_backup.isolation_mode = IsolationMode::parse(mode).ok_or_else(|| {
                        ApiError::invalid(
                            "isolation_mode",
                            "must be separate_database, separate_schema or shared_schema.",
                        )
                    })?;
                }
                // Data residency is a property of the target instance, not of the backup.
                from_backup.database_url = None;
                let first = signing_keys
                    .first()
                    .ok_or_else(|| bad("the backup has no signing key"))?;
                self.store
                    .insert_tenant(&from_backup, &[], std::slice::from_ref(first))
                    .await?;
                (from_backup, true)
            }
        };
        self.registry.stop(id).await;
        let store = self.backend.open_tenant(&tenant).await?;
        if store.count_users().await? > 0 {
            return Err(ApiError::Conflict("Restores go into a tenant without users.".into()));
        }
        let report = RestoreReport {
            tenant_id: id.to_owned(),
            users: snapshot.users.len(),
            sessions: snapshot.sessions.len(),
            created_tenant: created,
        };
        // Data first: if it fails, the tenant keeps the keys it had.
        store
            .apply(TenantBatch {
                guards: Vec::new(),
                writes: snapshot.into_writes(),
            })
            .await?;
        self.store.replace_keys(id, &api_keys, &signing_keys).await?;
        self.forget_tenant(id);
        Ok(report)
    }
}

/// A backup's tenant id, read from its header (for the CLI).
pub fn backup_tenant_id(body: &str) -> Option<String> {
    let first: Value = serde_json::from_str(body.lines().next()?).ok()?;
    first.get("data")?.get("tenant_id")?.as_str().map(str::to_owned)
}
