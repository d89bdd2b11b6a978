//! Post-logout redirect URIs (OpenID Connect RP-Initiated Logout 1.0 §3, §3.1):
//! where a client may have the browser sent back after logout. Registered with
//! the client (`post_logout_redirect_uris`), and a logout request's
//! `post_logout_redirect_uri` is used only when it equals one of them exactly
//! (§3: "MUST NOT perform post-logout redirection if the
//! `post_logout_redirect_uri` value supplied does not exactly match one of the
//! previously registered `post_logout_redirect_uris` values"). No loopback-port
//! allowance, unlike redirect URIs (RFC 8252 §7.3 is about the authorization
//! response): a native app can register the exact URI it will ask for.

use std::net::Ipv4Addr;

/// Whether a post-logout redirect URI may be registered (RP-Initiated Logout §2,
/// §3.1; RFC 9700 §4.1.3): absolute, no fragment, no user information, and
/// `https`, or `http` on a loopback IP literal (127.0.0.0/8 or `[::1]`) for an
/// app on the user's own machine. `localhost` is refused, as for redirect URIs
/// (RFC 8252 §8.3).
pub fn validate(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| format!("post-logout redirect URI `{uri}` is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(format!(
            "post-logout redirect URI `{uri}` must not have a fragment"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "post-logout redirect URI `{uri}` must not carry user information"
        ));
    }
    match parsed.scheme() {
        "https" if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" if parsed.host().is_some_and(|h| is_loopback_literal(&h)) => Ok(()),
        "http" => Err(format!(
            "post-logout redirect URI `{uri}` uses http; only a loopback IP literal \
             (127.0.0.1 or another 127.x.y.z, or [::1]) may"
        )),
        s => Err(format!(
            "post-logout redirect URI `{uri}`: the scheme `{s}` is not allowed; use https, \
             or http on a loopback IP literal"
        )),
    }
}

fn is_loopback_literal(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(a) => a.octets()[0] == Ipv4Addr::LOCALHOST.octets()[0],
        url::Host::Ipv6(a) => a.is_loopback(),
        url::Host::Domain(_) => false,
    }
}

/// The registered URI that `given` is, compared as strings, byte for byte (§3):
/// no normalisation, no case folding, no prefix, no port allowance.
pub fn registered<'a>(registered: &'a [String], given: &str) -> Option<&'a str> {
    registered
        .iter()
        .find(|r| r.as_str() == given)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_http_without_fragment_register() {
        for ok in [
            "https://app.example/signed-out",
            "https://app.example/signed-out?from=gatehouse",
            "https://app.example:8443/",
            "http://127.0.0.1/out",
            "http://127.0.0.1:8080/out",
            "http://127.8.9.10:3000/out",
            "http://[::1]:8080/out",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "not absolute"),
            ("/signed-out", "relative"),
            ("https://app.example/out#x", "fragment"),
            ("https://app.example/out#", "empty fragment"),
            ("http://app.example/out", "http elsewhere"),
            ("http://localhost:8080/out", "localhost"),
            ("http://128.0.0.1/out", "not loopback"),
            ("http://10.0.0.1/out", "private, not loopback"),
            ("http://[::2]/out", "not loopback v6"),
            ("https://user:pw@app.example/out", "user information"),
            ("com.example.app:/out", "private-use scheme"),
            ("javascript:alert(1)", "javascript"),
            ("ftp://app.example/out", "ftp"),
        ] {
            assert!(validate(bad).is_err(), "{why}: {bad}");
        }
    }

    #[test]
    fn matching_is_exact_string_comparison() {
        let reg = vec![
            "https://app.example/out".to_owned(),
            "http://127.0.0.1:8080/out".to_owned(),
        ];
        assert_eq!(
            registered(&reg, "https://app.example/out"),
            Some("https://app.example/out")
        );
        assert_eq!(
            registered(&reg, "http://127.0.0.1:8080/out"),
            Some("http://127.0.0.1:8080/out")
        );
        for (given, why) in [
            ("https://app.example/out/", "trailing slash"),
            ("https://app.example/ou", "a prefix"),
            ("https://app.example/out?x=1", "an added query"),
            ("https://APP.example/out", "host case"),
            ("HTTPS://app.example/out", "scheme case"),
            ("https://app.example/OUT", "path case"),
            ("https://app.example:443/out", "explicit default port"),
            ("https://app.example/%6Fut", "percent-encoded"),
            ("http://127.0.0.1:9090/out", "another loopback port"),
            ("http://127.0.0.1/out", "no loopback port"),
            ("", "empty"),
        ] {
            assert_eq!(registered(&reg, given), None, "{why}: {given}");
        }
        assert_eq!(registered(&[], "https://app.example/out"), None);
    }
}
