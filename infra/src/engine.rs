//! The embedded DynamoDB-compatible engine (dynoxide, on SQLite), served on a
//! loopback port so that the store code talks DynamoDB's HTTP protocol exactly as
//! it does on AWS.
//!
//! dynoxide's own server checks only that a signature is present, so it is not
//! used: this front door lets a request in only when `engine_auth` verifies its
//! signature by the engine's credentials, then runs the operation named by
//! `X-Amz-Target` on `dynoxide::Database`, answering as dynoxide's server does
//! (the same checks of the content type, body and target, the same error bodies).
//! No other port reaches the database.
//!
//! The server's own store reaches the same front door without the port, through
//! [`Engine::in_process_client`] (`engine_connector`): the same SDK client, the
//! same operation code and the same answers, with no socket and no HTTP parsing.

use crate::data_lock::DataLock;
use crate::engine_auth::{self, Received};
use crate::engine_connector::InProcess;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{self, HeaderValue, Method, StatusCode};
use axum::response::Response;
use dynoxide::DynoxideError;
use gatehouse_core::dynamodb::{EndpointCredentials, endpoint_client, endpoint_loader};
use gatehouse_core::secret::{Secret, random_bytes, random_token};
use gatehouse_core::store::client_memo::ClientMemo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

/// DynamoDB accepts bodies up to 16 MB; so does dynoxide's server.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const AMZ_JSON: &str = "application/x-amz-json-1.0";
const TARGET_PREFIX: &str = "DynamoDB_20120810.";
/// The body of DynamoDB's answer to anything but a POST to `/`.
const NOT_FOUND_BODY: &str = "<UnknownOperationException/>\n";

/// A running embedded engine; it stops when the process ends.
#[derive(Clone, Debug)]
pub struct Engine {
    pub url: String,
    /// The only credentials its port accepts.
    pub credentials: EndpointCredentials,
    door: Arc<Door>,
}

/// When a commit of the local data is on disk: SQLite's `synchronous` setting,
/// with the write-ahead log (WAL) that dynoxide always opens the database in.
///
/// SQLite's documentation (<https://sqlite.org/pragma.html#pragma_synchronous>,
/// and "Performance Considerations" in <https://sqlite.org/wal.html>): in WAL
/// mode a commit writes its pages to the `-wal` file before it returns. With
/// `FULL` it also syncs that file to the disk (an fsync per commit); with
/// `NORMAL` it syncs only at checkpoints, so the commits since the last
/// checkpoint may roll back after a power loss or an operating-system crash,
/// though the database stays consistent. Either way a commit survives the end
/// of the process, even by `kill -9`: its write is in the operating system
/// before the operation is answered. `infra/tests/durability.rs` proves that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    /// `synchronous=NORMAL`: durable against a killed process; on power loss or
    /// an OS crash the last commits before it may be lost.
    #[default]
    Normal,
    /// `synchronous=FULL` (SQLite's default): every commit synced to the disk
    /// before it is answered.
    Full,
}

impl Engine {
    /// Serves the SQLite database at `path` (created if absent) on `addr`, for
    /// requests signed by `credentials`, with commits as durable as `durability`.
    pub async fn persistent(
        path: &Path,
        addr: SocketAddr,
        credentials: EndpointCredentials,
        durability: Durability,
        lock: DataLock,
    ) -> anyhow::Result<Self> {
        let path = path
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("the data path is not UTF-8"))?
            .to_owned();
        let db = tokio::task::spawn_blocking(move || {
            let db = dynoxide::Database::new(&path)
                .map_err(|e| anyhow::anyhow!("opening {path}: {e}"))?;
            // dynoxide opens the database in WAL mode at SQLite's default,
            // `synchronous=FULL`. `disable_bulk_loading` sets
            // `synchronous=NORMAL` and otherwise SQLite's own defaults (the
            // libsqlite3-sys build changes none of them): `cache_size=-2000`
            // (2 MiB), `temp_store=DEFAULT`, `mmap_size=0`.
            if durability == Durability::Normal {
                db.disable_bulk_loading()
                    .map_err(|e| anyhow::anyhow!("opening {path}: {e}"))?;
            }
            anyhow::Ok(db)
        })
        .await??;
        Self::serve(db, addr, credentials, Some(lock)).await
    }

    /// Serves a fresh in-memory database on an ephemeral loopback port, with fresh
    /// credentials.
    pub async fn in_memory() -> anyhow::Result<Self> {
        Self::in_memory_with(new_credentials()).await
    }

    /// Serves a fresh in-memory database on an ephemeral loopback port, for
    /// requests signed by `credentials` (a test standing in for an AWS account).
    pub async fn in_memory_with(credentials: EndpointCredentials) -> anyhow::Result<Self> {
        let db =
            dynoxide::Database::memory().map_err(|e| anyhow::anyhow!("in-memory engine: {e}"))?;
        Self::serve(db, SocketAddr::from(([127, 0, 0, 1], 0)), credentials, None).await
    }

    /// A DynamoDB client of this engine through its port, signing with its
    /// credentials: what another process (an admin command, `sam local`) uses.
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        endpoint_client(&self.url, &self.credentials).await
    }

    /// The client records kept for this process's store: exact, because every
    /// write to this engine, from this process or through its port, empties it
    /// (`gatehouse_core::store::client_memo`). Give it only to a store of this
    /// engine's tables.
    pub fn client_memo(&self) -> Arc<ClientMemo> {
        self.door.clients.clone()
    }

    /// A DynamoDB client of this engine in this process: configured as
    /// [`Self::client`] (the same endpoint, retries, timeouts, serialisation and
    /// interceptors), but its HTTP client hands each request to the engine's front
    /// door directly (`engine_connector`) instead of sending it to the port, and it
    /// does not sign. The front door verifies signatures only on the port: a
    /// request in process can come only from code that holds this engine, and
    /// so its secret, so a signature would prove nothing. Signing cost an HMAC
    /// chain and a SHA-256 of the body per request (see BENCHMARKS.md). The
    /// SDK's auth resolution picks "no auth" because no credentials are
    /// configured (`allow_no_auth`), so a request can never go out half-signed.
    ///
    /// It also goes without the SDK's stalled-stream protection, which watches a
    /// body's bytes arrive over a network: here every body is whole before it is
    /// handed over (about 3 % more tokens and introspections per second under
    /// `serve`, BENCHMARKS.md item 16).
    pub async fn in_process_client(&self) -> aws_sdk_dynamodb::Client {
        let conf = endpoint_loader(&self.url)
            .no_credentials()
            .http_client(InProcess::new(self.door.clone()))
            .load()
            .await;
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&conf)
                .allow_no_auth()
                .stalled_stream_protection(
                    aws_sdk_dynamodb::config::StalledStreamProtectionConfig::disabled(),
                )
                .build(),
        )
    }

    async fn serve(
        db: dynoxide::Database,
        addr: SocketAddr,
        credentials: EndpointCredentials,
        lock: Option<DataLock>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let door = Arc::new(Door {
            db,
            credentials: credentials.clone(),
            jobs: database_thread(),
            clients: Arc::default(),
            _data: lock,
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(door.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            url,
            credentials,
            door,
        })
    }
}

/// Fresh engine credentials: a random access key id and a 256-bit secret.
pub fn new_credentials() -> EndpointCredentials {
    let id: String = random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    EndpointCredentials::new(
        format!("GATEHOUSE{id}"),
        Secret::new(random_token().expose()),
    )
}

/// What the engine answers with: the database, and the only credentials its port
/// accepts.
pub(crate) struct Door {
    db: dynoxide::Database,
    credentials: EndpointCredentials,
    /// The queue of the engine's database thread: see [`Door::run`].
    jobs: std::sync::mpsc::Sender<Job>,
    /// The client records this process's store keeps, emptied after every
    /// operation that may write (`client_memo` says why this makes them exact).
    clients: Arc<ClientMemo>,
    /// For a database on disk, the data directory's lock (`data_lock`), held
    /// while the engine runs.
    _data: Option<DataLock>,
}

/// One operation, with where its answer goes.
type Job = Box<dyn FnOnce() + Send>;

/// Starts the thread that runs every operation of one engine, in the order they
/// arrive; it ends when the engine's [`Door`] is dropped. A panic in an operation
/// is caught (its caller gets an error), so the thread outlives it.
fn database_thread() -> std::sync::mpsc::Sender<Job> {
    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("engine-db".into())
        .spawn(move || {
            while let Ok(job) = queue.recv() {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        })
        .expect("the engine's database thread starts");
    jobs
}

impl std::fmt::Debug for Door {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Door")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// How a request reached the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// On the loopback port: from any local process, so its signature is verified.
    Port,
    /// From this process's own client, through `engine_connector` (which says why
    /// its signature is not verified).
    ///
    /// Its `TransactWriteItems` reach the engine without their
    /// `ClientRequestToken`. The token makes a call idempotent for ten minutes
    /// (DynamoDB API Reference, TransactWriteItems), so that a retry of a call
    /// whose answer was lost in the network does not run twice; in process no
    /// answer can be lost (it is a function's return), and an attempt that
    /// failed wrote nothing, so a retry may run. dynoxide keeps every token it
    /// sees for those ten minutes and walks them all at each transaction: under
    /// load that walk, not SQLite, was most of a code exchange's time (a CPU
    /// profile put 27 % of the server's time in it after 15,000 grants).
    InProcess,
}

/// The port's route: the body is read (up to [`MAX_BODY_BYTES`]) and the request
/// answered by [`Door::answer`], as an in-process request is.
async fn handle(State(door): State<Arc<Door>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // Only a POST to `/` has its body read.
    if !is_operation(&parts.method, parts.uri.path()) {
        return not_found().map(Body::from);
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return too_large().map(Body::from);
    };
    door.answer(http::Request::from_parts(parts, body), Arrival::Port)
        .await
        .map(Body::from)
}

fn is_operation(method: &Method, path: &str) -> bool {
    method == Method::POST && path == "/"
}

impl Door {
    /// Answers one DynamoDB request, from the port or from this process: the
    /// method, path, headers and body in, the status, headers and body out. Both
    /// transports run exactly this, so they answer alike (the same checks, the same
    /// `X-Amz-Target` dispatch, the same error bodies); only a request on the port
    /// has its signature verified first.
    pub(crate) async fn answer(
        &self,
        req: http::Request<Bytes>,
        arrival: Arrival,
    ) -> http::Response<Bytes> {
        let (parts, body) = req.into_parts();
        if !is_operation(&parts.method, parts.uri.path()) {
            return not_found();
        }
        if body.len() > MAX_BODY_BYTES {
            return too_large();
        }
        let raw_ct = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let base_ct = raw_ct.split(';').next().unwrap_or("").trim();
        let is_amz_json = base_ct.eq_ignore_ascii_case(AMZ_JSON);
        let is_plain_json = base_ct.eq_ignore_ascii_case("application/json");
        let response_ct = if is_plain_json {
            "application/json"
        } else {
            AMZ_JSON
        };
        if arrival == Arrival::Port {
            // Nothing of the request is looked at further before its signature verifies.
            let received = Received {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or(""),
                headers: &parts.headers,
                body: &body,
            };
            if let Err(refusal) =
                engine_auth::verify(&received, &self.credentials, SystemTime::now())
            {
                return dynamo(StatusCode::BAD_REQUEST, response_ct, refusal.to_json());
            }
        }

        // From here on, as dynoxide's server answers (server/mod.rs `handle_request`).
        if !is_amz_json && !is_plain_json && (!body.is_empty() || !raw_ct.is_empty()) {
            return not_found();
        }
        // `Vec::from(Bytes)` takes the buffer without a copy when it is not shared.
        let Ok(body) = String::from_utf8(Vec::from(body)) else {
            return bare(response_ct, "SerializationException");
        };
        if !body.is_empty() && serde_json::from_str::<serde::de::IgnoredAny>(&body).is_err() {
            return bare(response_ct, "SerializationException");
        }
        let Some(operation) = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .and_then(|op| OPERATIONS.iter().find(|known| **known == op))
            .copied()
        else {
            return bare(response_ct, "UnknownOperationException");
        };
        if body.is_empty() {
            return bare(response_ct, "SerializationException");
        }
        let result = self.run(operation, body, arrival).await;
        match result {
            Ok(json) => dynamo(StatusCode::OK, response_ct, json),
            Err(e) => {
                let e = resolve_validation_tag(operation, e);
                let status =
                    StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
                dynamo(status, response_ct, e.to_json())
            }
        }
    }
}

impl Door {
    /// Runs one operation on the engine's database thread, and waits for its answer
    /// without holding an async worker.
    ///
    /// dynoxide runs one operation at a time on its one SQLite connection, behind
    /// a hand-off mutex. Each request used to go to the blocking pool, so under
    /// load a dozen threads queued on that mutex, and each hand-off woke one: a
    /// profile of introspection at 16 connections had about a fifth of the
    /// server's time in futex waits and context switches. Running operations on the
    /// async workers behind an async mutex removed those, but the fair mutex handed
    /// the turn to a waiting task whose worker was busy signing a token, and every
    /// other request waited for it (client-credentials tokens fell by a quarter).
    /// One thread that takes the operations in turn has neither cost: it never
    /// contends for the connection, and under load it finds the next operation
    /// already queued.
    async fn run(
        &self,
        operation: &'static str,
        body: String,
        arrival: Arrival,
    ) -> dynoxide::Result<String> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let db = self.db.clone();
        let clients = self.clients.clone();
        let job: Job = Box::new(move || {
            // Emptied before the answer, so that whoever learns of a write cannot
            // then meet a record from before it; and after a failed or panicking
            // write too, which may or may not have applied.
            let forget = ForgetAfter((!READ_ONLY.contains(&operation)).then_some(&*clients));
            let result = dispatch(&db, operation, &body, arrival);
            drop(forget);
            let _ = answer.send(result);
        });
        let lost = || DynoxideError::InternalServerError("the operation did not complete".into());
        if self.jobs.send(job).is_err() {
            return Err(lost());
        }
        answered.await.unwrap_or_else(|_| Err(lost()))
    }
}

/// The operations the engine serves: every table and item operation of DynamoDB
/// (streams and PartiQL are left out; Gatehouse uses neither).
const OPERATIONS: &[&str] = &[
    "CreateTable",
    "DeleteTable",
    "DescribeTable",
    "ListTables",
    "UpdateTable",
    "PutItem",
    "GetItem",
    "DeleteItem",
    "UpdateItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
];

/// Empties the client memo when dropped, even by a panic.
struct ForgetAfter<'a>(Option<&'a ClientMemo>);

impl Drop for ForgetAfter<'_> {
    fn drop(&mut self) {
        if let Some(memo) = self.0 {
            memo.forget_all();
        }
    }
}

/// The operations that never write; after any other one, the client memo is
/// emptied.
const READ_ONLY: &[&str] = &[
    "DescribeTable",
    "ListTables",
    "GetItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "TransactGetItems",
    "DescribeTimeToLive",
    "ListTagsOfResource",
];

fn dispatch(
    db: &dynoxide::Database,
    operation: &str,
    body: &str,
    arrival: Arrival,
) -> dynoxide::Result<String> {
    match operation {
        "CreateTable" => run(body, |r| db.create_table(r)),
        "DeleteTable" => run(body, |r| db.delete_table(r)),
        "DescribeTable" => run(body, |r| db.describe_table(r)),
        "ListTables" => run(body, |r| db.list_tables(r)),
        "UpdateTable" => run(body, |r| db.update_table(r)),
        "PutItem" => run(body, |r| db.put_item(r)),
        "GetItem" => run(body, |r| db.get_item(r)),
        "DeleteItem" => run(body, |r| db.delete_item(r)),
        "UpdateItem" => run(body, |r| db.update_item(r)),
        "Query" => run(body, |r| db.query(r)),
        "Scan" => run(body, |r| db.scan(r)),
        "BatchGetItem" => run(body, |r| db.batch_get_item(r)),
        "BatchWriteItem" => run(body, |r| db.batch_write_item(r)),
        "TransactWriteItems" => run(
            body,
            |mut r: dynoxide::actions::transact_write_items::TransactWriteItemsRequest| {
                if arrival == Arrival::InProcess {
                    r.client_request_token = None;
                }
                db.transact_write_items(r)
            },
        ),
        "TransactGetItems" => run(body, |r| db.transact_get_items(r)),
        "UpdateTimeToLive" => run(body, |r| db.update_time_to_live(r)),
        "DescribeTimeToLive" => run(body, |r| db.describe_time_to_live(r)),
        "TagResource" => run(body, |r| db.tag_resource(r)),
        "UntagResource" => run(body, |r| db.untag_resource(r)),
        "ListTagsOfResource" => run(body, |r| db.list_tags_of_resource(r)),
        _ => Err(DynoxideError::SerializationException(
            "UnknownOperationException".into(),
        )),
    }
}

fn run<Req: DeserializeOwned, Resp: Serialize>(
    body: &str,
    op: impl FnOnce(Req) -> dynoxide::Result<Resp>,
) -> dynoxide::Result<String> {
    let resp = op(deserialize(body)?)?;
    serde_json::to_string(&resp).map_err(|e| DynoxideError::InternalServerError(e.to_string()))
}

/// A request body as dynoxide's server reads it (`serde_errors::deserialize`):
/// dynoxide's request types mark the DynamoDB error class of what they refuse;
/// missing fields, unknown variants and nulls are validation errors, any other
/// type mismatch a serialization error.
fn deserialize<T: DeserializeOwned>(body: &str) -> dynoxide::Result<T> {
    serde_json::from_str(body).map_err(|e| {
        let msg = e.to_string();
        // "as read" keeps serde's position; the other markers drop it.
        if let Some(rest) = msg.strip_prefix("SERIALIZATION_AS_READ:") {
            return DynoxideError::SerializationException(rest.to_owned());
        }
        if let Some(rest) = msg.strip_prefix("VALIDATION_AS_READ:") {
            return DynoxideError::ValidationException(rest.to_owned());
        }
        let plain = match msg.rfind(" at line ") {
            Some(i) if msg[i..].contains("column") => msg[..i].to_owned(),
            _ => msg.clone(),
        };
        if let Some(rest) = plain.strip_prefix("SERIALIZATION:") {
            return DynoxideError::SerializationException(rest.to_owned());
        }
        if let Some(rest) = plain.strip_prefix("VALIDATION_REQUEST:") {
            return DynoxideError::EnvelopedValidation(rest.to_owned());
        }
        if let Some(rest) = plain.strip_prefix("VALIDATION:") {
            return DynoxideError::ValidationException(rest.to_owned());
        }
        if plain.contains("missing field")
            || plain.contains("unknown variant")
            || plain.contains("invalid type: null")
            || plain.contains("Supplied AttributeValue")
        {
            DynoxideError::ValidationException(plain)
        } else {
            DynoxideError::SerializationException(plain)
        }
    })
}

/// dynoxide's wire-invisible "enveloped validation" tag never reaches the wire:
/// PutItem, UpdateItem and DeleteItem put the message in DynamoDB's
/// `1 validation error detected: ` envelope, every other operation reports it bare.
fn resolve_validation_tag(operation: &str, e: DynoxideError) -> DynoxideError {
    match e {
        DynoxideError::EnvelopedValidation(msg)
            if matches!(operation, "PutItem" | "UpdateItem" | "DeleteItem") =>
        {
            DynoxideError::ValidationException(format!("1 validation error detected: {msg}"))
        }
        DynoxideError::EnvelopedValidation(msg) => DynoxideError::ValidationException(msg),
        other => other,
    }
}

/// An error with only its `__type`, as DynamoDB sends for an unreadable body or
/// an unknown target.
fn bare(content_type: &str, error: &str) -> http::Response<Bytes> {
    dynamo(
        StatusCode::BAD_REQUEST,
        content_type,
        format!(r#"{{"__type":"com.amazon.coral.service#{error}"}}"#),
    )
}

/// What DynamoDB answers to anything but a POST to `/`.
fn not_found() -> http::Response<Bytes> {
    raw(
        StatusCode::NOT_FOUND,
        Bytes::from_static(NOT_FOUND_BODY.as_bytes()),
    )
}

fn too_large() -> http::Response<Bytes> {
    raw(StatusCode::PAYLOAD_TOO_LARGE, Bytes::new())
}

fn dynamo(status: StatusCode, content_type: &str, body: String) -> http::Response<Bytes> {
    let mut resp = raw(status, Bytes::from(body));
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(AMZ_JSON)),
    );
    resp
}

fn raw(status: StatusCode, body: Bytes) -> http::Response<Bytes> {
    let mut resp = http::Response::new(body);
    *resp.status_mut() = status;
    // DynamoDB's request id: 52 characters of [0-9A-Z].
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut id = [0u8; 52];
    for (i, b) in random_bytes::<26>().iter().enumerate() {
        id[2 * i] = HEX[usize::from(b >> 4)];
        id[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    if let Ok(v) = HeaderValue::from_bytes(&id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::interceptors::{
        AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    };
    use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
    use aws_sdk_dynamodb::error::{BoxError, ProvideErrorMetadata, SdkError};
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    use std::sync::Mutex;

    /// One response as the SDK received it: status, content type and body.
    type Wire = (u16, Option<String>, String);

    /// Keeps each response as the SDK read it.
    #[derive(Clone, Debug, Default)]
    struct Responses(Arc<Mutex<Vec<Wire>>>);

    impl Intercept for Responses {
        fn name(&self) -> &'static str {
            "Responses"
        }

        fn read_after_deserialization(
            &self,
            context: &AfterDeserializationInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let r = context.response();
            self.0.lock().unwrap().push((
                r.status().as_u16(),
                r.headers().get("content-type").map(str::to_owned),
                String::from_utf8_lossy(r.body().bytes().unwrap_or_default()).into_owned(),
            ));
            Ok(())
        }
    }

    /// Renames the operation before the request is signed: a target the engine
    /// does not know, correctly signed.
    #[derive(Debug)]
    struct UnknownTarget;

    impl Intercept for UnknownTarget {
        fn name(&self) -> &'static str {
            "UnknownTarget"
        }

        fn modify_before_signing(
            &self,
            context: &mut BeforeTransmitInterceptorContextMut<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            context
                .request_mut()
                .headers_mut()
                .insert("x-amz-target", "DynamoDB_20120810.NoSuchOperation");
            Ok(())
        }
    }

    fn with(
        client: &aws_sdk_dynamodb::Client,
        interceptor: impl Intercept + 'static,
    ) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            client
                .config()
                .to_builder()
                .interceptor(interceptor)
                .build(),
        )
    }

    fn code<E: ProvideErrorMetadata, R>(r: Result<impl std::fmt::Debug, SdkError<E, R>>) -> String {
        let e = r.expect_err("refused");
        e.as_service_error()
            .and_then(|e| e.code())
            .unwrap_or("no service error")
            .to_owned()
    }

    async fn with_table(engine: &Engine) {
        engine
            .in_process_client()
            .await
            .create_table()
            .table_name("items")
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// The refusals of one client, with the responses as they arrived.
    async fn refusals(client: &aws_sdk_dynamodb::Client) -> (Vec<String>, Vec<Wire>) {
        let seen = Responses::default();
        let c = with(client, seen.clone());
        let id = || AttributeValue::S("a".into());
        c.put_item()
            .table_name("items")
            .item("id", id())
            .send()
            .await
            .unwrap();
        let codes = vec![
            code(
                c.put_item()
                    .table_name("items")
                    .item("id", id())
                    .condition_expression("attribute_not_exists(id)")
                    .send()
                    .await,
            ),
            code(
                c.put_item()
                    .table_name("items")
                    .item("other", id())
                    .send()
                    .await,
            ),
            code(with(&c, UnknownTarget).list_tables().send().await),
        ];
        let wire = std::mem::take(&mut *seen.0.lock().unwrap());
        (codes, wire)
    }

    #[tokio::test]
    async fn errors_keep_their_shape_in_process_as_on_the_port() {
        let engine = Engine::in_memory().await.unwrap();
        with_table(&engine).await;
        let (port_codes, port_wire) = refusals(&engine.client().await).await;
        let (codes, wire) = refusals(&engine.in_process_client().await).await;
        assert_eq!(
            codes,
            [
                "ConditionalCheckFailedException",
                "ValidationException",
                "UnknownOperationException"
            ]
        );
        assert_eq!(codes, port_codes);
        // Status, content type and body alike (the request ids differ).
        assert_eq!(wire, port_wire);
        assert_eq!(wire.len(), 4, "{wire:?}");
        for (status, content_type, _) in &wire[1..] {
            assert_eq!(*status, 400);
            assert_eq!(content_type.as_deref(), Some(AMZ_JSON));
        }
        assert_eq!(
            wire[3].2,
            r#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#
        );
    }

    #[tokio::test]
    async fn the_port_still_refuses_unsigned_and_wrongly_signed_requests() {
        let engine = Engine::in_memory().await.unwrap();
        gatehouse_core::outbound_http::install_default_provider();
        let unsigned = reqwest::Client::new()
            .post(&engine.url)
            .header("content-type", AMZ_JSON)
            .header("x-amz-target", "DynamoDB_20120810.ListTables")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 400);
        let body: serde_json::Value = unsigned.json().await.unwrap();
        assert_eq!(
            body["__type"],
            "com.amazon.coral.service#MissingAuthenticationTokenException"
        );

        let wrong_secret = EndpointCredentials::new(
            engine.credentials.access_key_id.clone(),
            Secret::new("not-the-engine-secret"),
        );
        let wrong = endpoint_client(&engine.url, &wrong_secret).await;
        assert_eq!(
            code(wrong.list_tables().send().await),
            "InvalidSignatureException"
        );
        let stranger = endpoint_client(&engine.url, &new_credentials()).await;
        assert_eq!(
            code(stranger.list_tables().send().await),
            "UnrecognizedClientException"
        );

        // The engine's own signature is let in, on the port and in process.
        engine.client().await.list_tables().send().await.unwrap();
        engine
            .in_process_client()
            .await
            .list_tables()
            .send()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_port_and_the_process_reach_one_database() {
        let engine = Engine::in_memory().await.unwrap();
        with_table(&engine).await;
        engine
            .in_process_client()
            .await
            .put_item()
            .table_name("items")
            .item("id", AttributeValue::S("written in process".into()))
            .send()
            .await
            .unwrap();
        let read = engine
            .client()
            .await
            .get_item()
            .table_name("items")
            .key("id", AttributeValue::S("written in process".into()))
            .send()
            .await
            .unwrap();
        assert!(read.item().is_some());
    }

    /// A transaction that puts `id` on the condition that it does not exist,
    /// under `token`.
    async fn put_new_under(
        client: &aws_sdk_dynamodb::Client,
        id: &str,
        token: &str,
    ) -> Result<(), String> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
        let put = Put::builder()
            .table_name("items")
            .item("id", AttributeValue::S(id.into()))
            .condition_expression("attribute_not_exists(id)")
            .build()
            .unwrap();
        client
            .transact_write_items()
            .client_request_token(token)
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                e.as_service_error()
                    .and_then(|e| e.code())
                    .unwrap_or("no service error")
                    .to_owned()
            })
    }

    #[tokio::test]
    async fn transactions_are_idempotent_by_their_token_on_the_port_only() {
        let engine = Engine::in_memory().await.unwrap();
        with_table(&engine).await;
        // On the port, a call again under its token is answered as the first was
        // (DynamoDB's ClientRequestToken), without running again.
        let port = engine.client().await;
        put_new_under(&port, "p", "token-1").await.unwrap();
        put_new_under(&port, "p", "token-1").await.unwrap();
        assert_eq!(
            put_new_under(&port, "p", "token-2").await,
            Err("TransactionCanceledException".into())
        );
        // In process the token is not kept: each call runs, and its condition decides.
        let local = engine.in_process_client().await;
        put_new_under(&local, "l", "token-3").await.unwrap();
        assert_eq!(
            put_new_under(&local, "l", "token-3").await,
            Err("TransactionCanceledException".into())
        );
    }

    #[tokio::test]
    async fn anything_but_a_post_to_the_root_is_not_found_in_process_too() {
        let engine = Engine::in_memory().await.unwrap();
        for (method, path) in [(Method::GET, "/"), (Method::POST, "/other")] {
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .body(Bytes::new())
                .unwrap();
            let resp = engine.door.answer(req, Arrival::InProcess).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND);
            assert_eq!(resp.body().as_ref(), NOT_FOUND_BODY.as_bytes());
        }
    }
}
