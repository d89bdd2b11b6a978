//! Who is told that login sessions ended (Back-Channel Logout 1.0 §2.3, §2.5):
//! every client with a registered back-channel logout URI that was part of an
//! ended session, once per (client, session). A session was part of a client
//! when a grant was made in it: every grant records the `session_id` it was made
//! in (the `sid` of its ID tokens), and the grants of a user are one Query on the
//! grants table's `username-index`.

use crate::domain::client::Client;
use crate::domain::grant::Grant;
use std::collections::BTreeSet;

/// Which of the user's sessions ended.
#[derive(Clone, Copy, Debug)]
pub enum EndedSessions<'a> {
    /// These sessions (a logout).
    Sessions(&'a [&'a str]),
    /// Every session of the user (a password change, disabling, `user
    /// end-sessions`, deletion). With `epoch`, only the sessions made at that
    /// epoch of the user's: those of an earlier one had ended already.
    EveryUserSession { epoch: Option<u64> },
}

/// One logout token to deliver (§2.5).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery {
    pub client_id: String,
    /// The client's back-channel logout URI.
    pub uri: String,
    /// The ended login session (`sid`).
    pub sid: String,
    /// The user (`sub`).
    pub sub: String,
}

/// The deliveries for `ended`, from the user's `grants` and the `clients` they
/// name: one per (client with a back-channel logout URI, session), sorted.
/// Grants of clients not in `clients` (deleted since) are skipped.
pub fn deliveries(ended: EndedSessions<'_>, grants: &[Grant], clients: &[Client]) -> Vec<Delivery> {
    let mut out = BTreeSet::new();
    for g in grants {
        let in_ended = match ended {
            EndedSessions::Sessions(ids) => ids.contains(&g.session_id.as_str()),
            EndedSessions::EveryUserSession { epoch } => epoch.is_none_or(|e| e == g.user.epoch),
        };
        if !in_ended || g.session_id.is_empty() {
            continue;
        }
        let Some(uri) = clients
            .iter()
            .find(|c| c.client_id == g.client_id)
            .and_then(|c| c.backchannel_logout_uri.as_ref())
        else {
            continue;
        };
        out.insert(Delivery {
            client_id: g.client_id.clone(),
            uri: uri.clone(),
            sid: g.session_id.clone(),
            sub: g.user.user_id.clone(),
        });
    }
    out.into_iter().collect()
}

/// The distinct client ids of `grants`, to read before [`deliveries`].
pub fn client_ids(grants: &[Grant]) -> Vec<String> {
    grants
        .iter()
        .map(|g| g.client_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::ClientType;
    use crate::domain::grant::{CodeBinding, CodeState, GrantOwner, GrantState};
    use crate::domain::scope::Scope;
    use crate::secret::SecretHash;

    fn grant(id: &str, client: &str, sid: &str, epoch: u64) -> Grant {
        Grant {
            grant_id: id.into(),
            client_id: client.into(),
            user: GrantOwner {
                user_id: "user-7".into(),
                username: "alice".into(),
                epoch,
            },
            scope: Scope::parse("openid").unwrap(),
            created_at: 1,
            last_used_at: 1,
            session_id: sid.into(),
            auth_time: 1,
            amr: "pwd".into(),
            state: GrantState::Live,
            code: CodeState {
                hash: SecretHash::of(id),
                binding: CodeBinding {
                    redirect_uri: "https://app/cb".into(),
                    redirect_uri_in_request: true,
                    challenge: None,
                    nonce: None,
                },
                expires_at: 2,
                redeemed_at: None,
            },
            refresh: None,
            expires_at: 100,
        }
    }

    fn client(id: &str, uri: Option<&str>) -> Client {
        Client {
            allowed_scope: Scope::parse("openid").unwrap(),
            default_scope: Scope::parse("openid").unwrap(),
            backchannel_logout_uri: uri.map(str::to_owned),
            ..Client::for_tests(id, ClientType::Confidential, &["https://app/cb"])
        }
    }

    fn pairs(d: &[Delivery]) -> Vec<(&str, &str)> {
        d.iter()
            .map(|d| (d.client_id.as_str(), d.sid.as_str()))
            .collect()
    }

    #[test]
    fn clients_without_a_uri_outside_the_session_or_deleted_are_not_told() {
        let grants = [
            grant("g1", "no-uri", "s1", 0),
            grant("g2", "other-session", "s2", 0),
            grant("g3", "deleted", "s1", 0),
            grant("g4", "with-uri", "", 0),
        ];
        let clients = [
            client("no-uri", None),
            client("other-session", Some("https://o/bc")),
            client("with-uri", Some("https://w/bc")),
        ];
        let d = deliveries(EndedSessions::Sessions(&["s1"]), &grants, &clients);
        assert!(d.is_empty(), "{d:?}");
        assert!(deliveries(EndedSessions::Sessions(&[]), &grants, &clients).is_empty());
    }

    #[test]
    fn every_client_of_the_session_is_told_once_per_session() {
        let grants = [
            grant("g1", "a", "s1", 0),
            grant("g2", "a", "s1", 0),
            grant("g3", "b", "s1", 0),
            grant("g4", "a", "s2", 0),
            grant("g5", "b", "s3", 0),
        ];
        let clients = [
            client("a", Some("https://a/bc")),
            client("b", Some("https://b/bc")),
        ];
        let d = deliveries(EndedSessions::Sessions(&["s1", "s2"]), &grants, &clients);
        assert_eq!(pairs(&d), [("a", "s1"), ("a", "s2"), ("b", "s1")]);
        assert_eq!(d[0].uri, "https://a/bc");
        assert_eq!(d[0].sub, "user-7");
        assert_eq!(client_ids(&grants), ["a", "b"]);
    }

    #[test]
    fn every_user_session_keeps_those_of_the_ending_epoch() {
        let grants = [
            grant("g1", "a", "old", 1),
            grant("g2", "a", "s1", 2),
            grant("g3", "b", "s2", 2),
        ];
        let clients = [
            client("a", Some("https://a/bc")),
            client("b", Some("https://b/bc")),
        ];
        let d = deliveries(
            EndedSessions::EveryUserSession { epoch: Some(2) },
            &grants,
            &clients,
        );
        assert_eq!(pairs(&d), [("a", "s1"), ("b", "s2")]);
        let all = deliveries(
            EndedSessions::EveryUserSession { epoch: None },
            &grants,
            &clients,
        );
        assert_eq!(pairs(&all), [("a", "old"), ("a", "s1"), ("b", "s2")]);
    }
}
