//! Mapping between domain types and DynamoDB attribute maps.

use super::StoreError;
use crate::domain::client::{Client, ClientType, GrantType, PreviousSecret};
use crate::domain::pkce::{ChallengeMethod, CodeChallenge};
use crate::domain::scope::Scope;
use crate::domain::token::{CodeBinding, TokenKind, TokenRecord};
use crate::domain::user::User;
use crate::keys::{KeyStatus, PrivateKeyDer, SigningAlgorithm, StoredKey};
use crate::secret::SecretHash;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::str::FromStr;

pub type Item = HashMap<String, AttributeValue>;

/// How long a token record outlives its expiry before DynamoDB's TTL may delete it:
/// long enough to recognise a replayed code or refresh token as a replay.
pub const TTL_GRACE_SECONDS: u64 = 24 * 3600;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn corrupt(attr: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "attribute `{attr}` is missing or has the wrong type"
    ))
}

fn get_s(item: &Item, attr: &str) -> Result<String, StoreError> {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| corrupt(attr))
}

fn get_opt_s(item: &Item, attr: &str) -> Option<String> {
    item.get(attr).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &Item, attr: &str) -> Result<u64, StoreError> {
    item.get(attr)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(attr))
}

fn get_opt_n(item: &Item, attr: &str) -> Option<u64> {
    item.get(attr)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn get_list(item: &Item, attr: &str) -> Result<Vec<String>, StoreError> {
    match item.get(attr) {
        None => Ok(Vec::new()),
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|v| v.as_s().cloned().map_err(|_| corrupt(attr)))
            .collect(),
        Some(_) => Err(corrupt(attr)),
    }
}

fn list(values: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(AttributeValue::S).collect())
}

fn parse<T: FromStr<Err = String>>(item: &Item, attr: &str) -> Result<T, StoreError> {
    get_s(item, attr)?.parse().map_err(StoreError::Corrupt)
}

fn scope(item: &Item, attr: &str) -> Result<Scope, StoreError> {
    Scope::parse(&get_s(item, attr)?).ok_or_else(|| corrupt(attr))
}

pub fn client_to_item(c: &Client) -> Item {
    let mut item = Item::from([
        ("client_id".into(), s(&c.client_id)),
        ("name".into(), s(&c.name)),
        ("client_type".into(), s(c.client_type.as_str())),
        (
            "redirect_uris".into(),
            list(c.redirect_uris.iter().cloned()),
        ),
        (
            "grant_types".into(),
            list(c.grant_types.iter().map(|g| g.as_str().to_owned())),
        ),
        ("allowed_scope".into(), s(c.allowed_scope.to_string())),
        ("default_scope".into(), s(c.default_scope.to_string())),
        (
            "introspect_any".into(),
            AttributeValue::Bool(c.introspect_any),
        ),
        ("skip_consent".into(), AttributeValue::Bool(c.skip_consent)),
        ("created_at".into(), n(c.created_at)),
    ]);
    if let Some(h) = &c.secret_hash {
        item.insert("secret_hash".into(), s(h.as_str()));
    }
    if let Some(p) = &c.previous_secret {
        item.insert("previous_secret_hash".into(), s(p.hash.as_str()));
        item.insert("previous_secret_valid_until".into(), n(p.valid_until));
    }
    if let Some(ttl) = c.access_token_ttl {
        item.insert("access_token_ttl".into(), n(ttl));
    }
    item
}

pub fn client_from_item(item: &Item) -> Result<Client, StoreError> {
    Ok(Client {
        client_id: get_s(item, "client_id")?,
        name: get_s(item, "name")?,
        client_type: parse::<ClientType>(item, "client_type")?,
        secret_hash: get_opt_s(item, "secret_hash").map(SecretHash::from_stored),
        previous_secret: match (
            get_opt_s(item, "previous_secret_hash"),
            get_opt_n(item, "previous_secret_valid_until"),
        ) {
            (Some(h), Some(until)) => Some(PreviousSecret {
                hash: SecretHash::from_stored(h),
                valid_until: until,
            }),
            _ => None,
        },
        redirect_uris: get_list(item, "redirect_uris")?,
        grant_types: get_list(item, "grant_types")?
            .iter()
            .map(|g| g.parse::<GrantType>().map_err(StoreError::Corrupt))
            .collect::<Result<_, _>>()?,
        allowed_scope: scope(item, "allowed_scope")?,
        default_scope: scope(item, "default_scope")?,
        access_token_ttl: get_opt_n(item, "access_token_ttl"),
        introspect_any: matches!(item.get("introspect_any"), Some(AttributeValue::Bool(true))),
        skip_consent: matches!(item.get("skip_consent"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at")?,
    })
}

pub fn token_to_item(t: &TokenRecord) -> Item {
    let mut item = Item::from([
        ("token_hash".into(), s(t.token_hash.as_str())),
        ("kind".into(), s(t.kind.as_str())),
        ("client_id".into(), s(&t.client_id)),
        ("sub".into(), s(&t.subject)),
        ("scope".into(), s(t.scope.to_string())),
        ("aud".into(), s(&t.audience)),
        ("grant_id".into(), s(&t.grant_id)),
        ("iat".into(), n(t.issued_at)),
        ("exp".into(), n(t.expires_at)),
        ("ttl".into(), n(t.expires_at + TTL_GRACE_SECONDS)),
        ("revoked".into(), AttributeValue::Bool(t.revoked)),
    ]);
    if let Some(jti) = &t.jti {
        item.insert("jti".into(), s(jti));
    }
    if let Some(u) = &t.username {
        item.insert("username".into(), s(u));
    }
    if let Some(c) = &t.code {
        item.insert("redirect_uri".into(), s(&c.redirect_uri));
        item.insert(
            "redirect_uri_in_request".into(),
            AttributeValue::Bool(c.redirect_uri_in_request),
        );
        if let Some(ch) = &c.challenge {
            item.insert("code_challenge".into(), s(&ch.challenge));
            item.insert("code_challenge_method".into(), s(ch.method.as_str()));
        }
    }
    if let Some(at) = t.used_at {
        item.insert("used_at".into(), n(at));
    }
    item
}

pub fn token_from_item(item: &Item) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        token_hash: SecretHash::from_stored(get_s(item, "token_hash")?),
        kind: parse::<TokenKind>(item, "kind")?,
        client_id: get_s(item, "client_id")?,
        subject: get_s(item, "sub")?,
        scope: scope(item, "scope")?,
        audience: get_s(item, "aud")?,
        grant_id: get_s(item, "grant_id")?,
        jti: get_opt_s(item, "jti"),
        issued_at: get_n(item, "iat")?,
        expires_at: get_n(item, "exp")?,
        revoked: matches!(item.get("revoked"), Some(AttributeValue::Bool(true))),
        username: get_opt_s(item, "username"),
        code: match get_opt_s(item, "redirect_uri") {
            None => None,
            Some(redirect_uri) => Some(CodeBinding {
                redirect_uri,
                redirect_uri_in_request: matches!(
                    item.get("redirect_uri_in_request"),
                    Some(AttributeValue::Bool(true))
                ),
                challenge: match get_opt_s(item, "code_challenge") {
                    None => None,
                    Some(challenge) => Some(CodeChallenge {
                        challenge,
                        method: parse::<ChallengeMethod>(item, "code_challenge_method")?,
                    }),
                },
            }),
        },
        used_at: get_opt_n(item, "used_at"),
    })
}

pub fn user_to_item(u: &User) -> Item {
    Item::from([
        ("username".into(), s(&u.username)),
        ("user_id".into(), s(&u.user_id)),
        ("password_hash".into(), s(&u.password_hash)),
        ("disabled".into(), AttributeValue::Bool(u.disabled)),
        ("created_at".into(), n(u.created_at)),
        ("password_changed_at".into(), n(u.password_changed_at)),
    ])
}

pub fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        username: get_s(item, "username")?,
        user_id: get_s(item, "user_id")?,
        password_hash: get_s(item, "password_hash")?,
        disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at")?,
        password_changed_at: get_n(item, "password_changed_at")?,
    })
}

/// The keys-table item that holds the session key: not a signing key.
pub const SESSION_KEY_KID: &str = "session-key";

pub fn is_session_key_item(item: &Item) -> bool {
    matches!(item.get("kid"), Some(AttributeValue::S(k)) if k == SESSION_KEY_KID)
}

pub fn key_to_item(k: &StoredKey) -> Item {
    let mut item = Item::from([
        ("kid".into(), s(&k.kid)),
        ("alg".into(), s(k.alg.as_str())),
        ("status".into(), s(k.status.as_str())),
        (
            "private_der".into(),
            AttributeValue::B(Blob::new(k.private_der.0.clone())),
        ),
        ("public_jwk".into(), s(&k.public_jwk)),
        ("created_at".into(), n(k.created_at)),
    ]);
    if let Some(t) = k.activated_at {
        item.insert("activated_at".into(), n(t));
    }
    if let Some(t) = k.retired_at {
        item.insert("retired_at".into(), n(t));
    }
    if let Some(t) = k.publish_until {
        item.insert("publish_until".into(), n(t));
        item.insert("ttl".into(), n(t + TTL_GRACE_SECONDS));
    }
    item
}

pub fn key_from_item(item: &Item) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        kid: get_s(item, "kid")?,
        alg: parse::<SigningAlgorithm>(item, "alg")?,
        status: parse::<KeyStatus>(item, "status")?,
        private_der: PrivateKeyDer(
            item.get("private_der")
                .and_then(|v| v.as_b().ok())
                .map(|b| b.as_ref().to_vec())
                .ok_or_else(|| corrupt("private_der"))?,
        ),
        public_jwk: get_s(item, "public_jwk")?,
        created_at: get_n(item, "created_at")?,
        activated_at: get_opt_n(item, "activated_at"),
        retired_at: get_opt_n(item, "retired_at"),
        publish_until: get_opt_n(item, "publish_until"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            client_id: "c1".into(),
            name: "App".into(),
            client_type: ClientType::Confidential,
            secret_hash: Some(SecretHash::of("s")),
            previous_secret: Some(PreviousSecret {
                hash: SecretHash::of("old"),
                valid_until: 9,
            }),
            redirect_uris: vec!["https://a.example/cb".into()],
            grant_types: vec![GrantType::ClientCredentials, GrantType::AuthorizationCode],
            allowed_scope: Scope::parse("read write").unwrap(),
            default_scope: Scope::parse("read").unwrap(),
            access_token_ttl: Some(600),
            introspect_any: true,
            skip_consent: false,
            created_at: 5,
        }
    }

    #[test]
    fn clients_round_trip_through_items() {
        let c = client();
        assert_eq!(client_from_item(&client_to_item(&c)).unwrap(), c);
        let mut p = client();
        p.client_type = ClientType::Public;
        p.secret_hash = None;
        p.previous_secret = None;
        p.access_token_ttl = None;
        p.default_scope = Scope::default();
        assert_eq!(client_from_item(&client_to_item(&p)).unwrap(), p);
    }

    #[test]
    fn tokens_round_trip_and_carry_a_ttl_past_expiry() {
        let t = TokenRecord {
            token_hash: SecretHash::of("tok"),
            kind: TokenKind::AccessToken,
            client_id: "c".into(),
            subject: "c".into(),
            scope: Scope::parse("read").unwrap(),
            audience: "https://api".into(),
            grant_id: "g".into(),
            jti: Some("j".into()),
            issued_at: 10,
            expires_at: 20,
            revoked: false,
            username: None,
            code: None,
            used_at: None,
        };
        let item = token_to_item(&t);
        assert_eq!(item["ttl"], n(20 + TTL_GRACE_SECONDS));
        assert!(!format!("{item:?}").contains("\"tok\""));
        assert_eq!(token_from_item(&item).unwrap(), t);
        let code = TokenRecord {
            kind: TokenKind::AuthorizationCode,
            username: Some("alice".into()),
            code: Some(CodeBinding {
                redirect_uri: "https://a.example/cb".into(),
                redirect_uri_in_request: true,
                challenge: Some(CodeChallenge {
                    challenge: "x".repeat(43),
                    method: ChallengeMethod::S256,
                }),
            }),
            used_at: Some(15),
            ..t.clone()
        };
        assert_eq!(token_from_item(&token_to_item(&code)).unwrap(), code);
        let no_pkce = TokenRecord {
            code: Some(CodeBinding {
                redirect_uri: "https://a.example/cb".into(),
                redirect_uri_in_request: false,
                challenge: None,
            }),
            ..code
        };
        assert_eq!(token_from_item(&token_to_item(&no_pkce)).unwrap(), no_pkce);
    }

    #[test]
    fn users_round_trip_through_items() {
        let u = User {
            username: "alice".into(),
            user_id: "u1".into(),
            password_hash: "$argon2id$v=19$x".into(),
            disabled: true,
            created_at: 3,
            password_changed_at: 4,
        };
        assert_eq!(user_from_item(&user_to_item(&u)).unwrap(), u);
        let mut item = user_to_item(&u);
        item.remove("user_id");
        assert!(user_from_item(&item).is_err());
    }

    #[test]
    fn corrupt_items_are_errors_not_panics() {
        let mut item = client_to_item(&client());
        item.insert("client_type".into(), s("bogus"));
        assert!(client_from_item(&item).is_err());
        item.remove("name");
        assert!(client_from_item(&item).is_err());
        let mut item = client_to_item(&client());
        item.insert("created_at".into(), s("x"));
        assert!(client_from_item(&item).is_err());
        assert!(token_from_item(&Item::new()).is_err());
        assert!(key_from_item(&Item::new()).is_err());
    }

    #[test]
    fn keys_round_trip_through_items() {
        let mut k = StoredKey::generate(SigningAlgorithm::Es256, KeyStatus::Retired, 1).unwrap();
        k.retired_at = Some(2);
        k.publish_until = Some(3);
        let item = key_to_item(&k);
        assert_eq!(item["ttl"], n(3 + TTL_GRACE_SECONDS));
        assert_eq!(key_from_item(&item).unwrap(), k);
    }
}
