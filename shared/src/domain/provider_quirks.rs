//! What two well-known upstream providers do differently from the plain rules
//! of OpenID Connect, recognised by their issuer:
//!
//! - Google (`https://accounts.google.com`): a Google Workspace account's ID
//!   token names its domain in the `hd` claim; a provider added with
//!   `--hosted-domain` accepts only that domain ([`hd_allows`]). Google's ID
//!   tokens may carry `iss` without the scheme, `accounts.google.com` (Google's
//!   "Validating an ID token"), which [`issuer_matches`] accepts for Google only.
//! - Microsoft Entra ID (`https://login.microsoftonline.com/...`): a
//!   multi-tenant application is configured with the `common` or
//!   `organizations` issuer, whose discovery document's `issuer` is the
//!   template `https://login.microsoftonline.com/{tenantid}/v2.0`
//!   ([`metadata_issuer`]); each ID token's `iss` must then be that template
//!   with the token's own `tid` claim ([`expected_issuer`]). And Entra's
//!   `email` is a mutable attribute the tenant's administrators set, not an
//!   address the user was seen to control: it is never trusted, for identity
//!   or linking, whatever `--trust-email` says ([`email_is_trustworthy`]).
//!
//! Everything else follows OpenID Connect Core §3.1.3.7: `iss` equals the
//! configured issuer exactly.

use crate::domain::provider::Provider;
use serde_json::{Map, Value};

/// Google's Issuer Identifier.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// The `iss` Google's ID tokens may carry instead of [`GOOGLE_ISSUER`].
const GOOGLE_BARE_ISSUER: &str = "accounts.google.com";
/// The host of Microsoft Entra ID's issuers.
const ENTRA_PREFIX: &str = "https://login.microsoftonline.com/";
/// The metadata issuer of Entra's multi-tenant endpoints.
pub const ENTRA_TENANT_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

/// Which known provider an issuer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    Google,
    /// Entra ID; `multi_tenant` for the `common` and `organizations` issuers.
    Entra {
        multi_tenant: bool,
    },
    /// Any other OpenID Provider: the plain rules.
    Other,
}

impl Upstream {
    /// Recognises a provider by its configured issuer.
    pub fn of(issuer: &str) -> Self {
        if issuer == GOOGLE_ISSUER {
            return Self::Google;
        }
        if let Some(rest) = issuer.strip_prefix(ENTRA_PREFIX) {
            let multi_tenant = matches!(rest, "common/v2.0" | "organizations/v2.0");
            return Self::Entra { multi_tenant };
        }
        Self::Other
    }
}

/// The `issuer` the discovery document of the provider configured with
/// `issuer` must state (Discovery §4.3): the issuer itself, or for Entra's
/// multi-tenant issuers the `{tenantid}` template.
pub fn metadata_issuer(issuer: &str) -> &str {
    match Upstream::of(issuer) {
        Upstream::Entra { multi_tenant: true } => ENTRA_TENANT_TEMPLATE,
        _ => issuer,
    }
}

/// The `iss` an ID token of `provider` must carry (Core §3.1.3.7 step 2): the
/// configured issuer, or for an Entra multi-tenant provider the template with
/// the token's `tid`, which must be a tenant id (a lowercase GUID).
pub fn expected_issuer(provider: &Provider, claims: &Map<String, Value>) -> Result<String, String> {
    match Upstream::of(&provider.issuer) {
        Upstream::Entra { multi_tenant: true } => {
            let tid = claims
                .get("tid")
                .and_then(Value::as_str)
                .ok_or("the ID token has no `tid` claim (Microsoft Entra ID, multi-tenant)")?;
            if !is_guid(tid) {
                return Err("the ID token's `tid` claim is not a tenant id".into());
            }
            Ok(ENTRA_TENANT_TEMPLATE.replace("{tenantid}", tid))
        }
        _ => Ok(provider.issuer.clone()),
    }
}

/// Whether the ID token's `iss` is the one [`expected_issuer`] requires
/// (compared exactly), Google's bare `accounts.google.com` included.
pub fn issuer_matches(provider: &Provider, claims: &Map<String, Value>) -> Result<(), String> {
    let expected = expected_issuer(provider, claims)?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or("the ID token has no `iss` claim")?;
    let google_bare =
        Upstream::of(&provider.issuer) == Upstream::Google && iss == GOOGLE_BARE_ISSUER;
    if iss == expected || google_bare {
        Ok(())
    } else {
        Err(format!("the ID token's `iss` is not `{expected}`"))
    }
}

/// `8-4-4-4-12` lowercase hexadecimal digits.
fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, len)| {
            g.len() == len && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// Google Workspace: with an expected domain, the ID token's `hd` claim must be
/// that domain (compared without regard to ASCII case); a personal Google
/// account has no `hd` and is refused. Without one, any account is allowed.
pub fn hd_allows(expected: Option<&str>, claims: &Map<String, Value>) -> bool {
    match expected {
        None => true,
        Some(domain) => claims
            .get("hd")
            .and_then(Value::as_str)
            .is_some_and(|hd| hd.eq_ignore_ascii_case(domain)),
    }
}

/// Whether an upstream's `email` may be believed (for linking to a local user,
/// and as a verified address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTrust {
    Trusted,
    /// Why not.
    Untrusted(&'static str),
}

/// Whether the `email` of these claims may be trusted: never from Microsoft
/// Entra ID; otherwise only from a provider added with `--trust-email`, and only
/// when `email_verified` is the JSON boolean `true` (Core §5.1; a string
/// `"true"` is not).
pub fn email_is_trustworthy(provider: &Provider, claims: &Map<String, Value>) -> EmailTrust {
    if matches!(Upstream::of(&provider.issuer), Upstream::Entra { .. }) {
        return EmailTrust::Untrusted(
            "Microsoft Entra ID's email is an attribute that tenant administrators set, not an \
             address the user was seen to control: it is never trusted",
        );
    }
    if !provider.trust_email {
        return EmailTrust::Untrusted("the provider was added without --trust-email");
    }
    if !claims.get("email").is_some_and(Value::is_string) {
        return EmailTrust::Untrusted("there is no email claim");
    }
    match claims.get("email_verified") {
        Some(Value::Bool(true)) => EmailTrust::Trusted,
        _ => EmailTrust::Untrusted("email_verified is not the boolean true"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::provider::{ProviderMetadata, UpstreamAuthMethod};
    use serde_json::json;

    fn provider(issuer: &str, trust_email: bool) -> Provider {
        Provider {
            provider_id: "p".into(),
            display_name: "P".into(),
            issuer: issuer.into(),
            client_id: "cid".into(),
            scope: "openid email".into(),
            trust_email,
            hosted_domain: None,
            metadata: ProviderMetadata {
                authorization_endpoint: format!("{issuer}/authorize"),
                token_endpoint: format!("{issuer}/token"),
                userinfo_endpoint: None,
                jwks_uri: format!("{issuer}/jwks"),
                auth_method: UpstreamAuthMethod::ClientSecretBasic,
                iss_parameter_supported: false,
                id_token_signing_algs: vec!["RS256".into()],
            },
            created_at: 0,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const TID: &str = "9122040d-6c67-4c5b-b112-36a304b66dad";

    #[test]
    fn providers_are_recognised_by_issuer() {
        assert_eq!(
            Upstream::of("https://accounts.google.com"),
            Upstream::Google
        );
        assert_eq!(
            Upstream::of("https://accounts.google.com/"),
            Upstream::Other
        );
        assert_eq!(
            Upstream::of("https://accounts.google.com.evil.example"),
            Upstream::Other
        );
        assert_eq!(
            Upstream::of("https://login.microsoftonline.com/common/v2.0"),
            Upstream::Entra { multi_tenant: true }
        );
        assert_eq!(
            Upstream::of("https://login.microsoftonline.com/organizations/v2.0"),
            Upstream::Entra { multi_tenant: true }
        );
        assert_eq!(
            Upstream::of(&format!("https://login.microsoftonline.com/{TID}/v2.0")),
            Upstream::Entra {
                multi_tenant: false
            }
        );
        assert_eq!(
            Upstream::of("https://login.microsoftonline.com.evil.example/common/v2.0"),
            Upstream::Other
        );
        assert_eq!(Upstream::of("https://op.example"), Upstream::Other);
    }

    #[test]
    fn the_metadata_issuer_of_entra_multi_tenant_is_the_template() {
        assert_eq!(
            metadata_issuer("https://login.microsoftonline.com/common/v2.0"),
            ENTRA_TENANT_TEMPLATE
        );
        let single = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert_eq!(metadata_issuer(&single), single);
        assert_eq!(metadata_issuer("https://op.example"), "https://op.example");
    }

    #[test]
    fn entra_multi_tenant_tokens_need_their_own_tenant_in_iss() {
        let p = provider("https://login.microsoftonline.com/common/v2.0", false);
        let mine = format!("https://login.microsoftonline.com/{TID}/v2.0");
        // Refusals first: no tid, a tid that is not a GUID, iss of another tenant,
        // the template itself.
        for (c, why) in [
            (json!({"iss": mine}), "no `tid`"),
            (json!({"iss": mine, "tid": 7}), "no `tid`"),
            (json!({"iss": mine, "tid": "../x"}), "not a tenant id"),
            (
                json!({"iss": mine, "tid": TID.to_uppercase()}),
                "not a tenant id",
            ),
        ] {
            let err = issuer_matches(&p, &claims(c)).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
        let other = "0000040d-6c67-4c5b-b112-36a304b66dad";
        for iss in [
            format!("https://login.microsoftonline.com/{other}/v2.0"),
            ENTRA_TENANT_TEMPLATE.to_owned(),
            "https://login.microsoftonline.com/common/v2.0".to_owned(),
        ] {
            let c = claims(json!({"iss": iss, "tid": TID}));
            assert!(issuer_matches(&p, &c).is_err(), "{iss}");
        }
        let c = claims(json!({"iss": mine, "tid": TID}));
        assert_eq!(expected_issuer(&p, &c).unwrap(), mine);
        assert_eq!(issuer_matches(&p, &c), Ok(()));
    }

    #[test]
    fn other_providers_need_their_issuer_exactly() {
        let p = provider("https://op.example", false);
        for iss in [json!("https://op.example/"), json!("op.example"), json!(1)] {
            assert!(
                issuer_matches(&p, &claims(json!({"iss": iss}))).is_err(),
                "{iss}"
            );
        }
        assert!(issuer_matches(&p, &claims(json!({}))).is_err());
        // `tid` means nothing outside Entra's multi-tenant issuers.
        let c = claims(json!({"iss": "https://op.example", "tid": TID}));
        assert_eq!(expected_issuer(&p, &c).unwrap(), "https://op.example");
        assert_eq!(issuer_matches(&p, &c), Ok(()));
        let single = provider(
            &format!("https://login.microsoftonline.com/{TID}/v2.0"),
            false,
        );
        let other = claims(
            json!({"iss": "https://login.microsoftonline.com/0000040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            "tid": "0000040d-6c67-4c5b-b112-36a304b66dad"}),
        );
        assert!(issuer_matches(&single, &other).is_err());
    }

    #[test]
    fn google_tokens_may_carry_the_bare_issuer_and_no_one_elses_may() {
        let g = provider(GOOGLE_ISSUER, false);
        for iss in ["accounts.google.com", "https://accounts.google.com"] {
            assert_eq!(issuer_matches(&g, &claims(json!({"iss": iss}))), Ok(()));
        }
        assert!(issuer_matches(&g, &claims(json!({"iss": "http://accounts.google.com"}))).is_err());
        let other = provider("https://op.example", false);
        assert!(issuer_matches(&other, &claims(json!({"iss": "accounts.google.com"}))).is_err());
    }

    #[test]
    fn a_hosted_domain_admits_only_its_accounts() {
        let d = Some("example.com");
        for c in [
            json!({}),
            json!({"hd": "other.example"}),
            json!({"hd": "example.com.evil"}),
            json!({"hd": ["example.com"]}),
            json!({"hd": null}),
        ] {
            assert!(!hd_allows(d, &claims(c.clone())), "{c}");
        }
        assert!(hd_allows(d, &claims(json!({"hd": "example.com"}))));
        assert!(hd_allows(d, &claims(json!({"hd": "Example.COM"}))));
        assert!(hd_allows(None, &claims(json!({}))));
        assert!(hd_allows(None, &claims(json!({"hd": "any.example"}))));
    }

    #[test]
    fn entra_email_is_never_trusted() {
        let verified = claims(json!({"email": "a@example.com", "email_verified": true}));
        for issuer in [
            "https://login.microsoftonline.com/common/v2.0",
            "https://login.microsoftonline.com/9122040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        ] {
            for trust in [true, false] {
                match email_is_trustworthy(&provider(issuer, trust), &verified) {
                    EmailTrust::Untrusted(why) => assert!(why.contains("Entra"), "{why}"),
                    EmailTrust::Trusted => panic!("{issuer} trusted"),
                }
            }
        }
    }

    #[test]
    fn email_is_trusted_only_with_trust_email_and_the_boolean_true() {
        let untrusted = provider("https://op.example", false);
        let verified = claims(json!({"email": "a@example.com", "email_verified": true}));
        assert_eq!(
            email_is_trustworthy(&untrusted, &verified),
            EmailTrust::Untrusted("the provider was added without --trust-email")
        );
        let trusted = provider("https://op.example", true);
        for c in [
            json!({"email": "a@example.com", "email_verified": "true"}),
            json!({"email": "a@example.com", "email_verified": 1}),
            json!({"email": "a@example.com", "email_verified": false}),
            json!({"email": "a@example.com"}),
        ] {
            assert_eq!(
                email_is_trustworthy(&trusted, &claims(c)),
                EmailTrust::Untrusted("email_verified is not the boolean true")
            );
        }
        assert_eq!(
            email_is_trustworthy(&trusted, &claims(json!({"email_verified": true}))),
            EmailTrust::Untrusted("there is no email claim")
        );
        assert_eq!(
            email_is_trustworthy(&trusted, &verified),
            EmailTrust::Trusted
        );
        assert_eq!(
            email_is_trustworthy(&provider(GOOGLE_ISSUER, true), &verified),
            EmailTrust::Trusted
        );
    }
}
