//! The Lambda entry point shared by every function binary: JSON logs, configuration
//! and the DynamoDB client built once per cold start, then the request loop.
//!
//! When `GATEHOUSE_ISSUER` is empty the issuer is the `https://` origin of the API
//! Gateway domain the first request came through (`requestContext.domainName`).
//! `template.yaml` needs this: a function cannot be given the default
//! `execute-api` URL of the API that routes to it (the API depends on the
//! functions), and with a custom domain the template sets the issuer itself and
//! turns the `execute-api` endpoint off, so one domain ever reaches a function.

use crate::app::App;
use crate::config::{Config, PLACEHOLDER_ISSUER};
use crate::endpoints::http::response::{json_no_store, not_found};
use crate::routes::Endpoint;
use crate::store::DynamoStore;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::OnceCell;

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
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .init();
    } else {
        builder.init();
    }
}

/// The issuer a request implies: `https://` and the API Gateway domain it came
/// through, or `None` for an event without one.
pub fn issuer_from_request(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .domain_name
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| format!("https://{d}")),
        _ => None,
    }
}

/// The configuration from the environment, with `issuer` standing in for an empty
/// `GATEHOUSE_ISSUER`.
fn config_with_issuer(issuer: &str) -> Result<Config, String> {
    Config::from_lookup_with_issuer(|k| std::env::var(k).ok(), issuer)
}

/// Whether `GATEHOUSE_ISSUER` names the issuer (else each request's domain does).
fn issuer_is_configured() -> bool {
    std::env::var("GATEHOUSE_ISSUER").is_ok_and(|v| !v.trim().is_empty())
}

/// Runs a function that serves `endpoints` (routed by path when more than one).
pub async fn run(endpoints: &'static [Endpoint]) -> Result<(), lambda_http::Error> {
    init_logging(true);
    // Any other configuration error stops the cold start here, not at a request.
    let config = config_with_issuer(PLACEHOLDER_ISSUER)?;
    let db = crate::dynamodb::lambda_client().await;
    let app: Arc<OnceCell<Arc<App>>> = Arc::new(OnceCell::new());
    if issuer_is_configured() {
        let _ = app.set(Arc::new(App::new(
            config.clone(),
            DynamoStore::new(db.clone(), config.tables.clone()),
        )));
    }
    lambda_http::run(service_fn(move |req: Request| {
        let (app, db) = (app.clone(), db.clone());
        async move {
            let app = app
                .get_or_try_init(|| async {
                    let issuer = issuer_from_request(&req)
                        .ok_or("GATEHOUSE_ISSUER is empty and the event names no domain")?;
                    let config = config_with_issuer(&issuer)?;
                    let store = DynamoStore::new(db, config.tables.clone());
                    tracing::info!(issuer = %config.issuer, "issuer taken from the API domain");
                    Ok::<_, String>(Arc::new(App::new(config, store)))
                })
                .await;
            let app = match app {
                Ok(app) => app,
                Err(e) => {
                    tracing::error!(error = %e, "no issuer");
                    return Ok::<_, Infallible>(server_error());
                }
            };
            let endpoint = match endpoints {
                [only] => Some(*only),
                many => Endpoint::for_path(req.uri().path()).filter(|e| many.contains(e)),
            };
            Ok(match endpoint {
                Some(e) => e.handle(app, req).await,
                None => not_found(),
            })
        }
    }))
    .await
}

fn server_error() -> Response<Body> {
    let body = serde_json::json!({ "error": "server_error" });
    json_no_store(StatusCode::INTERNAL_SERVER_ERROR, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_the_api_domain_of_the_event() {
        let event = include_str!("../../../tests/fixtures/apigw/metadata.json");
        let req = lambda_http::request::from_str(event).unwrap();
        let issuer = issuer_from_request(&req).unwrap();
        assert!(issuer.starts_with("https://"), "{issuer}");
        assert!(!issuer.ends_with('/'));
    }

    #[test]
    fn an_event_without_a_domain_implies_no_issuer() {
        let event = include_str!("../../../tests/fixtures/apigw/metadata.json");
        let mut event: serde_json::Value = serde_json::from_str(event).unwrap();
        event["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("domainName");
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(issuer_from_request(&req), None);
    }
}
