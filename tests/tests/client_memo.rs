//! `gatehouse serve` keeps the client records it reads in its engine's memo
//! (`shared/src/store/client_memo.rs`), emptied by every write. These tests
//! prove that a change to a client acts at once, memo or not: a deleted client or
//! a rotated-out secret gets no token once the change is acknowledged, whether it
//! was made by the server's own store or through the engine's port (as an admin
//! command does while `serve` runs); and that a kept record spares the read.

use gatehouse_core::dynamodb::endpoint_client;
use gatehouse_core::secret::random_token;
use gatehouse_core::store::{ClientStore, DynamoStore};
use gatehouse_tests::{TestClient, TestServer, assert_error};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

async fn token(server: &TestServer, client: &TestClient, secret: &str) -> u16 {
    server
        .post_form(
            "/token",
            Some((&client.id, secret)),
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await
        .0
}

/// A client-credentials client whose record the server now keeps, with its secret.
async fn kept_client(server: &TestServer) -> (TestClient, String) {
    let client = server.cc_client("read").await;
    let secret = client.secret.clone().unwrap();
    assert_eq!(token(server, &client, &secret).await, 200);
    assert_eq!(token(server, &client, &secret).await, 200);
    assert_eq!(server.engine.client_memo().len(), 1, "the record is kept");
    (client, secret)
}

/// A store reaching the server's tables through the engine's port, signed with
/// its credentials, as `gatehouse client ...` does while `serve` runs.
async fn admin_store(server: &TestServer) -> DynamoStore {
    let db = endpoint_client(&server.engine.url, &server.engine.credentials).await;
    DynamoStore::new(db, server.app.store.tables().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_record_spares_the_read_until_the_next_write() {
    // The key set stays cached, as in a running server.
    let server = TestServer::start_with(|c| c.key_cache_ttl = Duration::from_secs(600)).await;
    let client = server.cc_client("read").await;
    let calls = &server.dynamodb_calls;
    server.cc_token(&client, "read").await;
    server.cc_token(&client, "read").await;
    calls.take();
    server.cc_token(&client, "read").await;
    assert_eq!(
        calls.take().values().sum::<u64>(),
        0,
        "a token for a kept client reads nothing"
    );
    assert_eq!(server.engine.client_memo().len(), 1);
    // Any write empties the memo: here another client's registration.
    server.cc_client("read").await;
    assert!(server.engine.client_memo().is_empty());
    calls.take();
    server.cc_token(&client, "read").await;
    assert_eq!(
        calls.take().get("GetItem").copied(),
        Some(1),
        "the record is read again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_deleted_by_the_server_gets_no_token_though_its_record_was_kept() {
    let server = TestServer::start().await;
    let (client, secret) = kept_client(&server).await;
    assert!(server.app.store.delete_client(&client.id).await.unwrap());
    let answer = server
        .post_form(
            "/token",
            Some((&client.id, &secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_deleted_through_the_engine_port_gets_no_token() {
    let server = TestServer::start().await;
    let (client, secret) = kept_client(&server).await;
    let admin = admin_store(&server).await;
    assert!(admin.delete_client(&client.id).await.unwrap());
    assert!(server.engine.client_memo().is_empty());
    assert_eq!(token(&server, &client, &secret).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_out_secret_is_refused_at_once_and_the_new_one_accepted() {
    let server = TestServer::start().await;
    let (client, old) = kept_client(&server).await;
    let new = random_token();
    let admin = admin_store(&server).await;
    assert!(
        admin
            .set_client_secret(&client.id, &new.hash(), None)
            .await
            .unwrap()
    );
    assert_eq!(token(&server, &client, &old).await, 401);
    assert_eq!(token(&server, &client, new.expose()).await, 200);
}

/// Requests race the deletion: every request that started after the deletion
/// was acknowledged is refused, whatever the memo held when it arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_request_started_after_the_deletion_succeeds() {
    let server = Arc::new(TestServer::start().await);
    let client = server.cc_client("read").await;
    let secret = client.secret.clone().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (server, client, secret, stop) =
            (server.clone(), client.clone(), secret.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                seen.push((started, token(&server, &client, &secret).await));
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.app.store.delete_client(&client.id).await.unwrap());
    let deleted = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut before = 0;
    let mut after = 0;
    for t in tasks {
        for (started, status) in t.await.unwrap() {
            if started > deleted {
                after += 1;
                assert_eq!(status, 401, "a request after the deletion got {status}");
            } else if status == 200 {
                before += 1;
            }
        }
    }
    assert!(
        before > 0 && after > 0,
        "both sides were exercised: {before} before, {after} after"
    );
}
