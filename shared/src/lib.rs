//! Gatehouse core: an OAuth 2.0 authorization server for AWS Lambda and DynamoDB.
//!
//! Data flows one way: HTTP (an API Gateway event or the local server) →
//! [`routes`] / [`endpoints`] (HTTP ↔ protocol) → [`domain`] (pure rules) →
//! [`store`] (small traits and their DynamoDB implementation).

pub mod access_token;
pub mod app;
pub mod authorizer;
pub mod config;
pub mod domain;
pub mod dynamodb;
pub mod endpoints;
pub mod error;
pub mod grants;
pub mod http;
pub mod keys;
pub mod lambda;
pub mod registration;
pub mod routes;
pub mod secret;
pub mod session;
pub mod store;

pub use app::App;
pub use config::Config;
