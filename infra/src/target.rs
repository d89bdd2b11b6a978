//! Which DynamoDB tables a command acts on: the local data directory (through a
//! running `gatehouse serve`'s engine when there is one, so that it sees changes at
//! once), any DynamoDB-compatible endpoint, or real AWS.

use crate::engine::Engine;
use gatehouse_core::dynamodb::{aws_client, endpoint_client};
use gatehouse_core::store::TableNames;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a running `serve` records its engine's URL inside the data directory.
pub const ENGINE_URL_FILE: &str = "engine-url";
/// The SQLite file of the local data.
pub const DATABASE_FILE: &str = "gatehouse.db";

#[derive(Clone, Debug, clap::Args)]
pub struct TargetArgs {
    /// Local data directory (the embedded DynamoDB-compatible engine's files).
    #[arg(
        long,
        global = true,
        default_value = ".gatehouse",
        env = "GATEHOUSE_DATA_DIR"
    )]
    pub data_dir: PathBuf,
    /// Use this DynamoDB-compatible endpoint instead of the local data.
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_DYNAMODB_ENDPOINT",
        conflicts_with = "aws"
    )]
    pub dynamodb_endpoint: Option<String>,
    /// Use real AWS DynamoDB through the standard credential chain; give the table
    /// names (the stack's outputs) with the --*-table options.
    #[arg(long, global = true)]
    pub aws: bool,
    /// Table name prefix for the local data and --dynamodb-endpoint.
    #[arg(long, global = true, default_value = "gatehouse")]
    pub table_prefix: String,
    #[arg(long, global = true, env = "GATEHOUSE_CLIENTS_TABLE")]
    pub clients_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_TOKENS_TABLE")]
    pub tokens_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_GRANTS_TABLE")]
    pub grants_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_SESSIONS_TABLE")]
    pub sessions_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_KEYS_TABLE")]
    pub keys_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_SECRETS_TABLE")]
    pub secrets_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_USERS_TABLE")]
    pub users_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_CONSENTS_TABLE")]
    pub consents_table: Option<String>,
    #[arg(long, global = true, env = "GATEHOUSE_LOGIN_ATTEMPTS_TABLE")]
    pub login_attempts_table: Option<String>,
}

/// A resolved target: a DynamoDB client, the table names, and how to describe it.
pub struct Target {
    pub db: aws_sdk_dynamodb::Client,
    pub tables: TableNames,
    pub description: String,
    /// The engine URL when this process started the embedded engine itself.
    pub own_engine: Option<String>,
    /// Whether tables may be created here (never on AWS, where the template owns them).
    pub create_tables: bool,
}

impl TargetArgs {
    fn tables(&self) -> anyhow::Result<TableNames> {
        let prefixed = TableNames::with_prefix(&self.table_prefix);
        let pick =
            |given: &Option<String>, default: String, name: &str| -> anyhow::Result<String> {
                match (given, self.aws) {
                    (Some(t), _) => Ok(t.clone()),
                    (None, false) => Ok(default),
                    (None, true) => anyhow::bail!(
                        "--aws needs --{name}-table (or GATEHOUSE_{}_TABLE)",
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
        })
    }

    /// Resolves the target for an admin command.
    pub async fn resolve(&self) -> anyhow::Result<Target> {
        let tables = self.tables()?;
        if self.aws {
            return Ok(Target {
                db: aws_client().await,
                description: format!(
                    "AWS DynamoDB tables {}, {}, {}, {}, {}, {}, {}, {}, {}",
                    tables.clients,
                    tables.tokens,
                    tables.grants,
                    tables.sessions,
                    tables.keys,
                    tables.secrets,
                    tables.users,
                    tables.consents,
                    tables.login_attempts
                ),
                tables,
                own_engine: None,
                create_tables: false,
            });
        }
        if let Some(url) = &self.dynamodb_endpoint {
            return Ok(Target {
                db: endpoint_client(url).await,
                description: format!(
                    "DynamoDB-compatible endpoint {url} (tables {}-*)",
                    self.table_prefix
                ),
                tables,
                own_engine: None,
                create_tables: true,
            });
        }
        if let Some(url) = running_engine(&self.data_dir) {
            return Ok(Target {
                db: endpoint_client(&url).await,
                description: format!(
                    "local data in {} (through the running server's engine at {url})",
                    self.data_dir.display()
                ),
                tables,
                own_engine: None,
                create_tables: true,
            });
        }
        self.open_local(SocketAddr::from(([127, 0, 0, 1], 0)), tables)
            .await
    }

    /// Starts the embedded engine on the local data directory, listening on `addr`.
    pub async fn open_local(&self, addr: SocketAddr, tables: TableNames) -> anyhow::Result<Target> {
        std::fs::create_dir_all(&self.data_dir)?;
        let engine = Engine::persistent(&self.data_dir.join(DATABASE_FILE), addr).await?;
        Ok(Target {
            db: endpoint_client(&engine.url).await,
            description: format!(
                "local data in {} (embedded engine at {})",
                self.data_dir.display(),
                engine.url
            ),
            tables,
            own_engine: Some(engine.url),
            create_tables: true,
        })
    }

    /// The target `serve` uses: like [`Self::resolve`], but it always owns the local
    /// engine (on `engine_addr`) rather than joining another server's.
    pub async fn resolve_for_serve(&self, engine_addr: SocketAddr) -> anyhow::Result<Target> {
        if self.aws || self.dynamodb_endpoint.is_some() {
            return self.resolve().await;
        }
        if let Some(url) = running_engine(&self.data_dir) {
            anyhow::bail!(
                "another gatehouse serve is using {} (engine at {url}); stop it or pass another --data-dir",
                self.data_dir.display()
            );
        }
        self.open_local(engine_addr, self.tables()?).await
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
