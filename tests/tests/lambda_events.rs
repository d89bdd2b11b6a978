//! The Lambda path: checked-in API Gateway HTTP API (payload 2.0) events, as API
//! Gateway sends them (base64 form bodies included), parsed by `lambda_http` and
//! handled by the same endpoint code, against the embedded engine.

use gatehouse_core::lambda::{Handler, IssuerSource};
use gatehouse_core::routes::Endpoint;
use gatehouse_core::store::ClientStore;
use gatehouse_tests::{TestServer, stored_client};
use lambda_http::Body;
use serde_json::Value;

/// A server with the client the fixtures authenticate as.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    server
        .app
        .store
        .create_client(&stored_client("fixture-client", Some("fixture-secret")))
        .await
        .unwrap();
    server
}

async fn invoke(
    server: &TestServer,
    endpoint: Endpoint,
    fixture: &str,
) -> (u16, lambda_http::http::HeaderMap, Value) {
    let path = format!("{}/fixtures/apigw/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let event = std::fs::read_to_string(path).unwrap();
    let req =
        lambda_http::request::from_str(&event).expect("the event parses as API Gateway sends it");
    let resp = endpoint.handle(&server.app, req).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = match resp.into_body() {
        Body::Text(t) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        Body::Binary(b) => serde_json::from_slice(&b).unwrap(),
        _ => Value::Null,
    };
    (status, headers, body)
}

/// A fixture as API Gateway would send it through `domain` (`Host` and
/// `requestContext.domainName`) of the API `api_id`.
fn event_via(fixture: &str, api_id: &str, domain: &str) -> lambda_http::Request {
    let path = format!("{}/fixtures/apigw/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["headers"]["host"] = domain.into();
    event["requestContext"]["domainName"] = domain.into();
    event["requestContext"]["apiId"] = api_id.into();
    event["requestContext"]["domainPrefix"] = domain.split('.').next().unwrap().into();
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn answer(resp: lambda_http::Response<Body>) -> (u16, lambda_http::http::HeaderMap, Value) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = match resp.into_body() {
        Body::Text(t) => serde_json::from_str(&t).unwrap_or(Value::String(t)),
        _ => Value::Null,
    };
    (status, headers, body)
}

/// The `iss` of an access token (its signature is another test's concern).
fn iss_of(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["iss"].as_str().unwrap().to_owned()
}

const API: &str = "abc123";
const DEFAULT_DOMAIN: &str = "abc123.execute-api.us-east-1.amazonaws.com";
const DEFAULT_ISSUER: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
const OTHER_DOMAIN: &str = "auth.mapped-elsewhere.example";

/// The handler of a function deployed without `GATEHOUSE_ISSUER`, in us-east-1,
/// serving `endpoints` from the test server's tables.
fn unconfigured(server: &TestServer, endpoints: &'static [Endpoint]) -> Handler {
    let base = server.app.config.clone();
    Handler::new(
        endpoints,
        server.app.store.clone(),
        IssuerSource::ApiDefaultEndpoint {
            region: "us-east-1".into(),
            config_for: Box::new(move |issuer| {
                let mut c = base.clone();
                c.issuer = issuer.into();
                c.audience = issuer.into();
                c.validate().map(|()| c)
            }),
        },
    )
}

/// Without `GATEHOUSE_ISSUER` the issuer is the API's default endpoint, from the
/// event's API id and the region, whatever domain the first request came
/// through; a request through another domain is refused with 421, and never
/// decides the issuer.
#[tokio::test]
async fn without_a_configured_issuer_every_domain_sees_the_api_default_endpoint_or_421() {
    let server = server().await;
    let discovery = unconfigured(&server, &[Endpoint::Metadata, Endpoint::Jwks]);
    // An event that names no API cannot say which issuer: refused, nothing pinned.
    let (status, _, body) = answer(
        discovery
            .handle(event_via("metadata.json", "", DEFAULT_DOMAIN))
            .await,
    )
    .await;
    assert_eq!(status, 421, "{body}");
    // The first request through a domain mapped outside the stack: refused.
    let (status, headers, body) = answer(
        discovery
            .handle(event_via("metadata.json", API, OTHER_DOMAIN))
            .await,
    )
    .await;
    assert_eq!(status, 421, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(DEFAULT_ISSUER)
    );
    assert_eq!(headers["cache-control"], "no-store");
    // Then through the default endpoint: the issuer is that, not the first domain.
    let (status, _, body) = answer(
        discovery
            .handle(event_via("metadata.json", API, DEFAULT_DOMAIN))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["issuer"], DEFAULT_ISSUER);
    assert_eq!(body["token_endpoint"], format!("{DEFAULT_ISSUER}/token"));
    // Another API's event, through its own default endpoint, is not this issuer's.
    let (status, _, _) = answer(
        discovery
            .handle(event_via(
                "metadata.json",
                "xyz789",
                "xyz789.execute-api.us-east-1.amazonaws.com",
            ))
            .await,
    )
    .await;
    assert_eq!(status, 421);

    // Another function, warmed first by the default endpoint: the same issuer in
    // its tokens, and the other domain refused.
    let token = unconfigured(&server, &[Endpoint::Token]);
    let (status, _, body) = answer(
        token
            .handle(event_via(
                "token-client-credentials.json",
                API,
                DEFAULT_DOMAIN,
            ))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        iss_of(body["access_token"].as_str().unwrap()),
        DEFAULT_ISSUER
    );
    let (status, _, body) = answer(
        token
            .handle(event_via(
                "token-client-credentials.json",
                API,
                OTHER_DOMAIN,
            ))
            .await,
    )
    .await;
    assert_eq!(status, 421, "{body}");
    assert!(body.get("access_token").is_none());

    // /authorize answers a browser with a page, never a redirect.
    let authorize = unconfigured(&server, &[Endpoint::Authorize]);
    let (status, headers, body) = answer(
        authorize
            .handle(event_via("authorize.json", API, OTHER_DOMAIN))
            .await,
    )
    .await;
    assert_eq!(status, 421);
    assert!(!headers.contains_key("location"));
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.as_str().unwrap().contains(DEFAULT_ISSUER));
}

/// With `GATEHOUSE_ISSUER` (or the template's `https://{DomainName}`), that is the
/// issuer through whichever domain a request comes.
#[tokio::test]
async fn a_configured_issuer_is_the_same_through_every_domain() {
    let server = server().await;
    let mut config = server.app.config.clone();
    config.issuer = "https://auth.example.com".into();
    config.audience = "https://api.example.com".into();
    let discovery = Handler::new(
        &[Endpoint::Metadata, Endpoint::Jwks],
        server.app.store.clone(),
        IssuerSource::Configured(Box::new(config.clone())),
    );
    let token = Handler::new(
        &[Endpoint::Token],
        server.app.store.clone(),
        IssuerSource::Configured(Box::new(config)),
    );
    for domain in [OTHER_DOMAIN, DEFAULT_DOMAIN] {
        let (status, _, body) = answer(
            discovery
                .handle(event_via("metadata.json", API, domain))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{domain}: {body}");
        assert_eq!(body["issuer"], "https://auth.example.com", "{domain}");
        let (status, _, body) = answer(
            token
                .handle(event_via("token-client-credentials.json", API, domain))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{domain}: {body}");
        assert_eq!(
            iss_of(body["access_token"].as_str().unwrap()),
            "https://auth.example.com"
        );
    }
}

#[tokio::test]
async fn a_base64_encoded_client_credentials_event_gets_a_token() {
    let server = server().await;
    let (status, headers, body) =
        invoke(&server, Endpoint::Token, "token-client-credentials.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn a_wrong_secret_event_is_invalid_client() {
    let server = server().await;
    let (status, headers, body) = invoke(&server, Endpoint::Token, "token-wrong-secret.json").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert!(headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn a_json_body_event_is_invalid_request() {
    let server = server().await;
    let (status, _, body) = invoke(&server, Endpoint::Token, "token-json-body.json").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn introspection_and_revocation_events_of_unknown_tokens() {
    let server = server().await;
    let (status, _, body) = invoke(
        &server,
        Endpoint::Introspect,
        "introspect-unknown-token.json",
    )
    .await;
    assert_eq!((status, body), (200, serde_json::json!({"active": false})));
    let (status, _, body) = invoke(&server, Endpoint::Revoke, "revoke-unknown-token.json").await;
    assert_eq!((status, body), (200, Value::Null));
}

#[tokio::test]
async fn userinfo_events_without_a_token_or_with_an_unknown_one_are_refused() {
    let server = server().await;
    let (status, headers, _) = invoke(&server, Endpoint::Userinfo, "userinfo-no-token.json").await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"gatehouse\"");
    let (status, headers, body) = invoke(
        &server,
        Endpoint::Userinfo,
        "userinfo-form-unknown-token.json",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}

/// A server with a code client registered to come back to
/// `https://app.example/signed-out` after logout.
async fn logout_server() -> TestServer {
    let server = server().await;
    let mut web = stored_client("fixture-web", None);
    web.grant_types = vec![gatehouse_core::domain::client::GrantType::AuthorizationCode];
    web.redirect_uris = vec!["https://app.example/cb".into()];
    web.post_logout_redirect_uris = vec!["https://app.example/signed-out".into()];
    server.app.store.create_client(&web).await.unwrap();
    server
}

#[tokio::test]
async fn logout_events_by_get_and_post_redirect_only_to_a_registered_uri() {
    let server = logout_server().await;
    // An unregistered URI: an error page, never a redirect.
    let (status, headers, body) =
        invoke(&server, Endpoint::Logout, "logout-unregistered-uri.json").await;
    assert_eq!(status, 400, "{body}");
    assert!(headers.get("location").is_none());
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // The confirmation form with a CSRF token that is not the cookie's: 403.
    let (status, headers, _) =
        invoke(&server, Endpoint::Logout, "logout-confirm-wrong-csrf.json").await;
    assert_eq!(status, 403);
    assert!(headers.get("location").is_none());
    // No session in the event: nothing to end, back to the registered URI with
    // state; 302 for a GET, 303 for the form POST (base64 body).
    for (fixture, want) in [("logout.json", 302), ("logout-form.json", 303)] {
        let (status, headers, body) = invoke(&server, Endpoint::Logout, fixture).await;
        assert_eq!(status, want, "{fixture}: {body}");
        assert_eq!(
            headers["location"], "https://app.example/signed-out?state=fx",
            "{fixture}"
        );
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers.get("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn discovery_events_answer_metadata_and_jwks() {
    let server = server().await;
    let (status, _, body) = invoke(&server, Endpoint::Metadata, "metadata.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["issuer"], server.base.as_str());
    // The OpenID discovery path (where API Gateway's JWT authorizer looks for
    // the JWKS) routes to the same document.
    let endpoint = Endpoint::for_path("/.well-known/openid-configuration").unwrap();
    let (status, _, same) = invoke(&server, endpoint, "openid-configuration.json").await;
    assert_eq!((status, &same), (200, &body));
    assert!(
        same["jwks_uri"]
            .as_str()
            .unwrap()
            .ends_with("/.well-known/jwks.json")
    );
    let (status, _, body) = invoke(&server, Endpoint::Jwks, "jwks.json").await;
    assert_eq!(status, 200);
    assert_eq!(body["keys"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_authorize_event_gets_an_error_page_without_redirect() {
    let server = server().await;
    let (status, headers, _) = invoke(&server, Endpoint::Authorize, "authorize.json").await;
    assert_eq!(status, 400);
    assert!(!headers.contains_key("location"));
}

#[tokio::test]
async fn a_federation_callback_event_with_an_unknown_provider_gets_a_404_page() {
    let server = server().await;
    let (status, headers, body) = invoke(
        &server,
        Endpoint::FederationCallback,
        "federation-callback-unknown-state.json",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(!headers.contains_key("location"));
    assert!(body.as_str().unwrap().contains("not configured"), "{body}");
}

/// A server that knows the fixtures' session key, web client and user.
async fn login_server() -> TestServer {
    use aws_sdk_dynamodb::types::AttributeValue;
    use gatehouse_core::domain::client::{ClientType, GrantType};
    let server = TestServer::start().await;
    server
        .app
        .store
        .client()
        .put_item()
        .table_name(&server.app.store.tables().secrets)
        .item("name", AttributeValue::S("session-key".into()))
        .item(
            "secret",
            AttributeValue::S("fixture-session-key-0123456789abcdefghijklm".into()),
        )
        .send()
        .await
        .unwrap();
    let mut web = stored_client("fixture-web", None);
    web.client_type = ClientType::Public;
    web.redirect_uris = vec!["http://127.0.0.1/cb".into()];
    web.grant_types = vec![GrantType::AuthorizationCode];
    web.skip_consent = true;
    server.app.store.create_client(&web).await.unwrap();
    gatehouse_core::registration::create_user(
        &server.app.store,
        "fixture-user",
        "fixture password",
    )
    .await
    .unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_event_with_cookies_signs_in_and_redirects_with_a_code() {
    let server = login_server().await;
    let (status, headers, _) = invoke(&server, Endpoint::Authorize, "authorize-login.json").await;
    assert_eq!(
        status, 303,
        "the cookies array reached the handler as a Cookie header"
    );
    let location = headers["location"].to_str().unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:8765/cb?code="),
        "{location}"
    );
    assert!(location.contains("&state=fx&iss="));
    let cookies: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("gatehouse_session=") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_event_counts_against_api_gateways_source_ip() {
    use gatehouse_core::store::LoginAttemptStore;
    let server = login_server().await;
    let (status, headers, body) = invoke(
        &server,
        Endpoint::Authorize,
        "authorize-login-wrong-password.json",
    )
    .await;
    assert_eq!(status, 200);
    assert!(!headers.contains_key("location"));
    assert!(
        body.as_str()
            .unwrap()
            .contains("The username or password is incorrect.")
    );
    let window = gatehouse_core::app::now() / server.app.config.login_failure_window;
    let counts = server
        .app
        .store
        .slots_held(&[
            format!("pair:fixture-user:203.0.113.7:{window}"),
            format!("source:203.0.113.7:{window}"),
            format!("user:fixture-user:{window}"),
        ])
        .await
        .unwrap();
    assert_eq!(counts, vec![1, 1, 1]);
}

// CORS through Lambda events: the preflights reach the functions (the template
// routes OPTIONS to them) and are answered by the same code as locally.

const SPA: &str = "https://spa.example";

/// The fixture client, registering `https://spa.example/cb` as a redirect URI.
async fn spa_server() -> TestServer {
    let server = TestServer::start().await;
    let mut client = stored_client("fixture-client", Some("fixture-secret"));
    client.redirect_uris = vec![format!("{SPA}/cb")];
    server.app.store.create_client(&client).await.unwrap();
    server
}

fn no_cors_headers(headers: &lambda_http::http::HeaderMap) -> bool {
    headers
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-"))
}

#[tokio::test]
async fn preflight_events_from_an_origin_no_client_registers_get_no_cors_headers() {
    let server = server().await;
    for (endpoint, fixture) in [
        (Endpoint::Token, "token-preflight.json"),
        (Endpoint::Revoke, "revoke-preflight.json"),
        (Endpoint::Userinfo, "userinfo-preflight.json"),
    ] {
        let (status, headers, _) = invoke(&server, endpoint, fixture).await;
        assert_eq!(status, 204, "{fixture}");
        assert!(no_cors_headers(&headers), "{fixture}: {headers:?}");
    }
    // An actual request from that origin: the token, without CORS headers.
    let (status, headers, _) = invoke(
        &server,
        Endpoint::Token,
        "token-client-credentials-from-browser.json",
    )
    .await;
    assert_eq!(status, 200);
    assert!(no_cors_headers(&headers), "{headers:?}");
}

#[tokio::test]
async fn preflight_events_from_a_registered_origin_are_allowed_through_the_handler() {
    let server = spa_server().await;
    for (endpoint, fixture, methods) in [
        (Endpoint::Token, "token-preflight.json", "POST"),
        (Endpoint::Revoke, "revoke-preflight.json", "POST"),
        (Endpoint::Userinfo, "userinfo-preflight.json", "GET, POST"),
    ] {
        let endpoints: &'static [Endpoint] = match endpoint {
            Endpoint::Token => &[Endpoint::Token],
            Endpoint::Userinfo => &[Endpoint::Userinfo],
            _ => &[Endpoint::Revoke],
        };
        let handler = Handler::new(
            endpoints,
            server.app.store.clone(),
            IssuerSource::Configured(Box::new(server.app.config.clone())),
        );
        let path = format!("{}/fixtures/apigw/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let req = lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (status, h, _) = answer(handler.handle(req).await).await;
        assert_eq!(status, 204, "{fixture}");
        assert_eq!(h["access-control-allow-origin"], SPA);
        assert_eq!(h["vary"], "Origin");
        assert_eq!(h["access-control-allow-methods"], methods, "{fixture}");
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization, content-type"
        );
        assert_eq!(h["access-control-max-age"], "600");
        assert!(!h.contains_key("access-control-allow-credentials"));
    }
    let (status, h, body) = invoke(
        &server,
        Endpoint::Token,
        "token-client-credentials-from-browser.json",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h["access-control-allow-origin"], SPA);
    assert_eq!(h["vary"], "Origin");
}

#[tokio::test]
async fn a_discovery_preflight_event_allows_any_origin() {
    let server = server().await;
    let endpoint = Endpoint::for_path("/.well-known/openid-configuration").unwrap();
    let (status, h, _) = invoke(&server, endpoint, "openid-configuration-preflight.json").await;
    assert_eq!(status, 204);
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["access-control-allow-methods"], "GET, HEAD");
    assert!(!h.contains_key("vary"));
    let (status, h, _) = invoke(&server, Endpoint::Metadata, "metadata.json").await;
    assert_eq!(status, 200);
    assert_eq!(h["access-control-allow-origin"], "*");
}
