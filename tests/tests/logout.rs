//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3, §4) end to
//! end over HTTP: a real ID token from the code flow, driven by the
//! `openidconnect` crate as the relying party, which finds `end_session_endpoint`
//! by discovery and builds the logout request (`LogoutRequest`). The browser is a
//! cookie-keeping client that follows no redirect. Negative tests first.

use gatehouse_core::domain::client::ClientType;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, Page, UserAgent, param, pkce};
use gatehouse_tests::relying_party::Rp as Client;
use gatehouse_tests::{TestClient, TestServer, http};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl,
    TokenResponse,
};
use std::str::FromStr;

const SIGNED_OUT: &str = "https://app.example/signed-out";
const WITH_QUERY: &str = "https://app.example/out?from=gatehouse";
const OTHER_APP: &str = "https://other.example/signed-out";

struct Rp {
    registered: TestClient,
    client: Client,
    metadata: ProviderMetadataWithLogout,
}

/// The relying party of `registered`, by discovery of the metadata with
/// `end_session_endpoint` (§2.1).
async fn discover(server: &TestServer, registered: TestClient) -> Rp {
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http())
        .await
        .expect("the provider metadata is discovered");
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(registered.id.clone()),
        registered.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(CONFIDENTIAL_REDIRECT.into()).unwrap());
    Rp {
        registered,
        client,
        metadata,
    }
}

impl Rp {
    /// A logout request to the discovered `end_session_endpoint`.
    fn logout(&self) -> LogoutRequest {
        LogoutRequest::from(
            self.metadata
                .additional_metadata()
                .end_session_endpoint
                .clone()
                .expect("end_session_endpoint is advertised"),
        )
    }
}

/// A server with alice and bob, the app (post-logout URIs [`SIGNED_OUT`] and
/// [`WITH_QUERY`]) and another app ([`OTHER_APP`]), and their relying parties.
async fn setup() -> (TestServer, Rp, Rp) {
    let server = TestServer::start().await;
    server.user("alice").await;
    server.user("bob").await;
    let app = server
        .code_client_with(ClientType::Confidential, "openid read", |r| {
            r.name = "Photo App".into();
            r.post_logout_redirect_uris = vec![SIGNED_OUT.into(), WITH_QUERY.into()];
        })
        .await;
    let other = server
        .code_client_with(ClientType::Confidential, "openid read", |r| {
            r.name = "Other App".into();
            r.post_logout_redirect_uris = vec![OTHER_APP.into()];
        })
        .await;
    let app = discover(&server, app).await;
    let other = discover(&server, other).await;
    (server, app, other)
}

/// `user` signs in to `rp` in a new browser; the browser and the ID token.
async fn sign_in(server: &TestServer, rp: &Rp, user: &str) -> (UserAgent, CoreIdToken) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, _) = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let mut ua = UserAgent::new();
    let login = ua.get(url.as_str()).await;
    let mut done = ua.login(server, &login, user, PASSWORD).await;
    if done.is_consent() {
        done = ua.consent(server, &done, "approve").await;
    }
    let code = param(&done.location().expect("a redirect"), "code").expect("a code");
    let token = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("the code exchange succeeds");
    let id_token = token.id_token().expect("an ID token").clone();
    (ua, id_token)
}

/// Whether the browser is signed in, as `prompt=none` at `/authorize` tells
/// (Core §3.1.2.1): a code, or `login_required`.
async fn signed_in(server: &TestServer, ua: &mut UserAgent, rp: &Rp) -> bool {
    let (_, challenge) = pkce();
    let query = server.authorize_query(&rp.registered, CONFIDENTIAL_REDIRECT, "openid", &challenge);
    let page = ua
        .get(&server.url(&format!("/authorize?{query}&prompt=none")))
        .await;
    let location = page.location().expect("prompt=none redirects");
    match param(&location, "error").as_deref() {
        None => {
            assert!(param(&location, "code").is_some(), "{location}");
            true
        }
        Some("login_required") => false,
        Some(other) => panic!("unexpected error {other}"),
    }
}

/// An error page, not a redirect: status, HTML, no `Location`.
fn assert_page(page: &Page, status: u16, says: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(page.location().is_none(), "never a redirect");
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    assert!(page.body.contains(says), "{says:?} in {}", page.body);
    assert_page_headers(page);
}

fn assert_page_headers(page: &Page) {
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'")),
        "{:?}",
        page.headers
    );
    assert!(page.header("access-control-allow-origin").is_none());
}

/// The ID token's claims, unverified (the test signs variants of them).
fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// `claims` signed with the server's active key, header `typ`.
async fn sign(server: &TestServer, typ: &str, claims: &serde_json::Value) -> String {
    let k = server.app.signing_key().await.unwrap().unwrap();
    let mut h = jsonwebtoken::Header::new(k.alg.jwt_algorithm());
    h.typ = Some(typ.into());
    h.kid = Some(k.kid.clone());
    jsonwebtoken::encode(&h, claims, k.encoding_key()).unwrap()
}

/// POSTs `fields` to `/logout` from `ua`.
async fn post(server: &TestServer, ua: &mut UserAgent, fields: Vec<(String, String)>) -> Page {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    ua.post(&server.url("/logout"), &f).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverifiable_id_token_hint_is_a_400_page_and_ends_nothing() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let real = id_token.to_string();
    let mut tampered = real.clone();
    tampered.replace_range(tampered.len() - 6.., "AAAAAA");
    let mut other_issuer = claims_of(&real);
    other_issuer["iss"] = "https://other-issuer.example".into();
    let other_issuer = sign(&server, "JWT", &other_issuer).await;
    let as_access_token = sign(&server, "at+jwt", &claims_of(&real)).await;
    for (why, hint) in [
        ("garbage", "not-a-jwt".to_owned()),
        ("a tampered signature", tampered),
        ("another issuer", other_issuer),
        ("an access token's typ", as_access_token),
    ] {
        let mut u = url::Url::parse(&server.url("/logout")).unwrap();
        u.query_pairs_mut()
            .append_pair("id_token_hint", &hint)
            .append_pair("post_logout_redirect_uri", SIGNED_OUT)
            .append_pair("state", "s1");
        let page = ua.get(u.as_str()).await;
        assert_page(&page, 400, "ID token hint");
        assert!(page.header("set-cookie").is_none(), "{why}");
        assert!(
            signed_in(&server, &mut ua, &app).await,
            "{why}: nothing ended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_logout_redirect_uri_not_registered_exactly_is_a_400_page_never_a_redirect() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    for (why, uri) in [
        ("not registered", "https://evil.example/signed-out"),
        ("another client's", OTHER_APP),
        ("a prefix of a registered one", "https://app.example/signed"),
        (
            "a registered one extended",
            "https://app.example/signed-out/more",
        ),
        ("different case", "https://app.example/Signed-Out"),
        ("different host case", "https://APP.example/signed-out"),
        (
            "its query changed",
            "https://app.example/out?from=elsewhere",
        ),
        ("its query dropped", "https://app.example/out"),
        ("the login redirect URI", CONFIDENTIAL_REDIRECT),
    ] {
        let url = app
            .logout()
            .set_id_token_hint(&id_token)
            .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(uri.into()).unwrap())
            .set_state(CsrfToken::new("s1".into()))
            .http_get_url();
        let page = ua.get(url.as_str()).await;
        assert_page(&page, 400, "has not registered");
        assert!(
            signed_in(&server, &mut ua, &app).await,
            "{why}: nothing ended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_logout_redirect_uri_of_no_identified_client_is_a_400_page() {
    let (server, app, _) = setup().await;
    let (mut ua, _) = sign_in(&server, &app, "alice").await;
    // Neither client_id nor id_token_hint (§2, §3): whose URI would it be?
    let url = app
        .logout()
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .http_get_url();
    let page = ua.get(url.as_str()).await;
    assert_page(&page, 400, "without saying which application");
    // A client_id that names no client.
    let url = app
        .logout()
        .set_client_id(ClientId::new("no-such-client".into()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .http_get_url();
    let page = ua.get(url.as_str()).await;
    assert_page(&page, 400, "not registered");
    assert!(signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_id_and_the_hints_audience_disagreeing_is_a_400_page() {
    let (server, app, other) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    // The other app's URI, its client_id, and the app's ID token.
    let url = app
        .logout()
        .set_id_token_hint(&id_token)
        .set_client_id(ClientId::new(other.registered.id.clone()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(OTHER_APP.into()).unwrap())
        .http_get_url();
    let page = ua.get(url.as_str()).await;
    assert_page(&page, 400, "names one application in client_id and another");
    // Without a redirect URI too.
    let url = app
        .logout()
        .set_id_token_hint(&id_token)
        .set_client_id(ClientId::new(other.registered.id.clone()))
        .http_get_url();
    assert_page(&ua.get(url.as_str()).await, 400, "client_id");
    assert!(signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_and_other_methods_are_refused_with_a_page() {
    let (server, app, _) = setup().await;
    let (mut ua, _) = sign_in(&server, &app, "alice").await;
    let page = ua.get(&server.url("/logout?state=a&state=b")).await;
    assert_page(&page, 400, "Bad request");
    let page = ua.get(&server.url("/logout?state=%ZZ")).await;
    assert_page(&page, 400, "Bad request");
    for method in ["PUT", "DELETE", "OPTIONS", "HEAD"] {
        let resp = http()
            .request(
                reqwest::Method::from_str(method).unwrap(),
                server.url("/logout"),
            )
            .header("origin", "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        assert_eq!(resp.headers()["allow"], "GET, POST");
        assert!(resp.headers().get("access-control-allow-origin").is_none());
    }
    assert!(signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_hint_the_user_is_asked_and_only_the_confirmed_form_ends_the_session() {
    let (server, app, _) = setup().await;
    let (mut ua, _) = sign_in(&server, &app, "alice").await;
    let url = app
        .logout()
        .set_client_id(ClientId::new(app.registered.id.clone()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .set_state(CsrfToken::new("st-42".into()))
        .http_get_url();
    let confirm = ua.get(url.as_str()).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_page_headers(&confirm);
    assert!(
        confirm.body.contains("Sign out of Gatehouse?"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("Photo App"), "names the client");
    assert!(confirm.body.contains("alice"), "names the user");
    assert!(
        signed_in(&server, &mut ua, &app).await,
        "asking ends nothing"
    );

    let fields: Vec<(String, String)> = ["client_id", "post_logout_redirect_uri", "state"]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                confirm
                    .field(n)
                    .unwrap_or_else(|| panic!("hidden field {n}")),
            )
        })
        .collect();
    assert_eq!(fields[1].1, SIGNED_OUT);
    assert_eq!(fields[2].1, "st-42");
    let csrf = confirm.field("csrf_token").expect("a CSRF token");
    let form = |csrf: Option<&str>| {
        let mut f: Vec<(String, String)> = fields.clone();
        f.push(("action".into(), "logout".into()));
        if let Some(c) = csrf {
            f.push(("csrf_token".into(), c.into()));
        }
        f
    };
    // No CSRF token, a wrong one, or the right one without the CSRF cookie.
    let page = post(&server, &mut ua, form(None)).await;
    assert_page(&page, 403, "expired");
    let page = post(&server, &mut ua, form(Some("AAAA"))).await;
    assert_page(&page, 403, "expired");
    let mut no_csrf_cookie = UserAgent::new();
    no_csrf_cookie.cookies = ua.cookies.clone();
    no_csrf_cookie.cookies.retain(|k, _| !k.contains("csrf"));
    let page = post(&server, &mut no_csrf_cookie, form(Some(&csrf))).await;
    assert_page(&page, 403, "expired");
    assert!(
        signed_in(&server, &mut ua, &app).await,
        "no valid token, no logout"
    );

    // Confirmed: the session ends and the browser goes back with state.
    let before = ua.cookies.clone();
    let done = post(&server, &mut ua, form(Some(&csrf))).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location().unwrap();
    assert_eq!(location.as_str(), format!("{SIGNED_OUT}?state=st-42"));
    assert_eq!(done.header("cache-control"), Some("no-store"));
    assert!(
        !signed_in(&server, &mut ua, &app).await,
        "the session ended"
    );
    // The old cookie, kept by a browser that ignored the clearing, is no use.
    ua.cookies = before;
    assert!(
        !signed_in(&server, &mut ua, &app).await,
        "ended in the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_without_a_csrf_cookie_gets_one_with_the_confirmation_page() {
    let (server, app, _) = setup().await;
    let (mut ua, _) = sign_in(&server, &app, "alice").await;
    ua.cookies.retain(|k, _| !k.contains("csrf"));
    let url = app
        .logout()
        .set_client_id(ClientId::new(app.registered.id.clone()))
        .http_get_url();
    let confirm = ua.get(url.as_str()).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let set = confirm.header("set-cookie").expect("a CSRF cookie");
    assert!(
        set.starts_with("gatehouse_csrf=") && set.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{set}"
    );
    let csrf = confirm.field("csrf_token").unwrap();
    let done = post(
        &server,
        &mut ua,
        vec![
            ("client_id".into(), app.registered.id.clone()),
            ("csrf_token".into(), csrf),
            ("action".into(), "logout".into()),
        ],
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You are signed out."));
    assert!(!signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_about_another_user_asks_first() {
    let (server, app, _) = setup().await;
    let (_, bobs_token) = sign_in(&server, &app, "bob").await;
    let (mut ua, _) = sign_in(&server, &app, "alice").await;
    let url = app
        .logout()
        .set_id_token_hint(&bobs_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .http_get_url();
    let confirm = ua.get(url.as_str()).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Sign out of Gatehouse?"));
    assert!(confirm.body.contains("alice"), "{}", confirm.body);
    assert_eq!(
        confirm.field("id_token_hint").as_deref(),
        Some(bobs_token.to_string().as_str())
    );
    assert!(signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_and_a_registered_uri_end_the_session_and_redirect_with_state() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let (mut other_browser, _) = sign_in(&server, &app, "alice").await;
    let session_cookie = ua.cookies["gatehouse_session"].clone();
    let session_id = session_cookie.split('.').next().unwrap().to_owned();
    let url = app
        .logout()
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .set_state(CsrfToken::new("st-1".into()))
        .http_get_url();
    let before = ua.cookies.clone();
    let done = ua.get(url.as_str()).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(
        done.location().unwrap().as_str(),
        format!("{SIGNED_OUT}?state=st-1")
    );
    assert_eq!(done.header("cache-control"), Some("no-store"));
    assert!(done.header("access-control-allow-origin").is_none());
    let cleared = done.header("set-cookie").expect("the cookie is cleared");
    assert_eq!(
        cleared,
        "gatehouse_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    );
    // Ended in the database, not only in this browser.
    use gatehouse_core::store::SessionStore;
    let s = server
        .app
        .store
        .get_session(&session_id)
        .await
        .unwrap()
        .unwrap();
    assert!(s.ended_at.is_some());
    assert!(
        !signed_in(&server, &mut ua, &app).await,
        "prompt=none: login_required"
    );
    ua.cookies = before;
    assert!(
        !signed_in(&server, &mut ua, &app).await,
        "the old cookie too"
    );
    // Alice's session in another browser is another session.
    assert!(signed_in(&server, &mut other_browser, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_encoded_and_appended_to_the_query_of_the_registered_uri() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let state = "a b&c=d/é";
    let url = app
        .logout()
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(WITH_QUERY.into()).unwrap())
        .set_state(CsrfToken::new(state.into()))
        .http_get_url();
    let done = ua.get(url.as_str()).await;
    assert_eq!(done.status, 302, "{}", done.body);
    let location = done.location().unwrap();
    assert!(
        location
            .as_str()
            .starts_with(&format!("{WITH_QUERY}&state=")),
        "{location}"
    );
    assert_eq!(param(&location, "from").as_deref(), Some("gatehouse"));
    assert_eq!(param(&location, "state").as_deref(), Some(state));
    // Without state, exactly the registered URI.
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let url = app
        .logout()
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(WITH_QUERY.into()).unwrap())
        .http_get_url();
    let done = ua.get(url.as_str()).await;
    assert_eq!(done.location().unwrap().as_str(), WITH_QUERY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_hint_is_accepted() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    // The same claims, issued and expired an hour ago (§2: the OP should accept
    // an expired ID token as a hint).
    let mut claims = claims_of(&id_token.to_string());
    let t = gatehouse_core::app::now();
    claims["iat"] = (t - 7200).into();
    claims["exp"] = (t - 3600).into();
    let expired = CoreIdToken::from_str(&sign(&server, "JWT", &claims).await).unwrap();
    let url = app
        .logout()
        .set_id_token_hint(&expired)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .http_get_url();
    let done = ua.get(url.as_str()).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(done.location().unwrap().as_str(), SIGNED_OUT);
    assert!(!signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_logout_works_like_get() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let hint = id_token.to_string();
    let done = ua
        .post(
            &server.url("/logout"),
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", "st-p"),
                ("ui_locales", "en"),
                ("logout_hint", "alice"),
                ("something_else", "ignored"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location().unwrap().as_str(),
        format!("{SIGNED_OUT}?state=st-p")
    );
    assert!(!signed_in(&server, &mut ua, &app).await);
    // A POST with an unregistered URI is refused the same way.
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let hint = id_token.to_string();
    let page = ua
        .post(
            &server.url("/logout"),
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", OTHER_APP),
            ],
        )
        .await;
    assert_page(&page, 400, "has not registered");
    assert!(signed_in(&server, &mut ua, &app).await);
    // And without a hint it asks first.
    let page = ua
        .post(
            &server.url("/logout"),
            &[("client_id", app.registered.id.as_str())],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign out of Gatehouse?"));
    assert!(signed_in(&server, &mut ua, &app).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_session_the_redirect_or_the_signed_out_page_follows() {
    let (server, app, _) = setup().await;
    let (_, id_token) = sign_in(&server, &app, "alice").await;
    let mut fresh = UserAgent::new();
    let url = app
        .logout()
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .set_state(CsrfToken::new("st-0".into()))
        .http_get_url();
    let done = fresh.get(url.as_str()).await;
    assert_eq!(done.status, 302, "{}", done.body);
    assert_eq!(
        done.location().unwrap().as_str(),
        format!("{SIGNED_OUT}?state=st-0")
    );
    assert!(done.header("set-cookie").is_none(), "no cookie to clear");
    // client_id alone identifies the client too (§2).
    let url = app
        .logout()
        .set_client_id(ClientId::new(app.registered.id.clone()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .http_get_url();
    let done = fresh.get(url.as_str()).await;
    assert_eq!(done.location().unwrap().as_str(), SIGNED_OUT);
    // Nothing at all: the signed-out page.
    let page = fresh.get(&server.url("/logout")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You are signed out."), "{}", page.body);
    assert_page_headers(&page);
    // A hint without a redirect URI: the page too.
    let url = app.logout().set_id_token_hint(&id_token).http_get_url();
    let page = fresh.get(url.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You are signed out."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hint_without_a_redirect_uri_ends_the_session_and_shows_the_signed_out_page() {
    let (server, app, _) = setup().await;
    let (mut ua, id_token) = sign_in(&server, &app, "alice").await;
    let url = app.logout().set_id_token_hint(&id_token).http_get_url();
    let page = ua.get(url.as_str()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("You are signed out."));
    assert_page_headers(&page);
    assert!(
        page.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert!(!signed_in(&server, &mut ua, &app).await);
}
