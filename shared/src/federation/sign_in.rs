//! Sign-in through an upstream OpenID Provider, below HTTP: the two halves of
//! the authorization code flow in which this server is the relying party
//! (OpenID Connect Core 1.0 §3.1).
//!
//! [`start`] makes the upstream authentication request: a fresh `state`,
//! `nonce` and PKCE verifier, kept in an [`UpstreamState`] record under the
//! hash of `state` with the hash of the browser's federation cookie, the
//! provider and the downstream `/authorize` request (RFC 6749 §10.12; RFC 9700
//! §2.1, §4.4, §4.7).
//!
//! [`callback`] answers the provider's redirect to its own redirect URI, in
//! this order, and nothing after a failed step runs:
//!
//! 1. `state` present, and its record taken: one conditional delete, so a
//!    replay finds nothing (single use enforced by the database).
//! 2. The record matches the callback: the provider in the path (a response
//!    at another provider's callback is a mix-up, RFC 9700 §4.4.2), this
//!    browser's cookie, not expired ([`crate::domain::upstream_state::matches`]).
//!    Steps 1 and 2 failing is a [`Refusal`]: an error page, since the browser
//!    may not be the one whose request the record holds.
//! 3. `iss` of the response (RFC 9207 §2.4): required when the provider's
//!    metadata says it sends one, compared exactly whenever present.
//! 4. An `error` of the provider (Core §3.1.2.6) ends here.
//! 5. The code is exchanged with the PKCE verifier and the provider's client
//!    authentication method ([`code_exchange`]).
//! 6. The ID token is validated ([`upstream_id_token`], through the JWKS
//!    cache), with the provider's quirks (the Entra tenant's issuer, Google's
//!    `hd`: [`provider_quirks`]).
//! 7. With a UserInfo endpoint and an access token, UserInfo is read and its
//!    `sub` must be the ID token's (Core §5.3.2); it fills profile claims the
//!    ID token lacks.
//!
//! From step 3 on, a failure is an [`Upstream`] failure: the flow resumes the
//! downstream request only to answer its client with an error. The upstream
//! tokens are dropped when this returns: nothing of them is kept.

use crate::app::{App, now};
use crate::domain::provider::Provider;
use crate::domain::provider_quirks::{self, EmailTrust};
use crate::domain::upstream_state::{self, Mismatch, UPSTREAM_STATE_TTL_SECS, UpstreamState};
use crate::federation::code_exchange::{self, CodeExchange, ExchangeError};
use crate::federation::jwks_cache::CachedValidationError;
use crate::federation::pending_link::{PENDING_LINK_TTL_SECS, PendingLink};
use crate::federation::upstream_id_token::{
    DEFAULT_SKEW_SECONDS, UpstreamAlg, UpstreamCheck, UpstreamClaims,
};
use crate::federation::upstream_request::{self, UpstreamRequest};
use crate::federation::userinfo_fetch;
use crate::paths::federation_redirect_uri;
use crate::secret::{SecretHash, random_id, random_token};
use crate::store::{ProviderStore, StoreError, UpstreamStateStore};
use serde_json::{Map, Value};

/// What the downstream request asks of the upstream authentication.
#[derive(Clone, Copy, Debug, Default)]
pub struct Forwarded {
    pub prompt_login: bool,
    pub max_age: Option<u64>,
}

/// An upstream request made: where to send the browser, and the federation
/// cookie's value (the browser's own, when it had a well-formed one).
pub struct Started {
    pub location: String,
    pub browser_cookie: String,
}

/// A federation cookie value worth keeping: what [`random_id`] makes.
fn usable_cookie(value: Option<&str>) -> Option<&str> {
    value.filter(|v| {
        (16..=64).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Starts the upstream flow for `provider`, keeping `downstream_request` (the
/// `/authorize` query string) to resume at the callback.
pub async fn start(
    app: &App,
    provider: &Provider,
    downstream_request: &str,
    browser_cookie: Option<&str>,
    forwarded: Forwarded,
) -> Result<Started, StoreError> {
    let browser = usable_cookie(browser_cookie)
        .map(str::to_owned)
        .unwrap_or_else(random_id);
    let state = random_token();
    let nonce = random_token();
    let verifier = random_token();
    let t = now();
    let record = UpstreamState {
        state_hash: state.hash(),
        provider_id: provider.provider_id.clone(),
        browser_hash: SecretHash::of(&browser),
        nonce: nonce.clone(),
        pkce_verifier: verifier.clone(),
        downstream_request: downstream_request.to_owned(),
        created_at: t,
        expires_at: t + UPSTREAM_STATE_TTL_SECS,
    };
    let redirect_uri = federation_redirect_uri(&app.config.issuer, &provider.provider_id);
    let location = upstream_request::authorization_url(
        provider,
        &UpstreamRequest {
            redirect_uri: &redirect_uri,
            state: state.expose(),
            nonce: nonce.expose(),
            code_verifier: verifier.expose(),
            prompt_login: forwarded.prompt_login,
            max_age: forwarded.max_age,
        },
    )
    .map_err(StoreError::Corrupt)?;
    app.store.put_state(&record).await?;
    tracing::info!(provider_id = %provider.provider_id, "upstream sign-in started");
    Ok(Started {
        location,
        browser_cookie: browser,
    })
}

/// The parameters of the provider's redirect (Core §3.1.2.5, §3.1.2.6; RFC 9207).
#[derive(Clone, Debug, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// A callback that cannot be tied to a request of this browser: an error page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    UnknownProvider,
    MissingState,
    /// No record: replayed, never issued, or expired and swept.
    UnknownState,
    Mismatch(Mismatch),
}

impl Refusal {
    /// The sentence shown on the page (nothing from the request).
    pub fn message(&self) -> &'static str {
        match self {
            Self::UnknownProvider => "This sign-in provider is not configured.",
            Self::MissingState => "The sign-in response is missing its state.",
            Self::UnknownState => {
                "This sign-in response was already used or has expired. Return to the application and start again."
            }
            Self::Mismatch(Mismatch::OtherProvider) => {
                "This sign-in response came back to another provider's address."
            }
            Self::Mismatch(Mismatch::OtherBrowser) => {
                "This sign-in was started in another browser. Return to the application and start again."
            }
            Self::Mismatch(Mismatch::Expired) => {
                "This sign-in took too long. Return to the application and start again."
            }
        }
    }
}

/// Why a callback tied to a request did not sign anyone in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// The provider answered an error (Core §3.1.2.6), its code as sent.
    Error(String),
    /// The response or a token failed a check; the cause is for the log only.
    Invalid(String),
    /// The provider could not be reached or failed.
    Unavailable(String),
}

/// A callback tied to its request: the downstream request to resume, and what
/// became of the upstream sign-in.
pub struct Resumed {
    pub downstream_request: String,
    /// When the upstream request was made.
    pub started_at: u64,
    pub result: Result<PendingLink, Upstream>,
}

/// The provider's redirect to `/federation/{provider_id}/callback`; see the
/// module doc for the steps.
pub async fn callback(
    app: &App,
    provider_id: &str,
    params: &CallbackParams,
    browser_cookie: Option<&str>,
) -> Result<Result<Resumed, Refusal>, StoreError> {
    let Some(provider) = app.store.get_provider(provider_id).await? else {
        return Ok(Err(Refusal::UnknownProvider));
    };
    let Some(state) = params.state.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(Err(Refusal::MissingState));
    };
    let t = now();
    let Some(record) = app
        .store
        .take_state(SecretHash::of(state).as_str(), t)
        .await?
    else {
        return Ok(Err(Refusal::UnknownState));
    };
    if let Err(m) = upstream_state::matches(&record, provider_id, browser_cookie, t) {
        tracing::warn!(provider_id, reason = %m, "upstream callback refused");
        return Ok(Err(Refusal::Mismatch(m)));
    }
    let result = verify(
        app,
        &provider,
        &record,
        params,
        browser_cookie.unwrap_or(""),
        t,
    )
    .await;
    if let Err(e) = &result {
        tracing::warn!(provider_id, failure = ?e, "upstream sign-in failed");
    }
    Ok(Ok(Resumed {
        downstream_request: record.downstream_request,
        started_at: record.created_at,
        result,
    }))
}

/// Steps 3 to 7 of the module doc.
async fn verify(
    app: &App,
    provider: &Provider,
    record: &UpstreamState,
    params: &CallbackParams,
    browser_cookie: &str,
    t: u64,
) -> Result<PendingLink, Upstream> {
    match params.iss.as_deref() {
        Some(iss) if iss != provider.issuer => {
            return Err(Upstream::Invalid(
                "the response's iss is not the provider's issuer (RFC 9207 §2.4: a mix-up)".into(),
            ));
        }
        None if provider.metadata.iss_parameter_supported => {
            return Err(Upstream::Invalid(
                "the response has no iss, which the provider's metadata promises (RFC 9207 §2.4)"
                    .into(),
            ));
        }
        _ => {}
    }
    if let Some(error) = &params.error {
        return Err(Upstream::Error(error_code(error)));
    }
    let Some(code) = params.code.as_deref().filter(|c| !c.is_empty()) else {
        return Err(Upstream::Invalid(
            "the response has neither code nor error".into(),
        ));
    };
    let secret = match app.store.provider_secret(&provider.provider_id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(Upstream::Unavailable(
                "the provider's client secret is missing".into(),
            ));
        }
        Err(e) => return Err(Upstream::Unavailable(e.to_string())),
    };
    let http = app.outbound_http().map_err(Upstream::Unavailable)?;
    let redirect_uri = federation_redirect_uri(&app.config.issuer, &provider.provider_id);
    let tokens = code_exchange::exchange(
        &http,
        &CodeExchange {
            token_endpoint: &provider.metadata.token_endpoint,
            auth_method: provider.metadata.auth_method,
            client_id: &provider.client_id,
            client_secret: &secret,
            code,
            redirect_uri: &redirect_uri,
            code_verifier: &record.pkce_verifier,
        },
    )
    .await
    .map_err(|e| match e {
        // The provider refused the code, or answered something that is no
        // token answer: not a matter of trying again.
        ExchangeError::Refused { .. } | ExchangeError::Malformed { .. } => {
            Upstream::Invalid(format!("the code exchange failed: {e}"))
        }
        _ => Upstream::Unavailable(format!("the code exchange failed: {e}")),
    })?;
    let check = UpstreamCheck {
        issuer: expected_issuer(provider, &tokens.id_token)?,
        client_id: provider.client_id.clone(),
        allowed_algs: allowed_algs(provider),
        nonce: record.nonce.expose().to_owned(),
        max_age: max_age_of(&record.downstream_request),
        skew: DEFAULT_SKEW_SECONDS,
    };
    let jwks = app.jwks_cache().map_err(Upstream::Unavailable)?;
    let claims = jwks
        .validate(&provider.metadata.jwks_uri, &check, &tokens.id_token, t)
        .await
        .map_err(|e| match e {
            CachedValidationError::Jwks(e) => Upstream::Unavailable(e.to_string()),
            CachedValidationError::Token(e) => Upstream::Invalid(e.to_string()),
        })?;
    let mut map = claims_map(&claims);
    if !provider_quirks::hd_allows(provider.hosted_domain.as_deref(), &map) {
        return Err(Upstream::Invalid(
            "the ID token's hd is not the provider's hosted domain".into(),
        ));
    }
    if let (Some(endpoint), Some(access_token)) =
        (&provider.metadata.userinfo_endpoint, &tokens.access_token)
    {
        let info = userinfo_fetch::fetch(&http, endpoint, access_token, &claims.sub)
            .await
            .map_err(|e| Upstream::Invalid(format!("UserInfo: {e}")))?;
        for name in PROFILE_CLAIMS {
            if !map.contains_key(name)
                && let Some(v) = info.get(name)
            {
                map.insert(name.to_owned(), v.clone());
            }
        }
    }
    let text = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
    let email_trusted = matches!(
        provider_quirks::email_is_trustworthy(provider, &map),
        EmailTrust::Trusted
    );
    Ok(PendingLink {
        provider_id: provider.provider_id.clone(),
        issuer: claims.iss.clone(),
        subject: claims.sub.clone(),
        email: text("email"),
        email_trusted,
        name: text("name"),
        given_name: text("given_name"),
        family_name: text("family_name"),
        preferred_username: text("preferred_username"),
        // Core §2: the time the End-User authenticated, at the provider.
        auth_time: claims.auth_time.unwrap_or(t).min(t),
        browser_hash: SecretHash::of(browser_cookie).as_str().to_owned(),
        expires_at: t + PENDING_LINK_TTL_SECS,
    })
}

/// The profile claims read from UserInfo when the ID token has none (Core §5.1).
const PROFILE_CLAIMS: [&str; 6] = [
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
];

/// An `error` code as logged and mapped: RFC 6749 §A.7's characters, at most 64.
fn error_code(error: &str) -> String {
    error
        .chars()
        .filter(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
        .take(64)
        .collect()
}

/// The issuer the ID token must name: the provider's, or for an Entra
/// multi-tenant provider its tenant's, read from the (not yet verified) token
/// and then required of the verified one, so a token of another tenant's
/// issuer still has to carry that tenant's `tid` ([`provider_quirks`]).
fn expected_issuer(provider: &Provider, token: &str) -> Result<String, Upstream> {
    let unverified = unverified_claims(token).unwrap_or_default();
    if provider_quirks::issuer_matches(provider, &unverified).is_ok()
        && let Some(iss) = unverified.get("iss").and_then(Value::as_str)
    {
        return Ok(iss.to_owned());
    }
    provider_quirks::expected_issuer(provider, &unverified).map_err(Upstream::Invalid)
}

/// A JWS payload's claims, unverified: only to choose what to verify against.
fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The provider's advertised ID token algorithms that are on the allow-list;
/// RS256 when it advertises none (Discovery §3 makes RS256 mandatory).
fn allowed_algs(provider: &Provider) -> Vec<UpstreamAlg> {
    let algs: Vec<UpstreamAlg> = provider
        .metadata
        .id_token_signing_algs
        .iter()
        .filter_map(|a| UpstreamAlg::from_name(a))
        .collect();
    if algs.is_empty() {
        vec![UpstreamAlg::Rs256]
    } else {
        algs
    }
}

/// The downstream request's `max_age`, which was forwarded.
fn max_age_of(downstream_request: &str) -> Option<u64> {
    url::form_urlencoded::parse(downstream_request.as_bytes())
        .find(|(k, _)| k == "max_age")
        .and_then(|(_, v)| v.parse().ok())
}

fn claims_map(c: &UpstreamClaims) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("iss".into(), Value::String(c.iss.clone()));
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), Value::String(v.clone()));
        }
    };
    put("email", &c.email);
    put("name", &c.name);
    put("given_name", &c.given_name);
    put("family_name", &c.family_name);
    put("preferred_username", &c.preferred_username);
    put("hd", &c.hd);
    put("tid", &c.tid);
    if let Some(v) = &c.email_verified {
        m.insert("email_verified".into(), v.clone());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_keep_only_their_characters_and_length() {
        assert_eq!(error_code("access_denied"), "access_denied");
        assert_eq!(error_code("a\"b\\c\nd"), "abcd");
        assert_eq!(error_code(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn only_well_formed_cookies_are_kept() {
        assert_eq!(
            usable_cookie(Some("AAAAAAAAAAAAAAAAAAAAAA")),
            Some("AAAAAAAAAAAAAAAAAAAAAA")
        );
        assert_eq!(usable_cookie(Some("short")), None);
        assert_eq!(usable_cookie(Some("AAAAAAAAAAAAAAAA;AAAAA")), None);
        assert_eq!(usable_cookie(None), None);
    }

    #[test]
    fn max_age_is_read_from_the_downstream_request() {
        assert_eq!(max_age_of("client_id=a&max_age=30"), Some(30));
        assert_eq!(max_age_of("client_id=a"), None);
    }
}
