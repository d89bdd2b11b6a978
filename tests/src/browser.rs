//! A minimal headless-browser driver, so end-to-end tests can click through the
//! HTML login and consent pages in Debian's Chromium (`chromium` and
//! `chromium-driver`, which `tests/run` installs when they are missing).
//!
//! This is a small client of the W3C WebDriver protocol
//! (<https://www.w3.org/TR/webdriver2/>) over the `reqwest`, `serde_json` and
//! `tokio` this crate already depends on, rather than a WebDriver crate: the
//! protocol is a handful of JSON calls, and a dedicated crate would add a sizeable
//! dependency tree and build time for what the tests need.
//!
//! `chromedriver` runs in a process group of its own. Dropping the [`Browser`]
//! (also while a test panics) kills that group, Chromium with it, and removes the
//! throw-away profile directory.

use reqwest::Method;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The W3C key under which a web element's reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A reference to an element of the current page, valid until it navigates away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element(pub String);

/// One Chromium, driven through its own `chromedriver`.
pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT` of chromedriver.
    base: String,
    /// `None` before the session exists and after [`Browser::quit`].
    session: Option<String>,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts `chromedriver` (`GATEHOUSE_CHROMEDRIVER`, else `/usr/bin/chromedriver`)
    /// and opens a session of headless Chromium (`GATEHOUSE_CHROMIUM`, else
    /// `/usr/bin/chromium`) with a fresh profile and the browser log recorded.
    /// A browser for a test, which fails (never skips) when it cannot start.
    pub async fn for_test() -> Browser {
        match Browser::start().await {
            Ok(browser) => browser,
            Err(e) => panic!("headless Chromium does not start: {e}"),
        }
    }

    pub async fn start() -> Result<Browser, String> {
        let driver = env_path("GATEHOUSE_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = env_path("GATEHOUSE_CHROMIUM", "/usr/bin/chromium");
        Self::start_with(&driver, &chromium).await
    }

    /// Starts the `chromedriver` at `driver` and a session of the Chromium at
    /// `chromium`; an error naming the packages and the variables when either is absent.
    pub async fn start_with(driver: &Path, chromium: &Path) -> Result<Browser, String> {
        for bin in [driver, chromium] {
            if !bin.is_file() {
                return Err(format!(
                    "{} not found: the browser tests need Debian's chromium and chromium-driver \
                     packages, which `bash tests/run` installs (or: sudo apt-get install -y \
                     --no-install-recommends chromium chromium-driver); to use other binaries, \
                     point GATEHOUSE_CHROMIUM and GATEHOUSE_CHROMEDRIVER at them",
                    bin.display()
                ));
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for chromedriver: {e}"))?
            .port();
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let profile = std::env::temp_dir().join(format!(
            "gatehouse-chromium-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).map_err(|e| format!("{}: {e}", profile.display()))?;
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                return Err(format!("cannot start {}: {e}", driver.display()));
            }
        };
        // reqwest is built with rustls and no provider (`outbound_http.rs`).
        gatehouse_core::outbound_http::install_default_provider();
        // From here on, Drop cleans up whatever fails.
        let mut browser = Browser {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| e.to_string())?,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            driver: child,
            profile,
        };
        browser.wait_ready(Duration::from_secs(10)).await?;
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", browser.profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "goog:chromeOptions": {"binary": chromium.to_string_lossy(), "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = browser
            .raw(Method::POST, "/session", Some(capabilities))
            .await?;
        let id = created["sessionId"]
            .as_str()
            .ok_or("no sessionId in the new session")?;
        browser.session = Some(id.to_owned());
        Ok(browser)
    }

    /// The profile directory, `--user-data-dir` of this Chromium.
    pub fn profile_dir(&self) -> &Path {
        &self.profile
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd(Method::POST, "/url", json!({"url": url}))
            .await
            .map(drop)
    }

    pub async fn current_url(&self) -> Result<String, String> {
        string(self.cmd(Method::GET, "/url", Value::Null).await?)
    }

    pub async fn title(&self) -> Result<String, String> {
        string(self.cmd(Method::GET, "/title", Value::Null).await?)
    }

    pub async fn source(&self) -> Result<String, String> {
        string(self.cmd(Method::GET, "/source", Value::Null).await?)
    }

    /// The first element matching the CSS selector; an error if none does.
    pub async fn find(&self, css: &str) -> Result<Element, String> {
        let found = self.cmd(Method::POST, "/element", by_css(css)).await?;
        element(&found).map_err(|e| format!("{css}: {e}"))
    }

    /// Every element matching the CSS selector, in document order (maybe none).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let found = self.cmd(Method::POST, "/elements", by_css(css)).await?;
        let found = found.as_array().ok_or("find_all: not an array")?;
        found.iter().map(element).collect()
    }

    /// Types `text` into the element (appended to what it holds).
    pub async fn type_into(&self, el: &Element, text: &str) -> Result<(), String> {
        let path = format!("/element/{}/value", el.0);
        self.cmd(Method::POST, &path, json!({"text": text}))
            .await
            .map(drop)
    }

    pub async fn click(&self, el: &Element) -> Result<(), String> {
        let path = format!("/element/{}/click", el.0);
        self.cmd(Method::POST, &path, json!({})).await.map(drop)
    }

    /// The element's rendered text.
    pub async fn text(&self, el: &Element) -> Result<String, String> {
        string(
            self.cmd(Method::GET, &format!("/element/{}/text", el.0), Value::Null)
                .await?,
        )
    }

    /// The element's content attribute as written in the HTML; `None` if absent. (An
    /// input's typed text is its `value` property: see [`Browser::prop`].)
    pub async fn attr(&self, el: &Element, name: &str) -> Result<Option<String>, String> {
        let path = format!("/element/{}/attribute/{name}", el.0);
        match self.cmd(Method::GET, &path, Value::Null).await? {
            Value::Null => Ok(None),
            value => string(value).map(Some),
        }
    }

    /// The element's DOM property, such as an input's current `value`.
    pub async fn prop(&self, el: &Element, name: &str) -> Result<Value, String> {
        let path = format!("/element/{}/property/{name}", el.0);
        self.cmd(Method::GET, &path, Value::Null).await
    }

    /// Types `text` into the first element matching `css`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), String> {
        let el = self.find(css).await?;
        self.type_into(&el, text).await
    }

    /// Clicks the first element matching `css`.
    pub async fn click_css(&self, css: &str) -> Result<(), String> {
        let el = self.find(css).await?;
        self.click(&el).await
    }

    /// Polls the current URL until `predicate` accepts it, and returns that URL.
    pub async fn wait_for_url(
        &self,
        predicate: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let url = self.current_url().await?;
            if predicate(&url) {
                return Ok(url);
            }
            if Instant::now() >= deadline {
                return Err(format!("still at {url} after {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the page title until `predicate` accepts it; that title, or an
    /// error naming the title and address it stayed at.
    pub async fn wait_for_title(
        &self,
        predicate: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let title = self.title().await?;
            if predicate(&title) {
                return Ok(title);
            }
            if Instant::now() >= deadline {
                let url = self.current_url().await.unwrap_or_default();
                return Err(format!(
                    "still at title {title:?} ({url}) after {timeout:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The browser log entries (`{"level", "message", "source", "timestamp"}`)
    /// recorded since the previous call: console messages, failed loads, CSP
    /// violations and uncaught errors. Reading it empties it.
    pub async fn browser_log(&self) -> Result<Vec<Value>, String> {
        let body = json!({"type": "browser"});
        let log = match self.cmd(Method::POST, "/se/log", body.clone()).await {
            Ok(log) => log,
            // Older chromedrivers know only the pre-W3C path.
            Err(_) => self.cmd(Method::POST, "/log", body).await?,
        };
        log.as_array()
            .cloned()
            .ok_or_else(|| format!("browser log: {log}"))
    }

    /// Runs `script` as the body of a function called with `args`; its return value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        let body = json!({"script": script, "args": args});
        self.cmd(Method::POST, "/execute/sync", body).await
    }

    /// Resizes the window to `width` × `height` CSS pixels (its outer size).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), String> {
        let body = json!({"width": width, "height": height});
        self.cmd(Method::POST, "/window/rect", body).await.map(drop)
    }

    /// Ends the session, which closes Chromium; dropping then stops chromedriver.
    pub async fn quit(mut self) -> Result<(), String> {
        match self.session.take() {
            Some(id) => self
                .raw(Method::DELETE, &format!("/session/{id}"), None)
                .await
                .map(drop),
            None => Ok(()),
        }
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(status) = self.raw(Method::GET, "/status", None).await
                && status["ready"] == true
            {
                return Ok(());
            }
            if let Ok(Some(exit)) = self.driver.try_wait() {
                return Err(format!("chromedriver exited at start: {exit}"));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "chromedriver not ready at {} after {limit:?}",
                    self.base
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A command of the session; `path` is below `/session/{id}`.
    async fn cmd(&self, method: Method, path: &str, body: Value) -> Result<Value, String> {
        let id = self
            .session
            .as_deref()
            .ok_or("the browser session has ended")?;
        let body = (!body.is_null()).then_some(body);
        self.raw(method, &format!("/session/{id}{path}"), body)
            .await
    }

    /// One WebDriver call: its `value`, or the error's `error: message`.
    async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let mut answer: Value = response
            .json()
            .await
            .map_err(|e| format!("{method} {path}: {status}: {e}"))?;
        let value = answer["value"].take();
        match value.get("error").and_then(Value::as_str) {
            Some(error) => {
                let message = value["message"].as_str().unwrap_or_default();
                Err(format!("{method} {path}: {error}: {message}"))
            }
            None if !status.is_success() => Err(format!("{method} {path}: {status}: {value}")),
            None => Ok(value),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing the whole group takes Chromium down with chromedriver.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        for _ in 0..20 {
            match std::fs::remove_dir_all(&self.profile) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => break,
            }
        }
    }
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| default.into(), PathBuf::from)
}

fn by_css(css: &str) -> Value {
    json!({"using": "css selector", "value": css})
}

fn element(found: &Value) -> Result<Element, String> {
    found[ELEMENT_KEY]
        .as_str()
        .map(|id| Element(id.to_owned()))
        .ok_or_else(|| format!("not an element: {found}"))
}

fn string(value: Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!("expected a string, got {other}")),
    }
}
