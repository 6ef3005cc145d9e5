//! Nodes leaving and failing: `kill -9` of a tenant's owner (requests and owed webhook
//! deliveries resume within the lease), SIGTERM under a stream of refreshes, and a
//! rolling restart of every node.

use super::*;

#[tokio::test]
async fn a_rolling_restart_of_every_node_fails_no_request() {
    on_postgres(async {
        let (mut cluster, admin, _, t, mut token) = one_session(named("Rolling")).await;
        let names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
        let mut refreshes = 0;
        for restarting in &names {
            cluster.node(restarting).terminate().await;
            // While it is away, refreshes go through the others.
            for server in (0..3)
                .filter(|i| cluster.nodes[*i].name != *restarting)
                .map(|i| cluster.on(i, &admin))
            {
                let deadline = Instant::now() + Duration::from_secs(LEASE_SECS + 5);
                let body = json!({"refresh_token": token});
                let (reply, _) = retrying(&server, "/v1/auth/token/refresh", &t.pk, body, deadline).await;
                assert_eq!(reply.status, 200, "refresh while {restarting} restarts: {}", reply.body);
                token = refresh_token(&reply);
                refreshes += 1;
            }
            cluster.node(restarting).start().await;
            for node in &cluster.nodes {
                wait_for_up(&admin, &node.base(), 3).await;
            }
        }
        // After the roll every node still serves the same session.
        for i in 0..3 {
            let server = cluster.on(i, &admin);
            let deadline = Instant::now() + Duration::from_secs(LEASE_SECS + 5);
            let body = json!({"refresh_token": token});
            let (reply, _) = retrying(&server, "/v1/auth/token/refresh", &t.pk, body, deadline).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            token = refresh_token(&reply);
            refreshes += 1;
        }
        assert_eq!(refreshes, 9);
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn a_killed_owner_s_tenants_are_served_elsewhere_within_the_lease() {
    on_postgres(async {
        let tenant = json!({"name": "Failover", "auth_config": {"refresh_reuse_interval": 0}});
        let (mut cluster, admin, first, t, rotated) = one_session(tenant).await;
        let latest = refresh_token(&first.refresh(&t, &rotated).await);
        let owner = owner_of(&admin, &first.base, &t.id).await.unwrap();
        let survivor = cluster.nodes.iter().position(|n| n.name != owner).unwrap();
        let survivor_server = cluster.on(survivor, &admin);
        cluster.node(&owner).kill();
        let killed = Instant::now();
        // While its lease runs out the tenant is moving: 503 with a one-second Retry-After.
        let moving = survivor_server.refresh(&t, &latest).await;
        moving.assert_error(503, "service_unavailable");
        assert_eq!(moving.header("retry-after"), Some("1"), "{}", moving.body);
        let deadline = killed + Duration::from_secs(LEASE_SECS + 2);
        let body = json!({"refresh_token": latest});
        let (reply, _) = retrying(&survivor_server, "/v1/auth/token/refresh", &t.pk, body, deadline).await;
        let elapsed = killed.elapsed();
        assert_eq!(
            reply.status, 200,
            "not served again within lease + 2 s ({elapsed:?}): {}",
            reply.body
        );
        eprintln!("failover after kill -9: served again in {elapsed:?}");
        let new_owner = owner_of(&admin, &survivor_server.base, &t.id).await.unwrap();
        assert_ne!(new_owner, owner);
        // The rotated token is still refused: the family did not fork over the move.
        let reused = survivor_server.refresh(&t, &rotated).await;
        reused.assert_error(401, "session_revoked");
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn webhook_deliveries_of_a_killed_owner_resume_on_the_new_one() {
    on_postgres(async {
        let settings = [
            ("HELLOJOHN_WEBHOOK_ALLOW_PRIVATE", "true"),
            ("HELLOJOHN_WEBHOOK_RETRY_SCHEDULE", "0s,2s,2s,2s,2s,2s"),
        ];
        let (mut cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &settings).await;
        let first = cluster.on(0, &admin);
        let receiver = crate::webhooks::Receiver::start().await;
        let t = first.new_tenant().await;
        crate::webhooks::register(&first, &t, &receiver.url("flaky"), json!(["user.created"])).await;
        first.sign_up(&t, "outbox@example.com", "long enough password").await;
        // The first attempt fails; then the owner dies with the delivery still owed.
        let failed = receiver.wait(10, |got| !got.is_empty()).await;
        assert!(!failed.is_empty(), "no first attempt");
        let owner = owner_of(&admin, &first.base, &t.id).await.unwrap();
        cluster.node(&owner).kill();
        receiver.heal();
        let healed_at = Instant::now();
        // No request reaches the tenant: the survivors' sweep finds the owed delivery.
        let got = receiver
            .wait(LEASE_SECS + 15, |got| got.iter().any(|r| r.at > healed_at))
            .await;
        let after: Vec<_> = got.iter().filter(|r| r.at > healed_at).collect();
        assert!(!after.is_empty(), "the delivery never resumed after the owner died");
        assert_eq!(after[0].event_type(), "user.created");
        eprintln!(
            "webhook delivery resumed {:?} after the owner's kill -9",
            after[0].at - healed_at
        );
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn sigterm_under_a_stream_of_refreshes_fails_no_request() {
    on_postgres(async {
        let (mut cluster, admin, first, t, mut token) = one_session(named("Steady")).await;
        let owner = owner_of(&admin, &first.base, &t.id).await.unwrap();
        let others: Vec<Server> = (0..3)
            .filter(|i| cluster.nodes[*i].name != owner)
            .map(|i| cluster.on(i, &admin))
            .collect();
        // A steady stream through the two other nodes while the owner leaves.
        let stream = async {
            let (mut ok, mut retries) = (0, 0);
            let end = Instant::now() + Duration::from_secs(LEASE_SECS + 3);
            while Instant::now() < end {
                let server = &others[ok % 2];
                let body = json!({"refresh_token": token});
                let deadline = Instant::now() + Duration::from_secs(10);
                let (reply, retried) = retrying(server, "/v1/auth/token/refresh", &t.pk, body, deadline).await;
                assert_eq!(reply.status, 200, "a refresh failed while a node left: {}", reply.body);
                token = refresh_token(&reply);
                ok += 1;
                retries += retried;
            }
            (ok, retries)
        };
        let leave = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            cluster.node(&owner).terminate().await;
        };
        let ((ok, retries), ()) = tokio::join!(stream, leave);
        eprintln!("SIGTERM of the owner: {ok} refreshes, {retries} retried 503s, none failed");
        assert!(ok > 5);
        let new_owner = owner_of(&admin, &others[0].base, &t.id).await.unwrap();
        assert_ne!(new_owner, owner);
        // The node that left is shown leaving or down, never up.
        let view = cluster_view(&admin, &others[0].base).await;
        assert!(!up_nodes(&view).contains(&owner), "{view}");
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn a_frozen_owner_is_treated_like_a_dead_one() {
    on_postgres(async {
        // SIGSTOP: the process stops answering but its TCP sessions stay open, as in a
        // partition the kernel has not noticed. Peers must stop counting the link.
        let tenant = json!({"name": "Frozen", "auth_config": {"refresh_reuse_interval": 0}});
        let (mut cluster, admin, first, t, token) = one_session(tenant).await;
        let owner = owner_of(&admin, &first.base, &t.id).await.unwrap();
        let survivor = cluster.nodes.iter().position(|n| n.name != owner).unwrap();
        let survivor_server = cluster.on(survivor, &admin);
        cluster.node(&owner).signal("STOP");
        let frozen = Instant::now();
        // The frozen node stops heartbeating: within a lease and a beat it is no longer up.
        let deadline = frozen + Duration::from_secs(LEASE_SECS + 2);
        while up_nodes(&cluster_view(&admin, &survivor_server.base).await).contains(&owner) {
            assert!(Instant::now() < deadline, "a frozen node still counts as up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its tenant is served again by a survivor (the kill -9 test holds the timing to
        // lease + 2 s; here the point is that nothing stays wedged on the frozen node).
        let deadline = frozen + Duration::from_secs(60);
        let body = json!({"refresh_token": token});
        let (reply, _) = retrying(&survivor_server, "/v1/auth/token/refresh", &t.pk, body, deadline).await;
        let elapsed = frozen.elapsed();
        assert_eq!(
            reply.status, 200,
            "not served again after the owner froze ({elapsed:?}): {}",
            reply.body
        );
        eprintln!("frozen owner: served again by a survivor after {elapsed:?}");
        let view = cluster_view(&admin, &survivor_server.base).await;
        assert!(
            !up_nodes(&view).contains(&owner),
            "a frozen node still counts as up: {view}"
        );
        // Thawed, it finds its leases gone and takes nothing back by force.
        cluster.node(&owner).signal("CONT");
        let again = survivor_server.refresh(&t, &refresh_token(&reply)).await;
        assert_eq!(again.status, 200, "{}", again.body);
        drop(cluster);
    })
    .await
}
