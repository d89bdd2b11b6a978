//! The token rules every endpoint shares, below HTTP: what a presented value is
//! ([`presented`]), refresh token values ([`refresh`]), signing and verifying
//! access tokens ([`access`]), ID tokens ([`id_token`]) and the ID tokens presented
//! back as hints ([`id_token_hint`]), logout tokens ([`logout_token`]), whether a
//! token's owner is still valid ([`owner`]), whether a token is active
//! ([`active`]), what the UserInfo endpoint tells the bearer of one
//! ([`userinfo`]), and an RP-initiated logout request, checked with its hint
//! ([`logout`]); and the memo of access tokens whose signatures verified
//! ([`verified_memo`]).

pub mod access;
pub mod active;
pub mod id_token;
pub mod id_token_hint;
pub mod logout;
pub mod logout_token;
pub mod owner;
pub mod presented;
pub mod refresh;
pub mod userinfo;
pub mod verified_memo;
