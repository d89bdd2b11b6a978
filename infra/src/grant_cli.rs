//! `gatehouse grant ...`: the grants users made to clients, and ending them.

use clap::Subcommand;
use gatehouse_core::app::now;
use gatehouse_core::domain::grant::{Grant, GrantState, RevokeReason};
use gatehouse_core::store::{DynamoStore, GrantStore, GrantsOf};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum GrantCommand {
    /// List the grants of a user or of a client, newest first.
    List {
        /// The user's username.
        #[arg(long, conflicts_with = "client", required_unless_present = "client")]
        user: Option<String>,
        /// The client's id.
        #[arg(long)]
        client: Option<String>,
        /// Live grants only.
        #[arg(long)]
        live: bool,
        #[arg(long)]
        json: bool,
    },
    /// End a grant: every token issued from it stops working at once.
    Revoke {
        grant_id: String,
        #[arg(long)]
        json: bool,
    },
}

fn state(g: &Grant, now: u64) -> &'static str {
    match g.state {
        GrantState::Revoked { .. } => "revoked",
        GrantState::Live if now >= g.expires_at => "expired",
        GrantState::Live if g.code.redeemed_at.is_none() => "code issued",
        GrantState::Live => "live",
    }
}

fn grant_json(g: &Grant, now: u64) -> serde_json::Value {
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
        "state": state(g, now),
        "expires_at": g.expires_at,
    });
    if let GrantState::Revoked { at, reason } = g.state {
        v["revoked_at"] = json!(at);
        v["revoked_reason"] = json!(reason.as_str());
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
            let mut grants = store.list_grants(by).await?;
            if live {
                grants.retain(|g| state(g, t) == "live");
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
                for g in &grants {
                    println!(
                        "{:<24} {:<24} {:<20} {:<11} {:>10} {:>10}  {}",
                        g.grant_id,
                        g.client_id,
                        g.user.username,
                        state(g, t),
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
