//! HTTP endpoint handlers: `handle(&App, Request) -> Response`, the one code path
//! that the Lambda functions and the local server both run. A handler never fails:
//! every protocol error becomes a proper HTTP response. Only this module (and
//! [`crate::routes`]) knows HTTP types; the protocol below takes typed values.

pub mod authorize;
pub mod discovery;
pub mod http;
pub mod introspect;
pub mod logout;
pub mod revoke;
pub mod token;
pub mod userinfo;
