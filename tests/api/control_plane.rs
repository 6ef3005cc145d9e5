//! Control plane: admin sign-in, tenants CRUD and suspension, CP admins, API keys.

use reqwest::Method;
use serde_json::json;

use crate::harness::*;

matrix! {
    async fn admin_sign_in_rejects_wrong_and_unknown_credentials_alike() {
        let s = shared();
        let wrong = s
            .call(
                Method::POST,
                "/cp/v1/admin/sign-in",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": "nope-nope-nope"})),
            )
            .await;
        wrong.assert_error(401, "invalid_credentials");
        let unknown = s
            .call(
                Method::POST,
                "/cp/v1/admin/sign-in",
                None,
                Some(json!({"email": "ghost@x.io", "password": "nope-nope-nope"})),
            )
            .await;
        unknown.assert_error(401, "invalid_credentials");
        assert_eq!(wrong.body["error"]["message"], unknown.body["error"]["message"]);
        let ok = s
            .call(
                Method::POST,
                "/cp/v1/admin/sign-in",
                None,
                Some(json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
            )
            .await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header("cache-control"), Some("no-store"));
        assert!(ok.body["expires_at"].as_str().unwrap().ends_with('Z'));
    }
}

matrix! {
    async fn control_plane_needs_an_admin_token() {
        let s = shared();
        s.call(Method::GET, "/cp/v1/tenants", None, None)
            .await
            .assert_error(401, "missing_token");
        let t = s.new_tenant().await;
        // A tenant's secret key is not a CP credential.
        s.call(Method::GET, "/cp/v1/tenants", Some(&t.sk), None)
            .await
            .assert_error(403, "cp_admin_required");
        s.call(Method::GET, "/cp/v1/tenants", Some("hjcp_forged"), None)
            .await
            .assert_error(401, "invalid_token");
    }
}

matrix! {
    async fn tenant_creation_shows_keys_once_and_applies_auth_config() {
        let s = shared();
        let reply = s
            .admin(
                Method::POST,
                "/cp/v1/tenants",
                Some(json!({"name": "Acme Corp", "auth_config": {"access_token_ttl": 600, "rate_limits": {"sign_up_ip": null}},
                            "status": "suspended", "id": "tnt_chosen"})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let tenant = &reply.body["tenant"];
        assert!(tenant["id"].as_str().unwrap().starts_with("tnt_"));
        assert_ne!(tenant["id"], "tnt_chosen");
        assert_eq!(tenant["status"], "active", "unknown fields are ignored");
        assert!(tenant["slug"].as_str().unwrap().starts_with("acme-corp"));
        assert_eq!(tenant["auth_config"]["access_token_ttl"], 600);
        assert_eq!(
            tenant["auth_config"]["rate_limits"]["sign_up_ip"],
            serde_json::Value::Null
        );
        assert_eq!(tenant["auth_config"]["rate_limits"]["sign_in_ip"], "10/1m");
        assert_eq!(tenant["auth_config"]["signing_alg"], "EdDSA");
        assert!(reply.body["publishable_key"].as_str().unwrap().starts_with("pk_live_"));
        assert!(reply.body["secret_key"].as_str().unwrap().starts_with("sk_live_"));

        let id = tenant["id"].as_str().unwrap();
        let fetched = s.admin(Method::GET, &format!("/cp/v1/tenants/{id}"), None).await;
        assert_eq!(fetched.status, 200);
        let text = fetched.body.to_string();
        assert!(!text.contains("pk_live_") && !text.contains("sk_live_") && !text.contains("database_url"));
    }
}

matrix! {
    async fn duplicate_slugs_and_bad_tenant_input_are_refused() {
        let s = shared();
        let slug = format!("dup-{}", ulid::Ulid::new().to_string().to_lowercase());
        s.new_tenant_with(json!({"name": "One", "slug": slug})).await;
        s.admin(
            Method::POST,
            "/cp/v1/tenants",
            Some(json!({"name": "Two", "slug": slug})),
        )
        .await
        .assert_error(409, "slug_already_exists");
        let missing = s
            .admin(Method::POST, "/cp/v1/tenants", Some(json!({"slug": "x"})))
            .await;
        missing.assert_error(400, "invalid_request");
        assert_eq!(missing.body["error"]["field"], "name");
        s.admin(
            Method::POST,
            "/cp/v1/tenants",
            Some(json!({"name": "Bad", "slug": "Not A Slug"})),
        )
        .await
        .assert_error(400, "invalid_request");
        s.admin(
            Method::POST,
            "/cp/v1/tenants",
            Some(json!({"name": "Bad", "isolation_mode": "none"})),
        )
        .await
        .assert_error(400, "invalid_request");
        s.admin(
            Method::POST,
            "/cp/v1/tenants",
            Some(json!({"name": "Bad", "auth_config": {"signing_alg": "HS256"}})),
        )
        .await
        .assert_error(400, "invalid_request");
        s.admin(Method::GET, "/cp/v1/tenants/tnt_01ARZ3NDEKTSV4RRFFQ69G5FAV", None)
            .await
            .assert_error(404, "not_found");
    }
}

matrix! {
    async fn tenant_listing_pages_without_skipping_or_repeating() {
        let s = start_server(&[]);
        let mut created = Vec::new();
        for i in 0..5 {
            created.push(s.new_tenant_with(json!({"name": format!("Page {i}")})).await.id);
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/cp/v1/tenants?limit=2&cursor={c}"),
                None => "/cp/v1/tenants?limit=2".to_owned(),
            };
            let page = s.admin(Method::GET, &path, None).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert_eq!(page.body["pagination"]["limit"], 2);
            for t in page.body["data"].as_array().unwrap() {
                seen.push(t["id"].as_str().unwrap().to_owned());
            }
            match page.body["pagination"]["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(page.body["pagination"]["has_more"], true);
                    cursor = Some(c.to_owned());
                }
                None => break,
            }
        }
        created.reverse();
        assert_eq!(seen, created, "newest first, each once");
        s.admin(Method::GET, "/cp/v1/tenants?limit=0", None)
            .await
            .assert_error(400, "invalid_request");
        s.admin(Method::GET, "/cp/v1/tenants?limit=101", None)
            .await
            .assert_error(400, "invalid_request");
        s.admin(Method::GET, "/cp/v1/tenants?cursor=%%%", None)
            .await
            .assert_error(400, "invalid_request");
    }
}

matrix! {
    async fn patching_merges_auth_config_and_suspension_blocks_the_data_plane() {
        let s = shared();
        let t = s.new_tenant().await;
        let path = format!("/cp/v1/tenants/{}", t.id);
        let patched = s
            .admin(
                Method::PATCH,
                &path,
                Some(json!({"name": "Renamed", "auth_config": {"password_min_length": 12}})),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.body["name"], "Renamed");
        assert_eq!(patched.body["auth_config"]["password_min_length"], 12);
        assert_eq!(
            patched.body["auth_config"]["access_token_ttl"], 900,
            "other fields kept"
        );

        // The new minimum applies at once.
        let weak = s
            .call(
                Method::POST,
                "/v1/auth/sign-up",
                Some(&t.pk),
                Some(json!({"email": "a@b.io", "password": "elevenchars"})),
            )
            .await;
        weak.assert_error(422, "password_too_weak");

        let session = s.sign_up(&t, "sus@example.com", "long enough password").await;
        let token = session["session"]["access_token"].as_str().unwrap().to_owned();
        let suspended = s
            .admin(Method::PATCH, &path, Some(json!({"status": "suspended"})))
            .await;
        assert_eq!(suspended.body["status"], "suspended");
        s.call(
            Method::POST,
            "/v1/auth/sign-in",
            Some(&t.pk),
            Some(json!({"email": "sus@example.com", "password": "x"})),
        )
        .await
        .assert_error(403, "tenant_suspended");
        s.call(Method::GET, "/v1/auth/me", Some(&token), None)
            .await
            .assert_error(403, "tenant_suspended");
        s.call(Method::GET, "/v1/api-keys", Some(&t.sk), None)
            .await
            .assert_error(403, "tenant_suspended");

        s.admin(Method::PATCH, &path, Some(json!({"status": "active"}))).await;
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(&token), None).await.status, 200);
        s.admin(Method::PATCH, &path, Some(json!({"status": "gone"})))
            .await
            .assert_error(400, "invalid_request");
    }
}

matrix! {
    async fn deleting_a_tenant_drops_its_keys_and_data() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "bye@example.com", "long enough password").await;
        let reply = s.admin(Method::DELETE, &format!("/cp/v1/tenants/{}", t.id), None).await;
        assert_eq!(reply.status, 204);
        s.call(Method::GET, "/v1/api-keys", Some(&t.sk), None)
            .await
            .assert_error(401, "invalid_api_key");
        s.call(
            Method::POST,
            "/v1/auth/sign-in",
            Some(&t.pk),
            Some(json!({"email": "bye@example.com", "password": "x"})),
        )
        .await
        .assert_error(401, "invalid_publishable_key");
        s.admin(Method::GET, &format!("/cp/v1/tenants/{}", t.id), None)
            .await
            .assert_error(404, "not_found");
        s.call(Method::GET, &format!("/t/{}/.well-known/jwks.json", t.id), None, None)
            .await
            .assert_error(404, "not_found");
    }
}

matrix! {
    async fn cp_admins_can_be_managed_but_the_last_one_stays() {
        let s = start_server(&[]);
        let created = s
            .admin(
                Method::POST,
                "/cp/v1/admins",
                Some(json!({"email": "Second@Example.com", "password": "second-admin-password"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["email"], "second@example.com");
        assert!(created.body.get("password_hash").is_none());
        s.admin(
            Method::POST,
            "/cp/v1/admins",
            Some(json!({"email": "second@example.com", "password": "second-admin-password"})),
        )
        .await
        .assert_error(409, "email_already_exists");
        s.admin(
            Method::POST,
            "/cp/v1/admins",
            Some(json!({"email": "third@example.com", "password": "short"})),
        )
        .await
        .assert_error(422, "password_too_weak");
        let list = s.admin(Method::GET, "/cp/v1/admins", None).await;
        let ids: Vec<String> = list.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 2);
        let second = created.body["id"].as_str().unwrap();
        assert_eq!(
            s.admin(Method::DELETE, &format!("/cp/v1/admins/{second}"), None)
                .await
                .status,
            204
        );
        let root = ids.iter().find(|id| *id != second).unwrap();
        s.admin(Method::DELETE, &format!("/cp/v1/admins/{root}"), None)
            .await
            .assert_error(409, "conflict");
    }
}

matrix! {
    async fn api_keys_are_shown_once_listed_by_last_four_and_revoked_at_once() {
        let s = shared();
        let t = s.new_tenant().await;
        let created = s
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(&t.sk),
                Some(json!({"name": "CI", "type": "secret"})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let key = created.body["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("sk_"));
        assert_eq!(created.body["last_four"], key[key.len() - 4..]);
        let listed = s.call(Method::GET, "/v1/api-keys", Some(&key), None).await;
        assert_eq!(listed.status, 200);
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 3);
        assert!(!listed.body.to_string().contains(&key), "lists never show values");
        let id = created.body["id"].as_str().unwrap();
        assert_eq!(
            s.call(Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&t.sk), None)
                .await
                .status,
            204
        );
        s.call(Method::GET, "/v1/api-keys", Some(&key), None)
            .await
            .assert_error(401, "invalid_api_key");
        s.call(
            Method::POST,
            "/v1/api-keys",
            Some(&t.sk),
            Some(json!({"name": "x", "type": "root"})),
        )
        .await
        .assert_error(400, "invalid_request");
        // A publishable key can't manage keys.
        s.call(Method::GET, "/v1/api-keys", Some(&t.pk), None)
            .await
            .assert_error(401, "invalid_api_key");
        let pk = s
            .call(
                Method::POST,
                "/v1/api-keys",
                Some(&t.sk),
                Some(json!({"type": "publishable"})),
            )
            .await;
        let new_pk = pk.body["key"].as_str().unwrap();
        assert!(new_pk.starts_with("pk_"));
        let signed_up = s
            .call(
                Method::POST,
                "/v1/auth/sign-up",
                Some(new_pk),
                Some(json!({"email": "k@example.com", "password": "long enough password"})),
            )
            .await;
        assert_eq!(signed_up.status, 201);
    }
}
