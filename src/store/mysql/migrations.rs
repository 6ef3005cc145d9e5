//! Embedded MySQL migrations, tracked per database in `hj_migrations` and
//! serialized across nodes with `GET_LOCK` (MySQL DDL is not transactional,
//! so every statement is idempotent and a half-applied migration re-runs; an `ADD
//! COLUMN` that finds its column counts as done).

use mysql_async::prelude::Queryable;
use mysql_async::Pool;

use super::my_error;
use crate::store::StoreError;

pub use crate::store::sql::Migration;

/// MySQL's `ER_DUP_FIELDNAME`: an `ALTER TABLE … ADD COLUMN` whose column exists.
const DUPLICATE_COLUMN: u16 = 1060;

/// The control-plane migrations.
pub const CONTROL: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../../migrations/mysql/control/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "settings",
        sql: include_str!("../../../migrations/mysql/control/0002_settings.sql"),
    },
    Migration {
        version: 3,
        name: "cluster",
        sql: include_str!("../../../migrations/mysql/control/0003_cluster.sql"),
    },
    Migration {
        version: 4,
        name: "node_traffic",
        sql: include_str!("../../../migrations/mysql/control/0004_node_traffic.sql"),
    },
];

/// The migrations of one tenant's tables.
pub const TENANT: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../../../migrations/mysql/tenant/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "records",
        sql: include_str!("../../../migrations/mysql/tenant/0002_records.sql"),
    },
    Migration {
        version: 3,
        name: "organizations",
        sql: include_str!("../../../migrations/mysql/tenant/0003_organizations.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../../../migrations/mysql/tenant/0004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "oauth",
        sql: include_str!("../../../migrations/mysql/tenant/0005_oauth.sql"),
    },
    Migration {
        version: 6,
        name: "social",
        sql: include_str!("../../../migrations/mysql/tenant/0006_social.sql"),
    },
    Migration {
        version: 7,
        name: "activity",
        sql: include_str!("../../../migrations/mysql/tenant/0007_activity.sql"),
    },
];

fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    sql.split(";\n")
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty())
}

/// Applies every pending migration of `set` in `database`.
pub async fn apply(pool: &Pool, database: &str, set: &[Migration]) -> Result<usize, StoreError> {
    let err = |e| my_error(e, "key");
    let mut conn = pool.get_conn().await.map_err(err)?;
    let lock = format!("hj_migrate_{database}");
    let locked: Option<i64> = conn
        .exec_first("SELECT GET_LOCK(?, 30)", (lock.as_str(),))
        .await
        .map_err(err)?;
    if locked != Some(1) {
        return Err(StoreError::Unavailable(
            "timed out waiting for the migration lock".into(),
        ));
    }
    let result = async {
        conn.query_drop(format!("USE `{database}`")).await.map_err(err)?;
        conn.query_drop(
            "CREATE TABLE IF NOT EXISTS hj_migrations (version INT PRIMARY KEY, name VARCHAR(128) NOT NULL,
             applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE = InnoDB",
        )
        .await
        .map_err(err)?;
        let applied: Vec<i32> = conn.query("SELECT version FROM hj_migrations").await.map_err(err)?;
        let mut count = 0;
        for migration in set.iter().filter(|m| !applied.contains(&m.version)) {
            for statement in statements(migration.sql) {
                match conn.query_drop(statement).await {
                    // A column a half-applied run already added: MySQL has no
                    // `ADD COLUMN IF NOT EXISTS`, so re-running the ALTER must pass.
                    Err(mysql_async::Error::Server(e)) if e.code == DUPLICATE_COLUMN => {}
                    other => other.map_err(err)?,
                }
            }
            conn.exec_drop(
                "INSERT INTO hj_migrations (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
            .await
            .map_err(err)?;
            count += 1;
        }
        Ok(count)
    }
    .await;
    let _ = conn.exec_drop("SELECT RELEASE_LOCK(?)", (lock.as_str(),)).await;
    // The connection's default database was switched; don't hand it back to the pool that way.
    let _ = conn.disconnect().await;
    result
}
