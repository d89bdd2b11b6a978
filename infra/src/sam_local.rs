//! The `--env-vars` file for `sam local` that `serve` writes into the data
//! directory (0600): the tables, the engine's endpoint as the Lambda containers
//! see it, and the engine's credentials, which the functions' `lambda_client`
//! signs with.

use crate::engine::Engine;
use gatehouse_core::store::TableNames;
use serde_json::json;

/// Its name in the data directory.
pub const SAM_LOCAL_ENV_FILE: &str = "sam-local-env.json";

/// The file's content for `engine` and `tables`: the endpoint is the engine's
/// port on `host.docker.internal`, the issuer `sam local start-api`'s address.
pub fn env_file(engine: &Engine, tables: &TableNames) -> serde_json::Value {
    let port = engine.url.rsplit(':').next().unwrap_or("8000");
    json!({
        "Parameters": {
            "GATEHOUSE_ISSUER": "http://127.0.0.1:3000",
            "GATEHOUSE_DYNAMODB_ENDPOINT": format!("http://host.docker.internal:{port}"),
            "GATEHOUSE_DYNAMODB_ACCESS_KEY_ID": engine.credentials.access_key_id,
            "GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY": engine.credentials.secret_access_key.expose(),
            "GATEHOUSE_CLIENTS_TABLE": tables.clients,
            "GATEHOUSE_TOKENS_TABLE": tables.tokens,
            "GATEHOUSE_GRANTS_TABLE": tables.grants,
            "GATEHOUSE_SESSIONS_TABLE": tables.sessions,
            "GATEHOUSE_KEYS_TABLE": tables.keys,
            "GATEHOUSE_USERS_TABLE": tables.users,
            "GATEHOUSE_CONSENTS_TABLE": tables.consents,
            "GATEHOUSE_LOGIN_ATTEMPTS_TABLE": tables.login_attempts,
            "GATEHOUSE_ORIGINS_TABLE": tables.origins,
            "GATEHOUSE_PROVIDERS_TABLE": tables.providers,
            "GATEHOUSE_UPSTREAM_STATES_TABLE": tables.upstream_states,
            "GATEHOUSE_IDENTITIES_TABLE": tables.identities,
            "GATEHOUSE_LOG_LEVEL": "debug",
        }
    })
}
