//! Domain-level tests of tenant operations: real calls through the node's tenant router
//! over a temporary file store, no HTTP. Fast; the HTTP matrix covers every backend.

use std::sync::Arc;

use crate::control::CreateTenant;
use crate::error::ApiError;
use crate::tenant::messages::auth::{OrgSwitch, Refresh, SignUp};
use crate::tenant::messages::email::VerifyEmail;
use crate::tenant::messages::sessions::GetSession;
use crate::tenant::messages::users::{GetUser, ListUsers, SetUserDisabled};
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
    async fn run<O: Operation>(&self, credential: Credential, op: O) -> Result<O::Reply, ApiError> {
        self.router.run(&self.tenant, caller(credential), op).await.result
    }

    async fn sign_up(&self, email: &str) -> TokenSet {
        let op = SignUp {
            email: email.to_owned(),
            password: "long enough password".to_owned(),
            name: None,
            username: None,
            unsafe_metadata: None,
        };
        self.run(Credential::Publishable, op).await.unwrap().tokens.unwrap()
    }
}

#[tokio::test]
async fn one_call_verifies_the_token_and_runs_the_operation() {
    let d = domain().await;
    let tokens = d.sign_up("one@example.com").await;
    let me = d
        .run(
            Credential::AccessToken(tokens.access_token.clone()),
            GetUser { user: UserRef::Me },
        )
        .await
        .unwrap();
    assert_eq!(me.email, "one@example.com");
    // A forged token is refused by the tenant itself, in that same call.
    let forged = format!("{}x", tokens.access_token);
    let refused = d
        .run(Credential::AccessToken(forged), GetUser { user: UserRef::Me })
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
        .run(
            &other.tenant.id,
            caller(Credential::AccessToken(tokens.access_token)),
            GetUser { user: UserRef::Me },
        )
        .await
        .result;
    assert_eq!(answer, Err(ApiError::InvalidToken));
}

#[tokio::test]
async fn an_operation_refuses_a_credential_that_cannot_make_it() {
    let d = domain().await;
    let tokens = d.sign_up("someone@example.com").await;
    let listing = ListUsers {
        filter: crate::store::UserFilter::default(),
        page: crate::store::PageRequest { limit: 10, after: None },
    };
    assert_eq!(
        d.run(Credential::Publishable, listing.clone()).await,
        Err(ApiError::Internal)
    );
    assert_eq!(
        d.run(Credential::AccessToken(tokens.access_token), listing.clone())
            .await,
        Err(ApiError::Internal)
    );
    // "Me" needs a signed-in caller; the secret key names users by id.
    assert_eq!(
        d.run(Credential::Secret, GetUser { user: UserRef::Me }).await,
        Err(ApiError::Internal)
    );
    assert_eq!(d.run(Credential::Secret, listing).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn a_refresh_rotates_and_records_where_the_session_is_used() {
    let d = domain().await;
    let first = d.sign_up("refresh@example.com").await;
    let refresh = |token: String| Refresh {
        refresh_token: token,
        organization: OrgSwitch::Keep,
    };
    let mut elsewhere = caller(Credential::Publishable);
    elsewhere.client = ClientInfo {
        ip: Some("198.51.100.9".to_owned()),
        user_agent: Some("moved/1.0".to_owned()),
    };
    let second = d
        .router
        .run(&d.tenant, elsewhere, refresh(first.refresh_token.clone()))
        .await
        .result
        .unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let session = d
        .run(
            Credential::Secret,
            GetSession {
                session_id: first.id.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(session.ip_address.as_deref(), Some("198.51.100.9"));
    assert_eq!(session.user_agent.as_deref(), Some("moved/1.0"));
    // Within the default 10 s reuse interval the first token again answers with the same
    // successor: two tabs refreshing at once never fork the session.
    let again = d
        .run(Credential::Publishable, refresh(first.refresh_token))
        .await
        .unwrap();
    assert_eq!(again.refresh_token, second.refresh_token);
}

#[tokio::test]
async fn the_tenant_answers_each_operation_with_its_own_reply() {
    let d = domain().await;
    let tokens = d.sign_up("typed@example.com").await;
    // Run through the untyped router: the response must be the operation's own variant.
    let call = TenantCall {
        caller: caller(Credential::AccessToken(tokens.access_token)),
        request: GetUser { user: UserRef::Me }.into(),
    };
    let response = d.router.call(&d.tenant, call).await.result.unwrap();
    assert!(GetUser::reply(response.clone()).is_some(), "{response:?}");
    // Another operation's reply type does not accept it: a mismatch can't pass unnoticed.
    assert!(VerifyEmail::reply(response.clone()).is_none());
    assert!(SetUserDisabled::reply(response).is_none());
}
