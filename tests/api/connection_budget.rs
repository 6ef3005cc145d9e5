//! The node's database connection budget: hundreds of separate_database tenants active at
//! once on a 100-connection server all serve their sign-ups, and hellojohn never takes the
//! slots everybody else on that server needs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// How many tenants are active at once (`HELLOJOHN_TEST_BUDGET_TENANTS`, default 300).
fn tenant_count() -> usize {
    std::env::var("HELLOJOHN_TEST_BUDGET_TENANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn require_db() -> bool {
    std::env::var("HELLOJOHN_TEST_REQUIRE_DB").as_deref() == Ok("1")
}

/// A PostgreSQL server of the test's own (initdb in a temp dir), stopped when dropped.
struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    /// Starts a server allowing `max_connections`; `None` where PostgreSQL isn't installed.
    fn start(max_connections: u32) -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        let dir = tempfile::tempdir().unwrap().keep();
        let data = dir.join("data");
        std::fs::create_dir(&data).unwrap();
        let server = Self {
            bin,
            dir,
            port: free_port(),
        };
        let root = unsafe_is_root();
        if root {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&server.dir)
                .status()
                .unwrap();
            assert!(status.success());
        }
        server.run(
            root,
            "initdb",
            &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-N"],
        );
        let options = format!(
            "-p {} -c max_connections={max_connections} -c fsync=off -c listen_addresses=127.0.0.1 -k {}",
            server.port,
            server.dir.display()
        );
        let log = server.dir.join("log");
        server.run(
            root,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Some(server)
    }

    /// A PostgreSQL tool of this installation, run as `postgres` when the tests run as root.
    fn tool(&self, root: bool, tool: &str, args: &[&str]) -> Command {
        let program = self.bin.join(tool);
        let mut command = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command.args(args);
        command
    }

    fn run(&self, root: bool, tool: &str, args: &[&str]) {
        let output = self.tool(root, tool, args).output().unwrap();
        assert!(
            output.status.success(),
            "{tool}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let args = ["-D", data.to_str().unwrap_or_default(), "-m", "immediate", "stop"];
        let _ = self.tool(unsafe_is_root(), "pg_ctl", &args).output();
    }
}

/// Whether the tests run as root (initdb refuses to; it then runs as `postgres`).
fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// What the server looked like to everybody else while hellojohn was busy.
#[derive(Default)]
struct Watch {
    samples: AtomicUsize,
    refused: AtomicUsize,
    peak: AtomicUsize,
}

/// Every 100 ms, connects as another client would and counts `count_sql`'s connections.
fn watch_postgres(url: String, count_sql: &'static str) -> (Arc<Watch>, tokio::task::JoinHandle<()>) {
    let watch = Arc::new(Watch::default());
    let seen = watch.clone();
    let task = tokio::spawn(async move {
        loop {
            match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    let connection = tokio::spawn(connection);
                    if let Ok(row) = client.query_one(count_sql, &[]).await {
                        seen.peak.fetch_max(row.get::<_, i64>(0) as usize, Ordering::Relaxed);
                    }
                    drop(client);
                    let _ = connection.await;
                }
                Err(_) => {
                    seen.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            seen.samples.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    (watch, task)
}

/// Retries `call` on 503 (waiting its `Retry-After`, at most 1 s) for up to two minutes.
async fn until_served<F, Fut>(retries: &AtomicUsize, mut call: F) -> Reply
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let started = Instant::now();
    loop {
        let reply = call().await;
        if reply.status != 503 || started.elapsed() > Duration::from_secs(120) {
            return reply;
        }
        retries.fetch_add(1, Ordering::Relaxed);
        let wait = reply.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or(1u64);
        tokio::time::sleep(Duration::from_secs(wait.min(1))).await;
    }
}

/// Creates `count` separate_database tenants, then signs a user up in every one at once.
/// Returns (created, signed up, 503 retries, seconds).
async fn every_tenant_signs_up(server: &Server, count: usize) -> (usize, usize, usize, f64) {
    let started = Instant::now();
    let retries = Arc::new(AtomicUsize::new(0));
    let mut tenants = Vec::new();
    // Four creations at a time: each one creates a database.
    for chunk in (0..count).collect::<Vec<_>>().chunks(4) {
        let created = futures_util::future::join_all(chunk.iter().map(|i| {
            let retries = retries.clone();
            async move {
                let body =
                    json!({"name": format!("Budget {i} {}", ulid::Ulid::new()), "isolation_mode": "separate_database"});
                let reply = until_served(&retries, || {
                    server.admin(Method::POST, "/cp/v1/tenants", Some(body.clone()))
                })
                .await;
                assert_eq!(reply.status, 201, "{}", reply.body);
                reply.body["publishable_key"].as_str().unwrap().to_owned()
            }
        }))
        .await;
        tenants.extend(created);
    }
    let signed_up = futures_util::future::join_all(tenants.iter().map(|pk| {
        let retries = retries.clone();
        async move {
            let body = json!({"email": "someone@example.com", "password": "long enough password"});
            until_served(&retries, || {
                server.call(Method::POST, "/v1/auth/sign-up", Some(pk), Some(body.clone()))
            })
            .await
        }
    }))
    .await;
    let ok = signed_up.iter().filter(|r| r.status == 201).count();
    for reply in signed_up.iter().filter(|r| r.status != 201).take(3) {
        eprintln!("a sign-up failed: {} {}", reply.status, reply.body);
    }
    (
        tenants.len(),
        ok,
        retries.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    )
}

fn server_env(dir: &Path, port: u16, database_url: String) -> HashMap<String, String> {
    let mut env = test_env(dir, port);
    env.insert("HELLOJOHN_DATABASE_URL".into(), database_url);
    env.insert("HELLOJOHN_ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    env.insert("HELLOJOHN_TENANT_ISOLATION_MODE".into(), "separate_database".into());
    env.insert("HELLOJOHN_DATABASE_POOL_SIZE".into(), "8".into());
    env
}

#[tokio::test]
async fn hundreds_of_separate_database_tenants_fit_a_100_connection_postgres() {
    let Some(pg) = PrivatePostgres::start(100) else {
        assert!(
            !require_db(),
            "PostgreSQL's initdb is required (HELLOJOHN_TEST_REQUIRE_DB=1)"
        );
        eprintln!("SKIPPED: no PostgreSQL installation to start a private server from");
        return;
    };
    let (admin, connection) = tokio_postgres::connect(&pg.url("postgres"), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin.batch_execute("CREATE DATABASE hj_budget").await.unwrap();
    drop(admin);

    let dir = data_dir();
    let port = free_port();
    // No HELLOJOHN_DATABASE_MAX_CONNECTIONS: the default share of the server's 100.
    let process = spawn_binary(&server_env(&dir, port, pg.url("hj_budget")), &dir, port).await;
    let server = attach(&process.base).await;
    let (watch, watcher) = watch_postgres(
        pg.url("postgres"),
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    );
    let count = tenant_count();
    let (created, ok, retries, secs) = every_tenant_signs_up(&server, count).await;
    watcher.abort();
    let peak = watch.peak.load(Ordering::Relaxed);
    eprintln!(
        "PostgreSQL max_connections=100, separate_database: {created} tenants, {ok} sign-ups served in {secs:.0} s \
         ({retries} retried 503s); hellojohn peak {peak} connections; {} of {} outside connections refused",
        watch.refused.load(Ordering::Relaxed),
        watch.samples.load(Ordering::Relaxed)
    );
    assert_eq!(ok, count, "every tenant served its sign-up");
    assert_eq!(
        watch.refused.load(Ordering::Relaxed),
        0,
        "the server always had a slot for others"
    );
    assert!(watch.samples.load(Ordering::Relaxed) > 10);
    // The default budget: a quarter of the 97 slots ordinary users get. A connection's
    // permit goes back when hellojohn drops it, and the server's backend process exits a
    // moment later: a sample can catch one or two of those still closing.
    assert!(peak <= 24 + 2, "hellojohn held {peak} connections");
}

#[tokio::test]
async fn hundreds_of_separate_database_tenants_share_a_mysql_budget() {
    use mysql_async::prelude::Queryable;
    let root_url = crate::backends::mysql_url();
    let mut root = match mysql_async::Conn::from_url(root_url.as_str()).await {
        Ok(conn) => conn,
        Err(e) => {
            assert!(!require_db(), "MariaDB is required (HELLOJOHN_TEST_REQUIRE_DB=1): {e}");
            eprintln!("SKIPPED: MariaDB is unavailable ({e})");
            return;
        }
    };
    // A user of its own, limited like a 100-connection server, so its connections can be
    // counted apart from the other suites'.
    let user = format!("hjb{}", &ulid::Ulid::new().to_string().to_lowercase()[..12]);
    let database = format!("hj_test_{user}");
    root.query_drop(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'budget-pw' WITH MAX_USER_CONNECTIONS 100"
    ))
    .await
    .unwrap();
    root.query_drop(format!("GRANT ALL ON *.* TO '{user}'@'%'"))
        .await
        .unwrap();
    root.query_drop(format!("CREATE DATABASE `{database}`")).await.unwrap();
    let host = root_url
        .trim_start_matches("mysql://")
        .rsplit('@')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let url = format!("mysql://{user}:budget-pw@{host}/{database}");

    let dir = data_dir();
    let port = free_port();
    let mut env = server_env(&dir, port, url);
    env.insert("HELLOJOHN_DATABASE_MAX_CONNECTIONS".into(), "24".into());
    let process = spawn_binary(&env, &dir, port).await;
    let server = attach(&process.base).await;
    let watch = Arc::new(Watch::default());
    let seen = watch.clone();
    let (watch_url, watch_user) = (format!("mysql://{user}:budget-pw@{host}"), user.clone());
    let watcher = tokio::spawn(async move {
        loop {
            match mysql_async::Conn::from_url(watch_url.as_str()).await {
                Ok(mut conn) => {
                    let count: Option<u64> = conn
                        .exec_first(
                            "SELECT COUNT(*) FROM information_schema.processlist WHERE user = ? AND id <> CONNECTION_ID()",
                            (watch_user.as_str(),),
                        )
                        .await
                        .unwrap_or(None);
                    seen.peak.fetch_max(count.unwrap_or(0) as usize, Ordering::Relaxed);
                    let _ = conn.disconnect().await;
                }
                Err(_) => {
                    seen.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            seen.samples.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let count = tenant_count();
    let (created, ok, retries, secs) = every_tenant_signs_up(&server, count).await;
    watcher.abort();
    let peak = watch.peak.load(Ordering::Relaxed);
    eprintln!(
        "MariaDB (user limited to 100), separate_database, budget 24: {created} tenants, {ok} sign-ups served in {secs:.0} s \
         ({retries} retried 503s); hellojohn peak {peak} connections; {} of {} outside connections refused",
        watch.refused.load(Ordering::Relaxed),
        watch.samples.load(Ordering::Relaxed)
    );
    drop(process);
    let _ = root.query_drop(format!("DROP USER '{user}'@'%'")).await;
    assert_eq!(ok, count, "every tenant served its sign-up");
    assert_eq!(
        watch.refused.load(Ordering::Relaxed),
        0,
        "the server always had a slot for others"
    );
    assert!(peak <= 24, "hellojohn held {peak} connections");
}
