//! HTTP plumbing shared by the endpoints: strict form parsing, client
//! authentication, and responses with the headers the RFCs require.

pub mod client_auth;
pub mod cookies;
pub mod cors;
pub mod form;
pub mod login_session;
pub mod response;

pub use lambda_http::{Body, Request, Response};

use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

/// The client's IP address as API Gateway saw it (`requestContext.http.sourceIp`);
/// the local server fills in the same field from the TCP peer. Never taken from
/// `X-Forwarded-For`, which the caller controls.
pub fn source_ip(req: &Request) -> Option<&str> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
