//! How many DynamoDB requests each endpoint makes per call, counted at the SDK
//! client (every request that leaves it), with the key set warm in the cache as in
//! a warm Lambda container. DynamoDB bills per request, and each one is a network
//! round trip, so these numbers are the cost model; a change that adds a request
//! must change this test. Run with `--nocapture` to print the table.

use gatehouse_core::backchannel_logout::LogoutDispatch;
use gatehouse_core::domain::client::ClientType;
use gatehouse_core::keys::SigningAlgorithm;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce};
use gatehouse_tests::{RecordingQueue, TestServer, cc_registration};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn total(c: &BTreeMap<String, u64>) -> u64 {
    c.values().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_endpoint_makes_a_known_number_of_dynamodb_requests() {
    // Back-channel logout deliveries are enqueued, as on AWS: a logout's requests
    // are those of the logout function, the delivery function's apart.
    let server = TestServer::start_as_a_function(
        SigningAlgorithm::Rs256,
        LogoutDispatch::Queue(Arc::new(RecordingQueue::default())),
        |c| c.key_cache_ttl = Duration::from_secs(600),
    )
    .await;
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
    let oidc = server
        .code_client_with(
            ClientType::Confidential,
            "openid offline_access read",
            |r| r.post_logout_redirect_uris = vec!["https://app.example/signed-out".into()],
        )
        .await;
    let calls = &server.dynamodb_calls;
    let mut table: Vec<(&str, BTreeMap<String, u64>)> = Vec::new();
    let mut measure = |name: &'static str, got: BTreeMap<String, u64>, want: &[(&str, u64)]| {
        assert_eq!(got, counts(want), "{name}");
        table.push((name, got));
    };

    // Warm the caches a warm function has: the key set, the session key and the
    // refresh key.
    server.cc_token(&cc, "read").await;
    let (_, challenge) = pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    UserAgent::new()
        .get(&server.url(&format!("/authorize?{query}")))
        .await;
    server.app.refresh_key().await.unwrap();
    calls.take();

    let mut ua = UserAgent::new();
    let login = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert!(login.is_login());
    measure(
        "GET /authorize, no session (login page)",
        calls.take(),
        &[("GetItem", 1), ("Scan", 1)],
    );

    let failed = ua.login(&server, &login, "alice", "wrong password").await;
    assert!(failed.is_login());
    measure(
        "POST /authorize, failed login",
        calls.take(),
        &[("GetItem", 2), ("Scan", 1), ("TransactWriteItems", 1)],
    );

    let consent = ua.login(&server, &failed, "alice", PASSWORD).await;
    assert!(consent.is_consent());
    measure(
        "POST /authorize, login (then consent page)",
        calls.take(),
        &[("GetItem", 3), ("PutItem", 1), ("TransactWriteItems", 2)],
    );

    let done = ua.consent(&server, &consent, "approve").await;
    assert_eq!(done.status, 303);
    measure(
        "POST /authorize, approve (code issued)",
        calls.take(),
        &[("GetItem", 4), ("PutItem", 1), ("TransactWriteItems", 1)],
    );

    let (verifier, challenge) = pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let page = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert_eq!(page.status, 302);
    measure(
        "GET /authorize, session and consent (code issued)",
        calls.take(),
        &[("GetItem", 4), ("TransactWriteItems", 1)],
    );

    let code = param(&page.location().unwrap(), "code").unwrap();
    let (status, _, tokens) = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{tokens}");
    // The code names its grant: the grant and the client are read in one
    // BatchGetItem, then one transaction redeems the code.
    measure(
        "POST /token, authorization_code",
        calls.take(),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _, refreshed) = server.refresh_grant(&client, refresh, None).await;
    assert_eq!(status, 200, "{refreshed}");
    measure(
        "POST /token, refresh_token",
        calls.take(),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );

    // A returning user whose consent is remembered, in a new browser: the login
    // page, then a login that issues the code (the README's cost of a login).
    let (_, challenge) = pkce();
    let query = server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "read", &challenge);
    let mut returning = UserAgent::new();
    let page = returning
        .get(&server.url(&format!("/authorize?{query}")))
        .await;
    assert!(page.is_login());
    calls.take();
    calls.take_accesses();
    let done = returning.login(&server, &page, "alice", PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(param(&done.location().unwrap(), "code").is_some());
    // Written: 3 throttling counters taken and given back (two transactions of
    // 3), the session (a put), the grant with the session's last use (a
    // transaction of 2). DynamoDB bills 2 write units per transactional item.
    let written: Vec<String> = calls
        .take_accesses()
        .into_iter()
        .filter(|a| {
            !matches!(
                a.action.as_str(),
                "GetItem" | "Query" | "Scan" | "BatchGetItem"
            )
        })
        .map(|a| a.action)
        .collect();
    assert_eq!(written.len(), 9, "{written:?}");
    measure(
        "POST /authorize, login, consent remembered (code issued)",
        calls.take(),
        &[("GetItem", 3), ("PutItem", 1), ("TransactWriteItems", 3)],
    );

    // The authorization with openid (OpenID Connect Core §3.1): the same
    // requests, since ID tokens are signed, never stored, and the nonce rides in
    // the grant record.
    let (oidc_verifier, challenge) = pkce();
    let query = format!(
        "{}&nonce=n-0S6_WzA2Mj",
        server.authorize_query(
            &oidc,
            CONFIDENTIAL_REDIRECT,
            "openid offline_access read",
            &challenge
        )
    );
    let consent = ua.get(&server.url(&format!("/authorize?{query}"))).await;
    assert!(consent.is_consent(), "{}", consent.body);
    measure(
        "GET /authorize openid, session (consent page)",
        calls.take(),
        &[("GetItem", 4)],
    );
    let done = ua.consent(&server, &consent, "approve").await;
    assert_eq!(done.status, 303);
    measure(
        "POST /authorize openid, approve (code issued)",
        calls.take(),
        &[("GetItem", 4), ("PutItem", 1), ("TransactWriteItems", 1)],
    );
    let code = param(&done.location().unwrap(), "code").unwrap();
    let (status, _, oidc_tokens) = server
        .exchange_code(&oidc, &code, CONFIDENTIAL_REDIRECT, &oidc_verifier)
        .await;
    assert_eq!(status, 200, "{oidc_tokens}");
    assert!(oidc_tokens["id_token"].is_string());
    measure(
        "POST /token openid, authorization_code",
        calls.take(),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );
    let (status, _, oidc_refreshed) = server
        .refresh_grant(&oidc, oidc_tokens["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(status, 200, "{oidc_refreshed}");
    assert!(oidc_refreshed["id_token"].is_string());
    measure(
        "POST /token openid, refresh_token",
        calls.take(),
        &[("BatchGetItem", 1), ("TransactWriteItems", 1)],
    );
    // A browser app's UserInfo request: the Origin costs nothing, since the
    // token's client is read in the BatchGetItem that checks the token.
    let resp = gatehouse_tests::http()
        .get(server.url("/userinfo"))
        .bearer_auth(oidc_refreshed["access_token"].as_str().unwrap())
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    measure(
        "GET /userinfo with an Origin",
        calls.take(),
        &[("BatchGetItem", 1), ("GetItem", 2)],
    );

    server.cc_token(&cc, "read").await;
    measure(
        "POST /token, client_credentials",
        calls.take(),
        &[("GetItem", 1)],
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
        &[("BatchGetItem", 1), ("GetItem", 1)],
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
        &[("BatchGetItem", 1)],
    );

    let new_refresh = refreshed["refresh_token"].as_str().unwrap();
    let (_, _, body) = server
        .post_form(
            "/introspect",
            Some((&rs.client.client_id, &rs_secret)),
            &[("token", new_refresh)],
        )
        .await;
    assert_eq!(body["active"], true);
    measure(
        "POST /introspect, a refresh token",
        calls.take(),
        &[("GetItem", 4)],
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
        &[("GetItem", 1)],
    );

    let (status, _, _) = server
        .post_form("/revoke", Some((&client.id, &secret)), &[("token", access)])
        .await;
    assert_eq!(status, 200);
    measure(
        "POST /revoke, an access token",
        calls.take(),
        &[("GetItem", 1), ("PutItem", 1)],
    );

    let (status, _, _) = server
        .post_form(
            "/revoke",
            Some((&client.id, &secret)),
            &[("token", new_refresh)],
        )
        .await;
    assert_eq!(status, 200);
    measure(
        "POST /revoke, a refresh token (its grant ends)",
        calls.take(),
        &[("GetItem", 1), ("UpdateItem", 1)],
    );

    // RP-initiated logout: without a hint, the confirmation page, then its form;
    // with a hint naming the signed-in user, at once. The key set is cached, so
    // verifying the hint reads nothing.
    let logout_query = format!(
        "/logout?client_id={}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fsigned-out&state=s",
        oidc.id
    );
    let confirm = ua.get(&server.url(&logout_query)).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    measure(
        "GET /logout, no hint (confirmation page)",
        calls.take(),
        &[("GetItem", 3)],
    );
    let csrf = confirm.field("csrf_token").unwrap();
    let done = ua
        .post(
            &server.url("/logout"),
            &[
                ("client_id", oidc.id.as_str()),
                ("post_logout_redirect_uri", "https://app.example/signed-out"),
                ("state", "s"),
                ("csrf_token", &csrf),
                ("action", "logout"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    measure(
        "POST /logout, confirmed (session ended)",
        calls.take(),
        // The session, its user, the client (GetItem 3); the session ended
        // (UpdateItem); its user's grants by the username index (Query, then
        // BatchGetItem of the keys-only index's grants) and their two clients
        // (GetItem 2), whose back-channel deliveries are enqueued.
        &[
            ("GetItem", 5),
            ("UpdateItem", 1),
            ("Query", 1),
            ("BatchGetItem", 1),
        ],
    );
    let (_, challenge) = pkce();
    let query = server.authorize_query(&oidc, CONFIDENTIAL_REDIRECT, "openid", &challenge);
    let page = ua.authorize(&server, &query, "alice").await;
    assert!(param(&page.location().unwrap(), "code").is_some());
    calls.take();
    let hint = oidc_tokens["id_token"].as_str().unwrap();
    let done = ua
        .get(&server.url(&format!(
            "/logout?id_token_hint={hint}&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fsigned-out"
        )))
        .await;
    assert_eq!(done.status, 302, "{}", done.body);
    measure(
        "GET /logout, id_token_hint (session ended)",
        calls.take(),
        // The session, its user, the client (GetItem 3); the session ended
        // (UpdateItem); its user's grants by the username index (Query, then
        // BatchGetItem of the keys-only index's grants) and their two clients
        // (GetItem 2), whose back-channel deliveries are enqueued.
        &[
            ("GetItem", 5),
            ("UpdateItem", 1),
            ("Query", 1),
            ("BatchGetItem", 1),
        ],
    );

    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
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

    // CORS preflights: one read of the origins table, whatever the number of
    // clients; none for the public documents.
    server.preflight("/token", "https://app.example").await;
    measure(
        "OPTIONS /token (CORS preflight)",
        calls.take(),
        &[("GetItem", 1)],
    );
    server.preflight("/userinfo", "https://app.example").await;
    measure(
        "OPTIONS /userinfo (CORS preflight)",
        calls.take(),
        &[("GetItem", 1)],
    );
    server
        .preflight("/.well-known/jwks.json", "https://app.example")
        .await;
    measure("OPTIONS JWKS (CORS preflight)", calls.take(), &[]);

    // The budgets, whatever the exact mix: requests per call, and no write where
    // none is due.
    let writes = [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
    ];
    let row = |name: &str| &table.iter().find(|(n, _)| *n == name).unwrap().1;
    for (name, budget, may_write) in [
        ("POST /token, client_credentials", 1, false),
        ("POST /token, authorization_code", 2, true),
        ("POST /token, refresh_token", 2, true),
        ("POST /token openid, authorization_code", 2, true),
        ("POST /token openid, refresh_token", 2, true),
        ("POST /introspect, a user's access token", 2, false),
        ("POST /introspect, a client credentials token", 1, false),
        ("POST /revoke, a refresh token (its grant ends)", 3, true),
        ("OPTIONS /token (CORS preflight)", 1, false),
        ("GET /userinfo with an Origin", 3, false),
        ("OPTIONS /userinfo (CORS preflight)", 1, false),
        ("GET /logout, no hint (confirmation page)", 3, false),
        ("POST /logout, confirmed (session ended)", 8, true),
        ("GET /logout, id_token_hint (session ended)", 8, true),
    ] {
        let c = row(name);
        assert!(total(c) <= budget, "{name}: {c:?} over {budget}");
        if !may_write {
            assert!(
                writes.iter().all(|w| !c.contains_key(*w)),
                "{name} writes: {c:?}"
            );
        }
    }

    println!("{:<52} {:>5}  requests", "endpoint", "total");
    for (name, c) in &table {
        let detail: Vec<String> = c.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("{name:<52} {:>5}  {}", total(c), detail.join(", "));
    }
}

/// Revoking a grant is one conditional write whatever its history: a grant
/// rotated 1,000 times costs the same requests to revoke as one rotated once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_grant_costs_the_same_after_1000_rotations_as_after_1() {
    use gatehouse_core::domain::grant::RefreshState;
    use gatehouse_core::store::{GrantStore, GrantUpdate};
    let server = TestServer::start_with(|c| c.key_cache_ttl = Duration::from_secs(600)).await;
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let rs = server.resource_server().await;
    let key = server.app.refresh_key().await.unwrap();
    let mut cost = Vec::new();
    for rotations in [1u64, 1000] {
        let (access, first) = server.user_tokens(&client, "alice").await;
        let grant_id = first.split('.').next().unwrap().to_owned();
        // The first rotation over HTTP, the rest straight through the store (the
        // same conditional transaction the refresh grant runs).
        let (_, mut current) =
            gatehouse_tests::flow::tokens(&server.refresh_grant(&client, &first, None).await);
        let grant = server
            .app
            .store
            .get_grant(&grant_id)
            .await
            .unwrap()
            .unwrap();
        for generation in 2..=rotations {
            let t = gatehouse_core::app::now();
            let update = GrantUpdate {
                now: t,
                refresh: Some(RefreshState {
                    generation: generation + 1,
                    parent: generation,
                    issued_at: t,
                    expires_at: t + 3600,
                }),
                expires_at: t + 3600,
            };
            server
                .app
                .store
                .rotate_refresh(&grant, generation, &update)
                .await
                .unwrap();
            current = gatehouse_core::tokens::refresh::mint(&key, &grant_id, generation + 1)
                .expose()
                .to_owned();
        }
        assert!(
            server.is_active(&rs, &current).await,
            "{rotations}: current live"
        );
        server.dynamodb_calls.take();
        assert_eq!(server.revoke_as(&client, &first).await.0, 200);
        cost.push(server.dynamodb_calls.take());
        assert!(
            !server.is_active(&rs, &current).await,
            "{rotations}: revoked"
        );
        assert!(
            !server.is_active(&rs, &access).await,
            "{rotations}: revoked"
        );
    }
    assert_eq!(cost[0], cost[1], "the same requests: {cost:?}");
    assert!(total(&cost[0]) <= 3, "{cost:?}");
}

/// A UserInfo request (OpenID Connect Core §5.3), by GET and by POST: the token's
/// grant, client and revocation list in one `BatchGetItem`, the user's state
/// (the owner check), then the profile claims; nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_userinfo_request_makes_three_reads() {
    let server = TestServer::start_with(|c| {
        c.key_cache_ttl = Duration::from_secs(600);
        c.scopes = gatehouse_core::domain::scope::ScopeCatalog::parse(
            "openid=Sign-in;profile=Profile;email=E-mail",
        )
        .unwrap();
    })
    .await;
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "openid profile email")
        .await;
    let (verifier, challenge) = pkce();
    let query = server.authorize_query(
        &client,
        CONFIDENTIAL_REDIRECT,
        "openid profile email",
        &challenge,
    );
    let page = UserAgent::new().authorize(&server, &query, "alice").await;
    let code = param(&page.location().unwrap(), "code").unwrap();
    // An OpenID grant without offline_access: an access token, no refresh token.
    let answer = server
        .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    let access = answer.2["access_token"].as_str().unwrap().to_owned();
    // Warm the key set, as in a warm function.
    let get = || {
        gatehouse_tests::http()
            .get(server.url("/userinfo"))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    server.dynamodb_calls.take();
    assert_eq!(get().await.unwrap().status(), 200);
    let want = counts(&[("BatchGetItem", 1), ("GetItem", 2)]);
    assert_eq!(server.dynamodb_calls.take(), want, "GET /userinfo");
    let resp = gatehouse_tests::http()
        .post(server.url("/userinfo"))
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(server.dynamodb_calls.take(), want, "POST /userinfo");
    assert!(total(&want) <= 3);
}

/// A sign-in through an upstream provider (a scripted one, which issues an ID
/// token and no UserInfo endpoint is read): what the start, a first sign-in
/// (a user made just in time) and a returning user's sign-in cost. The
/// provider's JWKS is cached after the first; its own requests are not
/// DynamoDB's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_federated_sign_in_makes_a_known_number_of_dynamodb_requests() {
    let server = TestServer::start().await;
    let client = server
        .code_client_with(ClientType::Confidential, "openid email", |r| {
            r.skip_consent = true
        })
        .await;
    server.scripted_upstream("idp", false).await;
    let calls = &server.dynamodb_calls;
    // Warm: the session key.
    server.app.session_key().await.unwrap();
    let mut table: Vec<(&str, BTreeMap<String, u64>)> = Vec::new();
    for (start, callback) in [
        (
            "GET /authorize identity_provider (to the provider)",
            "GET /federation/idp/callback, first sign-in (user created, code issued)",
        ),
        (
            "GET /authorize identity_provider, a returning user",
            "GET /federation/idp/callback, returning user (code issued)",
        ),
    ] {
        let (_, challenge) = pkce();
        let query =
            server.authorize_query(&client, CONFIDENTIAL_REDIRECT, "openid email", &challenge);
        let mut ua = UserAgent::new();
        calls.take();
        let to_provider = ua
            .get(&server.url(&format!("/authorize?{query}&identity_provider=idp")))
            .await;
        assert_eq!(to_provider.status, 302, "{}", to_provider.body);
        table.push((start, calls.take()));
        let at_provider = ua.get(to_provider.location().unwrap().as_str()).await;
        calls.take();
        let done = ua.get(at_provider.location().unwrap().as_str()).await;
        assert!(
            param(&done.location().unwrap(), "code").is_some(),
            "{}",
            done.body
        );
        table.push((callback, calls.take()));
    }
    println!("{:<72} {:>5}  requests", "federated sign-in", "total");
    for (name, c) in &table {
        let detail: Vec<String> = c.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("{name:<72} {:>5}  {}", total(c), detail.join(", "));
    }
    // The start: the client, the provider; the state record. The callback:
    // the provider, the state taken, the client, the provider's secret, the
    // identity; a first sign-in looks for local users with the e-mail address
    // (the index), then makes the user and the identity in one transaction; a
    // returning user is read. Then the session, and the grant.
    let want: [&[(&str, u64)]; 4] = [
        &[("GetItem", 2), ("PutItem", 1)],
        &[
            ("DeleteItem", 1),
            ("GetItem", 4),
            ("PutItem", 1),
            ("Query", 1),
            ("TransactWriteItems", 2),
        ],
        &[("GetItem", 2), ("PutItem", 1)],
        &[
            ("DeleteItem", 1),
            ("GetItem", 5),
            ("PutItem", 1),
            ("TransactWriteItems", 1),
        ],
    ];
    for ((name, got), want) in table.iter().zip(want) {
        assert_eq!(got, &counts(want), "{name}");
    }
}
