//! Tenant actors: a failure while serving one tenant answers 503 to that
//! request only; the actor restarts; other tenants never notice; idle actors stop.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

matrix! {
    async fn a_panicking_tenant_actor_fails_one_request_and_restarts() {
        let s = shared();
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        let in_a = s.sign_up(&a, "victim@example.com", "long enough password").await;
        let in_b = s.sign_up(&b, "bystander@example.com", "long enough password").await;
        let token_a = in_a["session"]["access_token"].as_str().unwrap().to_owned();
        let token_b = in_b["session"]["access_token"].as_str().unwrap().to_owned();

        // B keeps serving while A crashes.
        let bystander = {
            let (base, token) = (s.base.clone(), token_b.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                for _ in 0..30 {
                    let r = client
                        .get(format!("{base}/v1/auth/me"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    statuses.push(r.status().as_u16());
                }
                statuses
            })
        };
        let crash = s
            .admin(Method::POST, &format!("/cp/v1/tenants/{}/faults/panic", a.id), None)
            .await;
        crash.assert_error(503, "service_unavailable");
        assert!(crash.header("retry-after").is_some());

        // The next request to A works: the supervisor restarted it with its state reloaded.
        let me = s.call(Method::GET, "/v1/auth/me", Some(&token_a), None).await;
        assert_eq!(me.status, 200, "{}", me.body);
        let signed_in = s
            .call(
                Method::POST,
                "/v1/auth/sign-in",
                Some(&a.pk),
                Some(json!({"email": "victim@example.com", "password": "long enough password"})),
            )
            .await;
        assert_eq!(signed_in.status, 200);
        assert!(
            bystander.await.unwrap().iter().all(|s| *s == 200),
            "other tenants never notice"
        );
    }
}

matrix! {
    async fn idle_tenant_actors_stop_and_start_again_on_demand() {
        let s = start_server(&[("HELLOJOHN_TENANT_IDLE_TIMEOUT", "1s")]);
        let registry = s.state.as_ref().unwrap().control.registry().clone();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "idle@example.com", "long enough password").await;
        assert!(registry.running() >= 1);
        let mut stopped = false;
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if registry.running() == 0 {
                stopped = true;
                break;
            }
        }
        assert!(stopped, "idle actor stopped");
        let token = body["session"]["access_token"].as_str().unwrap();
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(token), None).await.status, 200);
        assert_eq!(registry.running(), 1);
    }
}

matrix! {
    async fn concurrent_requests_to_one_tenant_all_complete() {
        // The actor hands each request to its own task: concurrent sign-ups (each an argon2 hash and an
        // fsync'd write) all complete, each with its own user. Throughput is measured in benches/.
        let s = start_server(&[
            ("HELLOJOHN_ARGON2_MEMORY_KIB", "19456"),
            ("HELLOJOHN_ARGON2_ITERATIONS", "2"),
        ]);
        let t = s.new_tenant().await;
        let mut handles = Vec::new();
        for i in 0..8 {
            let (url, pk) = (s.url("/v1/auth/sign-up"), t.pk.clone());
            handles.push(tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .header("X-Client-Id", pk)
                    .json(&json!({"email": format!("hot{i}@example.com"), "password": "long enough password"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                res.json::<serde_json::Value>().await.unwrap()["user"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }));
        }
        let mut ids = Vec::new();
        for h in handles {
            ids.push(h.await.unwrap());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 8);
    }
}

matrix! {
    async fn an_idle_tenant_keeps_its_lockouts() {
        let s = start_server(&[("HELLOJOHN_TENANT_IDLE_TIMEOUT", "1s"), ("HELLOJOHN_RATE_LIMITS", "on")]);
        let limits = serde_json::json!({"sign_in_ip": null, "sign_in_account": null, "sign_up_ip": null});
        let t = s
            .new_tenant_with(serde_json::json!({"name": "idle lockout", "auth_config": {"lockout": {"threshold": 2, "duration": 600}, "rate_limits": limits}}))
            .await;
        s.sign_up(&t, "locked@example.com", "long enough password").await;
        s.sign_in(&t, "locked@example.com", "not the password").await.assert_error(401, "invalid_credentials");
        // Past the idle timeout: the actor may stop, the failure it counted stays.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        s.sign_in(&t, "locked@example.com", "not the password").await.assert_error(401, "invalid_credentials");
        s.sign_in(&t, "locked@example.com", "long enough password").await.assert_error(403, "account_locked");
        // Well past the idle timeout again: stopping the actor lifts no lock.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        s.sign_in(&t, "locked@example.com", "long enough password").await.assert_error(403, "account_locked");
    }
}
