//! [`TenantStore`] on MySQL/MariaDB. Every statement names the tenant's
//! database and binds its `tenant_id`: with no row-level security in MySQL,
//! this layer is what keeps shared_schema tenants apart.

use std::sync::Arc;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Pool, Transaction, TxOpts, Value as Param};
use serde::de::DeserializeOwned;

use super::my_error;
use crate::store::sql::{
    doc_text as doc, from_text as from_doc, status_text as status_str, timestamp_text as timestamp,
};
use crate::store::*;

/// One tenant's data in MySQL.
#[derive(Clone)]
pub struct MySqlTenantStore {
    pool: Arc<Pool>,
    /// Quoted database name, validated at construction.
    database: String,
    tenant_id: String,
}

fn err(e: mysql_async::Error) -> StoreError {
    my_error(e, "email")
}

/// A record from a row selecting `id, owner_id, doc`.
fn record_of(kind: RecordKind, (id, owner_id, text): (String, String, String)) -> Result<Record, StoreError> {
    Ok(Record {
        kind,
        id,
        owner_id,
        doc: from_doc(&text)?,
    })
}

/// Sends every row `sql` selects as it arrives from the server (never the whole result in
/// memory); `false` when the reader has gone.
async fn export_rows<R: mysql_async::prelude::FromRow + Send + 'static>(
    tx: &mut Transaction<'_>,
    sql: String,
    tenant: &str,
    sink: &ExportSink,
    item: impl Fn(R) -> Result<ExportItem, StoreError>,
) -> Result<bool, StoreError> {
    let mut rows = tx.exec_iter(sql, (tenant,)).await.map_err(err)?;
    while let Some(row) = rows.next().await.map_err(err)? {
        let row = mysql_async::from_row_opt::<R>(row).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if !send_item(sink, item(row)?).await {
            return Ok(false);
        }
    }
    Ok(true)
}

impl MySqlTenantStore {
    /// A store in `database` on `pool` (the name comes from a validated tenant id).
    pub fn new(pool: Arc<Pool>, database: String, tenant_id: String) -> Self {
        Self {
            pool,
            database: format!("`{database}`"),
            tenant_id,
        }
    }

    fn sql(&self, template: &str) -> String {
        template.replace("{d}", &self.database)
    }

    async fn docs<T: DeserializeOwned>(&self, sql: &str, params: Vec<Param>) -> Result<Vec<T>, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let mut all = vec![Param::from(self.tenant_id.as_str())];
        all.extend(params);
        let rows: Vec<String> = conn.exec(self.sql(sql), all).await.map_err(err)?;
        rows.iter().map(|t| from_doc(t)).collect()
    }

    async fn doc_opt<T: DeserializeOwned>(&self, sql: &str, key: &str) -> Result<Option<T>, StoreError> {
        Ok(self.docs(sql, vec![key.into()]).await?.into_iter().next())
    }

    /// Records of one kind whose `column` (`id` or `owner_id`) equals `value`, oldest first.
    async fn records(&self, kind: RecordKind, column: &'static str, value: &str) -> Result<Vec<Record>, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let sql = format!(
            "SELECT id, owner_id, doc FROM {{d}}.{} WHERE tenant_id = ? AND {column} = ? ORDER BY id",
            kind.table()
        );
        let rows: Vec<(String, String, String)> =
            conn.exec(self.sql(&sql), (&self.tenant_id, value)).await.map_err(err)?;
        rows.into_iter().map(|row| record_of(kind, row)).collect()
    }

    /// Records by kind and id, in order, on `conn` (a pooled connection or a transaction).
    async fn read_records(
        &self,
        conn: &mut impl Queryable,
        keys: &[(RecordKind, String)],
    ) -> Result<Vec<Option<Record>>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for (kind, id) in keys {
            let sql = format!(
                "SELECT id, owner_id, doc FROM {{d}}.{} WHERE tenant_id = ? AND id = ?",
                kind.table()
            );
            let row: Option<(String, String, String)> = conn
                .exec_first(self.sql(&sql), (&self.tenant_id, id))
                .await
                .map_err(err)?;
            found.push(row.map(|row| record_of(*kind, row)).transpose()?);
        }
        Ok(found)
    }

    async fn check(&self, tx: &mut Transaction<'static>, guard: &Guard) -> Result<bool, StoreError> {
        let tenant = self.tenant_id.as_str();
        let found: Option<i64> = match guard {
            Guard::RecordField { kind, id, field, value } => {
                let sql = format!("SELECT doc FROM {{d}}.{} WHERE tenant_id = ? AND id = ? FOR UPDATE", kind.table());
                let row: Option<String> = tx.exec_first(self.sql(&sql), (tenant, id)).await.map_err(err)?;
                let doc: Option<serde_json::Value> = row.map(|t| from_doc(&t)).transpose()?;
                return Ok(doc.is_some_and(|d| d.get(field) == Some(value)));
            }
            Guard::RefreshTokenCurrent { token_hash } => {
                let sql = "SELECT 1 FROM {d}.hj_refresh_token WHERE tenant_id = ? AND token_hash = ? AND status = 'current' FOR UPDATE";
                tx.exec_first(self.sql(sql), (tenant, token_hash)).await
            }
            Guard::UserExists { user_id } => {
                tx.exec_first(self.sql("SELECT 1 FROM {d}.hj_user WHERE tenant_id = ? AND id = ? LOCK IN SHARE MODE"), (tenant, user_id)).await
            }
            Guard::SessionActive { session_id } => {
                let sql = "SELECT 1 FROM {d}.hj_session WHERE tenant_id = ? AND id = ? AND status = 'active' FOR UPDATE";
                tx.exec_first(self.sql(sql), (tenant, session_id)).await
            }
            Guard::OwnerRecords { kind, owner_id, ids } => {
                let sql = format!(
                    "SELECT id FROM {{d}}.{} WHERE tenant_id = ? AND owner_id = ? ORDER BY id FOR UPDATE",
                    kind.table()
                );
                let found: Vec<String> = tx.exec(self.sql(&sql), (tenant, owner_id)).await.map_err(err)?;
                let mut wanted = ids.clone();
                wanted.sort();
                return Ok(found == wanted);
            }
            Guard::UserVersion { user_id, updated_at } => {
                let current: Option<String> = tx
                    .exec_first(self.sql("SELECT doc FROM {d}.hj_user WHERE tenant_id = ? AND id = ? FOR UPDATE"), (tenant, user_id))
                    .await
                    .map_err(err)?;
                let Some(current) = current else { return Ok(false) };
                let user: User = from_doc(&current)?;
                return Ok(user.updated_at == *updated_at);
            }
        }
        .map_err(err)?;
        Ok(found.is_some())
    }

    async fn write(&self, tx: &mut Transaction<'static>, write: &TenantWrite) -> Result<(), StoreError> {
        let tenant = self.tenant_id.as_str();
        match write {
            TenantWrite::InsertUser(u) => {
                tx.exec_drop(
                    self.sql("INSERT INTO {d}.hj_user (tenant_id, id, email, status, doc) VALUES (?, ?, ?, ?, ?)"),
                    (tenant, &u.id, &u.email, status_str(&u.status)?, doc(u)?),
                )
                .await
            }
            TenantWrite::UpdateUser(u) => {
                tx.exec_drop(
                    self.sql("UPDATE {d}.hj_user SET email = ?, status = ?, doc = ? WHERE tenant_id = ? AND id = ?"),
                    (&u.email, status_str(&u.status)?, doc(u)?, tenant, &u.id),
                )
                .await
            }
            TenantWrite::DeleteUser { user_id } => {
                let sessions: Vec<String> = tx
                    .exec(self.sql("SELECT id FROM {d}.hj_session WHERE tenant_id = ? AND user_id = ?"), (tenant, user_id))
                    .await
                    .map_err(err)?;
                for session in &sessions {
                    tx.exec_drop(self.sql("DELETE FROM {d}.hj_refresh_token WHERE tenant_id = ? AND session_id = ?"), (tenant, session))
                        .await
                        .map_err(err)?;
                }
                tx.exec_drop(self.sql("DELETE FROM {d}.hj_session WHERE tenant_id = ? AND user_id = ?"), (tenant, user_id)).await.map_err(err)?;
                for kind in RecordKind::ALL {
                    let sql = format!("DELETE FROM {{d}}.{} WHERE tenant_id = ? AND owner_id = ?", kind.table());
                    tx.exec_drop(self.sql(&sql), (tenant, user_id)).await.map_err(err)?;
                }
                tx.exec_drop(self.sql("DELETE FROM {d}.hj_user WHERE tenant_id = ? AND id = ?"), (tenant, user_id)).await
            }
            TenantWrite::TouchUser { user_id, last_sign_in_at, password_hash } => {
                let at = timestamp(*last_sign_in_at)?;
                match password_hash {
                    Some(hash) => {
                        let sql = "UPDATE {d}.hj_user SET doc = JSON_SET(doc, '$.last_sign_in_at', ?, '$.password_hash', ?)
                                   WHERE tenant_id = ? AND id = ?";
                        tx.exec_drop(self.sql(sql), (at, hash, tenant, user_id)).await
                    }
                    None => {
                        let sql = "UPDATE {d}.hj_user SET doc = JSON_SET(doc, '$.last_sign_in_at', ?) WHERE tenant_id = ? AND id = ?";
                        tx.exec_drop(self.sql(sql), (at, tenant, user_id)).await
                    }
                }
            }
            TenantWrite::PutSession(s) => {
                tx.exec_drop(
                    self.sql(
                        "INSERT INTO {d}.hj_session (tenant_id, id, user_id, status, doc) VALUES (?, ?, ?, ?, ?)
                         ON DUPLICATE KEY UPDATE status = VALUES(status), doc = VALUES(doc)",
                    ),
                    (tenant, &s.id, &s.user_id, status_str(&s.status)?, doc(s)?),
                )
                .await
            }
            TenantWrite::PutRefreshToken(r) => {
                tx.exec_drop(
                    self.sql(
                        "INSERT INTO {d}.hj_refresh_token (tenant_id, token_hash, session_id, status, doc) VALUES (?, ?, ?, ?, ?)
                         ON DUPLICATE KEY UPDATE status = VALUES(status), doc = VALUES(doc)",
                    ),
                    (tenant, &r.token_hash, &r.session_id, status_str(&r.status)?, doc(r)?),
                )
                .await
            }
            TenantWrite::MarkRefreshTokenRotated { token_hash } => {
                let sql = "UPDATE {d}.hj_refresh_token SET status = 'rotated', doc = JSON_SET(doc, '$.status', 'rotated')
                           WHERE tenant_id = ? AND token_hash = ?";
                tx.exec_drop(self.sql(sql), (tenant, token_hash)).await
            }
            TenantWrite::RevokeUserSessions { user_id, except } => {
                let sql = "UPDATE {d}.hj_session SET status = 'revoked', doc = JSON_SET(doc, '$.status', 'revoked')
                           WHERE tenant_id = ? AND user_id = ? AND status = 'active' AND (? IS NULL OR id <> ?)";
                tx.exec_drop(self.sql(sql), (tenant, user_id, except, except)).await
            }
            TenantWrite::RevokeSession { session_id } => {
                let sql = "UPDATE {d}.hj_session SET status = 'revoked', doc = JSON_SET(doc, '$.status', 'revoked')
                           WHERE tenant_id = ? AND id = ?";
                tx.exec_drop(self.sql(sql), (tenant, session_id)).await
            }
            TenantWrite::PutRecord(r) => {
                let sql = format!(
                    "INSERT INTO {{d}}.{} (tenant_id, id, owner_id, doc) VALUES (?, ?, ?, ?)
                     ON DUPLICATE KEY UPDATE owner_id = VALUES(owner_id), doc = VALUES(doc)",
                    r.kind.table()
                );
                tx.exec_drop(self.sql(&sql), (tenant, &r.id, &r.owner_id, doc(&r.doc)?)).await
            }
            TenantWrite::InsertRecord(r) => {
                let sql = format!(
                    "INSERT INTO {{d}}.{} (tenant_id, id, owner_id, doc) VALUES (?, ?, ?, ?)",
                    r.kind.table()
                );
                return tx
                    .exec_drop(self.sql(&sql), (tenant, &r.id, &r.owner_id, doc(&r.doc)?))
                    .await
                    .map_err(|e| my_error(e, r.kind.unique_field()));
            }
            TenantWrite::DeleteRecord { kind, id } => {
                let sql = format!("DELETE FROM {{d}}.{} WHERE tenant_id = ? AND id = ?", kind.table());
                tx.exec_drop(self.sql(&sql), (tenant, id)).await
            }
            TenantWrite::DeleteOwnerRecords { kind, owner_id } => {
                let sql = format!("DELETE FROM {{d}}.{} WHERE tenant_id = ? AND owner_id = ?", kind.table());
                tx.exec_drop(self.sql(&sql), (tenant, owner_id)).await
            }
            TenantWrite::DeleteRecordsWithPrefix { kind, prefix } => {
                let sql = format!("DELETE FROM {{d}}.{} WHERE tenant_id = ? AND id >= ? AND id < ?", kind.table());
                tx.exec_drop(self.sql(&sql), (tenant, prefix, prefix_end(prefix))).await
            }
            TenantWrite::AppendEvent(e) => {
                tx.exec_drop(self.sql("INSERT INTO {d}.hj_outbox (tenant_id, id, doc) VALUES (?, ?, ?)"), (tenant, &e.id, doc(e)?)).await
            }
            TenantWrite::RemoveEvent { id } => {
                tx.exec_drop(self.sql("DELETE FROM {d}.hj_outbox WHERE tenant_id = ? AND id = ?"), (tenant, id)).await
            }
        }
        .map_err(err)
    }
}

/// A refresh's transaction, open with its token and session locked.
struct MySqlRotation {
    store: MySqlTenantStore,
    tx: Transaction<'static>,
}

#[async_trait]
impl OpenRotation for MySqlRotation {
    async fn get_records(&mut self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError> {
        self.store.read_records(&mut self.tx, keys).await
    }

    async fn commit(mut self: Box<Self>, writes: Vec<TenantWrite>) -> Result<(), StoreError> {
        for write in &writes {
            self.store.write(&mut self.tx, write).await?;
        }
        self.tx.commit().await.map_err(err)
    }
}

#[async_trait]
impl TenantStore for MySqlTenantStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        conn.ping().await.map_err(err)
    }

    async fn apply(&self, batch: TenantBatch) -> Result<(), StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        for guard in &batch.guards {
            if !self.check(&mut tx, guard).await? {
                return Err(StoreError::Conflict);
            }
        }
        for write in &batch.writes {
            self.write(&mut tx, write).await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.hj_user WHERE tenant_id = ? AND id = ?", id)
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.hj_user WHERE tenant_id = ? AND email = ?", email)
            .await
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let status = filter.status.map(|s| status_str(&s)).transpose()?;
        let pattern = filter.query.as_deref().map(crate::store::sql::contains_pattern);
        let limit = (page.limit.max(1) + 1) as u64;
        let users: Vec<User> = self
            .docs(
                "SELECT doc FROM {d}.hj_user WHERE tenant_id = ?
                   AND (? IS NULL OR id < ?) AND (? IS NULL OR email = ?) AND (? IS NULL OR status = ?)
                   AND (? IS NULL OR email LIKE ? OR LOWER(JSON_UNQUOTE(JSON_EXTRACT(doc, '$.name'))) LIKE ?
                        OR LOWER(JSON_UNQUOTE(JSON_EXTRACT(doc, '$.username'))) LIKE ?)
                   AND (? IS NULL OR EXISTS (SELECT 1 FROM {d}.hj_org_membership m
                        WHERE m.tenant_id = hj_user.tenant_id AND m.id = CONCAT(?, ':', hj_user.id)))
                 ORDER BY id DESC LIMIT ?",
                vec![
                    page.after.clone().into(),
                    page.after.clone().into(),
                    filter.email.clone().into(),
                    filter.email.clone().into(),
                    status.clone().into(),
                    status.into(),
                    pattern.clone().into(),
                    pattern.clone().into(),
                    pattern.clone().into(),
                    pattern.into(),
                    filter.organization_id.clone().into(),
                    filter.organization_id.clone().into(),
                    limit.into(),
                ],
            )
            .await?;
        Ok(Page::from_fetched(users, page.limit))
    }

    async fn count_users(&self) -> Result<usize, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let n: Option<i64> = conn
            .exec_first(
                self.sql("SELECT count(*) FROM {d}.hj_user WHERE tenant_id = ?"),
                (&self.tenant_id,),
            )
            .await
            .map_err(err)?;
        Ok(n.unwrap_or(0) as usize)
    }

    async fn get_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.hj_session WHERE tenant_id = ? AND id = ?", id)
            .await
    }

    async fn list_sessions(&self, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, StoreError> {
        let status = filter.status.map(|s| status_str(&s)).transpose()?;
        let limit = (page.limit.max(1) + 1) as u64;
        let sessions: Vec<Session> = self
            .docs(
                "SELECT doc FROM {d}.hj_session WHERE tenant_id = ?
                   AND (? IS NULL OR id < ?) AND (? IS NULL OR user_id = ?) AND (? IS NULL OR status = ?)
                 ORDER BY id DESC LIMIT ?",
                vec![
                    page.after.clone().into(),
                    page.after.clone().into(),
                    filter.user_id.clone().into(),
                    filter.user_id.clone().into(),
                    status.clone().into(),
                    status.into(),
                    limit.into(),
                ],
            )
            .await?;
        Ok(Page::from_fetched(sessions, page.limit))
    }

    async fn find_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.doc_opt(
            "SELECT doc FROM {d}.hj_refresh_token WHERE tenant_id = ? AND token_hash = ?",
            token_hash,
        )
        .await
    }

    async fn read_refresh(&self, token_hash: &str) -> Result<Option<RefreshRead>, StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        let tenant = self.tenant_id.as_str();
        // Token and session locked; the user read plainly (MariaDB can't lock only some
        // tables of a join, and a user's sessions must not queue behind each other).
        let locked: Option<(String, String)> = tx
            .exec_first(
                self.sql(
                    "SELECT t.doc, s.doc FROM {d}.hj_refresh_token t
                     JOIN {d}.hj_session s ON s.tenant_id = t.tenant_id AND s.id = t.session_id
                     WHERE t.tenant_id = ? AND t.token_hash = ? FOR UPDATE",
                ),
                (tenant, token_hash),
            )
            .await
            .map_err(err)?;
        let Some((token, session)) = locked else {
            return Ok(None);
        };
        let session: Session = from_doc(&session)?;
        let user: Option<String> = tx
            .exec_first(
                self.sql("SELECT doc FROM {d}.hj_user WHERE tenant_id = ? AND id = ?"),
                (tenant, &session.user_id),
            )
            .await
            .map_err(err)?;
        Ok(Some(RefreshRead {
            token: from_doc(&token)?,
            session,
            user: user.map(|u| from_doc(&u)).transpose()?,
            hold: RotationHold::Open(Box::new(MySqlRotation {
                store: self.clone(),
                tx,
            })),
        }))
    }

    async fn list_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.docs(
            "SELECT doc FROM {d}.hj_outbox WHERE tenant_id = ? ORDER BY id LIMIT ?",
            vec![(limit as u64).into()],
        )
        .await
    }

    async fn export_to(&self, sink: ExportSink) -> Result<(), StoreError> {
        // One consistent snapshot for every table.
        let options = {
            let mut o = TxOpts::default();
            o.with_consistent_snapshot(true)
                .with_readonly(Some(true))
                .with_isolation_level(Some(mysql_async::IsolationLevel::RepeatableRead));
            o
        };
        let mut tx = super::begin(&self.pool, options).await?;
        let tenant = self.tenant_id.as_str();
        let count_sql = export_count_sql("?", &format!("{}.", self.database));
        let tenants = vec![Param::from(tenant); count_sql.matches('?').count()];
        let total: Option<String> = tx.exec_first(count_sql, tenants).await.map_err(err)?;
        let total = total
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| StoreError::Corrupt("row count".into()))?;
        if !send_item(&sink, ExportItem::Total(total)).await {
            return Ok(());
        }
        for (index, (table, key)) in DOC_TABLES.iter().enumerate() {
            let sql = self.sql(&format!(
                "SELECT doc FROM {{d}}.{table} WHERE tenant_id = ? ORDER BY {key}"
            ));
            let item = |(text,): (String,)| doc_item(index, from_doc(&text)?);
            if !export_rows(&mut tx, sql, tenant, &sink, item).await? {
                return Ok(());
            }
        }
        for kind in RecordKind::ALL {
            let sql = self.sql(&format!(
                "SELECT id, owner_id, doc FROM {{d}}.{} WHERE tenant_id = ? ORDER BY id",
                kind.table()
            ));
            let item = |row| Ok(ExportItem::Record(record_of(kind, row)?));
            if !export_rows(&mut tx, sql, tenant, &sink, item).await? {
                return Ok(());
            }
        }
        tx.commit().await.map_err(err)?;
        Ok(())
    }

    async fn get_record(&self, kind: RecordKind, id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.records(kind, "id", id).await?.into_iter().next())
    }

    async fn get_records(&self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        self.read_records(&mut conn, keys).await
    }

    async fn list_records(&self, kind: RecordKind, owner_id: &str) -> Result<Vec<Record>, StoreError> {
        self.records(kind, "owner_id", owner_id).await
    }

    async fn page_records(
        &self,
        kind: RecordKind,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<Record>, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let sql = format!(
            "SELECT id, owner_id, doc FROM {{d}}.{} WHERE tenant_id = ? AND id >= ? AND id < ?
               AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
            kind.table()
        );
        let limit = (page.limit.max(1) + 1) as u64;
        let params = (
            &self.tenant_id,
            prefix,
            prefix_end(prefix),
            &page.after,
            &page.after,
            limit,
        );
        let rows: Vec<(String, String, String)> = conn.exec(self.sql(&sql), params).await.map_err(err)?;
        let records = rows
            .into_iter()
            .map(|row| record_of(kind, row))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page::from_fetched(records, page.limit))
    }

    async fn purge_dead_refresh_tokens(&self, now: time::OffsetDateTime) -> Result<usize, StoreError> {
        // Stored timestamps share one RFC 3339 UTC shape, so they compare as text.
        let now = timestamp(now)?;
        let mut conn = super::checkout(&self.pool).await?;
        let sql = "DELETE FROM {d}.hj_refresh_token WHERE tenant_id = ? AND (
                       JSON_UNQUOTE(JSON_EXTRACT(doc, '$.expires_at')) <= ?
                       OR session_id NOT IN (SELECT id FROM {d}.hj_session WHERE tenant_id = ? AND status = 'active'))";
        conn.exec_drop(self.sql(sql), (&self.tenant_id, now, &self.tenant_id))
            .await
            .map_err(err)?;
        Ok(conn.affected_rows() as usize)
    }

    async fn purge(&self) -> Result<(), StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        let records = RecordKind::ALL.map(RecordKind::table);
        for table in ["hj_refresh_token", "hj_session", "hj_outbox", "hj_user"]
            .into_iter()
            .chain(records)
        {
            tx.exec_drop(
                self.sql(&format!("DELETE FROM {{d}}.{table} WHERE tenant_id = ?")),
                (&self.tenant_id,),
            )
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }
}
