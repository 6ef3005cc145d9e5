//! Access tokens: claims, JWKS verification by an independent library, key
//! rotation, forged tokens, refresh rotation basics.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn header_of(token: &str) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

/// A tenant's JWKS as a verifier fetches it (public, cacheable for five minutes).
pub(crate) async fn fetch_jwks(s: &Server, tenant_id: &str) -> Value {
    let jwks = s
        .call(
            Method::GET,
            &format!("/t/{tenant_id}/.well-known/jwks.json"),
            None,
            None,
        )
        .await;
    assert_eq!(jwks.status, 200, "{}", jwks.body);
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    jwks.body
}

/// Verifies a token against a JWKS the way an app backend would: pick the key by `kid`, check with jsonwebtoken.
pub(crate) fn verify_against(s: &Server, jwks: &Value, tenant_id: &str, token: &str) -> Result<Value, String> {
    let kid = header_of(token)["kid"].as_str().unwrap().to_owned();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set.find(&kid).ok_or("kid not published")?;
    let alg: Algorithm = header_of(token)["alg"].as_str().unwrap().parse().unwrap();
    let mut validation = Validation::new(alg);
    validation.set_audience(&[tenant_id]);
    validation.set_issuer(&[format!("{}/t/{tenant_id}", s.base)]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

/// Verifies a token against the tenant's JWKS as published now.
async fn verify_with_jwks(s: &Server, tenant_id: &str, token: &str) -> Result<Value, String> {
    verify_against(s, &fetch_jwks(s, tenant_id).await, tenant_id, token)
}

matrix! {
    async fn access_tokens_carry_the_contract_claims_and_verify_against_the_jwks() {
        let s = shared();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "claims@example.com", "long enough password").await;
        let session = &body["session"];
        assert_eq!(session["token_type"], "Bearer");
        assert_eq!(session["expires_in"], 900);
        assert!(session["refresh_token"].as_str().unwrap().starts_with("rt_"));
        let token = session["access_token"].as_str().unwrap();
        let header = header_of(token);
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["typ"], "at+jwt");
        let claims = verify_with_jwks(s, &t.id, token).await.unwrap();
        assert_eq!(claims["sub"], body["user"]["id"]);
        assert_eq!(claims["sid"], session["id"]);
        assert_eq!(claims["tenant_id"], t.id);
        assert_eq!(claims["aud"], t.id);
        assert_eq!(claims["amr"], json!(["pwd"]));
        assert_eq!(claims["mfa_verified"], false);
        assert_eq!(claims["role"], "member");
        assert_eq!(claims["email"], "claims@example.com");
        for key in [
            "iat",
            "nbf",
            "exp",
            "jti",
            "email_verified",
            "org_id",
            "org_role",
            "org_permissions",
            "public_metadata",
        ] {
            assert!(claims.get(key).is_some(), "missing claim {key}");
        }
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
        let discovery = s
            .call(
                Method::GET,
                &format!("/t/{}/.well-known/openid-configuration", t.id),
                None,
                None,
            )
            .await;
        assert_eq!(discovery.body["issuer"], claims["iss"]);
        assert_eq!(
            discovery.body["jwks_uri"],
            format!("{}/t/{}/.well-known/jwks.json", s.base, t.id)
        );
        let alias = s.call(Method::GET, &format!("/v1/jwks/{}", t.id), None, None).await;
        assert_eq!(alias.status, 200);
        for key in alias.body["keys"].as_array().unwrap() {
            assert!(
                key.get("d").is_none() && key.get("p").is_none(),
                "never a private member"
            );
        }
    }
}

matrix! {
    async fn each_signing_algorithm_works_end_to_end() {
        let s = shared();
        for alg in ["ES256", "RS256"] {
            let t = s
                .new_tenant_with(json!({"name": format!("alg {alg}"), "auth_config": {"signing_alg": alg}}))
                .await;
            let body = s.sign_up(&t, "alg@example.com", "long enough password").await;
            let token = body["session"]["access_token"].as_str().unwrap();
            assert_eq!(header_of(token)["alg"], alg);
            verify_with_jwks(s, &t.id, token).await.unwrap();
            assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(token), None).await.status, 200);
        }
    }
}

matrix! {
    async fn rotation_publishes_a_new_key_and_old_tokens_keep_verifying() {
        let s = shared();
        let t = s.new_tenant().await;
        let before = s.sign_up(&t, "rot@example.com", "long enough password").await;
        let old_token = before["session"]["access_token"].as_str().unwrap().to_owned();
        let old_kid = header_of(&old_token)["kid"].as_str().unwrap().to_owned();

        let rotated = s
            .admin(
                Method::POST,
                &format!("/cp/v1/tenants/{}/signing-keys/rotate", t.id),
                None,
            )
            .await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);

        verify_with_jwks(s, &t.id, &old_token).await.unwrap();
        assert_eq!(
            s.call(Method::GET, "/v1/auth/me", Some(&old_token), None).await.status,
            200
        );
        let after = s
            .call(
                Method::POST,
                "/v1/auth/sign-in",
                Some(&t.pk),
                Some(json!({"email": "rot@example.com", "password": "long enough password"})),
            )
            .await;
        let new_token = after.body["session"]["access_token"].as_str().unwrap();
        let new_kid = header_of(new_token)["kid"].as_str().unwrap().to_owned();
        assert_ne!(new_kid, old_kid, "tokens after a rotation are signed with another key");
        assert_eq!(rotated.body["id"], new_kid.as_str(), "the rotation names the key that signs now");
        verify_with_jwks(s, &t.id, new_token).await.unwrap();

        // The retiring key and the one now signing are both published.
        let jwks = fetch_jwks(s, &t.id).await;
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{kids:?}");
    }
}

matrix! {
    async fn forged_tokens_are_invalid() {
        let s = shared();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "forge@example.com", "long enough password").await;
        let token = body["session"]["access_token"].as_str().unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        let kid = header_of(token)["kid"].as_str().unwrap().to_owned();
        let enc = |v: &Value| B64.encode(v.to_string());

        let none = format!(
            "{}.{}.",
            enc(&json!({"alg": "none", "typ": "at+jwt", "kid": kid})),
            parts[1]
        );
        // The published key that signed this token (the JWKS also holds the next key).
        let jwks = fetch_jwks(s, &t.id).await;
        let signing_key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("the token's key is published")
            .clone();
        let public_x = B64.decode(signing_key["x"].as_str().unwrap()).unwrap();
        let mut hs_header = jsonwebtoken::Header::new(Algorithm::HS256);
        hs_header.kid = Some(kid.clone());
        let hs256 = jsonwebtoken::encode(&hs_header, &claims, &jsonwebtoken::EncodingKey::from_secret(&public_x)).unwrap();
        let unknown_kid = format!(
            "{}.{}.{}",
            enc(&json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"})),
            parts[1],
            parts[2]
        );
        let with_jwk = format!(
            "{}.{}.{}",
            enc(&json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jwk": signing_key})),
            parts[1],
            parts[2]
        );
        let mut elevated = claims.clone();
        elevated["role"] = json!("admin");
        let tampered = format!("{}.{}.{}", parts[0], enc(&elevated), parts[2]);
        let garbage = "not.a.jwt".to_owned();
        for (name, forged) in [
            ("none", none),
            ("hs256", hs256),
            ("kid", unknown_kid),
            ("jwk", with_jwk),
            ("tampered", tampered),
            ("garbage", garbage),
        ] {
            let reply = s.call(Method::GET, "/v1/auth/me", Some(&forged), None).await;
            assert_eq!(reply.status, 401, "{name}: {}", reply.body);
            assert_eq!(reply.body["error"]["code"], "invalid_token", "{name}");
            let verify = s
                .call(
                    Method::POST,
                    "/v1/sessions/verify",
                    Some(&t.sk),
                    Some(json!({"token": forged})),
                )
                .await;
            assert_eq!(verify.body["valid"], false, "{name}");
        }
        s.call(Method::GET, "/v1/auth/me", None, None)
            .await
            .assert_error(401, "missing_token");
    }
}

matrix! {
    async fn refresh_rotates_and_a_reused_token_revokes_the_session() {
        let s = shared();
        // Strict reuse detection: no grace interval for a second tab (see `review.rs` for the default).
        let t = s
            .new_tenant_with(json!({"name": "strict refresh", "auth_config": {"refresh_reuse_interval": 0}}))
            .await;
        let body = s.sign_up(&t, "refresh@example.com", "long enough password").await;
        let first = body["session"]["refresh_token"].as_str().unwrap().to_owned();
        let access = body["session"]["access_token"].as_str().unwrap().to_owned();
        let refreshed = s.refresh(&t, &first).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        let second = refreshed.body["session"]["refresh_token"].as_str().unwrap().to_owned();
        assert_ne!(first, second);
        assert_eq!(refreshed.body["session"]["id"], body["session"]["id"]);
        s.refresh(&t, &first).await
        .assert_error(401, "session_revoked");
        s.refresh(&t, &second).await
        .assert_error(401, "session_revoked");
        s.call(Method::GET, "/v1/auth/me", Some(&access), None)
            .await
            .assert_error(401, "session_revoked");
        let verify = s
            .call(
                Method::POST,
                "/v1/sessions/verify",
                Some(&t.sk),
                Some(json!({"token": access})),
            )
            .await;
        assert_eq!(verify.body["valid"], false);
        s.refresh(&t, "rt_unknown").await
        .assert_error(401, "refresh_token_invalid");
    }
}
