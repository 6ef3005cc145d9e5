//! PostgreSQL pools whose connections draw on the node's [`ConnectionBudget`]: a
//! connection holds a permit from the moment it opens until it closes.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_postgres::{ClientWrapper, ManagerConfig, RecyclingMethod};
use tokio::sync::OwnedSemaphorePermit;
use tokio_postgres::NoTls;

use crate::store::budget::{BudgetSpent, ConnectionBudget, IdleConnections, LastUse};
use crate::store::StoreError;

/// A pool of budgeted PostgreSQL connections.
pub type PgPool = managed::Pool<BudgetedManager>;

/// Opens connections only with a permit of the budget.
pub struct BudgetedManager {
    inner: deadpool_postgres::Manager,
    budget: Arc<ConnectionBudget>,
    last_use: Arc<LastUse>,
}

/// An open connection and the budget permit it holds.
pub struct Connection {
    client: ClientWrapper,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Connection {
    type Target = ClientWrapper;
    fn deref(&self) -> &ClientWrapper {
        &self.client
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut ClientWrapper {
        &mut self.client
    }
}

/// Why a connection could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Budget(#[from] BudgetSpent),
}

impl managed::Manager for BudgetedManager {
    type Type = Connection;
    type Error = ConnectError;

    async fn create(&self) -> Result<Connection, ConnectError> {
        let permit = self.budget.acquire().await?;
        self.budget.touch(&self.last_use);
        let client = self.inner.create().await?;
        Ok(Connection {
            client,
            _permit: permit,
        })
    }

    async fn recycle(&self, connection: &mut Connection, metrics: &Metrics) -> RecycleResult<ConnectError> {
        self.budget.touch(&self.last_use);
        self.inner
            .recycle(&mut connection.client, metrics)
            .await
            .map_err(|e| match e {
                RecycleError::Message(m) => RecycleError::Message(m),
                RecycleError::Backend(e) => RecycleError::Backend(e.into()),
            })
    }

    fn detach(&self, connection: &mut Connection) {
        self.inner.detach(&mut connection.client);
    }
}

impl IdleConnections for managed::WeakPool<BudgetedManager> {
    fn close_idle(&self) -> bool {
        match self.upgrade() {
            Some(pool) => {
                pool.retain(|_, _| false);
                true
            }
            None => false,
        }
    }

    fn alive(&self) -> bool {
        self.upgrade().is_some()
    }
}

/// A pool of at most `size` connections under `budget`, closing connections idle for
/// longer than `idle_ttl`; the budget may close its idle ones for other pools.
pub fn budgeted_pool(
    config: tokio_postgres::Config,
    size: usize,
    budget: &Arc<ConnectionBudget>,
    idle_ttl: Duration,
) -> Result<PgPool, StoreError> {
    let inner = deadpool_postgres::Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let last_use = Arc::new(LastUse::default());
    let manager = BudgetedManager {
        inner,
        budget: budget.clone(),
        last_use: last_use.clone(),
    };
    let pool = PgPool::builder(manager)
        .max_size(size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(5)))
        // Waiting for the budget comes first, then the connection itself.
        .create_timeout(Some(crate::store::budget::BUDGET_WAIT + Duration::from_secs(3)))
        .recycle_timeout(Some(Duration::from_secs(3)))
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    budget.register(Box::new(pool.weak()), last_use);
    release_idle_connections(&pool, idle_ttl);
    Ok(pool)
}

/// Closes the pool's connections idle for longer than `ttl`, until the pool itself is
/// dropped (MySQL pools do the same through `inactive_connection_ttl`).
fn release_idle_connections(pool: &PgPool, ttl: Duration) {
    let weak = pool.weak();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(ttl / 2);
        loop {
            tick.tick().await;
            let Some(pool) = weak.upgrade() else { return };
            pool.retain(|_, metrics| metrics.last_used() < ttl);
        }
    });
}
