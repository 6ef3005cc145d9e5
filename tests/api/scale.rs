//! Tenant counts per isolation mode: many tenants on PostgreSQL's default
//! `max_connections = 100` in separate_schema (one shared pool), and many
//! more in shared_schema. `HELLOJOHN_TEST_SCALE=full` (set by CI) runs the
//! issue's figures, 1,000 and 10,000 tenants; otherwise smaller counts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hellojohn::config::IsolationMode;
use reqwest::Method;
use serde_json::json;

use crate::backends::{run, Backend};
use crate::harness::*;

fn full() -> bool {
    std::env::var("HELLOJOHN_TEST_SCALE").as_deref() == Ok("full")
}

async fn connections(url: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hellojohn' AND datname = current_database()", &[])
        .await
        .unwrap();
    row.get(0)
}

/// Creates `count` tenants with `concurrency` workers, signs a user up in each, and checks
/// a sample of them signs in again; returns the tenants.
async fn populate(s: &'static Server, count: usize, concurrency: usize) -> Vec<TestTenant> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut made = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let t = s.new_tenant().await;
                s.sign_up(&t, "owner@example.com", "long enough password").await;
                made.push(t);
            }
            made
        }));
    }
    let mut tenants = Vec::new();
    for w in workers {
        tenants.extend(w.await.unwrap());
    }
    assert_eq!(tenants.len(), count);
    for t in tenants.iter().step_by((count / 20).max(1)) {
        assert_eq!(
            s.sign_in(t, "owner@example.com", "long enough password").await.status,
            200
        );
    }
    tenants
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_schema_serves_many_tenants_within_default_max_connections() {
    run(Backend::Postgres(IsolationMode::SeparateSchema), async {
        let count = if full() { 1000 } else { 60 };
        let s: &'static Server = Box::leak(Box::new(start_server(&[("HELLOJOHN_DATABASE_POOL_SIZE", "16")])));
        let tenants = populate(s, count, 8).await;
        let url = s.database_url.clone().unwrap();
        let used = connections(&url).await;
        assert!(used <= 16, "{count} tenants, {used} connections: the pool is shared");
        eprintln!("separate_schema: {count} tenants served with {used} connections");
        // Every tenant's schema exists and holds only its own user.
        let listed = s
            .call(Method::GET, "/v1/users", Some(&tenants[count / 2].sk), None)
            .await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_schema_serves_ten_thousand_tenants() {
    run(Backend::Postgres(IsolationMode::SharedSchema), async {
        let count = if full() { 10_000 } else { 200 };
        let s: &'static Server = Box::leak(Box::new(start_server(&[("HELLOJOHN_DATABASE_POOL_SIZE", "16")])));
        let tenants = populate(s, count, 16).await;
        let url = s.database_url.clone().unwrap();
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT count(DISTINCT tenant_id) FROM hj_shared.hj_user", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0) as usize, count);
        eprintln!("shared_schema: {count} tenants in one set of tables");
        let reply = s
            .call(
                Method::POST,
                "/v1/auth/sign-in",
                Some(&tenants[0].pk),
                Some(json!({"email": "owner@example.com", "password": "long enough password"})),
            )
            .await;
        assert_eq!(reply.status, 200);
    })
    .await
}
