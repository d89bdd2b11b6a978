//! Mapping between domain types and DynamoDB attribute maps.

use super::StoreError;
use crate::domain::client::{Client, ClientType, GrantType, PreviousSecret};
use crate::domain::federated_identity::FederatedIdentity;
use crate::domain::grant::{
    CodeBinding, CodeState, Grant, GrantOwner, GrantState, RefreshState, RevokeReason,
};
use crate::domain::pkce::{ChallengeMethod, CodeChallenge};
use crate::domain::scope::Scope;
use crate::domain::session::LoginSession;
use crate::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use crate::domain::upstream_state::UpstreamState;
use crate::domain::user::{Profile, User, UserState};
use crate::keys::{KeyStatus, PrivateKeyDer, SigningAlgorithm, StoredKey};
use crate::secret::{Secret, SecretHash};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::str::FromStr;

pub type Item = HashMap<String, AttributeValue>;

/// How long a record outlives its expiry before DynamoDB's TTL may delete it:
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
    if let Some(m) = c.token_endpoint_auth_method {
        item.insert("token_endpoint_auth_method".into(), s(m.as_str()));
    }
    if c.require_pkce {
        item.insert("require_pkce".into(), AttributeValue::Bool(true));
    }
    if !c.post_logout_redirect_uris.is_empty() {
        item.insert(
            "post_logout_redirect_uris".into(),
            list(c.post_logout_redirect_uris.iter().cloned()),
        );
    }
    if let Some(uri) = &c.backchannel_logout_uri {
        item.insert("backchannel_logout_uri".into(), s(uri));
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
        // Absent on clients stored before the method was recorded.
        token_endpoint_auth_method: match item.get("token_endpoint_auth_method") {
            None => None,
            Some(_) => Some(parse::<TokenEndpointAuthMethod>(
                item,
                "token_endpoint_auth_method",
            )?),
        },
        require_pkce: matches!(item.get("require_pkce"), Some(AttributeValue::Bool(true))),
        // Absent on clients stored before they were registered: none.
        post_logout_redirect_uris: get_list(item, "post_logout_redirect_uris")?,
        // Absent on clients without one, and on those stored before it was kept.
        backchannel_logout_uri: get_opt_s(item, "backchannel_logout_uri"),
        created_at: get_n(item, "created_at")?,
    })
}

pub fn grant_to_item(g: &Grant) -> Item {
    let mut item = Item::from([
        ("grant_id".into(), s(&g.grant_id)),
        ("client_id".into(), s(&g.client_id)),
        ("user_id".into(), s(&g.user.user_id)),
        ("username".into(), s(&g.user.username)),
        ("user_epoch".into(), n(g.user.epoch)),
        ("scope".into(), s(g.scope.to_string())),
        ("created_at".into(), n(g.created_at)),
        ("last_used_at".into(), n(g.last_used_at)),
        ("session_id".into(), s(&g.session_id)),
        ("auth_time".into(), n(g.auth_time)),
        ("code_hash".into(), s(g.code.hash.as_str())),
        ("redirect_uri".into(), s(&g.code.binding.redirect_uri)),
        (
            "redirect_uri_in_request".into(),
            AttributeValue::Bool(g.code.binding.redirect_uri_in_request),
        ),
        ("code_expires_at".into(), n(g.code.expires_at)),
        ("expires_at".into(), n(g.expires_at)),
        ("ttl".into(), n(g.expires_at + TTL_GRACE_SECONDS)),
    ]);
    match &g.state {
        GrantState::Live => {
            item.insert("state".into(), s("live"));
        }
        GrantState::Revoked { at, reason } => {
            item.insert("state".into(), s("revoked"));
            item.insert("revoked_at".into(), n(*at));
            item.insert("revoked_reason".into(), s(reason.as_str()));
        }
    }
    if let Some(ch) = &g.code.binding.challenge {
        item.insert("code_challenge".into(), s(&ch.challenge));
        item.insert("code_challenge_method".into(), s(ch.method.as_str()));
    }
    if !g.amr.is_empty() {
        item.insert("amr".into(), s(&g.amr));
    }
    if let Some(nonce) = &g.code.binding.nonce {
        item.insert("nonce".into(), s(nonce));
    }
    if let Some(at) = g.code.redeemed_at {
        item.insert("code_redeemed_at".into(), n(at));
    }
    if let Some(r) = &g.refresh {
        item.insert("refresh_generation".into(), n(r.generation));
        item.insert("refresh_parent".into(), n(r.parent));
        item.insert("refresh_issued_at".into(), n(r.issued_at));
        item.insert("refresh_expires_at".into(), n(r.expires_at));
    }
    item
}

pub fn grant_from_item(item: &Item) -> Result<Grant, StoreError> {
    let state = match get_s(item, "state")?.as_str() {
        "live" => GrantState::Live,
        "revoked" => GrantState::Revoked {
            at: get_n(item, "revoked_at")?,
            reason: parse::<RevokeReason>(item, "revoked_reason")?,
        },
        other => return Err(StoreError::Corrupt(format!("grant state `{other}`"))),
    };
    let refresh = match get_opt_n(item, "refresh_generation") {
        None => None,
        Some(generation) => Some(RefreshState {
            generation,
            parent: get_n(item, "refresh_parent")?,
            issued_at: get_n(item, "refresh_issued_at")?,
            expires_at: get_n(item, "refresh_expires_at")?,
        }),
    };
    Ok(Grant {
        grant_id: get_s(item, "grant_id")?,
        client_id: get_s(item, "client_id")?,
        user: GrantOwner {
            user_id: get_s(item, "user_id")?,
            username: get_s(item, "username")?,
            epoch: get_n(item, "user_epoch")?,
        },
        scope: scope(item, "scope")?,
        created_at: get_n(item, "created_at")?,
        last_used_at: get_n(item, "last_used_at")?,
        session_id: get_s(item, "session_id")?,
        auth_time: get_n(item, "auth_time")?,
        amr: get_opt_s(item, "amr").unwrap_or_default(),
        state,
        code: CodeState {
            hash: SecretHash::from_stored(get_s(item, "code_hash")?),
            binding: CodeBinding {
                redirect_uri: get_s(item, "redirect_uri")?,
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
                nonce: get_opt_s(item, "nonce"),
            },
            expires_at: get_n(item, "code_expires_at")?,
            redeemed_at: get_opt_n(item, "code_redeemed_at"),
        },
        refresh,
        expires_at: get_n(item, "expires_at")?,
    })
}

pub fn session_to_item(x: &LoginSession) -> Item {
    let mut item = Item::from([
        ("session_id".into(), s(&x.session_id)),
        ("secret_hash".into(), s(x.secret_hash.as_str())),
        ("user_id".into(), s(&x.user_id)),
        ("username".into(), s(&x.username)),
        ("user_epoch".into(), n(x.user_epoch)),
        ("auth_time".into(), n(x.auth_time)),
        ("amr".into(), s(&x.amr)),
        ("created_at".into(), n(x.created_at)),
        ("last_seen_at".into(), n(x.last_seen_at)),
        ("expires_at".into(), n(x.expires_at)),
        ("ttl".into(), n(x.expires_at + TTL_GRACE_SECONDS)),
    ]);
    if let Some(at) = x.ended_at {
        item.insert("ended_at".into(), n(at));
    }
    item
}

pub fn session_from_item(item: &Item) -> Result<LoginSession, StoreError> {
    Ok(LoginSession {
        session_id: get_s(item, "session_id")?,
        secret_hash: SecretHash::from_stored(get_s(item, "secret_hash")?),
        user_id: get_s(item, "user_id")?,
        username: get_s(item, "username")?,
        user_epoch: get_n(item, "user_epoch")?,
        auth_time: get_n(item, "auth_time")?,
        amr: get_s(item, "amr")?,
        created_at: get_n(item, "created_at")?,
        last_seen_at: get_n(item, "last_seen_at")?,
        expires_at: get_n(item, "expires_at")?,
        ended_at: get_opt_n(item, "ended_at"),
    })
}

pub fn user_to_item(u: &User) -> Item {
    let mut item = Item::from([
        ("username".into(), s(&u.username)),
        ("user_id".into(), s(&u.user_id)),
        ("disabled".into(), AttributeValue::Bool(u.disabled)),
        ("created_at".into(), n(u.created_at)),
        ("password_changed_at".into(), n(u.password_changed_at)),
        ("epoch".into(), n(u.epoch)),
    ]);
    if let Some(hash) = &u.password_hash {
        item.insert("password_hash".into(), s(hash));
    }
    item.extend(profile_to_attributes(&u.profile));
    item
}

/// The profile's attributes: the claims that have a value, `email_verified`,
/// `updated_at`, and with an e-mail address its `email_key`
/// ([`crate::domain::user::email_key`], the key of the users' `email-index`).
pub fn profile_to_attributes(p: &Profile) -> Item {
    let mut item = Item::from([
        (
            "email_verified".into(),
            AttributeValue::Bool(p.email_verified),
        ),
        ("updated_at".into(), n(p.updated_at)),
    ]);
    for (attr, value) in profile_texts(p) {
        if let Some(v) = value {
            item.insert(attr.into(), s(v));
        }
    }
    if let Some(email) = p.email.as_deref().filter(|e| !e.is_empty()) {
        item.insert(EMAIL_KEY.into(), s(crate::domain::user::email_key(email)));
    }
    item
}

/// The users-table attribute holding [`crate::domain::user::email_key`].
pub const EMAIL_KEY: &str = "email_key";

/// The profile's optional text attributes and their values.
pub fn profile_texts(p: &Profile) -> [(&'static str, &Option<String>); 4] {
    [
        ("email", &p.email),
        ("name", &p.name),
        ("given_name", &p.given_name),
        ("family_name", &p.family_name),
    ]
}

/// A profile read from a users-table item. A user stored before profiles
/// existed has none: no claims, `updated_at` its creation.
fn profile_from_item(item: &Item) -> Result<Profile, StoreError> {
    let updated_at = match get_opt_n(item, "updated_at") {
        Some(t) => t,
        None => get_n(item, "created_at")?,
    };
    Ok(Profile {
        email: get_opt_s(item, "email"),
        email_verified: matches!(item.get("email_verified"), Some(AttributeValue::Bool(true))),
        name: get_opt_s(item, "name"),
        given_name: get_opt_s(item, "given_name"),
        family_name: get_opt_s(item, "family_name"),
        updated_at,
    })
}

/// The attributes [`user_profile_from_item`] reads, for the UserInfo endpoint:
/// never the password hash.
pub const USER_PROFILE_ATTRIBUTES: [&str; 9] = [
    "username",
    "user_id",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "updated_at",
    "created_at",
];

/// What the UserInfo endpoint reads of a user.
pub fn user_profile_from_item(item: &Item) -> Result<crate::store::UserProfile, StoreError> {
    Ok(crate::store::UserProfile {
        username: get_s(item, "username")?,
        user_id: get_s(item, "user_id")?,
        profile: profile_from_item(item)?,
    })
}

pub fn user_from_item(item: &Item) -> Result<User, StoreError> {
    Ok(User {
        username: get_s(item, "username")?,
        user_id: get_s(item, "user_id")?,
        password_hash: get_opt_s(item, "password_hash"),
        disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
        created_at: get_n(item, "created_at")?,
        password_changed_at: get_n(item, "password_changed_at")?,
        epoch: get_n(item, "epoch")?,
        profile: profile_from_item(item)?,
    })
}

/// The attributes [`user_state_from_item`] reads: never the password hash.
pub const USER_STATE_ATTRIBUTES: [&str; 4] = ["username", "user_id", "disabled", "epoch"];

pub fn user_state_from_item(item: &Item) -> Result<UserState, StoreError> {
    Ok(UserState {
        username: get_s(item, "username")?,
        user_id: get_s(item, "user_id")?,
        disabled: matches!(item.get("disabled"), Some(AttributeValue::Bool(true))),
        epoch: get_n(item, "epoch")?,
    })
}

/// Whether a keys-table item holds a deployment HMAC key, not a signing key.
/// The attributes of a signing key's public record: what the keys table's Scan
/// projects, so that no other attribute (a private key left by an older version)
/// is ever read by a verifier.
pub const PUBLIC_KEY_ATTRIBUTES: [&str; 8] = [
    "kid",
    "alg",
    "status",
    "public_jwk",
    "created_at",
    "activated_at",
    "retired_at",
    "publish_until",
];

pub fn key_to_item(k: &StoredKey) -> Item {
    let mut item = Item::from([
        ("kid".into(), s(&k.kid)),
        ("alg".into(), s(k.alg.as_str())),
        ("status".into(), s(k.status.as_str())),
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
        public_jwk: get_s(item, "public_jwk")?,
        created_at: get_n(item, "created_at")?,
        activated_at: get_opt_n(item, "activated_at"),
        retired_at: get_opt_n(item, "retired_at"),
        publish_until: get_opt_n(item, "publish_until"),
    })
}

/// The secrets-table item name of the private half of signing key `kid`.
pub fn private_key_name(kid: &str) -> String {
    format!("signing/{kid}")
}

pub fn private_key_to_item(kid: &str, der: &PrivateKeyDer) -> Item {
    Item::from([
        ("name".into(), s(private_key_name(kid))),
        (
            "private_der".into(),
            AttributeValue::B(Blob::new(der.0.clone())),
        ),
    ])
}

pub fn private_key_from_item(item: &Item) -> Result<PrivateKeyDer, StoreError> {
    item.get("private_der")
        .and_then(|v| v.as_b().ok())
        .map(|b| PrivateKeyDer(b.as_ref().to_vec()))
        .ok_or_else(|| corrupt("private_der"))
}

pub fn upstream_state_to_item(x: &UpstreamState) -> Item {
    Item::from([
        ("state_hash".into(), s(x.state_hash.as_str())),
        ("provider_id".into(), s(&x.provider_id)),
        ("browser_hash".into(), s(x.browser_hash.as_str())),
        ("nonce".into(), s(x.nonce.expose())),
        ("pkce_verifier".into(), s(x.pkce_verifier.expose())),
        ("downstream_request".into(), s(&x.downstream_request)),
        ("created_at".into(), n(x.created_at)),
        ("expires_at".into(), n(x.expires_at)),
        ("ttl".into(), n(x.expires_at)),
    ])
}

pub fn upstream_state_from_item(item: &Item) -> Result<UpstreamState, StoreError> {
    Ok(UpstreamState {
        state_hash: SecretHash::from_stored(get_s(item, "state_hash")?),
        provider_id: get_s(item, "provider_id")?,
        browser_hash: SecretHash::from_stored(get_s(item, "browser_hash")?),
        nonce: Secret::new(get_s(item, "nonce")?),
        pkce_verifier: Secret::new(get_s(item, "pkce_verifier")?),
        downstream_request: get_s(item, "downstream_request")?,
        created_at: get_n(item, "created_at")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

pub fn identity_to_item(x: &FederatedIdentity) -> Item {
    let mut item = Item::from([
        ("identity_key".into(), s(x.key())),
        ("issuer".into(), s(&x.issuer)),
        ("subject".into(), s(&x.subject)),
        ("provider_id".into(), s(&x.provider_id)),
        ("user_id".into(), s(&x.user_id)),
        ("username".into(), s(&x.username)),
        ("linked_at".into(), n(x.linked_at)),
    ]);
    if let Some(email) = &x.email_at_link {
        item.insert("email_at_link".into(), s(email));
    }
    item
}

/// An identities-table item; its key must be the encoding of its issuer and
/// subject, or the item is corrupt.
pub fn identity_from_item(item: &Item) -> Result<FederatedIdentity, StoreError> {
    let x = FederatedIdentity {
        issuer: get_s(item, "issuer")?,
        subject: get_s(item, "subject")?,
        provider_id: get_s(item, "provider_id")?,
        user_id: get_s(item, "user_id")?,
        username: get_s(item, "username")?,
        email_at_link: get_opt_s(item, "email_at_link"),
        linked_at: get_n(item, "linked_at")?,
    };
    if get_s(item, "identity_key")? != x.key() {
        return Err(StoreError::Corrupt(
            "identity key does not match its issuer and subject".into(),
        ));
    }
    Ok(x)
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
            token_endpoint_auth_method: Some(TokenEndpointAuthMethod::ClientSecretPost),
            require_pkce: true,
            post_logout_redirect_uris: vec!["https://a.example/out".into()],
            backchannel_logout_uri: Some("https://a.example/logout".into()),
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
        p.token_endpoint_auth_method = Some(TokenEndpointAuthMethod::None);
        p.require_pkce = false;
        p.post_logout_redirect_uris = vec![];
        p.backchannel_logout_uri = None;
        assert_eq!(client_from_item(&client_to_item(&p)).unwrap(), p);
    }

    #[test]
    fn a_client_stored_before_post_logout_redirect_uris_has_none() {
        let mut item = client_to_item(&client());
        item.remove("post_logout_redirect_uris");
        assert!(
            client_from_item(&item)
                .unwrap()
                .post_logout_redirect_uris
                .is_empty()
        );
        item.insert(
            "post_logout_redirect_uris".into(),
            s("https://a.example/out"),
        );
        assert!(client_from_item(&item).is_err(), "a string is not a list");
    }

    #[test]
    fn a_client_stored_before_the_method_and_pkce_flag_reads_without_them() {
        let mut item = client_to_item(&client());
        item.remove("token_endpoint_auth_method");
        item.remove("require_pkce");
        item.remove("backchannel_logout_uri");
        let c = client_from_item(&item).unwrap();
        assert_eq!(c.token_endpoint_auth_method, None);
        assert!(!c.require_pkce);
        assert_eq!(c.backchannel_logout_uri, None);
        let mut bad = client_to_item(&client());
        bad.insert("token_endpoint_auth_method".into(), s("private_key_jwt"));
        assert!(client_from_item(&bad).is_err());
        bad.insert("token_endpoint_auth_method".into(), n(1));
        assert!(client_from_item(&bad).is_err());
    }

    fn grant() -> Grant {
        Grant {
            grant_id: "g".into(),
            client_id: "c".into(),
            user: GrantOwner {
                user_id: "u".into(),
                username: "alice".into(),
                epoch: 3,
            },
            scope: Scope::parse("read write").unwrap(),
            created_at: 10,
            last_used_at: 11,
            session_id: "s".into(),
            auth_time: 9,
            amr: "pwd".into(),
            state: GrantState::Live,
            code: CodeState {
                hash: SecretHash::of("code"),
                binding: CodeBinding {
                    redirect_uri: "https://a.example/cb".into(),
                    redirect_uri_in_request: true,
                    challenge: Some(CodeChallenge {
                        challenge: "x".repeat(43),
                        method: ChallengeMethod::S256,
                    }),
                    nonce: Some("n-0S6_WzA2Mj".into()),
                },
                expires_at: 70,
                redeemed_at: None,
            },
            refresh: None,
            expires_at: 80,
        }
    }

    #[test]
    fn grants_round_trip_and_carry_a_ttl_past_expiry() {
        let g = grant();
        let item = grant_to_item(&g);
        assert_eq!(item["ttl"], n(80 + TTL_GRACE_SECONDS));
        assert!(!format!("{item:?}").contains("\"code\""));
        assert_eq!(grant_from_item(&item).unwrap(), g);
        let mut used = grant();
        used.state = GrantState::Revoked {
            at: 50,
            reason: RevokeReason::RefreshReuse,
        };
        used.code.redeemed_at = Some(20);
        used.code.binding.challenge = None;
        used.code.binding.redirect_uri_in_request = false;
        used.code.binding.nonce = None;
        used.amr = String::new();
        used.refresh = Some(RefreshState {
            generation: 4,
            parent: 2,
            issued_at: 30,
            expires_at: 90,
        });
        assert_eq!(grant_from_item(&grant_to_item(&used)).unwrap(), used);
        let mut bad = grant_to_item(&g);
        bad.insert("state".into(), s("maybe"));
        assert!(grant_from_item(&bad).is_err());
    }

    #[test]
    fn sessions_round_trip_through_items() {
        let x = LoginSession {
            session_id: "s".into(),
            secret_hash: SecretHash::of("secret"),
            user_id: "u".into(),
            username: "alice".into(),
            user_epoch: 1,
            auth_time: 5,
            amr: "pwd".into(),
            created_at: 5,
            last_seen_at: 6,
            expires_at: 9,
            ended_at: Some(7),
        };
        let item = session_to_item(&x);
        assert!(!format!("{item:?}").contains("\"secret\""));
        assert_eq!(session_from_item(&item).unwrap(), x);
    }

    #[test]
    fn users_round_trip_through_items() {
        let u = User {
            username: "alice".into(),
            user_id: "u1".into(),
            password_hash: Some("$argon2id$v=19$x".into()),
            disabled: true,
            created_at: 3,
            password_changed_at: 4,
            epoch: 2,
            profile: Profile {
                email: Some("alice@example.com".into()),
                email_verified: true,
                name: None,
                given_name: Some("Alice".into()),
                family_name: None,
                updated_at: 5,
            },
        };
        assert_eq!(user_from_item(&user_to_item(&u)).unwrap(), u);
        let profile = user_profile_from_item(&user_to_item(&u)).unwrap();
        assert_eq!(profile.profile, u.profile);
        let mut old = user_to_item(&u);
        for a in ["email", "email_verified", "given_name", "updated_at"] {
            old.remove(a);
        }
        let p = user_from_item(&old).unwrap().profile;
        assert_eq!(
            p.updated_at, 3,
            "a user stored before profiles: its creation"
        );
        assert_eq!(p.email, None);
        let mut item = user_to_item(&u);
        item.remove("user_id");
        assert!(user_from_item(&item).is_err());
        let federated = User {
            password_hash: None,
            ..u.clone()
        };
        let item = user_to_item(&federated);
        assert!(!item.contains_key("password_hash"), "no empty hash stored");
        assert_eq!(user_from_item(&item).unwrap(), federated);
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
        assert!(grant_from_item(&Item::new()).is_err());
        assert!(session_from_item(&Item::new()).is_err());
        assert!(key_from_item(&Item::new()).is_err());
    }

    #[test]
    fn keys_round_trip_through_items() {
        let pair =
            crate::keys::KeyPair::generate(SigningAlgorithm::Es256, KeyStatus::Retired, 1).unwrap();
        let mut k = pair.public;
        k.retired_at = Some(2);
        k.publish_until = Some(3);
        let item = key_to_item(&k);
        assert_eq!(item["ttl"], n(3 + TTL_GRACE_SECONDS));
        assert!(!item.contains_key("private_der"), "public records only");
        assert_eq!(key_from_item(&item).unwrap(), k);
        let private = private_key_to_item(&k.kid, &pair.private);
        assert_eq!(private["name"], s(format!("signing/{}", k.kid)));
        assert_eq!(private_key_from_item(&private).unwrap(), pair.private);
    }
}
