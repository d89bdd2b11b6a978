//! Sign-in through upstream OpenID Providers (federation), below HTTP: what this
//! server, as a relying party, checks of what an upstream provider answers.
//!
//! - [`upstream_id_token`]: an upstream ID token, validated (OpenID Connect Core
//!   §3.1.3.7, RFC 8725).
//! - [`jwks_cache`]: the upstream providers' key sets, cached per process and
//!   refetched on rotation within a bound.
//! - [`userinfo_subject`]: a UserInfo answer belongs to the ID token's subject
//!   (Core §5.3.2).

pub mod jwks_cache;
pub mod upstream_id_token;
pub mod userinfo_subject;
