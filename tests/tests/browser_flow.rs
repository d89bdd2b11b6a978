//! The authorization code flow in a real headless Chromium: the user signs in and
//! approves on the server's own HTML pages, the browser follows the redirect to a
//! native-app style loopback callback (RFC 8252 §7.3) served here, and the client
//! exchanges the code with its PKCE verifier. Also: the session cookie is kept,
//! a wrong password and Deny behave, and the pages fit a phone screen.
//!
//! Chromium only reaches loopback servers: the TestServer (also the issuer, so
//! its cookies are not `Secure`) and the callback below.

use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::user::User;
use gatehouse_tests::browser::Browser;
use gatehouse_tests::flow::{PASSWORD, param, pkce};
use gatehouse_tests::loopback::{html, read_request, respond};
use gatehouse_tests::{TestClient, TestServer, verify};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// How long any page may take to appear.
const WAIT: Duration = Duration::from_secs(20);

/// The redirect URI as registered: any loopback port matches it.
const REGISTERED_REDIRECT: &str = "http://127.0.0.1/callback";

const SIGNED_IN: &str = "<!doctype html><html><head><title>Signed in</title>\
    <link rel=icon href=\"data:,\"></head><body><p>Signed in</p></body></html>";

/// The client's loopback callback: answers every GET with a "Signed in" page and
/// records the request targets it was asked for.
struct Callback {
    /// `http://127.0.0.1:PORT/callback`, the `redirect_uri` of the requests.
    redirect: String,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Callback {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let redirect = format!("http://{}/callback", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let recorded = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, recorded.clone()));
            }
        });
        Self { redirect, hits }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

/// Answers one request, then closes the connection.
async fn answer(mut stream: TcpStream, hits: Arc<Mutex<Vec<String>>>) {
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    let response = if req.method == "GET" {
        hits.lock().unwrap().push(req.target);
        html("200 OK", SIGNED_IN)
    } else {
        "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
            .to_owned()
    };
    respond(stream, &response).await;
}

/// A server with user alice, a public client registered for the loopback
/// callback, the callback itself and a PKCE pair.
struct Setup {
    server: TestServer,
    alice: User,
    client: TestClient,
    callback: Callback,
    verifier: String,
    /// The authorization request for `read write` with PKCE S256, state `st-123`.
    authorize_url: String,
}

impl Setup {
    async fn new() -> Self {
        let server = TestServer::start().await;
        let alice = server.user("alice").await;
        let client = server
            .code_client_with(ClientType::Public, "read write", |reg| {
                reg.redirect_uris = vec![REGISTERED_REDIRECT.into()];
            })
            .await;
        let callback = Callback::start().await;
        let (verifier, challenge) = pkce();
        let query = server.authorize_query(&client, &callback.redirect, "read write", &challenge);
        let authorize_url = server.url(&format!("/authorize?{query}"));
        Self {
            server,
            alice,
            client,
            callback,
            verifier,
            authorize_url,
        }
    }

    fn at_callback(&self, url: &str) -> bool {
        url.starts_with(&self.callback.redirect)
    }

    /// Exchanges `code` at `/token` with `verifier`; the access and refresh tokens.
    async fn exchange(&self, code: &str, verifier: &str) -> (String, String) {
        let (status, _, body) = self
            .server
            .exchange_code(&self.client, code, &self.callback.redirect, verifier)
            .await;
        assert_eq!(status, 200, "the code exchange succeeds: {body}");
        let access = body["access_token"].as_str().expect("an access token");
        let refresh = body["refresh_token"].as_str().expect("a refresh token");
        (access.to_owned(), refresh.to_owned())
    }
}

/// Fills the login form (already displayed) and submits it.
async fn sign_in(browser: &Browser, username: &str, password: &str) {
    browser
        .fill("input[name=username]", username)
        .await
        .unwrap();
    browser
        .fill("input[name=password]", password)
        .await
        .unwrap();
    browser.click_css("button[value=login]").await.unwrap();
}

/// Opens the authorization request, signs in as alice and waits for consent.
async fn reach_consent(browser: &Browser, setup: &Setup) {
    browser.goto(&setup.authorize_url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    sign_in(browser, "alice", PASSWORD).await;
    browser
        .wait_for_title(|t| t.starts_with("Authorize"), WAIT)
        .await
        .unwrap();
}

/// The text of the whole page as rendered.
async fn page_text(browser: &Browser) -> String {
    let body = browser.find("body").await.unwrap();
    browser.text(&body).await.unwrap()
}

/// The SEVERE entries of `log`, but for the favicon request every origin gets
/// (the server answers 404 at `/favicon.ico`).
fn severe(log: &[Value]) -> Vec<&Value> {
    log.iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .filter(|entry| {
            !entry["message"]
                .as_str()
                .unwrap_or_default()
                .contains("favicon.ico")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_and_approves_in_a_real_browser_and_the_client_gets_tokens() {
    let setup = Setup::new().await;
    let browser = Browser::for_test().await;

    // The login page: titled, every visible input labelled.
    browser.goto(&setup.authorize_url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    assert!(page_text(&browser).await.contains("Photo App"));
    // The inline stylesheet applies: its CSP hash matches (else the page is bare).
    let background = browser
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        background, "rgb(244, 245, 247)",
        "the page's stylesheet applies"
    );
    let inputs = browser
        .execute(
            "const inputs = [...document.querySelectorAll('input:not([type=hidden])')];\
             return {count: inputs.length, unlabelled: inputs\
               .filter(i => !i.id || !document.querySelector(`label[for=\"${CSS.escape(i.id)}\"]`))\
               .map(i => i.name)};",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inputs["count"], 2, "username and password: {inputs}");
    assert_eq!(
        inputs["unlabelled"],
        serde_json::json!([]),
        "inputs without a label"
    );

    // Sign in, then the consent page names the client and both scopes.
    sign_in(&browser, "alice", PASSWORD).await;
    let title = browser
        .wait_for_title(|t| t.starts_with("Authorize"), WAIT)
        .await
        .unwrap();
    assert_eq!(title, "Authorize Photo App");
    let text = page_text(&browser).await;
    for expected in [
        "Photo App",
        "read",
        "Read access to resources",
        "write",
        "Write access to resources",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} in the consent page: {text}"
        );
    }
    let scopes = browser.find_all("ul.scopes li").await.unwrap();
    assert_eq!(scopes.len(), 2, "one item per scope: {text}");

    // Approve: the browser follows the 303 to the loopback callback.
    browser.click_css("button[value=approve]").await.unwrap();
    let url = browser
        .wait_for_url(|u| setup.at_callback(u), WAIT)
        .await
        .unwrap();
    browser
        .wait_for_title(|t| t == "Signed in", WAIT)
        .await
        .unwrap();
    let url = url::Url::parse(&url).unwrap();
    assert_eq!(
        param(&url, "iss").as_deref(),
        Some(setup.server.base.as_str()),
        "RFC 9207 issuer"
    );
    assert_eq!(param(&url, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&url, "error"), None);
    let code = param(&url, "code").expect("the callback gets a code");
    let hits = setup.callback.hits();
    assert_eq!(hits.len(), 1, "the callback is asked once: {hits:?}");
    assert!(hits[0].starts_with("/callback?"), "{hits:?}");
    assert!(hits[0].contains(&format!("code={code}")), "{hits:?}");

    // The client exchanges the code with its verifier.
    let (access, _refresh) = setup.exchange(&code, &setup.verifier).await;
    let claims = verify(&setup.server, &access, jsonwebtoken::Algorithm::RS256).await;
    assert_eq!(claims["sub"], setup.alice.user_id.as_str());
    assert_eq!(claims["client_id"], setup.client.id.as_str());
    assert_eq!(claims["scope"], "read write");

    // Nothing failed in the browser: in particular no CSP violation.
    let log = browser.browser_log().await.unwrap();
    let csp: Vec<_> = log
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Content Security Policy")
        })
        .collect();
    assert!(csp.is_empty(), "CSP violations: {csp:#?}");
    let severe = severe(&log);
    assert!(severe.is_empty(), "severe browser log entries: {severe:#?}");
    browser.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_keeps_the_session_so_a_second_authorization_needs_no_password() {
    let setup = Setup::new().await;
    let browser = Browser::for_test().await;
    reach_consent(&browser, &setup).await;
    browser.click_css("button[value=approve]").await.unwrap();
    let first = browser
        .wait_for_url(|u| setup.at_callback(u), WAIT)
        .await
        .unwrap();
    let first_code = param(&url::Url::parse(&first).unwrap(), "code").unwrap();

    // A second request, same scope, fresh PKCE: straight back with a new code.
    let (verifier, challenge) = pkce();
    let query = setup.server.authorize_query(
        &setup.client,
        &setup.callback.redirect,
        "read write",
        &challenge,
    );
    browser
        .goto(&setup.server.url(&format!("/authorize?{query}")))
        .await
        .unwrap();
    let second = browser
        .wait_for_url(|u| setup.at_callback(u), WAIT)
        .await
        .unwrap();
    assert_eq!(
        browser.title().await.unwrap(),
        "Signed in",
        "no login or consent page in between"
    );
    assert!(
        browser
            .find_all("input[name=password]")
            .await
            .unwrap()
            .is_empty(),
        "no password asked"
    );
    let second = url::Url::parse(&second).unwrap();
    assert_eq!(param(&second, "state").as_deref(), Some("st-123"));
    let code = param(&second, "code").expect("the second callback gets a code");
    assert_ne!(code, first_code, "a fresh code");
    assert_eq!(
        setup.callback.hits().len(),
        2,
        "{:?}",
        setup.callback.hits()
    );

    let (access, _) = setup.exchange(&code, &verifier).await;
    let claims = verify(&setup.server, &access, jsonwebtoken::Algorithm::RS256).await;
    assert_eq!(claims["sub"], setup.alice.user_id.as_str());
    browser.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_in_the_browser_shows_a_generic_message_and_no_redirect() {
    let setup = Setup::new().await;
    let browser = Browser::for_test().await;
    browser.goto(&setup.authorize_url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    sign_in(&browser, "alice", "not the password").await;

    let deadline = Instant::now() + WAIT;
    let alert = loop {
        if let Ok(alert) = browser.find("[role=alert]").await {
            break alert;
        }
        assert!(Instant::now() < deadline, "no error message after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        browser.text(&alert).await.unwrap(),
        "The username or password is incorrect."
    );
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    let password = browser.find("input[name=password]").await.unwrap();
    assert_eq!(
        browser.prop(&password, "value").await.unwrap(),
        "",
        "the password is not echoed back"
    );
    let username = browser.find("input[name=username]").await.unwrap();
    assert_eq!(browser.prop(&username, "value").await.unwrap(), "alice");
    let url = browser.current_url().await.unwrap();
    assert!(
        url.starts_with(&format!("{}/", setup.server.base)),
        "still on the server: {url}"
    );
    assert!(setup.callback.hits().is_empty(), "the client is not called");
    browser.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_in_the_browser_returns_access_denied_to_the_client() {
    let setup = Setup::new().await;
    let browser = Browser::for_test().await;
    reach_consent(&browser, &setup).await;
    browser.click_css("button[value=deny]").await.unwrap();
    let url = browser
        .wait_for_url(|u| setup.at_callback(u), WAIT)
        .await
        .unwrap();
    let url = url::Url::parse(&url).unwrap();
    assert_eq!(param(&url, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&url, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&url, "code"), None, "no code when denied");
    browser.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_fit_a_phone_screen() {
    let setup = Setup::new().await;
    let browser = Browser::for_test().await;
    browser.set_window_size(375, 740).await.unwrap();
    let fits = "return {scrollWidth: document.documentElement.scrollWidth, \
                innerWidth: window.innerWidth, \
                fits: document.documentElement.scrollWidth <= window.innerWidth};";

    browser.goto(&setup.authorize_url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    let viewport = browser.find("meta[name=viewport]").await.unwrap();
    let content = browser.attr(&viewport, "content").await.unwrap();
    assert!(
        content
            .as_deref()
            .is_some_and(|c| c.contains("width=device-width")),
        "viewport meta: {content:?}"
    );
    let login = browser.execute(fits, vec![]).await.unwrap();
    assert!(
        login["innerWidth"].as_u64().is_some_and(|w| w <= 375),
        "the window is phone-sized: {login}"
    );
    assert_eq!(
        login["fits"], true,
        "the login page scrolls sideways: {login}"
    );

    sign_in(&browser, "alice", PASSWORD).await;
    browser
        .wait_for_title(|t| t.starts_with("Authorize"), WAIT)
        .await
        .unwrap();
    let consent = browser.execute(fits, vec![]).await.unwrap();
    assert_eq!(
        consent["fits"], true,
        "the consent page scrolls sideways: {consent}"
    );
    browser.quit().await.unwrap();
}

/// Sign-in through an upstream OpenID Provider (`oidc-provider` from npm, on
/// its own loopback port and with its own pages), in Chromium: the login page's
/// "Continue with" button, the provider's sign-in and consent, Gatehouse's
/// consent page, then the client's callback; the user is made just in time and
/// the token's `sub` is Gatehouse's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_through_an_upstream_provider_in_a_real_browser() {
    use gatehouse_core::paths::federation_redirect_uri;
    use gatehouse_core::store::UserStore;
    use gatehouse_tests::upstream::NodeOidcProvider;
    let setup = Setup::new().await;
    let redirect = federation_redirect_uri(&setup.server.base, "node");
    let (config, upstream_client) = NodeOidcProvider::config(&redirect);
    let node = NodeOidcProvider::start(config).await;
    setup
        .server
        .add_upstream(
            "node",
            &node.issuer,
            &upstream_client.id,
            &upstream_client.secret,
            false,
        )
        .await;
    let browser = Browser::for_test().await;

    browser.goto(&setup.authorize_url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Sign in");
    let button = browser.find("button[value=federate]").await.unwrap();
    assert_eq!(
        browser.text(&button).await.unwrap(),
        "Continue with node accounts"
    );
    browser.click(&button).await.unwrap();
    // The provider's own pages: sign in as alice, then grant.
    browser
        .wait_for_title(|t| t == "login", WAIT)
        .await
        .unwrap();
    browser.fill("input[name=login]", "alice").await.unwrap();
    browser.click_css("button[value=approve]").await.unwrap();
    browser
        .wait_for_title(|t| t == "consent", WAIT)
        .await
        .unwrap();
    browser.click_css("button[value=approve]").await.unwrap();
    // Back at Gatehouse: its consent page, for the new user.
    browser
        .wait_for_title(|t| t.starts_with("Authorize"), WAIT)
        .await
        .unwrap();
    assert!(page_text(&browser).await.contains("node.alice"));
    browser.click_css("button[value=approve]").await.unwrap();
    let url = browser
        .wait_for_url(|u| setup.at_callback(u), WAIT)
        .await
        .unwrap();
    let url = url::Url::parse(&url).unwrap();
    assert_eq!(param(&url, "state").as_deref(), Some("st-123"));
    let code = param(&url, "code").expect("a code");
    let (access, _) = setup.exchange(&code, &setup.verifier).await;
    let claims = verify(&setup.server, &access, jsonwebtoken::Algorithm::RS256).await;
    let user = setup
        .server
        .app
        .store
        .get_user("node.alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], user.user_id.as_str());
    assert_ne!(user.user_id, setup.alice.user_id);
    assert!(severe(&browser.browser_log().await.unwrap()).is_empty());
    browser.quit().await.unwrap();
}
