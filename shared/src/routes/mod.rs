//! The router: which endpoint serves which path. The same table routes the local
//! server and the Lambda functions ([`lambda`]), and is checked against
//! `template.yaml`. With [`crate::endpoints`], the only HTTP-aware code.

pub mod backchannel_logout_queue;
pub mod issuer;
pub mod lambda;

use crate::app::App;
use crate::endpoints;
use crate::endpoints::http::{Body, Request, Response};

pub use crate::paths::*;

/// One endpoint; each Lambda function serves one (discovery serves the metadata,
/// at two paths, and the JWKS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Authorize,
    /// An upstream provider's redirect URI, `/federation/{id}/callback`: served
    /// by the authorization endpoint's function, whose pages it continues.
    FederationCallback,
    Token,
    Introspect,
    Revoke,
    Userinfo,
    Logout,
    Metadata,
    Jwks,
}

/// Every path and the endpoint behind it.
pub const ROUTES: [(&str, Endpoint); 9] = [
    (AUTHORIZE_PATH, Endpoint::Authorize),
    (TOKEN_PATH, Endpoint::Token),
    (INTROSPECT_PATH, Endpoint::Introspect),
    (REVOKE_PATH, Endpoint::Revoke),
    (USERINFO_PATH, Endpoint::Userinfo),
    (LOGOUT_PATH, Endpoint::Logout),
    (METADATA_PATH, Endpoint::Metadata),
    (OPENID_CONFIGURATION_PATH, Endpoint::Metadata),
    (JWKS_PATH, Endpoint::Jwks),
];

impl Endpoint {
    pub fn for_path(path: &str) -> Option<Self> {
        if endpoints::authorize::federation::callback_provider(path).is_some() {
            return Some(Self::FederationCallback);
        }
        ROUTES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
    }

    pub async fn handle(self, app: &App, req: Request) -> Response<Body> {
        match self {
            Self::Authorize => endpoints::authorize::handle(app, req).await,
            Self::FederationCallback => endpoints::authorize::federation::callback(app, req).await,
            Self::Token => endpoints::token::handle(app, req).await,
            Self::Introspect => endpoints::introspect::handle(app, req).await,
            Self::Revoke => endpoints::revoke::handle(app, req).await,
            Self::Userinfo => endpoints::userinfo::handle(app, req).await,
            Self::Logout => endpoints::logout::handle(app, req).await,
            Self::Metadata => endpoints::discovery::metadata(app, req).await,
            Self::Jwks => endpoints::discovery::jwks(app, req).await,
        }
    }
}
