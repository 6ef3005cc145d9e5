//! Rate limits, lockout, overload and enumeration resistance (with limits on).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

fn limits_on() -> Server {
    start_server(&[("HELLOJOHN_RATE_LIMITS", "on")])
}

matrix! {
    async fn sign_in_per_ip_is_limited_with_headers_and_retry_after() {
        let s = limits_on();
        let t = s
            .new_tenant_with(
                json!({"name": "limits", "auth_config": {"rate_limits": {"sign_in_ip": "3/1m", "sign_in_account": null}}}),
            )
            .await;
        s.sign_up(&t, "lim@example.com", "long enough password").await;
        for remaining in [2, 1, 0] {
            let r = s
                .sign_in(&t, &format!("nobody{remaining}@example.com"), "whatever pw")
                .await;
            r.assert_error(401, "invalid_credentials");
            assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
            assert_eq!(r.header("x-ratelimit-remaining"), Some(remaining.to_string().as_str()));
            let reset: i64 = r.header("x-ratelimit-reset").unwrap().parse().unwrap();
            assert!(reset > 1_700_000_000);
        }
        let limited = s.sign_in(&t, "lim@example.com", "long enough password").await;
        limited.assert_error(429, "rate_limit_exceeded");
        let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
        assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
        s.advance_clock(61);
        assert_eq!(
            s.sign_in(&t, "lim@example.com", "long enough password").await.status,
            200,
            "a new window"
        );
        // Other tenants have their own counters.
        let other = s.new_tenant().await;
        s.sign_in(&other, "x@example.com", "whatever pw")
            .await
            .assert_error(401, "invalid_credentials");
    }
}

matrix! {
    async fn sign_up_and_refresh_have_their_own_limits() {
        let s = limits_on();
        let t = s
            .new_tenant_with(json!({"name": "limits2", "auth_config": {"rate_limits": {"sign_up_ip": "2/1m", "refresh_session": "2/1m"}}}))
            .await;
        let first = s.sign_up(&t, "su1@example.com", "long enough password").await;
        s.sign_up(&t, "su2@example.com", "long enough password").await;
        let third = s
            .call(
                Method::POST,
                "/v1/auth/sign-up",
                Some(&t.pk),
                Some(json!({"email": "su3@example.com", "password": "long enough password"})),
            )
            .await;
        third.assert_error(429, "rate_limit_exceeded");
        let mut refresh = first["session"]["refresh_token"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            let r = s.refresh(&t, &refresh).await;
            assert_eq!(r.status, 200);
            assert!(r.header("x-ratelimit-limit").is_some());
            refresh = r.body["session"]["refresh_token"].as_str().unwrap().to_owned();
        }
        s.refresh(&t, &refresh).await
        .assert_error(429, "rate_limit_exceeded");
    }
}

matrix! {
    async fn lockout_holds_even_for_the_right_password_until_it_expires() {
        let s = limits_on();
        let t = s
            .new_tenant_with(json!({"name": "lockout", "auth_config": {"lockout": {"threshold": 3, "duration": 120}, "rate_limits": {"sign_in_ip": null, "sign_in_account": null}}}))
            .await;
        s.sign_up(&t, "locked@example.com", "long enough password").await;
        for _ in 0..3 {
            s.sign_in(&t, "LOCKED@example.com", "bad password")
                .await
                .assert_error(401, "invalid_credentials");
        }
        let locked = s.sign_in(&t, "locked@example.com", "long enough password").await;
        locked.assert_error(403, "account_locked");
        assert!(locked.header("retry-after").is_some());
        // Unknown emails lock the same way, so lockout reveals nothing about who exists.
        for _ in 0..3 {
            s.sign_in(&t, "ghost@example.com", "bad password")
                .await
                .assert_error(401, "invalid_credentials");
        }
        s.sign_in(&t, "ghost@example.com", "bad password")
            .await
            .assert_error(403, "account_locked");
        s.advance_clock(121);
        assert_eq!(
            s.sign_in(&t, "locked@example.com", "long enough password").await.status,
            200
        );
    }
}

async fn timed_sign_in(s: &Server, t: &TestTenant, email: &str) -> (Duration, Reply) {
    let started = Instant::now();
    let reply = s.sign_in(t, email, "definitely wrong").await;
    (started.elapsed(), reply)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_and_take_the_same() {
    // Real argon2 cost: the point is that both paths pay it.
    let s = start_server(&[
        ("HELLOJOHN_ARGON2_MEMORY_KIB", "19456"),
        ("HELLOJOHN_ARGON2_ITERATIONS", "2"),
    ]);
    let t = s.new_tenant().await;
    s.sign_up(&t, "known@example.com", "long enough password").await;
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    let mut bodies = Vec::new();
    for i in 0..31 {
        // Interleaved, so drift in machine load hits both sides alike.
        let (d, r) = timed_sign_in(&s, &t, "known@example.com").await;
        wrong.push(d);
        if i == 0 {
            bodies.push(r);
        }
        let (d, r) = timed_sign_in(&s, &t, &format!("unknown{i}@example.com")).await;
        unknown.push(d);
        if i == 0 {
            bodies.push(r);
        }
    }
    for r in &bodies {
        r.assert_error(401, "invalid_credentials");
    }
    let strip = |r: &Reply| {
        let mut e = r.body["error"].clone();
        e.as_object_mut().unwrap().remove("request_id");
        e
    };
    assert_eq!(strip(&bodies[0]), strip(&bodies[1]), "same body");
    let (mu, mw) = (median(unknown), median(wrong));
    let (lo, hi) = if mu < mw { (mu, mw) } else { (mw, mu) };
    // Generous: an unknown email that skipped argon2 would be several times faster.
    assert!(
        hi.as_secs_f64() <= lo.as_secs_f64() * 1.5 + 0.005,
        "unknown {mu:?} vs wrong {mw:?}"
    );
}

#[tokio::test]
async fn a_flood_of_hashes_is_refused_with_retry_after_instead_of_queueing() {
    let s = start_server(&[
        ("HELLOJOHN_ARGON2_MEMORY_KIB", "19456"),
        ("HELLOJOHN_ARGON2_ITERATIONS", "2"),
        // Short, so that the flood outlasts it on any machine (2 s of 250 hashes is
        // within what two fast cores finish).
        ("HELLOJOHN_PASSWORD_QUEUE_TIMEOUT", "250ms"),
    ]);
    let t = s.new_tenant().await;
    let mut handles = Vec::new();
    for i in 0..250 {
        let (url, pk) = (s.url("/v1/auth/sign-in"), t.pk.clone());
        handles.push(tokio::spawn(async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("X-Client-Id", pk)
                .json(&json!({"email": format!("flood{i}@example.com"), "password": "some password"}))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.headers().get("retry-after").is_some())
        }));
    }
    let mut refused = 0;
    for h in handles {
        let (status, retry_after) = h.await.unwrap();
        assert!(status == 401 || status == 503, "{status}");
        if status == 503 {
            assert!(retry_after);
            refused += 1;
        }
    }
    assert!(refused > 0, "the queue is bounded");
}
