//! The UserInfo endpoint (OpenID Connect Core §5.3) against the embedded engine:
//! the refusals of RFC 6750 §3 first, then the claims each scope releases.

use base64::Engine as _;
use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::scope::ScopeCatalog;
use gatehouse_core::domain::user::ProfileChange;
use gatehouse_core::registration;
use gatehouse_core::store::UserStore;
use gatehouse_core::tokens::access::AccessTokenClaims;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce};
use gatehouse_tests::{Answer, TestClient, TestServer, http, read};
use serde_json::{Value, json};

const SCOPES: &str = "read=Read;openid=Sign-in;profile=Profile;email=E-mail address";

/// A server that knows `openid`, `profile` and `email`, its user alice with a
/// full profile, and a client allowed every scope.
async fn setup() -> (TestServer, TestClient) {
    let server = TestServer::start_with(|c| c.scopes = ScopeCatalog::parse(SCOPES).unwrap()).await;
    registration::create_user_with_profile(
        &server.app.store,
        "alice",
        PASSWORD,
        &ProfileChange {
            email: Some("alice@example.com".into()),
            email_verified: Some(true),
            name: Some("Alice Smith".into()),
            given_name: Some("Alice".into()),
            family_name: Some("Smith".into()),
        },
    )
    .await
    .unwrap();
    let client = server
        .code_client(ClientType::Confidential, "read openid profile email")
        .await;
    (server, client)
}

/// An access token of alice's for `client` with `scope`.
async fn token(server: &TestServer, client: &TestClient, scope: &str) -> String {
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(client, CONFIDENTIAL_REDIRECT, scope, &challenge);
    let page = UserAgent::new().authorize(server, &query, "alice").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    // An OpenID grant without offline_access has no refresh token: only the
    // access token is taken.
    let (status, _, body) = server
        .exchange_code(client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("an access token")
        .into()
}

async fn get(server: &TestServer, token: &str) -> Answer {
    read(
        http()
            .get(server.url("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn post(server: &TestServer, token: &str) -> Answer {
    server
        .post_form("/userinfo", None, &[("access_token", token)])
        .await
}

fn challenge(answer: &Answer) -> &str {
    answer
        .1
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no challenge: {answer:?}"))
}

fn assert_refused(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.2);
    assert_eq!(answer.2["error"], code, "{}", answer.2);
    assert_eq!(answer.1["cache-control"], "no-store");
    assert_eq!(challenge(answer), format!("Bearer error=\"{code}\""));
}

fn assert_invalid_token(answer: &Answer) {
    assert_refused(answer, 401, "invalid_token");
}

#[tokio::test]
async fn a_request_without_a_token_gets_the_bare_bearer_challenge() {
    let (server, _) = setup().await;
    let answers = [
        read(http().get(server.url("/userinfo")).send().await.unwrap()).await,
        server.post_form("/userinfo", None, &[]).await,
        // Another scheme is not a bearer token (RFC 6750 §3: no error code).
        read(
            http()
                .get(server.url("/userinfo"))
                .basic_auth("alice", Some(PASSWORD))
                .send()
                .await
                .unwrap(),
        )
        .await,
    ];
    for answer in &answers {
        assert_eq!(answer.0, 401, "{}", answer.2);
        assert_eq!(challenge(answer), "Bearer realm=\"gatehouse\"");
        assert!(answer.2.get("error").is_none(), "{}", answer.2);
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_invalid_request() {
    let (server, _) = setup().await;
    for header in ["Bearer", "Bearer a b", "Bearer a=b", "Bearer ==="] {
        let answer = read(
            http()
                .get(server.url("/userinfo"))
                .header("authorization", header)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_refused(&answer, 400, "invalid_request");
    }
    let twice = read(
        http()
            .get(server.url("/userinfo"))
            .header("authorization", "Bearer abc")
            .header("authorization", "Bearer abc")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&twice, 400, "invalid_request");
}

#[tokio::test]
async fn a_token_sent_twice_or_in_the_query_is_invalid_request() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid").await;
    let both = read(
        http()
            .post(server.url("/userinfo"))
            .bearer_auth(&t)
            .form(&[("access_token", t.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&both, 400, "invalid_request");
    let repeated = read(
        http()
            .post(server.url("/userinfo"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("access_token={t}&access_token={t}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&repeated, 400, "invalid_request");
    let query = read(
        http()
            .get(server.url(&format!("/userinfo?access_token={t}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&query, 400, "invalid_request");
}

#[tokio::test]
async fn other_methods_are_refused() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid").await;
    let answer = read(
        http()
            .put(server.url("/userinfo"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.0, 405);
    assert_eq!(answer.1["allow"], "GET, POST");
}

#[tokio::test]
async fn an_unknown_or_expired_token_is_invalid_token() {
    let (server, client) = setup().await;
    assert_invalid_token(&get(&server, "not-a-token").await);
    assert_invalid_token(&post(&server, "not-a-token").await);
    // The same token, signed again as expired.
    let t = token(&server, &client, "openid").await;
    let payload = t.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let mut claims: AccessTokenClaims = serde_json::from_slice(&payload).unwrap();
    claims.iat -= 7200;
    claims.exp = claims.iat + 60;
    let expired = server.sign_access_token(&claims).await;
    assert_invalid_token(&get(&server, &expired).await);
    // The original is fine.
    assert_eq!(get(&server, &t).await.0, 200);
}

#[tokio::test]
async fn a_revoked_token_is_invalid_token() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid").await;
    assert_eq!(get(&server, &t).await.0, 200);
    assert_eq!(server.revoke_as(&client, &t).await.0, 200);
    assert_invalid_token(&get(&server, &t).await);
    assert_invalid_token(&post(&server, &t).await);
}

#[tokio::test]
async fn a_token_of_a_grant_ended_by_end_sessions_is_invalid_token() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid profile").await;
    assert_eq!(get(&server, &t).await.0, 200);
    assert!(server.app.store.end_sessions("alice").await.unwrap());
    assert_invalid_token(&get(&server, &t).await);
}

#[tokio::test]
async fn a_token_of_a_deleted_user_is_invalid_token() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid").await;
    assert!(server.app.store.delete_user("alice").await.unwrap());
    assert_invalid_token(&get(&server, &t).await);
    // Created again under the same name: another subject.
    server.user("alice").await;
    assert_invalid_token(&get(&server, &t).await);
}

#[tokio::test]
async fn a_client_credentials_token_is_invalid_token() {
    let (server, _) = setup().await;
    let cc = server.cc_client("openid read").await;
    let t = server.cc_token(&cc, "openid read").await;
    assert_invalid_token(&get(&server, &t).await);
}

#[tokio::test]
async fn a_token_without_openid_is_insufficient_scope() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "read profile email").await;
    let answer = get(&server, &t).await;
    assert_eq!(answer.0, 403, "{}", answer.2);
    assert_eq!(answer.2["error"], "insufficient_scope");
    assert_eq!(
        challenge(&answer),
        "Bearer error=\"insufficient_scope\", scope=\"openid\""
    );
}

#[tokio::test]
async fn each_scope_releases_its_claims() {
    let (server, client) = setup().await;
    let alice = server.app.store.get_user("alice").await.unwrap().unwrap();
    let sub = alice.user_id.as_str();
    let updated_at = alice.profile.updated_at;

    let t = token(&server, &client, "openid").await;
    assert_eq!(get(&server, &t).await.2, json!({ "sub": sub }));

    let t = token(&server, &client, "openid profile").await;
    assert_eq!(
        get(&server, &t).await.2,
        json!({
            "sub": sub,
            "name": "Alice Smith",
            "given_name": "Alice",
            "family_name": "Smith",
            "preferred_username": "alice",
            "updated_at": updated_at,
        })
    );

    let t = token(&server, &client, "openid email read").await;
    assert_eq!(
        get(&server, &t).await.2,
        json!({ "sub": sub, "email": "alice@example.com", "email_verified": true })
    );
}

#[tokio::test]
async fn get_and_post_answer_the_same_claims_uncached() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid profile email").await;
    let by_get = get(&server, &t).await;
    let by_post = post(&server, &t).await;
    for answer in [&by_get, &by_post] {
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert_eq!(answer.1["cache-control"], "no-store");
        assert!(
            answer.1["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
    }
    assert_eq!(by_get.2, by_post.2);
    assert_eq!(by_get.2.as_object().unwrap().len(), 8);
    // A POST may carry the token in the header, with or without a body.
    let header_post = read(
        http()
            .post(server.url("/userinfo"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(header_post.2, by_get.2);
}

#[tokio::test]
async fn a_profile_update_shows_at_once_and_ends_no_session() {
    let (server, client) = setup().await;
    let t = token(&server, &client, "openid profile email").await;
    let before = get(&server, &t).await.2;
    registration::update_user_profile(
        &server.app.store,
        "alice",
        &ProfileChange {
            name: Some("Alice Jones".into()),
            family_name: Some("Jones".into()),
            email: Some(String::new()),
            ..ProfileChange::default()
        },
    )
    .await
    .unwrap();
    let after = get(&server, &t).await;
    assert_eq!(after.0, 200, "the grant lives on: {}", after.2);
    let after = after.2;
    assert_eq!(after["name"], "Alice Jones");
    assert_eq!(after["family_name"], "Jones");
    assert_eq!(after["given_name"], "Alice");
    assert!(after.get("email").is_none() && after.get("email_verified").is_none());
    assert!(after["updated_at"].as_u64() >= before["updated_at"].as_u64());
    assert_eq!(after["sub"], before["sub"]);
    // Bad input is refused, and nothing changes.
    for bad in [
        ProfileChange {
            email: Some("not-an-address".into()),
            ..ProfileChange::default()
        },
        ProfileChange::default(),
    ] {
        assert!(
            registration::update_user_profile(&server.app.store, "alice", &bad)
                .await
                .is_err()
        );
    }
    assert!(
        registration::update_user_profile(
            &server.app.store,
            "nobody",
            &ProfileChange {
                name: Some("X".into()),
                ..ProfileChange::default()
            }
        )
        .await
        .unwrap_err()
        .contains("no user")
    );
    assert_eq!(get(&server, &t).await.2, after);
}

#[tokio::test]
async fn the_metadata_names_the_userinfo_endpoint() {
    let (server, _) = setup().await;
    let meta: Value = server.openid_configuration().await;
    assert_eq!(meta["userinfo_endpoint"], server.url("/userinfo"));
}
