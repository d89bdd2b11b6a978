//! The events API Gateway sends a Lambda authorizer, read leniently: only the fields
//! the decision needs (the kind of event, the method or route ARN, the credentials),
//! so that nothing a client controls (odd headers, query strings, cookies) can make
//! an event unreadable.
//!
//! | sender                       | `version` | `type`    | ARN         | credentials              |
//! |------------------------------|-----------|-----------|-------------|--------------------------|
//! | REST API, `TOKEN` authorizer | —         | `TOKEN`   | `methodArn` | `authorizationToken`     |
//! | REST API, `REQUEST`          | —         | `REQUEST` | `methodArn` | `headers.Authorization`  |
//! | HTTP API, payload 1.0        | `1.0`     | `REQUEST` | `methodArn` | `headers.Authorization`  |
//! | HTTP API, payload 2.0        | `2.0`     | `REQUEST` | `routeArn`  | `headers.authorization`  |

use super::policy::ExecuteApiArn;
use serde_json::{Map, Value};
use std::fmt;

/// Which API Gateway product sent the event. They differ in what they make of a
/// Lambda error: a REST API answers the error `Unauthorized` with 401, an HTTP API
/// answers every authorizer error with 500.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gateway {
    Rest,
    Http,
}

/// An authorizer event, as far as the decision needs it.
#[derive(Debug)]
pub struct AuthorizerEvent {
    pub gateway: Gateway,
    /// The ARN of the method (REST) or route (HTTP API) being called.
    pub arn: ExecuteApiArn,
    /// The `Authorization` header (or the `TOKEN` authorizer's token source), as sent.
    credentials: Credentials,
}

#[derive(Debug)]
enum Credentials {
    Missing,
    /// The header was sent more than once.
    Repeated,
    Present(String),
}

/// Why a request carries no usable bearer token; logged, never sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoToken {
    Missing,
    Repeated,
    NotBearer,
    Malformed,
}

impl NoToken {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "no Authorization header",
            Self::Repeated => "more than one Authorization header",
            Self::NotBearer => "the Authorization scheme is not Bearer",
            Self::Malformed => "the bearer token is malformed",
        }
    }
}

/// An event that is not an API Gateway Lambda authorizer event: a wiring mistake
/// (a proxy integration pointed at the authorizer, a hand-made test event), never
/// something a client of the protected API can cause.
#[derive(Debug, PartialEq, Eq)]
pub struct EventError(pub String);

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not an API Gateway authorizer event: {}", self.0)
    }
}

impl std::error::Error for EventError {}

impl AuthorizerEvent {
    pub fn parse(event: &Value) -> Result<Self, EventError> {
        let obj = event
            .as_object()
            .ok_or_else(|| EventError("the event is not a JSON object".into()))?;
        let field = |k: &str| obj.get(k).and_then(Value::as_str);
        let (gateway, arn_field) = match (field("version"), field("type")) {
            (None, Some("TOKEN" | "REQUEST")) => (Gateway::Rest, "methodArn"),
            (Some("1.0"), Some("REQUEST")) => (Gateway::Http, "methodArn"),
            (Some("2.0"), Some("REQUEST")) => (Gateway::Http, "routeArn"),
            (version, kind) => {
                return Err(EventError(format!(
                    "unknown version {version:?} and type {kind:?}"
                )));
            }
        };
        let arn = field(arn_field)
            .ok_or_else(|| EventError(format!("`{arn_field}` is missing")))?
            .parse()
            .map_err(|e| EventError(format!("`{arn_field}`: {e}")))?;
        let credentials = if field("type") == Some("TOKEN") {
            match obj.get("authorizationToken") {
                Some(Value::String(s)) => Credentials::Present(s.clone()),
                _ => Credentials::Missing,
            }
        } else {
            authorization_header(obj)
        };
        Ok(Self {
            gateway,
            arn,
            credentials,
        })
    }

    /// The bearer token (RFC 6750 §2.1), or why there is none.
    pub fn bearer_token(&self) -> Result<&str, NoToken> {
        match &self.credentials {
            Credentials::Missing => Err(NoToken::Missing),
            Credentials::Repeated => Err(NoToken::Repeated),
            Credentials::Present(value) => bearer_token(value),
        }
    }
}

/// The `Authorization` header of a `REQUEST` event. Header names are matched without
/// regard to case (RFC 9110 §5.1): REST APIs keep the client's spelling, HTTP APIs
/// lower-case them. A header sent twice is refused rather than guessed at: REST APIs
/// list every value in `multiValueHeaders`; HTTP APIs join them with commas, which a
/// bearer token cannot contain.
fn authorization_header(event: &Map<String, Value>) -> Credentials {
    let named = |map: Option<&Value>| -> Vec<Value> {
        map.and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    let multi: usize = named(event.get("multiValueHeaders"))
        .iter()
        .map(|v| v.as_array().map_or(1, Vec::len))
        .sum();
    let single = named(event.get("headers"));
    if multi > 1 || single.len() > 1 {
        return Credentials::Repeated;
    }
    match single.first() {
        Some(Value::String(s)) => Credentials::Present(s.clone()),
        _ => Credentials::Missing,
    }
}

/// `credentials = "Bearer" 1*SP b64token` (RFC 6750 §2.1), the scheme matched
/// without regard to case (RFC 9110 §11.1).
pub fn bearer_token(value: &str) -> Result<&str, NoToken> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(NoToken::NotBearer);
    }
    let token = token.trim_start_matches(' ');
    if is_b64token(token) {
        Ok(token)
    } else {
        Err(NoToken::Malformed)
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
/// (RFC 6750 §2.1).
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes";

    #[test]
    fn bearer_credentials_are_read_as_rfc_6750_says() {
        let cases: &[(&str, Result<&str, NoToken>)] = &[
            ("Bearer abc.def-ghi_~+/==", Ok("abc.def-ghi_~+/==")),
            ("bearer abc", Ok("abc")),
            ("BEARER abc", Ok("abc")),
            ("Bearer   abc", Ok("abc")),
            (" Bearer abc ", Ok("abc")),
            ("Bearer", Err(NoToken::Malformed)),
            ("Bearer ", Err(NoToken::Malformed)),
            ("Bearer ===", Err(NoToken::Malformed)),
            ("Bearer a=b", Err(NoToken::Malformed)),
            ("Bearer a b", Err(NoToken::Malformed)),
            ("Bearer a,Bearer b", Err(NoToken::Malformed)),
            ("Bearer <access-token>", Err(NoToken::Malformed)),
            ("Bearer é", Err(NoToken::Malformed)),
            ("Basic dXNlcjpwYXNz", Err(NoToken::NotBearer)),
            ("abc", Err(NoToken::NotBearer)),
            ("", Err(NoToken::NotBearer)),
            ("Bearerabc", Err(NoToken::NotBearer)),
        ];
        for (value, expected) in cases {
            assert_eq!(bearer_token(value), *expected, "{value:?}");
        }
    }

    #[test]
    fn each_kind_of_event_is_recognised() {
        let cases = [
            (
                json!({"type": "TOKEN", "authorizationToken": "Bearer t", "methodArn": ARN}),
                Gateway::Rest,
            ),
            (
                json!({"type": "REQUEST", "methodArn": ARN, "headers": {"Authorization": "Bearer t"}}),
                Gateway::Rest,
            ),
            (
                json!({"version": "1.0", "type": "REQUEST", "methodArn": ARN, "headers": {"authorization": "Bearer t"}}),
                Gateway::Http,
            ),
            (
                json!({"version": "2.0", "type": "REQUEST", "routeArn": ARN, "headers": {"authorization": "Bearer t"}}),
                Gateway::Http,
            ),
        ];
        for (event, gateway) in cases {
            let parsed = AuthorizerEvent::parse(&event).unwrap();
            assert_eq!(parsed.gateway, gateway, "{event}");
            assert_eq!(parsed.bearer_token(), Ok("t"), "{event}");
            assert_eq!(parsed.arn.api_id(), "abc123");
        }
    }

    #[test]
    fn credentials_that_are_absent_null_or_repeated_give_no_token() {
        let cases = [
            (json!({"type": "TOKEN", "methodArn": ARN}), NoToken::Missing),
            (
                json!({"type": "TOKEN", "methodArn": ARN, "authorizationToken": null}),
                NoToken::Missing,
            ),
            (
                json!({"type": "REQUEST", "methodArn": ARN, "headers": null}),
                NoToken::Missing,
            ),
            (
                json!({"type": "REQUEST", "methodArn": ARN, "headers": {"Accept": "*/*"}}),
                NoToken::Missing,
            ),
            (
                json!({"type": "REQUEST", "methodArn": ARN, "headers": {"Authorization": 7}}),
                NoToken::Missing,
            ),
            (
                json!({"type": "REQUEST", "methodArn": ARN,
                       "headers": {"Authorization": "Bearer b"},
                       "multiValueHeaders": {"Authorization": ["Bearer a", "Bearer b"]}}),
                NoToken::Repeated,
            ),
            (
                json!({"type": "REQUEST", "methodArn": ARN,
                       "headers": {"Authorization": "Bearer a", "authorization": "Bearer b"}}),
                NoToken::Repeated,
            ),
        ];
        for (event, reason) in cases {
            let parsed = AuthorizerEvent::parse(&event).unwrap();
            assert_eq!(parsed.bearer_token(), Err(reason), "{event}");
        }
    }

    /// The checked-in events (used end to end in `tests/tests/authorizer.rs` and by
    /// `sam local invoke`) have the shapes `aws_lambda_events` models on AWS's.
    #[test]
    fn the_fixture_events_have_the_shapes_api_gateway_sends() {
        use aws_lambda_events::apigw::{
            ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
            ApiGatewayV2CustomAuthorizerV1Request, ApiGatewayV2CustomAuthorizerV2Request,
        };
        macro_rules! fixture {
            ($name:literal) => {
                include_str!(concat!("../../../tests/fixtures/authorizer/", $name))
            };
        }
        let token: ApiGatewayCustomAuthorizerRequest =
            serde_json::from_str(fixture!("rest-token.json")).unwrap();
        assert_eq!(token.type_.as_deref(), Some("TOKEN"));
        let request: ApiGatewayCustomAuthorizerRequestTypeRequest =
            serde_json::from_str(fixture!("rest-request.json")).unwrap();
        assert!(request.headers.contains_key("authorization"));
        let v1: ApiGatewayV2CustomAuthorizerV1Request =
            serde_json::from_str(fixture!("http-api-v1.json")).unwrap();
        assert_eq!(v1.version.as_deref(), Some("1.0"));
        let v2: ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_str(fixture!("http-api-v2.json")).unwrap();
        assert_eq!(v2.version.as_deref(), Some("2.0"));
        assert!(v2.route_arn.is_some());
    }

    #[test]
    fn events_that_are_not_authorizer_events_are_refused() {
        let cases = [
            json!("TOKEN"),
            json!({}),
            json!({"type": "TOKEN"}),
            json!({"type": "TOKEN", "methodArn": "nonsense"}),
            json!({"type": "OTHER", "methodArn": ARN}),
            json!({"version": "2.0", "type": "REQUEST", "methodArn": ARN}),
            json!({"version": "3.0", "type": "REQUEST", "routeArn": ARN}),
            // A proxy-integration event.
            json!({"version": "2.0", "routeKey": "GET /notes", "rawPath": "/notes"}),
        ];
        for event in cases {
            assert!(AuthorizerEvent::parse(&event).is_err(), "{event}");
        }
    }
}
