//! Gatehouse core: an OAuth 2.0 authorization server for AWS Lambda and DynamoDB.
//!
//! Data flows one way: HTTP (an API Gateway event or the local server) →
//! [`routes`] / [`endpoints`] (HTTP ↔ protocol) → [`grants`], [`tokens`] and [`federation`]
//! (the protocol) → [`domain`] (pure rules and records) → [`store`] (small traits and
//! their DynamoDB implementation). `ARCHITECTURE.md` maps where each rule lives.

pub mod app;
pub mod authorizer;
pub mod backchannel_logout;
pub mod config;
pub mod domain;
pub mod dynamodb;
pub mod endpoints;
pub mod error;
pub mod federation;
pub mod grants;
pub mod keys;
pub mod outbound_http;
pub mod paths;
pub mod provider_discovery;
pub mod registration;
pub mod routes;
pub mod secret;
pub mod store;
pub mod tokens;

pub use app::App;
pub use config::Config;
/// The Lambda entry point of the endpoint functions.
pub use routes::lambda;
