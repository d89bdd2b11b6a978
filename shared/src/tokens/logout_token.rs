//! Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): a JWT that tells
//! a client a login session ended. Signed with the deployment's active key like
//! the ID token (`tokens/id_token.rs`), with header `typ: logout+jwt` (§2.4, §4.1:
//! so that it cannot be taken for an ID token or any other JWT) and `kid`.
//!
//! The claims: `iss`; `aud`, the client id; `iat`; `exp`, two minutes on (§2.4
//! recommends at most two minutes); `jti`, random; `sid`, the login session id,
//! always (`backchannel_logout_session_supported`); `sub`, the user's stable id,
//! always; `events` with the one member
//! `http://schemas.openid.net/event/backchannel-logout` and an empty object.
//! Never a `nonce` (§2.4: its absence is what tells it from an ID token).

use crate::app::{App, now};
use crate::keys::{JwtType, SigningKey};
use crate::secret::random_id;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `events` member of a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` header of a logout token (§2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// How long a logout token lives, in seconds (§2.4: at most two minutes).
pub const LOGOUT_TOKEN_LIFETIME: u64 = 120;

/// The claims of a logout token (§2.4).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogoutTokenClaims {
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: Map<String, Value>,
}

/// The claims telling `client_id` that session `sid` of user `sub` ended, at `iat`.
pub fn claims(issuer: &str, client_id: &str, sub: &str, sid: &str, iat: u64) -> LogoutTokenClaims {
    let mut events = Map::new();
    events.insert(BACKCHANNEL_LOGOUT_EVENT.into(), Value::Object(Map::new()));
    LogoutTokenClaims {
        iss: issuer.to_owned(),
        aud: client_id.to_owned(),
        iat,
        exp: iat + LOGOUT_TOKEN_LIFETIME,
        jti: random_id(),
        sub: sub.to_owned(),
        sid: sid.to_owned(),
        events,
    }
}

/// Signs `claims` with `key` (header `alg`, `kid`, `typ: logout+jwt`).
pub fn sign_claims(key: &SigningKey, claims: &LogoutTokenClaims) -> Result<String, String> {
    key.sign(JwtType::Logout, claims)
        .map_err(|e| format!("signing a logout token: {e}"))
}

/// A fresh logout token for `client_id` about session `sid` of user `sub`,
/// signed with the active key.
pub async fn sign(app: &App, client_id: &str, sub: &str, sid: &str) -> Result<String, String> {
    let key = app
        .signing_key()
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no usable active signing key: run `gatehouse keys rotate`")?;
    sign_claims(
        &key,
        &claims(&app.config.issuer, client_id, sub, sid, now()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPair, KeySet, KeyStatus, SigningAlgorithm};
    use jsonwebtoken::{Validation, decode, decode_header};

    #[test]
    fn the_claims_name_the_client_the_user_and_the_session_and_no_nonce() {
        let c = claims("https://issuer", "client-1", "user-7", "session-9", 1000);
        assert_eq!(c.exp, 1120, "two minutes");
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["iss"], "https://issuer");
        assert_eq!(json["aud"], "client-1");
        assert_eq!(json["sub"], "user-7");
        assert_eq!(json["sid"], "session-9");
        assert_eq!(json["iat"], 1000);
        assert_eq!(
            json["events"],
            serde_json::json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
        );
        assert!(json.get("nonce").is_none());
        assert!(c.jti.len() >= 16);
        let again = claims("https://issuer", "client-1", "user-7", "session-9", 1000);
        assert_ne!(c.jti, again.jti, "a random jti each time");
    }

    #[test]
    fn logout_tokens_decode_with_the_key_typ_logout_jwt_and_kid() {
        for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
            let key = SigningKey::new(&pair.public.kid, alg, &pair.private);
            let set = KeySet::build(vec![pair.public], 2).unwrap();
            let c = claims("https://issuer", "client-1", "user-7", "s-1", now());
            let token = sign_claims(&key, &c).unwrap();
            let header = decode_header(&token).unwrap();
            assert_eq!(header.alg, alg.jwt_algorithm());
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
            let mut v = Validation::new(alg.jwt_algorithm());
            v.set_audience(&["client-1"]);
            v.set_issuer(&["https://issuer"]);
            v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
            let verifying = set.verifying.iter().find(|k| k.kid == key.kid).unwrap();
            let decoded = decode::<LogoutTokenClaims>(&token, &verifying.key, &v).unwrap();
            assert_eq!(decoded.claims, c);
            let raw = decode::<Value>(&token, &verifying.key, &v).unwrap().claims;
            assert!(raw.get("nonce").is_none());
            v.set_audience(&["another-client"]);
            assert!(decode::<Value>(&token, &verifying.key, &v).is_err());
        }
    }
}
