//! What only SQL can show: row-level security really on in PostgreSQL's
//! shared_schema mode, and storage faults answered with 503 until the
//! database returns, without a restart.

use std::time::{Duration, Instant};

use hellojohn::config::IsolationMode;
use reqwest::Method;
use serde_json::json;

use crate::backends::{run, Backend};
use crate::harness::*;
use crate::proxy::TcpProxy;

async fn pg(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn postgres_shared_schema_enforces_row_level_security() {
    run(Backend::Postgres(IsolationMode::SharedSchema), async {
        let s = start_server(&[]);
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        s.sign_up(&a, "rls-a@example.com", "long enough password").await;
        s.sign_up(&b, "rls-b@example.com", "long enough password").await;
        let mut client = pg(s.database_url.as_deref().unwrap()).await;
        let tables = [
            "hj_user", "hj_session", "hj_refresh_token", "hj_outbox", "hj_mfa_factor", "hj_mfa_challenge",
            "hj_one_time_token", "hj_organization", "hj_org_slug", "hj_org_membership", "hj_org_invitation",
        ];
        for table in tables {
            let row = client
                .query_one(
                    "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'hj_shared' AND c.relname = $1",
                    &[&table],
                )
                .await
                .unwrap();
            assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1), "{table}: RLS enabled and forced");
        }
        // A query that "forgets" its tenant filter, run the way the server runs queries.
        let tx = client.transaction().await.unwrap();
        tx.batch_execute(&format!("SET LOCAL ROLE hellojohn_tenant; SET LOCAL hellojohn.tenant_id = '{}'", a.id)).await.unwrap();
        let emails: Vec<String> = tx.query("SELECT email FROM hj_shared.hj_user", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(emails, ["rls-a@example.com"], "only tenant A's rows are visible");
        let write = tx
            .execute(
                "INSERT INTO hj_shared.hj_user (tenant_id, id, email, status, doc) VALUES ($1, 'usr_x', 'x@y.io', 'active', '{}')",
                &[&b.id],
            )
            .await;
        assert!(write.is_err(), "writing another tenant's rows is refused");
        tx.rollback().await.unwrap();
        let tx = client.transaction().await.unwrap();
        tx.batch_execute("SET LOCAL ROLE hellojohn_tenant").await.unwrap();
        let none = tx.query("SELECT 1 FROM hj_shared.hj_user", &[]).await.unwrap();
        assert!(none.is_empty(), "without a tenant setting, nothing is visible");
    })
    .await
}

// Multi-threaded: the proxy must keep running while the harness blocks on server start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_answers_503_and_service_resumes_without_restart() {
    run(Backend::Postgres(IsolationMode::SeparateSchema), async {
        // The server reaches PostgreSQL through a proxy the test can cut.
        let url = crate::backends::create_database(Backend::Postgres(IsolationMode::SeparateSchema)).unwrap();
        let proxy = TcpProxy::start("127.0.0.1:5432").await;
        let proxied = url.replace("127.0.0.1:5432", &proxy.address());
        let s = start_server(&[("HELLOJOHN_DATABASE_URL", &proxied)]);
        let t = s.new_tenant().await;
        s.sign_up(&t, "fault@example.com", "long enough password").await;

        proxy.cut().await;
        let started = Instant::now();
        let down = s.sign_in(&t, "fault@example.com", "long enough password").await;
        down.assert_error(503, "service_unavailable");
        assert!(down.header("retry-after").is_some());
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "answered within the timeout"
        );
        let ready = s.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(ready.status, 503);
        assert_eq!(s.call(Method::GET, "/health", None, None).await.status, 200);
        let listed = s.call(Method::GET, "/v1/users", Some(&t.sk), None).await;
        assert_eq!(listed.status, 503, "{}", listed.body);

        proxy.restore().await;
        let mut recovered = false;
        for _ in 0..50 {
            if s.sign_in(&t, "fault@example.com", "long enough password").await.status == 200 {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(recovered, "service resumes when the database returns");
        assert_eq!(s.call(Method::GET, "/readyz", None, None).await.status, 200);
        let reply = s
            .call(
                Method::POST,
                "/v1/auth/sign-up",
                Some(&t.pk),
                Some(json!({"email": "after@example.com", "password": "long enough password"})),
            )
            .await;
        assert_eq!(reply.status, 201);
    })
    .await
}
