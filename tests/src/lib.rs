//! Test harness: each test starts its own embedded DynamoDB-compatible engine (its
//! port on loopback, the server's store reaching it in process), creates its
//! tables, and serves Gatehouse on an ephemeral port through the same router
//! `gatehouse serve` uses.

pub mod browser;
pub mod flow;
pub mod loopback;
pub mod relying_party;
pub mod scripted_provider;
pub mod upstream;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use gatehouse::engine::Engine;
use gatehouse_core::App;
use gatehouse_core::backchannel_logout::{BoxFuture, LogoutDispatch, LogoutMessage, LogoutQueue};
use gatehouse_core::config::Config;
use gatehouse_core::domain::client::{ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::keys::SigningAlgorithm;
use gatehouse_core::registration::{self, RegisteredClient};
use gatehouse_core::secret::random_id;
use gatehouse_core::store::{DynamoStore, TableNames};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

pub use reqwest;
pub use serde_json;

pub struct TestServer {
    /// `http://127.0.0.1:PORT`, also the issuer.
    pub base: String,
    pub app: Arc<App>,
    /// The embedded engine (its URL and the only credentials it accepts).
    pub engine: Engine,
    /// Every DynamoDB request the server makes, by operation.
    pub dynamodb_calls: DynamoDbCalls,
}

/// Counts DynamoDB requests by operation (the `X-Amz-Target` of each request),
/// as they leave the SDK client, and records each as the IAM actions it needs.
#[derive(Clone, Debug, Default)]
pub struct DynamoDbCalls {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    accesses: Arc<Mutex<Vec<Access>>>,
}

/// What one DynamoDB request needs from IAM: an action on a table (or
/// `table/index/name`), the key of the item in the keys or secrets table (its
/// `kid` or `name`: IAM's leading key), and the attributes a read projects
/// (`None`: every attribute).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub action: String,
    pub table: String,
    pub key: Option<String>,
    pub attributes: Option<Vec<String>>,
}

impl DynamoDbCalls {
    /// The counts so far, and a fresh start.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().unwrap())
    }

    /// The accesses so far, and a fresh start.
    pub fn take_accesses(&self) -> Vec<Access> {
        std::mem::take(&mut *self.accesses.lock().unwrap())
    }
}

/// The IAM view of a request body: transactions and batches need the action of
/// each item on its table (`TransactWriteItems` of a `Put` needs `PutItem`).
fn accesses_of(op: &str, body: &serde_json::Value) -> Vec<Access> {
    let item_key = |v: &serde_json::Value| {
        ["Key", "Item"]
            .iter()
            .find_map(|k| v[k]["kid"]["S"].as_str().or(v[k]["name"]["S"].as_str()))
            .map(str::to_owned)
    };
    let attributes = |v: &serde_json::Value| {
        v["ProjectionExpression"].as_str().map(|p| {
            p.split(',')
                .map(|a| {
                    let a = a.trim();
                    v["ExpressionAttributeNames"][a]
                        .as_str()
                        .unwrap_or(a)
                        .to_owned()
                })
                .collect()
        })
    };
    let on = |action: &str, v: &serde_json::Value| {
        let mut table = v["TableName"].as_str().unwrap_or("?").to_owned();
        if let Some(index) = v["IndexName"].as_str() {
            table = format!("{table}/index/{index}");
        }
        Access {
            action: action.to_owned(),
            table,
            key: item_key(v),
            attributes: attributes(v),
        }
    };
    match op {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.iter().next())
            .map(|(kind, v)| {
                let action = match kind.as_str() {
                    "ConditionCheck" => "ConditionCheckItem".to_owned(),
                    k => format!("{k}Item"),
                };
                on(&action, v)
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(table, _)| Access {
                action: op.to_owned(),
                table: table.clone(),
                key: None,
                attributes: None,
            })
            .collect(),
        _ => vec![on(op, body)],
    }
}

impl Intercept for DynamoDbCalls {
    fn name(&self) -> &'static str {
        "DynamoDbCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let op = target.rsplit('.').next().unwrap_or(target).to_owned();
        let body = context
            .request()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        self.accesses
            .lock()
            .unwrap()
            .extend(accesses_of(&op, &body));
        *self.counts.lock().unwrap().entry(op).or_default() += 1;
        Ok(())
    }
}

/// How the server's store gets client records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientRecords {
    /// Kept in the engine's memo, as under `gatehouse serve`.
    Memo,
    /// Read at each use, as on AWS.
    Read,
}

/// A registered client with its clear secret.
#[derive(Clone, Debug)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

impl From<RegisteredClient> for TestClient {
    fn from(c: RegisteredClient) -> Self {
        Self {
            id: c.client.client_id,
            secret: c.secret.map(|s| s.expose().to_owned()),
        }
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with RS256 keys and a configuration adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_alg(SigningAlgorithm::Rs256, adjust).await
    }

    pub async fn start_with_alg(alg: SigningAlgorithm, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_dispatching(alg, LogoutDispatch::Await, adjust).await
    }

    /// Starts with back-channel logout deliveries made by `dispatch` (awaited by
    /// default; a [`RecordingQueue`] for what a function on AWS does).
    pub async fn start_dispatching(
        alg: SigningAlgorithm,
        dispatch: LogoutDispatch,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_on_engine(alg, dispatch, ClientRecords::Memo, adjust).await
    }

    /// Starts as [`Self::start_dispatching`], with a store that reads each
    /// client record as a Lambda function's does, rather than keeping it in
    /// the engine's memo as `gatehouse serve` does.
    pub async fn start_as_a_function(
        alg: SigningAlgorithm,
        dispatch: LogoutDispatch,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_on_engine(alg, dispatch, ClientRecords::Read, adjust).await
    }

    async fn start_on_engine(
        alg: SigningAlgorithm,
        dispatch: LogoutDispatch,
        clients: ClientRecords,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let engine = Engine::in_memory().await.expect("embedded engine starts");
        let dynamodb_calls = DynamoDbCalls::default();
        // The server's own store reaches the engine in process, as under
        // `gatehouse serve`; the counting interceptor runs before the HTTP client.
        let db = engine.in_process_client().await;
        let db = aws_sdk_dynamodb::Client::from_conf(
            db.config()
                .to_builder()
                .interceptor(dynamodb_calls.clone())
                .build(),
        );
        let tables = TableNames::with_prefix(&format!(
            "t{}",
            random_id().to_lowercase().replace(['-', '_'], "")
        ));
        tables
            .create_missing(&db)
            .await
            .expect("tables are created");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::new(base.clone(), tables.clone());
        config.key_cache_ttl = std::time::Duration::ZERO;
        adjust(&mut config);
        let mut store = DynamoStore::new(db, tables);
        if clients == ClientRecords::Memo {
            store = store.with_client_memo(engine.client_memo());
        }
        registration::ensure_signing_keys(&store, &config, alg)
            .await
            .expect("signing keys");
        let app = Arc::new(App::new(config, store).with_logout_dispatch(dispatch));
        tokio::spawn(gatehouse::server::serve(listener, app.clone()));
        dynamodb_calls.take();
        Self {
            base,
            app,
            engine,
            dynamodb_calls,
        }
    }

    /// The OpenID Provider metadata, as served at
    /// `/.well-known/openid-configuration`.
    pub async fn openid_configuration(&self) -> serde_json::Value {
        http()
            .get(self.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn register(&self, reg: ClientRegistration) -> RegisteredClient {
        registration::register_client(&self.app.store, &self.app.config, reg)
            .await
            .expect("client registers")
    }

    /// A confidential client allowed the client credentials grant and `scope`.
    pub async fn cc_client(&self, scope: &str) -> TestClient {
        let c = self.register(cc_registration(scope)).await;
        TestClient::from(c)
    }

    /// A confidential client like [`Self::cc_client`] registered to authenticate
    /// with `method` (RFC 7591 §2).
    pub async fn cc_client_using(
        &self,
        scope: &str,
        method: gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod,
    ) -> TestClient {
        let mut reg = cc_registration(scope);
        reg.token_endpoint_auth_method = Some(method);
        TestClient::from(self.register(reg).await)
    }

    /// A public client (authorization code) allowed `scope`.
    pub async fn public_client(&self, scope: &str) -> TestClient {
        let c = self
            .register(ClientRegistration {
                redirect_uris: vec!["http://127.0.0.1/cb".into()],
                ..ClientRegistration::new(
                    "Public app",
                    ClientType::Public,
                    vec![GrantType::AuthorizationCode],
                    Scope::parse(scope).unwrap(),
                )
            })
            .await;
        TestClient::from(c)
    }

    /// POSTs a form with optional Basic credentials; returns status, headers and JSON
    /// body (`Null` for an empty body).
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut req = http().post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        read(req.send().await.expect("request is answered")).await
    }

    /// A CORS preflight of `path` from `origin` (Fetch §3.2.2): status and headers.
    pub async fn preflight(&self, path: &str, origin: &str) -> Answer {
        let req = http()
            .request(reqwest::Method::OPTIONS, self.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            );
        read(req.send().await.expect("request is answered")).await
    }

    /// A token from the client credentials grant.
    pub async fn cc_token(&self, client: &TestClient, scope: &str) -> String {
        let (status, _, body) = self
            .post_form(
                "/token",
                Some((&client.id, client.secret.as_deref().unwrap())),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }
}

pub fn cc_registration(scope: &str) -> ClientRegistration {
    ClientRegistration::new(
        "Service",
        ClientType::Confidential,
        vec![GrantType::ClientCredentials],
        Scope::parse(scope).unwrap(),
    )
}

pub fn http() -> reqwest::Client {
    // reqwest is built with rustls and no provider (`outbound_http.rs`).
    gatehouse_core::outbound_http::install_default_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Status, headers and JSON body of a response.
pub type Answer = (u16, reqwest::header::HeaderMap, serde_json::Value);

/// Asserts an RFC 6749 §5.2 error: the status, the `error` code, a string
/// `error_description`, a JSON body and `Cache-Control: no-store`.
pub fn assert_error(answer: &Answer, status: u16, code: &str) {
    let (s, h, body) = answer;
    let header = |name| {
        h.get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
    };
    assert_eq!(*s, status, "status; body {body}");
    assert_eq!(body["error"], code, "error code; body {body}");
    assert!(
        body["error_description"].is_string(),
        "error_description; body {body}"
    );
    assert_eq!(
        header(reqwest::header::CACHE_CONTROL),
        Some("no-store"),
        "Cache-Control; body {body}"
    );
    let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "Content-Type {content_type:?}"
    );
}

/// A client as the store keeps it, for tests that write the store directly:
/// confidential with `secret` when one is given, public otherwise.
pub fn stored_client(id: &str, secret: Option<&str>) -> gatehouse_core::domain::client::Client {
    gatehouse_core::domain::client::Client {
        client_id: id.into(),
        name: "App".into(),
        client_type: if secret.is_some() {
            ClientType::Confidential
        } else {
            ClientType::Public
        },
        secret_hash: secret.map(gatehouse_core::secret::SecretHash::of),
        previous_secret: None,
        redirect_uris: vec![],
        grant_types: vec![GrantType::ClientCredentials],
        allowed_scope: Scope::parse("read write").unwrap(),
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

/// Status, headers and JSON body of a response (`Null` when empty, a string when
/// the body is not JSON).
pub async fn read(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, headers, body)
}

/// Verifies `token` against the server's JWKS as a resource server would.
pub async fn verify(
    server: &TestServer,
    token: &str,
    alg: jsonwebtoken::Algorithm,
) -> serde_json::Value {
    let jwks = jwks(&server.base).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    assert_eq!(header.alg, alg);
    let kid = header.kid.expect("a kid");
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_audience(&[&server.app.config.audience]);
    validation.set_issuer(&[&server.app.config.issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the token verifies")
    .claims
}

/// The JWKS published at `base`.
pub async fn jwks(base: &str) -> jsonwebtoken::jwk::JwkSet {
    http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every log line of this test binary, at DEBUG, from the first call on: the
/// global subscriber is installed once and writes here.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) the subscriber that captures every log line.
pub fn captured_logs() -> &'static LogCapture {
    static LOGS: OnceLock<LogCapture> = OnceLock::new();
    LOGS.get_or_init(|| {
        let capture = LogCapture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    })
}

/// A back-channel logout queue that keeps what it is sent, or refuses
/// everything: the deliveries of a function on AWS, without SQS.
#[derive(Default)]
pub struct RecordingQueue {
    pub sent: Mutex<Vec<LogoutMessage>>,
    pub refuse: bool,
}

impl LogoutQueue for RecordingQueue {
    fn send<'a>(&'a self, messages: &'a [LogoutMessage]) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if self.refuse {
                return Err("AccessDenied".into());
            }
            self.sent.lock().unwrap().extend_from_slice(messages);
            Ok(())
        })
    }
}
