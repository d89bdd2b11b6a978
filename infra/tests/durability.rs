//! The local data's durability (`--durability`, `engine.rs` `Durability`): a
//! `gatehouse serve` killed with SIGKILL while writes run loses none that it
//! acknowledged. Revocations (RFC 7009 §2.2: the 200 comes after the write) and
//! clients made by `client create` through the running server's engine are
//! recorded as they are acknowledged; after the kill, `serve` starts again on the
//! same data and every one of them is there.
//!
//! The kill comes when enough writes have been acknowledged, never after a
//! time; every loop is bounded in rounds.

mod gatehouse_bin;

use gatehouse_bin::{Serve, on_local_data};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One issuer for both runs of `serve`: the tokens issued before the kill are
/// this issuer's after it too.
const ISSUER: &str = "http://127.0.0.1:9";
/// Concurrent revokers, each a token request then its revocation.
const REVOKERS: usize = 8;
/// Concurrent `client create` loops, each one process at a time.
const CREATORS: usize = 2;
/// The kill comes once this many revocations and clients are acknowledged.
const REVOCATIONS_BEFORE_KILL: usize = 200;
const CLIENTS_BEFORE_KILL: usize = 3;
/// Bounds of every loop, so the test ends by itself whatever happens.
const MAX_REVOKER_ROUNDS: usize = 5_000;
const MAX_CREATOR_ROUNDS: usize = 200;
const MAX_WAIT_FOR_LOAD: Duration = Duration::from_secs(180);

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-durability-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn gatehouse(dir: &Path, args: &[&str]) -> Output {
    on_local_data(dir)
        .args(args)
        .output()
        .expect("gatehouse runs")
}

fn http_client() -> reqwest::Client {
    gatehouse_core::outbound_http::install_default_provider();
    reqwest::Client::new()
}

/// Registers a confidential `client_credentials` client; its id and secret, or
/// `None` if the command failed.
fn create_client(dir: &Path, name: &str, extra: &[&str]) -> Option<(String, String)> {
    let mut args = vec![
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
    ];
    args.extend_from_slice(extra);
    let out = gatehouse(dir, &args);
    if !out.status.success() {
        return None;
    }
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some((
        created["client_id"].as_str()?.to_owned(),
        created["client_secret"].as_str()?.to_owned(),
    ))
}

/// A `client_credentials` access token, or `None` if none was issued.
async fn token(http: &reqwest::Client, url: &str, client: &(String, String)) -> Option<String> {
    let resp = http
        .post(format!("{url}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .ok()?;
    if resp.status() != reqwest::StatusCode::OK {
        return None;
    }
    let body: serde_json::Value = resp.json().await.ok()?;
    body["access_token"].as_str().map(str::to_owned)
}

/// Whether the revocation of `token` was acknowledged (200).
async fn revoke(http: &reqwest::Client, url: &str, client: &(String, String), token: &str) -> bool {
    http.post(format!("{url}/revoke"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
}

async fn active(
    http: &reqwest::Client,
    url: &str,
    rs: &(String, String),
    token: &str,
) -> serde_json::Value {
    let resp = http
        .post(format!("{url}/introspect"))
        .basic_auth(&rs.0, Some(&rs.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("the restarted server answers");
    assert_eq!(resp.status().as_u16(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    body["active"].clone()
}

/// `serve` on `dir`, once its port answers; retried a bounded number of times
/// (after a kill, a start can meet a port or file of the killed process).
async fn start(dir: &Path, args: &[&str]) -> Serve {
    let http = http_client();
    for _ in 0..20 {
        if let Some(serve) = Serve::try_start_with(dir, args) {
            for _ in 0..50 {
                let answer = http
                    .get(format!("{}/.well-known/openid-configuration", serve.url))
                    .send()
                    .await;
                if answer.is_ok_and(|r| r.status().is_success()) {
                    return serve;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("gatehouse serve did not start on {}", dir.display());
}

/// Starts `serve` with `durability` (none: the default), runs revocations and
/// `client create` against it, kills it with SIGKILL once enough of each were
/// acknowledged, starts it again and checks that every acknowledged write is
/// there.
async fn acknowledged_writes_survive_a_kill(name: &str, durability: &[&str]) {
    let dir = data_dir(name);
    let mut args = vec!["--issuer", ISSUER];
    args.extend_from_slice(durability);
    let mut serve = start(&dir, &args).await;
    let client = create_client(&dir, "Load", &[]).expect("a client");
    let rs = create_client(&dir, "Resource server", &["--introspect-any"]).expect("a client");
    let http = http_client();
    let kept = token(&http, &serve.url, &client)
        .await
        .expect("a token to keep");

    let stop = Arc::new(AtomicBool::new(false));
    let revoked = Arc::new(Mutex::new(Vec::<String>::new()));
    let created = Arc::new(Mutex::new(Vec::<(String, String)>::new()));

    let mut revokers = Vec::new();
    for _ in 0..REVOKERS {
        let (http, url, client) = (http.clone(), serve.url.clone(), client.clone());
        let (stop, revoked) = (stop.clone(), revoked.clone());
        revokers.push(tokio::spawn(async move {
            for _ in 0..MAX_REVOKER_ROUNDS {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Some(t) = token(&http, &url, &client).await else {
                    continue;
                };
                if revoke(&http, &url, &client, &t).await {
                    revoked.lock().unwrap().push(t);
                }
            }
        }));
    }
    let mut creators = Vec::new();
    for i in 0..CREATORS {
        let (dir, stop, created) = (dir.clone(), stop.clone(), created.clone());
        creators.push(std::thread::spawn(move || {
            for n in 0..MAX_CREATOR_ROUNDS {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Some(c) = create_client(&dir, &format!("Made {i}-{n}"), &[]) {
                    created.lock().unwrap().push(c);
                }
            }
        }));
    }

    let waited = Instant::now();
    while (revoked.lock().unwrap().len() < REVOCATIONS_BEFORE_KILL
        || created.lock().unwrap().len() < CLIENTS_BEFORE_KILL)
        && waited.elapsed() < MAX_WAIT_FOR_LOAD
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL, while the writers still run.
    serve.child.kill().expect("SIGKILL");
    serve.child.wait().expect("the server ends");
    stop.store(true, Ordering::SeqCst);
    for r in revokers {
        r.await.unwrap();
    }
    for c in creators {
        c.join().unwrap();
    }
    drop(serve);

    let revoked = std::mem::take(&mut *revoked.lock().unwrap());
    let created = std::mem::take(&mut *created.lock().unwrap());
    assert!(
        !revoked.is_empty() && !created.is_empty(),
        "writes were acknowledged before the kill: {} revocations, {} clients",
        revoked.len(),
        created.len()
    );

    eprintln!(
        "{name}: killed after {} acknowledged revocations and {} clients",
        revoked.len(),
        created.len()
    );

    let serve = start(&dir, &args).await;
    let http = http_client();
    assert_eq!(
        active(&http, &serve.url, &rs, &kept).await,
        true,
        "a token never revoked is active after the restart: the check below means something"
    );
    let mut lost = 0;
    for t in &revoked {
        if active(&http, &serve.url, &rs, t).await != false {
            lost += 1;
        }
    }
    assert_eq!(
        lost,
        0,
        "every acknowledged revocation survives the kill (of {})",
        revoked.len()
    );
    let mut missing = Vec::new();
    for c in &created {
        if token(&http, &serve.url, c).await.is_none() {
            missing.push(c.0.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "every acknowledged client survives the kill (of {}); missing: {missing:?}",
        created.len()
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_durability_is_refused_with_a_clear_message() {
    let dir = data_dir("unknown");
    let out = gatehouse(&dir, &["serve", "--durability", "sometimes"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value 'sometimes' for '--durability <DURABILITY>'")
            && stderr.contains("[possible values: normal, full]"),
        "{stderr}"
    );

    let out = on_local_data(&dir)
        .args(["client", "list"])
        .env("GATEHOUSE_DURABILITY", "fsync")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "from the environment too");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid value 'fsync' for '--durability"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.exists(), "nothing was opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_9_of_serve_at_the_default_durability() {
    acknowledged_writes_survive_a_kill("normal", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_9_of_serve_with_durability_full() {
    acknowledged_writes_survive_a_kill("full", &["--durability", "full"]).await;
}
