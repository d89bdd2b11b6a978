//! The `gatehouse` command as a person uses it: `serve` on a data directory, admin
//! commands against it while it runs and after it stops, and their errors.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

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

/// `gatehouse serve` in the background, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("the ready line names the URL")
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn token(url: &str, id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
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
                "https://a.example/cb#x",
                "--scope",
                "read",
            ],
            "fragment",
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
    let out = gatehouse(&dir, &["client", "show", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no client"));
    let out = gatehouse(&dir, &["client", "rotate-secret", "nope"]);
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_endpoint_is_used_instead_of_the_local_data() {
    let engine = gatehouse::engine::Engine::in_memory().await.unwrap();
    let dir = data_dir("endpoint");
    let out = Command::new(BIN)
        .args(["--data-dir"])
        .arg(&dir)
        .args([
            "--dynamodb-endpoint",
            &engine.url,
            "client",
            "list",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&engine.url));
    assert!(!dir.exists(), "the local data directory is not touched");
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
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("user")
        .args(args)
        .env_remove("GATEHOUSE_DYNAMODB_ENDPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatehouse runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
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
