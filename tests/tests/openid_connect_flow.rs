//! OpenID Connect end to end over HTTP, driven by the `openidconnect` crate as a
//! relying party: discovery from `/.well-known/openid-configuration` (Discovery
//! 1.0 §4), the code flow with PKCE and a nonce (Core §3.1), the library's
//! verification of the ID token (signature from the JWKS, `iss`, `aud`, `nonce`,
//! `at_hash`; §3.1.3.7), its UserInfo request (§5.3), and a refresh that returns
//! a new ID token (§12.2). Logout through the same crate is in `logout.rs`.
//! Negative tests first.

use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::user::ProfileChange;
use gatehouse_core::keys::SigningAlgorithm;
use gatehouse_core::registration;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce};
use gatehouse_tests::relying_party::Rp;
use gatehouse_tests::{TestClient, TestServer, http};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreIdTokenVerifier,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};

/// The relying party of `registered`, configured by discovery.
async fn discover(server: &TestServer, registered: &TestClient) -> Rp {
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http())
        .await
        .expect("the provider metadata and JWKS are discovered");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        registered.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(CONFIDENTIAL_REDIRECT.into()).unwrap())
}

/// The client's ID token verifier, taking the algorithms Gatehouse signs with
/// (the library's default is RS256 alone).
fn verifier(client: &Rp) -> CoreIdTokenVerifier<'_> {
    client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ])
}

/// A server with alice and a confidential client allowed the OpenID scopes and
/// `read`, and its relying party.
async fn setup() -> (TestServer, TestClient, Rp) {
    let server = TestServer::start().await;
    server.user("alice").await;
    let registered = server
        .code_client(ClientType::Confidential, "openid offline_access read")
        .await;
    let client = discover(&server, &registered).await;
    (server, registered, client)
}

/// Signs alice in and approves `scopes` (with `openid`, which the library
/// always adds) for `client`; the code's token response, the nonce sent, and
/// the pages seen.
async fn sign_in(server: &TestServer, client: &Rp, scopes: &[&str]) -> (CoreTokenResponse, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in scopes {
        request = request.add_scope(Scope::new((*s).into()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let mut ua = UserAgent::new();
    let login = ua.get(url.as_str()).await;
    assert!(login.is_login(), "{}", login.body);
    let consent = ua.login(server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent(), "{}", consent.body);
    assert!(
        consent.body.contains("Sign you in and know who you are"),
        "the openid scope is described on consent: {}",
        consent.body
    );
    let done = ua.consent(server, &consent, "approve").await;
    let location = done.location().expect("a redirect");
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = param(&location, "code").expect("a code");
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("the code exchange succeeds");
    (token, nonce)
}

/// The library's at_hash check (Core §3.1.3.8): the hash of the access token,
/// by the ID token's algorithm and key, equals the claim.
fn check_at_hash(client: &Rp, token: &CoreTokenResponse, claims: &CoreIdTokenClaims) {
    let verifier = verifier(client);
    let id_token = token.id_token().unwrap();
    let expected = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
}

fn no_nonce(n: Option<&Nonce>) -> Result<(), String> {
    match n {
        None => Ok(()),
        Some(_) => Err("an ID token from a refresh carries no nonce (Core §12.2)".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_nonce_fails_verification_in_the_library() {
    let (server, _, client) = setup().await;
    let (token, nonce) = sign_in(&server, &client, &["read"]).await;
    let id_token = token.id_token().expect("an ID token");
    let verifier = verifier(&client);
    let other = Nonce::new_random();
    assert_ne!(other.secret(), nonce.secret());
    assert!(id_token.claims(&verifier, &other).is_err(), "another nonce");
    assert!(
        id_token.claims(&verifier, no_nonce).is_err(),
        "a nonce was sent, so the ID token has one"
    );
    // Another audience or issuer fails too.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http())
            .await
            .unwrap();
    let other_client = CoreIdTokenVerifier::new_public_client(
        ClientId::new("another-client".into()),
        IssuerUrl::new(server.base.clone()).unwrap(),
        metadata.jwks().clone(),
    );
    assert!(id_token.claims(&other_client, &nonce).is_err(), "aud");
    let other_issuer = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client.client_id().to_string()),
        IssuerUrl::new("https://other.example".into()).unwrap(),
        metadata.jwks().clone(),
    );
    assert!(id_token.claims(&other_issuer, &nonce).is_err(), "iss");
    // The right one passes.
    assert!(id_token.claims(&verifier, &nonce).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_openid_gets_no_id_token_and_keeps_its_refresh_token() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "openid offline_access read")
        .await;
    let (verifier, challenge) = pkce();
    let query = format!(
        "{}&nonce=n-0S6_WzA2Mj",
        server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge)
    );
    let page = UserAgent::new().authorize(&server, &query, "alice").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    let (status, _, body) = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none(), "plain OAuth: {body}");
    assert!(
        body["refresh_token"].is_string(),
        "refresh tokens as before"
    );
    let refreshed = server
        .refresh_grant(&client, body["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(refreshed.0, 200, "{}", refreshed.2);
    assert!(refreshed.2.get("id_token").is_none(), "{}", refreshed.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openid_request_without_offline_access_gets_no_refresh_token() {
    let (server, _, client) = setup().await;
    let (token, nonce) = sign_in(&server, &client, &["read"]).await;
    assert!(
        token.refresh_token().is_none(),
        "Core §11: no offline_access"
    );
    let claims = token
        .id_token()
        .expect("an ID token")
        .claims(&verifier(&client), &nonce)
        .expect("the ID token verifies");
    check_at_hash(&client, &token, claims);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_access_takes_consent_unless_the_client_skips_consent() {
    let server = TestServer::start().await;
    server.user("alice").await;
    // A remembered consent to `openid read` does not cover offline_access: the
    // consent page is shown again.
    let client = server
        .code_client(ClientType::Confidential, "openid offline_access read")
        .await;
    let rp = discover(&server, &client).await;
    let (first, _) = sign_in(&server, &rp, &["read"]).await;
    assert!(first.refresh_token().is_none());
    let (_, challenge) = pkce();
    let query = server.authorize_query(
        &client,
        CONFIDENTIAL_REDIRECT,
        "openid offline_access read",
        &challenge,
    );
    let mut ua = UserAgent::new();
    let login = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    let consent = ua.login(&server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent(), "{}", consent.body);
    assert!(
        consent
            .body
            .contains("Keep access while you are not using the application"),
        "{}",
        consent.body
    );
    // With prompt=none that is consent_required, not a silent refresh token.
    let silent = ua
        .get(&server.url(&format!("/authorize?{query}&prompt=none")))
        .await;
    assert_eq!(
        param(&silent.location().unwrap(), "error").as_deref(),
        Some("consent_required")
    );
    // A client the operator registered to skip consent gets it without a page.
    let first_party = server
        .code_client_with(ClientType::Confidential, "openid offline_access", |r| {
            r.skip_consent = true
        })
        .await;
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(
        &first_party,
        CONFIDENTIAL_REDIRECT,
        "openid offline_access",
        &challenge,
    );
    let page = UserAgent::new().authorize(&server, &query, "alice").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    let (status, _, body) = server
        .exchange_code(&first_party, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string(), "{body}");
    assert!(body["id_token"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_objects_are_refused_by_redirect_with_their_own_errors() {
    let (server, _, client) = setup().await;
    for (name, value, error) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.e30.",
            "request_not_supported",
        ),
        (
            "request_uri",
            "https://rp.example/request.jwt",
            "request_uri_not_supported",
        ),
    ] {
        let (url, state, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_extra_param(name, value)
            .url();
        let page = UserAgent::new().get(url.as_str()).await;
        assert_eq!(page.status, 302, "{name}: {}", page.body);
        let location = page.location().unwrap();
        assert!(location.as_str().starts_with(CONFIDENTIAL_REDIRECT));
        assert_eq!(param(&location, "error").as_deref(), Some(error), "{name}");
        assert_eq!(
            param(&location, "state").as_deref(),
            Some(state.secret().as_str())
        );
        assert_eq!(
            param(&location, "iss").as_deref(),
            Some(server.base.as_str())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_is_an_openid_providers_at_both_well_known_paths() {
    let server = TestServer::start_with(|c| {
        c.scopes = gatehouse_core::domain::scope::ScopeCatalog::parse("notes=Your notes").unwrap()
    })
    .await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let body: serde_json::Value = http()
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["issuer"], server.base.as_str(), "{path}");
        assert_eq!(
            body["subject_types_supported"],
            serde_json::json!(["public"])
        );
        assert_eq!(
            body["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256"]),
            "an RS256 deployment"
        );
        assert_eq!(
            body["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(
            body["scopes_supported"],
            serde_json::json!(["notes", "openid", "profile", "email", "offline_access"])
        );
        assert_eq!(
            body["claims_supported"],
            serde_json::json!([
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "sid",
                "amr",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "updated_at",
                "email",
                "email_verified"
            ])
        );
        assert_eq!(
            body["prompt_values_supported"],
            serde_json::json!(["none", "login", "consent", "select_account"])
        );
        for flag in [
            "claims_parameter_supported",
            "request_parameter_supported",
            "request_uri_parameter_supported",
        ] {
            assert_eq!(body[flag], false, "{flag}");
        }
        assert_eq!(body["userinfo_endpoint"], server.url("/userinfo"));
        // RP-Initiated Logout 1.0 §2.1.
        assert_eq!(body["end_session_endpoint"], server.url("/logout"));
        // Back-Channel Logout 1.0 §2.1: logout tokens, with `sid`.
        assert_eq!(body["backchannel_logout_supported"], true);
        assert_eq!(body["backchannel_logout_session_supported"], true);
        assert!(body.get("acr_values_supported").is_none());
    }
    // An ES256 deployment lists ES256 beside RS256 (Discovery §3: RS256 always).
    let es = TestServer::start_with_alg(SigningAlgorithm::Es256, |c| {
        c.signing_alg = Some(SigningAlgorithm::Es256)
    })
    .await;
    let body: serde_json::Value = es.openid_configuration().await;
    assert_eq!(
        body["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256"])
    );
}

async fn code_flow_then_refresh(server: TestServer) {
    let alice = server.user("alice").await;
    let registered = server
        .code_client(ClientType::Confidential, "openid offline_access read")
        .await;
    let client = discover(&server, &registered).await;
    let (token, nonce) = sign_in(&server, &client, &["offline_access", "read"]).await;

    // The ID token of the code: the library checks the signature against the
    // JWKS, iss, aud, exp and the nonce; then at_hash.
    let verifier = verifier(&client);
    let id_token = token.id_token().expect("an ID token with openid");
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("the ID token verifies");
    check_at_hash(&client, &token, claims);
    assert_eq!(
        claims.subject().as_str(),
        alice.user_id,
        "sub is the user id"
    );
    assert_ne!(claims.subject().as_str(), "alice", "never the username");
    assert_eq!(claims.nonce().map(Nonce::secret), Some(nonce.secret()));
    let auth_time = claims.auth_time().expect("auth_time, always");
    let amr: Vec<String> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["pwd"]);
    assert!(claims.auth_context_ref().is_none(), "no acr");
    // The header and the claims the library does not model.
    let raw = id_token.to_string();
    let part = |i: usize| -> serde_json::Value {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw.split('.').nth(i).unwrap())
            .unwrap();
        serde_json::from_slice(&b).unwrap()
    };
    let header = part(0);
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].is_string());
    let body = part(1);
    let sid = body["sid"].as_str().expect("sid").to_owned();
    assert!(!sid.is_empty());
    let access_claims = gatehouse_tests::verify(
        &server,
        token.access_token().secret(),
        header["alg"].as_str().unwrap().parse().unwrap(),
    )
    .await;
    assert_eq!(
        body["exp"].as_u64().unwrap() - body["iat"].as_u64().unwrap(),
        access_claims["exp"].as_u64().unwrap() - access_claims["iat"].as_u64().unwrap(),
        "the ID token lives as long as the access token"
    );
    let refresh = token.refresh_token().expect("offline_access was granted");

    // The refresh: a new ID token, same iss, sub, aud, auth_time and sid, no nonce.
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .expect("a token endpoint")
        .request_async(&http())
        .await
        .expect("the refresh succeeds");
    let id_token2 = refreshed.id_token().expect("a new ID token on refresh");
    assert_ne!(id_token2.to_string(), raw);
    let claims2 = id_token2
        .claims(&verifier, no_nonce)
        .expect("the refreshed ID token verifies, without a nonce");
    check_at_hash(&client, &refreshed, claims2);
    assert_eq!(claims2.issuer(), claims.issuer());
    assert_eq!(claims2.subject(), claims.subject());
    assert_eq!(claims2.audiences(), claims.audiences());
    assert_eq!(claims2.auth_time(), Some(auth_time), "the original sign-in");
    let raw2 = id_token2.to_string();
    let b2: serde_json::Value = {
        use base64::Engine as _;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(raw2.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(b2["sid"], sid.as_str());
    assert!(b2.get("nonce").is_none());
    assert!(refreshed.refresh_token().is_some(), "rotated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_flow_with_pkce_and_a_nonce_gives_id_tokens_the_library_verifies_rs256() {
    code_flow_then_refresh(TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_code_flow_with_pkce_and_a_nonce_gives_id_tokens_the_library_verifies_es256() {
    code_flow_then_refresh(TestServer::start_with_alg(SigningAlgorithm::Es256, |_| {}).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_reads_userinfo_for_the_id_tokens_subject() {
    // The OpenID scopes are always known (Core §5.4).
    let server = TestServer::start().await;
    registration::create_user_with_profile(
        &server.app.store,
        "alice",
        PASSWORD,
        &ProfileChange {
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
            name: Some("Alice Smith".into()),
            ..ProfileChange::default()
        },
    )
    .await
    .unwrap();
    let registered = server
        .code_client(ClientType::Confidential, "openid profile email")
        .await;
    let client = discover(&server, &registered).await;
    let (token, nonce) = sign_in(&server, &client, &["profile", "email"]).await;
    let claims = token
        .id_token()
        .expect("an ID token")
        .claims(&verifier(&client), &nonce)
        .expect("the ID token verifies");
    // Core §5.3.2: the library refuses a UserInfo `sub` other than the one it
    // is told to expect.
    let info: CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
        .expect("a userinfo endpoint is discovered")
        .request_async(&http())
        .await
        .expect("the UserInfo answer is read and its sub matches");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    assert_eq!(info.email_verified(), Some(true));
    assert_eq!(
        info.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Alice Smith")
    );
}
