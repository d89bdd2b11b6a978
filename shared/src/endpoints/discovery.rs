//! Authorization server metadata (RFC 8414), which is also the OpenID Provider
//! metadata (OpenID Connect Discovery 1.0 §3), and the JWKS (RFC 7517 §5).

use crate::app::App;
use crate::domain::client::GrantType;
use crate::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use crate::endpoints::http::cors;
use crate::endpoints::http::response::{json_public, token_error};
use crate::endpoints::http::{Body, Request, Response};
use crate::error::TokenError;
use crate::keys::SigningAlgorithm;
use crate::paths::{
    AUTHORIZE_PATH, INTROSPECT_PATH, JWKS_PATH, LOGOUT_PATH, REVOKE_PATH, TOKEN_PATH, USERINFO_PATH,
};
use lambda_http::http::{Method, StatusCode};
use serde_json::json;

/// How long clients and verifiers may cache the metadata and the JWKS.
pub use crate::keys::JWKS_CACHE_SECONDS as CACHE_SECONDS;

/// The claims an ID token ([`crate::tokens::id_token`]) or the UserInfo endpoint
/// ([`crate::domain::userinfo_claims`]) may carry.
pub const CLAIMS_SUPPORTED: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
    "amr",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "updated_at",
    "email",
    "email_verified",
];

/// The `prompt` values `/authorize` honours (OpenID Connect Core §3.1.2.1;
/// `select_account` names the session's user and offers to continue as them or
/// to sign in as another: one account per session).
pub const PROMPT_VALUES_SUPPORTED: [&str; 4] = ["none", "login", "consent", "select_account"];

/// The `display` values `/authorize` accepts (Discovery 1.0 §3; Core §3.1.2.1,
/// `domain/display.rs`).
pub const DISPLAY_VALUES_SUPPORTED: [&str; 4] = ["page", "popup", "touch", "wap"];

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3), also served at
/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4; RFC
/// 8414 §5): one document, the metadata of an OAuth authorization server that
/// is an OpenID Provider (Discovery §3).
pub async fn metadata(app: &App, req: Request) -> Response<Body> {
    cors::public(metadata_document(app, &req).await)
}

async fn metadata_document(app: &App, req: &Request) -> Response<Body> {
    if let Some(r) = refuse_method(req) {
        return r;
    }
    let c = &app.config;
    // RFC 7591 §2: every method a client may register; `none` is for public
    // clients, which use PKCE, and introspection takes no public client.
    let all_auth_methods: Vec<_> = TokenEndpointAuthMethod::ALL.map(|m| m.as_str()).into();
    let auth_methods: Vec<_> = TokenEndpointAuthMethod::ALL
        .into_iter()
        .filter(|m| m.uses_secret())
        .map(|m| m.as_str())
        .collect();
    let pkce_methods: &[&str] = if c.allow_plain_pkce {
        &["S256", "plain"]
    } else {
        &["S256"]
    };
    // Discovery §3: RS256 must be listed. ES256 too when the deployment signs with
    // it or a published key has it (a key set that cannot be read now leaves the
    // configured algorithm alone to say so).
    let published_es256 = match app.key_set().await {
        Ok(set) => set
            .verifying
            .iter()
            .any(|k| k.alg == SigningAlgorithm::Es256),
        Err(e) => {
            tracing::warn!(cause = %e, "reading the key set for the metadata failed");
            false
        }
    };
    let mut signing_algs = vec![SigningAlgorithm::Rs256.as_str()];
    if published_es256 || c.signing_alg == Some(SigningAlgorithm::Es256) {
        signing_algs.push(SigningAlgorithm::Es256.as_str());
    }
    json_public(
        &json!({
            "issuer": c.issuer,
            "authorization_endpoint": c.endpoint(AUTHORIZE_PATH),
            "token_endpoint": c.endpoint(TOKEN_PATH),
            "jwks_uri": c.endpoint(JWKS_PATH),
            "scopes_supported": c.scopes.definitions().iter().map(|d| &d.name).collect::<Vec<_>>(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": GrantType::ALL.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "code_challenge_methods_supported": pkce_methods,
            // RFC 9207 §3.
            "authorization_response_iss_parameter_supported": true,
            "token_endpoint_auth_methods_supported": all_auth_methods,
            "introspection_endpoint": c.endpoint(INTROSPECT_PATH),
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint": c.endpoint(REVOKE_PATH),
            "revocation_endpoint_auth_methods_supported": all_auth_methods,
            // OpenID Connect Discovery 1.0 §3.
            "userinfo_endpoint": c.endpoint(USERINFO_PATH),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": signing_algs,
            "claims_supported": CLAIMS_SUPPORTED,
            "prompt_values_supported": PROMPT_VALUES_SUPPORTED,
            "display_values_supported": DISPLAY_VALUES_SUPPORTED,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            // OpenID Connect RP-Initiated Logout 1.0 §2.1.
            "end_session_endpoint": c.endpoint(LOGOUT_PATH),
            // Back-Channel Logout 1.0 §2.1: logout tokens are sent to the clients'
            // `backchannel_logout_uri`, and always carry `sid`.
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        }),
        CACHE_SECONDS,
    )
}

/// `GET /.well-known/jwks.json`: every published public key (active, next, and
/// retired ones still in their window).
pub async fn jwks(app: &App, req: Request) -> Response<Body> {
    if let Some(r) = refuse_method(&req) {
        return cors::public(r);
    }
    cors::public(match app.key_set().await {
        Ok(keys) => json_public(&keys.jwks, CACHE_SECONDS),
        Err(e) => token_error(&TokenError::from(e)),
    })
}

/// A CORS preflight is answered (`cors::preflight_public`); any other method
/// but GET and HEAD gets 405.
fn refuse_method(req: &Request) -> Option<Response<Body>> {
    if cors::is_preflight(req) {
        return Some(cors::preflight_public());
    }
    (req.method() != Method::GET && req.method() != Method::HEAD).then(|| {
        let mut r = token_error(
            &TokenError::invalid_request("this endpoint accepts only GET")
                .with_status(StatusCode::METHOD_NOT_ALLOWED),
        );
        r.headers_mut().insert(
            lambda_http::http::header::ALLOW,
            "GET, HEAD".parse().expect("valid header"),
        );
        r
    })
}
