//! Deployment configuration, read once per cold start from the environment (the
//! variables `template.yaml` sets) or built by the `gatehouse` command.

use crate::domain::cors::Allowlist;
use crate::domain::outbound_address::AddressPolicy;
use crate::domain::scope::ScopeCatalog;
use crate::store::TableNames;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    /// The issuer identifier (RFC 8414 §2): `https` URL without query or fragment.
    pub issuer: String,
    /// The `aud` of access tokens (RFC 9068 §2.2): the resource servers' identifier.
    pub audience: String,
    pub scopes: ScopeCatalog,
    /// Default access-token lifetime in seconds.
    pub access_token_ttl: u64,
    /// The longest access-token lifetime a client may be given; retired signing keys
    /// stay published this long (plus clock skew) after rotation.
    pub max_access_token_ttl: u64,
    /// How long a function keeps the key set before reading it again.
    pub key_cache_ttl: Duration,
    pub tables: TableNames,
    /// Authorization code lifetime in seconds (RFC 6749 §4.1.2: short; at most 600).
    pub code_ttl: u64,
    /// Refresh token lifetime in seconds; each rotation starts a new one.
    pub refresh_token_ttl: u64,
    /// A grant's longest life in seconds from its creation, however often it is
    /// refreshed ([`crate::domain::grant_lifetime`]): no refresh token outlives it.
    pub grant_max_lifetime: u64,
    /// How long after a refresh token's rotation a second use of it by the same
    /// client is taken for a retry whose answer was lost (answered with a new pair;
    /// the earlier successor stops working) rather than a replay (the whole grant
    /// revoked; RFC 9700 §4.14.2). 0, the default, treats every reuse as a replay.
    pub refresh_reuse_grace: u64,
    /// How long a login session lasts before the user must sign in again.
    pub session_ttl: u64,
    /// Accept `code_challenge_method=plain` (RFC 7636 §4.2); off by default.
    pub allow_plain_pkce: bool,
    /// Require PKCE from confidential clients too (public clients always need it).
    pub require_pkce: bool,
    /// Sign-in throttling (`domain/login_throttle.rs`), per window of
    /// `login_failure_window` seconds: attempts per (username, source address)
    /// pair, per source address over all usernames, and the per-username ceiling
    /// past which each pair gets one attempt per window instead.
    pub login_max_failures_per_user_source: u64,
    pub login_max_failures_per_source: u64,
    pub login_slow_down_after_failures_per_user: u64,
    pub login_failure_window: u64,
    /// The algorithm operators chose for signing keys (`GATEHOUSE_SIGNING_ALG`);
    /// keys are made by `gatehouse keys rotate`, so a function only warns when the
    /// active key differs.
    pub signing_alg: Option<crate::keys::SigningAlgorithm>,
    /// Origins allowed to call the token and revocation endpoints from a browser
    /// besides those of the clients' redirect URIs (`GATEHOUSE_CORS_ORIGINS`,
    /// [`crate::domain::cors`]).
    pub cors_origins: Allowlist,
    /// The addresses the server's own requests may reach
    /// ([`crate::domain::outbound_address`]): any locally, public ones only on
    /// AWS (every function reading its configuration from the environment, and
    /// the CLI's `--aws`).
    pub outbound_addresses: AddressPolicy,
}

pub const DEFAULT_ACCESS_TOKEN_TTL: u64 = 3600;
pub const DEFAULT_MAX_ACCESS_TOKEN_TTL: u64 = 86_400;
pub const DEFAULT_CODE_TTL: u64 = 60;
pub const DEFAULT_REFRESH_TOKEN_TTL: u64 = 30 * 86_400;
pub const DEFAULT_REFRESH_REUSE_GRACE: u64 = 0;
/// 90 days: three refresh token lifetimes, after which the user signs in again.
pub const DEFAULT_GRANT_MAX_LIFETIME: u64 = 90 * 86_400;
pub const DEFAULT_SESSION_TTL: u64 = 8 * 3600;
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_USER_SOURCE: u64 = 5;
pub const DEFAULT_LOGIN_MAX_FAILURES_PER_SOURCE: u64 = 30;
/// 20 per 15 minutes: at most 80 guesses an hour at one account from the
/// ceiling, below OWASP ASVS v4.0.3 §2.2.1's 100 an hour, plus one per address.
pub const DEFAULT_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER: u64 = 20;
pub const DEFAULT_LOGIN_FAILURE_WINDOW: u64 = 900;
/// Stands in for an issuer not known yet (or never used): never in a token.
pub const PLACEHOLDER_ISSUER: &str = "https://issuer.invalid";
/// Allowed clock difference between Gatehouse and verifiers.
pub const CLOCK_SKEW_SECONDS: u64 = 300;

impl Config {
    /// A configuration with defaults for everything but the issuer and tables.
    pub fn new(issuer: impl Into<String>, tables: TableNames) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            audience: issuer.clone(),
            issuer,
            scopes: ScopeCatalog::default(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            max_access_token_ttl: DEFAULT_MAX_ACCESS_TOKEN_TTL,
            key_cache_ttl: Duration::from_secs(30),
            tables,
            code_ttl: DEFAULT_CODE_TTL,
            refresh_token_ttl: DEFAULT_REFRESH_TOKEN_TTL,
            grant_max_lifetime: DEFAULT_GRANT_MAX_LIFETIME,
            refresh_reuse_grace: DEFAULT_REFRESH_REUSE_GRACE,
            session_ttl: DEFAULT_SESSION_TTL,
            allow_plain_pkce: false,
            require_pkce: false,
            login_max_failures_per_user_source: DEFAULT_LOGIN_MAX_FAILURES_PER_USER_SOURCE,
            login_max_failures_per_source: DEFAULT_LOGIN_MAX_FAILURES_PER_SOURCE,
            login_slow_down_after_failures_per_user:
                DEFAULT_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER,
            login_failure_window: DEFAULT_LOGIN_FAILURE_WINDOW,
            signing_alg: None,
            cors_origins: Allowlist::default(),
            outbound_addresses: AddressPolicy::Local,
        }
    }

    /// Reads `GATEHOUSE_ISSUER` (required), `GATEHOUSE_AUDIENCE`, `GATEHOUSE_SCOPES`
    /// (`name=description;...`), `GATEHOUSE_ACCESS_TOKEN_TTL`,
    /// `GATEHOUSE_MAX_ACCESS_TOKEN_TTL`, `GATEHOUSE_KEY_CACHE_SECONDS`,
    /// `GATEHOUSE_CODE_TTL`, `GATEHOUSE_REFRESH_TOKEN_TTL`, `GATEHOUSE_GRANT_MAX_LIFETIME`,
    /// `GATEHOUSE_REFRESH_REUSE_GRACE_SECONDS`, `GATEHOUSE_SESSION_TTL`,
    /// `GATEHOUSE_ALLOW_PLAIN_PKCE`, `GATEHOUSE_REQUIRE_PKCE` (`true`/`false`),
    /// `GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER_SOURCE`,
    /// `GATEHOUSE_LOGIN_MAX_FAILURES_PER_SOURCE`,
    /// `GATEHOUSE_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER`,
    /// `GATEHOUSE_LOGIN_FAILURE_WINDOW`, `GATEHOUSE_SIGNING_ALG` and the table names `GATEHOUSE_CLIENTS_TABLE`,
    /// `GATEHOUSE_TOKENS_TABLE`, `GATEHOUSE_GRANTS_TABLE`, `GATEHOUSE_SESSIONS_TABLE`,
    /// `GATEHOUSE_KEYS_TABLE`, `GATEHOUSE_SECRETS_TABLE`, `GATEHOUSE_USERS_TABLE`,
    /// `GATEHOUSE_CONSENTS_TABLE`, `GATEHOUSE_LOGIN_ATTEMPTS_TABLE`,
    /// `GATEHOUSE_ORIGINS_TABLE`, `GATEHOUSE_PROVIDERS_TABLE`,
    /// `GATEHOUSE_UPSTREAM_STATES_TABLE`, `GATEHOUSE_IDENTITIES_TABLE`; `GATEHOUSE_CORS_ORIGINS` (comma-separated origins).
    /// Outbound requests reach public addresses only. (`GATEHOUSE_LOGOUT_QUEUE_URL`
    /// is read by `gatehouse-logout-queue`.)
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`Config::from_lookup`], with `issuer` standing in for an empty
    /// `GATEHOUSE_ISSUER` (a routed function whose issuer is its API's default
    /// endpoint, [`crate::routes::issuer`], or one that never uses it).
    pub fn from_lookup_with_issuer(
        get: impl Fn(&str) -> Option<String>,
        issuer: &str,
    ) -> Result<Self, String> {
        Self::from_lookup(|k| {
            let v = get(k).filter(|v| !v.trim().is_empty());
            match k {
                "GATEHOUSE_ISSUER" => v.or_else(|| Some(issuer.to_owned())),
                _ => v,
            }
        })
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let required = |k: &str| get(k).ok_or_else(|| format!("{k} is not set"));
        let number = |k: &str, default: u64| -> Result<u64, String> {
            get(k).map_or(Ok(default), |v| {
                v.trim().parse().map_err(|_| format!("{k} is not a number"))
            })
        };
        let tables = TableNames {
            clients: required("GATEHOUSE_CLIENTS_TABLE")?,
            tokens: required("GATEHOUSE_TOKENS_TABLE")?,
            grants: required("GATEHOUSE_GRANTS_TABLE")?,
            sessions: required("GATEHOUSE_SESSIONS_TABLE")?,
            keys: required("GATEHOUSE_KEYS_TABLE")?,
            secrets: required("GATEHOUSE_SECRETS_TABLE")?,
            users: required("GATEHOUSE_USERS_TABLE")?,
            consents: required("GATEHOUSE_CONSENTS_TABLE")?,
            login_attempts: required("GATEHOUSE_LOGIN_ATTEMPTS_TABLE")?,
            origins: required("GATEHOUSE_ORIGINS_TABLE")?,
            providers: required("GATEHOUSE_PROVIDERS_TABLE")?,
            upstream_states: required("GATEHOUSE_UPSTREAM_STATES_TABLE")?,
            identities: required("GATEHOUSE_IDENTITIES_TABLE")?,
        };
        let flag = |k: &str| -> Result<bool, String> {
            match get(k).as_deref().map(str::trim) {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(_) => Err(format!("{k} must be true or false")),
            }
        };
        let mut c = Self::new(required("GATEHOUSE_ISSUER")?, tables);
        // Read from the environment: a deployed function, whose own requests
        // must not reach inside the deployment.
        c.outbound_addresses = AddressPolicy::PublicOnly;
        if let Some(aud) = get("GATEHOUSE_AUDIENCE") {
            c.audience = aud;
        }
        if let Some(spec) = get("GATEHOUSE_SCOPES") {
            c.scopes = ScopeCatalog::parse(&spec)?;
        }
        c.access_token_ttl = number("GATEHOUSE_ACCESS_TOKEN_TTL", DEFAULT_ACCESS_TOKEN_TTL)?;
        c.max_access_token_ttl = number(
            "GATEHOUSE_MAX_ACCESS_TOKEN_TTL",
            DEFAULT_MAX_ACCESS_TOKEN_TTL,
        )?;
        c.key_cache_ttl = Duration::from_secs(number("GATEHOUSE_KEY_CACHE_SECONDS", 30)?);
        c.code_ttl = number("GATEHOUSE_CODE_TTL", DEFAULT_CODE_TTL)?;
        c.refresh_token_ttl = number("GATEHOUSE_REFRESH_TOKEN_TTL", DEFAULT_REFRESH_TOKEN_TTL)?;
        c.grant_max_lifetime = number("GATEHOUSE_GRANT_MAX_LIFETIME", DEFAULT_GRANT_MAX_LIFETIME)?;
        c.refresh_reuse_grace = number(
            "GATEHOUSE_REFRESH_REUSE_GRACE_SECONDS",
            DEFAULT_REFRESH_REUSE_GRACE,
        )?;
        c.session_ttl = number("GATEHOUSE_SESSION_TTL", DEFAULT_SESSION_TTL)?;
        c.allow_plain_pkce = flag("GATEHOUSE_ALLOW_PLAIN_PKCE")?;
        c.require_pkce = flag("GATEHOUSE_REQUIRE_PKCE")?;
        if get("GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER").is_some() {
            // Its meaning changed (it locked a username out from everywhere): a
            // deployment that sets it must choose the new limits knowingly.
            return Err("GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER is replaced by \
                 GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER_SOURCE (per username and address) and \
                 GATEHOUSE_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER (the per-username ceiling)"
                .into());
        }
        c.login_max_failures_per_user_source = number(
            "GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER_SOURCE",
            DEFAULT_LOGIN_MAX_FAILURES_PER_USER_SOURCE,
        )?;
        c.login_max_failures_per_source = number(
            "GATEHOUSE_LOGIN_MAX_FAILURES_PER_SOURCE",
            DEFAULT_LOGIN_MAX_FAILURES_PER_SOURCE,
        )?;
        c.login_slow_down_after_failures_per_user = number(
            "GATEHOUSE_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER",
            DEFAULT_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER,
        )?;
        c.login_failure_window = number(
            "GATEHOUSE_LOGIN_FAILURE_WINDOW",
            DEFAULT_LOGIN_FAILURE_WINDOW,
        )?;
        c.signing_alg = get("GATEHOUSE_SIGNING_ALG")
            .map(|a| a.trim().parse())
            .transpose()?;
        if let Some(spec) = get("GATEHOUSE_CORS_ORIGINS") {
            c.cors_origins = Allowlist::parse(&spec)?;
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the issuer (RFC 8414 §2: https, no query, no fragment; plain http only
    /// on loopback for local work) and the lifetimes.
    pub fn validate(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.issuer)
            .map_err(|e| format!("issuer `{}` is not a URL: {e}", self.issuer))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err("the issuer must not have a query or fragment (RFC 8414 §2)".into());
        }
        let loopback = matches!(
            url.host_str(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        );
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err("the issuer must be an https URL (http only on loopback)".into());
        }
        if !(60..=self.max_access_token_ttl).contains(&self.access_token_ttl) {
            return Err(format!(
                "the access token lifetime must be between 60 and {} seconds",
                self.max_access_token_ttl
            ));
        }
        if !(1..=600).contains(&self.code_ttl) {
            return Err("the authorization code lifetime must be between 1 and 600 seconds".into());
        }
        if self.refresh_token_ttl < 60 {
            return Err("the refresh token lifetime must be at least 60 seconds".into());
        }
        if self.grant_max_lifetime == 0 {
            return Err("the grant maximum lifetime must be above 0 seconds".into());
        }
        if self.refresh_reuse_grace > 300 {
            return Err("the refresh reuse grace window must be at most 300 seconds".into());
        }
        if !(60..=30 * 86_400).contains(&self.session_ttl) {
            return Err("the session lifetime must be between 60 seconds and 30 days".into());
        }
        if self.key_cache_ttl.as_secs() > crate::keys::MAX_KEY_CACHE_SECONDS {
            return Err(format!(
                "the key cache lifetime must be at most {} seconds: the key rotation guard counts on it",
                crate::keys::MAX_KEY_CACHE_SECONDS
            ));
        }
        if self.login_max_failures_per_user_source == 0
            || self.login_max_failures_per_source == 0
            || self.login_slow_down_after_failures_per_user == 0
            || self.login_failure_window < 60
        {
            return Err(
                "login throttling needs limits above 0 and a window of at least 60 seconds".into(),
            );
        }
        Ok(())
    }

    /// Whether cookies carry `Secure`: always, except for a plain-HTTP loopback
    /// issuer during local work (browsers drop Secure cookies over plain HTTP).
    /// Whether access tokens' `iss` can be checked: false only for a Lambda
    /// authorizer deployed without the issuer.
    pub fn verifies_issuer(&self) -> bool {
        self.issuer != PLACEHOLDER_ISSUER
    }

    pub fn secure_cookies(&self) -> bool {
        !self.issuer.starts_with("http://")
    }

    /// The sign-in throttling limits.
    pub fn login_limits(&self) -> crate::domain::login_throttle::Limits {
        crate::domain::login_throttle::Limits {
            per_pair: self.login_max_failures_per_user_source,
            per_source: self.login_max_failures_per_source,
            per_user: self.login_slow_down_after_failures_per_user,
            window: self.login_failure_window,
        }
    }

    /// How long a retired signing key stays published: a warm token function may
    /// sign with it until its key cache expires, and the last token it signs is
    /// valid for the longest lifetime, give or take the clock skew.
    pub fn retired_key_publication(&self) -> u64 {
        crate::keys::MAX_KEY_CACHE_SECONDS + self.max_access_token_ttl + CLOCK_SKEW_SECONDS
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const BASE: [(&str, &str); 14] = [
        ("GATEHOUSE_ISSUER", "https://auth.example.com/"),
        ("GATEHOUSE_CLIENTS_TABLE", "c"),
        ("GATEHOUSE_TOKENS_TABLE", "t"),
        ("GATEHOUSE_GRANTS_TABLE", "g"),
        ("GATEHOUSE_SESSIONS_TABLE", "s"),
        ("GATEHOUSE_KEYS_TABLE", "k"),
        ("GATEHOUSE_SECRETS_TABLE", "sk"),
        ("GATEHOUSE_USERS_TABLE", "u"),
        ("GATEHOUSE_CONSENTS_TABLE", "cs"),
        ("GATEHOUSE_LOGIN_ATTEMPTS_TABLE", "la"),
        ("GATEHOUSE_ORIGINS_TABLE", "o"),
        ("GATEHOUSE_PROVIDERS_TABLE", "p"),
        ("GATEHOUSE_UPSTREAM_STATES_TABLE", "us"),
        ("GATEHOUSE_IDENTITIES_TABLE", "id"),
    ];

    #[test]
    fn configuration_reads_the_environment_with_defaults() {
        let c = Config::from_lookup(env(&BASE)).unwrap();
        assert_eq!(c.issuer, "https://auth.example.com");
        assert_eq!(c.audience, "https://auth.example.com");
        assert_eq!(c.access_token_ttl, 3600);
        assert_eq!(c.tables.tokens, "t");
        assert_eq!(c.scopes, ScopeCatalog::default());
        assert_eq!(c.code_ttl, 60);
        assert_eq!(c.grant_max_lifetime, 7_776_000);
        assert!(!c.allow_plain_pkce && !c.require_pkce);
        assert!(c.secure_cookies());
        let l = c.login_limits();
        assert_eq!(
            (l.per_pair, l.per_source, l.per_user, l.window),
            (5, 30, 20, 900)
        );
    }

    #[test]
    fn bad_configuration_is_refused_at_start() {
        let with = |k: &'static str, v: &'static str| {
            let mut p = BASE.to_vec();
            p.push((k, v));
            Config::from_lookup(env(&p))
        };
        assert!(with("GATEHOUSE_ACCESS_TOKEN_TTL", "ten").is_err());
        assert!(with("GATEHOUSE_ACCESS_TOKEN_TTL", "5").is_err());
        assert!(with("GATEHOUSE_SCOPES", "bad scope=x").is_err());
        assert!(with("GATEHOUSE_CODE_TTL", "601").is_err());
        assert!(with("GATEHOUSE_CODE_TTL", "0").is_err());
        assert!(with("GATEHOUSE_REQUIRE_PKCE", "yes").is_err());
        assert!(with("GATEHOUSE_REQUIRE_PKCE", "true").unwrap().require_pkce);
        assert!(
            with("GATEHOUSE_ALLOW_PLAIN_PKCE", "true")
                .unwrap()
                .allow_plain_pkce
        );
        assert!(with("GATEHOUSE_SESSION_TTL", "10").is_err());
        assert!(with("GATEHOUSE_GRANT_MAX_LIFETIME", "0").is_err());
        assert!(with("GATEHOUSE_GRANT_MAX_LIFETIME", "-1").is_err());
        assert!(with("GATEHOUSE_GRANT_MAX_LIFETIME", "a week").is_err());
        assert_eq!(
            with("GATEHOUSE_GRANT_MAX_LIFETIME", "3600")
                .unwrap()
                .grant_max_lifetime,
            3600
        );
        for k in [
            "GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER_SOURCE",
            "GATEHOUSE_LOGIN_MAX_FAILURES_PER_SOURCE",
            "GATEHOUSE_LOGIN_SLOW_DOWN_AFTER_FAILURES_PER_USER",
        ] {
            assert!(with(k, "0").is_err(), "{k}=0");
            assert!(with(k, "many").is_err(), "{k}=many");
            assert!(with(k, "1").is_ok(), "{k}=1");
        }
        assert!(with("GATEHOUSE_LOGIN_FAILURE_WINDOW", "59").is_err());
        let cors = with("GATEHOUSE_CORS_ORIGINS", "https://spa.example/").unwrap_err();
        assert!(cors.contains("GATEHOUSE_CORS_ORIGINS"), "{cors}");
        assert!(
            with("GATEHOUSE_CORS_ORIGINS", "https://spa.example")
                .unwrap()
                .cors_origins
                .contains("https://spa.example")
        );
        let renamed = with("GATEHOUSE_LOGIN_MAX_FAILURES_PER_USER", "5").unwrap_err();
        assert!(renamed.contains("_PER_USER_SOURCE"), "{renamed}");
        assert!(
            Config::from_lookup(env(&BASE[1..])).is_err(),
            "issuer is required"
        );
        let mut p = BASE.to_vec();
        p[0] = ("GATEHOUSE_ISSUER", "http://auth.example.com");
        assert!(
            Config::from_lookup(env(&p)).is_err(),
            "plain http off loopback"
        );
        p[0] = ("GATEHOUSE_ISSUER", "https://auth.example.com/?x=1");
        assert!(Config::from_lookup(env(&p)).is_err(), "query");
        p[0] = ("GATEHOUSE_ISSUER", "http://127.0.0.1:8080");
        assert!(Config::from_lookup(env(&p)).is_ok(), "loopback http");
    }
}
