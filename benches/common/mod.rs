//! What the benchmarks that spawn the real binary share: starting it, waiting for it,
//! and signing into its control plane.

// Each bench compiles its own copy and uses a different part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const ADMIN_EMAIL: &str = "bench-admin@hellojohn.test";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// Runs a bench's `run` on a multi-thread runtime when invoked by `cargo bench` (with
/// `--bench`); under `cargo test --benches` it only says it skipped.
pub fn main<F, Fut>(name: &str, run: F) -> std::process::ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), BoxError>>,
{
    use std::process::ExitCode;
    if !std::env::args().any(|a| a == "--bench") {
        println!("{name}: run it with `cargo bench --bench {name}`; skipping");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A numeric setting from the environment, or its default.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The spawned server, killed when dropped.
pub struct Server(pub Child);

impl Server {
    /// The server's resident memory, from `/proc` (Linux).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns the binary on `port` with the bench defaults (rate limits off, cheap argon2 so
/// requests measure the request path) plus `extra` variables.
pub fn spawn_server(database_url: &str, port: u16, extra: &[(&str, &str)]) -> Result<Server, BoxError> {
    spawn_pinned(None, database_url, port, extra)
}

/// [`spawn_server`] on the CPUs `cpus` names (`taskset -c`), when given.
pub fn spawn_pinned(
    cpus: Option<&str>,
    database_url: &str,
    port: u16,
    extra: &[(&str, &str)],
) -> Result<Server, BoxError> {
    let mut command = match cpus {
        Some(cpus) => {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", cpus, env!("CARGO_BIN_EXE_hellojohn")]);
            taskset
        }
        None => Command::new(env!("CARGO_BIN_EXE_hellojohn")),
    };
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HELLOJOHN_DATABASE_URL", database_url)
        .env("HELLOJOHN_HOST", "127.0.0.1")
        .env("HELLOJOHN_PORT", port.to_string())
        .env("HELLOJOHN_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("HELLOJOHN_ADMIN_SEED_EMAIL", ADMIN_EMAIL)
        .env("HELLOJOHN_ADMIN_SEED_PASSWORD", ADMIN_PASSWORD)
        .env("HELLOJOHN_BOOTSTRAP", "false")
        .env("HELLOJOHN_RATE_LIMITS", "off")
        .env("HELLOJOHN_LOG", "warn")
        .env("HELLOJOHN_ARGON2_MEMORY_KIB", "256")
        .env("HELLOJOHN_ARGON2_ITERATIONS", "1");
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    Ok(Server(child))
}

/// Waits up to 30 s for `/health`, then signs into the control plane: the admin token.
pub async fn ready_admin(client: &reqwest::Client, base: &str) -> Result<String, BoxError> {
    let mut ready = false;
    for _ in 0..300 {
        let health = client.get(format!("{base}/health")).send().await;
        if health.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !ready {
        return Err("the server did not start".into());
    }
    let signed = client
        .post(format!("{base}/cp/v1/admin/sign-in"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await?
        .json::<Value>()
        .await?;
    Ok(signed["token"].as_str().ok_or("admin sign-in")?.to_owned())
}

/// A POST with a bearer credential; a non-2xx answer is an error carrying the body.
pub async fn post(client: &reqwest::Client, url: String, bearer: &str, body: Value) -> Result<Value, BoxError> {
    let res = client.post(url).bearer_auth(bearer).json(&body).send().await?;
    let status = res.status();
    let text = res.text().await?;
    if !status.is_success() {
        return Err(format!("{status}: {text}").into());
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A free port on loopback.
pub fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs `work(i)` for `i` in `0..count` on `concurrency` tasks.
pub async fn fan_out<F, Fut>(count: usize, concurrency: usize, work: F) -> Result<(), BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, work) = (next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<(), BoxError>(());
                }
                work(i).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
