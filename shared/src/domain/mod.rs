//! Domain types and the pure rules on them.

pub mod client;
pub mod scope;
pub mod token;
