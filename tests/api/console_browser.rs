//! The admin console in a real browser: Debian's Chromium driven by Playwright
//! (`tests/clients/console_flow.py`) against a server started here. The tour signs in,
//! creates a tenant and copies its keys, creates a user, revokes one of their sessions,
//! adds a webhook and watches a delivery arrive, rotates a signing key and restores a
//! backup while watching its progress; axe-core (npm, `console/node_modules`) checks every
//! page it visits. Everything the console claims to have done is checked here through
//! the API. Screenshots land in `target/browser-artifacts/`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backup::export;
use crate::harness::*;

/// axe-core, installed by `npm ci` in `console/` (which `.ci/run` runs).
fn axe_installed() -> bool {
    let path = format!(
        "{}/console/node_modules/axe-core/axe.min.js",
        env!("CARGO_MANIFEST_DIR")
    );
    crate::browser::present(&path, "axe-core", "cd console && npm ci")
}

#[tokio::test]
async fn the_console_works_in_chromium_and_every_page_passes_axe() {
    if !crate::browser::installed() || !axe_installed() {
        return;
    }
    let shots = format!("{}/target/browser-artifacts", env!("CARGO_MANIFEST_DIR"));
    let Some(mut chromium) = PythonClient::spawn(
        "console_flow.py",
        "playwright, requests",
        "playwright requests",
        &[&shots],
    ) else {
        return;
    };
    let s = start_server(&[
        ("HELLOJOHN_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("HELLOJOHN_WEBHOOK_RETRY_SCHEDULE", "0s,1s"),
        ("HELLOJOHN_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY),
    ]);
    // A backup made elsewhere (same instance key, so its sealed secrets open here),
    // restored through the console into a tenant this server lacks.
    let source = start_server(&[("HELLOJOHN_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY)]);
    let archived = source.new_tenant().await;
    source
        .sign_up(&archived, "archived@example.com", "long enough password")
        .await;
    let backup_path = std::env::temp_dir().join(format!("hj-console-{}.jsonl", archived.id));
    std::fs::write(&backup_path, export(&source, &archived.id).await).unwrap();

    let tour = json!({
        "do": "tour",
        "base": s.url(""),
        "email": ADMIN_EMAIL,
        "password": ADMIN_PASSWORD,
        "backup_path": backup_path.to_str().unwrap(),
    });
    let answer: Value = serde_json::from_str(&chromium.ask(&tour.to_string()).await).unwrap();
    assert!(answer.get("error").is_none(), "{answer:#}");
    assert_eq!(
        answer["console_errors"],
        json!([]),
        "no script errors, CSP violations or failed loads"
    );
    let serious: Vec<(&String, &Value)> = answer["axe"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, violations)| !violations.as_array().unwrap().is_empty())
        .collect();
    assert!(serious.is_empty(), "serious or critical axe violations: {serious:#?}");
    assert!(
        answer["axe"].as_object().unwrap().len() >= 15,
        "every page was checked: {:?}",
        answer["axe"]
    );
    assert_eq!(answer["focus_outline"], "solid", "the focused control shows its focus");
    assert_eq!(
        answer["storage"],
        json!({"local": 0, "session": 0, "cookies": 0}),
        "the token is in memory only"
    );
    assert_eq!(answer["signed_out"], true);

    // The tenant the console created, with the keys it showed once and copied.
    let t = TestTenant {
        id: answer["tenant_id"].as_str().unwrap().to_owned(),
        pk: answer["publishable_key"].as_str().unwrap().to_owned(),
        sk: answer["secret_key"].as_str().unwrap().to_owned(),
    };
    assert_eq!(
        answer["clipboard"],
        t.sk.as_str(),
        "the copy button copied the secret key"
    );
    assert_eq!(
        s.admin(Method::GET, &format!("/cp/v1/tenants/{}", t.id), None)
            .await
            .status,
        200
    );
    let listed = s.call(Method::GET, "/v1/users", Some(&t.sk), None).await;
    assert_eq!(listed.status, 200, "the shown secret key works: {}", listed.body);
    let user_id = answer["user_id"].as_str().unwrap();
    let user = s
        .call(Method::GET, &format!("/v1/users/{user_id}"), Some(&t.sk), None)
        .await;
    assert_eq!(user.body["email"], answer["user_email"]);

    // The revoked session is revoked; the user's other one is not.
    let revoked = answer["revoked_session_id"].as_str().unwrap();
    let session = s
        .call(Method::GET, &format!("/v1/sessions/{revoked}"), Some(&t.sk), None)
        .await;
    assert_eq!(session.body["status"], "revoked", "{}", session.body);
    let others: Vec<&str> = answer["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|id| *id != revoked)
        .collect();
    assert!(!others.is_empty());
    for id in others {
        let other = s
            .call(Method::GET, &format!("/v1/sessions/{id}"), Some(&t.sk), None)
            .await;
        assert_eq!(other.body["status"], "active", "{}", other.body);
    }

    // The webhook exists and its delivery reached the receiver.
    let webhook = s
        .call(
            Method::GET,
            &format!("/v1/webhooks/{}", answer["webhook_id"].as_str().unwrap()),
            Some(&t.sk),
            None,
        )
        .await;
    assert_eq!(webhook.status, 200, "{}", webhook.body);
    assert!(answer["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(answer["receiver_hits"].as_u64().unwrap() >= 1, "{answer:#}");
    assert!(
        answer["delivery_statuses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "succeeded"),
        "{answer:#}"
    );

    // The rotation the console reported is the tenant's current key now.
    let keys = s
        .admin(Method::GET, &format!("/cp/v1/tenants/{}/signing-keys", t.id), None)
        .await;
    let current: Vec<&Value> = keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["status"] == "current")
        .collect();
    assert_eq!(current.len(), 1, "{}", keys.body);
    assert_eq!(current[0]["id"], answer["rotated_key_id"], "{}", keys.body);

    // The restored tenant is whole: its user signs in with the old password.
    assert_eq!(answer["restored_tenant_id"], archived.id.as_str());
    let progress: Vec<f64> = answer["progress_values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let full = answer["progress_max"].as_f64().unwrap();
    assert!(
        full > 0.0 && progress.last() == Some(&full),
        "the bar reached its end: {progress:?} of {full}"
    );
    assert!(
        answer["import_result"].as_str().unwrap().contains("Restored"),
        "{}",
        answer["import_result"]
    );
    let restored = s
        .sign_in(&archived, "archived@example.com", "long enough password")
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    let _ = std::fs::remove_file(backup_path);
}
