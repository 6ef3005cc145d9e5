//! The MySQL/MariaDB backend (`mysql_async`).
//!
//! Isolation modes: `shared_schema` keeps every tenant in database `hj_shared`
//! (rows keyed by `tenant_id`; MySQL has no row-level security, so the
//! data-access layer binds every statement to the tenant); `separate_schema`
//! gives each tenant a database `hj_tnt_…` on the shared pool (in MySQL a
//! schema is a database); `separate_database` does the same on the tenant's
//! own pool, possibly on its own server (`database_url`).

mod cluster;
mod control;
pub mod migrations;
mod tenant;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use dashmap::DashMap;
use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, TxOpts};

use super::budget::BUDGET_WAIT;

use super::connect::{Attempt, DatabaseTarget};
use super::{Backend, ControlStore, StoreError, Tenant, TenantStore};
use crate::config::IsolationMode;

/// Database of the control-plane tables when the URL names none.
const CONTROL_DATABASE: &str = "hellojohn";

/// Maps a driver error by MySQL error number, never by message text.
/// `unique` names the field a duplicate-key error means for this statement.
pub(crate) fn my_error(e: mysql_async::Error, unique: &'static str) -> StoreError {
    match &e {
        mysql_async::Error::Server(server) => match server.code {
            1062 => StoreError::Duplicate(unique),
            1452 => StoreError::NotFound,
            // Deadlock / lock wait timeout: retryable, never a failed compare-and-set.
            1213 | 1205 => StoreError::Unavailable("transaction conflict, retry".to_owned()),
            // Incorrect string value, illegal mix of collations, invalid character string:
            // a text from the request, never a reason to answer 503.
            code @ (1366 | 1267 | 1270 | 1271 | 1300) => StoreError::InvalidInput(format!("MySQL error {code}")),
            code => StoreError::Unavailable(format!("database error {code}")),
        },
        _ => StoreError::Unavailable("database connection failed".to_owned()),
    }
}

/// The server's options from `url`, without a default database: every statement names
/// its database, and the control database is created when missing.
fn server_opts(url: &str) -> Result<OptsBuilder, StoreError> {
    let opts = Opts::from_url(url).map_err(|_| StoreError::Unavailable("invalid MySQL URL".into()))?;
    Ok(OptsBuilder::from_opts(opts).db_name(None::<String>))
}

fn pool_for(url: &str, size: usize) -> Result<Pool, StoreError> {
    let constraints = PoolConstraints::new(0, size).ok_or_else(|| StoreError::Unavailable("pool size".into()))?;
    let pool_opts = PoolOpts::default()
        .with_constraints(constraints)
        .with_inactive_connection_ttl(super::IDLE_CONNECTION_TTL);
    let builder = server_opts(url)?.pool_opts(pool_opts).stmt_cache_size(256);
    Ok(Pool::new(builder))
}

/// Where `url` points, for messages (never the password).
fn target_of(url: &str, database: &str) -> Result<DatabaseTarget, StoreError> {
    let opts = Opts::from_url(url).map_err(|_| StoreError::Unavailable("invalid MySQL URL".into()))?;
    Ok(DatabaseTarget {
        engine: "MySQL",
        host: opts.ip_or_hostname().to_owned(),
        port: opts.tcp_port(),
        database: database.to_owned(),
        user: opts.user().unwrap_or_default().to_owned(),
    })
}

/// One connection attempt that also makes sure the control database exists, its
/// failure said in words.
/// One connection attempt that also creates the control database; on success, the
/// server's `max_connections`.
async fn probe(url: &str, target: &DatabaseTarget) -> Result<usize, Attempt> {
    let opts = server_opts(url).map_err(|e| Attempt::Refused(e.to_string()))?;
    let mut conn = match mysql_async::Conn::new(opts).await {
        Ok(conn) => conn,
        // Too many connections, or shutting down: it will answer, so wait for it.
        Err(mysql_async::Error::Server(e)) if matches!(e.code, 1040 | 1053) => {
            return Err(Attempt::Unreachable(format!("MySQL error {}: {}", e.code, e.message)))
        }
        Err(mysql_async::Error::Server(e)) => return Err(refusal(target, &e)),
        Err(e) => return Err(Attempt::Unreachable(super::connect::causes(&e))),
    };
    let created = conn
        .query_drop(format!(
            "CREATE DATABASE IF NOT EXISTS `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            target.database
        ))
        .await;
    let slots: Option<u64> = conn.query_first("SELECT @@max_connections").await.ok().flatten();
    let _ = conn.disconnect().await;
    match created {
        Ok(()) => Ok(slots.unwrap_or(100).max(2) as usize),
        Err(mysql_async::Error::Server(e)) => Err(refusal(target, &e)),
        Err(e) => Err(Attempt::Unreachable(super::connect::causes(&e))),
    }
}

fn refusal(target: &DatabaseTarget, e: &mysql_async::ServerError) -> Attempt {
    Attempt::Refused(match e.code {
        1045 | 1698 => format!(
            "the server refused user \"{}\" ({}). Check the user and password in HELLOJOHN_DATABASE_URL",
            target.user, e.message
        ),
        1044 | 1142 | 1227 => format!(
            "user \"{}\" may not create or use database \"{db}\" ({}). Grant it ALL on `{db}`.* and on the per-tenant databases `hj\\_%`.* (or CREATE on *.*)",
            target.user,
            e.message,
            db = target.database,
        ),
        code => format!("MySQL error {code}: {}", e.message),
    })
}

/// The database named by the URL's path, if any.
fn url_database(url: &str) -> Option<String> {
    Opts::from_url(url)
        .ok()
        .and_then(|o| o.db_name().map(str::to_owned))
        .filter(|d| !d.is_empty())
}

/// The name of a tenant's database: `hj_<instance tag>_` + the lower-cased tenant id.
fn tenant_database(tag: &str, tenant_id: &str) -> Result<String, StoreError> {
    if !crate::ids::is_valid(crate::ids::prefix::TENANT, tenant_id) {
        return Err(StoreError::NotFound);
    }
    Ok(format!("hj_{tag}_{}", tenant_id.to_lowercase()))
}

/// Creates a database if it does not exist (names are validated identifiers).
/// A pooled connection, waited for at most [`BUDGET_WAIT`]: the pool is this node's whole
/// budget on the server, so when every connection stays busy the request answers 503
/// instead of queueing without end.
pub(crate) async fn checkout(pool: &Pool) -> Result<mysql_async::Conn, StoreError> {
    match tokio::time::timeout(BUDGET_WAIT, pool.get_conn()).await {
        Ok(conn) => conn.map_err(|e| my_error(e, "key")),
        Err(_) => Err(budget_spent()),
    }
}

/// A transaction on a pooled connection, waited for like [`checkout`].
pub(crate) async fn begin(pool: &Pool, options: TxOpts) -> Result<mysql_async::Transaction<'static>, StoreError> {
    match tokio::time::timeout(BUDGET_WAIT, pool.start_transaction(options)).await {
        Ok(tx) => tx.map_err(|e| my_error(e, "key")),
        Err(_) => Err(budget_spent()),
    }
}

fn budget_spent() -> StoreError {
    metrics::counter!("hellojohn_db_budget_exhausted_total").increment(1);
    StoreError::Unavailable("every connection of this node's budget stayed busy".into())
}

async fn create_database(pool: &Pool, name: &str) -> Result<(), StoreError> {
    let mut conn = checkout(pool).await?;
    conn.query_drop(format!(
        "CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .await
    .map_err(|e| my_error(e, "key"))
}

/// The MySQL backend.
pub struct MySqlBackend {
    url: String,
    main: Pool,
    control: Arc<control::MySqlControlStore>,
    databases: DashMap<String, Weak<Pool>>,
    /// Connections of a separate_database tenant's own pool.
    tenant_pool_size: usize,
    /// Prefix of this instance's databases on the server (`hj_<tag>_shared`, `hj_<tag>_tnt_…`).
    tag: String,
}

impl MySqlBackend {
    /// Connects (retrying an unreachable server for `connect_timeout`), creates the control
    /// database and applies its migrations.
    /// Connects (retrying an unreachable server for `connect_timeout`) and applies the
    /// control migrations. Every tenant on this server, separate_database ones included,
    /// is reached through the main pool (statements name their database), so the node's
    /// connections on it never exceed the main pool: `pool_size`, within the connection
    /// budget (`max_connections`, or a share of the server's).
    pub async fn open(
        url: &str,
        pool_size: usize,
        max_connections: Option<usize>,
        connect_timeout: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let control_db = match url_database(url) {
            Some(db) => db,
            None => {
                tracing::info!(
                    database = CONTROL_DATABASE,
                    "HELLOJOHN_DATABASE_URL names no database: using the default"
                );
                CONTROL_DATABASE.to_owned()
            }
        };
        let target = target_of(url, &control_db)?;
        let server_slots = super::connect::reach(&target, connect_timeout, || probe(url, &target)).await?;
        let budget = max_connections.unwrap_or_else(|| super::budget::default_budget(server_slots));
        tracing::info!(
            budget,
            server_slots,
            "database connection budget (HELLOJOHN_DATABASE_MAX_CONNECTIONS)"
        );
        let main = pool_for(url, pool_size.min(budget))?;
        migrations::apply(&main, &control_db, migrations::CONTROL).await?;
        let tag = super::instance_tag(&control_db);
        let control = Arc::new(control::MySqlControlStore::new(main.clone(), control_db));
        Ok(Self {
            url: url.to_owned(),
            main,
            control,
            databases: DashMap::new(),
            tenant_pool_size: pool_size.div_ceil(4),
            tag,
        })
    }

    /// The pool of a tenant placed on another server (`database_url`).
    async fn own_pool(&self, tenant: &Tenant, database: &str) -> Result<Arc<Pool>, StoreError> {
        if let Some(pool) = self.databases.get(&tenant.id).and_then(|w| w.upgrade()) {
            return Ok(pool);
        }
        let url = tenant.database_url.as_deref().unwrap_or(&self.url);
        let server = pool_for(url, 1)?;
        create_database(&server, database).await?;
        let _ = server.disconnect().await;
        let pool = Arc::new(pool_for(url, self.tenant_pool_size)?);
        self.databases.insert(tenant.id.clone(), Arc::downgrade(&pool));
        Ok(pool)
    }
}

#[async_trait]
impl Backend for MySqlBackend {
    fn control(&self) -> Arc<dyn ControlStore> {
        self.control.clone()
    }

    fn cluster(&self) -> Option<Arc<dyn super::cluster::ClusterStore>> {
        Some(Arc::new(cluster::MySqlClusterStore::new(
            self.main.clone(),
            self.control.database().to_owned(),
        )))
    }

    /// Publishes the main pool's connection counts (`hellojohn_db_pool_connections{state}`).
    fn record_metrics(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let pool = self.main.metrics();
        let gauge = |state: &'static str, value: usize| {
            metrics::gauge!("hellojohn_db_pool_connections", "state" => state).set(value as f64);
        };
        gauge("idle", pool.connections_in_pool.load(Relaxed));
        gauge("active", pool.connections_in_use.load(Relaxed));
        gauge("waiting", pool.active_wait_requests.load(Relaxed));
    }

    fn accepts_database_url(&self, url: &str) -> bool {
        url.starts_with("mysql://")
    }

    async fn open_tenant(&self, t: &Tenant) -> Result<Arc<dyn TenantStore>, StoreError> {
        let (pool, database) = match t.isolation_mode {
            IsolationMode::SharedSchema => {
                let shared = format!("hj_{}_shared", self.tag);
                create_database(&self.main, &shared).await?;
                (Arc::new(self.main.clone()), shared)
            }
            IsolationMode::SeparateSchema => {
                let database = tenant_database(&self.tag, &t.id)?;
                create_database(&self.main, &database).await?;
                (Arc::new(self.main.clone()), database)
            }
            // A database of its own; on this node's server reached through the main pool.
            IsolationMode::SeparateDatabase if t.database_url.is_none() => {
                let database = tenant_database(&self.tag, &t.id)?;
                create_database(&self.main, &database).await?;
                (Arc::new(self.main.clone()), database)
            }
            IsolationMode::SeparateDatabase => {
                let database = tenant_database(&self.tag, &t.id)?;
                (self.own_pool(t, &database).await?, database)
            }
        };
        migrations::apply(&pool, &database, migrations::TENANT).await?;
        Ok(Arc::new(tenant::MySqlTenantStore::new(pool, database, t.id.clone())))
    }

    async fn drop_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        match t.isolation_mode {
            IsolationMode::SharedSchema => self.open_tenant(t).await?.purge().await,
            IsolationMode::SeparateSchema | IsolationMode::SeparateDatabase => {
                if let Some((_, pool)) = self.databases.remove(&t.id) {
                    if let Some(pool) = pool.upgrade() {
                        let _ = Pool::clone(&pool).disconnect().await;
                    }
                }
                let url = t.database_url.as_deref().unwrap_or(&self.url);
                let server = if t.isolation_mode == IsolationMode::SeparateDatabase {
                    pool_for(url, 1)?
                } else {
                    self.main.clone()
                };
                let mut conn = server.get_conn().await.map_err(|e| my_error(e, "key"))?;
                conn.query_drop(format!(
                    "DROP DATABASE IF EXISTS `{}`",
                    tenant_database(&self.tag, &t.id)?
                ))
                .await
                .map_err(|e| my_error(e, "key"))
            }
        }
    }
}
