//! Who belongs to the cluster: four nodes starting at once, nodes the others can't
//! authenticate (another CA, another cookie), start-up without certificates, and a
//! single node showing itself.

use super::*;

#[tokio::test]
async fn four_nodes_started_at_once_on_an_empty_database_form_one_cluster() {
    on_postgres(async {
        let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3", "n4"], &[]).await;
        let view = cluster_view(&admin, &cluster.nodes[3].base()).await;
        assert_eq!(up_nodes(&view), ["n1", "n2", "n3", "n4"], "{view}");
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn a_node_with_the_wrong_cookie_never_joins() {
    on_postgres(async {
        let mut cluster = TestCluster::new(&["n1", "n2", "n3"], &[]).await;
        cluster
            .node("n3")
            .env
            .insert("HELLOJOHN_CLUSTER_COOKIE".into(), "another-cookie".into());
        futures_util::future::join_all(cluster.nodes.iter_mut().map(Node::start)).await;
        let admin = attach(&cluster.nodes[0].base()).await;
        wait_for_up(&admin, &cluster.nodes[0].base(), 2).await;
        // Several beats later n3 is still not up anywhere.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let view = cluster_view(&admin, &cluster.nodes[1].base()).await;
        assert_eq!(up_nodes(&view), ["n1", "n2"], "{view}");
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn a_node_with_a_certificate_from_another_ca_never_takes_tenants() {
    on_postgres(async {
        let mut cluster = TestCluster::new(&["n1", "n2", "n3"], &[]).await;
        // n3's certificate and CA come from another authority.
        let foreign = data_dir();
        gen_certs(&foreign, &["n3"]);
        let n3 = cluster.node("n3");
        for (var, file) in [
            ("HELLOJOHN_CLUSTER_TLS_CERT", "n3.pem"),
            ("HELLOJOHN_CLUSTER_TLS_KEY", "n3.key"),
            ("HELLOJOHN_CLUSTER_TLS_CA", "ca.pem"),
        ] {
            n3.env.insert(var.into(), foreign.join(file).display().to_string());
        }
        futures_util::future::join_all(cluster.nodes.iter_mut().map(Node::start)).await;
        let admin = attach(&cluster.nodes[0].base()).await;
        wait_for_up(&admin, &cluster.nodes[0].base(), 2).await;
        wait_for_up(&admin, &cluster.nodes[1].base(), 2).await;
        let good: Vec<Server> = (0..2).map(|i| cluster.on(i, &admin)).collect();
        for i in 0..8 {
            let t = good[i % 2].new_tenant().await;
            good[(i + 1) % 2]
                .sign_up(&t, "trusted@example.com", "long enough password")
                .await;
            let signed_in = good[i % 2]
                .sign_in(&t, "trusted@example.com", "long enough password")
                .await;
            assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        }
        let view = cluster_view(&admin, &good[0].base).await;
        let n3 = view["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "n3")
            .expect("n3 is listed");
        assert_eq!(n3["state"], "down", "{view}");
        assert_eq!(n3["tenants"], 0, "{view}");
        assert!(
            view["placements"].as_array().unwrap().iter().all(|p| p["node"] != "n3"),
            "{view}"
        );
        // The unreachable node is not ready (once it has read the member list: alone, a
        // first node is), so a load balancer sends it nothing.
        let deadline = Instant::now() + Duration::from_secs(LEASE_SECS);
        loop {
            let ready = client()
                .get(format!("{}/readyz", cluster.nodes[2].base()))
                .send()
                .await
                .unwrap();
            if ready.status() == 503 {
                break;
            }
            assert!(Instant::now() < deadline, "a node nobody can reach stays ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = &cluster.certs;
        drop(cluster);
    })
    .await
}

#[tokio::test]
async fn clustering_without_certificates_is_a_configuration_error() {
    on_postgres(async {
        let dir = data_dir();
        let mut env = test_env(&dir, free_port());
        env.insert("HELLOJOHN_CLUSTER_LISTEN".into(), format!("127.0.0.1:{}", free_port()));
        env.insert("HELLOJOHN_CLUSTER_COOKIE".into(), "c".into());
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
            .env_clear()
            .envs(&env)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("HELLOJOHN_CLUSTER_TLS_CERT"), "{stderr}");
        assert!(stderr.contains("gen-certs"), "{stderr}");
    })
    .await
}

matrix! {
    async fn a_single_node_shows_itself_as_its_cluster() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "alone@example.com", "long enough password").await;
        let view = s.admin(Method::GET, "/cp/v1/cluster", None).await;
        assert_eq!(view.status, 200, "{}", view.body);
        let nodes = view.body["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 1, "{}", view.body);
        assert_eq!(nodes[0]["state"], "up");
        assert!(nodes[0]["name"].as_str().is_some_and(|n| !n.is_empty()));
        assert!(nodes[0]["last_heartbeat_at"].as_str().is_some());
        let placement = view.body["placements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["tenant_id"] == t.id.as_str())
            .cloned()
            .expect("a running tenant is placed");
        assert_eq!(placement["node"], nodes[0]["name"]);
        assert!(placement["lease_expires_at"].as_str().is_some());
        assert!(nodes[0]["tenants"].as_u64().unwrap() >= 1);
        let anonymous = client().get(s.url("/cp/v1/cluster")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
    }
}

#[tokio::test]
async fn a_joining_node_takes_only_its_share_and_the_old_owners_let_go() {
    on_postgres(async {
        let mut cluster = TestCluster::new(&["n1", "n2", "n3"], &[]).await;
        futures_util::future::join_all(cluster.nodes[..2].iter_mut().map(Node::start)).await;
        let admin = attach(&cluster.nodes[0].base()).await;
        for node in &cluster.nodes[..2] {
            wait_for_up(&admin, &node.base(), 2).await;
        }
        let first = cluster.on(0, &admin);
        let mut tenants = Vec::new();
        for _ in 0..12 {
            let t = first.new_tenant().await;
            first.sign_up(&t, "stays@example.com", "long enough password").await;
            tenants.push(t);
        }
        let mut before = HashMap::new();
        for t in &tenants {
            before.insert(t.id.clone(), owner_of(&admin, &first.base, &t.id).await.unwrap());
        }
        cluster.node("n3").start().await;
        for node in &cluster.nodes {
            wait_for_up(&admin, &node.base(), 3).await;
        }
        // Every tenant still answers, through every node (503s while one moves are retried).
        for (i, t) in tenants.iter().enumerate() {
            let server = cluster.on(i % 3, &admin);
            let deadline = Instant::now() + Duration::from_secs(LEASE_SECS + 5);
            let body = json!({"email": "stays@example.com", "password": "long enough password"});
            let (reply, _) = retrying(&server, "/v1/auth/sign-in", &t.pk, body, deadline).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
        }
        let mut moved = 0;
        for t in &tenants {
            let now = owner_of(&admin, &first.base, &t.id).await.unwrap();
            if now != before[&t.id] {
                // Rendezvous hashing: a tenant only ever moves to the node that joined.
                assert_eq!(now, "n3", "{} moved between old nodes", t.id);
                moved += 1;
            }
        }
        assert!((1..12).contains(&moved), "{moved} of 12 tenants moved to the new node");
        // The old owners stopped the actors of the tenants they handed over: each node
        // runs exactly the tenants it holds a lease for.
        let deadline = Instant::now() + Duration::from_secs(LEASE_SECS);
        loop {
            let view = cluster_view(&admin, &first.base).await;
            let mut agree = true;
            for node in &cluster.nodes {
                let owned = view["placements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["node"] == node.name.as_str())
                    .count();
                let running = counter(&node.base(), "hellojohn_tenant_actors").await as usize;
                agree &= owned == running;
            }
            if agree {
                break;
            }
            assert!(Instant::now() < deadline, "a node runs tenants it does not own: {view}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drop(cluster);
    })
    .await
}

/// The console's node charts: any node shows every node's traffic, the peers' as their
/// heartbeats carry it (PostgreSQL here, MariaDB in `every_node_shows_every_nodes_traffic_on_mysql`).
async fn every_node_shows_every_nodes_traffic() {
    let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &[]).await;
    let second = cluster.on(1, &admin);
    for _ in 0..30 {
        assert_eq!(client().get(second.url("/health")).send().await.unwrap().status(), 200);
    }
    let first = cluster.on(0, &admin);
    let mut seen = 0.0;
    let mut names = Vec::new();
    for _ in 0..100 {
        let stats = first.admin(Method::GET, "/cp/v1/nodes/stats", None).await;
        assert_eq!(stats.status, 200, "{}", stats.body);
        let nodes = stats.body["nodes"].as_array().unwrap().clone();
        names = nodes.iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect();
        let n2 = nodes.iter().find(|n| n["name"] == "n2");
        seen = n2.map_or(0.0, |n| {
            n["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["requests_per_second"].as_f64().unwrap() * 10.0)
                .sum()
        });
        if seen >= 30.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(names, ["n1", "n2", "n3"]);
    assert!(seen >= 30.0, "n1 sees n2's 30 requests: {seen}");
    drop(cluster);
}

#[tokio::test]
async fn every_node_shows_every_nodes_traffic_on_postgres() {
    on_postgres(every_node_shows_every_nodes_traffic()).await
}

#[tokio::test]
async fn every_node_shows_every_nodes_traffic_on_mysql() {
    on_mysql(every_node_shows_every_nodes_traffic()).await
}
