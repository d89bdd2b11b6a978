//! The resource-server crate against real Gatehouse tokens and key sets: tokens
//! from the token endpoint, tokens crafted with the server's own signing key or
//! with keys served from a loopback JWKS that counts its fetches, and hand-made
//! forgeries (`alg: none`, HS256 keyed with the public key).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::keys::{KeyPair, KeyStatus, SigningAlgorithm};
use gatehouse_resource_server::{Claims, Rejection, RejectionKind, Settings, Verifier};
use gatehouse_tests::loopback::{read_request, respond};
use gatehouse_tests::{TestServer, jwks};
use jsonwebtoken::jwk::AlgorithmParameters;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderName, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REALM: &str = "api";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "https://api.test";

fn now() -> u64 {
    gatehouse_core::app::now()
}

fn bearer(token: &str) -> HeaderMap {
    authorization(&[&format!("Bearer {token}")])
}

fn authorization(values: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for v in values {
        h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn challenge(r: &Rejection) -> Option<String> {
    r.www_authenticate().map(|v| v.to_str().unwrap().to_owned())
}

/// Asserts a 401 `invalid_token` with exactly this challenge.
#[track_caller]
fn assert_invalid_token(r: &Rejection, description: &str) {
    assert_eq!(r.kind(), RejectionKind::InvalidToken, "{r:?}");
    assert_eq!(r.status(), 401, "{r:?}");
    assert_eq!(
        challenge(r).as_deref(),
        Some(
            format!(
                r#"Bearer realm="{REALM}", error="invalid_token", error_description="{description}""#
            )
            .as_str()
        ),
    );
}

/// The rejection as a `lambda_http` response: status, headers and JSON body.
fn respond_with(r: Rejection) -> (u16, HeaderMap, Value) {
    let resp: lambda_http::Response<lambda_http::Body> = r.into();
    let body = match resp.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
        other => panic!("a text body, got {other:?}"),
    };
    (resp.status().as_u16(), resp.headers().clone(), body)
}

fn header(h: &HeaderMap, name: HeaderName) -> Option<&str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

// --- Against a running Gatehouse --------------------------------------------------

fn gatehouse_verifier(server: &TestServer, adjust: impl FnOnce(&mut Settings)) -> Verifier {
    let mut s = Settings::new(server.base.clone(), server.app.config.audience.clone());
    s.realm = Some(REALM.into());
    adjust(&mut s);
    Verifier::new(s).expect("valid settings")
}

/// Claims as Gatehouse writes them (RFC 9068 §2.2), valid for ten minutes.
fn gatehouse_claims(server: &TestServer) -> Value {
    let iat = now();
    json!({
        "iss": server.base,
        "sub": "user-1",
        "aud": server.app.config.audience,
        "exp": iat + 600,
        "iat": iat,
        "jti": "jti-1",
        "client_id": "client-1",
        "scope": "read",
    })
}

/// Signs `claims` with the server's active key, header `typ: at+jwt` and `kid`,
/// adjusted by `adjust`.
async fn sign_as_server(
    server: &TestServer,
    adjust: impl FnOnce(&mut Header),
    claims: &Value,
) -> String {
    let signing = server
        .app
        .signing_key()
        .await
        .expect("key set")
        .expect("an active key");
    let mut header = Header::new(signing.alg.jwt_algorithm());
    header.typ = Some("at+jwt".into());
    header.kid = Some(signing.kid.clone());
    adjust(&mut header);
    jsonwebtoken::encode(&header, claims, signing.encoding_key()).unwrap()
}

/// A compact JWS assembled by hand.
fn hand_made(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[tokio::test]
async fn a_gatehouse_token_with_the_needed_scopes_is_accepted_with_its_claims() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let token = server.cc_token(&client, "read write").await;
    let verifier = gatehouse_verifier(&server, |_| {});

    let claims: Claims = verifier
        .authorize(&bearer(&token), &["read"])
        .await
        .expect("the token is accepted");
    assert_eq!(claims.sub(), client.id);
    assert_eq!(claims.client_id(), client.id);
    assert_eq!(
        claims
            .scopes()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["read", "write"]
    );
    assert!(claims.has_scopes(&["read", "write"]));
    assert!(!claims.has_scope("admin"));
    assert_eq!(claims.exp() - claims.iat(), 3600);
    assert!(claims.iat().abs_diff(now()) < 60);
    assert!(claims.jti().len() >= 22);
    assert_eq!(claims.raw()["iss"], server.base.as_str());
    assert_eq!(claims.raw()["aud"], server.app.config.audience.as_str());

    // The same verifier takes the same token again from its cache, and with no
    // scope required.
    let again = verifier.authorize(&bearer(&token), &[]).await.unwrap();
    assert_eq!(again, claims);
}

#[tokio::test]
async fn an_es256_gatehouse_token_is_accepted() {
    let server = TestServer::start_with_alg(SigningAlgorithm::Es256, |_| {}).await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let claims = gatehouse_verifier(&server, |_| {})
        .authorize(&bearer(&token), &["read"])
        .await
        .expect("the ES256 token is accepted");
    assert_eq!(claims.client_id(), client.id);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let verifier = gatehouse_verifier(&server, |_| {});
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let headers = authorization(&[&format!("{scheme} {token}")]);
        assert!(
            verifier.authorize(&headers, &["read"]).await.is_ok(),
            "{scheme}"
        );
    }
}

#[tokio::test]
async fn a_token_without_a_needed_scope_is_403_insufficient_scope_naming_the_required_scopes() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let token = server.cc_token(&client, "read").await;
    let verifier = gatehouse_verifier(&server, |_| {});

    let r = verifier
        .authorize(&bearer(&token), &["read", "write"])
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::InsufficientScope);
    assert_eq!(r.status(), 403);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a scope this request needs", scope="read write""#
        )
    );
    let (status, headers, body) = respond_with(r);
    assert_eq!(status, 403);
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(body["scope"], "read write");
    assert_eq!(header(&headers, CACHE_CONTROL), Some("no-store"));
}

#[tokio::test]
async fn a_request_without_an_authorization_header_is_401_with_a_bare_challenge() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let r = verifier
        .authorize(&HeaderMap::new(), &["read"])
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::MissingToken);
    assert_eq!(r.status(), 401);
    // RFC 6750 §3.1: no error code when the request lacks authentication.
    assert_eq!(challenge(&r).as_deref(), Some(r#"Bearer realm="api""#));

    let (status, headers, body) = respond_with(r);
    assert_eq!(status, 401);
    assert_eq!(
        header(&headers, WWW_AUTHENTICATE),
        Some(r#"Bearer realm="api""#)
    );
    assert_eq!(header(&headers, CACHE_CONTROL), Some("no-store"));
    assert_eq!(header(&headers, CONTENT_TYPE), Some("application/json"));
    assert!(body.get("error").is_none(), "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

#[tokio::test]
async fn the_default_realm_is_the_audience() {
    let server = TestServer::start().await;
    let verifier = Verifier::new(Settings::new(
        server.base.clone(),
        server.app.config.audience.clone(),
    ))
    .unwrap();
    let r = verifier
        .authorize(&HeaderMap::new(), &[])
        .await
        .unwrap_err();
    assert_eq!(
        challenge(&r),
        Some(format!(r#"Bearer realm="{}""#, server.app.config.audience))
    );
}

#[tokio::test]
async fn another_scheme_than_bearer_is_401_with_a_bare_challenge() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let verifier = gatehouse_verifier(&server, |_| {});
    // RFC 6750 §3.1: "attempted using an unsupported authentication method" is a
    // request lacking authentication information: no error code.
    for value in [
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("DPoP {token}"),
        format!("Token {token}"),
    ] {
        let r = verifier
            .authorize(&authorization(&[&value]), &[])
            .await
            .unwrap_err();
        assert_eq!(r.status(), 401, "{value}");
        assert_eq!(
            challenge(&r).as_deref(),
            Some(r#"Bearer realm="api""#),
            "{value}"
        );
    }
}

#[tokio::test]
async fn a_malformed_or_repeated_authorization_header_is_400_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let token = server.cc_token(&client, "read").await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let malformed = r#"Bearer realm="api", error="invalid_request", error_description="the Authorization header is not of the form Bearer <token>""#;
    let repeated = r#"Bearer realm="api", error="invalid_request", error_description="the request has more than one Authorization header""#;
    let with_token = |s: &str| s.replace("TOKEN", &token);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["Bearer".into()], malformed),
        (vec!["Bearer ".into()], malformed),
        (vec![with_token("Bearer TOKEN extra")], malformed),
        (vec![with_token("Bearer TOKEN,TOKEN")], malformed),
        (vec![with_token("Bearer \"TOKEN\"")], malformed),
        (vec![with_token("Bearer\tTOKEN")], malformed),
        (vec!["".into()], malformed),
        (
            vec![with_token("Bearer TOKEN"), with_token("Bearer TOKEN")],
            repeated,
        ),
        (
            vec![with_token("Bearer TOKEN"), "Basic dXNlcjpwYXNz".into()],
            repeated,
        ),
    ];
    for (values, expected) in cases {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let r = verifier
            .authorize(&authorization(&values), &[])
            .await
            .unwrap_err();
        assert_eq!(r.kind(), RejectionKind::InvalidRequest, "{values:?}");
        assert_eq!(r.status(), 400, "{values:?}");
        assert_eq!(challenge(&r).as_deref(), Some(expected), "{values:?}");
        let (status, _, body) = respond_with(r);
        assert_eq!(status, 400);
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn an_expired_token_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let mut claims = gatehouse_claims(&server);
    claims["iat"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 120);
    let token = sign_as_server(&server, |_| {}, &claims).await;
    let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
    assert_invalid_token(&r, "the access token has expired");
    let (status, headers, body) = respond_with(r);
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "the access token has expired");
    assert_eq!(header(&headers, CACHE_CONTROL), Some("no-store"));
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted_and_one_beyond_it_is_not() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |s| s.leeway = Duration::from_secs(60));
    let mut claims = gatehouse_claims(&server);
    claims["exp"] = json!(now() - 10);
    let token = sign_as_server(&server, |_| {}, &claims).await;
    assert!(verifier.authorize(&bearer(&token), &[]).await.is_ok());

    claims["exp"] = json!(now() - 600);
    let token = sign_as_server(&server, |_| {}, &claims).await;
    let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
    assert_invalid_token(&r, "the access token has expired");
}

#[tokio::test]
async fn a_token_not_valid_yet_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let mut claims = gatehouse_claims(&server);
    claims["nbf"] = json!(now() + 300);
    let token = sign_as_server(&server, |_| {}, &claims).await;
    let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
    assert_invalid_token(&r, "the access token is not valid yet (nbf)");

    claims["nbf"] = json!(now() - 1);
    let token = sign_as_server(&server, |_| {}, &claims).await;
    assert!(verifier.authorize(&bearer(&token), &[]).await.is_ok());
}

#[tokio::test]
async fn a_token_from_another_issuer_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let other = "the access token was issued by another issuer";
    let base = server.base.clone();
    for iss in [
        json!("https://evil.example"),
        json!(format!("{base}/")),
        json!(base.to_uppercase()),
        // An array holding the right issuer is not an issuer (RFC 7519 §4.1.1).
        json!([base]),
    ] {
        let mut claims = gatehouse_claims(&server);
        claims["iss"] = iss.clone();
        let token = sign_as_server(&server, |_| {}, &claims).await;
        let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
        assert_eq!(r.status(), 401, "{iss}");
        assert_invalid_token(&r, other);
    }
}

#[tokio::test]
async fn a_token_for_another_audience_is_invalid_token_and_an_array_holding_ours_is_accepted() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let ours = server.app.config.audience.clone();
    for aud in [
        json!("https://other-api.example"),
        json!(["https://other-api.example", "https://third.example"]),
        json!([]),
    ] {
        let mut claims = gatehouse_claims(&server);
        claims["aud"] = aud.clone();
        let token = sign_as_server(&server, |_| {}, &claims).await;
        let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
        assert_invalid_token(&r, "the access token is meant for another audience");
    }

    let mut claims = gatehouse_claims(&server);
    claims["aud"] = json!(["https://other-api.example", ours]);
    let token = sign_as_server(&server, |_| {}, &claims).await;
    assert!(verifier.authorize(&bearer(&token), &[]).await.is_ok());
}

#[tokio::test]
async fn a_token_missing_an_rfc_9068_claim_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let mut claims = gatehouse_claims(&server);
        claims.as_object_mut().unwrap().remove(claim);
        let token = sign_as_server(&server, |_| {}, &claims).await;
        let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
        assert_invalid_token(&r, &format!("the access token has no {claim} claim"));
    }

    // `scope` is optional: no scope, no scopes.
    let mut claims = gatehouse_claims(&server);
    claims.as_object_mut().unwrap().remove("scope");
    let token = sign_as_server(&server, |_| {}, &claims).await;
    let accepted = verifier.authorize(&bearer(&token), &[]).await.unwrap();
    assert!(accepted.scopes().is_empty());
    let r = verifier
        .authorize(&bearer(&token), &["read"])
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::InsufficientScope);
}

#[tokio::test]
async fn a_token_with_another_typ_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let claims = gatehouse_claims(&server);
    for typ in [Some("JWT"), Some("jwt"), Some("at+jwt+x"), Some(""), None] {
        let token = sign_as_server(&server, |h| h.typ = typ.map(Into::into), &claims).await;
        let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
        assert_invalid_token(
            &r,
            "the token is not a JWT access token (typ must be at+jwt)",
        );
    }
    // RFC 9068 §4 allows both spellings, and media types ignore case.
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+JWT",
    ] {
        let token = sign_as_server(&server, |h| h.typ = Some(typ.into()), &claims).await;
        assert!(
            verifier.authorize(&bearer(&token), &[]).await.is_ok(),
            "{typ}"
        );
    }
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let client = server.cc_client("read").await;
    let real = server.cc_token(&client, "read").await;
    let kid = jsonwebtoken::decode_header(&real).unwrap().kid.unwrap();
    let claims = gatehouse_claims(&server);
    let real_signature = URL_SAFE_NO_PAD
        .decode(real.rsplit('.').next().unwrap())
        .unwrap();
    for alg in ["none", "None", "NONE"] {
        for signature in [&b""[..], &real_signature] {
            let token = hand_made(
                &json!({"alg": alg, "typ": "at+jwt", "kid": kid}),
                &claims,
                signature,
            );
            let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
            assert_invalid_token(&r, "unsigned access tokens (alg none) are refused");
        }
    }
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_servers_public_key_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let set = jwks(&server.base).await;
    let jwk = &set.keys[0];
    let kid = jwk.common.key_id.clone().unwrap();
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        panic!("an RSA key");
    };
    // What a confused verifier might use as the HMAC secret: the modulus, its
    // base64url text, the whole JWK as published.
    let secrets = [
        URL_SAFE_NO_PAD.decode(&rsa.n).unwrap(),
        rsa.n.as_bytes().to_vec(),
        serde_json::to_vec(jwk).unwrap(),
    ];
    let claims = gatehouse_claims(&server);
    for secret in &secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.typ = Some("at+jwt".into());
            header.kid = Some(kid.clone());
            let token =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
            let r = verifier.authorize(&bearer(&token), &[]).await.unwrap_err();
            assert_invalid_token(
                &r,
                "symmetric signature algorithms (HS*) are refused; tokens are signed with the issuer's private key",
            );
        }
    }
}

#[tokio::test]
async fn a_tampered_or_malformed_token_is_invalid_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let client = server.cc_client("read write").await;
    let token = server.cc_token(&client, "read").await;

    // More scope, same signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = json!("read write");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let r = verifier
        .authorize(&bearer(&tampered), &[])
        .await
        .unwrap_err();
    assert_invalid_token(&r, "the access token's signature does not verify");

    let not_jws = "the access token is not a signed JWT (RFC 7515 compact serialization)";
    let jwe_shaped = format!("{token}.abc.def");
    for (bad, description) in [
        ("abc", not_jws),
        ("a.b", not_jws),
        (jwe_shaped.as_str(), not_jws),
        (
            "e30.e30.",
            "the token is not a JWT access token (typ must be at+jwt)",
        ),
        ("bm90IGpzb24.e30.", "the access token's header is malformed"),
    ] {
        let r = verifier.authorize(&bearer(bad), &[]).await.unwrap_err();
        assert_invalid_token(&r, description);
    }
}

#[tokio::test]
async fn rejections_never_carry_the_token() {
    let server = TestServer::start().await;
    let verifier = gatehouse_verifier(&server, |_| {});
    let mut claims = gatehouse_claims(&server);
    claims["exp"] = json!(now() - 3600);
    let expired = sign_as_server(&server, |_| {}, &claims).await;
    let client = server.cc_client("read").await;
    let valid = server.cc_token(&client, "read").await;
    let cases = [
        (
            expired.clone(),
            authorization(&[&format!("Bearer {expired}")]),
            vec![],
        ),
        (valid.clone(), bearer(&valid), vec!["admin"]),
        (
            valid.clone(),
            authorization(&[&format!("Bearer {valid} x")]),
            vec![],
        ),
        (
            valid.clone(),
            authorization(&[&format!("Basic {valid}")]),
            vec![],
        ),
    ];
    for (token, headers, scopes) in cases {
        let r = verifier.authorize(&headers, &scopes).await.unwrap_err();
        let signature = token.rsplit('.').next().unwrap();
        let texts = [
            format!("{r:?}"),
            r.to_string(),
            challenge(&r).unwrap_or_default(),
            r.body(),
        ];
        for text in texts {
            assert!(!text.contains(signature), "{text}");
        }
    }
}

// --- Against a loopback JWKS ------------------------------------------------------

/// A signing key of this test's own, published on a loopback JWKS.
struct OwnKey {
    kid: String,
    alg: Algorithm,
    jwk: Value,
    encoding: EncodingKey,
}

impl OwnKey {
    fn generate(alg: SigningAlgorithm) -> Self {
        let pair = KeyPair::generate(alg, KeyStatus::Active, now()).unwrap();
        let encoding = match alg {
            SigningAlgorithm::Rs256 => EncodingKey::from_rsa_der(&pair.private.0),
            SigningAlgorithm::Es256 => EncodingKey::from_ec_der(&pair.private.0),
        };
        let k = pair.public;
        Self {
            kid: k.kid,
            alg: alg.jwt_algorithm(),
            jwk: serde_json::from_str(&k.public_jwk).unwrap(),
            encoding,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with(|_| {}, claims)
    }

    fn sign_with(&self, adjust: impl FnOnce(&mut Header), claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid.clone());
        adjust(&mut header);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn key_set(keys: &[&OwnKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

fn claims() -> Value {
    let iat = now();
    json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "exp": iat + 600, "iat": iat,
        "jti": "jti-1", "client_id": "client-1", "scope": "read",
    })
}

/// A loopback JWKS endpoint that counts the requests it answers; what it answers
/// can be changed while it runs.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    response: Arc<Mutex<String>>,
}

impl JwksServer {
    async fn start(status: &str, cache_control: &str, body: &Value) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let response = Arc::new(Mutex::new(String::new()));
        let server = Self {
            url,
            fetches: fetches.clone(),
            response: response.clone(),
        };
        server.answer(status, cache_control, body);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let fetches = fetches.clone();
                let response = response.clone();
                tokio::spawn(async move {
                    if read_request(&mut stream).await.is_some() {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let text = response.lock().unwrap().clone();
                        respond(stream, &text).await;
                    }
                });
            }
        });
        server
    }

    fn answer(&self, status: &str, cache_control: &str, body: &Value) {
        let body = body.to_string();
        *self.response.lock().unwrap() = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
             Cache-Control: {cache_control}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn verifier(&self, adjust: impl FnOnce(&mut Settings)) -> Verifier {
        let mut s = Settings::new(ISSUER, AUDIENCE);
        s.jwks_uri = Some(self.url.clone());
        s.realm = Some(REALM.into());
        adjust(&mut s);
        Verifier::new(s).expect("valid settings")
    }
}

const UNKNOWN_KEY: &str = "the access token is signed by a key the issuer does not publish";

#[tokio::test]
async fn an_unknown_kid_refetches_the_key_set_once_and_a_second_one_soon_after_does_not() {
    let known = OwnKey::generate(SigningAlgorithm::Rs256);
    let jwks = JwksServer::start("200 OK", "public, max-age=300", &key_set(&[&known])).await;
    let verifier = jwks.verifier(|_| {});

    let claims_ok = verifier.verify(&known.sign(&claims())).await.unwrap();
    assert_eq!(claims_ok.sub(), "user-1");
    assert_eq!(jwks.fetches(), 1, "the first token fetches the key set");
    verifier.verify(&known.sign(&claims())).await.unwrap();
    assert_eq!(jwks.fetches(), 1, "the key set is cached");

    let stranger = OwnKey::generate(SigningAlgorithm::Rs256);
    let r = verifier
        .authorize(&bearer(&stranger.sign(&claims())), &[])
        .await
        .unwrap_err();
    assert_invalid_token(&r, UNKNOWN_KEY);
    assert_eq!(
        jwks.fetches(),
        2,
        "an unknown kid causes exactly one refetch"
    );

    // Within the minimum interval, another unknown kid (forged this time) does not
    // fetch again.
    let forged = known.sign_with(|h| h.kid = Some("forged-kid".into()), &claims());
    let r = verifier.authorize(&bearer(&forged), &[]).await.unwrap_err();
    assert_invalid_token(&r, UNKNOWN_KEY);
    let r = verifier
        .authorize(&bearer(&stranger.sign(&claims())), &[])
        .await
        .unwrap_err();
    assert_invalid_token(&r, UNKNOWN_KEY);
    assert_eq!(jwks.fetches(), 2, "no refetch within the minimum interval");

    // The known key still works, from the cache.
    verifier.verify(&known.sign(&claims())).await.unwrap();
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test]
async fn concurrent_requests_on_a_cold_cache_share_one_fetch() {
    let key = OwnKey::generate(SigningAlgorithm::Rs256);
    let jwks = JwksServer::start("200 OK", "max-age=300", &key_set(&[&key])).await;
    let verifier = jwks.verifier(|_| {});
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let verifier = verifier.clone();
        // Half of them valid, half naming keys nobody published.
        let token = if i % 2 == 0 {
            key.sign(&claims())
        } else {
            key.sign_with(|h| h.kid = Some(format!("forged-{i}")), &claims())
        };
        tasks.spawn(async move { (i, verifier.verify(&token).await) });
    }
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (i, Ok(_)) => assert_eq!(i % 2, 0, "token {i} is accepted"),
            (i, Err(r)) => {
                assert_eq!(i % 2, 1, "token {i} is refused: {r:?}");
                assert_invalid_token(&r, UNKNOWN_KEY);
            }
        }
    }
    assert_eq!(jwks.fetches(), 1, "one fetch serves every waiting request");
}

#[tokio::test]
async fn a_key_published_after_the_first_fetch_is_found_by_the_refetch() {
    let old = OwnKey::generate(SigningAlgorithm::Rs256);
    let jwks = JwksServer::start("200 OK", "max-age=300", &key_set(&[&old])).await;
    let verifier = jwks.verifier(|s| s.min_refetch_interval = Duration::ZERO);
    verifier.verify(&old.sign(&claims())).await.unwrap();

    // The issuer rotates: the new key is published, then signs.
    let new = OwnKey::generate(SigningAlgorithm::Es256);
    jwks.answer("200 OK", "max-age=300", &key_set(&[&old, &new]));
    let accepted = verifier.verify(&new.sign(&claims())).await.unwrap();
    assert_eq!(accepted.client_id(), "client-1");
    assert_eq!(jwks.fetches(), 2);
    verifier.verify(&new.sign(&claims())).await.unwrap();
    verifier.verify(&old.sign(&claims())).await.unwrap();
    assert_eq!(jwks.fetches(), 2, "both keys are now cached");
}

#[tokio::test]
async fn the_key_set_is_cached_for_its_max_age() {
    let key = OwnKey::generate(SigningAlgorithm::Rs256);
    let token = key.sign(&claims());

    // max-age=0 with no minimum interval: every token fetches.
    let jwks = JwksServer::start("200 OK", "max-age=0", &key_set(&[&key])).await;
    let verifier = jwks.verifier(|s| s.min_refetch_interval = Duration::ZERO);
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    assert_eq!(jwks.fetches(), 3);

    // The same with the default minimum interval: one fetch.
    let jwks = JwksServer::start("200 OK", "no-store", &key_set(&[&key])).await;
    let verifier = jwks.verifier(|_| {});
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    assert_eq!(jwks.fetches(), 1);

    // A max-age is honoured even with no minimum interval.
    let jwks = JwksServer::start("200 OK", "public, max-age=300", &key_set(&[&key])).await;
    let verifier = jwks.verifier(|s| s.min_refetch_interval = Duration::ZERO);
    for _ in 0..3 {
        verifier.verify(&token).await.unwrap();
    }
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn a_key_set_that_cannot_be_fetched_is_503_without_a_challenge_and_is_not_refetched_at_once()
{
    let key = OwnKey::generate(SigningAlgorithm::Rs256);
    let token = key.sign(&claims());
    let jwks = JwksServer::start(
        "500 Internal Server Error",
        "no-store",
        &json!({"error": "server_error"}),
    )
    .await;
    let verifier = jwks.verifier(|s| s.retry_after_failure = Duration::from_secs(60));

    let r = verifier
        .authorize(&bearer(&token), &["read"])
        .await
        .unwrap_err();
    assert_eq!(r.kind(), RejectionKind::JwksUnavailable);
    assert_eq!(r.status(), 503);
    assert_eq!(challenge(&r), None, "a 503 challenges no one");
    assert!(r.cause().unwrap().contains("500"), "{r:?}");
    assert_eq!(jwks.fetches(), 1);
    let (status, headers, body) = respond_with(r);
    assert_eq!(status, 503);
    assert_eq!(header(&headers, WWW_AUTHENTICATE), None);
    assert_eq!(header(&headers, RETRY_AFTER), Some("60"));
    assert_eq!(header(&headers, CACHE_CONTROL), Some("no-store"));
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        !body.to_string().contains("500"),
        "the cause stays private: {body}"
    );

    // Within the retry delay: 503 again, without a fetch.
    let r = verifier.verify(&token).await.unwrap_err();
    assert_eq!(r.status(), 503);
    assert_eq!(jwks.fetches(), 1);

    // A verifier that may retry at once recovers when the key set is back.
    let eager = jwks.verifier(|s| s.retry_after_failure = Duration::ZERO);
    assert_eq!(eager.verify(&token).await.unwrap_err().status(), 503);
    jwks.answer("200 OK", "max-age=300", &key_set(&[&key]));
    eager.verify(&token).await.expect("the retry succeeds");
    assert_eq!(jwks.fetches(), 3);
}

#[tokio::test]
async fn an_unreachable_or_unusable_key_set_is_503() {
    let key = OwnKey::generate(SigningAlgorithm::Rs256);
    let token = key.sign(&claims());

    // Nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", closed.local_addr().unwrap());
    drop(closed);
    let mut s = Settings::new(ISSUER, AUDIENCE);
    s.jwks_uri = Some(url);
    let r = Verifier::new(s).unwrap().verify(&token).await.unwrap_err();
    assert_eq!(r.status(), 503, "{r:?}");

    // Not JSON, no `keys`, only a symmetric key, a redirect.
    for (status, body) in [
        ("200 OK", json!("not a key set")),
        (
            "200 OK",
            json!({"keys": [{"kty": "oct", "kid": key.kid, "k": "c2VjcmV0"}]}),
        ),
        ("302 Found", json!({})),
    ] {
        let jwks = JwksServer::start(status, "max-age=300", &body).await;
        let r = jwks.verifier(|_| {}).verify(&token).await.unwrap_err();
        assert_eq!(r.kind(), RejectionKind::JwksUnavailable, "{body}");
        assert_eq!(jwks.fetches(), 1);
    }
}

#[tokio::test]
async fn a_token_whose_alg_is_not_its_keys_is_invalid_token() {
    let ec = OwnKey::generate(SigningAlgorithm::Es256);
    let rsa = OwnKey::generate(SigningAlgorithm::Rs256);
    let jwks = JwksServer::start("200 OK", "max-age=300", &key_set(&[&ec, &rsa])).await;
    let verifier = jwks.verifier(|_| {});
    let mismatch = "the access token's algorithm is not the one its key is for";

    // Signed RS256 by a key the set does not hold, naming the EC key.
    let other_rsa = OwnKey::generate(SigningAlgorithm::Rs256);
    let token = other_rsa.sign_with(|h| h.kid = Some(ec.kid.clone()), &claims());
    assert_invalid_token(&verifier.verify(&token).await.unwrap_err(), mismatch);

    // Signed by the RSA key with PS256, which its JWK does not allow (`alg: RS256`).
    let token = rsa.sign_with(|h| h.alg = Algorithm::PS256, &claims());
    assert_invalid_token(&verifier.verify(&token).await.unwrap_err(), mismatch);

    // The right pairs pass.
    verifier.verify(&ec.sign(&claims())).await.unwrap();
    verifier.verify(&rsa.sign(&claims())).await.unwrap();
}

#[tokio::test]
async fn a_jku_or_jwk_header_is_never_followed() {
    let trusted = OwnKey::generate(SigningAlgorithm::Rs256);
    let jwks = JwksServer::start("200 OK", "max-age=300", &key_set(&[&trusted])).await;
    let attacker = OwnKey::generate(SigningAlgorithm::Rs256);
    let evil = JwksServer::start("200 OK", "max-age=300", &key_set(&[&attacker])).await;
    let verifier = jwks.verifier(|_| {});

    let token = attacker.sign_with(
        |h| {
            h.jku = Some(evil.url.clone());
            h.jwk = Some(serde_json::from_value(attacker.jwk.clone()).unwrap());
        },
        &claims(),
    );
    assert_invalid_token(&verifier.verify(&token).await.unwrap_err(), UNKNOWN_KEY);
    assert_eq!(evil.fetches(), 0);
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn a_token_without_a_kid_is_invalid_token() {
    let key = OwnKey::generate(SigningAlgorithm::Rs256);
    let jwks = JwksServer::start("200 OK", "max-age=300", &key_set(&[&key])).await;
    let token = key.sign_with(|h| h.kid = None, &claims());
    let r = jwks.verifier(|_| {}).verify(&token).await.unwrap_err();
    assert_invalid_token(&r, "the access token's header names no key (kid)");
    assert_eq!(
        jwks.fetches(),
        0,
        "nothing is fetched for a token that cannot match"
    );
}

#[tokio::test]
async fn a_plain_http_jwks_uri_off_loopback_is_refused() {
    let mut s = Settings::new("http://auth.example.com", AUDIENCE);
    let e = Verifier::new(s.clone()).unwrap_err();
    assert!(e.to_string().contains("must be https"), "{e}");
    s.jwks_uri = Some("http://auth.example.com/jwks.json".into());
    assert!(Verifier::new(s).is_err());
}
