//! Embedded PostgreSQL migrations and the runner that applies them, tracked
//! per schema in `hj_migrations` and serialized across nodes with an advisory lock.

use tokio_postgres::Client;

use super::pg_error;
use crate::store::StoreError;

pub use crate::store::sql::Migration;

/// The control-plane migrations.
pub const CONTROL: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../../migrations/postgres/control/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "settings",
        sql: include_str!("../../../migrations/postgres/control/0002_settings.sql"),
    },
    Migration {
        version: 3,
        name: "cluster",
        sql: include_str!("../../../migrations/postgres/control/0003_cluster.sql"),
    },
    Migration {
        version: 4,
        name: "node_traffic",
        sql: include_str!("../../../migrations/postgres/control/0004_node_traffic.sql"),
    },
];

/// The migrations of one tenant's schema.
pub const TENANT: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../../migrations/postgres/tenant/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "row_level_security",
        sql: include_str!("../../../migrations/postgres/tenant/0002_row_level_security.sql"),
    },
    Migration {
        version: 3,
        name: "records",
        sql: include_str!("../../../migrations/postgres/tenant/0003_records.sql"),
    },
    Migration {
        version: 4,
        name: "organizations",
        sql: include_str!("../../../migrations/postgres/tenant/0004_organizations.sql"),
    },
    Migration {
        version: 5,
        name: "webhooks",
        sql: include_str!("../../../migrations/postgres/tenant/0005_webhooks.sql"),
    },
    Migration {
        version: 6,
        name: "oauth",
        sql: include_str!("../../../migrations/postgres/tenant/0006_oauth.sql"),
    },
    Migration {
        version: 7,
        name: "social",
        sql: include_str!("../../../migrations/postgres/tenant/0007_social.sql"),
    },
    Migration {
        version: 8,
        name: "activity",
        sql: include_str!("../../../migrations/postgres/tenant/0008_activity.sql"),
    },
];

/// A stable advisory-lock key per schema (FNV-1a), so two nodes never migrate one schema at once.
fn lock_key(schema: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in schema.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// Creates `schema` if needed and applies every pending migration of `set`, in one transaction.
pub async fn apply(client: &mut Client, schema: &str, set: &[Migration]) -> Result<usize, StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(schema)])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};
         CREATE TABLE IF NOT EXISTS hj_migrations (
             version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ))
    .await
    .map_err(pg_error)?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM hj_migrations", &[])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut count = 0;
    for migration in set.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch_execute(migration.sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO hj_migrations (version, name) VALUES ($1, $2)",
            &[&migration.version, &migration.name],
        )
        .await
        .map_err(pg_error)?;
        count += 1;
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(count)
}
