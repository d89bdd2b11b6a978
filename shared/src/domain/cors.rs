//! Which browser origins may read the answers of the token and revocation
//! endpoints (the CORS protocol of the Fetch standard, §3.2; OAuth 2.0 for
//! Browser-Based Apps, which has a browser app call the token endpoint from its
//! own origin).
//!
//! An origin is the triple scheme, host, port (RFC 6454 §4), compared in its
//! serialization (RFC 6454 §6.2: `scheme://host[:port]`, the port only when it is
//! not the scheme's default). It is allowed when it is on the deployment's
//! allowlist (`GATEHOUSE_CORS_ORIGINS`), or is the origin of a redirect URI of a
//! registered client: of the client that authenticated, for a request whose
//! client is known; of any client, for a preflight, whose client is unknown.
//!
//! The UserInfo endpoint, which OpenID Connect Core §5.3 says SHOULD support
//! CORS for JavaScript clients, follows the same rules; its client is the one
//! the access token was issued to.

use crate::domain::client::Client;
use std::collections::BTreeSet;

/// The most distinct origins a client's redirect URIs may have: the client and
/// each origin are written in one transaction (at most 100 items).
pub const MAX_CLIENT_ORIGINS: usize = 50;

/// The serialization of the origin of an absolute URL (RFC 6454 §4, §6.2), or
/// `None` for a URL whose origin is opaque (a private-use scheme such as
/// `com.example.app:/cb`: a native app, which makes no cross-origin requests).
pub fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The origins of a client's redirect URIs, each once.
pub fn client_origins(client: &Client) -> BTreeSet<String> {
    registered_origins(&client.redirect_uris)
}

/// The origins of `redirect_uris`, each once.
pub fn registered_origins(redirect_uris: &[String]) -> BTreeSet<String> {
    redirect_uris.iter().filter_map(|u| origin_of(u)).collect()
}

/// A presented `Origin` header (RFC 6454 §7; Fetch §3.1) as an origin we can
/// match: exactly a serialized http or https origin. `null` (an opaque origin)
/// and anything else match nothing.
pub fn presented_origin(header: &str) -> Option<&str> {
    let serialized = origin_of(header)?;
    (serialized == header).then_some(header)
}

/// The deployment's allowlist of origins (`GATEHOUSE_CORS_ORIGINS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist(BTreeSet<String>);

impl Allowlist {
    /// Parses a comma-separated list of serialized origins (RFC 6454 §6.2). Each
    /// must be `https://host[:port]`, or `http://` on a loopback host for local
    /// work, exactly as browsers send it: lowercase, no default port, no path or
    /// trailing slash. Any other entry is refused, naming it.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut origins = BTreeSet::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |why: &str| format!("GATEHOUSE_CORS_ORIGINS: `{entry}` {why}");
            let url = url::Url::parse(entry).map_err(|_| bad("is not an origin"))?;
            let loopback = matches!(
                url.host_str(),
                Some("localhost") | Some("127.0.0.1") | Some("[::1]")
            );
            match url.scheme() {
                "https" => {}
                "http" if loopback => {}
                _ => return Err(bad("must be https (http only on a loopback host)")),
            }
            let serialized = url.origin().ascii_serialization();
            if serialized != entry {
                return Err(bad(&format!(
                    "is not a serialized origin (RFC 6454 §6.2); write `{serialized}`"
                )));
            }
            origins.insert(serialized);
        }
        Ok(Self(origins))
    }

    pub fn contains(&self, origin: &str) -> bool {
        self.0.contains(origin)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `origin` may read an answer given to `client`: it is one of the
/// client's redirect URI origins, or on the allowlist. Another client's origins
/// do not count.
pub fn allowed_for_client(origin: &str, client: &Client, allowlist: &Allowlist) -> bool {
    allowlist.contains(origin)
        || client
            .redirect_uris
            .iter()
            .any(|u| origin_of(u).as_deref() == Some(origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::ClientType;

    fn client(redirect_uris: &[&str]) -> Client {
        Client::for_tests("c", ClientType::Public, redirect_uris)
    }

    #[test]
    fn bad_allowlist_entries_are_refused_naming_them() {
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://App.Example.com",
            "https://app.example.com:443",
            "http://app.example.com",
            "ftp://app.example.com",
            "null",
            "*",
            "https://app.example.com, https://ok.example/",
        ] {
            let e = Allowlist::parse(bad).unwrap_err();
            assert!(e.starts_with("GATEHOUSE_CORS_ORIGINS: `"), "{bad}: {e}");
        }
        let e = Allowlist::parse("https://app.example.com/").unwrap_err();
        assert!(e.contains("write `https://app.example.com`"), "{e}");
    }

    #[test]
    fn good_allowlist_entries_are_kept() {
        let a = Allowlist::parse(
            " https://app.example.com ,https://b.example:8443,,http://localhost:5173",
        )
        .unwrap();
        assert!(a.contains("https://app.example.com"));
        assert!(a.contains("https://b.example:8443"));
        assert!(a.contains("http://localhost:5173"));
        assert!(!a.contains("https://b.example"));
        assert!(Allowlist::parse("").unwrap().is_empty());
    }

    #[test]
    fn only_serialized_origins_are_matched() {
        for bad in [
            "null",
            "",
            "https://app.example.com/",
            "HTTPS://app.example.com",
            "https://app.example.com:443",
            "com.example.app:",
            "https://app.example.com, https://evil.example",
        ] {
            assert_eq!(presented_origin(bad), None, "{bad:?}");
        }
        assert_eq!(
            presented_origin("https://app.example.com:8443"),
            Some("https://app.example.com:8443")
        );
    }

    #[test]
    fn a_redirect_uri_gives_its_origin_and_a_private_use_scheme_none() {
        let c = client(&[
            "https://app.example.com/cb",
            "https://app.example.com/other?x=1",
            "https://APP2.example.com:443/cb",
            "http://127.0.0.1:3000/cb",
            "com.example.app:/oauth2redirect",
        ]);
        assert_eq!(
            client_origins(&c).into_iter().collect::<Vec<_>>(),
            [
                "http://127.0.0.1:3000",
                "https://app.example.com",
                "https://app2.example.com"
            ]
        );
    }

    #[test]
    fn an_origin_is_allowed_for_its_own_client_or_the_allowlist_only() {
        let a = client(&["https://a.example/cb"]);
        let b = client(&["https://b.example/cb"]);
        let list = Allowlist::parse("https://spa.example").unwrap();
        assert!(!allowed_for_client("https://a.example", &b, &list));
        assert!(!allowed_for_client("https://a.example:8443", &a, &list));
        assert!(!allowed_for_client("http://a.example", &a, &list));
        assert!(allowed_for_client("https://a.example", &a, &list));
        assert!(allowed_for_client("https://spa.example", &b, &list));
    }
}
