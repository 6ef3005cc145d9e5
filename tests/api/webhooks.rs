//! Webhooks end to end: a receiver on loopback records what hellojohn sends, and the
//! official Standard Webhooks library (Python) verifies every signature.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const PASSWORD: &str = "long enough password";

/// One request a receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// A webhook receiver on loopback. `/ok` answers 200, `/fail` 500, `/gone` 410,
/// `/hang` nothing for 15 s, `/flaky` 500 until [`Receiver::heal`] is called.
#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    log: Arc<Mutex<Vec<Received>>>,
    healed: Arc<std::sync::atomic::AtomicBool>,
}

async fn receive(
    State(receiver): State<Receiver>,
    Path(behaviour): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    receiver.log.lock().push(Received {
        path: behaviour.clone(),
        headers,
        body,
        at: Instant::now(),
    });
    match behaviour.as_str() {
        "fail" => StatusCode::INTERNAL_SERVER_ERROR,
        "gone" => StatusCode::GONE,
        "hang" => {
            tokio::time::sleep(Duration::from_secs(15)).await;
            StatusCode::OK
        }
        "flaky" if !receiver.healed.load(std::sync::atomic::Ordering::Relaxed) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            base: format!("http://{}", listener.local_addr().unwrap()),
            log: Arc::default(),
            healed: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/{behaviour}", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    pub fn url(&self, behaviour: &str) -> String {
        format!("{}/{behaviour}", self.base)
    }

    pub fn heal(&self) {
        self.healed.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().clone()
    }

    /// Waits (up to `secs`) until `done` holds for what was received.
    pub async fn wait(&self, secs: u64, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.requests();
            if done(&got) || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Settings of a server whose webhooks may reach the loopback receiver, retrying quickly.
pub fn webhook_settings() -> [(&'static str, &'static str); 2] {
    [
        ("HELLOJOHN_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("HELLOJOHN_WEBHOOK_RETRY_SCHEDULE", "0s,1s,1s"),
    ]
}

/// Registers a webhook; returns (id, signing secret).
pub async fn register(s: &Server, t: &TestTenant, url: &str, events: Value) -> (String, String) {
    let reply = s
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(&t.sk),
            Some(json!({"url": url, "events": events})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let secret = reply.body["signing_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    (reply.body["id"].as_str().unwrap().to_owned(), secret)
}

/// What the Standard Webhooks library says of each request with `secret`, or `None`
/// where the library is not installed (a failure when the suite requires it).
pub async fn verify(requests: &[Received], secret: &str) -> Option<Vec<String>> {
    let mut verifier = PythonClient::spawn(
        "standardwebhooks_verifier.py",
        "standardwebhooks",
        "standardwebhooks",
        &[],
    )?;
    let mut out = Vec::new();
    for r in requests {
        let line = json!({"secret": secret, "headers": r.headers, "body": r.body});
        out.push(verifier.ask(&line.to_string()).await);
    }
    Some(out)
}

matrix! {
    async fn every_event_arrives_signed_and_verifies_with_standard_webhooks() {
        let s = start_server(&webhook_settings());
        let t = s.new_tenant().await;
        let receiver = Receiver::start().await;
        let (webhook, secret) = register(&s, &t, &receiver.url("ok"), json!(["*"])).await;

        let body = s.sign_up(&t, "hooked@example.com", PASSWORD).await;
        let user_id = body["user"]["id"].as_str().unwrap().to_owned();
        let access = body["session"]["access_token"].as_str().unwrap().to_owned();
        let session_id = body["session"]["id"].as_str().unwrap().to_owned();
        let user_path = format!("/v1/users/{user_id}");
        assert_eq!(s.call(Method::PATCH, &user_path, Some(&t.sk), Some(json!({"name": "Hooked"}))).await.status, 200);
        assert_eq!(s.call(Method::POST, &format!("{user_path}/disable"), Some(&t.sk), None).await.status, 200);
        assert_eq!(s.call(Method::POST, &format!("{user_path}/enable"), Some(&t.sk), None).await.status, 200);
        let signed_in = s.sign_in(&t, "hooked@example.com", PASSWORD).await;
        let access2 = signed_in.body["session"]["access_token"].as_str().unwrap_or(&access).to_owned();
        let changed = s
            .call(
                Method::POST,
                "/v1/auth/password/change",
                Some(&access2),
                Some(json!({"current_password": PASSWORD, "new_password": "another long password"})),
            )
            .await;
        assert!(changed.status < 300, "{}", changed.body);
        let org = s.call(Method::POST, "/v1/organizations", Some(&t.sk), Some(json!({"name": "Hooks Inc"}))).await;
        assert_eq!(org.status, 201, "{}", org.body);
        let org_path = format!("/v1/organizations/{}", org.body["id"].as_str().unwrap());
        s.call(Method::POST, &format!("{org_path}/members"), Some(&t.sk), Some(json!({"user_id": user_id, "role": "member"}))).await;
        s.call(Method::PATCH, &org_path, Some(&t.sk), Some(json!({"name": "Hooks Ltd"}))).await;
        s.call(Method::DELETE, &org_path, Some(&t.sk), None).await;
        s.call(Method::DELETE, &format!("/v1/sessions/{session_id}"), Some(&t.sk), None).await;
        let tested = s.call(Method::POST, &format!("/v1/webhooks/{webhook}/test"), Some(&t.sk), None).await;
        assert_eq!(tested.status, 202, "{}", tested.body);
        assert_eq!(s.call(Method::DELETE, &user_path, Some(&t.sk), None).await.status, 204);

        let expected = [
            "user.created", "session.created", "user.updated", "user.disabled", "user.enabled",
            "user.password_changed", "organization.created", "organization.member.added",
            "organization.updated", "organization.deleted", "session.revoked", "webhook.test", "user.deleted",
        ];
        let got = receiver
            .wait(20, |got| expected.iter().all(|e| got.iter().any(|r| r.event_type() == *e)))
            .await;
        let types: Vec<String> = got.iter().map(Received::event_type).collect();
        for e in expected {
            assert!(types.iter().any(|t| t == e), "{e} missing from {types:?}");
        }
        for r in &got {
            let event = r.json();
            assert_eq!(event["tenant_id"], t.id.as_str());
            assert!(event["id"].as_str().unwrap().starts_with("evt_"));
            assert_eq!(r.headers["webhook-id"], event["id"].as_str().unwrap());
            assert_eq!(r.headers["x-hellojohn-event"], event["type"].as_str().unwrap());
            assert!(r.headers["x-hellojohn-delivery-id"].starts_with("del_"));
            assert!(!r.body.contains("password_hash") && !r.body.contains("refresh_token"), "{}", r.body);
        }
        if let Some(answers) = verify(&got, &secret).await {
            for (answer, r) in answers.iter().zip(&got) {
                assert_eq!(answer, &format!("ok {}", r.event_type()), "{}", r.body);
            }
            // A wrong secret fails: the check is real.
            let wrong = verify(&got[..1], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await.unwrap();
            assert!(wrong[0].starts_with("error"), "{wrong:?}");
        }
    }

    async fn failures_retry_with_one_webhook_id_then_fail_for_good_and_can_be_retried() {
        let s = start_server(&webhook_settings());
        let t = s.new_tenant().await;
        let receiver = Receiver::start().await;
        let (webhook, _) = register(&s, &t, &receiver.url("fail"), json!(["user.created"])).await;
        s.sign_up(&t, "retried@example.com", PASSWORD).await;
        // The schedule 0s,1s,1s: three attempts, then permanently_failed.
        let got = receiver.wait(10, |got| got.len() >= 3).await;
        assert_eq!(got.len(), 3, "three attempts");
        assert!(got.iter().all(|r| r.headers["webhook-id"] == got[0].headers["webhook-id"]));
        let deliveries_path = format!("/v1/webhooks/{webhook}/deliveries");
        let mut listed = Value::Null;
        for _ in 0..50 {
            listed = s.call(Method::GET, &deliveries_path, Some(&t.sk), None).await.body;
            if listed["data"][0]["status"] == "permanently_failed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let delivery = &listed["data"][0];
        assert_eq!(delivery["status"], "permanently_failed", "{listed}");
        assert_eq!(delivery["attempts"], 3);
        assert_eq!(delivery["http_status"], 500);
        let filtered = s.call(Method::GET, &format!("{deliveries_path}?status=succeeded"), Some(&t.sk), None).await;
        assert_eq!(filtered.body["data"].as_array().unwrap().len(), 0);
        s.call(Method::GET, &format!("{deliveries_path}?status=bogus"), Some(&t.sk), None)
            .await
            .assert_error(400, "invalid_request");
        let retried = s
            .call(
                Method::POST,
                &format!("{deliveries_path}/{}/retry", delivery["id"].as_str().unwrap()),
                Some(&t.sk),
                None,
            )
            .await;
        assert_eq!(retried.status, 202, "{}", retried.body);
        let again = receiver.wait(5, |got| got.len() >= 4).await;
        assert_eq!(again.len(), 4, "a manual retry sends once more");
        assert_eq!(again[3].headers["webhook-id"], got[0].headers["webhook-id"]);
    }

    async fn a_gone_receiver_disables_its_webhook() {
        let s = start_server(&webhook_settings());
        let t = s.new_tenant().await;
        let receiver = Receiver::start().await;
        let (webhook, _) = register(&s, &t, &receiver.url("gone"), json!(["*"])).await;
        s.call(Method::POST, &format!("/v1/webhooks/{webhook}/test"), Some(&t.sk), None).await;
        receiver.wait(5, |got| !got.is_empty()).await;
        let mut status = Value::Null;
        for _ in 0..50 {
            status = s.call(Method::GET, &format!("/v1/webhooks/{webhook}"), Some(&t.sk), None).await.body["status"].clone();
            if status == "disabled" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "disabled");
        s.sign_up(&t, "after-gone@example.com", PASSWORD).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(receiver.requests().len(), 1, "nothing more goes to a disabled webhook");
    }

    async fn a_rotated_secret_signs_beside_the_new_one() {
        let s = start_server(&webhook_settings());
        let t = s.new_tenant().await;
        let receiver = Receiver::start().await;
        let (webhook, old) = register(&s, &t, &receiver.url("ok"), json!(["webhook.test"])).await;
        let rotated = s.call(Method::POST, &format!("/v1/webhooks/{webhook}/rotate-secret"), Some(&t.sk), None).await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let new = rotated.body["signing_secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        s.call(Method::POST, &format!("/v1/webhooks/{webhook}/test"), Some(&t.sk), None).await;
        let got = receiver.wait(5, |got| !got.is_empty()).await;
        assert_eq!(got[0].headers["webhook-signature"].split(' ').count(), 2, "both secrets sign");
        if let (Some(with_new), Some(with_old)) = (verify(&got, &new).await, verify(&got, &old).await) {
            assert_eq!(with_new, ["ok webhook.test"]);
            assert_eq!(with_old, ["ok webhook.test"]);
        }
        let listed = s.call(Method::GET, "/v1/webhooks", Some(&t.sk), None).await;
        assert_eq!(listed.body["data"][0]["id"], webhook.as_str());
        assert!(listed.body["data"][0].get("signing_secret").is_none(), "secrets are shown once");
    }
}

/// Waits (up to 5 s) until no webhook dispatcher runs on the node; whether none does.
async fn dispatchers_stop(s: &Server) -> bool {
    let registry = s.state.as_ref().unwrap().control.registry().clone();
    for _ in 0..100 {
        if registry.webhook_dispatchers() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

matrix! {
    async fn a_dispatcher_runs_only_while_its_tenant_has_webhook_work() {
        let mut settings = webhook_settings().to_vec();
        settings.push(("HELLOJOHN_TENANT_IDLE_TIMEOUT", "1m"));
        let s = start_server(&settings);
        let registry = s.state.as_ref().unwrap().control.registry().clone();
        let quiet = s.new_tenant().await;
        let t = s.new_tenant().await;
        assert_eq!(s.call(Method::GET, &format!("/v1/jwks/{}", quiet.id), None, None).await.status, 200);
        assert!(registry.is_running(&quiet.id));
        assert!(dispatchers_stop(&s).await, "a tenant without webhook work runs no dispatcher");

        let receiver = Receiver::start().await;
        register(&s, &t, &receiver.url("ok"), json!(["user.created"])).await;
        s.sign_up(&t, "first@example.com", "long enough password").await;
        let got = receiver.wait(10, |got| got.len() == 1).await;
        assert_eq!(got.len(), 1, "an event starts the dispatcher");
        assert!(dispatchers_stop(&s).await, "a dispatcher stops once its work is done");
        assert!(registry.is_running(&t.id), "the tenant itself stays up");

        s.sign_up(&t, "second@example.com", "long enough password").await;
        let got = receiver.wait(10, |got| got.len() == 2).await;
        assert_eq!(got.len(), 2, "the next event starts it again");
        assert!(got[1].body.contains("second@example.com"));
    }
}

matrix! {
    async fn only_committed_changes_are_delivered() {
        let s = start_server(&webhook_settings());
        let t = s.new_tenant().await;
        let receiver = Receiver::start().await;
        register(&s, &t, &receiver.url("ok"), json!(["user.updated"])).await;
        let user = s.sign_up(&t, "racer@example.com", PASSWORD).await;
        let path = format!("/v1/users/{}", user["user"]["id"].as_str().unwrap());
        // Concurrent changes of one user: each commits with its event or, losing the
        // version guard, commits nothing and sends nothing.
        let replies = futures_util::future::join_all(
            (0..12).map(|i| s.call(Method::PATCH, &path, Some(&t.sk), Some(json!({"name": format!("Name {i}")})))),
        )
        .await;
        let committed = replies.iter().filter(|r| r.status == 200).count();
        assert!(replies.iter().all(|r| r.status == 200 || r.status == 409), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
        assert!(committed >= 1);
        let got = receiver.wait(10, |got| got.len() >= committed).await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let delivered = receiver.requests().len();
        assert_eq!(delivered, committed, "one delivery per committed change ({} seen before settling)", got.len());
        // A refused sign-up (the email is taken) commits nothing either.
        let refused = s
            .call(Method::POST, "/v1/auth/sign-up", Some(&t.pk), Some(json!({"email": "racer@example.com", "password": PASSWORD})))
            .await;
        assert!(refused.status >= 400, "{}", refused.body);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(receiver.requests().len(), delivered);
    }
}

/// Runs the tenant's webhook-log housekeeping now; how many deliveries it removed.
async fn purge_log(s: &Server, t: &TestTenant) -> usize {
    let control = &s.state.as_ref().expect("in-process server").control;
    let ctx =
        hellojohn::tenant::context::TenantContext::load(&t.id, control.registry().deps().clone(), Default::default())
            .await
            .unwrap();
    hellojohn::webhooks::dispatcher::purge_finished(&ctx).await.unwrap()
}

matrix! {
    async fn finished_deliveries_leave_the_log_after_the_tenant_retention() {
        let s = start_server(&webhook_settings());
        let t = s.new_tenant().await;
        let path = format!("/cp/v1/tenants/{}", t.id);
        let refused = s.admin(Method::PATCH, &path, Some(json!({"auth_config": {"webhook_retention_days": 0}}))).await;
        refused.assert_error(400, "invalid_request");
        assert_eq!(refused.body["error"]["field"], "auth_config.webhook_retention_days");
        let set = s.admin(Method::PATCH, &path, Some(json!({"auth_config": {"webhook_retention_days": 7}}))).await;
        assert_eq!(set.status, 200, "{}", set.body);
        assert_eq!(set.body["auth_config"]["webhook_retention_days"], 7);
        let receiver = Receiver::start().await;
        let (webhook, _) = register(&s, &t, &receiver.url("ok"), json!(["*"])).await;
        s.call(Method::POST, &format!("/v1/webhooks/{webhook}/test"), Some(&t.sk), None).await;
        receiver.wait(5, |got| !got.is_empty()).await;
        let log = format!("/v1/webhooks/{webhook}/deliveries");
        let mut listed = Value::Null;
        for _ in 0..50 {
            listed = s.call(Method::GET, &log, Some(&t.sk), None).await.body;
            if listed["data"][0]["status"] == "succeeded" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(listed["data"][0]["status"], "succeeded", "{listed}");
        s.advance_clock(6 * 86_400);
        assert_eq!(purge_log(&s, &t).await, 0, "kept within the tenant's 7 days");
        s.advance_clock(2 * 86_400);
        assert_eq!(purge_log(&s, &t).await, 1, "removed after them");
        let after = s.call(Method::GET, &log, Some(&t.sk), None).await;
        assert_eq!(after.body["data"].as_array().unwrap().len(), 0, "{}", after.body);
    }
}

#[tokio::test]
async fn a_hanging_receiver_delays_no_other_tenant() {
    let s = start_server(&webhook_settings());
    let receiver = Receiver::start().await;
    let (slow, fast) = (s.new_tenant().await, s.new_tenant().await);
    let (slow_hook, _) = register(&s, &slow, &receiver.url("hang"), json!(["*"])).await;
    let (fast_hook, _) = register(&s, &fast, &receiver.url("ok"), json!(["*"])).await;
    // A second webhook of the slow tenant must not wait behind its hanging one either.
    let (slow_second, _) = register(&s, &slow, &receiver.url("ok"), json!(["webhook.test"])).await;
    for _ in 0..3 {
        s.call(
            Method::POST,
            &format!("/v1/webhooks/{slow_hook}/test"),
            Some(&slow.sk),
            None,
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = Instant::now();
    s.call(
        Method::POST,
        &format!("/v1/webhooks/{fast_hook}/test"),
        Some(&fast.sk),
        None,
    )
    .await;
    s.call(
        Method::POST,
        &format!("/v1/webhooks/{slow_second}/test"),
        Some(&slow.sk),
        None,
    )
    .await;
    let got = receiver
        .wait(5, |got| got.iter().filter(|r| r.path == "ok").count() >= 2)
        .await;
    let arrived: Vec<&Received> = got.iter().filter(|r| r.path == "ok").collect();
    assert_eq!(arrived.len(), 2, "{got:?}");
    for r in arrived {
        assert!(
            r.at.duration_since(sent) < Duration::from_secs(2),
            "arrived after {:?}",
            r.at.duration_since(sent)
        );
    }
}

#[tokio::test]
async fn webhook_targets_are_refused_when_internal() {
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://2130706433/hook",
        "http://0x7f.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://localhost/hook",
        "ftp://example.com/hook",
    ] {
        let reply = s
            .call(
                Method::POST,
                "/v1/webhooks",
                Some(&t.sk),
                Some(json!({"url": url, "events": ["*"]})),
            )
            .await;
        reply.assert_error(400, "invalid_request");
        assert_eq!(reply.body["error"]["field"], "url", "{url}: {}", reply.body);
    }
    let reply = s
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(&t.sk),
            Some(json!({"url": "https://example.com/x", "events": ["user.exploded"]})),
        )
        .await;
    assert_eq!(reply.body["error"]["field"], "events", "{}", reply.body);
    s.call(Method::GET, "/v1/webhooks", Some(&t.pk), None)
        .await
        .assert_error(401, "invalid_api_key");
}

#[tokio::test]
async fn events_acknowledged_before_a_kill_9_are_delivered_after_the_restart() {
    let dir = data_dir();
    let port = free_port();
    let mut env = test_env(&dir, port);
    env.insert("HELLOJOHN_ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    env.insert("HELLOJOHN_WEBHOOK_ALLOW_PRIVATE".into(), "true".into());
    env.insert(
        "HELLOJOHN_WEBHOOK_RETRY_SCHEDULE".into(),
        "0s,1s,1s,1s,1s,1s,1s,1s,1s,1s".into(),
    );
    let receiver = Receiver::start().await;
    let t = {
        let mut process = spawn_binary(&env, &dir, port).await;
        let server = attach(&process.base).await;
        let t = server.new_tenant().await;
        register(&server, &t, &receiver.url("flaky"), json!(["user.created"])).await;
        for i in 0..5 {
            server.sign_up(&t, &format!("kill{i}@example.com"), PASSWORD).await;
        }
        // Acknowledged: now the process dies without a chance to flush anything.
        process.child.kill().unwrap();
        process.child.wait().unwrap();
        t
    };
    let healed_at = Instant::now();
    receiver.heal();
    let _restarted = spawn_binary(&env, &dir, port).await;
    // Deliveries in flight at the kill keep their claim for 15 s before they go again.
    let got = receiver
        .wait(45, |got| {
            (0..5).all(|i| {
                got.iter()
                    .any(|r| r.at > healed_at && r.body.contains(&format!("kill{i}@example.com")))
            })
        })
        .await;
    for i in 0..5 {
        let email = format!("kill{i}@example.com");
        assert!(
            got.iter().any(|r| r.at > healed_at && r.body.contains(&email)),
            "{email} was not delivered after the restart ({} requests)",
            got.len()
        );
    }
    let _ = t;
}
