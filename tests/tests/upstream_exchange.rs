//! The two calls this server makes to an upstream OpenID Provider at the
//! callback, below HTTP: the code exchange at its token endpoint (Core
//! §3.1.3.1-§3.1.3.4; RFC 6749 §4.1.3, §5.1, §5.2, §2.3.1; RFC 7636 §4.5) and
//! the UserInfo read (Core §5.3.1, §5.3.2), against the scripted provider
//! (`tests/src/scripted_provider.rs`), which checks client authentication and
//! PKCE and records what it got, and against a loopback responder for the
//! answers no provider should give; then both calls against two real
//! providers, `oidc-provider` from npm (`bash tests/run` installs it) and a
//! second Gatehouse. Negative tests first.

use gatehouse_core::domain::outbound_address::AddressPolicy;
use gatehouse_core::domain::provider::UpstreamAuthMethod;
use gatehouse_core::federation::code_exchange::{
    CodeExchange, ExchangeError, MAX_TOKEN_ANSWER_BYTES, UpstreamTokens, exchange,
};
use gatehouse_core::federation::userinfo_fetch::{UserinfoFetchError, fetch};
use gatehouse_core::federation::userinfo_subject::UserinfoSubjectError;
use gatehouse_core::outbound_http::{OutboundError, OutboundHttp};
use gatehouse_core::secret::{Secret, random_token};
use gatehouse_tests::flow::{CONFIDENTIAL_REDIRECT, UserAgent};
use gatehouse_tests::loopback::{LoopbackRequest, read_request, respond};
use gatehouse_tests::scripted_provider::{Fault, ScriptedProvider};
use gatehouse_tests::upstream::{Answer, GatehouseUpstream, NodeOidcProvider};
use gatehouse_tests::{http, serde_json};
use std::sync::{Arc, Mutex};

/// The redirect URI this server would have sent in its authorization request.
const REDIRECT: &str = "http://127.0.0.1:9/federation/scripted/callback";

fn outbound() -> OutboundHttp {
    OutboundHttp::new(AddressPolicy::Local).expect("the client is built")
}

/// A code of `provider` for `verifier`'s S256 challenge: its authorization
/// endpoint redirects at once with one.
async fn code_for(provider: &ScriptedProvider, verifier: &Secret) -> String {
    let mut url = url::Url::parse(&provider.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &provider.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "s-1")
        .append_pair("nonce", "n-1")
        // S256: base64url of the SHA-256 of the verifier (RFC 7636 §4.2).
        .append_pair("code_challenge", verifier.hash().as_str())
        .append_pair("code_challenge_method", "S256");
    let answer = http().get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap();
    let location = url::Url::parse(location).unwrap();
    location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code")
}

struct Call {
    token_endpoint: String,
    auth_method: UpstreamAuthMethod,
    client_id: String,
    client_secret: Secret,
    code: String,
    verifier: Secret,
    redirect_uri: &'static str,
}

impl Call {
    fn to(provider: &ScriptedProvider, auth_method: UpstreamAuthMethod, code: String) -> Self {
        Self {
            token_endpoint: provider.url("/token"),
            auth_method,
            client_id: provider.client_id.clone(),
            client_secret: Secret::new(provider.client_secret.clone()),
            code,
            verifier: Secret::new("unused"),
            redirect_uri: REDIRECT,
        }
    }

    async fn run(&self, http: &OutboundHttp) -> Result<UpstreamTokens, ExchangeError> {
        exchange(
            http,
            &CodeExchange {
                token_endpoint: &self.token_endpoint,
                auth_method: self.auth_method,
                client_id: &self.client_id,
                client_secret: &self.client_secret,
                code: &self.code,
                redirect_uri: self.redirect_uri,
                code_verifier: &self.verifier,
            },
        )
        .await
    }
}

/// A fresh code of `provider` and the call that trades it with its verifier.
async fn good_call(provider: &ScriptedProvider, auth_method: UpstreamAuthMethod) -> Call {
    let verifier = random_token();
    let code = code_for(provider, &verifier).await;
    Call {
        verifier,
        ..Call::to(provider, auth_method, code)
    }
}

/// Asserts that `shown` holds none of the call's secrets.
fn assert_no_secret(shown: &str, call: &Call) {
    for secret in [
        &call.code,
        call.verifier.expose(),
        call.client_secret.expose(),
    ] {
        assert!(!shown.contains(secret), "{shown}");
    }
    assert!(!shown.contains("/token"), "no path: {shown}");
}

/// A loopback endpoint giving `answer` (a whole HTTP/1.1 message) to every
/// request, and what it got.
async fn answering(answer: String) -> (String, Arc<Mutex<Vec<LoopbackRequest>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/token", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            if let Some(request) = read_request(&mut stream).await {
                record.lock().unwrap().push(request);
            }
            respond(stream, &answer).await;
        }
    });
    (uri, seen)
}

fn raw(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The call `Call::to` would make, to a loopback endpoint.
fn call_to(uri: &str) -> Call {
    Call {
        token_endpoint: uri.to_owned(),
        auth_method: UpstreamAuthMethod::ClientSecretBasic,
        client_id: "rp".into(),
        client_secret: Secret::new("the-client-secret"),
        code: "the-code-value".into(),
        verifier: Secret::new("the-verifier-value"),
        redirect_uri: REDIRECT,
    }
}

#[tokio::test]
async fn a_wrong_verifier_is_refused_by_the_provider_and_its_error_code_surfaced() {
    let provider = ScriptedProvider::start().await;
    let good = good_call(&provider, UpstreamAuthMethod::ClientSecretBasic).await;
    let call = Call {
        verifier: random_token(),
        ..Call::to(&provider, good.auth_method, good.code.clone())
    };
    let e = call.run(&outbound()).await.expect_err("refused");
    assert!(
        matches!(&e, ExchangeError::Refused { status: 400, error: Some(c), .. } if c == "invalid_grant"),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(shown.contains("invalid_grant"), "{shown}");
    assert!(shown.contains("127.0.0.1"), "the host: {shown}");
    assert!(
        !shown.contains("verifier does not match"),
        "no description: {shown}"
    );
    assert_no_secret(&shown, &call);
    assert_no_secret(&format!("{e:?}"), &call);
    // The code was spent by the refused attempt: the right verifier is too late.
    let again = good.run(&outbound()).await.expect_err("the code is used");
    assert!(matches!(again, ExchangeError::Refused { error: Some(c), .. } if c == "invalid_grant"));
}

#[tokio::test]
async fn a_wrong_client_secret_is_invalid_client_with_either_method() {
    let provider = ScriptedProvider::start().await;
    for method in [
        UpstreamAuthMethod::ClientSecretBasic,
        UpstreamAuthMethod::ClientSecretPost,
    ] {
        let call = Call {
            client_secret: Secret::new("not-the-secret"),
            ..good_call(&provider, method).await
        };
        let e = call.run(&outbound()).await.expect_err("refused");
        assert!(
            matches!(&e, ExchangeError::Refused { status: 401, error: Some(c), .. } if c == "invalid_client"),
            "{method:?}: {e:?}"
        );
        assert_no_secret(&e.to_string(), &call);
    }
}

#[tokio::test]
async fn a_server_error_is_a_status_error() {
    let (uri, _) = answering(raw(
        "500 Internal Server Error",
        "application/json",
        r#"{"error":"server_error"}"#,
    ))
    .await;
    let call = call_to(&uri);
    let e = call.run(&outbound()).await.expect_err("500");
    assert!(
        matches!(e, ExchangeError::Status { status: 500, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the token endpoint of 127.0.0.1 answered HTTP 500"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (uri, _) = answering(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://169.254.169.254/token\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
            .into(),
    )
    .await;
    let e = call_to(&uri).run(&outbound()).await.expect_err("307");
    assert!(
        matches!(e, ExchangeError::Status { status: 307, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_non_json_answer_is_not_json() {
    let (uri, _) = answering(raw("200 OK", "text/html", "<html>signed in!</html>")).await;
    let call = call_to(&uri);
    let e = call.run(&outbound()).await.expect_err("HTML");
    assert!(matches!(e, ExchangeError::NotJson { .. }), "{e:?}");
    assert!(!e.to_string().contains("signed in"), "no body: {e}");
    // An HTML error page is a status error, whatever its body.
    let (uri, _) = answering(raw("400 Bad Request", "text/html", "<html>no</html>")).await;
    let e = call_to(&uri).run(&outbound()).await.expect_err("400");
    assert!(
        matches!(e, ExchangeError::Status { status: 400, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_refused() {
    let padding = "x".repeat(MAX_TOKEN_ANSWER_BYTES);
    let body = format!(r#"{{"id_token":"{padding}","token_type":"Bearer"}}"#);
    // Refused by its Content-Length, and while reading when it has none.
    let (with_length, _) = answering(raw("200 OK", "application/json", &body)).await;
    let (without_length, _) = answering(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}"
    ))
    .await;
    for uri in [with_length, without_length] {
        let e = call_to(&uri).run(&outbound()).await.expect_err("too large");
        assert!(
            matches!(
                e,
                ExchangeError::TooLarge {
                    limit: MAX_TOKEN_ANSWER_BYTES,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(!e.to_string().contains("xxx"), "{e}");
    }
}

#[tokio::test]
async fn an_answer_that_is_not_an_openid_token_answer_is_malformed() {
    for (body, reason) in [
        (
            r#"{"access_token":"at","token_type":"Bearer"}"#,
            "no id_token",
        ),
        (
            r#"{"id_token":"a.b.c","access_token":"at","token_type":"N_A"}"#,
            "token_type is not Bearer",
        ),
        (r#"["a.b.c"]"#, "not a JSON object"),
    ] {
        let (uri, _) = answering(raw("200 OK", "application/json", body)).await;
        let e = call_to(&uri).run(&outbound()).await.expect_err(body);
        assert!(
            matches!(e, ExchangeError::Malformed { .. }) && e.to_string().contains(reason),
            "{body}: {e}"
        );
        assert!(!e.to_string().contains("a.b.c"), "{e}");
    }
}

#[tokio::test]
async fn an_error_answer_with_an_odd_code_keeps_no_code() {
    for body in [
        r#"{"error":"invalid_grant\r\nSet-Cookie: x=1"}"#,
        r#"{"error":"<script>alert(1)</script>\"","error_description":"the-code-value"}"#,
        r#"{"error":17}"#,
    ] {
        let (uri, _) = answering(raw("400 Bad Request", "application/json", body)).await;
        let call = call_to(&uri);
        let e = call.run(&outbound()).await.expect_err(body);
        assert!(
            matches!(
                e,
                ExchangeError::Refused {
                    status: 400,
                    error: None,
                    ..
                }
            ),
            "{body}: {e:?}"
        );
        let shown = e.to_string();
        assert!(
            !shown.contains("script") && !shown.contains("Cookie"),
            "{shown}"
        );
        assert_no_secret(&shown, &call);
    }
}

#[tokio::test]
async fn an_internal_address_is_refused_on_aws_before_a_request() {
    let (uri, seen) = answering(raw("200 OK", "application/json", "{}")).await;
    let aws = OutboundHttp::new(AddressPolicy::PublicOnly).unwrap();
    let e = call_to(&uri).run(&aws).await.expect_err("refused");
    assert!(
        matches!(
            e,
            ExchangeError::Request {
                cause: OutboundError::Refused(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn the_request_asks_for_json_with_a_form_and_no_secret_in_the_form_with_basic() {
    let (uri, seen) = answering(raw(
        "200 OK",
        "application/json",
        r#"{"id_token":"h.p.s","access_token":"at","token_type":"bearer"}"#,
    ))
    .await;
    let call = Call {
        client_id: "my:client id".into(),
        client_secret: Secret::new("p%ss+w:rd x"),
        ..call_to(&uri)
    };
    let tokens = call.run(&outbound()).await.expect("tokens");
    assert_eq!(tokens.id_token, "h.p.s");
    let seen = seen.lock().unwrap();
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(!request.body.contains("client_secret"), "{}", request.body);
    assert!(!request.body.contains("client_id"), "{}", request.body);
    use base64::Engine as _;
    let basic = request
        .header("authorization")
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .unwrap();
    assert_eq!(decoded, b"my%3Aclient+id:p%25ss%2Bw%3Ard+x");
}

#[tokio::test]
async fn a_good_exchange_with_client_secret_basic() {
    let provider = ScriptedProvider::start().await;
    let call = good_call(&provider, UpstreamAuthMethod::ClientSecretBasic).await;
    let tokens = call.run(&outbound()).await.expect("tokens");
    assert_eq!(tokens.id_token.split('.').count(), 3, "a signed JWT");
    assert!(tokens.access_token.is_some());
    let recorded = provider.token_requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(
        r.basic,
        Some((provider.client_id.clone(), provider.client_secret.clone()))
    );
    assert!(!r.form.contains_key("client_secret"), "{:?}", r.form.keys());
    assert!(!r.form.contains_key("client_id"), "{:?}", r.form.keys());
    assert_eq!(r.form["grant_type"], "authorization_code");
    assert_eq!(r.form["code"], call.code);
    assert_eq!(r.form["redirect_uri"], REDIRECT);
    assert_eq!(r.form["code_verifier"], call.verifier.expose());
    assert!(!format!("{tokens:?}").contains(&tokens.id_token));
}

#[tokio::test]
async fn a_good_exchange_with_client_secret_post() {
    let provider = ScriptedProvider::start().await;
    let call = good_call(&provider, UpstreamAuthMethod::ClientSecretPost).await;
    let tokens = call.run(&outbound()).await.expect("tokens");
    assert!(tokens.access_token.is_some());
    let r = &provider.token_requests()[0];
    assert_eq!(r.basic, None);
    assert_eq!(r.form["client_id"], provider.client_id);
    assert_eq!(r.form["client_secret"], provider.client_secret);
    assert_eq!(r.form["code_verifier"], call.verifier.expose());
    assert_eq!(r.form["grant_type"], "authorization_code");
    assert_eq!(r.form["redirect_uri"], REDIRECT);
}

/// A provider and the access token of a good exchange.
async fn signed_in() -> (ScriptedProvider, Secret) {
    let provider = ScriptedProvider::start().await;
    let call = good_call(&provider, UpstreamAuthMethod::ClientSecretBasic).await;
    let tokens = call.run(&outbound()).await.expect("tokens");
    (provider, tokens.access_token.expect("an access token"))
}

#[tokio::test]
async fn userinfo_of_another_subject_is_refused() {
    let (provider, access_token) = signed_in().await;
    provider.set_fault(Fault::UserinfoSubject("someone-else".into()));
    let e = fetch(
        &outbound(),
        &provider.url("/userinfo"),
        &access_token,
        &provider.subject,
    )
    .await
    .expect_err("another sub");
    assert!(
        matches!(
            e,
            UserinfoFetchError::Subject {
                error: UserinfoSubjectError::Mismatch,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains(access_token.expose()));
}

#[tokio::test]
async fn userinfo_refuses_a_token_it_does_not_know_with_401() {
    let (provider, _) = signed_in().await;
    let e = fetch(
        &outbound(),
        &provider.url("/userinfo"),
        &Secret::new("not-a-token-it-issued"),
        &provider.subject,
    )
    .await
    .expect_err("401");
    assert!(
        matches!(e, UserinfoFetchError::Status { status: 401, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "the UserInfo endpoint of 127.0.0.1 answered HTTP 401"
    );
}

#[tokio::test]
async fn a_signed_userinfo_answer_is_refused() {
    let (provider, access_token) = signed_in().await;
    provider.set_fault(Fault::UserinfoJwt);
    let e = fetch(
        &outbound(),
        &provider.url("/userinfo"),
        &access_token,
        &provider.subject,
    )
    .await
    .expect_err("application/jwt");
    assert!(matches!(e, UserinfoFetchError::Signed { .. }), "{e:?}");
    assert!(e.to_string().contains("application/jwt"), "{e}");
}

#[tokio::test]
async fn userinfo_that_is_not_json_or_too_large_is_refused() {
    let (html, _) = answering(raw("200 OK", "text/html", "<html></html>")).await;
    let big = format!(r#"{{"sub":"s","pad":"{}"}}"#, "x".repeat(64 * 1024));
    let (large, _) = answering(raw("200 OK", "application/json", &big)).await;
    let token = Secret::new("at");
    let e = fetch(&outbound(), &html, &token, "s")
        .await
        .expect_err("HTML");
    assert!(matches!(e, UserinfoFetchError::NotJson { .. }), "{e:?}");
    let e = fetch(&outbound(), &large, &token, "s")
        .await
        .expect_err("large");
    assert!(matches!(e, UserinfoFetchError::TooLarge { .. }), "{e:?}");
    let aws = OutboundHttp::new(AddressPolicy::PublicOnly).unwrap();
    let e = fetch(&aws, &html, &token, "s").await.expect_err("refused");
    assert!(
        matches!(
            e,
            UserinfoFetchError::Request {
                cause: OutboundError::Refused(_),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn userinfo_of_the_id_tokens_subject_gives_its_claims() {
    let (provider, access_token) = signed_in().await;
    let claims = fetch(
        &outbound(),
        &provider.url("/userinfo"),
        &access_token,
        &provider.subject,
    )
    .await
    .expect("the claims");
    assert_eq!(claims["sub"], serde_json::json!(provider.subject));
    assert_eq!(claims["email"], serde_json::json!("alice@upstream.example"));
    // The access token went as a Bearer token in the header (RFC 6750 §2.1).
    let bearer = format!("Bearer {}", access_token.expose());
    assert_eq!(provider.userinfo_requests(), vec![Some(bearer)]);
}

/// The authorization URL of a code request at a discovered `issuer`, with PKCE
/// (S256) for `verifier`; and the discovery document.
async fn authorization_url(
    issuer: &str,
    client_id: &str,
    verifier: &Secret,
) -> (String, serde_json::Value) {
    let metadata: serde_json::Value = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut url = url::Url::parse(metadata["authorization_endpoint"].as_str().unwrap()).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", CONFIDENTIAL_REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", &random_token().expose()[..16])
        .append_pair("nonce", &random_token().expose()[..16])
        .append_pair("code_challenge", verifier.hash().as_str())
        .append_pair("code_challenge_method", "S256");
    (url.to_string(), metadata)
}

/// The `sub` of an ID token's payload (read, not validated: that is
/// `upstream_id_token`'s).
fn subject_of(id_token: &str) -> String {
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

/// Trades `code` at the real provider described by `metadata`, then reads its
/// UserInfo for the ID token's subject, and for another one.
async fn exchange_and_read_userinfo(
    metadata: &serde_json::Value,
    auth_method: UpstreamAuthMethod,
    client_id: &str,
    client_secret: &str,
    code: String,
    verifier: Secret,
) -> String {
    let http = outbound();
    let call = Call {
        token_endpoint: metadata["token_endpoint"].as_str().unwrap().to_owned(),
        auth_method,
        client_id: client_id.to_owned(),
        client_secret: Secret::new(client_secret),
        code,
        verifier,
        redirect_uri: CONFIDENTIAL_REDIRECT,
    };
    let tokens = call.run(&http).await.expect("the provider's tokens");
    let sub = subject_of(&tokens.id_token);
    let access_token = tokens.access_token.expect("an access token");
    let userinfo = metadata["userinfo_endpoint"].as_str().unwrap();
    let claims = fetch(&http, userinfo, &access_token, &sub)
        .await
        .expect("the UserInfo claims");
    assert_eq!(claims["sub"], serde_json::json!(sub));
    let other = fetch(&http, userinfo, &access_token, "someone-else").await;
    assert!(
        matches!(
            other,
            Err(UserinfoFetchError::Subject {
                error: UserinfoSubjectError::Mismatch,
                ..
            })
        ),
        "{other:?}"
    );
    // The code is single use at a real provider too.
    let again = call.run(&http).await.expect_err("a used code");
    assert!(
        matches!(&again, ExchangeError::Refused { error: Some(c), .. } if c == "invalid_grant"),
        "{again:?}"
    );
    sub
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_oidc_provider_exchange_with_post_and_userinfo() {
    let (mut config, client) = NodeOidcProvider::config(CONFIDENTIAL_REDIRECT);
    config["clients"][0]["token_endpoint_auth_method"] = "client_secret_post".into();
    let provider = NodeOidcProvider::start(config).await;
    let verifier = random_token();
    let (url, metadata) = authorization_url(&provider.issuer, &client.id, &verifier).await;
    let signed_in = provider.sign_in(&mut UserAgent::new(), &url, "alice").await;
    let code = signed_in.param("code").expect("a code");
    let sub = exchange_and_read_userinfo(
        &metadata,
        UpstreamAuthMethod::ClientSecretPost,
        &client.id,
        &client.secret,
        code,
        verifier,
    )
    .await;
    assert_eq!(sub, "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatehouse_upstream_exchange_with_basic_and_userinfo() {
    let upstream = GatehouseUpstream::start(CONFIDENTIAL_REDIRECT).await;
    let verifier = random_token();
    let (url, metadata) =
        authorization_url(upstream.issuer(), &upstream.client.id, &verifier).await;
    let signed_in = upstream
        .sign_in(&mut UserAgent::new(), &url, Answer::Approve)
        .await;
    let code = signed_in.param("code").expect("a code");
    exchange_and_read_userinfo(
        &metadata,
        UpstreamAuthMethod::ClientSecretBasic,
        &upstream.client.id,
        &upstream.client.secret,
        code,
        verifier,
    )
    .await;
}
