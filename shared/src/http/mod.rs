//! HTTP plumbing shared by the endpoints: strict form parsing, client
//! authentication, and responses with the headers the RFCs require.

pub mod client_auth;
pub mod form;
pub mod response;

pub use lambda_http::{Body, Request, Response};
