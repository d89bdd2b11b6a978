//! Nothing secret reaches the logs: whole flows (client credentials: register,
//! token, introspect, revoke, failed authentication; the browser flow: failed and
//! successful sign-in, consent, code exchange, refresh, replay) run with every log
//! line at DEBUG captured, and no secret, password, code, token, session cookie or
//! CSRF token appears in them.

use gatehouse_core::domain::client::ClientType;
use gatehouse_tests::TestServer;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_or_token_is_ever_logged() {
    let capture = gatehouse_tests::captured_logs();

    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let secret = client.secret.clone().unwrap();
    let token = server.cc_token(&client, "read").await;
    server
        .post_form(
            "/introspect",
            Some((&client.id, &secret)),
            &[("token", &token)],
        )
        .await;
    server
        .post_form("/revoke", Some((&client.id, &secret)), &[("token", &token)])
        .await;
    let wrong = format!("{secret}x");
    let (status, _, _) = server
        .post_form(
            "/token",
            Some((&client.id, &wrong)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = server
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", &wrong),
            ],
        )
        .await;
    assert_eq!(status, 401);

    // The browser flow.
    server.user("alice").await;
    let app = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let app_secret = app.secret.clone().unwrap();
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(&app, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut ua = UserAgent::new();
    let login = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    let csrf = login.field("csrf_token").unwrap();
    let wrong_password = "not the password at all";
    let failed = ua.login(&server, &login, "alice", wrong_password).await;
    let consent = ua.login(&server, &failed, "alice", PASSWORD).await;
    let done = ua.consent(&server, &consent, "approve").await;
    let code = param(&done.location().unwrap(), "code").unwrap();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CONFIDENTIAL_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, _, tokens) = server.token_request(&app, &exchange).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, _, refreshed) = server
        .token_request(
            &app,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, 200);
    let new_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    let (status, _, _) = server.token_request(&app, &exchange).await;
    assert_eq!(status, 400, "replayed code");
    let session = ua.cookies["gatehouse_session"].clone();
    let csrf_nonce = ua.cookies["gatehouse_csrf"].clone();

    let logs = capture.text();
    assert!(logs.contains("signed in"), "the browser flow was logged");
    assert!(logs.contains("authorization code replayed"));
    let session_secret = session.split_once('.').unwrap().1.to_owned();
    let refresh_mac = refresh.rsplit('.').next().unwrap().to_owned();
    let code_secret = code.split_once('.').unwrap().1.to_owned();
    for (what, value) in [
        ("app secret", app_secret.as_str()),
        ("password", PASSWORD),
        ("wrong password", wrong_password),
        ("code", code.as_str()),
        ("code verifier", verifier.as_str()),
        ("access token", access.as_str()),
        ("refresh token", refresh.as_str()),
        ("rotated refresh token", new_refresh.as_str()),
        ("session cookie", session.as_str()),
        ("session secret", session_secret.as_str()),
        ("refresh token MAC", refresh_mac.as_str()),
        ("code secret", code_secret.as_str()),
        ("CSRF token", csrf.as_str()),
        ("CSRF nonce", csrf_nonce.as_str()),
    ] {
        assert!(!logs.contains(value), "the {what} appears in the logs");
    }
    assert!(
        logs.contains("access token issued"),
        "the flow was logged: {logs}"
    );
    assert!(logs.contains("invalid_client"));
    for (what, value) in [
        ("secret", secret.as_str()),
        ("token", token.as_str()),
        ("wrong secret", wrong.as_str()),
    ] {
        assert!(!logs.contains(value), "the {what} appears in the logs");
    }
    // The JWT's signature part alone must not leak either.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_id_token_hint_or_logout_form_token_is_logged() {
    let capture = gatehouse_tests::captured_logs();
    let server = TestServer::start().await;
    server.user("alice").await;
    let app = server
        .code_client(ClientType::Confidential, "openid read")
        .await;
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(&app, CONFIDENTIAL_REDIRECT, "openid", &challenge);
    let mut ua = UserAgent::new();
    let done = ua.authorize(&server, &query, "alice").await;
    let code = param(&done.location().unwrap(), "code").unwrap();
    let (status, _, tokens) = server
        .exchange_code(&app, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    // A tampered hint is refused; the confirmation page, a forged form, then
    // the confirmed one.
    let tampered = format!("{id_token}x");
    ua.get(&server.url(&format!("/logout?id_token_hint={tampered}")))
        .await;
    let confirm = ua
        .get(&server.url(&format!("/logout?client_id={}", app.id)))
        .await;
    let csrf = confirm.field("csrf_token").unwrap();
    let forged = ua
        .post(
            &server.url("/logout"),
            &[("csrf_token", "forged-token-value"), ("action", "logout")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let session = ua.cookies["gatehouse_session"].clone();
    let csrf_nonce = ua.cookies["gatehouse_csrf"].clone();
    let confirmed = ua
        .post(
            &server.url("/logout"),
            &[("csrf_token", csrf.as_str()), ("action", "logout")],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    // And once more with the hint, in a new session.
    let (_, challenge) = pkce();
    let query = server.authorize_query(&app, CONFIDENTIAL_REDIRECT, "openid", &challenge);
    ua.authorize(&server, &query, "alice").await;
    let page = ua
        .get(&server.url(&format!("/logout?id_token_hint={id_token}")))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);

    let logs = capture.text();
    assert!(
        logs.contains("login session ended by RP-initiated logout"),
        "the logout was logged: {logs}"
    );
    assert!(logs.contains("logout request refused"));
    let signature = id_token.rsplit('.').next().unwrap();
    for (what, value) in [
        ("ID token", id_token.as_str()),
        ("ID token signature", signature),
        ("CSRF token", csrf.as_str()),
        ("forged CSRF token", "forged-token-value"),
        ("CSRF nonce", csrf_nonce.as_str()),
        ("session cookie", session.as_str()),
    ] {
        assert!(!logs.contains(value), "the {what} appears in the logs");
    }
}
