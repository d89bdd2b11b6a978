//! Store conformance: the behaviour each store trait promises, checked against the
//! embedded DynamoDB-compatible engine, the same store code production runs. The
//! suite reaches the engine in process, as `gatehouse serve` and the tests' server
//! do (`infra/src/engine_connector.rs`); the tests that loop over [`TRANSPORTS`]
//! also run through its loopback port, as an admin command or `sam local` does.

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use gatehouse::engine::Engine;
use gatehouse_core::config::Config;
use gatehouse_core::domain::client::{Client, ClientType, GrantType, PreviousSecret};
use gatehouse_core::domain::federated_identity::{FederatedIdentity, identity_key};
use gatehouse_core::domain::grant::{
    CodeBinding, CodeState, Grant, GrantOwner, GrantState, RefreshState, RevokeReason,
};
use gatehouse_core::domain::login_throttle::{Counter, CounterKind, Release};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::domain::session::LoginSession;
use gatehouse_core::domain::upstream_state::UpstreamState;
use gatehouse_core::domain::user::User;
use gatehouse_core::keys::{KeyStatus, Rotation, SigningAlgorithm};
use gatehouse_core::secret::{Secret, SecretHash};
use gatehouse_core::store::{
    ClientStore, ConsentStore, DynamoStore, GrantStore, GrantUpdate, GrantsOf, IdentityStore,
    KeyStore, LoginAttemptStore, OriginStore, SecretKeyPurpose, SecretKeyStore, SessionStore,
    Slots, StoreError, TableNames, TokenStateQuery, TokenStateStore, Unlink, UpstreamStateStore,
    UserStore,
};

/// How the store reaches the engine.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// The SDK's HTTP client answered by the engine in this process.
    InProcess,
    /// HTTP on the engine's loopback port, signed and verified.
    Port,
}

const TRANSPORTS: [Transport; 2] = [Transport::InProcess, Transport::Port];

async fn store() -> DynamoStore {
    store_through(Transport::InProcess).await
}

async fn store_through(transport: Transport) -> DynamoStore {
    let engine = Engine::in_memory().await.unwrap();
    let db = match transport {
        Transport::InProcess => engine.in_process_client().await,
        Transport::Port => engine.client().await,
    };
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
        token_endpoint_auth_method: None,
        require_pkce: false,
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        created_at: 1,
    }
}

#[tokio::test]
async fn creating_tables_twice_is_harmless_and_ttl_is_enabled_where_items_expire() {
    let s = store().await;
    s.tables().create_missing(s.client()).await.unwrap();
    for table in [
        &s.tables().tokens,
        &s.tables().grants,
        &s.tables().sessions,
        &s.tables().keys,
        &s.tables().secrets,
        &s.tables().login_attempts,
        &s.tables().upstream_states,
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
    for transport in TRANSPORTS {
        let s = store_through(transport).await;
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
}

#[tokio::test]
async fn syncing_origins_adds_the_missing_and_removes_those_of_no_client() {
    let s = store().await;
    let mut a = client("a", ClientType::Public);
    a.redirect_uris = vec![
        "https://app.example/cb".into(),
        "https://app.example/other".into(),
        "http://127.0.0.1:8080/cb".into(),
    ];
    s.create_client(&a).await.unwrap();
    let mut b = client("b", ClientType::Public);
    b.redirect_uris = vec!["https://app.example/b".into()];
    s.create_client(&b).await.unwrap();
    let origins = &s.tables().origins;
    let raw = s.client();
    // A deployment whose clients came before the table: one origin lost, and an
    // entry of a client that no longer exists.
    raw.delete_item()
        .table_name(origins)
        .key("origin", AttributeValue::S("http://127.0.0.1:8080".into()))
        .send()
        .await
        .unwrap();
    raw.update_item()
        .table_name(origins)
        .key("origin", AttributeValue::S("https://app.example".into()))
        .update_expression("ADD client_ids :id")
        .expression_attribute_values(":id", AttributeValue::Ss(vec!["gone".into()]))
        .send()
        .await
        .unwrap();
    raw.put_item()
        .table_name(origins)
        .item("origin", AttributeValue::S("https://stale.example".into()))
        .item("client_ids", AttributeValue::Ss(vec!["gone".into()]))
        .send()
        .await
        .unwrap();
    assert!(!s.origin_registered("http://127.0.0.1:8080").await.unwrap());
    assert!(s.origin_registered("https://stale.example").await.unwrap());

    let sync = s.sync_origins().await.unwrap();
    assert_eq!((sync.clients, sync.stale_removed), (2, 2));
    assert!(s.origin_registered("http://127.0.0.1:8080").await.unwrap());
    assert!(s.origin_registered("https://app.example").await.unwrap());
    assert!(!s.origin_registered("https://stale.example").await.unwrap());
    let ids = raw
        .get_item()
        .table_name(origins)
        .key("origin", AttributeValue::S("https://app.example".into()))
        .send()
        .await
        .unwrap();
    let Some(AttributeValue::Ss(mut ids)) = ids.item().unwrap().get("client_ids").cloned() else {
        panic!("no client_ids");
    };
    ids.sort();
    assert_eq!(ids, ["a", "b"]);

    let again = s.sync_origins().await.unwrap();
    assert_eq!((again.clients, again.stale_removed), (2, 0), "idempotent");
    // A deleted client's origins go with it, and a sync does not bring them back.
    assert!(s.delete_client("b").await.unwrap());
    assert!(s.delete_client("a").await.unwrap());
    s.sync_origins().await.unwrap();
    assert!(!s.origin_registered("https://app.example").await.unwrap());
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
async fn key_rotations_apply_atomically_and_a_stale_plan_conflicts() {
    for transport in TRANSPORTS {
        let s = store_through(transport).await;
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
        assert_eq!(status(&first.create[0].public.kid).status, KeyStatus::Next);
        // Private halves are in the secrets table, and a retired key's is gone.
        let promoted = first.promote.as_ref().unwrap();
        assert!(s.private_key(promoted).await.unwrap().is_some());
        assert_eq!(
            s.private_key(&first.create[0].public.kid).await.unwrap(),
            Some(first.create[0].private.clone())
        );
        assert!(s.private_key(&retired.kid).await.unwrap().is_none());
        // Nothing private is in the keys table.
        let raw = s
            .client()
            .scan()
            .table_name(&s.tables().keys)
            .send()
            .await
            .unwrap();
        for item in raw.items() {
            assert!(!item.contains_key("private_der") && !item.contains_key("secret"));
        }
    }
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

fn user(name: &str) -> User {
    User {
        username: name.into(),
        user_id: format!("id-{name}"),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        disabled: false,
        created_at: 1,
        password_changed_at: 1,
        epoch: 0,
        profile: Default::default(),
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
        (
            a.password_hash.as_deref(),
            a.password_changed_at,
            a.disabled
        ),
        (Some("$argon2id$new"), 7, true)
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

fn counter(kind: CounterKind, key: &str, limit: u64) -> Counter {
    Counter {
        kind,
        key: key.into(),
        limit,
    }
}

#[tokio::test]
async fn a_slot_is_refused_at_the_limit_and_then_nothing_is_taken() {
    let s = store().await;
    let pair = counter(CounterKind::Pair, "pair:alice:203.0.113.7:1", 2);
    let source = counter(CounterKind::Source, "source:203.0.113.7:1", 3);
    let keys = [pair.key.clone(), source.key.clone()];
    let both = [pair.clone(), source.clone()];
    assert_eq!(s.slots_held(&keys).await.unwrap(), [0, 0]);
    for _ in 0..2 {
        assert_eq!(s.take_slots(&both, 100).await.unwrap(), Slots::Taken);
    }
    assert_eq!(s.slots_held(&keys).await.unwrap(), [2, 2]);
    // The pair is at its limit: refused, and the source is not counted either.
    assert_eq!(
        s.take_slots(&both, 100).await.unwrap(),
        Slots::Refused(vec![0])
    );
    assert_eq!(s.slots_held(&keys).await.unwrap(), [2, 2], "all or none");
    // The source alone has one slot left, then refuses; both refuse together.
    let other = counter(CounterKind::Pair, "pair:bob:203.0.113.7:1", 2);
    assert_eq!(
        s.take_slots(&[other.clone(), source.clone()], 100)
            .await
            .unwrap(),
        Slots::Taken
    );
    assert_eq!(
        s.take_slots(&[other.clone(), source.clone()], 100)
            .await
            .unwrap(),
        Slots::Refused(vec![1])
    );
    assert_eq!(
        s.take_slots(&both, 100).await.unwrap(),
        Slots::Refused(vec![0, 1])
    );
    assert_eq!(s.slots_held(&keys).await.unwrap(), [2, 3]);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_takes_never_pass_the_limit() {
    let s = store().await;
    let c = [counter(CounterKind::Pair, "pair:alice:198.51.100.1:1", 5)];
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (s, c) = (s.clone(), c.clone());
        tasks.spawn(async move { s.take_slots(&c, 100).await.unwrap() });
    }
    let results = tasks.join_all().await;
    let taken = results.iter().filter(|r| **r == Slots::Taken).count();
    assert_eq!(taken, 5, "{results:?}");
    assert_eq!(s.slots_held(&[c[0].key.clone()]).await.unwrap(), [5]);
}

#[tokio::test]
async fn released_slots_forget_the_pair_and_give_one_back_to_shared_counters() {
    let s = store().await;
    let pair = counter(CounterKind::Pair, "pair:alice:203.0.113.7:1", 5);
    let source = counter(CounterKind::Source, "source:203.0.113.7:1", 30);
    let keys = [pair.key.clone(), source.key.clone()];
    for _ in 0..3 {
        s.take_slots(&[pair.clone(), source.clone()], 100)
            .await
            .unwrap();
    }
    s.release_slots(&[
        Release::Forget(pair.key.clone()),
        Release::GiveBack(source.key.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(s.slots_held(&keys).await.unwrap(), [0, 2]);
    s.release_slots(&[]).await.unwrap();
}

#[tokio::test]
async fn the_hmac_keys_are_created_once_each_and_are_not_signing_keys() {
    let s = store().await;
    let session = SecretKeyPurpose::Session;
    let (a, b) = tokio::join!(s.secret_key(session), s.secret_key(session));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expose(), b.expose(), "concurrent first uses agree");
    assert_eq!(s.secret_key(session).await.unwrap().expose(), a.expose());
    assert!(a.expose().len() >= 43, "256 bits");
    let r = s.secret_key(SecretKeyPurpose::Refresh).await.unwrap();
    assert_ne!(r.expose(), a.expose(), "one key per purpose");
    assert_eq!(
        s.secret_key(SecretKeyPurpose::Refresh)
            .await
            .unwrap()
            .expose(),
        r.expose()
    );
    assert!(
        s.list_keys().await.unwrap().is_empty(),
        "HMAC keys are not listed among signing keys"
    );
}

/// A store with user `alice`, client `c`, and an open session `s1` of alice.
async fn store_with_session() -> DynamoStore {
    store_with_session_through(Transport::InProcess).await
}

async fn store_with_session_through(transport: Transport) -> DynamoStore {
    let s = store_through(transport).await;
    s.create_user(&user("alice")).await.unwrap();
    s.create_client(&client("c", ClientType::Confidential))
        .await
        .unwrap();
    s.create_session(&session("s1")).await.unwrap();
    s
}

fn session(id: &str) -> LoginSession {
    LoginSession {
        session_id: id.into(),
        secret_hash: SecretHash::of("session secret"),
        user_id: "id-alice".into(),
        username: "alice".into(),
        user_epoch: 0,
        auth_time: 10,
        amr: "pwd".into(),
        created_at: 10,
        last_seen_at: 10,
        expires_at: 10_000,
        ended_at: None,
    }
}

fn grant(id: &str) -> Grant {
    Grant {
        grant_id: id.into(),
        client_id: "c".into(),
        user: GrantOwner {
            user_id: "id-alice".into(),
            username: "alice".into(),
            epoch: 0,
        },
        scope: Scope::parse("read").unwrap(),
        created_at: 20,
        last_used_at: 20,
        session_id: "s1".into(),
        auth_time: 10,
        amr: "pwd".into(),
        state: GrantState::Live,
        code: CodeState {
            hash: SecretHash::of(&format!("{id}.code")),
            binding: CodeBinding {
                redirect_uri: "https://app.example/cb".into(),
                redirect_uri_in_request: true,
                challenge: None,
                nonce: None,
            },
            expires_at: 80,
            redeemed_at: None,
        },
        refresh: None,
        expires_at: 80,
    }
}

fn update(now: u64, generation: u64) -> GrantUpdate {
    GrantUpdate {
        now,
        refresh: Some(RefreshState {
            generation,
            parent: generation - 1,
            issued_at: now,
            expires_at: now + 1000,
        }),
        expires_at: now + 1000,
    }
}

#[tokio::test]
async fn sessions_are_created_once_read_and_ended_once() {
    let s = store().await;
    s.create_session(&session("s1")).await.unwrap();
    assert!(matches!(
        s.create_session(&session("s1")).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_session("s1").await.unwrap().unwrap(), session("s1"));
    assert!(s.get_session("nope").await.unwrap().is_none());
    assert!(s.end_session("s1", 50).await.unwrap());
    assert!(!s.end_session("s1", 60).await.unwrap(), "once");
    assert!(!s.end_session("nope", 60).await.unwrap());
    assert_eq!(
        s.get_session("s1").await.unwrap().unwrap().ended_at,
        Some(50)
    );
}

#[tokio::test]
async fn a_grant_is_created_only_in_an_open_session_and_stores_no_code() {
    let s = store_with_session().await;
    s.create_grant(&grant("g1"), 20).await.unwrap();
    assert_eq!(s.get_grant("g1").await.unwrap().unwrap(), grant("g1"));
    assert_eq!(s.get_session("s1").await.unwrap().unwrap().last_seen_at, 20);
    assert!(matches!(
        s.create_grant(&grant("g1"), 21).await,
        Err(StoreError::Conflict)
    ));
    let raw = s
        .client()
        .get_item()
        .table_name(&s.tables().grants)
        .key("grant_id", AttributeValue::S("g1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        !format!("{raw:?}").contains("g1.code"),
        "only the code's hash"
    );
    assert_eq!(raw["ttl"], AttributeValue::N((80 + 24 * 3600).to_string()));
    s.end_session("s1", 30).await.unwrap();
    assert!(matches!(
        s.create_grant(&grant("g2"), 31).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        s.get_grant("g2").await.unwrap().is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn of_concurrent_redemptions_of_a_code_exactly_one_succeeds() {
    for transport in TRANSPORTS {
        let s = store_with_session_through(transport).await;
        s.create_grant(&grant("g1"), 20).await.unwrap();
        let g = grant("g1");
        let (u1, u2) = (update(30, 1), update(30, 1));
        let (a, b) = tokio::join!(s.redeem_code(&g, &u1), s.redeem_code(&g, &u2));
        assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
        let stored = s.get_grant("g1").await.unwrap().unwrap();
        assert_eq!(stored.code.redeemed_at, Some(30));
        assert_eq!(stored.refresh.unwrap().generation, 1);
        assert_eq!(stored.expires_at, 1030);
        assert!(matches!(
            s.redeem_code(&g, &update(31, 1)).await,
            Err(StoreError::Conflict)
        ));
    }
}

#[tokio::test]
async fn a_redemption_needs_the_users_epoch_the_client_and_the_codes_hash() {
    let s = store_with_session().await;
    for id in ["g1", "g2", "g3"] {
        s.create_grant(&grant(id), 20).await.unwrap();
    }
    let mut wrong_hash = grant("g3");
    wrong_hash.code.hash = SecretHash::of("forged");
    assert!(matches!(
        s.redeem_code(&wrong_hash, &update(30, 1)).await,
        Err(StoreError::Conflict)
    ));
    assert!(s.end_sessions("alice").await.unwrap());
    assert!(matches!(
        s.redeem_code(&grant("g1"), &update(30, 1)).await,
        Err(StoreError::Conflict)
    ));
    let mut next_epoch = grant("g2");
    next_epoch.user.epoch = 1;
    s.delete_client("c").await.unwrap();
    assert!(matches!(
        s.redeem_code(&next_epoch, &update(30, 1)).await,
        Err(StoreError::Conflict)
    ));
    for id in ["g1", "g2", "g3"] {
        let g = s.get_grant(id).await.unwrap().unwrap();
        assert_eq!(g.code.redeemed_at, None, "{id}: nothing written");
    }
}

#[tokio::test]
async fn a_refresh_rotates_only_from_the_current_generation_once() {
    let s = store_with_session().await;
    let g = grant("g1");
    s.create_grant(&g, 20).await.unwrap();
    s.redeem_code(&g, &update(30, 1)).await.unwrap();
    let (u1, u2) = (update(40, 2), update(40, 2));
    let (a, b) = tokio::join!(s.rotate_refresh(&g, 1, &u1), s.rotate_refresh(&g, 1, &u2));
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
    assert!(matches!(
        s.rotate_refresh(&g, 1, &update(41, 2)).await,
        Err(StoreError::Conflict)
    ));
    s.rotate_refresh(&g, 2, &update(42, 3)).await.unwrap();
    let stored = s.get_grant("g1").await.unwrap().unwrap();
    assert_eq!(stored.refresh.unwrap().generation, 3);
    assert_eq!(stored.last_used_at, 42);
}

#[tokio::test]
async fn revoking_a_grant_is_one_conditional_write_that_ends_it() {
    let s = store_with_session().await;
    let g = grant("g1");
    s.create_grant(&g, 20).await.unwrap();
    s.redeem_code(&g, &update(30, 1)).await.unwrap();
    assert!(
        !s.revoke_grant("g1", Some("other"), RevokeReason::ClientRevocation, 40)
            .await
            .unwrap(),
        "another client's grant is left alone"
    );
    assert!(
        s.revoke_grant("g1", Some("c"), RevokeReason::ClientRevocation, 40)
            .await
            .unwrap()
    );
    assert!(
        !s.revoke_grant("g1", None, RevokeReason::Operator, 41)
            .await
            .unwrap(),
        "once"
    );
    assert!(
        !s.revoke_grant("nope", None, RevokeReason::Operator, 41)
            .await
            .unwrap()
    );
    assert!(
        s.get_grant("nope").await.unwrap().is_none(),
        "nothing created"
    );
    let stored = s.get_grant("g1").await.unwrap().unwrap();
    assert_eq!(
        stored.state,
        GrantState::Revoked {
            at: 40,
            reason: RevokeReason::ClientRevocation
        }
    );
    assert!(matches!(
        s.rotate_refresh(&g, 1, &update(50, 2)).await,
        Err(StoreError::Conflict)
    ));
}

#[tokio::test]
async fn grants_are_listed_by_user_and_by_client() {
    let s = store_with_session().await;
    s.create_client(&client("c2", ClientType::Confidential))
        .await
        .unwrap();
    let mut other = grant("g2");
    other.client_id = "c2".into();
    other.created_at = 25;
    s.create_grant(&grant("g1"), 20).await.unwrap();
    s.create_grant(&other, 25).await.unwrap();
    let ids = |v: Vec<Grant>| v.into_iter().map(|g| g.grant_id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_grants(GrantsOf::User("alice")).await.unwrap()),
        ["g2", "g1"],
        "newest first"
    );
    assert_eq!(
        ids(s.list_grants(GrantsOf::Client("c2")).await.unwrap()),
        ["g2"]
    );
    assert!(
        s.list_grants(GrantsOf::User("bob"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_token_state_is_read_in_one_request() {
    let s = store_with_session().await;
    s.create_grant(&grant("g1"), 20).await.unwrap();
    let state = s
        .token_state(&TokenStateQuery {
            grant_id: Some("g1"),
            client_id: Some("c"),
            jti: Some("j1"),
            caller_id: None,
        })
        .await
        .unwrap();
    assert_eq!(state.grant, Some(grant("g1")));
    assert_eq!(state.client.unwrap().client_id, "c");
    assert!(!state.jti_revoked);
    s.revoke_access_token("j1", "c", 500).await.unwrap();
    s.revoke_access_token("j1", "c", 500).await.unwrap();
    let state = s
        .token_state(&TokenStateQuery {
            grant_id: Some("nope"),
            client_id: Some("nope"),
            jti: Some("j1"),
            caller_id: None,
        })
        .await
        .unwrap();
    assert!(state.grant.is_none() && state.client.is_none());
    assert!(state.jti_revoked, "idempotent, and listed until it expires");
    let none = s.token_state(&TokenStateQuery::default()).await.unwrap();
    assert!(none.grant.is_none() && !none.jti_revoked);
    // The caller of introspection is read in the same request: once when it is
    // the token's client, apart from it when it is another.
    let same = s
        .token_state(&TokenStateQuery {
            client_id: Some("c"),
            caller_id: Some("c"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(same.client.unwrap().client_id, "c");
    assert_eq!(same.caller.unwrap().client_id, "c");
    let other = s
        .token_state(&TokenStateQuery {
            client_id: Some("nope"),
            caller_id: Some("c"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(other.client.is_none());
    assert_eq!(other.caller.unwrap().client_id, "c");
    let raw = s
        .client()
        .get_item()
        .table_name(&s.tables().tokens)
        .key("jti", AttributeValue::S("j1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(raw["ttl"], AttributeValue::N((500 + 24 * 3600).to_string()));
}

#[tokio::test]
async fn the_epoch_moves_on_with_a_password_change_disabling_and_end_sessions() {
    let s = store().await;
    s.create_user(&user("alice")).await.unwrap();
    let epoch = |s: &DynamoStore| {
        let s = s.clone();
        async move { s.get_user_state("alice").await.unwrap().unwrap().epoch }
    };
    assert_eq!(epoch(&s).await, 0);
    s.set_password("alice", "$argon2id$new", 7).await.unwrap();
    assert_eq!(epoch(&s).await, 1);
    s.set_disabled("alice", true).await.unwrap();
    assert_eq!(epoch(&s).await, 2);
    s.set_disabled("alice", false).await.unwrap();
    assert_eq!(epoch(&s).await, 2, "enabling revives nothing");
    s.end_sessions("alice").await.unwrap();
    assert_eq!(epoch(&s).await, 3);
    assert!(!s.end_sessions("nobody").await.unwrap());
    assert!(s.get_user("nobody").await.unwrap().is_none());
    let state = s.get_user_state("alice").await.unwrap().unwrap();
    assert!(!format!("{state:?}").contains("argon2"), "no password hash");
}

#[tokio::test]
async fn a_profile_update_sets_keeps_or_removes_each_claim_and_moves_no_epoch() {
    use gatehouse_core::domain::user::ProfileChange;
    let s = store().await;
    s.create_user(&user("alice")).await.unwrap();
    let set = ProfileChange {
        email: Some("alice@example.com".into()),
        email_verified: Some(true),
        name: Some("Alice".into()),
        ..ProfileChange::default()
    };
    assert!(s.update_profile("alice", &set, 9).await.unwrap());
    let remove = ProfileChange {
        name: Some(String::new()),
        ..ProfileChange::default()
    };
    assert!(s.update_profile("alice", &remove, 10).await.unwrap());
    let p = s.get_user_profile("alice").await.unwrap().unwrap();
    assert_eq!(p.user_id, "id-alice");
    assert_eq!(
        p.profile.email.as_deref(),
        Some("alice@example.com"),
        "kept"
    );
    assert!(p.profile.email_verified);
    assert_eq!(p.profile.name, None, "removed");
    assert_eq!(p.profile.updated_at, 10);
    assert_eq!(s.get_user_state("alice").await.unwrap().unwrap().epoch, 0);
    assert_eq!(
        s.get_user("alice").await.unwrap().unwrap().profile,
        p.profile
    );
    assert!(!s.update_profile("nobody", &set, 11).await.unwrap());
    assert!(s.get_user_profile("nobody").await.unwrap().is_none());
    assert!(!format!("{p:?}").contains("argon2"), "no password hash");
}

/// Keys of the layout before the secrets table: private halves and HMAC keys in
/// the keys table. The migration moves them, once, and leaves only public records.
#[tokio::test]
async fn legacy_private_keys_and_hmac_keys_move_to_the_secrets_table() {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let s = store().await;
    let pair =
        gatehouse_core::keys::KeyPair::generate(SigningAlgorithm::Es256, KeyStatus::Active, 5)
            .unwrap();
    let k = &pair.public;
    let put = |item: Vec<(&str, V)>| {
        let mut req = s.client().put_item().table_name(&s.tables().keys);
        for (a, v) in item {
            req = req.item(a, v);
        }
        req.send()
    };
    put(vec![
        ("kid", V::S(k.kid.clone())),
        ("alg", V::S("ES256".into())),
        ("status", V::S("active".into())),
        ("public_jwk", V::S(k.public_jwk.clone())),
        ("created_at", V::N("5".into())),
        ("activated_at", V::N("5".into())),
        ("private_der", V::B(Blob::new(pair.private.0.clone()))),
    ])
    .await
    .unwrap();
    put(vec![
        ("kid", V::S("session-key".into())),
        (
            "secret",
            V::S("legacy-session-key-0123456789abcdefghijklmnop".into()),
        ),
    ])
    .await
    .unwrap();
    // Before: the key is listed, but it has no private half where the signer looks.
    assert_eq!(
        s.list_keys().await.unwrap().len(),
        1,
        "the HMAC item is not a key"
    );
    assert!(s.private_key(&k.kid).await.unwrap().is_none());

    assert_eq!(s.migrate_legacy_keys().await.unwrap(), 2);
    assert_eq!(
        s.private_key(&k.kid).await.unwrap(),
        Some(pair.private.clone())
    );
    assert_eq!(
        s.existing_secret_key(SecretKeyPurpose::Session)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "legacy-session-key-0123456789abcdefghijklmnop"
    );
    let raw = s
        .client()
        .scan()
        .table_name(&s.tables().keys)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.items().len(), 1);
    assert!(!raw.items()[0].contains_key("private_der"));
    assert_eq!(s.list_keys().await.unwrap()[0], *k);
    assert_eq!(s.migrate_legacy_keys().await.unwrap(), 0, "idempotent");
}

fn upstream_state(state: &str, expires_at: u64) -> UpstreamState {
    UpstreamState {
        state_hash: SecretHash::of(state),
        provider_id: "idp".into(),
        browser_hash: SecretHash::of("browser"),
        nonce: Secret::new("the-nonce"),
        pkce_verifier: Secret::new("the-verifier"),
        downstream_request: "client_id=app&response_type=code&state=xyz".into(),
        created_at: 10,
        expires_at,
    }
}

#[tokio::test]
async fn an_upstream_state_is_stored_once_and_its_value_never() {
    let s = store().await;
    let x = upstream_state("state-1", 600);
    s.put_state(&x).await.unwrap();
    assert!(matches!(s.put_state(&x).await, Err(StoreError::Conflict)));
    let items = s
        .client()
        .scan()
        .table_name(&s.tables().upstream_states)
        .send()
        .await
        .unwrap();
    let dump = format!("{:?}", items.items());
    assert!(!dump.contains("state-1"), "the state value is not stored");
    assert!(!dump.contains("\"browser\""), "nor the cookie value");
    let item = &items.items()[0];
    assert_eq!(item["ttl"], AttributeValue::N("600".into()));
}

#[tokio::test]
async fn an_upstream_state_is_taken_once_and_never_unknown_or_expired() {
    let s = store().await;
    assert_eq!(
        s.take_state(SecretHash::of("nobody").as_str(), 1)
            .await
            .unwrap(),
        None
    );
    s.put_state(&upstream_state("late", 100)).await.unwrap();
    assert_eq!(
        s.take_state(SecretHash::of("late").as_str(), 100)
            .await
            .unwrap(),
        None,
        "expired at its expiry"
    );
    let x = upstream_state("state-2", 600);
    s.put_state(&x).await.unwrap();
    let key = x.state_hash.as_str();
    assert_eq!(s.take_state(key, 599).await.unwrap(), Some(x.clone()));
    assert_eq!(s.take_state(key, 599).await.unwrap(), None, "a replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_callbacks_take_a_state_at_most_once() {
    for transport in TRANSPORTS {
        let s = store_through(transport).await;
        let x = upstream_state("state-3", 600);
        s.put_state(&x).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let s = s.clone();
            let key = x.state_hash.as_str().to_owned();
            tasks.spawn(async move { s.take_state(&key, 100).await.unwrap() });
        }
        let taken: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(taken, vec![x]);
    }
}

fn identity(issuer: &str, subject: &str, u: &User) -> FederatedIdentity {
    FederatedIdentity {
        issuer: issuer.into(),
        subject: subject.into(),
        provider_id: "idp".into(),
        user_id: u.user_id.clone(),
        username: u.username.clone(),
        email_at_link: Some("someone@example.com".into()),
        linked_at: 5,
    }
}

fn passwordless(name: &str) -> User {
    User {
        password_hash: None,
        ..user(name)
    }
}

#[tokio::test]
async fn an_identity_links_to_an_existing_user_once_and_to_one_user_ever() {
    let s = store().await;
    let alice = passwordless("alice");
    let bob = user("bob");
    let a = identity("https://idp.example", "123", &alice);
    assert!(
        matches!(s.link_identity(&a).await, Err(StoreError::Conflict)),
        "no such user"
    );
    s.create_user(&alice).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let forged = FederatedIdentity {
        user_id: "id-someone-else".into(),
        ..a.clone()
    };
    assert!(
        matches!(s.link_identity(&forged).await, Err(StoreError::Conflict)),
        "the user's id must match"
    );
    s.link_identity(&a).await.unwrap();
    assert!(
        matches!(s.link_identity(&a).await, Err(StoreError::Conflict)),
        "the same link again"
    );
    assert!(
        matches!(
            s.link_identity(&identity("https://idp.example", "123", &bob))
                .await,
            Err(StoreError::Conflict)
        ),
        "another user"
    );
    assert_eq!(
        s.get_identity("https://idp.example", "123").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        s.get_identity("https://idp.example", "12").await.unwrap(),
        None
    );
    assert_eq!(
        s.get_identity("https://idp.example1", "23").await.unwrap(),
        None
    );
    // Pairs whose plain concatenation would be equal are different identities.
    let b = identity("https://idp.example1", "23", &bob);
    s.link_identity(&b).await.unwrap();
    assert_ne!(identity_key(&a.issuer, &a.subject), b.key());
    assert_eq!(s.identities_of("alice").await.unwrap(), vec![a]);
    assert_eq!(s.identities_of("bob").await.unwrap(), vec![b]);
    assert_eq!(s.identities_of("nobody").await.unwrap(), vec![]);
}

#[tokio::test]
async fn the_last_way_to_sign_in_is_never_unlinked() {
    let s = store().await;
    let alice = passwordless("alice");
    s.create_user(&alice).await.unwrap();
    s.create_user(&user("bob")).await.unwrap();
    let a = identity("https://idp.example", "a", &alice);
    s.link_identity(&a).await.unwrap();
    assert_eq!(
        s.unlink("https://idp.example", "a", "bob").await.unwrap(),
        Unlink::NotFound,
        "another user's identity"
    );
    assert_eq!(
        s.unlink("https://idp.example", "nope", "alice")
            .await
            .unwrap(),
        Unlink::NotFound
    );
    assert_eq!(
        s.unlink("https://idp.example", "a", "alice").await.unwrap(),
        Unlink::LastMethod
    );
    assert_eq!(s.identities_of("alice").await.unwrap(), vec![a.clone()]);
    let b = identity("https://other.example", "b", &alice);
    s.link_identity(&b).await.unwrap();
    assert_eq!(
        s.unlink("https://idp.example", "a", "alice").await.unwrap(),
        Unlink::Unlinked,
        "another identity remains"
    );
    assert_eq!(
        s.unlink("https://other.example", "b", "alice")
            .await
            .unwrap(),
        Unlink::LastMethod
    );
    assert!(s.set_password("alice", "$argon2id$new", 9).await.unwrap());
    assert_eq!(
        s.unlink("https://other.example", "b", "alice")
            .await
            .unwrap(),
        Unlink::Unlinked,
        "the password remains"
    );
    assert_eq!(s.identities_of("alice").await.unwrap(), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_unlinks_of_the_last_two_identities_leave_one() {
    let s = store().await;
    for round in 0..5 {
        let name = format!("user{round}");
        let u = passwordless(&name);
        s.create_user(&u).await.unwrap();
        let a = identity("https://a.example", &name, &u);
        let b = identity("https://b.example", &name, &u);
        s.link_identity(&a).await.unwrap();
        s.link_identity(&b).await.unwrap();
        let (ra, rb) = tokio::join!(
            s.unlink(&a.issuer, &a.subject, &name),
            s.unlink(&b.issuer, &b.subject, &name)
        );
        let mut outcomes = vec![ra.unwrap(), rb.unwrap()];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            vec![Unlink::LastMethod, Unlink::Unlinked],
            "{name}"
        );
        assert_eq!(s.identities_of(&name).await.unwrap().len(), 1, "{name}");
    }
}
