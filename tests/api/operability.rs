//! What a first-time operator hits: start-up errors that say what to do, logs fit for
//! files, host names, and public discovery documents (issue 11). Start-up behaviour is
//! tested on the real binary.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

/// The binary run to completion with exactly `env` (a start-up that must fail).
fn run_binary(env: &HashMap<String, String>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hellojohn"));
    command.env_clear().envs(env).args(args);
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.output().unwrap()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_bad_log_filter_is_a_configuration_error() {
    let dir = data_dir();
    let mut env = test_env(&dir, free_port());
    env.insert("HELLOJOHN_LOG".into(), "notalevel===".into());
    let output = run_binary(&env, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("HELLOJOHN_LOG"), "{}", stderr_of(&output));
}

#[tokio::test]
async fn host_names_are_accepted() {
    let dir = data_dir();
    let port = free_port();
    let mut env = test_env(&dir, port);
    env.insert("HELLOJOHN_HOST".into(), "localhost".into());
    let process = spawn_binary(&env, &dir, port).await;
    let health = client().get(format!("{}/health", process.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_port_in_use_is_named() {
    let dir = data_dir();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = run_binary(&test_env(&dir, port), &[]);
    assert!(!output.status.success());
    let stderr = stderr_of(&output);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

#[tokio::test]
async fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = data_dir();
    let port = free_port();
    let mut env = test_env(&dir, port);
    env.insert("HELLOJOHN_LOG".into(), "info".into());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .env_clear()
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut healthy = false;
    for _ in 0..300 {
        if client()
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "hellojohn did not become healthy");
    let _ = client().get(format!("{base}/v1/nothing")).send().await;
    child.kill().unwrap();
    child.wait().unwrap();
    let mut logs = String::new();
    child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("hellojohn listening"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "ANSI escape in piped logs: {logs:?}");
}

matrix! {
    async fn discovery_advertises_only_what_is_served_to_any_origin() {
        let s = shared();
        let t = s.new_tenant().await;
        let discovery_path = format!("/t/{}/.well-known/openid-configuration", t.id);
        let jwks_path = format!("/t/{}/.well-known/jwks.json", t.id);
        let alias_path = format!("/v1/jwks/{}", t.id);
        let discovery = s.call(Method::GET, &discovery_path, None, None).await;
        let issuer = format!("{}/t/{}", s.base, t.id);
        assert_eq!(
            discovery.body,
            json!({"issuer": issuer, "jwks_uri": format!("{issuer}/.well-known/jwks.json")}),
            "no endpoint, response type or algorithm that is not served"
        );
        let origin = "https://any-app.example";
        for path in [&discovery_path, &jwks_path, &alias_path] {
            let answer = client().get(s.url(path)).header("origin", origin).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{path}");
            assert_eq!(answer.headers()["access-control-allow-origin"], "*", "{path}");
            let preflight = client()
                .request(Method::OPTIONS, s.url(path))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap();
            assert_eq!(preflight.status(), 204, "{path}");
            assert_eq!(preflight.headers()["access-control-allow-origin"], "*", "{path}");
        }
        // Nothing private is opened to any origin.
        let private = client()
            .get(s.url("/v1/users"))
            .bearer_auth(&t.sk)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert!(private.headers().get("access-control-allow-origin").is_none());
    }
}
