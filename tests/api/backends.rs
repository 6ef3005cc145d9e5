//! The conformance matrix: which storage backend a test runs against.
//!
//! `matrix! { async fn name() { … } }` turns one test body into one test per
//! backend (file store, PostgreSQL in each isolation mode). Inside the body,
//! [`current`] names the backend and every server the harness starts uses it.
//! A database that can't be reached makes its tests say loudly that they
//! skipped, or fail when `HELLOJOHN_TEST_REQUIRE_DB=1`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};

use hellojohn::config::IsolationMode;

/// A storage configuration of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Fs,
    Postgres(IsolationMode),
    MySql(IsolationMode),
}

tokio::task_local! {
    static CURRENT: Backend;
}

/// The backend of the running test (the file store outside the matrix).
pub fn current() -> Backend {
    CURRENT.try_with(|b| *b).unwrap_or(Backend::Fs)
}

/// The PostgreSQL server the suites use (a maintenance database URL).
pub fn postgres_url() -> String {
    std::env::var("HELLOJOHN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn on_own_runtime<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

async fn pg_admin() -> Result<tokio_postgres::Client, String> {
    let (client, connection) = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("{e}"))?;
    tokio::spawn(connection);
    Ok(client)
}

/// Why a backend can't be used here, if it can't (checked once per process).
fn unavailable(backend: Backend) -> Option<String> {
    static CHECKED: OnceLock<Mutex<HashMap<&'static str, Option<String>>>> = OnceLock::new();
    let kind = match backend {
        Backend::Fs => return None,
        Backend::Postgres(_) => "postgres",
        Backend::MySql(_) => "mysql",
    };
    let mut checked = CHECKED.get_or_init(Default::default).lock().unwrap();
    checked
        .entry(kind)
        .or_insert_with(|| {
            on_own_runtime(async move {
                match kind {
                    "postgres" => clean_postgres().await.err(),
                    _ => clean_mysql().await.err(),
                }
            })
        })
        .clone()
}

/// Drops the databases earlier runs left behind, once per process, before any test creates one.
async fn clean_postgres() -> Result<(), String> {
    let client = pg_admin().await?;
    let rows = client
        .query("SELECT datname FROM pg_database WHERE datname LIKE 'hj\\_%'", &[])
        .await
        .map_err(|e| e.to_string())?;
    for row in rows {
        let name: String = row.get(0);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The MySQL/MariaDB server the suites use.
pub fn mysql_url() -> String {
    std::env::var("HELLOJOHN_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
}

async fn mysql_admin() -> Result<mysql_async::Conn, String> {
    mysql_async::Conn::from_url(mysql_url())
        .await
        .map_err(|e| e.to_string())
}

async fn clean_mysql() -> Result<(), String> {
    use mysql_async::prelude::Queryable;
    let mut conn = mysql_admin().await?;
    let names: Vec<String> = conn
        .query(
            "SELECT schema_name FROM information_schema.schemata
             WHERE schema_name LIKE 'hj\\_%'",
        )
        .await
        .map_err(|e| e.to_string())?;
    for name in names {
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
            .map_err(|e| e.to_string())?;
    }
    // Every test server holds pools (one per tenant in `separate_database`), and the
    // suite runs many at once: MariaDB's default of 151 connections runs out under load
    // and the servers rightly answer 503. Raised for this test server, never lowered.
    let limit: Option<u64> = conn
        .query_first("SELECT @@GLOBAL.max_connections")
        .await
        .map_err(|e| e.to_string())?;
    if limit.is_some_and(|l| l < MYSQL_CONNECTIONS) {
        conn.query_drop(format!("SET GLOBAL max_connections = {MYSQL_CONNECTIONS}"))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The connection limit the suite needs of its MariaDB/MySQL server.
const MYSQL_CONNECTIONS: u64 = 1000;

/// A fresh database for one test server; returns its URL.
pub fn create_database(backend: Backend) -> Option<String> {
    match backend {
        Backend::Fs => None,
        Backend::Postgres(_) => {
            let name = format!("hj_test_{}", ulid::Ulid::new().to_string().to_lowercase());
            let url = postgres_url();
            on_own_runtime(async move {
                let client = pg_admin().await.unwrap();
                client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
                let base = url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(url);
                Some(format!("{base}/{name}"))
            })
        }
        Backend::MySql(_) => {
            let name = format!("hj_test_{}", ulid::Ulid::new().to_string().to_lowercase());
            on_own_runtime(async move {
                use mysql_async::prelude::Queryable;
                let mut conn = mysql_admin().await.unwrap();
                conn.query_drop(format!("CREATE DATABASE `{name}`")).await.unwrap();
                Some(format!("{}/{name}", mysql_url().trim_end_matches('/')))
            })
        }
    }
}

/// Runs a test body against `backend`, or reports why it can't.
pub async fn run(backend: Backend, body: impl Future<Output = ()>) {
    if let Some(reason) = unavailable(backend) {
        if std::env::var("HELLOJOHN_TEST_REQUIRE_DB").as_deref() == Ok("1") {
            panic!("{backend:?} is required (HELLOJOHN_TEST_REQUIRE_DB=1) but unavailable: {reason}");
        }
        eprintln!(
            "SKIPPED: {backend:?} is unavailable ({reason}); set HELLOJOHN_TEST_REQUIRE_DB=1 to make this a failure"
        );
        return;
    }
    CURRENT.scope(backend, body).await
}

/// One test per backend from one body.
#[macro_export]
macro_rules! matrix {
    ($(async fn $name:ident() $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::backends::{run, Backend};
            use hellojohn::config::IsolationMode;

            async fn body() $body

            #[tokio::test]
            async fn fs() {
                run(Backend::Fs, body()).await
            }
            #[tokio::test]
            async fn pg_shared_schema() {
                run(Backend::Postgres(IsolationMode::SharedSchema), body()).await
            }
            #[tokio::test]
            async fn pg_separate_schema() {
                run(Backend::Postgres(IsolationMode::SeparateSchema), body()).await
            }
            #[tokio::test]
            async fn pg_separate_database() {
                run(Backend::Postgres(IsolationMode::SeparateDatabase), body()).await
            }
            #[tokio::test]
            async fn mysql_shared_schema() {
                run(Backend::MySql(IsolationMode::SharedSchema), body()).await
            }
            #[tokio::test]
            async fn mysql_separate_schema() {
                run(Backend::MySql(IsolationMode::SeparateSchema), body()).await
            }
            #[tokio::test]
            async fn mysql_separate_database() {
                run(Backend::MySql(IsolationMode::SeparateDatabase), body()).await
            }
        }
    )*};
}
