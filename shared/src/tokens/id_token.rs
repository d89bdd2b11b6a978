//! ID tokens (OpenID Connect Core §2): issued with the access token whenever the
//! granted scope includes `openid` (§3.1.3.3), from the code (§3.1.3.6) and on
//! refresh (§12.2). Self-contained, so issuing one writes nothing.
//!
//! Signed with the deployment's active key (header `alg` that key's algorithm,
//! its `kid`, `typ: JWT`). The claims:
//! - `iss`, `aud` (the client id), `sub`: the user's stable id, never the username;
//! - `iat`, `exp`: an ID token lives as long as the access token issued with it;
//! - `auth_time`: always, the grant's, so it stays the real sign-in on refresh;
//! - `nonce`: the authorization request's, exactly, from the code only (§12.2);
//! - `at_hash`: the left half of the hash of the access token, by the hash of the
//!   signing algorithm (SHA-256 for RS256 and ES256), base64url (§3.1.3.6);
//! - `sid`: the login session id the grant was made in, never its secret;
//! - `amr`: how the user authenticated (`["pwd"]`, RFC 8176 §2);
//! - no `acr`: no authentication context class is defined here.

use crate::app::{App, now};
use crate::domain::grant::Grant;
use crate::error::TokenError;
use crate::keys::{JwtType, SigningAlgorithm, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use serde::{Deserialize, Serialize};

/// The claims of an ID token (OpenID Connect Core §2, §3.1.3.6).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    pub sid: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// What an ID token is issued with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenFor {
    /// The code's redemption: the authorization request's `nonce`, if it had one.
    Code,
    /// A refresh (Core §12.2): no `nonce`.
    Refresh,
}

/// `at_hash` (Core §3.1.3.6): base64url of the left-most half of the hash of the
/// ASCII octets of `access_token`, with the hash of `alg` (JWA, RFC 7518 §3.3,
/// §3.4: SHA-256 for RS256 and ES256).
pub fn at_hash(alg: SigningAlgorithm, access_token: &str) -> String {
    let hash = match alg {
        SigningAlgorithm::Rs256 | SigningAlgorithm::Es256 => &digest::SHA256,
    };
    let d = digest::digest(hash, access_token.as_bytes());
    let d = d.as_ref();
    URL_SAFE_NO_PAD.encode(&d[..d.len() / 2])
}

/// The claims of the ID token of `grant` issued at `iat` with `access_token`,
/// living `lifetime` seconds.
pub fn claims(
    issuer: &str,
    grant: &Grant,
    issued_with: IdTokenFor,
    alg: SigningAlgorithm,
    access_token: &str,
    iat: u64,
    lifetime: u64,
) -> IdTokenClaims {
    let nonce = match issued_with {
        IdTokenFor::Code => grant.code.binding.nonce.clone(),
        IdTokenFor::Refresh => None,
    };
    IdTokenClaims {
        iss: issuer.to_owned(),
        sub: grant.user.user_id.clone(),
        aud: grant.client_id.clone(),
        exp: iat + lifetime,
        iat,
        auth_time: grant.auth_time,
        nonce,
        at_hash: at_hash(alg, access_token),
        sid: grant.session_id.clone(),
        amr: grant.amr.split_whitespace().map(str::to_owned).collect(),
    }
}

/// Signs `claims` with `key` (header `alg`, `kid`, `typ: JWT`).
pub fn sign_claims(key: &SigningKey, claims: &IdTokenClaims) -> Result<String, TokenError> {
    key.sign(JwtType::Id, claims)
        .map_err(TokenError::server_error)
}

/// The ID token of `grant`, issued with `access_token` (which expires in
/// `lifetime` seconds), signed with the active key.
pub async fn sign(
    app: &App,
    grant: &Grant,
    issued_with: IdTokenFor,
    access_token: &str,
    lifetime: u64,
) -> Result<String, TokenError> {
    let key = app.signing_key().await?.ok_or_else(|| {
        TokenError::server_error("no usable active signing key: run `gatehouse keys rotate`")
    })?;
    let claims = claims(
        &app.config.issuer,
        grant,
        issued_with,
        key.alg,
        access_token,
        now(),
        lifetime,
    );
    sign_claims(&key, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant::{CodeBinding, CodeState, GrantOwner, GrantState};
    use crate::domain::scope::Scope;
    use crate::keys::{KeyPair, KeySet, KeyStatus};
    use crate::secret::SecretHash;
    use jsonwebtoken::{Validation, decode, decode_header};

    fn grant(nonce: Option<&str>) -> Grant {
        Grant {
            grant_id: "g".into(),
            client_id: "client-1".into(),
            user: GrantOwner {
                user_id: "user-id-7".into(),
                username: "alice".into(),
                epoch: 0,
            },
            scope: Scope::parse("openid offline_access").unwrap(),
            created_at: 100,
            last_used_at: 100,
            session_id: "session-9".into(),
            auth_time: 90,
            amr: "pwd".into(),
            state: GrantState::Live,
            code: CodeState {
                hash: SecretHash::of("code"),
                binding: CodeBinding {
                    redirect_uri: "https://app/cb".into(),
                    redirect_uri_in_request: true,
                    challenge: None,
                    nonce: nonce.map(str::to_owned),
                },
                expires_at: 160,
                redeemed_at: None,
            },
            refresh: None,
            expires_at: 160,
        }
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_sha_256_of_the_access_token() {
        // Computed independently (Python: base64.urlsafe_b64encode(
        // hashlib.sha256(token).digest()[:16]).rstrip(b"=")); the first is the
        // example published with a Core §3.1.3.6 walk-through.
        for (token, expected) in [
            ("dNZX1hEZ9wBCzNL40Upu646bdzQA", "wfgvmE9VxjAudsl9lc6TqA"),
            ("jHkWEdUXMU1BwAsC4vtUsZwnNmc", "JDIHoAfoY_xHMMXnJXM8nQ"),
        ] {
            for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
                assert_eq!(at_hash(alg, token), expected, "{token} {alg:?}");
            }
        }
    }

    #[test]
    fn the_claims_name_the_user_the_client_and_the_session() {
        let c = claims(
            "https://issuer",
            &grant(Some("n-0S6")),
            IdTokenFor::Code,
            SigningAlgorithm::Rs256,
            "dNZX1hEZ9wBCzNL40Upu646bdzQA",
            1000,
            300,
        );
        assert_eq!(
            c,
            IdTokenClaims {
                iss: "https://issuer".into(),
                sub: "user-id-7".into(),
                aud: "client-1".into(),
                exp: 1300,
                iat: 1000,
                auth_time: 90,
                nonce: Some("n-0S6".into()),
                at_hash: "wfgvmE9VxjAudsl9lc6TqA".into(),
                sid: "session-9".into(),
                amr: vec!["pwd".into()],
            }
        );
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("acr").is_none());
        assert!(!json.to_string().contains("alice"), "never the username");
    }

    #[test]
    fn no_nonce_on_refresh_nor_when_none_was_sent() {
        let on_refresh = claims(
            "https://issuer",
            &grant(Some("n-0S6")),
            IdTokenFor::Refresh,
            SigningAlgorithm::Es256,
            "at",
            2000,
            300,
        );
        assert_eq!(on_refresh.nonce, None);
        assert_eq!(on_refresh.auth_time, 90, "the original sign-in");
        assert_eq!(on_refresh.sid, "session-9");
        let json = serde_json::to_value(&on_refresh).unwrap();
        assert!(json.get("nonce").is_none());
        let without = claims(
            "https://issuer",
            &grant(None),
            IdTokenFor::Code,
            SigningAlgorithm::Rs256,
            "at",
            2000,
            300,
        );
        assert_eq!(without.nonce, None);
        // A grant stored before `amr` was kept says none.
        let mut old = grant(None);
        old.amr = String::new();
        let c = claims(
            "i",
            &old,
            IdTokenFor::Code,
            SigningAlgorithm::Rs256,
            "at",
            1,
            1,
        );
        assert!(serde_json::to_value(&c).unwrap().get("amr").is_none());
    }

    #[test]
    fn id_tokens_are_signed_with_the_key_s_algorithm_kid_and_typ_jwt() {
        for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
            let key = SigningKey::new(&pair.public.kid, alg, &pair.private);
            let set = KeySet::build(vec![pair.public], 2).unwrap();
            let c = claims(
                "https://issuer",
                &grant(None),
                IdTokenFor::Code,
                alg,
                "at",
                10,
                60,
            );
            let token = sign_claims(&key, &c).unwrap();
            let header = decode_header(&token).unwrap();
            assert_eq!(header.alg, alg.jwt_algorithm());
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(header.typ.as_deref(), Some("JWT"));
            let mut v = Validation::new(alg.jwt_algorithm());
            v.validate_exp = false;
            v.set_audience(&["client-1"]);
            v.set_issuer(&["https://issuer"]);
            let verifying = set.verifying.iter().find(|k| k.kid == key.kid).unwrap();
            let decoded = decode::<IdTokenClaims>(&token, &verifying.key, &v).unwrap();
            assert_eq!(decoded.claims, c);
        }
    }
}
