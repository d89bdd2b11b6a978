//! The client authentication method a client registers (RFC 7591 §2
//! `token_endpoint_auth_method`) over HTTP: mismatched registrations are refused,
//! a registered client must use its method at `/token`, `/introspect` and
//! `/revoke`, and clients stored before the method was recorded keep working.

use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse_core::domain::client::{ClientType, GrantType};
use gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod::{
    self, ClientSecretBasic, ClientSecretPost,
};
use gatehouse_core::registration;
use gatehouse_core::secret::SecretHash;
use gatehouse_tests::reqwest::header;
use gatehouse_tests::{Answer, TestClient, TestServer, assert_error, cc_registration};

const CC: (&str, &str) = ("grant_type", "client_credentials");

/// The challenge every 401 carries (RFC 9110 §15.5.2).
const CHALLENGE: &str = "Basic realm=\"gatehouse\", charset=\"UTF-8\"";

fn assert_invalid_client(answer: &Answer, case: &str) {
    assert_error(answer, 401, "invalid_client");
    assert_eq!(
        answer
            .1
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some(CHALLENGE),
        "{case}"
    );
}

fn secret(c: &TestClient) -> &str {
    c.secret.as_deref().unwrap()
}

/// POSTs `form` to `path` as `client` with `method`'s way of presenting credentials.
async fn post_as(
    server: &TestServer,
    path: &str,
    client: &TestClient,
    method: TokenEndpointAuthMethod,
    form: &[(&str, &str)],
) -> Answer {
    let mut f = form.to_vec();
    match method {
        ClientSecretBasic => {
            return server
                .post_form(path, Some((&client.id, secret(client))), form)
                .await;
        }
        ClientSecretPost => {
            f.push(("client_id", &client.id));
            f.push(("client_secret", secret(client)));
        }
        TokenEndpointAuthMethod::None => f.push(("client_id", &client.id)),
    }
    server.post_form(path, None, &f).await
}

#[tokio::test]
async fn registrations_whose_method_does_not_fit_the_client_type_are_refused() {
    let server = TestServer::start().await;
    let mut confidential_none = cc_registration("read");
    confidential_none.token_endpoint_auth_method = Some(TokenEndpointAuthMethod::None);
    let e = registration::register_client(&server.app.store, &server.app.config, confidential_none)
        .await
        .unwrap_err();
    assert!(e.contains("confidential") && e.contains("none"), "{e}");

    for method in [ClientSecretBasic, ClientSecretPost] {
        let mut public = cc_registration("read");
        public.client_type = ClientType::Public;
        public.grant_types = vec![GrantType::AuthorizationCode];
        public.redirect_uris = vec!["http://127.0.0.1/cb".into()];
        public.token_endpoint_auth_method = Some(method);
        let e = registration::register_client(&server.app.store, &server.app.config, public)
            .await
            .unwrap_err();
        assert!(e.contains("public") && e.contains(method.as_str()), "{e}");
    }
    use gatehouse_core::store::ClientStore;
    assert!(
        server.app.store.list_clients().await.unwrap().is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn registration_records_the_default_method_for_the_client_type() {
    let server = TestServer::start().await;
    let confidential = server.register(cc_registration("read")).await;
    assert_eq!(
        confidential.client.token_endpoint_auth_method,
        Some(ClientSecretBasic)
    );
    let mut public = cc_registration("read");
    public.client_type = ClientType::Public;
    public.grant_types = vec![GrantType::AuthorizationCode];
    public.redirect_uris = vec!["http://127.0.0.1/cb".into()];
    let public = server.register(public).await;
    assert_eq!(
        public.client.token_endpoint_auth_method,
        Some(TokenEndpointAuthMethod::None)
    );
}

#[tokio::test]
async fn a_client_registered_for_client_secret_post_is_refused_with_basic() {
    let server = TestServer::start().await;
    let client = server.cc_client_using("read", ClientSecretPost).await;
    let answer = post_as(&server, "/token", &client, ClientSecretBasic, &[CC]).await;
    assert_invalid_client(&answer, "basic for a post client");
    let answer = post_as(
        &server,
        "/token",
        &client,
        TokenEndpointAuthMethod::None,
        &[CC],
    )
    .await;
    assert_invalid_client(&answer, "none for a post client");

    let (status, _, body) = post_as(&server, "/token", &client, ClientSecretPost, &[CC]).await;
    assert_eq!(status, 200, "its own method works: {body}");
}

#[tokio::test]
async fn a_client_registered_for_client_secret_basic_is_refused_with_post() {
    let server = TestServer::start().await;
    for client in [
        server.cc_client("read").await,
        server.cc_client_using("read", ClientSecretBasic).await,
    ] {
        let answer = post_as(&server, "/token", &client, ClientSecretPost, &[CC]).await;
        assert_invalid_client(&answer, "post for a basic client");
        let (status, _, body) = post_as(&server, "/token", &client, ClientSecretBasic, &[CC]).await;
        assert_eq!(status, 200, "its own method works: {body}");
    }
}

#[tokio::test]
async fn a_public_client_sending_a_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let public = server.public_client("read").await;
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "not-a-code"),
        ("redirect_uri", "http://127.0.0.1/cb"),
    ];
    let with_secret = TestClient {
        id: public.id.clone(),
        secret: Some("made-up".into()),
    };
    for method in [ClientSecretBasic, ClientSecretPost] {
        let answer = post_as(&server, "/token", &with_secret, method, &code).await;
        assert_invalid_client(&answer, method.as_str());
        let answer = post_as(
            &server,
            "/revoke",
            &with_secret,
            method,
            &[("token", "unknown")],
        )
        .await;
        assert_invalid_client(&answer, method.as_str());
    }
    // With `none` it authenticates: the made-up code is what fails.
    let answer = post_as(
        &server,
        "/token",
        &public,
        TokenEndpointAuthMethod::None,
        &code,
    )
    .await;
    assert_error(&answer, 400, "invalid_grant");
}

/// A `client_id` longer than any registered one (or than DynamoDB takes as a
/// key, 2,048 bytes) is `invalid_client`, by every method and at every endpoint
/// that authenticates clients, with or without a grant to read alongside.
#[tokio::test]
async fn an_overlong_client_id_is_invalid_client() {
    let server = TestServer::start().await;
    let issuer = server.cc_client("read").await;
    let token = server.cc_token(&issuer, "read").await;
    for len in [257, 3000] {
        let long = TestClient {
            id: "a".repeat(len),
            secret: Some("made-up".into()),
        };
        let forms: [(&str, Vec<(&str, &str)>); 5] = [
            ("/token", vec![CC]),
            (
                "/token",
                vec![("grant_type", "authorization_code"), ("code", "abc.def")],
            ),
            (
                "/token",
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "abc.1.def"),
                ],
            ),
            ("/introspect", vec![("token", token.as_str())]),
            ("/revoke", vec![("token", token.as_str())]),
        ];
        for (path, form) in &forms {
            for method in [
                ClientSecretBasic,
                ClientSecretPost,
                TokenEndpointAuthMethod::None,
            ] {
                let answer = post_as(&server, path, &long, method, form).await;
                assert_invalid_client(&answer, &format!("{path} {len} {}", method.as_str()));
            }
        }
    }
}

#[tokio::test]
async fn introspection_and_revocation_follow_the_registered_method() {
    let server = TestServer::start().await;
    let issuer = server.cc_client("read").await;
    let token = server.cc_token(&issuer, "read").await;
    for (registered, other) in [
        (ClientSecretPost, ClientSecretBasic),
        (ClientSecretBasic, ClientSecretPost),
    ] {
        let mut reg = cc_registration("read");
        reg.introspect_any = true;
        reg.token_endpoint_auth_method = Some(registered);
        let rs = TestClient::from(server.register(reg).await);
        let form = [("token", token.as_str())];

        let answer = post_as(&server, "/introspect", &rs, other, &form).await;
        assert_invalid_client(&answer, "introspection by another method");
        let (status, _, body) = post_as(&server, "/introspect", &rs, registered, &form).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], true, "{body}");

        let answer = post_as(&server, "/revoke", &rs, other, &[("token", "unknown")]).await;
        assert_invalid_client(&answer, "revocation by another method");
        let (status, _, body) =
            post_as(&server, "/revoke", &rs, registered, &[("token", "unknown")]).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// Writes a client item as a deployment made before the method was recorded
/// would have: through the store's own DynamoDB client, without the
/// `token_endpoint_auth_method` and `require_pkce` attributes.
async fn store_client_without_a_method(server: &TestServer, id: &str, secret: Option<&str>) {
    let s = |v: &str| AttributeValue::S(v.into());
    let mut put = server
        .app
        .store
        .client()
        .put_item()
        .table_name(&server.app.config.tables.clients)
        .item("client_id", s(id))
        .item("name", s("Old app"))
        .item("allowed_scope", s("read"))
        .item("default_scope", s("read"))
        .item("introspect_any", AttributeValue::Bool(false))
        .item("skip_consent", AttributeValue::Bool(false))
        .item("created_at", AttributeValue::N("1".into()));
    put = match secret {
        Some(secret) => put
            .item("client_type", s("confidential"))
            .item("secret_hash", s(SecretHash::of(secret).as_str()))
            .item(
                "grant_types",
                AttributeValue::L(vec![s("client_credentials")]),
            )
            .item("redirect_uris", AttributeValue::L(vec![])),
        None => put
            .item("client_type", s("public"))
            .item(
                "grant_types",
                AttributeValue::L(vec![s("authorization_code")]),
            )
            .item(
                "redirect_uris",
                AttributeValue::L(vec![s("http://127.0.0.1/cb")]),
            ),
    };
    put.send().await.expect("the item is written");
}

#[tokio::test]
async fn a_client_stored_without_a_method_still_authenticates_with_basic_and_with_post() {
    let server = TestServer::start().await;
    store_client_without_a_method(&server, "old-service", Some("old-secret")).await;
    use gatehouse_core::store::ClientStore;
    let stored = server
        .app
        .store
        .get_client("old-service")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.token_endpoint_auth_method, None);
    assert!(!stored.require_pkce);

    let old = TestClient {
        id: "old-service".into(),
        secret: Some("old-secret".into()),
    };
    for method in [ClientSecretBasic, ClientSecretPost] {
        let (status, _, body) = post_as(&server, "/token", &old, method, &[CC]).await;
        assert_eq!(status, 200, "{method}: {body}");
        let (status, _, body) =
            post_as(&server, "/revoke", &old, method, &[("token", "unknown")]).await;
        assert_eq!(status, 200, "{method}: {body}");
    }
    let wrong = TestClient {
        id: "old-service".into(),
        secret: Some("not-the-secret".into()),
    };
    for method in [ClientSecretBasic, ClientSecretPost] {
        let answer = post_as(&server, "/token", &wrong, method, &[CC]).await;
        assert_invalid_client(&answer, "a wrong secret is still wrong");
    }
    let answer = post_as(
        &server,
        "/token",
        &old,
        TokenEndpointAuthMethod::None,
        &[CC],
    )
    .await;
    assert_invalid_client(&answer, "none for an old confidential client");
}

#[tokio::test]
async fn a_public_client_stored_without_a_method_still_authenticates_with_none() {
    let server = TestServer::start().await;
    store_client_without_a_method(&server, "old-native", None).await;
    let old = TestClient {
        id: "old-native".into(),
        secret: None,
    };
    let (status, _, body) = post_as(
        &server,
        "/revoke",
        &old,
        TokenEndpointAuthMethod::None,
        &[("token", "unknown")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let with_secret = TestClient {
        id: "old-native".into(),
        secret: Some("made-up".into()),
    };
    for method in [ClientSecretBasic, ClientSecretPost] {
        let answer = post_as(
            &server,
            "/revoke",
            &with_secret,
            method,
            &[("token", "unknown")],
        )
        .await;
        assert_invalid_client(&answer, method.as_str());
    }
}
