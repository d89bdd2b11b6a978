//! `application/x-www-form-urlencoded` request bodies (RFC 6749 §3.2, Appendix B),
//! parsed strictly: bad percent-encoding, non-UTF-8 bytes and repeated parameters
//! are `invalid_request` (RFC 6749 §3.1: "Request and response parameters MUST NOT
//! be included more than once"); empty values count as omitted (§3.1).

use crate::error::TokenError;
use lambda_http::http::{HeaderMap, Method, StatusCode, header};
use std::collections::BTreeMap;

/// Largest form body accepted. OAuth requests are a few hundred bytes.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Parsed form parameters; each name at most once.
#[derive(Debug, Default)]
pub struct Form(BTreeMap<String, String>);

impl Form {
    /// The value of `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Parses a urlencoded string (a form body or a query string).
    pub fn parse(input: &[u8]) -> Result<Self, TokenError> {
        let mut map = BTreeMap::new();
        for pair in input.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let name = decode_component(name)?;
            let value = decode_component(value)?;
            if name.is_empty() {
                continue;
            }
            if map.contains_key(&name) {
                return Err(TokenError::invalid_request(format!(
                    "parameter `{}` is repeated",
                    printable(&name)
                )));
            }
            map.insert(name, value);
        }
        map.retain(|_, v| !v.is_empty());
        Ok(Self(map))
    }

    /// Checks method, content type and size of a POSTed form, then parses it.
    pub fn from_post(
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self, TokenError> {
        check_post(method, headers, body)?;
        Self::parse(body)
    }
}

/// Checks method, content type and size of a POSTed form, without parsing it.
pub fn check_post(method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<(), TokenError> {
    if method != Method::POST {
        return Err(
            TokenError::invalid_request("this endpoint accepts only POST")
                .with_status(StatusCode::METHOD_NOT_ALLOWED),
        );
    }
    let mut content_types = headers.get_all(header::CONTENT_TYPE).iter();
    let content_type = match (content_types.next(), content_types.next()) {
        (Some(ct), None) => ct.to_str().unwrap_or(""),
        _ => "",
    };
    if !is_form_content_type(content_type) {
        return Err(TokenError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(TokenError::invalid_request(format!(
            "the body is larger than {MAX_FORM_BYTES} bytes"
        ))
        .with_status(StatusCode::PAYLOAD_TOO_LARGE));
    }
    Ok(())
}

/// `application/x-www-form-urlencoded`, with an optional `charset=utf-8` parameter.
fn is_form_content_type(value: &str) -> bool {
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("");
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return false;
    }
    parts.all(|p| {
        let Some((k, v)) = p.split_once('=') else {
            return p.is_empty();
        };
        !k.trim().eq_ignore_ascii_case("charset")
            || v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    })
}

/// Decodes one form component: `+` is a space, `%XX` a byte; the result must be UTF-8.
pub(crate) fn decode_component(input: &[u8]) -> Result<String, TokenError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let (hi, lo) = match input.get(i + 1..i + 3) {
                    Some(&[hi, lo]) => (
                        hex_value(hi).ok_or_else(bad_escape)?,
                        hex_value(lo).ok_or_else(bad_escape)?,
                    ),
                    _ => return Err(bad_escape()),
                };
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| TokenError::invalid_request("a parameter is not valid UTF-8"))
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn bad_escape() -> TokenError {
    TokenError::invalid_request("a parameter has a malformed percent-encoding")
}

/// A parameter name safe to echo in an error description.
fn printable(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TokenErrorCode;

    #[test]
    fn form_bodies_decode_plus_and_percent_escapes() {
        let f = Form::parse(b"grant_type=client_credentials&scope=read+write&x=%2B%26%3D").unwrap();
        assert_eq!(f.get("grant_type"), Some("client_credentials"));
        assert_eq!(f.get("scope"), Some("read write"));
        assert_eq!(f.get("x"), Some("+&="));
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let f = Form::parse(b"scope=&grant_type=x&flag").unwrap();
        assert_eq!(f.get("scope"), None);
        assert!(!f.contains("flag"));
    }

    #[test]
    fn malformed_forms_are_invalid_request() {
        let bad: &[&[u8]] = &[
            b"a=1&a=2",
            b"a=1&a=",
            b"a=%zz",
            b"a=%4",
            b"a=%",
            b"a=%FF",
            b"a=%+1",
            b"a=%-1",
            b"a=% 1",
            b"a=\xff",
            b"%61=1&a=2",
        ];
        for input in bad {
            let e = Form::parse(input).unwrap_err();
            assert_eq!(
                e.code,
                TokenErrorCode::InvalidRequest,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn only_form_content_types_are_accepted() {
        for ok in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "application/x-www-form-urlencoded;charset=\"utf-8\"",
        ] {
            assert!(is_form_content_type(ok), "{ok}");
        }
        for bad in [
            "",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded; charset=latin1",
            "application/x-www-form-urlencodedx",
        ] {
            assert!(!is_form_content_type(bad), "{bad}");
        }
    }

    #[test]
    fn wrong_method_is_405_and_big_bodies_413() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let e = Form::from_post(&Method::GET, &h, b"").unwrap_err();
        assert_eq!(e.status(), StatusCode::METHOD_NOT_ALLOWED);
        let big = vec![b'a'; MAX_FORM_BYTES + 1];
        let e = Form::from_post(&Method::POST, &h, &big).unwrap_err();
        assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(e.code, TokenErrorCode::InvalidRequest);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(input in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = Form::parse(&input);
        }

        #[test]
        fn encoded_pairs_decode_to_what_was_encoded(name in "[a-z_]{1,12}", value in "\\PC{1,40}") {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair(&format!("p_{name}"), &value)
                .finish();
            let form = Form::parse(body.as_bytes()).unwrap();
            proptest::prop_assert_eq!(form.get(&format!("p_{name}")), Some(value.as_str()));
        }
    }
}
