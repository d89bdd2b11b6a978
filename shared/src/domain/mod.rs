//! Domain types and the pure rules on them.

pub mod client;
pub mod pkce;
pub mod scope;
pub mod token;
pub mod user;
