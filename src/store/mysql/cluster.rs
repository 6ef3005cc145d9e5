//! [`ClusterStore`] on MySQL/MariaDB: tables `cluster_node`, `cluster_lease` and
//! `cluster_change` in the control database.

use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Pool, TxOpts, Value as Param};

use super::my_error;
use crate::store::cluster::*;
use crate::store::StoreError;

/// The database clock in milliseconds, as SQL: from UTC, so the session's time zone (and
/// its daylight-saving jumps) can't move it.
const NOW_MS: &str = "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000)";

fn err(e: mysql_async::Error) -> StoreError {
    my_error(e, "key")
}

type LeaseRow = (String, String, i64, i64);

fn lease((tenant_id, node, epoch, expires_ms): LeaseRow) -> LeaseRecord {
    LeaseRecord {
        tenant_id,
        node,
        epoch,
        expires_ms,
    }
}

/// Cluster tables in MySQL.
pub struct MySqlClusterStore {
    pool: Pool,
    database: String,
}

impl MySqlClusterStore {
    /// Wraps the main pool; tables live in `database`.
    pub fn new(pool: Pool, database: String) -> Self {
        Self { pool, database }
    }

    fn sql(&self, template: &str) -> String {
        template
            .replace("{d}", &format!("`{}`", self.database))
            .replace("{now}", NOW_MS)
    }

    async fn exec(&self, sql: &str, params: Vec<Param>) -> Result<(), StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        conn.exec_drop(self.sql(sql), params).await.map_err(err)
    }
}

#[async_trait]
impl ClusterStore for MySqlClusterStore {
    async fn now_ms(&self) -> Result<i64, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let now: Option<i64> = conn.query_first(self.sql("SELECT {now}")).await.map_err(err)?;
        Ok(now.unwrap_or_default())
    }

    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError> {
        let links = serde_json::to_string(&beat.links).unwrap_or_else(|_| "[]".into());
        self.exec(
            "INSERT INTO {d}.cluster_node (name, address, version, state, links, started_ms, heartbeat_ms, traffic)
             VALUES (?, ?, ?, ?, ?, {now}, {now}, ?)
             ON DUPLICATE KEY UPDATE address = VALUES(address), version = VALUES(version),
               state = VALUES(state), links = VALUES(links), traffic = VALUES(traffic),
               started_ms = IF(?, VALUES(started_ms), started_ms), heartbeat_ms = VALUES(heartbeat_ms)",
            vec![
                beat.name.clone().into(),
                beat.address.clone().into(),
                beat.version.clone().into(),
                beat.state.clone().into(),
                links.into(),
                beat.traffic.clone().into(),
                beat.restarted.into(),
            ],
        )
        .await
    }

    async fn nodes(&self) -> Result<(Vec<NodeRecord>, i64), StoreError> {
        let now = self.now_ms().await?;
        let mut conn = super::checkout(&self.pool).await?;
        let rows: Vec<(String, String, String, String, String, i64, i64, Option<String>)> = conn
            .query(self.sql(
                "SELECT name, address, version, state, links, started_ms, heartbeat_ms, traffic
                 FROM {d}.cluster_node ORDER BY name",
            ))
            .await
            .map_err(err)?;
        let nodes = rows
            .into_iter()
            .map(
                |(name, address, version, state, links, started_ms, heartbeat_ms, traffic)| NodeRecord {
                    name,
                    address,
                    version,
                    state,
                    links: serde_json::from_str(&links).unwrap_or_default(),
                    started_ms,
                    heartbeat_ms,
                    traffic,
                },
            )
            .collect();
        Ok((nodes, now))
    }

    async fn forget_nodes(&self, before_ms: i64) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM {d}.cluster_node WHERE heartbeat_ms < ?",
            vec![before_ms.into()],
        )
        .await
    }

    async fn acquire_lease(
        &self,
        tenant_id: &str,
        node: &str,
        duration: Duration,
    ) -> Result<Option<LeaseRecord>, StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        // Creates the row if it is missing and takes its exclusive lock either way (INSERT
        // IGNORE would take a shared one, and two takers upgrading it deadlock).
        tx.exec_drop(
            self.sql(
                "INSERT INTO {d}.cluster_lease (tenant_id, node, epoch, expires_ms) VALUES (?, '', 0, 0)
                 ON DUPLICATE KEY UPDATE tenant_id = tenant_id",
            ),
            (tenant_id,),
        )
        .await
        .map_err(err)?;
        let row: Option<(String, String, i64, i64, i64)> = tx
            .exec_first(
                self.sql(
                    "SELECT tenant_id, node, epoch, expires_ms, {now} FROM {d}.cluster_lease
                     WHERE tenant_id = ? FOR UPDATE",
                ),
                (tenant_id,),
            )
            .await
            .map_err(err)?;
        let Some((id, holder, epoch, expires_ms, now)) = row else {
            return Ok(None);
        };
        let current = (!holder.is_empty()).then(|| lease((id, holder, epoch, expires_ms)));
        let Some(granted) = granted_lease(current.as_ref(), tenant_id, node, now, duration) else {
            return Ok(None);
        };
        tx.exec_drop(
            self.sql("UPDATE {d}.cluster_lease SET node = ?, epoch = ?, expires_ms = ? WHERE tenant_id = ?"),
            (granted.node.as_str(), granted.epoch, granted.expires_ms, tenant_id),
        )
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(Some(granted))
    }

    async fn renew_leases(&self, node: &str, duration: Duration) -> Result<Vec<String>, StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        let now: Option<i64> = tx.query_first(self.sql("SELECT {now}")).await.map_err(err)?;
        let now = now.unwrap_or_default();
        tx.exec_drop(
            self.sql("UPDATE {d}.cluster_lease SET expires_ms = ? WHERE node = ? AND expires_ms > ?"),
            (now + duration.as_millis() as i64, node, now),
        )
        .await
        .map_err(err)?;
        let held: Vec<String> = tx
            .exec(
                self.sql("SELECT tenant_id FROM {d}.cluster_lease WHERE node = ? AND expires_ms > ?"),
                (node, now),
            )
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        Ok(held)
    }

    async fn release_leases(&self, node: &str, tenants: &[String]) -> Result<(), StoreError> {
        for chunk in tenants.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut params: Vec<Param> = vec![node.into()];
            params.extend(chunk.iter().map(|t| Param::from(t.as_str())));
            self.exec(
                &format!("UPDATE {{d}}.cluster_lease SET expires_ms = 0 WHERE node = ? AND tenant_id IN ({marks})"),
                params,
            )
            .await?;
        }
        Ok(())
    }

    async fn leases(&self) -> Result<(Vec<LeaseRecord>, i64), StoreError> {
        let now = self.now_ms().await?;
        let mut conn = super::checkout(&self.pool).await?;
        let rows: Vec<LeaseRow> = conn
            .exec(
                self.sql(
                    "SELECT tenant_id, node, epoch, expires_ms FROM {d}.cluster_lease
                     WHERE expires_ms > ? ORDER BY tenant_id",
                ),
                (now,),
            )
            .await
            .map_err(err)?;
        Ok((rows.into_iter().map(lease).collect(), now))
    }

    async fn publish_change(&self, kind: &str, subject: &str) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO {d}.cluster_change (at_ms, kind, subject) VALUES ({now}, ?, ?)",
            vec![kind.into(), subject.into()],
        )
        .await
    }

    async fn changes_since(&self, since_ms: i64) -> Result<Vec<ChangeRecord>, StoreError> {
        self.exec(
            "DELETE FROM {d}.cluster_change WHERE at_ms < {now} - ?",
            vec![CHANGE_RETENTION_MS.into()],
        )
        .await?;
        let mut conn = super::checkout(&self.pool).await?;
        let rows: Vec<(i64, i64, String, String)> = conn
            .exec(
                self.sql("SELECT seq, at_ms, kind, subject FROM {d}.cluster_change WHERE at_ms >= ? ORDER BY seq"),
                (since_ms,),
            )
            .await
            .map_err(err)?;
        Ok(rows
            .into_iter()
            .map(|(seq, at_ms, kind, subject)| ChangeRecord {
                seq,
                at_ms,
                kind,
                subject,
            })
            .collect())
    }
}
