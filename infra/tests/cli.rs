//! The `gatehouse` command as a person uses it: `serve` on a data directory, admin
//! commands against it while it runs and after it stops, and their errors.

mod cloudformation;
mod gatehouse_bin;

use cloudformation::{CloudFormation, Stack};
use gatehouse_bin::{BIN, Serve};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn gatehouse(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("GATEHOUSE_DYNAMODB_ENDPOINT")
        .output()
        .expect("gatehouse runs")
}

fn ok_json(out: Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

async fn token(url: &str, id: &str, secret: &str) -> u16 {
    http_client()
        .post(format!("{url}/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn admin_commands_reach_a_running_server_at_once_and_the_data_persists() {
    let dir = data_dir("running");
    let serve = Serve::start(&dir);

    let created = ok_json(gatehouse(
        &dir,
        &[
            "client",
            "create",
            "--name",
            "Billing",
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read write",
            "--json",
        ],
    ));
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "a 256-bit secret");
    assert_eq!(
        token(&serve.url, &id, &secret).await,
        200,
        "the running server sees the new client"
    );

    let shown = ok_json(gatehouse(&dir, &["client", "show", &id, "--json"]));
    assert_eq!(shown["name"], "Billing");
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is never shown again"
    );

    let planned = ok_json(gatehouse(
        &dir,
        &[
            "client",
            "rotate-secret",
            &id,
            "--grace-seconds",
            "3600",
            "--json",
        ],
    ));
    let second = planned["client_secret"].as_str().unwrap();
    assert_eq!(
        token(&serve.url, &id, &secret).await,
        200,
        "the old secret works during the grace"
    );
    assert_eq!(token(&serve.url, &id, second).await, 200);

    let rotated = ok_json(gatehouse(&dir, &["client", "rotate-secret", &id, "--json"]));
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_eq!(
        token(&serve.url, &id, &secret).await,
        401,
        "a rotation without grace ends every old secret"
    );
    assert_eq!(token(&serve.url, &id, second).await, 401);
    assert_eq!(token(&serve.url, &id, new_secret).await, 200);

    let keys = ok_json(gatehouse(&dir, &["keys", "list", "--json"]));
    assert_eq!(keys.as_array().unwrap().len(), 2);
    let out = gatehouse(&dir, &["keys", "rotate", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = ok_json(gatehouse(&dir, &["keys", "list", "--json"]));
    assert_eq!(keys.as_array().unwrap().len(), 3);

    drop(serve);
    let listed = ok_json(gatehouse(&dir, &["client", "list", "--json"]));
    assert_eq!(
        listed[0]["client_id"],
        id.as_str(),
        "the data outlives the server"
    );

    let out = gatehouse(&dir, &["client", "delete", &id]);
    assert!(out.status.success());
    let serve = Serve::start(&dir);
    assert_eq!(
        token(&serve.url, &id, new_secret).await,
        401,
        "a deleted client cannot get tokens"
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Registers a confidential `client_credentials` client with scope `read`: its id
/// and secret.
fn cc_client(dir: &Path, name: &str) -> (String, String) {
    let created = ok_json(gatehouse(
        dir,
        &[
            "client",
            "create",
            "--name",
            name,
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--json",
        ],
    ));
    let field = |k: &str| created[k].as_str().unwrap().to_owned();
    (field("client_id"), field("client_secret"))
}

/// `serve` keeps the client records it reads, and a command through its engine
/// empties them: the deletion acts on the next request.
#[tokio::test]
async fn a_client_deleted_while_the_server_runs_gets_no_more_tokens() {
    let dir = data_dir("memo");
    let serve = Serve::start(&dir);
    let (id, secret) = &cc_client(&dir, "Reports");
    assert_eq!(token(&serve.url, id, secret).await, 200);
    assert_eq!(token(&serve.url, id, secret).await, 200);
    let out = gatehouse(&dir, &["client", "delete", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        token(&serve.url, id, secret).await,
        401,
        "a client deleted while the server runs gets no token"
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_command_says_which_target_it_acts_on() {
    let dir = data_dir("target");
    let out = gatehouse(&dir, &["client", "list"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("target: local data in"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_registrations_are_refused_with_a_clear_message() {
    let dir = data_dir("invalid");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "client_credentials",
                "--scope",
                "read",
            ],
            "public client",
        ),
        (
            &[
                "--type",
                "confidential",
                "--grant-type",
                "client_credentials",
                "--scope",
                "admin",
            ],
            "unknown scope",
        ),
        (
            &[
                "--type",
                "confidential",
                "--grant-type",
                "password",
                "--scope",
                "read",
            ],
            "unsupported grant type",
        ),
        (
            &[
                "--type",
                "secret",
                "--grant-type",
                "client_credentials",
                "--scope",
                "read",
            ],
            "unknown client type",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "http://evil.example/cb",
                "--scope",
                "read",
            ],
            "only loopback",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "http://localhost:3000/cb",
                "--scope",
                "read",
            ],
            "http://127.0.0.1 or http://[::1]",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "https://a.example/cb#x",
                "--scope",
                "read",
            ],
            "fragment",
        ),
        (
            &[
                "--type",
                "confidential",
                "--grant-type",
                "client_credentials",
                "--scope",
                "read",
                "--token-endpoint-auth-method",
                "none",
            ],
            "a confidential client authenticates with its secret",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "http://127.0.0.1/cb",
                "--scope",
                "read",
                "--token-endpoint-auth-method",
                "client_secret_basic",
            ],
            "a public client has no secret: its token endpoint auth method is none, not client_secret_basic",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "http://127.0.0.1/cb",
                "--scope",
                "read",
                "--token-endpoint-auth-method",
                "client_secret_post",
            ],
            "not client_secret_post",
        ),
        (
            &[
                "--type",
                "confidential",
                "--grant-type",
                "client_credentials",
                "--scope",
                "read",
                "--token-endpoint-auth-method",
                "private_key_jwt",
            ],
            "unknown token endpoint auth method `private_key_jwt`",
        ),
        (
            &[
                "--type",
                "confidential",
                "--grant-type",
                "client_credentials",
                "--scope",
                "read",
                "--post-logout-redirect-uri",
                "https://a.example/out",
            ],
            "only a client that signs users in (authorization_code)",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "http://127.0.0.1/cb",
                "--scope",
                "read",
                "--post-logout-redirect-uri",
                "http://a.example/out",
            ],
            "only a loopback IP literal",
        ),
        (
            &[
                "--type",
                "public",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                "http://127.0.0.1/cb",
                "--scope",
                "read",
                "--post-logout-redirect-uri",
                "https://a.example/out#x",
            ],
            "must not have a fragment",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["client", "create", "--name", "X"];
        all.extend_from_slice(args);
        let out = gatehouse(&dir, &all);
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let list = ok_json(gatehouse(&dir, &["client", "list", "--json"]));
    assert_eq!(list, serde_json::json!([]), "nothing was registered");
    let out = gatehouse(&dir, &["client", "show", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client"));
    let out = gatehouse(&dir, &["client", "rotate-secret", "nope"]);
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn post_logout_redirect_uris_are_registered_and_shown() {
    let dir = data_dir("post-logout");
    let created = ok_json(gatehouse(
        &dir,
        &[
            "client",
            "create",
            "--name",
            "Web",
            "--json",
            "--type",
            "confidential",
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "read",
            "--post-logout-redirect-uri",
            "https://app.example/signed-out",
            "--post-logout-redirect-uri",
            "http://127.0.0.1:8080/out",
        ],
    ));
    let uris = serde_json::json!([
        "https://app.example/signed-out",
        "http://127.0.0.1:8080/out"
    ]);
    assert_eq!(created["post_logout_redirect_uris"], uris);
    let id = created["client_id"].as_str().unwrap();
    let shown = ok_json(gatehouse(&dir, &["client", "show", id, "--json"]));
    assert_eq!(shown["post_logout_redirect_uris"], uris);
    let text = stdout(&gatehouse(&dir, &["client", "show", id]));
    assert!(
        text.contains(
            "post-logout URIs: https://app.example/signed-out http://127.0.0.1:8080/out\n"
        ),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn client_create_records_the_auth_method_and_pkce_and_show_and_list_print_them() {
    let dir = data_dir("auth-method");
    let create = |extra: &[&str]| {
        let mut args = vec!["client", "create", "--name", "Svc", "--json"];
        args.extend_from_slice(extra);
        ok_json(gatehouse(&dir, &args))
    };
    let confidential = [
        "--type",
        "confidential",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "read",
    ];
    let public = [
        "--type",
        "public",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--scope",
        "read",
    ];
    let by_default = create(&confidential);
    assert_eq!(
        by_default["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(by_default["require_pkce"], false);
    let public_default = create(&public);
    assert_eq!(public_default["token_endpoint_auth_method"], "none");
    let mut args = confidential.to_vec();
    args.extend([
        "--token-endpoint-auth-method",
        "client_secret_post",
        "--require-pkce",
    ]);
    let post = create(&args);
    assert_eq!(post["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(
        post["token_endpoint_auth_methods_accepted"],
        serde_json::json!(["client_secret_post"])
    );
    assert_eq!(post["require_pkce"], true);
    assert!(post["client_secret"].is_string());
    let id = post["client_id"].as_str().unwrap();

    let shown = ok_json(gatehouse(&dir, &["client", "show", id, "--json"]));
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(shown["require_pkce"], true);
    let text = stdout(&gatehouse(&dir, &["client", "show", id]));
    assert!(
        text.contains("auth method:      client_secret_post\n"),
        "{text}"
    );
    assert!(text.contains("require PKCE:     yes\n"), "{text}");
    let text = stdout(&gatehouse(
        &dir,
        &["client", "show", by_default["client_id"].as_str().unwrap()],
    ));
    assert!(
        text.contains("auth method:      client_secret_basic\n"),
        "{text}"
    );
    assert!(!text.contains("require PKCE"), "{text}");

    let list = ok_json(gatehouse(&dir, &["client", "list", "--json"]));
    let method_of = |id: &serde_json::Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["client_id"] == *id)
            .map(|c| c["token_endpoint_auth_method"].clone())
    };
    assert_eq!(
        method_of(&by_default["client_id"]),
        Some("client_secret_basic".into())
    );
    assert_eq!(method_of(&public_default["client_id"]), Some("none".into()));
    assert_eq!(
        method_of(&post["client_id"]),
        Some("client_secret_post".into())
    );
    let text = stdout(&gatehouse(&dir, &["client", "list"]));
    assert!(
        text.lines().next().unwrap().contains("AUTH METHOD"),
        "{text}"
    );
    let line = text.lines().find(|l| l.starts_with(id)).unwrap();
    assert!(line.contains(" client_secret_post "), "{line}");
    for c in [&by_default, &public_default, &post] {
        let id = c["client_id"].as_str().unwrap();
        assert!(id.as_bytes()[0].is_ascii_alphanumeric(), "{id}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stored_without_a_method_is_shown_with_what_it_may_use_and_still_works() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let dir = data_dir("legacy-method");
    let serve = Serve::start(&dir);
    let (url, key_id, key_secret) = engine_of(&dir);
    let db = sdk_client(&url, &key_id, &key_secret).await;
    let s = |v: &str| AttributeValue::S(v.into());
    db.put_item()
        .table_name("gatehouse-clients")
        .item("client_id", s("old-service"))
        .item("name", s("Old service"))
        .item("client_type", s("confidential"))
        .item(
            "secret_hash",
            s(gatehouse_core::secret::SecretHash::of("old-secret").as_str()),
        )
        .item(
            "grant_types",
            AttributeValue::L(vec![s("client_credentials")]),
        )
        .item("redirect_uris", AttributeValue::L(vec![]))
        .item("allowed_scope", s("read"))
        .item("default_scope", s("read"))
        .item("created_at", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("the item is written");

    let shown = ok_json(gatehouse(
        &dir,
        &["client", "show", "old-service", "--json"],
    ));
    assert_eq!(shown["token_endpoint_auth_method"], serde_json::Value::Null);
    assert_eq!(
        shown["token_endpoint_auth_methods_accepted"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
    let text = stdout(&gatehouse(&dir, &["client", "show", "old-service"]));
    assert!(
        text.contains(
            "auth method:      client_secret_basic or client_secret_post (registered before the method was recorded)"
        ),
        "{text}"
    );
    assert_eq!(token(&serve.url, "old-service", "old-secret").await, 200);
    let post = http_client()
        .post(format!("{}/token", serve.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "old-service"),
            ("client_secret", "old-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        post.status().as_u16(),
        200,
        "client_secret_post still works"
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_endpoint_is_used_instead_of_the_local_data() {
    let engine = gatehouse::engine::Engine::in_memory().await.unwrap();
    let dir = data_dir("endpoint");
    let list = |credentials: Option<(&str, &str)>| {
        let mut command = Command::new(BIN);
        command
            .args(["--data-dir"])
            .arg(&dir)
            .args([
                "--dynamodb-endpoint",
                &engine.url,
                "client",
                "list",
                "--json",
            ])
            .env_remove("GATEHOUSE_DYNAMODB_ACCESS_KEY_ID")
            .env_remove("GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY");
        if let Some((id, secret)) = credentials {
            command
                .env("GATEHOUSE_DYNAMODB_ACCESS_KEY_ID", id)
                .env("GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY", secret);
        }
        command.output().unwrap()
    };

    // Without the engine's credentials: the dummy ones, which it refuses.
    let out = list(None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("UnrecognizedClientException"), "{stderr}");

    let out = list(Some((
        &engine.credentials.access_key_id,
        engine.credentials.secret_access_key.expose(),
    )));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&engine.url));
    assert!(!dir.exists(), "the local data directory is not touched");
}

#[test]
fn sync_origins_registers_the_origins_of_every_client_and_is_idempotent() {
    let dir = data_dir("sync-origins");
    code_client(&dir, "one");
    code_client(&dir, "two");
    let first = ok_json(gatehouse(&dir, &["client", "sync-origins", "--json"]));
    assert_eq!(first, serde_json::json!({"clients": 2, "stale_removed": 0}));
    let again = ok_json(gatehouse(&dir, &["client", "sync-origins", "--json"]));
    assert_eq!(again, first);
    let out = gatehouse(&dir, &["client", "sync-origins"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("origins of 2 client(s) are registered"));
}

#[test]
fn aws_targets_need_table_names() {
    let out = Command::new(BIN)
        .args(["--aws", "client", "list"])
        .env_remove("GATEHOUSE_CLIENTS_TABLE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--clients-table"));
}

/// `gatehouse user ...` with the password on standard input.
fn user_cmd(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = gatehouse_bin::on_local_data(dir);
    command.arg("user").args(args);
    gatehouse_bin::with_stdin(command, stdin)
}

#[test]
fn users_are_created_listed_disabled_and_deleted_with_passwords_from_stdin() {
    let dir = data_dir("users");
    let created = ok_json(user_cmd(
        &dir,
        &[
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--json",
        ],
        "correct horse battery\n",
    ));
    assert_eq!(created["username"], "alice");
    assert_eq!(created["disabled"], false);
    assert!(
        !created.to_string().contains("correct horse"),
        "the password is never printed"
    );
    let again = user_cmd(
        &dir,
        &["create", "--username", "alice", "--password-stdin"],
        "another password\n",
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("taken"));
    for (args, stdin, message) in [
        (
            vec!["create", "--username", "bob", "--password-stdin"],
            "short\n",
            "at least 8",
        ),
        (
            vec!["create", "--username", "bad name", "--password-stdin"],
            "long enough pw\n",
            "username",
        ),
        (vec!["disable", "nobody"], "", "no user"),
        (vec!["delete", "nobody"], "", "no user"),
        (
            vec!["set-password", "nobody", "--password-stdin"],
            "long enough pw\n",
            "no user",
        ),
    ] {
        let out = user_cmd(&dir, &args, stdin);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    let missing_flag = user_cmd(&dir, &["create", "--username", "carol"], "");
    assert!(
        !missing_flag.status.success(),
        "--password-stdin is required"
    );

    assert!(user_cmd(&dir, &["disable", "alice"], "").status.success());
    let list = ok_json(user_cmd(&dir, &["list", "--json"], ""));
    assert_eq!(list[0]["username"], "alice");
    assert_eq!(list[0]["disabled"], true);
    assert!(user_cmd(&dir, &["enable", "alice"], "").status.success());
    assert!(
        user_cmd(
            &dir,
            &["set-password", "alice", "--password-stdin"],
            "a new password\r\n"
        )
        .status
        .success()
    );
    assert!(user_cmd(&dir, &["delete", "alice"], "").status.success());
    let list = ok_json(user_cmd(&dir, &["list", "--json"], ""));
    assert_eq!(list, serde_json::json!([]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_profiles_are_set_at_creation_checked_and_updated() {
    let dir = data_dir("user-profiles");
    let help = gatehouse(&dir, &["user", "create", "--help"]);
    assert!(
        stdout(&help).contains("OpenID `sub`"),
        "the help names the sub"
    );
    let created = ok_json(user_cmd(
        &dir,
        &[
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--email",
            "alice@example.com",
            "--email-verified",
            "--name",
            "Alice Smith",
            "--given-name",
            "Alice",
            "--family-name",
            "Smith",
            "--json",
        ],
        "correct horse battery\n",
    ));
    assert!(created["user_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(created["email"], "alice@example.com");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["name"], "Alice Smith");
    assert_eq!(created["given_name"], "Alice");
    assert_eq!(created["family_name"], "Smith");
    assert_eq!(created["updated_at"], created["created_at"]);
    assert!(!created.to_string().contains("correct horse"));

    // Bad profiles are refused with a clear message, and nothing is created.
    for (args, message) in [
        (
            vec![
                "create",
                "--username",
                "bob",
                "--password-stdin",
                "--email",
                "bob",
            ],
            "e-mail address",
        ),
        (
            vec![
                "create",
                "--username",
                "bob",
                "--password-stdin",
                "--name",
                " Bob",
            ],
            "spaces",
        ),
        (vec!["update", "alice", "--email", "a@b"], "e-mail address"),
        (vec!["update", "alice"], "nothing to change"),
        (vec!["update", "nobody", "--name", "Nobody"], "no user"),
    ] {
        assert_fails(&user_cmd(&dir, &args, "long enough pw\n"), message);
    }
    assert_fails(
        &user_cmd(&dir, &["update", "alice", "--email-verified=maybe"], ""),
        "invalid value 'maybe' for '--email-verified",
    );

    let out = user_cmd(
        &dir,
        &[
            "update",
            "alice",
            "--name",
            "Alice Jones",
            "--family-name",
            "Jones",
            "--email-verified=false",
        ],
        "",
    );
    assert!(stdout(&out).contains("updated the profile of alice"));
    let list = ok_json(user_cmd(&dir, &["list", "--json"], ""));
    assert_eq!(list.as_array().unwrap().len(), 1, "bob was not created");
    let alice = &list[0];
    assert_eq!(alice["name"], "Alice Jones");
    assert_eq!(alice["family_name"], "Jones");
    assert_eq!(alice["given_name"], "Alice", "kept");
    assert_eq!(alice["email"], "alice@example.com", "kept");
    assert_eq!(alice["email_verified"], false);
    assert!(alice["updated_at"].as_u64() >= created["updated_at"].as_u64());
    // An empty value removes the claim.
    stdout(&user_cmd(&dir, &["update", "alice", "--email", ""], ""));
    let list = ok_json(user_cmd(&dir, &["list", "--json"], ""));
    assert!(list[0].get("email").is_none(), "{}", list[0]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A profile change is not a credential change: the user's grants live on.
#[tokio::test]
async fn a_profile_update_ends_no_grant() {
    let dir = data_dir("profile-update-grants");
    let serve = Serve::start(&dir);
    create_user(&dir, "alice");
    let photos = code_client(&dir, "Photo App");
    let rs = resource_server(&dir);
    let mut alice = Browser::new();
    let (access, refresh_token) = user_tokens(&serve.url, &mut alice, &photos, "alice").await;
    stdout(&user_cmd(
        &dir,
        &[
            "update",
            "alice",
            "--name",
            "Alice",
            "--email",
            "alice@example.com",
        ],
        "",
    ));
    assert_eq!(introspect(&serve.url, &rs, &access).await["active"], true);
    let (status, body) = refresh(&serve.url, &photos, &refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let (page, _) = alice.open_authorize(&serve.url, &photos.0).await;
    assert!(!page.is_login(), "the login session lives on");
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// `gatehouse grant ...` and `gatehouse user end-sessions`: grants made by real
// users through the real browser flow on `gatehouse serve`, ended from the
// command line while the server runs.

const PASSWORD: &str = "correct horse battery";
const REDIRECT: &str = "https://app.example/callback";

/// A failure of the command whose standard error says `message`.
fn assert_fails(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "should fail; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
}

/// A clap usage error: exit code 2 and the usage line.
fn assert_usage_error(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(message),
        "expected {message:?} in: {stderr}"
    );
    assert!(stderr.contains("Usage:"), "{stderr}");
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates `username` with [`PASSWORD`]; its `sub`.
fn create_user(dir: &Path, username: &str) -> String {
    let created = ok_json(user_cmd(
        dir,
        &[
            "create",
            "--username",
            username,
            "--password-stdin",
            "--json",
        ],
        &format!("{PASSWORD}\n"),
    ));
    created["user_id"].as_str().unwrap().to_owned()
}

/// A confidential client of the code flow with refresh tokens: id and secret.
fn code_client(dir: &Path, name: &str) -> (String, String) {
    let c = ok_json(gatehouse(
        dir,
        &[
            "client",
            "create",
            "--name",
            name,
            "--type",
            "confidential",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "read write",
            "--json",
        ],
    ));
    (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// A resource server: may introspect every client's tokens.
fn resource_server(dir: &Path) -> (String, String) {
    let c = ok_json(gatehouse(
        dir,
        &[
            "client",
            "create",
            "--name",
            "API",
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--introspect-any",
            "--json",
        ],
    ));
    (
        c["client_id"].as_str().unwrap().to_owned(),
        c["client_secret"].as_str().unwrap().to_owned(),
    )
}

fn grants_of(dir: &Path, by: &str, who: &str) -> Vec<serde_json::Value> {
    let flag = format!("--{by}");
    ok_json(gatehouse(dir, &["grant", "list", &flag, who, "--json"]))
        .as_array()
        .expect("a JSON array")
        .clone()
}

/// Undoes the HTML escaping of an attribute value (named and numeric entities).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').expect("an entity ends with ;");
        let ch = match &rest[1..end] {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") || e.starts_with("#X") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e => char::from_u32(e[1..].parse().unwrap()).unwrap(),
        };
        out.push(ch);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A page as a browser sees it.
struct Page {
    status: u16,
    location: Option<reqwest::Url>,
    body: String,
}

impl Page {
    /// The value of the input named `name`.
    fn field(&self, name: &str) -> String {
        let at = self
            .body
            .find(&format!("name=\"{name}\""))
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body));
        let start = self.body[..at].rfind('<').unwrap();
        let end = at + self.body[at..].find('>').unwrap();
        let tag = &self.body[start..end];
        let v = tag.find("value=\"").unwrap() + 7;
        unescape(&tag[v..v + tag[v..].find('"').unwrap()])
    }

    fn is_login(&self) -> bool {
        self.body.contains("name=\"password\"")
    }

    fn is_consent(&self) -> bool {
        self.body.contains("value=\"approve\"")
    }
}

/// A browser without a browser: keeps cookies, follows no redirect.
struct Browser {
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        gatehouse_core::outbound_http::install_default_provider();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
        }
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(reqwest::header::COOKIE, header);
        }
        let resp = req.send().await.expect("the server answers");
        for c in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| reqwest::Url::parse(l.to_str().unwrap()).expect("an absolute Location"));
        Page {
            status: resp.status().as_u16(),
            location,
            body: resp.text().await.unwrap(),
        }
    }

    /// Submits the form of `page` (login or consent) with `fields` besides its
    /// hidden request and CSRF token.
    async fn submit(&mut self, url: &str, page: &Page, fields: &[(&str, &str)]) -> Page {
        let request = page.field("request");
        let csrf = page.field("csrf_token");
        let mut form = vec![("request", request.as_str()), ("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        let req = self.http.post(format!("{url}/authorize")).form(&form);
        self.send(req).await
    }

    /// `GET /authorize` for `client_id` (scope `read`, PKCE S256): the first
    /// page, and the PKCE verifier.
    async fn open_authorize(&mut self, url: &str, client_id: &str) -> (Page, String) {
        let verifier = gatehouse_core::secret::random_token().expose().to_owned();
        let challenge = gatehouse_core::secret::SecretHash::of(&verifier)
            .as_str()
            .to_owned();
        let mut u = reqwest::Url::parse(&format!("{url}/authorize")).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "read")
            .append_pair("state", "st-1")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let req = self.http.get(u);
        (self.send(req).await, verifier)
    }

    /// [`Browser::open_authorize`], then signs in as `user` and approves when
    /// asked. The code of the final redirect, with its verifier.
    async fn authorize(&mut self, url: &str, client_id: &str, user: &str) -> (String, String) {
        let (mut page, verifier) = self.open_authorize(url, client_id).await;
        if page.is_login() {
            page = self
                .submit(
                    url,
                    &page,
                    &[
                        ("action", "login"),
                        ("username", user),
                        ("password", PASSWORD),
                    ],
                )
                .await;
        }
        if page.is_consent() {
            page = self.submit(url, &page, &[("action", "approve")]).await;
        }
        assert!(
            matches!(page.status, 302 | 303),
            "expected the redirect with the code, got {} {}",
            page.status,
            page.body
        );
        let loc = page.location.expect("the redirect has a Location");
        assert!(loc.as_str().starts_with(REDIRECT), "{loc}");
        let code = loc
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {loc}"));
        (code, verifier)
    }
}

/// POST /token as a confidential client: status and JSON body.
async fn token_request(
    url: &str,
    client: &(String, String),
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let resp = http_client()
        .post(format!("{url}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// The access and refresh token of a new grant of `user` to `client`: the user
/// signs in (in `browser`) and approves, the client redeems the code.
async fn user_tokens(
    url: &str,
    browser: &mut Browser,
    client: &(String, String),
    user: &str,
) -> (String, String) {
    let (code, verifier) = browser.authorize(url, &client.0, user).await;
    let (status, body) = token_request(
        url,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(url: &str, client: &(String, String), token: &str) -> (u16, serde_json::Value) {
    token_request(
        url,
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn introspect(url: &str, rs: &(String, String), token: &str) -> serde_json::Value {
    let resp = http_client()
        .post(format!("{url}/introspect"))
        .basic_auth(&rs.0, Some(&rs.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

#[test]
fn grant_commands_refuse_unknown_grants_users_and_bad_arguments() {
    let dir = data_dir("grant-errors");

    let out = gatehouse(&dir, &["grant", "revoke", "no-such-grant"]);
    assert_fails(&out, "no grant `no-such-grant`");
    assert!(out.stdout.is_empty(), "nothing on standard output");
    let out = gatehouse(&dir, &["grant", "revoke", "no-such-grant", "--json"]);
    assert_fails(&out, "no grant `no-such-grant`");
    assert!(out.stdout.is_empty(), "no JSON for a failure");

    let out = user_cmd(&dir, &["end-sessions", "nobody"], "");
    assert_fails(&out, "no user `nobody`");

    // Generated ids may begin with `-`: they are ids, not options.
    let out = gatehouse(&dir, &["grant", "revoke", "-Pno-such-grant"]);
    assert_fails(&out, "no grant `-Pno-such-grant`");
    let out = gatehouse(&dir, &["client", "show", "-Pno-such-client"]);
    assert_fails(&out, "no client `-Pno-such-client`");
    assert_eq!(
        ok_json(gatehouse(
            &dir,
            &["grant", "list", "--client", "-Pno-such-client", "--json"]
        )),
        serde_json::json!([])
    );

    assert_usage_error(
        &gatehouse(&dir, &["grant", "list"]),
        "the following required arguments were not provided",
    );
    assert_usage_error(
        &gatehouse(&dir, &["grant", "list", "--json"]),
        "--user <USER>",
    );
    assert_usage_error(
        &gatehouse(&dir, &["grant", "list", "--user", "a", "--client", "c"]),
        "cannot be used with",
    );
    assert_usage_error(&gatehouse(&dir, &["grant", "revoke"]), "<GRANT_ID>");
    assert_usage_error(&gatehouse(&dir, &["user", "end-sessions"]), "<USERNAME>");

    create_user(&dir, "alice");
    assert_eq!(
        stdout(&gatehouse(&dir, &["grant", "list", "--user", "alice"])).trim(),
        "no grants"
    );
    assert!(grants_of(&dir, "user", "alice").is_empty());
    let out = gatehouse(
        &dir,
        &["grant", "list", "--user", "alice", "--live", "--json"],
    );
    assert_eq!(ok_json(out), serde_json::json!([]));
    assert!(
        grants_of(&dir, "client", "no-such-client").is_empty(),
        "an unknown client has no grants"
    );
    let out = user_cmd(&dir, &["end-sessions", "alice"], "");
    assert!(
        stdout(&out).contains("ended every session and grant of alice"),
        "a user without sessions can have them ended"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn grant_list_shows_a_users_grant_and_grant_revoke_ends_its_tokens() {
    let dir = data_dir("grant-revoke");
    let serve = Serve::start(&dir);
    let sub = create_user(&dir, "alice");
    let client = code_client(&dir, "Photo App");
    let rs = resource_server(&dir);

    let mut browser = Browser::new();
    let (access, refresh_token) = user_tokens(&serve.url, &mut browser, &client, "alice").await;
    assert_eq!(introspect(&serve.url, &rs, &access).await["active"], true);

    let grants = grants_of(&dir, "user", "alice");
    assert_eq!(grants.len(), 1, "{grants:?}");
    let g = &grants[0];
    let grant_id = g["grant_id"].as_str().unwrap().to_owned();
    assert_eq!(g["state"], "live", "{g}");
    assert_eq!(g["client_id"], client.0.as_str());
    assert_eq!(g["username"], "alice");
    assert_eq!(g["sub"], sub.as_str());
    assert_eq!(g["scope"], "read", "the scope asked for, not all allowed");
    assert!(g["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    let created = g["created_at"].as_u64().unwrap();
    assert!(g["auth_time"].as_u64().unwrap() <= created);
    assert!(g["last_used_at"].as_u64().unwrap() >= created);
    assert!(g["expires_at"].as_u64().unwrap() > created);
    assert!(g.get("revoked_at").is_none() && g.get("revoked_reason").is_none());

    let by_client = grants_of(&dir, "client", &client.0);
    assert_eq!(by_client.len(), 1);
    assert_eq!(by_client[0]["grant_id"], grant_id.as_str());
    assert_eq!(by_client[0]["state"], "live");
    assert!(
        grants_of(&dir, "client", &rs.0).is_empty(),
        "another client's grants are not listed"
    );
    let live = ok_json(gatehouse(
        &dir,
        &["grant", "list", "--user", "alice", "--live", "--json"],
    ));
    assert_eq!(live.as_array().unwrap().len(), 1);

    let table = stdout(&gatehouse(&dir, &["grant", "list", "--user", "alice"]));
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for column in [
        "grant",
        "client",
        "user",
        "state",
        "created",
        "last used",
        "scope",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let row = lines.next().unwrap();
    for cell in [
        grant_id.as_str(),
        client.0.as_str(),
        "alice",
        "live",
        "read",
    ] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    assert_eq!(lines.next(), None);

    // The refresh token works before the revocation (and rotates).
    let (status, body) = refresh(&serve.url, &client, &refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let access2 = body["access_token"].as_str().unwrap().to_owned();
    let refresh2 = body["refresh_token"].as_str().unwrap().to_owned();

    let revoked = ok_json(gatehouse(&dir, &["grant", "revoke", &grant_id, "--json"]));
    assert_eq!(
        revoked,
        serde_json::json!({ "grant_id": grant_id, "revoked": true })
    );

    let (status, body) = refresh(&serve.url, &client, &refresh2).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    for token in [&access, &access2] {
        assert_eq!(
            introspect(&serve.url, &rs, token).await,
            serde_json::json!({ "active": false }),
            "every access token of the grant ends at once"
        );
    }

    let g = &grants_of(&dir, "user", "alice")[0];
    assert_eq!(g["grant_id"], grant_id.as_str());
    assert_eq!(g["state"], "revoked", "{g}");
    assert_eq!(g["revoked_reason"], "operator");
    let revoked_at = g["revoked_at"].as_u64().unwrap();
    assert!(revoked_at >= created);
    assert_eq!(grants_of(&dir, "client", &client.0)[0]["state"], "revoked");
    let live = ok_json(gatehouse(
        &dir,
        &["grant", "list", "--client", &client.0, "--live", "--json"],
    ));
    assert_eq!(
        live,
        serde_json::json!([]),
        "--live leaves the revoked grant out"
    );
    let table = stdout(&gatehouse(&dir, &["grant", "list", "--user", "alice"]));
    assert!(table.lines().nth(1).unwrap().contains("revoked"), "{table}");

    let again = gatehouse(&dir, &["grant", "revoke", &grant_id]);
    assert_fails(&again, &format!("grant `{grant_id}` was already revoked"));
    let g = &grants_of(&dir, "user", "alice")[0];
    assert_eq!(
        g["revoked_at"].as_u64(),
        Some(revoked_at),
        "a second revocation changes nothing"
    );

    // The user can still approve the client again: a new, live grant, listed
    // first. (Creation times are in seconds, and grants of the same second are
    // ordered by their random ids, so the new one is made a second later.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (access3, _) = user_tokens(&serve.url, &mut browser, &client, "alice").await;
    assert_eq!(introspect(&serve.url, &rs, &access3).await["active"], true);
    let grants = grants_of(&dir, "user", "alice");
    assert_eq!(grants.len(), 2);
    assert_ne!(grants[0]["grant_id"], grant_id.as_str(), "newest first");
    assert_eq!(grants[0]["state"], "live");
    assert_eq!(grants[1]["state"], "revoked");

    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_code_not_yet_redeemed_is_listed_as_code_issued_and_can_be_revoked() {
    let dir = data_dir("grant-code");
    let serve = Serve::start(&dir);
    create_user(&dir, "alice");
    let client = code_client(&dir, "Photo App");

    let (code, verifier) = Browser::new()
        .authorize(&serve.url, &client.0, "alice")
        .await;
    let grants = grants_of(&dir, "user", "alice");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["state"], "code issued", "{}", grants[0]);
    let grant_id = grants[0]["grant_id"].as_str().unwrap().to_owned();
    let live = ok_json(gatehouse(
        &dir,
        &["grant", "list", "--user", "alice", "--live", "--json"],
    ));
    assert_eq!(
        live,
        serde_json::json!([]),
        "a code is not a live grant yet"
    );

    assert!(
        gatehouse(&dir, &["grant", "revoke", &grant_id])
            .status
            .success()
    );
    let (status, body) = token_request(
        &serve.url,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"], "invalid_grant",
        "the code of a revoked grant"
    );
    assert_eq!(grants_of(&dir, "user", "alice")[0]["state"], "revoked");

    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn end_sessions_ends_every_grant_and_session_of_the_user_and_no_one_elses() {
    let dir = data_dir("end-sessions");
    let serve = Serve::start(&dir);
    create_user(&dir, "alice");
    create_user(&dir, "bob");
    let photos = code_client(&dir, "Photo App");
    let notes = code_client(&dir, "Notes");
    let rs = resource_server(&dir);

    let mut alice = Browser::new();
    let (a1, r1) = user_tokens(&serve.url, &mut alice, &photos, "alice").await;
    let (a2, r2) = user_tokens(&serve.url, &mut alice, &notes, "alice").await;
    let mut bob = Browser::new();
    let (b1, rb) = user_tokens(&serve.url, &mut bob, &photos, "bob").await;
    for t in [&a1, &a2, &b1] {
        assert_eq!(introspect(&serve.url, &rs, t).await["active"], true);
    }
    assert_eq!(grants_of(&dir, "user", "alice").len(), 2);

    let out = user_cmd(&dir, &["end-sessions", "alice"], "");
    assert!(stdout(&out).contains("ended every session and grant of alice"));

    for (client, token) in [(&photos, &r1), (&notes, &r2)] {
        let (status, body) = refresh(&serve.url, client, token).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant");
    }
    for t in [&a1, &a2] {
        assert_eq!(
            introspect(&serve.url, &rs, t).await,
            serde_json::json!({ "active": false })
        );
    }

    assert_eq!(
        introspect(&serve.url, &rs, &b1).await["active"],
        true,
        "bob's grant is untouched"
    );
    let (status, body) = refresh(&serve.url, &photos, &rb).await;
    assert_eq!(status, 200, "{body}");
    let grants = grants_of(&dir, "user", "bob");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["state"], "live");

    // Alice's login session ended too: her browser must sign in again.
    let (page, _) = alice.open_authorize(&serve.url, &photos.0).await;
    assert!(
        page.is_login(),
        "alice is asked to sign in again: {} {}",
        page.status,
        page.body
    );
    // Signing in again works, and makes a new live grant.
    let (a3, _) = user_tokens(&serve.url, &mut alice, &photos, "alice").await;
    assert_eq!(introspect(&serve.url, &rs, &a3).await["active"], true);

    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `end-sessions` ends the grants by moving the user's epoch on, without writing
/// to the grant records: `grant list` reads the user too, and says "ended".
#[tokio::test]
async fn grant_list_calls_grants_ended_by_end_sessions_ended_not_live() {
    let dir = data_dir("end-sessions-list");
    let serve = Serve::start(&dir);
    create_user(&dir, "alice");
    let client = code_client(&dir, "Photo App");
    let (_, refresh_token) = user_tokens(&serve.url, &mut Browser::new(), &client, "alice").await;
    assert!(
        user_cmd(&dir, &["end-sessions", "alice"], "")
            .status
            .success()
    );
    let (status, _) = refresh(&serve.url, &client, &refresh_token).await;
    assert_eq!(status, 400, "the grant has ended");

    let grants = grants_of(&dir, "user", "alice");
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["state"], "ended", "{}", grants[0]);
    assert!(grants[0]["ended_because"].is_string(), "{}", grants[0]);
    let live = ok_json(gatehouse(
        &dir,
        &["grant", "list", "--user", "alice", "--live", "--json"],
    ));
    assert_eq!(live, serde_json::json!([]));

    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

// The local data is its owner's: the directory 0700, every file 0600, and the
// engine's port answers only requests signed with the credentials beside the data.

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every entry of `dir` with its mode.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                mode(&e.path()),
            )
        })
        .collect();
    all.sort();
    all
}

/// The URL and credentials a running `serve` wrote into `dir`.
fn engine_of(dir: &Path) -> (String, String, String) {
    let url = std::fs::read_to_string(dir.join("engine-url")).unwrap();
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("engine-credentials")).unwrap())
            .unwrap();
    (
        url.trim().to_owned(),
        creds["access_key_id"].as_str().unwrap().to_owned(),
        creds["secret_access_key"].as_str().unwrap().to_owned(),
    )
}

async fn sdk_client(url: &str, id: &str, secret: &str) -> aws_sdk_dynamodb::Client {
    gatehouse_core::dynamodb::endpoint_client(
        url,
        &gatehouse_core::dynamodb::EndpointCredentials::new(
            id,
            gatehouse_core::secret::Secret::new(secret),
        ),
    )
    .await
}

/// The DynamoDB error code of a failed SDK call.
fn error_code<E, R>(
    result: Result<impl std::fmt::Debug, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let err = result.expect_err("the engine refuses");
    err.code().unwrap_or("no code").to_owned()
}

#[tokio::test]
async fn serve_keeps_the_data_directory_and_every_file_in_it_private_under_an_open_umask() {
    let dir = data_dir("private");
    let serve = Serve::start_with_open_umask(&dir);
    // Writes through the running engine (SQLite's write-ahead log grows).
    let out = gatehouse(
        &dir,
        &[
            "client",
            "create",
            "--name",
            "Billing",
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&dir), 0o700, "the data directory");
    let files = modes(&dir);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "engine-credentials",
        "engine-url",
        "gatehouse.db",
        "gatehouse.db-shm",
        "gatehouse.db-wal",
        "sam-local-env.json",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    for (name, m) in &files {
        assert_eq!(*m, 0o600, "{name} is {m:04o}; all: {files:?}");
    }
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_data_directory_left_open_is_tightened_and_the_command_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let dir = data_dir("tighten");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = dir.join("gatehouse.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();

    let out = gatehouse(&dir, &["client", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("private to its owner").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("gatehouse.db (was 0644)"), "{stderr}");
    assert_eq!(mode(&dir), 0o700);
    for (name, m) in modes(&dir) {
        assert_eq!(m, 0o600, "{name}");
    }

    let out = gatehouse(&dir, &["client", "list"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("private to its owner"),
        "nothing more to say"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_refuses_requests_not_signed_with_its_credentials() {
    let dir = data_dir("refuses");
    let serve = Serve::start(&dir);
    let (url, id, secret) = engine_of(&dir);

    // A raw POST without a signature, as any local user could send.
    let resp = http_client()
        .post(&url)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.ListTables")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["__type"], "com.amazon.coral.service#MissingAuthenticationTokenException",
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");

    // A signature-shaped header that is not a signature.
    let resp = http_client()
        .post(&url)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.ListTables")
        .header("x-amz-date", "20260101T000000Z")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential={id}/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}", "0".repeat(64)),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["__type"], "com.amazon.coral.service#InvalidSignatureException",
        "{body}"
    );

    // The AWS SDK with other credentials.
    let mut wrong_secret = secret.clone();
    wrong_secret.replace_range(0..1, if secret.starts_with('A') { "B" } else { "A" });
    let other = sdk_client(&url, &id, &wrong_secret).await;
    assert_eq!(
        error_code(other.list_tables().send().await),
        "InvalidSignatureException"
    );
    let other = sdk_client(&url, "local", "local").await;
    assert_eq!(
        error_code(other.list_tables().send().await),
        "UnrecognizedClientException"
    );

    // And with the engine's own.
    let own = sdk_client(&url, &id, &secret).await;
    let tables = own
        .list_tables()
        .send()
        .await
        .expect("the engine's credentials are accepted");
    assert!(
        tables
            .table_names()
            .contains(&"gatehouse-clients".to_owned())
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn commands_sign_with_the_credentials_in_the_data_directory() {
    let dir = data_dir("signs");
    let serve = Serve::start(&dir);
    let out = gatehouse(&dir, &["client", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("through the running server's engine"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Other credentials in the file: the running engine refuses the command.
    let path = dir.join("engine-credentials");
    let genuine = std::fs::read(&path).unwrap();
    let (_, id, _) = engine_of(&dir);
    std::fs::write(
        &path,
        serde_json::json!({"access_key_id": id, "secret_access_key": "x".repeat(43)}).to_string(),
    )
    .unwrap();
    let out = gatehouse(&dir, &["client", "list"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("InvalidSignatureException"), "{stderr}");

    std::fs::write(&path, &genuine).unwrap();
    let out = gatehouse(&dir, &["client", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_writes_a_sam_local_env_file_with_the_engine_and_its_credentials() {
    let dir = data_dir("samlocal");
    let serve = Serve::start(&dir);
    let (url, id, secret) = engine_of(&dir);
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sam-local-env.json")).unwrap())
            .unwrap();
    let vars = &env["Parameters"];
    let port = url.rsplit(':').next().unwrap();
    assert_eq!(
        vars["GATEHOUSE_DYNAMODB_ENDPOINT"],
        format!("http://host.docker.internal:{port}")
    );
    assert_eq!(vars["GATEHOUSE_DYNAMODB_ACCESS_KEY_ID"], id.as_str());
    assert_eq!(
        vars["GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY"],
        secret.as_str()
    );
    assert_eq!(vars["GATEHOUSE_CLIENTS_TABLE"], "gatehouse-clients");
    assert_eq!(
        vars["GATEHOUSE_LOGIN_ATTEMPTS_TABLE"],
        "gatehouse-login-attempts"
    );
    assert_eq!(vars["GATEHOUSE_ISSUER"], "http://127.0.0.1:3000");
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

// `--aws --stack NAME`: the table names come from the stack's outputs. CloudFormation
// is stood in for by a loopback server (`cloudformation/mod.rs`) and the stack's
// tables by the embedded engine; the SDK reaches both through the standard
// `AWS_ENDPOINT_URL_<SERVICE>` variables.

/// The AWS credentials the `--aws` commands sign with, for CloudFormation and the
/// engine alike.
const TEST_CREDENTIALS: (&str, &str) = ("AKIDGATEHOUSETEST", "gatehouse-test-secret-access-key");

/// The stand-in stack's tables, named as CloudFormation names a stack's resources.
fn stack_tables(stack: &str) -> gatehouse_core::store::TableNames {
    let name = |logical: &str| format!("{stack}-{logical}-1A2B3C4D5E6F");
    gatehouse_core::store::TableNames {
        clients: name("ClientsTable"),
        tokens: name("TokensTable"),
        grants: name("GrantsTable"),
        sessions: name("SessionsTable"),
        keys: name("KeysTable"),
        secrets: name("SecretsTable"),
        users: name("UsersTable"),
        consents: name("ConsentsTable"),
        login_attempts: name("LoginAttemptsTable"),
        origins: name("OriginsTable"),
        providers: name("ProvidersTable"),
        upstream_states: name("UpstreamStatesTable"),
        identities: name("IdentitiesTable"),
    }
}

/// The outputs of a stack with those tables (as template.yaml declares them).
fn stack_outputs(tables: &gatehouse_core::store::TableNames) -> Vec<(String, String)> {
    [
        ("ClientsTableName", &tables.clients),
        ("TokensTableName", &tables.tokens),
        ("GrantsTableName", &tables.grants),
        ("SessionsTableName", &tables.sessions),
        ("KeysTableName", &tables.keys),
        ("SecretsTableName", &tables.secrets),
        ("UsersTableName", &tables.users),
        ("ConsentsTableName", &tables.consents),
        ("LoginAttemptsTableName", &tables.login_attempts),
        ("OriginsTableName", &tables.origins),
        ("ProvidersTableName", &tables.providers),
        ("UpstreamStatesTableName", &tables.upstream_states),
        ("IdentitiesTableName", &tables.identities),
        ("Issuer", &"https://auth.example.com".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone()))
    .collect()
}

/// The stand-in CloudFormation, serving `prod` (every output), `partial` (no
/// `KeysTableName`), `forbidden` (access denied) and `expired` (the credentials
/// are refused); any other stack is unknown.
fn cloudformation() -> CloudFormation {
    let mut partial = stack_outputs(&stack_tables("prod"));
    partial.retain(|(k, _)| k != "KeysTableName");
    CloudFormation::start(HashMap::from([
        (
            "prod".to_owned(),
            Stack::Outputs(stack_outputs(&stack_tables("prod"))),
        ),
        ("partial".to_owned(), Stack::Outputs(partial)),
        (
            "forbidden".to_owned(),
            Stack::Error(
                403,
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: \
                 cloudformation:DescribeStacks on resource: forbidden",
            ),
        ),
        (
            "expired".to_owned(),
            Stack::Error(
                403,
                "ExpiredToken",
                "The security token included in the request is expired",
            ),
        ),
    ]))
}

/// The embedded engine with the tables of stack `prod`, as the template creates them.
async fn stack_engine() -> gatehouse::engine::Engine {
    let engine = gatehouse::engine::Engine::in_memory_with(
        gatehouse_core::dynamodb::EndpointCredentials::new(
            TEST_CREDENTIALS.0,
            gatehouse_core::secret::Secret::new(TEST_CREDENTIALS.1),
        ),
    )
    .await
    .unwrap();
    stack_tables("prod")
        .create_missing(&engine.client().await)
        .await
        .unwrap();
    engine
}

/// `gatehouse --aws ARGS` with the test credentials and region, its CloudFormation
/// and DynamoDB endpoints pointed at the stand-ins, and nothing read from the
/// machine's AWS configuration (no profile files, no instance metadata).
fn aws_command(cfn: &CloudFormation, dynamodb: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--aws").args(args);
    for var in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "GATEHOUSE_STACK",
        "GATEHOUSE_DYNAMODB_ENDPOINT",
        "GATEHOUSE_CLIENTS_TABLE",
        "GATEHOUSE_TOKENS_TABLE",
        "GATEHOUSE_GRANTS_TABLE",
        "GATEHOUSE_SESSIONS_TABLE",
        "GATEHOUSE_KEYS_TABLE",
        "GATEHOUSE_SECRETS_TABLE",
        "GATEHOUSE_USERS_TABLE",
        "GATEHOUSE_CONSENTS_TABLE",
        "GATEHOUSE_LOGIN_ATTEMPTS_TABLE",
        "GATEHOUSE_ORIGINS_TABLE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ACCESS_KEY_ID", TEST_CREDENTIALS.0)
        .env("AWS_SECRET_ACCESS_KEY", TEST_CREDENTIALS.1)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &cfn.url)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb);
    cmd
}

/// A failure whose standard error is exactly one line, `error: ` and a message
/// containing each of `parts`.
fn assert_one_line_error(out: &Output, parts: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "expected {part:?} in: {stderr}");
    }
}

#[test]
fn stack_and_region_need_aws() {
    for args in [
        &["--stack", "prod", "client", "list"][..],
        &["--region", "eu-west-1", "client", "list"][..],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_remove("GATEHOUSE_STACK")
            .output()
            .unwrap();
        assert_usage_error(&out, "--aws");
    }
    let out = Command::new(BIN)
        .args([
            "--aws",
            "--stack",
            "prod",
            "--dynamodb-endpoint",
            "http://127.0.0.1:1",
        ])
        .args(["client", "list"])
        .output()
        .unwrap();
    assert_usage_error(&out, "cannot be used with");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stack_is_one_clear_line() {
    let cfn = cloudformation();
    let out = aws_command(
        &cfn,
        "http://127.0.0.1:1",
        &["--stack", "nope", "client", "list"],
    )
    .output()
    .unwrap();
    assert_one_line_error(&out, &["stack `nope` not found in eu-west-1"]);
    let received = cfn.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let form = &received[0].form;
    assert_eq!(form["Action"], "DescribeStacks");
    assert_eq!(form["StackName"], "nope");
    assert_eq!(form["Version"], "2010-05-15");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_output_is_named_with_its_stack_and_an_explicit_table_replaces_it() {
    let cfn = cloudformation();
    let engine = stack_engine().await;
    let out = aws_command(&cfn, &engine.url, &["--stack", "partial", "keys", "list"])
        .output()
        .unwrap();
    assert_one_line_error(&out, &["stack `partial`", "KeysTableName", "--keys-table"]);

    let keys = stack_tables("prod").keys;
    let out = aws_command(
        &cfn,
        &engine.url,
        &[
            "--stack",
            "partial",
            "--keys-table",
            &keys,
            "keys",
            "list",
            "--json",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(ok_json(out), serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_no_credentials_no_region_and_no_answer_are_one_clear_line() {
    let cfn = cloudformation();
    let out = aws_command(
        &cfn,
        "http://127.0.0.1:1",
        &["--stack", "forbidden", "client", "list"],
    )
    .output()
    .unwrap();
    assert_one_line_error(
        &out,
        &[
            "access denied",
            "stack `forbidden`",
            "cloudformation:DescribeStacks",
        ],
    );

    let out = aws_command(
        &cfn,
        "http://127.0.0.1:1",
        &["--stack", "expired", "client", "list"],
    )
    .output()
    .unwrap();
    assert_one_line_error(
        &out,
        &["AWS refused the credentials (ExpiredToken)", "expired"],
    );

    let before = cfn.received().len();
    let out = aws_command(
        &cfn,
        "http://127.0.0.1:1",
        &["--stack", "prod", "client", "list"],
    )
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("AWS_SECRET_ACCESS_KEY")
    .output()
    .unwrap();
    assert_one_line_error(&out, &["no AWS credentials"]);
    assert_eq!(cfn.received().len(), before, "nothing is sent unsigned");

    let out = aws_command(
        &cfn,
        "http://127.0.0.1:1",
        &["--stack", "prod", "client", "list"],
    )
    .env_remove("AWS_REGION")
    .output()
    .unwrap();
    assert_one_line_error(&out, &["--region"]);

    let out = aws_command(
        &cfn,
        "http://127.0.0.1:1",
        &["--stack", "prod", "client", "list"],
    )
    .env("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:1")
    .output()
    .unwrap();
    assert_one_line_error(
        &out,
        &["cannot read stack `prod` from CloudFormation in eu-west-1"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_create_and_list_through_a_stack_reach_the_tables_its_outputs_name() {
    let cfn = cloudformation();
    let engine = stack_engine().await;
    let tables = stack_tables("prod");
    let created = aws_command(
        &cfn,
        &engine.url,
        &[
            "--stack",
            "prod",
            "--region",
            "eu-central-1",
            "client",
            "create",
            "--name",
            "Reporting job",
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--json",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&created.stderr).into_owned();
    let created = ok_json(created);
    let id = created["client_id"].as_str().unwrap();
    assert!(
        stderr.starts_with(&format!(
            "target: AWS DynamoDB tables of stack prod in eu-central-1: {}, ",
            tables.clients
        )),
        "{stderr}"
    );

    let out = aws_command(
        &cfn,
        &engine.url,
        &["--stack", "prod", "client", "list", "--json"],
    )
    .output()
    .unwrap();
    let listed = ok_json(out);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["client_id"], id);

    // The client is in the table the output names, and no other table was made.
    let db = engine.client().await;
    let items = db.scan().table_name(&tables.clients).send().await.unwrap();
    assert_eq!(items.count(), 1);
    let mut names = db
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .to_vec();
    names.sort();
    let mut expected = stack_outputs(&tables)
        .into_iter()
        .filter(|(k, _)| k.ends_with("TableName"))
        .map(|(_, v)| v)
        .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(names, expected);

    // Both DescribeStacks calls were signed with the test credentials, for the
    // region given (then the one of AWS_REGION).
    let received = cfn.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for (request, region) in received.iter().zip(["eu-central-1", "eu-west-1"]) {
        let auth = request.authorization.as_deref().unwrap_or_default();
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential={}/",
                TEST_CREDENTIALS.0
            )),
            "{auth}"
        );
        assert!(
            auth.contains(&format!("/{region}/cloudformation/aws4_request")),
            "{auth}"
        );
        assert_eq!(request.form["StackName"], "prod");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_table_option_overrides_the_stacks_output() {
    let cfn = cloudformation();
    let engine = stack_engine().await;
    let db = engine.client().await;
    let mut other = stack_tables("prod");
    other.clients = "other-clients".to_owned();
    other.create_missing(&db).await.unwrap();

    let register = |extra: &[&str]| {
        let mut args = vec!["--stack", "prod"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "client",
            "create",
            "--name",
            "Elsewhere",
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--json",
        ]);
        ok_json(aws_command(&cfn, &engine.url, &args).output().unwrap())
    };
    let created = register(&["--clients-table", "other-clients"]);
    let list = |extra: &[&str]| {
        let mut args = vec!["--stack", "prod"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["client", "list", "--json"]);
        ok_json(aws_command(&cfn, &engine.url, &args).output().unwrap())
    };
    assert_eq!(list(&[]), serde_json::json!([]), "not in the stack's table");
    let listed = list(&["--clients-table", "other-clients"]);
    assert_eq!(listed[0]["client_id"], created["client_id"]);
}

/// The sections of a `--help` text: heading → its lines.
fn help_sections(help: &str) -> Vec<(String, Vec<String>)> {
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            sections.push((line.trim_end_matches(':').to_owned(), Vec::new()));
        } else if let Some((_, lines)) = sections.last_mut() {
            lines.push(line.to_owned());
        }
    }
    sections
}

#[test]
fn a_commands_help_lists_its_own_options_apart_from_the_target_and_table_names() {
    let out = Command::new(BIN)
        .args(["client", "create", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    let sections = help_sections(&help);
    let headings: Vec<&str> = sections.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(headings, ["Options", "Target", "Table names"], "{help}");
    let section = |name: &str| {
        let (_, lines) = sections.iter().find(|(h, _)| h == name).unwrap();
        lines.join("\n")
    };
    let options = section("Options");
    for own in [
        "--name",
        "--type",
        "--grant-type",
        "--redirect-uri",
        "--scope",
        "--json",
    ] {
        assert!(options.contains(own), "{own} in Options: {help}");
    }
    let target = section("Target");
    let tables = section("Table names");
    for global in [
        "--data-dir",
        "--dynamodb-endpoint",
        "--aws",
        "--stack",
        "--region",
        "--table-prefix",
    ] {
        assert!(!options.contains(global), "{global} not in Options: {help}");
        assert!(target.contains(global), "{global} in Target: {help}");
    }
    for table in [
        "clients",
        "tokens",
        "grants",
        "sessions",
        "keys",
        "secrets",
        "users",
        "consents",
        "login-attempts",
        "origins",
        "providers",
    ] {
        let option = format!("--{table}-table");
        assert!(
            !options.contains(&option),
            "{option} not in Options: {help}"
        );
        assert!(!target.contains(&option), "{option} not in Target: {help}");
        assert!(tables.contains(&option), "{option} in Table names: {help}");
    }
}

/// A plain reqwest client. reqwest is built with rustls and no provider in this
/// workspace (`shared/src/outbound_http.rs`), so the default one is installed
/// first.
fn http_client() -> reqwest::Client {
    gatehouse_core::outbound_http::install_default_provider();
    reqwest::Client::new()
}

/// A back-channel logout endpoint on loopback (a thread): answers each POST
/// with 200 and keeps its body.
fn logout_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/bc", listener.local_addr().unwrap());
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length {
                        keep.lock().unwrap().push(body.to_owned());
                        break;
                    }
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (uri, bodies)
}

#[test]
fn client_create_refuses_a_backchannel_logout_uri_that_cannot_be_one() {
    let dir = data_dir("bcl-refusals");
    let base = [
        "client",
        "create",
        "--name",
        "RP",
        "--type",
        "confidential",
        "--grant-type",
        "authorization_code",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "read",
        "--json",
    ];
    for (uri, why) in [
        ("http://rp.example/logout", "uses http"),
        ("https://rp.example/logout#f", "fragment"),
        ("not a uri", "not an absolute URI"),
    ] {
        let mut args = base.to_vec();
        args.extend(["--backchannel-logout-uri", uri]);
        let out = gatehouse(&dir, &args);
        assert!(!out.status.success(), "{uri}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{uri}: {err}");
    }
    let out = gatehouse(
        &dir,
        &[
            "client",
            "create",
            "--name",
            "Service",
            "--type",
            "confidential",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--backchannel-logout-uri",
            "https://svc.example/logout",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("authorization_code"));
    assert_eq!(
        ok_json(gatehouse(&dir, &["client", "list", "--json"])),
        serde_json::json!([])
    );

    let mut args = base.to_vec();
    args.extend(["--backchannel-logout-uri", "https://rp.example/bc"]);
    let created = ok_json(gatehouse(&dir, &args));
    assert_eq!(created["backchannel_logout_uri"], "https://rp.example/bc");
    let id = created["client_id"].as_str().unwrap();
    let shown = ok_json(gatehouse(&dir, &["client", "show", id, "--json"]));
    assert_eq!(shown["backchannel_logout_uri"], "https://rp.example/bc");
    let text = stdout(&gatehouse(&dir, &["client", "show", id]));
    assert!(
        text.contains("backchannel URI:   https://rp.example/bc\n"),
        "{text}"
    );
    let plain = code_client(&dir, "No logout");
    let shown = ok_json(gatehouse(&dir, &["client", "show", &plain.0, "--json"]));
    assert!(shown["backchannel_logout_uri"].is_null());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn user_end_sessions_tells_the_clients_and_warns_of_a_delivery_that_failed() {
    let dir = data_dir("bcl-end-sessions");
    let serve = Serve::start(&dir);
    create_user(&dir, "alice");
    let (uri, bodies) = logout_receiver();
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/bc", l.local_addr().unwrap())
    };
    let mut clients = Vec::new();
    for (name, logout_uri) in [("Told", uri.as_str()), ("Down", down.as_str())] {
        let c = ok_json(gatehouse(
            &dir,
            &[
                "client",
                "create",
                "--name",
                name,
                "--type",
                "confidential",
                "--grant-type",
                "authorization_code",
                "--redirect-uri",
                REDIRECT,
                "--scope",
                "read",
                "--backchannel-logout-uri",
                logout_uri,
                "--json",
            ],
        ));
        clients.push((
            c["client_id"].as_str().unwrap().to_owned(),
            c["client_secret"].as_str().unwrap().to_owned(),
        ));
    }
    let mut alice = Browser::new();
    for c in &clients {
        let (code, verifier) = alice.authorize(&serve.url, &c.0, "alice").await;
        let (status, body) = token_request(
            &serve.url,
            c,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    let out = user_cmd(&dir, &["end-sessions", "alice"], "");
    assert!(
        out.status.success(),
        "a failed delivery never fails the command"
    );
    assert!(stdout(&out).contains("ended every session and grant of alice"));
    let err = String::from_utf8_lossy(&out.stderr);
    let warning = format!(
        "warning: back-channel logout of client {} at 127.0.0.1 failed",
        clients[1].0
    );
    assert!(err.contains(&warning), "{err}");
    assert!(!err.contains(&clients[0].0), "the other was told: {err}");

    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1);
    let token = bodies[0]
        .strip_prefix("logout_token=")
        .expect("a logout token");
    assert!(!err.contains(token), "never the token");
    // Signed with the running server's issuer.
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], serve.url.trim_end_matches('/'));
    assert_eq!(claims["aud"], clients[0].0.as_str());
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}
