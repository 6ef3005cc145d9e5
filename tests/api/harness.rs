//! Test harness: real servers on free ports (in-process for most tests, the
//! real binary where a test kills or signals the process), each test on a
//! fresh tenant so tests never depend on each other or on order.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use hellojohn::config::Config;
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "root@hellojohn.test";
pub const ADMIN_PASSWORD: &str = "root-password-for-tests";

/// The HTTP client of the tests (with a user agent, as browsers and SDKs send one).
pub fn client() -> Client {
    Client::builder().user_agent("hellojohn-tests/1.0").build().unwrap()
}

/// A running server.
pub struct Server {
    pub base: String,
    pub admin_token: String,
    /// The node's state, for in-process servers.
    pub state: Option<hellojohn::http::AppState>,
    /// The database URL the server uses (SQL backends).
    pub database_url: Option<String>,
    /// The dev mailbox the server writes emails to (in-process servers).
    pub mailbox: Option<PathBuf>,
}

/// A tenant made for one test, with its key values.
pub struct TestTenant {
    pub id: String,
    pub pk: String,
    pub sk: String,
}

/// A fixed instance key for SQL-backed test servers (the file store generates its own).
pub const TEST_ENCRYPTION_KEY: &str = "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyEhISE=";

/// Settings every test server shares: cheap argon2, no bootstrap, faults on, and the
/// storage of the running test's backend (a fresh database for SQL backends).
pub fn test_env(dir: &Path, port: u16) -> HashMap<String, String> {
    test_env_on(crate::backends::current(), dir, port)
}

fn test_env_on(backend: crate::backends::Backend, dir: &Path, port: u16) -> HashMap<String, String> {
    let mut env = base_env(dir, port);
    if let Some(url) = crate::backends::create_database(backend) {
        env.insert("HELLOJOHN_DATABASE_URL".into(), url);
        env.insert("HELLOJOHN_ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    }
    if let crate::backends::Backend::Postgres(mode) | crate::backends::Backend::MySql(mode) = backend {
        let mode = serde_json::to_value(mode).unwrap().as_str().unwrap().to_owned();
        if mode == "separate_database" {
            // Each tenant's pool holds connections; let idle tenants give them back quickly.
            env.insert("HELLOJOHN_TENANT_IDLE_TIMEOUT".into(), "3s".into());
        }
        env.insert("HELLOJOHN_TENANT_ISOLATION_MODE".into(), mode);
    }
    env
}

fn base_env(dir: &Path, port: u16) -> HashMap<String, String> {
    let pairs = [
        ("HELLOJOHN_DATABASE_URL", format!("file://{}", dir.display())),
        ("HELLOJOHN_HOST", "127.0.0.1".to_owned()),
        ("HELLOJOHN_PORT", port.to_string()),
        ("HELLOJOHN_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("HELLOJOHN_ADMIN_SEED_EMAIL", ADMIN_EMAIL.to_owned()),
        ("HELLOJOHN_ADMIN_SEED_PASSWORD", ADMIN_PASSWORD.to_owned()),
        ("HELLOJOHN_BOOTSTRAP", "false".to_owned()),
        ("HELLOJOHN_ARGON2_MEMORY_KIB", "256".to_owned()),
        ("HELLOJOHN_ARGON2_ITERATIONS", "1".to_owned()),
        ("HELLOJOHN_TEST_FAULTS", "true".to_owned()),
        ("HELLOJOHN_LOG", "warn".to_owned()),
        // Suites sign up many users from one IP; the limits have their own server in `limits.rs`.
        ("HELLOJOHN_RATE_LIMITS", "off".to_owned()),
        // Many servers share the test databases' connection limits.
        ("HELLOJOHN_DATABASE_POOL_SIZE", "4".to_owned()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A fresh data directory that outlives the test (the OS cleans /tmp).
pub fn data_dir() -> PathBuf {
    tempfile::tempdir().unwrap().keep()
}

/// Starts an in-process server with `overrides` on top of [`test_env`], on its own runtime thread.
pub fn start_server(overrides: &[(&str, &str)]) -> Server {
    start_server_on(crate::backends::current(), overrides)
}

/// Like [`start_server`], on an explicit backend (for cross-backend restores).
pub fn start_server_on(backend: crate::backends::Backend, overrides: &[(&str, &str)]) -> Server {
    let port = free_port();
    let dir = data_dir();
    let mut env = test_env_on(backend, &dir, port);
    for (k, v) in overrides {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let database_url = env
        .get("HELLOJOHN_DATABASE_URL")
        .filter(|u| !u.starts_with("file://"))
        .cloned();
    let default_mailbox = dir.join("mailbox.jsonl").display().to_string();
    let mailbox = PathBuf::from(
        env.entry("HELLOJOHN_DEV_MAILBOX".into())
            .or_insert(default_mailbox)
            .clone(),
    );
    let config = Config::from_sources(None, env).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
            let node = hellojohn::server::build(config).await.unwrap();
            tx.send(node.state.clone()).unwrap();
            hellojohn::server::serve(listener, node, std::future::pending())
                .await
                .unwrap();
        });
    });
    let state = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let admin_token = blocking_admin_sign_in(&base);
    Server {
        base,
        admin_token,
        state: Some(state),
        database_url,
        mailbox: Some(mailbox),
    }
}

fn blocking_admin_sign_in(base: &str) -> String {
    let base = base.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(admin_sign_in(&base))
    })
    .join()
    .unwrap()
}

async fn admin_sign_in(base: &str) -> String {
    let res = Client::new()
        .post(format!("{base}/cp/v1/admin/sign-in"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// The server most tests of the running backend share.
pub fn shared() -> &'static Server {
    static SERVERS: OnceLock<Mutex<HashMap<crate::backends::Backend, &'static Server>>> = OnceLock::new();
    let backend = crate::backends::current();
    let mut servers = SERVERS.get_or_init(Default::default).lock().unwrap();
    servers
        .entry(backend)
        // Webhooks of shared-server tests go to receivers on loopback.
        .or_insert_with(|| Box::leak(Box::new(start_server(&[("HELLOJOHN_WEBHOOK_ALLOW_PRIVATE", "true")]))))
}

/// An HTTP exchange's status, headers and JSON body.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn from(res: Response) -> Self {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Self { status, headers, body }
    }

    /// Asserts an error envelope with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert_eq!(self.body["error"]["status"], status);
        assert!(self.body["error"]["request_id"].as_str().unwrap().len() > 4);
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional bearer credential and JSON body.
    pub async fn call(&self, method: Method, path: &str, bearer: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = client().request(method, self.url(path));
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Reply::from(req.send().await.unwrap()).await
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(&self.admin_token), body).await
    }

    /// Creates a tenant through the control plane.
    pub async fn new_tenant_with(&self, body: Value) -> TestTenant {
        let reply = self.admin(Method::POST, "/cp/v1/tenants", Some(body)).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        TestTenant {
            id: reply.body["tenant"]["id"].as_str().unwrap().to_owned(),
            pk: reply.body["publishable_key"].as_str().unwrap().to_owned(),
            sk: reply.body["secret_key"].as_str().unwrap().to_owned(),
        }
    }

    /// Signs a user in with the tenant's publishable key.
    pub async fn sign_in(&self, tenant: &TestTenant, email: &str, password: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/auth/sign-in",
            Some(&tenant.pk),
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// A user as stored, read through the data-access layer of whichever backend runs.
    pub async fn stored_user(&self, tenant: &TestTenant, email: &str) -> hellojohn::store::User {
        let control = &self.state.as_ref().expect("in-process server").control;
        let record = control.tenant(&tenant.id).await.unwrap();
        let store = control.backend().open_tenant(&record).await.unwrap();
        store.find_user_by_email(email).await.unwrap().expect("stored user")
    }

    /// The newest email to `to` in the dev mailbox, waiting for the sender task (up to 5 s).
    pub async fn last_mail(&self, to: &str) -> Value {
        let path = self.mailbox.as_ref().expect("in-process server");
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(path) {
                let found = text
                    .lines()
                    .rev()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .find(|m| m["to"] == to);
                if let Some(mail) = found {
                    return mail;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no email to {to}");
    }

    /// The first email to `to` after `previous` of them were already there.
    pub async fn next_mail(&self, to: &str, previous: usize) -> Value {
        for _ in 0..100 {
            if self.mail_count(to) > previous {
                return self.last_mail(to).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new email to {to}");
    }

    /// How many emails to `to` the dev mailbox holds now.
    pub fn mail_count(&self, to: &str) -> usize {
        let path = self.mailbox.as_ref().expect("in-process server");
        std::fs::read_to_string(path)
            .map(|t| {
                t.lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .filter(|m| m["to"] == to)
                    .count()
            })
            .unwrap_or(0)
    }

    /// Moves the in-process server's clock forward.
    pub fn advance_clock(&self, secs: i64) {
        self.state
            .as_ref()
            .expect("in-process server")
            .control
            .clock()
            .advance(secs);
    }

    /// Exchanges a refresh token with the tenant's publishable key.
    pub async fn refresh(&self, tenant: &TestTenant, refresh_token: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/auth/token/refresh",
            Some(&tenant.pk),
            Some(json!({"refresh_token": refresh_token})),
        )
        .await
    }

    pub async fn new_tenant(&self) -> TestTenant {
        self.new_tenant_with(json!({"name": format!("Test {}", ulid::Ulid::new())}))
            .await
    }

    /// Signs a user up on a tenant; returns the whole `{user, session}` body.
    pub async fn sign_up(&self, tenant: &TestTenant, email: &str, password: &str) -> Value {
        let reply = self
            .call(
                Method::POST,
                "/v1/auth/sign-up",
                Some(&tenant.pk),
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body
    }
}

/// The claims of a JWT, read without verifying it.
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A `hellojohn` process, killed when dropped.
pub struct Process {
    pub child: Child,
    pub base: String,
    pub stdout_lines: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns the real binary with exactly `env` (plus PATH) in `cwd` and waits for `/health`.
pub async fn spawn_binary(env: &HashMap<String, String>, cwd: &Path, port: u16) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hellojohn"));
    command
        .env_clear()
        .envs(env)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // Debugging aid: `HELLOJOHN_TEST_STDERR=<file>` in `env` keeps the process's logs.
    if let Some(file) = env.get("HELLOJOHN_TEST_STDERR") {
        command.stderr(std::fs::File::create(file).unwrap());
    }
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::new();
    for _ in 0..300 {
        if let Ok(res) = client.get(format!("{base}/health")).send().await {
            if res.status() == 200 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let stdout_lines = rx.try_iter().collect();
                return Process {
                    child,
                    base,
                    stdout_lines,
                };
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("hellojohn exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("hellojohn did not become healthy");
}

/// A [`Server`] handle for a spawned process.
pub async fn attach(base: &str) -> Server {
    Server {
        base: base.to_owned(),
        admin_token: admin_sign_in(base).await,
        state: None,
        database_url: None,
        mailbox: None,
    }
}

/// A client we didn't write, in Python (`tests/clients/<script>`), speaking one line in,
/// one line out; `None` when `import` fails (a failure when the suite requires it).
pub struct PythonClient {
    _child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    answers: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl PythonClient {
    pub fn spawn(script: &str, import: &str, package: &str, args: &[&str]) -> Option<Self> {
        use tokio::io::AsyncBufReadExt;
        let installed = Command::new("python3")
            .args(["-c", &format!("import {import}")])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var("HELLOJOHN_TEST_REQUIRE_DB").is_err(),
                "{package} is required (.ci/run installs it)"
            );
            eprintln!("SKIPPED: {package} is not installed (pip install '{package}')");
            return None;
        }
        let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = tokio::process::Command::new("python3")
            .arg(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let answers = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        Some(Self {
            _child: child,
            stdin,
            answers,
        })
    }

    /// Sends one line and reads the answer.
    pub async fn ask(&mut self, line: &str) -> String {
        use tokio::io::AsyncWriteExt;
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        self.answers.next_line().await.unwrap().expect("an answer")
    }
}
