//! `gatehouse provider ...`: the upstream OpenID Providers users will sign in
//! with (`domain/provider.rs`). No command prints a client secret.

use clap::Subcommand;
use gatehouse_core::app::now;
use gatehouse_core::domain::outbound_address::AddressPolicy;
use gatehouse_core::domain::provider::Provider;
use gatehouse_core::domain::provider_quirks::Upstream;
use gatehouse_core::outbound_http::OutboundHttp;
use gatehouse_core::paths::federation_redirect_uri;
use gatehouse_core::provider_discovery::{NewProvider, add_provider, check_configuration};
use gatehouse_core::secret::Secret;
use gatehouse_core::store::{DynamoStore, ProviderStore};
use serde_json::json;
use std::io::BufRead;

#[derive(Subcommand, Debug)]
pub enum ProviderCommand {
    /// Register an upstream OpenID Provider. Its endpoints come from its
    /// discovery document ({issuer}/.well-known/openid-configuration). The
    /// client secret is read from standard input (one line).
    Add {
        /// The provider's id: 1 to 32 lowercase letters, digits and `-`; part of
        /// its redirect URI.
        #[arg(long, allow_hyphen_values = true)]
        id: String,
        /// The provider's Issuer Identifier, exactly: https (locally also http
        /// on a loopback IP literal).
        #[arg(long = "issuer")]
        provider_issuer: String,
        /// Gatehouse's client id at the provider.
        #[arg(long)]
        client_id: String,
        /// Read the client secret from standard input.
        #[arg(long, required = true)]
        client_secret_stdin: bool,
        /// The scope requested from the provider; must include `openid`.
        #[arg(long, default_value = gatehouse_core::domain::provider::DEFAULT_PROVIDER_SCOPE)]
        scope: String,
        /// The name on the login page's link [default: the id].
        #[arg(long)]
        display_name: Option<String>,
        /// Believe the provider's `email_verified` (only the boolean true), to
        /// link a verified address to a local user's. Never for Microsoft Entra ID.
        #[arg(long)]
        trust_email: bool,
        /// Google only: accept only accounts of this Workspace domain (`hd`).
        #[arg(long)]
        hosted_domain: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List providers.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one provider, with the redirect URI to register at it.
    Show {
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a provider and its client secret.
    Remove {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// Where a command runs, for the provider commands.
pub struct ProviderContext {
    pub store: DynamoStore,
    /// The deployment's issuer, for each provider's redirect URI; `None` on AWS
    /// when it was not given.
    pub issuer: Option<String>,
    /// Public addresses only on AWS.
    pub policy: AddressPolicy,
}

/// The provider as `--json` prints it: everything but the secret, and the
/// redirect URI to register at the provider.
fn provider_json(p: &Provider, issuer: Option<&str>) -> serde_json::Value {
    let m = &p.metadata;
    let mut v = json!({
        "provider_id": p.provider_id,
        "display_name": p.display_name,
        "issuer": p.issuer,
        "client_id": p.client_id,
        "scope": p.scope,
        "trust_email": p.trust_email,
        "created_at": p.created_at,
        "metadata": {
            "authorization_endpoint": m.authorization_endpoint,
            "token_endpoint": m.token_endpoint,
            "userinfo_endpoint": m.userinfo_endpoint,
            "jwks_uri": m.jwks_uri,
            "token_endpoint_auth_method": m.auth_method.as_str(),
            "authorization_response_iss_parameter_supported": m.iss_parameter_supported,
            "id_token_signing_alg_values_supported": m.id_token_signing_algs,
        },
    });
    if let Some(d) = &p.hosted_domain {
        v["hosted_domain"] = json!(d);
    }
    if let Some(issuer) = issuer {
        v["redirect_uri"] = json!(federation_redirect_uri(issuer, &p.provider_id));
    }
    v
}

fn read_secret() -> anyhow::Result<Secret> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let value = line.strip_suffix('\n').unwrap_or(&line);
    Ok(Secret::new(value.strip_suffix('\r').unwrap_or(value)))
}

/// On AWS the deployment's issuer is not known here: the commands that print a
/// redirect URI need `--issuer`.
fn need_issuer(ctx: &ProviderContext) -> anyhow::Result<&str> {
    ctx.issuer.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "the deployment's issuer is needed for the redirect URI: give --issuer before the \
             subcommand (gatehouse --aws ... provider --issuer URL ...), or GATEHOUSE_ISSUER \
             (the stack's Issuer output)"
        )
    })
}

pub async fn provider_command(ctx: &ProviderContext, cmd: ProviderCommand) -> anyhow::Result<()> {
    let store = &ctx.store;
    match cmd {
        ProviderCommand::Add {
            id,
            provider_issuer,
            client_id,
            scope,
            display_name,
            trust_email,
            hosted_domain,
            json,
            ..
        } => {
            let issuer = need_issuer(ctx)?.to_owned();
            let mut new = NewProvider {
                provider_id: id,
                issuer: provider_issuer,
                client_id,
                client_secret: Secret::new("unread"),
                scope: Some(scope),
                display_name,
                trust_email,
                hosted_domain,
            };
            // Checked before the secret is read, so a typo costs no typing.
            check_configuration(&new, ctx.policy).map_err(anyhow::Error::msg)?;
            new.client_secret = read_secret()?;
            let http = OutboundHttp::new(ctx.policy).map_err(anyhow::Error::msg)?;
            let provider = add_provider(store, &http, new, now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if provider.trust_email
                && matches!(Upstream::of(&provider.issuer), Upstream::Entra { .. })
            {
                eprintln!(
                    "note: --trust-email has no effect for Microsoft Entra ID: its email is never \
                     trusted"
                );
            }
            if json {
                println!("{}", provider_json(&provider, Some(&issuer)));
            } else {
                println!(
                    "added provider {} ({}); register this redirect URI at it: {}",
                    provider.provider_id,
                    provider.issuer,
                    federation_redirect_uri(&issuer, &provider.provider_id)
                );
            }
        }
        ProviderCommand::List { json } => {
            let all = store.list_providers().await?;
            if json {
                let items: Vec<_> = all
                    .iter()
                    .map(|p| provider_json(p, ctx.issuer.as_deref()))
                    .collect();
                println!("{}", json!(items));
            } else if all.is_empty() {
                println!("no providers");
            } else {
                for p in all {
                    println!("{:<32} {:<24} {}", p.provider_id, p.display_name, p.issuer);
                }
            }
        }
        ProviderCommand::Show { id, json } => {
            let issuer = need_issuer(ctx)?;
            let Some(p) = store.get_provider(&id).await? else {
                anyhow::bail!("no provider `{id}`");
            };
            if json {
                println!("{}", provider_json(&p, Some(issuer)));
            } else {
                let m = &p.metadata;
                println!("provider_id:    {}", p.provider_id);
                println!("display_name:   {}", p.display_name);
                println!("issuer:         {}", p.issuer);
                println!("client_id:      {}", p.client_id);
                println!("scope:          {}", p.scope);
                println!("trust_email:    {}", p.trust_email);
                if let Some(d) = &p.hosted_domain {
                    println!("hosted_domain:  {d}");
                }
                println!("auth_method:    {}", m.auth_method.as_str());
                println!(
                    "redirect_uri:   {}",
                    federation_redirect_uri(issuer, &p.provider_id)
                );
            }
        }
        ProviderCommand::Remove { id } => {
            if !store.delete_provider(&id).await? {
                anyhow::bail!("no provider `{id}`");
            }
            println!("removed provider {id}");
        }
    }
    Ok(())
}
