//! [`ClusterStore`] on PostgreSQL: tables `cluster_node`, `cluster_lease` and
//! `cluster_change` in the control schema.

use std::time::Duration;

use async_trait::async_trait;
use tokio_postgres::Row;

use super::pool::PgPool;
use super::{pg_error, pool_error};
use crate::store::cluster::*;
use crate::store::StoreError;

/// The database clock in milliseconds, as SQL.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// Cluster tables in PostgreSQL.
pub struct PgClusterStore {
    pool: PgPool,
    schema: &'static str,
}

impl PgClusterStore {
    /// Wraps the main pool.
    pub fn new(pool: PgPool, schema: &'static str) -> Self {
        Self { pool, schema }
    }

    fn sql(&self, template: &str) -> String {
        template.replace("{s}", self.schema).replace("{now}", NOW_MS)
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client.prepare_cached(&self.sql(sql)).await.map_err(pg_error)?;
        client.query(&statement, params).await.map_err(pg_error)
    }
}

fn lease(row: &Row) -> LeaseRecord {
    LeaseRecord {
        tenant_id: row.get(0),
        node: row.get(1),
        epoch: row.get(2),
        expires_ms: row.get(3),
    }
}

#[async_trait]
impl ClusterStore for PgClusterStore {
    async fn now_ms(&self) -> Result<i64, StoreError> {
        let rows = self.query("SELECT {now}", &[]).await?;
        Ok(rows.first().map(|r| r.get(0)).unwrap_or_default())
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError> {
        let links = serde_json::to_string(&beat.links).unwrap_or_else(|_| "[]".into());
        self.query(
            "INSERT INTO {s}.cluster_node (name, address, version, state, links, started_ms, heartbeat_ms, traffic)
             VALUES ($1, $2, $3, $4, $5, {now}, {now}, $7)
             ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, version = EXCLUDED.version,
               state = EXCLUDED.state, links = EXCLUDED.links, heartbeat_ms = EXCLUDED.heartbeat_ms,
               traffic = EXCLUDED.traffic,
               started_ms = CASE WHEN $6 THEN EXCLUDED.started_ms ELSE {s}.cluster_node.started_ms END",
            &[
                &beat.name,
                &beat.address,
                &beat.version,
                &beat.state,
                &links,
                &beat.restarted,
                &beat.traffic,
            ],
        )
        .await?;
        Ok(())
    }

    async fn nodes(&self) -> Result<(Vec<NodeRecord>, i64), StoreError> {
        let rows = self
            .query(
                "SELECT name, address, version, state, links, started_ms, heartbeat_ms, {now}, traffic
                 FROM {s}.cluster_node ORDER BY name",
                &[],
            )
            .await?;
        let now = match rows.first() {
            Some(row) => row.get(7),
            None => self.now_ms().await?,
        };
        let nodes = rows
            .iter()
            .map(|row| NodeRecord {
                name: row.get(0),
                address: row.get(1),
                version: row.get(2),
                state: row.get(3),
                links: serde_json::from_str(row.get(4)).unwrap_or_default(),
                started_ms: row.get(5),
                heartbeat_ms: row.get(6),
                traffic: row.get(8),
            })
            .collect();
        Ok((nodes, now))
    }

    async fn forget_nodes(&self, before_ms: i64) -> Result<(), StoreError> {
        self.query("DELETE FROM {s}.cluster_node WHERE heartbeat_ms < $1", &[&before_ms])
            .await?;
        Ok(())
    }

    async fn acquire_lease(
        &self,
        tenant_id: &str,
        node: &str,
        duration: Duration,
    ) -> Result<Option<LeaseRecord>, StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Creates the row if it is missing, then locks it: concurrent takers queue here.
        tx.execute(
            &self.sql(
                "INSERT INTO {s}.cluster_lease (tenant_id, node, epoch, expires_ms) VALUES ($1, '', 0, 0)
                 ON CONFLICT (tenant_id) DO NOTHING",
            ),
            &[&tenant_id],
        )
        .await
        .map_err(pg_error)?;
        let row = tx
            .query_one(
                &self.sql(
                    "SELECT tenant_id, node, epoch, expires_ms, {now} FROM {s}.cluster_lease
                     WHERE tenant_id = $1 FOR UPDATE",
                ),
                &[&tenant_id],
            )
            .await
            .map_err(pg_error)?;
        let current = lease(&row);
        let now: i64 = row.get(4);
        let current = (!current.node.is_empty()).then_some(current);
        let Some(granted) = granted_lease(current.as_ref(), tenant_id, node, now, duration) else {
            return Ok(None);
        };
        tx.execute(
            &self.sql("UPDATE {s}.cluster_lease SET node = $2, epoch = $3, expires_ms = $4 WHERE tenant_id = $1"),
            &[&tenant_id, &granted.node, &granted.epoch, &granted.expires_ms],
        )
        .await
        .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
        Ok(Some(granted))
    }

    async fn renew_leases(&self, node: &str, duration: Duration) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "UPDATE {s}.cluster_lease SET expires_ms = {now} + $2
                 WHERE node = $1 AND expires_ms > {now} RETURNING tenant_id",
                &[&node, &(duration.as_millis() as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn release_leases(&self, node: &str, tenants: &[String]) -> Result<(), StoreError> {
        self.query(
            "UPDATE {s}.cluster_lease SET expires_ms = 0 WHERE node = $1 AND tenant_id = ANY($2)",
            &[&node, &tenants],
        )
        .await?;
        Ok(())
    }

    async fn leases(&self) -> Result<(Vec<LeaseRecord>, i64), StoreError> {
        let now = self.now_ms().await?;
        let rows = self
            .query(
                "SELECT tenant_id, node, epoch, expires_ms FROM {s}.cluster_lease
                 WHERE expires_ms > $1 ORDER BY tenant_id",
                &[&now],
            )
            .await?;
        Ok((rows.iter().map(lease).collect(), now))
    }

    async fn publish_change(&self, kind: &str, subject: &str) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO {s}.cluster_change (at_ms, kind, subject) VALUES ({now}, $1, $2)",
            &[&kind, &subject],
        )
        .await?;
        Ok(())
    }

    async fn changes_since(&self, since_ms: i64) -> Result<Vec<ChangeRecord>, StoreError> {
        self.query(
            "DELETE FROM {s}.cluster_change WHERE at_ms < {now} - $1",
            &[&CHANGE_RETENTION_MS],
        )
        .await?;
        let rows = self
            .query(
                "SELECT seq, at_ms, kind, subject FROM {s}.cluster_change WHERE at_ms >= $1 ORDER BY seq",
                &[&since_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ChangeRecord {
                seq: r.get(0),
                at_ms: r.get(1),
                kind: r.get(2),
                subject: r.get(3),
            })
            .collect())
    }
}
