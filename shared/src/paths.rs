//! The endpoints' paths: what the router routes, and what the metadata and pages
//! link to.

pub const AUTHORIZE_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const INTROSPECT_PATH: &str = "/introspect";
pub const REVOKE_PATH: &str = "/revoke";
/// The UserInfo endpoint (OpenID Connect Core §5.3).
pub const USERINFO_PATH: &str = "/userinfo";
/// The logout endpoint, `end_session_endpoint` (OpenID Connect RP-Initiated
/// Logout 1.0 §2).
pub const LOGOUT_PATH: &str = "/logout";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The same metadata at the OpenID Connect discovery location (RFC 8414 §5):
/// API Gateway's JWT authorizer finds the JWKS only there.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
