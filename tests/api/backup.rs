//! Per-tenant backup and restore: JSON lines that restore into an empty tenant
//! on any backend and isolation mode, with passwords, sessions and tokens intact.

use hellojohn::config::IsolationMode;
use reqwest::Method;
use serde_json::{json, Value};

use crate::backends::{run, Backend};
use crate::harness::*;

/// Restores must land where tokens say they were issued: one public URL for source and target.
const PUBLIC_URL: &str = "https://auth.restore.example";

pub(crate) fn settings() -> [(&'static str, &'static str); 2] {
    [
        ("HELLOJOHN_PUBLIC_URL", PUBLIC_URL),
        ("HELLOJOHN_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY),
    ]
}

pub(crate) async fn export(s: &Server, tenant_id: &str) -> String {
    let res = client()
        .get(s.url(&format!("/cp/v1/tenants/{tenant_id}/export")))
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    res.text().await.unwrap()
}

pub(crate) async fn import(s: &Server, tenant_id: &str, body: String, query: &str) -> Reply {
    let req = client()
        .post(s.url(&format!("/cp/v1/tenants/{tenant_id}/import{query}")))
        .bearer_auth(&s.admin_token)
        .header("content-type", "application/x-ndjson")
        .body(body);
    Reply::from(req.send().await.unwrap()).await
}

/// Signs users up on `source`, backs the tenant up, restores it on `target`, and checks that
/// passwords, access tokens, refresh tokens and API keys all still work there.
async fn round_trip(source: &Server, target: &Server, query: &str) {
    let t = source.new_tenant().await;
    let mut sessions = Vec::new();
    for i in 0..3 {
        sessions.push(
            source
                .sign_up(&t, &format!("keep{i}@example.com"), "long enough password")
                .await,
        );
    }
    // An organization with two members and a pending invitation travels too.
    let owner = sessions[0]["user"]["id"].as_str().unwrap();
    let org = source
        .call(
            Method::POST,
            "/v1/organizations",
            Some(&t.sk),
            Some(json!({"name": "Kept", "slug": "kept", "created_by": owner})),
        )
        .await;
    assert_eq!(org.status, 201, "{}", org.body);
    let admin = sessions[1]["user"]["id"].as_str().unwrap();
    let added = source
        .call(
            Method::POST,
            "/v1/organizations/kept/members",
            Some(&t.sk),
            Some(json!({"user_id": admin, "role": "admin"})),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let invited = source
        .call(
            Method::POST,
            "/v1/organizations/kept/invitations",
            Some(&t.sk),
            Some(json!({"email": "later@example.com"})),
        )
        .await;
    let invitation = invited.body["token"].as_str().unwrap().to_owned();

    let backup = export(source, &t.id).await;
    let lines: Vec<Value> = backup.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines.last().unwrap()["type"], "end");
    assert_eq!(lines.iter().filter(|l| l["type"] == "user").count(), 3);
    assert!(backup.contains("$argon2id$"), "password hashes travel");
    assert!(
        !backup.contains("rt_") && !backup.contains("sk_live_"),
        "token and key values never do"
    );

    let restored = import(target, &t.id, backup, query).await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(restored.body["users"], 3);
    let signed_in = target.sign_in(&t, "keep1@example.com", "long enough password").await;
    assert_eq!(
        signed_in.status, 200,
        "old password, same publishable key: {}",
        signed_in.body
    );
    let old_access = sessions[0]["session"]["access_token"].as_str().unwrap();
    let me = target.call(Method::GET, "/v1/auth/me", Some(old_access), None).await;
    assert_eq!(
        me.status, 200,
        "an access token from before the restore verifies: {}",
        me.body
    );
    let old_refresh = sessions[2]["session"]["refresh_token"].as_str().unwrap();
    let refreshed = target.refresh(&t, old_refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let listed = target.call(Method::GET, "/v1/users", Some(&t.sk), None).await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        3,
        "the secret key came along"
    );
    let org = target
        .call(Method::GET, "/v1/organizations/kept", Some(&t.sk), None)
        .await;
    assert_eq!(org.body["member_count"], 2, "{}", org.body);
    let members = target
        .call(Method::GET, "/v1/organizations/kept/members", Some(&t.sk), None)
        .await;
    assert_eq!(members.body["data"].as_array().unwrap().len(), 2);
    let accepted = target
        .call(
            Method::POST,
            &format!("/v1/invitations/{invitation}/accept"),
            Some(&t.pk),
            Some(json!({"password": "long enough password"})),
        )
        .await;
    assert_eq!(accepted.status, 200, "the invitation still works: {}", accepted.body);
}

matrix! {
    async fn a_backup_restores_into_a_fresh_instance_of_the_same_backend() {
        let source = start_server(&settings());
        let target = start_server(&settings());
        round_trip(&source, &target, "").await;
    }
}

#[tokio::test]
async fn restores_cross_backends_and_isolation_modes() {
    let pg = Backend::Postgres(IsolationMode::SeparateSchema);
    let maria = Backend::MySql(IsolationMode::SharedSchema);
    run(pg, async move {
        run(maria, async move {
            let source = start_server_on(pg, &settings());
            let target = start_server_on(maria, &settings());
            round_trip(&source, &target, "?isolation_mode=shared_schema").await;
            // And back: MariaDB shared_schema → file store.
            let fs_target = start_server_on(Backend::Fs, &settings());
            round_trip(&target, &fs_target, "").await;
        })
        .await
    })
    .await
}

matrix! {
    async fn bad_backups_are_refused_and_nothing_is_half_restored() {
        let source = start_server(&settings());
        let target = start_server(&settings());
        let t = source.new_tenant().await;
        source.sign_up(&t, "one@example.com", "long enough password").await;
        let backup = export(&source, &t.id).await;
        let truncated: String = backup.lines().take(backup.lines().count() - 1).map(|l| format!("{l}\n")).collect();
        import(&target, &t.id, truncated, "").await.assert_error(400, "invalid_request");
        import(&target, "tnt_01ARZ3NDEKTSV4RRFFQ69G5FAV", backup.clone(), "").await.assert_error(400, "invalid_request");
        import(&target, &t.id, "{\"type\": \"nonsense\"}\n".into(), "").await.assert_error(400, "invalid_request");
        target.admin(Method::GET, &format!("/cp/v1/tenants/{}", t.id), None).await.assert_error(404, "not_found");
        // Into a tenant that already has users: refused.
        import(&source, &t.id, backup.clone(), "").await.assert_error(409, "conflict");
        let wrong_type = client()
            .post(target.url(&format!("/cp/v1/tenants/{}/import", t.id)))
            .bearer_auth(&target.admin_token)
            .header("content-type", "text/plain")
            .body(backup)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_type.status(), 415);
    }
}

#[tokio::test]
async fn the_cli_exports_and_imports_offline() {
    let source_dir = data_dir();
    let port = free_port();
    let mut env = test_env(&source_dir, port);
    env.insert("HELLOJOHN_ENCRYPTION_KEY".into(), TEST_ENCRYPTION_KEY.into());
    env.insert("HELLOJOHN_PUBLIC_URL".into(), PUBLIC_URL.into());
    let process = spawn_binary(&env, &source_dir, port).await;
    let server = attach(&process.base).await;
    let t = server.new_tenant().await;
    server.sign_up(&t, "cli@example.com", "long enough password").await;
    drop(process);

    let file = source_dir.join("backup.jsonl");
    let bin = env!("CARGO_BIN_EXE_hellojohn");
    let out = std::process::Command::new(bin)
        .env_clear()
        .envs(&env)
        .args(["tenant", "export", "--id", &t.id, "--output", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let target_dir = data_dir();
    let mut target_env = env.clone();
    target_env.insert(
        "HELLOJOHN_DATABASE_URL".into(),
        format!("file://{}", target_dir.display()),
    );
    let out = std::process::Command::new(bin)
        .env_clear()
        .envs(&target_env)
        .args(["tenant", "import", "--input", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let process = spawn_binary(&target_env, &target_dir, port).await;
    let server = attach(&process.base).await;
    assert_eq!(
        server
            .sign_in(&t, "cli@example.com", "long enough password")
            .await
            .status,
        200
    );
}

/// `backup` as a version before next signing keys wrote it: no key published ahead, and no
/// `next` field on the keys (the trailer counts what is left).
fn without_next_keys(backup: &str) -> String {
    let mut dropped = 0;
    let mut lines = Vec::new();
    for line in backup.lines().filter(|l| !l.trim().is_empty()) {
        let mut record: Value = serde_json::from_str(line).unwrap();
        if record["type"] == "signing_key" {
            if record["data"]["next"] == true {
                dropped += 1;
                continue;
            }
            record["data"].as_object_mut().unwrap().remove("next");
        }
        if record["type"] == "end" {
            record["data"]["records"] = json!(record["data"]["records"].as_u64().unwrap() - dropped);
        }
        lines.push(record.to_string());
    }
    assert_eq!(dropped, 1, "the export held one next key");
    lines.join("\n")
}

/// Whether `jwks` verifies `token`'s signature (issuer and expiry aside), as a backend would.
fn jwks_verifies(jwks: &Value, token: &str) -> bool {
    let header = crate::tokens::header_of(token);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let Some(jwk) = set.find(header["kid"].as_str().unwrap()) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(header["alg"].as_str().unwrap().parse().unwrap());
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &validation).is_ok()
}

// A tenant from before next signing keys existed (here restored from such a backup) gets
// one when it loads; its tokens keep verifying, and its first rotation signs with the key
// the JWKS already published.
matrix! {
    async fn tenants_from_before_next_keys_get_one() {
        let source = start_server(&settings());
        let target = start_server(&settings());
        let t = source.new_tenant().await;
        let body = source.sign_up(&t, "legacy@example.com", "long enough password").await;
        let old_token = body["session"]["access_token"].as_str().unwrap().to_owned();
        let restored = import(&target, &t.id, without_next_keys(&export(&source, &t.id).await), "").await;
        assert_eq!(restored.status, 200, "{}", restored.body);
        let published = crate::tokens::fetch_jwks(&target, &t.id).await;
        assert_eq!(published["keys"].as_array().unwrap().len(), 2, "current and a new next key: {published}");
        assert!(jwks_verifies(&published, &old_token));
        assert_eq!(target.call(Method::GET, "/v1/auth/me", Some(&old_token), None).await.status, 200);
        let rotated = target
            .admin(Method::POST, &format!("/cp/v1/tenants/{}/signing-keys/rotate", t.id), None)
            .await;
        assert_eq!(rotated.status, 200, "{}", rotated.body);
        let signed_in = target.sign_in(&t, "legacy@example.com", "long enough password").await;
        let new_token = signed_in.body["session"]["access_token"].as_str().unwrap();
        assert!(jwks_verifies(&published, new_token), "the JWKS from before the rotation verifies");
    }
}
