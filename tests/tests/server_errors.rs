//! When the server itself cannot answer (the database is unreachable, no signing key
//! exists), the client gets a JSON `server_error` with a generic description: no
//! internal detail, no panic, no hang.

use gatehouse_core::App;
use gatehouse_core::config::Config;
use gatehouse_core::dynamodb::{EndpointCredentials, endpoint_client};
use gatehouse_core::store::{ClientStore, DynamoStore, TableNames};
use gatehouse_tests::{TestServer, assert_error, http, read, stored_client};
use std::sync::Arc;

#[tokio::test]
async fn an_unreachable_database_is_a_generic_server_error() {
    // A loopback port with nothing listening: every DynamoDB call fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let tables = TableNames::with_prefix("unreachable");
    let store = DynamoStore::new(
        endpoint_client(&url, &EndpointCredentials::dummy()).await,
        tables.clone(),
    );
    let app = Arc::new(App::new(Config::new(base.clone(), tables), store));
    tokio::spawn(gatehouse::server::serve(listener, app));

    for path in ["/token", "/introspect", "/revoke"] {
        let resp = http()
            .post(format!("{base}{path}"))
            .basic_auth("client", Some("secret"))
            .form(&[("grant_type", "client_credentials"), ("token", "t")])
            .send()
            .await
            .unwrap();
        let answer = read(resp).await;
        assert_error(&answer, 500, "server_error");
        let body = answer.2.to_string();
        assert!(
            !body.contains("127.0.0.1") && !body.to_lowercase().contains("dispatch"),
            "{body}"
        );
    }
    let answer = read(
        http()
            .get(format!("{base}/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&answer, 500, "server_error");
}

#[tokio::test]
async fn without_an_active_signing_key_tokens_are_refused_and_the_jwks_is_empty() {
    let server = TestServer::start().await;
    // The same engine, but tables without any key.
    let db = server.engine.client().await;
    let tables = TableNames::with_prefix("nokeys");
    tables.create_missing(&db).await.unwrap();
    let store = DynamoStore::new(db, tables.clone());
    store
        .create_client(&stored_client("c", Some("s")))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Arc::new(App::new(Config::new(base.clone(), tables), store));
    tokio::spawn(gatehouse::server::serve(listener, app));

    let resp = http()
        .post(format!("{base}/token"))
        .basic_auth("c", Some("s"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let answer = read(resp).await;
    assert_error(&answer, 500, "server_error");
    let jwks: serde_json::Value = http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, serde_json::json!({"keys": []}));
}
