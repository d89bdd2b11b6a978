//! `gatehouse user show` lists a user's linked upstream identities, and
//! `gatehouse user unlink` removes one, never the user's last way to sign in.
//! The users and identities are written through the store into the embedded
//! engine (no command links an identity yet); the commands reach it with
//! `--dynamodb-endpoint`.

mod gatehouse_bin;

use gatehouse::engine::Engine;
use gatehouse_bin::BIN;
use gatehouse_core::domain::federated_identity::FederatedIdentity;
use gatehouse_core::domain::user::User;
use gatehouse_core::store::{DynamoStore, IdentityStore, TableNames, UserStore};
use std::process::{Command, Output};

const IDP_A: &str = "https://a.idp.example";
const IDP_B: &str = "https://b.idp.example/tenant";

fn user(name: &str, password_hash: Option<&str>) -> User {
    User {
        username: name.into(),
        user_id: format!("id-{name}"),
        password_hash: password_hash.map(str::to_owned),
        disabled: false,
        created_at: 1,
        password_changed_at: 1,
        epoch: 0,
        profile: Default::default(),
    }
}

fn identity(issuer: &str, subject: &str, provider: &str, u: &User, at: u64) -> FederatedIdentity {
    FederatedIdentity {
        issuer: issuer.into(),
        subject: subject.into(),
        provider_id: provider.into(),
        user_id: u.user_id.clone(),
        username: u.username.clone(),
        email_at_link: None,
        linked_at: at,
    }
}

/// An engine with `fed` (no password; identities at A and B) and `pw` (a
/// password; one identity at A).
async fn seeded() -> Engine {
    let engine = Engine::in_memory().await.unwrap();
    let tables = TableNames::with_prefix("gatehouse");
    let db = engine.client().await;
    tables.create_missing(&db).await.unwrap();
    let store = DynamoStore::new(db, tables);
    let fed = user("fed", None);
    let pw = user("pw", Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    store.create_user(&fed).await.unwrap();
    store.create_user(&pw).await.unwrap();
    for i in [
        identity(IDP_A, "sub-a", "alpha", &fed, 100),
        identity(IDP_B, "sub-b", "beta", &fed, 200),
        identity(IDP_A, "sub-pw", "alpha", &pw, 300),
    ] {
        store.link_identity(&i).await.unwrap();
    }
    engine
}

fn run(engine: &Engine, args: &[&str], stdin: &str) -> Output {
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
    gatehouse_bin::with_stdin(command, stdin)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
}

fn usage_error(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
}

fn shown(engine: &Engine, name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&run(engine, &["show", name, "--json"], ""))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlink_refuses_unknown_users_identities_and_bad_arguments() {
    let engine = seeded().await;
    fails(&run(&engine, &["show", "nobody"], ""), "no user `nobody`");
    fails(
        &run(
            &engine,
            &["unlink", "nobody", "--issuer", IDP_A, "--subject", "sub-a"],
            "",
        ),
        "no user `nobody`",
    );
    usage_error(
        &run(&engine, &["unlink", "fed", "--subject", "sub-a"], ""),
        "--issuer",
    );
    usage_error(
        &run(
            &engine,
            &[
                "unlink",
                "fed",
                "--issuer",
                IDP_A,
                "--provider",
                "alpha",
                "--subject",
                "sub-a",
            ],
            "",
        ),
        "cannot be used with",
    );
    usage_error(
        &run(&engine, &["unlink", "fed", "--issuer", IDP_A], ""),
        "--subject",
    );
    fails(
        &run(
            &engine,
            &["unlink", "fed", "--issuer", IDP_A, "--subject", "sub-pw"],
            "",
        ),
        "fed has no identity with subject `sub-pw`",
    );
    fails(
        &run(
            &engine,
            &["unlink", "fed", "--provider", "gamma", "--subject", "sub-a"],
            "",
        ),
        "from provider `gamma`",
    );
    // Nothing was removed.
    assert_eq!(
        shown(&engine, "fed")["identities"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        shown(&engine, "pw")["identities"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_lists_the_identities_and_the_last_way_to_sign_in_stays() {
    let engine = seeded().await;
    let fed = shown(&engine, "fed");
    assert_eq!(fed["password"], false);
    assert_eq!(
        fed["identities"],
        serde_json::json!([
            {"issuer": IDP_A, "subject": "sub-a", "provider": "alpha", "linked_at": 100},
            {"issuer": IDP_B, "subject": "sub-b", "provider": "beta", "linked_at": 200},
        ])
    );
    let text = ok(&run(&engine, &["show", "fed"], ""));
    assert!(text.contains("password  none"), "{text}");
    assert!(
        text.contains(&format!("{IDP_B}  sub-b  provider beta  linked_at 200")),
        "{text}"
    );

    ok(&run(
        &engine,
        &["unlink", "fed", "--issuer", IDP_A, "--subject", "sub-a"],
        "",
    ));
    fails(
        &run(
            &engine,
            &["unlink", "fed", "--provider", "beta", "--subject", "sub-b"],
            "",
        ),
        "refused: this identity is the last way fed can sign in",
    );
    assert_eq!(
        shown(&engine, "fed")["identities"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    ok(&run(
        &engine,
        &["set-password", "fed", "--password-stdin"],
        "correct horse battery\n",
    ));
    assert_eq!(shown(&engine, "fed")["password"], true);
    ok(&run(
        &engine,
        &["unlink", "fed", "--provider", "beta", "--subject", "sub-b"],
        "",
    ));
    let text = ok(&run(&engine, &["show", "fed"], ""));
    assert!(text.contains("identities: none"), "{text}");

    // A user with a password may unlink their only identity.
    ok(&run(
        &engine,
        &["unlink", "pw", "--issuer", IDP_A, "--subject", "sub-pw"],
        "",
    ));
    assert_eq!(shown(&engine, "pw")["identities"], serde_json::json!([]));
}
