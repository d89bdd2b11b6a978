//! Which DynamoDB tables a command acts on: the local data directory (through a
//! running `gatehouse serve`'s engine when there is one, so that it sees changes at
//! once), any DynamoDB-compatible endpoint, or real AWS.

use crate::data_lock::{self, DataLock, Reach};
use crate::engine::{Durability, Engine};
use crate::private_data;
use crate::stack::StackOutputs;
use gatehouse_core::dynamodb::{EndpointCredentials, endpoint_client};
use gatehouse_core::store::TableNames;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a running `serve` records its engine's URL inside the data directory.
pub const ENGINE_URL_FILE: &str = "engine-url";
/// The SQLite file of the local data.
pub const DATABASE_FILE: &str = "gatehouse.db";

/// The `--help` heading of the options that choose where a command acts.
const TARGET: &str = "Target";
/// The `--help` heading of the `--*-table` options.
const TABLE_NAMES: &str = "Table names";

#[derive(Clone, Debug, clap::Args)]
pub struct TargetArgs {
    /// Local data directory (the embedded DynamoDB-compatible engine's files).
    #[arg(
        long,
        global = true,
        default_value = ".gatehouse",
        env = "GATEHOUSE_DATA_DIR",
        help_heading = TARGET
    )]
    pub data_dir: PathBuf,
    /// When a write to the local data is durable, when this process opens it
    /// (`serve`, or a command while no `serve` runs on it): `normal` survives a
    /// killed process, but the last writes may be lost on power loss or an OS
    /// crash; `full` syncs every write to the disk first (slower).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = Durability::Normal,
        env = "GATEHOUSE_DURABILITY",
        help_heading = TARGET
    )]
    pub durability: Durability,
    /// Use this DynamoDB-compatible endpoint instead of the local data. Requests
    /// are signed with GATEHOUSE_DYNAMODB_ACCESS_KEY_ID and
    /// GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY when both are set (another data
    /// directory's engine: see its engine-credentials), otherwise with the dummy
    /// credentials local/local, which DynamoDB Local and other emulators accept.
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_DYNAMODB_ENDPOINT",
        conflicts_with = "aws",
        help_heading = TARGET
    )]
    pub dynamodb_endpoint: Option<String>,
    /// Use real AWS DynamoDB through the standard credential chain; the table names
    /// come from --stack, or from the --*-table options.
    #[arg(long, global = true, help_heading = TARGET)]
    pub aws: bool,
    /// With --aws: the CloudFormation stack whose outputs name the tables
    /// (--*-table options still override single tables).
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_STACK",
        requires = "aws",
        value_name = "NAME",
        help_heading = TARGET
    )]
    pub stack: Option<String>,
    /// With --aws: the AWS region [default: the standard chain: AWS_REGION, the profile].
    #[arg(long, global = true, requires = "aws", help_heading = TARGET)]
    pub region: Option<String>,
    /// Table name prefix for the local data and --dynamodb-endpoint.
    #[arg(long, global = true, default_value = "gatehouse", help_heading = TARGET)]
    pub table_prefix: String,
    /// With --aws: the SQS queue of back-channel logout deliveries [default: the
    /// stack's LogoutDeliveryQueueUrl output].
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_LOGOUT_QUEUE_URL",
        requires = "aws",
        value_name = "URL",
        help_heading = TARGET
    )]
    pub logout_queue_url: Option<String>,
    /// The table of clients.
    #[arg(long, global = true, env = "GATEHOUSE_CLIENTS_TABLE", help_heading = TABLE_NAMES)]
    pub clients_table: Option<String>,
    /// The table of revoked access tokens.
    #[arg(long, global = true, env = "GATEHOUSE_TOKENS_TABLE", help_heading = TABLE_NAMES)]
    pub tokens_table: Option<String>,
    /// The table of grants.
    #[arg(long, global = true, env = "GATEHOUSE_GRANTS_TABLE", help_heading = TABLE_NAMES)]
    pub grants_table: Option<String>,
    /// The table of login sessions.
    #[arg(long, global = true, env = "GATEHOUSE_SESSIONS_TABLE", help_heading = TABLE_NAMES)]
    pub sessions_table: Option<String>,
    /// The table of the signing keys' public records.
    #[arg(long, global = true, env = "GATEHOUSE_KEYS_TABLE", help_heading = TABLE_NAMES)]
    pub keys_table: Option<String>,
    /// The table of private signing keys and HMAC keys.
    #[arg(long, global = true, env = "GATEHOUSE_SECRETS_TABLE", help_heading = TABLE_NAMES)]
    pub secrets_table: Option<String>,
    /// The table of users.
    #[arg(long, global = true, env = "GATEHOUSE_USERS_TABLE", help_heading = TABLE_NAMES)]
    pub users_table: Option<String>,
    /// The table of remembered consents.
    #[arg(long, global = true, env = "GATEHOUSE_CONSENTS_TABLE", help_heading = TABLE_NAMES)]
    pub consents_table: Option<String>,
    /// The table of failed-login counters.
    #[arg(long, global = true, env = "GATEHOUSE_LOGIN_ATTEMPTS_TABLE", help_heading = TABLE_NAMES)]
    pub login_attempts_table: Option<String>,
    /// The table of browser origins of the clients' redirect URIs.
    #[arg(long, global = true, env = "GATEHOUSE_ORIGINS_TABLE", help_heading = TABLE_NAMES)]
    pub origins_table: Option<String>,
    /// The table of upstream OpenID Providers.
    #[arg(long, global = true, env = "GATEHOUSE_PROVIDERS_TABLE", help_heading = TABLE_NAMES)]
    pub providers_table: Option<String>,
    /// The table of upstream authorization requests in flight.
    #[arg(long, global = true, env = "GATEHOUSE_UPSTREAM_STATES_TABLE", help_heading = TABLE_NAMES)]
    pub upstream_states_table: Option<String>,
    /// The table of federated identities.
    #[arg(long, global = true, env = "GATEHOUSE_IDENTITIES_TABLE", help_heading = TABLE_NAMES)]
    pub identities_table: Option<String>,
}

/// A resolved target: a DynamoDB client, the table names, and how to describe it.
pub struct Target {
    pub db: aws_sdk_dynamodb::Client,
    pub tables: TableNames,
    pub description: String,
    /// The engine, when this process started the embedded engine itself.
    pub own_engine: Option<Engine>,
    /// Whether tables may be created here (never on AWS, where the template owns them).
    pub create_tables: bool,
    /// On AWS: the SDK configuration, and the queue of back-channel logout
    /// deliveries when it is known.
    pub aws: Option<AwsTarget>,
}

/// What a command on AWS needs besides the tables.
#[derive(Clone, Debug)]
pub struct AwsTarget {
    pub conf: aws_config::SdkConfig,
    pub logout_queue_url: Option<String>,
}

impl TargetArgs {
    /// The table names: those given, else the stack's outputs on AWS, else the
    /// prefixed defaults.
    fn tables(&self, stack: Option<&StackOutputs>) -> anyhow::Result<TableNames> {
        let prefixed = TableNames::with_prefix(&self.table_prefix);
        let pick =
            |given: &Option<String>, default: String, name: &str| -> anyhow::Result<String> {
                match (given, self.aws, stack) {
                    (Some(t), _, _) => Ok(t.clone()),
                    (None, false, _) => Ok(default),
                    (None, true, Some(stack)) => stack.table(name),
                    (None, true, None) => anyhow::bail!(
                        "--aws needs --stack NAME, or --{name}-table (or GATEHOUSE_{}_TABLE)",
                        name.to_uppercase().replace('-', "_")
                    ),
                }
            };
        Ok(TableNames {
            clients: pick(&self.clients_table, prefixed.clients, "clients")?,
            tokens: pick(&self.tokens_table, prefixed.tokens, "tokens")?,
            grants: pick(&self.grants_table, prefixed.grants, "grants")?,
            sessions: pick(&self.sessions_table, prefixed.sessions, "sessions")?,
            keys: pick(&self.keys_table, prefixed.keys, "keys")?,
            secrets: pick(&self.secrets_table, prefixed.secrets, "secrets")?,
            users: pick(&self.users_table, prefixed.users, "users")?,
            consents: pick(&self.consents_table, prefixed.consents, "consents")?,
            login_attempts: pick(
                &self.login_attempts_table,
                prefixed.login_attempts,
                "login-attempts",
            )?,
            origins: pick(&self.origins_table, prefixed.origins, "origins")?,
            providers: pick(&self.providers_table, prefixed.providers, "providers")?,
            upstream_states: pick(
                &self.upstream_states_table,
                prefixed.upstream_states,
                "upstream-states",
            )?,
            identities: pick(&self.identities_table, prefixed.identities, "identities")?,
        })
    }

    /// Resolves the target for an admin command.
    pub async fn resolve(&self) -> anyhow::Result<Target> {
        if self.aws {
            return self.resolve_aws().await;
        }
        let tables = self.tables(None)?;
        if let Some(url) = &self.dynamodb_endpoint {
            let credentials =
                EndpointCredentials::from_env().unwrap_or_else(EndpointCredentials::dummy);
            return Ok(Target {
                db: endpoint_client(url, &credentials).await,
                description: format!(
                    "DynamoDB-compatible endpoint {url} (tables {}-*)",
                    self.table_prefix
                ),
                tables,
                own_engine: None,
                create_tables: true,
                aws: None,
            });
        }
        private_data::secure_dir(&self.data_dir)?;
        let lock =
            match data_lock::lock_or(&self.data_dir, || running_engine(&self.data_dir)).await? {
                Reach::Here(lock) => lock,
                Reach::Elsewhere(url) => {
                    // The running server's engine takes only its credentials, from the
                    // (owner-only) data directory.
                    let credentials = private_data::read_credentials(&self.data_dir)?;
                    return Ok(Target {
                        db: endpoint_client(&url, &credentials).await,
                        description: format!(
                            "local data in {} (through the running server's engine at {url})",
                            self.data_dir.display()
                        ),
                        tables,
                        own_engine: None,
                        create_tables: true,
                        aws: None,
                    });
                }
            };
        self.open_local(SocketAddr::from(([127, 0, 0, 1], 0)), tables, lock)
            .await
    }

    /// Real AWS: the region and credentials of the standard chain, and the table
    /// names from the stack's outputs or the --*-table options.
    async fn resolve_aws(&self) -> anyhow::Result<Target> {
        // Without a stack, missing table names are refused before anything is loaded.
        if self.stack.is_none() {
            self.tables(None)?;
        }
        let conf = crate::aws::config(self.region.as_deref()).await?;
        let (tables, source, queue) = match &self.stack {
            Some(name) => {
                let stack = StackOutputs::describe(&conf, name).await?;
                let queue = stack
                    .output(crate::stack::LOGOUT_QUEUE_OUTPUT)
                    .map(str::to_owned);
                (
                    self.tables(Some(&stack))?,
                    format!(" of stack {name}"),
                    queue,
                )
            }
            None => (self.tables(None)?, String::new(), None),
        };
        Ok(Target {
            db: aws_sdk_dynamodb::Client::new(&conf),
            description: format!(
                "AWS DynamoDB tables{source} in {}: {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}",
                crate::aws::region(&conf),
                tables.clients,
                tables.tokens,
                tables.grants,
                tables.sessions,
                tables.keys,
                tables.secrets,
                tables.users,
                tables.consents,
                tables.login_attempts,
                tables.origins,
                tables.providers,
                tables.upstream_states,
                tables.identities
            ),
            tables,
            own_engine: None,
            create_tables: false,
            aws: Some(AwsTarget {
                logout_queue_url: self.logout_queue_url.clone().or(queue),
                conf,
            }),
        })
    }

    /// Starts the embedded engine on the local data directory, listening on `addr`
    /// for requests signed by the directory's engine credentials, once this
    /// process holds the directory's `lock` (`data_lock`; the callers made the
    /// directory private first, `private_data`). The database and its side files
    /// are made private too.
    pub async fn open_local(
        &self,
        addr: SocketAddr,
        tables: TableNames,
        lock: DataLock,
    ) -> anyhow::Result<Target> {
        let dir = &self.data_dir;
        let credentials = private_data::engine_credentials(dir)?;
        let database = dir.join(DATABASE_FILE);
        private_data::create_private(&database)?;
        let engine =
            Engine::persistent(&database, addr, credentials, self.durability, lock).await?;
        // SQLite's side files take the database's mode; check that they did.
        private_data::report(dir, &private_data::tighten_files(dir)?);
        Ok(Target {
            // This process's own requests skip the port (`engine_connector`); the
            // port stays open for admin commands and `sam local`.
            db: engine.in_process_client().await,
            description: format!(
                "local data in {} (embedded engine at {})",
                dir.display(),
                engine.url
            ),
            tables,
            own_engine: Some(engine),
            create_tables: true,
            aws: None,
        })
    }

    /// The target `serve` uses: like [`Self::resolve`], but it always owns the local
    /// engine (on `engine_addr`) rather than joining another server's.
    pub async fn resolve_for_serve(&self, engine_addr: SocketAddr) -> anyhow::Result<Target> {
        if self.aws || self.dynamodb_endpoint.is_some() {
            return self.resolve().await;
        }
        private_data::secure_dir(&self.data_dir)?;
        match data_lock::lock_or(&self.data_dir, || running_engine(&self.data_dir)).await? {
            Reach::Here(lock) => self.open_local(engine_addr, self.tables(None)?, lock).await,
            Reach::Elsewhere(url) => anyhow::bail!(
                "another gatehouse serve is using {} (engine at {url}); stop it or pass another --data-dir",
                self.data_dir.display()
            ),
        }
    }
}

/// The engine URL a running `serve` recorded in `data_dir`, if it answers.
fn running_engine(data_dir: &Path) -> Option<String> {
    let url = std::fs::read_to_string(data_dir.join(ENGINE_URL_FILE)).ok()?;
    let url = url.trim().to_owned();
    let addr: SocketAddr = url.strip_prefix("http://")?.parse().ok()?;
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()?;
    Some(url)
}
