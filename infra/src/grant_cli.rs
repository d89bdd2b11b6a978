//! `gatehouse grant ...`: the grants users made to clients, and ending them.

use clap::Subcommand;
use gatehouse_core::app::now;
use gatehouse_core::domain::grant::{Grant, GrantState, RevokeReason};
use gatehouse_core::store::{ClientStore, DynamoStore, GrantStore, GrantsOf, UserStore};
use gatehouse_core::tokens::owner;
use serde_json::json;
use std::collections::HashMap;

#[derive(Subcommand, Debug)]
pub enum GrantCommand {
    /// List the grants of a user or of a client, newest first. A grant is `live`,
    /// `code issued` (not redeemed yet), `expired`, `revoked`, or `ended`: its
    /// record is live but its user or client no longer lets it work.
    List {
        /// The user's username.
        #[arg(
            long,
            conflicts_with = "client",
            required_unless_present = "client",
            allow_hyphen_values = true
        )]
        user: Option<String>,
        /// The client's id (ids may begin with `-`).
        #[arg(long, allow_hyphen_values = true)]
        client: Option<String>,
        /// Live grants only.
        #[arg(long)]
        live: bool,
        #[arg(long)]
        json: bool,
    },
    /// End a grant: every token issued from it stops working at once.
    Revoke {
        /// Grant ids may begin with `-`: taken as the id, not an option.
        #[arg(allow_hyphen_values = true)]
        grant_id: String,
        #[arg(long)]
        json: bool,
    },
}

/// A grant as the server would treat it now: its own state, and whether its user
/// and client still let it work (a password change, disabling, `end-sessions` or
/// deletion ends a grant without writing to it).
struct Listed {
    grant: Grant,
    owner_valid: bool,
    client_exists: bool,
}

impl Listed {
    fn state(&self, now: u64) -> &'static str {
        let g = &self.grant;
        match g.state {
            GrantState::Revoked { .. } => "revoked",
            GrantState::Live if now >= g.expires_at => "expired",
            GrantState::Live if !self.owner_valid || !self.client_exists => "ended",
            GrantState::Live if g.code.redeemed_at.is_none() => "code issued",
            GrantState::Live => "live",
        }
    }

    /// Why a live record no longer works, for `ended`.
    fn ended_because(&self) -> Option<&'static str> {
        if !self.client_exists {
            Some("the client was deleted")
        } else if !self.owner_valid {
            Some("the user signed out everywhere, changed password, was disabled or deleted")
        } else {
            None
        }
    }
}

/// Reads the state of each grant's user and client (once per user and client).
async fn with_owners(store: &DynamoStore, grants: Vec<Grant>) -> anyhow::Result<Vec<Listed>> {
    let mut users = HashMap::new();
    let mut clients = HashMap::new();
    let mut listed = Vec::new();
    for grant in grants {
        if !users.contains_key(&grant.user.username) {
            let u = store.get_user_state(&grant.user.username).await?;
            users.insert(grant.user.username.clone(), u);
        }
        if !clients.contains_key(&grant.client_id) {
            let c = store.get_client(&grant.client_id).await?.is_some();
            clients.insert(grant.client_id.clone(), c);
        }
        listed.push(Listed {
            owner_valid: owner::is_valid(users[&grant.user.username].as_ref(), &grant.user),
            client_exists: clients[&grant.client_id],
            grant,
        });
    }
    Ok(listed)
}

fn grant_json(l: &Listed, now: u64) -> serde_json::Value {
    let g = &l.grant;
    let mut v = json!({
        "grant_id": g.grant_id,
        "client_id": g.client_id,
        "username": g.user.username,
        "sub": g.user.user_id,
        "scope": g.scope.to_string(),
        "created_at": g.created_at,
        "last_used_at": g.last_used_at,
        "session_id": g.session_id,
        "auth_time": g.auth_time,
        "state": l.state(now),
        "expires_at": g.expires_at,
    });
    if let GrantState::Revoked { at, reason } = g.state {
        v["revoked_at"] = json!(at);
        v["revoked_reason"] = json!(reason.as_str());
    } else if let (Some(why), "ended") = (l.ended_because(), l.state(now)) {
        v["ended_because"] = json!(why);
    }
    v
}

pub async fn grant_command(store: &DynamoStore, cmd: GrantCommand) -> anyhow::Result<()> {
    let t = now();
    match cmd {
        GrantCommand::List {
            user,
            client,
            live,
            json,
        } => {
            let by = match (&user, &client) {
                (Some(u), _) => GrantsOf::User(u),
                (None, Some(c)) => GrantsOf::Client(c),
                (None, None) => anyhow::bail!("give --user or --client"),
            };
            let mut grants = with_owners(store, store.list_grants(by).await?).await?;
            if live {
                grants.retain(|g| g.state(t) == "live");
            }
            if json {
                let list: Vec<_> = grants.iter().map(|g| grant_json(g, t)).collect();
                println!("{}", json!(list));
            } else if grants.is_empty() {
                println!("no grants");
            } else {
                println!(
                    "{:<24} {:<24} {:<20} {:<11} {:>10} {:>10}  scope",
                    "grant", "client", "user", "state", "created", "last used"
                );
                for l in &grants {
                    let g = &l.grant;
                    println!(
                        "{:<24} {:<24} {:<20} {:<11} {:>10} {:>10}  {}",
                        g.grant_id,
                        g.client_id,
                        g.user.username,
                        l.state(t),
                        g.created_at,
                        g.last_used_at,
                        g.scope
                    );
                }
            }
        }
        GrantCommand::Revoke { grant_id, json } => {
            let revoked = store
                .revoke_grant(&grant_id, None, RevokeReason::Operator, t)
                .await?;
            if !revoked {
                match store.get_grant(&grant_id).await? {
                    None => anyhow::bail!("no grant `{grant_id}`"),
                    Some(_) => anyhow::bail!("grant `{grant_id}` was already revoked"),
                }
            }
            if json {
                println!("{}", json!({ "grant_id": grant_id, "revoked": true }));
            } else {
                println!("revoked grant {grant_id}");
            }
        }
    }
    Ok(())
}
