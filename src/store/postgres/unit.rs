//! An owned PostgreSQL transaction whose `BEGIN` and isolation preamble travel in the same
//! round trip as its first statement, and whose writes and `COMMIT` can be pipelined.
//! Owned (not borrowing its connection) so it can be held across a tenant's own work,
//! as a refresh does between reading its token and writing the rotation.

use deadpool::managed::Object;
use deadpool_postgres::ClientWrapper;
use futures_util::future::{try_join_all, BoxFuture};
use tokio_postgres::Statement;

use super::pool::{BudgetedManager, PgPool};
use super::{pg_error, pool_error};
use crate::store::StoreError;

/// A transaction in progress; dropped without [`PgUnit::commit`], it rolls back.
pub struct PgUnit {
    connection: Option<Object<BudgetedManager>>,
}

impl PgUnit {
    /// Takes a connection; nothing is sent yet (see [`PgUnit::begin_with`]).
    pub async fn open(pool: &PgPool) -> Result<Self, StoreError> {
        let connection = pool.get().await.map_err(pool_error)?;
        Ok(Self {
            connection: Some(connection),
        })
    }

    /// The connection statements of this transaction run on.
    pub fn client(&self) -> &ClientWrapper {
        // Only `commit` and `drop` take the connection, and both consume the unit.
        match &self.connection {
            Some(connection) => connection,
            None => unreachable!("a unit keeps its connection until it is consumed"),
        }
    }

    /// Sends `begin` (`BEGIN; SET LOCAL …`) and runs `first` pipelined behind it: one round
    /// trip. A failed preamble aborts the transaction, so `first` can't run outside it.
    pub async fn begin_with<'a, R>(
        &'a self,
        begin: &'a str,
        first: impl std::future::Future<Output = Result<R, StoreError>> + 'a,
    ) -> Result<R, StoreError> {
        let (begun, result) = tokio::join!(self.client().batch_execute(begin), first);
        begun.map_err(pg_error)?;
        result
    }

    /// Marks the transaction ended by a statement already run (a pipelined `COMMIT`).
    pub fn finished(mut self) {
        self.connection.take();
    }

    /// Commits.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.client().batch_execute("COMMIT").await.map_err(pg_error)?;
        self.connection.take();
        Ok(())
    }

    /// Prepares `statements`, then runs the writes `plan` makes of them and the `COMMIT`
    /// pipelined: one round trip once the statements are cached. Prepared first so no write
    /// can be sent behind the `COMMIT`; the writes must touch distinct rows. A failed write
    /// aborts the transaction, which turns the `COMMIT` into a rollback.
    pub async fn commit_pipelined<P>(mut self, statements: &[&str], plan: P) -> Result<(), StoreError>
    where
        P: for<'c> FnOnce(&'c ClientWrapper, Vec<Statement>) -> Vec<BoxFuture<'c, Result<(), StoreError>>>,
    {
        let client = self.client();
        let mut prepared = Vec::with_capacity(statements.len());
        for sql in statements {
            prepared.push(client.prepare_cached(sql).await.map_err(pg_error)?);
        }
        let (written, committed) = tokio::join!(try_join_all(plan(client, prepared)), client.batch_execute("COMMIT"));
        written?;
        committed.map_err(pg_error)?;
        self.connection.take();
        Ok(())
    }
}

impl Drop for PgUnit {
    /// Rolls back off the caller's task; a connection that can't be rolled back is closed.
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if connection.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(connection));
                    }
                });
            }
            Err(_) => drop(Object::take(connection)),
        }
    }
}
