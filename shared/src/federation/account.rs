//! Which local user a verified upstream identity signs in as (issue 12 §4).
//!
//! - An identity is found by (issuer, `sub`) only, never by e-mail (OpenID
//!   Connect Core §5.7): a linked identity signs in as its user (the same user
//!   id: a link left by a deleted user is removed, and the identity is new).
//! - An identity seen for the first time, whose e-mail address no local user
//!   has: a user is created just in time, with the identity, in one
//!   transaction, and the profile claims the provider released (its e-mail
//!   verified only when the provider is trusted for it).
//! - A local user has that address already: nothing links by default. The
//!   person chooses on the linking page ([`crate::federation::pending_link`]):
//!   that account's password links it, or they continue as a new user.
//! - Only when the provider was added with `--trust-email`, its
//!   `email_verified` is the boolean `true`
//!   ([`crate::domain::provider_quirks::email_is_trustworthy`]), and exactly
//!   one enabled local user has the address with their own e-mail verified,
//!   does the identity link to that user on its own.

use crate::app::now;
use crate::domain::federated_identity::FederatedIdentity;
use crate::domain::federated_username;
use crate::domain::user::{Profile, ProfileChange, User};
use crate::federation::pending_link::PendingLink;
use crate::store::{IdentityStore, StoreError, UserStore};

/// The outcome of [`resolve`].
#[derive(Debug)]
pub enum Account {
    /// Sign in as this user.
    User(User),
    /// A local user has the identity's e-mail address: ask the person.
    ChooseLink,
    /// The identity is linked to a user that cannot sign in; the reason is for
    /// the log.
    Refused(&'static str),
}

/// Resolves a verified identity; see the module doc.
pub async fn resolve<S: IdentityStore + UserStore>(
    store: &S,
    identity: &PendingLink,
) -> Result<Account, StoreError> {
    if let Some(linked) = linked_user(store, identity).await? {
        return Ok(linked);
    }
    let candidates = match &identity.email {
        Some(email) => store.users_with_email(email).await?,
        None => Vec::new(),
    };
    if identity.email_trusted {
        let verified: Vec<&User> = candidates
            .iter()
            .filter(|u| u.profile.email_verified && !u.disabled)
            .collect();
        if let [user] = verified.as_slice() {
            return link(store, identity, user).await;
        }
    }
    if !candidates.is_empty() {
        return Ok(Account::ChooseLink);
    }
    create_user(store, identity).await
}

/// The user an identity is linked to, if it is.
async fn linked_user<S: IdentityStore + UserStore>(
    store: &S,
    identity: &PendingLink,
) -> Result<Option<Account>, StoreError> {
    let Some(found) = store
        .get_identity(&identity.issuer, &identity.subject)
        .await?
    else {
        return Ok(None);
    };
    match store.get_user(&found.username).await? {
        Some(u) if u.user_id == found.user_id && u.disabled => {
            Ok(Some(Account::Refused("the linked user is disabled")))
        }
        Some(u) if u.user_id == found.user_id => Ok(Some(Account::User(u))),
        // The user was deleted (and the name perhaps taken again by someone
        // else, with another user id): the link is stale. It is removed, on
        // the condition that it still names that user id, and the identity
        // is new again; it never signs in as whoever has the name now.
        _ => {
            store
                .forget_identity(&identity.issuer, &identity.subject, &found.user_id)
                .await?;
            tracing::info!(provider_id = %identity.provider_id, "a stale identity link was removed");
            Ok(None)
        }
    }
}

fn identity_for(identity: &PendingLink, user: &User) -> FederatedIdentity {
    FederatedIdentity {
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        provider_id: identity.provider_id.clone(),
        user_id: user.user_id.clone(),
        username: user.username.clone(),
        email_at_link: identity.email.clone(),
        linked_at: now(),
    }
}

/// Links `identity` to `user` (the linking page's password, or a trusted
/// e-mail). An identity linked meanwhile is answered as linked.
pub async fn link<S: IdentityStore + UserStore>(
    store: &S,
    identity: &PendingLink,
    user: &User,
) -> Result<Account, StoreError> {
    match store.link_identity(&identity_for(identity, user)).await {
        Ok(()) => {
            tracing::info!(provider_id = %identity.provider_id, username = %user.username, "upstream identity linked");
            Ok(Account::User(user.clone()))
        }
        Err(StoreError::Conflict) => Ok(linked_user(store, identity)
            .await?
            .unwrap_or(Account::Refused("the user changed while the link was made"))),
        Err(e) => Err(e),
    }
}

/// A user created just in time for `identity`, with it: the first free name
/// of [`federated_username::candidates`], then the fallback. An identity linked
/// meanwhile (the same person in two tabs) is answered as linked.
pub async fn create_user<S: IdentityStore + UserStore>(
    store: &S,
    identity: &PendingLink,
) -> Result<Account, StoreError> {
    let t = now();
    let profile = profile_of(identity, t);
    let mut names = federated_username::candidates(
        &identity.provider_id,
        identity.preferred_username.as_deref(),
        identity.email.as_deref(),
    );
    names.push(federated_username::fallback(&identity.provider_id));
    for username in names {
        let user = User {
            username,
            user_id: crate::secret::random_id(),
            password_hash: None,
            disabled: false,
            created_at: t,
            password_changed_at: t,
            epoch: 0,
            profile: profile.clone(),
        };
        match store
            .create_user_with_identity(&user, &identity_for(identity, &user))
            .await
        {
            Ok(()) => {
                tracing::info!(provider_id = %identity.provider_id, username = %user.username, "user created for an upstream identity");
                return Ok(Account::User(user));
            }
            Err(StoreError::Conflict) => {
                if let Some(linked) = linked_user(store, identity).await? {
                    return Ok(linked);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Backend(
        "no free username for the new user".into(),
    ))
}

/// The profile of a new user: each claim the provider released that passes the
/// profile's own checks (a claim that does not is left out, not refused); the
/// e-mail verified only when it is trusted.
fn profile_of(identity: &PendingLink, t: u64) -> Profile {
    let keep = |change: ProfileChange| change.validate().is_ok().then_some(change);
    let email = keep(ProfileChange {
        email: identity.email.clone(),
        ..ProfileChange::default()
    })
    .and(identity.email.clone());
    let name = |v: &Option<String>| {
        keep(ProfileChange {
            name: v.clone(),
            ..ProfileChange::default()
        })
        .and(v.clone())
    };
    ProfileChange {
        email_verified: Some(email.is_some() && identity.email_trusted),
        email,
        name: name(&identity.name),
        given_name: name(&identity.given_name),
        family_name: name(&identity.family_name),
    }
    .apply(&Profile::default(), t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> PendingLink {
        PendingLink {
            provider_id: "idp".into(),
            issuer: "https://idp.example".into(),
            subject: "1".into(),
            email: Some("jane@example.com".into()),
            email_trusted: false,
            name: Some("Jane\u{0}Doe".into()),
            given_name: Some("Jane".into()),
            family_name: None,
            preferred_username: None,
            auth_time: 1,
            browser_hash: String::new(),
            expires_at: 2,
        }
    }

    #[test]
    fn a_new_users_profile_keeps_valid_claims_and_trusts_email_only_when_told() {
        let p = profile_of(&identity(), 5);
        assert_eq!(p.email.as_deref(), Some("jane@example.com"));
        assert!(!p.email_verified);
        assert_eq!(p.name, None, "a name with a control character is left out");
        assert_eq!(p.given_name.as_deref(), Some("Jane"));
        let mut trusted = identity();
        trusted.email_trusted = true;
        assert!(profile_of(&trusted, 5).email_verified);
        let mut bad = trusted;
        bad.email = Some("not an address".into());
        let p = profile_of(&bad, 5);
        assert_eq!(p.email, None);
        assert!(!p.email_verified);
    }
}
