//! Negative tests of the authorization endpoint (RFC 6749 §3.1, §4.1) and its
//! login and consent pages over HTTP: what is refused with an error page and never
//! redirected (§4.1.2.1, RFC 9700 §4.1.3, §4.11), what is refused by redirect to
//! the client, the security headers of every page (RFC 9700 §4.16), CSRF on the
//! forms, login failures and throttling, the end of sessions, methods and bodies,
//! and how codes are stored.

use gatehouse_core::domain::client::{ClientType, GrantType};
use gatehouse_core::domain::pkce::ChallengeMethod;
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::registration::set_user_password;
use gatehouse_core::store::{ClientStore, ConsentStore, GrantStore, SessionStore, UserStore};
use gatehouse_tests::flow::{
    CONFIDENTIAL_REDIRECT, PASSWORD, PUBLIC_REDIRECT, Page, UserAgent, param,
};
use gatehouse_tests::reqwest::header;
use gatehouse_tests::{TestClient, TestServer, http, stored_client};

/// The S256 challenge of RFC 7636 Appendix B: well formed, 43 characters.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const GENERIC_LOGIN_ERROR: &str = "The username or password is incorrect.";
const SESSION_COOKIE: &str = "gatehouse_session";
const CSRF_COOKIE: &str = "gatehouse_csrf";

/// An authorization request as ordered pairs, form-encoded by hand so that nothing
/// is normalised on the way.
#[derive(Clone)]
struct Query(Vec<(String, String)>);

impl Query {
    /// A valid request for `client` at `redirect`: scope `read`, `state=st-123`, S256.
    fn valid(client: &TestClient, redirect: &str) -> Self {
        let pairs = [
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", redirect),
            ("scope", "read"),
            ("state", "st-123"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        Self(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Replaces the value of `name`, or appends the pair.
    fn set(mut self, name: &str, value: &str) -> Self {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(pair) => pair.1 = value.into(),
            None => self.0.push((name.into(), value.into())),
        }
        self
    }

    /// Appends a pair, even if the name is already there.
    fn add(mut self, name: &str, value: &str) -> Self {
        self.0.push((name.into(), value.into()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self
    }

    fn encode(&self) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        self.0
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A server with a confidential and a public code client, both allowed `read write`.
async fn setup() -> (TestServer, TestClient, TestClient) {
    let server = TestServer::start().await;
    let confidential = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let public = server.code_client(ClientType::Public, "read write").await;
    (server, confidential, public)
}

/// A server whose login-failure window cannot roll over during a test (failures are
/// counted in windows of `now / login_failure_window`), with `adjust` applied, and
/// a confidential client and alice.
async fn throttling_setup(
    adjust: impl FnOnce(&mut gatehouse_core::Config),
) -> (TestServer, TestClient) {
    let server = TestServer::start_with(|c| {
        c.login_failure_window = 1_000_000_000;
        adjust(c);
    })
    .await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    server.user("alice").await;
    (server, client)
}

async fn authorize(ua: &mut UserAgent, server: &TestServer, raw_query: &str) -> Page {
    ua.get(&server.url(&format!("/authorize?{raw_query}")))
        .await
}

async fn get(server: &TestServer, raw_query: &str) -> Page {
    authorize(&mut UserAgent::new(), server, raw_query).await
}

/// Reads a response sent without a [`UserAgent`].
async fn to_page(resp: gatehouse_tests::reqwest::Response) -> Page {
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.unwrap(),
    }
}

/// The `Set-Cookie` value for cookie `name`, if the response sets it.
fn set_cookie<'a>(page: &'a Page, name: &str) -> Option<&'a str> {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The text of the page's error paragraph.
fn alert(page: &Page) -> Option<&str> {
    let open = "<p class=\"error\" role=\"alert\">";
    let start = page.body.find(open)? + open.len();
    let end = start + page.body[start..].find("</p>")?;
    Some(&page.body[start..end])
}

/// The headers every HTML page carries.
fn assert_html_headers(page: &Page, case: &str) {
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{case}: Content-Security-Policy {csp:?}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"), "{case}");
    assert_eq!(
        page.header("referrer-policy"),
        Some("no-referrer"),
        "{case}"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"), "{case}");
    let content_type = page.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("text/html"),
        "{case}: Content-Type {content_type:?}"
    );
}

/// An error page: `status`, no redirect, no form, the page headers.
fn assert_error_page(page: &Page, status: u16, case: &str) {
    assert_eq!(page.status, status, "{case}: {}", page.body);
    assert!(
        page.header("location").is_none(),
        "{case}: redirected to {:?}",
        page.header("location")
    );
    assert!(
        !page.is_login() && !page.is_consent(),
        "{case}: a form instead of an error page"
    );
    assert!(
        page.body.contains("role=\"alert\""),
        "{case}: {}",
        page.body
    );
    assert_html_headers(page, case);
}

/// An error response by redirect (RFC 6749 §4.1.2.1, RFC 9207): 302 to exactly
/// `redirect` with `error`, a description, `state` as given, `iss`, and no code.
fn assert_error_redirect(
    server: &TestServer,
    page: &Page,
    redirect: &str,
    error: &str,
    state: Option<&str>,
    case: &str,
) {
    assert_eq!(page.status, 302, "{case}: {}", page.body);
    let loc = page
        .location()
        .unwrap_or_else(|| panic!("{case}: no Location"));
    assert_eq!(loc.as_str().split('?').next(), Some(redirect), "{case}");
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some(error),
        "{case}: {loc}"
    );
    assert!(
        param(&loc, "error_description").is_some_and(|d| !d.is_empty()),
        "{case}: {loc}"
    );
    assert_eq!(param(&loc, "state").as_deref(), state, "{case}: {loc}");
    assert_eq!(
        param(&loc, "iss").as_deref(),
        Some(server.base.as_str()),
        "{case}: {loc}"
    );
    assert!(param(&loc, "code").is_none(), "{case}: {loc}");
    assert_eq!(page.header("cache-control"), Some("no-store"), "{case}");
}

/// Signs `ua` in as alice (who must exist) on `query`; returns the consent page.
async fn sign_in(ua: &mut UserAgent, server: &TestServer, query: &Query) -> Page {
    let login = authorize(ua, server, &query.encode()).await;
    assert!(login.is_login(), "{}", login.body);
    let consent = ua.login(server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent(), "{} {}", consent.status, consent.body);
    consent
}

/// POSTs a login form built from `page` with `csrf` as the token (`None`: no field).
async fn post_login(
    ua: &mut UserAgent,
    server: &TestServer,
    page: &Page,
    csrf: Option<&str>,
    password: &str,
) -> Page {
    let request = page.field("request").unwrap();
    let mut form = vec![
        ("request", request.as_str()),
        ("action", "login"),
        ("username", "alice"),
        ("password", password),
    ];
    if let Some(t) = csrf {
        form.push(("csrf_token", t));
    }
    ua.post(&server.url("/authorize"), &form).await
}

// Error pages: the client or redirect URI cannot be trusted, so never a redirect.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_unknown_or_repeated_client_id_gets_an_error_page_and_no_redirect() {
    let (server, client, _) = setup().await;
    let valid = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    let cases = [
        ("missing client_id", valid.clone().without("client_id")),
        ("empty client_id", valid.clone().set("client_id", "")),
        (
            "unknown client_id",
            valid.clone().set("client_id", "nobody"),
        ),
        (
            "overlong client_id",
            valid.clone().set("client_id", &"c".repeat(300)),
        ),
        (
            "repeated client_id",
            valid.clone().add("client_id", &client.id),
        ),
        (
            "two different client_ids",
            valid.clone().add("client_id", "nobody"),
        ),
    ];
    for (case, query) in cases {
        let page = get(&server, &query.encode()).await;
        assert_error_page(&page, 400, case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_redirect_uri_gets_an_error_page_and_no_redirect() {
    let (server, client, _) = setup().await;
    let valid = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    for (case, query) in [
        (
            "same twice",
            valid.clone().add("redirect_uri", CONFIDENTIAL_REDIRECT),
        ),
        (
            "registered then foreign",
            valid.clone().add("redirect_uri", "https://evil.example/cb"),
        ),
    ] {
        assert_error_page(&get(&server, &query.encode()).await, 400, case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let (server, client, _) = setup().await;
    let query = Query::valid(&client, "https://evil.example/callback");
    let page = get(&server, &query.encode()).await;
    assert_error_page(&page, 400, "unregistered redirect_uri");
    assert!(
        !page.body.contains("evil.example"),
        "the page does not repeat the URI"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_redirect_attempts_against_an_https_redirect_uri_are_refused_without_redirect() {
    let (server, client, _) = setup().await;
    let valid = Query::valid(&client, CONFIDENTIAL_REDIRECT).without("redirect_uri");
    let attempts = [
        "https://app.example/other",
        "https://app.example/Callback",
        "https://app.example/callback/x",
        "https://app.example/callback/",
        "https://app.example/callback/.",
        "https://app.example/callback/../callback",
        "https://app.example/x/../callback",
        "https://app.example/callback/../../evil",
        "https://APP.example/callback",
        "https://app.example./callback",
        "https://app.example:443/callback",
        "https://app.example:8443/callback",
        "https://app.example/callback?x=1",
        "https://app.example/callback?",
        "https://app.example/callback#x",
        "https://app.example/callback#",
        "https://app.example@evil.example/callback",
        "https://evil.example@app.example/callback",
        "https://user:pw@app.example/callback",
        "https://app.example\\@evil.example/callback",
        "https://app.example%2F@evil.example/callback",
        "https://app.example/callback%2F..%2Fevil",
        "https://app.example/callback%2f..%2fevil",
        "https://app.example%2Fcallback",
        "https:%2F%2Fevil.example",
        "https://app.example.evil.example/callback",
        "https://evil.example/callback",
        "https://evil.example/https://app.example/callback",
        "http://app.example/callback",
        "HTTPS://app.example/callback",
        "//evil.example/callback",
        "/callback",
        "https://app.example/callback ",
        " https://app.example/callback",
        "https://app.example/callback\0",
        "https://app.example/callback\t",
        "javascript:alert(1)",
        "javascript://app.example/callback%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    ];
    for uri in attempts {
        // Properly encoded, the server sees exactly `uri`.
        let query = valid.clone().set("redirect_uri", uri).encode();
        assert_error_page(
            &get(&server, &query).await,
            400,
            &format!("encoded {uri:?}"),
        );
        // Sent raw, percent-escapes in `uri` are decoded once more by the server.
        // (Unless that decoding gives the registered URI, which is then fine.)
        let decoded = url::form_urlencoded::parse(format!("u={uri}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned());
        if decoded.as_deref() != Some(CONFIDENTIAL_REDIRECT)
            && !uri.contains(['#', ' ', '&', '\0', '\t', '<', '>', '\\', '+'])
        {
            let query = format!("{}&redirect_uri={uri}", valid.encode());
            assert_error_page(&get(&server, &query).await, 400, &format!("raw {uri:?}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_redirect_attempts_against_a_loopback_redirect_uri_are_refused_without_redirect() {
    let (server, _, public) = setup().await;
    let valid = Query::valid(&public, PUBLIC_REDIRECT);
    let attempts = [
        "http://localhost/callback",
        "http://localhost:8080/callback",
        "https://127.0.0.1/callback",
        "http://127.0.0.2/callback",
        "http://[::1]/callback",
        "http://0x7f000001/callback",
        "http://2130706433/callback",
        "http://127.1/callback",
        "http://127.0.0.1.evil.example/callback",
        "http://127.0.0.1@evil.example/callback",
        "http://127.0.0.1:80@evil.example/callback",
        "http://evil.example@127.0.0.1/callback",
        "http://127.0.0.1:/callback",
        "http://127.0.0.1:8080a/callback",
        "http://127.0.0.1:123456/callback",
        "http://127.0.0.1:65536/callback",
        "http://127.0.0.1:99999/callback",
        "http://127.0.0.1:8080/callback/x",
        "http://127.0.0.1:8080/callback/",
        "http://127.0.0.1:8080/other",
        "http://127.0.0.1:8080/callback?x=1",
        "http://127.0.0.1:8080/callback#x",
        "http://127.0.0.1:8080",
        "http://127.0.0.1",
    ];
    for uri in attempts {
        let query = valid.clone().set("redirect_uri", uri).encode();
        assert_error_page(&get(&server, &query).await, 400, uri);
    }
    // The one allowance (RFC 8252 §7.3): any port on the registered loopback URI.
    let query = valid
        .set("redirect_uri", "http://127.0.0.1:49152/callback")
        .encode();
    let page = get(&server, &query).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_login());
}

/// RFC 8252 §7.3's any-port loopback matching is for native (public) clients: a
/// confidential client's loopback URI matches exactly, port included, and another
/// port gets the error page, never a redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confidential_clients_loopback_redirect_uri_matches_only_on_its_port() {
    let server = TestServer::start().await;
    let registered = "http://127.0.0.1:8000/callback";
    let client = server
        .code_client_with(ClientType::Confidential, "read", |r| {
            r.redirect_uris = vec![registered.into(), "http://[::1]/v6".into()];
        })
        .await;
    for other in [
        "http://127.0.0.1:8001/callback",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:49152/callback",
        "http://[::1]:8000/v6",
    ] {
        let page = get(&server, &Query::valid(&client, other).encode()).await;
        assert_error_page(&page, 400, other);
    }
    for exact in [registered, "http://[::1]/v6"] {
        let page = get(&server, &Query::valid(&client, exact).encode()).await;
        assert!(page.is_login(), "{exact}: {} {}", page.status, page.body);
    }
}

/// New registrations refuse `localhost` (RFC 8252 §8.3); a client stored with one
/// before keeps it, matched exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localhost_is_refused_at_registration_and_an_existing_one_matches_exactly() {
    let server = TestServer::start().await;
    for client_type in [ClientType::Public, ClientType::Confidential] {
        let mut reg = gatehouse_tests::cc_registration("read");
        reg.client_type = client_type;
        reg.grant_types = vec![GrantType::AuthorizationCode];
        reg.redirect_uris = vec!["http://localhost:3000/callback".into()];
        let err = gatehouse_core::registration::register_client(
            &server.app.store,
            &server.app.config,
            reg,
        )
        .await
        .unwrap_err();
        assert!(err.contains("127.0.0.1") && err.contains("[::1]"), "{err}");
    }
    let old = "http://localhost:3000/callback";
    let mut stored = stored_client("old-native-app", None);
    stored.grant_types = vec![GrantType::AuthorizationCode];
    stored.redirect_uris = vec![old.into()];
    server.app.store.create_client(&stored).await.unwrap();
    let client = TestClient {
        id: stored.client_id.clone(),
        secret: None,
    };
    let page = get(&server, &Query::valid(&client, old).encode()).await;
    assert!(page.is_login(), "{} {}", page.status, page.body);
    for other in [
        "http://localhost:3001/callback",
        "http://localhost/callback",
        "http://127.0.0.1:3000/callback",
    ] {
        let page = get(&server, &Query::valid(&client, other).encode()).await;
        assert_error_page(&page, 400, other);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_uri_must_be_named_when_the_client_has_several() {
    let server = TestServer::start().await;
    let client = server
        .code_client_with(ClientType::Confidential, "read", |r| {
            r.redirect_uris.push("https://app.example/other".into());
        })
        .await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    assert_error_page(
        &get(&server, &query.clone().without("redirect_uri").encode()).await,
        400,
        "omitted with two registered",
    );
    assert_error_page(
        &get(&server, &query.clone().set("redirect_uri", "").encode()).await,
        400,
        "empty with two registered",
    );
    // Either registered URI, named, is fine.
    for uri in [CONFIDENTIAL_REDIRECT, "https://app.example/other"] {
        let page = get(&server, &query.clone().set("redirect_uri", uri).encode()).await;
        assert!(page.is_login(), "{uri}: {} {}", page.status, page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_redirect_uris_gets_an_error_page() {
    let server = TestServer::start().await;
    let service = server.cc_client("read").await;
    let query = Query::valid(&service, CONFIDENTIAL_REDIRECT);
    for (case, q) in [
        ("redirect_uri named", query.clone()),
        (
            "redirect_uri omitted",
            query.clone().without("redirect_uri"),
        ),
    ] {
        assert_error_page(&get(&server, &q.encode()).await, 400, case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_percent_encoding_gets_an_error_page_and_no_redirect() {
    let (server, client, _) = setup().await;
    let valid = Query::valid(&client, CONFIDENTIAL_REDIRECT).encode();
    for bad in [
        "x=%zz",
        "x=%4",
        "x=%",
        "x=%%41",
        "x=%G1",
        "x=%FF",
        "x=%C3%28",
        "x=%ED%A0%80",
        "%zz=1",
        "state=%E2%82",
        "scope=read%2",
    ] {
        for query in [format!("{valid}&{bad}"), format!("{bad}&{valid}")] {
            assert_error_page(&get(&server, &query).await, 400, &query);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_8_kib_gets_an_error_page_and_one_at_the_limit_does_not() {
    let (server, client, _) = setup().await;
    let valid = Query::valid(&client, CONFIDENTIAL_REDIRECT).encode();
    let padded = |len: usize| {
        let prefix = format!("{valid}&pad=");
        format!("{prefix}{}", "a".repeat(len - prefix.len()))
    };
    let at_limit = padded(8 * 1024);
    assert_eq!(at_limit.len(), 8192);
    let page = get(&server, &at_limit).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_login());
    for len in [8 * 1024 + 1, 9000, 60_000] {
        assert_error_page(
            &get(&server, &padded(len)).await,
            400,
            &format!("{len} bytes"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_form_cannot_send_the_user_where_the_query_could_not() {
    let (server, client, _) = setup().await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let csrf = login.field("csrf_token").unwrap();
    let forged = Query::valid(&client, "https://evil.example/callback").encode();
    for action in ["login", "approve", "deny"] {
        let page = ua
            .post(
                &server.url("/authorize"),
                &[
                    ("request", forged.as_str()),
                    ("csrf_token", csrf.as_str()),
                    ("action", action),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_error_page(&page, 400, action);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_never_render_request_values_as_markup() {
    let (server, client, _) = setup().await;
    let script = "<script>alert(1)</script>";
    for query in [
        Query::valid(&client, CONFIDENTIAL_REDIRECT).set("client_id", script),
        Query::valid(&client, script),
        Query::valid(&client, CONFIDENTIAL_REDIRECT).add("redirect_uri", script),
    ] {
        let page = get(&server, &query.encode()).await;
        assert_error_page(&page, 400, script);
        assert!(!page.body.contains("<script"), "{}", page.body);
    }
    // A failed login shows the username again, as text only.
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let evil = "\"><script>alert(1)</script>";
    let page = ua.login(&server, &login, evil, "x").await;
    assert_eq!(alert(&page), Some(GENERIC_LOGIN_ERROR));
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert_eq!(page.field("username").as_deref(), Some(evil));
}

// Errors by redirect: the client and redirect URI are trusted.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_response_type_is_invalid_request_by_redirect() {
    let (server, client, _) = setup().await;
    for query in [
        Query::valid(&client, CONFIDENTIAL_REDIRECT).without("response_type"),
        Query::valid(&client, CONFIDENTIAL_REDIRECT).set("response_type", ""),
    ] {
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_request",
            Some("st-123"),
            &query.encode(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_types_other_than_code_are_unsupported_by_redirect() {
    let (server, client, _) = setup().await;
    for response_type in [
        "token",
        "code id_token",
        "id_token",
        "code token",
        "id_token token",
        "none",
        "CODE",
        "code ",
        "code code",
    ] {
        let query =
            Query::valid(&client, CONFIDENTIAL_REDIRECT).set("response_type", response_type);
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "unsupported_response_type",
            Some("st-123"),
            response_type,
        );
        let loc = page.location().unwrap();
        assert!(
            loc.fragment().is_none(),
            "{response_type}: errors go in the query"
        );
        assert!(param(&loc, "access_token").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_parameter_is_invalid_request_by_redirect() {
    let (server, client, _) = setup().await;
    let valid = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    // Parameters of the valid request once more, and others twice.
    for (name, value, times) in [
        ("scope", "read", 1),
        ("scope", "write", 1),
        ("response_type", "code", 1),
        ("code_challenge", CHALLENGE, 1),
        ("code_challenge_method", "S256", 1),
        ("prompt", "login", 2),
        ("unknown_extension", "1", 2),
    ] {
        let query = (0..times).fold(valid.clone(), |q, _| q.add(name, value));
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_request",
            Some("st-123"),
            &format!("{name} twice"),
        );
    }
    // A repeated state cannot be echoed: which one would it be?
    let page = get(&server, &valid.add("state", "other").encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "invalid_request",
        None,
        "state twice",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_that_are_unknown_or_not_allowed_are_invalid_scope_by_redirect() {
    let server = TestServer::start().await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    for scope in [
        "admin",
        "read admin",
        "write",
        "read write",
        "READ",
        "openid",
    ] {
        let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("scope", scope);
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_scope",
            Some("st-123"),
            scope,
        );
    }
    // No scope named and no default scope: nothing to grant. (Registration makes
    // the default the allowed scope, so this client is written to the store.)
    let mut bare = stored_client("no-default-scope", Some("a-long-enough-secret"));
    bare.grant_types = vec![GrantType::AuthorizationCode];
    bare.redirect_uris = vec![CONFIDENTIAL_REDIRECT.into()];
    bare.default_scope = Scope::default();
    server.app.store.create_client(&bare).await.unwrap();
    let bare = TestClient {
        id: bare.client_id,
        secret: None,
    };
    let query = Query::valid(&bare, CONFIDENTIAL_REDIRECT).without("scope");
    let page = get(&server, &query.encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "invalid_scope",
        Some("st-123"),
        "no scope, no default",
    );
    // With a default scope, naming none is fine.
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).without("scope");
    assert!(get(&server, &query.encode()).await.is_login());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_scopes_are_invalid_scope_by_redirect() {
    let (server, client, _) = setup().await;
    for scope in [
        "read  write",
        " read",
        "read ",
        "read\twrite",
        "read\nwrite",
        "read\"",
        "re\\ad",
        "read,write",
        "réad",
        "read\u{7f}",
    ] {
        let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("scope", scope);
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_scope",
            Some("st-123"),
            &format!("{scope:?}"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_not_registered_for_the_code_grant_is_unauthorized_client_by_redirect() {
    let server = TestServer::start().await;
    let mut service = stored_client("service-with-redirect", Some("a-long-enough-secret"));
    service.redirect_uris = vec![CONFIDENTIAL_REDIRECT.into()];
    server.app.store.create_client(&service).await.unwrap();
    let client = TestClient {
        id: service.client_id.clone(),
        secret: None,
    };
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    let page = get(&server, &query.encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "unauthorized_client",
        Some("st-123"),
        "client_credentials only",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_client_without_pkce_is_invalid_request_by_redirect_to_its_port() {
    let (server, _, public) = setup().await;
    let query = Query::valid(&public, PUBLIC_REDIRECT)
        .without("code_challenge")
        .without("code_challenge_method");
    let page = get(&server, &query.encode()).await;
    assert_error_redirect(
        &server,
        &page,
        PUBLIC_REDIRECT,
        "invalid_request",
        Some("st-123"),
        "public without PKCE",
    );
    // The error goes to the loopback port the request named (RFC 8252 §7.3).
    let redirect = "http://127.0.0.1:49152/callback";
    let query = Query::valid(&public, redirect).without("code_challenge");
    let page = get(&server, &query.encode()).await;
    assert_error_redirect(
        &server,
        &page,
        redirect,
        "invalid_request",
        Some("st-123"),
        "method without challenge",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confidential_client_without_pkce_is_accepted_unless_the_server_requires_it() {
    let (server, client, _) = setup().await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT)
        .without("code_challenge")
        .without("code_challenge_method");
    let page = get(&server, &query.encode()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_login());

    let strict = TestServer::start_with(|c| c.require_pkce = true).await;
    let client = strict.code_client(ClientType::Confidential, "read").await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT)
        .without("code_challenge")
        .without("code_challenge_method");
    let page = get(&strict, &query.encode()).await;
    assert_error_redirect(
        &strict,
        &page,
        CONFIDENTIAL_REDIRECT,
        "invalid_request",
        Some("st-123"),
        "require_pkce",
    );
    let page = get(
        &strict,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    assert!(page.is_login(), "S256 is still fine: {}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registered_to_require_pkce_needs_it_though_the_server_does_not() {
    let server = TestServer::start().await;
    assert!(!server.app.config.require_pkce);
    let strict = server
        .code_client_with(ClientType::Confidential, "read", |r| r.require_pkce = true)
        .await;
    let stored = server
        .app
        .store
        .get_client(&strict.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.require_pkce, "the flag is stored");
    for (case, query) in [
        (
            "no challenge",
            Query::valid(&strict, CONFIDENTIAL_REDIRECT)
                .without("code_challenge")
                .without("code_challenge_method"),
        ),
        (
            "method without challenge",
            Query::valid(&strict, CONFIDENTIAL_REDIRECT).without("code_challenge"),
        ),
    ] {
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_request",
            Some("st-123"),
            case,
        );
    }
    let page = get(
        &server,
        &Query::valid(&strict, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    assert!(page.is_login(), "with S256 it signs in: {}", page.body);

    let relaxed = server.code_client(ClientType::Confidential, "read").await;
    let query = Query::valid(&relaxed, CONFIDENTIAL_REDIRECT)
        .without("code_challenge")
        .without("code_challenge_method");
    let page = get(&server, &query.encode()).await;
    assert!(
        page.is_login(),
        "another client of the same server needs none: {}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_pkce_method_is_refused_unless_the_server_allows_it() {
    let (server, client, public) = setup().await;
    for (case, query) in [
        (
            "explicit plain",
            Query::valid(&public, PUBLIC_REDIRECT).set("code_challenge_method", "plain"),
        ),
        (
            "method omitted means plain",
            Query::valid(&public, PUBLIC_REDIRECT).without("code_challenge_method"),
        ),
        (
            "empty method means plain",
            Query::valid(&public, PUBLIC_REDIRECT).set("code_challenge_method", ""),
        ),
    ] {
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            PUBLIC_REDIRECT,
            "invalid_request",
            Some("st-123"),
            case,
        );
    }
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).without("code_challenge_method");
    let page = get(&server, &query.encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "invalid_request",
        Some("st-123"),
        "confidential, method omitted",
    );

    let lax = TestServer::start_with(|c| c.allow_plain_pkce = true).await;
    let public = lax.code_client(ClientType::Public, "read").await;
    for query in [
        Query::valid(&public, PUBLIC_REDIRECT).set("code_challenge_method", "plain"),
        Query::valid(&public, PUBLIC_REDIRECT).without("code_challenge_method"),
    ] {
        let page = get(&lax, &query.encode()).await;
        assert_eq!(page.status, 200, "{}: {}", query.encode(), page.body);
        assert!(page.is_login());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_pkce_parameters_are_invalid_request_by_redirect() {
    let (server, _, public) = setup().await;
    let valid = Query::valid(&public, PUBLIC_REDIRECT);
    let a = |n: usize| "a".repeat(n);
    let cases = [
        (
            "unknown method",
            valid.clone().set("code_challenge_method", "S512"),
        ),
        (
            "lowercase s256",
            valid.clone().set("code_challenge_method", "s256"),
        ),
        (
            "S256 with a space",
            valid.clone().set("code_challenge_method", "S256 "),
        ),
        ("42 characters", valid.clone().set("code_challenge", &a(42))),
        (
            "129 characters",
            valid.clone().set("code_challenge", &a(129)),
        ),
        // RFC 7636 §4.2: BASE64URL(SHA256(..)) is exactly 43 characters.
        (
            "S256 of 44 characters",
            valid
                .clone()
                .set("code_challenge", &format!("{CHALLENGE}A")),
        ),
        (
            "S256 of 128 characters",
            valid.clone().set(
                "code_challenge",
                &format!("{CHALLENGE}{}", "A".repeat(128 - 43)),
            ),
        ),
        (
            "S256 of 43 characters that encode no 32 bytes",
            valid.clone().set("code_challenge", &a(43)),
        ),
        (
            "S256 with a verifier-only character",
            valid
                .clone()
                .set("code_challenge", &format!("{}~", &CHALLENGE[..42])),
        ),
        (
            "a plus",
            valid.clone().set("code_challenge", &format!("{}+", a(42))),
        ),
        (
            "a slash",
            valid.clone().set("code_challenge", &format!("{}/", a(42))),
        ),
        (
            "padding",
            valid.clone().set("code_challenge", &format!("{}=", a(43))),
        ),
        (
            "a space",
            valid.clone().set("code_challenge", &format!("{} ", a(43))),
        ),
        (
            "non-ASCII",
            valid.clone().set("code_challenge", &format!("{}é", a(42))),
        ),
        (
            "method without challenge",
            valid.clone().without("code_challenge"),
        ),
    ];
    for (case, query) in cases {
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            PUBLIC_REDIRECT,
            "invalid_request",
            Some("st-123"),
            case,
        );
    }
    // A real S256 challenge is fine; plain keeps the bounds of a verifier.
    let page = get(&server, &valid.encode()).await;
    assert!(page.is_login(), "S256: {}", page.body);
    let lax = TestServer::start_with(|c| c.allow_plain_pkce = true).await;
    let public = lax.code_client(ClientType::Public, "read").await;
    let plain = Query::valid(&public, PUBLIC_REDIRECT).set("code_challenge_method", "plain");
    for n in [43, 44, 128] {
        let page = get(&lax, &plain.clone().set("code_challenge", &a(n)).encode()).await;
        assert!(page.is_login(), "plain, {n} characters: {}", page.body);
    }
    for n in [42, 129] {
        let page = get(&lax, &plain.clone().set("code_challenge", &a(n)).encode()).await;
        assert_error_redirect(
            &lax,
            &page,
            PUBLIC_REDIRECT,
            "invalid_request",
            Some("st-123"),
            &format!("plain, {n} characters"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_response_modes_are_invalid_request_and_request_objects_not_supported_by_redirect() {
    let (server, client, _) = setup().await;
    for mode in ["fragment", "form_post", "query.jwt", "web_message", "QUERY"] {
        let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("response_mode", mode);
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_request",
            Some("st-123"),
            mode,
        );
        assert!(page.location().unwrap().fragment().is_none(), "{mode}");
    }
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("response_mode", "query");
    assert!(get(&server, &query.encode()).await.is_login());
    // Nor are request objects (RFC 9101): OpenID Connect Core §6.1, §6.2 name
    // the errors.
    for (name, value, error) in [
        (
            "request",
            "eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImFkbWluIn0.",
            "request_not_supported",
        ),
        (
            "request_uri",
            "https://evil.example/request.jwt",
            "request_uri_not_supported",
        ),
        (
            "request_uri",
            "urn:ietf:params:oauth:request_uri:abc",
            "request_uri_not_supported",
        ),
    ] {
        let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set(name, value);
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            error,
            Some("st-123"),
            name,
        );
    }
    // Only once the client and redirect URI are known good is the client told.
    let query = Query::valid(&client, "https://evil.example/cb").set("request_uri", "urn:x");
    let page = get(&server, &query.encode()).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_nonces_are_invalid_request_by_redirect() {
    let (server, client, _) = setup().await;
    let long = "n".repeat(513);
    for (case, raw_nonce) in [
        ("empty", ""),
        ("over 512 characters", long.as_str()),
        ("a NUL", "a%00b"),
        ("a line feed", "a%0Ab"),
        ("a tab", "a%09b"),
        ("DEL", "a%7Fb"),
        ("a C1 control", "a%C2%85b"),
    ] {
        let query = format!(
            "{}&nonce={raw_nonce}",
            Query::valid(&client, CONFIDENTIAL_REDIRECT).encode()
        );
        let page = get(&server, &query).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_request",
            Some("st-123"),
            case,
        );
    }
    // Repeated, it is refused as any repeated parameter is.
    let query = format!(
        "{}&nonce=a&nonce=b",
        Query::valid(&client, CONFIDENTIAL_REDIRECT).encode()
    );
    let page = get(&server, &query).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "invalid_request",
        Some("st-123"),
        "repeated",
    );
    // 512 printable characters, spaces and non-ASCII letters included, are fine.
    for good in ["n".repeat(512), "a b ünï".into()] {
        let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("nonce", &good);
        assert!(get(&server, &query.encode()).await.is_login(), "{good}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_none_is_login_required_without_a_session_and_consent_required_without_consent() {
    let (server, client, _) = setup().await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("prompt", "none");
    let page = get(&server, &query.encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "login_required",
        Some("st-123"),
        "prompt=none",
    );
    assert!(
        set_cookie(&page, CSRF_COOKIE).is_none(),
        "no page, so no cookie"
    );
    // Signed in but never approved: consent_required.
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    sign_in(&mut ua, &server, &query).await;
    let page = authorize(&mut ua, &server, &query.set("prompt", "none").encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "consent_required",
        Some("st-123"),
        "prompt=none, signed in, no consent",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_prompt_values_are_invalid_request_by_redirect() {
    let (server, client, _) = setup().await;
    for prompt in [
        "none login",
        "login none",
        "none consent",
        "none select_account",
        "bogus",
        "LOGIN",
        "login  consent",
        " login",
        "login,consent",
    ] {
        let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("prompt", prompt);
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "invalid_request",
            Some("st-123"),
            &format!("prompt={prompt:?}"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_redirect_without_state_carries_no_state() {
    let (server, client, _) = setup().await;
    let base = Query::valid(&client, CONFIDENTIAL_REDIRECT).set("response_type", "token");
    for (case, query) in [
        ("state omitted", base.clone().without("state")),
        ("state empty", base.clone().set("state", "")),
    ] {
        let page = get(&server, &query.encode()).await;
        assert_error_redirect(
            &server,
            &page,
            CONFIDENTIAL_REDIRECT,
            "unsupported_response_type",
            None,
            case,
        );
    }
    // A state with reserved characters comes back exactly.
    let tricky = "a&b=c#d %2F+é";
    let page = get(&server, &base.set("state", tricky).encode()).await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "unsupported_response_type",
        Some(tricky),
        "tricky state",
    );
}

// The pages and their headers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_html_response_carries_the_security_headers() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    let mut ua = UserAgent::new();
    let login = authorize(&mut ua, &server, &query.encode()).await;
    assert!(login.is_login());
    assert_html_headers(&login, "login page");
    let failed = ua.login(&server, &login, "alice", "wrong password 1").await;
    assert_html_headers(&failed, "failed login page");
    let consent = ua.login(&server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent());
    assert_html_headers(&consent, "consent page");
    let error = get(&server, &query.clone().set("client_id", "nobody").encode()).await;
    assert_html_headers(&error, "error page");
    let forbidden = post_login(&mut UserAgent::new(), &server, &login, None, PASSWORD).await;
    assert_eq!(forbidden.status, 403);
    assert_html_headers(&forbidden, "CSRF page");
    let not_allowed = to_page(
        http()
            .delete(server.url("/authorize"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_html_headers(&not_allowed, "405 page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_has_labelled_fields_a_csrf_token_and_an_http_only_csrf_cookie() {
    let (server, client, _) = setup().await;
    let page = get(
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    assert_eq!(page.status, 200);
    for needle in [
        "<label for=\"username\">",
        "<label for=\"password\">",
        "id=\"username\" name=\"username\"",
        "id=\"password\" name=\"password\" type=\"password\"",
        "type=\"hidden\" name=\"csrf_token\"",
        "method=\"post\"",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    let token = page.field("csrf_token").unwrap();
    assert!(token.len() >= 43, "{token}");
    let cookie = set_cookie(&page, CSRF_COOKIE).expect("a CSRF cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute}: {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP loopback issuer: {cookie}"
    );
    assert!(
        !cookie.contains(&token),
        "the cookie holds the nonce, not the token"
    );
    assert!(
        set_cookie(&page, SESSION_COOKIE).is_none(),
        "no session before sign-in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_and_host_prefixed_when_the_issuer_is_https() {
    let server = TestServer::start_with(|c| c.issuer = "https://auth.example".into()).await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    assert!(login.is_login());
    let csrf = set_cookie(&login, "__Host-gatehouse_csrf").expect("a __Host- CSRF cookie");
    assert!(csrf.split("; ").any(|a| a == "Secure"), "{csrf}");
    assert!(!csrf.contains("Domain="), "{csrf}");
    let consent = ua.login(&server, &login, "alice", PASSWORD).await;
    assert!(consent.is_consent(), "{}", consent.body);
    let session = set_cookie(&consent, "__Host-gatehouse_session").expect("a __Host- session");
    assert!(session.split("; ").any(|a| a == "Secure"), "{session}");
    assert!(set_cookie(&consent, SESSION_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_http_only_lax_site_wide_and_expires() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let consent = sign_in(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT),
    )
    .await;
    let cookie = set_cookie(&consent, SESSION_COOKIE).expect("a session cookie");
    let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&attribute), "{attribute}: {cookie}");
    }
    let max_age = format!("Max-Age={}", server.app.config.session_ttl);
    assert!(attributes.contains(&max_age.as_str()), "{cookie}");
    assert!(!cookie.contains("Domain="), "{cookie}");
}

// CSRF on the login and consent forms.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_the_right_csrf_token_is_refused_with_403() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let token = login.field("csrf_token").unwrap();
    let mut flipped = token.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let truncated = &token[..token.len() - 1];
    let longer = format!("{token}A");
    for (case, csrf) in [
        ("missing", None),
        ("empty", Some("")),
        ("wrong", Some("not-the-token")),
        ("one character changed", Some(flipped.as_str())),
        ("truncated", Some(truncated)),
        ("extended", Some(longer.as_str())),
    ] {
        let page = post_login(&mut ua, &server, &login, csrf, PASSWORD).await;
        assert_error_page(&page, 403, case);
        assert!(set_cookie(&page, SESSION_COOKIE).is_none(), "{case}");
    }
    assert!(!ua.cookies.contains_key(SESSION_COOKIE));
    // The right token still works.
    let page = post_login(&mut ua, &server, &login, Some(&token), PASSWORD).await;
    assert!(page.is_consent(), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csrf_token_counts_only_with_the_cookie_it_was_made_for() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let login = get(
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let token = login.field("csrf_token").unwrap();
    let mut stranger = UserAgent::new();
    let page = post_login(&mut stranger, &server, &login, Some(&token), PASSWORD).await;
    assert_error_page(&page, 403, "no CSRF cookie");
    assert!(set_cookie(&page, SESSION_COOKIE).is_none());
    // An empty cookie is no better.
    stranger.cookies.insert(CSRF_COOKIE.into(), String::new());
    let page = post_login(&mut stranger, &server, &login, Some(&token), PASSWORD).await;
    assert_error_page(&page, 403, "empty CSRF cookie");
    // The victim's browser posts the attacker's token (login CSRF).
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT).encode();
    let mut attacker = UserAgent::new();
    let attackers_page = authorize(&mut attacker, &server, &query).await;
    let mut victim = UserAgent::new();
    let victims_page = authorize(&mut victim, &server, &query).await;
    assert_ne!(
        attackers_page.field("csrf_token"),
        victims_page.field("csrf_token")
    );
    let page = post_login(
        &mut victim,
        &server,
        &attackers_page,
        attackers_page.field("csrf_token").as_deref(),
        PASSWORD,
    )
    .await;
    assert_error_page(&page, 403, "another browser's token");
    assert!(set_cookie(&page, SESSION_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_consent_without_the_right_csrf_token_issues_no_code() {
    let (server, client, _) = setup().await;
    let alice = server.user("alice").await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    let mut ua = UserAgent::new();
    let consent = sign_in(&mut ua, &server, &query).await;
    let request = consent.field("request").unwrap();
    let other_token = get(&server, &query.encode())
        .await
        .field("csrf_token")
        .unwrap();
    for (case, csrf) in [
        ("missing", None),
        ("wrong", Some("not-the-token")),
        ("another browser's", Some(other_token.as_str())),
    ] {
        let mut form = vec![("request", request.as_str()), ("action", "approve")];
        if let Some(t) = csrf {
            form.push(("csrf_token", t));
        }
        let page = ua.post(&server.url("/authorize"), &form).await;
        assert_error_page(&page, 403, case);
    }
    assert_eq!(
        server
            .app
            .store
            .get_consent(&alice.user_id, &client.id)
            .await
            .unwrap(),
        None,
        "no consent was recorded"
    );
    let again = authorize(&mut ua, &server, &query.encode()).await;
    assert!(again.is_consent(), "still asked: {}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_without_a_session_shows_the_login_page_and_issues_no_code() {
    let (server, client, _) = setup().await;
    let alice = server.user("alice").await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let page = ua
        .post(
            &server.url("/authorize"),
            &[
                ("request", login.field("request").unwrap().as_str()),
                ("csrf_token", login.field("csrf_token").unwrap().as_str()),
                ("action", "approve"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_login(), "{}", page.body);
    assert!(page.header("location").is_none());
    assert!(
        server
            .app
            .store
            .get_consent(&alice.user_id, &client.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_missing_form_action_gets_a_400_page() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let consent = sign_in(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT),
    )
    .await;
    let request = consent.field("request").unwrap();
    let csrf = consent.field("csrf_token").unwrap();
    for action in [Some("grant"), Some("APPROVE"), Some(""), None] {
        let mut form = vec![("request", request.as_str()), ("csrf_token", csrf.as_str())];
        if let Some(a) = action {
            form.push(("action", a));
        }
        let page = ua.post(&server.url("/authorize"), &form).await;
        assert_error_page(&page, 400, &format!("action {action:?}"));
    }
}

// Login failures and throttling.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_login_page_again_with_the_generic_message() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    for password in [
        "wrong password",
        "",
        "correct horse battery ",
        "CORRECT HORSE BATTERY",
    ] {
        let page = ua.login(&server, &login, "alice", password).await;
        assert_eq!(page.status, 200, "{password:?}");
        assert!(page.is_login(), "{password:?}");
        assert_eq!(alert(&page), Some(GENERIC_LOGIN_ERROR), "{password:?}");
        assert_eq!(page.field("username").as_deref(), Some("alice"));
        assert!(set_cookie(&page, SESSION_COOKIE).is_none(), "{password:?}");
        assert_html_headers(&page, password);
    }
    assert!(!ua.cookies.contains_key(SESSION_COOKIE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_or_disabled_user_gets_exactly_the_wrong_password_message() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    server.user("bob").await;
    server.app.store.set_disabled("bob", true).await.unwrap();
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let wrong = ua.login(&server, &login, "alice", "wrong password").await;
    let expected = alert(&wrong).unwrap().to_owned();
    assert_eq!(expected, GENERIC_LOGIN_ERROR);
    for (case, user, password) in [
        ("unknown user", "mallory", PASSWORD),
        ("invalid username", "not a valid name!", PASSWORD),
        ("empty username", "", PASSWORD),
        ("disabled user, right password", "bob", PASSWORD),
        ("disabled user, wrong password", "bob", "wrong password"),
    ] {
        let page = ua.login(&server, &login, user, password).await;
        assert_eq!(page.status, wrong.status, "{case}");
        assert_eq!(alert(&page), Some(expected.as_str()), "{case}");
        assert!(set_cookie(&page, SESSION_COOKIE).is_none(), "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_too_many_failures_for_one_username_from_one_address_even_the_right_password_is_throttled_there()
 {
    let (server, client) = throttling_setup(|_| {}).await;
    let max = server.app.config.login_max_failures_per_user_source;
    assert_eq!(max, 5, "the default");
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    for i in 0..max {
        let page = ua.login(&server, &login, "alice", "wrong password").await;
        assert_eq!(
            page.status, 200,
            "failure {i} is counted, not yet throttled"
        );
        assert_eq!(alert(&page), Some(GENERIC_LOGIN_ERROR));
    }
    // Another browser at the same address, the same username, the right password
    // (the owner elsewhere is not throttled: tests/tests/login_throttling.rs).
    let mut other = UserAgent::new();
    let login = authorize(
        &mut other,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    let page = other.login(&server, &login, "alice", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.is_login());
    assert!(
        alert(&page).is_some_and(|a| a.starts_with("Too many failed sign-in attempts")),
        "{:?}",
        alert(&page)
    );
    assert!(set_cookie(&page, SESSION_COOKIE).is_none());
    assert!(page.header("location").is_none());
    assert_html_headers(&page, "429 page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_too_many_failures_from_one_address_every_username_is_throttled() {
    let (server, client) = throttling_setup(|c| c.login_max_failures_per_source = 3).await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    for user in ["bob", "carol", "dave"] {
        let page = ua.login(&server, &login, user, "wrong password").await;
        assert_eq!(page.status, 200, "{user}");
    }
    let page = ua.login(&server, &login, "alice", PASSWORD).await;
    assert_eq!(
        page.status, 429,
        "alice never failed; the address did: {}",
        page.body
    );
    assert!(set_cookie(&page, SESSION_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_on_one_username_do_not_lock_out_another() {
    let (server, client) = throttling_setup(|_| {}).await;
    server.user("bob").await;
    let mut ua = UserAgent::new();
    let login = authorize(
        &mut ua,
        &server,
        &Query::valid(&client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    for _ in 0..server.app.config.login_max_failures_per_user_source {
        ua.login(&server, &login, "bob", "wrong password").await;
    }
    let page = ua.login(&server, &login, "bob", PASSWORD).await;
    assert_eq!(page.status, 429, "bob is throttled at this address");
    let page = ua.login(&server, &login, "alice", PASSWORD).await;
    assert!(
        page.is_consent(),
        "alice is not: {} {}",
        page.status,
        page.body
    );
    assert!(set_cookie(&page, SESSION_COOKIE).is_some());
}

// The end of sessions.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_existing_sessions() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    let mut ua = UserAgent::new();
    sign_in(&mut ua, &server, &query).await;
    assert!(
        authorize(&mut ua, &server, &query.encode())
            .await
            .is_consent(),
        "the session counts"
    );
    // password_changed_at has one-second granularity and must pass auth_time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    set_user_password(&server.app.store, "alice", "new password 123")
        .await
        .unwrap();
    let page = authorize(&mut ua, &server, &query.encode()).await;
    assert!(page.is_login(), "{} {}", page.status, page.body);
    let page = authorize(
        &mut ua,
        &server,
        &query.clone().set("prompt", "none").encode(),
    )
    .await;
    assert_error_redirect(
        &server,
        &page,
        CONFIDENTIAL_REDIRECT,
        "login_required",
        Some("st-123"),
        "prompt=none after a password change",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_or_disabling_the_user_ends_the_session() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    server.user("bob").await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);

    let mut ua = UserAgent::new();
    sign_in(&mut ua, &server, &query).await;
    assert!(server.app.store.delete_user("alice").await.unwrap());
    assert!(
        authorize(&mut ua, &server, &query.encode())
            .await
            .is_login()
    );
    // A new user of the same name is someone else.
    server.user("alice").await;
    let page = authorize(&mut ua, &server, &query.encode()).await;
    assert!(
        page.is_login(),
        "the old session does not carry over: {}",
        page.body
    );

    let mut ua = UserAgent::new();
    let login = authorize(&mut ua, &server, &query.encode()).await;
    assert!(
        ua.login(&server, &login, "bob", PASSWORD)
            .await
            .is_consent()
    );
    server.app.store.set_disabled("bob", true).await.unwrap();
    assert!(
        authorize(&mut ua, &server, &query.encode())
            .await
            .is_login()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_session_cookie_is_ignored() {
    let (server, client, _) = setup().await;
    server.user("alice").await;
    let query = Query::valid(&client, CONFIDENTIAL_REDIRECT);
    let mut ua = UserAgent::new();
    sign_in(&mut ua, &server, &query).await;
    let genuine = ua.cookies[SESSION_COOKIE].clone();
    // `{session id}.{secret}`: the record keeps the secret's hash.
    let (sid, secret) = genuine.split_once('.').unwrap();
    assert!(secret.len() >= 43, "{genuine}");
    // The secret with its last character changed (to one it is not).
    let last = if secret.ends_with('A') { 'B' } else { 'A' };
    let other_secret = format!("{}{last}", &secret[..secret.len() - 1]);
    let cases = [
        ("wrong secret", format!("{sid}.{other_secret}")),
        (
            "another session id",
            format!("{}x.{secret}", &sid[..sid.len() - 1]),
        ),
        ("no secret", sid.to_owned()),
        ("empty secret", format!("{sid}.")),
        ("truncated secret", genuine[..genuine.len() - 2].to_owned()),
        ("secret alone", format!(".{secret}")),
        ("garbage", "x".repeat(80)),
        ("empty", String::new()),
    ];
    for (case, value) in cases {
        let mut stranger = UserAgent::new();
        stranger.cookies.insert(SESSION_COOKIE.into(), value);
        let page = authorize(&mut stranger, &server, &query.encode()).await;
        assert_eq!(page.status, 200, "{case}");
        assert!(page.is_login(), "{case}: {}", page.body);
    }
    // A session of another deployment is unknown here.
    let other = TestServer::start().await;
    let other_client = other.code_client(ClientType::Confidential, "read").await;
    let mut stranger = UserAgent::new();
    stranger.cookies.insert(SESSION_COOKIE.into(), genuine);
    let page = authorize(
        &mut stranger,
        &other,
        &Query::valid(&other_client, CONFIDENTIAL_REDIRECT).encode(),
    )
    .await;
    assert!(page.is_login(), "{}", page.body);
}

// Methods and bodies.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_other_than_get_and_post_get_405_with_allow() {
    let (server, client, _) = setup().await;
    let url = server.url(&format!(
        "/authorize?{}",
        Query::valid(&client, CONFIDENTIAL_REDIRECT).encode()
    ));
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let method = gatehouse_tests::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let page = to_page(http().request(method.clone(), &url).send().await.unwrap()).await;
        assert_error_page(&page, 405, method.as_str());
        assert_eq!(page.header("allow"), Some("GET, POST"), "{method}");
    }
}

/// A `HEAD` changes nothing (RFC 9110 §9.2.1, §9.3.2): where a `GET` would issue a
/// code at once (a client that skips consent, consent remembered), a `HEAD` is 405
/// and issues none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_issues_no_code_and_changes_nothing() {
    use gatehouse_core::store::GrantsOf;
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let skip = server
        .code_client_with(ClientType::Confidential, "read", |r| r.skip_consent = true)
        .await;
    let remembered = server.code_client(ClientType::Confidential, "read").await;
    let grants = || async {
        server
            .app
            .store
            .list_grants(GrantsOf::User(&alice.username))
            .await
            .unwrap()
            .len()
    };
    let mut ua = UserAgent::new();
    for client in [&skip, &remembered] {
        let (_, challenge) = gatehouse_tests::flow::pkce();
        let query = server.authorize_query(client, CONFIDENTIAL_REDIRECT, "read", &challenge);
        ua.authorize(&server, &query, "alice").await;
        let before = grants().await;
        let url = server.url(&format!("/authorize?{query}"));
        let cookies = ua
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let resp = http()
            .head(&url)
            .header(header::COOKIE, cookies)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        assert_eq!(
            resp.headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok()),
            Some("GET, POST")
        );
        assert!(resp.headers().get(header::LOCATION).is_none());
        assert!(resp.headers().get(header::SET_COOKIE).is_none());
        assert_eq!(grants().await, before, "a HEAD made a grant");
        // The same request as a GET would have issued a code at once.
        let page = ua.get(&url).await;
        assert_eq!(page.status, 302, "{}", page.body);
        assert!(page.location().is_some_and(|l| param(&l, "code").is_some()));
        assert_eq!(grants().await, before + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_that_is_not_a_form_gets_a_400_page_not_a_server_error() {
    let (server, client, _) = setup().await;
    let request = Query::valid(&client, CONFIDENTIAL_REDIRECT).encode();
    let json = format!(r#"{{"request":"{request}","action":"login"}}"#);
    for (case, content_type, body) in [
        ("JSON", Some("application/json"), json.clone()),
        ("text", Some("text/plain"), format!("request={request}")),
        (
            "multipart",
            Some("multipart/form-data; boundary=x"),
            "--x\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\nlogin\r\n--x--\r\n"
                .into(),
        ),
        ("no content type", None, format!("request={request}")),
        (
            "form in latin1",
            Some("application/x-www-form-urlencoded; charset=latin1"),
            format!("request={request}"),
        ),
        (
            "form with a bad escape",
            Some("application/x-www-form-urlencoded"),
            "action=%zz".into(),
        ),
        (
            "form with a repeated field",
            Some("application/x-www-form-urlencoded"),
            "action=login&action=approve".into(),
        ),
        (
            "form without the request",
            Some("application/x-www-form-urlencoded"),
            "action=login&username=alice".into(),
        ),
    ] {
        let mut req = http().post(server.url("/authorize")).body(body);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let page = to_page(req.send().await.unwrap()).await;
        assert_error_page(&page, 400, case);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_body_over_16_kib_gets_413() {
    let (server, _, _) = setup().await;
    let post = |body: String| {
        http()
            .post(server.url("/authorize"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let at_limit = format!("x={}", "a".repeat(16 * 1024 - 2));
    let page = to_page(post(at_limit).await.unwrap()).await;
    assert_error_page(
        &page,
        400,
        "at the limit: parsed, then refused for no client",
    );
    for len in [16 * 1024 + 1, 100_000, 2_000_000] {
        let page = to_page(post(format!("x={}", "a".repeat(len - 2))).await.unwrap()).await;
        assert_error_page(&page, 413, &format!("{len} bytes"));
    }
}

// Codes.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_is_stored_only_as_its_hash_in_its_grant_and_expires_after_a_minute() {
    let (server, _, public) = setup().await;
    let alice = server.user("alice").await;
    let (code, _verifier) = server.code_for(&public, PUBLIC_REDIRECT, "alice").await;
    let (grant_id, secret) = code.split_once('.').expect("{grant_id}.{secret}");
    assert!(secret.len() >= 43, "{code}");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'),
        "{code}"
    );
    let grant = server
        .app
        .store
        .get_grant(grant_id)
        .await
        .unwrap()
        .expect("the code names its grant");
    assert!(grant.code.hash.matches(&code));
    assert_ne!(grant.code.hash.as_str(), code);
    assert_eq!(grant.code.expires_at, grant.created_at + 60);
    assert_eq!(grant.client_id, public.id);
    assert_eq!(grant.user.user_id, alice.user_id);
    assert_eq!(grant.user.username, "alice");
    assert!(grant.code.redeemed_at.is_none() && grant.is_live());
    assert_eq!(grant.code.binding.redirect_uri, PUBLIC_REDIRECT);
    assert_eq!(
        grant.code.binding.challenge.map(|c| c.method),
        Some(ChallengeMethod::S256)
    );
    // The grant remembers the login session it was made in.
    let session = server
        .app
        .store
        .get_session(&grant.session_id)
        .await
        .unwrap()
        .expect("the session record");
    assert_eq!(session.user_id, alice.user_id);
    assert_eq!(grant.auth_time, session.auth_time);
    assert_eq!(session.amr, "pwd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_cannot_be_approved_with_an_old_session() {
    use gatehouse_core::domain::session::{LoginSession, cookie_value};
    use gatehouse_core::secret::random_token;
    let server = TestServer::start().await;
    let alice = server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let signed_in = gatehouse_core::app::now() - 1000;
    let secret = random_token();
    let old = LoginSession {
        session_id: "old-session".into(),
        secret_hash: secret.hash(),
        user_id: alice.user_id.clone(),
        username: "alice".into(),
        user_epoch: alice.epoch,
        auth_time: signed_in,
        amr: "pwd".into(),
        created_at: signed_in,
        last_seen_at: signed_in,
        expires_at: signed_in + 8 * 3600,
        ended_at: None,
    };
    server.app.store.create_session(&old).await.unwrap();
    let (_, challenge) = gatehouse_tests::flow::pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    for (prompt, approved) in [("consent+login", false), ("consent", true)] {
        let mut ua = UserAgent::new();
        ua.cookies.insert(
            "gatehouse_session".into(),
            cookie_value(&old.session_id, secret.expose()),
        );
        // The page for a fresh request: with prompt=login the login page (its
        // CSRF token is what an attacker-free user agent would reuse).
        let page = ua
            .get(&server.url(&format!("/authorize?prompt={prompt}&{query}")))
            .await;
        let csrf = page.field("csrf_token").expect("a form");
        let request = page.field("request").unwrap();
        let after = ua
            .post(
                &server.url("/authorize"),
                &[
                    ("request", &request),
                    ("csrf_token", &csrf),
                    ("action", "approve"),
                ],
            )
            .await;
        if approved {
            assert_eq!(after.status, 303, "{prompt}: {}", after.body);
        } else {
            assert!(
                after.is_login(),
                "{prompt}: {} {}",
                after.status,
                after.body
            );
            assert!(after.location().is_none());
        }
    }
}
