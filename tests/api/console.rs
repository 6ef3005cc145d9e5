//! The admin console's server side: the page and its assets (embedded, strict CSP), the
//! tenant's own sign-in figures (counted by the tenant, written to its store, carried by
//! backups), the signing-key list and the nodes' traffic. The console itself is driven in
//! Chromium by `console_browser.rs`.

use reqwest::Method;
use serde_json::Value;

use crate::backup::{export, import, settings};
use crate::harness::*;

/// The current hour of a stats answer (the last one).
fn this_hour(stats: &Value) -> &Value {
    let hours = stats["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 168, "seven days of hours");
    hours.last().unwrap()
}

/// The stored activity documents of a backup.
fn stored_activity(backup: &str) -> Vec<Value> {
    backup
        .lines()
        .filter(|l| l.contains("activity_hour"))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

matrix! {
    async fn the_tenant_counts_its_sign_ins_and_keeps_them_in_its_store() {
        // A short idle timeout: the housekeeping tick (which writes the counts) comes often.
        let mut config = settings().to_vec();
        config.push(("HELLOJOHN_TENANT_IDLE_TIMEOUT", "2s"));
        let s = start_server(&config);
        let t = s.new_tenant().await;
        s.sign_up(&t, "one@example.com", "long enough password").await;
        s.sign_up(&t, "two@example.com", "long enough password").await;
        assert_eq!(s.sign_in(&t, "one@example.com", "long enough password").await.status, 200);
        s.sign_in(&t, "one@example.com", "wrong password!").await.assert_error(401, "invalid_credentials");
        s.sign_in(&t, "nobody@example.com", "wrong password!").await.assert_error(401, "invalid_credentials");

        let stats = s.admin(Method::GET, &format!("/cp/v1/tenants/{}/stats", t.id), None).await;
        assert_eq!(stats.status, 200, "{}", stats.body);
        let hour = this_hour(&stats.body);
        assert_eq!((hour["sign_ups"].as_u64(), hour["sign_ins"].as_u64(), hour["failed_sign_ins"].as_u64()), (Some(2), Some(1), Some(2)), "{hour}");
        assert_eq!(stats.body["active_sessions"], 3, "two sign-ups and a sign-in");
        assert_eq!(stats.body["tenant_id"], t.id.as_str());
        let older: u64 = stats.body["hours"].as_array().unwrap()[..167].iter().map(|h| h["sign_ins"].as_u64().unwrap()).sum();
        assert_eq!(older, 0, "a new tenant has no earlier activity");

        // The tenant's admins read the same figures with the secret key; other credentials can't.
        let own = s.call(Method::GET, "/v1/stats", Some(&t.sk), None).await;
        assert_eq!(own.status, 200, "{}", own.body);
        assert_eq!(this_hour(&own.body)["sign_ins"], 1);
        s.call(Method::GET, "/v1/stats", Some(&t.pk), None).await.assert_error(401, "invalid_api_key");
        s.call(Method::GET, "/v1/stats", None, None).await.assert_error(401, "missing_token");

        // The counts reach the tenant's store at the housekeeping tick, and a backup carries them.
        let mut stored = Vec::new();
        for _ in 0..100 {
            stored = stored_activity(&export(&s, &t.id).await);
            if !stored.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(stored.len(), 1, "one hour stored");
        let backup = export(&s, &t.id).await;
        let target = start_server(&settings());
        let restored = import(&target, &t.id, backup, "").await;
        assert_eq!(restored.status, 200, "{}", restored.body);
        let moved = target.admin(Method::GET, &format!("/cp/v1/tenants/{}/stats", t.id), None).await;
        let hour = this_hour(&moved.body);
        assert_eq!((hour["sign_ups"].as_u64(), hour["sign_ins"].as_u64(), hour["failed_sign_ins"].as_u64()), (Some(2), Some(1), Some(2)), "{hour}");

        // More activity adds to the stored hour instead of replacing it.
        assert_eq!(s.sign_in(&t, "two@example.com", "long enough password").await.status, 200);
        let mut sign_ins = 0;
        for _ in 0..100 {
            let stored = stored_activity(&export(&s, &t.id).await);
            sign_ins = stored.first().map(|line| line.to_string()).filter(|l| l.contains("\"sign_ins\":2")).map_or(0, |_| 2);
            if sign_ins == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(sign_ins, 2, "the second sign-in was added to the stored hour");
        let after = s.admin(Method::GET, &format!("/cp/v1/tenants/{}/stats", t.id), None).await;
        assert_eq!(this_hour(&after.body)["sign_ins"], 2, "counted once, not again from memory");
    }
}

#[tokio::test]
async fn the_console_page_and_its_assets_are_served_under_a_strict_csp() {
    let s = shared();
    let page = client().get(s.url("/console")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "nothing inline: {html}"
    );
    let scripts: Vec<&str> = html
        .split("src=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(!scripts.is_empty(), "the page loads its script: {html}");
    for src in scripts {
        assert!(src.starts_with("/console/assets/"), "{src}");
        let asset = client().get(s.url(src)).send().await.unwrap();
        assert_eq!(asset.status(), 200, "{src}");
        assert_eq!(asset.headers()["content-type"], "text/javascript; charset=utf-8");
        assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    }
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let slash = no_redirects.get(s.url("/console/")).send().await.unwrap();
    assert_eq!(slash.status(), 308);
    assert_eq!(slash.headers()["location"], "/console");
    let missing = Reply::from(client().get(s.url("/console/assets/nope.js")).send().await.unwrap()).await;
    missing.assert_error(404, "not_found");
}

#[tokio::test]
async fn signing_keys_are_listed_with_their_status_and_rotation_moves_them_on() {
    let s = shared();
    let t = s.new_tenant().await;
    let path = format!("/cp/v1/tenants/{}/signing-keys", t.id);
    let statuses = |list: &Value| -> Vec<(String, String)> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["id"].as_str().unwrap().to_owned(),
                    k["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let before = s.admin(Method::GET, &path, None).await;
    assert_eq!(before.status, 200, "{}", before.body);
    let before = statuses(&before.body);
    let current = before.iter().find(|(_, st)| st == "current").unwrap().0.clone();
    let next = before.iter().find(|(_, st)| st == "next").unwrap().0.clone();
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|(id, _)| id.starts_with("key_")));

    let rotated = s
        .admin(
            Method::POST,
            &format!("/cp/v1/tenants/{}/signing-keys/rotate", t.id),
            None,
        )
        .await;
    assert_eq!(rotated.body["id"], next.as_str(), "the next key now signs");
    let after = statuses(&s.admin(Method::GET, &path, None).await.body);
    assert!(after.contains(&(next.clone(), "current".into())), "{after:?}");
    assert!(after.contains(&(current.clone(), "retiring".into())), "{after:?}");
    assert_eq!(after.iter().filter(|(_, st)| st == "next").count(), 1, "{after:?}");
    // The JWKS publishes exactly the keys that aren't retired.
    let jwks = crate::tokens::fetch_jwks(s, &t.id).await;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    for (id, status) in &after {
        assert_eq!(published.contains(&id.as_str()), status != "retired", "{id} {status}");
    }
    // An algorithm change retires the current and the next key at once: one next key is
    // listed afterwards, and the old next key shows as retiring, not as a second next.
    let changed = s
        .admin(
            Method::PATCH,
            &format!("/cp/v1/tenants/{}", t.id),
            Some(serde_json::json!({"auth_config": {"signing_alg": "ES256"}})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let replaced = statuses(&s.admin(Method::GET, &path, None).await.body);
    assert_eq!(
        replaced.iter().filter(|(_, st)| st == "next").count(),
        1,
        "{replaced:?}"
    );
    assert_eq!(
        replaced.iter().filter(|(_, st)| st == "current").count(),
        1,
        "{replaced:?}"
    );
    let old_next = after.iter().find(|(_, st)| st == "next").unwrap().0.clone();
    assert!(replaced.contains(&(old_next, "retiring".into())), "{replaced:?}");
    s.call(Method::GET, &path, Some(&t.sk), None)
        .await
        .assert_error(403, "cp_admin_required");
    s.admin(
        Method::GET,
        "/cp/v1/tenants/tnt_01ARZ3NDEKTSV4RRFFQ69G5FAV/signing-keys",
        None,
    )
    .await
    .assert_error(404, "not_found");
    // The other console figures refuse unknown and malformed tenants and non-admins the same way.
    for path in [
        "/cp/v1/tenants/tnt_01ARZ3NDEKTSV4RRFFQ69G5FAV/stats",
        "/cp/v1/tenants/not-an-id/stats",
        "/cp/v1/tenants/not-an-id/signing-keys",
    ] {
        s.admin(Method::GET, path, None).await.assert_error(404, "not_found");
    }
    s.call(
        Method::GET,
        &format!("/cp/v1/tenants/{}/stats", t.id),
        Some(&t.sk),
        None,
    )
    .await
    .assert_error(403, "cp_admin_required");
    s.call(Method::GET, "/cp/v1/nodes/stats", Some(&t.sk), None)
        .await
        .assert_error(403, "cp_admin_required");
}

#[tokio::test]
async fn the_node_reports_its_request_rate_and_latency() {
    let s = start_server(&[]);
    for _ in 0..25 {
        assert_eq!(client().get(s.url("/health")).send().await.unwrap().status(), 200);
    }
    let stats = s.admin(Method::GET, "/cp/v1/nodes/stats", None).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let nodes = stats.body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "a single node shows itself");
    let points = nodes[0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 180, "30 minutes of 10-second points");
    // The requests may straddle a bucket boundary: count the last two buckets.
    let recent: f64 = points[178..]
        .iter()
        .map(|p| p["requests_per_second"].as_f64().unwrap() * 10.0)
        .sum();
    assert!(recent >= 25.0, "{recent} requests counted in the last buckets");
    assert!(points[178..].iter().any(|p| p["p95_ms"].as_f64().unwrap() > 0.0));
    let cluster = s.admin(Method::GET, "/cp/v1/cluster", None).await;
    assert_eq!(
        nodes[0]["name"], cluster.body["nodes"][0]["name"],
        "named as in the cluster view"
    );
}

#[tokio::test]
async fn a_sign_in_with_a_second_factor_counts_once_the_factor_is_verified() {
    // Its own server: the codes come from the real clock.
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    let (_, secret, _) = crate::mfa::enrolled(&s, &t, "mfa@example.com").await;
    let hour = |stats: &Value| {
        let h = this_hour(stats);
        (h["sign_ins"].as_u64().unwrap(), h["failed_sign_ins"].as_u64().unwrap())
    };
    let path = format!("/cp/v1/tenants/{}/stats", t.id);
    let before = hour(&s.admin(Method::GET, &path, None).await.body);
    let asked = s.sign_in(&t, "mfa@example.com", "long enough password").await;
    asked.assert_error(403, "mfa_required");
    assert_eq!(
        hour(&s.admin(Method::GET, &path, None).await.body),
        before,
        "a right password is no failure, and no sign-in yet"
    );
    let challenge = asked.body["error"]["challenge_id"].as_str().unwrap().to_owned();
    let code = crate::mfa::totp_at(&secret, crate::mfa::now() + 30);
    let verified = s
        .call(
            Method::POST,
            "/v1/auth/mfa/verify",
            Some(&t.pk),
            Some(serde_json::json!({"challenge_id": challenge, "code": code})),
        )
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(
        hour(&s.admin(Method::GET, &path, None).await.body),
        (before.0 + 1, before.1),
        "counted at the second factor"
    );
}
