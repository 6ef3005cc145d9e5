//! [`TenantStore`] on the file engine: one directory per tenant.

use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;

use super::engine::{Batch, Check, FsEngine, Op};
use super::{commit, from_value, get, page_of, pointed_id, pointer, to_value};
use crate::store::*;

const USER: &str = "user";
const USER_EMAIL: &str = "user_email";
const SESSION: &str = "session";
const REFRESH_TOKEN: &str = "refresh_token";
const OUTBOX: &str = "outbox";
/// Field of a stored record row naming its owner (the rest of the row is the document).
const OWNER: &str = "_owner_id";

fn record_row(record: &Record) -> Result<serde_json::Value, StoreError> {
    let mut row = record.doc.clone();
    match row.as_object_mut() {
        Some(map) => {
            map.insert(OWNER.into(), serde_json::Value::String(record.owner_id.clone()));
            Ok(row)
        }
        None => Err(StoreError::Corrupt("record documents are objects".into())),
    }
}

/// The rows whose key starts with `prefix`, below `end` (`prefix_end(prefix)` or a cursor inside it).
fn prefixed<'a>(
    rows: &'a std::collections::BTreeMap<String, serde_json::Value>,
    prefix: &'a str,
    end: &'a str,
) -> std::collections::btree_map::Range<'a, String, serde_json::Value> {
    rows.range::<str, _>((Bound::Included(prefix), Bound::Excluded(end)))
}

fn row_record(kind: RecordKind, id: &str, mut row: serde_json::Value) -> Record {
    let owner_id = row
        .as_object_mut()
        .and_then(|m| m.remove(OWNER))
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    Record {
        kind,
        id: id.to_owned(),
        owner_id,
        doc: row,
    }
}

/// The file-store tables of whole documents, in the order of [`DOC_TABLES`].
const DOC_TABLES_HERE: [&str; 4] = [USER, SESSION, REFRESH_TOKEN, OUTBOX];

/// The tables live in memory behind one lock, so an export first copies them to an
/// anonymous spool file (at disk speed, under one read lock: a consistent view) and then
/// streams the spool: memory stays bounded and a slow reader never holds writes back.
/// A spool line is `[slot, id, row]`: slots 0–3 are [`DOC_TABLES_HERE`], then record kinds.
fn export_spooled(engine: &FsEngine, sink: &ExportSink) -> Result<(), StoreError> {
    use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
    let io = |e: std::io::Error| StoreError::Unavailable(format!("export spool: {e}"));
    let json = |e: serde_json::Error| StoreError::Corrupt(format!("export spool: {e}"));
    let mut spool = BufWriter::new(tempfile::tempfile_in(engine.dir()).map_err(io)?);
    let tables = DOC_TABLES_HERE
        .iter()
        .copied()
        .chain(RecordKind::ALL.iter().map(|kind| kind.table()));
    let total = engine.read(|t| -> Result<usize, StoreError> {
        let mut total = 0;
        for (slot, table) in tables.enumerate() {
            for (id, row) in t.table(table).into_iter().flatten() {
                serde_json::to_writer(&mut spool, &(slot, id, row)).map_err(json)?;
                spool.write_all(b"\n").map_err(io)?;
                total += 1;
            }
        }
        Ok(total)
    })?;
    let mut file = spool.into_inner().map_err(|e| io(e.into_error()))?;
    file.rewind().map_err(io)?;
    if sink.blocking_send(ExportItem::Total(total)).is_err() {
        return Ok(());
    }
    for line in BufReader::new(file).lines() {
        let (slot, id, row): (usize, String, serde_json::Value) =
            serde_json::from_str(&line.map_err(io)?).map_err(json)?;
        let item = match RecordKind::ALL.get(slot.wrapping_sub(DOC_TABLES_HERE.len())) {
            Some(kind) => ExportItem::Record(row_record(*kind, &id, row)),
            None => doc_item(slot, row)?,
        };
        if sink.blocking_send(item).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// One tenant's data in `DATA/tenants/<tenant_id>`.
pub struct FsTenantStore {
    engine: Arc<FsEngine>,
}

/// A batch under construction, remembering which checks protect a unique field.
struct Plan {
    batch: Batch,
    meanings: Vec<Option<&'static str>>,
}

impl Plan {
    fn check(&mut self, check: Check, meaning: Option<&'static str>) {
        self.batch.checks.push(check);
        self.meanings.push(meaning);
    }
    fn put(&mut self, table: &str, key: &str, value: serde_json::Value) {
        self.batch.ops.push(Op::Put {
            table: table.into(),
            key: key.into(),
            value,
        });
    }
    fn delete(&mut self, table: &str, key: &str) {
        self.batch.ops.push(Op::Delete {
            table: table.into(),
            key: key.into(),
        });
    }
}

impl FsTenantStore {
    /// Wraps an opened engine.
    pub fn new(engine: Arc<FsEngine>) -> Self {
        Self { engine }
    }

    fn rows_where(&self, table: &str, keep: impl Fn(&serde_json::Value) -> bool) -> Vec<(String, serde_json::Value)> {
        self.engine.read(|t| {
            t.table(table)
                .map(|rows| {
                    rows.iter()
                        .filter(|(_, v)| keep(v))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn plan_write(&self, plan: &mut Plan, write: TenantWrite) -> Result<(), StoreError> {
        match write {
            TenantWrite::InsertUser(user) => {
                plan.check(
                    Check::Absent {
                        table: USER_EMAIL.into(),
                        key: user.email.clone(),
                    },
                    Some("email"),
                );
                plan.check(
                    Check::Absent {
                        table: USER.into(),
                        key: user.id.clone(),
                    },
                    None,
                );
                plan.put(USER_EMAIL, &user.email, pointer(&user.id));
                plan.put(USER, &user.id, to_value(&user)?);
            }
            TenantWrite::UpdateUser(user) => {
                let old: User = get(&self.engine, USER, &user.id)?.ok_or(StoreError::NotFound)?;
                // The email index is rewritten from `old`: it must still be what is stored.
                let stored_email = serde_json::Value::String(old.email.clone());
                let unchanged = Check::FieldEquals {
                    table: USER.into(),
                    key: user.id.clone(),
                    field: "email".into(),
                    value: stored_email,
                };
                plan.check(unchanged, None);
                if old.email != user.email {
                    plan.check(
                        Check::Absent {
                            table: USER_EMAIL.into(),
                            key: user.email.clone(),
                        },
                        Some("email"),
                    );
                    plan.delete(USER_EMAIL, &old.email);
                    plan.put(USER_EMAIL, &user.email, pointer(&user.id));
                }
                plan.put(USER, &user.id, to_value(&user)?);
            }
            TenantWrite::DeleteUser { user_id } => {
                let user: User = get(&self.engine, USER, &user_id)?.ok_or(StoreError::NotFound)?;
                let of_user =
                    |v: &serde_json::Value| v.get("user_id").and_then(|u| u.as_str()) == Some(user_id.as_str());
                let sessions: Vec<String> = self.rows_where(SESSION, of_user).into_iter().map(|(k, _)| k).collect();
                let of_sessions = |v: &serde_json::Value| {
                    v.get("session_id")
                        .and_then(|s| s.as_str())
                        .is_some_and(|s| sessions.iter().any(|x| x == s))
                };
                let tokens: Vec<String> = self
                    .rows_where(REFRESH_TOKEN, of_sessions)
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                plan.delete(USER, &user_id);
                plan.delete(USER_EMAIL, &user.email);
                for kind in RecordKind::ALL {
                    for (id, _) in self.rows_where(kind.table(), |v| {
                        v.get(OWNER).and_then(|o| o.as_str()) == Some(user_id.as_str())
                    }) {
                        plan.delete(kind.table(), &id);
                    }
                }
                for id in &sessions {
                    plan.delete(SESSION, id);
                }
                for hash in &tokens {
                    plan.delete(REFRESH_TOKEN, hash);
                }
            }
            TenantWrite::TouchUser {
                user_id,
                last_sign_in_at,
                password_hash,
            } => {
                let mut fields = serde_json::Map::new();
                fields.insert("last_sign_in_at".into(), timestamp_value(last_sign_in_at)?);
                if let Some(hash) = password_hash {
                    fields.insert("password_hash".into(), serde_json::Value::String(hash));
                }
                plan.batch.ops.push(Op::Merge {
                    table: USER.into(),
                    key: user_id,
                    fields,
                });
            }
            TenantWrite::PutSession(session) => plan.put(SESSION, &session.id, to_value(&session)?),
            TenantWrite::PutRefreshToken(token) => plan.put(REFRESH_TOKEN, &token.token_hash, to_value(&token)?),
            TenantWrite::MarkRefreshTokenRotated { token_hash } => {
                let mut fields = serde_json::Map::new();
                fields.insert("status".into(), serde_json::Value::String("rotated".into()));
                plan.batch.ops.push(Op::Merge {
                    table: REFRESH_TOKEN.into(),
                    key: token_hash,
                    fields,
                });
            }
            TenantWrite::RevokeSession { session_id } => {
                let mut fields = serde_json::Map::new();
                fields.insert("status".into(), serde_json::Value::String("revoked".into()));
                plan.batch.ops.push(Op::Merge {
                    table: SESSION.into(),
                    key: session_id,
                    fields,
                });
            }
            TenantWrite::RevokeUserSessions { user_id, except } => {
                let targets = self.rows_where(SESSION, |v| {
                    v.get("user_id").and_then(|u| u.as_str()) == Some(user_id.as_str())
                        && v.get("status").and_then(|s| s.as_str()) == Some("active")
                });
                for (id, _) in targets
                    .into_iter()
                    .filter(|(id, _)| except.as_deref() != Some(id.as_str()))
                {
                    let mut fields = serde_json::Map::new();
                    fields.insert("status".into(), serde_json::Value::String("revoked".into()));
                    plan.batch.ops.push(Op::Merge {
                        table: SESSION.into(),
                        key: id,
                        fields,
                    });
                }
            }
            TenantWrite::AppendEvent(event) => plan.put(OUTBOX, &event.id, to_value(&event)?),
            TenantWrite::RemoveEvent { id } => plan.delete(OUTBOX, &id),
            TenantWrite::PutRecord(record) => plan.put(record.kind.table(), &record.id, record_row(&record)?),
            TenantWrite::InsertRecord(record) => {
                let absent = Check::Absent {
                    table: record.kind.table().into(),
                    key: record.id.clone(),
                };
                plan.check(absent, Some(record.kind.unique_field()));
                plan.put(record.kind.table(), &record.id, record_row(&record)?);
            }
            TenantWrite::DeleteRecord { kind, id } => plan.delete(kind.table(), &id),
            TenantWrite::DeleteRecordsWithPrefix { kind, prefix } => {
                let end = prefix_end(&prefix);
                let keys: Vec<String> = self.engine.read(|t| {
                    t.table(kind.table())
                        .map(|rows| prefixed(rows, &prefix, &end).map(|(k, _)| k.clone()).collect())
                        .unwrap_or_default()
                });
                for key in keys {
                    plan.delete(kind.table(), &key);
                }
            }
            TenantWrite::DeleteOwnerRecords { kind, owner_id } => {
                for (id, _) in self.rows_where(kind.table(), |v| {
                    v.get(OWNER).and_then(|o| o.as_str()) == Some(owner_id.as_str())
                }) {
                    plan.delete(kind.table(), &id);
                }
            }
        }
        Ok(())
    }
}

fn timestamp_value(t: time::OffsetDateTime) -> Result<serde_json::Value, StoreError> {
    time::serde::rfc3339::serialize(&t, serde_json::value::Serializer).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl TenantStore for FsTenantStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn apply(&self, batch: TenantBatch) -> Result<(), StoreError> {
        let mut plan = Plan {
            batch: Batch::new(),
            meanings: Vec::new(),
        };
        for guard in batch.guards {
            let check = match guard {
                Guard::RefreshTokenCurrent { token_hash } => Check::FieldEquals {
                    table: REFRESH_TOKEN.into(),
                    key: token_hash,
                    field: "status".into(),
                    value: serde_json::Value::String("current".into()),
                },
                Guard::RecordField { kind, id, field, value } => Check::FieldEquals {
                    table: kind.table().into(),
                    key: id,
                    field,
                    value,
                },
                Guard::UserExists { user_id } => Check::Exists {
                    table: USER.into(),
                    key: user_id,
                },
                Guard::SessionActive { session_id } => Check::FieldEquals {
                    table: SESSION.into(),
                    key: session_id,
                    field: "status".into(),
                    value: serde_json::Value::String("active".into()),
                },
                Guard::OwnerRecords { kind, owner_id, ids } => {
                    let mut keys = ids;
                    keys.sort();
                    Check::KeysWhere {
                        table: kind.table().into(),
                        field: OWNER.into(),
                        value: serde_json::Value::String(owner_id),
                        keys,
                    }
                }
                Guard::UserVersion { user_id, updated_at } => Check::FieldEquals {
                    table: USER.into(),
                    key: user_id,
                    field: "updated_at".into(),
                    value: timestamp_value(updated_at)?,
                },
            };
            plan.check(check, None);
        }
        for write in batch.writes {
            self.plan_write(&mut plan, write)?;
        }
        commit(&self.engine, plan.batch, plan.meanings).await
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        get(&self.engine, USER, id)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        match self.engine.get(USER_EMAIL, email).as_ref().and_then(pointed_id) {
            Some(id) => get(&self.engine, USER, &id),
            None => Ok(None),
        }
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let query = filter.query.as_ref().map(|q| q.to_lowercase());
        let members: Option<std::collections::HashSet<String>> = filter.organization_id.as_ref().map(|org| {
            let prefix = membership_id(org, "");
            let end = prefix_end(&prefix);
            self.engine.read(|t| {
                t.table(RecordKind::Membership.table())
                    .map(|rows| {
                        prefixed(rows, &prefix, &end)
                            .map(|(id, _)| id[prefix.len()..].to_owned())
                            .collect()
                    })
                    .unwrap_or_default()
            })
        });
        let keep = |u: &User| {
            members.as_ref().is_none_or(|m| m.contains(&u.id))
                && filter.email.as_ref().is_none_or(|e| &u.email == e)
                && filter.status.is_none_or(|s| u.status == s)
                && query.as_ref().is_none_or(|q| {
                    u.email.contains(q.as_str())
                        || u.name.as_ref().is_some_and(|n| n.to_lowercase().contains(q.as_str()))
                        || u.username
                            .as_ref()
                            .is_some_and(|n| n.to_lowercase().contains(q.as_str()))
                })
        };
        page_of(&self.engine, USER, keep, page)
    }

    async fn count_users(&self) -> Result<usize, StoreError> {
        Ok(self.engine.read(|t| t.len(USER)))
    }

    async fn get_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        get(&self.engine, SESSION, id)
    }

    async fn list_sessions(&self, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, StoreError> {
        let keep = |s: &Session| {
            filter.user_id.as_ref().is_none_or(|u| &s.user_id == u) && filter.status.is_none_or(|st| s.status == st)
        };
        page_of(&self.engine, SESSION, keep, page)
    }

    async fn find_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        get(&self.engine, REFRESH_TOKEN, token_hash)
    }

    async fn export_to(&self, sink: ExportSink) -> Result<(), StoreError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || export_spooled(&engine, &sink))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    async fn get_record(&self, kind: RecordKind, id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.engine.get(kind.table(), id).map(|row| row_record(kind, id, row)))
    }

    async fn get_records(&self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError> {
        Ok(self.engine.read(|t| {
            keys.iter()
                .map(|(kind, id)| t.get(kind.table(), id).map(|row| row_record(*kind, id, row.clone())))
                .collect()
        }))
    }

    async fn list_records(&self, kind: RecordKind, owner_id: &str) -> Result<Vec<Record>, StoreError> {
        let rows = self.rows_where(kind.table(), |v| {
            v.get(OWNER).and_then(|o| o.as_str()) == Some(owner_id)
        });
        Ok(rows.into_iter().map(|(id, row)| row_record(kind, &id, row)).collect())
    }

    async fn page_records(
        &self,
        kind: RecordKind,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<Record>, StoreError> {
        let end = prefix_end(prefix);
        let upper = match page.after.as_deref() {
            // Nothing of this prefix sorts before `after`.
            Some(after) if after <= prefix => return Ok(paginate(std::iter::empty(), |r: &Record| &r.id, page)),
            Some(after) if after < end.as_str() => after,
            _ => end.as_str(),
        };
        let rows: Vec<(String, serde_json::Value)> = self.engine.read(|t| {
            t.table(kind.table())
                .map(|rows| {
                    prefixed(rows, prefix, upper)
                        .rev()
                        .take(page.limit.max(1) + 1)
                        .map(|(id, row)| (id.clone(), row.clone()))
                        .collect()
                })
                .unwrap_or_default()
        });
        Ok(Page::from_fetched(
            rows.into_iter().map(|(id, row)| row_record(kind, &id, row)).collect(),
            page.limit,
        ))
    }

    async fn purge_dead_refresh_tokens(&self, now: time::OffsetDateTime) -> Result<usize, StoreError> {
        let live: std::collections::HashSet<String> = self
            .rows_where(SESSION, |v| v.get("status").and_then(|s| s.as_str()) == Some("active"))
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let dead: Vec<String> = self
            .rows_where(REFRESH_TOKEN, |v| match from_value::<RefreshToken>(v) {
                Ok(t) => t.expires_at <= now || !live.contains(&t.session_id),
                Err(_) => false,
            })
            .into_iter()
            .map(|(hash, _)| hash)
            .collect();
        if dead.is_empty() {
            return Ok(0);
        }
        let mut plan = Plan {
            batch: Batch::new(),
            meanings: Vec::new(),
        };
        for hash in &dead {
            plan.delete(REFRESH_TOKEN, hash);
        }
        commit(&self.engine, plan.batch, plan.meanings).await?;
        Ok(dead.len())
    }

    async fn purge(&self) -> Result<(), StoreError> {
        let mut plan = Plan {
            batch: Batch::new(),
            meanings: Vec::new(),
        };
        let record_tables = RecordKind::ALL.map(RecordKind::table);
        for table in [USER, USER_EMAIL, SESSION, REFRESH_TOKEN, OUTBOX]
            .into_iter()
            .chain(record_tables)
        {
            for (key, _) in self.rows_where(table, |_| true) {
                plan.delete(table, &key);
            }
        }
        commit(&self.engine, plan.batch, plan.meanings).await
    }

    async fn list_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        Ok(self.engine.read(|t| {
            t.table(OUTBOX)
                .map(|rows| rows.values().take(limit).filter_map(|v| from_value(v).ok()).collect())
                .unwrap_or_default()
        }))
    }
}
