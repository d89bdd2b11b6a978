//! `gatehouse user ...`: the resource owners who sign in on the login page.

use clap::Subcommand;
use gatehouse_core::domain::user::User;
use gatehouse_core::registration;
use gatehouse_core::store::{DynamoStore, UserStore};
use serde_json::json;
use std::io::BufRead;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (one line), never
    /// from the command line, where other users could see it.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password (read from standard input); their sessions and
    /// grants end.
    SetPassword {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable a user: sign-in is refused, and their sessions and grants end
    /// (enabling them again revives neither).
    Disable {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// End every session and grant of a user at once: they must sign in again,
    /// and every client they approved must ask again.
    EndSessions {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Delete a user; their sessions, grants and tokens stop working at once.
    Delete {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
}

/// One line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "username": u.username,
        "user_id": u.user_id,
        "disabled": u.disabled,
        "created_at": u.created_at,
    })
}

pub async fn user_command(store: &DynamoStore, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create { username, json, .. } => {
            let password = read_password()?;
            let user = registration::create_user(store, &username, &password)
                .await
                .map_err(anyhow::Error::msg)?;
            if json {
                println!("{}", user_json(&user));
            } else {
                println!("created user {} (sub {})", user.username, user.user_id);
            }
        }
        UserCommand::List { json } => {
            let users = store.list_users().await?;
            if json {
                println!("{}", json!(users.iter().map(user_json).collect::<Vec<_>>()));
            } else if users.is_empty() {
                println!("no users");
            } else {
                for u in users {
                    let state = if u.disabled { "disabled" } else { "enabled" };
                    println!("{:<32} {:<24} {state}", u.username, u.user_id);
                }
            }
        }
        UserCommand::SetPassword { username, .. } => {
            let password = read_password()?;
            registration::set_user_password(store, &username, &password)
                .await
                .map_err(anyhow::Error::msg)?;
            println!("password changed for {username}");
        }
        UserCommand::Disable { username } => set_disabled(store, &username, true).await?,
        UserCommand::Enable { username } => set_disabled(store, &username, false).await?,
        UserCommand::EndSessions { username } => {
            if !store.end_sessions(&username).await? {
                anyhow::bail!("no user `{username}`");
            }
            println!("ended every session and grant of {username}");
        }
        UserCommand::Delete { username } => {
            if !store.delete_user(&username).await? {
                anyhow::bail!("no user `{username}`");
            }
            println!("deleted user {username}");
        }
    }
    Ok(())
}

async fn set_disabled(store: &DynamoStore, username: &str, disabled: bool) -> anyhow::Result<()> {
    if !store.set_disabled(username, disabled).await? {
        anyhow::bail!("no user `{username}`");
    }
    let state = if disabled { "disabled" } else { "enabled" };
    println!("{state} user {username}");
    Ok(())
}
