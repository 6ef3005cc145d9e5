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

mod coherence;
mod failover;
mod membership;

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

    /// Sends `signal` (`STOP`, `CONT`, …) to the process.
    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
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
    /// One of the few cluster slots: every node holds database connections, and the
    /// suite's other servers share the test PostgreSQL's 100.
    _slot: tokio::sync::SemaphorePermit<'static>,
}

/// At most this many test clusters run at once.
static CLUSTER_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

impl TestCluster {
    /// Settings for `names` (not started); `extra` goes into every node's environment.
    async fn new(names: &[&str], extra: &[(&str, &str)]) -> Self {
        let slot = CLUSTER_SLOTS.acquire().await.unwrap();
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
        Self {
            nodes,
            certs,
            _slot: slot,
        }
    }

    /// Starts every node at once and waits until each sees all of them up.
    async fn start(names: &[&str], extra: &[(&str, &str)]) -> (Self, Server) {
        let mut cluster = Self::new(names, extra).await;
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

/// A call that retries `503` (each carries a `Retry-After`; retried sooner, in short
/// steps) until `deadline`; any other answer is returned.
async fn retrying(server: &Server, path: &str, bearer: &str, body: Value, deadline: Instant) -> (Reply, u32) {
    let mut retries = 0;
    loop {
        let reply = server.call(Method::POST, path, Some(bearer), Some(body.clone())).await;
        if reply.status != 503 || Instant::now() > deadline {
            return (reply, retries);
        }
        // A tenant on the move says one second; a node's own overload may say more.
        assert!(reply.header("retry-after").is_some(), "{}", reply.body);
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
