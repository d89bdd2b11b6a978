//! JWT access tokens (RFC 9068): self-contained, so issuing one writes nothing.
//! What can change after issuance (the grant, the client, the user, the
//! revocation list) is checked by [`super::active`].

use crate::app::{App, now};
use crate::domain::scope::Scope;
use crate::error::TokenError;
use crate::keys::{JwtType, KeySet};
use crate::secret::random_id;
use jsonwebtoken::decode;
use serde::{Deserialize, Serialize};

/// The claims of RFC 9068 §2.2, and the grant the token belongs to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    /// The grant of a user's token; none for client credentials (RFC 6749 §4.4),
    /// whose tokens belong to the client alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

/// An access token as handed to the client.
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: u64,
    pub scope: Scope,
}

/// What a new access token is for.
pub struct AccessTokenRequest<'a> {
    pub client_id: &'a str,
    /// The client's own lifetime, if it has one.
    pub lifetime: Option<u64>,
    /// The resource owner's id, or the client id for client credentials.
    pub subject: &'a str,
    pub scope: Scope,
    pub grant_id: Option<&'a str>,
}

/// Signs an access token with the active key (header `typ: at+jwt`, RFC 9068
/// §2.1).
pub async fn sign(app: &App, r: AccessTokenRequest<'_>) -> Result<IssuedAccessToken, TokenError> {
    let signing = app.signing_key().await?.ok_or_else(|| {
        TokenError::server_error("no usable active signing key: run `gatehouse keys rotate`")
    })?;
    let iat = now();
    let expires_in = r.lifetime.unwrap_or(app.config.access_token_ttl);
    let claims = AccessTokenClaims {
        iss: app.config.issuer.clone(),
        sub: r.subject.to_owned(),
        aud: app.config.audience.clone(),
        exp: iat + expires_in,
        iat,
        jti: random_id(),
        client_id: r.client_id.to_owned(),
        scope: r.scope.to_string(),
        grant_id: r.grant_id.map(str::to_owned),
    };
    let token = signing
        .sign(JwtType::Access, &claims)
        .map_err(TokenError::server_error)?;
    Ok(IssuedAccessToken {
        token,
        expires_in,
        scope: r.scope,
    })
}

/// The claims of `token` if it is an access token this deployment signed and has
/// not expired: `typ: at+jwt`, a `kid` of a published key and that key's
/// algorithm, a valid signature, this `iss` (unless `issuer` is `None`: a Lambda
/// authorizer told no issuer), this `aud`, `exp` in the future (RFC 9068 §4).
pub fn verify(
    keys: &KeySet,
    issuer: Option<&str>,
    audience: &str,
    token: &str,
    now: u64,
) -> Option<AccessTokenClaims> {
    verify_keyed(keys, issuer, audience, token, now).map(|(claims, _)| claims)
}

/// [`verify`], and the `kid` of the key whose signature the token carries.
pub fn verify_keyed<'k>(
    keys: &'k KeySet,
    issuer: Option<&str>,
    audience: &str,
    token: &str,
    now: u64,
) -> Option<(AccessTokenClaims, &'k str)> {
    let (key, mut v) = keys.validation_for(token, "at+jwt")?;
    v.set_audience(&[audience]);
    if let Some(iss) = issuer {
        v.set_issuer(&[iss]);
    } else {
        v.required_spec_claims.insert("iss".into());
    }
    let claims = decode::<AccessTokenClaims>(token, &key.key, &v)
        .ok()?
        .claims;
    (now < claims.exp).then_some((claims, key.kid.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPair, KeyStatus, SigningAlgorithm, SigningKey};
    use jsonwebtoken::{Header, encode};

    fn keys(alg: SigningAlgorithm) -> (KeySet, SigningKey) {
        let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
        let signing = SigningKey::new(&pair.public.kid, alg, &pair.private);
        (KeySet::build(vec![pair.public], 2).unwrap(), signing)
    }

    fn token(s: &SigningKey, typ: &str, claims: &AccessTokenClaims) -> String {
        let mut h = Header::new(s.alg.jwt_algorithm());
        h.typ = Some(typ.into());
        h.kid = Some(s.kid.clone());
        encode(&h, claims, s.encoding_key()).unwrap()
    }

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://issuer".into(),
            sub: "u".into(),
            aud: "https://api".into(),
            exp: 200,
            iat: 100,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "read".into(),
            grant_id: Some("g".into()),
        }
    }

    #[test]
    fn only_our_unexpired_access_tokens_verify() {
        for alg in [SigningAlgorithm::Es256, SigningAlgorithm::Rs256] {
            let (k, s) = keys(alg);
            let t = token(&s, "at+jwt", &claims());
            let ok = |t: &str, iss: Option<&str>, now| verify(&k, iss, "https://api", t, now);
            assert_eq!(ok(&t, Some("https://issuer"), 150), Some(claims()));
            assert_eq!(ok(&t, None, 150), Some(claims()));
            assert_eq!(ok(&t, Some("https://issuer"), 200), None, "expired");
            assert_eq!(ok(&t, Some("https://other"), 150), None, "another issuer");
            assert_eq!(verify(&k, None, "https://other-api", &t, 150), None);
            let jwt = token(&s, "JWT", &claims());
            assert_eq!(ok(&jwt, None, 150), None, "not typ at+jwt");
            let (other, _) = keys(alg);
            assert_eq!(
                verify(&other, None, "https://api", &t, 150),
                None,
                "unknown kid"
            );
            let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
            parts[2] = parts[2].chars().rev().collect();
            assert_eq!(ok(&parts.join("."), None, 150), None, "bad signature");
            assert_eq!(ok("not.a.jwt", None, 150), None);
        }
    }
}
