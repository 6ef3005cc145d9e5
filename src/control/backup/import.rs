//! Restoring a backup as it is read: the head (header, tenant, keys) is checked before
//! anything is written, the data goes in bounded batches, and a restore that fails at any
//! point (a bad line, a store error, a missing trailer, a reader that went away) removes
//! what it wrote: a failed import leaves nothing.

use futures_util::{Stream, StreamExt};
use serde::Serialize;

use super::{bad, Line, FORMAT, VERSION};
use crate::config::IsolationMode;
use crate::control::key_check::check_backup_opens;
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::store::*;

/// Writes applied per transaction while restoring.
const BATCH_WRITES: usize = 1000;

/// What a restore brought back.
#[derive(Debug, Serialize)]
pub struct RestoreReport {
    pub tenant_id: String,
    pub users: usize,
    pub sessions: usize,
    pub created_tenant: bool,
}

/// How far a restore has come: records written, of how many the header announced.
#[derive(Debug, Clone, Copy)]
pub struct RestoreProgress {
    pub records: usize,
    pub total: Option<usize>,
}

/// The lines of a backup with their numbers, blank lines skipped.
struct Reader<S> {
    lines: S,
    number: usize,
}

impl<S: Stream<Item = Result<String, ApiError>> + Unpin> Reader<S> {
    /// The next line, parsed; `None` at the end of the input.
    async fn next(&mut self) -> Result<Option<Line>, ApiError> {
        while let Some(text) = self.lines.next().await {
            self.number += 1;
            let text = text?;
            if text.trim().is_empty() {
                continue;
            }
            return serde_json::from_str(&text)
                .map(Some)
                .map_err(|_| bad(format!("line {} is not a backup record", self.number)));
        }
        Ok(None)
    }
}

/// Marks a tenant as being restored while it lives: its data plane waits, and a second
/// restore of it is refused, however the first one ends.
struct Restoring<'a>(&'a dashmap::DashSet<String>, &'a str);

impl Drop for Restoring<'_> {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// The control-plane part of a backup, read before any data.
struct Head {
    tenant: Tenant,
    api_keys: Vec<ApiKey>,
    signing_keys: Vec<SigningKeyRecord>,
    total: Option<usize>,
    /// The first line after the head (data or trailer), already read.
    next: Option<Line>,
}

impl ControlPlane {
    /// Restores a backup into tenant `id` (by default the backup's own): created from the
    /// backup when it does not exist (in `isolation_mode`, or the backup's), or an existing
    /// tenant with no users. `progress` hears of every batch written.
    pub async fn import_tenant<S>(
        &self,
        id: Option<&str>,
        lines: S,
        isolation_mode: Option<&str>,
        mut progress: impl FnMut(RestoreProgress) + Send,
    ) -> Result<RestoreReport, ApiError>
    where
        S: Stream<Item = Result<String, ApiError>> + Send + Unpin,
    {
        let mut reader = Reader { lines, number: 0 };
        let head = read_head(&mut reader, id).await?;
        check_backup_opens(&self.master_key, &head.signing_keys, &[])?;
        let id = head.tenant.id.clone();
        if !self.restoring.insert(id.clone()) {
            return Err(ApiError::Conflict(
                "A restore of this tenant is already running.".into(),
            ));
        }
        let _restoring = Restoring(&self.restoring, &id);
        let (tenant, created) = self.restore_target(&head, isolation_mode).await?;
        self.registry.stop(&id).await;
        let restored = self.restore_data(&tenant, head, &mut reader, &mut progress).await;
        let outcome = match restored {
            Ok((users, sessions, api_keys, signing_keys)) => self
                .store
                .replace_keys(&id, &api_keys, &signing_keys)
                .await
                .map_err(ApiError::from)
                .map(|()| RestoreReport {
                    tenant_id: id.clone(),
                    users,
                    sessions,
                    created_tenant: created,
                }),
            Err(e) => Err(e),
        };
        if outcome.is_err() {
            self.undo_restore(&tenant, created).await;
        }
        self.changed(&id).await;
        outcome
    }

    /// The tenant a restore writes into: the existing one, or one created from the backup.
    async fn restore_target(&self, head: &Head, isolation_mode: Option<&str>) -> Result<(Tenant, bool), ApiError> {
        if let Some(existing) = self.store.get_tenant(&head.tenant.id).await? {
            if self.backend.open_tenant(&existing).await?.count_users().await? > 0 {
                return Err(ApiError::Conflict("Restores go into a tenant without users.".into()));
            }
            return Ok((existing, false));
        }
        let mut tenant = head.tenant.clone();
        if let Some(mode) = isolation_mode {
            tenant.isolation_mode = IsolationMode::parse(mode).ok_or_else(|| {
                ApiError::invalid(
                    "isolation_mode",
                    "must be separate_database, separate_schema or shared_schema.",
                )
            })?;
        }
        // Data residency is a property of the target instance, not of the backup.
        tenant.database_url = None;
        let first = head
            .signing_keys
            .first()
            .ok_or_else(|| bad("the backup has no signing key"))?;
        // No API key yet: nothing reaches the tenant until the restore has finished.
        self.store
            .insert_tenant(&tenant, &[], std::slice::from_ref(first))
            .await?;
        Ok((tenant, true))
    }

    /// Writes the data lines in batches and checks the trailer; the keys to install last.
    async fn restore_data<S>(
        &self,
        tenant: &Tenant,
        head: Head,
        reader: &mut Reader<S>,
        progress: &mut (impl FnMut(RestoreProgress) + Send),
    ) -> Result<(usize, usize, Vec<ApiKey>, Vec<SigningKeyRecord>), ApiError>
    where
        S: Stream<Item = Result<String, ApiError>> + Send + Unpin,
    {
        let store = self.backend.open_tenant(tenant).await?;
        let mut records = head.api_keys.len() + head.signing_keys.len();
        let (mut users, mut sessions) = (0, 0);
        let mut batch = Vec::with_capacity(BATCH_WRITES);
        let mut next = head.next;
        loop {
            let line = match next.take() {
                Some(line) => line,
                None => reader
                    .next()
                    .await?
                    .ok_or_else(|| bad("the backup is truncated: it has no end line"))?,
            };
            let write = match line {
                Line::End { records: announced } if announced == records => break,
                Line::End { .. } => return Err(bad("the backup's record count does not match its end line")),
                Line::User(u) => {
                    users += 1;
                    TenantWrite::InsertUser(*u)
                }
                Line::Session(s) => {
                    sessions += 1;
                    TenantWrite::PutSession(*s)
                }
                Line::RefreshToken(r) => TenantWrite::PutRefreshToken(r),
                Line::Event(e) => TenantWrite::AppendEvent(e),
                Line::Record(r) => {
                    check_backup_opens(&self.master_key, &[], std::slice::from_ref(&r))?;
                    TenantWrite::PutRecord(r)
                }
                _ => return Err(bad(format!("line {} is out of order", reader.number))),
            };
            records += 1;
            batch.push(write);
            if batch.len() == BATCH_WRITES {
                write_batch(store.as_ref(), &mut batch).await?;
                progress(RestoreProgress {
                    records,
                    total: head.total,
                });
            }
        }
        write_batch(store.as_ref(), &mut batch).await?;
        progress(RestoreProgress {
            records,
            total: head.total,
        });
        Ok((users, sessions, head.api_keys, head.signing_keys))
    }

    /// Removes what a failed restore wrote: the tenant it created, or the data it put into
    /// an existing tenant (which had no users before).
    async fn undo_restore(&self, tenant: &Tenant, created: bool) {
        let undone = if created {
            match self.store.delete_tenant(&tenant.id).await {
                Ok(()) => self.backend.drop_tenant(tenant).await,
                Err(e) => Err(e),
            }
        } else {
            match self.backend.open_tenant(tenant).await {
                Ok(store) => store.purge().await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = undone {
            tracing::error!(tenant = %tenant.id, error = %e, "a failed restore could not remove what it wrote");
        }
    }
}

async fn write_batch(store: &dyn TenantStore, batch: &mut Vec<TenantWrite>) -> Result<(), ApiError> {
    if batch.is_empty() {
        return Ok(());
    }
    let writes = std::mem::replace(batch, Vec::with_capacity(BATCH_WRITES));
    store
        .apply(TenantBatch {
            guards: Vec::new(),
            writes,
        })
        .await?;
    Ok(())
}

/// Reads and checks everything before the data: nothing is written for a backup of another
/// tenant, another format, or without a tenant record.
async fn read_head<S>(reader: &mut Reader<S>, id: Option<&str>) -> Result<Head, ApiError>
where
    S: Stream<Item = Result<String, ApiError>> + Send + Unpin,
{
    let Some(Line::Header {
        format,
        version,
        tenant_id,
        records,
    }) = reader.next().await?
    else {
        return Err(bad("the backup has no header line"));
    };
    if format != FORMAT || version != VERSION {
        return Err(bad(format!("unsupported backup format {format} v{version}")));
    }
    if id.is_some_and(|id| id != tenant_id) {
        return Err(ApiError::invalid(
            "tenant_id",
            format!("this backup is of tenant {tenant_id}"),
        ));
    }
    let (mut tenant, mut api_keys, mut signing_keys) = (None, Vec::new(), Vec::new());
    let next = loop {
        match reader.next().await? {
            Some(Line::Tenant(t)) => tenant = Some(*t),
            Some(Line::ApiKey(k)) => api_keys.push(k),
            Some(Line::SigningKey(k)) => signing_keys.push(k),
            Some(Line::Header { .. }) => return Err(bad(format!("line {} is a second header", reader.number))),
            other => break other,
        }
    };
    let tenant = tenant.ok_or_else(|| bad("the backup has no tenant record"))?;
    let foreign = |owner: &str| owner != tenant_id;
    if foreign(&tenant.id)
        || signing_keys.iter().any(|k| foreign(&k.tenant_id))
        || api_keys.iter().any(|k| foreign(&k.tenant_id))
    {
        return Err(bad("the backup holds records of another tenant"));
    }
    Ok(Head {
        tenant,
        api_keys,
        signing_keys,
        total: records,
        next,
    })
}
