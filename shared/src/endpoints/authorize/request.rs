//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), checked in the order
//! that decides how an error may be reported (§4.1.2.1): first the client and the
//! redirect URI — if either cannot be trusted the user sees an error page and is
//! never redirected (RFC 9700 §4.11) — then everything else, reported to the client
//! by redirect.

use crate::app::App;
use crate::domain::client::{Client, ClientType, GrantType};
use crate::domain::display::{Display, parse_display};
use crate::domain::max_age::parse_max_age;
use crate::domain::nonce::check_nonce;
use crate::domain::pkce::{self, CodeChallenge};
pub use crate::domain::prompt::Prompt;
use crate::domain::prompt::parse_prompt;
use crate::domain::reauthentication::Asked;
use crate::domain::scope::{Scope, requested_scope};
use crate::endpoints::http::form::decode_component;
use crate::error::AuthorizeErrorCode;
use crate::store::ClientStore;
use crate::tokens::id_token_hint::{self, IdTokenHint};
use lambda_http::http::StatusCode;
use std::collections::BTreeMap;

/// Longest authorization request accepted (API Gateway's own limit is 10 KB of URL).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The query string as received; the login and consent forms carry it back so
    /// every step checks the request again from scratch.
    pub raw: String,
    pub client: Client,
    /// Where the response goes: the `redirect_uri` given, or the client's only one.
    pub redirect_uri: String,
    pub redirect_uri_in_request: bool,
    pub state: Option<String>,
    pub scope: Scope,
    pub challenge: Option<CodeChallenge>,
    pub prompt: Prompt,
    /// `nonce` (OpenID Connect Core §3.1.2.1), checked by [`check_nonce`].
    pub nonce: Option<String>,
    /// `max_age` (Core §3.1.2.1), checked by [`parse_max_age`].
    pub max_age: Option<u64>,
    /// A verified `id_token_hint` (Core §3.1.2.1) issued to this client.
    pub hint: Option<IdTokenHint>,
    /// `login_hint` (Core §3.1.2.1), as given; shown only through
    /// [`crate::domain::login_hint::prefill`].
    pub login_hint: Option<String>,
    /// `display` (Core §3.1.2.1); every value gets the same pages.
    pub display: Display,
    /// `identity_provider`: the id of a registered upstream provider to sign in
    /// with at once, instead of showing the login page (the name Amazon Cognito
    /// gives this parameter). A well-formed id; whether it is registered is known
    /// only when the login page would be shown.
    pub identity_provider: Option<String>,
}

impl AuthorizationRequest {
    /// What the request asks about the authentication, for
    /// [`crate::domain::reauthentication`].
    pub fn asked(&self) -> Asked<'_> {
        Asked {
            prompt: self.prompt,
            max_age: self.max_age,
            hint_sub: self.hint.as_ref().map(|h| h.sub.as_str()),
        }
    }
}

/// Why a request is refused, and how the refusal may be delivered.
#[derive(Debug)]
pub enum Refusal {
    /// The client or redirect URI cannot be trusted: an error page, no redirect.
    Page { status: StatusCode, message: String },
    /// An error response sent to the client's redirect URI (§4.1.2.1).
    Redirect(ErrorRedirect),
}

/// An error response to deliver by redirect.
#[derive(Debug)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code: AuthorizeErrorCode,
    pub description: String,
}

fn page(message: impl Into<String>) -> Refusal {
    Refusal::Page {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

/// Parses and checks `raw` (a query string).
pub async fn check(app: &App, raw: &str) -> Result<AuthorizationRequest, Refusal> {
    if raw.len() > MAX_REQUEST_BYTES {
        return Err(page("The authorization request is too long."));
    }
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in raw
        .as_bytes()
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        match (decode_component(name), decode_component(value)) {
            (Ok(n), Ok(v)) => params.entry(n).or_default().push(v),
            _ => return Err(page("The authorization request is malformed.")),
        }
    }
    // `nonce=` is a malformed nonce, not an omitted one (OpenID Connect Core
    // §3.1.2.1 gives no empty value a meaning): told apart before the rule below.
    let empty_nonce = params
        .get("nonce")
        .is_some_and(|v| v.iter().any(String::is_empty));
    // Empty values count as omitted (RFC 6749 §3.1).
    for values in params.values_mut() {
        values.retain(|v| !v.is_empty());
    }
    params.retain(|_, v| !v.is_empty());
    let single = |name: &str| -> Result<Option<&str>, ()> {
        match params.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok(Some(v.as_str())),
            Some(_) => Err(()),
        }
    };

    // 1. The client.
    let client_id = match single("client_id") {
        Ok(Some(id)) => id,
        Ok(None) => return Err(page("The request does not name a client (client_id).")),
        Err(()) => return Err(page("The request names more than one client_id.")),
    };
    if !crate::domain::client::could_be_registered(client_id) {
        return Err(page("The client is not registered here."));
    }
    let client = match app.store.get_client(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(page("The client is not registered here.")),
        Err(e) => {
            tracing::error!(cause = %e, "reading the client failed");
            return Err(Refusal::Page {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: "The server could not complete the request; try again.".into(),
            });
        }
    };

    // 2. The redirect URI (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3).
    let (redirect_uri, in_request) = match single("redirect_uri") {
        Err(()) => return Err(page("The request names more than one redirect_uri.")),
        Ok(Some(given)) => match client.registered_redirect_uri(given) {
            // A loopback URI matches on any port (RFC 8252 §7.3), so `given` may
            // differ from the registered one: it must still be a URL (port ≤ 65535),
            // or the response could never be delivered (§4.1.2.1).
            Some(_) if url::Url::parse(given).is_ok() => (given.to_owned(), true),
            _ => {
                return Err(page(
                    "The redirect URI is not registered for this client, so this server will not send you there.",
                ));
            }
        },
        Ok(None) => match client.redirect_uris.as_slice() {
            [only] => (only.clone(), false),
            [] => return Err(page("This client has no registered redirect URI.")),
            _ => {
                return Err(page(
                    "The request must name its redirect_uri: the client has several.",
                ));
            }
        },
    };

    // From here on, errors go back to the client.
    let state = single("state").ok().flatten().map(str::to_owned);
    let refuse = |code: AuthorizeErrorCode, description: &str| {
        Refusal::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            code,
            description: description.to_owned(),
        })
    };
    use AuthorizeErrorCode as E;
    if let Some((name, _)) = params.iter().find(|(_, v)| v.len() > 1) {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(40)
            .collect();
        return Err(refuse(
            E::InvalidRequest,
            &format!("parameter `{name}` is repeated"),
        ));
    }
    let get = |name: &str| single(name).ok().flatten();
    match get("response_type") {
        None => return Err(refuse(E::InvalidRequest, "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                E::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if let Some(mode) = get("response_mode")
        && mode != "query"
    {
        return Err(refuse(
            E::InvalidRequest,
            "only response_mode=query is supported",
        ));
    }
    // OpenID Connect Core §6.1, §6.2: request objects are not supported, and
    // each parameter has its own error.
    if get("request").is_some() {
        return Err(refuse(
            E::RequestNotSupported,
            "the request parameter (request objects) is not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(refuse(
            E::RequestUriNotSupported,
            "the request_uri parameter is not supported",
        ));
    }
    if empty_nonce {
        return Err(refuse(E::InvalidRequest, "nonce must not be empty"));
    }
    let nonce = get("nonce");
    if let Some(n) = nonce {
        check_nonce(n).map_err(|d| refuse(E::InvalidRequest, d))?;
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(refuse(
            E::UnauthorizedClient,
            "this client is not registered for the authorization_code grant",
        ));
    }
    let scope = requested_scope(get("scope"), &client.default_scope, &client.allowed_scope)
        .map_err(|d| refuse(E::InvalidScope, &d))?;
    let challenge = pkce::challenge_for_request(
        client.client_type == ClientType::Public,
        client.require_pkce,
        app.config.require_pkce,
        app.config.allow_plain_pkce,
        get("code_challenge"),
        get("code_challenge_method"),
    )
    .map_err(|d| refuse(E::InvalidRequest, d))?;
    let prompt = match get("prompt") {
        None => Prompt::default(),
        Some(p) => parse_prompt(p).ok_or_else(|| {
            refuse(
                E::InvalidRequest,
                "prompt must be none alone, or any of login, consent and select_account",
            )
        })?,
    };
    let max_age = get("max_age")
        .map(parse_max_age)
        .transpose()
        .map_err(|d| refuse(E::InvalidRequest, d))?;
    let display = match get("display") {
        None => Display::default(),
        Some(d) => parse_display(d).ok_or_else(|| {
            refuse(
                E::InvalidRequest,
                "display must be one of page, popup, touch and wap",
            )
        })?,
    };
    // `ui_locales` and `claims_locales` (Core §3.1.2.1, §5.2) are accepted and
    // not acted on: the pages are in one language and the claims carry no
    // language tags, and "an error SHOULD NOT result if some or all of the
    // requested locales are not supported". `acr_values` (§3.1.2.1) asks for
    // `acr` "as a Voluntary Claim" (§5.5.1.1), which may go unanswered: no `acr`
    // is issued, so it is accepted and not acted on. Parameters the server does
    // not know are ignored (RFC 6749 §3.1: it "MUST ignore unrecognized request
    // parameters").
    let login_hint = get("login_hint").map(str::to_owned);
    let identity_provider = get("identity_provider")
        .map(|id| {
            crate::domain::provider::validate_id(id)
                .map(|()| id.to_owned())
                .map_err(|_| refuse(E::InvalidRequest, "identity_provider is not a provider id"))
        })
        .transpose()?;
    // The key set is read only when a hint is present.
    let hint = match get("id_token_hint") {
        None => None,
        Some(token) => {
            let keys = match app.key_set().await {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(cause = %e, "reading the key set failed");
                    return Err(refuse(
                        E::TemporarilyUnavailable,
                        "the server could not check the id_token_hint; try again",
                    ));
                }
            };
            let Some(hint) = id_token_hint::verify(&keys, &app.config.issuer, token) else {
                return Err(refuse(
                    E::InvalidRequest,
                    "id_token_hint is not an ID token issued by this server",
                ));
            };
            // An ID token names the client it was issued to (Core §2 `aud`); one
            // of another client says nothing this client may rely on.
            if hint.client_id != client.client_id {
                return Err(refuse(
                    E::InvalidRequest,
                    "id_token_hint was issued to another client",
                ));
            }
            Some(hint)
        }
    };
    Ok(AuthorizationRequest {
        raw: raw.to_owned(),
        client,
        redirect_uri,
        redirect_uri_in_request: in_request,
        state,
        scope,
        challenge,
        prompt,
        nonce: nonce.map(str::to_owned),
        max_age,
        hint,
        login_hint,
        display,
        identity_provider,
    })
}

/// The fields of the login and consent forms: a POST carrying any of them is a
/// step of the flow (it must carry the original request in `request`, and a
/// CSRF token); a POST with none of them is an authentication request itself
/// (OpenID Connect Core §3.1.2.1: "Authorization Servers MUST support the use
/// of the HTTP GET and POST methods"), whose parameters are those of the GET.
/// (`request` alone does not make a step: it is also the request-object
/// parameter of §6.1, answered `request_not_supported`.)
pub const STEP_FIELDS: [&str; 5] = ["action", "csrf_token", "username", "password", "pending"];

/// Whether a POSTed form body is a step of the login or consent forms.
pub fn is_step_form(body: &[u8]) -> bool {
    body.split(|&b| b == b'&').any(|pair| {
        let name = pair.split(|&b| b == b'=').next().unwrap_or(b"");
        decode_component(name).is_ok_and(|n| STEP_FIELDS.contains(&n.as_str()))
    })
}

/// A POSTed authentication request's parameters re-encoded as a query string,
/// every pair kept in order (repeated and empty ones too, so that [`check`] sees
/// what the GET would); `None` when the body does not decode, which [`check`]
/// then reports on the body itself.
pub fn reencode(body: &[u8]) -> Option<String> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        out.append_pair(
            &decode_component(name).ok()?,
            &decode_component(value).ok()?,
        );
    }
    Some(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_a_step_field_is_a_step_and_a_bare_request_is_not() {
        for step in [
            &b"request=a%3D1&csrf_token=t&action=approve"[..],
            b"action=login",
            b"csrf_token=t",
            b"response_type=code&client_id=c&username=alice",
            b"response_type=code&password=x",
            b"%61ction=login",
        ] {
            assert!(is_step_form(step), "{}", String::from_utf8_lossy(step));
        }
        for bare in [
            &b"response_type=code&client_id=c&scope=openid"[..],
            b"request=eyJ&client_id=c",
            b"",
            b"actions=1&csrf=2",
        ] {
            assert!(!is_step_form(bare), "{}", String::from_utf8_lossy(bare));
        }
    }

    #[test]
    fn a_posted_request_is_carried_on_as_the_same_parameters() {
        assert_eq!(
            reencode(b"scope=openid+read&state=a%26b&x&state=").as_deref(),
            Some("scope=openid+read&state=a%26b&x=&state=")
        );
        assert_eq!(reencode(b"a=%zz"), None);
        assert_eq!(reencode(b"").as_deref(), Some(""));
    }
}
