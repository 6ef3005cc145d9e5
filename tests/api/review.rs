//! Findings of the security review, each pinned by a test on every backend:
//! org roles can't grant what their holder lacks, one-time tokens are bound to
//! the mailed address and die with a reset, pre-registration leaves the
//! squatter nothing, the control plane's sign-in is always limited, a wrong
//! current password counts as a failed sign-in, bcrypt's 72-byte truncation
//! never matches, emails are NFC without invisible characters, forged tokens
//! reveal nothing about a suspended tenant, malformed bearers are 401 on
//! `/cp/v1`, hostile ids never give a 5xx, private answers are `no-store`,
//! two tabs refreshing at once share one successor, and signing keys are
//! published ahead of their use.

use base64::Engine;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;
use crate::tokens::{fetch_jwks, header_of, verify_against, B64};

const PASSWORD: &str = "long enough password";
/// The password of whoever registered an address that is not theirs.
const SQUATTER_PASSWORD: &str = "squatter password 1";

/// A signed-in user: id and tokens.
struct Signed {
    id: String,
    access: String,
    refresh: String,
}

/// The user and tokens of a `{user, session}` answer.
fn signed(body: &Value) -> Signed {
    Signed {
        id: text(&body["user"]["id"]),
        access: text(&body["session"]["access_token"]),
        refresh: text(&body["session"]["refresh_token"]),
    }
}

async fn signed_up(s: &Server, t: &TestTenant, email: &str, password: &str) -> Signed {
    signed(&s.sign_up(t, email, password).await)
}

async fn signed_in(s: &Server, t: &TestTenant, email: &str, password: &str) -> Signed {
    let reply = s.sign_in(t, email, password).await;
    assert_eq!(reply.status, 200, "{email}: {}", reply.body);
    signed(&reply.body)
}

#[track_caller]
fn text(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// A POST to a public auth endpoint with the tenant's publishable key.
async fn public(s: &Server, t: &TestTenant, path: &str, body: Value) -> Reply {
    s.call(Method::POST, path, Some(&t.pk), Some(body)).await
}

/// Whether a one-time link (`hjt_…`, not an invitation) reached `to` within 5 s.
async fn mailed_a_link(s: &Server, to: &str) -> bool {
    let path = s.mailbox.as_ref().expect("in-process server");
    for _ in 0..100 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|m| m["to"] == to && m["token"].as_str().is_some_and(|t| t.starts_with("hjt_")));
        if found {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// The token of the first email to `to` after `before` of them.
async fn token_after(s: &Server, to: &str, before: usize) -> String {
    text(&s.next_mail(to, before).await["token"])
}

/// Asks `path` (forgot password, magic link) to mail `email`; returns the token mailed.
async fn mailed_token(s: &Server, t: &TestTenant, path: &str, email: &str) -> String {
    let before = s.mail_count(email);
    let reply = public(s, t, path, json!({"email": email})).await;
    assert_eq!(reply.status, 202, "{path}: {}", reply.body);
    token_after(s, email, before).await
}

async fn reset_password(s: &Server, t: &TestTenant, token: &str, new_password: &str) -> Reply {
    public(
        s,
        t,
        "/v1/auth/password/reset",
        json!({"token": token, "new_password": new_password}),
    )
    .await
}

async fn change_password(s: &Server, access: &str, current: &str, new: &str) -> Reply {
    s.call(
        Method::POST,
        "/v1/auth/password/change",
        Some(access),
        Some(json!({"current_password": current, "new_password": new})),
    )
    .await
}

async fn cp_sign_in(s: &Server, email: &str, password: &str) -> Reply {
    s.call(
        Method::POST,
        "/cp/v1/admin/sign-in",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

/// The refresh token an answer of `/v1/auth/token/refresh` hands out.
#[track_caller]
fn successor(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    text(&reply.body["session"]["refresh_token"])
}

/// [`Reply::assert_error`] that names the case that failed.
#[track_caller]
fn expect_error(reply: &Reply, status: u16, code: &str, case: &str) {
    assert_eq!(reply.status, status, "{case}: {}", reply.body);
    assert_eq!(reply.body["error"]["code"], code, "{case}: {}", reply.body);
    assert_eq!(reply.body["error"]["status"], status, "{case}: {}", reply.body);
}

/// `token` with every byte of its signature inverted: well-formed, as long as the real one, invalid.
fn forged(token: &str) -> String {
    let (signed_part, signature) = token.rsplit_once('.').unwrap();
    let flipped: Vec<u8> = B64.decode(signature).unwrap().iter().map(|b| !b).collect();
    format!("{signed_part}.{}", B64.encode(flipped))
}

/// A token made up from nothing but a tenant id: plausible header and claims, a random signature.
fn made_up_token(s: &Server, tenant_id: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": format!("key_{}", ulid::Ulid::new())});
    let claims = json!({
        "iss": format!("{}/t/{tenant_id}", s.base), "aud": tenant_id, "tenant_id": tenant_id,
        "sub": format!("usr_{}", ulid::Ulid::new()), "sid": format!("ses_{}", ulid::Ulid::new()),
        "iat": now, "nbf": now, "exp": now + 900, "jti": ulid::Ulid::new().to_string(),
        "role": "admin", "email": "nobody@example.com", "email_verified": true,
    });
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        B64.encode([7u8; 64])
    )
}

/// A query-string value, percent-encoded.
fn encoded(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// The `kid`s a JWKS publishes.
fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| text(&k["kid"]))
        .collect()
}

async fn rotate_signing_keys(s: &Server, tenant_id: &str) {
    let rotated = s
        .admin(
            Method::POST,
            &format!("/cp/v1/tenants/{tenant_id}/signing-keys/rotate"),
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
}

async fn verifying_tenant(s: &Server) -> TestTenant {
    let name = format!("pre-registration {}", ulid::Ulid::new());
    s.new_tenant_with(json!({"name": name, "auth_config": {"email_verification_required": true}}))
        .await
}

// 1. Org roles: a member who manages roles and members can't grant, take or exercise
//    a permission they don't hold.
matrix! {
    async fn org_managers_can_not_grant_or_take_what_they_do_not_hold() {
        let s = shared();
        let t = s.new_tenant().await;
        let owner = signed_up(s, &t, "owner@example.com", PASSWORD).await;
        let manager = signed_up(s, &t, "manager@example.com", PASSWORD).await;
        let org = s.call(Method::POST, "/v1/organizations", Some(&owner.access), Some(json!({"name": "Escalation"}))).await;
        assert_eq!(org.status, 201, "{}", org.body);
        let org_path = format!("/v1/organizations/{}", text(&org.body["id"]));
        let (roles, members) = (format!("{org_path}/roles"), format!("{org_path}/members"));
        let held = ["org:read", "org:members:read", "org:members:manage", "org:roles:manage"];
        for role in [
            json!({"name": "Manager", "key": "manager", "permissions": held}),
            json!({"name": "Billing", "key": "billing", "permissions": ["org:billing:manage"]}),
        ] {
            let created = s.call(Method::POST, &roles, Some(&t.sk), Some(role)).await;
            assert_eq!(created.status, 201, "{}", created.body);
        }
        let added = s
            .call(Method::POST, &members, Some(&t.sk), Some(json!({"user_id": manager.id, "role": "manager"})))
            .await;
        assert_eq!(added.status, 201, "{}", added.body);

        let mut with_delete = held.to_vec();
        with_delete.push("org:delete");
        let refused = [
            (Method::PATCH, format!("{roles}/manager"), Some(json!({"permissions": with_delete}))),
            (Method::POST, roles.clone(), Some(json!({"name": "Super", "key": "super", "permissions": ["org:delete"]}))),
            (Method::POST, roles.clone(), Some(json!({"name": "Super", "key": "super", "permissions": ["org:billing:manage"]}))),
            (Method::PATCH, format!("{roles}/billing"), Some(json!({"permissions": ["org:read"]}))),
            (Method::DELETE, format!("{roles}/billing"), None),
            (Method::PATCH, format!("{members}/{}", manager.id), Some(json!({"role": "owner"}))),
            (Method::PATCH, format!("{members}/{}", owner.id), Some(json!({"role": "member"}))),
            (Method::DELETE, format!("{members}/{}", owner.id), None),
            (Method::DELETE, org_path.clone(), None),
            (Method::POST, format!("{org_path}/invitations"), Some(json!({"email": "friend@example.com", "role": "owner"}))),
        ];
        for (method, path, body) in refused {
            let reply = s.call(method.clone(), &path, Some(&manager.access), body.clone()).await;
            expect_error(&reply, 403, "insufficient_permissions", &format!("{method} {path} {body:?}"));
        }
        // A subset of what the manager holds is theirs to hand out.
        let subset = s
            .call(Method::POST, &roles, Some(&manager.access), Some(json!({"name": "Reader", "key": "super", "permissions": ["org:read"]})))
            .await;
        assert_eq!(subset.status, 201, "{}", subset.body);

        // Nothing the refused requests asked for happened.
        let listed = s.call(Method::GET, &roles, Some(&t.sk), None).await;
        let permissions_of = |key: &str| {
            let role = listed.body["data"].as_array().unwrap().iter().find(|r| r["key"] == key);
            role.unwrap_or_else(|| panic!("role {key}: {}", listed.body))["permissions"].clone()
        };
        assert_eq!(permissions_of("manager"), json!(held));
        assert_eq!(permissions_of("billing"), json!(["org:billing:manage"]));
        assert_eq!(permissions_of("super"), json!(["org:read"]));
        let list = s.call(Method::GET, &members, Some(&t.sk), None).await;
        let role_of = |user_id: &str| {
            let found = list.body["data"].as_array().unwrap().iter().find(|m| m["user_id"] == user_id);
            found.unwrap_or_else(|| panic!("member {user_id}: {}", list.body))["role"].clone()
        };
        assert_eq!(role_of(&owner.id), "owner");
        assert_eq!(role_of(&manager.id), "manager");
        assert_eq!(s.call(Method::GET, &org_path, Some(&t.sk), None).await.status, 200, "the organization exists");
        let invitations = s.call(Method::GET, &format!("{org_path}/invitations"), Some(&t.sk), None).await;
        assert_eq!(invitations.body["data"], json!([]), "no invitation went out");
    }
}

// 1b. A custom role as wide as the owner's still doesn't make or unmake owners; the owner
//     names new permissions no role holds yet.
matrix! {
    async fn only_owners_make_owners_and_name_new_permissions() {
        let s = shared();
        let t = s.new_tenant().await;
        let owner = signed_up(s, &t, "first-owner@example.com", PASSWORD).await;
        let deputy = signed_up(s, &t, "deputy@example.com", PASSWORD).await;
        let org = s.call(Method::POST, "/v1/organizations", Some(&owner.access), Some(json!({"name": "Deputies"}))).await;
        let org_path = format!("/v1/organizations/{}", text(&org.body["id"]));
        let (roles, members) = (format!("{org_path}/roles"), format!("{org_path}/members"));
        let everything = [
            "org:read", "org:update", "org:delete", "org:members:read", "org:members:manage", "org:roles:manage",
        ];
        let created = s
            .call(Method::POST, &roles, Some(&t.sk), Some(json!({"name": "Deputy", "key": "deputy", "permissions": everything})))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let added = s.call(Method::POST, &members, Some(&t.sk), Some(json!({"user_id": deputy.id, "role": "deputy"}))).await;
        assert_eq!(added.status, 201, "{}", added.body);
        let me = format!("{members}/{}", deputy.id);
        let refused = [
            (Method::PATCH, me.clone(), Some(json!({"role": "owner"}))),
            (Method::PATCH, format!("{members}/{}", owner.id), Some(json!({"role": "deputy"}))),
            (Method::DELETE, format!("{members}/{}", owner.id), None),
            (Method::POST, format!("{org_path}/invitations"), Some(json!({"email": "new-owner@example.com", "role": "owner"}))),
        ];
        for (method, path, body) in refused {
            let reply = s.call(method.clone(), &path, Some(&deputy.access), body).await;
            expect_error(&reply, 403, "insufficient_permissions", &format!("{method} {path}"));
        }
        // The owner holds every permission, even one no role names yet.
        let named = s
            .call(Method::POST, &roles, Some(&owner.access), Some(json!({"name": "Billing", "key": "billing", "permissions": ["org:billing:manage"]})))
            .await;
        assert_eq!(named.status, 201, "{}", named.body);
        let promoted = s.call(Method::PATCH, &me, Some(&owner.access), Some(json!({"role": "owner"}))).await;
        assert_eq!(promoted.status, 200, "{}", promoted.body);
    }
}

// 2. One-time tokens are bound to the address they were mailed to.
matrix! {
    async fn one_time_tokens_die_when_the_email_changes() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "before@example.com", PASSWORD).await;
        let reset = mailed_token(s, &t, "/v1/auth/password/forgot", "before@example.com").await;
        let magic = mailed_token(s, &t, "/v1/auth/magic-link", "before@example.com").await;
        let before = s.mail_count("before@example.com");
        let sent = s.call(Method::POST, "/v1/auth/email/verify/send", Some(&user.access), None).await;
        assert_eq!(sent.status, 202, "{}", sent.body);
        let verify = token_after(s, "before@example.com", before).await;

        let path = format!("/v1/users/{}", user.id);
        let move_to = |email: &str| s.call(Method::PATCH, &path, Some(&t.sk), Some(json!({"email": email})));
        assert_eq!(move_to("after@example.com").await.status, 200);
        let reset_use = public(s, &t, "/v1/auth/password/reset", json!({"token": reset, "new_password": "taken over 123"}));
        expect_error(&reset_use.await, 401, "invalid_token", "reset");
        // Back to the old address: the links mailed before the change stay dead.
        assert_eq!(move_to("before@example.com").await.status, 200);
        let uses = [
            ("magic link", "/v1/auth/magic-link/verify", json!({"token": magic})),
            ("verification", "/v1/auth/email/verify", json!({"token": verify})),
        ];
        for (name, path, body) in uses {
            expect_error(&public(s, &t, path, body).await, 401, "invalid_token", name);
        }
        let still = s.sign_in(&t, "before@example.com", PASSWORD).await;
        assert_eq!(still.status, 200, "the password did not change: {}", still.body);
        assert_eq!(still.body["user"]["email"], "before@example.com");
    }
}

// 3a. Pre-registration: no session until the address is verified; the mailed link keeps the password.
matrix! {
    async fn pre_registration_waits_for_the_mailed_link_and_keeps_the_password() {
        let s = shared();
        let t = verifying_tenant(s).await;
        let body = s.sign_up(&t, "new@example.com", PASSWORD).await;
        assert!(body["session"].is_null(), "no session before the address is verified: {body}");
        assert_eq!(body["user"]["email_verified"], false);
        s.sign_in(&t, "new@example.com", PASSWORD).await.assert_error(403, "email_not_verified");
        let token = text(&s.last_mail("new@example.com").await["token"]);
        let verified = public(s, &t, "/v1/auth/email/verify", json!({"token": token})).await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        assert_eq!(verified.body["email_verified"], true);
        assert_eq!(s.sign_in(&t, "new@example.com", PASSWORD).await.status, 200, "the normal path keeps the password");
    }
}

// 3b. Whoever registered someone else's address loses the password once the owner proves the mailbox.
matrix! {
    async fn a_magic_link_takes_a_squatted_address_back() {
        let s = shared();
        let t = verifying_tenant(s).await;
        let squatted = s.sign_up(&t, "victim@example.com", SQUATTER_PASSWORD).await;
        assert!(squatted["session"].is_null(), "{squatted}");
        // The sign-up's own verification email is out before the owner asks for a link.
        s.last_mail("victim@example.com").await;
        let token = mailed_token(s, &t, "/v1/auth/magic-link", "victim@example.com").await;
        let owner = public(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await;
        assert_eq!(owner.status, 200, "{}", owner.body);
        assert!(owner.body["session"]["access_token"].is_string(), "{}", owner.body);
        assert_eq!(owner.body["user"]["email_verified"], true);
        s.sign_in(&t, "victim@example.com", SQUATTER_PASSWORD).await.assert_error(401, "invalid_credentials");
    }
}

// 3c/3e. The proof revokes every earlier session of an unverified account; a verified one keeps its password.
matrix! {
    async fn a_magic_link_ends_what_came_before_the_proof_unless_already_verified() {
        let s = shared();
        let t = s.new_tenant().await;
        let squatter = signed_up(s, &t, "early@example.com", SQUATTER_PASSWORD).await;
        let token = mailed_token(s, &t, "/v1/auth/magic-link", "early@example.com").await;
        let owner = public(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await;
        assert_eq!(owner.status, 200, "{}", owner.body);
        let owner = signed(&owner.body);
        s.call(Method::GET, "/v1/auth/me", Some(&squatter.access), None).await.assert_error(401, "session_revoked");
        s.refresh(&t, &squatter.refresh).await.assert_error(401, "session_revoked");
        s.sign_in(&t, "early@example.com", SQUATTER_PASSWORD).await.assert_error(401, "invalid_credentials");
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(&owner.access), None).await.status, 200);

        let known = s
            .call(
                Method::POST,
                "/v1/users",
                Some(&t.sk),
                Some(json!({"email": "known@example.com", "password": PASSWORD, "email_verified": true})),
            )
            .await;
        assert_eq!(known.status, 201, "{}", known.body);
        let token = mailed_token(s, &t, "/v1/auth/magic-link", "known@example.com").await;
        assert_eq!(public(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await.status, 200);
        assert_eq!(s.sign_in(&t, "known@example.com", PASSWORD).await.status, 200, "a verified account keeps its password");
    }
}

// 3d. A password reset proves the mailbox too.
matrix! {
    async fn a_password_reset_verifies_the_address() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "unverified@example.com", SQUATTER_PASSWORD).await;
        let token = mailed_token(s, &t, "/v1/auth/password/forgot", "unverified@example.com").await;
        let reset = reset_password(s, &t, &token, "the owner's password").await;
        assert_eq!(reset.status, 204, "{}", reset.body);
        let stored = s.call(Method::GET, &format!("/v1/users/{}", user.id), Some(&t.sk), None).await;
        assert_eq!(stored.body["email_verified"], true, "{}", stored.body);
        assert_eq!(s.sign_in(&t, "unverified@example.com", "the owner's password").await.status, 200);
        s.sign_in(&t, "unverified@example.com", SQUATTER_PASSWORD).await.assert_error(401, "invalid_credentials");
    }
}

// 3f. The proof ends the squatter's password and sessions but not a second factor: a
//     mailbox alone never removes MFA (API.md §3 names password and sessions); the tenant's
//     admin resets the factor, after which the owner's next magic link signs in.
matrix! {
    async fn a_squatters_second_factor_needs_an_admin_reset() {
        let s = shared();
        let t = s.new_tenant().await;
        let email = "locked-out@example.com";
        let (squatter_access, _, _) = crate::mfa::enrolled(s, &t, email).await;
        let token = mailed_token(s, &t, "/v1/auth/magic-link", email).await;
        let owner = public(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await;
        owner.assert_error(403, "mfa_required");
        s.call(Method::GET, "/v1/auth/me", Some(&squatter_access), None).await.assert_error(401, "session_revoked");
        s.sign_in(&t, email, "long enough password").await.assert_error(401, "invalid_credentials");
        let user = s.stored_user(&t, email).await;
        assert!(user.email_verified && user.password_hash.is_none(), "{user:?}");
        let factors = s.call(Method::GET, &format!("/v1/users/{}/mfa/factors", user.id), Some(&t.sk), None).await;
        // Removing the TOTP factor takes its backup codes with it.
        let totp = factors.body["data"].as_array().unwrap().iter().find(|f| f["type"] == "totp").cloned();
        let path = format!("/v1/users/{}/mfa/factors/{}", user.id, text(&totp.expect("a totp factor")["id"]));
        assert_eq!(s.call(Method::DELETE, &path, Some(&t.sk), None).await.status, 204);
        let token = mailed_token(s, &t, "/v1/auth/magic-link", email).await;
        let owner = public(s, &t, "/v1/auth/magic-link/verify", json!({"token": token})).await;
        assert_eq!(owner.status, 200, "{}", owner.body);
        assert_eq!(owner.body["user"]["mfa_enabled"], false);
    }
}

/// Invites `email` with `bearer` and accepts as a new user with the publishable key.
async fn invite_and_accept(s: &Server, t: &TestTenant, invitations: &str, bearer: &str, email: &str) -> Reply {
    let sent = s
        .call(Method::POST, invitations, Some(bearer), Some(json!({"email": email})))
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let token = text(&sent.body["token"]);
    public(
        s,
        t,
        &format!("/v1/invitations/{token}/accept"),
        json!({"password": SQUATTER_PASSWORD}),
    )
    .await
}

// 3g. Pre-registration through a member's invitation: the token the member saw proves
//     nothing, so accepting it creates the user without a session and mails the link;
//     an invitation the secret key sent proves the address and signs in.
matrix! {
    async fn a_members_invitation_does_not_pre_register_an_address() {
        let s = shared();
        let t = verifying_tenant(s).await;
        let owner_email = "org-owner@example.com";
        let created = s
            .call(Method::POST, "/v1/users", Some(&t.sk), Some(json!({"email": owner_email, "password": PASSWORD, "email_verified": true})))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let owner = s.sign_in(&t, owner_email, PASSWORD).await;
        let owner_access = text(&owner.body["session"]["access_token"]);
        let org = s.call(Method::POST, "/v1/organizations", Some(&owner_access), Some(json!({"name": "Squat"}))).await;
        let invitations = format!("/v1/organizations/{}/invitations", text(&org.body["id"]));
        let squatted = invite_and_accept(s, &t, &invitations, &owner_access, "invited-victim@example.com").await;
        assert_eq!(squatted.status, 200, "{}", squatted.body);
        assert!(squatted.body["session"].is_null(), "{}", squatted.body);
        assert_eq!(squatted.body["user"]["email_verified"], false);
        assert_eq!(squatted.body["membership"]["role"], "member");
        s.sign_in(&t, "invited-victim@example.com", SQUATTER_PASSWORD)
            .await
            .assert_error(403, "email_not_verified");
        assert!(mailed_a_link(s, "invited-victim@example.com").await, "a verification link went out");

        let by_server = invite_and_accept(s, &t, &invitations, &t.sk, "invited-by-server@example.com").await;
        assert_eq!(by_server.status, 200, "{}", by_server.body);
        assert!(by_server.body["session"]["access_token"].is_string(), "{}", by_server.body);
        assert_eq!(by_server.body["user"]["email_verified"], true);
    }
}

// 4. The control plane's sign-in is limited and locks, even with HELLOJOHN_RATE_LIMITS=off.
matrix! {
    async fn control_plane_sign_in_is_limited_and_locks_even_with_limits_off() {
        let s = start_server(&[]);
        // The harness signed in once from this IP: start from fresh windows.
        s.advance_clock(61);
        for n in 1..=10 {
            let wrong = cp_sign_in(&s, ADMIN_EMAIL, "not the admin password").await;
            expect_error(&wrong, 401, "invalid_credentials", &format!("attempt {n}"));
            assert_eq!(wrong.header("x-ratelimit-limit"), Some("10"), "attempt {n}");
        }
        let limited = cp_sign_in(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        limited.assert_error(429, "rate_limit_exceeded");
        let retry: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        s.advance_clock(61);
        cp_sign_in(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_error(403, "account_locked");
        s.advance_clock(900);
        assert_eq!(cp_sign_in(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await.status, 200, "the lock ends");

        // Per IP: attempts spread over many emails hit the limit as well.
        s.advance_clock(61);
        for n in 1..=10 {
            let guess = cp_sign_in(&s, &format!("guess{n}@example.com"), "not the admin password").await;
            expect_error(&guess, 401, "invalid_credentials", &format!("guess {n}"));
        }
        cp_sign_in(&s, ADMIN_EMAIL, ADMIN_PASSWORD).await.assert_error(429, "rate_limit_exceeded");
    }
}

// 5. A reset or a password change ends the user's other reset tokens.
matrix! {
    async fn a_reset_or_a_change_ends_the_other_reset_tokens() {
        let s = shared();
        let t = s.new_tenant().await;
        let email = "twice@example.com";
        signed_up(s, &t, email, PASSWORD).await;
        let first = mailed_token(s, &t, "/v1/auth/password/forgot", email).await;
        let second = mailed_token(s, &t, "/v1/auth/password/forgot", email).await;
        assert_ne!(first, second);
        assert_eq!(reset_password(s, &t, &first, "second password 2").await.status, 204);
        reset_password(s, &t, &second, "third password 3").await.assert_error(401, "invalid_token");

        let third = mailed_token(s, &t, "/v1/auth/password/forgot", email).await;
        let user = signed_in(s, &t, email, "second password 2").await;
        let changed = change_password(s, &user.access, "second password 2", "fourth password 4").await;
        assert_eq!(changed.status, 204, "{}", changed.body);
        reset_password(s, &t, &third, "fifth password 5").await.assert_error(401, "invalid_token");
        assert_eq!(s.sign_in(&t, email, "fourth password 4").await.status, 200);
    }
}

// 6. A wrong current_password on a password change is a failed sign-in: lockout and limit.
matrix! {
    async fn a_wrong_current_password_counts_as_a_failed_sign_in() {
        let s = start_server(&[("HELLOJOHN_RATE_LIMITS", "on")]);
        let t = s
            .new_tenant_with(json!({"name": "change lockout", "auth_config": {
                "lockout": {"threshold": 3, "duration": 900},
                "rate_limits": {"sign_in_account": null, "sign_in_ip": null}}}))
            .await;
        let user = signed_up(&s, &t, "guess@example.com", PASSWORD).await;
        for n in 1..=3 {
            let wrong = change_password(&s, &user.access, "not my password", "new password 123").await;
            expect_error(&wrong, 401, "invalid_credentials", &format!("guess {n}"));
        }
        s.sign_in(&t, "guess@example.com", PASSWORD).await.assert_error(403, "account_locked");
        change_password(&s, &user.access, PASSWORD, "new password 123").await.assert_error(403, "account_locked");

        let t = s
            .new_tenant_with(json!({"name": "change limit", "auth_config": {
                "lockout": {"threshold": 100, "duration": 900},
                "rate_limits": {"sign_in_account": "3/1m", "sign_in_ip": null}}}))
            .await;
        let user = signed_up(&s, &t, "guess@example.com", PASSWORD).await;
        for n in 1..=3 {
            let wrong = change_password(&s, &user.access, "not my password", "new password 123").await;
            expect_error(&wrong, 401, "invalid_credentials", &format!("limited guess {n}"));
        }
        change_password(&s, &user.access, "not my password", "new password 123")
            .await
            .assert_error(429, "rate_limit_exceeded");
    }
}

// 7. A password longer than 72 bytes never matches an imported bcrypt hash.
matrix! {
    async fn bcrypt_hashes_never_match_past_72_bytes() {
        let s = shared();
        let t = s.new_tenant().await;
        let p72: String = "correct horse battery staple ".chars().cycle().take(72).collect();
        assert_eq!(p72.len(), 72);
        let longer = format!("{p72}tail-that-bcrypt-would-ignore");
        let hash = bcrypt::hash(&p72, 4).unwrap();
        assert!(hash.starts_with("$2b$"), "{hash}");
        let created = s
            .call(Method::POST, "/v1/users", Some(&t.sk), Some(json!({"email": "legacy72@example.com", "password_hash": hash})))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        s.sign_in(&t, "legacy72@example.com", &longer).await.assert_error(401, "invalid_credentials");
        assert_eq!(s.sign_in(&t, "legacy72@example.com", &p72).await.status, 200);
        let stored = s.stored_user(&t, "legacy72@example.com").await;
        assert!(stored.password_hash.unwrap().starts_with("$argon2id$"), "upgraded at sign-in");
        assert_eq!(s.sign_in(&t, "legacy72@example.com", &p72).await.status, 200);
        s.sign_in(&t, "legacy72@example.com", &longer).await.assert_error(401, "invalid_credentials");
    }
}

// 8. Emails are NFC-normalised; invisible and bidirectional control characters are refused.
matrix! {
    async fn emails_are_nfc_and_never_hide_characters() {
        let s = shared();
        let t = s.new_tenant().await;
        let (decomposed, composed) = ("ame\u{301}lie@example.com", "am\u{e9}lie@example.com");
        let body = s.sign_up(&t, decomposed, PASSWORD).await;
        assert_eq!(body["user"]["email"], composed, "stored in NFC");
        let id = text(&body["user"]["id"]);
        public(s, &t, "/v1/auth/sign-up", json!({"email": composed, "password": PASSWORD}))
            .await
            .assert_error(409, "email_already_exists");
        for form in [decomposed, composed] {
            let reply = s.sign_in(&t, form, PASSWORD).await;
            assert_eq!(reply.status, 200, "{form:?}: {}", reply.body);
            assert_eq!(reply.body["user"]["id"], id.as_str(), "{form:?}");
            let found = s.call(Method::GET, &format!("/v1/users?email={}", encoded(form)), Some(&t.sk), None).await;
            assert_eq!(found.status, 200, "{form:?}: {}", found.body);
            let data = found.body["data"].as_array().unwrap();
            assert_eq!(data.len(), 1, "{form:?}: {}", found.body);
            assert_eq!(data[0]["email"], composed);
        }

        for hidden in ["a\u{200b}b@example.com", "ab\u{202e}@example.com", "\u{feff}ab@example.com", "a\u{2060}b@example.com"] {
            let cases = [
                ("sign-up", Method::POST, "/v1/auth/sign-up".to_owned(), t.pk.as_str(), json!({"email": hidden, "password": PASSWORD})),
                ("create", Method::POST, "/v1/users".to_owned(), t.sk.as_str(), json!({"email": hidden})),
                ("patch", Method::PATCH, format!("/v1/users/{id}"), t.sk.as_str(), json!({"email": hidden})),
            ];
            for (name, method, path, key, body) in cases {
                let reply = s.call(method, &path, Some(key), Some(body)).await;
                expect_error(&reply, 422, "invalid_email", &format!("{name} {hidden:?}"));
            }
        }
        let me = s.call(Method::GET, &format!("/v1/users/{id}"), Some(&t.sk), None).await;
        assert_eq!(me.body["email"], composed, "no refused patch applied");
    }
}

// 8 (upgrade). An account stored before NFC normalisation, in the decomposed form it was
// typed in, still signs in and still gets its reset mail when typed that way.
matrix! {
    async fn accounts_stored_before_nfc_still_sign_in() {
        let s = shared();
        let t = s.new_tenant().await;
        let decomposed = "rene\u{301}@example.com";
        let legacy = hellojohn::store::User::new(
            decomposed.to_owned(),
            Some(bcrypt::hash(PASSWORD, 4).unwrap()),
            time::OffsetDateTime::now_utc(),
        );
        let control = &s.state.as_ref().unwrap().control;
        let record = control.tenant(&t.id).await.unwrap();
        let store = control.backend().open_tenant(&record).await.unwrap();
        let write = hellojohn::store::TenantWrite::InsertUser(legacy.clone());
        store.apply(hellojohn::store::TenantBatch::default().write(write)).await.unwrap();
        let reply = s.sign_in(&t, decomposed, PASSWORD).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["user"]["id"], legacy.id.as_str());
        let sent = public(s, &t, "/v1/auth/password/forgot", json!({"email": decomposed})).await;
        assert_eq!(sent.status, 202);
        assert!(text(&s.last_mail(decomposed).await["token"]).starts_with("hjt_"));
    }
}

// 9. The signature is checked before anything about the tenant is revealed.
matrix! {
    async fn forged_tokens_of_a_suspended_tenant_are_just_invalid() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "suspended@example.com", PASSWORD).await;
        let suspended = s.admin(Method::PATCH, &format!("/cp/v1/tenants/{}", t.id), Some(json!({"status": "suspended"}))).await;
        assert_eq!(suspended.status, 200, "{}", suspended.body);
        for (name, token) in [("re-signed", forged(&user.access)), ("made up", made_up_token(s, &t.id))] {
            let reply = s.call(Method::GET, "/v1/auth/me", Some(&token), None).await;
            expect_error(&reply, 401, "invalid_token", name);
        }
        s.call(Method::GET, "/v1/auth/me", Some(&user.access), None)
            .await
            .assert_error(403, "tenant_suspended");
    }
}

// 10. On /cp/v1 a malformed or unknown bearer is 401; 403 only for a valid credential without the right.
matrix! {
    async fn control_plane_bearers_are_401_unless_valid() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "cp@example.com", PASSWORD).await;
        let forged_jwt = forged(&user.access);
        let cases: [(&str, Option<&str>, u16, &str); 9] = [
            ("garbage", Some("garbage"), 401, "invalid_token"),
            ("forged admin token", Some("hjcp_forged"), 401, "invalid_token"),
            ("unknown secret key", Some("sk_live_bogus"), 401, "invalid_api_key"),
            ("unknown publishable key", Some("pk_live_bogus"), 401, "invalid_publishable_key"),
            ("forged JWT", Some(forged_jwt.as_str()), 401, "invalid_token"),
            ("no credential", None, 401, "missing_token"),
            ("tenant secret key", Some(t.sk.as_str()), 403, "cp_admin_required"),
            ("tenant publishable key", Some(t.pk.as_str()), 403, "cp_admin_required"),
            ("user access token", Some(user.access.as_str()), 403, "cp_admin_required"),
        ];
        for (name, bearer, status, code) in cases {
            let reply = s.call(Method::GET, "/cp/v1/tenants", bearer, None).await;
            expect_error(&reply, status, code, name);
        }
    }
}

/// Who sends a hostile request.
#[derive(Clone, Copy, Debug)]
enum Caller {
    SecretKey,
    Admin,
    Anonymous,
}

// 11. Hostile ids and filters get a 400 or 404 envelope, never a 5xx.
matrix! {
    async fn hostile_ids_never_give_a_server_error() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "target@example.com", PASSWORD).await;
        let org = s.call(Method::POST, "/v1/organizations", Some(&t.sk), Some(json!({"name": "Target", "created_by": user.id}))).await;
        assert_eq!(org.status, 201, "{}", org.body);
        let o = text(&org.body["id"]);
        let members = s.call(Method::GET, &format!("/v1/organizations/{o}/members"), Some(&t.sk), None).await;
        assert_eq!(members.status, 200, "{}", members.body);

        use Caller::*;
        let (get, patch, post, delete) = (Method::GET, Method::PATCH, Method::POST, Method::DELETE);
        let name = json!({"name": "x"});
        let role = json!({"role": "member"});
        let mut cases: Vec<(Method, String, Caller, Option<Value>)> = Vec::new();
        for id in [
            "%00",
            "usr_%F0%9F%98%80",
            "usr_01ARZ3NDEKTSV4RRFFQ69G5FA%00",
            "usr_01ARZ3NDEKTSV4RRFFQ69G5FA%C3%A9",
            "usr_%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80",
            "usr_ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "usr_01ARZ3NDEKTSV4RRFFQ69G5FAU",
            "usr_01ARZ3NDEKTSV4RRFFQ69G5FA",
            "usr_01ARZ3NDEKTSV4RRFFQ69G5FAVV",
            "usr_",
            "usr_%20%27%20OR%201=1--",
            "usr_%E2%80%AE01ARZ3NDEKTSV4RRFFQ69G5FA",
        ] {
            cases.push((get.clone(), format!("/v1/users/{id}"), SecretKey, None));
        }
        let id = &user.id;
        let more = [
            (patch.clone(), "/v1/users/%00".to_owned(), SecretKey, Some(name.clone())),
            (delete.clone(), "/v1/users/%00".to_owned(), SecretKey, None),
            (post.clone(), "/v1/users/%00/disable".to_owned(), SecretKey, None),
            (delete.clone(), "/v1/users/%00/sessions".to_owned(), SecretKey, None),
            (get.clone(), "/v1/users/%00/mfa/factors".to_owned(), SecretKey, None),
            (delete.clone(), format!("/v1/users/{id}/mfa/factors/%00"), SecretKey, None),
            (delete.clone(), format!("/v1/users/{id}/mfa/factors/fac_%F0%9F%98%80"), SecretKey, None),
            (get.clone(), "/v1/sessions/%00".to_owned(), SecretKey, None),
            (delete.clone(), "/v1/sessions/%00".to_owned(), SecretKey, None),
            (get.clone(), "/v1/sessions/ses_%F0%9F%98%80".to_owned(), SecretKey, None),
            (get.clone(), "/v1/organizations/%00".to_owned(), SecretKey, None),
            (get.clone(), "/v1/organizations/%F0%9F%98%80".to_owned(), SecretKey, None),
            (get.clone(), "/v1/organizations/org_01ARZ3NDEKTSV4RRFFQ69G5FA%00".to_owned(), SecretKey, None),
            (patch.clone(), format!("/v1/organizations/{o}/members/%00"), SecretKey, Some(role.clone())),
            (delete.clone(), format!("/v1/organizations/{o}/members/%00"), SecretKey, None),
            (patch.clone(), format!("/v1/organizations/{o}/members/usr_%F0%9F%98%80"), SecretKey, Some(role)),
            (delete.clone(), format!("/v1/organizations/{o}/invitations/%00"), SecretKey, None),
            (patch.clone(), format!("/v1/organizations/{o}/roles/%00"), SecretKey, Some(name.clone())),
            (delete.clone(), "/v1/api-keys/%00".to_owned(), SecretKey, None),
            (delete.clone(), "/v1/api-keys/key_%F0%9F%98%80".to_owned(), SecretKey, None),
            (get.clone(), "/cp/v1/tenants/%00".to_owned(), Admin, None),
            (patch.clone(), "/cp/v1/tenants/%00".to_owned(), Admin, Some(name.clone())),
            (delete.clone(), "/cp/v1/tenants/%00".to_owned(), Admin, None),
            (get.clone(), "/cp/v1/tenants/tnt_%F0%9F%98%80".to_owned(), Admin, None),
            (patch.clone(), "/cp/v1/tenants/tnt_%F0%9F%98%80".to_owned(), Admin, Some(name)),
            (delete.clone(), "/cp/v1/tenants/tnt_%F0%9F%98%80".to_owned(), Admin, None),
            (post.clone(), "/cp/v1/tenants/%00/signing-keys/rotate".to_owned(), Admin, None),
            (delete.clone(), "/cp/v1/admins/%00".to_owned(), Admin, None),
            (delete.clone(), "/cp/v1/admins/adm_%F0%9F%98%80".to_owned(), Admin, None),
            (get.clone(), "/t/%00/.well-known/jwks.json".to_owned(), Anonymous, None),
            (get.clone(), "/t/tnt_%F0%9F%98%80/.well-known/openid-configuration".to_owned(), Anonymous, None),
            (get.clone(), "/v1/jwks/usr_%F0%9F%98%80".to_owned(), Anonymous, None),
            (get.clone(), "/v1/jwks/%00".to_owned(), Anonymous, None),
        ];
        cases.extend(more);
        // Filters may also answer an empty page: nothing matches them.
        let filters = [
            "/v1/users?email=%00",
            "/v1/users?q=%00",
            "/v1/users?q=%F0%9F%98%80",
            "/v1/users?q=%25%27%22%5C",
            "/v1/users?organization_id=%00",
            "/v1/users?organization_id=org_%F0%9F%98%80",
            "/v1/sessions?user_id=%00",
            "/v1/sessions?user_id=usr_%F0%9F%98%80",
            "/v1/organizations?q=%00",
        ];
        for filter in filters {
            cases.push((get.clone(), filter.to_owned(), SecretKey, None));
        }

        let mut failures = Vec::new();
        for (method, path, caller, body) in cases {
            let bearer = match caller {
                SecretKey => Some(t.sk.as_str()),
                Admin => Some(s.admin_token.as_str()),
                Anonymous => None,
            };
            let reply = s.call(method.clone(), &path, bearer, body).await;
            let envelope = matches!(reply.status, 400 | 404)
                && reply.body["error"]["status"] == reply.status
                && reply.body["error"]["code"].is_string();
            let empty_page = filters.contains(&path.as_str()) && reply.status == 200 && reply.body["data"] == json!([]);
            if !envelope && !empty_page {
                failures.push(format!("{method} {path} ({caller:?}): {} {}", reply.status, reply.body));
            }
        }
        assert!(failures.is_empty(), "hostile ids answered outside 400/404:\n{}", failures.join("\n"));
        // Nothing was harmed on the way.
        assert_eq!(s.call(Method::GET, &format!("/v1/users/{}", user.id), Some(&t.sk), None).await.status, 200);
        assert_eq!(s.admin(Method::GET, &format!("/cp/v1/tenants/{}", t.id), None).await.status, 200);
    }
}

// 12. Answers carrying private data are never cached; the JWKS still is.
matrix! {
    async fn private_answers_are_not_cacheable() {
        let s = shared();
        let t = s.new_tenant().await;
        let (access, _, _) = crate::mfa::enrolled(s, &t, "private@example.com").await;
        let user_id = text(&s.call(Method::GET, "/v1/auth/me", Some(&access), None).await.body["id"]);
        let reads = [
            ("/v1/users".to_owned(), t.sk.as_str()),
            (format!("/v1/users/{user_id}"), t.sk.as_str()),
            ("/v1/sessions".to_owned(), t.sk.as_str()),
            ("/v1/auth/me".to_owned(), access.as_str()),
            ("/v1/me/sessions".to_owned(), access.as_str()),
        ];
        for (path, bearer) in reads {
            let reply = s.call(Method::GET, &path, Some(bearer), None).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
        }
        let challenged = s.sign_in(&t, "private@example.com", "long enough password").await;
        challenged.assert_error(403, "mfa_required");
        assert_eq!(challenged.header("cache-control"), Some("no-store"), "the MFA challenge");
        fetch_jwks(s, &t.id).await;
    }
}

// 13a. Tabs refreshing at once all get the one successor.
matrix! {
    async fn parallel_refreshes_share_one_successor() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "tabs@example.com", PASSWORD).await;
        let answers = crate::sessions::concurrent_refreshes(s, &t, &user.refresh, 6).await;
        let successors: Vec<String> = answers
            .iter()
            .map(|(status, body)| {
                assert_eq!(*status, 200, "{body}");
                text(&body["session"]["refresh_token"])
            })
            .collect();
        assert!(successors.iter().all(|r| *r == successors[0]), "one successor: {successors:?}");
        assert_ne!(successors[0], user.refresh);
        assert_eq!(s.refresh(&t, &successors[0]).await.status, 200);
    }
}

// 13b/13c. Within the interval a reuse answers the successor again; after it, reuse revokes.
matrix! {
    async fn a_reused_refresh_token_gets_the_successor_within_the_interval_and_revokes_after() {
        let s = start_server(&[]);
        let t = s.new_tenant().await;
        let user = signed_up(&s, &t, "interval@example.com", PASSWORD).await;
        let next = successor(&s.refresh(&t, &user.refresh).await);
        assert_ne!(next, user.refresh);
        assert_eq!(successor(&s.refresh(&t, &user.refresh).await), next, "the same successor again");
        s.advance_clock(11);
        s.refresh(&t, &user.refresh).await.assert_error(401, "session_revoked");
        s.refresh(&t, &next).await.assert_error(401, "session_revoked");
        s.call(Method::GET, "/v1/auth/me", Some(&user.access), None)
            .await
            .assert_error(401, "session_revoked");
    }
}

// 13f. One tab refreshed twice while the other still held the first token: the repeat
//      gets the newest token of the session, not one already spent.
matrix! {
    async fn a_repeat_gets_the_newest_token_of_the_chain() {
        let s = shared();
        let t = s.new_tenant().await;
        let user = signed_up(s, &t, "chain@example.com", PASSWORD).await;
        let second = successor(&s.refresh(&t, &user.refresh).await);
        let third = successor(&s.refresh(&t, &second).await);
        assert_eq!(successor(&s.refresh(&t, &user.refresh).await), third);
        assert_eq!(successor(&s.refresh(&t, &second).await), third);
        let fourth = successor(&s.refresh(&t, &third).await);
        assert_ne!(fourth, third);
        let me = s.call(Method::GET, "/v1/auth/me", Some(&user.access), None).await;
        assert_eq!(me.status, 200, "the session never forked: {}", me.body);
    }
}

// 13d/13e. refresh_reuse_interval: 10 s by default, 0 is strict, 0..=3600 only.
matrix! {
    async fn the_reuse_interval_is_a_bounded_setting_and_zero_is_strict() {
        let s = shared();
        let t = s.new_tenant().await;
        let path = format!("/cp/v1/tenants/{}", t.id);
        let shown = s.admin(Method::GET, &path, None).await;
        assert_eq!(shown.body["auth_config"]["refresh_reuse_interval"], 10, "{}", shown.body);
        for bad in [json!(-1), json!(3601), json!("10")] {
            let reply = s.admin(Method::PATCH, &path, Some(json!({"auth_config": {"refresh_reuse_interval": bad}}))).await;
            expect_error(&reply, 400, "invalid_request", &format!("refresh_reuse_interval {bad}"));
        }
        let kept = s.admin(Method::GET, &path, None).await;
        assert_eq!(kept.body["auth_config"]["refresh_reuse_interval"], 10, "refused patches change nothing");

        let strict = s
            .new_tenant_with(json!({"name": "strict reuse interval", "auth_config": {"refresh_reuse_interval": 0}}))
            .await;
        let user = signed_up(s, &strict, "strict@example.com", PASSWORD).await;
        let next = successor(&s.refresh(&strict, &user.refresh).await);
        s.refresh(&strict, &user.refresh).await.assert_error(401, "session_revoked");
        s.refresh(&strict, &next).await.assert_error(401, "session_revoked");
    }
}

// 14. The next signing key is published before it signs.
matrix! {
    async fn signing_keys_are_published_before_they_sign() {
        let s = shared();
        let t = s.new_tenant().await;
        let first = s.sign_up(&t, "keys@example.com", PASSWORD).await;
        let first_token = text(&first["session"]["access_token"]);
        let first_kid = text(&header_of(&first_token)["kid"]);
        let j0 = fetch_jwks(s, &t.id).await;
        let k0 = kids(&j0);
        assert_eq!(k0.len(), 2, "current and next: {k0:?}");
        assert!(k0.contains(&first_kid), "{k0:?}");

        rotate_signing_keys(s, &t.id).await;
        let second_token = signed_in(s, &t, "keys@example.com", PASSWORD).await.access;
        let second_kid = text(&header_of(&second_token)["kid"]);
        assert_ne!(second_kid, first_kid, "the rotation changed the signing key");
        assert!(k0.contains(&second_kid), "signed with the key published ahead: {k0:?}");
        verify_against(s, &j0, &t.id, &second_token).expect("a JWKS fetched before the rotation verifies");

        let j1 = fetch_jwks(s, &t.id).await;
        let k1 = kids(&j1);
        assert_eq!(k1.len(), 3, "retiring, current, next: {k1:?}");
        assert!(k1.contains(&first_kid) && k1.contains(&second_kid), "{k1:?}");
        assert_eq!(k1.iter().filter(|k| !k0.contains(*k)).count(), 1, "one new next key: {k0:?} → {k1:?}");
        verify_against(s, &j1, &t.id, &first_token).expect("tokens from before the rotation still verify");
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(&first_token), None).await.status, 200);

        rotate_signing_keys(s, &t.id).await;
        let third_token = signed_in(s, &t, "keys@example.com", PASSWORD).await.access;
        let third_kid = text(&header_of(&third_token)["kid"]);
        assert!(!k0.contains(&third_kid) && k1.contains(&third_kid), "{third_kid} was the next key after the first rotation");
        verify_against(s, &j1, &t.id, &third_token).expect("a JWKS fetched after the first rotation verifies");
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(&second_token), None).await.status, 200);
    }
}

// 14 (independent verifier). PyJWT's PyJWKClient, caching the JWKS as app backends do,
// verifies a token signed after a rotation from the JWKS it fetched before it: no refetch.
matrix! {
    async fn pyjwt_verifies_tokens_after_a_rotation_from_its_cached_jwks() {
        let s = shared();
        let t = s.new_tenant().await;
        let issuer = format!("{}/t/{}", s.base, t.id);
        let jwks = format!("{issuer}/.well-known/jwks.json");
        let Some(mut verifier) =
            PythonClient::spawn("pyjwt_verifier.py", "jwt, cryptography", "pyjwt[crypto]", &[&jwks, &issuer, &t.id])
        else {
            return;
        };
        let mut verify = async |token: &str| verifier.ask(token).await;
        let first = signed_up(s, &t, "pyjwt@example.com", PASSWORD).await;
        assert_eq!(verify(&first.access).await, "ok 1", "PyJWT verifies and caches the JWKS");
        rotate_signing_keys(s, &t.id).await;
        let after = signed_in(s, &t, "pyjwt@example.com", PASSWORD).await;
        assert_eq!(verify(&after.access).await, "ok 1", "the cached JWKS already held the new signing key");
        assert_eq!(verify(&first.access).await, "ok 1", "tokens from before the rotation still verify");
    }
}
