//! Domain-level tests of tenant operations: real calls through the node's tenant router
//! over a temporary file store, no HTTP. Fast; the HTTP matrix covers every backend.

use std::sync::Arc;

use crate::control::CreateTenant;
use crate::error::ApiError;
use crate::tenant::messages::*;
use crate::tenant::router::TenantRouter;

struct Domain {
    router: Arc<dyn TenantRouter>,
    tenant: String,
    control: Arc<crate::control::ControlPlane>,
    _dir: tempfile::TempDir,
}

async fn domain() -> Domain {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("HELLOJOHN_DATABASE_URL", format!("file://{}", dir.path().display())),
        ("HELLOJOHN_BOOTSTRAP", "false".to_owned()),
        ("HELLOJOHN_ARGON2_MEMORY_KIB", "256".to_owned()),
        ("HELLOJOHN_ARGON2_ITERATIONS", "1".to_owned()),
        ("HELLOJOHN_RATE_LIMITS", "off".to_owned()),
        (
            "HELLOJOHN_DEV_MAILBOX",
            dir.path().join("mail.jsonl").display().to_string(),
        ),
        ("HELLOJOHN_LOG", "warn".to_owned()),
    ];
    let config = crate::config::Config::from_sources(None, env.map(|(k, v)| (k.to_owned(), v))).unwrap();
    let node = crate::server::build(config).await.unwrap();
    let input = CreateTenant {
        name: Some("Domain".to_owned()),
        ..CreateTenant::default()
    };
    let created = node.state.control.create_tenant(input).await.unwrap();
    Domain {
        router: node.state.tenants.clone(),
        tenant: created.tenant.id,
        control: node.state.control.clone(),
        _dir: dir,
    }
}

fn caller(credential: Credential) -> Caller {
    Caller {
        credential,
        client: ClientInfo {
            ip: Some("192.0.2.7".to_owned()),
            user_agent: Some("domain-test".to_owned()),
        },
    }
}

impl Domain {
    async fn ask(&self, credential: Credential, request: TenantRequest) -> Result<TenantResponse, ApiError> {
        self.router.ask(&self.tenant, caller(credential), request).await
    }

    async fn sign_up(&self, email: &str) -> TokenSet {
        let request = TenantRequest::SignUp {
            email: email.to_owned(),
            password: "long enough password".to_owned(),
            name: None,
            username: None,
            unsafe_metadata: None,
        };
        match self.ask(Credential::Publishable, request).await {
            Ok(TenantResponse::SignedIn { tokens, .. }) => tokens,
            other => panic!("sign-up answered {other:?}"),
        }
    }
}

#[tokio::test]
async fn one_call_verifies_the_token_and_runs_the_operation() {
    let d = domain().await;
    let tokens = d.sign_up("one@example.com").await;
    let me = d
        .ask(
            Credential::AccessToken(tokens.access_token.clone()),
            TenantRequest::GetUser { user: UserRef::Me },
        )
        .await;
    match me {
        Ok(TenantResponse::User(user)) => assert_eq!(user.email, "one@example.com"),
        other => panic!("me answered {other:?}"),
    }
    // A forged token is refused by the tenant itself, in that same call.
    let forged = format!("{}x", tokens.access_token);
    let refused = d
        .ask(
            Credential::AccessToken(forged),
            TenantRequest::GetUser { user: UserRef::Me },
        )
        .await;
    assert_eq!(refused, Err(ApiError::InvalidToken));
}

#[tokio::test]
async fn a_token_of_another_tenant_never_authenticates() {
    let d = domain().await;
    let tokens = d.sign_up("mine@example.com").await;
    let other = d
        .control
        .create_tenant(CreateTenant {
            name: Some("Other".to_owned()),
            ..CreateTenant::default()
        })
        .await
        .unwrap();
    let answer = d
        .router
        .ask(
            &other.tenant.id,
            caller(Credential::AccessToken(tokens.access_token)),
            TenantRequest::GetUser { user: UserRef::Me },
        )
        .await;
    assert_eq!(answer, Err(ApiError::InvalidToken));
}

#[tokio::test]
async fn an_operation_refuses_a_credential_that_cannot_make_it() {
    let d = domain().await;
    let tokens = d.sign_up("someone@example.com").await;
    let listing = TenantRequest::ListUsers {
        filter: crate::store::UserFilter::default(),
        page: crate::store::PageRequest { limit: 10, after: None },
    };
    assert_eq!(
        d.ask(Credential::Publishable, listing.clone()).await,
        Err(ApiError::Internal)
    );
    assert_eq!(
        d.ask(Credential::AccessToken(tokens.access_token), listing.clone())
            .await,
        Err(ApiError::Internal)
    );
    // "Me" needs a signed-in caller; the secret key names users by id.
    assert_eq!(
        d.ask(Credential::Secret, TenantRequest::GetUser { user: UserRef::Me })
            .await,
        Err(ApiError::Internal)
    );
    assert!(
        matches!(d.ask(Credential::Secret, listing).await, Ok(TenantResponse::Users(page)) if page.items.len() == 1)
    );
}

#[tokio::test]
async fn a_refresh_rotates_and_records_where_the_session_is_used() {
    let d = domain().await;
    let first = d.sign_up("refresh@example.com").await;
    let refresh = |token: String| TenantRequest::Refresh {
        refresh_token: token,
        organization: OrgSwitch::Keep,
    };
    let mut elsewhere = caller(Credential::Publishable);
    elsewhere.client = ClientInfo {
        ip: Some("198.51.100.9".to_owned()),
        user_agent: Some("moved/1.0".to_owned()),
    };
    let call = TenantCall {
        caller: elsewhere,
        request: refresh(first.refresh_token.clone()),
    };
    let second = match d.router.call(&d.tenant, call).await.result {
        Ok(TenantResponse::Refreshed { tokens }) => tokens,
        other => panic!("refresh answered {other:?}"),
    };
    assert_ne!(second.refresh_token, first.refresh_token);
    let session = match d
        .ask(
            Credential::Secret,
            TenantRequest::GetSession {
                session_id: first.id.clone(),
            },
        )
        .await
    {
        Ok(TenantResponse::Session(s)) => s,
        other => panic!("session answered {other:?}"),
    };
    assert_eq!(session.ip_address.as_deref(), Some("198.51.100.9"));
    assert_eq!(session.user_agent.as_deref(), Some("moved/1.0"));
    // Within the default 10 s reuse interval the first token again answers with the same
    // successor: two tabs refreshing at once never fork the session.
    match d.ask(Credential::Publishable, refresh(first.refresh_token)).await {
        Ok(TenantResponse::Refreshed { tokens }) => assert_eq!(tokens.refresh_token, second.refresh_token),
        other => panic!("replay answered {other:?}"),
    }
}

#[test]
fn every_kind_of_call_survives_the_wire() {
    let calls = [
        TenantCall {
            caller: caller(Credential::AccessToken("a.b.c".to_owned())),
            request: TenantRequest::UpdateUser {
                user: UserRef::Me,
                patch: serde_json::json!({"name": "N"}),
            },
        },
        TenantCall {
            caller: caller(Credential::Publishable),
            request: TenantRequest::AcceptInvitation {
                token: "inv".to_owned(),
                acceptance: Acceptance::NewUser {
                    password: "p".to_owned(),
                    name: None,
                },
            },
        },
        TenantCall {
            caller: Caller::operator(),
            request: TenantRequest::Reload,
        },
        TenantCall {
            caller: caller(Credential::Secret),
            request: TenantRequest::Organization(OrgAction::RemoveMember {
                org: "org_1".to_owned(),
                user_id: "usr_1".to_owned(),
            }),
        },
        TenantCall {
            caller: caller(Credential::Anonymous),
            request: TenantRequest::Jwks,
        },
    ];
    for call in calls {
        let wire = serde_json::to_vec(&call).unwrap();
        let back: TenantCall = serde_json::from_slice(&wire).unwrap();
        assert_eq!(back, call);
    }
}
