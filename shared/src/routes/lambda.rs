//! The Lambda entry point shared by every function binary: JSON logs, configuration
//! and the DynamoDB client built once per cold start, then the request loop.
//!
//! The issuer is never guessed per request. With `GATEHOUSE_ISSUER` set (the
//! template's `Issuer`, or `https://{DomainName}`), it is that, and the request's
//! domain plays no part. Left empty, it is the API's default endpoint
//! `https://{apiId}.execute-api.{region}.amazonaws.com`, from the event's
//! `requestContext.apiId` and the function's `AWS_REGION` ([`super::issuer`]): the
//! same for every function and every request, whatever domain each came through,
//! and a request through any other domain gets 421 Misdirected Request. The
//! template cannot pass that URL in: the functions would depend on the API and
//! the API on them.
//!
//! Every function's `main` runs this on tokio's current-thread runtime. Lambda
//! gives a function one request at a time, and with worker threads each HTTP
//! exchange (the Runtime API's next event and response, each DynamoDB request)
//! was handed between the main thread and a worker: the token function spent
//! 3.4 ms of CPU per client-credentials token with them and 2.2 ms without
//! (BENCHMARKS.md, "Lambda sizing"). Blocking work (password hashing) still goes
//! to tokio's blocking pool.

use super::issuer;
use crate::app::App;
use crate::backchannel_logout::{LogoutDispatch, LogoutQueue};
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

/// The API Gateway HTTP API context of an event: its API id and the domain the
/// request came through.
fn api_context(req: &Request) -> (Option<&str>, Option<&str>) {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.apiid.as_deref().filter(|d| !d.is_empty()),
            ctx.domain_name.as_deref().filter(|d| !d.is_empty()),
        ),
        _ => (None, None),
    }
}

/// A configuration for an issuer (the environment's, with the issuer filled in).
pub type ConfigFor = Box<dyn Fn(&str) -> Result<Config, String> + Send + Sync>;

/// Where a function's issuer comes from.
pub enum IssuerSource {
    /// `GATEHOUSE_ISSUER`: the configuration is complete.
    Configured(Box<Config>),
    /// `GATEHOUSE_ISSUER` empty: the API's default endpoint in `region`, named by
    /// the first event's API id; `config_for` completes the configuration.
    ApiDefaultEndpoint {
        region: String,
        config_for: ConfigFor,
    },
}

/// The request loop's state: the endpoints a function serves and the [`App`],
/// built at the first request (without a configured issuer, the first that names
/// the API).
pub struct Handler {
    endpoints: &'static [Endpoint],
    store: DynamoStore,
    source: IssuerSource,
    app: OnceCell<Arc<App>>,
    logout_dispatch: LogoutDispatch,
}

impl Handler {
    pub fn new(endpoints: &'static [Endpoint], store: DynamoStore, source: IssuerSource) -> Self {
        Self {
            endpoints,
            store,
            source,
            app: OnceCell::new(),
            logout_dispatch: LogoutDispatch::default(),
        }
    }

    /// Where the app's back-channel logout deliveries go: a function that ends
    /// login sessions passes the queue (`gatehouse-logout-queue`), since a
    /// frozen function cannot finish work in the background
    /// (`backchannel_logout.rs`). Without, they are awaited within the request.
    pub fn with_logout_queue(mut self, queue: Option<Arc<dyn LogoutQueue>>) -> Self {
        if let Some(q) = queue {
            self.logout_dispatch = LogoutDispatch::Queue(q);
        }
        self
    }

    fn app_of(&self, config: Config) -> App {
        App::new(config, self.store.clone()).with_logout_dispatch(self.logout_dispatch.clone())
    }

    /// From the environment; any configuration error stops the cold start here,
    /// not at a request.
    pub fn from_env(
        endpoints: &'static [Endpoint],
        db: aws_sdk_dynamodb::Client,
    ) -> Result<Self, String> {
        let env = |k: &str| std::env::var(k).ok();
        let config = Config::from_lookup_with_issuer(env, PLACEHOLDER_ISSUER)?;
        let store = DynamoStore::new(db, config.tables.clone());
        let configured = env("GATEHOUSE_ISSUER").is_some_and(|v| !v.trim().is_empty());
        let source = if configured {
            IssuerSource::Configured(Box::new(config))
        } else {
            let region = env("AWS_REGION")
                .filter(|r| !r.is_empty())
                .ok_or("GATEHOUSE_ISSUER is empty and AWS_REGION is not set")?;
            IssuerSource::ApiDefaultEndpoint {
                region,
                config_for: Box::new(move |issuer| {
                    Config::from_lookup_with_issuer(|k| std::env::var(k).ok(), issuer)
                }),
            }
        };
        Ok(Self::new(endpoints, store, source))
    }

    /// Answers one event. Never fails: API Gateway turns a Lambda error into a 502.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        let endpoint = match self.endpoints {
            [only] => *only,
            many => match Endpoint::for_path(req.uri().path()).filter(|e| many.contains(e)) {
                Some(e) => e,
                None => return not_found(),
            },
        };
        let app = match &self.source {
            IssuerSource::Configured(config) => {
                self.app
                    .get_or_init(|| async { Arc::new(self.app_of((**config).clone())) })
                    .await
            }
            IssuerSource::ApiDefaultEndpoint { region, config_for } => {
                let (api_id, domain) = api_context(&req);
                let app = self
                    .app
                    .get_or_try_init(|| async {
                        let issuer = api_id
                            .and_then(|id| issuer::api_default_endpoint(id, region))
                            .ok_or(NoApp::NoApi)?;
                        let config = config_for(&issuer).map_err(NoApp::Config)?;
                        tracing::info!(issuer = %config.issuer, "issuer: the API's default endpoint");
                        Ok(Arc::new(self.app_of(config)))
                    })
                    .await;
                match app {
                    Ok(app) if issuer::serves_domain(&app.config.issuer, domain) => app,
                    Ok(app) => {
                        tracing::warn!(domain = domain.unwrap_or(""), issuer = %app.config.issuer, "request through another domain than the issuer's refused");
                        return misdirected(endpoint, &app.config.issuer);
                    }
                    Err(NoApp::NoApi) => {
                        tracing::warn!(
                            api_id = api_id.unwrap_or(""),
                            "event names no API this function can serve"
                        );
                        return misdirected(endpoint, "the API's default endpoint");
                    }
                    Err(NoApp::Config(e)) => {
                        tracing::error!(error = %e, "no configuration for the issuer");
                        return server_error();
                    }
                }
            }
        };
        endpoint.handle(app, req).await
    }
}

/// Why a function without a configured issuer has no [`App`] for an event.
enum NoApp {
    /// The event names no API (no HTTP API event): no issuer can be derived.
    NoApi,
    /// The configuration refused the derived issuer.
    Config(String),
}

fn server_error() -> Response<Body> {
    let body = serde_json::json!({
        "error": "server_error",
        "error_description": "the server could not complete the request; try again",
    });
    json_no_store(StatusCode::INTERNAL_SERVER_ERROR, &body)
}

/// 421 Misdirected Request (RFC 9110 §15.5.20): this deployment answers only
/// under its issuer. An error page for the browser-facing `/authorize` and
/// `/logout`, an RFC 6749 §5.2 shaped body elsewhere.
fn misdirected(endpoint: Endpoint, issuer: &str) -> Response<Body> {
    let text = format!("this server answers only at {issuer}");
    match endpoint {
        Endpoint::Authorize | Endpoint::FederationCallback => {
            crate::endpoints::authorize::pages::error_page(
                StatusCode::MISDIRECTED_REQUEST,
                "Wrong address",
                &format!("This sign-in page is served only at {issuer}."),
            )
        }
        Endpoint::Logout => crate::endpoints::authorize::pages::error_page(
            StatusCode::MISDIRECTED_REQUEST,
            "Wrong address",
            &format!("This sign-out page is served only at {issuer}."),
        ),
        _ => json_no_store(
            StatusCode::MISDIRECTED_REQUEST,
            &serde_json::json!({ "error": "invalid_request", "error_description": text }),
        ),
    }
}

/// Runs a function that serves `endpoints` (routed by path when more than one).
pub async fn run(endpoints: &'static [Endpoint]) -> Result<(), lambda_http::Error> {
    run_with_logout_queue(endpoints, None).await
}

/// [`run`] for a function that ends login sessions: its back-channel logout
/// deliveries go to `queue` ([`Handler::with_logout_queue`]).
pub async fn run_with_logout_queue(
    endpoints: &'static [Endpoint],
    queue: Option<Arc<dyn LogoutQueue>>,
) -> Result<(), lambda_http::Error> {
    init_logging(true);
    let db = crate::dynamodb::lambda_client().await;
    let handler = Arc::new(Handler::from_env(endpoints, db)?.with_logout_queue(queue));
    lambda_http::run(service_fn(move |req: Request| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler.handle(req).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_context_is_read_from_the_event() {
        let event = include_str!("../../../tests/fixtures/apigw/metadata.json");
        let req = lambda_http::request::from_str(event).unwrap();
        assert_eq!(
            api_context(&req),
            (
                Some("abc123"),
                Some("abc123.execute-api.us-east-1.amazonaws.com")
            )
        );
        let mut event: serde_json::Value = serde_json::from_str(event).unwrap();
        let ctx = event["requestContext"].as_object_mut().unwrap();
        ctx.remove("domainName");
        ctx.remove("apiId");
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(api_context(&req), (None, None));
    }
}
