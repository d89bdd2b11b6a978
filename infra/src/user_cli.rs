//! `gatehouse user ...`: the resource owners who sign in on the login page.

use clap::{Args, Subcommand};
use gatehouse_core::App;
use gatehouse_core::backchannel_logout::{
    DeliveryFailure, EndingUserSessions, user_sessions_ending,
};
use gatehouse_core::domain::federated_identity::FederatedIdentity;
use gatehouse_core::domain::user::{ProfileChange, User};
use gatehouse_core::registration;
use gatehouse_core::store::{DynamoStore, IdentityStore, Unlink, UserStore};
use serde_json::json;
use std::io::BufRead;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (one line), never
    /// from the command line, where other users could see it. Prints the user id:
    /// the user's OpenID `sub`, stable for the user's life.
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        profile: ProfileArgs,
        /// Print the user as JSON (`user_id` is the OpenID `sub`).
        #[arg(long)]
        json: bool,
    },
    /// Change a user's profile claims (what the UserInfo endpoint returns); an
    /// empty value removes a claim. Sessions and grants go on.
    Update {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        profile: ProfileArgs,
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
    /// Show a user: their profile, whether they have a password, and the upstream
    /// identities linked to them.
    Show {
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove one upstream identity from a user, named by its issuer (or by the
    /// provider it was linked through) and subject. Refused when it is the user's
    /// last way to sign in.
    Unlink {
        #[arg(allow_hyphen_values = true)]
        username: String,
        /// The identity's issuer, exactly as its ID tokens carry it.
        #[arg(
            long,
            required_unless_present = "provider",
            conflicts_with = "provider"
        )]
        issuer: Option<String>,
        /// The provider the identity was linked through.
        #[arg(long)]
        provider: Option<String>,
        /// The identity's `sub` at the issuer.
        #[arg(long, allow_hyphen_values = true)]
        subject: String,
    },
    /// Give every user stored before the lookup by e-mail existed the key it
    /// uses (`email_key`). Idempotent; `serve` runs it at start.
    SyncEmails {
        #[arg(long)]
        json: bool,
    },
    /// Delete a user; their sessions, grants and tokens stop working at once.
    Delete {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
}

/// The profile claims (OpenID Connect Core §5.1) of `user create` and `user update`.
#[derive(Args, Debug, Default)]
pub struct ProfileArgs {
    /// The `email` claim.
    #[arg(long)]
    email: Option<String>,
    /// The `email_verified` claim: the address is known to be the user's
    /// (`--email-verified=false` clears it).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    email_verified: Option<bool>,
    /// The `name` claim: the full name, as displayed.
    #[arg(long)]
    name: Option<String>,
    /// The `given_name` claim.
    #[arg(long)]
    given_name: Option<String>,
    /// The `family_name` claim.
    #[arg(long)]
    family_name: Option<String>,
}

impl ProfileArgs {
    fn change(self) -> ProfileChange {
        ProfileChange {
            email: self.email,
            email_verified: self.email_verified,
            name: self.name,
            given_name: self.given_name,
            family_name: self.family_name,
        }
    }
}

/// One line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

fn user_json(u: &User) -> serde_json::Value {
    let p = &u.profile;
    let mut v = json!({
        "username": u.username,
        "user_id": u.user_id,
        "disabled": u.disabled,
        "created_at": u.created_at,
        "email_verified": p.email_verified,
        "updated_at": p.updated_at,
    });
    for (claim, value) in [
        ("email", &p.email),
        ("name", &p.name),
        ("given_name", &p.given_name),
        ("family_name", &p.family_name),
    ] {
        if let Some(value) = value {
            v[claim] = json!(value);
        }
    }
    v
}

fn identity_json(i: &FederatedIdentity) -> serde_json::Value {
    let mut v = json!({
        "issuer": i.issuer,
        "subject": i.subject,
        "provider": i.provider_id,
        "linked_at": i.linked_at,
    });
    if let Some(email) = &i.email_at_link {
        v["email_at_link"] = json!(email);
    }
    v
}

/// `user show`: the user, whether they have a password, their identities.
async fn show(store: &DynamoStore, username: &str, as_json: bool) -> anyhow::Result<()> {
    let Some(user) = store.get_user(username).await? else {
        anyhow::bail!("no user `{username}`");
    };
    let identities = store.identities_of(username).await?;
    if as_json {
        let mut v = user_json(&user);
        v["password"] = json!(user.password_hash.is_some());
        v["identities"] = json!(identities.iter().map(identity_json).collect::<Vec<_>>());
        println!("{v}");
        return Ok(());
    }
    let p = &user.profile;
    println!("username  {}", user.username);
    println!("sub       {}", user.user_id);
    println!(
        "state     {}",
        if user.disabled { "disabled" } else { "enabled" }
    );
    println!(
        "password  {}",
        if user.password_hash.is_some() {
            "set"
        } else {
            "none"
        }
    );
    if let Some(email) = &p.email {
        let verified = if p.email_verified { " (verified)" } else { "" };
        println!("email     {email}{verified}");
    }
    if identities.is_empty() {
        println!("identities: none");
    } else {
        println!("identities:");
        for i in &identities {
            println!(
                "  {}  {}  provider {}  linked_at {}",
                i.issuer, i.subject, i.provider_id, i.linked_at
            );
        }
    }
    Ok(())
}

/// `user unlink`: the identity named by issuer (or provider) and subject goes,
/// unless it is the user's last way to sign in.
pub async fn unlink(
    store: &DynamoStore,
    username: &str,
    issuer: Option<&str>,
    provider: Option<&str>,
    subject: &str,
) -> anyhow::Result<()> {
    if store.get_user_state(username).await?.is_none() {
        anyhow::bail!("no user `{username}`");
    }
    let issuer = match (issuer, provider) {
        (Some(issuer), _) => issuer.to_owned(),
        (None, Some(provider)) => {
            let identities = store.identities_of(username).await?;
            match identities
                .into_iter()
                .find(|i| i.provider_id == provider && i.subject == subject)
            {
                Some(i) => i.issuer,
                None => anyhow::bail!(
                    "{username} has no identity with subject `{subject}` from provider `{provider}`"
                ),
            }
        }
        (None, None) => anyhow::bail!("give --issuer URL or --provider ID"),
    };
    match store.unlink(&issuer, subject, username).await? {
        Unlink::Unlinked => {
            println!("unlinked {issuer} {subject} from {username}");
            Ok(())
        }
        Unlink::NotFound => {
            anyhow::bail!("{username} has no identity with subject `{subject}` at {issuer}")
        }
        Unlink::LastMethod => anyhow::bail!(
            "refused: this identity is the last way {username} can sign in (no password and no \
             other identity); give them a password with `gatehouse user set-password` first"
        ),
    }
}

/// The command's warning for each back-channel logout delivery that failed; the
/// command itself succeeds (the sessions did end).
fn warn(failures: &[DeliveryFailure]) {
    for f in failures {
        eprintln!("warning: {f}");
    }
}

/// What ending every session of `username` owes the clients, read before the
/// change (`backchannel_logout.rs`); a failed read is a warning, never a reason
/// not to end the sessions.
async fn ending(app: &App, username: &str) -> Option<EndingUserSessions> {
    match user_sessions_ending(app, username).await {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!(
                "warning: back-channel logout: the user's grants could not be read, no client will be told: {e}"
            );
            None
        }
    }
}

/// Tells the clients (OpenID Connect Back-Channel Logout 1.0): delivered and
/// awaited on local data, enqueued with `--aws`; the failures.
async fn tell(app: &App, ending: Option<EndingUserSessions>) -> Vec<DeliveryFailure> {
    match ending {
        Some(e) => e.notify(app).await.all_failures().await,
        None => vec![],
    }
}

/// `user end-sessions`: moves the user's epoch on, then tells the clients of the
/// ended sessions; the deliveries that failed.
pub async fn end_sessions(app: &App, username: &str) -> anyhow::Result<Vec<DeliveryFailure>> {
    let before = ending(app, username).await;
    if !app.store.end_sessions(username).await? {
        anyhow::bail!("no user `{username}`");
    }
    Ok(tell(app, before).await)
}

/// `user set-password`: the new password, then the clients of the ended sessions.
pub async fn set_password(
    app: &App,
    username: &str,
    password: &str,
) -> anyhow::Result<Vec<DeliveryFailure>> {
    let before = ending(app, username).await;
    registration::set_user_password(&app.store, username, password)
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(tell(app, before).await)
}

/// `user disable`: sign-in refused, sessions ended, their clients told.
pub async fn disable(app: &App, username: &str) -> anyhow::Result<Vec<DeliveryFailure>> {
    let before = ending(app, username).await;
    set_disabled(&app.store, username, true).await?;
    Ok(tell(app, before).await)
}

/// `user delete`: the grants are read before the user goes, then the clients
/// of the ended sessions are told, and the user's linked identities removed
/// (each on the condition that it still names the deleted user's id).
pub async fn delete(app: &App, username: &str) -> anyhow::Result<Vec<DeliveryFailure>> {
    let before = ending(app, username).await;
    let user_id = app.store.get_user(username).await?.map(|u| u.user_id);
    let identities = app.store.identities_of(username).await?;
    if !app.store.delete_user(username).await? {
        anyhow::bail!("no user `{username}`");
    }
    if let Some(user_id) = user_id {
        for i in identities.iter().filter(|i| i.user_id == user_id) {
            app.store
                .forget_identity(&i.issuer, &i.subject, &user_id)
                .await?;
        }
    }
    Ok(tell(app, before).await)
}

pub async fn user_command(app: &App, cmd: UserCommand) -> anyhow::Result<()> {
    let store = &app.store;
    match cmd {
        UserCommand::Create {
            username,
            profile,
            json,
            ..
        } => {
            let change = profile.change();
            // Checked before the password is read, so a typo costs no typing.
            change.validate().map_err(anyhow::Error::msg)?;
            let password = read_password()?;
            let user = registration::create_user_with_profile(store, &username, &password, &change)
                .await
                .map_err(anyhow::Error::msg)?;
            if json {
                println!("{}", user_json(&user));
            } else {
                println!("created user {} (sub {})", user.username, user.user_id);
            }
        }
        UserCommand::Update { username, profile } => {
            registration::update_user_profile(store, &username, &profile.change())
                .await
                .map_err(anyhow::Error::msg)?;
            println!("updated the profile of {username}");
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
            let failed = set_password(app, &username, &password).await?;
            println!("password changed for {username}");
            warn(&failed);
        }
        UserCommand::Disable { username } => warn(&disable(app, &username).await?),
        UserCommand::Enable { username } => set_disabled(store, &username, false).await?,
        UserCommand::EndSessions { username } => {
            let failed = end_sessions(app, &username).await?;
            println!("ended every session and grant of {username}");
            warn(&failed);
        }
        UserCommand::Show { username, json } => show(store, &username, json).await?,
        UserCommand::Unlink {
            username,
            issuer,
            provider,
            subject,
        } => {
            unlink(
                store,
                &username,
                issuer.as_deref(),
                provider.as_deref(),
                &subject,
            )
            .await?
        }
        UserCommand::SyncEmails { json } => {
            let updated = store.sync_email_keys().await?;
            if json {
                println!("{}", json!({ "updated": updated }));
            } else {
                eprintln!("{updated} user(s) given their e-mail lookup key");
            }
        }
        UserCommand::Delete { username } => {
            let failed = delete(app, &username).await?;
            println!("deleted user {username}");
            warn(&failed);
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
