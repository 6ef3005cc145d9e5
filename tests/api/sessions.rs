//! Sessions: the user's own list, sign-out, password change, secret-key
//! session administration, refresh races and expiry.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

struct Signed {
    user_id: String,
    session_id: String,
    access: String,
    refresh: String,
}

fn signed(body: &Value) -> Signed {
    let session = if body.get("session").is_some() {
        &body["session"]
    } else {
        body
    };
    Signed {
        user_id: body["user"]["id"].as_str().unwrap_or_default().to_owned(),
        session_id: session["id"].as_str().unwrap().to_owned(),
        access: session["access_token"].as_str().unwrap().to_owned(),
        refresh: session["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn sign_in(s: &Server, t: &TestTenant, email: &str, password: &str) -> Signed {
    let reply = s.sign_in(t, email, password).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    signed(&reply.body)
}

matrix! {
    async fn my_sessions_mark_the_current_one_and_i_can_revoke_my_others() {
        let s = shared();
        let t = s.new_tenant().await;
        let first = signed(&s.sign_up(&t, "multi@example.com", "long enough password").await);
        let second = sign_in(s, &t, "multi@example.com", "long enough password").await;
        let list = s.call(Method::GET, "/v1/me/sessions", Some(&second.access), None).await;
        assert_eq!(list.status, 200);
        let data = list.body["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        for session in data {
            assert_eq!(session["current"], session["id"] == second.session_id.as_str());
            assert_eq!(session["status"], "active");
            assert!(session["user_agent"].is_string() && session["ip_address"] == "127.0.0.1");
        }
        // Another user's session is not mine to see or revoke.
        let other = signed(&s.sign_up(&t, "other@example.com", "long enough password").await);
        s.call(
            Method::DELETE,
            &format!("/v1/me/sessions/{}", other.session_id),
            Some(&second.access),
            None,
        )
        .await
        .assert_error(404, "not_found");
        assert_eq!(
            s.call(Method::GET, "/v1/auth/me", Some(&other.access), None)
                .await
                .status,
            200
        );
        let revoked = s
            .call(
                Method::DELETE,
                &format!("/v1/me/sessions/{}", first.session_id),
                Some(&second.access),
                None,
            )
            .await;
        assert_eq!(revoked.status, 204);
        s.call(Method::GET, "/v1/auth/me", Some(&first.access), None)
            .await
            .assert_error(401, "session_revoked");
        assert_eq!(
            s.call(Method::GET, "/v1/auth/me", Some(&second.access), None)
                .await
                .status,
            200
        );
    }
}

matrix! {
    async fn sign_out_is_local_by_default_and_global_on_request() {
        let s = shared();
        let t = s.new_tenant().await;
        let a = signed(&s.sign_up(&t, "out@example.com", "long enough password").await);
        let b = sign_in(s, &t, "out@example.com", "long enough password").await;
        let c = sign_in(s, &t, "out@example.com", "long enough password").await;
        assert_eq!(
            s.call(Method::POST, "/v1/auth/sign-out", Some(&a.access), None)
                .await
                .status,
            204
        );
        s.call(Method::GET, "/v1/auth/me", Some(&a.access), None)
            .await
            .assert_error(401, "session_revoked");
        assert_eq!(
            s.call(Method::GET, "/v1/auth/me", Some(&b.access), None).await.status,
            200
        );
        s.call(
            Method::POST,
            "/v1/auth/sign-out",
            Some(&b.access),
            Some(json!({"scope": "everywhere"})),
        )
        .await
        .assert_error(400, "invalid_request");
        let global = s
            .call(
                Method::POST,
                "/v1/auth/sign-out",
                Some(&b.access),
                Some(json!({"scope": "global"})),
            )
            .await;
        assert_eq!(global.status, 204);
        for session in [&b, &c] {
            s.call(Method::GET, "/v1/auth/me", Some(&session.access), None)
                .await
                .assert_error(401, "session_revoked");
            s.refresh(&t, &session.refresh).await
            .assert_error(401, "session_revoked");
        }
    }
}

matrix! {
    async fn password_change_checks_the_current_password_and_signs_out_the_others() {
        let s = shared();
        let t = s.new_tenant().await;
        let a = signed(&s.sign_up(&t, "pw@example.com", "old password 123").await);
        let b = sign_in(s, &t, "pw@example.com", "old password 123").await;
        let change = |current: &str, new: &str, others: Option<bool>| {
            let mut body = json!({"current_password": current, "new_password": new});
            if let Some(o) = others {
                body["sign_out_other_sessions"] = json!(o);
            }
            body
        };
        s.call(
            Method::POST,
            "/v1/auth/password/change",
            Some(&a.access),
            Some(change("wrong one!", "new password 456", None)),
        )
        .await
        .assert_error(401, "invalid_credentials");
        s.call(
            Method::POST,
            "/v1/auth/password/change",
            Some(&a.access),
            Some(change("old password 123", "short", None)),
        )
        .await
        .assert_error(422, "password_too_weak");
        let ok = s
            .call(
                Method::POST,
                "/v1/auth/password/change",
                Some(&a.access),
                Some(change("old password 123", "new password 456", None)),
            )
            .await;
        assert_eq!(ok.status, 204);
        assert_eq!(
            s.call(Method::GET, "/v1/auth/me", Some(&a.access), None).await.status,
            200,
            "the caller stays"
        );
        s.call(Method::GET, "/v1/auth/me", Some(&b.access), None)
            .await
            .assert_error(401, "session_revoked");
        s.sign_in(&t, "pw@example.com", "old password 123")
            .await
            .assert_error(401, "invalid_credentials");
        let c = sign_in(s, &t, "pw@example.com", "new password 456").await;
        let keep = s
            .call(
                Method::POST,
                "/v1/auth/password/change",
                Some(&a.access),
                Some(change("new password 456", "third password 789", Some(false))),
            )
            .await;
        assert_eq!(keep.status, 204);
        assert_eq!(
            s.call(Method::GET, "/v1/auth/me", Some(&c.access), None).await.status,
            200,
            "others kept when asked"
        );
        let _ = a.user_id;
    }
}

matrix! {
    async fn users_edit_only_their_own_profile_fields() {
        let s = shared();
        let t = s.new_tenant().await;
        let a = signed(&s.sign_up(&t, "prof@example.com", "long enough password").await);
        let patched = s
            .call(
                Method::PATCH,
                "/v1/auth/me",
                Some(&a.access),
                Some(
                    json!({"name": "Prof", "avatar_url": "https://img.example/p.png", "unsafe_metadata": {"theme": "dark"},
                            "role": "admin", "email": "hijack@example.com", "public_metadata": {"plan": "free-upgrade"},
                            "private_metadata": {"x": 1}, "email_verified": true}),
                ),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.body["name"], "Prof");
        assert_eq!(patched.body["unsafe_metadata"]["theme"], "dark");
        assert_eq!(patched.body["role"], "member");
        assert_eq!(patched.body["email"], "prof@example.com");
        assert_eq!(patched.body["public_metadata"], json!({}));
        assert_eq!(patched.body["email_verified"], false);
        assert!(patched.body.get("private_metadata").is_none());
        s.call(
            Method::PATCH,
            "/v1/auth/me",
            Some(&a.access),
            Some(json!({"avatar_url": "javascript:alert(1)"})),
        )
        .await
        .assert_error(400, "invalid_request");
        let merged = s
            .call(
                Method::PATCH,
                "/v1/auth/me",
                Some(&a.access),
                Some(json!({"unsafe_metadata": {"theme": null, "lang": "fr"}})),
            )
            .await;
        assert_eq!(merged.body["unsafe_metadata"], json!({"lang": "fr"}));
    }
}

matrix! {
    async fn secret_key_lists_gets_and_revokes_sessions() {
        let s = shared();
        let t = s.new_tenant().await;
        let a = signed(&s.sign_up(&t, "adm1@example.com", "long enough password").await);
        let a2 = sign_in(s, &t, "adm1@example.com", "long enough password").await;
        let b = signed(&s.sign_up(&t, "adm2@example.com", "long enough password").await);
        let mine = s
            .call(
                Method::GET,
                &format!("/v1/sessions?user_id={}", a.user_id),
                Some(&t.sk),
                None,
            )
            .await;
        assert_eq!(mine.body["data"].as_array().unwrap().len(), 2);
        let got = s
            .call(
                Method::GET,
                &format!("/v1/sessions/{}", b.session_id),
                Some(&t.sk),
                None,
            )
            .await;
        assert_eq!(got.body["user_id"], b.user_id.as_str());
        assert_eq!(
            s.call(
                Method::DELETE,
                &format!("/v1/sessions/{}", b.session_id),
                Some(&t.sk),
                None
            )
            .await
            .status,
            204
        );
        let again = s
            .call(
                Method::GET,
                &format!("/v1/sessions/{}", b.session_id),
                Some(&t.sk),
                None,
            )
            .await;
        assert_eq!(again.body["status"], "revoked");
        let verify = s
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&t.sk),
                Some(json!({"token": b.access})),
            )
            .await;
        assert_eq!(verify.body["valid"], false, "revocation is visible at once");
        let revoked = s
            .call(Method::GET, "/v1/sessions?status=revoked", Some(&t.sk), None)
            .await;
        assert_eq!(revoked.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(
            s.call(
                Method::DELETE,
                &format!("/v1/users/{}/sessions", a.user_id),
                Some(&t.sk),
                None
            )
            .await
            .status,
            204
        );
        for session in [&a, &a2] {
            s.call(Method::GET, "/v1/auth/me", Some(&session.access), None)
                .await
                .assert_error(401, "session_revoked");
        }
        s.call(Method::GET, "/v1/sessions?status=sleeping", Some(&t.sk), None)
            .await
            .assert_error(400, "invalid_request");
        s.call(
            Method::DELETE,
            "/v1/users/usr_01ARZ3NDEKTSV4RRFFQ69G5FAV/sessions",
            Some(&t.sk),
            None,
        )
        .await
        .assert_error(404, "not_found");
    }
}

/// `n` refreshes of one refresh token sent at once; each answer's status and body.
pub(crate) async fn concurrent_refreshes(s: &Server, t: &TestTenant, token: &str, n: usize) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let (url, pk, token) = (s.url("/v1/auth/token/refresh"), t.pk.clone(), token.to_owned());
        handles.push(tokio::spawn(async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("X-Client-Id", pk)
                .json(&json!({"refresh_token": token}))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for h in handles {
        answers.push(h.await.unwrap());
    }
    answers
}

matrix! {
    async fn twenty_concurrent_refreshes_share_one_successor() {
        let s = shared();
        let t = s.new_tenant().await;
        let a = signed(&s.sign_up(&t, "race@example.com", "long enough password").await);
        let mut successors = Vec::new();
        for (status, body) in concurrent_refreshes(s, &t, &a.refresh, 20).await {
            assert_eq!(status, 200, "two tabs never log the user out: {body}");
            successors.push(body["session"]["refresh_token"].as_str().unwrap().to_owned());
        }
        successors.dedup();
        assert_eq!(successors.len(), 1, "the session never forks: {successors:?}");
        assert_ne!(successors[0], a.refresh);
        assert_eq!(s.refresh(&t, &successors[0]).await.status, 200, "the one successor goes on");
    }
}

matrix! {
    async fn twenty_concurrent_strict_refreshes_yield_at_most_one_successor() {
        let s = shared();
        let t = s
            .new_tenant_with(json!({"name": "strict race", "auth_config": {"refresh_reuse_interval": 0}}))
            .await;
        let a = signed(&s.sign_up(&t, "race@example.com", "long enough password").await);
        let mut successors = Vec::new();
        for (status, body) in concurrent_refreshes(s, &t, &a.refresh, 20).await {
            match status {
                200 => successors.push(body["session"]["refresh_token"].as_str().unwrap().to_owned()),
                401 => {
                    assert!(["session_revoked", "refresh_token_invalid"].contains(&body["error"]["code"].as_str().unwrap()))
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert!(successors.len() <= 1, "{} successors", successors.len());
        // Any reuse among the twenty revoked the session: no successor is usable afterwards.
        for token in successors {
            s.refresh(&t, &token).await
            .assert_error(401, "session_revoked");
        }
    }
}

matrix! {
    async fn idle_timeout_and_absolute_expiry_end_sessions() {
        let s = start_server(&[]);
        let t = s
            .new_tenant_with(json!({"name": "expiry", "auth_config": {"session_idle_timeout": 600, "refresh_token_ttl": 7200, "access_token_ttl": 900}}))
            .await;
        let a = signed(&s.sign_up(&t, "idle@example.com", "long enough password").await);
        s.advance_clock(300);
        let refreshed = s.refresh(&t, &a.refresh).await;
        assert_eq!(refreshed.status, 200, "within the idle timeout");
        let next = signed(&refreshed.body);
        s.advance_clock(601);
        s.refresh(&t, &next.refresh).await
        .assert_error(401, "refresh_token_expired");
        let listed = s
            .call(
                Method::GET,
                &format!("/v1/sessions/{}", a.session_id),
                Some(&t.sk),
                None,
            )
            .await;
        assert_eq!(listed.body["status"], "expired");

        // Absolute expiry: refreshing every 500 s keeps the session alive only until refresh_token_ttl.
        let b = sign_in(&s, &t, "idle@example.com", "long enough password").await;
        let mut refresh = b.refresh;
        let mut last_status = 200;
        for _ in 0..15 {
            s.advance_clock(500);
            let r = s.refresh(&t, &refresh).await;
            last_status = r.status;
            if r.status != 200 {
                assert_eq!(r.body["error"]["code"], "refresh_token_expired");
                break;
            }
            refresh = r.body["session"]["refresh_token"].as_str().unwrap().to_owned();
        }
        assert_eq!(last_status, 401, "the session ends at its absolute expiry");
        // Expired access tokens say so.
        s.call(Method::GET, "/v1/auth/me", Some(&b.access), None)
            .await
            .assert_error(401, "token_expired");
    }
}

matrix! {
    async fn housekeeping_deletes_only_refresh_tokens_that_can_never_be_used() {
        let s = shared();
        // Strict reuse detection, so presenting the rotated token below revokes at once.
        let t = s
            .new_tenant_with(json!({"name": "strict housekeeping", "auth_config": {"refresh_reuse_interval": 0}}))
            .await;
        let a = signed(&s.sign_up(&t, "keep@example.com", "long enough password").await);
        let refreshed = s.refresh(&t, &a.refresh).await;
        assert_eq!(refreshed.status, 200);
        let b = sign_in(s, &t, "keep@example.com", "long enough password").await;
        assert_eq!(s.call(Method::DELETE, &format!("/v1/sessions/{}", b.session_id), Some(&t.sk), None).await.status, 204);

        let control = &s.state.as_ref().unwrap().control;
        let store = control.backend().open_tenant(&control.tenant(&t.id).await.unwrap()).await.unwrap();
        assert_eq!(store.export().await.unwrap().refresh_tokens.len(), 3);
        let purged = store.purge_dead_refresh_tokens(control.clock().now()).await.unwrap();
        assert_eq!(purged, 1, "only the revoked session's token");
        let left = store.export().await.unwrap().refresh_tokens;
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|r| r.session_id == a.session_id));
        // The rotated token survived, so presenting it still revokes its session.
        s.refresh(&t, &a.refresh).await
            .assert_error(401, "session_revoked");
        assert_eq!(store.purge_dead_refresh_tokens(control.clock().now()).await.unwrap(), 2, "now the whole session is dead");
    }
}

matrix! {
    async fn housekeeping_deletes_expired_refresh_tokens() {
        let s = start_server(&[]);
        let t = s.new_tenant_with(json!({"name": "short", "auth_config": {"refresh_token_ttl": 60}})).await;
        s.sign_up(&t, "short@example.com", "long enough password").await;
        let control = &s.state.as_ref().unwrap().control;
        let store = control.backend().open_tenant(&control.tenant(&t.id).await.unwrap()).await.unwrap();
        assert_eq!(store.purge_dead_refresh_tokens(control.clock().now()).await.unwrap(), 0);
        s.advance_clock(61);
        assert_eq!(store.purge_dead_refresh_tokens(control.clock().now()).await.unwrap(), 1);
        assert!(store.export().await.unwrap().refresh_tokens.is_empty());
    }
}

matrix! {
    async fn a_refresh_records_where_and_when_the_session_was_used() {
        let s = start_server(&[]);
        let t = s.new_tenant().await;
        let a = signed(&s.sign_up(&t, "roaming@example.com", "long enough password").await);
        let session_path = format!("/v1/sessions/{}", a.session_id);
        let before = s.call(Method::GET, &session_path, Some(&t.sk), None).await;
        assert_eq!(before.status, 200, "{}", before.body);
        s.advance_clock(120);
        let refreshed = client()
            .post(s.url("/v1/auth/token/refresh"))
            .bearer_auth(&t.pk)
            .header("user-agent", "roaming-agent/2.0")
            .json(&json!({"refresh_token": a.refresh}))
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), 200);
        let after = s.call(Method::GET, &session_path, Some(&t.sk), None).await;
        assert_eq!(after.body["user_agent"], "roaming-agent/2.0", "{}", after.body);
        assert_eq!(after.body["ip_address"], "127.0.0.1");
        let at = |v: &Value| time::OffsetDateTime::parse(v["last_active_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
        // The clock moved 120 s, plus the real time the test itself took.
        let moved = (at(&after.body) - at(&before.body)).whole_seconds();
        assert!((120..130).contains(&moved), "last_active_at moves with the refresh ({moved} s)");
        assert_ne!(before.body["user_agent"], after.body["user_agent"]);
    }
}
