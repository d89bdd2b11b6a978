//! The parameters of an OpenID Connect authentication request at `/authorize`
//! (Core §3.1.2.1–§3.1.2.6) over HTTP: `max_age`, `id_token_hint`, `login_hint`,
//! `display`, `ui_locales`, `claims_locales`, `acr_values`, `prompt` (with
//! `none` and `select_account`), the request sent as a `POST`ed form, and
//! remembered consent for the same or fewer scopes. Negative tests first.

use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::session::{LoginSession, cookie_value};
use gatehouse_core::secret::random_token;
use gatehouse_core::store::{ConsentStore, SessionStore, UserStore};
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, Page, UserAgent, param, pkce};
use gatehouse_tests::relying_party::Rp;
use gatehouse_tests::reqwest::header;
use gatehouse_tests::{TestClient, TestServer, http};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse,
};

const SESSION_COOKIE: &str = "gatehouse_session";

/// A server with alice and bob, and a confidential client allowed `openid`,
/// `read` and `write`.
async fn setup() -> (TestServer, TestClient) {
    let server = TestServer::start().await;
    server.user("alice").await;
    server.user("bob").await;
    let client = server
        .code_client(ClientType::Confidential, "openid read write")
        .await;
    (server, client)
}

/// The authorize query for `client`, scope `scope`, with `extra` pairs after.
fn query(server: &TestServer, client: &TestClient, scope: &str, extra: &[(&str, &str)]) -> String {
    query_with_verifier(server, client, scope, extra).0
}

/// [`query`] and its PKCE verifier, for a code to be exchanged.
fn query_with_verifier(
    server: &TestServer,
    client: &TestClient,
    scope: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut q = server.authorize_query(client, CONFIDENTIAL_REDIRECT, scope, &challenge);
    let mut u = url::Url::parse("http://x/").unwrap();
    u.query_pairs_mut().extend_pairs(extra);
    if let Some(more) = u.query() {
        q.push('&');
        q.push_str(more);
    }
    (q, verifier)
}

/// The claims of the ID token the code of `page` is exchanged for.
async fn id_token_claims(
    server: &TestServer,
    client: &TestClient,
    page: &Page,
    verifier: &str,
) -> serde_json::Value {
    let code = code_of(page);
    let (status, _, body) = server
        .exchange_code(client, &code, CONFIDENTIAL_REDIRECT, verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    claims_of(body["id_token"].as_str().expect("an ID token"))
}

async fn get(ua: &mut UserAgent, server: &TestServer, query: &str) -> Page {
    ua.get(&server.url(&format!("/authorize?{query}"))).await
}

/// Asserts an error response at the client's redirect URI (Core §3.1.2.6) with
/// the client's `state` and `iss` (RFC 9207).
fn assert_error_redirect(page: &Page, status: u16, error: &str, why: &str) {
    assert_eq!(page.status, status, "{why}: {}", page.body);
    let location = page
        .location()
        .unwrap_or_else(|| panic!("{why}: a redirect"));
    assert!(
        location.as_str().starts_with(CONFIDENTIAL_REDIRECT),
        "{why}: {location}"
    );
    assert_eq!(param(&location, "error").as_deref(), Some(error), "{why}");
    assert_eq!(
        param(&location, "state").as_deref(),
        Some("st-123"),
        "{why}"
    );
    assert!(param(&location, "iss").is_some(), "{why}: iss");
    assert!(param(&location, "code").is_none(), "{why}: no code");
}

/// Asserts a redirect with a code; returns the code.
fn assert_code(page: &Page, why: &str) -> String {
    assert!(
        matches!(page.status, 302 | 303),
        "{why}: {} {}",
        page.status,
        page.body
    );
    let location = page.location().expect("a redirect");
    assert!(param(&location, "error").is_none(), "{why}: {location}");
    param(&location, "code").unwrap_or_else(|| panic!("{why}: a code in {location}"))
}

/// The error page: no redirect.
fn assert_error_page(page: &Page, why: &str) {
    assert_eq!(page.status, 400, "{why}: {}", page.body);
    assert!(page.location().is_none(), "{why}");
    assert!(!page.is_login() && !page.is_consent(), "{why}");
}

/// `user` signs in and approves `openid read` for `client` in a new user agent;
/// the user agent (with its session) and the ID token of the code.
async fn sign_in(server: &TestServer, client: &TestClient, user: &str) -> (UserAgent, String) {
    let (verifier, challenge) = pkce();
    let q = server.authorize_query(client, CONFIDENTIAL_REDIRECT, "openid read", &challenge);
    let mut ua = UserAgent::new();
    let page = ua.authorize(server, &q, user).await;
    let code = assert_code(&page, "sign-in");
    let (status, _, body) = server
        .exchange_code(client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().expect("an ID token").to_owned();
    (ua, id_token)
}

/// A user agent holding a session of `username` that signed in `age` seconds ago.
async fn aged_session(server: &TestServer, username: &str, age: u64) -> UserAgent {
    let user = server.app.store.get_user(username).await.unwrap().unwrap();
    let signed_in = gatehouse_core::app::now() - age;
    let secret = random_token();
    let session = LoginSession {
        session_id: format!("aged-{}", random_token().expose()[..16].to_owned()),
        secret_hash: secret.hash(),
        user_id: user.user_id.clone(),
        username: username.into(),
        user_epoch: user.epoch,
        auth_time: signed_in,
        amr: "pwd".into(),
        created_at: signed_in,
        last_seen_at: signed_in,
        expires_at: signed_in + 8 * 3600,
        ended_at: None,
    };
    server.app.store.create_session(&session).await.unwrap();
    let mut ua = UserAgent::new();
    ua.cookies.insert(
        SESSION_COOKIE.into(),
        cookie_value(&session.session_id, secret.expose()),
    );
    ua
}

/// An ID token's claims, read without verification (it came from the token
/// endpoint; here only what it says matters).
fn claims_of(id_token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The ID token's `sub`.
fn sub_of(id_token: &str) -> String {
    claims_of(id_token)["sub"].as_str().unwrap().to_owned()
}

/// The code of a redirect with one.
fn code_of(page: &Page) -> String {
    assert_code(page, "code")
}

// max_age

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_max_age_that_is_not_a_non_negative_integer_is_invalid_request() {
    let (server, client) = setup().await;
    for bad in ["-1", "+5", "1.5", "1e3", "abc", "0x10", " 5"] {
        let page = get(
            &mut UserAgent::new(),
            &server,
            &query(&server, &client, "openid read", &[("max_age", bad)]),
        )
        .await;
        assert_error_redirect(&page, 302, "invalid_request", bad);
    }
    // With a redirect URI that is not registered: the error page, never a redirect.
    let q = query(&server, &client, "openid read", &[("max_age", "-1")]).replace(
        "redirect_uri=https%3A%2F%2Fapp.example%2Fcallback",
        "redirect_uri=https%3A%2F%2Fevil.example%2Fcallback",
    );
    assert!(q.contains("evil.example"));
    assert_error_page(&get(&mut UserAgent::new(), &server, &q).await, "evil");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_older_than_max_age_must_sign_in_again_and_prompt_none_is_login_required() {
    let (server, client) = setup().await;
    let alice = server.app.store.get_user("alice").await.unwrap().unwrap();
    server
        .app
        .store
        .put_consent(
            &alice.user_id,
            &client.id,
            &gatehouse_core::domain::scope::Scope::parse("openid read").unwrap(),
            gatehouse_core::app::now(),
        )
        .await
        .unwrap();
    let mut old = aged_session(&server, "alice", 1000).await;
    // prompt=none: login_required, with state and iss.
    let q = query(
        &server,
        &client,
        "openid read",
        &[("max_age", "60"), ("prompt", "none")],
    );
    assert_error_redirect(
        &get(&mut old, &server, &q).await,
        302,
        "login_required",
        "old, none",
    );
    // Without prompt=none: the login page, even with consent remembered.
    let (q, verifier) = query_with_verifier(&server, &client, "openid read", &[("max_age", "60")]);
    let login = get(&mut old, &server, &q).await;
    assert!(login.is_login(), "{}", login.body);
    // The login page's form cannot approve with the old session.
    let approve = old
        .post(
            &server.url("/authorize"),
            &[
                ("request", &login.field("request").unwrap()),
                ("csrf_token", &login.field("csrf_token").unwrap()),
                ("action", "approve"),
            ],
        )
        .await;
    assert!(approve.is_login(), "{} {}", approve.status, approve.body);
    assert!(approve.location().is_none());
    // Signing in answers it, with the new sign-in's auth_time.
    let done = old.login(&server, &login, "alice", PASSWORD).await;
    let claims = id_token_claims(&server, &client, &done, &verifier).await;
    let auth_time = claims["auth_time"].as_u64().unwrap();
    assert!(
        auth_time + 60 >= gatehouse_core::app::now(),
        "a new sign-in, not the old session's: {claims}"
    );
    // The same old session, when max_age allows its age: a code at once.
    let mut old = aged_session(&server, "alice", 1000).await;
    let q = query(
        &server,
        &client,
        "openid read",
        &[("max_age", "3600"), ("prompt", "none")],
    );
    code_of(&get(&mut old, &server, &q).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_0_always_asks_for_the_password_and_the_new_sign_in_may_approve() {
    let (server, client) = setup().await;
    let (mut ua, first) = sign_in(&server, &client, "alice").await;
    let first = claims_of(&first);
    let (q, verifier) =
        query_with_verifier(&server, &client, "openid read write", &[("max_age", "0")]);
    let login = get(&mut ua, &server, &q).await;
    assert!(login.is_login(), "a fresh session too: {}", login.body);
    let q = query(
        &server,
        &client,
        "openid read",
        &[("max_age", "0"), ("prompt", "none")],
    );
    assert_error_redirect(
        &get(&mut ua, &server, &q).await,
        302,
        "login_required",
        "0, none",
    );
    // The sign-in made for the request shows the consent page (write is new),
    // whose approval is accepted though max_age is 0.
    let consent = ua.login(&server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent(), "{}", consent.body);
    let done = ua.consent(&server, &consent, "approve").await;
    assert_eq!(done.status, 303);
    // A new session: another sid, an auth_time not before the first.
    let claims = id_token_claims(&server, &client, &done, &verifier).await;
    assert_ne!(claims["sid"], first["sid"], "{claims}");
    assert!(claims["auth_time"].as_u64() >= first["auth_time"].as_u64());
}

// prompt

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_with_any_other_value_or_an_unknown_value_is_invalid_request() {
    let (server, client) = setup().await;
    for bad in [
        "none login",
        "none consent",
        "none select_account",
        "login none",
        "sometimes",
    ] {
        let page = get(
            &mut UserAgent::new(),
            &server,
            &query(&server, &client, "openid read", &[("prompt", bad)]),
        )
        .await;
        assert_error_redirect(&page, 302, "invalid_request", bad);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_with_a_bad_redirect_uri_gets_the_error_page_never_a_redirect() {
    let (server, client) = setup().await;
    let q = query(&server, &client, "openid read", &[("prompt", "none")]).replace(
        "redirect_uri=https%3A%2F%2Fapp.example%2Fcallback",
        "redirect_uri=https%3A%2F%2Fevil.example%2Fcallback",
    );
    assert!(q.contains("evil.example"));
    assert_error_page(
        &get(&mut UserAgent::new(), &server, &q).await,
        "unregistered",
    );
    let q = query(&server, &client, "openid read", &[("prompt", "none")])
        .replace(&format!("client_id={}", client.id), "client_id=nobody");
    assert_error_page(
        &get(&mut UserAgent::new(), &server, &q).await,
        "unknown client",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_without_a_session_is_login_required() {
    let (server, client) = setup().await;
    let q = query(&server, &client, "openid read", &[("prompt", "none")]);
    let page = get(&mut UserAgent::new(), &server, &q).await;
    assert_error_redirect(&page, 302, "login_required", "no session");
    // A cookie that names no session is no session.
    let mut ua = UserAgent::new();
    ua.cookies
        .insert(SESSION_COOKIE.into(), "nosuch.session".into());
    assert_error_redirect(
        &get(&mut ua, &server, &q).await,
        302,
        "login_required",
        "forged",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_with_a_disabled_user_or_an_ended_session_is_login_required() {
    let (server, client) = setup().await;
    let (mut alice, _) = sign_in(&server, &client, "alice").await;
    let (mut bob, _) = sign_in(&server, &client, "bob").await;
    let q = query(&server, &client, "openid read", &[("prompt", "none")]);
    code_of(&get(&mut alice, &server, &q).await);
    code_of(&get(&mut bob, &server, &q).await);
    assert!(server.app.store.set_disabled("alice", true).await.unwrap());
    assert!(server.app.store.end_sessions("bob").await.unwrap());
    assert_error_redirect(
        &get(&mut alice, &server, &q).await,
        302,
        "login_required",
        "disabled",
    );
    assert_error_redirect(
        &get(&mut bob, &server, &q).await,
        302,
        "login_required",
        "ended",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_succeeds_for_the_consented_scopes_or_fewer_and_is_consent_required_for_more() {
    let (server, client) = setup().await;
    // Consent for openid and read (sign_in approves `openid read`).
    let (mut ua, _) = sign_in(&server, &client, "alice").await;
    for (scope, ok) in [
        ("openid read", true),
        ("openid", true),
        ("read", true),
        ("openid read write", false),
        ("write", false),
    ] {
        let page = get(
            &mut ua,
            &server,
            &query(&server, &client, scope, &[("prompt", "none")]),
        )
        .await;
        if ok {
            code_of(&page);
        } else {
            assert_error_redirect(&page, 302, "consent_required", scope);
        }
    }
    // Approving the superset once covers every subset after.
    let page = get(
        &mut ua,
        &server,
        &query(&server, &client, "openid read write", &[]),
    )
    .await;
    assert!(page.is_consent(), "{}", page.body);
    code_of(&ua.consent(&server, &page, "approve").await);
    for scope in ["openid read write", "write", "openid write"] {
        let q = query(&server, &client, scope, &[("prompt", "none")]);
        code_of(&get(&mut ua, &server, &q).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_select_account_names_the_user_and_continues_or_signs_in_as_another() {
    let (server, client) = setup().await;
    let (mut ua, _) = sign_in(&server, &client, "alice").await;
    let q = query(
        &server,
        &client,
        "openid read",
        &[("prompt", "select_account")],
    );
    let page = get(&mut ua, &server, &q).await;
    assert!(page.is_login(), "{}", page.body);
    assert!(page.body.contains("value=\"continue\""), "{}", page.body);
    assert!(page.body.contains("Continue as alice"), "{}", page.body);
    // "Continue" without the CSRF token does nothing.
    let forged = ua
        .post(
            &server.url("/authorize"),
            &[
                ("request", &page.field("request").unwrap()),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    // Continue as alice: a code.
    let csrf = page.field("csrf_token").unwrap();
    let request = page.field("request").unwrap();
    let done = ua
        .post(
            &server.url("/authorize"),
            &[
                ("request", &request),
                ("csrf_token", &csrf),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    code_of(&done);
    // Or sign in as bob from the same page: his consent is asked.
    let consent = ua.login(&server, &page, "bob", PASSWORD).await;
    assert!(consent.is_consent(), "{}", consent.body);
    assert!(consent.body.contains("bob"));
    // "Continue" with no session is the login page.
    let mut fresh = UserAgent::new();
    let login = get(&mut fresh, &server, &q).await;
    assert!(login.is_login() && !login.body.contains("value=\"continue\""));
    let after = fresh
        .post(
            &server.url("/authorize"),
            &[
                ("request", &login.field("request").unwrap()),
                ("csrf_token", &login.field("csrf_token").unwrap()),
                ("action", "continue"),
            ],
        )
        .await;
    assert!(
        after.is_login() && after.location().is_none(),
        "{}",
        after.body
    );
}

// id_token_hint

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverifiable_id_token_hint_is_invalid_request() {
    let (server, client) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &client, "alice").await;
    // An access token of this server, signed by the same key: not an ID token.
    let access_token = {
        let (verifier, challenge) = pkce();
        let q = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "openid read", &challenge);
        let code = code_of(&ua.authorize(&server, &q, "alice").await);
        let (_, _, body) = server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    };
    let mut tampered = id_token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    for (why, hint) in [
        ("not a JWT", "not-a-token".to_owned()),
        ("a tampered signature", tampered),
        ("an access token", access_token),
    ] {
        for prompt in [None, Some("none")] {
            let mut extra = vec![("id_token_hint", hint.as_str())];
            if let Some(p) = prompt {
                extra.push(("prompt", p));
            }
            let page = get(
                &mut ua,
                &server,
                &query(&server, &client, "openid read", &extra),
            )
            .await;
            assert_error_redirect(&page, 302, "invalid_request", why);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_issued_to_another_client_is_invalid_request() {
    let (server, client) = setup().await;
    let other = server
        .code_client(ClientType::Confidential, "openid read")
        .await;
    let (mut ua, other_token) = sign_in(&server, &other, "alice").await;
    let q = query(
        &server,
        &client,
        "openid read",
        &[("id_token_hint", &other_token)],
    );
    assert_error_redirect(
        &get(&mut ua, &server, &q).await,
        302,
        "invalid_request",
        "other client",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_for_another_user_is_login_required_or_the_login_page() {
    let (server, client) = setup().await;
    let (mut alice, _) = sign_in(&server, &client, "alice").await;
    let (_, bobs_token) = sign_in(&server, &client, "bob").await;
    let q = query(
        &server,
        &client,
        "openid read",
        &[("id_token_hint", &bobs_token), ("prompt", "none")],
    );
    assert_error_redirect(
        &get(&mut alice, &server, &q).await,
        302,
        "login_required",
        "none",
    );
    let q = query(
        &server,
        &client,
        "openid read",
        &[("id_token_hint", &bobs_token)],
    );
    let login = get(&mut alice, &server, &q).await;
    assert!(login.is_login(), "the session is not bob's: {}", login.body);
    // Its form cannot approve with alice's session.
    let approve = alice
        .post(
            &server.url("/authorize"),
            &[
                ("request", &login.field("request").unwrap()),
                ("csrf_token", &login.field("csrf_token").unwrap()),
                ("action", "approve"),
            ],
        )
        .await;
    assert!(
        approve.is_login() && approve.location().is_none(),
        "{}",
        approve.body
    );
    // Signing in as alice does not answer a request for bob.
    let wrong = alice.login(&server, &login, "alice", PASSWORD).await;
    assert_error_redirect(&wrong, 303, "login_required", "signed in as alice");
    // Signing in as bob does.
    let right = alice.login(&server, &login, "bob", PASSWORD).await;
    code_of(&right);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_for_the_session_user_with_prompt_none_gives_a_code() {
    let (server, client) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &client, "alice").await;
    let q = query(
        &server,
        &client,
        "openid read",
        &[("id_token_hint", &id_token), ("prompt", "none")],
    );
    code_of(&get(&mut ua, &server, &q).await);
}

// login_hint

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_hint_prefills_the_username_escaped_and_bounded_and_never_chooses_the_user() {
    let (server, client) = setup().await;
    let mut ua = UserAgent::new();
    let long = "a".repeat(65);
    for (hint, shown) in [
        ("alice", "alice"),
        ("alice@example.com", "alice@example.com"),
        (
            "\"><b>x</b><input name=\"password",
            "\"><b>x</b><input name=\"password",
        ),
        (long.as_str(), ""),
    ] {
        let q = query(&server, &client, "openid read", &[("login_hint", hint)]);
        let page = get(&mut ua, &server, &q).await;
        assert!(page.is_login(), "{}", page.body);
        assert!(!page.body.contains("<b>"), "escaped: {}", page.body);
        assert_eq!(page.field("username").as_deref(), Some(shown), "{hint}");
    }
    // The hint names alice; bob signs in, and the code is bob's.
    let (verifier, challenge) = pkce();
    let q = format!(
        "{}&login_hint=alice",
        server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "openid read", &challenge)
    );
    let mut ua = UserAgent::new();
    let code = code_of(&ua.authorize(&server, &q, "bob").await);
    let (_, _, body) = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    let bob = server.app.store.get_user("bob").await.unwrap().unwrap();
    assert_eq!(sub_of(body["id_token"].as_str().unwrap()), bob.user_id);
}

// display, locales, acr_values, unknown parameters

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_value_the_specification_does_not_define_is_invalid_request() {
    let (server, client) = setup().await;
    for bad in ["embedded", "PAGE", "page popup"] {
        let q = query(&server, &client, "openid read", &[("display", bad)]);
        assert_error_redirect(
            &get(&mut UserAgent::new(), &server, &q).await,
            302,
            "invalid_request",
            bad,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn display_locales_acr_values_and_unknown_parameters_do_not_break_the_request() {
    let (server, client) = setup().await;
    for extra in [
        vec![("display", "page")],
        vec![("display", "popup")],
        vec![("display", "touch")],
        vec![("display", "wap")],
        vec![("ui_locales", "fr-CA fr en")],
        vec![("ui_locales", "xx-unknown")],
        vec![("claims_locales", "de ja")],
        vec![("acr_values", "urn:mace:incommon:iap:silver 0")],
        vec![("an_unknown_parameter", "whatever"), ("another", "")],
    ] {
        let (verifier, challenge) = pkce();
        let mut q =
            server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "openid read", &challenge);
        for (k, v) in &extra {
            q.push_str(&format!("&{k}={}", v.replace(' ', "+")));
        }
        let mut ua = UserAgent::new();
        let code = code_of(&ua.authorize(&server, &q, "alice").await);
        let (status, _, body) = server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await;
        assert_eq!(status, 200, "{extra:?}: {body}");
        assert!(body["id_token"].is_string(), "{extra:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_lists_the_display_values_and_no_acr_values() {
    let server = TestServer::start().await;
    let body: serde_json::Value = server.openid_configuration().await;
    assert_eq!(
        body["display_values_supported"],
        serde_json::json!(["page", "popup", "touch", "wap"])
    );
    for absent in [
        "acr_values_supported",
        "ui_locales_supported",
        "claims_locales_supported",
    ] {
        assert!(body.get(absent).is_none(), "{absent}");
    }
}

// The authentication request by POST

/// POSTs `body` as a form to `/authorize` with the cookies of `ua`, keeping
/// those it sets.
async fn post_request(ua: &mut UserAgent, server: &TestServer, body: &str) -> Page {
    let mut req = http()
        .post(server.url("/authorize"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if !ua.cookies.is_empty() {
        let cookies: Vec<String> = ua.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req = req.header(header::COOKIE, cookies.join("; "));
    }
    let resp = req.send().await.unwrap();
    for c in resp.headers().get_all(header::SET_COOKIE) {
        let pair = c.to_str().unwrap().split(';').next().unwrap();
        let (k, v) = pair.split_once('=').unwrap();
        ua.cookies.insert(k.to_owned(), v.to_owned());
    }
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_request_cannot_sign_in_or_approve_without_the_forms_csrf_token() {
    let (server, client) = setup().await;
    let (mut ua, _) = sign_in(&server, &client, "alice").await;
    let alice = server.app.store.get_user("alice").await.unwrap().unwrap();
    let before = server
        .app
        .store
        .get_consent(&alice.user_id, &client.id)
        .await
        .unwrap();
    let q = query(&server, &client, "openid read write", &[]);
    // A bare request by POST: the consent page, as its GET shows; nothing approved.
    let consent = post_request(&mut ua, &server, &q).await;
    assert!(consent.is_consent(), "{} {}", consent.status, consent.body);
    // The request's fields with the form's action but no CSRF token: refused.
    for extra in [
        "&action=approve",
        "&action=login&username=alice&password=correct+horse+battery",
        "&username=alice&password=correct+horse+battery",
    ] {
        let page = post_request(&mut ua, &server, &format!("{q}{extra}")).await;
        assert!(
            matches!(page.status, 400 | 403),
            "{extra}: {} {}",
            page.status,
            page.body
        );
        assert!(page.location().is_none(), "{extra}");
    }
    // The step form without its CSRF token: refused too.
    let page = post_request(
        &mut ua,
        &server,
        &format!(
            "request={}&action=approve",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        ),
    )
    .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let after = server
        .app
        .store
        .get_consent(&alice.user_id, &client.id)
        .await
        .unwrap();
    assert_eq!(after, before, "no consent was recorded");
    // Signing in by a bare POST without a session is not possible either.
    let mut anonymous = UserAgent::new();
    let page = post_request(
        &mut anonymous,
        &server,
        &format!("{q}&username=alice&password=correct+horse+battery"),
    )
    .await;
    assert!(page.location().is_none(), "{}", page.body);
    assert!(
        !page
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with(SESSION_COOKIE)),
        "no session is started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_request_is_refused_as_its_get_would_be() {
    let (server, client) = setup().await;
    let mut ua = UserAgent::new();
    // prompt=none without a session: login_required, by 303.
    let q = query(&server, &client, "openid read", &[("prompt", "none")]);
    assert_error_redirect(
        &post_request(&mut ua, &server, &q).await,
        303,
        "login_required",
        "none",
    );
    // Repeated parameter, bad max_age: invalid_request at the redirect URI.
    let q = query(&server, &client, "openid read", &[("scope", "write")]);
    assert_error_redirect(
        &post_request(&mut ua, &server, &q).await,
        303,
        "invalid_request",
        "repeated",
    );
    let q = query(&server, &client, "openid read", &[("max_age", "x")]);
    assert_error_redirect(
        &post_request(&mut ua, &server, &q).await,
        303,
        "invalid_request",
        "max_age",
    );
    // A request object: its own error.
    let q = query(
        &server,
        &client,
        "openid read",
        &[("request", "eyJhbGciOiJub25lIn0.e30.")],
    );
    assert_error_redirect(
        &post_request(&mut ua, &server, &q).await,
        303,
        "request_not_supported",
        "request object",
    );
    // An unregistered redirect URI: the error page.
    let q = query(&server, &client, "openid read", &[]).replace(
        "redirect_uri=https%3A%2F%2Fapp.example%2Fcallback",
        "redirect_uri=https%3A%2F%2Fevil.example%2Fcallback",
    );
    assert_error_page(&post_request(&mut ua, &server, &q).await, "evil");
    // Not a form: 400.
    let resp = http()
        .post(server.url("/authorize"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(format!("{{\"q\":\"{q}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_post_without_the_session_cookie_is_sent_to_the_same_request_by_get() {
    let (server, client) = setup().await;
    let (mut ua, _) = sign_in(&server, &client, "alice").await;
    let q = query(
        &server,
        &client,
        "openid read",
        &[("prompt", "none"), ("nonce", "n 1")],
    );
    let cross_site = |cookies: Option<String>| {
        let mut req = http()
            .post(server.url("/authorize"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "cross-site")
            .body(q.clone());
        if let Some(c) = cookies {
            req = req.header(header::COOKIE, c);
        }
        req.send()
    };
    // A browser withholds the SameSite=Lax session cookie from a cross-site
    // POST: 303 to the GET of the same parameters, which it sends the cookie with.
    let resp = cross_site(None).await.unwrap();
    assert_eq!(resp.status(), 303);
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let (path, carried) = location.split_once('?').unwrap();
    assert_eq!(path, server.url("/authorize"));
    let pairs = |s: &str| {
        let mut v: Vec<(String, String)> = url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect();
        v.sort();
        v
    };
    assert_eq!(pairs(carried), pairs(&q));
    code_of(&ua.get(&location).await);
    // With the cookie (or from this site), the POST is answered at once.
    let cookies: Vec<String> = ua.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let resp = cross_site(Some(cookies.join("; "))).await.unwrap();
    assert_eq!(resp.status(), 303);
    let location = url::Url::parse(resp.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    assert!(
        location.as_str().starts_with(CONFIDENTIAL_REDIRECT),
        "{location}"
    );
    assert!(param(&location, "code").is_some(), "{location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authentication_request_by_post_runs_the_whole_flow_to_verified_tokens() {
    let (server, registered) = setup().await;
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http())
        .await
        .unwrap();
    let client: Rp = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        registered.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(CONFIDENTIAL_REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("read".into()))
        .add_extra_param("display", "popup")
        .add_extra_param("login_hint", "alice")
        .set_pkce_challenge(challenge)
        .url();
    // The library's request parameters, sent as a form body instead of a query.
    let body = url.query().unwrap().to_owned();
    let mut ua = UserAgent::new();
    let login = post_request(&mut ua, &server, &body).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.is_login(), "{}", login.body);
    assert_eq!(login.field("username").as_deref(), Some("alice"));
    // The page carries the POSTed request on, as a query string of the same
    // parameters.
    let carried = login.field("request").unwrap();
    let pairs = |s: &str| {
        let mut v: Vec<(String, String)> = url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect();
        v.sort();
        v
    };
    assert_eq!(pairs(&carried), pairs(&body));
    let consent = ua.login(&server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent(), "{}", consent.body);
    assert_eq!(consent.field("request").unwrap(), carried);
    let done = ua.consent(&server, &consent, "approve").await;
    assert_eq!(done.status, 303);
    let location = done.location().unwrap();
    assert_eq!(
        param(&location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = param(&location, "code").unwrap();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("the code exchange succeeds");
    let verifier: CoreIdTokenVerifier<'_> = client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ]);
    let claims = token
        .id_token()
        .expect("an ID token")
        .claims(&verifier, &nonce)
        .expect("the library verifies it");
    let alice = server.app.store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(claims.subject().as_str(), alice.user_id);
    assert!(claims.auth_time().is_some());
    // With the session, a POSTed prompt=none request gets a code at once, by 303.
    let (_, challenge) = pkce();
    let again = format!(
        "{}&prompt=none&nonce=n-1",
        server.authorize_query(
            &registered,
            CONFIDENTIAL_REDIRECT,
            "openid read",
            &challenge
        )
    );
    let page = post_request(&mut ua, &server, &again).await;
    assert_eq!(page.status, 303, "{}", page.body);
    code_of(&page);
}
