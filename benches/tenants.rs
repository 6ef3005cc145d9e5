//! Many tenants on one node: the memory each active tenant costs and how fast cold tenants
//! start. Creates `BENCH_TENANTS` tenants (100,000) on a file store through the control
//! plane, restarts the node on that store, then touches every tenant once (its JWKS, which
//! starts the tenant's actor and loads its context) with `BENCH_CONCURRENCY` (32) clients.
//! Prints the activation rate and the resident memory per active tenant (RSS after the
//! touches minus RSS before, over the tenant count). No threshold: figures to compare run
//! to run.
//!
//! `cargo bench --bench tenants`; `BENCH_TENANTS`, `BENCH_CONCURRENCY`. A file-store tenant
//! keeps its journal open, so raise the open-file limit first (`ulimit -n 300000`).

// A benchmark is a program run by hand: a failed setup step may stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_or, fan_out, free_port, post, ready_admin, spawn_server, BoxError, Server};
use serde_json::json;

fn main() -> ExitCode {
    common::main("tenants", run)
}

async fn start(url: &str, port: u16) -> Result<(Server, String), BoxError> {
    let server = spawn_server(url, port, &[("HELLOJOHN_TENANT_IDLE_TIMEOUT", "2h")])?;
    let admin = ready_admin(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await?;
    Ok((server, admin))
}

async fn run() -> Result<(), BoxError> {
    let count = env_or("BENCH_TENANTS", 100_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    let dir = tempfile::tempdir()?;
    let url = format!("file://{}", dir.path().display());
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;

    // Populate, then restart so that no tenant is warm.
    let port = free_port()?;
    let (server, admin) = start(&url, port).await?;
    let ids = Arc::new(parking_lot::Mutex::new(vec![String::new(); count]));
    let created_at = Instant::now();
    {
        let (client, ids, admin) = (client.clone(), ids.clone(), admin.clone());
        fan_out(count, 16, move |i| {
            let (client, ids, admin) = (client.clone(), ids.clone(), admin.clone());
            async move {
                let url = format!("http://127.0.0.1:{port}/cp/v1/tenants");
                let created = post(&client, url, &admin, json!({"name": format!("Bench {i}")})).await?;
                ids.lock()[i] = created["tenant"]["id"].as_str().ok_or("tenant id")?.to_owned();
                Ok(())
            }
        })
        .await?;
    }
    let creation = created_at.elapsed();
    drop(server);
    println!(
        "created {count} tenants in {:.1} s ({:.0}/s)",
        creation.as_secs_f64(),
        count as f64 / creation.as_secs_f64()
    );

    let port = free_port()?;
    let (server, _) = start(&url, port).await?;
    // Settle, then the baseline: a node that knows every tenant but runs none.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = server.rss_kib().ok_or("no RSS")?;
    let ids = Arc::new(std::mem::take(&mut *ids.lock()));
    let touched_at = Instant::now();
    {
        let (client, ids) = (client.clone(), ids.clone());
        fan_out(count, concurrency, move |i| {
            let (client, ids) = (client.clone(), ids.clone());
            async move {
                let res = client
                    .get(format!("http://127.0.0.1:{port}/v1/jwks/{}", ids[i]))
                    .send()
                    .await?;
                if !res.status().is_success() {
                    return Err(format!("tenant {}: {}", ids[i], res.status()).into());
                }
                res.bytes().await?;
                Ok(())
            }
        })
        .await?;
    }
    let activation = touched_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_kib().ok_or("no RSS")?;
    let metrics = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let running = metrics
        .lines()
        .find(|l| l.starts_with("hellojohn_tenant_actors "))
        .unwrap_or("hellojohn_tenant_actors ?");
    println!(
        "activated {count} cold tenants in {:.1} s: {:.0} activations/s ({concurrency} clients)",
        activation.as_secs_f64(),
        count as f64 / activation.as_secs_f64()
    );
    let fds = std::fs::read_dir(format!("/proc/{}/fd", server.0.id()))?.count();
    println!(
        "RSS {before} KiB before, {after} KiB after: {:.2} KiB per active tenant; {running}; {fds} open files",
        (after.saturating_sub(before)) as f64 / count as f64
    );
    Ok(())
}
