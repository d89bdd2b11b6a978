//! Sign-in through upstream OpenID Providers (federation), below HTTP: what this
//! server, as a relying party, checks of what an upstream provider answers.
//!
//! - [`upstream_id_token`]: an upstream ID token, validated (OpenID Connect Core
//!   §3.1.3.7, RFC 8725).
//! - [`jwks_cache`]: the upstream providers' key sets, cached per process and
//!   refetched on rotation within a bound.
//! - [`userinfo_subject`]: a UserInfo answer belongs to the ID token's subject
//!   (Core §5.3.2).
//! - [`code_exchange`]: the upstream code traded for its tokens at the token
//!   endpoint (Core §3.1.3; RFC 6749 §4.1.3, §2.3.1; RFC 7636 §4.5).
//! - [`userinfo_fetch`]: the upstream UserInfo read with the access token
//!   (Core §5.3.1, §5.3.2).
//! - [`sign_in`]: the upstream flow's two halves, the request and the callback.
//! - [`upstream_request`]: the authentication request sent upstream.
//! - [`account`]: which local user a verified identity signs in as.
//! - [`pending_link`]: an identity waiting on the linking page.

pub mod account;
pub mod code_exchange;
pub mod jwks_cache;
pub mod pending_link;
pub mod sign_in;
pub mod upstream_id_token;
pub mod upstream_request;
pub mod userinfo_fetch;
pub mod userinfo_subject;
