//! Operations: health, readiness, metrics, graceful shutdown, configuration errors, first run.

use std::time::Duration;

use reqwest::{Client, Method};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let s = shared();
    assert_eq!(s.call(Method::GET, "/health", None, None).await.status, 200);
    assert_eq!(s.call(Method::GET, "/readyz", None, None).await.status, 200);
    let t = s.new_tenant().await;
    s.sign_up(&t, "metrics@example.com", "long enough password").await;
    let text = Client::new()
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "hellojohn_http_requests_total{",
        "hellojohn_http_request_duration_seconds_bucket{",
        "hellojohn_auth_events_total{",
        "hellojohn_tenant_actors ",
        "hellojohn_tenant_mailbox_depth_bucket",
        "hellojohn_cluster_nodes ",
    ] {
        assert!(text.contains(name), "missing {name}");
    }
    assert!(text.contains("route=\"/v1/auth/sign-up\""), "routes are templates");
    assert!(
        !text.contains(&t.id) && !text.contains("metrics@example.com"),
        "labels never carry ids or emails"
    );
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_naming_the_variable() {
    let dir = data_dir();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .env_clear()
        .env("HELLOJOHN_DATABASE_URL", format!("file://{}", dir.display()))
        .env("HELLOJOHN_TENANT_IDLE_TIMEOUT", "whenever")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HELLOJOHN_TENANT_IDLE_TIMEOUT"), "{stderr}");
}

#[tokio::test]
async fn first_run_creates_an_admin_and_a_default_tenant_printed_once() {
    let dir = data_dir();
    let port = free_port();
    let env = [
        ("HELLOJOHN_PORT".to_owned(), port.to_string()),
        ("HELLOJOHN_HOST".to_owned(), "127.0.0.1".to_owned()),
    ]
    .into();
    let process = spawn_binary(&env, &dir, port).await;
    let find = |prefix: &str| {
        process
            .stdout_lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {prefix:?} in {:?}", process.stdout_lines))
    };
    let admin_line = find("CP admin created:");
    let password = admin_line.split("password=").nth(1).unwrap().to_owned();
    let pk = find("publishable key:");
    let client = Client::new();
    let signed_in = client
        .post(format!("{}/cp/v1/admin/sign-in", process.base))
        .json(&json!({"email": "admin@hellojohn.local", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let sign_up = client
        .post(format!("{}/v1/auth/sign-up", process.base))
        .header("X-Client-Id", &pk)
        .json(&json!({"email": "first@example.com", "password": "long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_up.status(), 201);
    assert!(dir.join("data").join("control").exists(), "the default store is ./data");
    drop(process);
    // A second start prints no secrets again.
    let again = spawn_binary(&env, &dir, port).await;
    assert!(
        !again
            .stdout_lines
            .iter()
            .any(|l| l.contains("password=") || l.contains("secret key")),
        "{:?}",
        again.stdout_lines
    );
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits() {
    let dir = data_dir();
    let port = free_port();
    let mut env = test_env(&dir, port);
    // Real argon2 cost, so sign-ups are in flight when the signal arrives.
    env.insert("HELLOJOHN_ARGON2_MEMORY_KIB".into(), "19456".into());
    env.insert("HELLOJOHN_ARGON2_ITERATIONS".into(), "2".into());
    let mut process = spawn_binary(&env, &dir, port).await;
    let server = attach(&process.base).await;
    let t = server.new_tenant().await;
    let mut in_flight = Vec::new();
    for i in 0..6 {
        let url = server.url("/v1/auth/sign-up");
        let pk = t.pk.clone();
        in_flight.push(tokio::spawn(async move {
            Client::new()
                .post(url)
                .header("X-Client-Id", pk)
                .json(&json!({"email": format!("drain{i}@example.com"), "password": "long enough password"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    let pid = process.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    for handle in in_flight {
        assert_eq!(handle.await.unwrap().unwrap(), 201, "in-flight requests complete");
    }
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = process.child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(exited.expect("process exits after SIGTERM").success());
    assert!(
        Client::new()
            .get(format!("{}/health", process.base))
            .send()
            .await
            .is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn admin_create_command_adds_an_admin_who_can_sign_in() {
    let dir = data_dir();
    let port = free_port();
    let mut env = test_env(&dir, port);
    env.remove("HELLOJOHN_ADMIN_SEED_EMAIL");
    env.remove("HELLOJOHN_ADMIN_SEED_PASSWORD");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .env_clear()
        .envs(&env)
        .args(["admin", "create", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let migrate = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .env_clear()
        .envs(&env)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrate.status.success());
    let process = spawn_binary(&env, &dir, port).await;
    // attach() signs in with exactly that admin.
    let server = attach(&process.base).await;
    assert_eq!(
        server.admin(Method::GET, "/cp/v1/admins", None).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
