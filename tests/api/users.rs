//! The users API (secret key): create, import, list, filter, page, patch, disable, delete.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn create(s: &Server, t: &TestTenant, body: Value) -> Reply {
    s.call(Method::POST, "/v1/users", Some(&t.sk), Some(body)).await
}

matrix! {
    async fn created_users_show_private_metadata_only_to_the_secret_key() {
        let s = shared();
        let t = s.new_tenant().await;
        let created = create(
            s,
            &t,
            json!({"email": "Admin.Made@Example.com", "password": "long enough password", "name": "Ada", "role": "admin",
                   "email_verified": true, "public_metadata": {"plan": "pro"}, "private_metadata": {"stripe": "cus_1"},
                   "status": "disabled", "mfa_enabled": true}),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let user = &created.body;
        assert_eq!(user["email"], "admin.made@example.com");
        assert_eq!(user["role"], "admin");
        assert_eq!(user["email_verified"], true);
        assert_eq!(user["status"], "active", "status is not settable at creation");
        assert_eq!(user["mfa_enabled"], false);
        assert_eq!(user["private_metadata"]["stripe"], "cus_1");
        assert!(user.get("password_hash").is_none());

        let signed_in = s.sign_in(&t, "admin.made@example.com", "long enough password").await;
        assert_eq!(signed_in.status, 200);
        assert!(signed_in.body["user"].get("private_metadata").is_none());
        let token = signed_in.body["session"]["access_token"].as_str().unwrap();
        let me = s.call(Method::GET, "/v1/auth/me", Some(token), None).await;
        assert!(me.body.get("private_metadata").is_none());
        assert_eq!(me.body["public_metadata"]["plan"], "pro");
        let claims_role = s
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&t.sk),
                Some(json!({"token": token})),
            )
            .await;
        assert_eq!(claims_role.body["claims"]["role"], "admin");
        assert_eq!(claims_role.body["claims"]["public_metadata"]["plan"], "pro");

        create(s, &t, json!({"email": "ADMIN.made@example.com"}))
            .await
            .assert_error(409, "email_already_exists");
        create(s, &t, json!({"password": "long enough password"}))
            .await
            .assert_error(400, "invalid_request");
        create(s, &t, json!({"email": "x@example.com", "role": "owner"}))
            .await
            .assert_error(400, "invalid_request");
        create(s, &t, json!({"email": "x@example.com", "public_metadata": [1]}))
            .await
            .assert_error(400, "invalid_request");
        create(s, &t, json!({"email": "x@example.com", "password_hash": "$md5$abc"}))
            .await
            .assert_error(400, "invalid_request");
    }
}

matrix! {
    async fn imported_hashes_sign_in_and_are_upgraded_to_argon2id() {
        let s = shared();
        let t = s.new_tenant().await;
        let bcrypt_hash = bcrypt::hash("legacy password", 4).unwrap();
        let created = create(
            s,
            &t,
            json!({"email": "legacy@example.com", "password_hash": bcrypt_hash}),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        s.sign_in(&t, "legacy@example.com", "wrong password")
            .await
            .assert_error(401, "invalid_credentials");
        assert_eq!(s.sign_in(&t, "legacy@example.com", "legacy password").await.status, 200);
        // The upgrade is stored: the user's hash is now argon2id with the current parameters.
        let stored = s.stored_user(&t, "legacy@example.com").await;
        assert!(stored.password_hash.unwrap().starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "rehash written");
        assert_eq!(
            s.sign_in(&t, "legacy@example.com", "legacy password").await.status,
            200,
            "still signs in after upgrade"
        );
    }
}

matrix! {
    async fn listing_filters_and_pages_users() {
        let s = shared();
        let t = s.new_tenant().await;
        for (email, name) in [
            ("ann@example.com", "Ann Lee"),
            ("bob@example.com", "Bob Stone"),
            ("cat@other.org", "Cat Lee"),
        ] {
            let r = create(s, &t, json!({"email": email, "name": name})).await;
            assert_eq!(r.status, 201);
        }
        let ids = |r: &Reply| {
            r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let all = s.call(Method::GET, "/v1/users", Some(&t.sk), None).await;
        assert_eq!(
            ids(&all),
            ["cat@other.org", "bob@example.com", "ann@example.com"],
            "newest first"
        );
        assert!(all.body["data"][0].get("private_metadata").is_some());
        let q = s.call(Method::GET, "/v1/users?q=lee", Some(&t.sk), None).await;
        assert_eq!(ids(&q), ["cat@other.org", "ann@example.com"]);
        let by_email = s
            .call(Method::GET, "/v1/users?email=BOB@example.com", Some(&t.sk), None)
            .await;
        assert_eq!(ids(&by_email), ["bob@example.com"]);
        let page1 = s.call(Method::GET, "/v1/users?limit=2", Some(&t.sk), None).await;
        assert_eq!(ids(&page1).len(), 2);
        let cursor = page1.body["pagination"]["next_cursor"].as_str().unwrap().to_owned();
        let page2 = s
            .call(
                Method::GET,
                &format!("/v1/users?limit=2&cursor={cursor}"),
                Some(&t.sk),
                None,
            )
            .await;
        assert_eq!(ids(&page2), ["ann@example.com"]);
        assert_eq!(page2.body["pagination"]["has_more"], false);
        assert_eq!(page2.body["pagination"]["next_cursor"], Value::Null);
        s.call(Method::GET, "/v1/users?status=zombie", Some(&t.sk), None)
            .await
            .assert_error(400, "invalid_request");
        let bob = by_email.body["data"][0]["id"].as_str().unwrap().to_owned();
        s.call(Method::POST, &format!("/v1/users/{bob}/disable"), Some(&t.sk), None)
            .await;
        let disabled = s
            .call(Method::GET, "/v1/users?status=disabled", Some(&t.sk), None)
            .await;
        assert_eq!(ids(&disabled), ["bob@example.com"]);
    }
}

matrix! {
    async fn patch_merges_metadata_and_null_deletes_keys() {
        let s = shared();
        let t = s.new_tenant().await;
        let created = create(
            s,
            &t,
            json!({"email": "meta@example.com", "public_metadata": {"a": 1, "b": {"c": 2}}}),
        )
        .await;
        let id = created.body["id"].as_str().unwrap();
        let path = format!("/v1/users/{id}");
        let patched = s
            .call(
                Method::PATCH,
                &path,
                Some(&t.sk),
                Some(
                    json!({"public_metadata": {"a": null, "b": {"d": 3}}, "private_metadata": {"k": "v"}, "name": "Meta",
                            "email": "Meta2@Example.com", "status": "disabled", "id": "usr_x"}),
                ),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.body["public_metadata"], json!({"b": {"c": 2, "d": 3}}));
        assert_eq!(patched.body["private_metadata"], json!({"k": "v"}));
        assert_eq!(patched.body["name"], "Meta");
        assert_eq!(patched.body["email"], "meta2@example.com");
        assert_eq!(patched.body["status"], "active");
        assert_eq!(patched.body["id"], id);
        let cleared = s
            .call(Method::PATCH, &path, Some(&t.sk), Some(json!({"name": null})))
            .await;
        assert_eq!(cleared.body["name"], Value::Null);
        s.call(
            Method::PATCH,
            &path,
            Some(&t.sk),
            Some(json!({"email": "not-an-email"})),
        )
        .await
        .assert_error(422, "invalid_email");
        s.call(Method::PATCH, &path, Some(&t.sk), Some(json!({"name": 5})))
            .await
            .assert_error(400, "invalid_request");
        let other = create(s, &t, json!({"email": "taken@example.com"})).await;
        assert_eq!(other.status, 201);
        s.call(
            Method::PATCH,
            &path,
            Some(&t.sk),
            Some(json!({"email": "taken@example.com"})),
        )
        .await
        .assert_error(409, "email_already_exists");
        s.call(
            Method::PATCH,
            "/v1/users/usr_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            Some(&t.sk),
            Some(json!({"name": "x"})),
        )
        .await
        .assert_error(404, "not_found");
    }
}

matrix! {
    async fn disabling_revokes_sessions_and_blocks_sign_in_until_enabled() {
        let s = shared();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "dis@example.com", "long enough password").await;
        let id = body["user"]["id"].as_str().unwrap();
        let token = body["session"]["access_token"].as_str().unwrap();
        let refresh = body["session"]["refresh_token"].as_str().unwrap();
        let disabled = s
            .call(Method::POST, &format!("/v1/users/{id}/disable"), Some(&t.sk), None)
            .await;
        assert_eq!(disabled.body["status"], "disabled");
        s.call(Method::GET, "/v1/auth/me", Some(token), None)
            .await
            .assert_error(401, "session_revoked");
        s.refresh(&t, refresh).await
        .assert_error(401, "session_revoked");
        s.sign_in(&t, "dis@example.com", "long enough password")
            .await
            .assert_error(403, "account_disabled");
        // A wrong password on a disabled account still says invalid_credentials: nothing leaks.
        s.sign_in(&t, "dis@example.com", "wrong password!")
            .await
            .assert_error(401, "invalid_credentials");
        s.call(Method::POST, &format!("/v1/users/{id}/enable"), Some(&t.sk), None)
            .await;
        assert_eq!(
            s.sign_in(&t, "dis@example.com", "long enough password").await.status,
            200
        );
    }
}

matrix! {
    async fn deleting_a_user_removes_everything_of_theirs() {
        let s = shared();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "gone@example.com", "long enough password").await;
        let id = body["user"]["id"].as_str().unwrap();
        let token = body["session"]["access_token"].as_str().unwrap();
        let sid = body["session"]["id"].as_str().unwrap();
        assert_eq!(
            s.call(Method::DELETE, &format!("/v1/users/{id}"), Some(&t.sk), None)
                .await
                .status,
            204
        );
        s.call(Method::GET, &format!("/v1/users/{id}"), Some(&t.sk), None)
            .await
            .assert_error(404, "not_found");
        s.call(Method::GET, &format!("/v1/sessions/{sid}"), Some(&t.sk), None)
            .await
            .assert_error(404, "not_found");
        s.call(Method::GET, "/v1/auth/me", Some(token), None)
            .await
            .assert_error(401, "session_revoked");
        s.sign_in(&t, "gone@example.com", "long enough password")
            .await
            .assert_error(401, "invalid_credentials");
        // The email is free again.
        s.sign_up(&t, "gone@example.com", "long enough password").await;
        s.call(Method::DELETE, &format!("/v1/users/{id}"), Some(&t.sk), None)
            .await
            .assert_error(404, "not_found");
    }
}

/// The sum of a counter's samples whose labels contain every one of `labels`.
fn counter(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

matrix! {
    async fn the_owner_cache_serves_repeat_reads_and_never_a_stale_user() {
        let s = start_server(&[]);
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "cached@example.com", "long enough password").await;
        let access = body["session"]["access_token"].as_str().unwrap().to_owned();
        let user_id = body["user"]["id"].as_str().unwrap().to_owned();
        let metrics = || async { client().get(s.url("/metrics")).send().await.unwrap().text().await.unwrap() };
        let hits_before = counter(&metrics().await, "hellojohn_cache_lookups_total", &["cache=\"user\"", "result=\"hit\""]);
        for _ in 0..5 {
            let me = s.call(Method::GET, "/v1/auth/me", Some(&access), None).await;
            assert_eq!(me.status, 200);
        }
        let hits_after = counter(&metrics().await, "hellojohn_cache_lookups_total", &["cache=\"user\"", "result=\"hit\""]);
        assert!(hits_after - hits_before >= 4.0, "repeat reads are served from the cache ({hits_before} → {hits_after})");
        // A write through the tenant's backend is seen at once by the user's next read.
        let patched = s
            .call(Method::PATCH, &format!("/v1/users/{user_id}"), Some(&t.sk), Some(json!({"name": "Renamed"})))
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        let me = s.call(Method::GET, "/v1/auth/me", Some(&access), None).await;
        assert_eq!(me.body["name"], "Renamed");
        // A disabled user's cached sessions and profile don't outlive the change.
        let disabled = s.call(Method::POST, &format!("/v1/users/{user_id}/disable"), Some(&t.sk), None).await;
        assert_eq!(disabled.status, 200, "{}", disabled.body);
        s.call(Method::GET, "/v1/auth/me", Some(&access), None).await.assert_error(401, "session_revoked");
    }
}
