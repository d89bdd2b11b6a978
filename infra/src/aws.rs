//! The AWS configuration of `--aws`: the region (`--region`, else the standard
//! chain) and the credentials of the standard chain, both checked before the first
//! call, so that a missing one is a single clear line rather than an SDK error.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudformation::config::ProvideCredentials;

/// Loads the standard configuration (environment, profile, SSO, process, container
/// and instance credentials; `AWS_ENDPOINT_URL_<SERVICE>` endpoints), with `region`
/// when given, and checks that it has a region and that credentials resolve.
pub async fn config(region: Option<&str>) -> anyhow::Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let conf = loader.load().await;
    if conf.region().is_none() {
        anyhow::bail!(
            "--aws needs a region: give --region, or set AWS_REGION or the profile's region"
        );
    }
    let Some(credentials) = conf.credentials_provider() else {
        anyhow::bail!("no AWS credentials provider is configured");
    };
    match credentials.provide_credentials().await {
        Ok(_) => Ok(conf),
        Err(CredentialsError::CredentialsNotLoaded(_)) => anyhow::bail!(
            "no AWS credentials found: set AWS_PROFILE (a profile with keys, SSO or a \
             credential process), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run \
             with a role (container or instance)"
        ),
        Err(e) => anyhow::bail!("cannot load the AWS credentials: {}", one_line_chain(&e)),
    }
}

/// An error and its sources, on one line.
pub(crate) fn one_line_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    one_line(&text)
}

/// `s` with every run of whitespace, line breaks included, as one space.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The region of a configuration [`config`] accepted.
pub fn region(conf: &SdkConfig) -> &str {
    conf.region().map_or("(none)", Region::as_ref)
}
