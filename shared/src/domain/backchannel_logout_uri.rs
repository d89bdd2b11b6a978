//! Which back-channel logout URIs a client may register (Back-Channel Logout 1.0
//! §2.2): one absolute URI, `https`, without a fragment. The one allowance:
//! `http` on a loopback IP literal (127.0.0.0/8, `[::1]`), so an application on
//! the same machine (and a test) can receive logout tokens; `localhost` is not
//! one, since it may resolve elsewhere (RFC 8252 §8.3). Where deliveries may go
//! once registered is a rule of its own (`domain/outbound_address.rs`).

use std::net::IpAddr;

/// Checks a back-channel logout URI for registration; the error says why it is
/// refused.
pub fn validate(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| format!("backchannel logout URI `{uri}` is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(format!(
            "backchannel logout URI `{uri}` must not have a fragment (Back-Channel Logout 1.0 §2.2)"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "backchannel logout URI `{uri}` must not carry user information"
        ));
    }
    let host = match parsed.host() {
        Some(h) => h,
        None => {
            return Err(format!(
                "backchannel logout URI `{uri}` has no host: use https://HOST/PATH"
            ));
        }
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match host {
                url::Host::Ipv4(ip) => IpAddr::V4(ip).is_loopback(),
                url::Host::Ipv6(ip) => IpAddr::V6(ip).is_loopback(),
                url::Host::Domain(_) => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(format!(
                    "backchannel logout URI `{uri}` uses http: use https, or http on a loopback \
                     IP literal (http://127.0.0.1:PORT/... or http://[::1]:PORT/...) for an \
                     application on this machine"
                ))
            }
        }
        s => Err(format!(
            "backchannel logout URI scheme `{s}` is not allowed: use https"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_uris_say_why() {
        for (uri, why) in [
            ("http://rp.example/logout", "uses http"),
            ("http://localhost:8000/logout", "uses http"),
            ("http://10.0.0.1/logout", "uses http"),
            ("http://[fe80::1]/logout", "uses http"),
            ("https://rp.example/logout#frag", "fragment"),
            ("https://rp.example/logout#", "fragment"),
            ("https://user:pw@rp.example/logout", "user information"),
            ("ftp://rp.example/logout", "scheme `ftp`"),
            ("com.example.app:/logout", "no host"),
            ("/logout", "not an absolute URI"),
            ("not a uri", "not an absolute URI"),
            ("", "not an absolute URI"),
        ] {
            let err = validate(uri).expect_err(uri);
            assert!(err.contains(why), "{uri}: {err}");
        }
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for uri in [
            "https://rp.example/logout",
            "https://rp.example:8443/bc?x=1",
            "http://127.0.0.1:9000/logout",
            "http://127.1.2.3/logout",
            "http://[::1]:9000/logout",
        ] {
            assert_eq!(validate(uri), Ok(()), "{uri}");
        }
    }
}
