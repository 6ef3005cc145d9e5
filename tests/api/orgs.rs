//! Organizations: CRUD and slugs, built-in and custom roles, the last-owner
//! rule, invitations, the active organization in tokens, tenant isolation,
//! the users filter and the events recorded — on every backend.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const PASSWORD: &str = "long enough password";

/// A signed-up user with their tokens.
struct Member {
    id: String,
    access: String,
    refresh: String,
}

async fn member(s: &Server, t: &TestTenant, email: &str) -> Member {
    let body = s.sign_up(t, email, PASSWORD).await;
    Member {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        access: body["session"]["access_token"].as_str().unwrap().to_owned(),
        refresh: body["session"]["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// A fresh access token of an existing user.
async fn member_token(s: &Server, t: &TestTenant, email: &str) -> String {
    let reply = s.sign_in(t, email, PASSWORD).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["session"]["access_token"].as_str().unwrap().to_owned()
}

async fn create_org(s: &Server, bearer: &str, body: Value) -> Value {
    let reply = s
        .call(Method::POST, "/v1/organizations", Some(bearer), Some(body))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

async fn add_member(s: &Server, bearer: &str, org: &str, user_id: &str, role: &str) -> Reply {
    s.call(
        Method::POST,
        &format!("/v1/organizations/{org}/members"),
        Some(bearer),
        Some(json!({"user_id": user_id, "role": role})),
    )
    .await
}

async fn set_role(s: &Server, bearer: &str, org: &str, user_id: &str, role: &str) -> Reply {
    s.call(
        Method::PATCH,
        &format!("/v1/organizations/{org}/members/{user_id}"),
        Some(bearer),
        Some(json!({"role": role})),
    )
    .await
}

async fn invite(s: &Server, bearer: &str, org: &str, body: Value) -> Reply {
    s.call(
        Method::POST,
        &format!("/v1/organizations/{org}/invitations"),
        Some(bearer),
        Some(body),
    )
    .await
}

/// Refreshes with an `organization_id` switch; returns the reply.
async fn switch(s: &Server, t: &TestTenant, refresh: &str, org: Value) -> Reply {
    s.call(
        Method::POST,
        "/v1/auth/token/refresh",
        Some(&t.pk),
        Some(json!({"refresh_token": refresh, "organization_id": org})),
    )
    .await
}

fn tokens(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    (
        reply.body["session"]["access_token"].as_str().unwrap().to_owned(),
        reply.body["session"]["refresh_token"].as_str().unwrap().to_owned(),
    )
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

matrix! {
    async fn organizations_have_unique_slugs_and_page_through_lists() {
        let s = shared();
        let t = s.new_tenant().await;
        let acme = create_org(s, &t.sk, json!({"name": "Acme Inc", "private_metadata": {"plan": "pro"}})).await;
        assert_eq!(acme["slug"], "acme-inc");
        assert_eq!(acme["member_count"], 0);
        assert_eq!(acme["private_metadata"], json!({"plan": "pro"}));
        assert!(acme["id"].as_str().unwrap().starts_with("org_"));
        let twin = create_org(s, &t.sk, json!({"name": "Acme Inc"})).await;
        let twin_slug = twin["slug"].as_str().unwrap();
        assert!(twin_slug.starts_with("acme-inc-") && twin_slug != "acme-inc", "{twin_slug}");
        s.call(Method::POST, "/v1/organizations", Some(&t.sk), Some(json!({"name": "X", "slug": "acme-inc"})))
            .await
            .assert_error(409, "slug_already_exists");
        let bad = s
            .call(Method::POST, "/v1/organizations", Some(&t.sk), Some(json!({"name": "X", "slug": "Not A Slug"})))
            .await;
        bad.assert_error(400, "invalid_request");
        assert_eq!(bad.body["error"]["field"], "slug");
        let nameless = s.call(Method::POST, "/v1/organizations", Some(&t.sk), Some(json!({}))).await;
        nameless.assert_error(400, "invalid_request");
        assert_eq!(nameless.body["error"]["field"], "name");

        // By id or by slug.
        let by_id = s.call(Method::GET, &format!("/v1/organizations/{}", id(&acme)), Some(&t.sk), None).await;
        let by_slug = s.call(Method::GET, "/v1/organizations/acme-inc", Some(&t.sk), None).await;
        assert_eq!(by_id.status, 200);
        assert_eq!(by_id.body, by_slug.body);

        // Renaming the slug frees the old one; metadata merges and null deletes.
        let patched = s
            .call(
                Method::PATCH,
                "/v1/organizations/acme-inc",
                Some(&t.sk),
                Some(json!({"name": "Acme Two", "slug": "acme-two", "public_metadata": {"a": 1, "b": 2}})),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.body["name"], "Acme Two");
        s.call(Method::GET, "/v1/organizations/acme-inc", Some(&t.sk), None).await.assert_error(404, "not_found");
        let merged = s
            .call(Method::PATCH, "/v1/organizations/acme-two", Some(&t.sk), Some(json!({"public_metadata": {"a": null}})))
            .await;
        assert_eq!(merged.body["public_metadata"], json!({"b": 2}));
        assert_eq!(merged.body["private_metadata"], json!({"plan": "pro"}));
        s.call(Method::PATCH, "/v1/organizations/acme-two", Some(&t.sk), Some(json!({"slug": id(&twin)})))
            .await
            .assert_error(400, "invalid_request");

        // Cursor paging never skips or repeats, newest first; `q` filters by name or slug.
        let mut created = vec![id(&acme), id(&twin)];
        for n in 0..3 {
            created.push(id(&create_org(s, &t.sk, json!({"name": format!("Zeta {n}")})).await));
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/organizations?limit=2&cursor={c}"),
                None => "/v1/organizations?limit=2".to_owned(),
            };
            let page = s.call(Method::GET, &path, Some(&t.sk), None).await;
            assert_eq!(page.status, 200, "{}", page.body);
            seen.extend(page.body["data"].as_array().unwrap().iter().map(id));
            match page.body["pagination"]["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        created.reverse();
        assert_eq!(seen, created);
        let zetas = s.call(Method::GET, "/v1/organizations?q=ZETA", Some(&t.sk), None).await;
        assert_eq!(zetas.body["data"].as_array().unwrap().len(), 3);
        let one = s.call(Method::GET, "/v1/organizations?q=zeta&limit=1", Some(&t.sk), None).await;
        assert_eq!(one.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(one.body["pagination"]["has_more"], true);

        // Deleting frees the slug and the organization is gone.
        let deleted = s.call(Method::DELETE, "/v1/organizations/acme-two", Some(&t.sk), None).await;
        assert_eq!(deleted.status, 204);
        s.call(Method::GET, &format!("/v1/organizations/{}", id(&acme)), Some(&t.sk), None)
            .await
            .assert_error(404, "not_found");
        create_org(s, &t.sk, json!({"name": "Again", "slug": "acme-two"})).await;
    }

    async fn each_built_in_role_gets_exactly_its_permissions() {
        let s = shared();
        let t = s.new_tenant().await;
        let owner = member(s, &t, "owner@example.com").await;
        let admin = member(s, &t, "admin@example.com").await;
        let plain = member(s, &t, "member@example.com").await;
        let outsider = member(s, &t, "outsider@example.com").await;
        // A user creating an organization becomes its owner; private metadata is not theirs to see.
        let org = create_org(s, &owner.access, json!({"name": "Team", "private_metadata": {"x": 1}})).await;
        assert_eq!(org["member_count"], 1);
        assert!(org.get("private_metadata").is_none());
        let o = id(&org);
        let added = add_member(s, &owner.access, &o, &admin.id, "admin").await;
        assert_eq!(added.status, 201, "{}", added.body);
        assert_eq!(
            strings(&added.body["permissions"]),
            ["org:read", "org:update", "org:members:read", "org:members:manage"]
        );
        assert_eq!(added.body["user"]["email"], "admin@example.com");
        let plain_added = s
            .call(
                Method::POST,
                &format!("/v1/organizations/{o}/members"),
                Some(&owner.access),
                Some(json!({"user_id": plain.id})),
            )
            .await;
        assert_eq!(plain_added.body["role"], "member");
        assert_eq!(strings(&plain_added.body["permissions"]), ["org:read", "org:members:read"]);
        add_member(s, &owner.access, &o, &plain.id, "member").await.assert_error(409, "already_member");
        let path = format!("/v1/organizations/{o}");

        // A non-member sees nothing at all.
        s.call(Method::GET, &path, Some(&outsider.access), None).await.assert_error(404, "not_found");
        add_member(s, &outsider.access, &o, &outsider.id, "owner").await.assert_error(404, "not_found");

        // member: read only.
        assert_eq!(s.call(Method::GET, &path, Some(&plain.access), None).await.status, 200);
        let members = s.call(Method::GET, &format!("{path}/members"), Some(&plain.access), None).await;
        assert_eq!(members.body["data"].as_array().unwrap().len(), 3);
        s.call(Method::PATCH, &path, Some(&plain.access), Some(json!({"name": "Mine"})))
            .await
            .assert_error(403, "insufficient_permissions");
        add_member(s, &plain.access, &o, &outsider.id, "member").await.assert_error(403, "insufficient_permissions");
        invite(s, &plain.access, &o, json!({"email": "x@example.com"})).await.assert_error(403, "insufficient_permissions");
        s.call(Method::DELETE, &path, Some(&plain.access), None).await.assert_error(403, "insufficient_permissions");
        s.call(Method::GET, &format!("{path}/invitations"), Some(&plain.access), None)
            .await
            .assert_error(403, "insufficient_permissions");

        // admin: update and manage members, never above their own rank.
        let renamed = s.call(Method::PATCH, &path, Some(&admin.access), Some(json!({"name": "Team 2"}))).await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(invite(s, &admin.access, &o, json!({"email": "x@example.com"})).await.status, 201);
        invite(s, &admin.access, &o, json!({"email": "y@example.com", "role": "owner"}))
            .await
            .assert_error(403, "insufficient_permissions");
        assert_eq!(add_member(s, &admin.access, &o, &outsider.id, "member").await.status, 201);
        assert_eq!(set_role(s, &admin.access, &o, &outsider.id, "admin").await.status, 200);
        set_role(s, &admin.access, &o, &admin.id, "owner").await.assert_error(403, "insufficient_permissions");
        set_role(s, &admin.access, &o, &owner.id, "member").await.assert_error(403, "insufficient_permissions");
        s.call(Method::DELETE, &format!("{path}/members/{}", owner.id), Some(&admin.access), None)
            .await
            .assert_error(403, "insufficient_permissions");
        s.call(Method::DELETE, &path, Some(&admin.access), None).await.assert_error(403, "insufficient_permissions");
        s.call(
            Method::POST,
            &format!("{path}/roles"),
            Some(&admin.access),
            Some(json!({"name": "R", "key": "r", "permissions": ["org:read"]})),
        )
        .await
        .assert_error(403, "insufficient_permissions");
        set_role(s, &admin.access, &o, &outsider.id, "nonexistent").await.assert_error(400, "invalid_request");

        // Any member may leave.
        let left = s.call(Method::DELETE, &format!("{path}/members/{}", plain.id), Some(&plain.access), None).await;
        assert_eq!(left.status, 204);
        s.call(Method::GET, &path, Some(&plain.access), None).await.assert_error(404, "not_found");

        // owner: everything, including deletion.
        let org_now = s.call(Method::GET, &path, Some(&owner.access), None).await;
        assert_eq!(org_now.body["member_count"], 3);
        assert_eq!(s.call(Method::DELETE, &path, Some(&owner.access), None).await.status, 204);
        s.call(Method::GET, &path, Some(&t.sk), None).await.assert_error(404, "not_found");
        let mine = s.call(Method::GET, "/v1/me/organizations", Some(&admin.access), None).await;
        assert_eq!(mine.body["data"], json!([]));
    }

    async fn the_last_owner_can_not_leave_be_demoted_or_deleted() {
        let s = shared();
        let t = s.new_tenant().await;
        let first = member(s, &t, "first@example.com").await;
        let second = member(s, &t, "second@example.com").await;
        let org = create_org(s, &t.sk, json!({"name": "Owned", "created_by": first.id})).await;
        assert_eq!(org["member_count"], 1);
        let o = id(&org);
        assert_eq!(add_member(s, &t.sk, &o, &second.id, "member").await.status, 201);
        set_role(s, &t.sk, &o, &first.id, "admin").await.assert_error(409, "conflict");
        let members = format!("/v1/organizations/{o}/members");
        s.call(Method::DELETE, &format!("{members}/{}", first.id), Some(&t.sk), None)
            .await
            .assert_error(409, "conflict");
        s.call(Method::DELETE, &format!("{members}/{}", first.id), Some(&first.access), None)
            .await
            .assert_error(409, "conflict");
        s.call(Method::DELETE, &format!("/v1/users/{}", first.id), Some(&t.sk), None)
            .await
            .assert_error(409, "conflict");

        // With a second owner the first may step down.
        assert_eq!(set_role(s, &t.sk, &o, &second.id, "owner").await.status, 200);
        let demoted = set_role(s, &t.sk, &o, &first.id, "admin").await;
        assert_eq!(demoted.status, 200, "{}", demoted.body);
        set_role(s, &t.sk, &o, &second.id, "member").await.assert_error(409, "conflict");

        // Deleting a member's account removes the membership.
        let gone = s.call(Method::DELETE, &format!("/v1/users/{}", first.id), Some(&t.sk), None).await;
        assert_eq!(gone.status, 204, "{}", gone.body);
        let after = s.call(Method::GET, &format!("/v1/organizations/{o}"), Some(&t.sk), None).await;
        assert_eq!(after.body["member_count"], 1);
        let list = s.call(Method::GET, &members, Some(&t.sk), None).await;
        let ids: Vec<String> = list.body["data"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, vec![second.id.clone()]);

        // The sole owner of an organization without other members may delete their account.
        let gone = s.call(Method::DELETE, &format!("/v1/users/{}", second.id), Some(&t.sk), None).await;
        assert_eq!(gone.status, 204, "{}", gone.body);
        let empty = s.call(Method::GET, &format!("/v1/organizations/{o}"), Some(&t.sk), None).await;
        assert_eq!(empty.body["member_count"], 0);
    }

    async fn invitations_are_emailed_single_use_and_revocable() {
        let s = shared();
        let t = s.new_tenant().await;
        let owner = member(s, &t, "inviter@example.com").await;
        let o = id(&create_org(s, &owner.access, json!({"name": "Invites"})).await);

        // A newcomer accepts with the publishable key and a password.
        let sent = invite(s, &owner.access, &o, json!({"email": "Newcomer@Example.com", "role": "admin"})).await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        assert_eq!(sent.header("cache-control"), Some("no-store"));
        assert_eq!(sent.body["status"], "pending");
        assert_eq!(sent.body["email"], "newcomer@example.com");
        assert!(sent.body["id"].as_str().unwrap().starts_with("inv_"));
        let token = sent.body["token"].as_str().unwrap().to_owned();
        let mail = s.last_mail("newcomer@example.com").await;
        assert_eq!(mail["token"], token.as_str());
        assert!(mail["link"].as_str().unwrap().contains(&token));
        let listed = s.call(Method::GET, &format!("/v1/organizations/{o}/invitations"), Some(&owner.access), None).await;
        assert_eq!(listed.body["data"][0]["id"], sent.body["id"]);
        assert!(listed.body["data"][0].get("token").is_none(), "the token is shown once");
        let accept = format!("/v1/invitations/{token}/accept");
        s.call(Method::POST, &accept, Some(&t.pk), Some(json!({"name": "New"})))
            .await
            .assert_error(400, "invalid_request");
        let joined = s.call(Method::POST, &accept, Some(&t.pk), Some(json!({"password": PASSWORD, "name": "New"}))).await;
        assert_eq!(joined.status, 200, "{}", joined.body);
        assert_eq!(joined.body["user"]["email"], "newcomer@example.com");
        assert_eq!(
            joined.body["user"]["email_verified"], false,
            "a token a member saw in an API answer proves nothing about the mailbox"
        );
        assert_eq!(joined.body["membership"]["role"], "admin");
        assert_eq!(joined.body["membership"]["organization_id"], o.as_str());
        let access = joined.body["session"]["access_token"].as_str().unwrap();
        assert_eq!(s.call(Method::GET, "/v1/auth/me", Some(access), None).await.status, 200);
        s.call(Method::POST, &accept, Some(&t.pk), Some(json!({"password": PASSWORD})))
            .await
            .assert_error(410, "token_already_used");
        let listed = s.call(Method::GET, &format!("/v1/organizations/{o}/invitations"), Some(&owner.access), None).await;
        assert_eq!(listed.body["data"][0]["status"], "accepted");

        // An existing user accepts with their access token; the email must be theirs.
        let bob = member(s, &t, "bob@example.com").await;
        let carol = member(s, &t, "carol@example.com").await;
        let for_bob = invite(s, &t.sk, &o, json!({"email": "bob@example.com"})).await;
        let token = for_bob.body["token"].as_str().unwrap();
        let accept = format!("/v1/invitations/{token}/accept");
        s.call(Method::POST, &accept, Some(&carol.access), None)
            .await
            .assert_error(403, "insufficient_permissions");
        let joined = s.call(Method::POST, &accept, Some(&bob.access), None).await;
        assert_eq!(joined.status, 200, "{}", joined.body);
        assert_eq!(joined.body["membership"]["role"], "member");
        assert!(joined.body.get("session").is_none());
        s.call(Method::POST, &accept, Some(&bob.access), None).await.assert_error(410, "token_already_used");
        invite(s, &t.sk, &o, json!({"email": "bob@example.com"})).await.assert_error(409, "already_member");

        // Revoked and unknown tokens are refused.
        let revoked = invite(s, &t.sk, &o, json!({"email": "gone@example.com"})).await;
        let path = format!("/v1/organizations/{o}/invitations/{}", id(&revoked.body));
        assert_eq!(s.call(Method::DELETE, &path, Some(&owner.access), None).await.status, 204);
        let token = revoked.body["token"].as_str().unwrap();
        s.call(Method::POST, &format!("/v1/invitations/{token}/accept"), Some(&t.pk), Some(json!({"password": PASSWORD})))
            .await
            .assert_error(401, "invalid_token");
        let forged = format!("{}.AAAA", id(&revoked.body));
        s.call(Method::POST, &format!("/v1/invitations/{forged}/accept"), Some(&t.pk), Some(json!({"password": PASSWORD})))
            .await
            .assert_error(401, "invalid_token");
        s.call(Method::POST, "/v1/invitations/garbage/accept", Some(&t.pk), Some(json!({"password": PASSWORD})))
            .await
            .assert_error(401, "invalid_token");
        let revoked_list = s
            .call(Method::GET, &format!("/v1/organizations/{o}/invitations?status=revoked"), Some(&t.sk), None)
            .await;
        assert_eq!(revoked_list.body["data"].as_array().unwrap().len(), 1);
        let members = s.call(Method::GET, &format!("/v1/organizations/{o}"), Some(&t.sk), None).await;
        assert_eq!(members.body["member_count"], 3);

        // An invitation from the secret key went only to the mailbox: accepting it verifies the email.
        let from_server = invite(s, &t.sk, &o, json!({"email": "server@example.com"})).await;
        let token = from_server.body["token"].as_str().unwrap();
        let joined = s
            .call(Method::POST, &format!("/v1/invitations/{token}/accept"), Some(&t.pk), Some(json!({"password": PASSWORD})))
            .await;
        assert_eq!(joined.body["user"]["email_verified"], true, "{}", joined.body);

        // A member's invitation dies with their right to send it.
        let admin = member(s, &t, "short-lived-admin@example.com").await;
        assert_eq!(add_member(s, &t.sk, &o, &admin.id, "admin").await.status, 201);
        let orphan = invite(s, &admin.access, &o, json!({"email": "orphan@example.com"})).await;
        assert_eq!(orphan.status, 201, "{}", orphan.body);
        assert_eq!(set_role(s, &t.sk, &o, &admin.id, "member").await.status, 200);
        let token = orphan.body["token"].as_str().unwrap();
        s.call(Method::POST, &format!("/v1/invitations/{token}/accept"), Some(&t.pk), Some(json!({"password": PASSWORD})))
            .await
            .assert_error(401, "invalid_token");

        // Invitation lists page like every list.
        let mut seen = HashSet::new();
        let first = s.call(Method::GET, &format!("/v1/organizations/{o}/invitations?limit=2"), Some(&t.sk), None).await;
        assert_eq!(first.body["pagination"]["has_more"], true);
        let cursor = first.body["pagination"]["next_cursor"].as_str().unwrap();
        let rest = s
            .call(Method::GET, &format!("/v1/organizations/{o}/invitations?limit=100&cursor={cursor}"), Some(&t.sk), None)
            .await;
        for item in first.body["data"].as_array().unwrap().iter().chain(rest.body["data"].as_array().unwrap()) {
            assert!(seen.insert(id(item)), "no invitation twice");
        }
        assert_eq!(seen.len(), 5, "newcomer, bob, gone, server, orphan");
    }

    async fn members_of_each_organization_stay_apart() {
        let s = shared();
        let t = s.new_tenant().await;
        let mut users = Vec::new();
        for n in 0..4 {
            users.push(member(s, &t, &format!("apart{n}@example.com")).await.id);
        }
        // The older organization's members sort before the newer one's in storage.
        let older = id(&create_org(s, &t.sk, json!({"name": "Older", "created_by": users[0]})).await);
        assert_eq!(add_member(s, &t.sk, &older, &users[1], "member").await.status, 201);
        let newer = id(&create_org(s, &t.sk, json!({"name": "Newer", "created_by": users[2]})).await);
        assert_eq!(add_member(s, &t.sk, &newer, &users[3], "member").await.status, 201);
        let sk = t.sk.as_str();
        let listed = |org: String| async move {
            let reply = s.call(Method::GET, &format!("/v1/organizations/{org}/members"), Some(sk), None).await;
            let mut ids: Vec<String> =
                reply.body["data"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_owned()).collect();
            ids.sort();
            ids
        };
        let mut want_older = vec![users[0].clone(), users[1].clone()];
        want_older.sort();
        let mut want_newer = vec![users[2].clone(), users[3].clone()];
        want_newer.sort();
        assert_eq!(listed(older.clone()).await, want_older);
        assert_eq!(listed(newer.clone()).await, want_newer);
        let paged = s.call(Method::GET, &format!("/v1/organizations/{older}/members?limit=1"), Some(&t.sk), None).await;
        let cursor = paged.body["pagination"]["next_cursor"].as_str().unwrap();
        let next = s
            .call(Method::GET, &format!("/v1/organizations/{older}/members?limit=1&cursor={cursor}"), Some(&t.sk), None)
            .await;
        assert_eq!(next.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(next.body["pagination"]["has_more"], false);
        assert_ne!(next.body["data"][0]["user_id"], paged.body["data"][0]["user_id"]);

        // Deleting the older organization removes exactly its memberships.
        assert_eq!(s.call(Method::DELETE, &format!("/v1/organizations/{older}"), Some(&t.sk), None).await.status, 204);
        let users_of = |org: String| async move {
            let reply = s.call(Method::GET, &format!("/v1/users?organization_id={org}"), Some(sk), None).await;
            reply.body["data"].as_array().unwrap().len()
        };
        assert_eq!(users_of(older.clone()).await, 0);
        assert_eq!(users_of(newer.clone()).await, 2);
        assert_eq!(listed(newer).await, want_newer);
        let theirs = s
            .call(Method::GET, "/v1/me/organizations", Some(&member_token(s, &t, "apart1@example.com").await), None)
            .await;
        assert_eq!(theirs.body["data"], json!([]));
    }

    async fn racing_owners_and_deletions_never_break_the_counts() {
        let s = shared();
        let t = s.new_tenant().await;
        let a = member(s, &t, "race-a@example.com").await;
        let b = member(s, &t, "race-b@example.com").await;
        let c = member(s, &t, "race-c@example.com").await;
        let o = id(&create_org(s, &t.sk, json!({"name": "Race", "created_by": a.id})).await);
        assert_eq!(add_member(s, &t.sk, &o, &b.id, "owner").await.status, 201);
        assert_eq!(add_member(s, &t.sk, &o, &c.id, "member").await.status, 201);
        // Two owners demote each other at once: exactly one of them wins.
        let (x, y) = tokio::join!(set_role(s, &t.sk, &o, &a.id, "member"), set_role(s, &t.sk, &o, &b.id, "member"));
        let mut statuses = [x.status, y.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", x.body, y.body);
        // A user deleted while being added elsewhere: counts match the members that remain.
        let other = id(&create_org(s, &t.sk, json!({"name": "Elsewhere"})).await);
        let delete_path = format!("/v1/users/{}", c.id);
        let (_, _) = tokio::join!(
            s.call(Method::DELETE, &delete_path, Some(&t.sk), None),
            add_member(s, &t.sk, &other, &c.id, "member"),
        );
        for org in [&o, &other] {
            let shown = s.call(Method::GET, &format!("/v1/organizations/{org}"), Some(&t.sk), None).await;
            let members = s.call(Method::GET, &format!("/v1/organizations/{org}/members"), Some(&t.sk), None).await;
            assert_eq!(
                shown.body["member_count"].as_u64().unwrap() as usize,
                members.body["data"].as_array().unwrap().len(),
                "{org}"
            );
        }
        s.call(Method::GET, &format!("/v1/users/{}", c.id), Some(&t.sk), None).await.assert_error(404, "not_found");
    }

    async fn the_active_organization_is_in_tokens_and_follows_membership() {
        let s = shared();
        let t = s.new_tenant().await;
        let owner = member(s, &t, "boss@example.com").await;
        let user = member(s, &t, "worker@example.com").await;
        assert!(jwt_claims(&user.access)["org_id"].is_null());
        let a = id(&create_org(s, &t.sk, json!({"name": "A", "created_by": owner.id})).await);
        let b = id(&create_org(s, &t.sk, json!({"name": "B", "created_by": owner.id})).await);
        assert_eq!(add_member(s, &t.sk, &a, &user.id, "member").await.status, 201);

        let (access, refresh) = tokens(&switch(s, &t, &user.refresh, json!(a)).await);
        let claims = jwt_claims(&access);
        assert_eq!(claims["org_id"], a.as_str());
        assert_eq!(claims["org_role"], "member");
        assert_eq!(strings(&claims["org_permissions"]), ["org:read", "org:members:read"]);

        // Not a member of B: refused, and the refresh token is still good.
        switch(s, &t, &refresh, json!(b)).await.assert_error(403, "insufficient_permissions");
        switch(s, &t, &refresh, json!(42)).await.assert_error(400, "invalid_request");
        let not_an_id = switch(s, &t, &refresh, json!("not-an-org")).await;
        not_an_id.assert_error(400, "invalid_request");
        assert_eq!(not_an_id.body["error"]["field"], "organization_id");
        let (access, refresh) = tokens(&s.refresh(&t, &refresh).await);
        assert_eq!(jwt_claims(&access)["org_id"], a.as_str(), "an absent organization_id keeps the active one");

        // A role change shows at once in /v1/sessions/verify and in the next token.
        assert_eq!(set_role(s, &t.sk, &a, &user.id, "admin").await.status, 200);
        let verified = s.call(Method::POST, "/v1/sessions/verify", Some(&t.sk), Some(json!({"token": access}))).await;
        assert_eq!(verified.body["valid"], true);
        assert_eq!(verified.body["claims"]["org_role"], "admin");
        assert_eq!(verified.body["session"]["active_organization_id"], a.as_str());
        assert_eq!(jwt_claims(&access)["org_role"], "member", "a signed token never changes");
        let (access, refresh) = tokens(&s.refresh(&t, &refresh).await);
        assert_eq!(jwt_claims(&access)["org_role"], "admin");
        let mine = s.call(Method::GET, "/v1/me/organizations", Some(&access), None).await;
        assert_eq!(mine.body["data"][0]["organization"]["name"], "A");
        assert_eq!(mine.body["data"][0]["role"], "admin");

        // Removal: verify reports no organization at once, the next token has none.
        let removed = s.call(Method::DELETE, &format!("/v1/organizations/{a}/members/{}", user.id), Some(&t.sk), None).await;
        assert_eq!(removed.status, 204);
        let verified = s.call(Method::POST, "/v1/sessions/verify", Some(&t.sk), Some(json!({"token": access}))).await;
        assert!(verified.body["claims"]["org_id"].is_null(), "{}", verified.body);
        let (access, refresh) = tokens(&s.refresh(&t, &refresh).await);
        assert!(jwt_claims(&access)["org_id"].is_null());
        assert!(jwt_claims(&access)["org_permissions"].is_null());

        // `null` clears the active organization.
        assert_eq!(add_member(s, &t.sk, &b, &user.id, "admin").await.status, 201);
        let (access, refresh) = tokens(&switch(s, &t, &refresh, json!(b)).await);
        assert_eq!(jwt_claims(&access)["org_role"], "admin");
        let (access, _) = tokens(&switch(s, &t, &refresh, Value::Null).await);
        assert!(jwt_claims(&access)["org_id"].is_null());
        assert!(jwt_claims(&access)["org_role"].is_null());
    }

    async fn organizations_never_cross_tenants() {
        let s = shared();
        let (ta, tb) = (s.new_tenant().await, s.new_tenant().await);
        let alice = member(s, &ta, "alice@example.com").await;
        let bob = member(s, &tb, "bob@example.com").await;
        let org = create_org(s, &alice.access, json!({"name": "Private", "slug": "private"})).await;
        let o = id(&org);
        for reference in [o.as_str(), "private"] {
            let path = format!("/v1/organizations/{reference}");
            s.call(Method::GET, &path, Some(&tb.sk), None).await.assert_error(404, "not_found");
            s.call(Method::GET, &path, Some(&bob.access), None).await.assert_error(404, "not_found");
            s.call(Method::DELETE, &path, Some(&tb.sk), None).await.assert_error(404, "not_found");
        }
        add_member(s, &tb.sk, &o, &bob.id, "owner").await.assert_error(404, "not_found");
        let listed = s.call(Method::GET, "/v1/organizations", Some(&tb.sk), None).await;
        assert_eq!(listed.body["data"], json!([]));
        switch(s, &tb, &bob.refresh, json!(o)).await.assert_error(403, "insufficient_permissions");
        // Another tenant's credential can't redeem this tenant's invitation.
        let sent = invite(s, &ta.sk, &o, json!({"email": "bob@example.com"})).await;
        let token = sent.body["token"].as_str().unwrap();
        s.call(Method::POST, &format!("/v1/invitations/{token}/accept"), Some(&bob.access), None)
            .await
            .assert_error(401, "invalid_token");
        s.call(Method::POST, &format!("/v1/invitations/{token}/accept"), Some(&tb.pk), Some(json!({"password": PASSWORD})))
            .await
            .assert_error(401, "invalid_token");
        // The tenant header can't pick another tenant either.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-tenant-id", ta.id.parse().unwrap());
        let crossed = client()
            .get(s.url(&format!("/v1/organizations/{o}")))
            .bearer_auth(&tb.sk)
            .headers(headers)
            .send()
            .await
            .unwrap();
        assert_eq!(crossed.status(), 403);
        let still = s.call(Method::GET, &format!("/v1/organizations/{o}"), Some(&ta.sk), None).await;
        assert_eq!(still.body["member_count"], 1);
    }

    async fn custom_roles_carry_their_permissions_into_tokens() {
        let s = shared();
        let t = s.new_tenant().await;
        let owner = member(s, &t, "founder@example.com").await;
        let billing = member(s, &t, "billing@example.com").await;
        let o = id(&create_org(s, &owner.access, json!({"name": "Roles"})).await);
        let roles = format!("/v1/organizations/{o}/roles");
        let role = json!({"name": "Billing", "key": "billing", "permissions": ["org:billing:manage", "org:read"]});
        let created = s.call(Method::POST, &roles, Some(&owner.access), Some(role.clone())).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["key"], "billing");
        s.call(Method::POST, &roles, Some(&owner.access), Some(role)).await.assert_error(409, "conflict");
        s.call(Method::POST, &roles, Some(&t.sk), Some(json!({"name": "A", "key": "admin", "permissions": []})))
            .await
            .assert_error(409, "conflict");
        let bad = s
            .call(Method::POST, &roles, Some(&t.sk), Some(json!({"name": "Bad", "key": "bad", "permissions": ["billing"]})))
            .await;
        bad.assert_error(400, "invalid_request");
        assert_eq!(bad.body["error"]["field"], "permissions");
        let listed = s.call(Method::GET, &roles, Some(&t.sk), None).await;
        let keys: Vec<&str> = listed.body["data"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["owner", "admin", "member", "billing"]);

        add_member(s, &t.sk, &o, &billing.id, "nope").await.assert_error(400, "invalid_request");
        let added = add_member(s, &t.sk, &o, &billing.id, "billing").await;
        assert_eq!(strings(&added.body["permissions"]), ["org:billing:manage", "org:read"]);
        let (access, _) = tokens(&switch(s, &t, &billing.refresh, json!(o)).await);
        let claims = jwt_claims(&access);
        assert_eq!(claims["org_role"], "billing");
        assert_eq!(strings(&claims["org_permissions"]), ["org:billing:manage", "org:read"]);
        // org:read but not org:members:read.
        assert_eq!(s.call(Method::GET, &format!("/v1/organizations/{o}"), Some(&access), None).await.status, 200);
        s.call(Method::GET, &format!("/v1/organizations/{o}/members"), Some(&access), None)
            .await
            .assert_error(403, "insufficient_permissions");
        // The owner holds every permission, custom ones included.
        let (owner_access, _) = tokens(&switch(s, &t, &owner.refresh, json!(o)).await);
        assert!(strings(&jwt_claims(&owner_access)["org_permissions"]).contains(&"org:billing:manage".to_owned()));

        // Changing a role changes what its holders may do, at once on hellojohn's own endpoints.
        let role_path = format!("{roles}/billing");
        let changed = s
            .call(Method::PATCH, &role_path, Some(&t.sk), Some(json!({"permissions": ["org:read", "org:members:read"]})))
            .await;
        assert_eq!(changed.status, 200, "{}", changed.body);
        assert_eq!(changed.body["name"], "Billing");
        assert_eq!(s.call(Method::GET, &format!("/v1/organizations/{o}/members"), Some(&access), None).await.status, 200);
        let verified = s.call(Method::POST, "/v1/sessions/verify", Some(&t.sk), Some(json!({"token": access}))).await;
        assert_eq!(strings(&verified.body["claims"]["org_permissions"]), ["org:read", "org:members:read"]);
        s.call(Method::PATCH, &format!("{roles}/ghost"), Some(&t.sk), Some(json!({"name": "G"})))
            .await
            .assert_error(404, "not_found");
        // A role someone holds can't be deleted; once nobody does, it can.
        s.call(Method::DELETE, &role_path, Some(&owner.access), None).await.assert_error(409, "conflict");
        assert_eq!(set_role(s, &t.sk, &o, &billing.id, "member").await.status, 200);
        assert_eq!(s.call(Method::DELETE, &role_path, Some(&owner.access), None).await.status, 204);
        s.call(Method::DELETE, &role_path, Some(&owner.access), None).await.assert_error(404, "not_found");
        let listed = s.call(Method::GET, &roles, Some(&t.sk), None).await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 3);
        let admin = member(s, &t, "role-admin@example.com").await;
        assert_eq!(add_member(s, &t.sk, &o, &admin.id, "admin").await.status, 201);
        s.call(Method::DELETE, &format!("{roles}/member"), Some(&admin.access), None)
            .await
            .assert_error(403, "insufficient_permissions");
    }

    async fn users_filter_by_organization_and_org_events_are_recorded() {
        let s = shared();
        let t = s.new_tenant().await;
        let receiver = crate::webhooks::Receiver::start().await;
        crate::webhooks::register(s, &t, &receiver.url("ok"), json!(["*"])).await;
        let owner = member(s, &t, "one@example.com").await;
        let second = member(s, &t, "two@example.com").await;
        member(s, &t, "three@example.com").await;
        let o = id(&create_org(s, &t.sk, json!({"name": "Filter", "created_by": owner.id})).await);
        assert_eq!(add_member(s, &t.sk, &o, &second.id, "member").await.status, 201);
        let users = s.call(Method::GET, &format!("/v1/users?organization_id={o}"), Some(&t.sk), None).await;
        assert_eq!(users.status, 200, "{}", users.body);
        let found: HashSet<String> = users.body["data"].as_array().unwrap().iter().map(id).collect();
        assert_eq!(found, HashSet::from([owner.id.clone(), second.id.clone()]));
        let paged = s.call(Method::GET, &format!("/v1/users?organization_id={o}&limit=1"), Some(&t.sk), None).await;
        assert_eq!(paged.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(paged.body["pagination"]["has_more"], true);
        s.call(Method::GET, "/v1/users?organization_id=nonsense", Some(&t.sk), None)
            .await
            .assert_error(400, "invalid_request");

        assert_eq!(set_role(s, &t.sk, &o, &second.id, "admin").await.status, 200);
        let sent = invite(s, &t.sk, &o, json!({"email": "three@example.com"})).await;
        let token = sent.body["token"].as_str().unwrap();
        let three = s.sign_in(&t, "three@example.com", PASSWORD).await;
        let access = three.body["session"]["access_token"].as_str().unwrap();
        assert_eq!(s.call(Method::POST, &format!("/v1/invitations/{token}/accept"), Some(access), None).await.status, 200);
        let renamed = s.call(Method::PATCH, &format!("/v1/organizations/{o}"), Some(&t.sk), Some(json!({"name": "Renamed"}))).await;
        assert_eq!(renamed.status, 200);
        let removed = s.call(Method::DELETE, &format!("/v1/organizations/{o}/members/{}", second.id), Some(&t.sk), None).await;
        assert_eq!(removed.status, 204);
        assert_eq!(s.call(Method::DELETE, &format!("/v1/organizations/{o}"), Some(&t.sk), None).await.status, 204);
        let wanted = [
            "organization.created",
            "organization.updated",
            "organization.deleted",
            "organization.member.added",
            "organization.member.updated",
            "organization.member.removed",
            "organization.invitation.created",
            "organization.invitation.accepted",
        ];
        // Every change's event reaches the tenant's webhook.
        let got = receiver
            .wait(15, |got| wanted.iter().all(|w| got.iter().any(|r| r.event_type() == *w)))
            .await;
        let events: Vec<String> = got.iter().map(|r| r.event_type()).collect();
        for wanted in wanted {
            assert!(events.iter().any(|e| e == wanted), "{wanted} in {events:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let before = receiver.requests().len();
        // A refused change records nothing.
        s.call(Method::DELETE, &format!("/v1/organizations/{o}"), Some(&t.sk), None).await.assert_error(404, "not_found");
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        assert_eq!(receiver.requests().len(), before, "a refused change sends nothing");
    }
}

/// Expiry needs the clock moved, so it runs on a server of its own.
#[tokio::test]
async fn invitations_expire() {
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    let o = id(&create_org(&s, &t.sk, json!({"name": "Clocked"})).await);
    let sent = invite(&s, &t.sk, &o, json!({"email": "late@example.com", "expires_in": 60})).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    invite(&s, &t.sk, &o, json!({"email": "late@example.com", "expires_in": 1}))
        .await
        .assert_error(400, "invalid_request");
    s.advance_clock(61);
    let listed = s
        .call(
            Method::GET,
            &format!("/v1/organizations/{o}/invitations?status=expired"),
            Some(&t.sk),
            None,
        )
        .await;
    assert_eq!(listed.body["data"][0]["id"], sent.body["id"]);
    let token = sent.body["token"].as_str().unwrap();
    s.call(
        Method::POST,
        &format!("/v1/invitations/{token}/accept"),
        Some(&t.pk),
        Some(json!({"password": PASSWORD})),
    )
    .await
    .assert_error(401, "invalid_token");
}

/// Concurrent joins and leaves never lose a count (the organization's version guards every change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_membership_changes_keep_the_count() {
    let s = start_server(&[]);
    let t = s.new_tenant().await;
    let mut users = Vec::new();
    for n in 0..12 {
        users.push(member(&s, &t, &format!("c{n}@example.com")).await.id);
    }
    let o = id(&create_org(&s, &t.sk, json!({"name": "Busy", "created_by": users[0]})).await);
    let adds = users[1..].iter().map(|u| add_member(&s, &t.sk, &o, u, "member"));
    for reply in futures_util::future::join_all(adds).await {
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let paths: Vec<String> = users[1..7]
        .iter()
        .map(|u| format!("/v1/organizations/{o}/members/{u}"))
        .collect();
    let removes = paths.iter().map(|p| s.call(Method::DELETE, p, Some(&t.sk), None));
    for reply in futures_util::future::join_all(removes).await {
        assert_eq!(reply.status, 204, "{}", reply.body);
    }
    let org = s
        .call(Method::GET, &format!("/v1/organizations/{o}"), Some(&t.sk), None)
        .await;
    assert_eq!(org.body["member_count"], 6);
    let members = s
        .call(
            Method::GET,
            &format!("/v1/organizations/{o}/members?limit=100"),
            Some(&t.sk),
            None,
        )
        .await;
    assert_eq!(members.body["data"].as_array().unwrap().len(), 6);
}

/// Bad input on organization endpoints is a 4xx naming the field, never a 500.
#[tokio::test]
async fn bad_organization_input_is_refused_clearly() {
    let s = shared();
    let t = s.new_tenant().await;
    let o = id(&create_org(s, &t.sk, json!({"name": "Strict"})).await);
    let cases = [
        (
            Method::POST,
            "/v1/organizations".to_owned(),
            json!({"name": 42}),
            "name",
        ),
        (
            Method::POST,
            "/v1/organizations".to_owned(),
            json!({"name": "x", "public_metadata": [1]}),
            "public_metadata",
        ),
        (
            Method::POST,
            "/v1/organizations".to_owned(),
            json!({"name": "x", "logo_url": "ftp://x"}),
            "logo_url",
        ),
        (
            Method::POST,
            "/v1/organizations".to_owned(),
            json!({"name": "x", "created_by": "usr_nobody"}),
            "created_by",
        ),
        (
            Method::PATCH,
            format!("/v1/organizations/{o}"),
            json!({"name": ""}),
            "name",
        ),
        (
            Method::PATCH,
            format!("/v1/organizations/{o}"),
            json!({"public_metadata": "x"}),
            "public_metadata",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{o}/members"),
            json!({}),
            "user_id",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{o}/members"),
            json!({"user_id": "nope"}),
            "user_id",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{o}/invitations"),
            json!({"email": "not an email"}),
            "email",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{o}/invitations"),
            json!({"email": "a@b.io", "expires_in": -5}),
            "expires_in",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{o}/roles"),
            json!({"name": "R", "key": "r", "permissions": "org:read"}),
            "permissions",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{o}/roles"),
            json!({"name": "R", "key": "Not A Key", "permissions": []}),
            "key",
        ),
    ];
    for (method, path, body, field) in cases {
        let reply = s.call(method.clone(), &path, Some(&t.sk), Some(body.clone())).await;
        assert!(
            reply.status == 400 || (field == "email" && reply.status == 422),
            "{method} {path} {body}: {} {}",
            reply.status,
            reply.body
        );
        if reply.status == 400 {
            assert_eq!(reply.body["error"]["field"], field, "{body}");
        }
    }
    let long = "x".repeat(500);
    s.call(Method::GET, &format!("/v1/organizations/{long}"), Some(&t.sk), None)
        .await
        .assert_error(404, "not_found");
    s.call(
        Method::GET,
        "/v1/organizations/org_00000000000000000000000000",
        Some(&t.sk),
        None,
    )
    .await
    .assert_error(404, "not_found");
    s.call(Method::GET, "/v1/organizations", None, None)
        .await
        .assert_error(401, "missing_token");
    s.call(Method::GET, "/v1/organizations", Some(&t.pk), None)
        .await
        .assert_error(401, "invalid_token");
    let big = json!({"name": "x", "public_metadata": {"blob": "a".repeat(70 * 1024)}});
    s.call(Method::POST, "/v1/organizations", Some(&t.sk), Some(big))
        .await
        .assert_error(413, "payload_too_large");
}
