//! Domain types and the pure rules on them.

pub mod backchannel_logout;
pub mod backchannel_logout_uri;
pub mod client;
pub mod cors;
pub mod display;
pub mod federated_identity;
pub mod grant;
pub mod grant_lifetime;
pub mod login_hint;
pub mod login_throttle;
pub mod max_age;
pub mod nonce;
pub mod offline_access;
pub mod outbound_address;
pub mod pkce;
pub mod post_logout_redirect_uri;
pub mod prompt;
pub mod reauthentication;
pub mod rp_initiated_logout;
pub mod scope;
pub mod session;
pub mod throttle_source;
pub mod token_endpoint_auth_method;
pub mod upstream_state;
pub mod user;
pub mod userinfo_claims;
