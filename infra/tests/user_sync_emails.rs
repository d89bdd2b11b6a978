//! `gatehouse user sync-emails` gives the users stored before the lookup by
//! e-mail existed their `email_key`, once. The old items are written through the
//! SDK into the embedded engine; the command reaches it with `--dynamodb-endpoint`.

mod gatehouse_bin;

use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse::engine::Engine;
use gatehouse_bin::BIN;
use gatehouse_core::store::{DynamoStore, TableNames, UserStore};
use std::process::{Command, Output};

fn run(engine: &Engine, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(["--dynamodb-endpoint", &engine.url, "user"])
        .args(args)
        .env(
            "GATEHOUSE_DYNAMODB_ACCESS_KEY_ID",
            &engine.credentials.access_key_id,
        )
        .env(
            "GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY",
            engine.credentials.secret_access_key.expose(),
        );
    gatehouse_bin::with_stdin(command, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_emails_keys_the_users_stored_before_it_and_is_idempotent() {
    let engine = Engine::in_memory().await.unwrap();
    let tables = TableNames::with_prefix("gatehouse");
    let db = engine.client().await;
    tables.create_missing(&db).await.unwrap();
    // As an earlier release wrote it: an e-mail address, no `email_key`.
    db.put_item()
        .table_name(&tables.users)
        .item("username", AttributeValue::S("old".into()))
        .item("user_id", AttributeValue::S("id-old".into()))
        .item("disabled", AttributeValue::Bool(false))
        .item("created_at", AttributeValue::N("1".into()))
        .item("password_changed_at", AttributeValue::N("1".into()))
        .item("epoch", AttributeValue::N("0".into()))
        .item("email", AttributeValue::S("Old@Example.com".into()))
        .send()
        .await
        .unwrap();
    let store = DynamoStore::new(db, tables);
    assert!(
        store
            .users_with_email("old@example.com")
            .await
            .unwrap()
            .is_empty()
    );

    let out = run(&engine, &["sync-emails", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer, serde_json::json!({"updated": 1}));
    let found = store.users_with_email("OLD@example.com").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].username, "old");

    let out = run(&engine, &["sync-emails"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0 user(s) given their e-mail lookup key")
    );
}
