//! Single use under concurrency: the database, not the handler, decides which of
//! many simultaneous requests wins (DynamoDB conditional writes).

use gatehouse_core::domain::client::ClientType;
use gatehouse_tests::flow::CONFIDENTIAL_REDIRECT;
use gatehouse_tests::{TestClient, TestServer};
use std::sync::Arc;

const PARALLEL: usize = 50;

/// Sends the same token request `PARALLEL` times at once; returns the answers.
async fn race(
    server: &Arc<TestServer>,
    client: &TestClient,
    form: Vec<(&'static str, String)>,
) -> Vec<gatehouse_tests::Answer> {
    let start = Arc::new(tokio::sync::Barrier::new(PARALLEL));
    let tasks: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let server = server.clone();
            let client = client.clone();
            let form = form.clone();
            let start = start.clone();
            tokio::spawn(async move {
                let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                start.wait().await;
                server.token_request(&client, &f).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

fn successes(answers: &[gatehouse_tests::Answer]) -> Vec<&serde_json::Value> {
    for (status, _, body) in answers {
        assert!(
            *status == 200 || (*status == 400 && body["error"] == "invalid_grant"),
            "only success or invalid_grant: {status} {body}"
        );
    }
    answers
        .iter()
        .filter(|a| a.0 == 200)
        .map(|a| &a.2)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_redemptions_of_one_code_yield_exactly_one_success() {
    let server = Arc::new(TestServer::start().await);
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let (code, verifier) = server
        .code_for(&client, CONFIDENTIAL_REDIRECT, "alice")
        .await;
    let answers = race(
        &server,
        &client,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", CONFIDENTIAL_REDIRECT.into()),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(successes(&answers).len(), 1, "exactly one redemption wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_uses_of_one_refresh_token_never_yield_two_live_families() {
    for grace in [10, 0] {
        let server = Arc::new(TestServer::start_with(|c| c.refresh_reuse_grace = grace).await);
        server.user("alice").await;
        let client = server
            .code_client(ClientType::Confidential, "read write")
            .await;
        let rs = server.resource_server().await;
        let (code, verifier) = server
            .code_for(&client, CONFIDENTIAL_REDIRECT, "alice")
            .await;
        let (status, _, first) = server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await;
        assert_eq!(status, 200, "{first}");
        let refresh = first["refresh_token"].as_str().unwrap().to_owned();
        let answers = race(
            &server,
            &client,
            vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", refresh),
            ],
        )
        .await;
        let won = successes(&answers);
        assert!(
            won.len() <= 1,
            "grace {grace}: {} refreshes succeeded",
            won.len()
        );
        // Every refresh token handed out, live: at most one.
        let mut live = 0;
        for body in &won {
            if server
                .is_active(&rs, body["refresh_token"].as_str().unwrap())
                .await
            {
                live += 1;
            }
        }
        assert!(live <= 1, "grace {grace}: {live} live refresh tokens");
        if grace > 0 {
            assert_eq!(
                won.len(),
                1,
                "within the grace window the first use wins and the family lives"
            );
            assert_eq!(live, 1);
        }
    }
}
