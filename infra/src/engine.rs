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

use crate::engine_auth::{self, Received};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use dynoxide::DynoxideError;
use gatehouse_core::dynamodb::{EndpointCredentials, endpoint_client};
use gatehouse_core::secret::{Secret, random_bytes, random_token};
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
/// What DynamoDB answers to anything but a POST to `/`.
const NOT_FOUND_BODY: &str = "<UnknownOperationException/>\n";

/// A running embedded engine; it stops when the process ends.
#[derive(Clone, Debug)]
pub struct Engine {
    pub url: String,
    /// The only credentials its port accepts.
    pub credentials: EndpointCredentials,
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
        Self::serve(db, addr, credentials).await
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
        Self::serve(db, SocketAddr::from(([127, 0, 0, 1], 0)), credentials).await
    }

    /// A DynamoDB client of this engine, signing with its credentials.
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        endpoint_client(&self.url, &self.credentials).await
    }

    async fn serve(
        db: dynoxide::Database,
        addr: SocketAddr,
        credentials: EndpointCredentials,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let door = Arc::new(Door {
            db,
            credentials: credentials.clone(),
        });
        let app = axum::Router::new().fallback(handle).with_state(door);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, credentials })
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

struct Door {
    db: dynoxide::Database,
    credentials: EndpointCredentials,
}

async fn handle(State(door): State<Arc<Door>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST || parts.uri.path() != "/" {
        return raw(StatusCode::NOT_FOUND, NOT_FOUND_BODY);
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
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return raw(StatusCode::PAYLOAD_TOO_LARGE, "");
    };
    // Nothing of the request is looked at further before its signature verifies.
    let received = Received {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    if let Err(refusal) = engine_auth::verify(&received, &door.credentials, SystemTime::now()) {
        return dynamo(StatusCode::BAD_REQUEST, response_ct, refusal.to_json());
    }

    // From here on, as dynoxide's server answers (server/mod.rs `handle_request`).
    if !is_amz_json && !is_plain_json && (!body.is_empty() || !raw_ct.is_empty()) {
        return raw(StatusCode::NOT_FOUND, NOT_FOUND_BODY);
    }
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return bare(response_ct, "SerializationException");
    };
    if !body.is_empty() && serde_json::from_str::<serde_json::Value>(&body).is_err() {
        return bare(response_ct, "SerializationException");
    }
    let Some(operation) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .filter(|op| OPERATIONS.contains(op))
        .map(str::to_owned)
    else {
        return bare(response_ct, "UnknownOperationException");
    };
    if body.is_empty() {
        return bare(response_ct, "SerializationException");
    }
    // SQLite blocks: the operation runs on the blocking pool, not on an async worker.
    let db = door.db.clone();
    let op = operation.clone();
    let result = match tokio::task::spawn_blocking(move || dispatch(&db, &op, &body)).await {
        Ok(r) => r,
        Err(_) => Err(DynoxideError::InternalServerError(
            "the operation did not complete".into(),
        )),
    };
    match result {
        Ok(json) => dynamo(StatusCode::OK, response_ct, json),
        Err(e) => {
            let e = resolve_validation_tag(&operation, e);
            let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
            dynamo(status, response_ct, e.to_json())
        }
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

fn dispatch(db: &dynoxide::Database, operation: &str, body: &str) -> dynoxide::Result<String> {
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
        "TransactWriteItems" => run(body, |r| db.transact_write_items(r)),
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
fn bare(content_type: &str, error: &str) -> Response {
    dynamo(
        StatusCode::BAD_REQUEST,
        content_type,
        format!(r#"{{"__type":"com.amazon.coral.service#{error}"}}"#),
    )
}

fn dynamo(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut resp = raw(status, &body);
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(AMZ_JSON)),
    );
    resp
}

fn raw(status: StatusCode, body: &str) -> Response {
    let mut resp = Response::new(Body::from(body.to_owned()));
    *resp.status_mut() = status;
    // DynamoDB's request id: 52 characters of [0-9A-Z].
    let id: String = random_bytes::<26>()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}
