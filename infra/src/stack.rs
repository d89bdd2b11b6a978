//! The table names of a deployed stack, read from its CloudFormation outputs:
//! `template.yaml` declares one output per table (`ClientsTableName`, ...), and
//! `gatehouse --aws --stack NAME` reads them with `DescribeStacks`.

use crate::aws::{one_line, one_line_chain};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use std::collections::HashMap;

/// Each table, by the name of its `--*-table` option, and the stack output that
/// names it (the logical id of the output in `template.yaml`).
pub const TABLE_OUTPUTS: [(&str, &str); 13] = [
    ("clients", "ClientsTableName"),
    ("tokens", "TokensTableName"),
    ("grants", "GrantsTableName"),
    ("sessions", "SessionsTableName"),
    ("keys", "KeysTableName"),
    ("secrets", "SecretsTableName"),
    ("users", "UsersTableName"),
    ("consents", "ConsentsTableName"),
    ("login-attempts", "LoginAttemptsTableName"),
    ("origins", "OriginsTableName"),
    ("providers", "ProvidersTableName"),
    ("upstream-states", "UpstreamStatesTableName"),
    ("identities", "IdentitiesTableName"),
];

/// The output that names the queue of back-channel logout deliveries, to which
/// `gatehouse --aws user ...` enqueues.
pub const LOGOUT_QUEUE_OUTPUT: &str = "LogoutDeliveryQueueUrl";

/// The outputs of one stack.
#[derive(Clone, Debug)]
pub struct StackOutputs {
    pub stack: String,
    pub region: String,
    outputs: HashMap<String, String>,
}

impl StackOutputs {
    /// Reads the outputs of `stack` (a name or a stack id).
    pub async fn describe(conf: &aws_config::SdkConfig, stack: &str) -> anyhow::Result<Self> {
        let region = crate::aws::region(conf).to_owned();
        let answer = aws_sdk_cloudformation::Client::new(conf)
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| describe_error(stack, &region, e))?;
        let Some(found) = answer.stacks().first() else {
            anyhow::bail!("stack `{stack}` not found in {region}");
        };
        let outputs = found
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect();
        Ok(Self {
            stack: stack.to_owned(),
            region,
            outputs,
        })
    }

    /// The value of output `name`, if the stack has it.
    pub fn output(&self, name: &str) -> Option<&str> {
        self.outputs
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The name of `table` (an entry of [`TABLE_OUTPUTS`]): the value of its output.
    pub fn table(&self, table: &str) -> anyhow::Result<String> {
        let Some((_, output)) = TABLE_OUTPUTS.iter().find(|(t, _)| *t == table) else {
            anyhow::bail!("no stack output is known for the {table} table");
        };
        match self.outputs.get(*output) {
            Some(name) if !name.is_empty() => Ok(name.clone()),
            _ => anyhow::bail!(
                "stack `{}` has no output {output} (the {table} table's name): update the stack, or give --{table}-table",
                self.stack
            ),
        }
    }
}

/// One line for a failed `DescribeStacks`: the stack is missing, access is denied,
/// the credentials are refused, or CloudFormation cannot be reached.
fn describe_error(
    stack: &str,
    region: &str,
    e: SdkError<DescribeStacksError, aws_sdk_cloudformation::config::http::HttpResponse>,
) -> anyhow::Error {
    let Some(service) = e.as_service_error() else {
        return anyhow::anyhow!(
            "cannot read stack `{stack}` from CloudFormation in {region}: {}",
            one_line_chain(&e)
        );
    };
    let code = service.code().unwrap_or("unknown error");
    let message = one_line(service.message().unwrap_or_default());
    match code {
        "ValidationError" if message.contains("does not exist") => {
            anyhow::anyhow!("stack `{stack}` not found in {region}")
        }
        "AccessDenied" | "AccessDeniedException" => anyhow::anyhow!(
            "access denied reading stack `{stack}` in {region} (cloudformation:DescribeStacks): {message}"
        ),
        "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException" => {
            anyhow::anyhow!("AWS refused the credentials ({code}): {message}")
        }
        _ => anyhow::anyhow!("cannot read stack `{stack}` in {region}: {code}: {message}"),
    }
}
