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
    race_n(server, client, form, PARALLEL).await
}

/// Sends the same token request `n` times at once; returns the answers.
async fn race_n(
    server: &Arc<TestServer>,
    client: &TestClient,
    form: Vec<(&'static str, String)>,
    n: usize,
) -> Vec<gatehouse_tests::Answer> {
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
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

/// Parallel redemptions of one code, 2 and 50 at a time, several trials each:
/// exactly one wins, and the others are replays (RFC 6749 §4.1.2), so no token
/// of the grant is left live, however the requests interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_redemptions_of_one_code_leave_no_live_token() {
    let server = Arc::new(TestServer::start().await);
    server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let rs = server.resource_server().await;
    for (n, trials) in [(2, 5), (PARALLEL, 2)] {
        for trial in 0..trials {
            let (code, verifier) = server
                .code_for(&client, CONFIDENTIAL_REDIRECT, "alice")
                .await;
            let answers = race_n(
                &server,
                &client,
                vec![
                    ("grant_type", "authorization_code".into()),
                    ("code", code),
                    ("redirect_uri", CONFIDENTIAL_REDIRECT.into()),
                    ("code_verifier", verifier),
                ],
                n,
            )
            .await;
            let won = successes(&answers);
            assert_eq!(won.len(), 1, "{n}/{trial}: exactly one redemption wins");
            for name in ["access_token", "refresh_token"] {
                let t = won[0][name].as_str().unwrap();
                assert!(!server.is_active(&rs, t).await, "{n}/{trial}: {name} live");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_uses_of_one_refresh_token_never_yield_two_live_refresh_tokens() {
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
        if grace == 0 {
            assert!(won.len() <= 1, "{} refreshes succeeded", won.len());
            assert_eq!(live, 0, "49 reuses end the grant");
        }
    }
}

/// The thief race (RFC 9700 §4.14.2): a thief holding a stolen refresh token keeps
/// refreshing every few milliseconds while the victim, once the thief has
/// refreshed, presents its old token (reuse) or revokes it (RFC 7009). Afterwards
/// no refresh token of the grant works and none of its access tokens is active.
/// Several trials, confidential and public clients.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thief_refreshing_in_a_loop_cannot_outrun_reuse_detection_or_revocation() {
    let server = Arc::new(TestServer::start().await);
    server.user("alice").await;
    let rs = server.resource_server().await;
    for client_type in [ClientType::Confidential, ClientType::Public] {
        let client = server.code_client(client_type, "read write").await;
        for (trial, victim_revokes) in [false, true, false, true].into_iter().enumerate() {
            let (_, stolen) = server.user_tokens(&client, "alice").await;
            // The victim refreshes once more: it holds `old`, the thief `stolen`'s
            // successor chain. Here the thief steals the current token instead.
            let (_, victims_next) =
                gatehouse_tests::flow::tokens(&server.refresh_grant(&client, &stolen, None).await);
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            // The victim acts once the thief holds a token of its own: after the
            // thief's first refresh, however long that takes, and while it goes on.
            let (started, thief_started) = tokio::sync::oneshot::channel();
            let thief = {
                let (server, client, stop) = (server.clone(), client.clone(), stop.clone());
                let mut current = victims_next.clone();
                tokio::spawn(async move {
                    let mut started = Some(started);
                    let mut issued = Vec::new();
                    for _ in 0..400 {
                        if stop.load(std::sync::atomic::Ordering::Relaxed) && issued.len() > 3 {
                            break;
                        }
                        let (status, _, body) = server.refresh_grant(&client, &current, None).await;
                        if status != 200 {
                            break;
                        }
                        current = body["refresh_token"].as_str().unwrap().to_owned();
                        issued.push((
                            body["access_token"].as_str().unwrap().to_owned(),
                            current.clone(),
                        ));
                        if let Some(s) = started.take() {
                            let _ = s.send(());
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                    issued
                })
            };
            // Dropped unsent if the thief's first refresh failed: the assertion
            // below then says so.
            let _ = thief_started.await;
            // The victim: its old token again (a reuse), or a revocation of it.
            if victim_revokes {
                assert_eq!(server.revoke_as(&client, &stolen).await.0, 200);
            } else {
                let answer = server.refresh_grant(&client, &stolen, None).await;
                assert_eq!(answer.0, 400, "{}", answer.2);
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let issued = thief.await.unwrap();
            let label = format!("{client_type:?} trial {trial} (revoke {victim_revokes})");
            assert!(!issued.is_empty(), "{label}: the thief refreshed");
            for (access, refresh) in &issued {
                assert!(!server.is_active(&rs, access).await, "{label}: access live");
                assert!(
                    !server.is_active(&rs, refresh).await,
                    "{label}: refresh live"
                );
                let answer = server.refresh_grant(&client, refresh, None).await;
                assert_eq!(answer.0, 400, "{label}: a refresh token still works");
            }
        }
    }
}
