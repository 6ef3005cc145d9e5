//! Webhook delivery benchmark: spawns the real binary (embedded file store in a temporary
//! directory, private targets allowed, rate limits off, cheap argon2 so sign-ups measure
//! the request path rather than hashing) and a receiver on loopback that answers 200.
//!
//! 1. Throughput: `BENCH_WEBHOOK_TENANTS` tenants (100) × 1 webhook, `BENCH_WEBHOOK_EVENTS`
//!    (10,000) events queued through `POST /v1/webhooks/{id}/test`; prints how long the
//!    queueing took and deliveries/s from the first to the last arrival.
//! 2. Request-path cost: the median and p90 of `BENCH_SIGNUPS` (200) sequential sign-ups in
//!    a tenant without webhooks and in one with 5 webhooks subscribed to every event.
//!
//! Run with `cargo bench --bench webhooks`. No threshold: figures to compare run to run.

// A benchmark is a program run by hand: a failed setup step may stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;

mod common;

use common::{env_or, post, ready_admin, spawn_server, BoxError};

fn main() -> ExitCode {
    common::main("webhooks", run)
}

/// Counts deliveries and remembers when the first and the last arrived.
#[derive(Default)]
struct Arrivals {
    count: AtomicUsize,
    first_last: Mutex<Option<(Instant, Instant)>>,
}

async fn start_receiver(arrivals: Arc<Arrivals>) -> Result<String, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let arrivals = arrivals.clone();
            async move {
                arrivals.count.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                let mut fl = arrivals.first_last.lock();
                *fl = Some(fl.map_or((now, now), |(first, _)| (first, now)));
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("{base}/hook"))
}

async fn run() -> Result<(), BoxError> {
    let tenants = env_or("BENCH_WEBHOOK_TENANTS", 100);
    let events = env_or("BENCH_WEBHOOK_EVENTS", 10_000);
    let signups = env_or("BENCH_SIGNUPS", 200);
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("file://{}", dir.path().display());
    let _server = spawn_server(&url, port, &[("HELLOJOHN_WEBHOOK_ALLOW_PRIVATE", "true")])?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let admin = ready_admin(&client, &base).await?;
    let arrivals = Arc::new(Arrivals::default());
    let hook = start_receiver(arrivals.clone()).await?;
    let new_tenant = |name: String| {
        let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
        async move {
            let created = post(&client, format!("{base}/cp/v1/tenants"), &admin, json!({"name": name})).await?;
            let key = |name: &str| created[name].as_str().map(str::to_owned).ok_or("tenant keys");
            Ok::<(String, String), BoxError>((key("publishable_key")?, key("secret_key")?))
        }
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("hellojohn webhooks: {cores} cores shared by server, receiver and client; file store");

    // 1. Throughput.
    let mut hooks = Vec::new();
    for i in 0..tenants {
        let (_, sk) = new_tenant(format!("Webhook bench {i}")).await?;
        let created = post(
            &client,
            format!("{base}/v1/webhooks"),
            &sk,
            json!({"url": hook, "events": ["*"]}),
        )
        .await?;
        hooks.push((sk, created["id"].as_str().ok_or("webhook id")?.to_owned()));
    }
    let queued_at = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    for (sk, id) in hooks.iter().cycle().take(events) {
        let permit = semaphore.clone().acquire_owned().await?;
        let (client, url, sk) = (client.clone(), format!("{base}/v1/webhooks/{id}/test"), sk.clone());
        tasks.push(tokio::spawn(async move {
            let result = post(&client, url, &sk, json!({})).await;
            drop(permit);
            result
        }));
    }
    let queued = tasks.len();
    for task in tasks {
        task.await??;
    }
    let queue_secs = queued_at.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    while arrivals.count.load(Ordering::Relaxed) < queued && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = arrivals.count.load(Ordering::Relaxed);
    let (first, last) = arrivals.first_last.lock().ok_or("nothing arrived")?;
    let span = last.duration_since(first).as_secs_f64().max(1e-3);
    println!(
        "throughput: {queued} events over {tenants} tenants × 1 webhook queued in {queue_secs:.1} s; \
         {delivered} delivered in {:.1} s from the first enqueue = {:.0} deliveries/s (first to last arrival: {:.0}/s)",
        last.duration_since(queued_at).as_secs_f64(),
        delivered as f64 / last.duration_since(queued_at).as_secs_f64().max(1e-3),
        delivered as f64 / span,
    );

    // 2. What webhooks add to a request.
    let plain = new_tenant("Sign-ups without webhooks".into()).await?;
    let hooked = new_tenant("Sign-ups with 5 webhooks".into()).await?;
    for _ in 0..5 {
        post(
            &client,
            format!("{base}/v1/webhooks"),
            &hooked.1,
            json!({"url": hook, "events": ["*"]}),
        )
        .await?;
    }
    for (label, (pk, _)) in [("no webhooks", &plain), ("5 webhooks", &hooked)] {
        let mut latencies = Vec::with_capacity(signups);
        for i in 0..signups {
            let started = Instant::now();
            post(
                &client,
                format!("{base}/v1/auth/sign-up"),
                pk,
                json!({"email": format!("bench{i}@example.com"), "password": "bench-user-password-1"}),
            )
            .await?;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!(
            "sign-up with {label}: p50 {:.2} ms, p90 {:.2} ms ({signups} sequential sign-ups, argon2 m=256 KiB t=1)",
            latencies[signups / 2].as_secs_f64() * 1000.0,
            latencies[signups * 9 / 10].as_secs_f64() * 1000.0,
        );
    }
    Ok(())
}
