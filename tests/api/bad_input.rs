//! Bad input gets the contract's 4xx envelope, never a 500.

use reqwest::{Client, Method};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn malformed_missing_and_mistyped_bodies_are_400_naming_the_field() {
    let s = shared();
    let t = s.new_tenant().await;
    let client = Client::new();
    let raw = |body: &'static str| {
        client
            .post(s.url("/v1/auth/sign-up"))
            .header("X-Client-Id", &t.pk)
            .header("content-type", "application/json")
            .body(body)
    };
    for body in [
        "{",
        "",
        "[]",
        "null",
        "{\"email\": \"a@b.io\", \"password\": \"long enough\"} trailing",
        "\u{0}",
    ] {
        let reply = Reply::from(raw(body).send().await.unwrap()).await;
        reply.assert_error(400, "invalid_request");
    }
    let missing = s
        .call(
            Method::POST,
            "/v1/auth/sign-up",
            Some(&t.pk),
            Some(json!({"email": "a@b.io"})),
        )
        .await;
    missing.assert_error(400, "invalid_request");
    assert_eq!(missing.body["error"]["field"], "password");
    let typed = s
        .call(
            Method::POST,
            "/v1/auth/sign-up",
            Some(&t.pk),
            Some(json!({"email": ["a"], "password": "x"})),
        )
        .await;
    typed.assert_error(400, "invalid_request");
    assert_eq!(typed.body["error"]["field"], "email");
    let cp = s.admin(Method::POST, "/cp/v1/tenants", Some(json!({"name": 42}))).await;
    cp.assert_error(400, "invalid_request");
    assert_eq!(cp.body["error"]["field"], "name");
}

#[tokio::test]
async fn wrong_content_type_and_oversized_bodies_are_415_and_413() {
    let s = shared();
    let t = s.new_tenant().await;
    let client = Client::new();
    let plain = client
        .post(s.url("/v1/auth/sign-in"))
        .header("X-Client-Id", &t.pk)
        .header("content-type", "text/plain")
        .body("{}");
    Reply::from(plain.send().await.unwrap())
        .await
        .assert_error(415, "unsupported_media_type");
    let none = client
        .post(s.url("/v1/auth/sign-in"))
        .header("X-Client-Id", &t.pk)
        .body("{}");
    Reply::from(none.send().await.unwrap())
        .await
        .assert_error(415, "unsupported_media_type");
    let big = format!("{{\"email\": \"{}\", \"password\": \"x\"}}", "a".repeat(70 * 1024));
    let oversized = client
        .post(s.url("/v1/auth/sign-in"))
        .header("X-Client-Id", &t.pk)
        .header("content-type", "application/json")
        .body(big);
    Reply::from(oversized.send().await.unwrap())
        .await
        .assert_error(413, "payload_too_large");
    let cp_big = client
        .post(s.url("/cp/v1/tenants"))
        .bearer_auth(&s.admin_token)
        .header("content-type", "application/json")
        .body(format!("{{\"name\": \"{}\"}}", "n".repeat(65 * 1024)));
    Reply::from(cp_big.send().await.unwrap())
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn invalid_values_get_the_contract_codes() {
    let s = shared();
    let t = s.new_tenant().await;
    let sign_up = |email: String, password: &str| json!({"email": email, "password": password});
    let cases = [
        (
            sign_up("not-an-email".into(), "long enough password"),
            422,
            "invalid_email",
        ),
        (
            sign_up(format!("{}@example.com", "a".repeat(300)), "long enough password"),
            422,
            "invalid_email",
        ),
        (
            sign_up("nul\u{0}@example.com".into(), "long enough password"),
            422,
            "invalid_email",
        ),
        (sign_up("ok@example.com".into(), "short"), 422, "password_too_weak"),
        (
            sign_up("ok@example.com".into(), &"p".repeat(257)),
            422,
            "password_too_weak",
        ),
    ];
    for (body, status, code) in cases {
        s.call(Method::POST, "/v1/auth/sign-up", Some(&t.pk), Some(body))
            .await
            .assert_error(status, code);
    }
    // Unknown fields are ignored, never applied.
    let body = json!({"email": "Mass@Example.com", "password": "long enough password", "email_verified": true,
                      "role": "admin", "tenant_id": "tnt_other", "status": "disabled", "id": "usr_mine"});
    let reply = s.call(Method::POST, "/v1/auth/sign-up", Some(&t.pk), Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let user = &reply.body["user"];
    assert_eq!(user["email"], "mass@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["role"], "member");
    assert_eq!(user["status"], "active");
    assert_ne!(user["id"], "usr_mine");
    assert!(
        user.get("private_metadata").is_none(),
        "publishable-key answers never show private_metadata"
    );
    // Emails are case-insensitive.
    s.call(
        Method::POST,
        "/v1/auth/sign-up",
        Some(&t.pk),
        Some(json!({"email": "MASS@example.COM", "password": "long enough password"})),
    )
    .await
    .assert_error(409, "email_already_exists");
    let signed_in = s
        .call(
            Method::POST,
            "/v1/auth/sign-in",
            Some(&t.pk),
            Some(json!({"email": "MASS@EXAMPLE.COM", "password": "long enough password"})),
        )
        .await;
    assert_eq!(signed_in.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_envelopes() {
    let s = shared();
    s.call(Method::GET, "/v1/nothing-here", None, None)
        .await
        .assert_error(404, "not_found");
    s.call(Method::DELETE, "/v1/auth/sign-in", None, None)
        .await
        .assert_error(405, "method_not_allowed");
    s.call(Method::GET, "/t/not-a-tenant/.well-known/jwks.json", None, None)
        .await
        .assert_error(404, "not_found");
    s.call(
        Method::GET,
        "/t/tnt_01ARZ3NDEKTSV4RRFFQ69G5FAV/.well-known/jwks.json",
        None,
        None,
    )
    .await
    .assert_error(404, "not_found");
    let bad_path = s.admin(Method::DELETE, "/cp/v1/admins/..%2F..%2Fetc", None).await;
    assert!(bad_path.status == 404 || bad_path.status == 400, "{}", bad_path.status);
}

#[tokio::test]
async fn every_response_carries_request_id_version_and_security_headers() {
    let s = shared();
    let t = s.new_tenant().await;
    let ok = s.call(Method::GET, "/health", None, None).await;
    let err = s
        .call(Method::POST, "/v1/auth/sign-in", Some(&t.pk), Some(json!({})))
        .await;
    for reply in [&ok, &err] {
        assert!(reply.header("x-request-id").unwrap().starts_with("req_"));
        assert_eq!(reply.header("x-hellojohn-version"), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    }
    assert_eq!(err.body["error"]["request_id"], err.header("x-request-id").unwrap());
    let echoed = Client::new()
        .get(s.url("/health"))
        .header("X-Request-Id", "req_client-chosen-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "req_client-chosen-123");
    let hostile = Client::new()
        .get(s.url("/health"))
        .header("X-Request-Id", "<script>")
        .send()
        .await
        .unwrap();
    assert!(hostile.headers()["x-request-id"].to_str().unwrap().starts_with("req_"));
    let signed_up = s.sign_up(&t, "hdrs@example.com", "long enough password").await;
    assert!(signed_up["session"]["access_token"].is_string());
}

#[tokio::test]
async fn cors_follows_the_tenants_allowed_origins() {
    let s = shared();
    let t = s
        .new_tenant_with(json!({"name": "cors", "auth_config": {"allowed_origins": ["https://app.cors-test.example"]}}))
        .await;
    let client = Client::new();
    let preflight = client
        .request(Method::OPTIONS, s.url("/v1/auth/sign-in"))
        .header("Origin", "https://app.cors-test.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.cors-test.example"
    );
    let evil_preflight = client
        .request(Method::OPTIONS, s.url("/v1/auth/sign-in"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(evil_preflight.headers().get("access-control-allow-origin").is_none());
    let body = json!({"email": "c@example.com", "password": "long enough password"});
    let allowed = client
        .post(s.url("/v1/auth/sign-up"))
        .header("X-Client-Id", &t.pk)
        .header("Origin", "https://app.cors-test.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 201);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.cors-test.example"
    );
    let other = s.new_tenant().await;
    let denied = client
        .post(s.url("/v1/auth/sign-up"))
        .header("X-Client-Id", &other.pk)
        .header("Origin", "https://app.cors-test.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        denied.headers().get("access-control-allow-origin").is_none(),
        "another tenant does not allow that origin"
    );
}
