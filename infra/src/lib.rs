//! The `gatehouse` command's library: the local server, the embedded engine, and
//! the targets admin commands act on. The tests use the same pieces.

pub mod aws;
pub mod cli;
pub mod data_lock;
pub mod engine;
pub mod engine_auth;
mod engine_connector;
pub mod grant_cli;
pub mod private_data;
pub mod provider_cli;
pub mod sam_local;
pub mod server;
pub mod stack;
pub mod target;
pub mod user_cli;
