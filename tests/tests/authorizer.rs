//! The Lambda authorizer: checked-in API Gateway authorizer events (REST `TOKEN`
//! and `REQUEST`, HTTP API payloads 1.0 and 2.0) with real tokens from the server
//! put in place of their placeholder, decided by the same handler the `authorizer`
//! function runs, against the embedded engine.

use gatehouse_core::App;
use gatehouse_core::authorizer::routes::RouteScopes;
use gatehouse_core::authorizer::{AuthorizerError, handle, settings_from_lookup};
use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::scope::ScopeCatalog;
use gatehouse_core::secret::random_token;
use gatehouse_core::store::{ClientStore, DynamoStore, TableNames, UserStore};
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, tokens};
use gatehouse_tests::{TestServer, captured_logs};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The credentials in every fixture: not a well-formed bearer token, so that
/// `sam local invoke` with a fixture as it stands is refused without a read.
const PLACEHOLDER: &str = "Bearer <access-token>";

const ROUTES: &str = "GET /notes=read;POST /notes=write;DELETE /notes/{id}=write admin";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gateway {
    Rest,
    Http,
}

const FIXTURES: [(&str, Gateway); 4] = [
    ("rest-token.json", Gateway::Rest),
    ("rest-request.json", Gateway::Rest),
    ("http-api-v1.json", Gateway::Http),
    ("http-api-v2.json", Gateway::Http),
];

/// Every log line of this test binary, from its first test on: one process-wide
/// subscriber, set before any test logs, so that no test's log lines depend on
/// the order in which tests on other threads first reach a log statement.
/// A server whose deployment offers `read`, `write` and `admin`.
async fn server() -> TestServer {
    captured_logs();
    TestServer::start_with(|c| {
        c.scopes =
            ScopeCatalog::parse("read=Read notes;write=Write notes;admin=Administer").unwrap();
        // As in a warm function: the key set is cached.
        c.key_cache_ttl = std::time::Duration::from_secs(600);
    })
    .await
}

fn routes() -> RouteScopes {
    RouteScopes::parse(ROUTES).unwrap()
}

/// The fixture with `credentials` (a whole `Authorization` value) in place of the
/// placeholder.
fn event(name: &str, credentials: &str) -> Value {
    let path = format!("{}/fixtures/authorizer/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(PLACEHOLDER), "{name} has the placeholder");
    let escaped = serde_json::to_string(credentials).unwrap();
    let text = text.replace(PLACEHOLDER, &escaped[1..escaped.len() - 1]);
    serde_json::from_str(&text).expect("the fixture is JSON")
}

fn bearer(name: &str, token: &str) -> Value {
    event(name, &format!("Bearer {token}"))
}

/// The fixture without any credentials.
fn without_credentials(name: &str) -> Value {
    let mut e = event(name, "unused");
    let obj = e.as_object_mut().unwrap();
    obj.remove("authorizationToken");
    obj.remove("identitySource");
    for headers in ["headers", "multiValueHeaders"] {
        if let Some(h) = obj.get_mut(headers).and_then(Value::as_object_mut) {
            h.retain(|k, _| !k.eq_ignore_ascii_case("authorization"));
        }
    }
    e
}

/// The ARN of the method or route the event calls.
fn called(event: &Value) -> &str {
    event["methodArn"]
        .as_str()
        .or(event["routeArn"].as_str())
        .unwrap()
}

/// `arn:…:{api}/{stage}/` of the event: the prefix of every ARN its policy may name.
fn stage_prefix(event: &Value) -> String {
    let arn = called(event);
    let (head, resource) = arn.rsplit_once(':').unwrap();
    let mut parts = resource.splitn(3, '/');
    let (api, stage) = (parts.next().unwrap(), parts.next().unwrap());
    format!("{head}:{api}/{stage}/")
}

async fn decide(app: &App, event: &Value) -> Result<Value, AuthorizerError> {
    handle(app, &routes(), event)
        .await
        .map(|r| serde_json::to_value(r).unwrap())
}

/// `*` matches any run of characters, `/` included, as in IAM resource ARNs.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|i| {
                    text.is_char_boundary(head.len() + i) && glob(rest, &text[head.len() + i..])
                })
        }
    }
}

/// IAM's verdict on invoking `arn` under the policy: an explicit deny wins, then an
/// allow, else the implicit deny.
fn verdict(response: &Value, arn: &str) -> &'static str {
    let mut allowed = false;
    for s in response["policyDocument"]["Statement"].as_array().unwrap() {
        assert_eq!(s["Action"], json!(["execute-api:Invoke"]));
        let matches = s["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| glob(r.as_str().unwrap(), arn));
        match (matches, s["Effect"].as_str().unwrap()) {
            (true, "Deny") => return "Deny",
            (true, "Allow") => allowed = true,
            (true, other) => panic!("effect {other}"),
            (false, _) => {}
        }
    }
    if allowed { "Allow" } else { "Deny" }
}

/// The resources of the statements with `effect`.
fn resources(response: &Value, effect: &str) -> Vec<String> {
    response["policyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == effect)
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

/// A request without a valid token is refused as its API Gateway needs: REST APIs
/// get the error `Unauthorized` (401), HTTP APIs a policy denying the whole stage
/// (403), since they answer any authorizer error with 500.
fn assert_refused(
    name: &str,
    gateway: Gateway,
    event: &Value,
    result: Result<Value, AuthorizerError>,
) {
    match gateway {
        Gateway::Rest => {
            assert_eq!(result, Err(AuthorizerError::Unauthorized), "{name}");
        }
        Gateway::Http => {
            let r = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r["principalId"], "anonymous", "{name}");
            assert_eq!(
                resources(&r, "Deny"),
                [format!("{}*", stage_prefix(event))],
                "{name}"
            );
            assert!(resources(&r, "Allow").is_empty(), "{name}");
            assert!(r.get("context").is_none(), "{name}: {r}");
            assert_eq!(verdict(&r, called(event)), "Deny", "{name}");
        }
    }
}

fn batch_gets(n: u64) -> BTreeMap<String, u64> {
    BTreeMap::from([("BatchGetItem".to_owned(), n)])
}

#[tokio::test]
async fn every_fixture_as_checked_in_is_refused_without_a_read() {
    let server = server().await;
    for (name, gateway) in FIXTURES {
        let e = event(name, PLACEHOLDER);
        let result = decide(&server.app, &e).await;
        assert_refused(name, gateway, &e, result);
    }
    assert!(server.dynamodb_calls.take().is_empty());
}

#[tokio::test]
async fn an_active_token_allows_the_stage_and_denies_the_routes_its_scope_lacks() {
    let server = server().await;
    let client = server.cc_client("read write admin").await;
    let token = server.cc_token(&client, "read").await;
    for (name, _) in FIXTURES {
        let e = bearer(name, &token);
        server.dynamodb_calls.take();
        let r = decide(&server.app, &e)
            .await
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        // The client and the revocation list: one request of consistent reads.
        assert_eq!(server.dynamodb_calls.take(), batch_gets(1), "{name}");
        let prefix = stage_prefix(&e);
        assert_eq!(r["principalId"], client.id.as_str(), "{name}");
        assert_eq!(r["policyDocument"]["Version"], "2012-10-17");
        assert_eq!(resources(&r, "Allow"), [format!("{prefix}*")], "{name}");
        assert_eq!(
            resources(&r, "Deny"),
            [
                format!("{prefix}POST/notes"),
                format!("{prefix}DELETE/notes/*")
            ],
            "{name}"
        );
        assert_eq!(
            r["context"],
            json!({"sub": client.id, "client_id": client.id, "scope": "read"}),
            "{name}"
        );
        // Right for every route of the stage, whichever was called.
        assert_eq!(verdict(&r, &format!("{prefix}GET/notes")), "Allow");
        assert_eq!(verdict(&r, &format!("{prefix}GET/unlisted/7")), "Allow");
        assert_eq!(verdict(&r, &format!("{prefix}POST/notes")), "Deny");
        assert_eq!(verdict(&r, &format!("{prefix}DELETE/notes/42")), "Deny");
        // Never another API or stage.
        let other_stage = prefix
            .replace("/prod/", "/dev/")
            .replace("/$default/", "/dev/");
        assert_eq!(verdict(&r, &format!("{other_stage}GET/notes")), "Deny");
        let other_api = prefix
            .replace("a1b2c3d4e5", "zzzzzzzzzz")
            .replace("f6g7h8i9j0", "zzzzzzzzzz");
        assert_eq!(verdict(&r, &format!("{other_api}GET/notes")), "Deny");
    }
}

#[tokio::test]
async fn the_called_route_is_allowed_or_denied_by_its_scopes() {
    let server = server().await;
    let client = server.cc_client("read write admin").await;
    let read = server.cc_token(&client, "read").await;
    let all = server.cc_token(&client, "read write admin").await;
    // rest-token: GET /notes (read); rest-request: POST /notes (write);
    // http-api-v1: GET /notes (read); http-api-v2: DELETE /notes/42 (write admin).
    let expected_with_read = [
        ("rest-token.json", "Allow"),
        ("rest-request.json", "Deny"),
        ("http-api-v1.json", "Allow"),
        ("http-api-v2.json", "Deny"),
    ];
    for (name, expected) in expected_with_read {
        let e = bearer(name, &read);
        let r = decide(&server.app, &e).await.unwrap();
        assert_eq!(verdict(&r, called(&e)), expected, "{name} with read");
        let e = bearer(name, &all);
        let r = decide(&server.app, &e).await.unwrap();
        assert_eq!(verdict(&r, called(&e)), "Allow", "{name} with every scope");
        assert!(resources(&r, "Deny").is_empty(), "{name}: {r}");
        assert_eq!(r["context"]["scope"], "admin read write");
    }
}

#[tokio::test]
async fn without_route_scopes_an_active_token_is_all_it_takes() {
    let server = server().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let e = bearer("http-api-v2.json", &token);
    let r = handle(&server.app, &RouteScopes::default(), &e)
        .await
        .unwrap();
    let r = serde_json::to_value(r).unwrap();
    assert_eq!(verdict(&r, called(&e)), "Allow");
    assert_eq!(
        r["policyDocument"]["Statement"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_token_revoked_through_the_server_is_refused_at_once() {
    let server = server().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    for (name, _) in FIXTURES {
        assert!(
            decide(&server.app, &bearer(name, &token)).await.is_ok(),
            "{name}"
        );
    }
    let (status, _, body) = server.revoke_as(&client, &token).await;
    assert_eq!(status, 200, "{body}");
    for (name, gateway) in FIXTURES {
        let e = bearer(name, &token);
        let result = decide(&server.app, &e).await;
        assert_refused(name, gateway, &e, result);
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_though_its_signature_verifies() {
    let server = server().await;
    let client = server.cc_client("read").await;
    let now = gatehouse_core::app::now();
    let mut expired = server.cc_claims(&client.id);
    expired.iat = now - 120;
    expired.exp = now - 1;
    let expired = server.sign_access_token(&expired).await;
    let live = server
        .sign_access_token(&server.cc_claims(&client.id))
        .await;
    for (name, gateway) in FIXTURES {
        let e = bearer(name, &live);
        assert!(
            decide(&server.app, &e).await.is_ok(),
            "{name}: the live twin"
        );
        let e = bearer(name, &expired);
        let result = decide(&server.app, &e).await;
        assert_refused(name, gateway, &e, result);
    }
}

#[tokio::test]
async fn unknown_malformed_missing_and_non_bearer_credentials_are_refused() {
    let server = server().await;
    server.app.key_set().await.unwrap();
    server.dynamodb_calls.take();
    let unknown = random_token();
    let too_long = "a".repeat(5000);
    for (name, gateway) in FIXTURES {
        let e = bearer(name, unknown.expose());
        let result = decide(&server.app, &e).await;
        assert_refused(name, gateway, &e, result);

        for credentials in [
            "Bearer !!garbage!!",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer \"quoted\"",
            "Basic dXNlcjpwYXNzd29yZA==",
            "Token abc",
            "",
            &format!("Bearer {too_long}"),
        ] {
            let e = event(name, credentials);
            let result = decide(&server.app, &e).await;
            assert_refused(&format!("{name} {credentials:.20}"), gateway, &e, result);
        }
        let e = without_credentials(name);
        let result = decide(&server.app, &e).await;
        assert_refused(&format!("{name} without credentials"), gateway, &e, result);
        // None of these needed a read.
        assert!(server.dynamodb_calls.take().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_code_or_refresh_token_used_as_bearer_is_refused_and_a_users_token_names_the_user() {
    let server = server().await;
    let alice = server.user("alice").await;
    let client = server
        .code_client(ClientType::Confidential, "read write")
        .await;
    let (code, verifier) = server
        .code_for(&client, CONFIDENTIAL_REDIRECT, "alice")
        .await;
    for (name, gateway) in FIXTURES {
        let e = bearer(name, &code);
        let result = decide(&server.app, &e).await;
        assert_refused(&format!("{name} code"), gateway, &e, result);
    }
    let (access, refresh) = tokens(
        &server
            .exchange_code(&client, &code, CONFIDENTIAL_REDIRECT, &verifier)
            .await,
    );
    for (name, gateway) in FIXTURES {
        let e = bearer(name, &refresh);
        let result = decide(&server.app, &e).await;
        assert_refused(&format!("{name} refresh token"), gateway, &e, result);

        let e = bearer(name, &access);
        server.dynamodb_calls.take();
        let r = decide(&server.app, &e).await.unwrap();
        // The grant, the client and the revocation list in one request; the user.
        assert_eq!(
            server.dynamodb_calls.take(),
            BTreeMap::from([("BatchGetItem".to_owned(), 1), ("GetItem".to_owned(), 1)]),
            "{name}"
        );
        assert_eq!(r["principalId"], alice.user_id.as_str());
        assert_eq!(
            r["context"],
            json!({
                "sub": alice.user_id,
                "client_id": client.id,
                "scope": "read",
                "username": "alice",
            }),
            "{name}"
        );
    }
    // A user's tokens die with the user.
    server.app.store.set_disabled("alice", true).await.unwrap();
    for (name, gateway) in FIXTURES {
        let e = bearer(name, &access);
        let result = decide(&server.app, &e).await;
        assert_refused(&format!("{name} disabled user"), gateway, &e, result);
    }
}

#[tokio::test]
async fn a_token_whose_client_was_deleted_is_refused() {
    let server = server().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    assert!(server.app.store.delete_client(&client.id).await.unwrap());
    for (name, gateway) in FIXTURES {
        let e = bearer(name, &token);
        let result = decide(&server.app, &e).await;
        assert_refused(name, gateway, &e, result);
    }
}

#[tokio::test]
async fn a_store_failure_is_an_error_not_unauthorized() {
    let server = server().await;
    let broken = App::new(
        server.app.config.clone(),
        DynamoStore::new(
            server.app.store.client().clone(),
            TableNames::with_prefix("absent"),
        ),
    );
    // Shaped like a JWT, so that checking it needs the key set (a value of no
    // token's shape is refused without a read).
    let token = format!(
        "{}.{}.{}",
        random_token().expose(),
        random_token().expose(),
        random_token().expose()
    );
    for (name, gateway) in FIXTURES {
        let result = decide(&broken, &bearer(name, &token)).await;
        assert_eq!(result, Err(AuthorizerError::Server), "{name}");
        let message = result.unwrap_err().to_string();
        assert_ne!(message, "Unauthorized");
        assert!(!message.contains(&token));
        // A value no token has the shape of never reaches the store.
        let junk = bearer(name, random_token().expose());
        let result = decide(&broken, &junk).await;
        assert_refused(name, gateway, &junk, result);
    }
}

#[tokio::test]
async fn an_event_that_is_not_an_authorizer_event_is_an_error() {
    let server = server().await;
    let proxy = format!(
        "{}/fixtures/apigw/metadata.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let proxy: Value = serde_json::from_str(&std::fs::read_to_string(proxy).unwrap()).unwrap();
    for e in [proxy, json!({}), json!([1, 2]), json!({"type": "TOKEN"})] {
        let result = decide(&server.app, &e).await;
        assert!(
            matches!(result, Err(AuthorizerError::Event(_))),
            "{e}: {result:?}"
        );
    }
}

#[test]
fn route_scope_errors_are_clear_and_stop_the_cold_start() {
    let tables = [
        ("GATEHOUSE_CLIENTS_TABLE", "clients"),
        ("GATEHOUSE_TOKENS_TABLE", "tokens"),
        ("GATEHOUSE_GRANTS_TABLE", "grants"),
        ("GATEHOUSE_SESSIONS_TABLE", "sessions"),
        ("GATEHOUSE_KEYS_TABLE", "keys"),
        ("GATEHOUSE_SECRETS_TABLE", "secrets"),
        ("GATEHOUSE_USERS_TABLE", "users"),
        ("GATEHOUSE_CONSENTS_TABLE", "consents"),
        ("GATEHOUSE_LOGIN_ATTEMPTS_TABLE", "login-attempts"),
        ("GATEHOUSE_ORIGINS_TABLE", "origins"),
        ("GATEHOUSE_PROVIDERS_TABLE", "providers"),
        ("GATEHOUSE_UPSTREAM_STATES_TABLE", "upstream-states"),
        ("GATEHOUSE_IDENTITIES_TABLE", "identities"),
    ];
    let settings = |routes: &str| {
        let routes = routes.to_owned();
        settings_from_lookup(move |k| {
            if k == "GATEHOUSE_AUTHORIZER_ROUTE_SCOPES" {
                return Some(routes.clone());
            }
            tables
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    let (config, routes) = settings(ROUTES).expect("a good value starts");
    assert_eq!(config.tables.tokens, "tokens");
    assert_eq!(routes.rules().len(), 3);
    let cases = [
        (
            "GET /notes",
            "entry 1 `GET /notes`: expected `METHOD /path=scope",
        ),
        (
            "GET /notes=read;FETCH /x=read",
            "entry 2 `FETCH /x=read`: unknown method `FETCH`",
        ),
        ("GET notes=read", "the path `notes` does not start with `/`"),
        ("GET /notes=", "no scope after `=`"),
        (
            "GET /notes=read;GET /notes=write",
            "the same route as `GET /notes`",
        ),
    ];
    for (value, message) in cases {
        let err = settings(value).expect_err(value);
        assert!(
            err.starts_with("GATEHOUSE_AUTHORIZER_ROUTE_SCOPES: "),
            "{value}: {err}"
        );
        assert!(err.contains(message), "{value}: {err}");
    }
}

#[tokio::test]
async fn the_authorizer_never_logs_a_token() {
    let logs = captured_logs();
    let server = server().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let broken = App::new(
        server.app.config.clone(),
        DynamoStore::new(
            server.app.store.client().clone(),
            TableNames::with_prefix("absent"),
        ),
    );
    let unknown = random_token();
    for (name, _) in FIXTURES {
        decide(&server.app, &bearer(name, &token)).await.unwrap();
        let _ = decide(&server.app, &bearer(name, unknown.expose())).await;
        let _ = decide(&server.app, &event(name, "Bearer not!a!token")).await;
        let _ = decide(&broken, &bearer(name, &token)).await;
    }
    server.revoke_as(&client, &token).await;
    let _ = decide(&server.app, &bearer("rest-token.json", &token)).await;

    let logs = logs.text();
    // This test's own decisions were captured (the capture is shared).
    let accepted = format!("client_id={}", client.id);
    assert!(
        logs.lines()
            .any(|l| l.contains("token accepted") && l.contains(&accepted)),
        "{logs}"
    );
    assert!(logs.contains("token refused"), "{logs}");
    assert!(logs.contains("could not be checked"), "{logs}");
    for secret in [token.as_str(), unknown.expose(), "not!a!token"] {
        assert!(!logs.contains(secret), "a token reached the logs");
    }
    // Nor a recognisable piece of the JWT (its signature).
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature));
}
