//! The resource owner's login session and the CSRF tokens of the login and consent
//! forms, both signed with the deployment's session key (HMAC-SHA-256).
//!
//! The session is a signed cookie, so no read is needed to recognise it; each use
//! still reads the user, so a disabled or deleted user, or a changed password, ends
//! every session at once. CSRF tokens follow the signed double-submit pattern: a
//! random nonce in an `HttpOnly` cookie, its HMAC in the form.

use crate::secret::{Secret, constant_time_eq, random_id};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::HeaderMap;
use lambda_http::http::header::COOKIE;
use ring::hmac;

/// A signed-in user, as the session cookie carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub user_id: String,
    /// When the user signed in.
    pub auth_time: u64,
    pub expires_at: u64,
}

fn mac(key: &Secret, purpose: &str, value: &str) -> hmac::Tag {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(purpose.as_bytes());
    ctx.update(b"\0");
    ctx.update(value.as_bytes());
    ctx.sign()
}

impl Session {
    /// The cookie value: the fields, then their MAC.
    pub fn seal(&self, key: &Secret) -> String {
        let payload = format!(
            "{}|{}|{}|{}",
            self.username, self.user_id, self.auth_time, self.expires_at
        );
        let tag = mac(key, "session", &payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Reads a cookie value: `None` unless the MAC verifies and it has not expired.
    pub fn open(value: &str, key: &Secret, now: u64) -> Option<Self> {
        let (payload, tag) = value.split_once('.')?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !constant_time_eq(mac(key, "session", &payload).as_ref(), &tag) {
            return None;
        }
        let mut f = payload.split('|');
        let s = Session {
            username: f.next()?.to_owned(),
            user_id: f.next()?.to_owned(),
            auth_time: f.next()?.parse().ok()?,
            expires_at: f.next()?.parse().ok()?,
        };
        (f.next().is_none() && now < s.expires_at).then_some(s)
    }
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
    pub secure: bool,
}

impl CookieNames {
    pub fn new(secure: bool) -> Self {
        if secure {
            Self {
                session: "__Host-gatehouse_session",
                csrf: "__Host-gatehouse_csrf",
                secure,
            }
        } else {
            Self {
                session: "gatehouse_session",
                csrf: "gatehouse_csrf",
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

    fn session() -> Session {
        Session {
            username: "alice".into(),
            user_id: "u1".into(),
            auth_time: 100,
            expires_at: 200,
        }
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let v = session().seal(&key());
        assert_eq!(Session::open(&v, &key(), 150), Some(session()));
        assert_eq!(Session::open(&v, &key(), 200), None);
        assert_eq!(Session::open(&v, &Secret::new("other"), 150), None);
    }

    #[test]
    fn a_tampered_session_does_not_open() {
        let v = session().seal(&key());
        let (payload, tag) = v.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode("mallory|u2|100|999");
        assert_eq!(Session::open(&format!("{forged}.{tag}"), &key(), 150), None);
        assert_eq!(Session::open(payload, &key(), 150), None);
        assert_eq!(Session::open("", &key(), 150), None);
        assert_eq!(Session::open("a.b.c", &key(), 150), None);
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
