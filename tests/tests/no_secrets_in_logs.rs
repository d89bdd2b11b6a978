//! Nothing secret reaches the logs: a whole flow (register, token, introspect,
//! revoke, failed authentication) is run with every log line at DEBUG captured,
//! and no client secret or token appears in them.

use gatehouse_tests::TestServer;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_or_token_is_ever_logged() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .init();

    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let secret = client.secret.clone().unwrap();
    let token = server.cc_token(&client, "read").await;
    server
        .post_form(
            "/introspect",
            Some((&client.id, &secret)),
            &[("token", &token)],
        )
        .await;
    server
        .post_form("/revoke", Some((&client.id, &secret)), &[("token", &token)])
        .await;
    let wrong = format!("{secret}x");
    let (status, _, _) = server
        .post_form(
            "/token",
            Some((&client.id, &wrong)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = server
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", &wrong),
            ],
        )
        .await;
    assert_eq!(status, 401);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("access token issued"),
        "the flow was logged: {logs}"
    );
    assert!(logs.contains("invalid_client"));
    for (what, value) in [
        ("secret", secret.as_str()),
        ("token", token.as_str()),
        ("wrong secret", wrong.as_str()),
    ] {
        assert!(!logs.contains(value), "the {what} appears in the logs");
    }
    // The JWT's signature part alone must not leak either.
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature));
}
