//! The `gatehouse` command line.

use crate::private_data;
use crate::sam_local::SAM_LOCAL_ENV_FILE;
use crate::target::{ENGINE_URL_FILE, Target, TargetArgs};
use clap::{Parser, Subcommand};
use gatehouse_core::App;
use gatehouse_core::backchannel_logout::LogoutDispatch;
use gatehouse_core::config::{Config, DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_CODE_TTL};
use gatehouse_core::domain::client::{Client, ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::cors::Allowlist;
use gatehouse_core::domain::outbound_address::AddressPolicy;
use gatehouse_core::domain::scope::{Scope, ScopeCatalog};
use gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use gatehouse_core::keys::SigningAlgorithm;
use gatehouse_core::registration;
use gatehouse_core::store::{ClientStore, DynamoStore, KeyStore};
use gatehouse_logout_queue::SqsLogoutQueue;
use serde_json::json;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse: an OAuth 2.0 authorization server for AWS Lambda and DynamoDB"
)]
pub struct Cli {
    #[command(flatten)]
    target: TargetArgs,
    /// Scopes the deployment offers, as `name=description;name=description`.
    #[arg(long, global = true, env = "GATEHOUSE_SCOPES")]
    scopes: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run every endpoint on one local HTTP server, on the embedded engine.
    Serve(ServeArgs),
    /// Register and manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Create and manage users (resource owners).
    User(UserArgs),
    /// List and end the grants users made to clients.
    #[command(subcommand)]
    Grant(crate::grant_cli::GrantCommand),
    /// List and rotate signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Register and manage upstream OpenID Providers (the registry only: the
    /// login page does not offer them yet).
    Provider(ProviderArgs),
}

#[derive(clap::Args, Debug)]
struct ProviderArgs {
    /// The deployment's issuer, from which each provider's redirect URI is
    /// derived ({issuer}/federation/{id}/callback) [default: the running
    /// `gatehouse serve`'s issuer, else http://127.0.0.1:8080; with --aws it
    /// must be given].
    #[arg(long, env = "GATEHOUSE_ISSUER")]
    issuer: Option<String>,
    #[command(subcommand)]
    command: crate::provider_cli::ProviderCommand,
}

#[derive(clap::Args, Debug)]
struct UserArgs {
    /// The `iss` of the logout tokens that ending a user's sessions sends to
    /// their clients (OpenID Connect Back-Channel Logout 1.0) on local data
    /// [default: the running `gatehouse serve`'s issuer, else
    /// http://127.0.0.1:8080]. With --aws the delivery function signs them.
    #[arg(long, env = "GATEHOUSE_ISSUER")]
    issuer: Option<String>,
    #[command(subcommand)]
    command: crate::user_cli::UserCommand,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Issuer identifier; default `http://` + the listening address.
    #[arg(long, env = "GATEHOUSE_ISSUER")]
    issuer: Option<String>,
    /// Audience (`aud`) of access tokens; default the issuer.
    #[arg(long, env = "GATEHOUSE_AUDIENCE")]
    audience: Option<String>,
    /// Address of the embedded engine (port 0 picks a free one). It answers only
    /// requests signed with the data directory's engine-credentials.
    #[arg(long, default_value = "127.0.0.1:0")]
    engine_addr: SocketAddr,
    /// Algorithm of the first signing key, when one is created.
    #[arg(long, default_value = "RS256", env = "GATEHOUSE_SIGNING_ALG", value_parser = parse_alg)]
    signing_alg: SigningAlgorithm,
    /// Default access-token lifetime, seconds.
    #[arg(long, default_value_t = DEFAULT_ACCESS_TOKEN_TTL, env = "GATEHOUSE_ACCESS_TOKEN_TTL")]
    access_token_ttl: u64,
    /// Authorization code lifetime, seconds (at most 600).
    #[arg(long, default_value_t = DEFAULT_CODE_TTL, env = "GATEHOUSE_CODE_TTL")]
    code_ttl: u64,
    /// Require PKCE from confidential clients too.
    #[arg(long, env = "GATEHOUSE_REQUIRE_PKCE")]
    require_pkce: bool,
    /// Accept code_challenge_method=plain (not recommended).
    #[arg(long, env = "GATEHOUSE_ALLOW_PLAIN_PKCE")]
    allow_plain_pkce: bool,
    /// Browser origins allowed at /token and /revoke besides those of the
    /// clients' redirect URIs, comma-separated (`https://app.example.com`).
    #[arg(long, env = "GATEHOUSE_CORS_ORIGINS")]
    cors_origins: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Register a client. A confidential client's secret is shown once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "type", value_parser = parse_client_type)]
        client_type: ClientType,
        /// A grant type (repeatable): client_credentials, authorization_code, refresh_token.
        #[arg(long = "grant-type", required = true, value_parser = parse_grant)]
        grant_types: Vec<GrantType>,
        /// A redirect URI (repeatable), matched exactly; a public client's loopback
        /// URI (http://127.0.0.1 or http://[::1]) on any port. localhost is refused.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeatable; OpenID Connect RP-Initiated Logout
        /// 1.0 §3.1), matched exactly: https, or http on a loopback IP literal.
        /// authorization_code clients only.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Allowed scopes, space-separated.
        #[arg(long)]
        scope: String,
        /// Scopes granted when a request names none; default all allowed scopes.
        #[arg(long)]
        default_scope: Option<String>,
        /// Access-token lifetime for this client, seconds.
        #[arg(long)]
        access_token_ttl: Option<u64>,
        /// Let this client (a resource server) introspect every client's tokens.
        #[arg(long)]
        introspect_any: bool,
        /// A trusted first-party client: users are not asked for consent.
        #[arg(long)]
        skip_consent: bool,
        /// How the client authenticates at /token, /introspect and /revoke, the only
        /// way it may: client_secret_basic (the default for confidential clients),
        /// client_secret_post, or none (public clients, and their default).
        #[arg(long, value_parser = parse_auth_method)]
        token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
        /// Require PKCE (S256) from this client even where the deployment does not
        /// (public clients always need it).
        #[arg(long)]
        require_pkce: bool,
        /// Where to POST a logout token when a login session the client was part
        /// of ends (OpenID Connect Back-Channel Logout 1.0 §2.2): https, or http on
        /// a loopback IP literal; authorization_code clients only.
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        /// Client ids may begin with `-`: taken as the id, not an option.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Give a confidential client a new secret (shown once). The old one stops
    /// working at once, or after --grace-seconds for a rotation without downtime.
    RotateSecret {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        #[arg(long, default_value_t = 0)]
        grace_seconds: u64,
        #[arg(long)]
        json: bool,
    },
    /// Delete a client; its grants and tokens stop working at once.
    Delete {
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Bring the origins table (the browser origins CORS answers) in line with the
    /// clients: for clients registered before the table existed. Idempotent;
    /// `serve` runs it at start.
    SyncOrigins {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// List signing keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Rotate: the published next key starts signing, the active key is retired
    /// (published until its tokens expire), and a new next key is published.
    Rotate {
        /// Algorithm of the new next key.
        #[arg(long, default_value = "RS256", env = "GATEHOUSE_SIGNING_ALG", value_parser = parse_alg)]
        alg: SigningAlgorithm,
        /// Rotate even if the next key was published less than the key and JWKS
        /// cache times ago.
        #[arg(long)]
        force: bool,
    },
    /// Move private keys and HMAC keys of an older layout from the keys table to
    /// the secrets table (run once after updating a stack made before it existed).
    Migrate,
}

fn parse_alg(s: &str) -> Result<SigningAlgorithm, String> {
    s.parse()
}
fn parse_client_type(s: &str) -> Result<ClientType, String> {
    s.parse()
}
fn parse_grant(s: &str) -> Result<GrantType, String> {
    s.parse()
}
fn parse_auth_method(s: &str) -> Result<TokenEndpointAuthMethod, String> {
    s.parse()
}

/// What a client may authenticate with: its registered method, or for a client
/// stored before the method was recorded, what its type allows.
fn auth_methods(c: &Client) -> Vec<&'static str> {
    TokenEndpointAuthMethod::ALL
        .into_iter()
        .filter(|m| c.accepts_auth_method(*m))
        .map(TokenEndpointAuthMethod::as_str)
        .collect()
}

/// Entry point of the `gatehouse` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn catalog(spec: &Option<String>) -> anyhow::Result<ScopeCatalog> {
    match spec {
        Some(s) => ScopeCatalog::parse(s).map_err(anyhow::Error::msg),
        None => Ok(ScopeCatalog::default()),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let scopes = catalog(&cli.scopes)?;
    match cli.command {
        Command::Serve(args) => serve(&cli.target, scopes, args).await,
        Command::Client(cmd) => {
            let target = open(&cli.target).await?;
            let mut config = Config::new("http://127.0.0.1:8080", target.tables.clone());
            config.scopes = scopes;
            client_command(&DynamoStore::new(target.db, target.tables), &config, cmd).await
        }
        Command::User(args) => {
            let target = open(&cli.target).await?;
            let issuer = args
                .issuer
                .or_else(|| running_issuer(&cli.target.data_dir))
                .unwrap_or_else(|| DEFAULT_LOCAL_ISSUER.to_owned());
            let app = command_app(Config::new(issuer, target.tables.clone()), target);
            crate::user_cli::user_command(&app, args.command).await
        }
        Command::Grant(cmd) => {
            let target = open(&cli.target).await?;
            crate::grant_cli::grant_command(&DynamoStore::new(target.db, target.tables), cmd).await
        }
        Command::Provider(args) => {
            let target = open(&cli.target).await?;
            let on_aws = target.aws.is_some();
            // On AWS a local server's issuer means nothing: it must be given.
            let issuer = match args.issuer {
                Some(i) => Some(i),
                None if on_aws => None,
                None => Some(
                    running_issuer(&cli.target.data_dir)
                        .unwrap_or_else(|| DEFAULT_LOCAL_ISSUER.to_owned()),
                ),
            };
            let ctx = crate::provider_cli::ProviderContext {
                issuer,
                policy: if on_aws {
                    AddressPolicy::PublicOnly
                } else {
                    AddressPolicy::Local
                },
                store: DynamoStore::new(target.db, target.tables),
            };
            crate::provider_cli::provider_command(&ctx, args.command).await
        }
        Command::Keys(cmd) => {
            let target = open(&cli.target).await?;
            let config = Config::new("http://127.0.0.1:8080", target.tables.clone());
            keys_command(&DynamoStore::new(target.db, target.tables), &config, cmd).await
        }
    }
}

/// Resolves the target, says which it is, and creates missing tables where allowed.
/// The issuer `gatehouse serve` takes by default.
const DEFAULT_LOCAL_ISSUER: &str = "http://127.0.0.1:8080";
/// Where a running `serve` records its issuer inside the data directory.
const ISSUER_FILE: &str = "issuer";

/// The issuer a running `serve` of `data_dir` recorded, while it runs.
fn running_issuer(data_dir: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(data_dir.join(ENGINE_URL_FILE)).ok()?;
    let issuer = std::fs::read_to_string(data_dir.join(ISSUER_FILE)).ok()?;
    Some(issuer.trim().to_owned()).filter(|i| !i.is_empty())
}

/// The app of an admin command on `target`. On AWS its own requests reach
/// public addresses only, and back-channel logout deliveries are enqueued for
/// the stack's delivery function when the queue is known; otherwise they are
/// made here and awaited, so the command can warn of each that failed
/// (`backchannel_logout.rs`).
fn command_app(mut config: Config, target: Target) -> App {
    let Some(aws) = target.aws else {
        return App::new(config, DynamoStore::new(target.db, target.tables));
    };
    config.outbound_addresses = AddressPolicy::PublicOnly;
    let app = App::new(config, DynamoStore::new(target.db, target.tables));
    match aws.logout_queue_url {
        Some(url) => app.with_logout_dispatch(LogoutDispatch::Queue(Arc::new(
            SqsLogoutQueue::new(&aws.conf, url),
        ))),
        None => {
            eprintln!(
                "note: no logout delivery queue is known (the stack's LogoutDeliveryQueueUrl \
                 output, or --logout-queue-url): back-channel logout deliveries are made from here"
            );
            app
        }
    }
}

async fn open(args: &TargetArgs) -> anyhow::Result<Target> {
    let target = args.resolve().await?;
    eprintln!("target: {}", target.description);
    if target.create_tables {
        target.tables.create_missing(&target.db).await?;
    }
    Ok(target)
}

async fn serve(args: &TargetArgs, scopes: ScopeCatalog, opts: ServeArgs) -> anyhow::Result<()> {
    gatehouse_core::lambda::init_logging(false);
    let listener = tokio::net::TcpListener::bind(opts.addr).await?;
    let addr = listener.local_addr()?;
    let target = args.resolve_for_serve(opts.engine_addr).await?;
    if target.create_tables {
        target.tables.create_missing(&target.db).await?;
    }
    let mut config = Config::new(
        opts.issuer.unwrap_or_else(|| format!("http://{addr}")),
        target.tables.clone(),
    );
    if let Some(aud) = opts.audience {
        config.audience = aud;
    }
    config.scopes = scopes;
    config.access_token_ttl = opts.access_token_ttl;
    config.code_ttl = opts.code_ttl;
    config.require_pkce = opts.require_pkce;
    config.allow_plain_pkce = opts.allow_plain_pkce;
    if let Some(spec) = &opts.cors_origins {
        config.cors_origins = Allowlist::parse(spec).map_err(anyhow::Error::msg)?;
    }
    // A running server sees key rotations by `gatehouse keys rotate` within a second.
    config.key_cache_ttl = Duration::from_secs(1);
    config.validate().map_err(anyhow::Error::msg)?;
    if args.aws {
        config.outbound_addresses = AddressPolicy::PublicOnly;
    }
    let mut store = DynamoStore::new(target.db.clone(), target.tables.clone());
    if let Some(engine) = &target.own_engine {
        // Every write to its tables passes through this process's engine, which
        // keeps the memo exact.
        store = store.with_client_memo(engine.client_memo());
    }
    let moved = store.migrate_legacy_keys().await?;
    if moved > 0 {
        eprintln!("moved {moved} secret item(s) of an older layout to the secrets table");
    }
    let synced = store.sync_origins().await?;
    if synced.stale_removed > 0 {
        eprintln!(
            "removed {} origin entry(ies) of deleted clients",
            synced.stale_removed
        );
    }
    let keyed = store.sync_email_keys().await?;
    if keyed > 0 {
        eprintln!("gave {keyed} user(s) stored before it their e-mail lookup key");
    }
    if registration::ensure_signing_keys(&store, &config, opts.signing_alg)
        .await
        .map_err(anyhow::Error::msg)?
    {
        eprintln!(
            "created the first signing keys ({})",
            opts.signing_alg.as_str()
        );
    }
    let engine_file = args.data_dir.join(ENGINE_URL_FILE);
    let sam_file = args.data_dir.join(SAM_LOCAL_ENV_FILE);
    let issuer_file = args.data_dir.join(ISSUER_FILE);
    if let Some(engine) = &target.own_engine {
        private_data::write_private(&engine_file, engine.url.as_bytes())?;
        // For `gatehouse user ...` on the same data: its logout tokens' `iss`.
        private_data::write_private(&issuer_file, config.issuer.as_bytes())?;
        let env = crate::sam_local::env_file(engine, &target.tables);
        private_data::write_private(&sam_file, format!("{env:#}\n").as_bytes())?;
    }
    let issuer = config.issuer.clone();
    // The process outlives its responses: back-channel logout deliveries run
    // in a spawned task and never hold up a response (`backchannel_logout.rs`).
    let app = Arc::new(App::new(config, store).with_logout_dispatch(LogoutDispatch::Spawn));
    println!(
        "Gatehouse listening on http://{addr} (issuer {issuer}; {})",
        target.description
    );
    let result = tokio::select! {
        r = crate::server::serve(listener, app) => r.map_err(anyhow::Error::from),
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    if target.own_engine.is_some() {
        let _ = std::fs::remove_file(&engine_file);
        let _ = std::fs::remove_file(&sam_file);
        let _ = std::fs::remove_file(&issuer_file);
    }
    result
}

fn client_json(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "client_type": c.client_type.as_str(),
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scope": c.allowed_scope.to_string(),
        "default_scope": c.default_scope.to_string(),
        "access_token_ttl": c.access_token_ttl,
        "introspect_any": c.introspect_any,
        "skip_consent": c.skip_consent,
        "token_endpoint_auth_method": c.token_endpoint_auth_method.map(|m| m.as_str()),
        "token_endpoint_auth_methods_accepted": auth_methods(c),
        "require_pkce": c.require_pkce,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "created_at": c.created_at,
    })
}

fn print_client(c: &Client) {
    println!("client_id:        {}", c.client_id);
    println!("name:             {}", c.name);
    println!("type:             {}", c.client_type.as_str());
    println!(
        "grant types:      {}",
        c.grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("redirect URIs:    {}", c.redirect_uris.join(" "));
    if !c.post_logout_redirect_uris.is_empty() {
        println!(
            "post-logout URIs: {}",
            c.post_logout_redirect_uris.join(" ")
        );
    }
    println!("scope:            {}", c.allowed_scope);
    println!("default scope:    {}", c.default_scope);
    if let Some(ttl) = c.access_token_ttl {
        println!("token lifetime:   {ttl} s");
    }
    if c.introspect_any {
        println!("introspect any:   yes");
    }
    if c.skip_consent {
        println!("skip consent:     yes");
    }
    match c.token_endpoint_auth_method {
        Some(m) => println!("auth method:      {m}"),
        None => println!(
            "auth method:      {} (registered before the method was recorded)",
            auth_methods(c).join(" or ")
        ),
    }
    if c.require_pkce {
        println!("require PKCE:     yes");
    }
    if let Some(uri) = &c.backchannel_logout_uri {
        println!("backchannel URI:   {uri}");
    }
}

fn parse_scope(s: &str) -> anyhow::Result<Scope> {
    Scope::parse(s.trim())
        .ok_or_else(|| anyhow::anyhow!("`{s}` is not a valid space-separated scope list"))
}

async fn client_command(
    store: &DynamoStore,
    config: &Config,
    cmd: ClientCommand,
) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Create {
            name,
            client_type,
            grant_types,
            redirect_uris,
            post_logout_redirect_uris,
            scope,
            default_scope,
            access_token_ttl,
            introspect_any,
            skip_consent,
            token_endpoint_auth_method,
            require_pkce,
            backchannel_logout_uri,
            json,
        } => {
            let reg = ClientRegistration {
                name,
                client_type,
                redirect_uris,
                grant_types,
                allowed_scope: parse_scope(&scope)?,
                default_scope: default_scope.as_deref().map(parse_scope).transpose()?,
                access_token_ttl,
                introspect_any,
                skip_consent,
                token_endpoint_auth_method,
                require_pkce,
                post_logout_redirect_uris,
                backchannel_logout_uri,
            };
            let created = registration::register_client(store, config, reg)
                .await
                .map_err(anyhow::Error::msg)?;
            let secret = created.secret.as_ref().map(|s| s.expose().to_owned());
            if json {
                let mut v = client_json(&created.client);
                if let Some(s) = &secret {
                    v["client_secret"] = json!(s);
                }
                println!("{v}");
            } else {
                print_client(&created.client);
                if let Some(s) = &secret {
                    println!("client_secret:    {s}");
                    eprintln!("The secret is shown only now; Gatehouse keeps only its hash.");
                }
            }
            Ok(())
        }
        ClientCommand::List { json } => {
            let clients = store.list_clients().await?;
            if json {
                println!(
                    "{}",
                    serde_json::Value::from(clients.iter().map(client_json).collect::<Vec<_>>())
                );
            } else {
                println!(
                    "{:<24} {:<13} {:<40} {:<38} NAME",
                    "CLIENT_ID", "TYPE", "GRANT TYPES", "AUTH METHOD"
                );
                for c in &clients {
                    let grants = c
                        .grant_types
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(",");
                    println!(
                        "{:<24} {:<13} {:<40} {:<38} {}",
                        c.client_id,
                        c.client_type.as_str(),
                        grants,
                        auth_methods(c).join(","),
                        c.name
                    );
                }
            }
            Ok(())
        }
        ClientCommand::Show { client_id, json } => {
            let c = store
                .get_client(&client_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no client `{client_id}`"))?;
            if json {
                println!("{}", client_json(&c));
            } else {
                print_client(&c);
            }
            Ok(())
        }
        ClientCommand::RotateSecret {
            client_id,
            grace_seconds,
            json,
        } => {
            let secret = registration::rotate_client_secret(store, &client_id, grace_seconds)
                .await
                .map_err(anyhow::Error::msg)?;
            if json {
                println!(
                    "{}",
                    json!({ "client_id": client_id, "client_secret": secret.expose() })
                );
            } else {
                println!("client_secret:    {}", secret.expose());
                if grace_seconds > 0 {
                    eprintln!(
                        "The old secret works for {grace_seconds} more seconds. The new one is shown only now."
                    );
                } else {
                    eprintln!("The old secret no longer works. The new one is shown only now.");
                }
            }
            Ok(())
        }
        ClientCommand::Delete { client_id } => {
            if store.delete_client(&client_id).await? {
                eprintln!("deleted client {client_id}; its tokens are no longer active");
                Ok(())
            } else {
                anyhow::bail!("no client `{client_id}`")
            }
        }
        ClientCommand::SyncOrigins { json } => {
            let sync = store.sync_origins().await?;
            if json {
                println!(
                    "{}",
                    json!({
                        "clients": sync.clients,
                        "stale_removed": sync.stale_removed,
                    })
                );
            } else {
                eprintln!(
                    "origins of {} client(s) are registered; {} entry(ies) of deleted clients removed",
                    sync.clients, sync.stale_removed
                );
            }
            Ok(())
        }
    }
}

async fn keys_command(
    store: &DynamoStore,
    config: &Config,
    cmd: KeysCommand,
) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::List { json } => {
            let mut keys = store.list_keys().await?;
            keys.sort_by_key(|k| k.created_at);
            if json {
                let v: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        json!({
                            "kid": k.kid, "alg": k.alg.as_str(), "status": k.status.as_str(),
                            "created_at": k.created_at, "activated_at": k.activated_at,
                            "retired_at": k.retired_at, "publish_until": k.publish_until,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::from(v));
            } else {
                println!(
                    "{:<44} {:<6} {:<8} {:<11} PUBLISHED UNTIL",
                    "KID", "ALG", "STATUS", "CREATED"
                );
                for k in &keys {
                    let until = k.publish_until.map_or("-".to_owned(), |t| t.to_string());
                    println!(
                        "{:<44} {:<6} {:<8} {:<11} {until}",
                        k.kid,
                        k.alg.as_str(),
                        k.status.as_str(),
                        k.created_at
                    );
                }
            }
            Ok(())
        }
        KeysCommand::Rotate { alg, force } => {
            let plan = registration::rotate_signing_keys(store, config, alg, force)
                .await
                .map_err(anyhow::Error::msg)?;
            if let Some(kid) = &plan.promote {
                println!("now signing with:  {kid}");
            }
            if let Some((kid, until)) = &plan.retire {
                println!("retired:           {kid} (published until {until})");
            }
            for k in plan.create.iter().map(|k| &k.public) {
                println!(
                    "created {:<8}   {} ({})",
                    k.status.as_str(),
                    k.kid,
                    k.alg.as_str()
                );
            }
            Ok(())
        }
        KeysCommand::Migrate => {
            let moved = store.migrate_legacy_keys().await?;
            println!("moved {moved} item(s) from the keys table to the secrets table");
            Ok(())
        }
    }
}
