//! The authorizer's answer: an IAM policy over `execute-api:Invoke`, scoped to the
//! API and stage of the call, right for every route of that stage.
//!
//! API Gateway caches an answer by the identity source (the token) alone and applies
//! it to whatever route the same token calls next, so the policy cannot be about the
//! route being called. It allows the whole stage and then denies, one explicit
//! `Deny` each, the routes of `GATEHOUSE_AUTHORIZER_ROUTE_SCOPES` whose scopes the
//! token lacks: an explicit deny beats any allow in IAM policy evaluation.

use super::routes::RouteScopes;
use crate::tokens::active::ActiveToken;
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// `arn:{partition}:execute-api:{region}:{account}:{api-id}/{stage}/{verb}/{path}`:
/// an incoming `methodArn` or `routeArn`, of which the policy keeps the API and stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecuteApiArn {
    partition: String,
    region: String,
    account: String,
    api_id: String,
    stage: String,
}

impl ExecuteApiArn {
    pub fn api_id(&self) -> &str {
        &self.api_id
    }

    pub fn stage(&self) -> &str {
        &self.stage
    }

    /// The ARN of `resource` (`{verb}/{path}`, wildcards allowed) in this API and stage.
    pub fn resource(&self, resource: &str) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/{resource}",
            self.partition, self.region, self.account, self.api_id, self.stage
        )
    }

    /// Every method and path of this API and stage.
    pub fn whole_stage(&self) -> String {
        self.resource("*")
    }
}

impl FromStr for ExecuteApiArn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("`{s}` is not an execute-api ARN: {why}");
        // The path may itself hold `:`; the first five separate the ARN's fields.
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(bad("too few fields"));
        };
        if arn != "arn" || service != "execute-api" {
            return Err(bad("wrong prefix or service"));
        }
        let word = |w: &str, extra: &[u8]| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        if !word(partition, b"-") || !word(region, b"-") || !word(account, b"") {
            return Err(bad("bad partition, region or account"));
        }
        let mut segments = resource.splitn(3, '/');
        let (Some(api_id), Some(stage), Some(_route)) =
            (segments.next(), segments.next(), segments.next())
        else {
            return Err(bad("no {api-id}/{stage}/{verb}/{path}"));
        };
        // Stage names: letters, digits, `-`, `_`, or HTTP APIs' `$default`.
        if !word(api_id, b"") || !word(stage, b"-_$") {
            return Err(bad("bad API id or stage"));
        }
        Ok(Self {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            api_id: api_id.into(),
            stage: stage.into(),
        })
    }
}

impl fmt::Display for ExecuteApiArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.whole_stage())
    }
}

/// The authorizer's answer, in the IAM policy format of REST API authorizers and of
/// HTTP API authorizers with simple responses off (the same shape for both).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub principal_id: String,
    pub policy_document: ApiGatewayCustomAuthorizerPolicy,
    /// Strings only (API Gateway allows strings, numbers and booleans, no objects or
    /// arrays); the backend reads them as `requestContext.authorizer.*` (REST,
    /// HTTP API payload 1.0) or `requestContext.authorizer.lambda.*` (payload 2.0).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
}

/// `principalId` of an answer refusing a request that has no valid token.
pub const ANONYMOUS: &str = "anonymous";

fn statement(effect: IamPolicyEffect, resource: Vec<String>) -> IamPolicyStatement {
    let mut s = IamPolicyStatement::default();
    s.action = vec!["execute-api:Invoke".into()];
    s.effect = effect;
    s.resource = resource;
    s
}

fn policy(statements: Vec<IamPolicyStatement>) -> ApiGatewayCustomAuthorizerPolicy {
    let mut p = ApiGatewayCustomAuthorizerPolicy::default();
    p.version = Some("2012-10-17".into());
    p.statement = statements;
    p
}

/// Allows the whole stage of `arn` to the holder of `record`, except the routes of
/// `routes` whose scopes `record` lacks, which are denied.
pub fn allow(
    arn: &ExecuteApiArn,
    record: &ActiveToken,
    routes: &RouteScopes,
) -> AuthorizerResponse {
    let denied: Vec<String> = routes
        .unmet_by(&record.scope)
        .map(|rule| arn.resource(rule.resource()))
        .collect();
    let mut statements = vec![statement(IamPolicyEffect::Allow, vec![arn.whole_stage()])];
    if !denied.is_empty() {
        statements.push(statement(IamPolicyEffect::Deny, denied));
    }
    let mut context = Map::new();
    context.insert("sub".into(), record.subject.clone().into());
    context.insert("client_id".into(), record.client_id.clone().into());
    context.insert("scope".into(), record.scope.to_string().into());
    if let Some(username) = &record.username {
        context.insert("username".into(), username.clone().into());
    }
    AuthorizerResponse {
        principal_id: record.subject.clone(),
        policy_document: policy(statements),
        context,
    }
}

/// Denies the whole stage of `arn`: an HTTP API's answer to a request without a
/// valid token (403; an HTTP API would turn an error into 500).
pub fn deny_all(arn: &ExecuteApiArn) -> AuthorizerResponse {
    AuthorizerResponse {
        principal_id: ANONYMOUS.into(),
        policy_document: policy(vec![statement(
            IamPolicyEffect::Deny,
            vec![arn.whole_stage()],
        )]),
        context: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_route_arns_give_their_api_and_stage() {
        let cases = [
            (
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*",
            ),
            (
                "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/POST/notes/a:b/c",
                "arn:aws:execute-api:eu-west-1:123456789012:abc123/$default/*",
            ),
            (
                "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/test/GET/",
                "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/test/*",
            ),
        ];
        for (arn, stage) in cases {
            let parsed: ExecuteApiArn = arn.parse().unwrap();
            assert_eq!(parsed.whole_stage(), stage);
        }
    }

    #[test]
    fn arns_that_could_widen_the_policy_are_refused() {
        for arn in [
            "",
            "arn:aws:execute-api:us-east-1:123456789012",
            "arn:aws:execute-api:us-east-1:123456789012:abc123",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod",
            "arn:aws:lambda:us-east-1:123456789012:abc123/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:*/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/x",
            "arn:aws:execute-api:us-east-1:*:abc123/prod/GET/x",
            "arn:aws:execute-api:*:123456789012:abc123/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc123//GET/x",
        ] {
            assert!(arn.parse::<ExecuteApiArn>().is_err(), "{arn}");
        }
    }
}
