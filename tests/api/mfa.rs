//! TOTP MFA and backup codes over HTTP, with codes computed by an independent
//! RFC 6238 implementation (HMAC-SHA1 from the `hmac`/`sha1` crates).

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// RFC 4648 base32 (no padding) decoding, as an authenticator app does it.
fn base32_decode(text: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        value = (value << 5) | alphabet.iter().position(|a| *a == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            out.push((value >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

/// RFC 6238 with SHA-1, 6 digits, 30 s steps.
pub(crate) fn totp_at(secret_base32: &str, unix: u64) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&base32_decode(secret_base32)).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let code = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", code % 1_000_000)
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(token: &str) -> Value {
    jwt_claims(token)
}

/// Signs a user up and enrolls TOTP; returns (access token, base32 secret, backup codes).
pub(crate) async fn enrolled(s: &Server, t: &TestTenant, email: &str) -> (String, String, Vec<String>) {
    let body = s.sign_up(t, email, "long enough password").await;
    let access = body["session"]["access_token"].as_str().unwrap().to_owned();
    let started = s.call(Method::POST, "/v1/me/mfa/totp", Some(&access), None).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    let factor_id = started.body["factor_id"].as_str().unwrap().to_owned();
    let code = totp_at(&secret, now());
    let confirmed = s
        .call(
            Method::POST,
            "/v1/me/mfa/totp/confirm",
            Some(&access),
            Some(json!({"factor_id": factor_id, "code": code})),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    let codes = confirmed.body["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (access, secret, codes)
}

async fn challenge(s: &Server, t: &TestTenant, email: &str) -> String {
    let reply = s.sign_in(t, email, "long enough password").await;
    reply.assert_error(403, "mfa_required");
    assert_eq!(reply.body["error"]["available_factors"], json!(["totp", "backup_code"]));
    reply.body["error"]["challenge_id"].as_str().unwrap().to_owned()
}

async fn verify(s: &Server, t: &TestTenant, challenge_id: &str, code: &str) -> Reply {
    s.call(
        Method::POST,
        "/v1/auth/mfa/verify",
        Some(&t.pk),
        Some(json!({"challenge_id": challenge_id, "code": code})),
    )
    .await
}

matrix! {
    async fn enrollment_confirms_with_a_real_authenticator_code() {
        let s = shared();
        let t = s.new_tenant_with(json!({"name": "Acme MFA"})).await;
        let body = s.sign_up(&t, "enroll@example.com", "long enough password").await;
        let access = body["session"]["access_token"].as_str().unwrap();
        let started = s.call(Method::POST, "/v1/me/mfa/totp", Some(access), None).await;
        assert_eq!(started.status, 201);
        assert_eq!(started.header("cache-control"), Some("no-store"));
        let secret = started.body["secret"].as_str().unwrap();
        assert_eq!(base32_decode(secret).len(), 20, "160-bit secret");
        let uri = started.body["otpauth_uri"].as_str().unwrap();
        assert!(uri.starts_with("otpauth://totp/Acme%20MFA:enroll%40example%2Ecom?secret="), "{uri}");
        assert!(uri.contains(&format!("secret={secret}&issuer=Acme%20MFA&algorithm=SHA1&digits=6&period=30")));
        assert!(started.body["qr_code_svg"].as_str().unwrap().contains("<svg"));
        let factor_id = started.body["factor_id"].as_str().unwrap();
        assert!(factor_id.starts_with("fac_"));
        let listed = s.call(Method::GET, "/v1/me/mfa/factors", Some(access), None).await;
        assert_eq!(listed.body["data"][0]["status"], "pending");
        assert!(!listed.body.to_string().contains(secret), "the secret is never listed");
        // Pending factors don't gate sign-in.
        assert_eq!(s.sign_in(&t, "enroll@example.com", "long enough password").await.status, 200);

        let wrong = s.call(Method::POST, "/v1/me/mfa/totp/confirm", Some(access), Some(json!({"factor_id": factor_id, "code": "000000"}))).await;
        wrong.assert_error(401, "invalid_mfa_code");
        let code = totp_at(secret, now());
        let ok = s.call(Method::POST, "/v1/me/mfa/totp/confirm", Some(access), Some(json!({"factor_id": factor_id, "code": code}))).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.body["factor"]["status"], "active");
        let codes = ok.body["backup_codes"].as_array().unwrap();
        assert_eq!(codes.len(), 10);
        for c in codes {
            let c = c.as_str().unwrap();
            assert!(c.len() == 9 && &c[4..5] == "-", "{c}");
        }
        let me = s.call(Method::GET, "/v1/auth/me", Some(access), None).await;
        assert_eq!(me.body["mfa_enabled"], true);
        let types: Vec<Value> = s.call(Method::GET, "/v1/me/mfa/factors", Some(access), None).await.body["data"]
            .as_array().unwrap().iter().map(|f| f["type"].clone()).collect();
        assert!(types.contains(&json!("totp")) && types.contains(&json!("backup_codes")));
    }
}

matrix! {
    async fn sign_in_asks_for_the_second_factor_and_a_code_works_once() {
        let s = shared();
        let t = s.new_tenant().await;
        let (_, secret, backup) = enrolled(s, &t, "two@example.com").await;
        let before = s.call(Method::GET, "/v1/sessions", Some(&t.sk), None).await.body["data"].as_array().unwrap().len();
        let challenge_id = challenge(s, &t, "two@example.com").await;
        assert!(challenge_id.starts_with("mfa_"));
        let after = s.call(Method::GET, "/v1/sessions", Some(&t.sk), None).await.body["data"].as_array().unwrap().len();
        assert_eq!(before, after, "no session before the second factor");

        // The confirmation consumed this step's code: the next step's (within ±1 drift) works once.
        let code = totp_at(&secret, now() + 30);
        let ok = verify(s, &t, &challenge_id, &code).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let claims = claims(ok.body["session"]["access_token"].as_str().unwrap());
        assert_eq!(claims["amr"], json!(["pwd", "otp"]));
        assert_eq!(claims["mfa_verified"], true);
        verify(s, &t, &challenge_id, &code).await.assert_error(401, "invalid_mfa_code");
        let again = challenge(s, &t, "two@example.com").await;
        verify(s, &t, &again, &code).await.assert_error(401, "invalid_mfa_code");

        // A backup code finishes a sign-in, once.
        let ok = verify(s, &t, &again, &backup[0].to_lowercase()).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        let third = challenge(s, &t, "two@example.com").await;
        verify(s, &t, &third, &backup[0]).await.assert_error(401, "invalid_mfa_code");
        assert_eq!(verify(s, &t, &third, &backup[1]).await.status, 200);
    }
}

matrix! {
    async fn bad_codes_and_challenges_never_give_a_session() {
        let s = shared();
        let t = s.new_tenant().await;
        let (_, secret, _) = enrolled(s, &t, "bad@example.com").await;
        let (_, other_secret, _) = enrolled(s, &t, "other@example.com").await;
        let challenge_id = challenge(s, &t, "bad@example.com").await;
        let good = totp_at(&secret, now() + 30);
        for bad in ["12 34 56", "abcdef", "12345", "1234567", "", "ZZZZ-ZZZZ"] {
            verify(s, &t, &challenge_id, bad).await.assert_error(401, "invalid_mfa_code");
        }
        // Five wrong codes killed the challenge: even the right one fails now.
        verify(s, &t, &challenge_id, &good).await.assert_error(401, "invalid_mfa_code");
        let fresh = challenge(s, &t, "bad@example.com").await;
        verify(s, &t, &fresh, &totp_at(&other_secret, now())).await.assert_error(401, "invalid_mfa_code");
        verify(s, &t, "mfa_01ARZ3NDEKTSV4RRFFQ69G5FAV", &good).await.assert_error(401, "invalid_mfa_code");
        s.call(Method::POST, "/v1/auth/mfa/verify", Some(&t.pk), Some(json!({"code": good}))).await.assert_error(400, "invalid_request");
        // Another tenant's key can't finish this tenant's challenge.
        let other = s.new_tenant().await;
        verify(s, &other, &fresh, &good).await.assert_error(401, "invalid_mfa_code");
        assert_eq!(verify(s, &t, &fresh, &good).await.status, 200);
    }
}

matrix! {
    async fn removing_a_factor_or_renewing_codes_needs_a_current_code() {
        let s = shared();
        let t = s.new_tenant().await;
        let (access, secret, backup) = enrolled(s, &t, "rm@example.com").await;
        let totp_id = s.call(Method::GET, "/v1/me/mfa/factors", Some(&access), None).await.body["data"]
            .as_array().unwrap().iter().find(|f| f["type"] == "totp").unwrap()["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/me/mfa/factors/{totp_id}");
        s.call(Method::DELETE, &path, Some(&access), Some(json!({}))).await.assert_error(400, "invalid_request");
        s.call(Method::DELETE, &path, Some(&access), Some(json!({"code": "000000"}))).await.assert_error(401, "invalid_mfa_code");
        let renewed = s.call(Method::POST, "/v1/me/mfa/backup-codes", Some(&access), Some(json!({"code": backup[0]}))).await;
        assert_eq!(renewed.status, 200, "{}", renewed.body);
        let fresh: Vec<String> = renewed.body["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        s.call(Method::DELETE, &path, Some(&access), Some(json!({"code": backup[1]}))).await.assert_error(401, "invalid_mfa_code");
        let removed = s.call(Method::DELETE, &path, Some(&access), Some(json!({"code": fresh[0]}))).await;
        assert_eq!(removed.status, 204, "{}", removed.body);
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(&access), None).await.body["mfa_enabled"], false);
        assert_eq!(s.sign_in(&t, "rm@example.com", "long enough password").await.status, 200, "no factor, no challenge");
        let _ = secret;
    }
}

matrix! {
    async fn the_secret_key_can_reset_a_users_factors() {
        let s = shared();
        let t = s.new_tenant().await;
        let (access, _, _) = enrolled(s, &t, "reset@example.com").await;
        let user_id = s.call(Method::GET, "/v1/auth/me", Some(&access), None).await.body["id"].as_str().unwrap().to_owned();
        let listed = s.call(Method::GET, &format!("/v1/users/{user_id}/mfa/factors"), Some(&t.sk), None).await;
        let totp = listed.body["data"].as_array().unwrap().iter().find(|f| f["type"] == "totp").unwrap()["id"].as_str().unwrap().to_owned();
        let other = s.new_tenant().await;
        s.call(Method::GET, &format!("/v1/users/{user_id}/mfa/factors"), Some(&other.sk), None).await.assert_error(404, "not_found");
        let reset = s.call(Method::DELETE, &format!("/v1/users/{user_id}/mfa/factors/{totp}"), Some(&t.sk), None).await;
        assert_eq!(reset.status, 204);
        assert_eq!(s.sign_in(&t, "reset@example.com", "long enough password").await.status, 200);
        assert_eq!(s.call(Method::GET, &format!("/v1/users/{user_id}/mfa/factors"), Some(&t.sk), None).await.body["data"].as_array().unwrap().len(), 0);
    }
}

#[tokio::test]
async fn a_challenge_expires_after_five_minutes() {
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    let (_, secret, _) = enrolled(&s, &t, "late@example.com").await;
    let challenge_id = challenge(&s, &t, "late@example.com").await;
    s.advance_clock(301);
    // The code is computed for the server's (moved) clock, so only the expiry can refuse it.
    verify(&s, &t, &challenge_id, &totp_at(&secret, now() + 301))
        .await
        .assert_error(401, "invalid_mfa_code");
    let fresh = challenge(&s, &t, "late@example.com").await;
    assert_eq!(verify(&s, &t, &fresh, &totp_at(&secret, now() + 301)).await.status, 200);
}

matrix! {
    async fn a_password_reset_does_not_bypass_the_second_factor() {
        let s = shared();
        let t = s.new_tenant().await;
        let (access, _, _) = enrolled(s, &t, "mfa-reset@example.com").await;
        // A verified address: proving an unverified one discards what came before, factors included.
        let user_id = s.call(Method::GET, "/v1/auth/me", Some(&access), None).await.body["id"].as_str().unwrap().to_owned();
        let verified = s.call(Method::PATCH, &format!("/v1/users/{user_id}"), Some(&t.sk), Some(json!({"email_verified": true}))).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        let before = s.mail_count("mfa-reset@example.com");
        s.call(Method::POST, "/v1/auth/password/forgot", Some(&t.pk), Some(json!({"email": "mfa-reset@example.com"}))).await;
        let token = s.next_mail("mfa-reset@example.com", before).await["token"].as_str().unwrap().to_owned();
        let reset = s
            .call(Method::POST, "/v1/auth/password/reset", Some(&t.pk), Some(json!({"token": token, "new_password": "brand new password"})))
            .await;
        assert_eq!(reset.status, 204);
        let reply = s.sign_in(&t, "mfa-reset@example.com", "brand new password").await;
        reply.assert_error(403, "mfa_required");
        // Magic links don't bypass it either.
        let before = s.mail_count("mfa-reset@example.com");
        s.call(Method::POST, "/v1/auth/magic-link", Some(&t.pk), Some(json!({"email": "mfa-reset@example.com"}))).await;
        let token = s.next_mail("mfa-reset@example.com", before).await["token"].as_str().unwrap().to_owned();
        s.call(Method::POST, "/v1/auth/magic-link/verify", Some(&t.pk), Some(json!({"token": token})))
            .await
            .assert_error(403, "mfa_required");
    }
}

matrix! {
    async fn parallel_guesses_on_one_challenge_each_count() {
        let s = shared();
        let t = s.new_tenant().await;
        let (_, secret, _) = enrolled(s, &t, "race@example.com").await;
        let challenge_id = challenge(s, &t, "race@example.com").await;
        let mut guesses = Vec::new();
        for i in 0..10 {
            let (url, pk, id) = (s.url("/v1/auth/mfa/verify"), t.pk.clone(), challenge_id.clone());
            guesses.push(tokio::spawn(async move {
                client()
                    .post(url)
                    .header("X-Client-Id", pk)
                    .json(&json!({"challenge_id": id, "code": format!("{:06}", 111_111 + i)}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        for g in guesses {
            assert_eq!(g.await.unwrap(), 401);
        }
        // However they interleaved, at least five counted: the right code is refused now.
        verify(s, &t, &challenge_id, &totp_at(&secret, now() + 30)).await.assert_error(401, "invalid_mfa_code");
    }
}

matrix! {
    async fn a_pending_factor_is_removed_without_a_code() {
        let s = shared();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "pending@example.com", "long enough password").await;
        let access = body["session"]["access_token"].as_str().unwrap();
        let started = s.call(Method::POST, "/v1/me/mfa/totp", Some(access), None).await;
        let factor_id = started.body["factor_id"].as_str().unwrap();
        let removed = s.call(Method::DELETE, &format!("/v1/me/mfa/factors/{factor_id}"), Some(access), Some(json!({"code": "000000"}))).await;
        assert_eq!(removed.status, 204, "{}", removed.body);
        assert_eq!(s.call(Method::GET, "/v1/me/mfa/factors", Some(access), None).await.body["data"].as_array().unwrap().len(), 0);
    }
}

matrix! {
    async fn a_tenant_that_requires_mfa_challenges_every_sign_in() {
        let s = shared();
        let t = s.new_tenant_with(json!({"name": "strict", "auth_config": {"mfa_required": true}})).await;
        // Sign-up hands out the session a new user enrolls from.
        let body = s.sign_up(&t, "strict@example.com", "long enough password").await;
        assert!(body["session"]["access_token"].is_string());
        let reply = s.sign_in(&t, "strict@example.com", "long enough password").await;
        reply.assert_error(403, "mfa_required");
        assert_eq!(reply.body["error"]["available_factors"], json!([]), "nothing to offer before enrollment");
        let (_, secret, _) = enrolled(s, &t, "strict2@example.com").await;
        let challenge_id = challenge(s, &t, "strict2@example.com").await;
        assert_eq!(verify(s, &t, &challenge_id, &totp_at(&secret, now() + 30)).await.status, 200);
    }
}
