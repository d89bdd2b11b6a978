//! Real upstream OpenID Providers on loopback, for the federation tests: panva's
//! `oidc-provider` from npm (`tests/upstream/provider.mjs`, installed by
//! `bash tests/run`) and a second, independent Gatehouse. Each comes with a
//! helper that signs a user in through its own pages with the cookie-keeping
//! [`UserAgent`] and returns the authorization response (Core §3.1.2.5) as the
//! redirect to the client's redirect URI. The scripted provider of the
//! negative cases is in `scripted_provider.rs`.

use crate::flow::{PASSWORD, Page, UserAgent};
use crate::{TestClient, TestServer, http};
use gatehouse_core::domain::client::ClientType;
use gatehouse_core::domain::user::ProfileChange;
use gatehouse_core::registration;
use gatehouse_core::secret::{random_id, random_token};
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The directory of the npm package, `tests/upstream`.
fn package_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("upstream")
}

/// What to do at a step of a provider's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Sign in and grant what is asked.
    Approve,
    /// Refuse: the provider answers `error=access_denied` (Core §3.1.2.6).
    Deny,
}

/// The end of a sign-in at an upstream provider.
#[derive(Debug)]
pub struct SignIn {
    /// The redirect to the client's redirect URI: the authorization response.
    pub redirect: url::Url,
    /// The pages the provider showed, by step (`login`, `consent`), in order.
    pub steps: Vec<String>,
}

impl SignIn {
    /// Whether the provider asked the user to sign in (not only to consent).
    pub fn logged_in(&self) -> bool {
        self.steps.iter().any(|s| s == "login")
    }

    /// The value of query parameter `name` of the authorization response.
    pub fn param(&self, name: &str) -> Option<String> {
        crate::flow::param(&self.redirect, name)
    }
}

/// The one confidential client of [`NodeOidcProvider::config`].
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    pub id: String,
    pub secret: String,
    pub redirect_uri: String,
}

/// `oidc-provider` (npm) on `127.0.0.1`, in a process group of its own; dropping
/// it (also while a test panics) kills the group.
pub struct NodeOidcProvider {
    /// `http://127.0.0.1:PORT`, the issuer.
    pub issuer: String,
    /// The configuration it was started with.
    pub config: Value,
    child: Child,
    log: PathBuf,
}

impl NodeOidcProvider {
    /// A configuration of one confidential client (`client_secret_basic`) for
    /// `redirect_uri` and the accounts `alice` (`email_verified: true`) and
    /// `mallory` (`email_verified: "true"`, a string), with that client.
    pub fn config(redirect_uri: &str) -> (Value, UpstreamClient) {
        let client = UpstreamClient {
            id: format!("rp-{}", random_id()),
            secret: random_token().expose().to_owned(),
            redirect_uri: redirect_uri.to_owned(),
        };
        let config = json!({
            "clients": [{
                "client_id": client.id,
                "client_secret": client.secret,
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_basic",
            }],
            "accounts": [
                {
                    "sub": "alice",
                    "email": "alice@upstream.example",
                    "email_verified": true,
                    "name": "Alice Upstream",
                    "given_name": "Alice",
                    "family_name": "Upstream",
                },
                {
                    "sub": "mallory",
                    "email": "mallory@upstream.example",
                    "email_verified": "true",
                    "name": "Mallory",
                },
            ],
        });
        (config, client)
    }

    /// Starts `node tests/upstream/provider.mjs PORT CONFIG` on a free port and
    /// waits until its discovery document answers. Panics, naming `bash
    /// tests/run`, when node or the npm package is missing.
    pub async fn start(config: Value) -> NodeOidcProvider {
        match Self::try_start(config).await {
            Ok(p) => p,
            Err(e) => panic!("oidc-provider does not start: {e}"),
        }
    }

    pub async fn try_start(config: Value) -> Result<NodeOidcProvider, String> {
        Self::start_in(&package_dir(), config).await
    }

    /// Starts the `provider.mjs` of the npm package at `dir`.
    pub async fn start_in(
        dir: &std::path::Path,
        config: Value,
    ) -> Result<NodeOidcProvider, String> {
        let installed = dir.join("node_modules/oidc-provider/package.json");
        if !installed.is_file() {
            return Err(format!(
                "{} not found: the upstream provider tests need the npm package \
                 oidc-provider, which `bash tests/run` installs (npm ci in {})",
                installed.display(),
                dir.display()
            ));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for oidc-provider: {e}"))?
            .port();
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let log = std::env::temp_dir().join(format!(
            "gatehouse-oidc-provider-{}-{}.log",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let stderr = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new("node")
            .current_dir(dir)
            .arg("provider.mjs")
            .arg(port.to_string())
            .arg(config.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run node: {e}; the upstream provider tests need Node.js and npm, \
                     which `bash tests/run` installs"
                )
            })?;
        // From here on, Drop cleans up whatever fails.
        let mut provider = NodeOidcProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            config,
            child,
            log,
        };
        provider.wait_ready(Duration::from_secs(20)).await?;
        Ok(provider)
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        loop {
            if let Ok(r) = http().get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("node exited at start: {exit}\n{log}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("{url} does not answer after {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Follows `authorization_url` through the provider's pages: signs
    /// `account` in when asked (also again for `prompt=login` or `max_age`,
    /// Core §3.1.2.1), grants what is asked, and returns the authorization
    /// response.
    pub async fn sign_in(
        &self,
        ua: &mut UserAgent,
        authorization_url: &str,
        account: &str,
    ) -> SignIn {
        self.sign_in_answering(ua, authorization_url, account, Answer::Approve)
            .await
    }

    /// Like [`Self::sign_in`], answering the first page with `answer`.
    pub async fn sign_in_answering(
        &self,
        ua: &mut UserAgent,
        authorization_url: &str,
        account: &str,
        answer: Answer,
    ) -> SignIn {
        let mut steps = Vec::new();
        let mut at = url::Url::parse(authorization_url).expect("an absolute URL");
        let mut page = ua.get(at.as_str()).await;
        for _ in 0..20 {
            match page.status {
                302 | 303 => {
                    let next = redirect_of(&at, &page);
                    if !next.as_str().starts_with(&format!("{}/", self.issuer)) {
                        return SignIn {
                            redirect: next,
                            steps,
                        };
                    }
                    page = ua.get(next.as_str()).await;
                    at = next;
                }
                200 => {
                    let step = page
                        .field("prompt")
                        .unwrap_or_else(|| panic!("an interaction page: {}", page.body));
                    let action = match answer {
                        Answer::Deny => "deny",
                        Answer::Approve => "approve",
                    };
                    let mut form = vec![("action", action)];
                    if step == "login" {
                        form.push(("login", account));
                    }
                    steps.push(step);
                    page = ua.post(at.as_str(), &form).await;
                }
                status => panic!("oidc-provider answered {status}: {}", page.body),
            }
        }
        panic!("no authorization response after 20 pages")
    }
}

/// The `Location` of `page`, resolved against the URL it came from.
fn redirect_of(from: &url::Url, page: &Page) -> url::Url {
    let location = page
        .header(LOCATION.as_str())
        .unwrap_or_else(|| panic!("a redirect without Location: {}", page.body));
    from.join(location).expect("Location is a URL")
}

impl Drop for NodeOidcProvider {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A second Gatehouse as the upstream: its own engine and issuer, the user
/// `alice` (password [`PASSWORD`], a verified e-mail address and a name), and a
/// confidential client allowed `openid email profile` for one redirect URI.
///
/// Its cookies have the same names as the downstream Gatehouse's, and cookies
/// are not kept apart by port (RFC 6265 §8.5), nor by host in [`UserAgent`]:
/// sign in to it with a `UserAgent` of its own, and carry the redirect over.
pub struct GatehouseUpstream {
    pub server: TestServer,
    pub client: UpstreamClient,
    pub username: String,
}

impl GatehouseUpstream {
    pub async fn start(redirect_uri: &str) -> GatehouseUpstream {
        let server = TestServer::start().await;
        let username = "alice".to_owned();
        registration::create_user_with_profile(
            &server.app.store,
            &username,
            PASSWORD,
            &ProfileChange {
                email: Some("alice@gatehouse-upstream.example".into()),
                email_verified: Some(true),
                name: Some("Alice Gatehouse".into()),
                ..ProfileChange::default()
            },
        )
        .await
        .expect("the upstream user is created");
        let registered: TestClient = server
            .code_client_with(ClientType::Confidential, "openid email profile", |r| {
                r.redirect_uris = vec![redirect_uri.to_owned()];
            })
            .await;
        GatehouseUpstream {
            client: UpstreamClient {
                id: registered.id,
                secret: registered.secret.expect("a confidential client's secret"),
                redirect_uri: redirect_uri.to_owned(),
            },
            server,
            username,
        }
    }

    /// The issuer, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.server.base
    }

    /// Follows `authorization_url` through the login and consent pages as
    /// `alice`, approving or denying on the consent page, and returns the
    /// authorization response.
    pub async fn sign_in(
        &self,
        ua: &mut UserAgent,
        authorization_url: &str,
        answer: Answer,
    ) -> SignIn {
        let mut steps = Vec::new();
        let mut page = ua.get(authorization_url).await;
        if page.is_login() {
            steps.push("login".to_owned());
            page = ua
                .login(&self.server, &page, &self.username, PASSWORD)
                .await;
        }
        if page.is_consent() {
            steps.push("consent".to_owned());
            let action = match answer {
                Answer::Approve => "approve",
                Answer::Deny => "deny",
            };
            page = ua.consent(&self.server, &page, action).await;
        }
        assert!(
            matches!(page.status, 302 | 303),
            "expected the authorization response, got {} {}",
            page.status,
            page.body
        );
        let from = url::Url::parse(authorization_url).expect("an absolute URL");
        SignIn {
            redirect: redirect_of(&from, &page),
            steps,
        }
    }
}

impl TestServer {
    /// Registers upstream provider `provider_id` (display name
    /// "`{provider_id}` accounts") by discovery of `issuer`, as `gatehouse
    /// provider add` does.
    pub async fn add_upstream(
        &self,
        provider_id: &str,
        issuer: &str,
        client_id: &str,
        secret: &str,
        trust_email: bool,
    ) {
        let http =
            gatehouse_core::outbound_http::OutboundHttp::new(self.app.config.outbound_addresses)
                .expect("an outbound client");
        gatehouse_core::provider_discovery::add_provider(
            &self.app.store,
            &http,
            gatehouse_core::provider_discovery::NewProvider {
                provider_id: provider_id.into(),
                issuer: issuer.into(),
                client_id: client_id.into(),
                client_secret: gatehouse_core::secret::Secret::new(secret),
                scope: None,
                display_name: Some(format!("{provider_id} accounts")),
                trust_email,
                hosted_domain: None,
            },
            gatehouse_core::app::now(),
        )
        .await
        .expect("the provider is added");
    }

    /// A scripted provider (`scripted_provider.rs`), registered as `provider_id`.
    pub async fn scripted_upstream(
        &self,
        provider_id: &str,
        trust_email: bool,
    ) -> crate::scripted_provider::ScriptedProvider {
        let p = crate::scripted_provider::ScriptedProvider::start().await;
        self.add_upstream(
            provider_id,
            &p.issuer,
            &p.client_id,
            &p.client_secret,
            trust_email,
        )
        .await;
        p
    }
}
