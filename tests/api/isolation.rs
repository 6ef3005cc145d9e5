//! Tenant isolation: keys and tokens of tenant A never work on tenant B.

use reqwest::{Client, Method};
use serde_json::json;

use crate::harness::*;

matrix! {
    async fn the_same_email_lives_separately_in_two_tenants() {
        let s = shared();
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        let in_a = s.sign_up(&a, "same@example.com", "password in tenant a").await;
        let in_b = s.sign_up(&b, "same@example.com", "password in tenant b").await;
        assert_ne!(in_a["user"]["id"], in_b["user"]["id"]);
        // A's password does not open B's account.
        s.call(
            Method::POST,
            "/v1/auth/sign-in",
            Some(&b.pk),
            Some(json!({"email": "same@example.com", "password": "password in tenant a"})),
        )
        .await
        .assert_error(401, "invalid_credentials");
    }
}

matrix! {
    async fn a_tenant_id_header_that_disagrees_with_the_credential_is_refused() {
        let s = shared();
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        let session = s.sign_up(&a, "hdr@example.com", "long enough password").await;
        let token = session["session"]["access_token"].as_str().unwrap();
        let client = Client::new();
        let sign_in = json!({"email": "hdr@example.com", "password": "wrong password"});
        let requests = |tenant_header: &str| {
            [
                client
                    .post(s.url("/v1/auth/sign-in"))
                    .header("X-Client-Id", &a.pk)
                    .json(&sign_in),
                client.get(s.url("/v1/api-keys")).bearer_auth(&a.sk),
                client.get(s.url("/v1/auth/me")).bearer_auth(token),
            ]
            .map(|r| r.header("X-Tenant-ID", tenant_header))
        };
        for req in requests(&b.id) {
            Reply::from(req.send().await.unwrap())
                .await
                .assert_error(403, "tenant_mismatch");
        }
        for req in requests(&a.id) {
            let status = req.send().await.unwrap().status().as_u16();
            assert_ne!(status, 403, "a matching header is fine");
        }
        // The header never selects a tenant: B's publishable key with A's id header is refused, not rerouted.
        let req = client
            .post(s.url("/v1/auth/sign-in"))
            .header("X-Client-Id", &b.pk)
            .header("X-Tenant-ID", &a.id)
            .json(&json!({"email": "hdr@example.com", "password": "long enough password"}));
        Reply::from(req.send().await.unwrap())
            .await
            .assert_error(403, "tenant_mismatch");
    }
}

matrix! {
    async fn tokens_of_one_tenant_never_verify_for_another() {
        let s = shared();
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        let session = s.sign_up(&a, "tok@example.com", "long enough password").await;
        let token = session["session"]["access_token"].as_str().unwrap();
        let on_b = s
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&b.sk),
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(on_b.status, 200);
        assert_eq!(on_b.body["valid"], false);
        assert!(on_b.body.get("claims").is_none());
        let on_a = s
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&a.sk),
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(on_a.body["valid"], true);
        assert_eq!(on_a.body["claims"]["tenant_id"], a.id);
        assert_eq!(on_a.body["session"]["user_id"], session["user"]["id"]);

        // A token whose payload is rewritten to claim tenant B fails B's signature check.
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["tenant_id"] = json!(b.id);
        claims["aud"] = json!(b.id);
        let forged = format!("{}.{}.{}", parts[0], engine.encode(claims.to_string()), parts[2]);
        s.call(Method::GET, "/v1/auth/me", Some(&forged), None)
            .await
            .assert_error(401, "invalid_token");
    }
}

matrix! {
    async fn secret_and_publishable_keys_only_reach_their_own_tenant() {
        let s = shared();
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        let a_keys = s.call(Method::GET, "/v1/api-keys", Some(&a.sk), None).await;
        let b_keys = s.call(Method::GET, "/v1/api-keys", Some(&b.sk), None).await;
        let ids = |r: &Reply| {
            r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let (ia, ib) = (ids(&a_keys), ids(&b_keys));
        assert_eq!(ia.len(), 2);
        assert!(ia.iter().all(|id| !ib.contains(id)));
        // B can't delete A's key.
        s.call(Method::DELETE, &format!("/v1/api-keys/{}", ia[0]), Some(&b.sk), None)
            .await
            .assert_error(404, "not_found");
        assert_eq!(
            s.call(Method::GET, "/v1/api-keys", Some(&a.sk), None).await.body["data"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // Mixing kinds is refused.
        s.call(
            Method::POST,
            "/v1/sessions/verify",
            Some(&a.pk),
            Some(json!({"token": "x"})),
        )
        .await
        .assert_error(401, "invalid_api_key");
        s.call(
            Method::POST,
            "/v1/auth/sign-in",
            Some(&a.sk),
            Some(json!({"email": "x@y.io", "password": "p"})),
        )
        .await
        .assert_error(401, "invalid_publishable_key");
        // Guessed keys are refused with the contract's codes.
        s.call(Method::GET, "/v1/api-keys", Some("sk_live_guess"), None)
            .await
            .assert_error(401, "invalid_api_key");
        s.call(
            Method::POST,
            "/v1/auth/sign-in",
            Some("pk_live_guess"),
            Some(json!({"email": "x@y.io", "password": "p"})),
        )
        .await
        .assert_error(401, "invalid_publishable_key");
    }
}

matrix! {
    async fn a_secret_key_never_reads_another_tenants_users_or_sessions() {
        let s = shared();
        let (a, b) = (s.new_tenant().await, s.new_tenant().await);
        s.sign_up(&a, "mine@example.com", "long enough password").await;
        let theirs = s.sign_up(&b, "theirs@example.com", "long enough password").await;
        let b_user = theirs["user"]["id"].as_str().unwrap();
        let b_session = theirs["session"]["id"].as_str().unwrap();
        let listed = s.call(Method::GET, "/v1/users?limit=100", Some(&a.sk), None).await;
        let emails: Vec<&str> = listed.body["data"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert_eq!(emails, ["mine@example.com"]);
        s.call(Method::GET, &format!("/v1/users/{b_user}"), Some(&a.sk), None).await.assert_error(404, "not_found");
        s.call(Method::PATCH, &format!("/v1/users/{b_user}"), Some(&a.sk), Some(json!({"name": "pwned"})))
            .await
            .assert_error(404, "not_found");
        s.call(Method::DELETE, &format!("/v1/users/{b_user}"), Some(&a.sk), None).await.assert_error(404, "not_found");
        s.call(Method::GET, &format!("/v1/sessions/{b_session}"), Some(&a.sk), None).await.assert_error(404, "not_found");
        s.call(Method::DELETE, &format!("/v1/sessions/{b_session}"), Some(&a.sk), None).await.assert_error(404, "not_found");
        let sessions = s.call(Method::GET, &format!("/v1/sessions?user_id={b_user}"), Some(&a.sk), None).await;
        assert_eq!(sessions.body["data"].as_array().unwrap().len(), 0);
        // B's user is untouched.
        let still = s.call(Method::GET, &format!("/v1/users/{b_user}"), Some(&b.sk), None).await;
        assert_eq!(still.body["name"], serde_json::Value::Null);
    }
}
