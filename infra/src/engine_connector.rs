//! The AWS SDK's HTTP client, answered by the embedded engine in this process.
//!
//! The SDK sends every request through an [`HttpClient`], which hands out an
//! [`HttpConnector`] whose `call` turns one `HttpRequest` into one `HttpResponse`
//! (`aws-smithy-runtime-api` 1.20, `client::http`). Everything before that call
//! (serialising the operation, the endpoint, retries, interceptors
//! such as the tests' request counting) and everything after it (deserialising the
//! body, DynamoDB's error types) is the SDK's own, as on AWS. This connector only
//! replaces the socket: it gives the request's method, path, headers and body to
//! [`Door::answer`], the function the engine's port also calls, and returns its
//! status, headers and body. No HTTP is written or parsed.
//!
//! Requests in process are neither signed nor verified. Verifying guards the port
//! against other local processes, which do not know the engine's secret; an
//! in-process request can come only from code holding the
//! [`crate::engine::Engine`], which holds the secret itself, so a signature would
//! prove nothing and cost an HMAC-SHA256 chain and a hash of the body per request
//! on each side. The port still verifies every request (`engine_auth`).

use crate::engine::{Arrival, Door};
use aws_sdk_dynamodb::config::http::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use axum::body::Bytes;
use std::sync::Arc;

/// The in-process HTTP client of one engine.
#[derive(Clone, Debug)]
pub(crate) struct InProcess {
    connector: SharedHttpConnector,
}

impl InProcess {
    pub(crate) fn new(door: Arc<Door>) -> Self {
        Self {
            connector: SharedHttpConnector::new(Connector { door }),
        }
    }
}

impl HttpClient for InProcess {
    /// One connector for every request: there are no connections, so connect and
    /// read timeouts do not apply (the SDK's operation timeouts still do).
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector.clone()
    }
}

#[derive(Debug)]
struct Connector {
    door: Arc<Door>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let door = self.door.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            // DynamoDB's JSON protocol sends its body whole, never as a stream.
            let body = body.bytes().ok_or_else(|| {
                ConnectorError::other("a streaming body reached the engine".into(), None)
            })?;
            let request = axum::http::Request::from_parts(parts, Bytes::copy_from_slice(body));
            let response = door.answer(request, Arrival::InProcess).await;
            HttpResponse::try_from(response.map(SdkBody::from))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}
