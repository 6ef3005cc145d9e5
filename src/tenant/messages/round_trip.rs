//! Every operation and every reply survives the wire (`wire.rs`) unchanged. The `name`
//! match has no wildcard, so a new operation doesn't compile until it has a sample here.

use serde_json::json;

use super::auth::*;
use super::email::*;
use super::mfa::*;
use super::node::*;
use super::oauth::*;
use super::orgs::*;
use super::sessions::*;
use super::users::*;
use super::webhooks::*;
use super::*;
use crate::auth::tokens::AccessClaims;
use crate::store::{Page, PageRequest, Session, SessionFilter, SessionStatus, User, UserFilter};
use crate::tenant::wire::{decode_call, decode_reply, encode_call, encode_reply};
use crate::views::objects;

/// The operation's name; exhaustive, so every operation must be listed.
fn name(request: &TenantRequest) -> &'static str {
    use TenantRequest as R;
    match request {
        R::Auth(AuthOp::SignUp(_)) => "SignUp",
        R::Auth(AuthOp::SignIn(_)) => "SignIn",
        R::Auth(AuthOp::SignInCheck(_)) => "SignInCheck",
        R::Auth(AuthOp::SignInFinish(_)) => "SignInFinish",
        R::Auth(AuthOp::VerifyMfa(_)) => "VerifyMfa",
        R::Auth(AuthOp::MagicLinkSignIn(_)) => "MagicLinkSignIn",
        R::Auth(AuthOp::Refresh(_)) => "Refresh",
        R::Auth(AuthOp::SignOut(_)) => "SignOut",
        R::Auth(AuthOp::CheckToken(_)) => "CheckToken",
        R::Auth(AuthOp::VerifyToken(_)) => "VerifyToken",
        R::Users(UserOp::GetUser(_)) => "GetUser",
        R::Users(UserOp::UpdateUser(_)) => "UpdateUser",
        R::Users(UserOp::ChangePassword(_)) => "ChangePassword",
        R::Users(UserOp::ListUsers(_)) => "ListUsers",
        R::Users(UserOp::CreateUser(_)) => "CreateUser",
        R::Users(UserOp::DeleteUser(_)) => "DeleteUser",
        R::Users(UserOp::SetUserDisabled(_)) => "SetUserDisabled",
        R::Sessions(SessionOp::ListSessions(_)) => "ListSessions",
        R::Sessions(SessionOp::GetSession(_)) => "GetSession",
        R::Sessions(SessionOp::RevokeSession(_)) => "RevokeSession",
        R::Sessions(SessionOp::RevokeUserSessions(_)) => "RevokeUserSessions",
        R::Mfa(MfaOp::StartTotp(_)) => "StartTotp",
        R::Mfa(MfaOp::ConfirmTotp(_)) => "ConfirmTotp",
        R::Mfa(MfaOp::ListFactors(_)) => "ListFactors",
        R::Mfa(MfaOp::RemoveFactor(_)) => "RemoveFactor",
        R::Mfa(MfaOp::RegenerateBackupCodes(_)) => "RegenerateBackupCodes",
        R::Email(EmailOp::RequestEmailLink(_)) => "RequestEmailLink",
        R::Email(EmailOp::ResetPassword(_)) => "ResetPassword",
        R::Email(EmailOp::SendEmailVerification(_)) => "SendEmailVerification",
        R::Email(EmailOp::VerifyEmail(_)) => "VerifyEmail",
        R::Orgs(OrgOp::Organization(_)) => "Organization",
        R::Orgs(OrgOp::MyOrganizations(_)) => "MyOrganizations",
        R::Orgs(OrgOp::AcceptInvitation(_)) => "AcceptInvitation",
        R::Webhooks(WebhookOp::Webhook(_)) => "Webhook",
        R::OAuth(OAuthOp::Clients(_)) => "Clients",
        R::OAuth(OAuthOp::Authorize(_)) => "Authorize",
        R::OAuth(OAuthOp::OpenBrowser(_)) => "OpenBrowser",
        R::OAuth(OAuthOp::Token(_)) => "Token",
        R::OAuth(OAuthOp::UserInfo(_)) => "UserInfo",
        R::OAuth(OAuthOp::Revoke(_)) => "Revoke",
        R::OAuth(OAuthOp::Introspect(_)) => "Introspect",
        R::OAuth(OAuthOp::EndSession(_)) => "EndSession",
        R::OAuth(OAuthOp::Providers(_)) => "Providers",
        R::OAuth(OAuthOp::StartSocial(_)) => "StartSocial",
        R::OAuth(OAuthOp::FinishProvider(_)) => "FinishProvider",
        R::OAuth(OAuthOp::SocialSignIn(_)) => "SocialSignIn",
        R::OAuth(OAuthOp::Identities(_)) => "Identities",
        R::Node(NodeOp::Jwks(_)) => "Jwks",
        R::Node(NodeOp::Reload(_)) => "Reload",
        R::Node(NodeOp::InjectPanic(_)) => "InjectPanic",
        R::Node(NodeOp::Stats(_)) => "Stats",
    }
}

const OPERATIONS: usize = 51;

fn at(seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(seconds).unwrap()
}

fn user() -> Box<User> {
    let mut user = User::new(
        "sample@example.com".to_owned(),
        Some("$argon2id$v=19$x".to_owned()),
        at(1_700_000_000),
    );
    user.name = Some("Sample".to_owned());
    user.public_metadata = json!({"plan": "pro"});
    Box::new(user)
}

fn session() -> Box<Session> {
    Box::new(Session {
        id: "ses_1".to_owned(),
        user_id: "usr_1".to_owned(),
        status: SessionStatus::Active,
        user_agent: Some("agent".to_owned()),
        ip_address: Some("192.0.2.1".to_owned()),
        created_at: at(1_700_000_000),
        last_active_at: at(1_700_000_100),
        expires_at: at(1_702_592_000),
        active_organization_id: Some("org_1".to_owned()),
        amr: vec!["pwd".to_owned()],
        mfa_verified: false,
    })
}

fn organization() -> objects::Organization {
    objects::Organization {
        id: "org_1".to_owned(),
        name: "Acme".to_owned(),
        slug: "acme".to_owned(),
        logo_url: None,
        public_metadata: json!({"plan": "pro"}),
        // Shown to the secret key even when null: must not vanish on the way.
        private_metadata: Some(serde_json::Value::Null),
        member_count: 2,
        created_at: "2026-01-15T10:30:00Z".to_owned(),
        updated_at: "2026-01-15T10:30:00Z".to_owned(),
    }
}

fn membership() -> objects::Membership {
    objects::Membership {
        organization_id: "org_1".to_owned(),
        user_id: "usr_1".to_owned(),
        role: "admin".to_owned(),
        permissions: vec!["org:members:read".to_owned()],
        joined_at: "2026-01-15T10:30:00Z".to_owned(),
        user: Some(objects::MemberUser {
            id: "usr_1".to_owned(),
            email: "sample@example.com".to_owned(),
            name: None,
            avatar_url: None,
        }),
    }
}

fn factor() -> objects::Factor {
    objects::Factor {
        id: "fac_1".to_owned(),
        kind: "totp".to_owned(),
        status: "active".to_owned(),
        name: Some("Phone".to_owned()),
        created_at: "2026-01-15T10:30:00Z".to_owned(),
        last_used_at: None,
    }
}

fn tokens() -> TokenSet {
    TokenSet {
        id: "ses_1".to_owned(),
        access_token: "a.b.c".to_owned(),
        refresh_token: "rt_1".to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: 900,
        access_token_expires_at: "2026-01-15T10:45:00Z".to_owned(),
        refresh_token_expires_at: "2026-02-14T10:30:00Z".to_owned(),
    }
}

fn page() -> PageRequest {
    PageRequest {
        limit: 20,
        after: Some("usr_0".to_owned()),
    }
}

fn signed_in() -> SignedIn {
    SignedIn {
        user: user(),
        tokens: tokens(),
    }
}

/// One sample of every operation with a sample of its reply, as the tenant would send it.
fn samples() -> Vec<(TenantRequest, TenantResponse)> {
    fn pair<O: Operation>(op: O, reply: O::Reply) -> (TenantRequest, TenantResponse) {
        (op.into(), O::respond(reply))
    }
    let claims = AccessClaims {
        iss: "http://localhost/t/tnt_1".to_owned(),
        aud: "tnt_1".to_owned(),
        sub: "usr_1".to_owned(),
        sid: "ses_1".to_owned(),
        tenant_id: "tnt_1".to_owned(),
        iat: 1,
        nbf: 1,
        exp: 901,
        jti: "jti".to_owned(),
        email: "sample@example.com".to_owned(),
        email_verified: true,
        role: "member".to_owned(),
        mfa_verified: false,
        amr: vec!["pwd".to_owned()],
        org_id: Some("org_1".to_owned()),
        org_role: Some("admin".to_owned()),
        org_permissions: Some(vec!["org:billing:read".to_owned()]),
        public_metadata: json!({}),
    };
    let webhook = objects::Webhook {
        id: "wh_1".to_owned(),
        url: "https://example.com/hook".to_owned(),
        description: None,
        events: vec!["user.created".to_owned()],
        status: "disabled".to_owned(),
        created_at: "2026-01-15T10:30:00Z".to_owned(),
        last_triggered_at: None,
        signing_secret: Some("whsec_x".to_owned()),
    };
    vec![
        pair(
            SignUp {
                email: "a@example.com".to_owned(),
                password: "pw".to_owned(),
                name: Some("A".to_owned()),
                username: None,
                unsafe_metadata: Some(json!({"k": [1, 2]})),
            },
            SignedUp {
                user: user(),
                tokens: None,
            },
        ),
        pair(
            SignIn {
                email: "a@example.com".to_owned(),
                password: "pw".to_owned(),
            },
            signed_in(),
        ),
        pair(
            SignInCheck {
                email: "a@example.com".to_owned(),
                too_long: false,
            },
            StoredPassword {
                hash: Some("$argon2id$v=19$x".to_owned()),
            },
        ),
        pair(
            SignInFinish {
                email: "a@example.com".to_owned(),
                checked: Some("$argon2id$v=19$x".to_owned()),
                matched: true,
                upgraded: None,
            },
            signed_in(),
        ),
        pair(
            VerifyMfa {
                challenge_id: "mfa_1".to_owned(),
                code: "123456".to_owned(),
            },
            signed_in(),
        ),
        pair(MagicLinkSignIn { token: "t".to_owned() }, signed_in()),
        pair(
            Refresh {
                refresh_token: "rt_1".to_owned(),
                organization: OrgSwitch::To("org_1".to_owned()),
            },
            tokens(),
        ),
        pair(SignOut { global: true }, ()),
        pair(CheckToken {}, ()),
        pair(
            VerifyToken {
                token: "a.b.c".to_owned(),
            },
            Verification {
                valid: true,
                session: Some(session()),
                claims: Some(Box::new(claims)),
            },
        ),
        pair(GetUser { user: UserRef::Me }, user()),
        pair(
            UpdateUser {
                user: UserRef::Id("usr_1".to_owned()),
                patch: json!({"name": null, "public_metadata": {"a": 1}}),
            },
            user(),
        ),
        pair(
            ChangePassword {
                current_password: "old".to_owned(),
                new_password: "new".to_owned(),
                sign_out_other_sessions: false,
            },
            (),
        ),
        pair(
            ListUsers {
                filter: UserFilter {
                    email: Some("a@example.com".to_owned()),
                    ..UserFilter::default()
                },
                page: page(),
            },
            Page {
                items: vec![*user()],
                has_more: true,
                resume_after: None,
            },
        ),
        pair(
            CreateUser {
                user: NewUser {
                    email: Some("b@example.com".to_owned()),
                    email_verified: Some(true),
                    private_metadata: Some(json!({"s": true})),
                    ..NewUser::default()
                },
            },
            user(),
        ),
        pair(
            DeleteUser {
                user_id: "usr_1".to_owned(),
            },
            (),
        ),
        pair(
            SetUserDisabled {
                user_id: "usr_1".to_owned(),
                disabled: true,
            },
            user(),
        ),
        pair(
            ListSessions {
                filter: SessionFilter {
                    user_id: Some("usr_1".to_owned()),
                    status: Some(SessionStatus::Revoked),
                },
                page: page(),
            },
            Page {
                items: vec![*session()],
                has_more: false,
                resume_after: Some("ses_0".to_owned()),
            },
        ),
        pair(
            GetSession {
                session_id: "ses_1".to_owned(),
            },
            session(),
        ),
        pair(
            RevokeSession {
                session_id: "ses_1".to_owned(),
            },
            (),
        ),
        pair(
            RevokeUserSessions {
                user_id: "usr_1".to_owned(),
            },
            (),
        ),
        pair(
            StartTotp {},
            TotpEnrollment {
                factor_id: "fac_1".to_owned(),
                secret: "JBSWY3DP".to_owned(),
                otpauth_uri: "otpauth://totp/x".to_owned(),
                qr_code_svg: "<svg/>".to_owned(),
            },
        ),
        pair(
            ConfirmTotp {
                factor_id: "fac_1".to_owned(),
                code: "123456".to_owned(),
            },
            FactorConfirmed {
                factor: factor(),
                backup_codes: vec!["abcd-efgh".to_owned()],
            },
        ),
        pair(ListFactors { user: UserRef::Me }, vec![factor()]),
        pair(
            RemoveFactor {
                user: UserRef::Id("usr_1".to_owned()),
                factor_id: "fac_1".to_owned(),
                code: None,
            },
            (),
        ),
        pair(
            RegenerateBackupCodes {
                code: "123456".to_owned(),
            },
            vec!["x".to_owned()],
        ),
        pair(
            RequestEmailLink {
                email: "a@example.com".to_owned(),
                magic_link: true,
                redirect_url: Some("https://app.example.com/in".to_owned()),
            },
            (),
        ),
        pair(
            ResetPassword {
                token: "t".to_owned(),
                new_password: "pw".to_owned(),
            },
            (),
        ),
        pair(SendEmailVerification {}, ()),
        pair(VerifyEmail { token: "t".to_owned() }, user()),
        pair(
            Organization {
                action: OrgAction::Invite {
                    org: "acme".to_owned(),
                    email: "c@example.com".to_owned(),
                    role: Some("admin".to_owned()),
                    expires_in: Some(3600),
                    redirect_url: None,
                },
            },
            Shown::Objects(Page {
                items: vec![organization().into(), membership().into()],
                has_more: true,
                resume_after: Some("org_1".to_owned()),
            }),
        ),
        pair(
            MyOrganizations {},
            vec![objects::MyMembership::of(membership(), organization())],
        ),
        pair(
            AcceptInvitation {
                token: "inv".to_owned(),
                acceptance: Acceptance::NewUser {
                    password: "pw".to_owned(),
                    name: None,
                },
            },
            InvitationAccepted {
                membership: membership(),
                created: Some((user(), Some(tokens()))),
            },
        ),
        pair(
            Webhook {
                action: WebhookAction::Update {
                    id: "wh_1".to_owned(),
                    url: None,
                    events: Some(vec!["user.created".to_owned()]),
                    description: None,
                    status: Some("disabled".to_owned()),
                },
            },
            Shown::object(webhook),
        ),
        pair(
            Clients {
                action: ClientAction::Create(ClientFields {
                    name: Some("App".to_owned()),
                    redirect_uris: Some(vec!["https://app.example/cb".to_owned()]),
                    ..ClientFields::default()
                }),
            },
            Shown::Done,
        ),
        pair(
            Authorize {
                request: AuthorizationRequest {
                    client_id: Some("cli_1".to_owned()),
                    scope: Some("openid email".to_owned()),
                    ..AuthorizationRequest::default()
                },
                browser: Some("ses_1.mac".to_owned()),
                fresh: true,
                decision: Some(false),
            },
            AuthorizeStep::Consent {
                client_name: "App".to_owned(),
                scopes: vec!["openid".to_owned()],
            },
        ),
        pair(
            OpenBrowser {
                session_id: "ses_1".to_owned(),
            },
            "ses_1.mac".to_owned(),
        ),
        pair(
            Token {
                client: ClientAuth {
                    client_id: "cli_1".to_owned(),
                    client_secret: Some("cs_1".to_owned()),
                },
                grant: TokenGrant::AuthorizationCode {
                    code: "ac_1".to_owned(),
                    redirect_uri: None,
                    code_verifier: Some("v".to_owned()),
                },
            },
            Ok(json!({"access_token": "a"})),
        ),
        pair(
            UserInfo {
                access_token: "a".to_owned(),
            },
            Err(crate::oauth::OAuthError::invalid_token("expired")),
        ),
        pair(
            Revoke {
                client: ClientAuth {
                    client_id: "cli_1".to_owned(),
                    client_secret: None,
                },
                token: "rt_1".to_owned(),
            },
            Ok(()),
        ),
        pair(
            Introspect {
                client: ClientAuth {
                    client_id: "cli_1".to_owned(),
                    client_secret: None,
                },
                token: "rt_1".to_owned(),
            },
            Ok(json!({"active": false})),
        ),
        pair(
            EndSession {
                request: EndSessionRequest::default(),
                browser: None,
            },
            Ok(Some("https://app.example/bye".to_owned())),
        ),
        pair(
            Providers {
                action: ProviderAction::Put {
                    provider: "oidc:corp".to_owned(),
                    fields: ProviderFields {
                        client_id: Some("id".to_owned()),
                        allow_linking: Some(true),
                        ..ProviderFields::default()
                    },
                },
            },
            json!({"provider": "oidc:corp"}),
        ),
        pair(
            StartSocial {
                provider: "github".to_owned(),
                start: SocialStart {
                    redirect_uri: Some("https://app.example/cb".to_owned()),
                    ..SocialStart::default()
                },
            },
            "https://github.com/login/oauth/authorize?x".to_owned(),
        ),
        pair(
            FinishProvider {
                provider: "github".to_owned(),
                answer: ProviderReturn {
                    code: Some("c".to_owned()),
                    state: "s".to_owned(),
                    error: None,
                },
            },
            "https://app.example/cb?code=x".to_owned(),
        ),
        pair(
            SocialSignIn {
                provider: "google".to_owned(),
                code: "hjoc_1".to_owned(),
                code_verifier: "v".to_owned(),
                redirect_uri: "https://app.example/cb".to_owned(),
            },
            SignedIn {
                user: user(),
                tokens: tokens(),
            },
        ),
        pair(
            Identities {
                remove: Some("idn_1".to_owned()),
            },
            json!(null),
        ),
        pair(
            Jwks {},
            crate::auth::signing::Jwks {
                keys: vec![crate::auth::signing::Jwk {
                    kty: "OKP".into(),
                    crv: Some("Ed25519".into()),
                    x: Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into()),
                    y: None,
                    n: None,
                    e: None,
                    kid: "key_1".into(),
                    alg: "EdDSA".into(),
                    use_: "sig".into(),
                }],
            },
        ),
        pair(Reload {}, ()),
        pair(InjectPanic {}, ()),
        pair(
            Stats {},
            crate::tenant::activity::TenantStats {
                tenant_id: "tnt_1".to_owned(),
                hours: vec![crate::tenant::activity::HourStats {
                    hour: "2026-12-01T13:00:00Z".to_owned(),
                    sign_ins: 3,
                    sign_ups: 1,
                    failed_sign_ins: 2,
                }],
                active_sessions: 7,
                sessions_counted_at: "2026-12-01T13:10:00Z".to_owned(),
                computed_at: "2026-12-01T13:10:30Z".to_owned(),
            },
        ),
    ]
}

#[test]
fn every_operation_and_its_reply_survive_the_wire() {
    let samples = samples();
    let names: std::collections::BTreeSet<_> = samples.iter().map(|(request, _)| name(request)).collect();
    assert_eq!(names.len(), OPERATIONS, "one sample per operation");
    for (request, response) in samples {
        let call = TenantCall {
            caller: Caller {
                credential: Credential::AccessToken("a.b.c".to_owned()),
                client: ClientInfo {
                    ip: Some("2001:db8::1".to_owned()),
                    user_agent: Some("ua".to_owned()),
                },
            },
            request,
        };
        assert_eq!(
            decode_call(&encode_call("tnt_1", &call)),
            Ok(("tnt_1".to_owned(), call.clone())),
            "{}",
            name(&call.request)
        );
        let reply = TenantReply {
            result: Ok(response),
            rate_limit: Some(crate::tenant::limits::RateLimitInfo {
                limit: 10,
                remaining: 9,
                reset: 60,
            }),
        };
        assert_eq!(
            decode_reply(&encode_reply(&reply)),
            Ok(reply),
            "{}",
            name(&call.request)
        );
    }
    let failed: TenantReply = Err(ApiError::MfaRequired {
        challenge_id: "mfa_1".to_owned(),
        available_factors: vec!["totp".to_owned()],
    })
    .into();
    assert_eq!(decode_reply(&encode_reply(&failed)), Ok(failed));
}

#[test]
fn a_reply_is_taken_only_by_its_own_operation() {
    for (request, response) in samples() {
        let expected = name(&request);
        // GetUser, VerifyEmail and three others all answer a user: each takes only its own.
        let taken_by_get_user = GetUser::reply(response.clone()).is_some();
        assert_eq!(taken_by_get_user, expected == "GetUser", "{expected}");
        let taken_by_sign_in = SignIn::reply(response.clone()).is_some();
        assert_eq!(taken_by_sign_in, expected == "SignIn", "{expected}");
        let taken_by_reload = Reload::reply(response).is_some();
        assert_eq!(taken_by_reload, expected == "Reload", "{expected}");
    }
}
