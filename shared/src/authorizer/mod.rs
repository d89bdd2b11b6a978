//! A Lambda authorizer for API Gateway REST APIs and HTTP APIs that protect their
//! routes with Gatehouse access tokens (RFC 6750 bearer tokens).
//!
//! A JWT check at the gateway cannot see revocation. This authorizer checks every
//! token exactly as the introspection endpoint does
//! ([`crate::tokens::active::active_access_token`]: the signature against the key
//! set, `iss`, `aud`, `exp`; then the revocation list, the client, and for a
//! user's token the grant and the user), and accepts access tokens only. It runs in the Gatehouse stack and reads DynamoDB
//! directly: no client secret, no HTTP hop. Other stacks reference its ARN.
//!
//! # What it reads
//!
//! Per call with a token that verifies, consistent reads only: one `BatchGetItem`
//! (the token's grant, its client, the revocation list) and, for a user's token,
//! one `GetItem` of the user's state. The key set is read once per
//! `GATEHOUSE_KEY_CACHE_SECONDS`. A malformed, expired or foreign token costs no
//! read at all.
//!
//! Environment: the usual `GATEHOUSE_*_TABLE` names ([`Config::from_env`]; keys,
//! tokens, grants, clients and users are read), `GATEHOUSE_ISSUER` (the template
//! sets it, so `iss` is checked; when empty, only the signature, audience and
//! expiry are), `GATEHOUSE_LOG_LEVEL`, and [`routes::ROUTE_SCOPES_ENV`] for
//! per-route scopes (see [`routes`]).
//!
//! # The answer
//!
//! An IAM policy ([`policy`]): `principalId` is the token's `sub`; `Allow` on
//! `arn:…:{api-id}/{stage}/*` of the calling API and stage (never wider), plus
//! explicit `Deny` statements for each listed route whose scopes the token lacks.
//! API Gateway caches an answer by token alone and reuses it for every route, so it
//! must be right for every route, not just the one called. `context` carries `sub`,
//! `client_id`, `scope` and, for a user's token, `username` (all strings).
//!
//! A request without a valid token (missing, not `Bearer`, malformed, unknown,
//! expired, revoked, a refresh token, an authorization code, a deleted client or a
//! disabled user):
//!
//! - REST API: the Lambda error `Unauthorized`, which API Gateway answers with 401
//!   (the exact message is the documented signal; any other error is a 500).
//! - HTTP API: a policy denying the whole stage, which API Gateway answers with 403.
//!   HTTP APIs document no such `Unauthorized` convention: an authorizer error or an
//!   invalid answer is a 500. A missing `Authorization` header never reaches the
//!   function there: with it as identity source, API Gateway answers 401 itself.
//!
//! A DynamoDB failure is a real error (a 500 from either API), logged without the
//! token. The token is never logged.
//!
//! # Payload and response format for HTTP APIs
//!
//! HTTP APIs get the IAM policy format (`EnableSimpleResponses: false`), payload 2.0
//! (1.0 works too). The simple format (`{"isAuthorized": …}`) answers for every
//! route at once: with caching on, API Gateway reuses a cached `true` for routes
//! whose scopes the token lacks, unless `$context.routeKey` is added to the
//! identity sources. The policy format is right for every route with any cache
//! setting, and REST and HTTP APIs share one answer.
//!
//! # Caching
//!
//! The cache is API Gateway's authorizer result cache, keyed by the identity
//! source: `ReauthorizeEvery` in SAM, `AuthorizerResultTtlInSeconds` (REST:
//! `authorizerResultTtlInSeconds`) in CloudFormation. A revoked token keeps working
//! for at most that long. Recommended: 30 seconds. 0 checks revocation on every call
//! (one to three reads per request); REST APIs default to 300 when it is not set.
//!
//! # Wiring (SAM, in the API's stack)
//!
//! The token travels in the `Authorization` header (RFC 6750 §2.1): a `TOKEN`
//! authorizer gets it from its token source, `REQUEST` authorizers and HTTP APIs
//! read that header, so it must be the identity source (and the cache key).
//!
//! REST API:
//!
//! ```yaml
//! NotesApi:
//!   Type: AWS::Serverless::Api
//!   Properties:
//!     StageName: prod
//!     Auth:
//!       DefaultAuthorizer: Gatehouse
//!       Authorizers:
//!         Gatehouse:
//!           FunctionArn: !ImportValue gatehouse-AuthorizerFunctionArn
//!           FunctionPayloadType: TOKEN        # or REQUEST with Identity.Headers
//!           Identity:
//!             Header: Authorization
//!             ReauthorizeEvery: 30
//! ```
//!
//! HTTP API:
//!
//! ```yaml
//! NotesHttpApi:
//!   Type: AWS::Serverless::HttpApi
//!   Properties:
//!     Auth:
//!       DefaultAuthorizer: Gatehouse
//!       Authorizers:
//!         Gatehouse:
//!           FunctionArn: !ImportValue gatehouse-AuthorizerFunctionArn
//!           AuthorizerPayloadFormatVersion: "2.0"
//!           EnableSimpleResponses: false
//!           EnableFunctionDefaultPermissions: true
//!           Identity:
//!             Headers: [Authorization]
//!             ReauthorizeEvery: 30
//! ```
//!
//! The backend reads the context as `event.requestContext.authorizer.sub` (REST,
//! HTTP API payload 1.0) or `event.requestContext.authorizer.lambda.sub` (HTTP API
//! payload 2.0).

pub mod event;
pub mod policy;
pub mod routes;

use crate::app::App;
use crate::config::{Config, PLACEHOLDER_ISSUER};
use crate::store::DynamoStore;
use crate::tokens::active::{ActiveToken, active_access_token};
use event::{AuthorizerEvent, Gateway};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use policy::AuthorizerResponse;
use routes::{ROUTE_SCOPES_ENV, RouteScopes};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What the function answers instead of a policy.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthorizerError {
    /// No valid token, to a REST API. The Lambda error message is exactly
    /// `Unauthorized`, which API Gateway turns into a 401.
    Unauthorized,
    /// Not an authorizer event: the function is wired wrongly.
    Event(String),
    /// The store failed; the cause has been logged.
    Server,
}

impl fmt::Display for AuthorizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized => f.write_str("Unauthorized"),
            Self::Event(e) => f.write_str(e),
            Self::Server => f.write_str("the token could not be checked; try again"),
        }
    }
}

impl std::error::Error for AuthorizerError {}

impl From<AuthorizerError> for Diagnostic {
    fn from(e: AuthorizerError) -> Self {
        let error_type = match e {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::Event(_) => "InvalidEvent",
            AuthorizerError::Server => "ServerError",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// Decides one authorizer event: a policy, or [`AuthorizerError::Unauthorized`]
/// (REST APIs only), or an error for a wrong event or a failed store.
pub async fn handle(
    app: &App,
    routes: &RouteScopes,
    event: &Value,
) -> Result<AuthorizerResponse, AuthorizerError> {
    let event = AuthorizerEvent::parse(event).map_err(|e| {
        tracing::error!(error = %e, "authorizer event refused");
        AuthorizerError::Event(e.to_string())
    })?;
    let api = event.arn.api_id();
    let stage = event.arn.stage();
    match access_token(app, &event).await? {
        Ok(record) => {
            let response = policy::allow(&event.arn, &record, routes);
            let denied = routes.unmet_by(&record.scope).count();
            tracing::info!(
                api,
                stage,
                client_id = %record.client_id,
                denied_routes = denied,
                "token accepted"
            );
            Ok(response)
        }
        Err(reason) => {
            tracing::info!(api, stage, reason, "token refused");
            match event.gateway {
                Gateway::Rest => Err(AuthorizerError::Unauthorized),
                Gateway::Http => Ok(policy::deny_all(&event.arn)),
            }
        }
    }
}

/// The active access token of the event, or why there is none (for the log).
async fn access_token(
    app: &App,
    event: &AuthorizerEvent,
) -> Result<Result<ActiveToken, &'static str>, AuthorizerError> {
    let token = match event.bearer_token() {
        Ok(t) => t,
        Err(reason) => return Ok(Err(reason.as_str())),
    };
    match active_access_token(app, token, &|_| true, None).await {
        Ok(Some(t)) => Ok(Ok(t)),
        Ok(None) => Ok(Err(
            "not an active access token (unknown, expired, revoked, or another kind)",
        )),
        Err(e) => {
            tracing::error!(cause = %e, "the token could not be checked");
            Err(AuthorizerError::Server)
        }
    }
}

/// The configuration and route scopes from `get` (the environment): any error
/// here stops the cold start, so no request ever meets a bad configuration.
pub fn settings_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<(Config, RouteScopes), String> {
    let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let routes = RouteScopes::parse(&get(ROUTE_SCOPES_ENV).unwrap_or_default())
        .map_err(|e| e.to_string())?;
    // Without an issuer, `iss` is not checked (the signature still is).
    let config = Config::from_lookup_with_issuer(get, PLACEHOLDER_ISSUER)?;
    Ok((config, routes))
}

/// The Lambda entry point: JSON logs, configuration, route scopes and the DynamoDB
/// client built once per cold start, then raw JSON events through [`handle`].
pub async fn run_authorizer() -> Result<(), lambda_runtime::Error> {
    crate::lambda::init_logging(true);
    let (config, routes) = settings_from_lookup(|k| std::env::var(k).ok()).inspect_err(|e| {
        tracing::error!(error = %e, "the authorizer is not configured");
    })?;
    tracing::info!(
        routes = routes.rules().len(),
        "route scopes read from {ROUTE_SCOPES_ENV}"
    );
    let db = crate::dynamodb::lambda_client().await;
    let app = Arc::new(App::new(
        config.clone(),
        DynamoStore::new(db, config.tables),
    ));
    let routes = Arc::new(routes);
    // Boxed: the runtime's future is deep enough to overflow the compiler's layout
    // query limit in the binary's `main` otherwise.
    let runtime: Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>> + Send>> = Box::pin(
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            let (app, routes) = (app.clone(), routes.clone());
            async move { handle(&app, &routes, &event.payload).await }
        })),
    );
    runtime.await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unauthorized_is_the_exact_lambda_error_message_api_gateway_expects() {
        let d = Diagnostic::from(AuthorizerError::Unauthorized);
        assert_eq!(d.error_message, "Unauthorized");
        let d = Diagnostic::from(AuthorizerError::Server);
        assert_ne!(d.error_message, "Unauthorized");
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut map: std::collections::HashMap<String, String> = [
            ("GATEHOUSE_CLIENTS_TABLE", "c"),
            ("GATEHOUSE_TOKENS_TABLE", "t"),
            ("GATEHOUSE_GRANTS_TABLE", "g"),
            ("GATEHOUSE_SESSIONS_TABLE", "s"),
            ("GATEHOUSE_KEYS_TABLE", "k"),
            ("GATEHOUSE_SECRETS_TABLE", "sk"),
            ("GATEHOUSE_USERS_TABLE", "u"),
            ("GATEHOUSE_CONSENTS_TABLE", "cs"),
            ("GATEHOUSE_LOGIN_ATTEMPTS_TABLE", "la"),
            ("GATEHOUSE_ORIGINS_TABLE", "o"),
            ("GATEHOUSE_PROVIDERS_TABLE", "p"),
            ("GATEHOUSE_UPSTREAM_STATES_TABLE", "us"),
            ("GATEHOUSE_IDENTITIES_TABLE", "id"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in pairs {
            map.insert((*k).to_owned(), (*v).to_owned());
        }
        move |k| map.get(k).cloned()
    }

    #[test]
    fn settings_need_no_issuer_and_read_the_route_scopes() {
        let (config, routes) =
            settings_from_lookup(env(&[(ROUTE_SCOPES_ENV, "GET /notes=read")])).unwrap();
        assert_eq!(config.tables.tokens, "t");
        assert_eq!(routes.rules().len(), 1);
        let (_, routes) = settings_from_lookup(env(&[("GATEHOUSE_ISSUER", "")])).unwrap();
        assert!(routes.rules().is_empty());
    }

    #[test]
    fn a_bad_route_scopes_value_is_a_startup_error_naming_the_variable() {
        let err = settings_from_lookup(env(&[(ROUTE_SCOPES_ENV, "GET /notes")])).unwrap_err();
        assert!(err.starts_with(ROUTE_SCOPES_ENV), "{err}");
        let err = settings_from_lookup(|_| None).unwrap_err();
        assert!(err.contains("TABLE"), "{err}");
    }
}
