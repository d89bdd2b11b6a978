//! A scripted upstream OpenID Provider on loopback, for the negative cases a
//! real provider never produces: it serves discovery (Discovery 1.0 §4), a
//! JWKS, an authorization endpoint that redirects at once with a code and the
//! `state` it got (Core §3.1.2.5) and, when asked, `iss` (RFC 9207 §2), and a
//! token endpoint (Core §3.1.3.3) that answers an ID token shaped by a
//! [`Fault`] and an optional closure over its claims, and a UserInfo endpoint
//! (Core §5.3) that takes the access tokens it issued as Bearer tokens. It
//! records every authorization, token and UserInfo request, so tests can check
//! PKCE (RFC 7636 §4.5) and client authentication (RFC 6749 §2.3.1)
//! afterwards.

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use gatehouse_core::keys::{KeyPair, KeyStatus, SigningAlgorithm, SigningKey};
use gatehouse_core::secret::{SecretHash, random_id, random_token};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How the next answers go wrong; [`Fault::None`] is the good path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// The ID token's `nonce` is not the one of the request (Core §3.1.3.7 step 11).
    WrongNonce,
    /// The ID token's `iss` is another issuer (Core §3.1.3.7 step 2).
    WrongIssuer,
    /// The ID token's `aud` is another client (Core §3.1.3.7 step 3).
    WrongAudience,
    /// The ID token expired ten minutes ago (Core §3.1.3.7 step 9).
    Expired,
    /// The ID token is signed with a key the JWKS does not have (Core §3.1.3.7
    /// step 6; its `kid` is that key's own).
    UnknownKey,
    /// The ID token is unsigned, `alg: none` (Core §2, §3.1.3.7 step 7).
    AlgNone,
    /// `email_verified` is the string `"true"`, not a boolean (Core §5.1).
    EmailVerifiedString,
    /// The authorization endpoint answers `error=access_denied` (Core §3.1.2.6).
    AccessDenied,
    /// The authorization response carries `iss` of this other provider: a
    /// mix-up (RFC 9207 §2.4).
    MixUp(String),
    /// The UserInfo answer's `sub` is this other subject (Core §5.3.2).
    UserinfoSubject(String),
    /// The UserInfo answer is a signed JWT, `application/jwt` (Core §5.3.2).
    UserinfoJwt,
}

/// The claims of the ID token about to be signed, for the test to change.
pub type Shape = Box<dyn Fn(&mut Map<String, Value>) + Send + Sync>;

/// One request the token endpoint got: its form fields and its `Authorization`
/// header (decoded when Basic).
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub form: BTreeMap<String, String>,
    /// `(client_id, client_secret)` of HTTP Basic authentication, if any.
    pub basic: Option<(String, String)>,
}

/// What an issued code stands for.
struct Issued {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
}

struct Shared {
    issuer: String,
    client_id: String,
    client_secret: String,
    subject: String,
    key: SigningKey,
    /// A key the JWKS does not publish, for [`Fault::UnknownKey`].
    stray_key: SigningKey,
    public_jwk: Value,
    send_iss: bool,
    fault: Mutex<Fault>,
    shape: Mutex<Option<Shape>>,
    codes: Mutex<BTreeMap<String, Issued>>,
    /// The access tokens issued, for the UserInfo endpoint.
    access_tokens: Mutex<Vec<String>>,
    authorization_requests: Mutex<Vec<BTreeMap<String, String>>>,
    token_requests: Mutex<Vec<TokenRequest>>,
    /// The `Authorization` header of every UserInfo request.
    userinfo_requests: Mutex<Vec<Option<String>>>,
}

/// A running scripted provider; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct ScriptedProvider {
    /// `http://127.0.0.1:PORT`, the issuer.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The `sub` of every ID token it issues.
    pub subject: String,
    shared: Arc<Shared>,
}

fn generate_key(alg: SigningAlgorithm) -> (SigningKey, Value) {
    let pair = KeyPair::generate(alg, KeyStatus::Active, gatehouse_core::app::now())
        .expect("a key is generated");
    let jwk: Value = serde_json::from_str(&pair.public.public_jwk).unwrap();
    (SigningKey::new(&pair.public.kid, alg, &pair.private), jwk)
}

impl ScriptedProvider {
    /// Starts a provider with one confidential client, answering `iss` in the
    /// authorization response (RFC 9207).
    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    /// Starts a provider; `send_iss` says whether authorization responses carry
    /// `iss` and the metadata says so.
    pub async fn start_with(send_iss: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let (key, public_jwk) = generate_key(SigningAlgorithm::Rs256);
        let (stray_key, _) = generate_key(SigningAlgorithm::Rs256);
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            client_id: format!("rp-{}", random_id()),
            client_secret: random_token().expose().to_owned(),
            subject: format!("upstream-{}", random_id()),
            key,
            stray_key,
            public_jwk,
            send_iss,
            fault: Mutex::default(),
            shape: Mutex::default(),
            codes: Mutex::default(),
            access_tokens: Mutex::default(),
            authorization_requests: Mutex::default(),
            token_requests: Mutex::default(),
            userinfo_requests: Mutex::default(),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            issuer,
            client_id: shared.client_id.clone(),
            client_secret: shared.client_secret.clone(),
            subject: shared.subject.clone(),
            shared,
        }
    }

    /// Makes the next answers go wrong as `fault` says.
    pub fn set_fault(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
    }

    /// Changes every ID token's claims with `shape`, after the fault is applied.
    pub fn shape(&self, shape: impl Fn(&mut Map<String, Value>) + Send + Sync + 'static) {
        *self.shared.shape.lock().unwrap() = Some(Box::new(shape));
    }

    /// The query of every authorization request so far.
    pub fn authorization_requests(&self) -> Vec<BTreeMap<String, String>> {
        self.shared.authorization_requests.lock().unwrap().clone()
    }

    /// Every token request so far.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.shared.token_requests.lock().unwrap().clone()
    }

    /// The `Authorization` header of every UserInfo request so far.
    pub fn userinfo_requests(&self) -> Vec<Option<String>> {
        self.shared.userinfo_requests.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// RFC 6749 §5.2.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn pairs(s: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    let i = &s.issuer;
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}/token"),
            "jwks_uri": format!("{i}/jwks"),
            "userinfo_endpoint": format!("{i}/userinfo"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": s.send_iss,
        }),
    )
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &json!({"keys": [s.public_jwk]}))
}

/// Redirects at once (Core §3.1.2.5, §3.1.2.6), as if the user had signed in
/// and approved; an unknown client or redirect URI gets a 400 page instead of
/// a redirect (RFC 6749 §4.1.2.1).
async fn authorize(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    let query = pairs(uri.query().unwrap_or_default());
    s.authorization_requests.lock().unwrap().push(query.clone());
    let client_id = query.get("client_id").cloned().unwrap_or_default();
    let Some(redirect_uri) = query.get("redirect_uri").cloned() else {
        return (StatusCode::BAD_REQUEST, "no redirect_uri").into_response();
    };
    if client_id != s.client_id {
        return (StatusCode::BAD_REQUEST, "unknown client").into_response();
    }
    let Ok(mut location) = url::Url::parse(&redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not a URL").into_response();
    };
    let fault = s.fault.lock().unwrap().clone();
    {
        let mut q = location.query_pairs_mut();
        if fault == Fault::AccessDenied {
            q.append_pair("error", "access_denied")
                .append_pair("error_description", "the end-user denied the request");
        } else {
            let code = random_token().expose().to_owned();
            s.codes.lock().unwrap().insert(
                code.clone(),
                Issued {
                    client_id,
                    redirect_uri: redirect_uri.clone(),
                    nonce: query.get("nonce").cloned(),
                    code_challenge: query.get("code_challenge").cloned(),
                },
            );
            q.append_pair("code", &code);
        }
        if let Some(state) = query.get("state") {
            q.append_pair("state", state);
        }
        match &fault {
            Fault::MixUp(other) => {
                q.append_pair("iss", other);
            }
            _ if s.send_iss => {
                q.append_pair("iss", &s.issuer);
            }
            _ => {}
        }
    }
    (StatusCode::FOUND, [(LOCATION, location.to_string())]).into_response()
}

/// `(client_id, client_secret)` of a Basic `Authorization` header (RFC 6749
/// §2.3.1: both form-encoded before Base64).
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// The authorization code grant (Core §3.1.3.1): client authentication by
/// `client_secret_basic` or `client_secret_post`, the code once, the
/// `redirect_uri` it was issued for, and the PKCE verifier when a challenge
/// was sent (RFC 7636 §4.6).
async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, body: String) -> Response {
    let form = pairs(&body);
    let basic = basic(&headers);
    s.token_requests.lock().unwrap().push(TokenRequest {
        form: form.clone(),
        basic: basic.clone(),
    });
    let (id, secret) = match &basic {
        Some((id, secret)) => (id.clone(), secret.clone()),
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    if id != s.client_id || !SecretHash::of(&s.client_secret).matches(&secret) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(issued) = s.codes.lock().unwrap().remove(&code) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        );
    };
    if issued.client_id != id || form.get("redirect_uri") != Some(&issued.redirect_uri) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the code was issued to another client or redirect_uri",
        );
    }
    if let Some(challenge) = &issued.code_challenge {
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        if !SecretHash::from_stored(challenge.clone()).matches(&verifier) {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the code_verifier does not match",
            );
        }
    }
    let fault = s.fault.lock().unwrap().clone();
    let now = gatehouse_core::app::now();
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(s.issuer));
    claims.insert("sub".into(), json!(s.subject));
    claims.insert("aud".into(), json!(s.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 300));
    claims.insert("auth_time".into(), json!(now));
    if let Some(nonce) = &issued.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("email".into(), json!("alice@upstream.example"));
    claims.insert("email_verified".into(), json!(true));
    claims.insert("name".into(), json!("Alice Upstream"));
    match &fault {
        Fault::WrongNonce => {
            claims.insert("nonce".into(), json!(random_id()));
        }
        Fault::WrongIssuer => {
            claims.insert("iss".into(), json!("https://other-issuer.example"));
        }
        Fault::WrongAudience => {
            claims.insert("aud".into(), json!("another-client"));
        }
        Fault::Expired => {
            claims.insert("iat".into(), json!(now - 1200));
            claims.insert("exp".into(), json!(now - 600));
        }
        Fault::EmailVerifiedString => {
            claims.insert("email_verified".into(), json!("true"));
        }
        _ => {}
    }
    if let Some(shape) = &*s.shape.lock().unwrap() {
        shape(&mut claims);
    }
    let id_token = match fault {
        Fault::AlgNone => format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string())
        ),
        Fault::UnknownKey => sign(&s.stray_key, &claims),
        _ => sign(&s.key, &claims),
    };
    let access_token = random_token().expose().to_owned();
    s.access_tokens.lock().unwrap().push(access_token.clone());
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }),
    )
}

fn sign(key: &SigningKey, claims: &Map<String, Value>) -> String {
    let mut header = jsonwebtoken::Header::new(key.alg.jwt_algorithm());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, key.encoding_key()).expect("the ID token is signed")
}

/// The UserInfo endpoint (Core §5.3.1, §5.3.2): a Bearer token it issued
/// (RFC 6750 §2.1) gets the subject's claims as JSON, or shaped by
/// [`Fault::UserinfoSubject`] and [`Fault::UserinfoJwt`]; any other request
/// gets 401 with `WWW-Authenticate` (RFC 6750 §3.1).
async fn userinfo(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    s.userinfo_requests
        .lock()
        .unwrap()
        .push(authorization.clone());
    let token = authorization
        .as_deref()
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let known = s
        .access_tokens
        .lock()
        .unwrap()
        .iter()
        .any(|t| SecretHash::of(t).matches(token));
    if !known {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                axum::http::header::WWW_AUTHENTICATE,
                r#"Bearer error="invalid_token""#,
            )],
        )
            .into_response();
    }
    let fault = s.fault.lock().unwrap().clone();
    let mut claims = Map::new();
    let sub = match &fault {
        Fault::UserinfoSubject(other) => other.clone(),
        _ => s.subject.clone(),
    };
    claims.insert("sub".into(), json!(sub));
    claims.insert("email".into(), json!("alice@upstream.example"));
    claims.insert("email_verified".into(), json!(true));
    claims.insert("name".into(), json!("Alice Upstream"));
    if fault == Fault::UserinfoJwt {
        claims.insert("iss".into(), json!(s.issuer));
        claims.insert("aud".into(), json!(s.client_id));
        return (
            StatusCode::OK,
            [(CONTENT_TYPE, "application/jwt")],
            sign(&s.key, &claims),
        )
            .into_response();
    }
    json_response(StatusCode::OK, &Value::Object(claims))
}
