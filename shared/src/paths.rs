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
/// Each upstream provider's redirect URI path, `{provider_id}` its provider id
/// (one redirect URI per provider, so a response is known to come from the
/// provider it was sent to, RFC 9700 §4.4.2); the route of `template.yaml`.
pub const FEDERATION_CALLBACK_PATH: &str = "/federation/{provider_id}/callback";

/// The redirect URI to register at provider `provider_id` for a deployment of
/// `issuer`.
pub fn federation_redirect_uri(issuer: &str, provider_id: &str) -> String {
    format!(
        "{}{}",
        issuer.trim_end_matches('/'),
        FEDERATION_CALLBACK_PATH.replace("{provider_id}", provider_id)
    )
}
