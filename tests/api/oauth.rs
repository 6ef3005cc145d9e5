//! The tenant's OpenID provider (API.md §9): clients, the code flow through the hosted
//! pages (driven here like a browser: cookies, CSRF fields, no JavaScript), the token
//! endpoint's grants, and the refusals RFC 6749, RFC 7636 and RFC 9700 require.
//! `oauth_authlib.rs` drives the same provider with a client we didn't write.

use std::collections::HashMap;

use reqwest::redirect::Policy;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// A browser without JavaScript: keeps cookies per name, never follows redirects.
pub struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// A page or redirect the browser got.
pub struct Visit {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
    pub csp: Option<String>,
}

impl Visit {
    /// The hidden and named inputs of the page's first form holding `step` (or any form).
    pub fn form(&self, step: Option<&str>) -> Vec<(String, String)> {
        let forms: Vec<&str> = self.html.split("<form").skip(1).collect();
        let form = forms
            .iter()
            .find(|f| step.is_none_or(|s| f.contains(&format!("name=\"step\" value=\"{s}\""))))
            .unwrap_or_else(|| panic!("no form {step:?} in {}", self.html));
        let form = &form[..form.find("</form>").unwrap()];
        let mut fields = Vec::new();
        for input in form.split("<input").skip(1) {
            let attr = |name: &str| {
                let start = input.find(&format!(" {name}=\""))? + name.len() + 3;
                let end = input[start..].find('"')? + start;
                Some(unescape(&input[start..end]))
            };
            if attr("type").as_deref() == Some("hidden") {
                fields.push((attr("name").unwrap(), attr("value").unwrap_or_default()));
            }
        }
        fields
    }

    /// A query parameter of the redirect's location.
    pub fn param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(self.location.as_deref()?).ok()?;
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .user_agent("browser-test")
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Visit {
        let header: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = if header.is_empty() {
            req
        } else {
            req.header("cookie", header.join("; "))
        };
        let res = req.send().await.unwrap();
        for set in res.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || set.to_str().unwrap().contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        let (location, csp) = (header("location"), header("content-security-policy"));
        Visit {
            status: res.status().as_u16(),
            location,
            csp,
            html: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Visit {
        let req = self.http.get(url);
        self.send(req).await
    }

    pub async fn post(&mut self, url: &str, fields: &[(String, String)]) -> Visit {
        let req = self.http.post(url).form(fields);
        self.send(req).await
    }

    /// Posts the page's form `step` with extra fields, to `url`.
    pub async fn submit(&mut self, url: &str, page: &Visit, step: &str, extra: &[(&str, &str)]) -> Visit {
        let mut fields = page.form(Some(step));
        fields.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.post(url, &fields).await
    }
}

pub const REDIRECT: &str = "http://127.0.0.1:9/cb";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Registers a client with the tenant's secret key.
pub async fn new_client(s: &Server, t: &TestTenant, body: Value) -> Value {
    let reply = s.call(Method::POST, "/v1/clients", Some(&t.sk), Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body
}

fn authorize_url(s: &Server, t: &TestTenant, client_id: &str, extra: &str) -> String {
    s.url(&format!(
        "/t/{}/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid+email+profile+offline_access&state=xyz&nonce=n-0S6&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        t.id,
        urlencode(REDIRECT)
    ))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Signs in on the hosted page and returns the redirect back to the client.
async fn sign_in_through(
    b: &mut Browser,
    s: &Server,
    t: &TestTenant,
    start: &str,
    email: &str,
    password: &str,
) -> Visit {
    let page = b.get(start).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let csp = page.csp.clone().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(page.html.contains("<label for=\"email\">"), "labelled inputs");
    b.submit(
        &s.url(&format!("/t/{}/oauth2/authorize", t.id)),
        &page,
        "sign_in",
        &[("email", email), ("password", password)],
    )
    .await
}

async fn token(s: &Server, t: &TestTenant, form: &[(&str, &str)]) -> Reply {
    let res = client()
        .post(s.url(&format!("/t/{}/oauth2/token", t.id)))
        .form(form)
        .send()
        .await
        .unwrap();
    Reply::from(res).await
}

matrix! {
    async fn clients_are_managed_with_the_secret_key() {
        let s = shared();
        let t = s.new_tenant().await;
        let public = new_client(s, &t, json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT]})).await;
        assert!(public["id"].as_str().unwrap().starts_with("cli_"));
        assert_eq!(public["client_id"], public["id"]);
        assert!(public.get("client_secret").is_none(), "public clients have no secret");
        assert_eq!(public["scopes"], json!(["openid", "profile", "email", "offline_access"]));
        assert_eq!(public["first_party"], false);
        let backend = new_client(s, &t, json!({"name": "Backend", "type": "confidential", "redirect_uris": ["https://app.example/cb"]})).await;
        let secret = backend["client_secret"].as_str().unwrap().to_owned();
        let id = backend["id"].as_str().unwrap();
        let got = s.call(Method::GET, &format!("/v1/clients/{id}"), Some(&t.sk), None).await;
        assert_eq!(got.status, 200);
        assert!(got.body.get("client_secret").is_none(), "shown once");
        let list = s.call(Method::GET, "/v1/clients?limit=1", Some(&t.sk), None).await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(list.body["pagination"]["has_more"], true);
        let patched = s.call(Method::PATCH, &format!("/v1/clients/{id}"), Some(&t.sk), Some(json!({"name": "Renamed", "first_party": true}))).await;
        assert_eq!((patched.body["name"].as_str(), patched.body["first_party"].as_bool()), (Some("Renamed"), Some(true)));
        let rotated = s.call(Method::POST, &format!("/v1/clients/{id}/rotate-secret"), Some(&t.sk), None).await;
        assert_ne!(rotated.body["client_secret"].as_str().unwrap(), secret);
        for bad in [
            json!({"type": "public", "redirect_uris": [REDIRECT]}),
            json!({"name": "x", "type": "sideways", "redirect_uris": [REDIRECT]}),
            json!({"name": "x", "type": "public", "redirect_uris": []}),
            json!({"name": "x", "type": "public", "redirect_uris": ["http://app.example/cb"]}),
            json!({"name": "x", "type": "public", "redirect_uris": ["https://app.example/cb#frag"]}),
            json!({"name": "x", "type": "public", "redirect_uris": [REDIRECT], "scopes": ["admin"]}),
        ] {
            s.call(Method::POST, "/v1/clients", Some(&t.sk), Some(bad)).await.assert_error(400, "invalid_request");
        }
        s.call(Method::GET, "/v1/clients", Some(&t.pk), None).await.assert_error(401, "invalid_api_key");
        let other = s.new_tenant().await;
        s.call(Method::GET, &format!("/v1/clients/{id}"), Some(&other.sk), None).await.assert_error(404, "not_found");
        assert_eq!(s.call(Method::DELETE, &format!("/v1/clients/{id}"), Some(&t.sk), None).await.status, 204);
        s.call(Method::GET, &format!("/v1/clients/{id}"), Some(&t.sk), None).await.assert_error(404, "not_found");
    }

    async fn the_code_flow_issues_tokens_once_and_binds_them_to_the_client() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "ada@example.com", "correct horse 1").await;
        let c = new_client(s, &t, json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT], "first_party": true})).await;
        let cid = c["client_id"].as_str().unwrap();
        let mut b = Browser::new();
        let wrong = sign_in_through(&mut b, s, &t, &authorize_url(s, &t, cid, ""), "ada@example.com", "wrong password").await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.html.contains("role=\"alert\""), "{}", wrong.html);
        let back = sign_in_through(&mut b, s, &t, &authorize_url(s, &t, cid, ""), "ada@example.com", "correct horse 1").await;
        assert_eq!(back.status, 303, "{}", back.html);
        assert!(back.location.as_deref().unwrap().starts_with(REDIRECT));
        assert_eq!(back.param("state").as_deref(), Some("xyz"));
        assert_eq!(back.param("iss"), Some(s.url(&format!("/t/{}", t.id))));
        let code = back.param("code").unwrap();

        // Signed in now: the next authorization skips the page.
        let again = b.get(&authorize_url(s, &t, cid, "")).await;
        assert_eq!(again.status, 302);
        assert!(again.param("code").is_some());
        // prompt=login asks again; prompt=none without a browser session says so.
        assert_eq!(b.get(&authorize_url(s, &t, cid, "&prompt=login")).await.status, 200);
        let none = Browser::new().get(&authorize_url(s, &t, cid, "&prompt=none")).await;
        assert_eq!(none.param("error").as_deref(), Some("login_required"));

        let bad_verifier = token(s, &t, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", cid), ("code_verifier", &"a".repeat(43))]).await;
        assert_eq!((bad_verifier.status, bad_verifier.body["error"].as_str()), (400, Some("invalid_grant")));
        let issued = token(s, &t, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", cid), ("code_verifier", VERIFIER)]).await;
        assert_eq!(issued.status, 200, "{}", issued.body);
        assert_eq!(issued.header("cache-control"), Some("no-store"));
        assert_eq!(issued.body["token_type"], "Bearer");
        let id_token = jwt_claims(issued.body["id_token"].as_str().unwrap());
        assert_eq!((id_token["aud"].as_str(), id_token["nonce"].as_str()), (Some(cid), Some("n-0S6")));
        assert_eq!(id_token["iss"], s.url(&format!("/t/{}", t.id)));
        assert_eq!(id_token["email"], "ada@example.com");
        let access = issued.body["access_token"].as_str().unwrap().to_owned();
        let refresh = issued.body["refresh_token"].as_str().unwrap().to_owned();

        let info = client().get(s.url(&format!("/t/{}/oauth2/userinfo", t.id))).bearer_auth(&access).send().await.unwrap();
        let info: Value = info.json().await.unwrap();
        assert_eq!((info["sub"].clone(), info["email"].as_str()), (id_token["sub"].clone(), Some("ada@example.com")));
        // An OAuth session is an ordinary session.
        let verified = s.call(Method::POST, "/v1/sessions/verify", Some(&t.sk), Some(json!({"token": access}))).await;
        assert_eq!(verified.body["valid"], true);

        let introspected = token_endpoint(s, &t, "introspect", &[("token", &refresh), ("client_id", cid)]).await;
        assert_eq!((introspected.body["active"].as_bool(), introspected.body["client_id"].as_str()), (Some(true), Some(cid)));
        let refreshed = token(s, &t, &[("grant_type", "refresh_token"), ("refresh_token", &refresh), ("client_id", cid)]).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);
        assert_ne!(refreshed.body["refresh_token"], json!(refresh), "rotated");

        // The code a second time: refused, and what it issued is revoked.
        let replay = token(s, &t, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", cid), ("code_verifier", VERIFIER)]).await;
        assert_eq!(replay.body["error"], "invalid_grant");
        let newest = refreshed.body["refresh_token"].as_str().unwrap();
        let after = token(s, &t, &[("grant_type", "refresh_token"), ("refresh_token", newest), ("client_id", cid)]).await;
        assert_eq!(after.body["error"], "invalid_grant", "{}", after.body);
        let inactive = token_endpoint(s, &t, "introspect", &[("token", newest), ("client_id", cid)]).await;
        assert_eq!(inactive.body, json!({"active": false}));
    }

    async fn confidential_clients_authenticate_and_tokens_stay_with_their_client() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "bob@example.com", "correct horse 2").await;
        let c = new_client(s, &t, json!({"name": "Web", "type": "confidential", "redirect_uris": [REDIRECT], "first_party": true})).await;
        let (cid, secret) = (c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
        let other = new_client(s, &t, json!({"name": "Other", "type": "confidential", "redirect_uris": [REDIRECT], "first_party": true})).await;
        let (oid, osecret) = (other["client_id"].as_str().unwrap(), other["client_secret"].as_str().unwrap());
        let mut b = Browser::new();
        let url = s.url(&format!("/t/{}/oauth2/authorize?response_type=code&client_id={cid}&redirect_uri={}&scope=openid+offline_access&state=s1", t.id, urlencode(REDIRECT)));
        let back = sign_in_through(&mut b, s, &t, &url, "bob@example.com", "correct horse 2").await;
        let code = back.param("code").unwrap();
        let basic = |id: &str, secret: &str| client().post(s.url(&format!("/t/{}/oauth2/token", t.id))).basic_auth(id, Some(secret));
        let wrong = Reply::from(basic(cid, "cs_wrong").form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).send().await.unwrap()).await;
        assert_eq!((wrong.status, wrong.body["error"].as_str()), (401, Some("invalid_client")));
        assert!(wrong.header("www-authenticate").is_some());
        let stolen = Reply::from(basic(oid, osecret).form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).send().await.unwrap()).await;
        assert_eq!(stolen.body["error"], "invalid_grant", "another client's code");
        let issued = Reply::from(basic(cid, secret).form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT)]).send().await.unwrap()).await;
        assert_eq!(issued.status, 200, "{}", issued.body);
        let refresh = issued.body["refresh_token"].as_str().unwrap();
        assert!(issued.body.get("id_token").is_some());
        // Another client can neither refresh, introspect nor revoke it.
        let foreign = Reply::from(basic(oid, osecret).form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).send().await.unwrap()).await;
        assert_eq!(foreign.body["error"], "invalid_grant");
        let peek = token_endpoint_basic(s, &t, "introspect", (oid, osecret), &[("token", refresh)]).await;
        assert_eq!(peek.body, json!({"active": false}));
        assert_eq!(token_endpoint_basic(s, &t, "revoke", (oid, osecret), &[("token", refresh)]).await.status, 200);
        assert_eq!(token_endpoint_basic(s, &t, "introspect", (cid, secret), &[("token", refresh)]).await.body["active"], true);
        // Its own client revokes it: the session ends.
        assert_eq!(token_endpoint_basic(s, &t, "revoke", (cid, secret), &[("token", refresh)]).await.status, 200);
        let dead = Reply::from(basic(cid, secret).form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]).send().await.unwrap()).await;
        assert_eq!(dead.body["error"], "invalid_grant");

        // client_credentials: a token for the client itself, no user behind it.
        let machine = Reply::from(basic(cid, secret).form(&[("grant_type", "client_credentials"), ("scope", "email")]).send().await.unwrap()).await;
        assert_eq!(machine.status, 200, "{}", machine.body);
        let machine_token = machine.body["access_token"].as_str().unwrap();
        assert_eq!(jwt_claims(machine_token)["sub"], cid);
        s.call(Method::GET, "/v1/auth/me", Some(machine_token), None).await.assert_error(401, "invalid_token");
        let seen = token_endpoint_basic(s, &t, "introspect", (cid, secret), &[("token", machine_token)]).await;
        assert_eq!((seen.body["active"].as_bool(), seen.body["client_id"].as_str()), (Some(true), Some(cid)));
        let public = new_client(s, &t, json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT]})).await;
        let refused = token(s, &t, &[("grant_type", "client_credentials"), ("client_id", public["client_id"].as_str().unwrap())]).await;
        assert_eq!(refused.body["error"], "unauthorized_client");
        let unsupported = token(s, &t, &[("grant_type", "password"), ("client_id", cid), ("client_secret", secret)]).await;
        assert_eq!(unsupported.body["error"], "unsupported_grant_type");
        // Tokens of another tenant mean nothing here.
        let t2 = s.new_tenant().await;
        let c2 = new_client(s, &t2, json!({"name": "Web", "type": "confidential", "redirect_uris": [REDIRECT]})).await;
        let cross = token_endpoint_basic(s, &t2, "introspect", (c2["client_id"].as_str().unwrap(), c2["client_secret"].as_str().unwrap()), &[("token", machine_token)]).await;
        assert_eq!(cross.body, json!({"active": false}));
        let wrong_tenant = Reply::from(client().post(s.url(&format!("/t/{}/oauth2/token", t2.id))).basic_auth(cid, Some(secret)).form(&[("grant_type", "client_credentials")]).send().await.unwrap()).await;
        assert_eq!(wrong_tenant.body["error"], "invalid_client");
    }

    async fn bad_authorization_requests_are_refused_as_the_rfcs_say() {
        let s = shared();
        let t = s.new_tenant().await;
        let c = new_client(s, &t, json!({"name": "SPA", "type": "public", "redirect_uris": ["https://app.example/cb"], "post_logout_redirect_uris": ["https://app.example/bye"]})).await;
        let cid = c["client_id"].as_str().unwrap();
        let mut b = Browser::new();
        let base = |redirect: &str, extra: &str| s.url(&format!(
            "/t/{}/oauth2/authorize?response_type=code&client_id={cid}&redirect_uri={}&scope=openid&state=st&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
            t.id, urlencode(redirect)));
        // Never redirected anywhere but a registered URI, compared exactly.
        for redirect in [
            "https://app.example/cb/../x", "https://app.example/CB", "https://app.example@evil.example/cb",
            "https://app.example/cb?x=1", "https://app.example/cb#f", "https://evil.example/cb", "https://app.example/cb/",
        ] {
            let refused = b.get(&base(redirect, "")).await;
            assert_eq!((refused.status, refused.location.clone()), (400, None), "{redirect}");
        }
        assert_eq!(b.get(&s.url(&format!("/t/{}/oauth2/authorize?response_type=code&client_id=cli_01ARZ3NDEKTSV4RRFFQ69G5FAV&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", t.id))).await.status, 400);
        // Errors after the redirect URI checks out go back to it, with the state.
        let cases = [
            (s.url(&format!("/t/{}/oauth2/authorize?response_type=code&client_id={cid}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&state=st", t.id)), "invalid_request"),
            (base("https://app.example/cb", "").replace("S256", "plain"), "invalid_request"),
            (base("https://app.example/cb", "").replace("response_type=code", "response_type=token"), "unsupported_response_type"),
            (base("https://app.example/cb", "").replace("scope=openid", "scope=openid+admin"), "invalid_scope"),
            (base("https://app.example/cb", "&prompt=bogus"), "invalid_request"),
        ];
        for (url, error) in cases {
            let back = b.get(&url).await;
            assert_eq!(back.status, 302, "{url}: {}", back.html);
            assert!(back.location.as_deref().unwrap().starts_with("https://app.example/cb?"));
            assert_eq!((back.param("error").as_deref(), back.param("state").as_deref()), (Some(error), Some("st")), "{url}");
        }
        // Logout: only to a registered post_logout_redirect_uri.
        let open = b.get(&s.url(&format!("/t/{}/oauth2/end_session?client_id={cid}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F", t.id))).await;
        assert_eq!((open.status, open.location.clone()), (400, None));
        let fine = b.get(&s.url(&format!("/t/{}/oauth2/end_session?client_id={cid}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fbye&state=z", t.id))).await;
        assert_eq!(fine.location.as_deref(), Some("https://app.example/bye?state=z"));
        // The token endpoint refuses what isn't a form.
        let json_body = Reply::from(client().post(s.url(&format!("/t/{}/oauth2/token", t.id))).json(&json!({"grant_type": "client_credentials"})).send().await.unwrap()).await;
        assert_eq!((json_body.status, json_body.body["error"].as_str()), (400, Some("invalid_request")));
    }

    async fn third_party_clients_ask_consent_once_and_logout_ends_the_browser_session() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "cy@example.com", "correct horse 3").await;
        let c = new_client(s, &t, json!({"name": "Third Party App", "type": "public", "redirect_uris": [REDIRECT], "post_logout_redirect_uris": ["http://127.0.0.1:9/bye"]})).await;
        let cid = c["client_id"].as_str().unwrap();
        let mut b = Browser::new();
        let consent = sign_in_through(&mut b, s, &t, &authorize_url(s, &t, cid, ""), "cy@example.com", "correct horse 3").await;
        assert_eq!(consent.status, 200, "{}", consent.html);
        assert!(consent.html.contains("Third Party App") && consent.html.contains("offline_access"));
        let denied = b.submit(&s.url(&format!("/t/{}/oauth2/authorize", t.id)), &consent, "consent", &[("decision", "deny")]).await;
        assert_eq!(denied.param("error").as_deref(), Some("access_denied"));
        let asked = b.get(&authorize_url(s, &t, cid, "")).await;
        assert_eq!(asked.status, 200, "a denial is not remembered");
        let allowed = b.submit(&s.url(&format!("/t/{}/oauth2/authorize", t.id)), &asked, "consent", &[("decision", "allow")]).await;
        let code = allowed.param("code").expect("a code after consent");
        let remembered = b.get(&authorize_url(s, &t, cid, "")).await;
        assert_eq!(remembered.status, 302, "consent is remembered");
        assert_eq!(b.get(&authorize_url(s, &t, cid, "&prompt=consent")).await.status, 200);
        // A form without its CSRF token is refused.
        let forged = b.post(&s.url(&format!("/t/{}/oauth2/authorize", t.id)), &[("step".into(), "consent".into()), ("decision".into(), "allow".into()), ("client_id".into(), cid.into())]).await;
        assert_eq!(forged.status, 403);

        let issued = token(s, &t, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", cid), ("code_verifier", VERIFIER)]).await;
        let id_token = issued.body["id_token"].as_str().unwrap();
        let access = issued.body["access_token"].as_str().unwrap();
        let out = b.get(&s.url(&format!("/t/{}/oauth2/end_session?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fbye", t.id))).await;
        assert_eq!(out.location.as_deref(), Some("http://127.0.0.1:9/bye"));
        s.call(Method::GET, "/v1/auth/me", Some(access), None).await.assert_error(401, "session_revoked");
        assert_eq!(b.get(&authorize_url(s, &t, cid, "")).await.status, 200, "signed out: the sign-in page again");
    }

    async fn the_links_in_emails_work_on_the_hosted_pages() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "dee@example.com", "correct horse 4").await;
        s.call(Method::POST, "/v1/auth/password/forgot", Some(&t.pk), Some(json!({"email": "dee@example.com"}))).await;
        let link = s.last_mail("dee@example.com").await["link"].as_str().unwrap().to_owned();
        assert!(link.starts_with(&s.url(&format!("/t/{}/password-reset?token=", t.id))), "{link}");
        let mut b = Browser::new();
        let page = b.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(page.html.contains("autocomplete=\"new-password\""));
        let mut fields = page.form(None);
        fields.push(("new_password".into(), "short".into()));
        let weak = b.post(&link, &fields).await;
        assert_eq!(weak.status, 422);
        let mut fields = weak.form(None);
        fields.push(("new_password".into(), "a brand new password".into()));
        let done = b.post(&s.url(&format!("/t/{}/password-reset", t.id)), &fields).await;
        assert_eq!(done.status, 200, "{}", done.html);
        assert_eq!(s.sign_in(&t, "dee@example.com", "a brand new password").await.status, 200);
        assert_eq!(b.post(&s.url(&format!("/t/{}/password-reset", t.id)), &fields).await.status, 410, "used once");

        let sent = s.mail_count("dee@example.com");
        s.call(Method::POST, "/v1/auth/magic-link", Some(&t.pk), Some(json!({"email": "dee@example.com"}))).await;
        let link = s.next_mail("dee@example.com", sent).await["link"].as_str().unwrap().to_owned();
        assert!(link.contains("/magic-link?token="), "{link}");
        let page = b.get(&link).await;
        assert_eq!(page.status, 200);
        let landed = b.post(&s.url(&format!("/t/{}/magic-link", t.id)), &page.form(None)).await;
        assert_eq!(landed.status, 200, "{}", landed.html);
        assert!(b.cookies.contains_key("hj_session"), "the browser is signed in");

        // The verification link (a new user: the magic link above proved dee's address).
        let signed = s.sign_up(&t, "gus@example.com", "correct horse 8").await;
        let access = signed["session"]["access_token"].as_str().unwrap().to_owned();
        let sent = s.mail_count("gus@example.com");
        assert_eq!(s.call(Method::POST, "/v1/auth/email/verify/send", Some(&access), None).await.status, 202);
        let link = s.next_mail("gus@example.com", sent).await["link"].as_str().unwrap().to_owned();
        assert!(link.contains("/verify-email?token="), "{link}");
        let page = b.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.html);
        assert!(!s.stored_user(&t, "gus@example.com").await.email_verified, "opening the link alone verifies nothing");
        let verified = b.post(&s.url(&format!("/t/{}/verify-email", t.id)), &page.form(None)).await;
        assert_eq!(verified.status, 200, "{}", verified.html);
        assert!(s.stored_user(&t, "gus@example.com").await.email_verified);
    }

    async fn a_magic_link_asked_for_on_the_sign_in_page_continues_the_authorization() {
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "fay@example.com", "correct horse 7").await;
        let c = new_client(s, &t, json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT], "first_party": true})).await;
        let cid = c["client_id"].as_str().unwrap();
        let mut b = Browser::new();
        let page = b.get(&authorize_url(s, &t, cid, "")).await;
        let sent = s.mail_count("fay@example.com");
        let asked = b.submit(&s.url(&format!("/t/{}/oauth2/authorize", t.id)), &page, "magic_link", &[("email", "fay@example.com")]).await;
        assert_eq!(asked.status, 200, "{}", asked.html);
        assert!(asked.html.contains("Check your email"));
        let link = s.next_mail("fay@example.com", sent).await["link"].as_str().unwrap().to_owned();
        let landing = b.get(&link).await;
        let back = b.post(&s.url(&format!("/t/{}/magic-link", t.id)), &landing.form(None)).await;
        assert_eq!(back.status, 303, "{}", back.html);
        let next = b.get(&s.url(back.location.as_deref().unwrap())).await;
        assert_eq!(next.status, 302, "{}", next.html);
        assert_eq!(next.param("state").as_deref(), Some("xyz"));
        let code = next.param("code").expect("a code");
        let issued = token(s, &t, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", cid), ("code_verifier", VERIFIER)]).await;
        assert_eq!(jwt_claims(issued.body["access_token"].as_str().unwrap())["amr"], json!(["email"]));
        // max_age=0 asks for a fresh sign-in even though the browser is signed in.
        assert_eq!(b.get(&authorize_url(s, &t, cid, "&max_age=0")).await.status, 200);
        assert_eq!(b.get(&authorize_url(s, &t, cid, "&max_age=3600")).await.status, 302);
    }

    async fn discovery_lists_exactly_the_served_endpoints() {
        let s = shared();
        let t = s.new_tenant().await;
        let doc = s.call(Method::GET, &format!("/t/{}/.well-known/openid-configuration", t.id), None, None).await.body;
        assert_eq!(doc["issuer"], s.url(&format!("/t/{}", t.id)));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        for key in ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "revocation_endpoint", "introspection_endpoint", "end_session_endpoint", "jwks_uri"] {
            let url = doc[key].as_str().unwrap();
            let res = client().get(url).send().await.unwrap();
            assert_ne!(res.status().as_u16(), 404, "{key} {url}");
        }
    }
}

async fn token_endpoint(s: &Server, t: &TestTenant, name: &str, form: &[(&str, &str)]) -> Reply {
    let res = client()
        .post(s.url(&format!("/t/{}/oauth2/{name}", t.id)))
        .form(form)
        .send()
        .await
        .unwrap();
    Reply::from(res).await
}

async fn token_endpoint_basic(
    s: &Server,
    t: &TestTenant,
    name: &str,
    auth: (&str, &str),
    form: &[(&str, &str)],
) -> Reply {
    let res = client()
        .post(s.url(&format!("/t/{}/oauth2/{name}", t.id)))
        .basic_auth(auth.0, Some(auth.1))
        .form(form)
        .send()
        .await
        .unwrap();
    Reply::from(res).await
}

matrix! {
    async fn authlib_completes_the_flow_for_public_and_confidential_clients() {
        let Some(mut authlib) = PythonClient::spawn("authlib_flow.py", "authlib, requests", "authlib requests", &[]) else {
            return;
        };
        let s = shared();
        let t = s.new_tenant().await;
        s.sign_up(&t, "eve@example.com", "correct horse 5").await;
        let public = new_client(s, &t, json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT], "first_party": true})).await;
        let confidential = new_client(s, &t, json!({"name": "Web", "type": "confidential", "redirect_uris": [REDIRECT], "first_party": true})).await;
        for c in [&public, &confidential] {
            let spec = json!({
                "base": s.base, "tenant": t.id, "client_id": c["client_id"], "client_secret": c["client_secret"],
                "email": "eve@example.com", "password": "correct horse 5", "redirect_uri": REDIRECT,
            });
            let seen: Value = serde_json::from_str(&authlib.ask(&spec.to_string()).await).unwrap();
            assert!(seen.get("error").is_none(), "{seen:#}");
            assert_eq!(seen["state_checked"], true);
            assert_eq!(seen["id_token_email"], "eve@example.com");
            assert_eq!(seen["userinfo"]["sub"], seen["id_token_sub"]);
            assert_eq!(seen["userinfo"]["email"], "eve@example.com");
            assert_eq!(seen["refresh_rotated"], true);
            assert_eq!((seen["introspected_active"].as_bool(), &seen["introspected_client"]), (Some(true), &c["client_id"]));
            assert_eq!(seen["revoke_status"], 200);
            assert_eq!(seen["active_after_revoke"], false);
        }
    }
}

#[tokio::test]
async fn the_hosted_pages_show_the_tenants_name_and_logo() {
    let s = shared();
    let logo = "https://cdn.example/acme-logo.png";
    let t = s
        .new_tenant_with(json!({"name": format!("{} Acme", ulid::Ulid::new()), "auth_config": {"logo_url": logo}}))
        .await;
    let c = new_client(
        s,
        &t,
        json!({"name": "SPA", "type": "public", "redirect_uris": [REDIRECT]}),
    )
    .await;
    let page = Browser::new()
        .get(&authorize_url(s, &t, c["client_id"].as_str().unwrap(), ""))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Acme</p>"), "{}", page.html);
    assert!(
        page.html
            .contains("class=\"logo\" src=\"https:&#x2f;&#x2f;cdn.example&#x2f;acme-logo.png\""),
        "{}",
        page.html
    );
    let bad = s
        .admin(
            Method::PATCH,
            &format!("/cp/v1/tenants/{}", t.id),
            Some(json!({"auth_config": {"logo_url": "javascript:alert(1)"}})),
        )
        .await;
    bad.assert_error(400, "invalid_request");
    assert_eq!(bad.body["error"]["field"], "auth_config.logo_url");
}
