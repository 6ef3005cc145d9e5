//! A real cluster on loopback: three or four `hellojohn` processes over one PostgreSQL
//! database, linked with certificates made here by `hellojohn cluster gen-certs`. Every
//! request may land on any node; the tests check that the answers are those of one
//! server: routing, revocation, rate limits, failover after `kill -9`, a clean SIGTERM
//! under load, and a node the others can't authenticate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hellojohn::config::IsolationMode;
use reqwest::Method;
use serde_json::{json, Value};

use crate::backends::{run, Backend};
use crate::harness::*;

/// Short leases keep failover tests quick; the default is 10 s.
const LEASE_SECS: u64 = 3;

/// Makes certificates for `nodes` in `dir` with the binary's own command.
fn gen_certs(dir: &Path, nodes: &[&str]) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_hellojohn"))
        .args(["cluster", "gen-certs", "--out"])
        .arg(dir)
        .args(["--nodes", &nodes.join(",")])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for node in nodes {
        assert!(dir.join(format!("{node}.pem")).is_file());
        assert!(dir.join(format!("{node}.key")).is_file());
    }
    assert!(dir.join("ca.pem").is_file());
}

/// One node's settings and, while it runs, its process.
struct Node {
    name: String,
    env: HashMap<String, String>,
    dir: PathBuf,
    port: u16,
    process: Option<Process>,
}

impl Node {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(&mut self) {
        self.process = Some(spawn_binary(&self.env, &self.dir, self.port).await);
    }

    fn pid(&self) -> u32 {
        self.process.as_ref().unwrap().child.id()
    }

    /// `kill -9`: no goodbye, leases lapse on their own.
    fn kill(&mut self) {
        drop(self.process.take());
    }

    /// SIGTERM, then waits for the process to exit.
    async fn terminate(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut process = self.process.take().unwrap();
        for _ in 0..300 {
            if let Ok(Some(status)) = process.child.try_wait() {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} did not exit after SIGTERM", self.name);
    }
}

/// Nodes sharing one fresh database and one CA.
struct TestCluster {
    nodes: Vec<Node>,
    certs: PathBuf,
}

impl TestCluster {
    /// Settings for `names` (not started); `extra` goes into every node's environment.
    fn new(names: &[&str], extra: &[(&str, &str)]) -> Self {
        let certs = data_dir();
        gen_certs(&certs, names);
        let dir = data_dir();
        let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
        let shared = test_env(&dir, ports[0]);
        let nodes = names
            .iter()
            .zip(&ports)
            .map(|(name, port)| {
                let mut env = shared.clone();
                let cluster_port = free_port();
                let pairs = [
                    ("HELLOJOHN_PORT", port.to_string()),
                    // One public URL for the whole cluster, as behind a load balancer.
                    ("HELLOJOHN_PUBLIC_URL", format!("http://127.0.0.1:{}", ports[0])),
                    ("HELLOJOHN_NODE_NAME", (*name).to_owned()),
                    ("HELLOJOHN_CLUSTER_LISTEN", format!("127.0.0.1:{cluster_port}")),
                    ("HELLOJOHN_CLUSTER_COOKIE", "test-cookie".to_owned()),
                    (
                        "HELLOJOHN_CLUSTER_TLS_CERT",
                        certs.join(format!("{name}.pem")).display().to_string(),
                    ),
                    (
                        "HELLOJOHN_CLUSTER_TLS_KEY",
                        certs.join(format!("{name}.key")).display().to_string(),
                    ),
                    ("HELLOJOHN_CLUSTER_TLS_CA", certs.join("ca.pem").display().to_string()),
                    ("HELLOJOHN_CLUSTER_LEASE", format!("{LEASE_SECS}s")),
                ];
                for (k, v) in pairs {
                    env.insert(k.to_owned(), v);
                }
                if let Ok(dir) = std::env::var("HELLOJOHN_TEST_CLUSTER_LOGS") {
                    env.insert("HELLOJOHN_TEST_STDERR".into(), format!("{dir}/{name}.log"));
                    env.insert("HELLOJOHN_LOG".into(), "info,hellojohn::cluster=debug".into());
                }
                for (k, v) in extra {
                    env.insert((*k).to_owned(), (*v).to_owned());
                }
                Node {
                    name: (*name).to_owned(),
                    env,
                    dir: data_dir(),
                    port: *port,
                    process: None,
                }
            })
            .collect();
        Self { nodes, certs }
    }

    /// Starts every node at once and waits until each sees all of them up.
    async fn start(names: &[&str], extra: &[(&str, &str)]) -> (Self, Server) {
        let mut cluster = Self::new(names, extra);
        futures_util::future::join_all(cluster.nodes.iter_mut().map(Node::start)).await;
        let admin = attach(&cluster.nodes[0].base()).await;
        for node in &cluster.nodes {
            wait_for_up(&admin, &node.base(), names.len()).await;
        }
        (cluster, admin)
    }

    fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.name == name).unwrap()
    }

    /// A [`Server`] handle on node `i` (sharing the admin token).
    fn on(&self, i: usize, admin: &Server) -> Server {
        Server {
            base: self.nodes[i].base(),
            admin_token: admin.admin_token.clone(),
            state: None,
            database_url: None,
            mailbox: None,
        }
    }
}

/// `GET /cp/v1/cluster` through `base`.
async fn cluster_view(admin: &Server, base: &str) -> Value {
    let reply = client()
        .get(format!("{base}/cp/v1/cluster"))
        .bearer_auth(&admin.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

fn up_nodes(view: &Value) -> Vec<String> {
    view["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["state"] == "up")
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `base` is ready and sees `count` nodes up.
async fn wait_for_up(admin: &Server, base: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client()
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready && up_nodes(&cluster_view(admin, base).await).len() == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base} never saw {count} nodes up: {}",
            cluster_view(admin, base).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The node that owns `tenant`, per `/cp/v1/cluster`.
async fn owner_of(admin: &Server, base: &str, tenant: &str) -> Option<String> {
    let view = cluster_view(admin, base).await;
    view["placements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tenant_id"] == tenant)
        .map(|p| p["node"].as_str().unwrap().to_owned())
}

/// A call that retries `503` (honouring its `Retry-After` of one second, in shorter
/// steps) until `deadline`; any other answer is returned.
async fn retrying(server: &Server, path: &str, bearer: &str, body: Value, deadline: Instant) -> (Reply, u32) {
    let mut retries = 0;
    loop {
        let reply = server.call(Method::POST, path, Some(bearer), Some(body.clone())).await;
        if reply.status != 503 || Instant::now() > deadline {
            return (reply, retries);
        }
        assert_eq!(reply.header("retry-after"), Some("1"), "{}", reply.body);
        retries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn refresh_token(reply: &Reply) -> String {
    reply.body["session"]["refresh_token"].as_str().unwrap().to_owned()
}

async fn on_postgres(body: impl std::future::Future<Output = ()>) {
    run(Backend::Postgres(IsolationMode::SeparateSchema), body).await
}

async fn on_mysql(body: impl std::future::Future<Output = ()>) {
    run(Backend::MySql(IsolationMode::SharedSchema), body).await
}

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

/// A counter's value in a node's `/metrics`.
async fn counter(base: &str, name: &str) -> f64 {
    let text = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
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
        drop(cluster);
    })
    .await
}

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

/// Three nodes, a tenant made with `tenant` through the first, and a user signed in
/// there: the cluster, the admin, the first node's handle, the tenant and the user's
/// refresh token.
async fn one_session(tenant: Value) -> (TestCluster, Server, Server, TestTenant, String) {
    let (cluster, admin) = TestCluster::start(&["n1", "n2", "n3"], &[]).await;
    let first = cluster.on(0, &admin);
    let t = first.new_tenant_with(tenant).await;
    first.sign_up(&t, "user@example.com", "long enough password").await;
    let signed_in = first.sign_in(&t, "user@example.com", "long enough password").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let token = refresh_token(&signed_in);
    (cluster, admin, first, t, token)
}

fn named(name: &str) -> Value {
    json!({"name": format!("{name} {}", ulid::Ulid::new())})
}

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
async fn a_node_with_the_wrong_cookie_never_joins() {
    on_postgres(async {
        let mut cluster = TestCluster::new(&["n1", "n2", "n3"], &[]);
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
        let verify = b
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&t.sk),
                Some(json!({"token": access})),
            )
            .await;
        assert_eq!(verify.body["valid"], true, "{}", verify.body);
        let out = a
            .call(Method::POST, "/v1/auth/sign-out", Some(&access), Some(json!({})))
            .await;
        assert_eq!(out.status, 204, "{}", out.body);
        let verify = b
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&t.sk),
                Some(json!({"token": access})),
            )
            .await;
        assert_eq!(verify.status, 200, "{}", verify.body);
        assert_eq!(
            verify.body["valid"], false,
            "revoked on A, still valid on B: {}",
            verify.body
        );
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
async fn a_node_with_a_certificate_from_another_ca_never_takes_tenants() {
    on_postgres(async {
        let mut cluster = TestCluster::new(&["n1", "n2", "n3"], &[]);
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
