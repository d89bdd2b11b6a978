//! An `id_token_hint`: an ID token this server issued, presented back as a hint
//! about the user — at the authorization endpoint (OpenID Connect Core §3.1.2.1)
//! and at the logout endpoint (RP-Initiated Logout 1.0 §2).
//!
//! Verified as an ID token (Core §3.1.3.7) in what matters for a hint:
//! - the signature, by a published key whose `kid` the header names, with that
//!   key's algorithm (never `none`, never another algorithm than the key's);
//! - `typ: JWT`, so that an access token (`at+jwt`, RFC 9068 §2.1) or a logout
//!   token (`logout+jwt`, Back-Channel Logout 1.0 §2.4) is never taken for one;
//! - `iss` exactly this issuer; `sub`, `aud`, `iat` present.
//!
//! Expiry is not checked: Core §3.1.2.1 says the hint need not be unexpired, and
//! RP-Initiated Logout §2 says an OP should accept an expired one, since an RP
//! logs out long after the ID token's `exp`. A hint therefore grants nothing: it
//! only says which user, client and session the relying party means.

use crate::keys::KeySet;
use jsonwebtoken::decode;
use serde::Deserialize;

/// What a verified hint says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The user's id (`sub`).
    pub sub: String,
    /// The client it was issued to (`aud`).
    pub client_id: String,
    /// The login session it was issued in (`sid`), when it carries one.
    pub sid: Option<String>,
}

#[derive(Deserialize)]
struct HintClaims {
    sub: String,
    aud: Audience,
    /// Required of every ID token (Core §2); read only to be required.
    #[allow(dead_code)]
    iat: u64,
    #[serde(default)]
    sid: Option<String>,
}

/// `aud` is one string in the ID tokens issued here; an array of exactly one is
/// read the same (Core §2 allows either).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Verifies `token` as an ID token of `issuer`, signed by one of `keys`; `None`
/// when it is not one, whatever the reason (the caller answers with its own
/// error, which need not say why).
pub fn verify(keys: &KeySet, issuer: &str, token: &str) -> Option<IdTokenHint> {
    if token.len() > 8192 {
        return None;
    }
    let (key, mut v) = keys.validation_for(token, "JWT")?;
    v.validate_aud = false;
    v.required_spec_claims = ["iss", "sub", "aud"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    v.set_issuer(&[issuer]);
    let claims = decode::<HintClaims>(token, &key.key, &v).ok()?.claims;
    let client_id = match claims.aud {
        Audience::One(a) => a,
        Audience::Many(mut a) if a.len() == 1 => a.remove(0),
        Audience::Many(_) => return None,
    };
    (!claims.sub.is_empty() && !client_id.is_empty()).then_some(IdTokenHint {
        sub: claims.sub,
        client_id,
        sid: claims.sid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyPair, KeyStatus, SigningAlgorithm, SigningKey};
    use jsonwebtoken::{Header, encode};
    use serde_json::{Value, json};

    fn keys(alg: SigningAlgorithm) -> (KeySet, SigningKey) {
        let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
        let signing = SigningKey::new(&pair.public.kid, alg, &pair.private);
        (KeySet::build(vec![pair.public], 2).unwrap(), signing)
    }

    fn token(s: &SigningKey, typ: Option<&str>, claims: &Value) -> String {
        let mut h = Header::new(s.alg.jwt_algorithm());
        h.typ = typ.map(str::to_owned);
        h.kid = Some(s.kid.clone());
        encode(&h, claims, s.encoding_key()).unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": "https://issuer", "sub": "user-7", "aud": "client-1",
            "iat": 100, "exp": 400, "auth_time": 90, "sid": "session-9",
            "at_hash": "x", "amr": ["pwd"]
        })
    }

    #[test]
    fn an_id_token_of_this_issuer_is_a_hint_even_when_expired() {
        for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let (set, s) = keys(alg);
            let hint = verify(&set, "https://issuer", &token(&s, Some("JWT"), &claims()));
            assert_eq!(
                hint,
                Some(IdTokenHint {
                    sub: "user-7".into(),
                    client_id: "client-1".into(),
                    sid: Some("session-9".into()),
                }),
                "{alg:?}"
            );
        }
        let (set, s) = keys(SigningAlgorithm::Rs256);
        let mut c = claims();
        c["aud"] = json!(["client-1"]);
        c.as_object_mut().unwrap().remove("sid");
        let hint = verify(&set, "https://issuer", &token(&s, Some("JWT"), &c)).unwrap();
        assert_eq!((hint.client_id.as_str(), hint.sid), ("client-1", None));
    }

    #[test]
    fn anything_else_is_no_hint() {
        let (set, s) = keys(SigningAlgorithm::Rs256);
        let (_, other_key) = keys(SigningAlgorithm::Rs256);
        let good = token(&s, Some("JWT"), &claims());
        assert!(verify(&set, "https://issuer", &good).is_some());
        let without = |name: &str| {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(name);
            token(&s, Some("JWT"), &c)
        };
        let with = |name: &str, value: Value| {
            let mut c = claims();
            c[name] = value;
            token(&s, Some("JWT"), &c)
        };
        let forged = {
            let mut h = Header::new(other_key.alg.jwt_algorithm());
            h.typ = Some("JWT".into());
            h.kid = Some(s.kid.clone());
            encode(&h, &claims(), other_key.encoding_key()).unwrap()
        };
        let mut tampered = good.clone();
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        for (why, t) in [
            ("another issuer", with("iss", json!("https://other"))),
            ("an access token", token(&s, Some("at+jwt"), &claims())),
            ("a logout token", token(&s, Some("logout+jwt"), &claims())),
            ("no typ", token(&s, None, &claims())),
            ("no sub", without("sub")),
            ("no aud", without("aud")),
            ("no iat", without("iat")),
            ("no iss", without("iss")),
            ("an empty sub", with("sub", json!(""))),
            ("two audiences", with("aud", json!(["a", "b"]))),
            ("signed by an unpublished key", forged),
            ("a tampered signature", tampered),
            ("not a JWT", "abc".into()),
            ("empty", String::new()),
            ("too long", "a".repeat(9000)),
        ] {
            assert_eq!(verify(&set, "https://issuer", &t), None, "{why}");
        }
        let unsigned = format!(
            "{}.{}.",
            base64_url(r#"{"alg":"none","typ":"JWT","kid":"k"}"#),
            base64_url(&claims().to_string())
        );
        assert_eq!(verify(&set, "https://issuer", &unsigned), None, "alg none");
    }

    fn base64_url(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }
}
