//! Store conformance: the behaviour each store trait promises, checked against the
//! embedded DynamoDB-compatible engine over HTTP, the same code production runs.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use gatehouse::engine::Engine;
use gatehouse_core::config::Config;
use gatehouse_core::domain::client::{Client, ClientType, GrantType, PreviousSecret};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::domain::token::{TokenKind, TokenRecord};
use gatehouse_core::domain::user::User;
use gatehouse_core::dynamodb::endpoint_client;
use gatehouse_core::keys::{KeyStatus, Rotation, SigningAlgorithm};
use gatehouse_core::secret::{SecretHash, random_token};
use gatehouse_core::store::{
    ClientStore, ConsentStore, DynamoStore, KeyStore, LoginAttemptStore, SessionKeyStore,
    StoreError, TableNames, TokenStore, TokenUse, UserStore,
};

async fn store() -> DynamoStore {
    let engine = Engine::in_memory().await.unwrap();
    let db = endpoint_client(&engine.url).await;
    let tables = TableNames::with_prefix("conformance");
    tables.create_missing(&db).await.unwrap();
    DynamoStore::new(db, tables)
}

fn client(id: &str, client_type: ClientType) -> Client {
    Client {
        client_id: id.into(),
        name: "App".into(),
        client_type,
        secret_hash: (client_type == ClientType::Confidential).then(|| SecretHash::of("secret")),
        previous_secret: None,
        redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        allowed_scope: Scope::parse("read").unwrap(),
        default_scope: Scope::parse("read").unwrap(),
        access_token_ttl: None,
        introspect_any: false,
        skip_consent: false,
        created_at: 1,
    }
}

fn token(value: &str, grant: &str, kind: TokenKind, expires_at: u64) -> TokenRecord {
    TokenRecord {
        token_hash: SecretHash::of(value),
        kind,
        client_id: "c".into(),
        subject: "c".into(),
        scope: Scope::parse("read").unwrap(),
        audience: "https://api.example".into(),
        grant_id: grant.into(),
        jti: Some("jti".into()),
        issued_at: 100,
        expires_at,
        revoked: false,
        username: None,
        code: None,
        used_at: None,
    }
}

#[tokio::test]
async fn creating_tables_twice_is_harmless_and_ttl_is_enabled_where_items_expire() {
    let s = store().await;
    s.tables().create_missing(s.client()).await.unwrap();
    for table in [
        &s.tables().tokens,
        &s.tables().keys,
        &s.tables().login_attempts,
    ] {
        let ttl = s
            .client()
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .unwrap();
        let d = ttl.time_to_live_description().unwrap();
        assert_eq!(d.attribute_name(), Some("ttl"), "{table}");
        assert_eq!(
            d.time_to_live_status(),
            Some(&TimeToLiveStatus::Enabled),
            "{table}"
        );
    }
}

#[tokio::test]
async fn clients_are_created_once_read_listed_rotated_and_deleted() {
    let s = store().await;
    s.create_client(&client("a", ClientType::Confidential))
        .await
        .unwrap();
    s.create_client(&client("b", ClientType::Public))
        .await
        .unwrap();
    assert!(matches!(
        s.create_client(&client("a", ClientType::Confidential))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_client("a").await.unwrap().unwrap(),
        client("a", ClientType::Confidential)
    );
    assert!(s.get_client("missing").await.unwrap().is_none());
    assert_eq!(s.list_clients().await.unwrap().len(), 2);

    let new = SecretHash::of("new secret");
    assert!(s.set_client_secret("a", &new, None).await.unwrap());
    assert_eq!(
        s.get_client("a").await.unwrap().unwrap().secret_hash,
        Some(new.clone())
    );
    assert!(
        !s.set_client_secret("missing", &new, None).await.unwrap(),
        "unknown client"
    );
    assert!(
        !s.set_client_secret("b", &new, None).await.unwrap(),
        "public clients have no secret"
    );
    assert!(
        s.get_client("missing").await.unwrap().is_none(),
        "no item was created"
    );

    assert!(s.delete_client("a").await.unwrap());
    assert!(!s.delete_client("a").await.unwrap());
    assert!(s.get_client("a").await.unwrap().is_none());
}

#[tokio::test]
async fn client_secrets_are_stored_only_as_hashes() {
    let s = store().await;
    s.create_client(&client("a", ClientType::Confidential))
        .await
        .unwrap();
    let raw = s
        .client()
        .get_item()
        .table_name(&s.tables().clients)
        .key("client_id", AttributeValue::S("a".into()))
        .send()
        .await
        .unwrap();
    let item = format!("{:?}", raw.item().unwrap());
    assert!(!item.contains("\"secret\""), "{item}");
    assert!(item.contains(SecretHash::of("secret").as_str()));
}

#[tokio::test]
async fn tokens_are_keyed_by_their_hash_with_a_ttl_and_the_value_is_never_stored() {
    let s = store().await;
    let value = random_token();
    let rec = token(value.expose(), "g", TokenKind::AccessToken, 4_000_000_000);
    s.put_token(&rec).await.unwrap();
    let scan = s
        .client()
        .scan()
        .table_name(&s.tables().tokens)
        .send()
        .await
        .unwrap();
    let items = scan.items();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(
        item["token_hash"],
        AttributeValue::S(value.hash().as_str().into())
    );
    let ttl: u64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert!(
        ttl >= rec.expires_at,
        "the TTL attribute is at or after expiry"
    );
    assert!(
        !format!("{item:?}").contains(value.expose()),
        "the clear token is not stored"
    );
    assert_eq!(s.get_token(&value.hash()).await.unwrap().unwrap(), rec);
}

#[tokio::test]
async fn a_token_hash_is_recorded_once() {
    let s = store().await;
    let rec = token("t", "g", TokenKind::AuthorizationCode, 4_000_000_000);
    s.put_token(&rec).await.unwrap();
    assert!(matches!(s.put_token(&rec).await, Err(StoreError::Conflict)));
}

#[tokio::test]
async fn expired_tokens_are_still_read_and_expiry_is_decided_in_code() {
    let s = store().await;
    let rec = token("old", "g", TokenKind::AccessToken, 150);
    s.put_token(&rec).await.unwrap();
    let read = s.get_token(&SecretHash::of("old")).await.unwrap().unwrap();
    assert!(
        !read.is_active(gatehouse_core::app::now()),
        "expired although the engine still holds it"
    );
}

#[tokio::test]
async fn revoking_a_token_is_idempotent_and_unknown_tokens_are_reported() {
    let s = store().await;
    s.put_token(&token("t", "g", TokenKind::AccessToken, 4_000_000_000))
        .await
        .unwrap();
    assert!(s.revoke_token(&SecretHash::of("t")).await.unwrap());
    assert!(s.revoke_token(&SecretHash::of("t")).await.unwrap());
    assert!(
        s.get_token(&SecretHash::of("t"))
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert!(!s.revoke_token(&SecretHash::of("unknown")).await.unwrap());
    assert!(
        s.get_token(&SecretHash::of("unknown"))
            .await
            .unwrap()
            .is_none(),
        "no item was created"
    );
}

#[tokio::test]
async fn revoking_a_grant_revokes_every_token_of_it_and_no_other() {
    let s = store().await;
    for (v, g, k) in [
        ("r1", "g1", TokenKind::RefreshToken),
        ("a1", "g1", TokenKind::AccessToken),
        ("a2", "g1", TokenKind::AccessToken),
        ("b1", "g2", TokenKind::AccessToken),
    ] {
        s.put_token(&token(v, g, k, 4_000_000_000)).await.unwrap();
    }
    assert_eq!(s.revoke_grant("g1").await.unwrap(), 3);
    for v in ["r1", "a1", "a2"] {
        assert!(
            s.get_token(&SecretHash::of(v))
                .await
                .unwrap()
                .unwrap()
                .revoked,
            "{v}"
        );
    }
    assert!(
        !s.get_token(&SecretHash::of("b1"))
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(s.revoke_grant("unknown").await.unwrap(), 0);
}

#[tokio::test]
async fn key_rotations_apply_atomically_and_a_stale_plan_conflicts() {
    let s = store().await;
    let alg = SigningAlgorithm::Es256;
    let boot = Rotation::plan(&[], alg, 10, 100).unwrap();
    s.apply_rotation(&boot).await.unwrap();
    let keys = s.list_keys().await.unwrap();
    assert_eq!(keys.len(), 2);

    let first = Rotation::plan(&keys, alg, 20, 100).unwrap();
    let stale = Rotation::plan(&keys, alg, 21, 100).unwrap();
    s.apply_rotation(&first).await.unwrap();
    assert!(matches!(
        s.apply_rotation(&stale).await,
        Err(StoreError::Conflict)
    ));

    let keys = s.list_keys().await.unwrap();
    assert_eq!(keys.len(), 3, "the stale plan wrote nothing");
    let status = |kid: &str| keys.iter().find(|k| k.kid == kid).unwrap().clone();
    let retired = status(&first.retire.as_ref().unwrap().0);
    assert_eq!(retired.status, KeyStatus::Retired);
    assert_eq!(retired.publish_until, Some(120));
    assert_eq!(
        status(first.promote.as_ref().unwrap()).status,
        KeyStatus::Active
    );
    assert_eq!(status(&first.create[0].kid).status, KeyStatus::Next);
}

#[tokio::test]
async fn bootstrapping_keys_twice_creates_them_once() {
    let s = store().await;
    let config = Config::new("https://auth.example", s.tables().clone());
    assert!(
        gatehouse_core::registration::ensure_signing_keys(&s, &config, SigningAlgorithm::Es256)
            .await
            .unwrap()
    );
    assert!(
        !gatehouse_core::registration::ensure_signing_keys(&s, &config, SigningAlgorithm::Es256)
            .await
            .unwrap()
    );
    assert_eq!(s.list_keys().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_secret_rotation_with_grace_keeps_the_previous_hash_until_its_deadline() {
    let s = store().await;
    s.create_client(&client("a", ClientType::Confidential))
        .await
        .unwrap();
    let second = SecretHash::of("second");
    assert!(s.set_client_secret("a", &second, Some(500)).await.unwrap());
    let c = s.get_client("a").await.unwrap().unwrap();
    assert_eq!(c.secret_hash, Some(second));
    assert_eq!(
        c.previous_secret,
        Some(PreviousSecret {
            hash: SecretHash::of("secret"),
            valid_until: 500
        })
    );
    assert!(c.secret_matches("second", 499));
    assert!(
        c.secret_matches("secret", 499),
        "the previous secret within its grace"
    );
    assert!(!c.secret_matches("secret", 500), "and not after it");

    assert!(
        s.set_client_secret("a", &SecretHash::of("third"), None)
            .await
            .unwrap()
    );
    let c = s.get_client("a").await.unwrap().unwrap();
    assert_eq!(
        c.previous_secret, None,
        "a rotation without grace drops the previous secret"
    );
    assert!(!c.secret_matches("second", 0));
}

#[tokio::test]
async fn a_code_or_refresh_token_is_used_once_and_only_as_its_kind() {
    let s = store().await;
    let code = token(
        "code-value",
        "g1",
        TokenKind::AuthorizationCode,
        9_999_999_999,
    );
    s.put_token(&code).await.unwrap();
    let wrong_kind = s
        .use_token(&code.token_hash, TokenKind::RefreshToken, 10)
        .await
        .unwrap();
    assert!(matches!(wrong_kind, TokenUse::Unknown), "{wrong_kind:?}");
    match s
        .use_token(&code.token_hash, TokenKind::AuthorizationCode, 10)
        .await
        .unwrap()
    {
        TokenUse::First(r) => assert_eq!(r.used_at, Some(10)),
        other => panic!("{other:?}"),
    }
    match s
        .use_token(&code.token_hash, TokenKind::AuthorizationCode, 11)
        .await
        .unwrap()
    {
        TokenUse::Again(r) => assert_eq!(r.used_at, Some(10), "the first use is kept"),
        other => panic!("{other:?}"),
    }
    let unknown = s
        .use_token(&SecretHash::of("nope"), TokenKind::AuthorizationCode, 10)
        .await
        .unwrap();
    assert!(matches!(unknown, TokenUse::Unknown));
    assert!(
        s.get_token(&SecretHash::of("nope"))
            .await
            .unwrap()
            .is_none(),
        "using an unknown token creates nothing"
    );
}

#[tokio::test]
async fn tokens_from_a_revoked_parent_are_not_written() {
    let s = store().await;
    let parent = token("refresh-1", "g2", TokenKind::RefreshToken, 9_999_999_999);
    s.put_token(&parent).await.unwrap();
    let child = token("refresh-2", "g2", TokenKind::RefreshToken, 9_999_999_999);
    let access = token("access-2", "g2", TokenKind::AccessToken, 9_999_999_999);
    s.revoke_token(&parent.token_hash).await.unwrap();
    assert!(matches!(
        s.put_tokens_from(Some(&parent.token_hash), &[child.clone(), access.clone()])
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(s.get_token(&child.token_hash).await.unwrap().is_none());
    assert!(s.get_token(&access.token_hash).await.unwrap().is_none());
    // Without the parent condition (a code's first redemption) both are written,
    // each at most once.
    s.put_tokens_from(None, &[child.clone(), access.clone()])
        .await
        .unwrap();
    assert!(s.get_token(&access.token_hash).await.unwrap().is_some());
    assert!(matches!(
        s.put_tokens_from(None, &[access]).await,
        Err(StoreError::Conflict)
    ));
}

fn user(name: &str) -> User {
    User {
        username: name.into(),
        user_id: format!("id-{name}"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        disabled: false,
        created_at: 1,
        password_changed_at: 1,
    }
}

#[tokio::test]
async fn users_are_created_once_changed_disabled_listed_and_deleted() {
    let s = store().await;
    s.create_user(&user("bob")).await.unwrap();
    s.create_user(&user("alice")).await.unwrap();
    assert!(matches!(
        s.create_user(&user("alice")).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_user("alice").await.unwrap().unwrap(), user("alice"));
    assert!(s.set_password("alice", "$argon2id$new", 7).await.unwrap());
    assert!(s.set_disabled("alice", true).await.unwrap());
    let a = s.get_user("alice").await.unwrap().unwrap();
    assert_eq!(
        (a.password_hash.as_str(), a.password_changed_at, a.disabled),
        ("$argon2id$new", 7, true)
    );
    assert!(!s.set_password("nobody", "x", 1).await.unwrap());
    assert!(!s.set_disabled("nobody", true).await.unwrap());
    assert!(
        s.get_user("nobody").await.unwrap().is_none(),
        "no user appears from a failed update"
    );
    let names: Vec<String> = s
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(s.delete_user("alice").await.unwrap());
    assert!(!s.delete_user("alice").await.unwrap());
}

#[tokio::test]
async fn consents_are_per_user_and_client_and_replaced_on_write() {
    let s = store().await;
    assert_eq!(s.get_consent("u1", "c1").await.unwrap(), None);
    s.put_consent("u1", "c1", &Scope::parse("read").unwrap(), 1)
        .await
        .unwrap();
    s.put_consent("u1", "c1", &Scope::parse("read write").unwrap(), 2)
        .await
        .unwrap();
    assert_eq!(
        s.get_consent("u1", "c1").await.unwrap(),
        Scope::parse("read write")
    );
    assert_eq!(s.get_consent("u1", "c2").await.unwrap(), None);
    assert_eq!(s.get_consent("u2", "c1").await.unwrap(), None);
}

#[tokio::test]
async fn failed_logins_are_counted_per_key_and_cleared() {
    let s = store().await;
    let keys = ["user:alice:1".to_owned(), "source:203.0.113.7:1".to_owned()];
    assert_eq!(s.failures(&keys).await.unwrap(), [0, 0]);
    s.record_failure(&keys, 100).await.unwrap();
    s.record_failure(&keys[1..], 100).await.unwrap();
    assert_eq!(s.failures(&keys).await.unwrap(), [1, 2]);
    s.clear_failures(&keys[0]).await.unwrap();
    assert_eq!(s.failures(&keys).await.unwrap(), [0, 2]);
    let item = s
        .client()
        .get_item()
        .table_name(&s.tables().login_attempts)
        .key("attempt_key", AttributeValue::S(keys[1].clone()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item["ttl"],
        AttributeValue::N("100".into()),
        "counters expire"
    );
}

#[tokio::test]
async fn the_session_key_is_created_once_and_is_not_a_signing_key() {
    let s = store().await;
    let (a, b) = tokio::join!(s.session_key(), s.session_key());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expose(), b.expose(), "concurrent first uses agree");
    assert_eq!(s.session_key().await.unwrap().expose(), a.expose());
    assert!(a.expose().len() >= 43, "256 bits");
    assert!(
        s.list_keys().await.unwrap().is_empty(),
        "the session key is not listed among signing keys"
    );
}
