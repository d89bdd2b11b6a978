//! The server's own HTTP client, for requests to URIs that others registered:
//! back-channel logout deliveries now (Back-Channel Logout 1.0 §2.5), upstream
//! providers' documents (their JWKS, [`OutboundHttp::get_json`]), their token
//! and UserInfo endpoints ([`OutboundHttp::post_form_json`],
//! [`OutboundHttp::get_json_bearer`]). One place decides how every such request is made:
//!
//! - TLS: rustls on the aws-lc-rs provider that the AWS SDK already links, with
//!   the system's root certificates; no second TLS stack, no ring provider.
//! - Addresses: IP literals are checked before a request, and names are
//!   resolved by [`CheckedResolver`], which keeps only the addresses the
//!   [`AddressPolicy`] allows; the client connects only to what it returns, so a
//!   name cannot be made to resolve to an internal address between a check and
//!   the connection (DNS rebinding).
//! - Every other reqwest client in a build that links this crate is switched to
//!   rustls too (Cargo unifies reqwest's features) and, with no provider of its
//!   own, panics when built ("No provider set") unless a process-wide default
//!   provider is installed: a program (or test) that builds one calls
//!   [`install_default_provider`] first. The functions and the `gatehouse`
//!   command build none.
//! - Every answer's body is read by one function, within a limit given per
//!   call, refused before it is all read when larger.
//! - No redirects followed (a redirect to an internal address is a classic way
//!   around the check above, and §2.8 gives redirects no meaning), no proxies, a
//!   short connect and total timeout.

use crate::domain::outbound_address::AddressPolicy;
use crate::secret::Secret;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The longest a connection may take to open, and a whole request to answer.
pub const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(5);

/// The most bytes a JSON document fetched with [`OutboundHttp::get_json`] may
/// have (an upstream JWKS is a few KiB).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// Installs the aws-lc-rs provider as the process's default rustls provider,
/// for reqwest clients built without a TLS configuration of their own (see the
/// module doc); does nothing if a default is installed already.
pub fn install_default_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// An HTTP client whose requests reach only what its [`AddressPolicy`] allows.
#[derive(Clone, Debug)]
pub struct OutboundHttp {
    client: reqwest::Client,
    policy: AddressPolicy,
}

/// Why a request was not answered.
#[derive(Debug)]
pub enum OutboundError {
    /// The URI is not one the client may request (scheme, host or address);
    /// retrying cannot help.
    Refused(String),
    /// Connecting, sending or reading failed, or timed out.
    Failed(String),
}

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) => write!(f, "refused: {m}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl OutboundHttp {
    /// A client for `policy`. Loading the system's roots is slow: build it once
    /// per process ([`crate::App::outbound_http`]).
    pub fn new(policy: AddressPolicy) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!(
                "no system root certificates were found: https requests will fail \
                 (install the CA certificates, or set SSL_CERT_FILE)"
            );
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS configuration: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .dns_resolver(Arc::new(CheckedResolver { policy }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(OUTBOUND_TIMEOUT)
            .timeout(OUTBOUND_TIMEOUT)
            .user_agent("gatehouse")
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }

    /// Whether `uri` may be requested: `http` or `https`, a host, and an IP
    /// literal host only if the policy allows it (names are checked when
    /// resolved).
    pub fn check(&self, uri: &str) -> Result<url::Url, OutboundError> {
        let url = url::Url::parse(uri).map_err(|e| OutboundError::Refused(format!("{e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::Refused(format!(
                "scheme {} is not http or https",
                url.scheme()
            )));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::Refused("no host".into())),
        };
        if let Some(ip) = ip
            && !self.policy.allows(ip)
        {
            return Err(OutboundError::Refused(format!(
                "{ip} is an internal address"
            )));
        }
        Ok(url)
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `uri`; the status.
    pub async fn post_form(&self, uri: &str, form: &[(&str, &str)]) -> Result<u16, OutboundError> {
        let url = self.check(uri)?;
        let answer = self
            .client
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(describe)?;
        Ok(answer.status().as_u16())
    }
}

/// Why a document was not read.
#[derive(Debug)]
pub enum FetchError {
    /// Refused or failed before an answer ([`OutboundError`]).
    Request(OutboundError),
    /// Answered with a status other than 200.
    Status(u16),
    /// Larger than the limit given, in bytes.
    TooLarge(usize),
    /// Not JSON.
    NotJson(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request(e) => e.fmt(f),
            Self::Status(s) => write!(f, "answered HTTP {s}, not 200"),
            Self::TooLarge(limit) => write!(f, "the answer is larger than {limit} bytes"),
            Self::NotJson(e) => write!(f, "the answer is not JSON: {e}"),
        }
    }
}

impl OutboundHttp {
    /// GETs `uri` and reads its answer as JSON of type `T`: status 200 (a
    /// redirect is not followed), at most `limit` bytes (refused by its
    /// `content-length`, or while reading, before it is all read); for upstream
    /// providers' documents (OpenID Connect Discovery 1.0 §4.2, their JWKS).
    /// Errors name neither the URI's path nor the body.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        uri: &str,
        limit: usize,
    ) -> Result<T, FetchError> {
        let url = self.check(uri).map_err(FetchError::Request)?;
        let answer = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Request(describe(e)))?;
        let status = answer.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status(status));
        }
        let body = read_bounded(answer, limit).await?;
        serde_json::from_slice(&body).map_err(|e| FetchError::NotJson(e.to_string()))
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `uri`, with
    /// `authorization` as the `Authorization` header when given (a sensitive
    /// header, never logged), asking for JSON; the answer whatever its status,
    /// its body read within `limit` bytes as for `get_json`. For an
    /// upstream token endpoint (RFC 6749 §4.1.3, §5.1, §5.2).
    pub async fn post_form_json(
        &self,
        uri: &str,
        authorization: Option<&Secret>,
        form: &[(&str, &str)],
        limit: usize,
    ) -> Result<JsonAnswer, FetchError> {
        let url = self.check(uri).map_err(FetchError::Request)?;
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some(credentials) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, sensitive(credentials)?);
        }
        json_answer(request, limit).await
    }

    /// GETs `uri` with `access_token` as a Bearer token in the `Authorization`
    /// header (RFC 6750 §2.1; a sensitive header, never logged), asking for
    /// JSON; the answer whatever its status, its body read within `limit`
    /// bytes. For an upstream UserInfo endpoint (OpenID Connect Core §5.3.1).
    pub async fn get_json_bearer(
        &self,
        uri: &str,
        access_token: &Secret,
        limit: usize,
    ) -> Result<JsonAnswer, FetchError> {
        let url = self.check(uri).map_err(FetchError::Request)?;
        let bearer = Secret::new(format!("Bearer {}", access_token.expose()));
        let request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::AUTHORIZATION, sensitive(&bearer)?);
        json_answer(request, limit).await
    }
}

/// An answer read by [`OutboundHttp::post_form_json`] or
/// [`OutboundHttp::get_json_bearer`]. Its `Debug` shows neither the body nor
/// anything in it (a token answer holds tokens).
pub struct JsonAnswer {
    pub status: u16,
    /// The `Content-Type`'s media type, lowercased, without its parameters.
    pub media_type: Option<String>,
    /// The body as JSON, or `None` when it is not JSON.
    pub json: Option<serde_json::Value>,
}

impl std::fmt::Debug for JsonAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonAnswer")
            .field("status", &self.status)
            .field("media_type", &self.media_type)
            .field("json", &self.json.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A credential as a header value marked sensitive; one that cannot be a
/// header value (a control character) is refused, never a panic.
fn sensitive(credentials: &Secret) -> Result<reqwest::header::HeaderValue, FetchError> {
    let mut value = reqwest::header::HeaderValue::from_str(credentials.expose()).map_err(|_| {
        FetchError::Request(OutboundError::Refused(
            "the credentials are not a valid header value".into(),
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sends `request` and reads its answer as a [`JsonAnswer`].
async fn json_answer(
    request: reqwest::RequestBuilder,
    limit: usize,
) -> Result<JsonAnswer, FetchError> {
    let answer = request
        .send()
        .await
        .map_err(|e| FetchError::Request(describe(e)))?;
    let status = answer.status().as_u16();
    let media_type = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let body = read_bounded(answer, limit).await?;
    let json = serde_json::from_slice(&body).ok();
    Ok(JsonAnswer {
        status,
        media_type,
        json,
    })
}

/// The body of `answer`, at most `limit` bytes: refused by its
/// `content-length`, or while reading, before it is all read. The one place
/// an outbound answer's body is read.
async fn read_bounded(mut answer: reqwest::Response, limit: usize) -> Result<Vec<u8>, FetchError> {
    if answer.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| FetchError::Request(describe(e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A one-line cause of a failed request, naming neither the URI's path nor the
/// body.
fn describe(e: reqwest::Error) -> OutboundError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    // A refused name is a refusal, not a transient failure.
    if cause.contains(REFUSED_NAME) {
        return OutboundError::Refused(cause);
    }
    if cause.is_empty() {
        OutboundError::Failed(kind.into())
    } else {
        OutboundError::Failed(format!("{kind}: {cause}"))
    }
}

const REFUSED_NAME: &str = "resolves only to internal addresses";

/// Resolves names with the system resolver and keeps the addresses `policy`
/// allows; none left is an error.
#[derive(Debug)]
pub struct CheckedResolver {
    policy: AddressPolicy,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    format!("{host} does not resolve").into()
                } else {
                    format!("{host} {REFUSED_NAME}").into()
                };
                return Err(e);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server giving one raw `answer` to each request.
    async fn answering(answer: String) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/doc", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        uri
    }

    #[tokio::test]
    async fn get_json_takes_a_small_200_json_answer_only() {
        let http = OutboundHttp::new(AddressPolicy::Local).unwrap();
        let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
        let not_found = answering(
            "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".into(),
        )
        .await;
        let redirect = answering(
            "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/\r\ncontent-length: 0\r\n\r\n"
                .into(),
        )
        .await;
        // No content-length: the limit is met while reading.
        let large = answering(format!("{ok}{{\"pad\":\"{}\"}}", "x".repeat(100))).await;
        let not_json = answering(format!("{ok}<html></html>")).await;
        for (uri, expected) in [
            (&not_found, "answered HTTP 404"),
            (&redirect, "answered HTTP 302"),
            (&large, "larger than 64 bytes"),
            (&not_json, "not JSON"),
        ] {
            let got = http.get_json::<serde_json::Value>(uri, 64).await;
            let e = got.expect_err(uri).to_string();
            assert!(e.contains(expected), "{uri}: {e}");
        }
        let small = answering(format!("{ok}{{\"keys\":[]}}")).await;
        let got: serde_json::Value = http.get_json(&small, 64).await.unwrap();
        assert_eq!(got, serde_json::json!({"keys": []}));
        let aws = OutboundHttp::new(AddressPolicy::PublicOnly).unwrap();
        let refused = aws.get_json::<serde_json::Value>(&small, 64).await;
        assert!(matches!(
            refused,
            Err(FetchError::Request(OutboundError::Refused(_)))
        ));
    }

    #[tokio::test]
    async fn a_credential_that_is_no_header_value_is_refused_without_a_request() {
        let http = OutboundHttp::new(AddressPolicy::Local).unwrap();
        let uri =
            answering("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".into())
                .await;
        let bad = Secret::new("token\r\nx-injected: 1");
        let got = http.get_json_bearer(&uri, &bad, 64).await;
        assert!(
            matches!(got, Err(FetchError::Request(OutboundError::Refused(_)))),
            "{got:?}"
        );
        let got = http.post_form_json(&uri, Some(&bad), &[], 64).await;
        assert!(
            matches!(got, Err(FetchError::Request(OutboundError::Refused(_)))),
            "{got:?}"
        );
        let good = http
            .get_json_bearer(&uri, &Secret::new("at"), 64)
            .await
            .unwrap();
        assert_eq!(good.status, 200);
        assert_eq!(good.json, Some(serde_json::json!({})));
        assert_eq!(
            format!("{good:?}"),
            r#"JsonAnswer { status: 200, media_type: None, json: Some("[redacted]") }"#
        );
    }

    #[tokio::test]
    async fn internal_ip_literals_and_names_are_refused_on_aws_only() {
        let aws = OutboundHttp::new(AddressPolicy::PublicOnly).unwrap();
        for uri in [
            "http://127.0.0.1:9/logout",
            "http://[::1]:9/logout",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "https://10.0.0.1/",
            "http://[::ffff:127.0.0.1]:9/",
        ] {
            assert!(
                matches!(aws.check(uri), Err(OutboundError::Refused(_))),
                "{uri}"
            );
            let sent = aws.post_form(uri, &[("a", "b")]).await;
            assert!(matches!(sent, Err(OutboundError::Refused(_))), "{uri}");
        }
        // `localhost` is a name: refused when resolved.
        let sent = aws.post_form("http://localhost:9/logout", &[]).await;
        assert!(matches!(sent, Err(OutboundError::Refused(_))), "{sent:?}");
        for bad in ["ftp://example.com/", "not a uri", "file:///etc/passwd"] {
            assert!(
                matches!(aws.check(bad), Err(OutboundError::Refused(_))),
                "{bad}"
            );
        }
        let local = OutboundHttp::new(AddressPolicy::Local).unwrap();
        assert!(local.check("http://127.0.0.1:9/logout").is_ok());
        assert!(aws.check("https://rp.example/logout").is_ok());
    }
}
