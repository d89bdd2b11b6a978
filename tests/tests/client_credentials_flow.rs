//! The client credentials flow end to end over HTTP, driven by the `oauth2` crate:
//! get a token, verify it against the JWKS, introspect it, revoke it.

use gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use gatehouse_core::keys::SigningAlgorithm;
use gatehouse_tests::{TestServer, http, verify};
use jsonwebtoken::decode_header;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use serde_json::Value;

async fn oauth2_token(
    server: &TestServer,
    id: &str,
    secret: &str,
    scope: &str,
    auth: AuthType,
) -> String {
    let client = BasicClient::new(ClientId::new(id.into()))
        .set_client_secret(ClientSecret::new(secret.into()))
        .set_token_uri(TokenUrl::new(server.url("/token")).unwrap())
        .set_auth_type(auth);
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.into()))
        .request_async(&http())
        .await
        .expect("the token request succeeds");
    assert!(
        token.refresh_token().is_none(),
        "client credentials issue no refresh token"
    );
    assert_eq!(token.scopes().unwrap()[0].as_str(), scope);
    token.access_token().secret().clone()
}

async fn introspect(server: &TestServer, id: &str, secret: &str, token: &str) -> Value {
    let (status, headers, body) = server
        .post_form("/introspect", Some((id, secret)), &[("token", token)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    body
}

#[tokio::test]
async fn a_client_gets_a_verifiable_token_introspects_it_revokes_it_and_it_goes_inactive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let secret = client.secret.as_deref().unwrap();

    let token = oauth2_token(&server, &client.id, secret, "read", AuthType::BasicAuth).await;

    let claims = verify(&server, &token, jsonwebtoken::Algorithm::RS256).await;
    assert_eq!(claims["sub"], client.id.as_str());
    assert_eq!(claims["client_id"], client.id.as_str());
    assert_eq!(claims["scope"], "read");
    assert_eq!(claims["iss"], server.base.as_str());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
    assert!(claims["jti"].as_str().unwrap().len() >= 22);

    let active = introspect(&server, &client.id, secret, &token).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], client.id.as_str());
    assert_eq!(active["scope"], "read");
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["jti"], claims["jti"]);
    assert_eq!(active["exp"], claims["exp"]);
    assert_eq!(active["iss"], server.base.as_str());

    let (status, _, body) = server
        .post_form(
            "/revoke",
            Some((&client.id, secret)),
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null);

    assert_eq!(
        introspect(&server, &client.id, secret, &token).await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn client_secret_post_works_as_well_as_basic() {
    let server = TestServer::start().await;
    let client = server
        .cc_client_using("read write", TokenEndpointAuthMethod::ClientSecretPost)
        .await;
    let token = oauth2_token(
        &server,
        &client.id,
        client.secret.as_deref().unwrap(),
        "write",
        AuthType::RequestBody,
    )
    .await;
    let claims = verify(&server, &token, jsonwebtoken::Algorithm::RS256).await;
    assert_eq!(claims["scope"], "write");
}

#[tokio::test]
async fn an_es256_deployment_signs_tokens_its_jwks_verifies() {
    let server = TestServer::start_with_alg(SigningAlgorithm::Es256, |_| {}).await;
    let client = server.cc_client("read").await;
    let token = oauth2_token(
        &server,
        &client.id,
        client.secret.as_deref().unwrap(),
        "read",
        AuthType::BasicAuth,
    )
    .await;
    verify(&server, &token, jsonwebtoken::Algorithm::ES256).await;
}

/// The error code the `oauth2` crate reads from a failed client credentials request.
async fn oauth2_error(
    server: &TestServer,
    id: &str,
    secret: &str,
    scope: &str,
) -> BasicErrorResponseType {
    let oauth = BasicClient::new(ClientId::new(id.into()))
        .set_client_secret(ClientSecret::new(secret.into()))
        .set_token_uri(TokenUrl::new(server.url("/token")).unwrap());
    let err = oauth
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.into()))
        .request_async(&http())
        .await
        .unwrap_err();
    match err {
        RequestTokenError::ServerResponse(r) => r.error().clone(),
        other => panic!("expected an error response, got {other:?}"),
    }
}

#[tokio::test]
async fn the_oauth2_library_reads_a_wrong_secret_as_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let code = oauth2_error(&server, &client.id, "wrong", "read").await;
    assert_eq!(code, BasicErrorResponseType::InvalidClient);
}

#[tokio::test]
async fn the_oauth2_library_reads_a_disallowed_scope_as_invalid_scope() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let code = oauth2_error(
        &server,
        &client.id,
        client.secret.as_deref().unwrap(),
        "write",
    )
    .await;
    assert_eq!(code, BasicErrorResponseType::InvalidScope);
}

#[tokio::test]
async fn after_key_rotation_old_tokens_still_verify_and_new_ones_use_the_published_next_key() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let secret = client.secret.as_deref().unwrap();
    let before = oauth2_token(&server, &client.id, secret, "read", AuthType::BasicAuth).await;
    let old_kid = decode_header(&before).unwrap().kid.unwrap();

    let jwks = gatehouse_tests::jwks(&server.base).await;
    assert_eq!(jwks.keys.len(), 2, "active and next keys are published");
    let next_kid = jwks
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .find(|k| *k != old_kid)
        .unwrap();

    let plan = gatehouse_core::registration::rotate_signing_keys(
        &server.app.store,
        &server.app.config,
        SigningAlgorithm::Rs256,
        true,
    )
    .await
    .unwrap();
    assert_eq!(plan.promote.as_deref(), Some(next_kid.as_str()));

    let after = oauth2_token(&server, &client.id, secret, "read", AuthType::BasicAuth).await;
    assert_eq!(
        decode_header(&after).unwrap().kid.unwrap(),
        next_kid,
        "the key published in advance now signs"
    );
    verify(&server, &before, jsonwebtoken::Algorithm::RS256).await;
    verify(&server, &after, jsonwebtoken::Algorithm::RS256).await;
    let jwks = gatehouse_tests::jwks(&server.base).await;
    assert_eq!(jwks.keys.len(), 3, "retired, active and the new next key");
}

#[tokio::test]
async fn a_rotation_right_after_the_last_one_is_refused_without_force() {
    let server = TestServer::start().await;
    let err = gatehouse_core::registration::rotate_signing_keys(
        &server.app.store,
        &server.app.config,
        SigningAlgorithm::Rs256,
        false,
    )
    .await
    .unwrap_err();
    assert!(err.contains("--force"), "{err}");
}

/// A next key is seen by verifiers only once the discovery function's key cache
/// and then their own JWKS cache have expired: 60 + 300 s.
#[tokio::test]
async fn the_rotation_guard_waits_for_the_function_key_cache_and_the_jwks_cache() {
    use gatehouse_core::keys::Rotation;
    use gatehouse_core::store::KeyStore;
    for (age, allowed) in [(330, false), (361, true)] {
        let server = TestServer::start().await;
        let keys = server.app.store.list_keys().await.unwrap();
        // Keys as a rotation `age` seconds ago left them.
        let t = gatehouse_core::app::now() - age;
        let plan = Rotation::plan(&keys, SigningAlgorithm::Rs256, t, 60).unwrap();
        server.app.store.apply_rotation(&plan).await.unwrap();
        let r = gatehouse_core::registration::rotate_signing_keys(
            &server.app.store,
            &server.app.config,
            SigningAlgorithm::Rs256,
            false,
        )
        .await;
        assert_eq!(
            r.is_ok(),
            allowed,
            "next key published {age} s ago: {:?}",
            r.err()
        );
    }
}

#[tokio::test]
async fn metadata_names_every_endpoint_and_what_they_support() {
    let server = TestServer::start().await;
    let resp = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let m: Value = resp.json().await.unwrap();
    assert_eq!(m["issuer"], server.base.as_str());
    assert_eq!(m["token_endpoint"], server.url("/token"));
    assert_eq!(m["introspection_endpoint"], server.url("/introspect"));
    assert_eq!(m["revocation_endpoint"], server.url("/revoke"));
    assert_eq!(m["jwks_uri"], server.url("/.well-known/jwks.json"));
    assert_eq!(m["authorization_endpoint"], server.url("/authorize"));
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!(["authorization_code", "client_credentials", "refresh_token"])
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    // The deployment's scopes, then the OpenID scopes every deployment knows.
    assert_eq!(
        m["scopes_supported"],
        serde_json::json!([
            "read",
            "write",
            "openid",
            "profile",
            "email",
            "offline_access"
        ])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        m["revocation_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        m["introspection_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"]),
        "introspection takes no public client"
    );
    for field in ["password", "implicit"] {
        assert!(
            !m.to_string().contains(field),
            "{field} must not be offered"
        );
    }
    let post = http()
        .post(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test]
async fn an_unknown_client_at_the_authorize_endpoint_gets_a_page_and_no_redirect() {
    let server = TestServer::start().await;
    let resp =
        http()
            .get(server.url(
                "/authorize?response_type=code&client_id=x&redirect_uri=https://evil.example/",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("The client is not registered here.")
    );
}
