//! The `openidconnect` crate's client as the tests' relying party: its type once
//! configured by discovery (authorization, token and UserInfo endpoints known;
//! no device, introspection or revocation endpoint).

use openidconnect::core::CoreClient;
use openidconnect::{EndpointMaybeSet, EndpointNotSet, EndpointSet};

/// A `CoreClient` made by `from_provider_metadata` with a redirect URI set.
pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;
