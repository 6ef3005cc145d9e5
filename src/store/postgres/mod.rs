//! The PostgreSQL backend (`tokio-postgres` + `deadpool-postgres`).
//!
//! Isolation modes: `shared_schema` keeps every tenant in schema `hj_shared`
//! (rows keyed by `tenant_id`, enforced by row-level security);
//! `separate_schema` gives each tenant a schema `hj_tnt_…` on the shared pool,
//! so a thousand tenants need no more connections than one; `separate_database`
//! gives each tenant a database `hj_tnt_…` with its own small pool, owned by
//! its store handle and closed when the tenant actor lets go of it.

mod cluster;
mod control;
pub mod migrations;
mod pool;
mod tenant;
mod unit;

use std::str::FromStr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use tokio_postgres::NoTls;

use self::pool::{budgeted_pool, ConnectError, PgPool};
use super::budget::{default_budget, ConnectionBudget};
use super::connect::{self, Attempt, DatabaseTarget};
use super::{Backend, ControlStore, StoreError, Tenant, TenantStore};
use super::{IDLE_CONNECTION_TTL, TENANT_IDLE_CONNECTION_TTL};
use crate::config::IsolationMode;

/// Schema of the control-plane tables.
const CONTROL_SCHEMA: &str = "hellojohn";
/// Schema of all tenants' tables in shared_schema mode.
const SHARED_SCHEMA: &str = "hj_shared";
/// Schema of the tables inside a separate tenant database.
const DATABASE_SCHEMA: &str = "hj_tenant";

/// Maps a driver or pool error by SQLSTATE, never by message text.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => {
            let constraint = e.as_db_error().and_then(|d| d.constraint()).unwrap_or_default();
            StoreError::Duplicate(if constraint.contains("email") {
                "email"
            } else if constraint.contains("slug") {
                "slug"
            } else {
                "key"
            })
        }
        Some(code) if *code == SqlState::FOREIGN_KEY_VIOLATION => StoreError::NotFound,
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => StoreError::Unavailable(format!(
            "permission denied ({}): the database user may not create or use hellojohn's schemas and tables; \
             make it the database's owner or GRANT CREATE ON DATABASE to it (see docs/operations.md)",
            e.as_db_error().map(|d| d.message()).unwrap_or_default()
        )),
        // A text from the request the database can't take (a NUL byte, a character the
        // encoding lacks, too long): the request is wrong, never a reason to answer 503.
        Some(code)
            if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || *code == SqlState::UNTRANSLATABLE_CHARACTER
                || *code == SqlState::STRING_DATA_RIGHT_TRUNCATION =>
        {
            StoreError::InvalidInput(format!("SQLSTATE {}", code.code()))
        }
        // Transient contention: retryable, never mistaken for a failed compare-and-set.
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            StoreError::Unavailable("transaction conflict, retry".to_owned())
        }
        Some(code) => StoreError::Unavailable(format!("database error {}", code.code())),
        None => StoreError::Unavailable("database connection failed".to_owned()),
    }
}

pub(crate) fn pool_error(e: deadpool::managed::PoolError<ConnectError>) -> StoreError {
    use deadpool::managed::PoolError;
    match e {
        PoolError::Backend(ConnectError::Postgres(e)) => pg_error(e),
        PoolError::Backend(ConnectError::Budget(spent)) => StoreError::Unavailable(spent.to_string()),
        other => StoreError::Unavailable(format!("database pool: {other}")),
    }
}

/// Where `config` points, for messages (never the password).
fn target_of(config: &tokio_postgres::Config) -> DatabaseTarget {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let user = config.get_user().unwrap_or_default().to_owned();
    DatabaseTarget {
        engine: "PostgreSQL",
        host,
        port: config.get_ports().first().copied().unwrap_or(5432),
        database: config.get_dbname().map(str::to_owned).unwrap_or_else(|| user.clone()),
        user,
    }
}

/// One connection attempt, its failure said in words; on success, how many connections
/// the server allows ordinary users (`max_connections` less the superuser reserve).
async fn probe(config: &tokio_postgres::Config, target: &DatabaseTarget) -> Result<usize, Attempt> {
    use tokio_postgres::error::SqlState;
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            let connection = tokio::spawn(connection);
            let slots = client
                .query_one(
                    "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int",
                    &[],
                )
                .await
                .map_err(|e| Attempt::Refused(connect::causes(&e)))?;
            drop(client);
            let _ = connection.await;
            Ok(slots.get::<_, i32>(0).max(2) as usize)
        }
        Err(e) => Err(match e.code() {
            None => Attempt::Unreachable(connect::causes(&e)),
            // Starting up, shutting down, recovering or full: it will answer, so wait for it.
            Some(code)
                if [
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::TOO_MANY_CONNECTIONS,
                ]
                .contains(code) =>
            {
                Attempt::Unreachable(connect::causes(&e))
            }
            Some(code) if *code == SqlState::INVALID_CATALOG_NAME => Attempt::Refused(format!(
                "database \"{db}\" does not exist. Create it: createdb -h {host} -p {port} -U {user} {db}",
                db = target.database,
                host = target.host,
                port = target.port,
                user = target.user,
            )),
            Some(code) if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                Attempt::Refused(format!(
                    "the server refused user \"{}\" ({}). Check the user and password in HELLOJOHN_DATABASE_URL, that the role may log in, and the server's pg_hba.conf",
                    target.user,
                    e.as_db_error().map(|d| d.message()).unwrap_or_default()
                ))
            }
            Some(_) => Attempt::Refused(connect::causes(&e)),
        }),
    }
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut config =
        tokio_postgres::Config::from_str(url).map_err(|_| StoreError::Unavailable("invalid PostgreSQL URL".into()))?;
    config.connect_timeout(Duration::from_secs(3));
    config.application_name("hellojohn");
    Ok(config)
}

/// The name of a tenant's schema or database: `hj_` + the lower-cased tenant id.
fn tenant_object_name(tenant_id: &str) -> Result<String, StoreError> {
    if !crate::ids::is_valid(crate::ids::prefix::TENANT, tenant_id) {
        return Err(StoreError::NotFound);
    }
    Ok(format!("hj_{}", tenant_id.to_lowercase()))
}

/// The PostgreSQL backend.
pub struct PgBackend {
    url: String,
    main: PgPool,
    control: Arc<control::PgControlStore>,
    /// This node's connections on its database server: the main pool and every
    /// separate_database tenant's pool draw on it.
    budget: Arc<ConnectionBudget>,
    /// Budgets of other servers tenants were placed on (`database_url`), by URL.
    other_budgets: DashMap<String, Arc<ConnectionBudget>>,
    /// Open separate_database pools, shared while some store handle holds them.
    databases: DashMap<String, Weak<PgPool>>,
    /// Connections of a separate_database tenant's own pool.
    tenant_pool_size: usize,
    /// Prefix of this instance's per-tenant databases (`hj_<tag>_tnt_…`).
    tag: String,
}

impl PgBackend {
    /// Connects (retrying an unreachable server for `connect_timeout`), sizes this node's
    /// connection budget (`max_connections`, or a share of what the server allows), creates
    /// the control schema and applies its migrations.
    pub async fn open(
        url: &str,
        pool_size: usize,
        max_connections: Option<usize>,
        connect_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let config = parse_url(url)?;
        let target = target_of(&config);
        if config.get_dbname().is_none() {
            tracing::info!(database = %target.database, "HELLOJOHN_DATABASE_URL names no database: using the user's");
        }
        let server_slots = connect::reach(&target, connect_timeout, || probe(&config, &target)).await?;
        let budget = ConnectionBudget::new(max_connections.unwrap_or_else(|| default_budget(server_slots)));
        tracing::info!(
            budget = budget.size(),
            server_slots,
            "database connection budget (HELLOJOHN_DATABASE_MAX_CONNECTIONS)"
        );
        let main = budgeted_pool(config, pool_size.min(budget.size()), &budget, IDLE_CONNECTION_TTL)?;
        let mut client = main.get().await.map_err(pool_error)?;
        let applied = migrations::apply(&mut client, CONTROL_SCHEMA, migrations::CONTROL).await?;
        if applied > 0 {
            tracing::info!(applied, "applied control-plane migrations");
        }
        drop(client);
        let control = Arc::new(control::PgControlStore::new(main.clone(), CONTROL_SCHEMA));
        Ok(Self {
            url: url.to_owned(),
            main,
            control,
            tenant_pool_size: pool_size.div_ceil(4).min(budget.size()),
            budget,
            other_budgets: DashMap::new(),
            databases: DashMap::new(),
            tag: super::instance_tag(parse_url(url)?.get_dbname().unwrap_or("postgres")),
        })
    }

    /// The budget of the server at `server_url`.
    fn budget_of(&self, server_url: &str) -> Arc<ConnectionBudget> {
        if server_url == self.url {
            return self.budget.clone();
        }
        let size = self.budget.size();
        self.other_budgets
            .entry(server_url.to_owned())
            .or_insert_with(|| ConnectionBudget::new(size))
            .clone()
    }

    /// A one-off connection to a tenant's server (creating or dropping its database),
    /// counted against that server's budget while it is open.
    async fn admin_client(
        &self,
        server_url: &str,
    ) -> Result<(tokio_postgres::Client, tokio::sync::OwnedSemaphorePermit), StoreError> {
        let permit = self
            .budget_of(server_url)
            .acquire()
            .await
            .map_err(|spent| StoreError::Unavailable(spent.to_string()))?;
        let (client, connection) = parse_url(server_url)?.connect(NoTls).await.map_err(pg_error)?;
        tokio::spawn(connection);
        Ok((client, permit))
    }

    async fn database_pool(&self, tenant: &Tenant, name: &str) -> Result<Arc<PgPool>, StoreError> {
        if let Some(pool) = self.databases.get(&tenant.id).and_then(|w| w.upgrade()) {
            return Ok(pool);
        }
        let server_url = tenant.database_url.as_deref().unwrap_or(&self.url);
        let (admin, permit) = self.admin_client(server_url).await?;
        let exists = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .map_err(pg_error)?
            .is_some();
        if !exists {
            match admin.batch_execute(&format!("CREATE DATABASE {name}")).await {
                Ok(()) => {}
                // Two nodes creating it at once: the loser sees either code.
                Err(e)
                    if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                        || e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {}
                Err(e) => return Err(pg_error(e)),
            }
        }
        drop((admin, permit));
        let mut config = parse_url(server_url)?;
        config.dbname(name);
        let pool = budgeted_pool(
            config,
            self.tenant_pool_size,
            &self.budget_of(server_url),
            TENANT_IDLE_CONNECTION_TTL,
        )?;
        let pool = Arc::new(pool);
        self.databases.insert(tenant.id.clone(), Arc::downgrade(&pool));
        Ok(pool)
    }

    /// Publishes the main pool's connection counts (`hellojohn_db_pool_connections{state}`)
    /// and the node's connection budget.
    fn record_pool(&self) {
        let status = self.main.status();
        metrics::gauge!("hellojohn_db_pool_connections", "state" => "idle").set(status.available as f64);
        metrics::gauge!("hellojohn_db_pool_connections", "state" => "active")
            .set(status.size.saturating_sub(status.available) as f64);
        metrics::gauge!("hellojohn_db_pool_connections", "state" => "waiting").set(status.waiting as f64);
        self.budget.record_metrics();
    }
}

#[async_trait]
impl Backend for PgBackend {
    fn control(&self) -> Arc<dyn ControlStore> {
        self.control.clone()
    }

    fn cluster(&self) -> Option<Arc<dyn super::cluster::ClusterStore>> {
        Some(Arc::new(cluster::PgClusterStore::new(
            self.main.clone(),
            CONTROL_SCHEMA,
        )))
    }

    fn accepts_database_url(&self, url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    fn record_metrics(&self) {
        self.record_pool();
    }

    async fn open_tenant(&self, t: &Tenant) -> Result<Arc<dyn TenantStore>, StoreError> {
        let name = tenant_object_name(&t.id)?;
        let (pool, schema, rls) = match t.isolation_mode {
            IsolationMode::SharedSchema => (Arc::new(self.main.clone()), SHARED_SCHEMA.to_owned(), true),
            IsolationMode::SeparateSchema => (Arc::new(self.main.clone()), name, false),
            IsolationMode::SeparateDatabase => {
                let database = format!("hj_{}_{}", self.tag, t.id.to_lowercase());
                (
                    self.database_pool(t, &database).await?,
                    DATABASE_SCHEMA.to_owned(),
                    false,
                )
            }
        };
        let mut client = pool.get().await.map_err(pool_error)?;
        migrations::apply(&mut client, &schema, migrations::TENANT).await?;
        drop(client);
        Ok(Arc::new(tenant::PgTenantStore::new(pool, schema, t.id.clone(), rls)))
    }

    async fn drop_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        let name = tenant_object_name(&t.id)?;
        match t.isolation_mode {
            IsolationMode::SharedSchema => {
                let store = self.open_tenant(t).await?;
                store.purge().await
            }
            IsolationMode::SeparateSchema => {
                let client = self.main.get().await.map_err(pool_error)?;
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .map_err(pg_error)
            }
            IsolationMode::SeparateDatabase => {
                if let Some((_, pool)) = self.databases.remove(&t.id) {
                    if let Some(pool) = pool.upgrade() {
                        pool.close();
                    }
                }
                let (admin, _permit) = self
                    .admin_client(t.database_url.as_deref().unwrap_or(&self.url))
                    .await?;
                admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS hj_{}_{} WITH (FORCE)",
                        self.tag,
                        t.id.to_lowercase()
                    ))
                    .await
                    .map_err(pg_error)
            }
        }
    }
}
