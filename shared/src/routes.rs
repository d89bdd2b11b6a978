//! The endpoints and their paths: the same table routes the local server and is
//! checked against `template.yaml`.

use crate::app::App;
use crate::endpoints;
use crate::http::{Body, Request, Response};

pub const AUTHORIZE_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const INTROSPECT_PATH: &str = "/introspect";
pub const REVOKE_PATH: &str = "/revoke";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The same metadata at the OpenID Connect discovery location (RFC 8414 §5):
/// API Gateway's JWT authorizer finds the JWKS only there.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";

/// One endpoint; each Lambda function serves one (discovery serves the metadata,
/// at two paths, and the JWKS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Authorize,
    Token,
    Introspect,
    Revoke,
    Metadata,
    Jwks,
}

/// Every path and the endpoint behind it.
pub const ROUTES: [(&str, Endpoint); 7] = [
    (AUTHORIZE_PATH, Endpoint::Authorize),
    (TOKEN_PATH, Endpoint::Token),
    (INTROSPECT_PATH, Endpoint::Introspect),
    (REVOKE_PATH, Endpoint::Revoke),
    (METADATA_PATH, Endpoint::Metadata),
    (OPENID_CONFIGURATION_PATH, Endpoint::Metadata),
    (JWKS_PATH, Endpoint::Jwks),
];

impl Endpoint {
    pub fn for_path(path: &str) -> Option<Self> {
        ROUTES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
    }

    pub async fn handle(self, app: &App, req: Request) -> Response<Body> {
        match self {
            Self::Authorize => endpoints::authorize::handle(app, req).await,
            Self::Token => endpoints::token::handle(app, req).await,
            Self::Introspect => endpoints::introspect::handle(app, req).await,
            Self::Revoke => endpoints::revoke::handle(app, req).await,
            Self::Metadata => endpoints::discovery::metadata(app, req).await,
            Self::Jwks => endpoints::discovery::jwks(app, req).await,
        }
    }
}
