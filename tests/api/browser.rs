//! The hosted pages in a real browser: headless Chromium (Debian's package) driven by
//! Playwright, keyboard only. Password sign-in, sign-in with a second factor, consent for a
//! third-party client, a password reset from the mailed link and a magic-link landing.
//! Screenshots land in `target/browser-artifacts/` (CI keeps them).

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::oauth::{new_client, CHALLENGE, VERIFIER};

/// Debian's Chromium is there (a failure under `HELLOJOHN_TEST_REQUIRE_DB`, else a skip).
pub(crate) fn installed() -> bool {
    present("/usr/bin/chromium", "Debian's chromium", "apt-get install chromium")
}

/// Whether a file a browser test needs exists; missing, it fails the test when the suite
/// requires everything (`HELLOJOHN_TEST_REQUIRE_DB`, as `.ci/run` sets) and else skips it loudly.
pub(crate) fn present(path: &str, what: &str, install: &str) -> bool {
    let found = std::path::Path::new(path).exists();
    if !found {
        assert!(
            std::env::var("HELLOJOHN_TEST_REQUIRE_DB").is_err(),
            "{what} is required at {path} (.ci/run installs it: {install})"
        );
        eprintln!("SKIPPED: {what} is missing at {path} ({install})");
    }
    found
}

#[tokio::test]
async fn the_hosted_pages_work_in_chromium_with_the_keyboard_alone() {
    if !installed() {
        return;
    }
    let shots = format!("{}/target/browser-artifacts", env!("CARGO_MANIFEST_DIR"));
    let Some(mut chromium) = PythonClient::spawn("browser_flow.py", "playwright, pyotp", "playwright pyotp", &[&shots])
    else {
        return;
    };
    // Its own server: the second factor is computed from the real clock.
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    s.sign_up(&t, "kb@example.com", "correct horse 6").await;
    let (_, totp_secret, _) = crate::mfa::enrolled(&s, &t, "mfa@example.com").await;
    // The client's redirect URI is on this server (loopback), so the browser can land there.
    let redirect = s.url("/health");
    let first = new_client(
        &s,
        &t,
        json!({"name": "First", "type": "public", "redirect_uris": [redirect], "first_party": true}),
    )
    .await;
    let third = new_client(
        &s,
        &t,
        json!({"name": "Third Party", "type": "public", "redirect_uris": [redirect]}),
    )
    .await;
    let authorize = |client: &Value| {
        s.url(&format!(
            "/t/{}/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid+email&state=st&code_challenge={CHALLENGE}&code_challenge_method=S256",
            t.id,
            client["client_id"].as_str().unwrap(),
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        ))
    };
    let mut run = async |cmd: Value| -> Value {
        let answer: Value = serde_json::from_str(&chromium.ask(&cmd.to_string()).await).unwrap();
        assert!(answer.get("error").is_none(), "{answer:#}");
        assert_eq!(
            answer["console_errors"],
            json!([]),
            "no CSP violations or script errors"
        );
        answer
    };
    let exchange = async |landed: &str, app: &Value| {
        let url = url::Url::parse(landed).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", app["client_id"].as_str().unwrap()),
            ("code_verifier", VERIFIER),
        ];
        let res = client()
            .post(s.url(&format!("/t/{}/oauth2/token", t.id)))
            .form(&form)
            .send()
            .await
            .unwrap();
        Reply::from(res).await
    };

    let signed = run(json!({"do": "sign_in", "url": authorize(&first), "email": "kb@example.com", "password": "correct horse 6", "shot": "password"})).await;
    let landed = signed["url"].as_str().unwrap();
    assert!(landed.starts_with(&redirect), "{landed}");
    let tokens = exchange(landed, &first).await;
    assert_eq!(
        jwt_claims(tokens.body["id_token"].as_str().unwrap())["email"],
        "kb@example.com"
    );

    let mfa = run(json!({"do": "sign_in", "url": authorize(&first), "email": "mfa@example.com", "password": "long enough password", "totp_secret": totp_secret, "shot": "mfa"})).await;
    let tokens = exchange(mfa["url"].as_str().unwrap(), &first).await;
    let access = tokens.body["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(access)["amr"], json!(["pwd", "otp"]));

    let consented = run(json!({"do": "sign_in", "url": authorize(&third), "email": "kb@example.com", "password": "correct horse 6", "consent": true, "shot": "consent"})).await;
    assert_eq!(
        consented["focus_outline"], "solid",
        "the focused button shows its focus"
    );
    assert_eq!(exchange(consented["url"].as_str().unwrap(), &third).await.status, 200);

    s.call(
        Method::POST,
        "/v1/auth/password/forgot",
        Some(&t.pk),
        Some(json!({"email": "kb@example.com"})),
    )
    .await;
    let link = s.last_mail("kb@example.com").await["link"].as_str().unwrap().to_owned();
    let reset = run(json!({"do": "reset", "url": link, "password": "a new keyboard password", "shot": "reset"})).await;
    assert_eq!(reset["heading"], "Your password is set");
    assert_eq!(
        s.sign_in(&t, "kb@example.com", "a new keyboard password").await.status,
        200
    );

    let sent = s.mail_count("kb@example.com");
    s.call(
        Method::POST,
        "/v1/auth/magic-link",
        Some(&t.pk),
        Some(json!({"email": "kb@example.com"})),
    )
    .await;
    let link = s.next_mail("kb@example.com", sent).await["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let landed = run(json!({"do": "magic", "url": link, "shot": "magic-link"})).await;
    assert_eq!(landed["heading"], "You are signed in");
    assert!(std::path::Path::new(&format!("{shots}/consent-consent.png")).exists());
}
