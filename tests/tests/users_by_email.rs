//! Users found by e-mail address (the `email-index`), the backfill of the key for
//! users stored before it, and a user created just in time with their identity in
//! one transaction; against the embedded engine.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use gatehouse::engine::Engine;
use gatehouse_core::domain::federated_identity::{FederatedIdentity, identity_key};
use gatehouse_core::domain::user::{ProfileChange, User};
use gatehouse_core::store::{DynamoStore, IdentityStore, StoreError, TableNames, UserStore};

async fn store(prefix: &str) -> DynamoStore {
    let engine = Engine::in_memory().await.unwrap();
    let db = engine.client().await;
    let tables = TableNames::with_prefix(prefix);
    tables.create_missing(&db).await.unwrap();
    DynamoStore::new(db, tables)
}

fn user(name: &str, email: Option<&str>) -> User {
    let mut u = User {
        username: name.into(),
        user_id: format!("id-{name}"),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled: false,
        created_at: 1,
        password_changed_at: 1,
        epoch: 0,
        profile: Default::default(),
    };
    u.profile.email = email.map(str::to_owned);
    u
}

fn identity(subject: &str, u: &User) -> FederatedIdentity {
    FederatedIdentity {
        issuer: "https://idp.example".into(),
        subject: subject.into(),
        provider_id: "idp".into(),
        user_id: u.user_id.clone(),
        username: u.username.clone(),
        email_at_link: Some("someone@example.com".into()),
        linked_at: 5,
    }
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

fn email(value: &str) -> ProfileChange {
    ProfileChange {
        email: Some(value.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn empty_overlong_and_unknown_addresses_find_nobody() {
    let s = store("by-email-none").await;
    s.create_user(&user("alice", Some("alice@example.com")))
        .await
        .unwrap();
    for address in [
        String::new(),
        format!("{}@example.com", "a".repeat(300)),
        "bob@example.com".into(),
        "alice@example.co".into(),
    ] {
        assert!(
            s.users_with_email(&address).await.unwrap().is_empty(),
            "{address}"
        );
    }
    s.create_user(&user("nomail", None)).await.unwrap();
    assert!(s.users_with_email("").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_user_is_found_by_a_differently_cased_address() {
    let s = store("by-email-case").await;
    s.create_user(&user("alice", Some("Alice.Smith@Example.COM")))
        .await
        .unwrap();
    for address in [
        "alice.smith@example.com",
        "ALICE.SMITH@EXAMPLE.COM",
        "Alice.Smith@Example.COM",
    ] {
        let found = s.users_with_email(address).await.unwrap();
        assert_eq!(names(&found), ["alice"], "{address}");
        assert_eq!(
            found[0].profile.email.as_deref(),
            Some("Alice.Smith@Example.COM"),
            "the address is kept as given"
        );
    }
}

#[tokio::test]
async fn a_user_is_not_found_after_the_address_is_removed_or_changed() {
    let s = store("by-email-change").await;
    s.create_user(&user("alice", Some("alice@example.com")))
        .await
        .unwrap();
    s.create_user(&user("bob", None)).await.unwrap();

    // An address set by a profile change is found.
    assert!(
        s.update_profile("bob", &email("Bob@Example.com"), 2)
            .await
            .unwrap()
    );
    assert_eq!(
        names(&s.users_with_email("bob@example.com").await.unwrap()),
        ["bob"]
    );

    // Changed: the old address finds nobody, the new one finds the user.
    assert!(
        s.update_profile("alice", &email("alice@new.example"), 3)
            .await
            .unwrap()
    );
    assert!(
        s.users_with_email("alice@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        names(&s.users_with_email("ALICE@new.example").await.unwrap()),
        ["alice"]
    );

    // Removed: the key goes with it.
    assert!(s.update_profile("alice", &email(""), 4).await.unwrap());
    assert!(
        s.users_with_email("alice@new.example")
            .await
            .unwrap()
            .is_empty()
    );
    let item = s
        .client()
        .get_item()
        .table_name(&s.tables().users)
        .key("username", AttributeValue::S("alice".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(!item.contains_key("email_key"), "{item:?}");

    // A change that leaves the address alone keeps its key.
    let name = ProfileChange {
        name: Some("Bob".into()),
        ..Default::default()
    };
    assert!(s.update_profile("bob", &name, 5).await.unwrap());
    assert_eq!(
        names(&s.users_with_email("bob@example.com").await.unwrap()),
        ["bob"]
    );
}

#[tokio::test]
async fn every_user_with_one_address_is_answered() {
    let s = store("by-email-shared").await;
    s.create_user(&user("bob", Some("shared@example.com")))
        .await
        .unwrap();
    s.create_user(&user("alice", Some("SHARED@example.com")))
        .await
        .unwrap();
    s.create_user(&user("carol", Some("other@example.com")))
        .await
        .unwrap();
    let found = s.users_with_email("Shared@Example.com").await.unwrap();
    assert_eq!(names(&found), ["alice", "bob"]);
    // A deleted user is no longer a candidate.
    assert!(s.delete_user("bob").await.unwrap());
    let found = s.users_with_email("shared@example.com").await.unwrap();
    assert_eq!(names(&found), ["alice"]);
}

/// An item written as an earlier release did: a profile, no `email_key`.
async fn put_old_user(s: &DynamoStore, name: &str, email: Option<&str>) {
    let mut req = s
        .client()
        .put_item()
        .table_name(&s.tables().users)
        .item("username", AttributeValue::S(name.into()))
        .item("user_id", AttributeValue::S(format!("id-{name}")))
        .item("disabled", AttributeValue::Bool(false))
        .item("created_at", AttributeValue::N("1".into()))
        .item("password_changed_at", AttributeValue::N("1".into()))
        .item("epoch", AttributeValue::N("0".into()))
        .item("email_verified", AttributeValue::Bool(false))
        .item("updated_at", AttributeValue::N("1".into()));
    if let Some(e) = email {
        req = req.item("email", AttributeValue::S(e.into()));
    }
    req.send().await.unwrap();
}

async fn email_key_of(s: &DynamoStore, name: &str) -> Option<String> {
    s.client()
        .get_item()
        .table_name(&s.tables().users)
        .key("username", AttributeValue::S(name.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
        .get("email_key")
        .map(|v| v.as_s().unwrap().clone())
}

#[tokio::test]
async fn the_backfill_gives_users_stored_before_the_index_their_key_once() {
    let s = store("by-email-backfill").await;
    put_old_user(&s, "old", Some("Old@Example.com")).await;
    put_old_user(&s, "nomail", None).await;
    s.create_user(&user("new", Some("new@example.com")))
        .await
        .unwrap();
    assert!(
        s.users_with_email("old@example.com")
            .await
            .unwrap()
            .is_empty(),
        "not found before the backfill"
    );

    assert_eq!(s.sync_email_keys().await.unwrap(), 1, "only the old user");
    assert_eq!(
        email_key_of(&s, "old").await.as_deref(),
        Some("old@example.com")
    );
    assert_eq!(email_key_of(&s, "nomail").await, None);
    assert_eq!(
        names(&s.users_with_email("OLD@example.com").await.unwrap()),
        ["old"]
    );

    assert_eq!(s.sync_email_keys().await.unwrap(), 0, "idempotent");
}

#[tokio::test]
async fn a_users_table_made_before_the_index_gets_it() {
    let engine = Engine::in_memory().await.unwrap();
    let db = engine.client().await;
    let tables = TableNames::with_prefix("by-email-upgrade");
    db.create_table()
        .table_name(&tables.users)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("username")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("username")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let s = DynamoStore::new(db.clone(), tables.clone());
    put_old_user(&s, "old", Some("old@example.com")).await;
    tables.create_missing(&db).await.unwrap();
    tables.create_missing(&db).await.unwrap();
    assert_eq!(s.sync_email_keys().await.unwrap(), 1);
    assert_eq!(
        names(&s.users_with_email("old@example.com").await.unwrap()),
        ["old"]
    );
}

async fn identity_exists(s: &DynamoStore, subject: &str) -> bool {
    s.client()
        .get_item()
        .table_name(&s.tables().identities)
        .key(
            "identity_key",
            AttributeValue::S(identity_key("https://idp.example", subject)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

#[tokio::test]
async fn a_user_created_with_an_identity_gets_both() {
    let s = store("jit-both").await;
    let mut u = user("idp.alice", Some("Alice@Example.com"));
    u.password_hash = None;
    let i = identity("sub-1", &u);
    s.create_user_with_identity(&u, &i).await.unwrap();
    assert_eq!(s.get_user("idp.alice").await.unwrap(), Some(u.clone()));
    assert_eq!(
        s.get_identity("https://idp.example", "sub-1")
            .await
            .unwrap(),
        Some(i)
    );
    assert_eq!(s.identities_of("idp.alice").await.unwrap().len(), 1);
    assert_eq!(
        names(&s.users_with_email("alice@example.com").await.unwrap()),
        ["idp.alice"]
    );
}

#[tokio::test]
async fn a_taken_name_writes_neither_the_user_nor_the_identity() {
    let s = store("jit-name-taken").await;
    let existing = user("idp.alice", None);
    s.create_user(&existing).await.unwrap();
    let newcomer = User {
        user_id: "id-newcomer".into(),
        password_hash: None,
        ..user("idp.alice", Some("new@example.com"))
    };
    let i = identity("sub-1", &newcomer);
    assert!(matches!(
        s.create_user_with_identity(&newcomer, &i).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_user("idp.alice").await.unwrap(), Some(existing));
    assert!(!identity_exists(&s, "sub-1").await, "no identity written");
}

#[tokio::test]
async fn a_linked_identity_writes_neither_the_user_nor_the_identity() {
    let s = store("jit-identity-taken").await;
    let owner = user("bob", None);
    s.create_user(&owner).await.unwrap();
    let linked = identity("sub-1", &owner);
    s.link_identity(&linked).await.unwrap();

    let mut u = user("idp.bob2", Some("bob2@example.com"));
    u.password_hash = None;
    assert!(matches!(
        s.create_user_with_identity(&u, &identity("sub-1", &u))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_user("idp.bob2").await.unwrap(),
        None,
        "no user written"
    );
    assert_eq!(
        s.get_identity("https://idp.example", "sub-1")
            .await
            .unwrap(),
        Some(linked),
        "the identity still belongs to its user"
    );
}

#[tokio::test]
async fn an_identity_of_another_user_is_refused_before_any_write() {
    let s = store("jit-mismatch").await;
    let u = user("idp.carol", None);
    let other = user("dave", None);
    assert!(
        s.create_user_with_identity(&u, &identity("sub-9", &other))
            .await
            .is_err()
    );
    assert_eq!(s.get_user("idp.carol").await.unwrap(), None);
    assert!(!identity_exists(&s, "sub-9").await);
}
