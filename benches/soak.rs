//! Memory soak: spawns the real binary and drives a mixed load for a long time, sampling
//! the server's resident memory, to show whether it stays flat (caches bounded by
//! `HELLOJOHN_CACHE_MEMORY_MB`) or grows with the sessions it has served.
//!
//! Each client task keeps one user and cycles: a sign-in (a new session) every 36th
//! request, a refresh every 5th, `GET /v1/auth/me` otherwise (the 4-minute mix:
//! 11,000 sign-ins, 80,000 refreshes, 310,000 session reads).
//!
//! `cargo bench --bench soak`; `BENCH_SOAK_SECONDS` (1800), `BENCH_SOAK_CLIENTS` (16),
//! `BENCH_SOAK_SAMPLE_SECONDS` (60), `BENCH_CACHE_MEMORY_MB` (the server's cache budget,
//! default 64), `BENCH_DATABASE_URL` (a PostgreSQL server to create a fresh database on;
//! else the file store, whose in-memory index grows with the data by design). No
//! threshold: figures to compare run to run.

// A benchmark is a program run by hand: a failed setup step may stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_or, free_port, post, ready_admin, spawn_server, BoxError};
use serde_json::{json, Value};

fn main() -> ExitCode {
    common::main("soak", run)
}

#[derive(Default)]
struct Counts {
    sign_ins: AtomicU64,
    refreshes: AtomicU64,
    reads: AtomicU64,
    errors: AtomicU64,
}

/// A fresh database on the PostgreSQL server of `url`, returned as the server's URL.
async fn fresh_postgres(url: &str) -> Result<String, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let name = format!("hj_soak_{}", std::process::id());
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await?;
    client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

async fn run() -> Result<(), BoxError> {
    let seconds = env_or("BENCH_SOAK_SECONDS", 1800) as u64;
    let clients = env_or("BENCH_SOAK_CLIENTS", 16);
    let sample = Duration::from_secs(env_or("BENCH_SOAK_SAMPLE_SECONDS", 60) as u64);
    let cache_mb = env_or("BENCH_CACHE_MEMORY_MB", 64).to_string();
    let dir = tempfile::tempdir()?;
    let database = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => fresh_postgres(&url).await?,
        Err(_) => format!("file://{}", dir.path().display()),
    };
    let port = free_port()?;
    // SQL stores take their key from the environment (the file store keeps its own file).
    let key = "c29hay1iZW5jaC1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=";
    let settings = [
        ("HELLOJOHN_CACHE_MEMORY_MB", cache_mb.as_str()),
        ("HELLOJOHN_ENCRYPTION_KEY", key),
    ];
    let server = spawn_server(&database, port, &settings)?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let admin = ready_admin(&client, &base).await?;
    let created = post(
        &client,
        format!("{base}/cp/v1/tenants"),
        &admin,
        json!({"name": "Soak"}),
    )
    .await?;
    let pk = created["publishable_key"].as_str().ok_or("publishable key")?.to_owned();
    let backend = database.split(':').next().unwrap_or("?");
    println!(
        "hellojohn soak: {backend}, {clients} clients, {seconds} s, cache budget {cache_mb} MiB, sample every {} s",
        sample.as_secs()
    );

    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, pk, counts) = (client.clone(), base.clone(), pk.clone(), counts.clone());
        tasks.push(tokio::spawn(async move {
            let email = format!("soak{c}@example.com");
            let password = "long enough password";
            let body = json!({"email": email, "password": password});
            let first = post(&client, format!("{base}/v1/auth/sign-up"), &pk, body.clone()).await?;
            let tokens = |v: &Value| -> Option<(String, String)> {
                let s = &v["session"];
                Some((
                    s["access_token"].as_str()?.to_owned(),
                    s["refresh_token"].as_str()?.to_owned(),
                ))
            };
            let (mut access, mut refresh) = tokens(&first).ok_or("sign-up tokens")?;
            let mut i: u64 = 0;
            while Instant::now() < deadline {
                i += 1;
                let answer = if i.is_multiple_of(36) {
                    counts.sign_ins.fetch_add(1, Ordering::Relaxed);
                    post(&client, format!("{base}/v1/auth/sign-in"), &pk, body.clone()).await
                } else if i.is_multiple_of(5) {
                    counts.refreshes.fetch_add(1, Ordering::Relaxed);
                    let refresh_body = json!({"refresh_token": refresh});
                    post(&client, format!("{base}/v1/auth/token/refresh"), &pk, refresh_body).await
                } else {
                    counts.reads.fetch_add(1, Ordering::Relaxed);
                    let me = client
                        .get(format!("{base}/v1/auth/me"))
                        .bearer_auth(&access)
                        .send()
                        .await;
                    match me {
                        Ok(r) if r.status().is_success() => Ok(Value::Null),
                        Ok(r) => Err(format!("me: {}", r.status()).into()),
                        Err(e) => Err(e.into()),
                    }
                };
                match answer {
                    Ok(v) => {
                        if let Some((a, r)) = tokens(&v) {
                            (access, refresh) = (a, r);
                        }
                    }
                    Err(_) => {
                        counts.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok::<(), BoxError>(())
        }));
    }

    println!(
        "{:>7} {:>10} {:>10} {:>10} {:>7} {:>9}",
        "t_s", "sign-ins", "refreshes", "me", "errors", "rss_mib"
    );
    let started = Instant::now();
    let mut samples = Vec::new();
    while Instant::now() < deadline {
        tokio::time::sleep(sample.min(deadline.saturating_duration_since(Instant::now()))).await;
        let rss = server.rss_kib().unwrap_or(0);
        let sessions = counts.sign_ins.load(Ordering::Relaxed);
        samples.push((started.elapsed().as_secs(), sessions, rss));
        println!(
            "{:>7} {:>10} {:>10} {:>10} {:>7} {:>9.1}",
            started.elapsed().as_secs(),
            sessions,
            counts.refreshes.load(Ordering::Relaxed),
            counts.reads.load(Ordering::Relaxed),
            counts.errors.load(Ordering::Relaxed),
            rss as f64 / 1024.0
        );
    }
    for task in tasks {
        task.await??;
    }
    // Growth over the second half, after warm-up: per minute and per new session.
    if let (Some(mid), Some(last)) = (samples.get(samples.len() / 2), samples.last()) {
        let minutes = (last.0.saturating_sub(mid.0)) as f64 / 60.0;
        let grown = last.2 as f64 - mid.2 as f64;
        let sessions = last.1.saturating_sub(mid.1).max(1) as f64;
        println!(
            "second half: {:+.0} KiB over {minutes:.1} min ({:+.1} KiB/min, {:+.3} KiB per new session)",
            grown,
            grown / minutes.max(1.0 / 60.0),
            grown / sessions
        );
    }
    Ok(())
}
