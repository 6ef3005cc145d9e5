//! One server's answers from every node: routing through the one owner (PostgreSQL and
//! MySQL), sign-in password checks on the receiving node, revocation and rate limits
//! across nodes, and control-plane changes reaching every node within a second.

use super::*;

/// Routes calls from every node, and checks every node reports one owner per tenant.
async fn routes_every_call_to_one_owner() {
    let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &[]).await;
    let servers: Vec<Server> = (0..3).map(|i| cluster.on(i, &admin)).collect();
    let mut tenants = Vec::new();
    for i in 0..6 {
        let t = servers[i % 3].new_tenant().await;
        servers[(i + 1) % 3]
            .sign_up(&t, "routed@example.com", "long enough password")
            .await;
        tenants.push(t);
    }
    for t in &tenants {
        // Sign in on each node, refresh on the next, read the user on the one after.
        for i in 0..3 {
            let signed_in = servers[i]
                .sign_in(t, "routed@example.com", "long enough password")
                .await;
            assert_eq!(signed_in.status, 200, "{}", signed_in.body);
            let refreshed = servers[(i + 1) % 3].refresh(t, &refresh_token(&signed_in)).await;
            assert_eq!(refreshed.status, 200, "{}", refreshed.body);
            let access = refreshed.body["session"]["access_token"].as_str().unwrap();
            let me = servers[(i + 2) % 3]
                .call(Method::GET, "/v1/auth/me", Some(access), None)
                .await;
            assert_eq!(me.status, 200, "{}", me.body);
            assert_eq!(me.body["email"], "routed@example.com");
        }
    }
    // Every node reports the same single owner of each tenant, among the three.
    for t in &tenants {
        let seen: Vec<Option<String>> =
            futures_util::future::join_all(servers.iter().map(|s| owner_of(&admin, &s.base, &t.id))).await;
        assert!(seen.iter().all(|o| o == &seen[0]), "{seen:?}");
        let owner = seen[0].clone().expect("a running tenant has an owner");
        assert!(["n1", "n2", "n3"].contains(&owner.as_str()));
    }
    // Calls were forwarded between nodes (some tenant lives away from some node).
    let mut forwarded = 0.0;
    for s in &servers {
        forwarded += counter(&s.base, "hellojohn_cluster_forwarded_calls_total{result=\"ok\"}").await;
        assert_eq!(
            counter(&s.base, "hellojohn_cluster_nodes").await,
            3.0,
            "every node counts three nodes up"
        );
    }
    assert!(forwarded > 0.0, "no call was forwarded");
}

#[tokio::test]
async fn every_node_serves_every_tenant_through_its_one_owner_on_mysql() {
    on_mysql(routes_every_call_to_one_owner()).await
}

#[tokio::test]
async fn every_node_serves_every_tenant_through_its_one_owner() {
    on_postgres(routes_every_call_to_one_owner()).await
}

#[tokio::test]
async fn a_sign_in_checks_its_password_on_the_node_that_received_it() {
    on_postgres(async {
        let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &[]).await;
        let first = cluster.on(0, &admin);
        let t = first.new_tenant().await;
        first.sign_up(&t, "spread@example.com", "long enough password").await;
        let owner = owner_of(&admin, &first.base, &t.id).await.unwrap();
        let receiver = cluster.nodes.iter().position(|n| n.name != owner).unwrap();
        let owner_base = cluster.nodes.iter().find(|n| n.name == owner).unwrap().base();
        let receiver_server = cluster.on(receiver, &admin);
        let checks = "hellojohn_password_checks_total";
        let (owner_before, receiver_before) = (
            counter(&owner_base, checks).await,
            counter(&receiver_server.base, checks).await,
        );
        for _ in 0..4 {
            let ok = receiver_server
                .sign_in(&t, "spread@example.com", "long enough password")
                .await;
            assert_eq!(ok.status, 200, "{}", ok.body);
        }
        let wrong = receiver_server
            .sign_in(&t, "spread@example.com", "not the password")
            .await;
        wrong.assert_error(401, "invalid_credentials");
        let unknown = receiver_server
            .sign_in(&t, "nobody@example.com", "long enough password")
            .await;
        unknown.assert_error(401, "invalid_credentials");
        assert_eq!(counter(&receiver_server.base, checks).await - receiver_before, 6.0);
        assert_eq!(
            counter(&owner_base, checks).await - owner_before,
            0.0,
            "the owner hashed nothing"
        );
        // The owner counted every outcome for the console, and any node reads its figures.
        for i in 0..cluster.nodes.len() {
            let stats = cluster
                .on(i, &admin)
                .admin(Method::GET, &format!("/cp/v1/tenants/{}/stats", t.id), None)
                .await;
            assert_eq!(stats.status, 200, "{}", stats.body);
            let hour = stats.body["hours"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(
                (
                    hour["sign_ups"].as_u64(),
                    hour["sign_ins"].as_u64(),
                    hour["failed_sign_ins"].as_u64()
                ),
                (Some(1), Some(4), Some(2)),
                "through node {i}: {hour}"
            );
        }
        drop(cluster);
    })
    .await
}

/// Polls `check` until it holds, for at most a second and a half (the feed's promise is
/// a second).
async fn within_a_second(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{what} took over a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes a control-plane change through `a`, then waits until a sign-in through each of
/// `others` answers `status`.
async fn change_seen(
    a: &Server,
    others: [&Server; 2],
    t: &TestTenant,
    change: (Method, String, Option<Value>),
    status: u16,
) {
    let (method, path, body) = change;
    let reply = a.admin(method, &path, body).await;
    assert!(reply.status < 300, "{path}: {}", reply.body);
    for s in others {
        within_a_second(&path, async || {
            s.sign_in(t, "feed@example.com", "long enough password").await.status == status
        })
        .await;
    }
}

#[tokio::test]
async fn control_plane_changes_reach_every_node_within_a_second() {
    on_postgres(async {
        let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &[]).await;
        let [a, b, c] = [0, 1, 2].map(|i| cluster.on(i, &admin));
        let t = a.new_tenant().await;
        b.sign_up(&t, "feed@example.com", "long enough password").await;
        // Each node has resolved the tenant's keys (and cached them).
        for s in [&a, &b, &c] {
            assert_eq!(
                s.sign_in(&t, "feed@example.com", "long enough password").await.status,
                200
            );
        }
        let tenant_path = format!("/cp/v1/tenants/{}", t.id);
        // Suspension and reactivation on A: B and C follow.
        let suspend = (Method::PATCH, tenant_path.clone(), Some(json!({"status": "suspended"})));
        change_seen(&a, [&b, &c], &t, suspend, 403).await;
        let activate = (Method::PATCH, tenant_path.clone(), Some(json!({"status": "active"})));
        change_seen(&a, [&b, &c], &t, activate, 200).await;
        // A key revoked on A is refused by B and C.
        let keys = a.admin(Method::GET, &format!("{tenant_path}/api-keys"), None).await;
        let publishable = keys.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["type"] == "publishable")
            .unwrap();
        let revoke = (
            Method::DELETE,
            format!("{tenant_path}/api-keys/{}", publishable["id"].as_str().unwrap()),
            None,
        );
        change_seen(&a, [&b, &c], &t, revoke, 401).await;
        // A rotation on A is published by B's and C's JWKS.
        let jwks = |s: &Server| {
            let url = s.url(&format!("/t/{}/.well-known/jwks.json", t.id));
            async move { client().get(url).send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let before = jwks(&b).await;
        let rotated = a
            .admin(Method::POST, &format!("{tenant_path}/signing-keys/rotate"), None)
            .await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        for s in [&b, &c] {
            within_a_second("key rotation", async || jwks(s).await != before).await;
        }
        drop(cluster);
    })
    .await
}

/// `POST /v1/sessions/verify` of `token` through `s`: whether it is valid.
async fn verified(s: &Server, t: &TestTenant, token: &str) -> bool {
    let reply = s
        .call(
            Method::POST,
            "/v1/sessions/verify",
            Some(&t.sk),
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["valid"].as_bool().unwrap()
}

#[tokio::test]
async fn revocation_and_rate_limits_hold_across_the_cluster() {
    on_postgres(async {
        let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &[("HELLOJOHN_RATE_LIMITS", "on")]).await;
        let [a, b, c] = [0, 1, 2].map(|i| cluster.on(i, &admin));
        let t = a
            .new_tenant_with(json!({
                "name": "Limited",
                "auth_config": {"rate_limits": {"sign_in_ip": "6/1m", "sign_in_account": null}},
            }))
            .await;
        a.sign_up(&t, "revoked@example.com", "long enough password").await;
        // Sign out on A: verify on B and refresh on C see it at once.
        let signed_in = a.sign_in(&t, "revoked@example.com", "long enough password").await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        let access = signed_in.body["session"]["access_token"].as_str().unwrap().to_owned();
        assert!(verified(&b, &t, &access).await);
        let out = a
            .call(Method::POST, "/v1/auth/sign-out", Some(&access), Some(json!({})))
            .await;
        assert_eq!(out.status, 204, "{}", out.body);
        assert!(!verified(&b, &t, &access).await, "revoked on A, still valid on B");
        let refreshed = c.refresh(&t, &refresh_token(&signed_in)).await;
        assert_eq!(refreshed.status, 401, "{}", refreshed.body);
        // sign_in_ip is 6 per minute for the whole cluster: one sign-in so far, then
        // attempts spread over the three nodes run out after five more.
        let servers = [&a, &b, &c];
        let mut statuses = Vec::new();
        for i in 0..8 {
            let reply = servers[i % 3]
                .sign_in(&t, "revoked@example.com", "wrong password")
                .await;
            statuses.push(reply.status);
        }
        assert_eq!(
            statuses,
            [401, 401, 401, 401, 401, 429, 429, 429],
            "one limit across three nodes"
        );
        drop(cluster);
    })
    .await
}
