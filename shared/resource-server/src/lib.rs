//! Protect a Rust API with Gatehouse access tokens.
//!
//! A [`Verifier`] checks the JWT access tokens Gatehouse issues (RFC 9068) against
//! the issuer's published key set (RFC 7517), and answers a refused request the way
//! RFC 6750 §3 says: `401` with a `WWW-Authenticate: Bearer` challenge,
//! `400 invalid_request`, or `403 insufficient_scope`.
//!
//! ```no_run
//! use gatehouse_resource_server::{Settings, Verifier};
//! use lambda_http::{Body, Error, Request, Response, run, service_fn};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     // Once per cold start: the key set is cached inside the verifier.
//!     let verifier = Verifier::new(Settings::new(
//!         std::env::var("GATEHOUSE_ISSUER")?,   // e.g. https://auth.example.com
//!         std::env::var("GATEHOUSE_AUDIENCE")?, // the `aud` your tokens carry
//!     ))?;
//!     run(service_fn(move |req: Request| {
//!         let verifier = verifier.clone();
//!         async move { list_photos(&verifier, req).await }
//!     }))
//!     .await
//! }
//!
//! async fn list_photos(verifier: &Verifier, req: Request) -> Result<Response<Body>, Error> {
//!     let claims = match verifier.authorize(req.headers(), &["photos:read"]).await {
//!         Ok(claims) => claims,
//!         // 400, 401, 403 or 503 with the right headers and a JSON body. Its
//!         // `Display` (with the private cause) is safe to log: no token in it.
//!         Err(rejection) => {
//!             eprintln!("refused: {rejection}");
//!             return Ok(rejection.into());
//!         }
//!     };
//!     Ok(Response::new(Body::from(format!(
//!         "photos of {} (via client {})",
//!         claims.sub(),
//!         claims.client_id()
//!     ))))
//! }
//! ```
//!
//! What is checked (RFC 9068 §4, RFC 8725):
//!
//! - the header: `typ` is `at+jwt` or `application/at+jwt` (case-insensitive);
//!   `alg` is never `none` nor an HMAC algorithm; there is a `kid`; no `crit`.
//!   `jku`, `jwk`, `x5u` and `x5c` are ignored: keys come only from the configured
//!   JWKS URI.
//! - the key: found by `kid` in the issuer's key set, and the token's `alg` must be
//!   the one algorithm that key is for. The algorithm is taken from the key, never
//!   trusted from the token (so an RSA public key cannot be replayed as an HMAC
//!   secret).
//! - the signature, then the claims: `iss` exactly the issuer, `aud` (a string or an
//!   array) contains the audience, `exp` in the future and `nbf` (if any) in the
//!   past, both with [`Settings::leeway`]; `sub`, `client_id`, `iat` and `jti`
//!   present (RFC 9068 §2.2); `scope`, if present, a space-separated string.
//!
//! Local verification cannot see revocation: a revoked token stays valid here until
//! it expires. Keep access tokens short-lived, or ask the introspection endpoint
//! (RFC 7662) where revocation must take effect at once.
//!
//! TLS for the key set is rustls with the aws-lc-rs provider and the platform's root
//! certificates, the same stack the AWS SDK uses. The JWKS URI must be `https`
//! except on loopback (local development and tests).

mod jwks;
mod rejection;

pub use rejection::{Rejection, RejectionKind};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use jwks::{KeyCache, Lookup};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The longest token accepted: far above any Gatehouse token, far below anything
/// that could cost real work to decode.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The largest [`Settings::leeway`] accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(10 * 60);

/// What a [`Verifier`] accepts, and how it treats the key set.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The issuer, exactly as tokens carry it in `iss` (e.g.
    /// `https://auth.example.com`).
    pub issuer: String,
    /// This API's audience: tokens must carry it in `aud` (RFC 9068 §4).
    pub audience: String,
    /// Where the key set is. Default: `{issuer}/.well-known/jwks.json`. Must be
    /// `https`, or `http` on a loopback host.
    pub jwks_uri: Option<String>,
    /// The `realm` of the `WWW-Authenticate` challenge (RFC 6750 §3). Default: the
    /// audience.
    pub realm: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf` (RFC 7519 §4.1.4, §4.1.5). Default
    /// 5 s, at most 10 minutes; whole seconds (rounded up).
    pub leeway: Duration,
    /// How long a key set is cached when its response has no `Cache-Control:
    /// max-age`. Default 300 s.
    pub jwks_cache_ttl: Duration,
    /// A token with an unknown `kid` causes a refetch of the key set (the issuer
    /// may have rotated its keys), but at most one per this interval, so forged
    /// `kid`s cannot make the verifier hammer the JWKS endpoint. Also the shortest
    /// time a key set is cached. Default 30 s.
    pub min_refetch_interval: Duration,
    /// How long to wait after a failed fetch before trying again; requests that
    /// need the key set meanwhile get 503. Default 5 s.
    pub retry_after_failure: Duration,
    /// The time limit of one key set fetch (connect, TLS, request, body).
    /// Default 5 s.
    pub fetch_timeout: Duration,
}

impl Settings {
    /// Settings for tokens from `issuer` meant for `audience`, with the defaults.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_uri: None,
            realm: None,
            leeway: Duration::from_secs(5),
            jwks_cache_ttl: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(5),
        }
    }

    /// The JWKS URI: the configured one, else `{issuer}/.well-known/jwks.json`.
    pub fn jwks_uri(&self) -> String {
        self.jwks_uri.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/jwks.json",
                self.issuer.trim_end_matches('/')
            )
        })
    }
}

/// Settings a [`Verifier`] cannot work with.
#[derive(Clone, Debug)]
pub struct SettingsError(String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

/// Verifies access tokens and authorizes requests. Build one per process (per
/// Lambda cold start) and share it: clones share the key set cache.
#[derive(Clone)]
pub struct Verifier(Arc<Inner>);

struct Inner {
    issuer: String,
    audience: String,
    realm: Arc<str>,
    leeway_secs: u64,
    keys: KeyCache,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.0.issuer)
            .field("audience", &self.0.audience)
            .field("realm", &self.0.realm)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Checks `settings` and builds the HTTP client for the key set. Nothing is
    /// fetched until the first token needs a key.
    pub fn new(settings: Settings) -> Result<Self, SettingsError> {
        if settings.issuer.is_empty() {
            return Err(SettingsError("the issuer is empty".into()));
        }
        if settings.audience.is_empty() {
            return Err(SettingsError("the audience is empty".into()));
        }
        if settings.leeway > MAX_LEEWAY {
            return Err(SettingsError(format!(
                "a leeway of more than {} s would defeat exp and nbf",
                MAX_LEEWAY.as_secs()
            )));
        }
        let uri = settings.jwks_uri();
        let (uri, https) = check_jwks_uri(&uri)?;
        let http = http_client(https, settings.fetch_timeout)?;
        let realm = settings
            .realm
            .clone()
            .unwrap_or_else(|| settings.audience.clone());
        let leeway = settings.leeway;
        Ok(Self(Arc::new(Inner {
            issuer: settings.issuer,
            audience: settings.audience,
            realm: Arc::from(realm),
            leeway_secs: leeway.as_secs() + u64::from(leeway.subsec_nanos() > 0),
            keys: KeyCache::new(
                uri,
                http,
                settings.fetch_timeout,
                settings.jwks_cache_ttl,
                settings.min_refetch_interval,
                settings.retry_after_failure,
            ),
        })))
    }

    /// Authorizes a request: takes the token from `Authorization: Bearer`
    /// (RFC 6750 §2.1), verifies it ([`Verifier::verify`]) and checks that it
    /// grants every scope in `required_scopes` (RFC 6750 §3.1 `insufficient_scope`
    /// otherwise).
    ///
    /// - no `Authorization` header, or another scheme than Bearer: 401 with a bare
    ///   `Bearer realm="..."` challenge, no error code (RFC 6750 §3.1);
    /// - more than one `Authorization` header, or a malformed Bearer one: 400
    ///   `invalid_request`;
    /// - a token that does not verify: 401 `invalid_token`;
    /// - a missing scope: 403 `insufficient_scope` with `scope="<required scopes>"`;
    /// - a key set that cannot be fetched: 503.
    ///
    /// Only the header is read: the form-body and query methods (RFC 6750 §2.2,
    /// §2.3) are not supported.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        required_scopes: &[&str],
    ) -> Result<Claims, Rejection> {
        let token = bearer_token(headers).map_err(|r| r.in_realm(&self.0.realm))?;
        let claims = self.verify(token).await?;
        if !claims.has_scopes(required_scopes) {
            return Err(Rejection::insufficient_scope(required_scopes).in_realm(&self.0.realm));
        }
        Ok(claims)
    }

    /// Verifies a JWT access token (RFC 9068 §4) and returns its claims. Every
    /// failure is `invalid_token` (401), except a key set that cannot be fetched
    /// ([`RejectionKind::JwksUnavailable`], 503).
    pub async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        self.verify_token(token)
            .await
            .map_err(|r| r.in_realm(&self.0.realm))
    }

    async fn verify_token(&self, token: &str) -> Result<Claims, Rejection> {
        let invalid = Rejection::invalid_token;
        // Everything that can be refused without a key is, before any fetch.
        let JoseHeader { alg, kid } = jose_header(token)?;
        let key = match self.0.keys.key(&kid).await {
            Ok(key) => key,
            Err(Lookup::Unknown) => {
                return Err(invalid(
                    "the access token is signed by a key the issuer does not publish",
                ));
            }
            Err(Lookup::Unavailable(r)) => return Err(r),
        };
        // RFC 8725 §3.1: the algorithm is the key's, not the token's choice.
        if Algorithm::from_str(&alg).ok() != Some(key.alg) {
            return Err(invalid(
                "the access token's algorithm is not the one its key is for",
            ));
        }

        let mut validation = Validation::new(key.alg);
        validation.leeway = self.0.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.0.issuer]);
        validation.set_audience(&[&self.0.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map_err(|e| invalid(describe(e.kind())))?
            .claims;
        Claims::from_value(claims, &self.0.issuer)
    }
}

/// What the JOSE header says about the signature.
struct JoseHeader {
    alg: String,
    kid: String,
}

/// Reads the JOSE header of a compact JWS (RFC 7515 §7.1) and refuses what RFC 9068
/// §4 and RFC 8725 §3.1 rule out, before any key is looked up.
fn jose_header(token: &str) -> Result<JoseHeader, Rejection> {
    let invalid = Rejection::invalid_token;
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("the access token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(
            "the access token is not a signed JWT (RFC 7515 compact serialization)",
        ));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
        .ok_or_else(|| invalid("the access token's header is malformed"))?;

    // RFC 9068 §4: "Resource servers MUST verify that the typ header value is
    // "at+jwt" or "application/at+jwt" and reject tokens carrying any other
    // value." Media types compare case-insensitively (RFC 7515 §4.1.9).
    let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        return Err(invalid(
            "the token is not a JWT access token (typ must be at+jwt)",
        ));
    }
    // RFC 7515 §4.1.11: extensions marked critical must be understood; none is.
    if header.contains_key("crit") {
        return Err(invalid(
            "the access token's header has critical extensions this server does not support",
        ));
    }
    // RFC 9068 §4 and RFC 8725 §3.1: never `none`; and never an HMAC algorithm,
    // whose "secret" would be the issuer's public key.
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the access token's header has no alg"))?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(invalid("unsigned access tokens (alg none) are refused"));
    }
    if alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) {
        return Err(invalid(
            "symmetric signature algorithms (HS*) are refused; tokens are signed with the issuer's private key",
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the access token's header names no key (kid)"))?;
    Ok(JoseHeader {
        alg: alg.to_owned(),
        kid: kid.to_owned(),
    })
}

/// The public description of a `jsonwebtoken` failure. Never the library's own
/// message, which may quote parts of the token.
fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the access token has expired",
        ErrorKind::ImmatureSignature => "the access token is not valid yet (nbf)",
        ErrorKind::InvalidIssuer => "the access token was issued by another issuer",
        ErrorKind::InvalidAudience => "the access token is meant for another audience",
        ErrorKind::InvalidSignature => "the access token's signature does not verify",
        ErrorKind::InvalidAlgorithm => "the access token's algorithm is not the one its key is for",
        ErrorKind::MissingRequiredClaim(claim) => missing_claim(claim),
        ErrorKind::InvalidClaimFormat(_) => "the access token's exp or nbf claim is malformed",
        _ => "the access token is malformed",
    }
}

fn missing_claim(claim: &str) -> &'static str {
    match claim {
        "exp" => "the access token has no exp claim",
        "iss" => "the access token has no iss claim",
        "aud" => "the access token has no aud claim",
        "sub" => "the access token has no sub claim",
        "client_id" => "the access token has no client_id claim",
        "iat" => "the access token has no iat claim",
        "jti" => "the access token has no jti claim",
        _ => "the access token lacks a required claim",
    }
}

/// The verified claims of an access token (RFC 9068 §2.2).
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    sub: String,
    client_id: String,
    scopes: BTreeSet<String>,
    exp: u64,
    iat: u64,
    jti: String,
    raw: Value,
}

impl Claims {
    /// Reads the RFC 9068 §2.2 claims; `iss` must be exactly `issuer` (a JWT
    /// library may accept an array).
    fn from_value(raw: Value, issuer: &str) -> Result<Self, Rejection> {
        let invalid = Rejection::invalid_token;
        let string = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| raw.get(name).and_then(numeric_date);
        if raw.get("iss").and_then(Value::as_str) != Some(issuer) {
            return Err(invalid("the access token was issued by another issuer"));
        }
        let sub = string("sub").ok_or_else(|| invalid(missing_claim("sub")))?;
        let client_id = string("client_id").ok_or_else(|| invalid(missing_claim("client_id")))?;
        let jti = string("jti").ok_or_else(|| invalid(missing_claim("jti")))?;
        let iat = number("iat").ok_or_else(|| invalid(missing_claim("iat")))?;
        let exp = number("exp").ok_or_else(|| invalid(missing_claim("exp")))?;
        // RFC 9068 §2.2.3 and RFC 8693 §4.2: space-separated, optional.
        let scopes = match raw.get("scope") {
            None => BTreeSet::new(),
            Some(Value::String(s)) => s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(_) => return Err(invalid("the access token's scope claim is not a string")),
        };
        Ok(Self {
            sub,
            client_id,
            scopes,
            exp,
            iat,
            jti,
            raw,
        })
    }

    /// The subject: the resource owner, or the client itself for client
    /// credentials (RFC 9068 §2.2).
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The client the token was issued to.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The granted scopes (RFC 6749 §3.3).
    pub fn scopes(&self) -> &BTreeSet<String> {
        &self.scopes
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Whether every one of `scopes` is granted.
    pub fn has_scopes(&self, scopes: &[&str]) -> bool {
        scopes.iter().all(|s| self.has_scope(s))
    }

    /// Expiry, in seconds since the epoch.
    pub fn exp(&self) -> u64 {
        self.exp
    }

    /// Issue time, in seconds since the epoch.
    pub fn iat(&self) -> u64 {
        self.iat
    }

    /// The token's unique identifier.
    pub fn jti(&self) -> &str {
        &self.jti
    }

    /// Every claim, as the token carries them.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn into_raw(self) -> Value {
        self.raw
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly fractional.
fn numeric_date(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// The token of the request's `Authorization: Bearer` header (RFC 6750 §2.1):
///
/// ```text
/// credentials = "Bearer" 1*SP b64token
/// b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
/// ```
///
/// The scheme is case-insensitive (RFC 9110 §11.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Rejection::missing_token());
    };
    if values.next().is_some() {
        return Err(Rejection::invalid_request(
            "the request has more than one Authorization header",
        ));
    }
    let malformed =
        || Rejection::invalid_request("the Authorization header is not of the form Bearer <token>");
    let value = value
        .to_str()
        .map_err(|_| malformed())?
        .trim_matches([' ', '\t']);
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, DPoP, ...): the request lacks Bearer credentials,
        // which RFC 6750 §3.1 answers without an error code. Something that is not
        // a scheme at all is malformed.
        return if !scheme.is_empty() && scheme.bytes().all(is_tchar) {
            Err(Rejection::missing_token())
        } else {
            Err(malformed())
        };
    }
    let token = rest.trim_start_matches(' ');
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if valid { Ok(token) } else { Err(malformed()) }
}

/// `tchar` of RFC 9110 §5.6.2, the characters of an auth-scheme.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `https`, or `http` on a loopback host; returns the URI and whether it is
/// `https`.
fn check_jwks_uri(uri: &str) -> Result<(http::Uri, bool), SettingsError> {
    let parsed: http::Uri = uri
        .parse()
        .map_err(|_| SettingsError(format!("the JWKS URI `{uri}` is not a URI")))?;
    let host = parsed
        .host()
        .ok_or_else(|| SettingsError(format!("the JWKS URI `{uri}` has no host")))?;
    let https = match parsed.scheme_str() {
        Some("https") => true,
        Some("http") if is_loopback(host) => false,
        _ => {
            return Err(SettingsError(format!(
                "the JWKS URI `{uri}` must be https (http only on loopback)"
            )));
        }
    };
    Ok((parsed, https))
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The HTTP client for the key set: rustls with the aws-lc-rs provider and the
/// platform's roots, HTTP/1.1, `https` only unless the URI is loopback `http`. It
/// follows no redirects: the key set comes from where it was configured.
fn http_client(https: bool, timeout: Duration) -> Result<jwks::HttpClient, SettingsError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    if https && added == 0 {
        return Err(SettingsError(
            "no root certificates were found on this system, so the https JWKS URI cannot be \
             verified (install ca-certificates, or set SSL_CERT_FILE)"
                .into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SettingsError(format!("TLS configuration failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(timeout));
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
    let builder = if https {
        builder.https_only()
    } else {
        builder.https_or_http()
    };
    let connector = builder.enable_http1().wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_bearer_token_is_read_per_rfc_6750_section_2_1() {
        let ok = [
            ("Bearer abc.def.ghi", "abc.def.ghi"),
            ("bearer abc", "abc"),
            ("BEARER   a-b_c~d+e/f==", "a-b_c~d+e/f=="),
            ("Bearer abc ", "abc"),
        ];
        for (value, token) in ok {
            assert_eq!(
                bearer_token(&headers(&[value])).unwrap(),
                token,
                "{value:?}"
            );
        }
        let cases = [
            (&[][..], RejectionKind::MissingToken),
            (&["Basic dXNlcjpwYXNz"][..], RejectionKind::MissingToken),
            (&["DPoP abc"][..], RejectionKind::MissingToken),
            (&["Bearertoken"][..], RejectionKind::MissingToken),
            (&["Bearer"][..], RejectionKind::InvalidRequest),
            (&["Bearer "][..], RejectionKind::InvalidRequest),
            (&["Bearer a b"][..], RejectionKind::InvalidRequest),
            (&["Bearer a,b"][..], RejectionKind::InvalidRequest),
            (&["Bearer ==="][..], RejectionKind::InvalidRequest),
            (&["Bearer a=b"][..], RejectionKind::InvalidRequest),
            (&["Bearer\tabc"][..], RejectionKind::InvalidRequest),
            (&[""][..], RejectionKind::InvalidRequest),
            (&["Bearer a", "Bearer b"][..], RejectionKind::InvalidRequest),
        ];
        for (values, kind) in cases {
            let r = bearer_token(&headers(values)).unwrap_err();
            assert_eq!(r.kind(), kind, "{values:?}");
        }
    }

    #[test]
    fn the_jwks_uri_must_be_https_unless_on_loopback() {
        let s = Settings::new("https://auth.example.com/", "api");
        assert_eq!(
            s.jwks_uri(),
            "https://auth.example.com/.well-known/jwks.json"
        );
        assert!(check_jwks_uri("https://auth.example.com/jwks").unwrap().1);
        for ok in [
            "http://127.0.0.1:8080/jwks",
            "http://localhost/jwks",
            "http://[::1]:9/jwks",
        ] {
            assert!(!check_jwks_uri(ok).unwrap().1, "{ok}");
        }
        for bad in [
            "http://auth.example.com/jwks",
            "ftp://127.0.0.1/jwks",
            "/jwks",
            "not a uri",
        ] {
            assert!(check_jwks_uri(bad).is_err(), "{bad}");
        }
    }

    fn header_of(header: serde_json::Value) -> Result<JoseHeader, Rejection> {
        jose_header(&format!(
            "{}.e30.sig",
            URL_SAFE_NO_PAD.encode(header.to_string())
        ))
    }

    #[test]
    fn the_jose_header_is_checked_before_any_key_is_looked_up() {
        let ok = header_of(serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": "k"}));
        let ok = ok.unwrap();
        assert_eq!((ok.alg.as_str(), ok.kid.as_str()), ("RS256", "k"));
        let refused = [
            serde_json::json!({"alg": "RS256", "kid": "k"}),
            serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "k"}),
            serde_json::json!({"alg": "RS256", "typ": "at+jwt"}),
            serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": 7}),
            serde_json::json!({"typ": "at+jwt", "kid": "k"}),
            serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": "k"}),
            serde_json::json!({"alg": "hs256", "typ": "at+jwt", "kid": "k"}),
            serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": "k", "crit": ["exp"]}),
            // Multibyte characters where a careless slice would panic.
            serde_json::json!({"alg": "aé", "typ": "at+jwt"}),
            serde_json::json!({"alg": "é", "typ": "at+jwt"}),
        ];
        for h in refused {
            let r = header_of(h.clone()).err().unwrap();
            assert_eq!(r.kind(), RejectionKind::InvalidToken, "{h}");
        }
        let long = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(jose_header(&long).is_err());
    }

    #[test]
    fn a_leeway_beyond_ten_minutes_is_refused() {
        let mut s = Settings::new("http://127.0.0.1:1", "api");
        s.leeway = Duration::MAX;
        assert!(Verifier::new(s).is_err());
    }

    #[test]
    fn empty_issuer_or_audience_is_refused() {
        assert!(Verifier::new(Settings::new("", "api")).is_err());
        assert!(Verifier::new(Settings::new("http://127.0.0.1:1", "")).is_err());
    }

    #[test]
    fn scope_is_split_on_spaces_and_may_be_absent() {
        let base = serde_json::json!({
            "iss": "i", "sub": "s", "client_id": "c", "jti": "j", "iat": 1, "exp": 2.5,
        });
        let c = Claims::from_value(base.clone(), "i").unwrap();
        assert!(c.scopes().is_empty());
        assert_eq!(c.exp(), 2);
        let mut v = base.clone();
        v["scope"] = "read  write".into();
        let c = Claims::from_value(v, "i").unwrap();
        assert!(c.has_scopes(&["read", "write"]));
        assert_eq!(c.scopes().len(), 2);
        let mut v = base.clone();
        v["scope"] = serde_json::json!(["read"]);
        assert!(Claims::from_value(v, "i").is_err());
        let mut v = base;
        v["iss"] = serde_json::json!(["i"]);
        assert!(Claims::from_value(v, "i").is_err());
    }
}
