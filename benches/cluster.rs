//! A cluster on loopback: three `hellojohn` processes over one fresh PostgreSQL database,
//! linked by certificates from `hellojohn cluster gen-certs`. Prints, to compare run to
//! run (no thresholds):
//!
//! 1. refresh and `POST /v1/sessions/verify` sent to the tenant's owner (local) and to
//!    another node (forwarded): requests/s, p50, p99, and what forwarding adds at p50;
//! 2. memory: resident memory per tenant a node owns, after `BENCH_TENANTS` tenants were
//!    touched through every node, and the projection for 10,000;
//! 3. failover: time from `kill -9` of the owner until a survivor serves its tenant again;
//! 4. one hot tenant's sign-ins (default argon2 cost) on two nodes pinned to one core each
//!    (`taskset`), spread over both, against one node on one core.
//!
//! `cargo bench --bench cluster`; knobs `BENCH_SECONDS` (10), `BENCH_CONCURRENCY` (16),
//! `BENCH_TENANTS` (3000), `BENCH_LEASE_SECS` (10). Needs PostgreSQL
//! (`HELLOJOHN_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and, for part 4, `taskset` and two cores.

// A benchmark is a program run by hand: a failed setup step may stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_or, fan_out, free_port, post, ready_admin, spawn_pinned, BoxError, Server};
use serde_json::{json, Value};

const PASSWORD: &str = "bench-user-password-1";
/// A valid instance key (benchmarks only).
const KEY: &str = "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcyEhISE=";

fn main() -> ExitCode {
    common::main("cluster", run)
}

/// A fresh database on the PostgreSQL server the test-suite uses.
async fn fresh_database() -> Result<String, BoxError> {
    let admin = std::env::var("HELLOJOHN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let name = format!("hj_bench_{}", ulid::Ulid::new().to_string().to_lowercase());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    Ok(format!("{base}/{name}"))
}

/// One node of a bench cluster.
struct Node {
    name: String,
    base: String,
    server: Option<Server>,
}

/// Starts `names` as one cluster on `url` (each pinned to `cpus[i]` when given).
async fn start_cluster(
    url: &str,
    certs: &Path,
    names: &[&str],
    cpus: &[Option<&str>],
    extra: &[(&str, &str)],
) -> Result<(Vec<Node>, String), BoxError> {
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect::<Result<_, _>>()?;
    let lease = format!("{}s", env_or("BENCH_LEASE_SECS", 10));
    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let cluster_port = free_port()?;
        let mut env: Vec<(String, String)> = vec![
            ("HELLOJOHN_ENCRYPTION_KEY".into(), KEY.into()),
            ("HELLOJOHN_NODE_NAME".into(), (*name).into()),
            ("HELLOJOHN_PUBLIC_URL".into(), format!("http://127.0.0.1:{}", ports[0])),
            ("HELLOJOHN_CLUSTER_LISTEN".into(), format!("127.0.0.1:{cluster_port}")),
            ("HELLOJOHN_CLUSTER_COOKIE".into(), "bench".into()),
            (
                "HELLOJOHN_CLUSTER_TLS_CERT".into(),
                certs.join(format!("{name}.pem")).display().to_string(),
            ),
            (
                "HELLOJOHN_CLUSTER_TLS_KEY".into(),
                certs.join(format!("{name}.key")).display().to_string(),
            ),
            (
                "HELLOJOHN_CLUSTER_TLS_CA".into(),
                certs.join("ca.pem").display().to_string(),
            ),
            ("HELLOJOHN_CLUSTER_LEASE".into(), lease.clone()),
            ("HELLOJOHN_TENANT_IDLE_TIMEOUT".into(), "2h".into()),
            ("HELLOJOHN_TENANT_ISOLATION_MODE".into(), "shared_schema".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let cpu = cpus.get(i).copied().flatten();
        nodes.push(Node {
            name: (*name).to_owned(),
            base: format!("http://127.0.0.1:{}", ports[i]),
            server: Some(spawn_pinned(cpu, url, ports[i], &env)?),
        });
    }
    let client = reqwest::Client::new();
    let admin = ready_admin(&client, &nodes[0].base).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    for node in &nodes {
        ready_admin(&client, &node.base).await?;
        loop {
            let view: Value = client
                .get(format!("{}/cp/v1/cluster", node.base))
                .bearer_auth(&admin)
                .send()
                .await?
                .json()
                .await?;
            let up = view["nodes"]
                .as_array()
                .map_or(0, |n| n.iter().filter(|n| n["state"] == "up").count());
            if up == names.len() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{} never saw the cluster: {view}", node.name).into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok((nodes, admin))
}

/// `(tenant id, publishable key, secret key)` of a new tenant.
async fn new_tenant(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    name: &str,
) -> Result<(String, String, String), BoxError> {
    let created = post(client, format!("{base}/cp/v1/tenants"), admin, json!({"name": name})).await?;
    let field = |v: &Value| v.as_str().map(str::to_owned).ok_or("tenant creation");
    Ok((
        field(&created["tenant"]["id"])?,
        field(&created["publishable_key"])?,
        field(&created["secret_key"])?,
    ))
}

async fn owner_of(client: &reqwest::Client, base: &str, admin: &str, tenant: &str) -> Result<String, BoxError> {
    let view: Value = client
        .get(format!("{base}/cp/v1/cluster"))
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    let placement = view["placements"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["tenant_id"] == tenant))
        .ok_or("the tenant is not placed")?;
    Ok(placement["node"].as_str().ok_or("placement")?.to_owned())
}

/// Latencies of every request `step` made on `concurrency` tasks for `seconds`, with the
/// per-task state `init` gives.
async fn measure<S, I, IF, F, Fut>(
    seconds: u64,
    concurrency: usize,
    init: I,
    step: F,
) -> Result<(f64, Vec<Duration>), BoxError>
where
    S: Send + 'static,
    I: Fn() -> IF + Send + Sync + 'static,
    IF: std::future::Future<Output = Result<S, BoxError>> + Send,
    F: Fn(S) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<S, BoxError>> + Send,
{
    let (init, step) = (Arc::new(init), Arc::new(step));
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (init, step) = (init.clone(), step.clone());
        tasks.push(tokio::spawn(async move {
            let mut state = init().await?;
            tokio::time::sleep_until(start.into()).await;
            let mut times = Vec::new();
            while Instant::now() < end {
                let began = Instant::now();
                state = step(state).await?;
                times.push(began.elapsed());
            }
            Ok::<_, BoxError>(times)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort();
    let rate = all.len() as f64 / seconds as f64;
    Ok((rate, all))
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(label: &str, (rate, times): &(f64, Vec<Duration>)) -> f64 {
    let p50 = pct(times, 0.5);
    println!(
        "  {label:<28} {rate:>8.0} req/s   p50 {p50:>6.2} ms   p99 {:>6.2} ms",
        pct(times, 0.99)
    );
    p50
}

async fn sign_in(client: &reqwest::Client, base: &str, pk: &str, email: &str) -> Result<Value, BoxError> {
    post(
        client,
        format!("{base}/v1/auth/sign-in"),
        pk,
        json!({"email": email, "password": PASSWORD}),
    )
    .await
}

async fn forwarding(nodes: &[Node], admin: &str, seconds: u64, concurrency: usize) -> Result<(), BoxError> {
    let client = reqwest::Client::new();
    let name = format!("Forwarding {concurrency}");
    let (tenant, pk, sk) = new_tenant(&client, &nodes[0].base, admin, &name).await?;
    post(
        &client,
        format!("{}/v1/auth/sign-up", nodes[0].base),
        &pk,
        json!({"email": "user@bench.test", "password": PASSWORD}),
    )
    .await?;
    let owner = owner_of(&client, &nodes[0].base, admin, &tenant).await?;
    let local = nodes.iter().find(|n| n.name == owner).ok_or("owner")?.base.clone();
    let remote = nodes
        .iter()
        .find(|n| n.name != owner)
        .ok_or("another node")?
        .base
        .clone();
    println!("forwarded vs local ({concurrency} clients, {seconds} s each; owner {owner}):");
    let mut p50s = Vec::new();
    for (label, base) in [("refresh, local", &local), ("refresh, forwarded", &remote)] {
        let (client, pk, base) = (client.clone(), pk.clone(), base.clone());
        let init = {
            let (client, pk, base) = (client.clone(), pk.clone(), base.clone());
            move || {
                let (client, pk, base) = (client.clone(), pk.clone(), base.clone());
                async move {
                    let session = sign_in(&client, &base, &pk, "user@bench.test").await?;
                    Ok(session["session"]["refresh_token"].as_str().ok_or("token")?.to_owned())
                }
            }
        };
        let step = move |token: String| {
            let (client, pk, base) = (client.clone(), pk.clone(), base.clone());
            async move {
                let next = post(
                    &client,
                    format!("{base}/v1/auth/token/refresh"),
                    &pk,
                    json!({"refresh_token": token}),
                )
                .await?;
                Ok(next["session"]["refresh_token"].as_str().ok_or("token")?.to_owned())
            }
        };
        p50s.push(report(label, &measure(seconds, concurrency, init, step).await?));
    }
    for (label, base) in [
        ("sessions/verify, local", &local),
        ("sessions/verify, forwarded", &remote),
    ] {
        let session = sign_in(&client, &local, &pk, "user@bench.test").await?;
        let token = session["session"]["access_token"].as_str().ok_or("token")?.to_owned();
        let (client, sk, base) = (client.clone(), sk.clone(), base.clone());
        let init = move || std::future::ready(Ok(()));
        let step = move |()| {
            let (client, sk, base, token) = (client.clone(), sk.clone(), base.clone(), token.clone());
            async move {
                post(
                    &client,
                    format!("{base}/v1/sessions/verify"),
                    &sk,
                    json!({"token": token}),
                )
                .await?;
                Ok(())
            }
        };
        p50s.push(report(label, &measure(seconds, concurrency, init, step).await?));
    }
    println!(
        "  forwarding adds at p50: refresh {:+.2} ms, verify {:+.2} ms",
        p50s[1] - p50s[0],
        p50s[3] - p50s[2]
    );
    Ok(())
}

async fn memory(nodes: &[Node], admin: &str, tenants: usize) -> Result<(), BoxError> {
    let client = reqwest::Client::new();
    let rss = |nodes: &[Node]| -> Vec<u64> {
        nodes
            .iter()
            .map(|n| n.server.as_ref().and_then(Server::rss_kib).unwrap_or(0))
            .collect()
    };
    let created = std::sync::Mutex::new(Vec::new());
    let created = Arc::new(created);
    let (base, admin_token) = (nodes[0].base.clone(), admin.to_owned());
    let started = Instant::now();
    {
        let (created, client) = (created.clone(), client.clone());
        fan_out(tenants, 8, move |i| {
            let (created, client, base, admin) = (created.clone(), client.clone(), base.clone(), admin_token.clone());
            async move {
                let (id, _, _) = new_tenant(&client, &base, &admin, &format!("Mem {i}")).await?;
                created.lock().unwrap().push(id);
                Ok(())
            }
        })
        .await?;
    }
    println!(
        "memory: created {tenants} tenants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let before = rss(nodes);
    let ids: Vec<String> = created.lock().unwrap().clone();
    let ids = Arc::new(ids);
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| n.base.clone()).collect());
    let started = Instant::now();
    let retried = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let (client, retried) = (client.clone(), retried.clone());
        fan_out(ids.len(), 32, move |i| {
            let (client, ids, bases, retried) = (client.clone(), ids.clone(), bases.clone(), retried.clone());
            async move {
                // Touch each tenant through a different node: the call reaches its owner.
                let url = format!("{}/t/{}/.well-known/jwks.json", bases[i % bases.len()], ids[i]);
                for _ in 0..100 {
                    let res = client.get(&url).send().await?;
                    if res.status().is_success() {
                        return Ok(());
                    }
                    if res.status() != 503 {
                        return Err(format!("jwks: {}", res.status()).into());
                    }
                    // A tenant being placed may answer 503 with Retry-After, as clients expect.
                    retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err("jwks: 503 a hundred times".into())
            }
        })
        .await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = rss(nodes);
    let view: Value = client
        .get(format!("{}/cp/v1/cluster", nodes[0].base))
        .bearer_auth(admin)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "memory: {tenants} tenants activated through every node in {elapsed:.1} s ({:.0}/s, {} answers 503 retried)",
        tenants as f64 / elapsed,
        retried.load(std::sync::atomic::Ordering::Relaxed)
    );
    for (i, node) in nodes.iter().enumerate() {
        let owned = view["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["name"] == node.name.as_str()))
            .and_then(|n| n["tenants"].as_u64())
            .unwrap_or(0);
        let per = (after[i].saturating_sub(before[i])) as f64 / owned.max(1) as f64;
        println!(
            "  {}: owns {owned}, RSS {} → {} KiB, {per:.1} KiB per owned tenant → {:.0} MiB for 10,000",
            node.name,
            before[i],
            after[i],
            per * 10_000.0 / 1024.0
        );
    }
    Ok(())
}

async fn failover(nodes: &mut [Node], admin: &str) -> Result<(), BoxError> {
    let client = reqwest::Client::new();
    let (tenant, pk, _) = new_tenant(&client, &nodes[0].base, admin, "Failover").await?;
    post(
        &client,
        format!("{}/v1/auth/sign-up", nodes[0].base),
        &pk,
        json!({"email": "f@bench.test", "password": PASSWORD}),
    )
    .await?;
    let session = sign_in(&client, &nodes[0].base, &pk, "f@bench.test").await?;
    let mut token = session["session"]["refresh_token"].as_str().ok_or("token")?.to_owned();
    let owner = owner_of(&client, &nodes[0].base, admin, &tenant).await?;
    let survivor = nodes.iter().find(|n| n.name != owner).ok_or("survivor")?.base.clone();
    let victim = nodes.iter_mut().find(|n| n.name == owner).ok_or("owner")?;
    drop(victim.server.take());
    let killed = Instant::now();
    let mut retried = 0;
    loop {
        let res = client
            .post(format!("{survivor}/v1/auth/token/refresh"))
            .bearer_auth(&pk)
            .json(&json!({"refresh_token": token}))
            .send()
            .await?;
        if res.status().is_success() {
            let body: Value = res.json().await?;
            token = body["session"]["refresh_token"].as_str().ok_or("token")?.to_owned();
            break;
        }
        if res.status() != 503 || killed.elapsed() > Duration::from_secs(120) {
            return Err(format!("failover: {}", res.status()).into());
        }
        retried += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = token;
    println!(
        "failover: kill -9 of the owner ({owner}), served by a survivor after {:.2} s ({retried} × 503, lease {} s)",
        killed.elapsed().as_secs_f64(),
        env_or("BENCH_LEASE_SECS", 10)
    );
    Ok(())
}

/// Sign-ins of one tenant for `seconds` with `concurrency` clients spread over `bases`.
async fn sign_in_rate(bases: &[String], pk: &str, seconds: u64, concurrency: usize) -> Result<f64, BoxError> {
    let client = reqwest::Client::new();
    let bases = Arc::new(bases.to_vec());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let init = move || {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::future::ready(Ok(i))
    };
    let pk = pk.to_owned();
    let step = move |i: usize| {
        let (client, bases, pk) = (client.clone(), bases.clone(), pk.clone());
        async move {
            sign_in(&client, &bases[i % bases.len()], &pk, "hot@bench.test").await?;
            Ok(i)
        }
    };
    Ok(measure(seconds, concurrency, init, step).await?.0)
}

async fn hot_tenant(certs: &Path, seconds: u64) -> Result<(), BoxError> {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        println!("hot tenant: skipped (needs two cores)");
        return Ok(());
    }
    // The default argon2 cost: what a production sign-in pays.
    let real_argon2 = [
        ("HELLOJOHN_ARGON2_MEMORY_KIB", "19456"),
        ("HELLOJOHN_ARGON2_ITERATIONS", "2"),
    ];
    let client = reqwest::Client::new();
    let url = fresh_database().await?;
    let (nodes, admin) = start_cluster(&url, certs, &["n1", "n2"], &[Some("0"), Some("1")], &real_argon2).await?;
    let (_, pk, _) = new_tenant(&client, &nodes[0].base, &admin, "Hot").await?;
    post(
        &client,
        format!("{}/v1/auth/sign-up", nodes[0].base),
        &pk,
        json!({"email": "hot@bench.test", "password": PASSWORD}),
    )
    .await?;
    let both: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let two = sign_in_rate(&both, &pk, seconds, 8).await?;
    drop(nodes);
    let url = fresh_database().await?;
    let port = free_port()?;
    let mut env: Vec<(&str, &str)> = vec![("HELLOJOHN_ENCRYPTION_KEY", KEY)];
    env.extend(real_argon2);
    let _single = spawn_pinned(Some("0"), &url, port, &env)?;
    let base = format!("http://127.0.0.1:{port}");
    let admin = ready_admin(&client, &base).await?;
    let (_, pk, _) = new_tenant(&client, &base, &admin, "Hot").await?;
    post(
        &client,
        format!("{base}/v1/auth/sign-up"),
        &pk,
        json!({"email": "hot@bench.test", "password": PASSWORD}),
    )
    .await?;
    let one = sign_in_rate(&[base], &pk, seconds, 8).await?;
    println!(
        "hot tenant sign-ins (default argon2): 2 nodes × 1 core {two:.1}/s, 1 node × 1 core {one:.1}/s, ratio {:.2}",
        two / one
    );
    Ok(())
}

async fn run() -> Result<(), BoxError> {
    let seconds = env_or("BENCH_SECONDS", 10) as u64;
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let tenants = env_or("BENCH_TENANTS", 3000);
    let certs = tempfile::tempdir()?;
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .args(["cluster", "gen-certs", "--out"])
        .arg(certs.path())
        .args(["--nodes", "n1,n2,n3"])
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err("gen-certs failed".into());
    }
    let url = fresh_database().await?;
    let (mut nodes, admin) = start_cluster(&url, certs.path(), &["n1", "n2", "n3"], &[], &[]).await?;
    // One client shows the hop itself; many show it under load (every process here shares
    // the machine's cores, so the hop's CPU competes with the owner's).
    forwarding(&nodes, &admin, seconds, 1).await?;
    forwarding(&nodes, &admin, seconds, concurrency).await?;
    memory(&nodes, &admin, tenants).await?;
    failover(&mut nodes, &admin).await?;
    drop(nodes);
    hot_tenant(certs.path(), seconds).await
}
