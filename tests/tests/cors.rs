//! CORS (Fetch standard §3.2) through `gatehouse serve`'s router: which origins
//! the token and revocation endpoints answer, per client and for preflights;
//! the public metadata and JWKS; never `/authorize`.

use gatehouse_core::domain::client::{ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::cors::Allowlist;
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::store::ClientStore;
use gatehouse_tests::{Answer, TestServer, cc_registration, http, read};

const A: &str = "https://a.example";
const B: &str = "https://b.example";
const ALLOWLISTED: &str = "https://spa.example";

fn cors_headers(answer: &Answer) -> Vec<String> {
    answer
        .1
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.1.get(name).and_then(|v| v.to_str().ok())
}

/// A browser app: a public client whose redirect URI is at `origin`.
async fn spa(server: &TestServer, origin: &str) -> String {
    server
        .register(ClientRegistration {
            name: "Browser app".into(),
            client_type: ClientType::Public,
            redirect_uris: vec![format!("{origin}/callback")],
            grant_types: vec![GrantType::AuthorizationCode],
            allowed_scope: Scope::parse("read").unwrap(),
            default_scope: None,
            access_token_ttl: None,
            introspect_any: false,
            skip_consent: false,
            token_endpoint_auth_method: None,
            require_pkce: false,
            backchannel_logout_uri: None,
        })
        .await
        .client
        .client_id
}

/// A POST from `origin` to `path`, as a browser's fetch sends it.
async fn post_from(
    server: &TestServer,
    path: &str,
    origin: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Answer {
    let mut req = http()
        .post(server.url(path))
        .header("origin", origin)
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    read(req.send().await.unwrap()).await
}

/// A code exchange by public client `client_id` with a code that is not one:
/// the client is known (it named itself, RFC 6749 §3.2.1), the grant fails.
async fn exchange_from(server: &TestServer, origin: &str, client_id: &str) -> Answer {
    post_from(
        server,
        "/token",
        origin,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", "not-a-code"),
            ("redirect_uri", &format!("{origin}/callback")),
            ("code_verifier", &"v".repeat(43)),
        ],
    )
    .await
}

async fn server() -> TestServer {
    TestServer::start_with(|c| c.cors_origins = Allowlist::parse(ALLOWLISTED).unwrap()).await
}

#[tokio::test]
async fn a_preflight_from_an_origin_no_client_registers_gets_no_cors_headers() {
    let server = server().await;
    spa(&server, A).await;
    for path in ["/token", "/revoke"] {
        for origin in [
            "https://evil.example",
            "https://a.example:8443",
            "http://a.example",
            "null",
            "https://a.example/",
        ] {
            let answer = server.preflight(path, origin).await;
            assert_eq!(answer.0, 204, "{path} {origin}");
            assert!(
                cors_headers(&answer).is_empty(),
                "{path} {origin}: {:?}",
                answer.1
            );
            assert_eq!(header(&answer, "vary"), None);
        }
    }
}

#[tokio::test]
async fn an_options_request_that_is_no_preflight_keeps_405() {
    let server = server().await;
    spa(&server, A).await;
    for path in ["/token", "/revoke", "/introspect"] {
        let answer = read(
            http()
                .request(reqwest::Method::OPTIONS, server.url(path))
                .header("origin", A)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.0, 405, "{path}");
        assert!(cors_headers(&answer).is_empty(), "{path}");
    }
}

#[tokio::test]
async fn authorize_and_introspect_never_answer_cors() {
    let server = server().await;
    let id = spa(&server, A).await;
    for path in ["/authorize", "/introspect"] {
        for origin in [A, ALLOWLISTED] {
            let answer = server.preflight(path, origin).await;
            assert!(cors_headers(&answer).is_empty(), "{path} {origin}");
        }
    }
    let answer = read(
        http()
            .get(server.url(&format!("/authorize?response_type=code&client_id={id}")))
            .header("origin", A)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
}

#[tokio::test]
async fn a_token_request_from_a_disallowed_origin_carries_no_cors_headers() {
    let server = server().await;
    let id = spa(&server, A).await;
    let answer = exchange_from(&server, "https://evil.example", &id).await;
    assert_eq!(answer.2["error"], "invalid_grant", "{}", answer.2);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
    // An unknown client: nothing is known, nothing allowed but the allowlist.
    let answer = exchange_from(&server, A, "no-such-client").await;
    assert_eq!(answer.0, 401);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
}

#[tokio::test]
async fn an_origin_of_client_a_with_client_b_credentials_carries_none() {
    let server = server().await;
    spa(&server, A).await;
    let b = server
        .register(ClientRegistration {
            redirect_uris: vec![format!("{B}/callback")],
            ..cc_registration("read")
        })
        .await;
    let secret = b.secret.as_ref().unwrap().expose().to_owned();
    let basic = Some((b.client.client_id.as_str(), secret.as_str()));
    let form = [("grant_type", "client_credentials"), ("scope", "read")];
    // A's origin passes the preflight (some client registers it)...
    let pre = server.preflight("/token", A).await;
    assert_eq!(header(&pre, "access-control-allow-origin"), Some(A));
    // ...but not with B's credentials.
    let answer = post_from(&server, "/token", A, basic, &form).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
    let answer = post_from(&server, "/revoke", A, basic, &[("token", "x")]).await;
    assert_eq!(answer.0, 200);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
    // B's own origin is.
    let answer = post_from(&server, "/token", B, basic, &form).await;
    assert_eq!(answer.0, 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(B));
    assert_eq!(header(&answer, "vary"), Some("Origin"));
}

#[tokio::test]
async fn a_deleted_clients_origin_is_no_longer_allowed() {
    let server = server().await;
    let first = spa(&server, A).await;
    let second = spa(&server, A).await;
    let allowed = |a: &Answer| header(a, "access-control-allow-origin") == Some(A);
    assert!(allowed(&server.preflight("/token", A).await));
    // Another client still registers the origin.
    assert!(server.app.store.delete_client(&first).await.unwrap());
    assert!(!server.app.store.delete_client(&first).await.unwrap());
    assert!(allowed(&server.preflight("/token", A).await));
    assert!(allowed(&exchange_from(&server, A, &second).await));
    // None does.
    assert!(server.app.store.delete_client(&second).await.unwrap());
    let pre = server.preflight("/token", A).await;
    assert_eq!(pre.0, 204);
    assert!(cors_headers(&pre).is_empty(), "{:?}", pre.1);
    assert!(cors_headers(&server.preflight("/revoke", A).await).is_empty());
}

#[tokio::test]
async fn a_preflight_from_a_clients_redirect_uri_origin_is_allowed() {
    let server = server().await;
    spa(&server, A).await;
    for path in ["/token", "/revoke"] {
        let answer = server.preflight(path, A).await;
        assert_eq!(answer.0, 204, "{path}");
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(A));
        assert_eq!(header(&answer, "vary"), Some("Origin"));
        assert_eq!(
            header(&answer, "access-control-allow-methods"),
            Some("POST")
        );
        assert_eq!(
            header(&answer, "access-control-allow-headers"),
            Some("authorization, content-type")
        );
        assert_eq!(header(&answer, "access-control-max-age"), Some("600"));
        assert_eq!(header(&answer, "access-control-allow-credentials"), None);
    }
}

#[tokio::test]
async fn a_token_request_from_the_clients_origin_carries_its_origin() {
    let server = server().await;
    let id = spa(&server, A).await;
    let answer = exchange_from(&server, A, &id).await;
    assert_eq!(answer.2["error"], "invalid_grant", "{}", answer.2);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(A));
    assert_eq!(header(&answer, "vary"), Some("Origin"));
    assert_eq!(header(&answer, "access-control-allow-credentials"), None);
    let answer = post_from(
        &server,
        "/revoke",
        A,
        None,
        &[("client_id", &id), ("token", "unknown")],
    )
    .await;
    assert_eq!(answer.0, 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(A));
}

#[tokio::test]
async fn an_allowlisted_origin_is_allowed_for_every_client() {
    let server = server().await;
    let id = spa(&server, A).await;
    let pre = server.preflight("/token", ALLOWLISTED).await;
    assert_eq!(
        header(&pre, "access-control-allow-origin"),
        Some(ALLOWLISTED)
    );
    let answer = exchange_from(&server, ALLOWLISTED, &id).await;
    assert_eq!(
        header(&answer, "access-control-allow-origin"),
        Some(ALLOWLISTED)
    );
    // Before any client is known too (its browser can read the 401).
    let answer = exchange_from(&server, ALLOWLISTED, "no-such-client").await;
    assert_eq!(answer.0, 401);
    assert_eq!(
        header(&answer, "access-control-allow-origin"),
        Some(ALLOWLISTED)
    );
}

#[tokio::test]
async fn the_metadata_and_jwks_allow_any_origin() {
    let server = server().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
    ] {
        let pre = server.preflight(path, "https://anyone.example").await;
        assert_eq!(pre.0, 204, "{path}");
        assert_eq!(header(&pre, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            header(&pre, "access-control-allow-methods"),
            Some("GET, HEAD")
        );
        let answer = read(
            http()
                .get(server.url(path))
                .header("origin", "https://anyone.example")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.0, 200, "{path}");
        assert_eq!(header(&answer, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&answer, "vary"), None);
        assert_eq!(header(&answer, "access-control-allow-credentials"), None);
    }
}
