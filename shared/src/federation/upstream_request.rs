//! The authentication request sent to an upstream OpenID Provider (OpenID
//! Connect Core 1.0 §3.1.2.1): the authorization code flow, always with
//! `state` (RFC 6749 §10.12), `nonce` (Core §3.1.2.1) and PKCE S256
//! (RFC 7636 §4.2, §4.3; RFC 9700 §2.1.1), to the provider's own redirect URI
//! (RFC 9700 §4.4.2).
//!
//! What the downstream request asked of the authentication is passed on:
//! `prompt=login` (the user must authenticate again, at the upstream too, or the
//! fresh sign-in asked for would only be a fresh redirect) and `max_age` (the
//! ID token's `auth_time` is then checked against it, Core §3.1.3.7 step 13).
//! The downstream `login_hint` is not: it names an account here, which the
//! provider need not learn. `prompt=none` is never sent: a downstream `prompt=none` is answered from the
//! downstream session alone and never reaches here
//! ([`crate::domain::reauthentication`]).

use crate::domain::provider::Provider;
use ring::digest::{SHA256, digest};

/// What one upstream request carries besides the provider's registration.
pub struct UpstreamRequest<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    /// The downstream request had `prompt=login`.
    pub prompt_login: bool,
    /// The downstream request's `max_age`.
    pub max_age: Option<u64>,
}

/// The S256 code challenge of `verifier` (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest(&SHA256, verifier.as_bytes()).as_ref())
}

/// The URL the browser is sent to: the provider's authorization endpoint with
/// the request's parameters added to any query it has (RFC 6749 §3.1).
pub fn authorization_url(provider: &Provider, r: &UpstreamRequest<'_>) -> Result<String, String> {
    let mut url = url::Url::parse(&provider.metadata.authorization_endpoint)
        .map_err(|e| format!("the provider's authorization endpoint is not a URL: {e}"))?;
    let challenge = s256_challenge(r.code_verifier);
    let max_age = r.max_age.map(|m| m.to_string());
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", r.redirect_uri)
            .append_pair("scope", &provider.scope)
            .append_pair("state", r.state)
            .append_pair("nonce", r.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if r.prompt_login {
            q.append_pair("prompt", "login");
        }
        if let Some(m) = &max_age {
            q.append_pair("max_age", m);
        }
        // Google Workspace: `hd` limits the account chooser to the domain
        // (the ID token's `hd` is still checked, `provider_quirks::hd_allows`).
        if let Some(hd) = &provider.hosted_domain {
            q.append_pair("hd", hd);
        }
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::provider::{ProviderMetadata, UpstreamAuthMethod};
    use std::collections::HashMap;

    fn provider() -> Provider {
        Provider {
            provider_id: "idp".into(),
            display_name: "IdP".into(),
            issuer: "https://idp.example".into(),
            client_id: "gatehouse-client".into(),
            scope: "openid email profile".into(),
            trust_email: false,
            hosted_domain: None,
            metadata: ProviderMetadata {
                authorization_endpoint: "https://idp.example/auth?tenant=x".into(),
                token_endpoint: "https://idp.example/token".into(),
                userinfo_endpoint: None,
                jwks_uri: "https://idp.example/jwks".into(),
                auth_method: UpstreamAuthMethod::ClientSecretBasic,
                iss_parameter_supported: true,
                id_token_signing_algs: vec!["RS256".into()],
            },
            created_at: 0,
        }
    }

    fn request(prompt_login: bool, max_age: Option<u64>) -> UpstreamRequest<'static> {
        UpstreamRequest {
            redirect_uri: "https://auth.example/federation/idp/callback",
            state: "the-state",
            nonce: "the-nonce",
            code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            prompt_login,
            max_age,
        }
    }

    fn params(url: &str) -> HashMap<String, String> {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect()
    }

    #[test]
    fn the_request_carries_state_nonce_and_an_s256_challenge() {
        let url = authorization_url(&provider(), &request(false, None)).unwrap();
        let p = params(&url);
        assert_eq!(p["response_type"], "code");
        assert_eq!(p["client_id"], "gatehouse-client");
        assert_eq!(
            p["redirect_uri"],
            "https://auth.example/federation/idp/callback"
        );
        assert_eq!(p["scope"], "openid email profile");
        assert_eq!(p["state"], "the-state");
        assert_eq!(p["nonce"], "the-nonce");
        assert_eq!(p["code_challenge_method"], "S256");
        // RFC 7636 Appendix B.
        assert_eq!(
            p["code_challenge"],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(p["tenant"], "x", "the endpoint's own query is kept");
        assert!(!p.contains_key("prompt"));
        assert!(!p.contains_key("max_age"));
        assert!(!p.contains_key("hd"));
    }

    #[test]
    fn prompt_login_and_max_age_are_passed_on() {
        let p = params(&authorization_url(&provider(), &request(true, Some(0))).unwrap());
        assert_eq!(p["prompt"], "login");
        assert_eq!(p["max_age"], "0");
    }

    #[test]
    fn a_hosted_domain_is_sent_as_hd() {
        let mut prov = provider();
        prov.hosted_domain = Some("example.com".into());
        let p = params(&authorization_url(&prov, &request(false, None)).unwrap());
        assert_eq!(p["hd"], "example.com");
    }
}
