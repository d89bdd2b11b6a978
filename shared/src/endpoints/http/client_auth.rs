//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3, RFC 8414 §2 `token_endpoint_auth_methods_supported`).
//!
//! Methods: `client_secret_basic` (§2.3.1, the `Authorization: Basic` header, whose
//! parts are form-urlencoded before base64), `client_secret_post` (client_id and
//! client_secret in the body), and `none` for public clients (client_id only).
//! A request may use exactly one method (§2.3), and it must be the one the client
//! registered (RFC 7591 §2 `token_endpoint_auth_method`; clients stored before the
//! method was recorded keep what they could always use, see
//! [`TokenEndpointAuthMethod::accepts`]).

use crate::domain::client::{Client, ClientType, could_be_registered};
use crate::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use crate::endpoints::http::form::Form;
use crate::error::TokenError;
use crate::secret::SecretHash;
use crate::store::ClientStore;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::{HeaderMap, header};

/// What the request presented to identify its client.
#[derive(Debug)]
pub enum Presented {
    /// `client_secret_basic`.
    Basic {
        client_id: String,
        secret: crate::secret::Secret,
    },
    /// `client_secret_post`.
    Post {
        client_id: String,
        secret: crate::secret::Secret,
    },
    /// `none`: a public client naming itself.
    ClientIdOnly { client_id: String },
    /// Nothing at all.
    Nothing,
}

impl Presented {
    /// The method these credentials use; `None` when nothing was presented.
    pub fn method(&self) -> Option<TokenEndpointAuthMethod> {
        match self {
            Self::Basic { .. } => Some(TokenEndpointAuthMethod::ClientSecretBasic),
            Self::Post { .. } => Some(TokenEndpointAuthMethod::ClientSecretPost),
            Self::ClientIdOnly { .. } => Some(TokenEndpointAuthMethod::None),
            Self::Nothing => None,
        }
    }

    /// The `client_id` the credentials name, if any.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::ClientIdOnly { client_id } => Some(client_id),
            Self::Nothing => None,
        }
    }

    /// Reads the credentials of a request; more than one method is `invalid_request`,
    /// a malformed `Authorization` header, or a `client_id` longer than any
    /// registered one ([`could_be_registered`]), is `invalid_client`.
    pub fn from_request(headers: &HeaderMap, form: &Form) -> Result<Self, TokenError> {
        let presented = Self::read(headers, form)?;
        match presented.client_id() {
            Some(id) if !could_be_registered(id) => Err(TokenError::invalid_client()),
            _ => Ok(presented),
        }
    }

    fn read(headers: &HeaderMap, form: &Form) -> Result<Self, TokenError> {
        let mut auth_headers = headers.get_all(header::AUTHORIZATION).iter();
        let auth = auth_headers.next();
        if auth_headers.next().is_some() {
            return Err(TokenError::invalid_request(
                "more than one Authorization header",
            ));
        }
        if let Some(value) = auth {
            if form.contains("client_secret") {
                return Err(TokenError::invalid_request(
                    "use one client authentication method: the Authorization header or client_secret, not both",
                ));
            }
            let (client_id, secret) =
                parse_basic(value.as_bytes()).ok_or_else(TokenError::invalid_client)?;
            if form.get("client_id").is_some_and(|id| id != client_id) {
                return Err(TokenError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            return Ok(Self::Basic {
                client_id,
                secret: crate::secret::Secret::new(secret),
            });
        }
        match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => Ok(Self::Post {
                client_id: id.to_owned(),
                secret: crate::secret::Secret::new(secret),
            }),
            (Some(id), None) => Ok(Self::ClientIdOnly {
                client_id: id.to_owned(),
            }),
            (None, Some(_)) => Err(TokenError::invalid_request(
                "client_secret without client_id",
            )),
            (None, None) => Ok(Self::Nothing),
        }
    }
}

/// A hash no secret has, compared against when the client is unknown so that an
/// unknown client id costs the same work as a wrong secret.
const DECOY_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Authenticates the presented credentials. Confidential clients need their secret;
/// public clients authenticate with `none` only when `allow_public` is set; and
/// the method used must be one the client accepts (RFC 7591 §2): a client
/// registered for `client_secret_post` that sends Basic, or the reverse, fails
/// even with the right secret, after the same secret comparison. Every failure
/// is the same `invalid_client`, a 401 with the same `Basic` challenge whichever
/// method was tried (RFC 9110 §15.5.2: every 401 carries one).
pub async fn authenticate(
    store: &impl ClientStore,
    presented: &Presented,
    allow_public: bool,
) -> Result<Client, TokenError> {
    // A public client's id alone is read only where public clients may authenticate.
    let reads = !matches!(presented, Presented::ClientIdOnly { .. }) || allow_public;
    let client = match presented.client_id() {
        Some(id) if reads => store.get_client(id).await?,
        _ => None,
    };
    check(presented, client, allow_public)
}

/// [`authenticate`] against `client`, the record read for the presented
/// `client_id` (`None`: there is none), when the caller read it with other
/// records in one request.
pub fn check(
    presented: &Presented,
    client: Option<Client>,
    allow_public: bool,
) -> Result<Client, TokenError> {
    let fail = TokenError::invalid_client;
    let accepts = |c: &Client| presented.method().is_some_and(|m| c.accepts_auth_method(m));
    match presented {
        Presented::Basic { secret, .. } | Presented::Post { secret, .. } => {
            let ok = match &client {
                Some(c) => c.secret_matches(secret.expose(), crate::app::now()),
                None => SecretHash::from_stored(DECOY_HASH.into()).matches(secret.expose()),
            };
            match client {
                Some(c) if ok && c.client_type == ClientType::Confidential && accepts(&c) => Ok(c),
                _ => Err(fail()),
            }
        }
        Presented::ClientIdOnly { .. } if allow_public => match client {
            Some(c) if c.client_type == ClientType::Public && accepts(&c) => Ok(c),
            _ => Err(fail()),
        },
        Presented::ClientIdOnly { .. } | Presented::Nothing => Err(fail()),
    }
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1,
/// RFC 7617). `None` when any part is malformed.
fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = decode_www_form(id)?;
    let secret = decode_www_form(secret)?;
    if id.is_empty() || secret.is_empty() {
        return None;
    }
    Some((id, secret))
}

fn decode_www_form(s: &str) -> Option<String> {
    crate::endpoints::http::form::decode_component(s.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(raw)).into_bytes()
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        assert_eq!(
            parse_basic(&basic("my%20app:s%3Acret+x")),
            Some(("my app".into(), "s:cret x".into()))
        );
        assert_eq!(
            parse_basic(&basic("a&b=c:s&t")),
            Some(("a&b=c".into(), "s&t".into())),
            "a raw & or = is taken literally"
        );
        assert_eq!(
            parse_basic(&basic("id:secret")),
            Some(("id".into(), "secret".into()))
        );
    }

    #[test]
    fn malformed_basic_headers_are_refused() {
        let cases: Vec<Vec<u8>> = vec![
            b"Bearer abc".to_vec(),
            b"Basic".to_vec(),
            b"Basic !!!notbase64".to_vec(),
            basic("no-colon"),
            basic(":secret"),
            basic("id:"),
            basic("id:%zz"),
            format!("Basic {}", STANDARD.encode([0x69, 0x3a, 0xff])).into_bytes(),
            b"Basic \xff\xfe".to_vec(),
        ];
        for c in cases {
            assert_eq!(parse_basic(&c), None, "{:?}", String::from_utf8_lossy(&c));
        }
    }

    proptest::proptest! {
        #[test]
        fn any_authorization_header_parses_or_fails_cleanly(
            input in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        ) {
            let _ = parse_basic(&input);
            let mut prefixed = b"Basic ".to_vec();
            prefixed.extend_from_slice(&input);
            let _ = parse_basic(&prefixed);
        }
    }
}
