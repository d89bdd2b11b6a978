//! Negative tests of the browser flow's grants at the token endpoint: the
//! authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §4.8.2) and the
//! refresh token (RFC 6749 §6, RFC 9700 §4.14.2), and what introspection (RFC 7662)
//! and revocation (RFC 7009) make of the tokens of this flow. Every refusal is an
//! RFC 6749 §5.2 error: JSON, `Cache-Control: no-store`, 400 (401 for
//! `invalid_client`).

use gatehouse_core::app::now;
use gatehouse_core::domain::client::{ClientType, GrantType};
use gatehouse_core::domain::user::User;
use gatehouse_core::secret::random_token;
use gatehouse_core::store::UserStore;
use gatehouse_tests::flow::{
    CONFIDENTIAL_REDIRECT, PUBLIC_REDIRECT, UserAgent, param, pkce, tokens,
};
use gatehouse_tests::serde_json::Value;
use gatehouse_tests::{Answer, TestClient, TestServer, assert_error};
use std::time::Duration;

const ALICE: &str = "alice";

/// Alice's user agent: signs in on the first authorization and keeps the session,
/// so later authorizations (consent remembered) come straight back with a code.
struct Alice(UserAgent);

impl Alice {
    fn new() -> Self {
        Self(UserAgent::new())
    }

    /// Runs `/authorize` for `client` with `params` (`response_type=code` and
    /// `client_id` are added) as alice, approving; returns the code.
    async fn code(
        &mut self,
        server: &TestServer,
        client: &TestClient,
        params: &[(&str, &str)],
    ) -> String {
        let mut u = url::Url::parse("http://x/").unwrap();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client.id);
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        let page = self.0.authorize(server, u.query().unwrap(), ALICE).await;
        let location = page.location().expect("the redirect has a Location");
        param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
    }

    /// A code for `scope` sent to `redirect` (named in the request), with an S256
    /// challenge; returns the code and its verifier.
    async fn code_pkce(
        &mut self,
        server: &TestServer,
        client: &TestClient,
        redirect: &str,
        scope: &str,
    ) -> (String, String) {
        let (verifier, challenge) = pkce();
        let code = self
            .code(
                server,
                client,
                &[
                    ("redirect_uri", redirect),
                    ("scope", scope),
                    ("state", "st"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        (code, verifier)
    }
}

/// The redirect URI `code_client` registered for `client`.
fn redirect_of(client: &TestClient) -> &'static str {
    if client.secret.is_some() {
        CONFIDENTIAL_REDIRECT
    } else {
        PUBLIC_REDIRECT
    }
}

/// Runs the whole authorization for `scope` and redeems the code; returns the
/// access and refresh token.
async fn grant(
    server: &TestServer,
    browser: &mut Alice,
    client: &TestClient,
    scope: &str,
) -> (String, String) {
    let redirect = redirect_of(client);
    let (code, verifier) = browser.code_pkce(server, client, redirect, scope).await;
    tokens(
        &server
            .exchange_code(client, &code, redirect, &verifier)
            .await,
    )
}

/// A server with alice and one client of `client_type` (scopes `read write`).
async fn setup(client_type: ClientType) -> (TestServer, TestClient, User) {
    setup_with(client_type, |_| {}).await
}

async fn setup_with(
    client_type: ClientType,
    adjust: impl FnOnce(&mut gatehouse_core::config::Config),
) -> (TestServer, TestClient, User) {
    let server = TestServer::start_with(adjust).await;
    let alice = server.user(ALICE).await;
    let client = server.code_client(client_type, "read write").await;
    (server, client, alice)
}

// The authorization code grant: the request.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_without_a_code_is_invalid_request() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    for form in [
        vec![("grant_type", "authorization_code")],
        vec![("grant_type", "authorization_code"), ("code", "")],
        vec![
            ("grant_type", "authorization_code"),
            ("redirect_uri", CONFIDENTIAL_REDIRECT),
            ("code_verifier", &"a".repeat(43)),
        ],
    ] {
        let answer = server.token_request(&client, &form).await;
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_oversized_codes_are_invalid_grant() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let unknown = random_token().expose().to_owned();
    for code in [
        unknown.as_str(),
        "x",
        &"a".repeat(4096),
        &"a".repeat(4097),
        &"a".repeat(10_000),
    ] {
        let answer = server
            .exchange_code(&client, code, CONFIDENTIAL_REDIRECT, &"a".repeat(43))
            .await;
        assert_error(&answer, 400, "invalid_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_types_the_server_does_not_implement_are_unsupported_grant_type() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, _) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    for grant_type in [
        "password",
        "implicit",
        "token",
        "code",
        "AUTHORIZATION_CODE",
        "authorization_code ",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let answer = server
            .token_request(
                &client,
                &[
                    ("grant_type", grant_type),
                    ("code", &code),
                    ("username", ALICE),
                    ("password", gatehouse_tests::flow::PASSWORD),
                ],
            )
            .await;
        assert_error(&answer, 400, "unsupported_grant_type");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_not_registered_for_the_code_grant_is_unauthorized_client() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    let service = server.cc_client("read").await;
    let answer = server
        .exchange_code(&service, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "unauthorized_client");
    let answer = server.refresh_grant(&service, "whatever", None).await;
    assert_error(&answer, 400, "unauthorized_client");
    // Refused before the code was looked at: its client may still redeem it.
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_client_secret_is_invalid_client_and_leaves_the_code_usable() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CONFIDENTIAL_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let answer = server
        .post_form("/token", Some((&client.id, "not-the-secret")), &form)
        .await;
    assert_error(&answer, 401, "invalid_client");
    let mut post = form.to_vec();
    post.extend([
        ("client_id", client.id.as_str()),
        ("client_secret", "not-the-secret"),
    ]);
    let answer = server.post_form("/token", None, &post).await;
    assert_error(&answer, 401, "invalid_client");
    let mut id_only = form.to_vec();
    id_only.push(("client_id", client.id.as_str()));
    let answer = server.post_form("/token", None, &id_only).await;
    assert_error(&answer, 401, "invalid_client");
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_presenting_a_made_up_secret_is_invalid_client() {
    let (server, client, _) = setup(ClientType::Public).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, PUBLIC_REDIRECT, "read")
        .await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PUBLIC_REDIRECT),
        ("code_verifier", verifier.as_str()),
        ("client_id", client.id.as_str()),
    ];
    let mut post = form.to_vec();
    post.push(("client_secret", "made-up"));
    assert_error(
        &server.post_form("/token", None, &post).await,
        401,
        "invalid_client",
    );
    assert_error(
        &server
            .post_form("/token", Some((&client.id, "made-up")), &form[..4])
            .await,
        401,
        "invalid_client",
    );
    let answer = server.post_form("/token", None, &form).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

// The authorization code grant: PKCE (RFC 7636 §4.6, RFC 9700 §4.8.2).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_code_verifier_is_invalid_grant_and_leaves_the_code_to_its_owner() {
    let (server, client, _) = setup(ClientType::Public).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, PUBLIC_REDIRECT, "read")
        .await;
    let answer = server
        .token_request(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", PUBLIC_REDIRECT),
            ],
        )
        .await;
    assert_error(&answer, 400, "invalid_grant");
    // The refusal used nothing up: whoever lacks the verifier cannot destroy the
    // code for its owner (a verifier has 256 bits; the code lives a minute).
    let answer = server
        .exchange_code(&client, &code, PUBLIC_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_malformed_code_verifiers_are_invalid_grant_and_the_owner_then_succeeds() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    // Each case makes a bad verifier from the right one and the challenge.
    type Spoil = fn(&str, &str) -> String;
    let cases: [(&str, Spoil); 8] = [
        ("another valid verifier", |_, _| pkce().0),
        ("the challenge itself", |_, challenge| challenge.to_owned()),
        ("42 characters", |v, _| v[..42].to_owned()),
        ("a `+`", |v, _| format!("{}+", &v[..42])),
        ("a `/`", |v, _| format!("/{}", &v[1..])),
        ("padding", |v, _| format!("{v}=")),
        ("129 characters", |v, _| format!("{v}{}", "a".repeat(86))),
        ("a different case", |v, _| v.to_uppercase()),
    ];
    for (what, bad) in cases {
        let (verifier, challenge) = pkce();
        assert_ne!(verifier, verifier.to_uppercase());
        let code = browser
            .code(
                &server,
                &client,
                &[
                    ("redirect_uri", CONFIDENTIAL_REDIRECT),
                    ("scope", "read"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await;
        let wrong = bad(&verifier, &challenge);
        let answer = server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &wrong)
            .await;
        assert_eq!(answer.2["error"], "invalid_grant", "{what}: {}", answer.2);
        assert_error(&answer, 400, "invalid_grant");
        let answer = server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await;
        assert_eq!(answer.0, 200, "{what}: the owner after: {}", answer.2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_for_a_code_issued_without_a_challenge_is_invalid_grant() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let no_pkce = [
        ("redirect_uri", CONFIDENTIAL_REDIRECT),
        ("scope", "read"),
        ("state", "st"),
    ];
    // RFC 9700 §4.8.2: a verifier where no challenge was sent is a downgrade.
    let code = browser.code(&server, &client, &no_pkce).await;
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &pkce().0)
        .await;
    assert_error(&answer, 400, "invalid_grant");
    // The same kind of code without a verifier is a plain confidential exchange.
    let code = browser.code(&server, &client, &no_pkce).await;
    let answer = server
        .token_request(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CONFIDENTIAL_REDIRECT),
            ],
        )
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    assert_eq!(answer.2["scope"], "read");
}

// The authorization code grant: the redirect URI (RFC 6749 §4.1.3).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_redirect_uri_is_invalid_grant_when_the_authorization_request_had_one_and_uses_nothing()
 {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    let answer = server
        .token_request(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_error(&answer, 400, "invalid_grant");
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "the owner after: {}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_uri_differing_from_the_authorization_request_is_invalid_grant_and_uses_nothing()
{
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    for other in [
        "https://app.example/callback/",
        "https://app.example/other",
        "https://app.example/callback?x=1",
        "https://APP.example/callback",
        "https://app.example:443/callback",
        "http://app.example/callback",
    ] {
        let (code, verifier) = browser
            .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
            .await;
        let answer = server.exchange_code(&client, &code, other, &verifier).await;
        assert_eq!(answer.2["error"], "invalid_grant", "{other}: {}", answer.2);
        assert_error(&answer, 400, "invalid_grant");
        let answer = server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await;
        assert_eq!(answer.0, 200, "{other}: the owner after: {}", answer.2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_must_repeat_the_exact_loopback_port_it_was_sent_to() {
    let (server, client, _) = setup(ClientType::Public).await;
    let mut browser = Alice::new();
    let used = "http://127.0.0.1:5555/callback";
    for other in [
        "http://127.0.0.1:6666/callback",
        PUBLIC_REDIRECT,
        "http://localhost:5555/callback",
        "http://127.0.0.1:5555/callback/",
    ] {
        let (code, verifier) = browser.code_pkce(&server, &client, used, "read").await;
        let answer = server.exchange_code(&client, &code, other, &verifier).await;
        assert_eq!(answer.2["error"], "invalid_grant", "{other}: {}", answer.2);
        assert_error(&answer, 400, "invalid_grant");
    }
    let (code, verifier) = browser.code_pkce(&server, &client, used, "read").await;
    let answer = server.exchange_code(&client, &code, used, &verifier).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

/// A code for `scope` `read` whose authorization request named no redirect URI.
async fn code_without_redirect(
    browser: &mut Alice,
    server: &TestServer,
    client: &TestClient,
) -> (String, String) {
    let (verifier, challenge) = pkce();
    let code = browser
        .code(
            server,
            client,
            &[
                ("scope", "read"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    (code, verifier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_redirect_uri_in_the_authorization_request_the_token_request_may_omit_it_or_repeat_the_registered_one()
 {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = code_without_redirect(&mut browser, &server, &client).await;
    let answer = server
        .token_request(
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(answer.0, 200, "omitted: {}", answer.2);
    let (code, verifier) = code_without_redirect(&mut browser, &server, &client).await;
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "the registered one: {}", answer.2);
    let (code, verifier) = code_without_redirect(&mut browser, &server, &client).await;
    let answer = server
        .exchange_code(&client, &code, "https://app.example/callback/", &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
}

// The authorization code grant: the code's client, lifetime and single use.

/// A code presented by another client of the same type is `invalid_grant`, and
/// the refusal leaves it usable by the client it was issued to.
async fn another_clients_code_is_refused(client_type: ClientType, redirect: &str) {
    let (server, a, _) = setup(client_type).await;
    let b = server.code_client(client_type, "read write").await;
    let mut browser = Alice::new();
    let (code, verifier) = browser.code_pkce(&server, &a, redirect, "read").await;
    let answer = server.exchange_code(&b, &code, redirect, &verifier).await;
    assert_error(&answer, 400, "invalid_grant");
    let answer = server.exchange_code(&a, &code, redirect, &verifier).await;
    assert_eq!(answer.0, 200, "its owner still redeems it: {}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_presented_by_another_confidential_client_is_invalid_grant_and_stays_usable() {
    another_clients_code_is_refused(ClientType::Confidential, CONFIDENTIAL_REDIRECT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_cannot_redeem_another_public_clients_code() {
    another_clients_code_is_refused(ClientType::Public, PUBLIC_REDIRECT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_invalid_grant() {
    let (server, client, _) = setup_with(ClientType::Confidential, |c| c.code_ttl = 1).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_code_is_invalid_grant_and_revokes_the_tokens_of_the_first_redemption() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read write")
        .await;
    let (access, refresh_token) = tokens(
        &server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await,
    );
    assert!(server.is_active(&rs, &access).await);
    assert!(server.is_active(&rs, &refresh_token).await);
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
    assert!(!server.is_active(&rs, &access).await);
    assert!(!server.is_active(&rs, &refresh_token).await);
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
    // A third try is refused the same way.
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
}

/// Of two simultaneous redemptions exactly one wins (the code's first redemption
/// always completes, so the loser's replay may come before the winner's tokens
/// exist); a later replay revokes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_redemptions_one_wins_and_a_later_replay_revokes_its_tokens() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    let (a, b) = tokio::join!(
        server.exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier),
        server.exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier),
    );
    let (won, lost) = if a.0 == 200 { (a, b) } else { (b, a) };
    assert_error(&lost, 400, "invalid_grant");
    let (access, refresh_token) = tokens(&won);
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
    assert!(!server.is_active(&rs, &access).await);
    assert!(!server.is_active(&rs, &refresh_token).await);
}

// The authorization code grant: what the client gets, and for whom.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registered_without_refresh_token_gets_no_refresh_token() {
    let server = TestServer::start().await;
    server.user(ALICE).await;
    let client = server
        .code_client_with(ClientType::Confidential, "read", |r| {
            r.grant_types = vec![GrantType::AuthorizationCode]
        })
        .await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    let (status, _, body) = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let answer = server.refresh_grant(&client, "anything", None).await;
    assert_error(&answer, 400, "unauthorized_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_of_one_kind_are_not_accepted_as_another() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    // A code is not a refresh token.
    let answer = server.refresh_grant(&client, &code, None).await;
    assert_error(&answer, 400, "invalid_grant");
    // ... and presenting it as one did not use it up.
    let (access, refresh_token) = tokens(
        &server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await,
    );
    // Neither an access token nor a refresh token is a code.
    for not_a_code in [&access, &refresh_token] {
        let answer = server
            .exchange_code(&client, not_a_code, CONFIDENTIAL_REDIRECT, &verifier)
            .await;
        assert_error(&answer, 400, "invalid_grant");
    }
    // An access token is not a refresh token.
    let answer = server.refresh_grant(&client, &access, None).await;
    assert_error(&answer, 400, "invalid_grant");
    // None of this used up the refresh token.
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_of_a_disabled_user_is_invalid_grant() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    assert!(server.app.store.set_disabled(ALICE, true).await.unwrap());
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_of_a_deleted_user_is_invalid_grant() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    assert!(server.app.store.delete_user(ALICE).await.unwrap());
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_recreated_under_the_same_name_does_not_inherit_the_old_grants() {
    let (server, client, old) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (access, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    assert!(server.app.store.delete_user(ALICE).await.unwrap());
    let new = server.user(ALICE).await;
    assert_ne!(new.user_id, old.user_id);
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
    assert!(!server.is_active(&rs, &access).await);
    // The new alice gets grants of her own.
    let (access, _) = grant(&server, &mut Alice::new(), &client, "read").await;
    let body = server.introspect_as(&rs, &access).await;
    assert_eq!(body["sub"], new.user_id.as_str(), "{body}");
}

// The refresh token grant: the request.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_request_without_a_refresh_token_is_invalid_request() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    for form in [
        vec![("grant_type", "refresh_token")],
        vec![("grant_type", "refresh_token"), ("refresh_token", "")],
        vec![("grant_type", "refresh_token"), ("scope", "read")],
    ] {
        let answer = server.token_request(&client, &form).await;
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_oversized_refresh_tokens_are_invalid_grant() {
    let (server, client, _) = setup(ClientType::Public).await;
    let unknown = random_token().expose().to_owned();
    for token in [
        unknown.as_str(),
        "x",
        &"a".repeat(4096),
        &"a".repeat(4097),
        &"a".repeat(10_000),
    ] {
        let answer = server.refresh_grant(&client, token, None).await;
        assert_error(&answer, 400, "invalid_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_clients_refresh_token_is_invalid_grant() {
    let (server, a, _) = setup(ClientType::Confidential).await;
    let b = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let public_a = server.code_client(ClientType::Public, "read write").await;
    let public_b = server.code_client(ClientType::Public, "read write").await;
    let mut browser = Alice::new();
    let (_, confidential_refresh) = grant(&server, &mut browser, &a, "read").await;
    let (_, public_refresh) = grant(&server, &mut browser, &public_a, "read").await;
    for (thief, token) in [
        (&b, &confidential_refresh),
        (&public_b, &public_refresh),
        (&public_a, &confidential_refresh),
        (&a, &public_refresh),
    ] {
        let answer = server.refresh_grant(thief, token, None).await;
        assert_error(&answer, 400, "invalid_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_wider_than_the_grant_is_invalid_scope_and_the_refresh_token_survives() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (_, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    for wider in ["read write", "write", "admin", "read admin"] {
        let answer = server
            .refresh_grant(&client, &refresh_token, Some(wider))
            .await;
        assert_eq!(answer.2["error"], "invalid_scope", "{wider}: {}", answer.2);
        assert_error(&answer, 400, "invalid_scope");
    }
    // The client's mistake did not cost it its grant: nothing replaced the token.
    let answer = server
        .refresh_grant(&client, &refresh_token, Some("read"))
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_scope_at_refresh_is_invalid_scope_and_the_refresh_token_survives() {
    let (server, client, _) = setup(ClientType::Public).await;
    let mut browser = Alice::new();
    let (_, refresh_token) = grant(&server, &mut browser, &client, "read write").await;
    for bad in [
        "read  write",
        " read",
        "read ",
        "re\"ad",
        "re\\ad",
        "read\twrite",
        "réad",
    ] {
        let answer = server
            .refresh_grant(&client, &refresh_token, Some(bad))
            .await;
        assert_eq!(answer.2["error"], "invalid_scope", "{bad:?}: {}", answer.2);
        assert_error(&answer, 400, "invalid_scope");
    }
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

// The refresh token grant: scope and rotation (RFC 6749 §6, RFC 9700 §4.14.2).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrowed_refresh_keeps_the_grants_full_scope_for_the_next_refresh() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (_, r1) = grant(&server, &mut browser, &client, "read write").await;
    let answer = server.refresh_grant(&client, &r1, Some("read")).await;
    assert_eq!(answer.2["scope"], "read", "{}", answer.2);
    let (narrow, r2) = tokens(&answer);
    assert_eq!(server.introspect_as(&rs, &narrow).await["scope"], "read");
    assert_eq!(
        server.introspect_as(&rs, &r2).await["scope"],
        "read write",
        "the new refresh token's scope is identical to the old one's"
    );
    let answer = server.refresh_grant(&client, &r2, None).await;
    assert_eq!(answer.2["scope"], "read write", "{}", answer.2);
    let (full, r3) = tokens(&answer);
    assert_eq!(
        server.introspect_as(&rs, &full).await["scope"],
        "read write"
    );
    let answer = server.refresh_grant(&client, &r3, Some("write")).await;
    assert_eq!(answer.2["scope"], "write", "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refresh_rotates_and_a_rotated_refresh_token_cannot_be_used_again() {
    let (server, client, _) = setup(ClientType::Public).await;
    let mut browser = Alice::new();
    let (a1, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a2, r2) = tokens(&server.refresh_grant(&client, &r1, None).await);
    let (a3, r3) = tokens(&server.refresh_grant(&client, &r2, None).await);
    let all = [&a1, &r1, &a2, &r2, &a3, &r3];
    for (i, x) in all.iter().enumerate() {
        for y in &all[i + 1..] {
            assert_ne!(x, y, "every token is new");
        }
    }
    for old in [&r1, &r2] {
        let answer = server.refresh_grant(&client, old, None).await;
        assert_error(&answer, 400, "invalid_grant");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_the_grace_window_revokes_the_whole_grant() {
    let (server, client, _) =
        setup_with(ClientType::Confidential, |c| c.refresh_reuse_grace = 0).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (a1, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a2, r2) = tokens(&server.refresh_grant(&client, &r1, None).await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = server.refresh_grant(&client, &r1, None).await;
    assert_error(&answer, 400, "invalid_grant");
    for t in [&a1, &a2, &r1, &r2] {
        assert!(!server.is_active(&rs, t).await, "still active: {t}");
    }
    let answer = server.refresh_grant(&client, &r2, None).await;
    assert_error(&answer, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reuse_grace_is_off_by_default() {
    let (server, _, _) = setup(ClientType::Confidential).await;
    assert_eq!(server.app.config.refresh_reuse_grace, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_within_an_operators_grace_window_gets_a_new_pair_and_ends_the_earlier_successor() {
    let (server, client, _) =
        setup_with(ClientType::Confidential, |c| c.refresh_reuse_grace = 30).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (_, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a2, r2) = tokens(&server.refresh_grant(&client, &r1, None).await);
    // The client lost the answer and retries with r1.
    let (a3, r3) = tokens(&server.refresh_grant(&client, &r1, None).await);
    assert!(
        !server.is_active(&rs, &r2).await,
        "never two live refresh tokens"
    );
    assert_error(
        &server.refresh_grant(&client, &r2, None).await,
        400,
        "invalid_grant",
    );
    // Presenting r2 after r3 was issued is a reuse: the grant ends.
    for t in [&a2, &a3, &r3] {
        assert!(!server.is_active(&rs, t).await, "still active: {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_the_grace_window_the_retry_answers_and_its_successor_keeps_working() {
    let (server, client, _) =
        setup_with(ClientType::Confidential, |c| c.refresh_reuse_grace = 30).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (_, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a2, _r2) = tokens(&server.refresh_grant(&client, &r1, None).await);
    let (a3, r3) = tokens(&server.refresh_grant(&client, &r1, None).await);
    assert!(server.is_active(&rs, &a2).await, "the grant lives");
    assert!(server.is_active(&rs, &a3).await);
    let answer = server.refresh_grant(&client, &r3, None).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_presented_by_another_client_is_refused_and_stays_usable() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let thief = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (_, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a2, r2) = tokens(&server.refresh_grant(&client, &r1, None).await);
    for presented in [&r1, &r2] {
        let answer = server.refresh_grant(&thief, presented, None).await;
        assert_error(&answer, 400, "invalid_grant");
    }
    assert!(server.is_active(&rs, &a2).await);
    let answer = server.refresh_grant(&client, &r2, None).await;
    assert_eq!(answer.0, 200, "its owner still refreshes: {}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_give_one_pair_then_end_the_grant() {
    let (server, client, _) = setup(ClientType::Public).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (_, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a, b) = tokio::join!(
        server.refresh_grant(&client, &r1, None),
        server.refresh_grant(&client, &r1, None),
    );
    let answers = [a, b];
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.0 == 200).collect();
    assert_eq!(ok.len(), 1, "{:?}", answers.map(|a| a.2));
    let loser = answers.iter().find(|a| a.0 != 200).unwrap();
    assert_error(loser, 400, "invalid_grant");
    // Without a grace window the second use is a reuse (RFC 9700 §4.14.2): the
    // grant ends, the winner's pair with it.
    let (access, r2) = tokens(ok[0]);
    assert!(!server.is_active(&rs, &access).await);
    let answer = server.refresh_grant(&client, &r2, None).await;
    assert_error(&answer, 400, "invalid_grant");
}

// The refresh token grant: expired, revoked, and the user's account.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_refresh_token_is_invalid_grant() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let (server, client, _) = setup(ClientType::Confidential).await;
    let mut browser = Alice::new();
    let (_, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    let grant_id = refresh_token.split('.').next().unwrap().to_owned();
    let set_expiry = |at: u64| {
        let (store, grant_id) = (server.app.store.clone(), grant_id.clone());
        async move {
            store
                .client()
                .update_item()
                .table_name(&store.tables().grants)
                .key("grant_id", AttributeValue::S(grant_id))
                .update_expression("SET refresh_expires_at = :t")
                .expression_attribute_values(":t", AttributeValue::N(at.to_string()))
                .send()
                .await
                .unwrap();
        }
    };
    // The engine never deletes expired items: the expiry is decided in code.
    set_expiry(now() - 1).await;
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
    // The same grant, unexpired, refreshes: nothing was used up by the refusal.
    set_expiry(now() + 3600).await;
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_is_invalid_grant() {
    let (server, client, _) = setup(ClientType::Public).await;
    let mut browser = Alice::new();
    let (_, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    assert_eq!(server.revoke_as(&client, &refresh_token).await.0, 200);
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_users_refresh_is_invalid_grant_and_their_access_token_is_inactive() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (access, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    assert!(server.app.store.set_disabled(ALICE, true).await.unwrap());
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
    assert!(!server.is_active(&rs, &access).await);
    assert!(!server.is_active(&rs, &refresh_token).await);
}

/// Disabling a user ends their grants (the epoch moves on), so re-enabling them
/// revives none: every client must send the user through the authorization again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_enabling_a_user_revives_none_of_their_grants() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (access, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    let (_, untouched) = grant(&server, &mut browser, &client, "read").await;
    assert!(server.app.store.set_disabled(ALICE, true).await.unwrap());
    let answer = server.refresh_grant(&client, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
    assert!(server.app.store.set_disabled(ALICE, false).await.unwrap());
    assert!(!server.is_active(&rs, &access).await);
    for t in [&refresh_token, &untouched] {
        let answer = server.refresh_grant(&client, t, None).await;
        assert_error(&answer, 400, "invalid_grant");
    }
    // A new authorization works again.
    let (fresh, _) = grant(&server, &mut browser, &client, "read").await;
    assert!(server.is_active(&rs, &fresh).await);
}

// Introspection and revocation of this flow's tokens.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_inactive_at_introspection_even_for_its_own_client() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (code, verifier) = browser
        .code_pkce(&server, &client, CONFIDENTIAL_REDIRECT, "read")
        .await;
    let own = server
        .post_form(
            "/introspect",
            Some((&client.id, client.secret.as_deref().unwrap())),
            &[("token", &code), ("token_type_hint", "authorization_code")],
        )
        .await;
    assert_eq!(own.0, 200, "{}", own.2);
    assert_eq!(
        own.2,
        gatehouse_tests::serde_json::json!({ "active": false })
    );
    assert!(!server.is_active(&rs, &code).await);
    // Introspection does not use the code up.
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_introspects_with_scope_client_and_user_but_no_bearer_type() {
    let (server, client, alice) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (access, refresh_token) = grant(&server, &mut browser, &client, "read write").await;
    let body = server.introspect_as(&rs, &refresh_token).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["scope"], "read write", "{body}");
    assert_eq!(body["client_id"], client.id.as_str(), "{body}");
    assert_eq!(body["sub"], alice.user_id.as_str(), "{body}");
    assert!(body.get("token_type").is_none(), "{body}");
    assert!(body["exp"].as_u64().unwrap() > now() + 3600, "{body}");
    let body = server.introspect_as(&rs, &access).await;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["sub"], alice.user_id.as_str(), "{body}");
    // Its own client sees the same.
    let (_, _, own) = server
        .post_form(
            "/introspect",
            Some((&client.id, client.secret.as_deref().unwrap())),
            &[("token", &refresh_token)],
        )
        .await;
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["sub"], alice.user_id.as_str(), "{own}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_access_token_of_the_flow_leaves_the_refresh_token_working() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (access, refresh_token) = grant(&server, &mut browser, &client, "read").await;
    assert_eq!(server.revoke_as(&client, &access).await.0, 200);
    assert!(!server.is_active(&rs, &access).await);
    assert!(server.is_active(&rs, &refresh_token).await);
    let (fresh, _) = tokens(&server.refresh_grant(&client, &refresh_token, None).await);
    assert!(server.is_active(&rs, &fresh).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_refresh_token_revokes_every_access_token_of_the_grant() {
    let (server, client, _) = setup(ClientType::Confidential).await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (a1, r1) = grant(&server, &mut browser, &client, "read").await;
    let (a2, r2) = tokens(&server.refresh_grant(&client, &r1, None).await);
    // Another grant of the same user and client is not touched.
    let (other_access, other_refresh) = grant(&server, &mut browser, &client, "read").await;
    assert_eq!(server.revoke_as(&client, &r2).await.0, 200);
    for t in [&a1, &a2, &r1, &r2] {
        assert!(!server.is_active(&rs, t).await, "still active: {t}");
    }
    assert!(server.is_active(&rs, &other_access).await);
    assert!(server.is_active(&rs, &other_refresh).await);
    let answer = server.refresh_grant(&client, &r2, None).await;
    assert_error(&answer, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_revokes_its_refresh_token_by_client_id_and_another_public_client_cannot() {
    let (server, owner, _) = setup(ClientType::Public).await;
    let other = server.code_client(ClientType::Public, "read write").await;
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (access, refresh_token) = grant(&server, &mut browser, &owner, "read").await;
    // Another public client: the same silent 200, and nothing changes.
    let (status, _, body) = server.revoke_as(&other, &refresh_token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, Value::Null);
    assert!(server.is_active(&rs, &refresh_token).await);
    assert!(server.is_active(&rs, &access).await);
    // Its own client, naming itself.
    let (status, _, body) = server.revoke_as(&owner, &refresh_token).await;
    assert_eq!(status, 200, "{body}");
    assert!(!server.is_active(&rs, &refresh_token).await);
    assert!(!server.is_active(&rs, &access).await);
    let answer = server.refresh_grant(&owner, &refresh_token, None).await;
    assert_error(&answer, 400, "invalid_grant");
}

/// Moves the grant `refresh_token` names back in time: made `age` seconds ago.
async fn age_grant(server: &TestServer, refresh_token: &str, age: u64) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    let grant_id = refresh_token.split('.').next().unwrap().to_owned();
    server
        .app
        .store
        .client()
        .update_item()
        .table_name(&server.app.store.tables().grants)
        .key("grant_id", AttributeValue::S(grant_id.clone()))
        .update_expression("SET created_at = :c")
        .expression_attribute_values(":c", AttributeValue::N((now() - age).to_string()))
        .send()
        .await
        .unwrap();
    grant_id
}

/// `GATEHOUSE_GRANT_MAX_LIFETIME`: a refreshed token never expires past the
/// grant's end, introspection says so even of a token stored before the cap, and
/// after the end a refresh is `invalid_grant` (RFC 6749 §5.2) and the token
/// inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_refreshes_until_its_maximum_lifetime_and_never_past_it() {
    use gatehouse_core::store::GrantStore;
    const CAP: u64 = 1000;
    let (server, client, _) = setup_with(ClientType::Confidential, |c| {
        c.grant_max_lifetime = CAP;
    })
    .await;
    assert!(server.app.config.refresh_token_ttl > CAP);
    let rs = server.resource_server().await;
    let mut browser = Alice::new();
    let (_, first) = grant(&server, &mut browser, &client, "read").await;
    // The first refresh token already ends with the grant, not 30 days on.
    let body = server.introspect_as(&rs, &first).await;
    let exp = body["exp"].as_u64().unwrap();
    assert!(exp <= now() + CAP, "{body}");

    // Made 990 s ago: the stored expiry is past the grant's end, introspection is not.
    let grant_id = age_grant(&server, &first, CAP - 10).await;
    let created = server
        .app
        .store
        .get_grant(&grant_id)
        .await
        .unwrap()
        .unwrap()
        .created_at;
    let body = server.introspect_as(&rs, &first).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["exp"].as_u64(), Some(created + CAP), "{body}");

    // A refresh within the life: the new token expires at the grant's end.
    let answer = server.refresh_grant(&client, &first, None).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    let (_, second) = tokens(&answer);
    let stored = server
        .app
        .store
        .get_grant(&grant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.refresh.unwrap().expires_at, created + CAP);
    let body = server.introspect_as(&rs, &second).await;
    assert_eq!(body["exp"].as_u64(), Some(created + CAP), "{body}");

    // Past the end: refused, nothing issued, the token inactive.
    age_grant(&server, &second, CAP).await;
    assert!(!server.is_active(&rs, &second).await);
    let answer = server.refresh_grant(&client, &second, None).await;
    assert_error(&answer, 400, "invalid_grant");
    assert!(answer.2.get("access_token").is_none());

    // A code whose grant ended before it was used (a cap below the code lifetime).
    let redirect = redirect_of(&client);
    let (code, verifier) = browser.code_pkce(&server, &client, redirect, "read").await;
    age_grant(&server, &code, CAP).await;
    let answer = server
        .exchange_code(&client, &code, redirect, &verifier)
        .await;
    assert_error(&answer, 400, "invalid_grant");
}
