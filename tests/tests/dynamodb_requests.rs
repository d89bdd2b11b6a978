//! How many DynamoDB requests each endpoint makes per call, counted at the SDK
//! client (every request that leaves it), with the key set warm in the cache as in
//! a warm Lambda container. DynamoDB bills per request, and each one is a network
//! round trip, so these numbers are the cost model; a change that adds a request
//! must change this test. Run with `--nocapture` to print the table.

use gatehouse_core::domain::client::ClientType;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce};
use gatehouse_tests::{TestServer, cc_registration};
use std::collections::BTreeMap;
use std::time::Duration;

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn total(c: &BTreeMap<String, u64>) -> u64 {
    c.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_endpoint_makes_a_known_number_of_dynamodb_requests() {
    let server = TestServer::start_with(|c| c.key_cache_ttl = Duration::from_secs(600)).await;
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let secret = client.secret.clone().unwrap();
    let mut rs = cc_registration("read");
    rs.introspect_any = true;
    let rs = server.register(rs).await;
    let rs_secret = rs.secret.unwrap().expose().to_owned();
    let cc = server.cc_client("read").await;
    let calls = &server.dynamodb_calls;
    let mut table: Vec<(&str, BTreeMap<String, u64>)> = Vec::new();
    let mut measure = |name: &'static str, got: BTreeMap<String, u64>, want: &[(&str, u64)]| {
        assert_eq!(got, counts(want), "{name}");
        table.push((name, got));
    };

    // Warm the caches a warm function has: the key set and the session key.
    server.cc_token(&cc, "read").await;
    let (_, challenge) = pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    UserAgent::new()
        .get(&server.url(&format!("/authorize?{query}")))
        .await;
    calls.take();

    let mut ua = UserAgent::new();
    let login = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert!(login.is_login());
    measure(
        "GET /authorize, no session (login page)",
        calls.take(),
        &[("GetItem", 1)],
    );

    let failed = ua.login(&server, &login, "alice", "wrong password").await;
    assert!(failed.is_login());
    measure(
        "POST /authorize, failed login",
        calls.take(),
        &[("BatchGetItem", 1), ("GetItem", 2), ("UpdateItem", 2)],
    );

    let consent = ua.login(&server, &failed, "alice", PASSWORD).await;
    assert!(consent.is_consent());
    measure(
        "POST /authorize, login (then consent page)",
        calls.take(),
        &[("BatchGetItem", 1), ("DeleteItem", 1), ("GetItem", 3)],
    );

    let done = ua.consent(&server, &consent, "approve").await;
    assert_eq!(done.status, 303);
    measure(
        "POST /authorize, approve (code issued)",
        calls.take(),
        &[("GetItem", 3), ("PutItem", 2)],
    );

    let (verifier, challenge) = pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let page = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert_eq!(page.status, 302);
    measure(
        "GET /authorize, session and consent (code issued)",
        calls.take(),
        &[("GetItem", 3), ("PutItem", 1)],
    );

    let code = param(&page.location().unwrap(), "code").unwrap();
    let (status, _, tokens) = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    measure(
        "POST /token, authorization_code",
        calls.take(),
        &[("GetItem", 2), ("TransactWriteItems", 1), ("UpdateItem", 1)],
    );

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _, refreshed) = server.refresh_grant(&client, refresh, None).await;
    assert_eq!(status, 200, "{refreshed}");
    measure(
        "POST /token, refresh_token",
        calls.take(),
        &[("GetItem", 2), ("TransactWriteItems", 1), ("UpdateItem", 1)],
    );

    server.cc_token(&cc, "read").await;
    measure(
        "POST /token, client_credentials",
        calls.take(),
        &[("GetItem", 1), ("PutItem", 1)],
    );

    let access = refreshed["access_token"].as_str().unwrap();
    let (_, _, body) = server
        .post_form(
            "/introspect",
            Some((&rs.client.client_id, &rs_secret)),
            &[("token", access)],
        )
        .await;
    assert_eq!(body["active"], true);
    measure(
        "POST /introspect, a user's access token",
        calls.take(),
        &[("GetItem", 4)],
    );

    let cc_access = server.cc_token(&cc, "read").await;
    calls.take();
    let (_, _, body) = server
        .post_form(
            "/introspect",
            Some((&rs.client.client_id, &rs_secret)),
            &[("token", &cc_access)],
        )
        .await;
    assert_eq!(body["active"], true);
    measure(
        "POST /introspect, a client credentials token",
        calls.take(),
        &[("GetItem", 3)],
    );

    let (_, _, body) = server
        .post_form(
            "/introspect",
            Some((&rs.client.client_id, &rs_secret)),
            &[("token", "unknown")],
        )
        .await;
    assert_eq!(body["active"], false);
    measure(
        "POST /introspect, an unknown token",
        calls.take(),
        &[("GetItem", 2)],
    );

    let (status, _, _) = server
        .post_form("/revoke", Some((&client.id, &secret)), &[("token", access)])
        .await;
    assert_eq!(status, 200);
    measure(
        "POST /revoke, an access token",
        calls.take(),
        &[("GetItem", 2), ("UpdateItem", 1)],
    );

    // The grant now holds: the code, two access tokens, two refresh tokens.
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    let (status, _, _) = server
        .post_form(
            "/revoke",
            Some((&client.id, &secret)),
            &[("token", new_refresh)],
        )
        .await;
    assert_eq!(status, 200);
    measure(
        "POST /revoke, a refresh token (grant of 5 records)",
        calls.take(),
        &[("GetItem", 2), ("Query", 1), ("UpdateItem", 5)],
    );

    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        let resp = gatehouse_tests::http()
            .get(server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    measure("GET metadata and JWKS (key set cached)", calls.take(), &[]);

    println!("{:<52} {:>5}  requests", "endpoint", "total");
    for (name, c) in &table {
        let detail: Vec<String> = c.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("{name:<52} {:>5}  {}", total(c), detail.join(", "));
    }
}
