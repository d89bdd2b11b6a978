//! The issuer of a deployed function when `GATEHOUSE_ISSUER` is empty.
//!
//! The issuer identifier must be one stable URL (RFC 8414 §2, §3.3: the metadata's
//! `issuer` is the URL it was fetched under; RFC 9068 §2.2 and RFC 9207 §2: every
//! token and authorization response carries it). A routed function cannot be told
//! its API's URL by `template.yaml` (the API depends on the functions, so they
//! cannot also depend on it), so with neither the `Issuer` nor the `DomainName`
//! parameter it is derived here, from what API Gateway says of the API itself and
//! never from what the client sent: the API id of the event
//! (`requestContext.apiId`) and the function's region (`AWS_REGION`) name the
//! API's default endpoint, `https://{apiId}.execute-api.{region}.amazonaws.com`.
//! The `Host` header and `requestContext.domainName` name whatever domain the
//! request came through, which with a custom domain mapped outside the stack is
//! not the default endpoint: taking the issuer from them gave one warm function
//! one issuer and another a different one.
//!
//! A request through any other domain is refused (421 Misdirected Request, RFC
//! 9110 §15.5.20) rather than answered with an issuer that does not match the URL
//! the client used. A deployment served under another domain sets the issuer
//! (`Issuer`, or `DomainName` when the stack owns the domain).

/// The API's default endpoint (`https://{api_id}.execute-api.{region}.{suffix}`),
/// or `None` when the API id or the region is not a DNS label API Gateway would
/// use (an event that did not come from an HTTP API).
pub fn api_default_endpoint(api_id: &str, region: &str) -> Option<String> {
    let label = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
    };
    if !label(api_id, b"") || !label(region, b"-") {
        return None;
    }
    // The AWS partitions' DNS suffixes (`AWS::URLSuffix` in the template).
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Some(format!("https://{api_id}.execute-api.{region}.{suffix}"))
}

/// Whether a request that came through `domain` (`requestContext.domainName`)
/// may be answered as `issuer`: only when it is the issuer's own host.
pub fn serves_domain(issuer: &str, domain: Option<&str>) -> bool {
    let host = issuer
        .strip_prefix("https://")
        .map(|rest| rest.split('/').next().unwrap_or(rest));
    match (host, domain) {
        (Some(host), Some(domain)) => !host.is_empty() && host.eq_ignore_ascii_case(domain),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_endpoint_comes_from_the_api_id_and_region() {
        assert_eq!(
            api_default_endpoint("abc123", "us-east-1").as_deref(),
            Some("https://abc123.execute-api.us-east-1.amazonaws.com")
        );
        assert_eq!(
            api_default_endpoint("a1b2c3d4e5", "cn-north-1").as_deref(),
            Some("https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn")
        );
        for (api, region) in [
            ("", "us-east-1"),
            ("abc123", ""),
            ("ABC123", "us-east-1"),
            ("abc.evil.example", "us-east-1"),
            ("abc123", "us-east-1.evil.example"),
            ("abc/123", "us-east-1"),
            ("abc-123", "us-east-1"),
            (&"a".repeat(64), "us-east-1"),
        ] {
            assert_eq!(api_default_endpoint(api, region), None, "{api} {region}");
        }
    }

    #[test]
    fn only_the_issuers_own_host_is_served() {
        let issuer = "https://abc123.execute-api.us-east-1.amazonaws.com";
        assert!(serves_domain(
            issuer,
            Some("abc123.execute-api.us-east-1.amazonaws.com")
        ));
        assert!(serves_domain(
            issuer,
            Some("ABC123.execute-api.us-east-1.amazonaws.com")
        ));
        for other in [
            None,
            Some(""),
            Some("auth.example.com"),
            Some("xyz789.execute-api.us-east-1.amazonaws.com"),
            Some("abc123.execute-api.us-east-1.amazonaws.com.evil.example"),
            Some("abc123.execute-api.us-east-1.amazonaws.com:443"),
        ] {
            assert!(!serves_domain(issuer, other), "{other:?}");
        }
        assert!(serves_domain(
            "https://auth.example.com/tenant",
            Some("auth.example.com")
        ));
        assert!(!serves_domain(
            "http://auth.example.com",
            Some("auth.example.com")
        ));
    }
}
