//! An ID token from an upstream OpenID Provider, validated as OpenID Connect
//! Core 1.0 §3.1.3.7 (ID Token Validation) says a client validates one received
//! from the token endpoint, with RFC 8725 (JWT Best Current Practices):
//!
//! - the signature, by the key of the upstream's JWKS that the header's `kid`
//!   names (the only key, when the JWKS has one and the header no `kid`), with
//!   that key's algorithm (its JWK `alg`, else its key type's) which must also be
//!   the header's and one of the allow-list ([`UpstreamAlg`]: RS256, ES256).
//!   The algorithm is never the header's choice alone (RFC 8725 §2.1, §3.1):
//!   `alg: none`, unsigned tokens and HMAC algorithms are refused before any
//!   key is used, so a token "signed" with an RSA public key as an HMAC secret
//!   never reaches a verifier (Core §3.1.3.7 step 6, 7). A `crit` header is
//!   refused: no extension is understood here (RFC 7515 §4.1.11). A key the
//!   header carries or points to (`jwk`, `jku`, `x5u`, `x5c`) is never used:
//!   the keys are the provider's JWKS only (RFC 8725 §3.10).
//! - `iss` exactly the provider's issuer (step 2); `aud` contains our client id
//!   (step 3); with several audiences `azp` is required, and an `azp` present
//!   must be our client id (steps 4 and 5 of Core 1.0 as first published,
//!   kept although errata set 2 softened them: a token issued to another party
//!   is not ours).
//! - `exp` not passed and `iat` not in the future, each within the allowed
//!   clock skew (steps 9, 10); `nonce` present and equal, in constant time, to
//!   the one sent in the authentication request (step 11, §3.1.2.1; we always
//!   send one).
//! - `sub` present, at most 255 ASCII characters (Core §2).
//! - With `max_age` requested, `auth_time` present and not older than
//!   `max_age` (plus the skew) (step 13, §3.1.2.1).
//!
//! The profile claims are only read here (Core §5.1); `email_verified` is kept
//! raw, so that a caller can require the boolean `true`
//! ([`email_verified_is_true`]) and not a string that looks like it.

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::HashSet;
use subtle::ConstantTimeEq;

/// The longest token read (a header and a few claims; anything longer is not
/// an ID token worth parsing).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The clock skew allowed by default on `exp`, `iat` and `auth_time`.
pub const DEFAULT_SKEW_SECONDS: u64 = 60;

/// The most characters a `sub` may have (Core §2).
pub const MAX_SUB_CHARS: usize = 255;

/// A signature algorithm an upstream ID token may use: asymmetric only, so
/// `none` and the HMAC algorithms cannot even be named (RFC 8725 §3.1, §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpstreamAlg {
    Rs256,
    Es256,
}

impl UpstreamAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }

    /// The algorithm a header's `alg` names, if it is one of ours.
    pub fn from_name(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

/// What a token must satisfy: the provider's registration and the request sent.
#[derive(Clone, Debug)]
pub struct UpstreamCheck {
    /// The provider's issuer identifier, compared exactly.
    pub issuer: String,
    /// Our client id at the provider.
    pub client_id: String,
    /// The algorithms accepted; empty accepts nothing.
    pub allowed_algs: Vec<UpstreamAlg>,
    /// The `nonce` sent in the authentication request.
    pub nonce: String,
    /// The `max_age` sent, if any.
    pub max_age: Option<u64>,
    /// Clock skew allowed, in seconds ([`DEFAULT_SKEW_SECONDS`]).
    pub skew: u64,
}

/// The claims of a validated token.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub azp: Option<String>,
    pub exp: u64,
    pub iat: u64,
    pub auth_time: Option<u64>,
    pub nonce: String,
    pub email: Option<String>,
    /// As sent: only the boolean `true` means verified ([`email_verified_is_true`]).
    pub email_verified: Option<Value>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub preferred_username: Option<String>,
    /// Google's hosted domain.
    pub hd: Option<String>,
    /// Microsoft Entra ID's tenant id.
    pub tid: Option<String>,
    pub amr: Option<Vec<String>>,
}

/// Whether the provider says the email address is verified: the JSON boolean
/// `true` only (Core §5.1), never the string `"true"`.
pub fn email_verified_is_true(claims: &UpstreamClaims) -> bool {
    matches!(claims.email_verified, Some(Value::Bool(true)))
}

/// Why a token was refused. Each message names the header field or claim at
/// fault, never the token or a claim's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamTokenError {
    /// Not a compact JWS of three parts with a JSON header and payload, or too long.
    Malformed(&'static str),
    /// `alg: none`, or no signature.
    Unsigned,
    /// The header's `alg` is not one of the allow-list.
    AlgorithmNotAllowed,
    /// The header has a `crit` parameter.
    CriticalHeader,
    /// The header's `kid` names no key of the JWKS (the caller may refetch once).
    UnknownKey,
    /// No `kid`, and the JWKS has not exactly one key.
    NoKeyId,
    /// The header's `alg` is not the key's algorithm.
    KeyAlgorithmMismatch,
    /// The key is not a signature key of an allowed type.
    UnusableKey,
    /// The signature does not verify.
    BadSignature,
    /// A claim is missing.
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type.
    InvalidClaim(&'static str),
    /// `iss` is not the provider's issuer.
    Issuer,
    /// `aud` does not contain our client id.
    Audience,
    /// Several audiences and no `azp`.
    MissingAuthorizedParty,
    /// `azp` is not our client id.
    AuthorizedParty,
    /// `exp` has passed.
    Expired,
    /// `iat` is in the future.
    IssuedInFuture,
    /// `nonce` is not the one sent.
    Nonce,
    /// `sub` is empty, longer than 255 characters or not ASCII.
    Subject,
    /// `auth_time` is older than `max_age` allows.
    AuthenticationTooOld,
}

impl std::fmt::Display for UpstreamTokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "the ID token is malformed: {what}"),
            Self::Unsigned => f.write_str("the ID token is unsigned (alg none)"),
            Self::AlgorithmNotAllowed => {
                f.write_str("the ID token's header alg is not an allowed algorithm")
            }
            Self::CriticalHeader => f.write_str("the ID token's header has crit"),
            Self::UnknownKey => f.write_str("the ID token's header kid names no key of the JWKS"),
            Self::NoKeyId => {
                f.write_str("the ID token's header has no kid and the JWKS has several keys")
            }
            Self::KeyAlgorithmMismatch => {
                f.write_str("the ID token's header alg is not its key's algorithm")
            }
            Self::UnusableKey => f.write_str("the ID token's key is not a usable signature key"),
            Self::BadSignature => f.write_str("the ID token's signature does not verify"),
            Self::MissingClaim(c) => write!(f, "the ID token has no {c}"),
            Self::InvalidClaim(c) => write!(f, "the ID token's {c} has the wrong type"),
            Self::Issuer => f.write_str("the ID token's iss is not the provider's issuer"),
            Self::Audience => f.write_str("the ID token's aud does not contain the client id"),
            Self::MissingAuthorizedParty => {
                f.write_str("the ID token has several audiences and no azp")
            }
            Self::AuthorizedParty => f.write_str("the ID token's azp is not the client id"),
            Self::Expired => f.write_str("the ID token's exp has passed"),
            Self::IssuedInFuture => f.write_str("the ID token's iat is in the future"),
            Self::Nonce => f.write_str("the ID token's nonce is not the one sent"),
            Self::Subject => f.write_str("the ID token's sub is empty, too long or not ASCII"),
            Self::AuthenticationTooOld => {
                f.write_str("the ID token's auth_time is older than max_age allows")
            }
        }
    }
}

impl std::error::Error for UpstreamTokenError {}

/// The `kid` of a token's header, read without verifying anything: what the
/// JWKS cache needs to know whether a refetch may help. `None` when the header
/// has none or is unreadable.
pub fn header_kid(token: &str) -> Option<String> {
    let header = raw_header(token).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// Validates `token` against `check` and the provider's `jwks` at `now`
/// (seconds since the epoch); see the module doc for the rules, in order.
pub fn validate(
    check: &UpstreamCheck,
    jwks: &JwkSet,
    token: &str,
    now: u64,
) -> Result<UpstreamClaims, UpstreamTokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(UpstreamTokenError::Malformed("longer than allowed"));
    }
    let header = raw_header(token)?;
    let alg = match header.get("alg") {
        Some(Value::String(a)) => a.as_str(),
        Some(_) => return Err(UpstreamTokenError::InvalidClaim("header alg")),
        None => return Err(UpstreamTokenError::MissingClaim("header alg")),
    };
    if alg.eq_ignore_ascii_case("none") || token.ends_with('.') {
        return Err(UpstreamTokenError::Unsigned);
    }
    let alg = UpstreamAlg::from_name(alg)
        .filter(|a| check.allowed_algs.contains(a))
        .ok_or(UpstreamTokenError::AlgorithmNotAllowed)?;
    if header.contains_key("crit") {
        return Err(UpstreamTokenError::CriticalHeader);
    }
    let jwk = match header.get("kid") {
        Some(Value::String(kid)) => jwks.find(kid).ok_or(UpstreamTokenError::UnknownKey)?,
        Some(_) => return Err(UpstreamTokenError::InvalidClaim("header kid")),
        None => match jwks.keys.as_slice() {
            [only] => only,
            _ => return Err(UpstreamTokenError::NoKeyId),
        },
    };
    if key_algorithm(jwk)? != alg {
        return Err(UpstreamTokenError::KeyAlgorithmMismatch);
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| UpstreamTokenError::UnusableKey)?;
    let mut v = Validation::new(alg.jwt_algorithm());
    // The claims are checked below, each with its own error.
    v.required_spec_claims = HashSet::new();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.leeway = 0;
    let payload = match jsonwebtoken::decode::<Value>(token, &key, &v) {
        Ok(data) => data.claims,
        Err(e) => {
            return Err(match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    UpstreamTokenError::BadSignature
                }
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    UpstreamTokenError::KeyAlgorithmMismatch
                }
                jsonwebtoken::errors::ErrorKind::InvalidKeyFormat
                | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
                | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey => {
                    UpstreamTokenError::UnusableKey
                }
                _ => UpstreamTokenError::Malformed("the payload is not a JSON object"),
            });
        }
    };
    let Value::Object(c) = payload else {
        return Err(UpstreamTokenError::Malformed(
            "the payload is not a JSON object",
        ));
    };
    check_claims(check, &c, now)
}

fn check_claims(
    check: &UpstreamCheck,
    c: &Map<String, Value>,
    now: u64,
) -> Result<UpstreamClaims, UpstreamTokenError> {
    let iss = required_str(c, "iss")?;
    if iss != check.issuer {
        return Err(UpstreamTokenError::Issuer);
    }
    let aud = match c.get("aud") {
        None => return Err(UpstreamTokenError::MissingClaim("aud")),
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(UpstreamTokenError::InvalidClaim("aud"))?,
        Some(_) => return Err(UpstreamTokenError::InvalidClaim("aud")),
    };
    if !aud.contains(&check.client_id) {
        return Err(UpstreamTokenError::Audience);
    }
    let azp = optional_str(c, "azp")?;
    match &azp {
        None if aud.len() > 1 => return Err(UpstreamTokenError::MissingAuthorizedParty),
        Some(azp) if *azp != check.client_id => {
            return Err(UpstreamTokenError::AuthorizedParty);
        }
        _ => {}
    }
    let exp = required_time(c, "exp")?;
    if now >= exp.saturating_add(check.skew) {
        return Err(UpstreamTokenError::Expired);
    }
    let iat = required_time(c, "iat")?;
    if iat > now.saturating_add(check.skew) {
        return Err(UpstreamTokenError::IssuedInFuture);
    }
    let nonce = required_str(c, "nonce")?;
    if !bool::from(nonce.as_bytes().ct_eq(check.nonce.as_bytes())) {
        return Err(UpstreamTokenError::Nonce);
    }
    let sub = required_str(c, "sub")?;
    if sub.is_empty() || sub.len() > MAX_SUB_CHARS || !sub.is_ascii() {
        return Err(UpstreamTokenError::Subject);
    }
    let auth_time = optional_time(c, "auth_time")?;
    if let Some(max_age) = check.max_age {
        let at = auth_time.ok_or(UpstreamTokenError::MissingClaim("auth_time"))?;
        if now.saturating_sub(at) > max_age.saturating_add(check.skew) {
            return Err(UpstreamTokenError::AuthenticationTooOld);
        }
    }
    let amr = match c.get("amr") {
        None | Some(Value::Null) => None,
        Some(Value::Array(many)) => Some(
            many.iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(UpstreamTokenError::InvalidClaim("amr"))?,
        ),
        Some(_) => return Err(UpstreamTokenError::InvalidClaim("amr")),
    };
    Ok(UpstreamClaims {
        iss,
        sub,
        aud,
        azp,
        exp,
        iat,
        auth_time,
        nonce,
        email: optional_str(c, "email")?,
        email_verified: c.get("email_verified").cloned(),
        name: optional_str(c, "name")?,
        given_name: optional_str(c, "given_name")?,
        family_name: optional_str(c, "family_name")?,
        preferred_username: optional_str(c, "preferred_username")?,
        hd: optional_str(c, "hd")?,
        tid: optional_str(c, "tid")?,
        amr,
    })
}

/// The header, decoded as a JSON object, without verifying anything.
fn raw_header(token: &str) -> Result<Map<String, Value>, UpstreamTokenError> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(UpstreamTokenError::Malformed("not three parts"));
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| UpstreamTokenError::Malformed("the header is not base64url"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(h)) => Ok(h),
        _ => Err(UpstreamTokenError::Malformed(
            "the header is not a JSON object",
        )),
    }
}

/// The algorithm `jwk` signs with: its `alg` when present, else its key type's
/// (RSA: RS256; EC on P-256: ES256). A key marked for encryption (`use: enc`,
/// RFC 7517 §4.2) or of another type is unusable.
fn key_algorithm(jwk: &Jwk) -> Result<UpstreamAlg, UpstreamTokenError> {
    if matches!(
        jwk.common.public_key_use,
        Some(ref u) if *u != PublicKeyUse::Signature
    ) {
        return Err(UpstreamTokenError::UnusableKey);
    }
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => UpstreamAlg::Rs256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            UpstreamAlg::Es256
        }
        _ => return Err(UpstreamTokenError::UnusableKey),
    };
    match jwk.common.key_algorithm {
        None => Ok(by_type),
        Some(KeyAlgorithm::RS256) if by_type == UpstreamAlg::Rs256 => Ok(UpstreamAlg::Rs256),
        Some(KeyAlgorithm::ES256) if by_type == UpstreamAlg::Es256 => Ok(UpstreamAlg::Es256),
        // Another algorithm of the key's (RS512, PS256…) or one not of its type.
        Some(_) => Err(UpstreamTokenError::KeyAlgorithmMismatch),
    }
}

fn required_str(c: &Map<String, Value>, name: &'static str) -> Result<String, UpstreamTokenError> {
    optional_str(c, name)?.ok_or(UpstreamTokenError::MissingClaim(name))
}

fn optional_str(
    c: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, UpstreamTokenError> {
    match c.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(UpstreamTokenError::InvalidClaim(name)),
    }
}

fn required_time(c: &Map<String, Value>, name: &'static str) -> Result<u64, UpstreamTokenError> {
    optional_time(c, name)?.ok_or(UpstreamTokenError::MissingClaim(name))
}

/// A NumericDate (RFC 7519 §2): a non-negative number of seconds; a fraction
/// is cut off.
fn optional_time(
    c: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, UpstreamTokenError> {
    match c.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.is_finite())
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(UpstreamTokenError::InvalidClaim(name)),
        Some(_) => Err(UpstreamTokenError::InvalidClaim(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPair, KeyStatus, SigningAlgorithm, SigningKey};
    use base64::Engine as _;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const NOW: u64 = 1_000_000;

    struct Upstream {
        jwk: Jwk,
        signer: SigningKey,
    }

    fn upstream(alg: SigningAlgorithm) -> Upstream {
        let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
        Upstream {
            jwk: serde_json::from_str(&pair.public.public_jwk).unwrap(),
            signer: SigningKey::new(&pair.public.kid, alg, &pair.private),
        }
    }

    fn check() -> UpstreamCheck {
        UpstreamCheck {
            issuer: "https://accounts.upstream.example".into(),
            client_id: "gatehouse-at-upstream".into(),
            allowed_algs: vec![UpstreamAlg::Rs256, UpstreamAlg::Es256],
            nonce: "n-0S6_WzA2Mj".into(),
            max_age: None,
            skew: DEFAULT_SKEW_SECONDS,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": "https://accounts.upstream.example",
            "sub": "248289761001",
            "aud": "gatehouse-at-upstream",
            "exp": NOW + 300,
            "iat": NOW - 10,
            "auth_time": NOW - 100,
            "nonce": "n-0S6_WzA2Mj",
            "email": "jane@example.com",
            "email_verified": true,
            "name": "Jane Doe",
            "given_name": "Jane",
            "family_name": "Doe",
            "preferred_username": "jane",
            "hd": "example.com",
            "tid": "tenant-1",
            "amr": ["pwd", "mfa"]
        })
    }

    fn sign(u: &Upstream, claims: &Value) -> String {
        let mut h = Header::new(u.signer.alg.jwt_algorithm());
        h.kid = Some(u.signer.kid.clone());
        encode(&h, claims, u.signer.encoding_key()).unwrap()
    }

    fn set(keys: &[&Upstream]) -> JwkSet {
        JwkSet {
            keys: keys.iter().map(|u| u.jwk.clone()).collect(),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A token with `header` as given, signed by `u`'s key over that header.
    fn with_header(u: &Upstream, header: &Value, claims: &Value) -> String {
        let signed = sign(u, claims);
        let mut parts = signed.split('.');
        let (_, payload, _) = (parts.next(), parts.next().unwrap(), parts.next());
        let message = format!("{}.{payload}", b64(header.to_string().as_bytes()));
        let sig = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            u.signer.encoding_key(),
            u.signer.alg.jwt_algorithm(),
        )
        .unwrap();
        format!("{message}.{sig}")
    }

    fn with(name: &str, value: Value) -> Value {
        let mut c = claims();
        c[name] = value;
        c
    }

    fn without(name: &str) -> Value {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(name);
        c
    }

    fn refused(jwks: &JwkSet, token: &str) -> UpstreamTokenError {
        validate(&check(), jwks, token, NOW).unwrap_err()
    }

    #[test]
    fn a_key_not_in_the_jwks_or_no_key_to_choose_is_refused() {
        let (a, b) = (
            upstream(SigningAlgorithm::Rs256),
            upstream(SigningAlgorithm::Rs256),
        );
        let token = sign(&b, &claims());
        assert_eq!(refused(&set(&[&a]), &token), UpstreamTokenError::UnknownKey);
        assert_eq!(header_kid(&token).as_deref(), Some(b.signer.kid.as_str()));
        // Another key under a published kid: the signature does not verify.
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(a.signer.kid.clone());
        let forged = encode(&h, &claims(), b.signer.encoding_key()).unwrap();
        assert_eq!(
            refused(&set(&[&a]), &forged),
            UpstreamTokenError::BadSignature
        );
        // No kid: only a JWKS of one key says which.
        let no_kid = with_header(&a, &json!({"alg": "RS256"}), &claims());
        assert_eq!(
            refused(&set(&[&a, &b]), &no_kid),
            UpstreamTokenError::NoKeyId
        );
        assert!(validate(&check(), &set(&[&a]), &no_kid, NOW).is_ok());
        assert_eq!(
            refused(&JwkSet { keys: vec![] }, &no_kid),
            UpstreamTokenError::NoKeyId
        );
        let kid_number = with_header(&a, &json!({"alg": "RS256", "kid": 7}), &claims());
        assert_eq!(
            refused(&set(&[&a]), &kid_number),
            UpstreamTokenError::InvalidClaim("header kid")
        );
    }

    #[test]
    fn alg_none_and_unsigned_tokens_are_refused() {
        let a = upstream(SigningAlgorithm::Rs256);
        let payload = b64(claims().to_string().as_bytes());
        for alg in ["none", "None", "NONE"] {
            let header = b64(json!({"alg": alg, "kid": a.signer.kid})
                .to_string()
                .as_bytes());
            let t = format!("{header}.{payload}.");
            assert_eq!(
                refused(&set(&[&a]), &t),
                UpstreamTokenError::Unsigned,
                "{alg}"
            );
        }
        // RS256 claimed, no signature.
        let header = b64(json!({"alg": "RS256", "kid": a.signer.kid})
            .to_string()
            .as_bytes());
        let t = format!("{header}.{payload}.");
        assert_eq!(refused(&set(&[&a]), &t), UpstreamTokenError::Unsigned);
        let no_alg = b64(json!({"kid": a.signer.kid}).to_string().as_bytes());
        assert_eq!(
            refused(&set(&[&a]), &format!("{no_alg}.{payload}.c2ln")),
            UpstreamTokenError::MissingClaim("header alg")
        );
    }

    #[test]
    fn hs256_signed_with_the_rsa_public_key_is_refused() {
        let a = upstream(SigningAlgorithm::Rs256);
        let AlgorithmParameters::RSA(rsa) = &a.jwk.algorithm else {
            panic!("an RSA key")
        };
        let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&rsa.n)
            .unwrap();
        let jwk_text = serde_json::to_vec(&a.jwk).unwrap();
        for secret in [modulus, jwk_text] {
            for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let mut h = Header::new(alg);
                h.kid = Some(a.signer.kid.clone());
                let t = encode(&h, &claims(), &EncodingKey::from_secret(&secret)).unwrap();
                assert_eq!(
                    refused(&set(&[&a]), &t),
                    UpstreamTokenError::AlgorithmNotAllowed,
                    "{alg:?}"
                );
            }
        }
    }

    #[test]
    fn the_algorithm_is_the_allow_lists_and_the_keys() {
        let (rsa, ec) = (
            upstream(SigningAlgorithm::Rs256),
            upstream(SigningAlgorithm::Es256),
        );
        let jwks = set(&[&rsa, &ec]);
        let mut only_rsa = check();
        only_rsa.allowed_algs = vec![UpstreamAlg::Rs256];
        assert_eq!(
            validate(&only_rsa, &jwks, &sign(&ec, &claims()), NOW),
            Err(UpstreamTokenError::AlgorithmNotAllowed)
        );
        let mut nothing = check();
        nothing.allowed_algs.clear();
        assert_eq!(
            validate(&nothing, &jwks, &sign(&rsa, &claims()), NOW),
            Err(UpstreamTokenError::AlgorithmNotAllowed)
        );
        // ES256 in the header, the RSA key's kid.
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(rsa.signer.kid.clone());
        let t = encode(&h, &claims(), ec.signer.encoding_key()).unwrap();
        assert_eq!(refused(&jwks, &t), UpstreamTokenError::KeyAlgorithmMismatch);
        // A JWK `alg` that is not the header's.
        let mut rs512 = rsa.jwk.clone();
        rs512.common.key_algorithm = Some(KeyAlgorithm::RS512);
        let t = sign(&rsa, &claims());
        assert_eq!(
            refused(&JwkSet { keys: vec![rs512] }, &t),
            UpstreamTokenError::KeyAlgorithmMismatch
        );
        // The JWK `alg` present and right, or absent: accepted.
        for key_alg in [Some(KeyAlgorithm::RS256), None] {
            let mut k = rsa.jwk.clone();
            k.common.key_algorithm = key_alg;
            assert!(validate(&check(), &JwkSet { keys: vec![k] }, &t, NOW).is_ok());
        }
        // A key for encryption only.
        let mut enc = rsa.jwk.clone();
        enc.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert_eq!(
            refused(&JwkSet { keys: vec![enc] }, &t),
            UpstreamTokenError::UnusableKey
        );
        for alg in ["PS256", "RS512", "EdDSA", "ES384"] {
            assert_eq!(UpstreamAlg::from_name(alg), None, "{alg}");
        }
    }

    #[test]
    fn a_crit_header_is_refused() {
        let a = upstream(SigningAlgorithm::Es256);
        let t = with_header(
            &a,
            &json!({"alg": "ES256", "kid": a.signer.kid, "crit": ["exp"], "exp": 1}),
            &claims(),
        );
        assert_eq!(refused(&set(&[&a]), &t), UpstreamTokenError::CriticalHeader);
    }

    #[test]
    fn a_key_carried_or_pointed_to_by_the_header_is_never_used() {
        let (ours, theirs) = (
            upstream(SigningAlgorithm::Rs256),
            upstream(SigningAlgorithm::Rs256),
        );
        for header in [
            json!({"alg": "RS256", "jwk": theirs.jwk}),
            json!({"alg": "RS256", "jku": "https://attacker.example/jwks"}),
            json!({"alg": "RS256", "x5u": "https://attacker.example/cert"}),
        ] {
            let t = with_header(&theirs, &header, &claims());
            assert_eq!(
                refused(&set(&[&ours]), &t),
                UpstreamTokenError::BadSignature,
                "{header}"
            );
        }
    }

    #[test]
    fn iss_aud_and_azp_must_be_ours() {
        let a = upstream(SigningAlgorithm::Rs256);
        let jwks = set(&[&a]);
        let cid = "gatehouse-at-upstream";
        for (why, c, err) in [
            (
                "another issuer",
                with("iss", json!("https://accounts.upstream.example/")),
                UpstreamTokenError::Issuer,
            ),
            (
                "no iss",
                without("iss"),
                UpstreamTokenError::MissingClaim("iss"),
            ),
            (
                "another audience",
                with("aud", json!("someone-else")),
                UpstreamTokenError::Audience,
            ),
            (
                "no aud",
                without("aud"),
                UpstreamTokenError::MissingClaim("aud"),
            ),
            (
                "aud a number",
                with("aud", json!(5)),
                UpstreamTokenError::InvalidClaim("aud"),
            ),
            (
                "several audiences, no azp",
                with("aud", json!([cid, "other"])),
                UpstreamTokenError::MissingAuthorizedParty,
            ),
            (
                "several audiences, another azp",
                {
                    let mut c = with("aud", json!([cid, "other"]));
                    c["azp"] = json!("other");
                    c
                },
                UpstreamTokenError::AuthorizedParty,
            ),
            (
                "one audience, another azp",
                with("azp", json!("other")),
                UpstreamTokenError::AuthorizedParty,
            ),
        ] {
            assert_eq!(refused(&jwks, &sign(&a, &c)), err, "{why}");
        }
        let mut c = with("aud", json!([cid, "other"]));
        c["azp"] = json!(cid);
        let ok = validate(&check(), &jwks, &sign(&a, &c), NOW).unwrap();
        assert_eq!((ok.aud.len(), ok.azp.as_deref()), (2, Some(cid)));
        let one = validate(&check(), &jwks, &sign(&a, &with("aud", json!([cid]))), NOW);
        assert!(one.is_ok());
    }

    #[test]
    fn exp_and_iat_are_checked_within_the_skew() {
        let a = upstream(SigningAlgorithm::Es256);
        let jwks = set(&[&a]);
        for (why, c, err) in [
            (
                "expired",
                with("exp", json!(NOW - 61)),
                UpstreamTokenError::Expired,
            ),
            (
                "expired at the skew",
                with("exp", json!(NOW - 60)),
                UpstreamTokenError::Expired,
            ),
            (
                "no exp",
                without("exp"),
                UpstreamTokenError::MissingClaim("exp"),
            ),
            (
                "exp a string",
                with("exp", json!("soon")),
                UpstreamTokenError::InvalidClaim("exp"),
            ),
            (
                "exp negative",
                with("exp", json!(-1)),
                UpstreamTokenError::InvalidClaim("exp"),
            ),
            (
                "iat in the future",
                with("iat", json!(NOW + 61)),
                UpstreamTokenError::IssuedInFuture,
            ),
            (
                "no iat",
                without("iat"),
                UpstreamTokenError::MissingClaim("iat"),
            ),
        ] {
            assert_eq!(refused(&jwks, &sign(&a, &c)), err, "{why}");
        }
        for c in [with("exp", json!(NOW - 59)), with("iat", json!(NOW + 60))] {
            assert!(validate(&check(), &jwks, &sign(&a, &c), NOW).is_ok(), "{c}");
        }
    }

    #[test]
    fn the_nonce_must_be_the_one_sent() {
        let a = upstream(SigningAlgorithm::Rs256);
        let jwks = set(&[&a]);
        for (c, err) in [
            (
                with("nonce", json!("n-0S6_WzA2Mk")),
                UpstreamTokenError::Nonce,
            ),
            (
                with("nonce", json!("n-0S6_WzA2M")),
                UpstreamTokenError::Nonce,
            ),
            (with("nonce", json!("")), UpstreamTokenError::Nonce),
            (without("nonce"), UpstreamTokenError::MissingClaim("nonce")),
            (
                with("nonce", json!(1)),
                UpstreamTokenError::InvalidClaim("nonce"),
            ),
        ] {
            assert_eq!(refused(&jwks, &sign(&a, &c)), err, "{c}");
        }
    }

    #[test]
    fn sub_is_required_and_short_ascii() {
        let a = upstream(SigningAlgorithm::Rs256);
        let jwks = set(&[&a]);
        for (c, err) in [
            (without("sub"), UpstreamTokenError::MissingClaim("sub")),
            (with("sub", json!("")), UpstreamTokenError::Subject),
            (
                with("sub", json!("x".repeat(256))),
                UpstreamTokenError::Subject,
            ),
            (with("sub", json!("jöhn")), UpstreamTokenError::Subject),
            (
                with("sub", json!(42)),
                UpstreamTokenError::InvalidClaim("sub"),
            ),
        ] {
            assert_eq!(refused(&jwks, &sign(&a, &c)), err, "{c}");
        }
        let long = with("sub", json!("x".repeat(255)));
        assert!(validate(&check(), &jwks, &sign(&a, &long), NOW).is_ok());
    }

    #[test]
    fn max_age_requires_a_recent_auth_time() {
        let a = upstream(SigningAlgorithm::Rs256);
        let jwks = set(&[&a]);
        let mut c = check();
        c.max_age = Some(300);
        let at = |t: u64| sign(&a, &with("auth_time", json!(t)));
        assert_eq!(
            validate(&c, &jwks, &sign(&a, &without("auth_time")), NOW),
            Err(UpstreamTokenError::MissingClaim("auth_time"))
        );
        assert_eq!(
            validate(&c, &jwks, &at(NOW - 361), NOW),
            Err(UpstreamTokenError::AuthenticationTooOld)
        );
        assert!(validate(&c, &jwks, &at(NOW - 360), NOW).is_ok());
        // Without max_age, auth_time is optional.
        assert!(validate(&check(), &jwks, &sign(&a, &without("auth_time")), NOW).is_ok());
    }

    #[test]
    fn malformed_tokens_are_refused_without_a_panic() {
        let a = upstream(SigningAlgorithm::Rs256);
        let jwks = set(&[&a]);
        let good = sign(&a, &claims());
        let mut tampered = good.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        let (h, _) = good.split_once('.').unwrap();
        for (why, t) in [
            ("empty", String::new()),
            ("one part", "abc".into()),
            ("four parts", format!("{good}.x")),
            ("header not base64", format!("!!.{}", &good[h.len() + 1..])),
            ("payload not JSON", format!("{h}.{}.c2ln", b64(b"[1,2]"))),
            ("too long", "a".repeat(MAX_TOKEN_BYTES + 1)),
        ] {
            assert!(
                matches!(
                    refused(&jwks, &t),
                    UpstreamTokenError::Malformed(_) | UpstreamTokenError::BadSignature
                ),
                "{why}"
            );
        }
        assert_eq!(refused(&jwks, &tampered), UpstreamTokenError::BadSignature);
        for e in [
            refused(&jwks, &sign(&a, &without("sub"))),
            refused(&jwks, &sign(&a, &with("aud", json!("x")))),
        ] {
            assert!(!e.to_string().contains(&good[..20]));
        }
    }

    #[test]
    fn email_verified_is_kept_raw_and_only_true_is_true() {
        let a = upstream(SigningAlgorithm::Es256);
        let jwks = set(&[&a]);
        let read = |v: Value| {
            validate(&check(), &jwks, &sign(&a, &with("email_verified", v)), NOW).unwrap()
        };
        let s = read(json!("true"));
        assert_eq!(s.email_verified, Some(json!("true")));
        assert!(!email_verified_is_true(&s));
        assert!(!email_verified_is_true(&read(json!(false))));
        assert!(!email_verified_is_true(&read(json!(1))));
        let none = validate(&check(), &jwks, &sign(&a, &without("email_verified")), NOW).unwrap();
        assert!(!email_verified_is_true(&none));
        assert!(email_verified_is_true(&read(json!(true))));
    }

    #[test]
    fn a_valid_token_gives_its_claims() {
        for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let a = upstream(alg);
            let got = validate(&check(), &set(&[&a]), &sign(&a, &claims()), NOW).unwrap();
            assert_eq!(
                got,
                UpstreamClaims {
                    iss: "https://accounts.upstream.example".into(),
                    sub: "248289761001".into(),
                    aud: vec!["gatehouse-at-upstream".into()],
                    azp: None,
                    exp: NOW + 300,
                    iat: NOW - 10,
                    auth_time: Some(NOW - 100),
                    nonce: "n-0S6_WzA2Mj".into(),
                    email: Some("jane@example.com".into()),
                    email_verified: Some(json!(true)),
                    name: Some("Jane Doe".into()),
                    given_name: Some("Jane".into()),
                    family_name: Some("Doe".into()),
                    preferred_username: Some("jane".into()),
                    hd: Some("example.com".into()),
                    tid: Some("tenant-1".into()),
                    amr: Some(vec!["pwd".into(), "mfa".into()]),
                },
                "{alg:?}"
            );
        }
        let a = upstream(SigningAlgorithm::Rs256);
        let t = sign(&a, &with("name", json!(["not", "a", "string"])));
        assert_eq!(
            refused(&set(&[&a]), &t),
            UpstreamTokenError::InvalidClaim("name")
        );
    }
}
