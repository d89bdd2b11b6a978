//! The local HTTP server: adapts each request to the `lambda_http::Request` the
//! Lambda runtime would build and runs the same endpoint handler the function runs.

use axum::body::Body as AxumBody;
use gatehouse_core::App;
use gatehouse_core::endpoints::http::response::{not_found, token_error};
use gatehouse_core::error::TokenError;
use gatehouse_core::routes::Endpoint;
use lambda_http::Body;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use std::net::SocketAddr;
use std::sync::Arc;

/// API Gateway HTTP APIs refuse payloads over 10 MB; so does this server.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(app)
}

/// Serves `app` on `listener` until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: Arc<App>) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

async fn dispatch(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let (mut parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    // What API Gateway puts in `requestContext.http.sourceIp`.
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.method = parts.method.clone();
    context.http.source_ip = peer.map(|p| p.ip().to_string());
    parts
        .extensions
        .insert(RequestContext::ApiGatewayV2(context));
    let Some(endpoint) = Endpoint::for_path(parts.uri.path()) else {
        return to_axum(not_found());
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return to_axum(token_error(
                &TokenError::invalid_request("the body is too large")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE),
            ));
        }
    };
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        Body::Binary(bytes.to_vec())
    };
    let req = lambda_http::http::Request::from_parts(parts, body);
    to_axum(endpoint.handle(&app, req).await)
}

fn to_axum(resp: lambda_http::Response<Body>) -> axum::response::Response {
    let (parts, body) = resp.into_parts();
    let body = match body {
        Body::Empty => AxumBody::empty(),
        Body::Text(t) => AxumBody::from(t),
        Body::Binary(b) => AxumBody::from(b),
        _ => AxumBody::empty(),
    };
    axum::response::Response::from_parts(parts, body)
}
