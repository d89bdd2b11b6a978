//! The token rules every endpoint shares, below HTTP: what a presented value is
//! ([`presented`]), refresh token values ([`refresh`]), signing and verifying
//! access tokens ([`access`]), ID tokens ([`id_token`]), whether a token's owner
//! is still valid ([`owner`]), logout tokens ([`logout_token`]), whether a token is active ([`active`]), and what the
//! UserInfo endpoint tells the bearer of one ([`userinfo`]).

pub mod access;
pub mod active;
pub mod id_token;
pub mod logout_token;
pub mod owner;
pub mod presented;
pub mod refresh;
pub mod userinfo;
