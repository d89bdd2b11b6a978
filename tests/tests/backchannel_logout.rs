//! OpenID Connect Back-Channel Logout 1.0 end to end: clients registered with a
//! `backchannel_logout_uri` (§2.2) receive a logout token (§2.4) in a POST
//! (§2.5) when a login session they were part of ends: by logout
//! (`notify_session_ended`), `user end-sessions`, a password change, disabling
//! and deletion. A receiver on loopback takes the POSTs; each logout token is
//! verified against the server's JWKS, and its `sid` is the one of the ID token
//! of a real OpenID flow. Then the delivery rules: endpoints that are down or
//! fail, the address rule on AWS, and the SQS consumer. Negative tests first.

use gatehouse_core::App;
use gatehouse_core::backchannel_logout::{self, LogoutDispatch, LogoutMessage};
use gatehouse_core::domain::client::{ClientType, GrantType};
use gatehouse_core::domain::outbound_address::AddressPolicy;
use gatehouse_core::store::{ClientStore, SessionStore};
use gatehouse_tests::RecordingQueue;
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, PASSWORD, UserAgent, param, pkce};
use gatehouse_tests::loopback::{LoopbackRequest, read_request, respond};
use gatehouse_tests::{TestClient, TestServer, captured_logs, jwks};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// A back-channel logout endpoint on loopback that answers every request with
/// `status` and keeps what it received.
struct Receiver {
    uri: String,
    received: Arc<Mutex<Vec<LoopbackRequest>>>,
}

impl Receiver {
    async fn answering(status: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!(
            "http://{}/backchannel-logout",
            listener.local_addr().unwrap()
        );
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let keep = keep.clone();
                tokio::spawn(async move {
                    if let Some(req) = read_request(&mut stream).await {
                        keep.lock().unwrap().push(req);
                    }
                    respond(
                        stream,
                        &format!(
                            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nCache-Control: no-store\r\n\
                             Connection: close\r\n\r\n"
                        ),
                    )
                    .await;
                });
            }
        });
        Self { uri, received }
    }

    async fn ok() -> Self {
        Self::answering("200 OK").await
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// The logout tokens received, in order.
    fn tokens(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                assert_eq!(r.method, "POST");
                assert_eq!(r.path(), "/backchannel-logout");
                assert_eq!(
                    r.header("content-type"),
                    Some("application/x-www-form-urlencoded"),
                    "§2.5"
                );
                let form: Vec<(String, String)> = url::form_urlencoded::parse(r.body.as_bytes())
                    .into_owned()
                    .collect();
                assert_eq!(form.len(), 1, "one parameter: {form:?}");
                assert_eq!(form[0].0, "logout_token");
                form[0].1.clone()
            })
            .collect()
    }
}

/// A `http://127.0.0.1:PORT/...` URI where nothing listens.
async fn closed_port_uri() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/backchannel-logout")
}

/// A confidential code client allowed `openid`, with `uri` as its back-channel
/// logout URI.
async fn client_with_uri(server: &TestServer, uri: Option<&str>) -> TestClient {
    server
        .code_client_with(ClientType::Confidential, "openid read", |r| {
            r.backchannel_logout_uri = uri.map(str::to_owned);
        })
        .await
}

/// Signs in (or reuses the session of `ua`) as alice, approves `openid` for
/// `client` and redeems the code: the claims of the ID token, verified against
/// the JWKS.
async fn openid_sign_in(
    server: &TestServer,
    ua: &mut UserAgent,
    client: &TestClient,
) -> serde_json::Value {
    let (verifier, challenge) = pkce();
    let query = format!(
        "{}&nonce=n-0S6_WzA2Mj",
        server.authorize_query(client, CONFIDENTIAL_REDIRECT, "openid", &challenge)
    );
    let page = ua.authorize(server, &query, "alice").await;
    let code = param(&page.location().unwrap(), "code").expect("a code");
    let (status, _, body) = server
        .exchange_code(client, &code, CONFIDENTIAL_REDIRECT, &verifier)
        .await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().expect("an ID token");
    verify(server, id_token, &client.id, "JWT").await
}

/// Verifies `token` against the server's JWKS: signature, `typ`, `iss`, `aud`,
/// `exp` and `iat` present; its claims.
async fn verify(server: &TestServer, token: &str, aud: &str, typ: &str) -> serde_json::Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some(typ));
    let kid = header.kid.expect("a kid");
    let set = jwks(&server.base).await;
    let jwk = set.find(&kid).expect("the signing key is published");
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[&server.app.config.issuer]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .expect("the token verifies")
    .claims
}

/// Checks a logout token (§2.4) for `client` about the session of `id_token`.
async fn check_logout_token(
    server: &TestServer,
    token: &str,
    client: &TestClient,
    id_token: &serde_json::Value,
) {
    let claims = verify(server, token, &client.id, "logout+jwt").await;
    assert_eq!(claims["iss"], server.app.config.issuer.as_str());
    assert_eq!(claims["aud"], client.id.as_str());
    assert_eq!(claims["sid"], id_token["sid"], "the ID token's sid");
    assert_eq!(claims["sub"], id_token["sub"], "the ID token's sub");
    assert_eq!(
        claims["events"],
        serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims.get("nonce").is_none(), "never a nonce: {claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 120, "two minutes");
}

/// A server with alice and one OpenID client whose logout endpoint is `rp`;
/// alice signed in to it: the ID token's claims.
async fn signed_in(rp: &Receiver) -> (TestServer, TestClient, serde_json::Value) {
    let server = TestServer::start().await;
    server.user("alice").await;
    let client = client_with_uri(&server, Some(&rp.uri)).await;
    let id_token = openid_sign_in(&server, &mut UserAgent::new(), &client).await;
    (server, client, id_token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_what_cannot_receive_a_logout_token() {
    let server = TestServer::start().await;
    let code = |uri: &str| {
        let mut r = gatehouse_tests::cc_registration("read");
        r.grant_types = vec![GrantType::AuthorizationCode];
        r.redirect_uris = vec![CONFIDENTIAL_REDIRECT.into()];
        r.backchannel_logout_uri = Some(uri.into());
        r
    };
    for (uri, why) in [
        ("http://rp.example/logout", "uses http"),
        ("http://localhost:9000/logout", "uses http"),
        ("http://192.168.1.10/logout", "uses http"),
        ("https://rp.example/logout#fragment", "fragment"),
        ("garbage", "not an absolute URI"),
        ("javascript:alert(1)", "no host"),
    ] {
        let err = gatehouse_core::registration::register_client(
            &server.app.store,
            &server.app.config,
            code(uri),
        )
        .await
        .expect_err(uri);
        assert!(err.contains(why), "{uri}: {err}");
    }
    // Only clients that take part in login sessions may have one.
    let mut cc = gatehouse_tests::cc_registration("read");
    cc.backchannel_logout_uri = Some("https://rp.example/logout".into());
    let err =
        gatehouse_core::registration::register_client(&server.app.store, &server.app.config, cc)
            .await
            .unwrap_err();
    assert!(err.contains("authorization_code"), "{err}");
    let mut public = code("https://rp.example/logout");
    public.client_type = ClientType::Public;
    public.grant_types = vec![GrantType::RefreshToken];
    assert!(
        gatehouse_core::registration::register_client(
            &server.app.store,
            &server.app.config,
            public
        )
        .await
        .is_err(),
        "a public client without authorization_code"
    );
    assert!(server.app.store.list_clients().await.unwrap().is_empty());

    // What is accepted is stored.
    let ok = server
        .register(code("http://127.0.0.1:9000/logout"))
        .await
        .client;
    let stored = server
        .app
        .store
        .get_client(&ok.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.backchannel_logout_uri.as_deref(),
        Some("http://127.0.0.1:9000/logout")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_not_in_the_session_or_without_a_uri_is_not_notified() {
    let rp = Receiver::ok().await;
    let other = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    // Another client with a URI that alice never used, and one she used that
    // has none.
    client_with_uri(&server, Some(&other.uri)).await;
    let silent = client_with_uri(&server, None).await;
    let mut ua = UserAgent::new();
    openid_sign_in(&server, &mut ua, &silent).await;
    // Bob's session with the other client is not alice's.
    server.user("bob").await;

    let failed = gatehouse::user_cli::end_sessions(&server.app, "alice")
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(other.count(), 0, "not part of alice's sessions");
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;

    // Her sessions ended; ending them again tells no one again.
    let failed = gatehouse::user_cli::end_sessions(&server.app, "alice")
        .await
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(rp.count(), 1, "sessions of an earlier epoch ended already");
    // An unknown user is an error, and tells no one.
    assert!(
        gatehouse::user_cli::end_sessions(&server.app, "nobody")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_is_down_is_retried_and_the_command_still_succeeds_with_a_warning() {
    let logs = captured_logs();
    let down = closed_port_uri().await;
    let rp = Receiver::ok().await;
    let server = TestServer::start().await;
    server.user("alice").await;
    let dead = client_with_uri(&server, Some(&down)).await;
    let live = client_with_uri(&server, Some(&rp.uri)).await;
    let mut ua = UserAgent::new();
    openid_sign_in(&server, &mut ua, &dead).await;
    let id_token = openid_sign_in(&server, &mut ua, &live).await;

    let failed = gatehouse::user_cli::end_sessions(&server.app, "alice")
        .await
        .expect("the command succeeds");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].client_id, dead.id);
    assert_eq!(failed[0].host, "127.0.0.1");
    assert!(failed[0].cause.contains("after 3 attempts"), "{failed:?}");
    // The other client was told all the same.
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &live, &id_token).await;

    let text = logs.text();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&dead.id) && l.contains("delivery failed"))
        .collect();
    assert_eq!(warnings.len(), 3, "one warning per attempt: {warnings:#?}");
    assert!(warnings.iter().all(|l| l.contains("host=127.0.0.1")));
    assert!(
        !text.contains(&tokens[0]),
        "never a logout token in the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_answers_500_gets_three_attempts_and_a_400_one() {
    let logs = captured_logs();
    let failing = Receiver::answering("500 Internal Server Error").await;
    let refusing = Receiver::answering("400 Bad Request").await;
    let no_content = Receiver::answering("204 No Content").await;
    let server = TestServer::start().await;
    server.user("alice").await;
    let mut ua = UserAgent::new();
    let c500 = client_with_uri(&server, Some(&failing.uri)).await;
    let c400 = client_with_uri(&server, Some(&refusing.uri)).await;
    let c204 = client_with_uri(&server, Some(&no_content.uri)).await;
    for c in [&c500, &c400, &c204] {
        openid_sign_in(&server, &mut ua, c).await;
    }

    let mut failed = gatehouse::user_cli::end_sessions(&server.app, "alice")
        .await
        .expect("the command succeeds");
    failed.sort_by(|a, b| a.cause.cmp(&b.cause));
    assert_eq!(failing.count(), 3, "bounded retries");
    assert_eq!(refusing.count(), 1, "§2.8: a 400 is the client's answer");
    assert_eq!(no_content.count(), 1);
    let failed_ids: Vec<&str> = failed.iter().map(|f| f.client_id.as_str()).collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed_ids.contains(&c500.id.as_str()));
    assert!(failed_ids.contains(&c400.id.as_str()));
    assert!(!failed_ids.contains(&c204.id.as_str()), "204 is success");
    let text = logs.text();
    assert!(
        text.lines()
            .any(|l| l.contains(&c500.id) && l.contains("answered 500"))
    );
    for token in failing.tokens() {
        assert!(!text.contains(&token), "never a logout token in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_aws_a_delivery_to_loopback_is_refused_and_never_sent() {
    let rp = Receiver::ok().await;
    let (server, client, _) = signed_in(&rp).await;
    let mut config = server.app.config.clone();
    config.outbound_addresses = AddressPolicy::PublicOnly;
    let on_aws = App::new(config, server.app.store.clone());

    let failed = gatehouse::user_cli::end_sessions(&on_aws, "alice")
        .await
        .expect("the command succeeds");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].client_id, client.id);
    assert!(failed[0].cause.contains("internal address"), "{failed:?}");
    assert_eq!(rp.count(), 0, "nothing reached 127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_refuses_is_a_warning_and_the_command_still_succeeds() {
    let rp = Receiver::ok().await;
    let (server, client, _) = signed_in(&rp).await;
    let queue = Arc::new(RecordingQueue {
        refuse: true,
        ..RecordingQueue::default()
    });
    let on_aws = App::new(server.app.config.clone(), server.app.store.clone())
        .with_logout_dispatch(LogoutDispatch::Queue(queue));
    let failed = gatehouse::user_cli::end_sessions(&on_aws, "alice")
        .await
        .expect("the command succeeds");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].client_id, client.id);
    assert!(failed[0].cause.contains("not enqueued"), "{failed:?}");
    assert_eq!(rp.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_queue_the_deliveries_are_enqueued_as_ids_and_not_sent_here() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    let queue = Arc::new(RecordingQueue::default());
    let on_aws = App::new(server.app.config.clone(), server.app.store.clone())
        .with_logout_dispatch(LogoutDispatch::Queue(queue.clone()));
    let failed = gatehouse::user_cli::delete(&on_aws, "alice").await.unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(rp.count(), 0, "the delivery function sends, not this one");
    let sent = queue.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        [LogoutMessage {
            client_id: client.id.clone(),
            sid: id_token["sid"].as_str().unwrap().into(),
            sub: id_token["sub"].as_str().unwrap().into(),
        }]
    );
    // What the consumer then does with that message, on the same data.
    backchannel_logout::deliver_message(&server.app, &sent[0])
        .await
        .unwrap();
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_sessions_sends_a_logout_token_for_the_id_tokens_session() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    assert!(id_token["sid"].is_string());
    let failed = gatehouse::user_cli::end_sessions(&server.app, "alice")
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_sends_a_logout_token() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    let failed = gatehouse::user_cli::set_password(&server.app, "alice", "a new long password")
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;
    // A refused password ends nothing: the clients are not told.
    assert!(
        gatehouse::user_cli::set_password(&server.app, "alice", "short")
            .await
            .is_err()
    );
    assert_eq!(rp.count(), 1);
    assert_ne!(PASSWORD, "a new long password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_sends_a_logout_token() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    let failed = gatehouse::user_cli::disable(&server.app, "alice")
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_user_sends_a_logout_token() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    let failed = gatehouse::user_cli::delete(&server.app, "alice")
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;
    assert!(
        gatehouse::user_cli::delete(&server.app, "alice")
            .await
            .is_err()
    );
    assert_eq!(rp.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_tells_every_client_of_that_session_once_and_no_other_session() {
    let a = Receiver::ok().await;
    let b = Receiver::ok().await;
    let server = TestServer::start().await;
    server.user("alice").await;
    let ca = client_with_uri(&server, Some(&a.uri)).await;
    let cb = client_with_uri(&server, Some(&b.uri)).await;
    // One session, two clients (and two grants to the first).
    let mut ua = UserAgent::new();
    let id_a = openid_sign_in(&server, &mut ua, &ca).await;
    openid_sign_in(&server, &mut ua, &ca).await;
    let id_b = openid_sign_in(&server, &mut ua, &cb).await;
    assert_eq!(id_a["sid"], id_b["sid"], "one session");
    // Another browser's session with the first client.
    let other = openid_sign_in(&server, &mut UserAgent::new(), &ca).await;
    assert_ne!(other["sid"], id_a["sid"]);

    let sid = id_a["sid"].as_str().unwrap();
    let session = server.app.store.get_session(sid).await.unwrap().unwrap();
    assert!(server.app.store.end_session(sid, 1).await.unwrap());
    let notified = backchannel_logout::notify_session_ended(&server.app, &session).await;
    assert_eq!(notified.deliveries, 2);
    assert!(notified.all_failures().await.is_empty());

    let (ta, tb) = (a.tokens(), b.tokens());
    assert_eq!((ta.len(), tb.len()), (1, 1), "once per (client, session)");
    check_logout_token(&server, &ta[0], &ca, &id_a).await;
    check_logout_token(&server, &tb[0], &cb, &id_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_server_delivers_in_a_spawned_task() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    let spawning = App::new(server.app.config.clone(), server.app.store.clone())
        .with_logout_dispatch(LogoutDispatch::Spawn);
    let sid = id_token["sid"].as_str().unwrap();
    let session = server.app.store.get_session(sid).await.unwrap().unwrap();
    let notified = backchannel_logout::notify_session_ended(&spawning, &session).await;
    assert_eq!(notified.deliveries, 1);
    assert!(notified.failures.is_empty());
    let task = notified.pending.expect("spawned");
    assert!(task.await.unwrap().is_empty());
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_consumer_reports_exactly_the_failing_record() {
    let rp = Receiver::ok().await;
    let (server, client, id_token) = signed_in(&rp).await;
    let dead = client_with_uri(&server, Some(&closed_port_uri().await)).await;
    let sid = id_token["sid"].as_str().unwrap();
    let sub = id_token["sub"].as_str().unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sqs/logout-deliveries.json"
    );
    let event = std::fs::read_to_string(path)
        .unwrap()
        .replace("<delivered-client>", &client.id)
        .replace("<failing-client>", &dead.id)
        .replace("<sid>", sid)
        .replace("<sub>", sub);
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&event).expect("the event parses as SQS sends it");
    let answer =
        gatehouse_core::routes::backchannel_logout_queue::handle_event(&server.app, &event).await;
    let answer = serde_json::to_value(answer).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({
            "batchItemFailures": [{ "itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da" }]
        })
    );
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 1);
    check_logout_token(&server, &tokens[0], &client, &id_token).await;

    // A body that is not a delivery, one that carries more than ids, and a
    // client deleted since: the first two fail (to the dead-letter queue), the
    // last is owed nothing.
    let gone = LogoutMessage {
        client_id: "deleted-client".into(),
        sid: sid.into(),
        sub: sub.into(),
    };
    let mut event = event;
    event.records[0].body = Some("not json".into());
    event.records[1].body = Some(
        serde_json::json!({"client_id": client.id, "sid": sid, "sub": sub, "logout_token": "x"})
            .to_string(),
    );
    let mut third = event.records[0].clone();
    third.message_id = Some("third".into());
    third.body = Some(serde_json::to_string(&gone).unwrap());
    event.records.push(third);
    let answer =
        gatehouse_core::routes::backchannel_logout_queue::handle_event(&server.app, &event).await;
    let failed: Vec<&str> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "059f36b4-87a3-44ab-83d2-661975830a7d",
            "2e1424d4-f796-459a-8184-9c92662be6da"
        ]
    );
    assert_eq!(rp.count(), 1, "nothing more was delivered");
}
