//! [`TenantStore`] on PostgreSQL. Every call is one transaction that first
//! selects the tenant's schema (and, in shared_schema mode, drops to the
//! `hellojohn_tenant` role with the tenant set for row-level security).

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{ClientWrapper, Transaction};
use futures_util::future::BoxFuture;

use super::pool::PgPool as Pool;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::unit::PgUnit;
use super::{pg_error, pool_error};
use crate::store::sql::{
    doc_value as doc, from_value as from_doc, status_text as status_str, timestamp_value as timestamp,
};
use crate::store::*;

/// One tenant's data in PostgreSQL.
pub struct PgTenantStore {
    pool: Arc<Pool>,
    /// `SET LOCAL …` run at the start of every transaction.
    preamble: String,
    /// `BEGIN` and the preamble, sent as one batch.
    begin: String,
    tenant_id: String,
}

/// Rows an export reads per round trip.
const EXPORT_PAGE: i32 = 500;

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

impl PgTenantStore {
    /// A store over `pool`, in `schema`; `rls` for shared_schema mode.
    pub fn new(pool: Arc<Pool>, schema: String, tenant_id: String, rls: bool) -> Self {
        // Both names are validated ids ([a-z0-9_]), so formatting them in is safe.
        let mut preamble = format!("SET LOCAL search_path TO {schema};");
        if rls {
            preamble.push_str(&format!(
                " SET LOCAL ROLE hellojohn_tenant; SET LOCAL hellojohn.tenant_id = '{tenant_id}';"
            ));
        }
        Self {
            pool,
            begin: format!("BEGIN; {preamble}"),
            preamble,
            tenant_id,
        }
    }

    /// Runs `work` in a transaction bound to this tenant, its first statement pipelined
    /// behind the `BEGIN` and preamble.
    async fn with_tx<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        F: for<'t> FnOnce(&'t ClientWrapper, &'t str) -> BoxFuture<'t, Result<R, StoreError>>,
    {
        let unit = PgUnit::open(&self.pool).await?;
        let result = unit
            .begin_with(&self.begin, work(unit.client(), &self.tenant_id))
            .await?;
        unit.commit().await?;
        Ok(result)
    }

    /// Runs one read statement in its own transaction: `BEGIN`, the query and `COMMIT` go
    /// out together, one round trip once the statement is cached on the connection.
    async fn read(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let unit = PgUnit::open(&self.pool).await?;
        let client = unit.client();
        let query = async {
            // Prepared inside the transaction: the preamble's search_path names the tables.
            let statement = client.prepare_cached(sql).await.map_err(pg_error)?;
            let (rows, committed) = tokio::join!(client.query(&statement, params), client.batch_execute("COMMIT"));
            let rows = rows.map_err(pg_error)?;
            committed.map_err(pg_error)?;
            Ok(rows)
        };
        let rows = unit.begin_with(&self.begin, query).await?;
        unit.finished();
        Ok(rows)
    }

    async fn docs<T: DeserializeOwned + Send + 'static>(
        &self,
        sql: &'static str,
        extra: Vec<Box<dyn ToSql + Sync + Send>>,
    ) -> Result<Vec<T>, StoreError> {
        let tenant = self.tenant_id.as_str();
        let mut params: Params = vec![&tenant];
        params.extend(extra.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)));
        let rows = self.read(sql, &params).await?;
        rows.into_iter().map(|row| from_doc(row.get::<_, Value>(0))).collect()
    }

    async fn doc_opt<T: DeserializeOwned + Send + 'static>(
        &self,
        sql: &'static str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.docs(sql, vec![Box::new(key.to_owned())]).await?.into_iter().next())
    }

    /// Records of one kind whose `column` (`id` or `owner_id`) equals `value`, oldest first.
    async fn records(&self, kind: RecordKind, column: &'static str, value: &str) -> Result<Vec<Record>, StoreError> {
        let sql = format!(
            "SELECT id, owner_id, doc FROM {} WHERE tenant_id = $1 AND {column} = $2 ORDER BY id",
            kind.table()
        );
        let rows = self.read(&sql, &[&self.tenant_id, &value]).await?;
        Ok(rows.iter().map(|row| record_of(kind, row)).collect())
    }

    /// Deletes every row of this tenant (shared_schema tenant deletion).
    pub async fn purge_rows(&self) -> Result<(), StoreError> {
        self.with_tx(|tx, tenant| {
            Box::pin(async move {
                let records = RecordKind::ALL.map(RecordKind::table);
                for table in ["hj_refresh_token", "hj_session", "hj_outbox", "hj_user"]
                    .into_iter()
                    .chain(records)
                {
                    tx.execute(&format!("DELETE FROM {table} WHERE tenant_id = $1"), &[&tenant])
                        .await
                        .map_err(pg_error)?;
                }
                Ok(())
            })
        })
        .await
    }
}

/// A record from a row selecting `id, owner_id, doc`.
fn record_of(kind: RecordKind, row: &tokio_postgres::Row) -> Record {
    Record {
        kind,
        id: row.get(0),
        owner_id: row.get(1),
        doc: row.get(2),
    }
}

/// Sends every row `sql` selects through a portal, a bounded page at a time however large
/// the table; `false` when the reader has gone.
async fn export_rows(
    tx: &Transaction<'_>,
    sql: &str,
    tenant: &str,
    sink: &ExportSink,
    item: impl Fn(&tokio_postgres::Row) -> Result<ExportItem, StoreError>,
) -> Result<bool, StoreError> {
    let portal = tx.bind(sql, &[&tenant]).await.map_err(pg_error)?;
    loop {
        let rows = tx.query_portal(&portal, EXPORT_PAGE).await.map_err(pg_error)?;
        for row in &rows {
            if !send_item(sink, item(row)?).await {
                return Ok(false);
            }
        }
        if rows.len() < EXPORT_PAGE as usize {
            return Ok(true);
        }
    }
}

/// Runs a statement through the connection's prepared-statement cache.
async fn exec(tx: &ClientWrapper, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, tokio_postgres::Error> {
    let statement = tx.prepare_cached(sql).await?;
    tx.execute(&statement, params).await
}

async fn exists(tx: &ClientWrapper, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<bool, tokio_postgres::Error> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&statement, params).await?.is_some())
}

/// Checks one guard inside the transaction, locking the rows it reads.
async fn check(tx: &ClientWrapper, tenant: &str, guard: &Guard) -> Result<bool, StoreError> {
    let found = match guard {
        Guard::RecordField { kind, id, field, value } => {
            let sql = format!(
                "SELECT doc FROM {} WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                kind.table()
            );
            let statement = tx.prepare_cached(&sql).await.map_err(pg_error)?;
            let row = tx.query_opt(&statement, &[&tenant, id]).await.map_err(pg_error)?;
            return Ok(row.is_some_and(|r| r.get::<_, Value>(0).get(field) == Some(value)));
        }
        Guard::RefreshTokenCurrent { token_hash } => exists(
            tx,
            "SELECT 1 FROM hj_refresh_token WHERE tenant_id = $1 AND token_hash = $2 AND status = 'current' FOR UPDATE",
            &[&tenant, token_hash],
        )
        .await,
        Guard::UserExists { user_id } => {
            exists(
                tx,
                "SELECT 1 FROM hj_user WHERE tenant_id = $1 AND id = $2 FOR SHARE",
                &[&tenant, user_id],
            )
            .await
        }
        Guard::SessionActive { session_id } => {
            exists(
                tx,
                "SELECT 1 FROM hj_session WHERE tenant_id = $1 AND id = $2 AND status = 'active' FOR UPDATE",
                &[&tenant, session_id],
            )
            .await
        }
        Guard::OwnerRecords { kind, owner_id, ids } => {
            let sql = format!(
                "SELECT id FROM {} WHERE tenant_id = $1 AND owner_id = $2 ORDER BY id FOR UPDATE",
                kind.table()
            );
            let statement = tx.prepare_cached(&sql).await.map_err(pg_error)?;
            let rows = tx.query(&statement, &[&tenant, owner_id]).await.map_err(pg_error)?;
            let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let mut wanted = ids.clone();
            wanted.sort();
            return Ok(found == wanted);
        }
        Guard::UserVersion { user_id, updated_at } => {
            let version = timestamp(*updated_at)?;
            exists(
                tx,
                "SELECT 1 FROM hj_user WHERE tenant_id = $1 AND id = $2 AND doc->'updated_at' = $3 FOR UPDATE",
                &[&tenant, user_id, &version],
            )
            .await
        }
    };
    found.map_err(pg_error)
}

const PUT_SESSION: &str = "INSERT INTO hj_session (tenant_id, id, user_id, status, doc) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, id) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc";
const PUT_REFRESH_TOKEN: &str = "INSERT INTO hj_refresh_token (tenant_id, token_hash, session_id, status, doc)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, token_hash) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc";
const MARK_ROTATED: &str =
    "UPDATE hj_refresh_token SET status = 'rotated', doc = jsonb_set(doc, '{status}', '\"rotated\"')
     WHERE tenant_id = $1 AND token_hash = $2";
/// A refresh token with its session and the session's user, token and session locked.
const READ_REFRESH: &str = "SELECT t.doc, s.doc, u.doc FROM hj_refresh_token t
     JOIN hj_session s ON s.tenant_id = t.tenant_id AND s.id = t.session_id
     LEFT JOIN hj_user u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
     WHERE t.tenant_id = $1 AND t.token_hash = $2 FOR UPDATE OF t, s";

type OwnedParams = Vec<Box<dyn ToSql + Sync + Send>>;

/// The statement and parameters of a session or refresh-token write (the writes of a
/// rotation, which it pipelines); `None` for any other write.
fn session_write(tenant: &str, write: &TenantWrite) -> Result<Option<(&'static str, OwnedParams)>, StoreError> {
    let tenant = Box::new(tenant.to_owned());
    Ok(Some(match write {
        TenantWrite::PutSession(s) => (
            PUT_SESSION,
            vec![
                tenant,
                Box::new(s.id.clone()),
                Box::new(s.user_id.clone()),
                Box::new(status_str(&s.status)?),
                Box::new(doc(s)?),
            ],
        ),
        TenantWrite::PutRefreshToken(r) => (
            PUT_REFRESH_TOKEN,
            vec![
                tenant,
                Box::new(r.token_hash.clone()),
                Box::new(r.session_id.clone()),
                Box::new(status_str(&r.status)?),
                Box::new(doc(r)?),
            ],
        ),
        TenantWrite::MarkRefreshTokenRotated { token_hash } => {
            (MARK_ROTATED, vec![tenant, Box::new(token_hash.clone())])
        }
        _ => return Ok(None),
    }))
}

/// Records by kind and id, in order.
async fn read_records(
    tx: &ClientWrapper,
    tenant: &str,
    keys: &[(RecordKind, String)],
) -> Result<Vec<Option<Record>>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for (kind, id) in keys {
        let sql = format!(
            "SELECT id, owner_id, doc FROM {} WHERE tenant_id = $1 AND id = $2",
            kind.table()
        );
        let statement = tx.prepare_cached(&sql).await.map_err(pg_error)?;
        let row = tx.query_opt(&statement, &[&tenant, id]).await.map_err(pg_error)?;
        found.push(row.map(|row| record_of(*kind, &row)));
    }
    Ok(found)
}

/// A refresh's transaction, open with its token and session locked.
struct PgRotation {
    unit: PgUnit,
    tenant_id: String,
}

#[async_trait]
impl OpenRotation for PgRotation {
    async fn get_records(&mut self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError> {
        read_records(self.unit.client(), &self.tenant_id, keys).await
    }

    /// The writes and the `COMMIT` go out pipelined: one round trip.
    async fn commit(self: Box<Self>, writes: Vec<TenantWrite>) -> Result<(), StoreError> {
        let mut statements = Vec::with_capacity(writes.len());
        for w in &writes {
            match session_write(&self.tenant_id, w)? {
                Some(statement) => statements.push(statement),
                None => {
                    return Err(StoreError::Corrupt(
                        "a rotation writes sessions and refresh tokens only".into(),
                    ))
                }
            }
        }
        let sqls: Vec<&'static str> = statements.iter().map(|(sql, _)| *sql).collect();
        self.unit
            .commit_pipelined(&sqls, |client, prepared| {
                prepared
                    .into_iter()
                    .zip(statements)
                    .map(|(statement, (_, params))| {
                        Box::pin(async move {
                            let params: Params = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
                            client.execute(&statement, &params).await.map(|_| ()).map_err(pg_error)
                        }) as BoxFuture<'_, _>
                    })
                    .collect()
            })
            .await
    }
}

/// Applies one write inside the transaction.
async fn write(tx: &ClientWrapper, tenant: &str, write: &TenantWrite) -> Result<(), StoreError> {
    let result = match write {
        TenantWrite::InsertUser(u) => {
            exec(
                tx,
                "INSERT INTO hj_user (tenant_id, id, email, status, doc) VALUES ($1, $2, $3, $4, $5)",
                &[&tenant, &u.id, &u.email, &status_str(&u.status)?, &doc(u)?],
            )
            .await
        }
        TenantWrite::UpdateUser(u) => {
            let n = exec(
                tx,
                "UPDATE hj_user SET email = $3, status = $4, doc = $5 WHERE tenant_id = $1 AND id = $2",
                &[&tenant, &u.id, &u.email, &status_str(&u.status)?, &doc(u)?],
            )
            .await
            .map_err(pg_error)?;
            return if n == 0 { Err(StoreError::NotFound) } else { Ok(()) };
        }
        TenantWrite::DeleteUser { user_id } => {
            exec(
                tx,
                "DELETE FROM hj_refresh_token WHERE tenant_id = $1 AND session_id IN
                 (SELECT id FROM hj_session WHERE tenant_id = $1 AND user_id = $2)",
                &[&tenant, user_id],
            )
            .await
            .map_err(pg_error)?;
            exec(
                tx,
                "DELETE FROM hj_session WHERE tenant_id = $1 AND user_id = $2",
                &[&tenant, user_id],
            )
            .await
            .map_err(pg_error)?;
            for kind in RecordKind::ALL {
                let sql = format!("DELETE FROM {} WHERE tenant_id = $1 AND owner_id = $2", kind.table());
                exec(tx, &sql, &[&tenant, user_id]).await.map_err(pg_error)?;
            }
            let n = exec(
                tx,
                "DELETE FROM hj_user WHERE tenant_id = $1 AND id = $2",
                &[&tenant, user_id],
            )
            .await
            .map_err(pg_error)?;
            return if n == 0 { Err(StoreError::NotFound) } else { Ok(()) };
        }
        TenantWrite::TouchUser {
            user_id,
            last_sign_in_at,
            password_hash,
        } => {
            let mut fields = serde_json::Map::new();
            fields.insert("last_sign_in_at".into(), timestamp(*last_sign_in_at)?);
            if let Some(hash) = password_hash {
                fields.insert("password_hash".into(), Value::String(hash.clone()));
            }
            exec(
                tx,
                "UPDATE hj_user SET doc = doc || $3 WHERE tenant_id = $1 AND id = $2",
                &[&tenant, user_id, &Value::Object(fields)],
            )
            .await
        }
        TenantWrite::PutSession(_) | TenantWrite::PutRefreshToken(_) | TenantWrite::MarkRefreshTokenRotated { .. } => {
            let Some((sql, params)) = session_write(tenant, write)? else {
                return Ok(());
            };
            let params: Params = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
            exec(tx, sql, &params).await
        }
        TenantWrite::RevokeUserSessions { user_id, except } => {
            exec(
                tx,
                "UPDATE hj_session SET status = 'revoked', doc = jsonb_set(doc, '{status}', '\"revoked\"')
                 WHERE tenant_id = $1 AND user_id = $2 AND status = 'active' AND ($3::text IS NULL OR id <> $3)",
                &[&tenant, user_id, except],
            )
            .await
        }
        TenantWrite::AppendEvent(e) => {
            exec(
                tx,
                "INSERT INTO hj_outbox (tenant_id, id, doc) VALUES ($1, $2, $3)",
                &[&tenant, &e.id, &doc(e)?],
            )
            .await
        }
        TenantWrite::RemoveEvent { id } => {
            exec(
                tx,
                "DELETE FROM hj_outbox WHERE tenant_id = $1 AND id = $2",
                &[&tenant, id],
            )
            .await
        }
        TenantWrite::RevokeSession { session_id } => {
            exec(
                tx,
                "UPDATE hj_session SET status = 'revoked', doc = jsonb_set(doc, '{status}', '\"revoked\"')
                 WHERE tenant_id = $1 AND id = $2",
                &[&tenant, session_id],
            )
            .await
        }
        TenantWrite::PutRecord(r) => {
            let sql = format!(
                "INSERT INTO {} (tenant_id, id, owner_id, doc) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET owner_id = EXCLUDED.owner_id, doc = EXCLUDED.doc",
                r.kind.table()
            );
            exec(tx, &sql, &[&tenant, &r.id, &r.owner_id, &r.doc]).await
        }
        TenantWrite::InsertRecord(r) => {
            let sql = format!(
                "INSERT INTO {} (tenant_id, id, owner_id, doc) VALUES ($1, $2, $3, $4)",
                r.kind.table()
            );
            return match exec(tx, &sql, &[&tenant, &r.id, &r.owner_id, &r.doc]).await {
                Ok(_) => Ok(()),
                Err(e) => Err(match pg_error(e) {
                    StoreError::Duplicate(_) => StoreError::Duplicate(r.kind.unique_field()),
                    other => other,
                }),
            };
        }
        TenantWrite::DeleteRecord { kind, id } => {
            exec(
                tx,
                &format!("DELETE FROM {} WHERE tenant_id = $1 AND id = $2", kind.table()),
                &[&tenant, id],
            )
            .await
        }
        TenantWrite::DeleteOwnerRecords { kind, owner_id } => {
            let sql = format!("DELETE FROM {} WHERE tenant_id = $1 AND owner_id = $2", kind.table());
            exec(tx, &sql, &[&tenant, owner_id]).await
        }
        TenantWrite::DeleteRecordsWithPrefix { kind, prefix } => {
            let sql = format!(
                "DELETE FROM {} WHERE tenant_id = $1 AND id >= $2 AND id < $3",
                kind.table()
            );
            exec(tx, &sql, &[&tenant, prefix, &prefix_end(prefix)]).await
        }
    };
    result.map(|_| ()).map_err(pg_error)
}

#[async_trait]
impl TenantStore for PgTenantStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.with_tx(|tx, _| Box::pin(async move { tx.simple_query("SELECT 1").await.map(|_| ()).map_err(pg_error) }))
            .await
    }

    async fn apply(&self, batch: TenantBatch) -> Result<(), StoreError> {
        self.with_tx(move |tx, tenant| {
            Box::pin(async move {
                for guard in &batch.guards {
                    if !check(tx, tenant, guard).await? {
                        return Err(StoreError::Conflict);
                    }
                }
                for w in &batch.writes {
                    write(tx, tenant, w).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.doc_opt("SELECT doc FROM hj_user WHERE tenant_id = $1 AND id = $2", id)
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.doc_opt("SELECT doc FROM hj_user WHERE tenant_id = $1 AND email = $2", email)
            .await
    }

    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let status = filter.status.map(|s| status_str(&s)).transpose()?;
        let pattern = filter.query.as_deref().map(crate::store::sql::contains_pattern);
        let limit = (page.limit.max(1) + 1) as i64;
        let users: Vec<User> = self
            .docs(
                "SELECT doc FROM hj_user WHERE tenant_id = $1
                   AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR email = $3)
                   AND ($4::text IS NULL OR status = $4)
                   AND ($5::text IS NULL OR email LIKE $5 OR lower(doc->>'name') LIKE $5 OR lower(doc->>'username') LIKE $5)
                   AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM hj_org_membership m
                        WHERE m.tenant_id = $1 AND m.id = $7 || ':' || hj_user.id))
                 ORDER BY id DESC LIMIT $6",
                vec![
                    Box::new(page.after.clone()),
                    Box::new(filter.email.clone()),
                    Box::new(status),
                    Box::new(pattern),
                    Box::new(limit),
                    Box::new(filter.organization_id.clone()),
                ],
            )
            .await?;
        Ok(Page::from_fetched(users, page.limit))
    }

    async fn count_users(&self) -> Result<usize, StoreError> {
        self.with_tx(|tx, tenant| {
            Box::pin(async move {
                let row = tx
                    .query_one("SELECT count(*) FROM hj_user WHERE tenant_id = $1", &[&tenant])
                    .await
                    .map_err(pg_error)?;
                Ok(row.get::<_, i64>(0) as usize)
            })
        })
        .await
    }

    async fn get_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.doc_opt("SELECT doc FROM hj_session WHERE tenant_id = $1 AND id = $2", id)
            .await
    }

    async fn list_sessions(&self, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, StoreError> {
        let status = filter.status.map(|s| status_str(&s)).transpose()?;
        let limit = (page.limit.max(1) + 1) as i64;
        let sessions: Vec<Session> = self
            .docs(
                "SELECT doc FROM hj_session WHERE tenant_id = $1
                   AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR user_id = $3)
                   AND ($4::text IS NULL OR status = $4)
                 ORDER BY id DESC LIMIT $5",
                vec![
                    Box::new(page.after.clone()),
                    Box::new(filter.user_id.clone()),
                    Box::new(status),
                    Box::new(limit),
                ],
            )
            .await?;
        Ok(Page::from_fetched(sessions, page.limit))
    }

    async fn find_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.doc_opt(
            "SELECT doc FROM hj_refresh_token WHERE tenant_id = $1 AND token_hash = $2",
            token_hash,
        )
        .await
    }

    async fn read_refresh(&self, token_hash: &str) -> Result<Option<RefreshRead>, StoreError> {
        let unit = PgUnit::open(&self.pool).await?;
        let client = unit.client();
        let read = async {
            let statement = client.prepare_cached(READ_REFRESH).await.map_err(pg_error)?;
            client
                .query_opt(&statement, &[&self.tenant_id, &token_hash])
                .await
                .map_err(pg_error)
        };
        // Unknown token: the unit is dropped, which rolls back.
        let Some(row) = unit.begin_with(&self.begin, read).await? else {
            return Ok(None);
        };
        let user: Option<Value> = row.get(2);
        Ok(Some(RefreshRead {
            token: from_doc(row.get::<_, Value>(0))?,
            session: from_doc(row.get::<_, Value>(1))?,
            user: user.map(from_doc).transpose()?,
            hold: RotationHold::Open(Box::new(PgRotation {
                unit,
                tenant_id: self.tenant_id.clone(),
            })),
        }))
    }

    async fn list_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.docs(
            "SELECT doc FROM hj_outbox WHERE tenant_id = $1 ORDER BY id LIMIT $2",
            vec![Box::new(limit as i64)],
        )
        .await
    }

    async fn purge_dead_refresh_tokens(&self, now: time::OffsetDateTime) -> Result<usize, StoreError> {
        let now = timestamp(now)?;
        self.with_tx(move |tx, tenant| {
            Box::pin(async move {
                let n = tx
                    .execute(
                        "DELETE FROM hj_refresh_token t WHERE t.tenant_id = $1 AND (
                             (t.doc->>'expires_at')::timestamptz <= ($2::jsonb #>> '{}')::timestamptz
                             OR NOT EXISTS (SELECT 1 FROM hj_session s
                                            WHERE s.tenant_id = t.tenant_id AND s.id = t.session_id AND s.status = 'active'))",
                        &[&tenant, &now],
                    )
                    .await
                    .map_err(pg_error)?;
                Ok(n as usize)
            })
        })
        .await
    }

    async fn purge(&self) -> Result<(), StoreError> {
        self.purge_rows().await
    }

    async fn get_record(&self, kind: RecordKind, id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.records(kind, "id", id).await?.into_iter().next())
    }

    async fn get_records(&self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError> {
        let keys = keys.to_vec();
        self.with_tx(move |tx, tenant| Box::pin(async move { read_records(tx, tenant, &keys).await }))
            .await
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
        let (low, high) = (prefix.to_owned(), prefix_end(prefix));
        let after = page.after.clone();
        let limit = (page.limit.max(1) + 1) as i64;
        let records = self
            .with_tx(move |tx, tenant| {
                Box::pin(async move {
                    let sql = format!(
                        "SELECT id, owner_id, doc FROM {} WHERE tenant_id = $1 AND id >= $2 AND id < $3
                           AND ($4::text IS NULL OR id < $4) ORDER BY id DESC LIMIT $5",
                        kind.table()
                    );
                    let statement = tx.prepare_cached(&sql).await.map_err(pg_error)?;
                    let rows = tx
                        .query(&statement, &[&tenant, &low, &high, &after, &limit])
                        .await
                        .map_err(pg_error)?;
                    Ok(rows.iter().map(|row| record_of(kind, row)).collect::<Vec<_>>())
                })
            })
            .await?;
        Ok(Page::from_fetched(records, page.limit))
    }

    async fn export_to(&self, sink: ExportSink) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        // One repeatable-read snapshot for every table: a consistent backup.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg_error)?;
        tx.batch_execute(&self.preamble).await.map_err(pg_error)?;
        let tenant = self.tenant_id.as_str();
        let total: String = tx
            .query_one(&export_count_sql("$1", ""), &[&tenant])
            .await
            .map_err(pg_error)?
            .get(0);
        let total = total
            .trim()
            .parse()
            .map_err(|_| StoreError::Corrupt("row count".into()))?;
        if !send_item(&sink, ExportItem::Total(total)).await {
            return Ok(());
        }
        for (index, (table, key)) in DOC_TABLES.iter().enumerate() {
            let sql = format!("SELECT doc FROM {table} WHERE tenant_id = $1 ORDER BY {key}");
            if !export_rows(&tx, &sql, tenant, &sink, |row| doc_item(index, row.get(0))).await? {
                return Ok(());
            }
        }
        for kind in RecordKind::ALL {
            let sql = format!(
                "SELECT id, owner_id, doc FROM {} WHERE tenant_id = $1 ORDER BY id",
                kind.table()
            );
            if !export_rows(&tx, &sql, tenant, &sink, |row| {
                Ok(ExportItem::Record(record_of(kind, row)))
            })
            .await?
            {
                return Ok(());
            }
        }
        tx.commit().await.map_err(pg_error)?;
        Ok(())
    }
}
