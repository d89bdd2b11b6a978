//! `gatehouse provider ...` as an operator uses it, against discovery documents
//! the test serves on loopback; and the provider store on the embedded engine.

mod gatehouse_bin;

use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse::engine::Engine;
use gatehouse_bin::Serve;
use gatehouse_core::domain::provider::{Provider, ProviderMetadata, UpstreamAuthMethod};
use gatehouse_core::secret::Secret;
use gatehouse_core::store::{
    DynamoStore, ProviderStore, StoreError, TableNames, provider_secret_name,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

const SECRET: &str = "upstream-secret-5f2c9a";
const DEPLOYMENT: &str = "https://auth.example.com";

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-prov-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs `gatehouse --data-dir DIR ARGS` with `stdin` on its standard input.
fn gatehouse(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = gatehouse_bin::on_local_data(dir);
    command.args(args);
    gatehouse_bin::with_stdin(command, stdin)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok_json(out: Output) -> Value {
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(SECRET), "the secret was printed");
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn refused(out: Output, why: &str) {
    assert!(!out.status.success(), "succeeded: {}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(why), "expected `{why}` in: {stderr}");
    assert!(!text(&out).contains(SECRET), "the secret was printed");
}

/// A path's answer: status, content type, body.
type Answer = (u16, &'static str, String);
type Routes = Arc<Mutex<HashMap<String, Answer>>>;
/// A change to a valid discovery document.
type Change = Box<dyn Fn(&mut Value)>;

/// A loopback HTTP server answering each path with a fixed status, content
/// type and body; unknown paths get 404. Runs until the test ends.
#[derive(Clone)]
struct Upstream {
    base: String,
    routes: Routes,
}

impl Upstream {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let served = routes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                        break;
                    }
                }
                let (status, ctype, body) = served.lock().unwrap().get(&path).cloned().unwrap_or((
                    404,
                    "text/plain",
                    "not found".into(),
                ));
                let extra = if status == 302 {
                    "Location: http://127.0.0.1:9/elsewhere\r\n"
                } else {
                    ""
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.flush();
            }
        });
        Self { base, routes }
    }

    /// Serves `doc` as the discovery document of issuer `{base}{prefix}`.
    fn serve_discovery(&self, prefix: &str, status: u16, ctype: &'static str, body: String) {
        self.routes.lock().unwrap().insert(
            format!("{prefix}/.well-known/openid-configuration"),
            (status, ctype, body),
        );
    }

    fn issuer(&self, prefix: &str) -> String {
        format!("{}{prefix}", self.base)
    }

    /// A valid document for issuer `{base}{prefix}`.
    fn document(&self, prefix: &str) -> Value {
        let issuer = self.issuer(prefix);
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "none"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "authorization_response_iss_parameter_supported": true,
        })
    }
}

fn add_args<'a>(id: &'a str, issuer: &'a str) -> Vec<&'a str> {
    vec![
        "provider",
        "--issuer",
        DEPLOYMENT,
        "add",
        "--id",
        id,
        "--issuer",
        issuer,
        "--client-id",
        "gatehouse-at-upstream",
        "--client-secret-stdin",
        "--json",
    ]
}

fn no_providers(dir: &Path) {
    let list = ok_json(gatehouse(dir, &["provider", "list", "--json"], ""));
    assert_eq!(list, json!([]));
}

#[test]
fn configuration_mistakes_are_refused_before_any_fetch() {
    let dir = data_dir("config");
    let up = Upstream::start();
    let issuer = up.issuer("/op");
    up.serve_discovery(
        "/op",
        200,
        "application/json",
        up.document("/op").to_string(),
    );
    let with = |extra: &[&str], id: &str, iss: &str| {
        let mut args = add_args(id, iss);
        args.extend_from_slice(extra);
        gatehouse(&dir, &args, &format!("{SECRET}\n"))
    };
    refused(
        with(&[], "Google", &issuer),
        "provider id `Google` is not allowed",
    );
    refused(with(&[], "-x", &issuer), "not allowed");
    refused(
        with(&[], "a23456789012345678901234567890123", &issuer),
        "not allowed",
    );
    refused(
        with(&["--scope", "email profile"], "op", &issuer),
        "does not include `openid`",
    );
    refused(with(&[], "op", "http://op.example"), "uses http");
    refused(with(&[], "op", "http://localhost:9"), "uses http");
    refused(
        with(&[], "op", &format!("{issuer}?tenant=x")),
        "must not have a query",
    );
    refused(with(&[], "op", &format!("{issuer}#x")), "fragment");
    refused(
        with(&["--hosted-domain", "example.com"], "op", &issuer),
        "--hosted-domain is Google's",
    );
    refused(
        with(&["--display-name", "   "], "op", &issuer),
        "display name is empty",
    );
    // An empty secret.
    refused(
        gatehouse(&dir, &add_args("op", &issuer), "\n"),
        "client secret (read from standard input) is empty",
    );
    no_providers(&dir);
}

#[test]
fn unusable_discovery_documents_are_refused_with_the_reason() {
    let dir = data_dir("discovery");
    let up = Upstream::start();
    let mut cases: Vec<(&str, u16, &'static str, String, &str)> = Vec::new();
    let doc = |f: &dyn Fn(&mut Value)| {
        let mut d = up.document("/p");
        f(&mut d);
        d.to_string()
    };
    let json = "application/json";
    cases.push((
        "/a",
        404,
        "text/plain",
        "nope".into(),
        "was not found (HTTP 404)",
    ));
    cases.push(("/b", 500, json, "{}".into(), "answered HTTP 500"));
    cases.push((
        "/c",
        200,
        "text/html",
        "<html>hi</html>".into(),
        "is not JSON",
    ));
    cases.push((
        "/d",
        302,
        json,
        String::new(),
        "answered a redirect (HTTP 302)",
    ));
    cases.push(("/e", 200, json, "x".repeat(300 * 1024), "larger than"));
    let mut specs: Vec<(&str, Change, &str)> = vec![
        (
            "/f",
            Box::new(|d| d["issuer"] = json!("https://evil.example")),
            "they must be identical",
        ),
        (
            "/g",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("jwks_uri");
            }),
            "`jwks_uri` is missing",
        ),
        (
            "/h",
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("token_endpoint");
            }),
            "`token_endpoint` is missing",
        ),
        (
            "/i",
            Box::new(|d| d["response_types_supported"] = json!(["id_token"])),
            "does not contain `code`",
        ),
        (
            "/j",
            Box::new(|d| d["id_token_signing_alg_values_supported"] = json!(["none", "HS256"])),
            "none of the algorithms Gatehouse verifies",
        ),
        (
            "/k",
            Box::new(|d| d["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"])),
            "neither client_secret_basic nor client_secret_post",
        ),
        (
            "/l",
            Box::new(|d| d["token_endpoint"] = json!("http://op.example/token")),
            "token_endpoint `http://op.example/token` uses http",
        ),
    ];
    for (prefix, change, why) in specs.drain(..) {
        // Each document names its own issuer, so only the change is wrong.
        let mut d: Value = serde_json::from_str(&doc(&|_| {})).unwrap();
        let issuer = up.issuer(prefix);
        for k in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
        ] {
            d[k] = json!(d[k].as_str().unwrap().replace("/p/", &format!("{prefix}/")));
        }
        d["issuer"] = json!(issuer);
        change(&mut d);
        cases.push((prefix, 200, json, d.to_string(), why));
    }
    for (prefix, status, ctype, body, why) in cases {
        up.serve_discovery(prefix, status, ctype, body);
        let issuer = up.issuer(prefix);
        refused(
            gatehouse(&dir, &add_args("op", &issuer), &format!("{SECRET}\n")),
            why,
        );
    }
    // Nothing listens on the port of a closed listener.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    refused(
        gatehouse(&dir, &add_args("op", &closed), &format!("{SECRET}\n")),
        "cannot fetch the discovery document",
    );
    no_providers(&dir);
}

#[test]
fn a_provider_is_added_shown_listed_and_removed_without_its_secret() {
    let dir = data_dir("lifecycle");
    let up = Upstream::start();
    up.serve_discovery(
        "/op",
        200,
        "application/json",
        up.document("/op").to_string(),
    );
    let issuer = up.issuer("/op");
    let mut args = add_args("corp-op", &issuer);
    args.extend_from_slice(&["--display-name", "Corp", "--trust-email"]);
    let added = ok_json(gatehouse(&dir, &args, &format!("{SECRET}\n")));
    assert_eq!(added["provider_id"], "corp-op");
    assert_eq!(added["display_name"], "Corp");
    assert_eq!(added["issuer"], json!(issuer));
    assert_eq!(added["scope"], "openid email profile");
    assert_eq!(added["trust_email"], true);
    assert_eq!(
        added["redirect_uri"],
        "https://auth.example.com/federation/corp-op/callback"
    );
    let m = &added["metadata"];
    assert_eq!(m["token_endpoint"], json!(format!("{issuer}/token")));
    assert_eq!(m["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["id_token_signing_alg_values_supported"], json!(["RS256"]));

    // The same id again is refused, whatever the document says.
    refused(
        gatehouse(&dir, &add_args("corp-op", &issuer), &format!("{SECRET}\n")),
        "a provider `corp-op` exists",
    );

    let shown = ok_json(gatehouse(
        &dir,
        &[
            "provider", "--issuer", DEPLOYMENT, "show", "corp-op", "--json",
        ],
        "",
    ));
    assert_eq!(shown, added);
    let plain = gatehouse(&dir, &["provider", "show", "corp-op"], "");
    assert!(plain.status.success(), "{}", text(&plain));
    assert!(!text(&plain).contains(SECRET));
    // Without --issuer or a running server: the default local issuer.
    assert!(
        text(&plain).contains("http://127.0.0.1:8080/federation/corp-op/callback"),
        "{}",
        text(&plain)
    );
    let list = ok_json(gatehouse(&dir, &["provider", "list", "--json"], ""));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["provider_id"], "corp-op");

    refused(
        gatehouse(&dir, &["provider", "show", "other"], ""),
        "no provider `other`",
    );
    let removed = gatehouse(&dir, &["provider", "remove", "corp-op"], "");
    assert!(removed.status.success(), "{}", text(&removed));
    refused(
        gatehouse(&dir, &["provider", "remove", "corp-op"], ""),
        "no provider `corp-op`",
    );
    no_providers(&dir);
}

/// `gatehouse serve` in the background, killed on drop; its issuer is what the
/// provider commands derive redirect URIs from.
#[test]
fn the_redirect_uri_is_the_running_servers_by_default() {
    let dir = data_dir("serve");
    let serve = Serve::start(&dir);
    let up = Upstream::start();
    up.serve_discovery("", 200, "application/json", up.document("").to_string());
    let issuer = up.issuer("");
    let added = ok_json(gatehouse(
        &dir,
        &[
            "provider",
            "add",
            "--id",
            "local",
            "--issuer",
            &issuer,
            "--client-id",
            "c",
            "--client-secret-stdin",
            "--json",
        ],
        &format!("{SECRET}\n"),
    ));
    assert_eq!(
        added["redirect_uri"],
        json!(format!(
            "{}/federation/local/callback",
            serve.url.trim_end_matches('/')
        ))
    );
}

async fn store() -> DynamoStore {
    let engine = Engine::in_memory().await.unwrap();
    let db = engine.client().await;
    let tables = TableNames::with_prefix("providers");
    tables.create_missing(&db).await.unwrap();
    // The engine lives as long as the test process.
    std::mem::forget(engine);
    DynamoStore::new(db, tables)
}

fn provider(id: &str) -> Provider {
    Provider {
        provider_id: id.into(),
        display_name: "Op".into(),
        issuer: "https://op.example".into(),
        client_id: "cid".into(),
        scope: "openid email".into(),
        trust_email: false,
        hosted_domain: Some("example.com".into()),
        metadata: ProviderMetadata {
            authorization_endpoint: "https://op.example/authorize".into(),
            token_endpoint: "https://op.example/token".into(),
            userinfo_endpoint: None,
            jwks_uri: "https://op.example/jwks".into(),
            auth_method: UpstreamAuthMethod::ClientSecretBasic,
            iss_parameter_supported: true,
            id_token_signing_algs: vec!["ES256".into(), "RS256".into()],
        },
        created_at: 1_700_000_000,
    }
}

#[tokio::test]
async fn the_store_keeps_the_secret_apart_and_writes_both_or_neither() {
    let store = store().await;
    let p = provider("op");
    store
        .create_provider(&p, &Secret::new(SECRET))
        .await
        .unwrap();
    // A second create of the id writes nothing, not even its secret.
    let mut again = provider("op");
    again.display_name = "Other".into();
    assert!(matches!(
        store.create_provider(&again, &Secret::new("other")).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_provider("op").await.unwrap(), Some(p.clone()));
    assert_eq!(
        store.provider_secret("op").await.unwrap().unwrap().expose(),
        SECRET
    );
    assert_eq!(store.list_providers().await.unwrap(), vec![p]);

    // The providers item holds no secret; the secrets item is `provider/{id}`.
    let db = store.client();
    let item = db
        .get_item()
        .table_name(&store.tables().providers)
        .key("provider_id", AttributeValue::S("op".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(
        item.values()
            .all(|v| v.as_s().map_or(true, |s| !s.contains(SECRET)))
    );
    assert_eq!(provider_secret_name("op"), "provider/op");
    let secret = db
        .get_item()
        .table_name(&store.tables().secrets)
        .key("name", AttributeValue::S("provider/op".into()))
        .send()
        .await
        .unwrap()
        .item;
    assert!(secret.is_some());

    assert!(store.delete_provider("op").await.unwrap());
    assert!(!store.delete_provider("op").await.unwrap());
    assert_eq!(store.get_provider("op").await.unwrap(), None);
    assert!(store.provider_secret("op").await.unwrap().is_none());
    assert!(store.list_providers().await.unwrap().is_empty());

    // A secret item left without its provider is replaced by the next create.
    db.put_item()
        .table_name(&store.tables().secrets)
        .item("name", AttributeValue::S("provider/stale".into()))
        .item("secret", AttributeValue::S("old".into()))
        .send()
        .await
        .unwrap();
    store
        .create_provider(&provider("stale"), &Secret::new(SECRET))
        .await
        .unwrap();
    assert_eq!(
        store
            .provider_secret("stale")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        SECRET
    );
}
