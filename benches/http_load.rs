//! HTTP load driver: what a client actually gets from a whole node, not just
//! from its cryptography. It starts the real server in-process on a free
//! loopback port (embedded file store in a temporary directory, rate limits
//! off, default argon2 cost), creates a tenant through the control plane, and
//! runs the scenarios sign-up, sign-in, refresh, refresh-org (a refresh of a
//! session with an active organization), `GET /v1/auth/me` and
//! `POST /v1/sessions/verify` one after another with concurrent client tasks,
//! printing requests/s, p50 and p99 of each.
//!
//! Password scenarios are bounded by argon2, so the run also measures the
//! single-core argon2 ceiling (one thread hashing with the server's parameters)
//! and prints sign-in/s divided by it: the number of cores' worth of hashing
//! the server turns into sign-ins.
//!
//! Run with `cargo bench --bench http_load`; knobs and caveats in `benches/README.md`.
//! Every loop is bounded by `BENCH_SECONDS`, and all traffic goes to 127.0.0.1.

// A benchmark is a program run by hand: a failed setup step may stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::error::Error;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use hellojohn::config::{Argon2Params, Config};
use reqwest::{Client, RequestBuilder};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const ADMIN_EMAIL: &str = "bench-admin@hellojohn.test";
const ADMIN_PASSWORD: &str = "bench-admin-password";
const USER_PASSWORD: &str = "bench-user-password-1";
/// Longest a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight while preparing users and sessions (outside the measured window).
const SETUP_PARALLELISM: usize = 4;

type BoxError = Box<dyn Error + Send + Sync>;

#[path = "pg_baseline.rs"]
mod pg_baseline;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and a load run is no test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("http_load: run it with `cargo bench --bench http_load`; skipping");
        return ExitCode::SUCCESS;
    }
    match load_run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_run() -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    let data_dir = tempfile::tempdir()?;
    let server = BenchServer::start(&settings, data_dir.path())?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "hellojohn http_load: {cores} cores shared by client and server, concurrency {}, {} s per scenario, \
         argon2id m={} KiB t={} p={}, signing {}",
        settings.concurrency,
        settings.seconds,
        server.argon2.memory_kib,
        server.argon2.iterations,
        server.argon2.parallelism,
        settings.signing_alg.as_deref().unwrap_or("EdDSA (tenant default)"),
    );

    // Measured while the server is idle, so the ceiling is one undisturbed core.
    let ceiling = argon2_ceiling(server.argon2, settings.ceiling_seconds)?;
    println!("single-core argon2 ceiling: {ceiling:.1} hashes/s (1 thread, same parameters, reused buffer)");

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reports = runtime.block_on(run(&settings, &server.base))?;
    drop(runtime);
    server.stop();

    if let (Some(url), Some(refresh)) = (
        &settings.database_url,
        reports.iter().find(|r| r.scenario == Scenario::Refresh),
    ) {
        match pg_baseline::rotation_tps(url, settings.concurrency, settings.seconds) {
            Ok(tps) => println!(
                "pgbench rotation (1 UPDATE + 1 INSERT per transaction, same server): {tps:.1} tps; refresh/s ÷ pgbench tps = {:.2}",
                refresh.requests_per_second() / tps
            ),
            Err(e) => println!("pgbench baseline skipped: {e}"),
        }
    }
    if let Some(sign_in) = reports.iter().find(|r| r.scenario == Scenario::SignIn) {
        println!(
            "sign-in/s ÷ argon2 ceiling = {:.2} (of {cores} cores)",
            sign_in.requests_per_second() / ceiling
        );
    }
    Ok(())
}

/// What the run does, from `BENCH_*` variables.
struct Settings {
    seconds: f64,
    concurrency: usize,
    scenarios: Vec<Scenario>,
    argon2: Argon2Params,
    ceiling_seconds: f64,
    signing_alg: Option<String>,
    /// `BENCH_DATABASE_URL`: run the server on PostgreSQL (a fresh database on that server).
    database_url: Option<String>,
    /// `BENCH_ISOLATION_MODE` for the PostgreSQL run.
    isolation_mode: String,
}

impl Settings {
    fn from_env() -> Result<Self, BoxError> {
        let seconds: f64 = env_or("BENCH_SECONDS", 5.0)?;
        let ceiling_seconds: f64 = env_or("BENCH_ARGON2_CEILING_SECONDS", 3.0)?;
        if !(seconds > 0.0 && seconds <= 3600.0 && ceiling_seconds > 0.0 && ceiling_seconds <= 600.0) {
            return Err("BENCH_SECONDS must be in (0, 3600] and BENCH_ARGON2_CEILING_SECONDS in (0, 600]".into());
        }
        let concurrency: usize = env_or("BENCH_CONCURRENCY", 16)?;
        if concurrency == 0 || concurrency > 10_000 {
            return Err("BENCH_CONCURRENCY must be between 1 and 10000".into());
        }
        let scenarios = match std::env::var("BENCH_SCENARIOS") {
            Ok(list) if !list.trim().is_empty() => {
                let wanted = list
                    .split(',')
                    .map(|s| Scenario::parse(s.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                Scenario::ALL.into_iter().filter(|s| wanted.contains(s)).collect()
            }
            _ => Scenario::ALL.to_vec(),
        };
        Ok(Self {
            seconds,
            concurrency,
            scenarios,
            argon2: Argon2Params {
                memory_kib: env_or("BENCH_ARGON2_MEMORY_KIB", 19_456)?,
                iterations: env_or("BENCH_ARGON2_ITERATIONS", 2)?,
                parallelism: env_or("BENCH_ARGON2_PARALLELISM", 1)?,
            },
            ceiling_seconds,
            signing_alg: std::env::var("BENCH_SIGNING_ALG").ok().filter(|s| !s.is_empty()),
            database_url: std::env::var("BENCH_DATABASE_URL").ok().filter(|s| !s.is_empty()),
            isolation_mode: std::env::var("BENCH_ISOLATION_MODE").unwrap_or_else(|_| "separate_schema".to_owned()),
        })
    }

    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.seconds)
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, BoxError>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|e| format!("{name}={value:?}: {e}").into()),
        _ => Ok(default),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    SignUp,
    SignIn,
    Refresh,
    /// Refresh of a session with an active organization (membership re-read each time).
    RefreshOrg,
    Me,
    Verify,
}

impl Scenario {
    const ALL: [Self; 6] = [
        Self::SignUp,
        Self::SignIn,
        Self::Refresh,
        Self::RefreshOrg,
        Self::Me,
        Self::Verify,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::SignUp => "sign-up",
            Self::SignIn => "sign-in",
            Self::Refresh => "refresh",
            Self::RefreshOrg => "refresh-org",
            Self::Me => "me",
            Self::Verify => "verify",
        }
    }

    fn parse(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            let known: Vec<_> = Self::ALL.iter().map(|s| s.name()).collect();
            format!(
                "BENCH_SCENARIOS: unknown scenario {name:?} (known: {})",
                known.join(",")
            )
        })
    }
}

/// The in-process server, on its own multi-thread runtime thread.
struct BenchServer {
    base: String,
    argon2: Argon2Params,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl BenchServer {
    fn start(settings: &Settings, data_dir: &std::path::Path) -> Result<Self, BoxError> {
        // Bound here and handed over, so no other process can take the port in between.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let base = format!("http://127.0.0.1:{port}");
        let storage = match &settings.database_url {
            Some(url) => vec![
                ("HELLOJOHN_DATABASE_URL", pg_baseline::fresh_database(url)?),
                (
                    "HELLOJOHN_ENCRYPTION_KEY",
                    "YmVuY2gtZW5jcnlwdGlvbi1rZXktMzItYnl0ZXMhISE=".to_owned(),
                ),
                ("HELLOJOHN_TENANT_ISOLATION_MODE", settings.isolation_mode.clone()),
            ],
            None => vec![("HELLOJOHN_DATABASE_URL", format!("file://{}", data_dir.display()))],
        };
        let env = [
            ("HELLOJOHN_HOST", "127.0.0.1".to_owned()),
            ("HELLOJOHN_PORT", port.to_string()),
            ("HELLOJOHN_PUBLIC_URL", base.clone()),
            ("HELLOJOHN_ADMIN_SEED_EMAIL", ADMIN_EMAIL.to_owned()),
            ("HELLOJOHN_ADMIN_SEED_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("HELLOJOHN_BOOTSTRAP", "false".to_owned()),
            ("HELLOJOHN_RATE_LIMITS", "off".to_owned()),
            ("HELLOJOHN_LOG", "warn".to_owned()),
            ("HELLOJOHN_ARGON2_MEMORY_KIB", settings.argon2.memory_kib.to_string()),
            ("HELLOJOHN_ARGON2_ITERATIONS", settings.argon2.iterations.to_string()),
            ("HELLOJOHN_ARGON2_PARALLELISM", settings.argon2.parallelism.to_string()),
        ];
        let env = env.into_iter().chain(storage);
        let config = Config::from_sources(None, env.map(|(k, v)| (k.to_owned(), v)))?;
        let argon2 = config.argon2;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("server runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let started = async {
                        let listener = tokio::net::TcpListener::from_std(listener)?;
                        let node = hellojohn::server::build(config).await?;
                        Ok::<_, BoxError>((listener, node))
                    };
                    let (listener, node) = match started.await {
                        Ok(started) => started,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("server start: {e}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let shutdown = async {
                        let _ = stopped.await;
                    };
                    if let Err(e) = hellojohn::server::serve(listener, node, shutdown).await {
                        eprintln!("server stopped with an error: {e}");
                    }
                });
            })?;
        ready_rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "the server did not start within 60 s")??;
        Ok(Self {
            base,
            argon2,
            stop,
            thread,
        })
    }

    /// Asks for a graceful stop and waits a bounded time for it.
    fn stop(self) {
        let _ = self.stop.send(());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        } else {
            eprintln!("the server did not stop within 10 s; leaving it to process exit");
        }
    }
}

/// The single-core argon2 ceiling, measured on a thread of its own.
fn argon2_ceiling(params: Argon2Params, seconds: f64) -> Result<f64, BoxError> {
    let handle = std::thread::Builder::new()
        .name("argon2-ceiling".to_owned())
        .spawn(move || argon2_hashes_per_second(params, seconds))?;
    let ceiling = handle.join().map_err(|_| "the argon2 ceiling thread panicked")??;
    Ok(ceiling)
}

/// Hashes per second of this thread doing argon2id with `params`, reusing one buffer as the server's workers do.
fn argon2_hashes_per_second(params: Argon2Params, seconds: f64) -> Result<f64, String> {
    let p =
        Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32)).map_err(|e| e.to_string())?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut memory = vec![Block::default(); argon.params().block_count()];
    let salt = [7u8; 16];
    let mut out = [0u8; 32];
    let mut hash = |i: u64| {
        let password = format!("ceiling-password-{i}");
        argon
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory[..])
            .map_err(|e| e.to_string())
    };
    hash(0)?; // warm-up: page in the buffer
    let window = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < window {
        count += 1;
        hash(count)?;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// The client side: a tenant's keys and a shared connection pool.
#[derive(Clone)]
struct Api {
    client: Client,
    base: String,
    publishable_key: String,
    secret_key: String,
}

/// The tokens of one session.
#[derive(Clone)]
struct Session {
    access_token: String,
    refresh_token: String,
}

impl Session {
    fn from_token_set(set: &Value) -> Result<Self, String> {
        let field = |name: &str| {
            set[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("token set without {name}: {set}"))
        };
        Ok(Self {
            access_token: field("access_token")?,
            refresh_token: field("refresh_token")?,
        })
    }
}

/// Sends a request; a 2xx answer gives its body, anything else a short label such as `503 service_unavailable`.
async fn exchange(request: RequestBuilder) -> Result<Vec<u8>, String> {
    let response = request.send().await.map_err(transport_label)?;
    let status = response.status();
    let body = response.bytes().await.map_err(transport_label)?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned));
    Err(match code {
        Some(code) => format!("{} {code}", status.as_u16()),
        None => status.as_u16().to_string(),
    })
}

fn transport_label(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "transport: timeout".to_owned()
    } else if e.is_connect() {
        "transport: connect".to_owned()
    } else {
        "transport: other".to_owned()
    }
}

fn json_body(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("200 unparsable body: {e}"))
}

impl Api {
    /// Signs into the control plane and creates the tenant every scenario uses.
    async fn connect(base: &str, concurrency: usize, signing_alg: Option<&str>) -> Result<Self, BoxError> {
        let client = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(concurrency)
            .build()?;
        let admin = json_body(
            &exchange(
                client
                    .post(format!("{base}/cp/v1/admin/sign-in"))
                    .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await
            .map_err(|e| format!("control-plane sign-in: {e}"))?,
        )?;
        let admin_token = admin["token"].as_str().ok_or("control-plane sign-in: no token")?;
        let mut tenant = json!({"name": "Benchmark"});
        if let Some(alg) = signing_alg {
            tenant["auth_config"] = json!({ "signing_alg": alg });
        }
        let created = json_body(
            &exchange(
                client
                    .post(format!("{base}/cp/v1/tenants"))
                    .bearer_auth(admin_token)
                    .json(&tenant),
            )
            .await
            .map_err(|e| format!("tenant creation: {e}"))?,
        )?;
        let key = |name: &str| {
            created[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("tenant creation: no {name}"))
        };
        Ok(Self {
            publishable_key: key("publishable_key")?,
            secret_key: key("secret_key")?,
            client,
            base: base.to_owned(),
        })
    }

    fn public_post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("X-Client-Id", &self.publishable_key)
            .json(body)
    }

    async fn sign_up(&self, email: &str) -> Result<Session, String> {
        let body =
            exchange(self.public_post("/v1/auth/sign-up", &json!({"email": email, "password": USER_PASSWORD}))).await?;
        Session::from_token_set(&json_body(&body)?["session"])
    }

    async fn sign_in(&self, email: &str) -> Result<Session, String> {
        let body =
            exchange(self.public_post("/v1/auth/sign-in", &json!({"email": email, "password": USER_PASSWORD}))).await?;
        Session::from_token_set(&json_body(&body)?["session"])
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Session, String> {
        let body =
            exchange(self.public_post("/v1/auth/token/refresh", &json!({ "refresh_token": refresh_token }))).await?;
        Session::from_token_set(&json_body(&body)?["session"])
    }

    /// A refresh that makes `org_id` the session's active organization.
    async fn switch_org(&self, refresh_token: &str, org_id: &str) -> Result<Session, String> {
        let body = json!({ "refresh_token": refresh_token, "organization_id": org_id });
        let body = exchange(self.public_post("/v1/auth/token/refresh", &body)).await?;
        Session::from_token_set(&json_body(&body)?["session"])
    }

    fn secret_post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key)
            .json(body)
    }

    /// Creates an organization whose members are `emails` (added one by one, untimed).
    async fn organization_of(&self, emails: &[String]) -> Result<String, String> {
        let org = json_body(&exchange(self.secret_post("/v1/organizations", &json!({"name": "Bench org"}))).await?)?;
        let org_id = org["id"].as_str().ok_or("organization without id")?.to_owned();
        for email in emails {
            let users = exchange(
                self.client
                    .get(format!("{}/v1/users", self.base))
                    .query(&[("email", email)])
                    .bearer_auth(&self.secret_key),
            )
            .await?;
            let user_id = json_body(&users)?["data"][0]["id"]
                .as_str()
                .ok_or("user not found")?
                .to_owned();
            let path = format!("/v1/organizations/{org_id}/members");
            exchange(self.secret_post(&path, &json!({ "user_id": user_id }))).await?;
        }
        Ok(org_id)
    }

    async fn me(&self, access_token: &str) -> Result<(), String> {
        exchange(
            self.client
                .get(format!("{}/v1/auth/me", self.base))
                .bearer_auth(access_token),
        )
        .await
        .map(drop)
    }

    async fn verify(&self, access_token: &str) -> Result<(), String> {
        let body = exchange(
            self.client
                .post(format!("{}/v1/sessions/verify", self.base))
                .bearer_auth(&self.secret_key)
                .json(&json!({ "token": access_token })),
        )
        .await?;
        match json_body(&body)?["valid"].as_bool() {
            Some(true) => Ok(()),
            _ => Err("200 valid=false".to_owned()),
        }
    }
}

/// One client task's measurements: latencies of 2xx answers and counts of everything else.
struct Recorder {
    deadline: Instant,
    latencies: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

impl Recorder {
    fn running(&self) -> bool {
        Instant::now() < self.deadline
    }

    /// Times one request; `None` (and an error count) unless it answered 2xx.
    async fn time<T>(&mut self, request: impl Future<Output = Result<T, String>>) -> Option<T> {
        let start = Instant::now();
        match request.await {
            Ok(value) => {
                self.latencies.push(start.elapsed());
                Some(value)
            }
            Err(label) => {
                *self.errors.entry(label).or_default() += 1;
                None
            }
        }
    }
}

/// A scenario's merged results.
struct Report {
    scenario: Scenario,
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

impl Report {
    fn requests_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile of the 2xx latencies, in milliseconds.
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1000.0
    }

    fn print(&self) {
        let errors: u64 = self.errors.values().sum();
        println!(
            "{:<10} {:>12.1} {:>10.2} {:>10.2} {:>8}",
            self.scenario.name(),
            self.requests_per_second(),
            self.percentile_ms(50.0),
            self.percentile_ms(99.0),
            errors
        );
        for (label, count) in &self.errors {
            println!("           error: {label} × {count}");
        }
    }
}

/// Runs one task per state until the deadline and merges what they measured.
async fn drive<S, F, Fut>(scenario: Scenario, window: Duration, states: Vec<S>, task: F) -> Result<Report, BoxError>
where
    F: Fn(S, Recorder) -> Fut,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let started = Instant::now();
    let deadline = started + window;
    let handles: Vec<_> = states
        .into_iter()
        .map(|state| {
            let recorder = Recorder {
                deadline,
                latencies: Vec::new(),
                errors: BTreeMap::new(),
            };
            tokio::spawn(task(state, recorder))
        })
        .collect();
    let mut report = Report {
        scenario,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        errors: BTreeMap::new(),
    };
    for handle in handles {
        let recorder = handle.await?;
        report.latencies.extend(recorder.latencies);
        for (label, count) in recorder.errors {
            *report.errors.entry(label).or_default() += count;
        }
    }
    // Until the last in-flight request answered, so slow tails count against throughput.
    report.elapsed = started.elapsed();
    report.latencies.sort_unstable();
    Ok(report)
}

/// Runs `make(i)` for `0..n` outside the measured window, a few at a time, retrying overload refusals.
async fn prepare<T, F, Fut>(n: usize, make: F) -> Result<Vec<T>, BoxError>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let make = Arc::new(make);
    let permits = Arc::new(Semaphore::new(SETUP_PARALLELISM));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (make, permits) = (make.clone(), permits.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
                let mut retries = 0;
                loop {
                    match make(i).await {
                        Ok(value) => return Ok(value),
                        Err(label) if label.starts_with("503") && retries < 20 => {
                            retries += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Err(label) => return Err(label),
                    }
                }
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for handle in handles {
        out.push(handle.await?.map_err(|e| format!("setup: {e}"))?);
    }
    Ok(out)
}

async fn run(settings: &Settings, base: &str) -> Result<Vec<Report>, BoxError> {
    let api = Api::connect(base, settings.concurrency, settings.signing_alg.as_deref()).await?;
    let n = settings.concurrency;
    let run_id = ulid::Ulid::new().to_string().to_ascii_lowercase();

    // One existing user per client task, for every scenario but sign-up.
    let needs_users = settings.scenarios.iter().any(|s| *s != Scenario::SignUp);
    let users: Vec<String> = if needs_users {
        (0..n).map(|i| format!("user-{run_id}-{i}@bench.example")).collect()
    } else {
        Vec::new()
    };
    create_users(&api, &users).await?;

    println!(
        "{:<10} {:>12} {:>10} {:>10} {:>8}",
        "scenario", "requests/s", "p50_ms", "p99_ms", "errors"
    );
    let window = settings.duration();
    let mut reports = Vec::new();
    for &scenario in &settings.scenarios {
        let report = match scenario {
            Scenario::SignUp => {
                let api = api.clone();
                let run_id = run_id.clone();
                drive(scenario, window, (0..n).collect(), move |task, mut rec| {
                    let (api, run_id) = (api.clone(), run_id.clone());
                    async move {
                        let mut i = 0u64;
                        while rec.running() {
                            let email = format!("signup-{run_id}-{task}-{i}@bench.example");
                            i += 1;
                            rec.time(api.sign_up(&email)).await;
                        }
                        rec
                    }
                })
                .await?
            }
            Scenario::SignIn => {
                let api = api.clone();
                drive(scenario, window, users.clone(), move |email, mut rec| {
                    let api = api.clone();
                    async move {
                        while rec.running() {
                            rec.time(api.sign_in(&email)).await;
                        }
                        rec
                    }
                })
                .await?
            }
            Scenario::Refresh => {
                let sessions = fresh_sessions(&api, &users).await?;
                let api = api.clone();
                let states = users.iter().cloned().zip(sessions).collect();
                drive(scenario, window, states, move |(email, session), mut rec| {
                    let api = api.clone();
                    async move {
                        // Each task owns one session and always presents its latest refresh token.
                        let mut current = Some(session.refresh_token);
                        while rec.running() {
                            current = match current.take() {
                                Some(token) => rec.time(api.refresh(&token)).await.map(|s| s.refresh_token),
                                // A failed rotation leaves no usable token: a new session, untimed.
                                None => api.sign_in(&email).await.ok().map(|s| s.refresh_token),
                            };
                        }
                        rec
                    }
                })
                .await?
            }
            Scenario::RefreshOrg => {
                let org_id = api.organization_of(&users).await?;
                let mut sessions = Vec::new();
                for session in fresh_sessions(&api, &users).await? {
                    sessions.push(api.switch_org(&session.refresh_token, &org_id).await?);
                }
                let api = api.clone();
                drive(scenario, window, sessions, move |session, mut rec| {
                    let api = api.clone();
                    async move {
                        let mut current = Some(session.refresh_token);
                        while rec.running() {
                            match current.take() {
                                Some(token) => current = rec.time(api.refresh(&token)).await.map(|s| s.refresh_token),
                                // A failed rotation ends this task's session: stop rather than time sign-ins.
                                None => break,
                            }
                        }
                        rec
                    }
                })
                .await?
            }
            Scenario::Me => {
                let sessions = fresh_sessions(&api, &users).await?;
                let api = api.clone();
                drive(scenario, window, sessions, move |session, mut rec| {
                    let api = api.clone();
                    async move {
                        while rec.running() {
                            rec.time(api.me(&session.access_token)).await;
                        }
                        rec
                    }
                })
                .await?
            }
            Scenario::Verify => {
                let sessions = fresh_sessions(&api, &users).await?;
                let api = api.clone();
                drive(scenario, window, sessions, move |session, mut rec| {
                    let api = api.clone();
                    async move {
                        while rec.running() {
                            rec.time(api.verify(&session.access_token)).await;
                        }
                        rec
                    }
                })
                .await?
            }
        };
        report.print();
        reports.push(report);
    }
    Ok(reports)
}

/// Signs up `emails` before any clock starts.
async fn create_users(api: &Api, emails: &[String]) -> Result<(), BoxError> {
    let api = api.clone();
    let emails = emails.to_vec();
    prepare(emails.len(), move |i| {
        let (api, email) = (api.clone(), emails[i].clone());
        async move { api.sign_up(&email).await.map(drop) }
    })
    .await?;
    Ok(())
}

/// A new session for each user, so no scenario inherits tokens another one rotated.
async fn fresh_sessions(api: &Api, users: &[String]) -> Result<Vec<Session>, BoxError> {
    let api = api.clone();
    let users = users.to_vec();
    prepare(users.len(), move |i| {
        let (api, email) = (api.clone(), users[i].clone());
        async move { api.sign_in(&email).await }
    })
    .await
}
