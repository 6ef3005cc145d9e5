//! Social sign-in (API.md §9) end to end: one hellojohn tenant is the `oidc:` upstream of
//! another (our provider as the IdP, our social client as the relying party, ID tokens
//! verified against the upstream's JWKS), and GitHub's non-OIDC flow against a small
//! local stand-in for its endpoints.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::oauth::{new_client, Browser, CHALLENGE, VERIFIER};

const APP: &str = "https://app.social.example/done";

/// The relying-party tenant: its app lives at `https://app.social.example`.
async fn relying_party(s: &Server) -> TestTenant {
    let name = format!("{} relying party", ulid::Ulid::new());
    s.new_tenant_with(json!({"name": name, "auth_config": {"allowed_origins": ["https://app.social.example"]}}))
        .await
}

async fn put_provider(s: &Server, tenant: &TestTenant, provider: &str, body: Value) -> Reply {
    s.admin(
        Method::PUT,
        &format!("/cp/v1/tenants/{}/oauth-providers/{provider}", tenant.id),
        Some(body),
    )
    .await
}

fn start_url(s: &Server, t: &TestTenant, provider: &str, state: &str) -> String {
    s.url(&format!(
        "/v1/auth/oauth/{provider}/authorize?client_id={}&redirect_uri={}&state={state}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        t.pk,
        url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>()
    ))
}

/// Follows the provider's redirects back to the app (signing in on hellojohn's hosted page
/// when the upstream asks) and returns the app's landing URL.
async fn through_provider(b: &mut Browser, s: &Server, start: &str, login: Option<(&str, &str, &str)>) -> url::Url {
    let mut visit = b.get(start).await;
    assert_eq!(visit.status, 302, "{}", visit.html);
    for _ in 0..6 {
        let location = visit.location.clone().expect("a redirect");
        if location.starts_with(APP) {
            return url::Url::parse(&location).unwrap();
        }
        visit = b.get(&location).await;
        if visit.status == 200 {
            let (upstream, email, password) = login.expect("a sign-in page");
            visit = b
                .submit(
                    &s.url(&format!("/t/{upstream}/oauth2/authorize")),
                    &visit,
                    "sign_in",
                    &[("email", email), ("password", password)],
                )
                .await;
        }
        assert!([302, 303].contains(&visit.status), "{}: {}", visit.status, visit.html);
    }
    panic!("never came back to the app");
}

fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn finish(s: &Server, t: &TestTenant, provider: &str, landed: &url::Url) -> Reply {
    let code = param(landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));
    let body = json!({"code": code, "code_verifier": VERIFIER, "redirect_uri": APP});
    s.call(
        Method::POST,
        &format!("/v1/auth/oauth/{provider}/callback"),
        Some(&t.pk),
        Some(body),
    )
    .await
}

matrix! {
    async fn another_tenant_is_an_oidc_upstream_and_identities_never_merge_silently() {
        let s = shared();
        // The upstream: a hellojohn tenant with verified users and a client for the relying party.
        let idp = s.new_tenant().await;
        for email in ["alice@idp.example", "bob@idp.example"] {
            let made = s.call(Method::POST, "/v1/users", Some(&idp.sk), Some(json!({"email": email, "password": "upstream pass 1", "email_verified": true}))).await;
            assert_eq!(made.status, 201, "{}", made.body);
        }
        let client = new_client(s, &idp, json!({"name": "RP", "type": "confidential", "first_party": true,
            "redirect_uris": [s.url("/v1/oauth/callback/oidc:upstream")]})).await;
        let rp = relying_party(s).await;
        let receiver = crate::webhooks::Receiver::start().await;
        crate::webhooks::register(s, &rp, &receiver.url("ok"), json!(["oauth.connected", "oauth.disconnected"])).await;
        let settings = json!({"client_id": client["client_id"], "client_secret": client["client_secret"], "issuer": s.url(&format!("/t/{}", idp.id))});
        let put = put_provider(s, &rp, "oidc:upstream", settings.clone()).await;
        assert_eq!(put.status, 200, "{}", put.body);
        assert!(put.body.get("client_secret").is_none() && put.body["allow_linking"] == false);
        let listed = s.admin(Method::GET, &format!("/cp/v1/tenants/{}/oauth-providers", rp.id), None).await;
        assert_eq!(listed.body["data"][0]["provider"], "oidc:upstream");
        assert!(!listed.body.to_string().contains(client["client_secret"].as_str().unwrap()), "the secret is never shown");

        // A new user comes in through the upstream.
        let mut b = Browser::new();
        let landed = through_provider(&mut b, s, &start_url(s, &rp, "oidc:upstream", "app-1"), Some((&idp.id, "alice@idp.example", "upstream pass 1"))).await;
        assert_eq!(param(&landed, "state").as_deref(), Some("app-1"));
        let signed = finish(s, &rp, "oidc:upstream", &landed).await;
        assert_eq!(signed.status, 200, "{}", signed.body);
        assert_eq!((signed.body["user"]["email"].as_str(), signed.body["user"]["email_verified"].as_bool()), (Some("alice@idp.example"), Some(true)));
        let access = signed.body["session"]["access_token"].as_str().unwrap().to_owned();
        assert_eq!(jwt_claims(&access)["amr"], json!(["oauth"]));
        assert_eq!(finish(s, &rp, "oidc:upstream", &landed).await.status, 410, "the app's code works once");
        let identities = s.call(Method::GET, "/v1/me/identities", Some(&access), None).await;
        assert_eq!(identities.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(identities.body["data"][0]["provider"], "oidc:upstream");
        let alice = signed.body["user"]["id"].clone();
        // Again: the same user, by identity.
        let again = through_provider(&mut b, s, &start_url(s, &rp, "oidc:upstream", "app-2"), None).await;
        assert_eq!(finish(s, &rp, "oidc:upstream", &again).await.body["user"]["id"], alice);
        // Her only way in can't be unlinked.
        let only = identities.body["data"][0]["id"].as_str().unwrap();
        s.call(Method::DELETE, &format!("/v1/me/identities/{only}"), Some(&access), None).await.assert_error(409, "conflict");

        // Bob already has a password account here: not merged without allow_linking…
        s.sign_up(&rp, "bob@idp.example", "local password 1").await;
        let mut b = Browser::new();
        let refused = through_provider(&mut b, s, &start_url(s, &rp, "oidc:upstream", "app-3"), Some((&idp.id, "bob@idp.example", "upstream pass 1"))).await;
        assert_eq!(param(&refused, "error").as_deref(), Some("account_exists"));
        assert_eq!(param(&refused, "code"), None);
        // …and linked once the tenant allows it (the upstream vouches for the address).
        let mut linking = settings.clone();
        linking["allow_linking"] = json!(true);
        assert_eq!(put_provider(s, &rp, "oidc:upstream", linking).await.status, 200);
        let linked = through_provider(&mut b, s, &start_url(s, &rp, "oidc:upstream", "app-4"), None).await;
        let bob = finish(s, &rp, "oidc:upstream", &linked).await;
        let local = s.sign_in(&rp, "bob@idp.example", "local password 1").await;
        assert_eq!(bob.body["user"]["id"], local.body["user"]["id"], "linked to the existing account");
        let bob_access = bob.body["session"]["access_token"].as_str().unwrap();
        let bob_ids = s.call(Method::GET, "/v1/me/identities", Some(bob_access), None).await;
        let id = bob_ids.body["data"][0]["id"].as_str().unwrap();
        assert_eq!(s.call(Method::DELETE, &format!("/v1/me/identities/{id}"), Some(bob_access), None).await.status, 204, "bob keeps his password");

        // Linking and unlinking are announced: alice and bob connected, bob disconnected.
        let seen = receiver.wait(20, |r| r.len() >= 3).await;
        let kinds: Vec<String> = seen.iter().map(|r| r.event_type()).collect();
        assert_eq!(kinds.iter().filter(|k| *k == "oauth.connected").count(), 2, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| *k == "oauth.disconnected").count(), 1, "{kinds:?}");
        let first = seen.iter().find(|r| r.event_type() == "oauth.connected").unwrap().json();
        assert_eq!(first["data"]["identity"]["provider"], "oidc:upstream", "{first}");

        // Refusals.
        let path = |url: String| url.replace(&s.base, "");
        s.call(Method::GET, &path(start_url(s, &rp, "github", "x")), None, None).await.assert_error(400, "invalid_request");
        let foreign = start_url(s, &rp, "oidc:upstream", "x").replace("https%3A%2F%2Fapp.social.example", "https%3A%2F%2Fevil.example");
        s.call(Method::GET, &path(foreign), None, None).await.assert_error(400, "invalid_request");
        let forged = format!("/v1/oauth/callback/oidc:upstream?code=x&state={}.forged", rp.id);
        s.call(Method::GET, &forged, None, None).await.assert_error(401, "invalid_token");
        let wrong_verifier = json!({"code": "hjoc_nothing", "code_verifier": VERIFIER, "redirect_uri": APP});
        s.call(Method::POST, "/v1/auth/oauth/oidc:upstream/callback", Some(&rp.pk), Some(wrong_verifier)).await.assert_error(401, "invalid_token");
        assert_eq!(s.admin(Method::DELETE, &format!("/cp/v1/tenants/{}/oauth-providers/oidc:upstream", rp.id), None).await.status, 204);
    }
}

/// A stand-in for GitHub's three endpoints (authorize, access_token, the user API).
async fn github_stand_in() -> String {
    use axum::extract::Query;
    use axum::response::Redirect;
    use axum::routing::{get, post};
    use std::collections::HashMap;
    let app = axum::Router::new()
        .route(
            "/login/oauth/authorize",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                assert_eq!(q["code_challenge_method"], "S256");
                let back = format!("{}?code=gh-code&state={}", q["redirect_uri"], q["state"]);
                Redirect::to(&back)
            }),
        )
        .route(
            "/login/oauth/access_token",
            post(|body: String| async move {
                let ok = body.contains("code=gh-code") && body.contains("client_secret=gh-secret") && body.contains("code_verifier=");
                match ok {
                    true => axum::Json(json!({"access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email"})),
                    false => axum::Json(json!({"error": "bad_verification_code"})),
                }
            }),
        )
        .route("/api/v3/user", get(|| async { axum::Json(json!({"id": 4242, "login": "octo", "name": "Octo Cat", "avatar_url": "https://avatars.example/octo.png"})) }))
        .route("/api/v3/user/emails", get(|| async { axum::Json(json!([{"email": "old@example.com", "primary": false, "verified": true}, {"email": "octo@example.com", "primary": true, "verified": true}])) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn github_sign_in_through_a_local_stand_in() {
    // Its own server: the second factor is computed from the real clock, which tests of
    // the shared server move.
    let server = start_server(&[]);
    let s = &server;
    let github = github_stand_in().await;
    let rp = relying_party(s).await;
    let put = put_provider(
        s,
        &rp,
        "github",
        json!({"client_id": "gh-client", "client_secret": "gh-secret", "issuer": github}),
    )
    .await;
    assert_eq!(
        (put.status, put.body["scopes"].clone()),
        (200, json!(["read:user", "user:email"]))
    );
    let mut b = Browser::new();
    let landed = through_provider(&mut b, s, &start_url(s, &rp, "github", "gh-1"), None).await;
    let signed = finish(s, &rp, "github", &landed).await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert_eq!(signed.body["user"]["email"], "octo@example.com", "the primary address");
    assert_eq!(signed.body["user"]["name"], "Octo Cat");
    let access = signed.body["session"]["access_token"].as_str().unwrap();
    let ids = s.call(Method::GET, "/v1/me/identities", Some(access), None).await;
    assert_eq!(
        (
            ids.body["data"][0]["provider"].as_str(),
            ids.body["data"][0]["provider_user_id"].as_str()
        ),
        (Some("github"), Some("4242"))
    );

    // A provider is one factor: an enrolled second factor is still asked for.
    let started = s.call(Method::POST, "/v1/me/mfa/totp", Some(access), None).await;
    let secret = started.body["secret"].as_str().unwrap().to_owned();
    let confirm =
        json!({"factor_id": started.body["factor_id"], "code": crate::mfa::totp_at(&secret, crate::mfa::now())});
    assert_eq!(
        s.call(Method::POST, "/v1/me/mfa/totp/confirm", Some(access), Some(confirm))
            .await
            .status,
        200
    );
    let landed = through_provider(&mut b, s, &start_url(s, &rp, "github", "gh-2"), None).await;
    let challenged = finish(s, &rp, "github", &landed).await;
    challenged.assert_error(403, "mfa_required");
    let verify = json!({"challenge_id": challenged.body["error"]["challenge_id"], "code": crate::mfa::totp_at(&secret, crate::mfa::now() + 30)});
    let verified = s
        .call(Method::POST, "/v1/auth/mfa/verify", Some(&rp.pk), Some(verify))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(
        jwt_claims(verified.body["session"]["access_token"].as_str().unwrap())["amr"],
        json!(["oauth", "otp"])
    );
}

matrix! {
    async fn the_hosted_sign_in_page_offers_the_tenants_providers() {
        let s = shared();
        let idp = s.new_tenant().await;
        let made = s.call(Method::POST, "/v1/users", Some(&idp.sk), Some(json!({"email": "carol@idp.example", "password": "upstream pass 2", "email_verified": true}))).await;
        assert_eq!(made.status, 201, "{}", made.body);
        let rp = relying_party(s).await;
        let upstream = new_client(s, &idp, json!({"name": "RP", "type": "confidential", "first_party": true,
            "redirect_uris": [s.url(&format!("/t/{}/oauth2/social/oidc:corp/return", rp.id)), s.url("/v1/oauth/callback/oidc:corp")]})).await;
        let settings = json!({"client_id": upstream["client_id"], "client_secret": upstream["client_secret"], "issuer": s.url(&format!("/t/{}", idp.id))});
        assert_eq!(put_provider(s, &rp, "oidc:corp", settings).await.status, 200);
        // An app of the relying party's own provider.
        let app = new_client(s, &rp, json!({"name": "App", "type": "public", "first_party": true, "redirect_uris": ["http://127.0.0.1:9/cb"]})).await;
        let authorize = s.url(&format!(
            "/t/{}/oauth2/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid+email&state=outer&code_challenge={CHALLENGE}&code_challenge_method=S256",
            rp.id, app["client_id"].as_str().unwrap()));
        let mut b = Browser::new();
        let page = b.get(&authorize).await;
        assert_eq!(page.status, 200);
        let start = page.html.split("href=\"").skip(1).map(|h| crate::oauth::unescape(&h[..h.find('"').unwrap()]))
            .find(|h| h.contains("/oauth2/social/oidc:corp?")).unwrap_or_else(|| panic!("no button in {}", page.html));
        assert!(page.html.contains("Continue with corp"));
        // The button → the upstream's sign-in → back to the page → back to the app.
        let mut visit = b.get(&s.url(&start)).await;
        for _ in 0..6 {
            let location = visit.location.clone().unwrap_or_else(|| panic!("{}: {}", visit.status, visit.html));
            if location.starts_with("http://127.0.0.1:9/cb") {
                break;
            }
            let next = if location.starts_with('/') { s.url(&location) } else { location };
            visit = b.get(&next).await;
            if visit.status == 200 {
                visit = b.submit(&s.url(&format!("/t/{}/oauth2/authorize", idp.id)), &visit, "sign_in", &[("email", "carol@idp.example"), ("password", "upstream pass 2")]).await;
            }
        }
        assert_eq!(visit.param("state").as_deref(), Some("outer"));
        let code = visit.param("code").expect("a code for the app");
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("client_id", app["client_id"].as_str().unwrap()), ("code_verifier", VERIFIER)];
        let res = client().post(s.url(&format!("/t/{}/oauth2/token", rp.id))).form(&form).send().await.unwrap();
        let tokens = Reply::from(res).await;
        assert_eq!(tokens.status, 200, "{}", tokens.body);
        assert_eq!(jwt_claims(tokens.body["id_token"].as_str().unwrap())["email"], "carol@idp.example");
        assert_eq!(jwt_claims(tokens.body["access_token"].as_str().unwrap())["amr"], json!(["oauth"]));
    }
}
