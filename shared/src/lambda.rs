//! The Lambda entry point shared by every function binary: JSON logs, configuration
//! and the DynamoDB client built once per cold start, then the request loop.

use crate::app::App;
use crate::config::Config;
use crate::http::response::not_found;
use crate::routes::Endpoint;
use crate::store::DynamoStore;
use lambda_http::{Request, service_fn};
use std::convert::Infallible;
use std::sync::Arc;

/// JSON log lines to stdout at `GATEHOUSE_LOG_LEVEL` (default `info`). Handlers log
/// client ids, grant types and error codes, never a token, code, secret or password.
pub fn init_logging(json: bool) {
    let level = std::env::var("GATEHOUSE_LOG_LEVEL")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(!json && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .with_current_span(false)
            .without_time()
            .init();
    } else {
        builder.init();
    }
}

/// Runs a function that serves `endpoints` (routed by path when more than one).
pub async fn run(endpoints: &'static [Endpoint]) -> Result<(), lambda_http::Error> {
    init_logging(true);
    let config = Config::from_env()?;
    let db = crate::dynamodb::aws_client().await;
    let app = Arc::new(App::new(
        config.clone(),
        DynamoStore::new(db, config.tables),
    ));
    lambda_http::run(service_fn(move |req: Request| {
        let app = app.clone();
        async move {
            let endpoint = match endpoints {
                [only] => Some(*only),
                many => Endpoint::for_path(req.uri().path()).filter(|e| many.contains(e)),
            };
            Ok::<_, Infallible>(match endpoint {
                Some(e) => e.handle(&app, req).await,
                None => not_found(),
            })
        }
    }))
    .await
}
