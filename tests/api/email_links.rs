//! Password reset, email verification and magic links through the dev mailbox
//! (API.md §3), and the same emails through a real SMTP server on loopback.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

async fn post(s: &Server, t: &TestTenant, path: &str, body: Value) -> Reply {
    s.call(Method::POST, path, Some(&t.pk), Some(body)).await
}

matrix! {
    async fn password_reset_works_once_and_signs_out_everywhere() {
        let s = shared();
        let t = s.new_tenant().await;
        let body = s.sign_up(&t, "reset@example.com", "old password 123").await;
        let access = body["session"]["access_token"].as_str().unwrap().to_owned();
        let unknown = post(s, &t, "/v1/auth/password/forgot", json!({"email": "nobody@example.com"})).await;
        let known = post(s, &t, "/v1/auth/password/forgot", json!({"email": "RESET@example.com"})).await;
        assert_eq!((unknown.status, known.status), (202, 202), "the same answer for unknown emails");
        assert_eq!(unknown.body, known.body);
        let mail = s.last_mail("reset@example.com").await;
        let token = mail["token"].as_str().unwrap().to_owned();
        assert!(mail["link"].as_str().unwrap().contains(&token));
        assert!(mail["text"].as_str().unwrap().contains(&token));
        assert_eq!(s.mail_count("nobody@example.com"), 0);

        post(s, &t, "/v1/auth/password/reset", json!({"token": token, "new_password": "short"})).await.assert_error(422, "password_too_weak");
        let reset = post(s, &t, "/v1/auth/password/reset", json!({"token": token, "new_password": "new password 456"})).await;
        assert_eq!(reset.status, 204, "{}", reset.body);
        post(s, &t, "/v1/auth/password/reset", json!({"token": token, "new_password": "third password 789"}))
            .await
            .assert_error(410, "token_already_used");
        post(s, &t, "/v1/auth/password/reset", json!({"token": "hjt_forged", "new_password": "third password 789"}))
            .await
            .assert_error(401, "invalid_token");
        s.call(Method::GET, "/v1/auth/me", Some(&access), None).await.assert_error(401, "session_revoked");
        s.sign_in(&t, "reset@example.com", "old password 123").await.assert_error(401, "invalid_credentials");
        assert_eq!(s.sign_in(&t, "reset@example.com", "new password 456").await.status, 200);
        // Bound to the tenant: another tenant's publishable key can't use a token.
        let before = s.mail_count("reset@example.com");
        post(s, &t, "/v1/auth/password/forgot", json!({"email": "reset@example.com"})).await;
        let second = s.next_mail("reset@example.com", before).await["token"].as_str().unwrap().to_owned();
        assert_ne!(second, token);
        let other = s.new_tenant().await;
        post(s, &other, "/v1/auth/password/reset", json!({"token": second, "new_password": "fourth password 1"}))
            .await
            .assert_error(401, "invalid_token");
    }
}

matrix! {
    async fn email_verification_unblocks_sign_in_when_required() {
        let s = shared();
        let t = s.new_tenant_with(json!({"name": "verify", "auth_config": {"email_verification_required": true}})).await;
        // No session before the address is verified; the sign-up mails the link itself.
        let body = s.sign_up(&t, "verify@example.com", "long enough password").await;
        assert!(body["session"].is_null(), "{body}");
        assert_eq!(body["user"]["email_verified"], false);
        s.sign_in(&t, "verify@example.com", "long enough password").await.assert_error(403, "email_not_verified");
        let token = s.last_mail("verify@example.com").await["token"].as_str().unwrap().to_owned();
        let verified = post(s, &t, "/v1/auth/email/verify", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["email_verified"], true);
        post(s, &t, "/v1/auth/email/verify", json!({"token": token})).await.assert_error(410, "token_already_used");
        assert_eq!(s.sign_in(&t, "verify@example.com", "long enough password").await.status, 200);
    }
}

matrix! {
    async fn magic_links_sign_in_once() {
        let s = shared();
        let t = s.new_tenant_with(json!({"name": "magic", "auth_config": {"allowed_origins": ["https://app.magic.example"]}})).await;
        s.sign_up(&t, "magic@example.com", "long enough password").await;
        let sent = post(s, &t, "/v1/auth/magic-link", json!({"email": "magic@example.com", "redirect_url": "https://app.magic.example/callback"})).await;
        assert_eq!(sent.status, 202);
        let mail = s.last_mail("magic@example.com").await;
        let link = mail["link"].as_str().unwrap();
        assert!(link.starts_with("https://app.magic.example/callback?token=hjt_"), "{link}");
        let token = mail["token"].as_str().unwrap().to_owned();
        let signed_in = post(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        let jwt = signed_in.body["session"]["access_token"].as_str().unwrap();
        let verify = s.call(Method::POST, "/v1/sessions/verify", Some(&t.sk), Some(json!({"token": jwt}))).await;
        assert_eq!(verify.body["claims"]["amr"], json!(["email"]));
        post(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await.assert_error(410, "token_already_used");
        // A redirect to an origin the tenant does not allow is not honoured.
        let before = s.mail_count("magic@example.com");
        post(s, &t, "/v1/auth/magic-link", json!({"email": "magic@example.com", "redirect_url": "https://evil.example/steal"})).await;
        let mail = s.next_mail("magic@example.com", before).await;
        assert!(!mail["link"].as_str().unwrap().contains("evil.example"));
        // Unknown emails get the same 202.
        assert_eq!(post(s, &t, "/v1/auth/magic-link", json!({"email": "ghost@example.com"})).await.status, 202);
    }
}

#[tokio::test]
async fn one_time_tokens_expire() {
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    s.sign_up(&t, "late@example.com", "long enough password").await;
    post(&s, &t, "/v1/auth/magic-link", json!({"email": "late@example.com"})).await;
    let token = s.last_mail("late@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.advance_clock(15 * 60 + 1);
    post(&s, &t, "/v1/auth/magic-link/verify", json!({"token": token}))
        .await
        .assert_error(401, "invalid_token");
}

#[tokio::test]
async fn email_requests_are_rate_limited_per_address() {
    let s = start_server(&[("HELLOJOHN_RATE_LIMITS", "on")]);
    let t = s
        .new_tenant_with(json!({"name": "mail limits", "auth_config": {"rate_limits": {"email_send": "2/10m"}}}))
        .await;
    for _ in 0..2 {
        assert_eq!(
            post(
                &s,
                &t,
                "/v1/auth/password/forgot",
                json!({"email": "flood@example.com"})
            )
            .await
            .status,
            202
        );
    }
    post(
        &s,
        &t,
        "/v1/auth/password/forgot",
        json!({"email": "flood@example.com"}),
    )
    .await
    .assert_error(429, "rate_limit_exceeded");
}

/// A real SMTP server (Python's aiosmtpd) on loopback, writing what it receives to a Maildir.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_smtp() -> Result<SmtpServer, String> {
    let port = free_port();
    let maildir = data_dir().join("maildir");
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("python3 not runnable: {e}"))?;
    let mut server = SmtpServer { child, port, maildir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(server);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "aiosmtpd exited ({status}); install it with `pip install aiosmtpd`"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("aiosmtpd did not listen".into())
}

#[tokio::test]
async fn emails_go_out_through_a_real_smtp_server() {
    let smtp = match start_smtp() {
        Ok(smtp) => smtp,
        Err(why) if std::env::var("HELLOJOHN_TEST_REQUIRE_DB").as_deref() != Ok("1") => {
            eprintln!("SKIPPED: SMTP test needs aiosmtpd ({why})");
            return;
        }
        Err(why) => panic!("SMTP server required: {why}"),
    };
    let url = format!("smtp+plain://127.0.0.1:{}", smtp.port);
    let s = start_server(&[
        ("HELLOJOHN_SMTP_URL", &url),
        ("HELLOJOHN_EMAIL_FROM", "Acme Auth <auth@acme.example>"),
    ]);
    let t = s.new_tenant().await;
    s.sign_up(&t, "smtp@example.com", "long enough password").await;
    assert_eq!(
        post(&s, &t, "/v1/auth/password/forgot", json!({"email": "smtp@example.com"}))
            .await
            .status,
        202
    );
    let mut message = None;
    for _ in 0..100 {
        let new = smtp.maildir.join("new");
        if let Some(entry) = std::fs::read_dir(&new).ok().and_then(|mut d| d.next()) {
            message = Some(std::fs::read_to_string(entry.unwrap().path()).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let message = message.expect("a message reached the SMTP server");
    assert!(message.contains("To: smtp@example.com"), "{message}");
    assert!(message.contains("auth@acme.example"));
    assert!(message.contains("text/html") && message.contains("text/plain"));
    // Quoted-printable bodies: undo soft line breaks and the escaped '='.
    let decoded = message.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let token = decoded
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect::<String>();
    let reset = post(
        &s,
        &t,
        "/v1/auth/password/reset",
        json!({"token": token, "new_password": "via smtp 12345"}),
    )
    .await;
    assert_eq!(reset.status, 204, "{}", reset.body);
    assert_eq!(s.sign_in(&t, "smtp@example.com", "via smtp 12345").await.status, 200);
}

matrix! {
    async fn a_token_used_in_parallel_works_exactly_once() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "parallel@example.com", "long enough password").await;
        let before = s.mail_count("parallel@example.com");
        post(s, &t, "/v1/auth/magic-link", json!({"email": "parallel@example.com"})).await;
        let token = s.next_mail("parallel@example.com", before).await["token"].as_str().unwrap().to_owned();
        let mut attempts = Vec::new();
        for _ in 0..6 {
            let (url, pk, token) = (s.url("/v1/auth/magic-link/verify"), t.pk.clone(), token.clone());
            attempts.push(tokio::spawn(async move {
                client().post(url).header("X-Client-Id", pk).json(&json!({"token": token})).send().await.unwrap().status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for a in attempts {
            statuses.push(a.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 410), "{statuses:?}");
    }
}
