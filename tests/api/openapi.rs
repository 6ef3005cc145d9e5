//! The OpenAPI document (`/openapi.json`): it validates with an independent validator, it
//! lists exactly the routes the contract names, every operation in it is routed, the
//! generated reference in `docs/` is current, and real answers match the documented schemas.

use std::collections::BTreeSet;
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// Every route of API.md that this version serves, as `(method, path)`. A route added to the
/// router must be added here and to the contract; one dropped fails here.
const CONTRACT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/t/{tenant_id}/.well-known/jwks.json"),
    ("GET", "/t/{tenant_id}/.well-known/openid-configuration"),
    ("POST", "/cp/v1/admin/sign-in"),
    ("GET", "/cp/v1/admins"),
    ("POST", "/cp/v1/admins"),
    ("DELETE", "/cp/v1/admins/{id}"),
    ("GET", "/cp/v1/tenants"),
    ("POST", "/cp/v1/tenants"),
    ("GET", "/cp/v1/tenants/{id}"),
    ("PATCH", "/cp/v1/tenants/{id}"),
    ("DELETE", "/cp/v1/tenants/{id}"),
    ("POST", "/cp/v1/tenants/{id}/signing-keys/rotate"),
    ("GET", "/cp/v1/tenants/{id}/api-keys"),
    ("POST", "/cp/v1/tenants/{id}/api-keys"),
    ("DELETE", "/cp/v1/tenants/{id}/api-keys/{key_id}"),
    ("GET", "/cp/v1/cluster"),
    ("GET", "/cp/v1/nodes/stats"),
    ("GET", "/cp/v1/tenants/{id}/stats"),
    ("GET", "/cp/v1/tenants/{id}/signing-keys"),
    ("GET", "/v1/stats"),
    ("GET", "/cp/v1/tenants/{id}/export"),
    ("POST", "/cp/v1/tenants/{id}/import"),
    ("POST", "/v1/auth/sign-up"),
    ("POST", "/v1/auth/sign-in"),
    ("POST", "/v1/auth/token/refresh"),
    ("GET", "/v1/auth/me"),
    ("PATCH", "/v1/auth/me"),
    ("POST", "/v1/auth/sign-out"),
    ("POST", "/v1/auth/password/change"),
    ("GET", "/v1/me/sessions"),
    ("POST", "/v1/me/mfa/totp"),
    ("POST", "/v1/me/mfa/totp/confirm"),
    ("GET", "/v1/me/mfa/factors"),
    ("DELETE", "/v1/me/mfa/factors/{id}"),
    ("POST", "/v1/me/mfa/backup-codes"),
    ("POST", "/v1/auth/mfa/verify"),
    ("POST", "/v1/auth/password/forgot"),
    ("POST", "/v1/auth/password/reset"),
    ("POST", "/v1/auth/email/verify/send"),
    ("POST", "/v1/auth/email/verify"),
    ("POST", "/v1/auth/magic-link"),
    ("POST", "/v1/auth/magic-link/verify"),
    ("GET", "/v1/users/{id}/mfa/factors"),
    ("DELETE", "/v1/users/{id}/mfa/factors/{fid}"),
    ("DELETE", "/v1/me/sessions/{id}"),
    ("GET", "/v1/users"),
    ("POST", "/v1/users"),
    ("GET", "/v1/users/{id}"),
    ("PATCH", "/v1/users/{id}"),
    ("DELETE", "/v1/users/{id}"),
    ("POST", "/v1/users/{id}/disable"),
    ("POST", "/v1/users/{id}/enable"),
    ("DELETE", "/v1/users/{id}/sessions"),
    ("GET", "/v1/sessions"),
    ("GET", "/v1/sessions/{id}"),
    ("DELETE", "/v1/sessions/{id}"),
    ("POST", "/v1/sessions/verify"),
    ("GET", "/v1/webhooks"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{id}"),
    ("PATCH", "/v1/webhooks/{id}"),
    ("DELETE", "/v1/webhooks/{id}"),
    ("POST", "/v1/webhooks/{id}/rotate-secret"),
    ("POST", "/v1/webhooks/{id}/test"),
    ("GET", "/v1/webhooks/{id}/deliveries"),
    ("POST", "/v1/webhooks/{id}/deliveries/{del}/retry"),
    ("GET", "/v1/organizations"),
    ("POST", "/v1/organizations"),
    ("GET", "/v1/organizations/{id}"),
    ("PATCH", "/v1/organizations/{id}"),
    ("DELETE", "/v1/organizations/{id}"),
    ("GET", "/v1/organizations/{id}/members"),
    ("POST", "/v1/organizations/{id}/members"),
    ("PATCH", "/v1/organizations/{id}/members/{user_id}"),
    ("DELETE", "/v1/organizations/{id}/members/{user_id}"),
    ("GET", "/v1/organizations/{id}/invitations"),
    ("POST", "/v1/organizations/{id}/invitations"),
    ("DELETE", "/v1/organizations/{id}/invitations/{inv}"),
    ("GET", "/v1/organizations/{id}/roles"),
    ("POST", "/v1/organizations/{id}/roles"),
    ("PATCH", "/v1/organizations/{id}/roles/{key}"),
    ("DELETE", "/v1/organizations/{id}/roles/{key}"),
    ("POST", "/v1/invitations/{token}/accept"),
    ("GET", "/v1/me/organizations"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/{id}"),
    ("GET", "/v1/jwks/{tenant_id}"),
    ("GET", "/v1/clients"),
    ("POST", "/v1/clients"),
    ("GET", "/v1/clients/{id}"),
    ("PATCH", "/v1/clients/{id}"),
    ("DELETE", "/v1/clients/{id}"),
    ("POST", "/v1/clients/{id}/rotate-secret"),
    ("GET", "/t/{tenant_id}/oauth2/authorize"),
    ("POST", "/t/{tenant_id}/oauth2/authorize"),
    ("POST", "/t/{tenant_id}/oauth2/token"),
    ("GET", "/t/{tenant_id}/oauth2/userinfo"),
    ("POST", "/t/{tenant_id}/oauth2/userinfo"),
    ("POST", "/t/{tenant_id}/oauth2/revoke"),
    ("POST", "/t/{tenant_id}/oauth2/introspect"),
    ("GET", "/t/{tenant_id}/oauth2/end_session"),
    ("GET", "/t/{tenant_id}/oauth2/social/{provider}"),
    ("GET", "/t/{tenant_id}/oauth2/social/{provider}/return"),
    ("GET", "/t/{tenant_id}/password-reset"),
    ("POST", "/t/{tenant_id}/password-reset"),
    ("GET", "/t/{tenant_id}/verify-email"),
    ("POST", "/t/{tenant_id}/verify-email"),
    ("GET", "/t/{tenant_id}/magic-link"),
    ("POST", "/t/{tenant_id}/magic-link"),
    ("GET", "/assets/hosted.css"),
    ("GET", "/console"),
    ("GET", "/console/"),
    ("GET", "/console/assets/{file}"),
    ("GET", "/cp/v1/tenants/{id}/oauth-providers"),
    ("PUT", "/cp/v1/tenants/{id}/oauth-providers/{provider}"),
    ("DELETE", "/cp/v1/tenants/{id}/oauth-providers/{provider}"),
    ("GET", "/v1/auth/oauth/{provider}/authorize"),
    ("POST", "/v1/auth/oauth/{provider}/callback"),
    ("GET", "/v1/oauth/callback/{provider}"),
    ("GET", "/v1/me/identities"),
    ("DELETE", "/v1/me/identities/{id}"),
];

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

async fn document(s: &Server) -> Value {
    let res = client().get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                out.push((method.to_uppercase(), path.clone(), item[method].clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_an_independent_validator_accepts_it() {
    let s = shared();
    let doc = document(s).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], hellojohn::VERSION);
    // What the server serves is what the build documents (`hellojohn openapi`).
    assert_eq!(doc, serde_json::to_value(hellojohn::http::openapi_document()).unwrap());
    let installed = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var("HELLOJOHN_TEST_REQUIRE_DB").is_err(),
            "openapi-spec-validator is required (.ci/run installs it)"
        );
        eprintln!("SKIPPED: openapi-spec-validator is not installed (pip install openapi-spec-validator)");
        return;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_document_lists_exactly_the_contract_routes_each_with_an_id_credentials_and_errors() {
    let doc = document(shared()).await;
    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let contract: BTreeSet<(String, String)> = CONTRACT_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = contract.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&contract).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:?}; not in the contract: {extra:?}"
    );
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap().to_owned();
        assert!(ids.insert(id.clone()), "operationId {id} is used twice");
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{method} {path} has no summary"
        );
        let errors = match hellojohn::http::is_provider_path(&path) {
            true => "#/components/responses/OAuthError",
            false => "#/components/responses/Error",
        };
        assert_eq!(op["responses"]["default"]["$ref"], errors, "{method} {path}");
        assert!(
            // A success, or for the redirecting endpoints of sign-in flows, the redirect.
            op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .any(|k| k.starts_with('2') || k.starts_with('3')),
            "{method} {path}"
        );
        assert!(op["security"].is_array(), "{method} {path} says nothing of credentials");
        for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{method} {path}: path parameter {name} undeclared");
        }
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for name in ["publishable_key", "secret_key", "access_token", "admin_token"] {
        assert!(schemes.contains_key(name), "{name}");
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_unknown_paths_say_so() {
    let s = shared();
    let doc = document(s).await;
    for (method, path, _) in operations(&doc) {
        let concrete = path
            .split('/')
            .map(|seg| match seg.starts_with('{') {
                true => "tnt_01JAAAAAAAAAAAAAAAAAAAAAAA",
                false => seg,
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method != Method::GET).then(|| json!({}));
        let reply = s.call(method.clone(), &concrete, None, body).await;
        assert_ne!(reply.status, 405, "{method} {path} is documented but not routed");
        assert_ne!(
            reply.body["error"]["message"], "No such endpoint.",
            "{method} {path} is documented but not routed"
        );
        if reply.status >= 400 && hellojohn::http::is_provider_path(&path) {
            // The provider's pages answer HTML; its endpoints, RFC 6749 errors.
            let html = reply.body.as_str().is_some_and(|b| b.starts_with("<!doctype html>"));
            let oauth = json!({"$ref": "#/components/schemas/OAuthErrorBody"});
            assert!(
                html || conforms(&doc, &oauth, &reply.body, "error").is_ok(),
                "{method} {path}: {}",
                reply.body
            );
        } else if reply.status >= 400 {
            let envelope = json!({"$ref": "#/components/schemas/ErrorEnvelope"});
            if let Err(e) = conforms(&doc, &envelope, &reply.body, "error") {
                panic!("{method} {path}: {e}\n{}", reply.body);
            }
        }
    }
    let unknown = s.call(Method::GET, "/v1/no-such-thing", None, None).await;
    unknown.assert_error(404, "not_found");
    assert_eq!(unknown.body["error"]["message"], "No such endpoint.");
}

#[tokio::test]
async fn the_reference_in_docs_is_generated_from_the_document() {
    let doc = serde_json::to_value(hellojohn::http::openapi_document()).unwrap();
    let rendered = hellojohn::http::reference_markdown(&doc);
    let path = format!("{}/docs/api-reference.md", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("HELLOJOHN_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{}\n", rendered.trim_end())).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        rendered.trim_end(),
        "docs/api-reference.md is stale: run `hellojohn openapi --markdown > docs/api-reference.md` \
         (or this test with HELLOJOHN_UPDATE_DOCS=1)"
    );
}

/// The console's typed client is generated from `console/openapi.json` (`npm run gen:api`),
/// so that copy must be the document this build serves (`.ci/run` then checks that the
/// generated types and the built assets match their sources).
#[tokio::test]
async fn the_consoles_copy_of_the_document_is_current() {
    let doc = hellojohn::http::openapi_document().to_pretty_json().unwrap();
    let path = format!("{}/console/openapi.json", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("HELLOJOHN_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, format!("{}\n", doc.trim_end())).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        doc.trim_end(),
        "console/openapi.json is stale: run `hellojohn openapi > console/openapi.json && (cd console && npm run gen:api && npm run build)` \
         (or this test with HELLOJOHN_UPDATE_DOCS=1, then the npm steps)"
    );
}

/// Checks `value` against `schema` (a subset of JSON Schema: `$ref`, `oneOf`, `type`,
/// `properties`, `required`, `items`). An answer's field the schema doesn't name is an error:
/// the document must describe every field a client sees.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        let target = &doc["components"]["schemas"][name];
        assert!(!target.is_null(), "dangling {reference}");
        return conforms(doc, target, value, &format!("{at}<{name}>"));
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let errors: Vec<String> = choices
            .iter()
            .filter_map(|c| conforms(doc, c, value, at).err())
            .collect();
        return match errors.len() < choices.len() {
            true => Ok(()),
            false => Err(errors.join("; ")),
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let integer_as_number = actual == "integer" && types.contains(&"number");
    if !(types.contains(&actual) || integer_as_number) {
        return Err(format!("{at}: {actual}, documented as {types:?}"));
    }
    match value {
        Value::Object(fields) => {
            if let Some(properties) = schema["properties"].as_object() {
                for (name, field) in fields {
                    let property = properties
                        .get(name)
                        .ok_or_else(|| format!("{at}.{name}: not in the documented schema"))?;
                    conforms(doc, property, field, &format!("{at}.{name}"))?;
                }
            }
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                if !fields.contains_key(name) {
                    return Err(format!("{at}.{name}: documented as required, absent"));
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| conforms(doc, &schema["items"], item, &format!("{at}[{i}]"))),
        _ => Ok(()),
    }
}

/// Sends a request and checks a 2xx JSON answer against the schema documented for its
/// operation and status.
struct Checked<'a> {
    s: &'a Server,
    doc: Value,
    checked: usize,
}

impl Checked<'_> {
    async fn call(
        &mut self,
        method: Method,
        template: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let reply = self.s.call(method.clone(), path, bearer, body).await;
        assert!(
            (200..300).contains(&reply.status),
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let response = &op["responses"][reply.status.to_string()];
        assert!(
            response.is_object(),
            "{method} {template} answered {}, undocumented",
            reply.status
        );
        match response["content"]["application/json"]["schema"].as_object() {
            Some(_) => {
                let schema = &response["content"]["application/json"]["schema"];
                if let Err(e) = conforms(&self.doc, schema, &reply.body, "body") {
                    panic!("{method} {template}: {e}\n{}", reply.body);
                }
                self.checked += 1;
            }
            None => assert!(
                reply.body.is_null(),
                "{method} {template} answered a body its document doesn't show"
            ),
        }
        reply
    }
}

matrix! {
    async fn real_answers_match_the_documented_schemas() {
        let s = shared();
        let doc = document(s).await;
        let mut c = Checked { s, doc, checked: 0 };
        let created = c.call(Method::POST, "/cp/v1/tenants", "/cp/v1/tenants", Some(&s.admin_token),
            Some(json!({"name": format!("Schema {}", ulid::Ulid::new())}))).await;
        let t = TestTenant {
            id: created.body["tenant"]["id"].as_str().unwrap().to_owned(),
            pk: created.body["publishable_key"].as_str().unwrap().to_owned(),
            sk: created.body["secret_key"].as_str().unwrap().to_owned(),
        };
        let (pk, sk, admin) = (Some(t.pk.as_str()), Some(t.sk.as_str()), Some(s.admin_token.as_str()));
        let tid = t.id.clone();
        c.call(Method::GET, "/cp/v1/tenants/{id}", &format!("/cp/v1/tenants/{tid}"), admin, None).await;
        c.call(Method::GET, "/cp/v1/tenants", "/cp/v1/tenants?limit=2", admin, None).await;
        c.call(Method::PATCH, "/cp/v1/tenants/{id}", &format!("/cp/v1/tenants/{tid}"), admin, Some(json!({"name": "Renamed"}))).await;
        c.call(Method::GET, "/cp/v1/admins", "/cp/v1/admins", admin, None).await;
        c.call(Method::GET, "/cp/v1/cluster", "/cp/v1/cluster", admin, None).await;
        c.call(Method::GET, "/cp/v1/nodes/stats", "/cp/v1/nodes/stats", admin, None).await;
        c.call(Method::GET, "/cp/v1/tenants/{id}/stats", &format!("/cp/v1/tenants/{tid}/stats"), admin, None).await;
        c.call(Method::GET, "/cp/v1/tenants/{id}/signing-keys", &format!("/cp/v1/tenants/{tid}/signing-keys"), admin, None).await;
        c.call(Method::GET, "/v1/stats", "/v1/stats", sk, None).await;
        c.call(Method::GET, "/cp/v1/tenants/{id}/api-keys", &format!("/cp/v1/tenants/{tid}/api-keys"), admin, None).await;
        c.call(Method::POST, "/cp/v1/tenants/{id}/signing-keys/rotate", &format!("/cp/v1/tenants/{tid}/signing-keys/rotate"), admin, None).await;
        c.call(Method::GET, "/t/{tenant_id}/.well-known/jwks.json", &format!("/t/{tid}/.well-known/jwks.json"), None, None).await;
        c.call(Method::GET, "/t/{tenant_id}/.well-known/openid-configuration", &format!("/t/{tid}/.well-known/openid-configuration"), None, None).await;
        c.call(Method::GET, "/health", "/health", None, None).await;
        c.call(Method::GET, "/readyz", "/readyz", None, None).await;

        let signed_up = c.call(Method::POST, "/v1/auth/sign-up", "/v1/auth/sign-up", pk,
            Some(json!({"email": "schema@example.com", "password": "long enough password", "name": "Schema"}))).await;
        let user_id = signed_up.body["user"]["id"].as_str().unwrap().to_owned();
        let signed_in = c.call(Method::POST, "/v1/auth/sign-in", "/v1/auth/sign-in", pk,
            Some(json!({"email": "schema@example.com", "password": "long enough password"}))).await;
        let refresh_token = signed_in.body["session"]["refresh_token"].as_str().unwrap().to_owned();
        let refreshed = c.call(Method::POST, "/v1/auth/token/refresh", "/v1/auth/token/refresh", pk,
            Some(json!({"refresh_token": refresh_token}))).await;
        let access = refreshed.body["session"]["access_token"].as_str().unwrap().to_owned();
        let session_id = refreshed.body["session"]["id"].as_str().unwrap().to_owned();
        let at = Some(access.as_str());
        c.call(Method::GET, "/v1/auth/me", "/v1/auth/me", at, None).await;
        c.call(Method::PATCH, "/v1/auth/me", "/v1/auth/me", at, Some(json!({"name": "Renamed"}))).await;
        c.call(Method::GET, "/v1/me/sessions", "/v1/me/sessions", at, None).await;
        let enrollment = c.call(Method::POST, "/v1/me/mfa/totp", "/v1/me/mfa/totp", at, None).await;
        assert!(enrollment.body["secret"].is_string());
        c.call(Method::GET, "/v1/me/mfa/factors", "/v1/me/mfa/factors", at, None).await;
        c.call(Method::POST, "/v1/sessions/verify", "/v1/sessions/verify", sk, Some(json!({"token": access}))).await;
        c.call(Method::POST, "/v1/sessions/verify", "/v1/sessions/verify", sk, Some(json!({"token": "not a token"}))).await;

        c.call(Method::GET, "/v1/users", "/v1/users?limit=5", sk, None).await;
        let created_user = c.call(Method::POST, "/v1/users", "/v1/users", sk,
            Some(json!({"email": "made@example.com", "password": "long enough password", "private_metadata": {"plan": "pro"}}))).await;
        let other = created_user.body["id"].as_str().unwrap().to_owned();
        c.call(Method::GET, "/v1/users/{id}", &format!("/v1/users/{user_id}"), sk, None).await;
        c.call(Method::PATCH, "/v1/users/{id}", &format!("/v1/users/{other}"), sk, Some(json!({"role": "admin"}))).await;
        c.call(Method::POST, "/v1/users/{id}/disable", &format!("/v1/users/{other}/disable"), sk, None).await;
        c.call(Method::POST, "/v1/users/{id}/enable", &format!("/v1/users/{other}/enable"), sk, None).await;
        c.call(Method::GET, "/v1/users/{id}/mfa/factors", &format!("/v1/users/{user_id}/mfa/factors"), sk, None).await;
        c.call(Method::GET, "/v1/sessions", "/v1/sessions", sk, None).await;
        c.call(Method::GET, "/v1/sessions/{id}", &format!("/v1/sessions/{session_id}"), sk, None).await;

        let org = c.call(Method::POST, "/v1/organizations", "/v1/organizations", sk,
            Some(json!({"name": "Schema Org", "created_by": user_id}))).await;
        let org_id = org.body["id"].as_str().unwrap().to_owned();
        c.call(Method::GET, "/v1/organizations", "/v1/organizations", sk, None).await;
        c.call(Method::GET, "/v1/organizations/{id}", &format!("/v1/organizations/{org_id}"), sk, None).await;
        c.call(Method::PATCH, "/v1/organizations/{id}", &format!("/v1/organizations/{org_id}"), sk, Some(json!({"name": "Renamed Org"}))).await;
        c.call(Method::POST, "/v1/organizations/{id}/members", &format!("/v1/organizations/{org_id}/members"), sk,
            Some(json!({"user_id": other, "role": "member"}))).await;
        c.call(Method::GET, "/v1/organizations/{id}/members", &format!("/v1/organizations/{org_id}/members"), sk, None).await;
        c.call(Method::PATCH, "/v1/organizations/{id}/members/{user_id}", &format!("/v1/organizations/{org_id}/members/{other}"), sk,
            Some(json!({"role": "admin"}))).await;
        c.call(Method::POST, "/v1/organizations/{id}/invitations", &format!("/v1/organizations/{org_id}/invitations"), sk,
            Some(json!({"email": "invited@example.com"}))).await;
        c.call(Method::GET, "/v1/organizations/{id}/invitations", &format!("/v1/organizations/{org_id}/invitations"), sk, None).await;
        c.call(Method::POST, "/v1/organizations/{id}/roles", &format!("/v1/organizations/{org_id}/roles"), sk,
            Some(json!({"name": "Billing", "key": "billing", "permissions": ["org:billing:read"]}))).await;
        c.call(Method::GET, "/v1/organizations/{id}/roles", &format!("/v1/organizations/{org_id}/roles"), sk, None).await;
        c.call(Method::PATCH, "/v1/organizations/{id}/roles/{key}", &format!("/v1/organizations/{org_id}/roles/billing"), sk,
            Some(json!({"permissions": ["org:billing:read", "org:billing:write"]}))).await;
        c.call(Method::GET, "/v1/me/organizations", "/v1/me/organizations", at, None).await;

        let hook = c.call(Method::POST, "/v1/webhooks", "/v1/webhooks", sk,
            Some(json!({"url": "https://hooks.example.com/in", "events": ["user.created"]}))).await;
        let hook_id = hook.body["id"].as_str().unwrap().to_owned();
        c.call(Method::GET, "/v1/webhooks", "/v1/webhooks", sk, None).await;
        c.call(Method::GET, "/v1/webhooks/{id}", &format!("/v1/webhooks/{hook_id}"), sk, None).await;
        c.call(Method::PATCH, "/v1/webhooks/{id}", &format!("/v1/webhooks/{hook_id}"), sk, Some(json!({"description": "d"}))).await;
        c.call(Method::POST, "/v1/webhooks/{id}/rotate-secret", &format!("/v1/webhooks/{hook_id}/rotate-secret"), sk, None).await;
        c.call(Method::POST, "/v1/webhooks/{id}/test", &format!("/v1/webhooks/{hook_id}/test"), sk, None).await;
        c.call(Method::GET, "/v1/webhooks/{id}/deliveries", &format!("/v1/webhooks/{hook_id}/deliveries"), sk, None).await;

        c.call(Method::POST, "/v1/api-keys", "/v1/api-keys", sk, Some(json!({"name": "ci", "type": "publishable"}))).await;
        c.call(Method::GET, "/v1/api-keys", "/v1/api-keys", sk, None).await;
        c.call(Method::GET, "/v1/jwks/{tenant_id}", &format!("/v1/jwks/{tid}"), None, None).await;
        c.call(Method::POST, "/v1/auth/sign-out", "/v1/auth/sign-out", at, None).await;
        assert!(c.checked >= 45, "{} answers checked", c.checked);
    }
}
