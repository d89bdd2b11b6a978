//! The authorization code flow end to end over HTTP, driven by the `oauth2` crate:
//! a user signs in and approves, the client exchanges the code with its PKCE
//! verifier, refreshes, introspects and revokes — for a confidential and a public
//! client.

use gatehouse_core::domain::client::ClientType;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PUBLIC_REDIRECT, UserAgent, param};
use gatehouse_tests::{TestClient, TestServer, http, verify};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};

type Client = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth2_client(server: &TestServer, c: &TestClient, redirect: &str) -> Client {
    let mut client = BasicClient::new(ClientId::new(c.id.clone()))
        .set_auth_uri(AuthUrl::new(server.url("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.url("/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(redirect.into()).unwrap());
    match &c.secret {
        Some(s) => client = client.set_client_secret(ClientSecret::new(s.clone())),
        None => client = client.set_auth_type(AuthType::RequestBody),
    }
    client
}

/// Runs the whole flow for `client` and checks every step; returns the server for
/// further checks.
async fn full_flow(client_type: ClientType, redirect: &str) {
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let registered = server.code_client(client_type, "read write").await;
    let client = oauth2_client(&server, &registered, redirect);

    // 1. Authorization request with PKCE (S256) and state.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut ua = UserAgent::new();
    let login = ua.get(auth_url.as_str()).await;
    assert_eq!(login.status, 200);
    assert!(login.is_login(), "{}", login.body);
    assert!(login.body.contains("Photo App"));
    let consent = ua
        .login(&server, &login, "alice", gatehouse_tests::flow::PASSWORD)
        .await;
    assert!(consent.is_consent(), "{}", consent.body);
    assert!(
        consent.body.contains("Read access to resources"),
        "scope descriptions are shown"
    );
    let done = ua.consent(&server, &consent, "approve").await;
    assert_eq!(
        done.status, 303,
        "a POST is answered with 303 (RFC 9700 §4.12)"
    );
    let location = done.location().unwrap();
    assert!(location.as_str().starts_with(redirect));
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&location, "iss").as_deref(),
        Some(server.base.as_str()),
        "RFC 9207"
    );
    let code = param(&location, "code").unwrap();
    assert!(code.len() >= 43, "256-bit code");

    // 2. Code exchange with the verifier.
    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("the code exchange succeeds");
    let access = token.access_token().secret().clone();
    let refresh = token
        .refresh_token()
        .expect("a refresh token")
        .secret()
        .clone();
    let claims = verify(&server, &access, jsonwebtoken::Algorithm::RS256).await;
    assert_eq!(
        claims["sub"],
        alice.user_id.as_str(),
        "the user is the subject"
    );
    assert_eq!(claims["client_id"], registered.id.as_str());
    assert_eq!(claims["scope"], "read write");

    // 4. Refresh, narrowing the scope: a new pair, the old refresh token retired.
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
        .add_scope(Scope::new("read".into()))
        .request_async(&http())
        .await
        .expect("the refresh succeeds");
    let access2 = refreshed.access_token().secret().clone();
    let refresh2 = refreshed.refresh_token().expect("rotated").secret().clone();
    assert_ne!(refresh2, refresh, "refresh tokens rotate");
    let claims2 = verify(&server, &access2, jsonwebtoken::Algorithm::RS256).await;
    assert_eq!(claims2["scope"], "read");
    assert_eq!(claims2["sub"], alice.user_id.as_str());
    // Widening back is refused; the grant's full scope is still available.
    let widened = client
        .exchange_refresh_token(&RefreshToken::new(refresh2.clone()))
        .add_scope(Scope::new("admin".into()))
        .request_async(&http())
        .await;
    match widened {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidScope)
        }
        other => panic!("expected invalid_scope, got {other:?}"),
    }

    // 5. Introspection (by a resource server) sees the user's tokens.
    let mut reg = gatehouse_tests::cc_registration("read");
    reg.introspect_any = true;
    let rs = server.register(reg).await;
    let rs_secret = rs.secret.unwrap().expose().to_owned();
    let introspect = |t: String| {
        let server = &server;
        let id = rs.client.client_id.clone();
        let secret = rs_secret.clone();
        async move {
            server
                .post_form("/introspect", Some((&id, &secret)), &[("token", &t)])
                .await
                .2
        }
    };
    let a = introspect(access2.clone()).await;
    assert_eq!(a["active"], true);
    assert_eq!(a["sub"], alice.user_id.as_str());
    assert_eq!(a["token_type"], "Bearer");
    let r = introspect(refresh2.clone()).await;
    assert_eq!(r["active"], true);
    assert_eq!(
        r["scope"], "read write",
        "the refresh token keeps the grant's scope"
    );
    assert_eq!(
        introspect(refresh.clone()).await["active"],
        false,
        "a rotated-out refresh token is inactive (RFC 7662 §2.2)"
    );

    // 6. Revoking the refresh token revokes its grant's access tokens.
    let (status, _, _) = server
        .token_request(&registered, &[("token", &refresh2)])
        .await;
    assert_eq!(status, 400, "a revocation request at /token is not a grant");
    let revoke_form = [("token", refresh2.as_str())];
    let (status, _, _) = match &registered.secret {
        Some(s) => {
            server
                .post_form("/revoke", Some((&registered.id, s)), &revoke_form)
                .await
        }
        None => {
            server
                .post_form(
                    "/revoke",
                    None,
                    &[("token", &refresh2), ("client_id", &registered.id)],
                )
                .await
        }
    };
    assert_eq!(status, 200);
    for t in [access, access2, refresh2] {
        assert_eq!(introspect(t.clone()).await["active"], false);
    }

    // 7. A code redeemed twice: the second redemption fails and revokes what the
    // first issued (RFC 6749 §4.1.2). The browser's session and the remembered
    // consent give a code at once.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = ua.get(auth_url.as_str()).await;
    assert_eq!(page.status, 302, "{}", page.body);
    let code = param(&page.location().unwrap(), "code").unwrap();
    let verifier_again = oauth2::PkceCodeVerifier::new(verifier.secret().clone());
    let first = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("the first redemption succeeds");
    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier_again)
        .request_async(&http())
        .await;
    assert_grant_error(replay);
    assert_eq!(
        introspect(first.access_token().secret().clone()).await["active"],
        false
    );
    let refresh = first.refresh_token().unwrap().secret().clone();
    assert_eq!(introspect(refresh.clone()).await["active"], false);
    assert_grant_error(
        client
            .exchange_refresh_token(&RefreshToken::new(refresh))
            .request_async(&http())
            .await,
    );
}

fn assert_grant_error<T: std::fmt::Debug>(
    r: Result<
        T,
        RequestTokenError<
            oauth2::HttpClientError<oauth2::reqwest::Error>,
            oauth2::basic::BasicErrorResponse,
        >,
    >,
) {
    match r {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant)
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confidential_client_runs_the_whole_flow_with_pkce() {
    full_flow(ClientType::Confidential, CONFIDENTIAL_REDIRECT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_runs_the_whole_flow_with_pkce() {
    full_flow(ClientType::Public, PUBLIC_REDIRECT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_native_app_may_use_any_loopback_port() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Public, "read").await;
    let redirect = "http://127.0.0.1:49321/callback";
    let (code, verifier) = server.code_for(&client, redirect, "alice").await;
    let (status, _, body) = server
        .exchange_code(&client, &code, redirect, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_remembered_and_a_session_skips_the_login_page() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let (_, challenge) = gatehouse_tests::flow::pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut ua = UserAgent::new();
    ua.authorize(&server, &query, "alice").await;
    // Same browser, same scope: straight back with a code.
    let second = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert_eq!(second.status, 302, "{}", second.body);
    assert!(param(&second.location().unwrap(), "code").is_some());
    // A wider scope asks again.
    let wider = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read write", &challenge);
    let page = ua.get(&server.url(&format!("/authorize?{wider}"))).await;
    assert!(page.is_consent());
    assert!(page.body.contains("write"));
    // prompt=consent asks even for what was approved; prompt=login asks for the password.
    let page = ua
        .get(&server.url(&format!("/authorize?{query}&prompt=consent")))
        .await;
    assert!(page.is_consent());
    let page = ua
        .get(&server.url(&format!("/authorize?{query}&prompt=login")))
        .await;
    assert!(page.is_login());
    // prompt=none without a session: login_required, by redirect.
    let page = UserAgent::new()
        .get(&server.url(&format!("/authorize?{query}&prompt=none")))
        .await;
    assert_eq!(page.status, 302);
    assert_eq!(
        param(&page.location().unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_client_skips_consent_unless_prompt_consent() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server
        .code_client_with(ClientType::Confidential, "read", |r| r.skip_consent = true)
        .await;
    let (_, challenge) = gatehouse_tests::flow::pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut ua = UserAgent::new();
    let login = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    let after = ua
        .login(&server, &login, "alice", gatehouse_tests::flow::PASSWORD)
        .await;
    assert_eq!(after.status, 303, "no consent page: {}", after.body);
    let page = ua
        .get(&server.url(&format!("/authorize?{query}&prompt=consent")))
        .await;
    assert!(page.is_consent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denying_consent_redirects_with_access_denied_and_state() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (_, challenge) = gatehouse_tests::flow::pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut ua = UserAgent::new();
    let login = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    let consent = ua
        .login(&server, &login, "alice", gatehouse_tests::flow::PASSWORD)
        .await;
    let denied = ua.consent(&server, &consent, "deny").await;
    assert_eq!(denied.status, 303);
    let loc = denied.location().unwrap();
    assert_eq!(param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(server.base.as_str()));
    assert!(param(&loc, "code").is_none());
}
