//! Introspection (RFC 7662) and revocation (RFC 7009) over HTTP: who may call them,
//! what an inactive or invisible token looks like, and what revocation revokes.

use gatehouse_core::app::now;
use gatehouse_core::domain::client::{ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::store::{ClientStore, TokenStateStore};
use gatehouse_tests::reqwest::header::{self, HeaderMap};
use gatehouse_tests::serde_json::{Value, json};
use gatehouse_tests::{Answer, TestClient, TestServer, assert_error, http, read};

fn cache_control(h: &HeaderMap) -> Option<&str> {
    h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok())
}

/// Asserts `200 {"active": false}` and nothing else (RFC 7662 §2.2).
fn assert_inactive(answer: &Answer) {
    let (s, h, body) = answer;
    assert_eq!(*s, 200, "status; body {body}");
    assert_eq!(*body, json!({ "active": false }));
    assert_eq!(cache_control(h), Some("no-store"));
}

/// Asserts a successful revocation: 200, an empty body, no-store.
fn assert_revoked_ok(answer: &Answer) {
    let (s, h, body) = answer;
    assert_eq!(*s, 200, "status; body {body}");
    assert_eq!(*body, Value::Null, "the body is not empty");
    assert_eq!(cache_control(h), Some("no-store"));
}

fn creds(c: &TestClient) -> Option<(&str, &str)> {
    Some((&c.id, c.secret.as_deref().unwrap()))
}

async fn introspect(server: &TestServer, caller: &TestClient, token: &str) -> Answer {
    server
        .post_form("/introspect", creds(caller), &[("token", token)])
        .await
}

async fn revoke(server: &TestServer, caller: &TestClient, token: &str) -> Answer {
    server
        .post_form("/revoke", creds(caller), &[("token", token)])
        .await
}

/// Whether `token` (of `owner`) introspects active for `owner`.
async fn active_for(server: &TestServer, owner: &TestClient, token: &str) -> bool {
    let (status, _, body) = introspect(server, owner, token).await;
    assert_eq!(status, 200, "{body}");
    body["active"] == true
}

// Introspection: who may call it.

#[tokio::test]
async fn introspection_without_client_authentication_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let answer = server
        .post_form("/introspect", None, &[("token", &token)])
        .await;
    assert_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn introspection_with_a_wrong_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;

    let answer = server
        .post_form(
            "/introspect",
            Some((&client.id, "not-the-secret")),
            &[("token", &token)],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
    let challenge = answer
        .1
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(challenge.starts_with("Basic"), "{challenge:?}");

    let post_client = server
        .cc_client_using(
            "read",
            gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod::ClientSecretPost,
        )
        .await;
    let answer = server
        .post_form(
            "/introspect",
            None,
            &[
                ("token", &token),
                ("client_id", &post_client.id),
                ("client_secret", "not-the-secret"),
            ],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
}

/// A valid access token is judged in the same read as the caller's record; the
/// caller must still authenticate first, whatever the token.
#[tokio::test]
async fn a_valid_token_does_not_help_a_caller_that_fails_to_authenticate() {
    let server = TestServer::start().await;
    let owner = server.cc_client("read").await;
    let other = server.cc_client("read").await;
    let token = server.cc_token(&owner, "read").await;
    let owner_secret = owner.secret.as_deref().unwrap();
    for (id, secret) in [
        (other.id.as_str(), "not-the-secret"),
        (owner.id.as_str(), other.secret.as_deref().unwrap()),
        ("no-such-client", owner_secret),
    ] {
        let answer = server
            .post_form("/introspect", Some((id, secret)), &[("token", &token)])
            .await;
        assert_error(&answer, 401, "invalid_client");
    }
    // The right secret by the method the client did not register.
    let post_client = server
        .cc_client_using(
            "read",
            gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod::ClientSecretPost,
        )
        .await;
    let post_secret = post_client.secret.as_deref().unwrap();
    let (status, _, body) = server
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &post_client.id),
                ("client_secret", post_secret),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let own = body["access_token"].as_str().unwrap();
    let answer = server
        .post_form(
            "/introspect",
            Some((&post_client.id, post_secret)),
            &[("token", own)],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
    // And with everything right, the same token is active.
    assert!(active_for(&server, &owner, &token).await);
    assert!(!active_for(&server, &other, &token).await, "not its token");
}

#[tokio::test]
async fn a_public_client_may_not_introspect() {
    let server = TestServer::start().await;
    let public = server.public_client("read").await;
    let answer = server
        .post_form(
            "/introspect",
            None,
            &[("token", "anything"), ("client_id", &public.id)],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn a_confidential_client_naming_itself_without_a_secret_may_not_introspect() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let answer = server
        .post_form(
            "/introspect",
            None,
            &[("token", &token), ("client_id", &client.id)],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn a_missing_token_is_invalid_request_at_both_endpoints() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for path in ["/introspect", "/revoke"] {
        let answer = server.post_form(path, creds(&client), &[]).await;
        assert_eq!(answer.0, 400, "{path}: {}", answer.2);
        assert_error(&answer, 400, "invalid_request");
        let answer = server
            .post_form(path, creds(&client), &[("token", "")])
            .await;
        assert_eq!(answer.0, 400, "{path} with an empty token: {}", answer.2);
        assert_error(&answer, 400, "invalid_request");
        let answer = server
            .post_form(path, creds(&client), &[("token_type_hint", "access_token")])
            .await;
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test]
async fn a_repeated_token_parameter_is_invalid_request_at_both_endpoints() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    for path in ["/introspect", "/revoke"] {
        let answer = server
            .post_form(path, creds(&client), &[("token", &token), ("token", "x")])
            .await;
        assert_eq!(answer.0, 400, "{path}: {}", answer.2);
        assert_error(&answer, 400, "invalid_request");
    }
    let (_, _, body) = introspect(&server, &client, &token).await;
    assert_eq!(body["active"], true, "nothing was revoked");
}

// Introspection: what is inactive.

#[tokio::test]
async fn unknown_random_and_oversized_tokens_are_inactive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let oversized = "a".repeat(10_000);
    for token in [
        "unknown-token",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        "%20 \u{e9}\u{1F600}",
        &oversized,
    ] {
        let answer = introspect(&server, &client, token).await;
        assert_inactive(&answer);
    }
}

#[tokio::test]
async fn an_active_token_is_described_to_its_own_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let token = server.cc_token(&client, "read").await;
    let (status, headers, body) = introspect(&server, &client, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache_control(&headers), Some("no-store"));
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], client.id.as_str());
    assert_eq!(body["sub"], client.id.as_str());
    assert_eq!(body["scope"], "read");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], server.base.as_str());
    let (iat, exp) = (body["iat"].as_u64().unwrap(), body["exp"].as_u64().unwrap());
    assert_eq!(exp - iat, 3600);
}

#[tokio::test]
async fn another_clients_token_is_inactive_for_an_ordinary_client() {
    let server = TestServer::start().await;
    let owner = server.cc_client("read").await;
    let other = server.cc_client("read").await;
    let token = server.cc_token(&owner, "read").await;
    assert_inactive(&introspect(&server, &other, &token).await);
    // The owner still sees it.
    let (_, _, body) = introspect(&server, &owner, &token).await;
    assert_eq!(body["active"], true, "{body}");
}

#[tokio::test]
async fn a_client_allowed_to_introspect_any_token_sees_another_clients_token() {
    let server = TestServer::start().await;
    let owner = server.cc_client("read").await;
    let rs = server.resource_server().await;
    let token = server.cc_token(&owner, "read").await;
    let (status, _, body) = introspect(&server, &rs, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], owner.id.as_str());
    assert_eq!(body["sub"], owner.id.as_str());
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn an_expired_token_is_inactive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let mut expired = server.cc_claims(&client.id);
    expired.iat = now() - 7200;
    expired.exp = now() - 3600;
    let expired = server.sign_access_token(&expired).await;

    // The control: the same claims, unexpired, are active.
    let fresh = server
        .sign_access_token(&server.cc_claims(&client.id))
        .await;
    assert!(active_for(&server, &client, &fresh).await);

    assert_inactive(&introspect(&server, &client, &expired).await);
    let rs = server.resource_server().await;
    assert_inactive(&introspect(&server, &rs, &expired).await);
}

#[tokio::test]
async fn a_token_expiring_now_is_inactive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let mut expiring = server.cc_claims(&client.id);
    expiring.exp = now();
    let expiring = server.sign_access_token(&expiring).await;
    assert_inactive(&introspect(&server, &client, &expiring).await);
}

#[tokio::test]
async fn a_token_of_another_issuer_audience_or_key_is_inactive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let mut other_issuer = server.cc_claims(&client.id);
    other_issuer.iss = "https://other.example".into();
    let mut other_audience = server.cc_claims(&client.id);
    other_audience.aud = "https://other-api.example".into();
    for claims in [other_issuer, other_audience] {
        let t = server.sign_access_token(&claims).await;
        assert_inactive(&introspect(&server, &client, &t).await);
    }
    // A token signed by another deployment's key.
    let other = TestServer::start().await;
    let foreign = other.sign_access_token(&server.cc_claims(&client.id)).await;
    assert_inactive(&introspect(&server, &client, &foreign).await);
    // A tampered signature.
    let good = server.cc_token(&client, "read").await;
    let (rest, sig) = good.rsplit_once('.').unwrap();
    let flipped: String = sig.chars().rev().collect();
    assert_inactive(&introspect(&server, &client, &format!("{rest}.{flipped}")).await);
    assert!(active_for(&server, &client, &good).await, "the control");
}

#[tokio::test]
async fn a_revoked_token_is_inactive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;

    let claims = server.cc_claims(&client.id);
    let listed = server.sign_access_token(&claims).await;
    assert!(active_for(&server, &client, &listed).await);
    server
        .app
        .store
        .revoke_access_token(&claims.jti, &client.id, claims.exp)
        .await
        .unwrap();
    assert_inactive(&introspect(&server, &client, &listed).await);

    let token = server.cc_token(&client, "read").await;
    assert_revoked_ok(&revoke(&server, &client, &token).await);
    assert_inactive(&introspect(&server, &client, &token).await);
}

#[tokio::test]
async fn a_token_whose_client_was_deleted_is_inactive() {
    let server = TestServer::start().await;
    let owner = server.cc_client("read").await;
    let rs = server.resource_server().await;
    let token = server.cc_token(&owner, "read").await;
    let (_, _, body) = introspect(&server, &rs, &token).await;
    assert_eq!(body["active"], true, "{body}");

    assert!(server.app.store.delete_client(&owner.id).await.unwrap());
    assert_inactive(&introspect(&server, &rs, &token).await);
    // The deleted client cannot authenticate any more either.
    let answer = introspect(&server, &owner, &token).await;
    assert_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn an_authorization_code_is_never_active_at_introspection() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (code, _) = server
        .code_for(
            &client,
            gatehouse_tests::flow::CONFIDENTIAL_REDIRECT,
            "alice",
        )
        .await;
    assert_inactive(&introspect(&server, &client, &code).await);
}

#[tokio::test]
async fn a_token_type_hint_is_only_a_hint() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    for hint in ["refresh_token", "access_token", "foo"] {
        let (status, _, body) = server
            .post_form(
                "/introspect",
                creds(&client),
                &[("token", &token), ("token_type_hint", hint)],
            )
            .await;
        assert_eq!(status, 200, "{hint}: {body}");
        assert_eq!(body["active"], true, "{hint}: {body}");
        assert_eq!(body["token_type"], "Bearer", "{hint}: {body}");
    }
}

#[tokio::test]
async fn a_refresh_token_is_active_without_a_bearer_token_type() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (_, refresh) = server.user_tokens(&client, "alice").await;
    let (status, _, body) = server
        .post_form(
            "/introspect",
            creds(&client),
            &[("token", &refresh), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["username"], "alice", "{body}");
    assert!(body.get("token_type").is_none(), "{body}");
}

// Revocation.

#[tokio::test]
async fn revoking_an_unknown_token_is_200_with_an_empty_body() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let oversized = "a".repeat(10_000);
    for token in ["unknown-token", &oversized] {
        assert_revoked_ok(&revoke(&server, &client, token).await);
    }
}

#[tokio::test]
async fn revoking_twice_is_200_both_times() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    assert_revoked_ok(&revoke(&server, &client, &token).await);
    assert_revoked_ok(&revoke(&server, &client, &token).await);
    assert_inactive(&introspect(&server, &client, &token).await);
}

#[tokio::test]
async fn revoking_another_clients_token_is_200_and_leaves_it_active() {
    let server = TestServer::start().await;
    let owner = server.cc_client("read").await;
    let other = server.cc_client("read").await;
    let token = server.cc_token(&owner, "read").await;
    assert_revoked_ok(&revoke(&server, &other, &token).await);
    let (_, _, body) = introspect(&server, &owner, &token).await;
    assert_eq!(body["active"], true, "{body}");

    // Not even a client allowed to introspect any token may revoke it.
    let rs = server.resource_server().await;
    assert_revoked_ok(&revoke(&server, &rs, &token).await);
    let (_, _, body) = introspect(&server, &owner, &token).await;
    assert_eq!(body["active"], true, "{body}");
}

#[tokio::test]
async fn a_public_client_may_revoke_with_its_client_id_only() {
    let server = TestServer::start().await;
    let public = server.public_client("read").await;
    let answer = server
        .post_form(
            "/revoke",
            None,
            &[("token", "unknown-token"), ("client_id", &public.id)],
        )
        .await;
    assert_revoked_ok(&answer);

    // And its own token is revoked.
    let own = server
        .sign_access_token(&server.cc_claims(&public.id))
        .await;
    let rs = server.resource_server().await;
    assert!(server.is_active(&rs, &own).await);
    let answer = server
        .post_form(
            "/revoke",
            None,
            &[("token", &own), ("client_id", &public.id)],
        )
        .await;
    assert_revoked_ok(&answer);
    assert!(!server.is_active(&rs, &own).await);
}

#[tokio::test]
async fn a_public_client_cannot_revoke_a_confidential_clients_token() {
    let server = TestServer::start().await;
    let owner = server.cc_client("read").await;
    let public = server.public_client("read").await;
    let token = server.cc_token(&owner, "read").await;
    let answer = server
        .post_form(
            "/revoke",
            None,
            &[("token", &token), ("client_id", &public.id)],
        )
        .await;
    assert_revoked_ok(&answer);
    let (_, _, body) = introspect(&server, &owner, &token).await;
    assert_eq!(body["active"], true, "{body}");
}

#[tokio::test]
async fn revocation_without_client_authentication_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let answer = server
        .post_form("/revoke", None, &[("token", &token)])
        .await;
    assert_error(&answer, 401, "invalid_client");
    // A confidential client naming itself without its secret is no better.
    let answer = server
        .post_form(
            "/revoke",
            None,
            &[("token", &token), ("client_id", &client.id)],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
    let (_, _, body) = introspect(&server, &client, &token).await;
    assert_eq!(body["active"], true, "{body}");
}

#[tokio::test]
async fn revocation_with_a_wrong_secret_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let answer = server
        .post_form(
            "/revoke",
            Some((&client.id, "not-the-secret")),
            &[("token", &token)],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
    assert!(answer.1.get(header::WWW_AUTHENTICATE).is_some());
    let (_, _, body) = introspect(&server, &client, &token).await;
    assert_eq!(body["active"], true, "{body}");
}

#[tokio::test]
async fn get_on_revoke_and_introspect_is_405() {
    let server = TestServer::start().await;
    for path in ["/revoke", "/introspect"] {
        let answer = read(
            http()
                .get(server.url(&format!("{path}?token=x")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.0, 405, "{path}: {}", answer.2);
        assert_error(&answer, 405, "invalid_request");
        assert_eq!(
            answer.1.get(header::ALLOW).and_then(|v| v.to_str().ok()),
            Some("POST")
        );
    }
}

#[tokio::test]
async fn non_form_bodies_are_invalid_request_at_both_endpoints() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for path in ["/introspect", "/revoke"] {
        let answer = read(
            http()
                .post(server.url(path))
                .basic_auth(&client.id, client.secret.as_deref())
                .header(header::CONTENT_TYPE, "application/json")
                .body(json!({ "token": "x" }).to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.0, 400, "{path}: {}", answer.2);
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_whole_grant() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (access_1a, refresh_1) = server.user_tokens(&client, "alice").await;
    let (access_1b, _) =
        gatehouse_tests::flow::tokens(&server.refresh_grant(&client, &refresh_1, None).await);
    let (access_2, refresh_2) = server.user_tokens(&client, "alice").await;

    // The rotated-out refresh token still names the grant: revoking it ends it.
    assert_revoked_ok(&revoke(&server, &client, &refresh_1).await);

    for value in [&refresh_1, &access_1a, &access_1b] {
        assert_inactive(&introspect(&server, &client, value).await);
    }
    for value in [&access_2, &refresh_2] {
        assert!(active_for(&server, &client, value).await, "the other grant");
    }
}

#[tokio::test]
async fn revoking_an_access_token_leaves_the_rest_of_its_grant_alone() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (access_a, refresh) = server.user_tokens(&client, "alice").await;
    let (access_b, refresh) =
        gatehouse_tests::flow::tokens(&server.refresh_grant(&client, &refresh, None).await);
    assert_revoked_ok(&revoke(&server, &client, &access_a).await);
    assert_inactive(&introspect(&server, &client, &access_a).await);
    assert!(active_for(&server, &client, &access_b).await);
    assert!(active_for(&server, &client, &refresh).await);
}

#[tokio::test]
async fn a_refresh_token_of_another_client_does_not_revoke_its_grant() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let owner = server.code_client(ClientType::Confidential, "read").await;
    let other = server.cc_client("read").await;
    let (access, refresh) = server.user_tokens(&owner, "alice").await;
    assert_revoked_ok(&revoke(&server, &other, &refresh).await);
    assert_revoked_ok(&revoke(&server, &other, &access).await);
    assert!(active_for(&server, &owner, &refresh).await);
    assert!(active_for(&server, &owner, &access).await);
}

#[tokio::test]
async fn a_forged_refresh_token_carrying_a_real_grant_id_revokes_nothing() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (access, refresh) = server.user_tokens(&client, "alice").await;
    let grant_id = refresh.split('.').next().unwrap();
    for forged in [
        format!("{grant_id}.1.{}", "A".repeat(43)),
        format!("{grant_id}.2.{}", refresh.rsplit('.').next().unwrap()),
        format!("{grant_id}.{}", "A".repeat(43)),
    ] {
        assert_revoked_ok(&revoke(&server, &client, &forged).await);
        assert_inactive(&introspect(&server, &client, &forged).await);
        let (status, _, body) = server.refresh_grant(&client, &forged, None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
    assert!(active_for(&server, &client, &access).await);
    assert!(active_for(&server, &client, &refresh).await);
    let (status, _, body) = server.refresh_grant(&client, &refresh, None).await;
    assert_eq!(status, 200, "the owner's refresh token still works: {body}");
}

#[tokio::test]
async fn a_rotated_out_refresh_token_introspects_inactive() {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = server.code_client(ClientType::Confidential, "read").await;
    let (_, old) = server.user_tokens(&client, "alice").await;
    let (_, new) = gatehouse_tests::flow::tokens(&server.refresh_grant(&client, &old, None).await);
    assert_inactive(&introspect(&server, &client, &old).await);
    assert!(
        active_for(&server, &client, &new).await,
        "introspection is no use"
    );
}

#[tokio::test]
async fn introspection_and_revocation_responses_are_not_cacheable() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let answers = [
        introspect(&server, &client, &token).await,
        introspect(&server, &client, "unknown").await,
        server
            .post_form("/introspect", None, &[("token", &token)])
            .await,
        revoke(&server, &client, "unknown").await,
        revoke(&server, &client, &token).await,
        server
            .post_form("/revoke", None, &[("token", &token)])
            .await,
    ];
    for (i, (status, headers, body)) in answers.iter().enumerate() {
        assert_eq!(
            cache_control(headers),
            Some("no-store"),
            "#{i}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn a_public_client_revoking_its_refresh_token_revokes_its_grant() {
    let server = TestServer::start().await;
    let registered = server
        .register(ClientRegistration {
            redirect_uris: vec!["com.example.app:/cb".into()],
            ..ClientRegistration::new(
                "Native app",
                ClientType::Public,
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                Scope::parse("read").unwrap(),
            )
        })
        .await;
    assert!(registered.secret.is_none());
    let public = TestClient::from(registered);
    let id = public.id.clone();
    server.user("alice").await;
    let (code, verifier) = server
        .code_for(&public, "com.example.app:/cb", "alice")
        .await;
    let (access, refresh) = gatehouse_tests::flow::tokens(
        &server
            .exchange_code(&public, &code, "com.example.app:/cb", &verifier)
            .await,
    );
    let rs = server.resource_server().await;
    assert!(server.is_active(&rs, &access).await);
    let answer = server
        .post_form(
            "/revoke",
            None,
            &[
                ("token", &refresh),
                ("token_type_hint", "refresh_token"),
                ("client_id", &id),
            ],
        )
        .await;
    assert_revoked_ok(&answer);
    assert!(!server.is_active(&rs, &refresh).await);
    assert!(!server.is_active(&rs, &access).await);
}
