//! An upstream OpenID Provider that users may sign in with (issue 12): what
//! `gatehouse provider add` registers, and the rules its configuration and its
//! discovery document (OpenID Connect Discovery 1.0) must meet before it is
//! stored. Pure: the fetch is `provider_discovery.rs`, the record's storage
//! `store/dynamo_providers.rs`; the upstream's quirks are
//! `domain/provider_quirks.rs`.
//!
//! The upstream client secret is not part of this record: it is kept in the
//! secrets table (`provider/{id}`), like the private halves of signing keys.

use crate::domain::outbound_address::AddressPolicy;
use crate::domain::provider_quirks;
use serde_json::Value;
use std::net::IpAddr;

/// The scope requested upstream when `--scope` is not given.
pub const DEFAULT_PROVIDER_SCOPE: &str = "openid email profile";

/// The longest display name (it is the text of a link on the login page).
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// The ID token signature algorithms Gatehouse verifies (never `none`).
pub const VERIFIED_ID_TOKEN_ALGS: [&str; 2] = ["RS256", "ES256"];

/// A registered upstream OpenID Provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// `[a-z0-9][a-z0-9-]{0,31}`: part of the provider's redirect URI.
    pub provider_id: String,
    /// The text of the provider's link ("Continue with NAME").
    pub display_name: String,
    /// The configured Issuer Identifier (Discovery §2), exactly as given.
    pub issuer: String,
    /// Gatehouse's client id at the provider.
    pub client_id: String,
    /// The scope requested upstream; always includes `openid`.
    pub scope: String,
    /// Whether the provider's `email_verified` may be believed (`--trust-email`);
    /// see `provider_quirks::email_is_trustworthy`.
    pub trust_email: bool,
    /// Google only: the Workspace domain an ID token's `hd` claim must name.
    pub hosted_domain: Option<String>,
    pub metadata: ProviderMetadata,
    pub created_at: u64,
}

/// What Gatehouse keeps of the provider's discovery document (Discovery §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
    /// How Gatehouse authenticates at the token endpoint.
    pub auth_method: UpstreamAuthMethod,
    /// RFC 9207 §3 `authorization_response_iss_parameter_supported`: whether
    /// authorization responses carry `iss`, which is then checked.
    pub iss_parameter_supported: bool,
    /// The provider's ID token algorithms that Gatehouse verifies, in the
    /// provider's order.
    pub id_token_signing_algs: Vec<String>,
}

/// Gatehouse's client authentication toward the upstream token endpoint
/// (OpenID Connect Core §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

impl UpstreamAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

impl std::str::FromStr for UpstreamAuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            other => Err(format!("unknown upstream authentication method `{other}`")),
        }
    }
}

/// Checks a provider id: `[a-z0-9][a-z0-9-]{0,31}`.
pub fn validate_id(id: &str) -> Result<(), String> {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if first_ok && rest_ok && id.len() <= 32 {
        Ok(())
    } else {
        Err(format!(
            "provider id `{id}` is not allowed: 1 to 32 lowercase letters, digits and `-`, \
             beginning with a letter or digit"
        ))
    }
}

/// Checks a display name: not blank, at most [`MAX_DISPLAY_NAME_CHARS`]
/// characters, no control characters.
pub fn validate_display_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the display name is empty".into());
    }
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!(
            "the display name is longer than {MAX_DISPLAY_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the display name contains a control character".into());
    }
    Ok(())
}

/// Checks the scope requested upstream: space-separated scope tokens (RFC 6749
/// §3.3), one of them `openid` (OpenID Connect Core §3.1.2.1: without it the
/// request is not an OpenID Connect request); the normalised value.
pub fn validate_scope(scope: &str) -> Result<String, String> {
    let tokens: Vec<&str> = scope.split(' ').filter(|t| !t.is_empty()).collect();
    for t in &tokens {
        // NQCHAR: %x21 / %x23-5B / %x5D-7E.
        if !t
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        {
            return Err(format!("scope `{t}` is not a scope token (RFC 6749 §3.3)"));
        }
    }
    if !tokens.contains(&"openid") {
        return Err(format!(
            "the scope `{scope}` does not include `openid` (OpenID Connect Core §3.1.2.1)"
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for t in tokens {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    Ok(seen.join(" "))
}

/// Checks a Google Workspace domain for `--hosted-domain`: a lowercase DNS name.
pub fn validate_hosted_domain(domain: &str) -> Result<(), String> {
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if labels_ok && domain.contains('.') && domain.len() <= 253 {
        Ok(())
    } else {
        Err(format!(
            "hosted domain `{domain}` is not a lowercase domain name (example.com)"
        ))
    }
}

/// Where an `http://` URL may point: only a loopback IP literal, and only when
/// not on AWS.
fn scheme_allowed(url: &url::Url, policy: AddressPolicy) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                _ => false,
            };
            match (loopback, policy) {
                (true, AddressPolicy::Local) => Ok(()),
                (true, AddressPolicy::PublicOnly) => Err(
                    "uses http, which is allowed only locally (not with --aws): use https".into(),
                ),
                (false, _) => Err(
                    "uses http: use https, or locally http on a loopback IP literal \
                     (http://127.0.0.1:PORT or http://[::1]:PORT)"
                        .into(),
                ),
            }
        }
        s => Err(format!("has scheme `{s}`: use https")),
    }
}

fn parse_absolute(what: &str, uri: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(uri).map_err(|e| format!("{what} `{uri}` is not an absolute URL: {e}"))?;
    if url.host().is_none() {
        return Err(format!("{what} `{uri}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} `{uri}` must not carry user information"));
    }
    if url.fragment().is_some() || uri.contains('#') {
        return Err(format!("{what} `{uri}` must not have a fragment"));
    }
    Ok(url)
}

/// Checks an Issuer Identifier (Discovery §2; Core §2 "Issuer Identifier"): a
/// case-sensitive https URL with a host and no query or fragment; locally, also
/// http on a loopback IP literal.
pub fn validate_issuer(issuer: &str, policy: AddressPolicy) -> Result<(), String> {
    let url = parse_absolute("issuer", issuer)?;
    if url.query().is_some() || issuer.contains('?') {
        return Err(format!(
            "issuer `{issuer}` must not have a query (OpenID Connect Discovery 1.0 §2)"
        ));
    }
    scheme_allowed(&url, policy).map_err(|why| format!("issuer `{issuer}` {why}"))
}

/// Checks an endpoint URL of the discovery document: absolute, no fragment (RFC
/// 6749 §3.1), and the issuer's scheme rule.
pub fn validate_endpoint(name: &str, uri: &str, policy: AddressPolicy) -> Result<(), String> {
    let url = parse_absolute(name, uri)?;
    scheme_allowed(&url, policy).map_err(|why| format!("{name} `{uri}` {why}"))
}

/// Where the discovery document of `issuer` is (Discovery §4.1): the issuer
/// without a trailing `/`, then `/.well-known/openid-configuration`.
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Why a discovery document was refused.
fn refuse(m: impl std::fmt::Display) -> String {
    format!("the discovery document is refused: {m}")
}

/// A string member of the document; `Ok(None)` when absent.
fn string_member<'a>(doc: &'a Value, name: &str) -> Result<Option<&'a str>, String> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(refuse(format!("`{name}` is not a string"))),
    }
}

fn required_string<'a>(doc: &'a Value, name: &str) -> Result<&'a str, String> {
    string_member(doc, name)?.ok_or_else(|| {
        refuse(format!(
            "`{name}` is missing (OpenID Connect Discovery 1.0 §3)"
        ))
    })
}

/// A JSON array of strings; `Ok(None)` when absent.
fn string_list(doc: &Value, name: &str) -> Result<Option<Vec<String>>, String> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| refuse(format!("`{name}` holds a value that is not a string")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(refuse(format!("`{name}` is not an array"))),
    }
}

/// The method Gatehouse uses at the token endpoint, from
/// `token_endpoint_auth_methods_supported` (Discovery §3; absent means
/// `client_secret_basic`): basic when offered, else post; neither is refused.
pub fn choose_auth_method(supported: Option<&[String]>) -> Result<UpstreamAuthMethod, String> {
    let Some(supported) = supported else {
        return Ok(UpstreamAuthMethod::ClientSecretBasic);
    };
    let has = |m: UpstreamAuthMethod| supported.iter().any(|s| s == m.as_str());
    if has(UpstreamAuthMethod::ClientSecretBasic) {
        Ok(UpstreamAuthMethod::ClientSecretBasic)
    } else if has(UpstreamAuthMethod::ClientSecretPost) {
        Ok(UpstreamAuthMethod::ClientSecretPost)
    } else {
        Err(refuse(format!(
            "token_endpoint_auth_methods_supported ({}) offers neither client_secret_basic nor \
             client_secret_post",
            supported.join(", ")
        )))
    }
}

/// Reads and checks the discovery document of the provider configured with
/// `issuer` (Discovery §3, §4.3):
///
/// - `issuer` equals the configured issuer exactly (§4.3), except where a
///   known provider's quirk says otherwise (`provider_quirks::metadata_issuer`);
/// - `authorization_endpoint`, `token_endpoint` and `jwks_uri` are present, and
///   every endpoint obeys the issuer's scheme rule (`userinfo_endpoint` is
///   optional, RECOMMENDED in §3);
/// - `response_types_supported` contains `code` (the only flow Gatehouse runs);
/// - `id_token_signing_alg_values_supported` contains an algorithm Gatehouse
///   verifies ([`VERIFIED_ID_TOKEN_ALGS`]), and only those are kept;
/// - the client authentication method per [`choose_auth_method`];
/// - RFC 9207 §3 `authorization_response_iss_parameter_supported`, a boolean,
///   false when absent.
pub fn metadata_from_discovery(
    issuer: &str,
    doc: &Value,
    policy: AddressPolicy,
) -> Result<ProviderMetadata, String> {
    if !doc.is_object() {
        return Err(refuse("it is not a JSON object"));
    }
    let found = required_string(doc, "issuer")?;
    let expected = provider_quirks::metadata_issuer(issuer);
    if found != expected {
        return Err(refuse(format!(
            "its issuer `{found}` is not `{expected}`, the configured issuer (OpenID Connect \
             Discovery 1.0 §4.3: they must be identical)"
        )));
    }
    let endpoint = |name: &str| -> Result<String, String> {
        let uri = required_string(doc, name)?;
        validate_endpoint(name, uri, policy).map_err(refuse)?;
        Ok(uri.to_owned())
    };
    let authorization_endpoint = endpoint("authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;
    let jwks_uri = endpoint("jwks_uri")?;
    let userinfo_endpoint = match string_member(doc, "userinfo_endpoint")? {
        Some(uri) => {
            validate_endpoint("userinfo_endpoint", uri, policy).map_err(refuse)?;
            Some(uri.to_owned())
        }
        None => None,
    };
    let response_types = string_list(doc, "response_types_supported")?.ok_or_else(|| {
        refuse("`response_types_supported` is missing (OpenID Connect Discovery 1.0 §3)")
    })?;
    if !response_types.iter().any(|t| t == "code") {
        return Err(refuse(
            "`response_types_supported` does not contain `code` (the authorization code flow)",
        ));
    }
    let algs = string_list(doc, "id_token_signing_alg_values_supported")?.ok_or_else(|| {
        refuse(
            "`id_token_signing_alg_values_supported` is missing (OpenID Connect Discovery 1.0 §3)",
        )
    })?;
    let id_token_signing_algs: Vec<String> = algs
        .iter()
        .filter(|a| VERIFIED_ID_TOKEN_ALGS.contains(&a.as_str()))
        .cloned()
        .collect();
    if id_token_signing_algs.is_empty() {
        return Err(refuse(format!(
            "`id_token_signing_alg_values_supported` ({}) has none of the algorithms Gatehouse \
             verifies ({})",
            algs.join(", "),
            VERIFIED_ID_TOKEN_ALGS.join(", ")
        )));
    }
    let auth_methods = string_list(doc, "token_endpoint_auth_methods_supported")?;
    let auth_method = choose_auth_method(auth_methods.as_deref())?;
    let iss_parameter_supported = match doc.get("authorization_response_iss_parameter_supported") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(refuse(
                "`authorization_response_iss_parameter_supported` is not a boolean (RFC 9207 §3)",
            ));
        }
    };
    Ok(ProviderMetadata {
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        jwks_uri,
        auth_method,
        iss_parameter_supported,
        id_token_signing_algs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOCAL: AddressPolicy = AddressPolicy::Local;
    const AWS: AddressPolicy = AddressPolicy::PublicOnly;

    fn doc() -> Value {
        json!({
            "issuer": "https://op.example",
            "authorization_endpoint": "https://op.example/authorize",
            "token_endpoint": "https://op.example/token",
            "userinfo_endpoint": "https://op.example/userinfo",
            "jwks_uri": "https://op.example/jwks",
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    fn refused(doc: &Value, why: &str) {
        let err = metadata_from_discovery("https://op.example", doc, LOCAL).expect_err(why);
        assert!(err.contains(why), "{err}");
    }

    #[test]
    fn refused_ids_say_why() {
        for id in [
            "",
            "-google",
            "Google",
            "goo gle",
            "google_1",
            "g/x",
            "é",
            "a23456789012345678901234567890123",
        ] {
            let err = validate_id(id).expect_err(id);
            assert!(err.contains("not allowed"), "{id}: {err}");
        }
        for id in [
            "google",
            "0",
            "entra-2",
            "a-",
            "a2345678901234567890123456789012",
        ] {
            assert_eq!(validate_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn a_scope_without_openid_is_refused() {
        for (scope, why) in [
            ("email profile", "does not include `openid`"),
            ("", "does not include `openid`"),
            ("openidx", "does not include `openid`"),
            ("openid \"x\"", "not a scope token"),
            ("openid\temail", "not a scope token"),
        ] {
            let err = validate_scope(scope).expect_err(scope);
            assert!(err.contains(why), "{scope}: {err}");
        }
        assert_eq!(
            validate_scope(" openid  email openid ").unwrap(),
            "openid email"
        );
    }

    #[test]
    fn refused_display_names_and_hosted_domains_say_why() {
        assert!(validate_display_name("  ").is_err());
        assert!(validate_display_name("a\nb").is_err());
        assert!(validate_display_name(&"x".repeat(65)).is_err());
        assert_eq!(validate_display_name("Google"), Ok(()));
        for d in [
            "",
            "example",
            "Example.com",
            "-a.com",
            "a..com",
            "a.com/x",
            "a_b.com",
        ] {
            assert!(validate_hosted_domain(d).is_err(), "{d}");
        }
        assert_eq!(validate_hosted_domain("example.co.uk"), Ok(()));
    }

    #[test]
    fn refused_issuers_say_why() {
        for (issuer, policy, why) in [
            ("http://op.example", LOCAL, "uses http"),
            ("http://localhost:8080", LOCAL, "uses http"),
            ("http://10.0.0.1", LOCAL, "uses http"),
            ("http://127.0.0.1:8080", AWS, "allowed only locally"),
            ("http://[::1]:8080", AWS, "allowed only locally"),
            ("https://op.example?tenant=x", LOCAL, "query"),
            ("https://op.example?", LOCAL, "query"),
            ("https://op.example#x", LOCAL, "fragment"),
            ("https://op.example#", LOCAL, "fragment"),
            ("https://u:p@op.example", LOCAL, "user information"),
            ("ftp://op.example", LOCAL, "scheme `ftp`"),
            ("op.example", LOCAL, "not an absolute URL"),
            ("", LOCAL, "not an absolute URL"),
            ("urn:op", LOCAL, "no host"),
        ] {
            let err = validate_issuer(issuer, policy).expect_err(issuer);
            assert!(err.contains(why), "{issuer}: {err}");
        }
        for (issuer, policy) in [
            ("https://op.example", AWS),
            ("https://op.example/tenant/v2.0", AWS),
            ("http://127.0.0.1:8080", LOCAL),
            ("http://[::1]:8080/op", LOCAL),
        ] {
            assert_eq!(validate_issuer(issuer, policy), Ok(()), "{issuer}");
        }
    }

    #[test]
    fn the_discovery_url_follows_discovery_4_1() {
        assert_eq!(
            discovery_url("https://op.example"),
            "https://op.example/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://op.example/tenant/"),
            "https://op.example/tenant/.well-known/openid-configuration"
        );
    }

    #[test]
    fn a_document_of_another_issuer_is_refused() {
        for other in [
            "https://op.example/",
            "https://OP.example",
            "https://evil.example",
            "http://op.example",
        ] {
            let mut d = doc();
            d["issuer"] = json!(other);
            refused(&d, "is not `https://op.example`");
        }
        let mut d = doc();
        d["issuer"] = json!(1);
        refused(&d, "`issuer` is not a string");
    }

    #[test]
    fn a_document_missing_a_required_member_is_refused() {
        for member in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "id_token_signing_alg_values_supported",
        ] {
            let mut d = doc();
            d.as_object_mut().unwrap().remove(member);
            refused(&d, &format!("`{member}` is missing"));
        }
        refused(&json!([1]), "not a JSON object");
    }

    #[test]
    fn endpoints_obey_the_issuers_scheme_rule() {
        for member in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "userinfo_endpoint",
        ] {
            for (bad, why) in [
                ("http://op.example/x", "uses http"),
                ("https://op.example/x#f", "fragment"),
                ("/relative", "not an absolute URL"),
                ("javascript:alert(1)", "no host"),
            ] {
                let mut d = doc();
                d[member] = json!(bad);
                refused(&d, why);
            }
        }
        // On AWS, a loopback endpoint of an https issuer is refused too.
        let mut d = doc();
        d["token_endpoint"] = json!("http://127.0.0.1:9/token");
        let err = metadata_from_discovery("https://op.example", &d, AWS).unwrap_err();
        assert!(err.contains("allowed only locally"), "{err}");
    }

    #[test]
    fn a_provider_without_the_code_flow_is_refused() {
        let mut d = doc();
        d["response_types_supported"] = json!(["id_token", "id_token token"]);
        refused(&d, "does not contain `code`");
        d["response_types_supported"] = json!("code");
        refused(&d, "is not an array");
    }

    #[test]
    fn only_verified_algorithms_are_kept_and_none_alone_is_refused() {
        for algs in [json!(["none"]), json!(["HS256", "PS256"]), json!([])] {
            let mut d = doc();
            d["id_token_signing_alg_values_supported"] = algs;
            refused(&d, "none of the algorithms Gatehouse verifies");
        }
        let mut d = doc();
        d["id_token_signing_alg_values_supported"] = json!(["none", "ES256", "HS256", "RS256"]);
        let m = metadata_from_discovery("https://op.example", &d, LOCAL).unwrap();
        assert_eq!(m.id_token_signing_algs, ["ES256", "RS256"]);
    }

    #[test]
    fn the_auth_method_prefers_basic_and_refuses_neither() {
        let methods = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            choose_auth_method(None),
            Ok(UpstreamAuthMethod::ClientSecretBasic)
        );
        assert_eq!(
            choose_auth_method(Some(&methods(&[
                "client_secret_post",
                "client_secret_basic"
            ]))),
            Ok(UpstreamAuthMethod::ClientSecretBasic)
        );
        assert_eq!(
            choose_auth_method(Some(&methods(&["private_key_jwt", "client_secret_post"]))),
            Ok(UpstreamAuthMethod::ClientSecretPost)
        );
        for only in [&["private_key_jwt", "tls_client_auth"][..], &[]] {
            let err = choose_auth_method(Some(&methods(only))).unwrap_err();
            assert!(err.contains("neither client_secret_basic"), "{err}");
        }
        let mut d = doc();
        d["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        refused(&d, "neither client_secret_basic");
    }

    #[test]
    fn the_iss_parameter_flag_is_a_boolean_false_when_absent() {
        let m = metadata_from_discovery("https://op.example", &doc(), LOCAL).unwrap();
        assert!(!m.iss_parameter_supported);
        assert_eq!(m.auth_method, UpstreamAuthMethod::ClientSecretBasic);
        assert_eq!(
            m.userinfo_endpoint.as_deref(),
            Some("https://op.example/userinfo")
        );
        let mut d = doc();
        d["authorization_response_iss_parameter_supported"] = json!(true);
        let m = metadata_from_discovery("https://op.example", &d, LOCAL).unwrap();
        assert!(m.iss_parameter_supported);
        d["authorization_response_iss_parameter_supported"] = json!("true");
        refused(&d, "not a boolean");
    }

    #[test]
    fn a_loopback_provider_is_accepted_locally() {
        let d = json!({
            "issuer": "http://127.0.0.1:9000",
            "authorization_endpoint": "http://127.0.0.1:9000/auth",
            "token_endpoint": "http://127.0.0.1:9000/token",
            "jwks_uri": "http://127.0.0.1:9000/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let m = metadata_from_discovery("http://127.0.0.1:9000", &d, LOCAL).unwrap();
        assert_eq!(m.userinfo_endpoint, None);
        assert!(metadata_from_discovery("http://127.0.0.1:9000", &d, AWS).is_err());
    }
}
