//! A real single-page app in headless Chromium: `tests/spa/index.html` and
//! `app.js`, served here on a loopback origin of their own (another port than
//! Gatehouse's, so every call to Gatehouse is cross-origin), sign in with the npm
//! package `oauth4webapi` as the relying-party library. In the browser: discovery,
//! the authorization code flow with PKCE (S256) and a `nonce` (OpenID Connect Core
//! §3.1.2.1), the token request by `fetch` (CORS), the ID token's validation
//! (Core §3.1.3.7), then a UserInfo request by `fetch` (Core §5.3, CORS), whose
//! claims the page writes into the DOM. The test signs in and approves on
//! Gatehouse's own pages with the browser driver.
//!
//! `oauth4webapi` is installed by `bash tests/run` (`npm ci` in `tests/spa`, from
//! the committed lock file), as Chromium is; this test fails, naming that command,
//! when it is missing. Chromium treats `http://127.0.0.1` as a secure context, so
//! WebCrypto (PKCE, the signature check) works on the loopback origin.

use gatehouse_core::domain::client::{ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use gatehouse_core::domain::user::{ProfileChange, User};
use gatehouse_core::registration;
use gatehouse_tests::browser::Browser;
use gatehouse_tests::flow::PASSWORD;
use gatehouse_tests::loopback::{read_request, respond};
use gatehouse_tests::{TestClient, TestServer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// How long any page or step may take.
const WAIT: Duration = Duration::from_secs(30);

const SCOPE: &str = "openid profile email";

/// `tests/spa`: the page, its script, and `node_modules` once installed.
fn spa_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spa")
}

/// The module the page imports: `oauth4webapi`'s `build/index.js` (its
/// package.json `exports`), which imports nothing else.
fn oauth4webapi() -> String {
    let path = spa_dir().join("node_modules/oauth4webapi/build/index.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The browser app test needs the npm package oauth4webapi, which \
             `bash tests/run` installs (npm ci in tests/spa, from its package-lock.json)",
            path.display()
        )
    })
}

/// The page's own origin: a loopback listener that serves the app's files and
/// `/config.json`, and answers every other path 404.
struct Spa {
    /// `http://127.0.0.1:PORT`.
    origin: String,
    listener: Option<TcpListener>,
}

/// What the server gives the page.
struct Files {
    index: String,
    app: String,
    library: String,
    config: String,
}

impl Spa {
    async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        Self {
            origin,
            listener: Some(listener),
        }
    }

    fn redirect_uri(&self) -> String {
        format!("{}/callback", self.origin)
    }

    /// Serves the app with its configuration: Gatehouse's issuer, the client id
    /// and this origin's callback as the redirect URI.
    fn serve(&mut self, issuer: &str, client_id: &str) {
        let read = |name: &str| std::fs::read_to_string(spa_dir().join(name)).unwrap();
        let files = Arc::new(Files {
            index: read("index.html"),
            app: read("app.js"),
            library: oauth4webapi(),
            config: json!({
                "issuer": issuer,
                "client_id": client_id,
                "redirect_uri": self.redirect_uri(),
            })
            .to_string(),
        });
        let listener = self.listener.take().expect("served once");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, files.clone()));
            }
        });
    }
}

async fn answer(mut stream: TcpStream, files: Arc<Files>) {
    let Some(req) = read_request(&mut stream).await else {
        return;
    };
    let found = match (req.method.as_str(), req.path()) {
        ("GET", "/" | "/callback") => Some(("text/html; charset=utf-8", &files.index)),
        ("GET", "/app.js") => Some(("text/javascript; charset=utf-8", &files.app)),
        ("GET", "/oauth4webapi.js") => Some(("text/javascript; charset=utf-8", &files.library)),
        ("GET", "/config.json") => Some(("application/json", &files.config)),
        _ => None,
    };
    let response = match found {
        Some((content_type, body)) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nCache-Control: no-store\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    respond(stream, &response).await;
}

/// A server whose user alice has an e-mail address.
async fn server_with_alice() -> (TestServer, User) {
    let server = TestServer::start().await;
    let alice = registration::create_user_with_profile(
        &server.app.store,
        "alice",
        PASSWORD,
        &ProfileChange {
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
            ..ProfileChange::default()
        },
    )
    .await
    .unwrap();
    (server, alice)
}

/// A browser app: a public client (`token_endpoint_auth_method` `none`, RFC 7591
/// §2) of the code flow with PKCE, allowed the OpenID scopes, with `redirect_uri`.
async fn register_spa(server: &TestServer, redirect_uri: &str) -> TestClient {
    TestClient::from(
        server
            .register(ClientRegistration {
                redirect_uris: vec![redirect_uri.into()],
                token_endpoint_auth_method: Some(TokenEndpointAuthMethod::None),
                require_pkce: true,
                ..ClientRegistration::new(
                    "Browser App",
                    ClientType::Public,
                    vec![GrantType::AuthorizationCode],
                    Scope::parse(SCOPE).unwrap(),
                )
            })
            .await,
    )
}

/// Opens the app at `origin`, clicks its Sign in button, signs in as alice on
/// Gatehouse's login page and approves on its consent page; then waits for the
/// app's outcome: `data-status` (`done` or `failed`) and the JSON it wrote.
async fn sign_in_through_the_app(browser: &Browser, origin: &str) -> (String, Value) {
    browser.goto(&format!("{origin}/")).await.unwrap();
    browser
        .wait_for_title(|t| t == "Browser app", WAIT)
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let button = browser.find("#sign-in").await.unwrap();
    while browser.prop(&button, "disabled").await.unwrap() != false {
        assert!(
            Instant::now() < deadline,
            "the app did not get ready: {}",
            page_result(browser).await.1
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.click(&button).await.unwrap();
    browser
        .wait_for_title(|t| t == "Sign in", WAIT)
        .await
        .unwrap();
    browser.fill("input[name=username]", "alice").await.unwrap();
    browser
        .fill("input[name=password]", PASSWORD)
        .await
        .unwrap();
    browser.click_css("button[value=login]").await.unwrap();
    browser
        .wait_for_title(|t| t.starts_with("Authorize"), WAIT)
        .await
        .unwrap();
    browser.click_css("button[value=approve]").await.unwrap();
    browser
        .wait_for_url(|u| u.starts_with(&format!("{origin}/callback?")), WAIT)
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, value) = page_result(browser).await;
        if !status.is_empty() {
            return (status, value);
        }
        assert!(Instant::now() < deadline, "the app reports nothing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The app's `#result`: its `data-status` (empty until known) and its JSON.
async fn page_result(browser: &Browser) -> (String, Value) {
    let Ok(el) = browser.find("#result").await else {
        return (String::new(), Value::Null);
    };
    let status = browser
        .attr(&el, "data-status")
        .await
        .unwrap()
        .unwrap_or_default();
    let text = browser.prop(&el, "textContent").await.unwrap();
    let value = serde_json::from_str(text.as_str().unwrap_or_default()).unwrap_or(text);
    (status, value)
}

fn messages(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_on_an_origin_no_client_registers_gets_no_token() {
    let (server, _) = server_with_alice().await;
    let mut spa = Spa::bind().await;
    // The client registers the loopback redirect URI without a port, which
    // matches a callback on any port (RFC 8252 §7.3): the code reaches the page.
    // Its origin is `http://127.0.0.1`, though, not the page's
    // `http://127.0.0.1:PORT`, so Gatehouse allows the page no CORS read.
    let client = register_spa(&server, "http://127.0.0.1/callback").await;
    spa.serve(&server.base, &client.id);
    let browser = Browser::for_test().await;

    let (status, outcome) = sign_in_through_the_app(&browser, &spa.origin).await;
    // The token response reached the browser, which withheld it from the page:
    // fetch rejects with a TypeError, and oauth4webapi has no token to check.
    assert_eq!(status, "failed", "{outcome:#}");
    assert_eq!(outcome["name"], "TypeError", "{outcome:#}");
    assert!(outcome.get("userinfo").is_none());
    let log = messages(&browser.browser_log().await.unwrap());
    let blocked: Vec<_> = log
        .iter()
        .filter(|m| m.contains("/token") && m.contains("blocked by CORS policy"))
        .collect();
    assert!(!blocked.is_empty(), "the browser names CORS: {log:#?}");
    browser.quit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_signs_in_with_oauth4webapi_and_reads_userinfo_cross_origin() {
    let (server, alice) = server_with_alice().await;
    let mut spa = Spa::bind().await;
    assert_ne!(
        spa.origin, server.base,
        "the app calls Gatehouse cross-origin"
    );
    let client = register_spa(&server, &spa.redirect_uri()).await;
    spa.serve(&server.base, &client.id);
    let browser = Browser::for_test().await;

    let (status, outcome) = sign_in_through_the_app(&browser, &spa.origin).await;
    assert_eq!(status, "done", "{outcome:#}");
    // The ID token as oauth4webapi validated it.
    let id_token = &outcome["id_token"];
    assert_eq!(id_token["iss"], server.base.as_str(), "{outcome:#}");
    assert_eq!(id_token["aud"], client.id.as_str(), "{outcome:#}");
    assert_eq!(id_token["sub"], alice.user_id.as_str(), "{outcome:#}");
    assert!(id_token["nonce"].is_string(), "{outcome:#}");
    // The UserInfo answer it read cross-origin: the same subject, alice's claims.
    let userinfo = &outcome["userinfo"];
    assert_eq!(userinfo["sub"], id_token["sub"], "{outcome:#}");
    assert_eq!(userinfo["preferred_username"], "alice", "{outcome:#}");
    assert_eq!(userinfo["email"], "alice@example.com", "{outcome:#}");
    assert_eq!(userinfo["email_verified"], true, "{outcome:#}");

    // Nothing was blocked or failed on the way.
    let log = browser.browser_log().await.unwrap();
    let severe: Vec<_> = log.iter().filter(|e| e["level"] == "SEVERE").collect();
    assert!(severe.is_empty(), "severe browser log entries: {severe:#?}");
    browser.quit().await.unwrap();
}
