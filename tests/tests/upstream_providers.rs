//! The upstream OpenID Providers of the federation tests, proven with the
//! `openidconnect` crate as the relying party: the scripted provider
//! (`tests/src/scripted_provider.rs`), whose every fault must be visible to a
//! relying party (Core §3.1.3.7, RFC 9207 §2.4), then `oidc-provider` from npm
//! and a second Gatehouse (`tests/src/upstream.rs`), signed in to through their
//! own pages: discovery (Discovery 1.0 §4), the code flow with PKCE and a nonce
//! (Core §3.1), and the library's verification of the ID token. Negative tests
//! first.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, UserAgent, param};
use gatehouse_tests::relying_party::Rp;
use gatehouse_tests::scripted_provider::{Fault, ScriptedProvider};
use gatehouse_tests::upstream::{Answer, GatehouseUpstream, NodeOidcProvider, UpstreamClient};
use gatehouse_tests::{http, serde_json};
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::Value;
use std::time::Duration;

/// The relying party of `client` at `issuer`, configured by discovery.
async fn discover(issuer: &str, id: &str, secret: &str) -> Rp {
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.into()).unwrap(), &http())
            .await
            .expect("the provider metadata and JWKS are discovered");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CONFIDENTIAL_REDIRECT.into()).unwrap())
}

async fn discover_client(issuer: &str, client: &UpstreamClient) -> Rp {
    discover(issuer, &client.id, &client.secret).await
}

/// An authentication request under way: its URL and what the relying party keeps.
struct Request {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// An authentication request for `openid email profile` with PKCE (S256), a
/// state and a nonce; `adjust` adds parameters (prompt, max_age).
/// The crate's authentication request, before its URL is made.
type AuthRequest<'a> = openidconnect::AuthorizationRequest<
    'a,
    openidconnect::core::CoreAuthDisplay,
    CoreAuthPrompt,
    openidconnect::core::CoreResponseType,
>;

fn request(rp: &Rp, adjust: impl FnOnce(AuthRequest<'_>) -> AuthRequest<'_>) -> Request {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let r = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    let (url, state, nonce) = adjust(r).url();
    Request {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

fn plain(rp: &Rp) -> Request {
    request(rp, |r| r)
}

/// The relying party's side of the authorization response at `redirect`: the
/// state, the code exchange (client_secret_basic, the PKCE verifier) and the
/// library's verification of the ID token; the first refusal as text.
async fn finish(
    rp: &Rp,
    request: Request,
    redirect: &url::Url,
) -> Result<CoreIdTokenClaims, String> {
    if param(redirect, "state").as_deref() != Some(request.state.secret().as_str()) {
        return Err(format!("state does not match: {redirect}"));
    }
    let code = param(redirect, "code").ok_or_else(|| format!("no code: {redirect}"))?;
    let token = rp
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(request.verifier)
        .request_async(&http())
        .await
        .map_err(|e| format!("the code exchange fails: {e:?}"))?;
    let id_token = token.id_token().ok_or("no ID token")?;
    id_token
        .claims(&rp.id_token_verifier(), &request.nonce)
        .cloned()
        .map_err(|e| format!("the ID token is refused: {e}"))
}

/// A scripted provider with `fault`, its relying party, and the authorization
/// response to a plain request (the scripted provider redirects at once).
async fn scripted(fault: Fault) -> (ScriptedProvider, Rp, Request, url::Url) {
    let provider = ScriptedProvider::start().await;
    provider.set_fault(fault);
    let rp = discover(
        &provider.issuer,
        &provider.client_id,
        &provider.client_secret,
    )
    .await;
    let req = plain(&rp);
    let page = UserAgent::new().get(&req.url).await;
    assert_eq!(page.status, 302, "{}", page.body);
    let redirect = page.location().expect("a redirect");
    (provider, rp, req, redirect)
}

async fn refused(fault: Fault, expected: &str) {
    let (_provider, rp, req, redirect) = scripted(fault.clone()).await;
    let err = finish(&rp, req, &redirect)
        .await
        .expect_err("the relying party refuses the ID token");
    assert!(
        err.contains(expected),
        "{fault:?}: expected {expected:?} in {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_wrong_nonce_is_refused() {
    refused(Fault::WrongNonce, "nonce").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_wrong_issuer_is_refused() {
    refused(Fault::WrongIssuer, "issuer").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_wrong_audience_is_refused() {
    refused(Fault::WrongAudience, "audience").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_expired_id_token_is_refused() {
    refused(Fault::Expired, "expired").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_key_not_in_the_jwks_is_refused() {
    refused(Fault::UnknownKey, "Signature verification failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_alg_none_is_refused() {
    refused(Fault::AlgNone, "Signature verification failed").await;
    // What the provider sends: an unsigned JWT.
    let (provider, _rp, req, redirect) = scripted(Fault::AlgNone).await;
    let id_token = raw_exchange(&provider, &req, &redirect).await;
    let (header, rest) = id_token.split_once('.').unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()["alg"],
        "none"
    );
    assert!(rest.ends_with('.'), "no signature");
}

/// The raw ID token claims of a token response (to see what was sent, before
/// any library reads it).
fn payload(id_token: &str) -> Value {
    let part = id_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The ID token of the code at `redirect`, redeemed by hand (client_secret_basic).
async fn raw_exchange(provider: &ScriptedProvider, req: &Request, redirect: &url::Url) -> String {
    let code = param(redirect, "code").expect("a code");
    let (status, _, body) = gatehouse_tests::read(
        http()
            .post(provider.url("/token"))
            .basic_auth(&provider.client_id, Some(&provider.client_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CONFIDENTIAL_REDIRECT),
                ("code_verifier", req.verifier.secret()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["id_token"].as_str().expect("an ID token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_email_verified_string_is_sent_and_refused() {
    let (provider, rp, req, redirect) = scripted(Fault::EmailVerifiedString).await;
    // What the provider sends: the string "true" (Core §5.1 says boolean).
    let id_token = raw_exchange(&provider, &req, &redirect).await;
    assert_eq!(payload(&id_token)["email_verified"], "true");
    // The library does not take a string for the boolean.
    let req = plain(&rp);
    let redirect = UserAgent::new().get(&req.url).await.location().unwrap();
    let err = finish(&rp, req, &redirect).await.expect_err("refused");
    assert!(err.contains("email_verified"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_access_denied_is_an_error_response() {
    let (provider, rp, req, redirect) = scripted(Fault::AccessDenied).await;
    assert_eq!(param(&redirect, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&redirect, "code"), None);
    assert_eq!(
        param(&redirect, "state").as_deref(),
        Some(req.state.secret().as_str())
    );
    assert_eq!(param(&redirect, "iss").as_deref(), Some(&*provider.issuer));
    assert!(finish(&rp, req, &redirect).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_mix_up_answers_another_providers_iss() {
    let other = ScriptedProvider::start().await;
    let (provider, _rp, _req, redirect) = scripted(Fault::MixUp(other.issuer.clone())).await;
    // RFC 9207 §2.4: the client compares `iss` with the issuer it sent the
    // request to; here they differ.
    assert!(param(&redirect, "code").is_some());
    assert_eq!(param(&redirect, "iss").as_deref(), Some(&*other.issuer));
    assert_ne!(other.issuer, provider.issuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_token_endpoint_refuses_a_wrong_verifier_or_secret() {
    let (provider, _rp, req, redirect) = scripted(Fault::None).await;
    let code = param(&redirect, "code").unwrap();
    let exchange = |secret: &str, verifier: &str| {
        http()
            .post(provider.url("/token"))
            .basic_auth(&provider.client_id, Some(secret.to_owned()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CONFIDENTIAL_REDIRECT),
                ("code_verifier", verifier),
            ])
            .send()
    };
    let (status, _, body) =
        gatehouse_tests::read(exchange("wrong", req.verifier.secret()).await.unwrap()).await;
    assert_eq!(
        (status, &body["error"]),
        (401, &Value::from("invalid_client"))
    );
    let (status, _, body) = gatehouse_tests::read(
        exchange(
            &provider.client_secret,
            "wrong-verifier-wrong-verifier-wrong-verifier",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &Value::from("invalid_grant"))
    );
    // The code was spent by that attempt.
    let (status, _, body) = gatehouse_tests::read(
        exchange(&provider.client_secret, req.verifier.secret())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &Value::from("invalid_grant"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_good_path_records_pkce_and_client_authentication() {
    let (provider, rp, req, redirect) = scripted(Fault::None).await;
    assert_eq!(param(&redirect, "iss").as_deref(), Some(&*provider.issuer));
    let nonce = req.nonce.secret().clone();
    let verifier = req.verifier.secret().clone();
    let claims = finish(&rp, req, &redirect)
        .await
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), provider.subject);
    assert_eq!(claims.email_verified(), Some(true));
    let authorization = &provider.authorization_requests()[0];
    assert_eq!(authorization["code_challenge_method"], "S256");
    assert_eq!(authorization["nonce"], nonce);
    let tokens = provider.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].form["code_verifier"], verifier);
    assert_eq!(
        tokens[0].basic.as_ref().map(|(id, _)| id.as_str()),
        Some(provider.client_id.as_str())
    );
    assert!(!tokens[0].form.contains_key("client_secret"));

    // A closure shapes the claims beyond the faults.
    provider.shape(|claims| {
        claims.insert("email".into(), "someone@else.example".into());
    });
    let req = plain(&rp);
    let redirect = UserAgent::new().get(&req.url).await.location().unwrap();
    let claims = finish(&rp, req, &redirect).await.unwrap();
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("someone@else.example")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_provider_not_installed_names_tests_run() {
    let dir = std::env::temp_dir().join("gatehouse-no-upstream-package");
    let (config, _) = NodeOidcProvider::config(CONFIDENTIAL_REDIRECT);
    let err = match NodeOidcProvider::start_in(&dir, config).await {
        Ok(_) => panic!("started without the package"),
        Err(e) => e,
    };
    assert!(err.contains("bash tests/run"), "{err}");
    assert!(err.contains("oidc-provider"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_provider_denies_and_requires_pkce() {
    let (config, client) = NodeOidcProvider::config(CONFIDENTIAL_REDIRECT);
    let provider = NodeOidcProvider::start(config).await;
    let rp = discover_client(&provider.issuer, &client).await;

    // The deny button: error=access_denied with the state and iss (Core §3.1.2.6).
    let req = plain(&rp);
    let mut ua = UserAgent::new();
    let denied = provider
        .sign_in_answering(&mut ua, &req.url, "alice", Answer::Deny)
        .await;
    assert_eq!(denied.param("error").as_deref(), Some("access_denied"));
    assert_eq!(
        denied.param("state").as_deref(),
        Some(req.state.secret().as_str())
    );
    assert_eq!(denied.param("iss").as_deref(), Some(&*provider.issuer));

    // Without a code challenge the request is refused (RFC 7636 §4.4.1).
    let mut url = url::Url::parse(&req.url).unwrap();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    let page = UserAgent::new().get(url.as_str()).await;
    let location = page.location().expect("an error redirect");
    assert!(location.as_str().starts_with(CONFIDENTIAL_REDIRECT));
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_provider_sends_email_verified_as_a_string_for_mallory() {
    let (config, client) = NodeOidcProvider::config(CONFIDENTIAL_REDIRECT);
    let provider = NodeOidcProvider::start(config).await;
    let rp = discover_client(&provider.issuer, &client).await;
    let req = plain(&rp);
    let signed_in = provider
        .sign_in(&mut UserAgent::new(), &req.url, "mallory")
        .await;
    let code = signed_in.param("code").expect("a code");
    let (status, _, body) = gatehouse_tests::read(
        http()
            .post(format!("{}/token", provider.issuer))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CONFIDENTIAL_REDIRECT),
                ("code_verifier", req.verifier.secret()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let claims = payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "mallory");
    assert_eq!(claims["email_verified"], "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_provider_signs_in_and_honours_prompt_login_and_max_age() {
    let (config, client) = NodeOidcProvider::config(CONFIDENTIAL_REDIRECT);
    let provider = NodeOidcProvider::start(config).await;
    let rp = discover_client(&provider.issuer, &client).await;
    let mut ua = UserAgent::new();

    let req = plain(&rp);
    let first = provider.sign_in(&mut ua, &req.url, "alice").await;
    assert_eq!(first.steps, ["login", "consent"]);
    // RFC 9207: the response names its issuer.
    assert_eq!(first.param("iss").as_deref(), Some(&*provider.issuer));
    let claims = finish(&rp, req, &first.redirect)
        .await
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@upstream.example")
    );
    assert_eq!(claims.email_verified(), Some(true));
    let first_issued = claims.issue_time();

    // The session and the grant are kept: no page at all.
    let req = plain(&rp);
    let again = provider.sign_in(&mut ua, &req.url, "alice").await;
    assert!(again.steps.is_empty(), "{:?}", again.steps);
    finish(&rp, req, &again.redirect).await.unwrap();

    // prompt=login asks again (Core §3.1.2.1).
    let req = request(&rp, |r| r.add_prompt(CoreAuthPrompt::Login));
    let relogin = provider.sign_in(&mut ua, &req.url, "alice").await;
    assert!(relogin.logged_in(), "{:?}", relogin.steps);
    finish(&rp, req, &relogin.redirect).await.unwrap();

    // So does max_age=0, and auth_time is then in the ID token (Core §2): the
    // new sign-in, after the first ID token was issued.
    let req = request(&rp, |r| r.set_max_age(Duration::ZERO));
    let relogin = provider.sign_in(&mut ua, &req.url, "alice").await;
    assert!(relogin.logged_in(), "{:?}", relogin.steps);
    let claims = finish(&rp, req, &relogin.redirect).await.unwrap();
    let auth_time = claims.auth_time().expect("auth_time with max_age");
    assert!(auth_time >= first_issued, "{auth_time} < {first_issued}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatehouse_upstream_denies_on_consent() {
    let upstream = GatehouseUpstream::start(CONFIDENTIAL_REDIRECT).await;
    let rp = discover_client(upstream.issuer(), &upstream.client).await;
    let req = plain(&rp);
    let denied = upstream
        .sign_in(&mut UserAgent::new(), &req.url, Answer::Deny)
        .await;
    assert_eq!(denied.steps, ["login", "consent"]);
    assert_eq!(denied.param("error").as_deref(), Some("access_denied"));
    assert!(finish(&rp, req, &denied.redirect).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatehouse_upstream_signs_in() {
    let upstream = GatehouseUpstream::start(CONFIDENTIAL_REDIRECT).await;
    let rp = discover_client(upstream.issuer(), &upstream.client).await;
    let req = plain(&rp);
    let signed_in = upstream
        .sign_in(&mut UserAgent::new(), &req.url, Answer::Approve)
        .await;
    assert_eq!(signed_in.steps, ["login", "consent"]);
    let claims = finish(&rp, req, &signed_in.redirect)
        .await
        .expect("the ID token verifies");
    assert_eq!(claims.issuer().as_str(), upstream.issuer());
    assert!(!claims.subject().as_str().is_empty());
}
