//! Sign-in through upstream OpenID Providers, end to end: the downstream
//! client's request, the login page's "Continue with" button or
//! `identity_provider`, the upstream provider (scripted, `oidc-provider` from
//! npm, and a second Gatehouse), the callback, the linking page, then the code
//! and tokens the downstream client gets. Negative tests first (issue 12:
//! "Tests that must exist").

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::user::ProfileChange;
use gatehouse_core::paths::federation_redirect_uri;
use gatehouse_core::registration;
use gatehouse_core::store::{IdentityStore, Unlink, UserStore};
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, Page, UserAgent, param, pkce};
use gatehouse_tests::scripted_provider::Fault;
use gatehouse_tests::upstream::{Answer, GatehouseUpstream, NodeOidcProvider};
use gatehouse_tests::{TestClient, TestServer, serde_json};
use serde_json::Value;

/// The downstream server and a confidential client of it that skips consent.
async fn downstream() -> (TestServer, TestClient) {
    let server = TestServer::start().await;
    let client = server
        .code_client_with(ClientType::Confidential, "openid email profile", |r| {
            r.skip_consent = true;
        })
        .await;
    (server, client)
}

/// The downstream authorization request, with a PKCE pair and `state`
/// `st-123`; `extra` appended.
fn query(server: &TestServer, client: &TestClient, extra: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let mut q = server.authorize_query(client, CONFIDENTIAL_REDIRECT, "openid email", &challenge);
    q.push_str("&nonce=n-1");
    q.push_str(extra);
    (q, verifier)
}

/// GETs `url`, then follows redirects until one leaves for the downstream
/// client, or a page is shown.
async fn visit(ua: &mut UserAgent, url: &str) -> Page {
    let page = ua.get(url).await;
    follow(ua, page).await
}

/// Follows redirects from `page` until one leaves for the downstream client,
/// or a page is shown.
async fn follow(ua: &mut UserAgent, mut page: Page) -> Page {
    for _ in 0..10 {
        if !matches!(page.status, 302 | 303) {
            return page;
        }
        let next = page.location().expect("a redirect has a Location");
        if next.as_str().starts_with(CONFIDENTIAL_REDIRECT) {
            return page;
        }
        page = ua.get(next.as_str()).await;
    }
    panic!("too many redirects");
}

/// Clicks "Continue with {provider_id} accounts" on the login `page`.
async fn continue_with(
    ua: &mut UserAgent,
    server: &TestServer,
    page: &Page,
    provider_id: &str,
) -> Page {
    assert!(
        page.body
            .contains(&format!("Continue with {provider_id} accounts")),
        "{}",
        page.body
    );
    let request = page.field("request").unwrap();
    let csrf = page.field("csrf_token").unwrap();
    ua.post(
        &server.url("/authorize"),
        &[
            ("request", &request),
            ("csrf_token", &csrf),
            ("action", "federate"),
            ("provider", provider_id),
        ],
    )
    .await
}

/// The downstream client's answer: the redirect's query parameters.
fn answer(page: &Page) -> url::Url {
    assert!(
        matches!(page.status, 302 | 303),
        "{} {}",
        page.status,
        page.body
    );
    let loc = page.location().unwrap();
    assert!(loc.as_str().starts_with(CONFIDENTIAL_REDIRECT), "{loc}");
    loc
}

/// The claims of an ID token (its signature is the token endpoint tests' concern).
fn claims(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Redeems the code of `page` and answers the ID token's claims.
async fn id_token_of(
    server: &TestServer,
    client: &TestClient,
    page: &Page,
    verifier: &str,
) -> Value {
    let loc = answer(page);
    let code = param(&loc, "code").unwrap_or_else(|| panic!("no code: {loc}"));
    let (status, _, body) = server
        .exchange_code(client, &code, CONFIDENTIAL_REDIRECT, verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    claims(body["id_token"].as_str().unwrap())
}

/// Signs in through scripted provider `id` by the login page's button.
async fn through_button(
    ua: &mut UserAgent,
    server: &TestServer,
    client: &TestClient,
    id: &str,
) -> (Page, String) {
    let (q, verifier) = query(server, client, "");
    let login = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    let started = continue_with(ua, server, &login, id).await;
    assert_eq!(started.status, 303, "{}", started.body);
    (follow(ua, started).await, verifier)
}

/// The authorization response of `fault`, through the scripted provider.
async fn with_fault(fault: Fault) -> (TestServer, url::Url) {
    let (server, client) = downstream().await;
    let p = server.scripted_upstream("scripted", false).await;
    p.set_fault(fault);
    let mut ua = UserAgent::new();
    let (page, _) = through_button(&mut ua, &server, &client, "scripted").await;
    (server, answer(&page))
}

async fn assert_refused(fault: Fault) {
    let (server, loc) = with_fault(fault.clone()).await;
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("access_denied"),
        "{fault:?}: {loc}"
    );
    assert_eq!(
        param(&loc, "state").as_deref(),
        Some("st-123"),
        "the client's own state"
    );
    assert_eq!(param(&loc, "code"), None);
    assert!(
        server.app.store.list_users().await.unwrap().is_empty(),
        "{fault:?}: no user is created"
    );
}

#[tokio::test]
async fn an_id_token_with_the_wrong_nonce_signs_nobody_in() {
    assert_refused(Fault::WrongNonce).await;
}

#[tokio::test]
async fn an_id_token_of_another_issuer_signs_nobody_in() {
    assert_refused(Fault::WrongIssuer).await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_signs_nobody_in() {
    assert_refused(Fault::WrongAudience).await;
}

#[tokio::test]
async fn an_expired_id_token_signs_nobody_in() {
    assert_refused(Fault::Expired).await;
}

#[tokio::test]
async fn an_id_token_signed_with_a_key_not_in_the_jwks_signs_nobody_in() {
    assert_refused(Fault::UnknownKey).await;
}

#[tokio::test]
async fn an_unsigned_id_token_signs_nobody_in() {
    assert_refused(Fault::AlgNone).await;
}

#[tokio::test]
async fn a_response_naming_another_issuer_is_a_mix_up_and_signs_nobody_in() {
    assert_refused(Fault::MixUp("http://127.0.0.1:9/other".into())).await;
}

#[tokio::test]
async fn an_upstream_error_returns_to_the_client_with_its_own_state() {
    let (server, loc) = with_fault(Fault::AccessDenied).await;
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("access_denied"),
        "{loc}"
    );
    assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    assert_eq!(param(&loc, "iss").as_deref(), Some(server.base.as_str()));
    assert!(server.app.store.list_users().await.unwrap().is_empty());
}

/// The callback URL of a sign-in started at scripted provider `id`: the
/// provider's redirect, not yet followed.
async fn callback_url(
    ua: &mut UserAgent,
    server: &TestServer,
    client: &TestClient,
    id: &str,
) -> url::Url {
    let (q, _) = query(server, client, &format!("&identity_provider={id}"));
    let to_provider = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    assert_eq!(to_provider.status, 302, "{}", to_provider.body);
    let at_provider = ua.get(to_provider.location().unwrap().as_str()).await;
    assert_eq!(at_provider.status, 302);
    at_provider.location().unwrap()
}

#[tokio::test]
async fn a_callback_without_state_gets_an_error_page() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let mut url = callback_url(&mut ua, &server, &client, "scripted").await;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "state")
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    let page = ua.get(url.as_str()).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("missing its state"), "{}", page.body);
}

#[tokio::test]
async fn a_replayed_callback_gets_an_error_page_and_no_code() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let url = callback_url(&mut ua, &server, &client, "scripted").await;
    let first = ua.get(url.as_str()).await;
    assert!(param(&answer(&first), "code").is_some());
    let again = ua.get(url.as_str()).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    assert_eq!(again.location(), None);
}

#[tokio::test]
async fn a_callback_in_another_browser_gets_an_error_page_and_no_code() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let url = callback_url(&mut ua, &server, &client, "scripted").await;
    let mut other = UserAgent::new();
    let page = other.get(url.as_str()).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("another browser"), "{}", page.body);
    assert_eq!(page.location(), None);
    assert!(server.app.store.list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn provider_as_response_at_provider_bs_callback_gets_an_error_page() {
    let (server, client) = downstream().await;
    server.scripted_upstream("a", false).await;
    server.scripted_upstream("b", false).await;
    let mut ua = UserAgent::new();
    let url = callback_url(&mut ua, &server, &client, "a").await;
    let at_b = url
        .as_str()
        .replace("/federation/a/callback", "/federation/b/callback");
    let page = ua.get(&at_b).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("another provider"), "{}", page.body);
    assert!(server.app.store.list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn identity_provider_must_name_a_registered_provider() {
    let (server, client) = downstream().await;
    let mut ua = UserAgent::new();
    for (value, why) in [
        ("nobody", "no registered"),
        ("bad%20id", "not a provider id"),
    ] {
        let (q, _) = query(&server, &client, &format!("&identity_provider={value}"));
        let page = ua.get(&server.url(&format!("/authorize?{q}"))).await;
        let loc = answer(&page);
        assert_eq!(
            param(&loc, "error").as_deref(),
            Some("invalid_request"),
            "{loc}"
        );
        assert!(
            param(&loc, "error_description").unwrap().contains(why),
            "{loc}"
        );
        assert_eq!(param(&loc, "state").as_deref(), Some("st-123"));
    }
}

#[tokio::test]
async fn prompt_none_never_starts_an_upstream_sign_in() {
    let (server, client) = downstream().await;
    let p = server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let (q, _) = query(&server, &client, "&identity_provider=scripted&prompt=none");
    let page = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    let loc = answer(&page);
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("login_required"),
        "{loc}"
    );
    assert!(p.authorization_requests().is_empty());
}

#[tokio::test]
async fn email_verified_as_the_string_true_links_nothing() {
    let (server, client) = downstream().await;
    let p = server.scripted_upstream("scripted", true).await;
    local_user_with_upstream_email(&server).await;
    p.set_fault(Fault::EmailVerifiedString);
    let mut ua = UserAgent::new();
    let (page, _) = through_button(&mut ua, &server, &client, "scripted").await;
    assert_eq!(page.status, 200, "the linking page: {}", page.body);
    assert!(page.body.contains("Link your account"), "{}", page.body);
    assert!(
        server
            .app
            .store
            .identities_of("alice")
            .await
            .unwrap()
            .is_empty(),
        "nothing was linked"
    );
}

/// `alice`, with a password and the scripted provider's e-mail address, verified.
async fn local_user_with_upstream_email(server: &TestServer) -> gatehouse_core::domain::user::User {
    registration::create_user_with_profile(
        &server.app.store,
        "alice",
        PASSWORD,
        &ProfileChange {
            email: Some("alice@upstream.example".into()),
            email_verified: Some(true),
            ..ProfileChange::default()
        },
    )
    .await
    .unwrap()
}

/// Submits the linking `page`'s `action` form (`link` as `alice` with
/// `password`, or `new_user`), with its sealed identity or `pending` instead.
async fn answer_link_page(
    ua: &mut UserAgent,
    server: &TestServer,
    page: &Page,
    action: &str,
    password: &str,
    pending: Option<&str>,
) -> Page {
    let request = page.field("request").unwrap();
    let csrf = page.field("csrf_token").unwrap();
    let sealed = page.field("pending").unwrap();
    let mut form = vec![
        ("request", request.as_str()),
        ("csrf_token", csrf.as_str()),
        ("pending", pending.unwrap_or(&sealed)),
        ("action", action),
    ];
    if action == "link" {
        form.extend([("username", "alice"), ("password", password)]);
    }
    ua.post(&server.url("/authorize"), &form).await
}

#[tokio::test]
async fn linking_is_refused_without_the_local_password() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    local_user_with_upstream_email(&server).await;
    let mut ua = UserAgent::new();
    let (page, _) = through_button(&mut ua, &server, &client, "scripted").await;
    assert!(page.body.contains("Link your account"), "{}", page.body);
    let refused = answer_link_page(&mut ua, &server, &page, "link", "wrong password!", None).await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert!(refused.body.contains("incorrect"), "{}", refused.body);
    assert!(
        server
            .app
            .store
            .identities_of("alice")
            .await
            .unwrap()
            .is_empty()
    );
    // A forged identity in the form is refused outright.
    let pending = page.field("pending").unwrap();
    let forged = answer_link_page(
        &mut ua,
        &server,
        &page,
        "link",
        PASSWORD,
        Some(&format!("x{pending}")),
    )
    .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(
        server
            .app
            .store
            .identities_of("alice")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_local_password_links_and_the_next_sign_in_is_that_user() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let alice = local_user_with_upstream_email(&server).await;
    let mut ua = UserAgent::new();
    let (page, verifier) = through_button(&mut ua, &server, &client, "scripted").await;
    let linked = answer_link_page(&mut ua, &server, &page, "link", PASSWORD, None).await;
    let c = id_token_of(&server, &client, &linked, &verifier).await;
    assert_eq!(c["sub"], alice.user_id.as_str());
    assert_eq!(c["amr"], serde_json::json!(["pwd", "fed"]));
    assert_eq!(
        server.app.store.identities_of("alice").await.unwrap().len(),
        1
    );
    // Another browser, through the provider again: alice, with no question.
    let mut again = UserAgent::new();
    let (page, verifier) = through_button(&mut again, &server, &client, "scripted").await;
    let c = id_token_of(&server, &client, &page, &verifier).await;
    assert_eq!(c["sub"], alice.user_id.as_str());
    assert_eq!(c["amr"], serde_json::json!(["fed"]));
}

#[tokio::test]
async fn continuing_as_a_new_user_leaves_the_local_account_alone() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let alice = local_user_with_upstream_email(&server).await;
    let mut ua = UserAgent::new();
    let (page, verifier) = through_button(&mut ua, &server, &client, "scripted").await;
    let created = answer_link_page(&mut ua, &server, &page, "new_user", "", None).await;
    let c = id_token_of(&server, &client, &created, &verifier).await;
    assert_ne!(c["sub"], alice.user_id.as_str());
    assert_eq!(server.app.store.list_users().await.unwrap().len(), 2);
    assert!(
        server
            .app
            .store
            .identities_of("alice")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_trusted_verified_email_links_to_the_verified_local_user() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", true).await;
    let alice = local_user_with_upstream_email(&server).await;
    let mut ua = UserAgent::new();
    let (page, verifier) = through_button(&mut ua, &server, &client, "scripted").await;
    let c = id_token_of(&server, &client, &page, &verifier).await;
    assert_eq!(c["sub"], alice.user_id.as_str());
    assert_eq!(
        server.app.store.identities_of("alice").await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_first_sign_in_creates_a_user_and_returning_users_get_the_same_sub() {
    let (server, client) = downstream().await;
    let p = server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let (page, verifier) = through_button(&mut ua, &server, &client, "scripted").await;
    let first = id_token_of(&server, &client, &page, &verifier).await;
    assert_eq!(first["amr"], serde_json::json!(["fed"]));
    assert_eq!(first["nonce"], "n-1");
    let users = server.app.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    let user = &users[0];
    assert_eq!(first["sub"], user.user_id.as_str(), "Gatehouse's own sub");
    assert_ne!(first["sub"], p.subject.as_str());
    assert!(user.password_hash.is_none());
    assert_eq!(
        user.profile.email.as_deref(),
        Some("alice@upstream.example")
    );
    assert!(!user.profile.email_verified, "not trusted for e-mail");
    assert_eq!(user.profile.name.as_deref(), Some("Alice Upstream"));

    // What went upstream: state, nonce, PKCE S256, the provider's redirect URI.
    let sent = &p.authorization_requests()[0];
    assert_eq!(
        sent["redirect_uri"],
        federation_redirect_uri(&server.base, "scripted")
    );
    assert_eq!(sent["code_challenge_method"], "S256");
    assert!(sent["state"].len() >= 43 && sent["nonce"].len() >= 43);
    let token_request = &p.token_requests()[0];
    assert!(token_request.form.contains_key("code_verifier"));

    // A returning user, in another browser, the same sub; still one user.
    let mut again = UserAgent::new();
    let (page, verifier) = through_button(&mut again, &server, &client, "scripted").await;
    let second = id_token_of(&server, &client, &page, &verifier).await;
    assert_eq!(second["sub"], first["sub"]);
    assert_eq!(server.app.store.list_users().await.unwrap().len(), 1);

    // The last way to sign in cannot be unlinked.
    assert_eq!(
        server
            .app
            .store
            .unlink(&p.issuer, &p.subject, &user.username)
            .await
            .unwrap(),
        Unlink::LastMethod
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_are_passed_upstream_and_the_session_keeps_the_upstream_auth_time()
{
    let (server, client) = downstream().await;
    let p = server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let (q, verifier) = query(
        &server,
        &client,
        "&identity_provider=scripted&prompt=login&max_age=60",
    );
    let page = visit(&mut ua, &server.url(&format!("/authorize?{q}"))).await;
    let c = id_token_of(&server, &client, &page, &verifier).await;
    let sent = &p.authorization_requests()[0];
    assert_eq!(sent["prompt"], "login");
    assert_eq!(sent["max_age"], "60");
    assert!(c["auth_time"].as_u64().is_some());
}

#[tokio::test]
async fn an_auth_time_older_than_max_age_signs_nobody_in() {
    let (server, client) = downstream().await;
    let p = server.scripted_upstream("scripted", false).await;
    p.shape(|c| {
        c.insert(
            "auth_time".into(),
            serde_json::json!(gatehouse_core::app::now() - 3600),
        );
    });
    let mut ua = UserAgent::new();
    let (q, _) = query(&server, &client, "&identity_provider=scripted&max_age=60");
    let page = visit(&mut ua, &server.url(&format!("/authorize?{q}"))).await;
    let loc = answer(&page);
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("access_denied"),
        "{loc}"
    );
    assert!(server.app.store.list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_removed_provider_leaves_the_login_page_at_once() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let (q, _) = query(&server, &client, "");
    let page = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    assert!(page.body.contains("Continue with scripted accounts"));
    use gatehouse_core::store::ProviderStore;
    assert!(server.app.store.delete_provider("scripted").await.unwrap());
    let page = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    assert!(!page.body.contains("Continue with"), "{}", page.body);
}

#[tokio::test]
async fn sign_in_through_oidc_provider_from_npm() {
    let (server, client) = downstream().await;
    let redirect = federation_redirect_uri(&server.base, "node");
    let (config, upstream_client) = NodeOidcProvider::config(&redirect);
    let node = NodeOidcProvider::start(config).await;
    server
        .add_upstream(
            "node",
            &node.issuer,
            &upstream_client.id,
            &upstream_client.secret,
            false,
        )
        .await;
    let mut ua = UserAgent::new();
    let (q, verifier) = query(&server, &client, "&identity_provider=node");
    let to_node = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    assert_eq!(to_node.status, 302, "{}", to_node.body);
    let signed_in = node
        .sign_in(&mut ua, to_node.location().unwrap().as_str(), "alice")
        .await;
    assert!(
        signed_in.redirect.as_str().starts_with(&redirect),
        "{}",
        signed_in.redirect
    );
    let page = visit(&mut ua, signed_in.redirect.as_str()).await;
    let c = id_token_of(&server, &client, &page, &verifier).await;
    let user = &server.app.store.list_users().await.unwrap()[0];
    assert_eq!(c["sub"], user.user_id.as_str());
    assert_eq!(
        user.profile.email.as_deref(),
        Some("alice@upstream.example")
    );
    assert_eq!(
        user.profile.name.as_deref(),
        Some("Alice Upstream"),
        "from UserInfo"
    );
}

#[tokio::test]
async fn sign_in_through_another_gatehouse() {
    let (server, client) = downstream().await;
    let redirect = federation_redirect_uri(&server.base, "upstream");
    let upstream = GatehouseUpstream::start(&redirect).await;
    server
        .add_upstream(
            "upstream",
            upstream.issuer(),
            &upstream.client.id,
            &upstream.client.secret,
            false,
        )
        .await;
    let mut ua = UserAgent::new();
    // The upstream Gatehouse's cookies have the same names: a user agent of its own.
    let mut upstream_ua = UserAgent::new();
    let (q, verifier) = query(&server, &client, "");
    let login = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    let started = continue_with(&mut ua, &server, &login, "upstream").await;
    let signed_in = upstream
        .sign_in(
            &mut upstream_ua,
            started.location().unwrap().as_str(),
            Answer::Approve,
        )
        .await;
    let page = visit(&mut ua, signed_in.redirect.as_str()).await;
    let first = id_token_of(&server, &client, &page, &verifier).await;
    let user = &server.app.store.list_users().await.unwrap()[0];
    assert_eq!(first["sub"], user.user_id.as_str());
    assert_eq!(
        user.profile.email.as_deref(),
        Some("alice@gatehouse-upstream.example")
    );

    // Again, signed in upstream already: the same sub.
    let (q, verifier) = query(&server, &client, "&identity_provider=upstream");
    let mut ua = UserAgent::new();
    let to_upstream = ua.get(&server.url(&format!("/authorize?{q}"))).await;
    let signed_in = upstream
        .sign_in(
            &mut upstream_ua,
            to_upstream.location().unwrap().as_str(),
            Answer::Approve,
        )
        .await;
    let page = visit(&mut ua, signed_in.redirect.as_str()).await;
    let second = id_token_of(&server, &client, &page, &verifier).await;
    assert_eq!(second["sub"], first["sub"]);
}

#[tokio::test]
async fn an_identity_whose_user_was_deleted_signs_in_as_a_new_user_never_as_the_names_new_owner() {
    let (server, client) = downstream().await;
    server.scripted_upstream("scripted", false).await;
    let mut ua = UserAgent::new();
    let (page, verifier) = through_button(&mut ua, &server, &client, "scripted").await;
    let first = id_token_of(&server, &client, &page, &verifier).await;
    let name = server.app.store.list_users().await.unwrap()[0]
        .username
        .clone();
    assert!(server.app.store.delete_user(&name).await.unwrap());
    // Someone else takes the name, with a password.
    let squatter = registration::create_user(&server.app.store, &name, PASSWORD)
        .await
        .unwrap();
    let mut again = UserAgent::new();
    let (page, verifier) = through_button(&mut again, &server, &client, "scripted").await;
    let second = id_token_of(&server, &client, &page, &verifier).await;
    assert_ne!(second["sub"], first["sub"]);
    assert_ne!(second["sub"], squatter.user_id.as_str());
    assert!(
        server
            .app
            .store
            .identities_of(&name)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.app.store.list_users().await.unwrap().len(), 2);
}
