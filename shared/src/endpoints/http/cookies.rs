//! The cookies of the authorization endpoint: the login session's (its id and
//! secret, [`crate::domain::session`]) and the CSRF tokens of the login and
//! consent forms, signed with the deployment's session key (HMAC-SHA-256). CSRF
//! tokens follow the signed double-submit pattern: a random nonce in an
//! `HttpOnly` cookie, its HMAC in the form.

use crate::secret::{Secret, constant_time_eq, random_id};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::HeaderMap;
use lambda_http::http::header::COOKIE;
use ring::hmac;

fn mac(key: &Secret, purpose: &str, value: &str) -> hmac::Tag {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(purpose.as_bytes());
    ctx.update(b"\0");
    ctx.update(value.as_bytes());
    ctx.sign()
}

/// A fresh CSRF nonce, for the CSRF cookie.
pub fn new_csrf_nonce() -> String {
    random_id()
}

/// The form token for a CSRF nonce.
pub fn csrf_token(key: &Secret, nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, "csrf", nonce).as_ref())
}

/// Whether a form's token matches the nonce in the cookie (constant time).
pub fn csrf_matches(key: &Secret, nonce: &str, presented: &str) -> bool {
    !nonce.is_empty() && constant_time_eq(csrf_token(key, nonce).as_bytes(), presented.as_bytes())
}

/// The cookie names: with the `__Host-` prefix when cookies are `Secure`, so that
/// no subdomain can set them (RFC 6265bis §4.1.3.2).
pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    /// Binds an upstream sign-in to the browser that started it (RFC 6749
    /// §10.12): the hash of its value is in the upstream state record.
    pub federation: &'static str,
    pub secure: bool,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        if secure {
            Self {
                session: "__Host-gatehouse_session",
                csrf: "__Host-gatehouse_csrf",
                federation: "__Host-gatehouse_federation",
                secure,
            }
        } else {
            Self {
                session: "gatehouse_session",
                csrf: "gatehouse_csrf",
                federation: "gatehouse_federation",
                secure,
            }
        }
    }

    /// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` unless
    /// on plain-HTTP localhost; `max_age` of `None` makes a browser-session cookie.
    pub fn set(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            c.push_str("; Secure");
        }
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        c
    }
}

/// The value of cookie `name` in the request's `Cookie` headers, if exactly one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for h in headers.get_all(COOKIE) {
        let Ok(h) = h.to_str() else { continue };
        for pair in h.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
            {
                if found.is_some() {
                    return None;
                }
                found = Some(v.trim());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn key() -> Secret {
        Secret::new("k".repeat(43))
    }

    #[test]
    fn csrf_tokens_bind_to_their_nonce() {
        let t = csrf_token(&key(), "n1");
        assert!(csrf_matches(&key(), "n1", &t));
        assert!(!csrf_matches(&key(), "n2", &t));
        assert!(!csrf_matches(&key(), "", &csrf_token(&key(), "")));
        assert!(!csrf_matches(&key(), "n1", ""));
    }

    #[test]
    fn cookies_are_found_by_exact_name_and_never_twice() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("a=1; gatehouse_csrf=n; b=2"),
        );
        assert_eq!(cookie(&h, "gatehouse_csrf"), Some("n"));
        assert_eq!(cookie(&h, "csrf"), None);
        h.append(COOKIE, HeaderValue::from_static("gatehouse_csrf=m"));
        assert_eq!(cookie(&h, "gatehouse_csrf"), None, "ambiguous");
        let names = CookieNames::new(true);
        let set = names.set(names.session, "v", Some(60));
        assert_eq!(
            set,
            "__Host-gatehouse_session=v; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60"
        );
        assert!(
            !CookieNames::new(false)
                .set("x", "v", None)
                .contains("Secure")
        );
    }
}
