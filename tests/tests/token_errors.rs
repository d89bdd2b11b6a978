//! Error responses of the token endpoint (RFC 6749 §5.2) over HTTP: client
//! authentication (§2.3), grant types, scopes (§3.3), strict form bodies (§3.1,
//! Appendix B), and what a success must carry (§4.4.3, §5.1).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::domain::client::{ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::domain::token_endpoint_auth_method::TokenEndpointAuthMethod::ClientSecretPost;
use gatehouse_tests::reqwest::header;
use gatehouse_tests::serde_json::json;
use gatehouse_tests::{Answer, TestClient, TestServer, assert_error, http, read};

/// The challenge every 401 carries (RFC 9110 §15.5.2, RFC 6749 §5.2).
const CHALLENGE: &str = "Basic realm=\"gatehouse\", charset=\"UTF-8\"";

/// Asserts the `WWW-Authenticate: Basic ...` challenge, exactly once.
fn assert_basic_challenge(answer: &Answer) {
    let all: Vec<_> = answer.1.get_all(header::WWW_AUTHENTICATE).iter().collect();
    assert_eq!(all.len(), 1, "WWW-Authenticate; body {}", answer.2);
    assert_eq!(all[0].to_str().unwrap(), CHALLENGE);
}

fn secret(c: &TestClient) -> &str {
    c.secret.as_deref().unwrap()
}

/// POSTs `body` to `path` with a chosen content type (none when `None`) and the
/// given raw `Authorization` header values, one header each.
async fn raw_post(
    server: &TestServer,
    path: &str,
    content_type: Option<&str>,
    authorization: &[&[u8]],
    body: Vec<u8>,
) -> Answer {
    let mut req = http().post(server.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    for value in authorization {
        req = req.header(
            header::AUTHORIZATION,
            header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    read(req.send().await.expect("request is answered")).await
}

const FORM: &str = "application/x-www-form-urlencoded";

fn basic(id: &str, secret: &str) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))).into_bytes()
}

/// Posts each raw body with the client's credentials; each must be `invalid_request`.
async fn assert_each_is_invalid_request(
    server: &TestServer,
    client: &TestClient,
    bodies: &[&[u8]],
) {
    for body in bodies {
        let answer = form_with_basic(server, client, body).await;
        assert_eq!(
            answer.0,
            400,
            "{}: {}",
            String::from_utf8_lossy(body),
            answer.2
        );
        assert_error(&answer, 400, "invalid_request");
    }
}

/// A client credentials request body sent with `content_type` (none when `None`).
async fn cc_with_content_type(
    server: &TestServer,
    client: &TestClient,
    content_type: Option<&str>,
) -> Answer {
    raw_post(
        server,
        "/token",
        content_type,
        &[&basic(&client.id, secret(client))],
        b"grant_type=client_credentials".to_vec(),
    )
    .await
}

/// A raw form body with the client's Basic credentials.
async fn form_with_basic(server: &TestServer, client: &TestClient, body: &[u8]) -> Answer {
    raw_post(
        server,
        "/token",
        Some(FORM),
        &[&basic(&client.id, secret(client))],
        body.to_vec(),
    )
    .await
}

const CC: (&str, &str) = ("grant_type", "client_credentials");

/// POSTs `form` to `/token` with the client's Basic credentials.
async fn token_as(server: &TestServer, client: &TestClient, form: &[(&str, &str)]) -> Answer {
    server
        .post_form("/token", Some((&client.id, secret(client))), form)
        .await
}

// Client authentication.

#[tokio::test]
async fn wrong_secret_is_invalid_client_with_a_basic_challenge() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let answer = server
        .post_form("/token", Some((&client.id, "not-the-secret")), &[CC])
        .await;
    assert_error(&answer, 401, "invalid_client");
    assert_basic_challenge(&answer);
}

#[tokio::test]
async fn wrong_secret_via_client_secret_post_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client_using("read", ClientSecretPost).await;
    let answer = server
        .post_form(
            "/token",
            None,
            &[
                CC,
                ("client_id", &client.id),
                ("client_secret", "not-the-secret"),
            ],
        )
        .await;
    assert_error(&answer, 401, "invalid_client");

    // The same request with the right secret succeeds: client_secret_post works.
    let (status, _, body) = server
        .post_form(
            "/token",
            None,
            &[
                CC,
                ("client_id", &client.id),
                ("client_secret", secret(&client)),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unknown_client_id_is_indistinguishable_from_a_wrong_secret() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;

    let wrong_secret = server
        .post_form("/token", Some((&client.id, "not-the-secret")), &[CC])
        .await;
    let unknown = server
        .post_form("/token", Some(("no-such-client", "not-the-secret")), &[CC])
        .await;
    assert_error(&unknown, 401, "invalid_client");
    assert_eq!(unknown.2, wrong_secret.2, "bodies differ");
    assert_eq!(
        unknown.1.get(header::WWW_AUTHENTICATE),
        wrong_secret.1.get(header::WWW_AUTHENTICATE)
    );

    let post_client = server.cc_client_using("read", ClientSecretPost).await;
    let wrong_secret_post = server
        .post_form(
            "/token",
            None,
            &[CC, ("client_id", &post_client.id), ("client_secret", "x")],
        )
        .await;
    let unknown_post = server
        .post_form(
            "/token",
            None,
            &[CC, ("client_id", "no-such-client"), ("client_secret", "x")],
        )
        .await;
    assert_error(&unknown_post, 401, "invalid_client");
    assert_eq!(unknown_post.2, wrong_secret_post.2, "bodies differ");
    assert_eq!(unknown_post.2, wrong_secret.2, "bodies differ");
}

/// Every 401 of the token, introspection and revocation endpoints carries the same
/// `Basic` challenge (RFC 9110 §15.5.2), whatever method the client tried or none,
/// with the same body.
#[tokio::test]
async fn every_client_authentication_failure_is_a_401_with_the_basic_challenge() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let public = server.public_client("read").await;
    let id = client.id.as_str();
    type Case<'a> = (&'a str, Option<Vec<u8>>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "basic, wrong secret",
            Some(basic(id, "not-the-secret")),
            vec![],
        ),
        (
            "post, wrong secret",
            None,
            vec![("client_id", id), ("client_secret", "not-the-secret")],
        ),
        (
            "none for a confidential client",
            None,
            vec![("client_id", id)],
        ),
        ("no credentials", None, vec![]),
        (
            "basic, unknown client",
            Some(basic("no-such-client", "x")),
            vec![],
        ),
        (
            "post, unknown client",
            None,
            vec![("client_id", "no-such-client"), ("client_secret", "x")],
        ),
        (
            "none, unknown client",
            None,
            vec![("client_id", "no-such-client")],
        ),
        (
            "malformed Authorization header",
            Some(b"Bearer x".to_vec()),
            vec![],
        ),
    ];
    let endpoints = [
        ("/token", ("grant_type", "client_credentials")),
        ("/introspect", ("token", "anything")),
        ("/revoke", ("token", "anything")),
    ];
    let mut bodies = Vec::new();
    for (path, param) in endpoints {
        let mut cases: Vec<Case> = cases.clone();
        if path == "/introspect" {
            // Introspection is for confidential clients only (RFC 7662 §2.1).
            cases.push((
                "none for a public client",
                None,
                vec![("client_id", &public.id)],
            ));
        }
        for (what, authorization, mut form) in cases {
            form.push(param);
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&form)
                .finish()
                .into_bytes();
            let authorization: Vec<&[u8]> = authorization.as_deref().into_iter().collect();
            let answer = raw_post(&server, path, Some(FORM), &authorization, body).await;
            assert_eq!(answer.0, 401, "{path}, {what}: {}", answer.2);
            assert_error(&answer, 401, "invalid_client");
            assert_basic_challenge(&answer);
            bodies.push(answer.2);
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every failure reads the same: {bodies:?}"
    );
}

#[tokio::test]
async fn basic_header_and_client_secret_in_the_body_together_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let answer = token_as(
        &server,
        &client,
        &[
            CC,
            ("client_id", &client.id),
            ("client_secret", secret(&client)),
        ],
    )
    .await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn basic_header_and_a_different_client_id_in_the_body_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let other = server.cc_client("read").await;
    let answer = token_as(&server, &client, &[CC, ("client_id", &other.id)]).await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn basic_header_with_the_same_client_id_in_the_body_is_accepted() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let (status, _, body) = token_as(&server, &client, &[CC, ("client_id", &client.id)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_request_without_client_authentication_is_invalid_client() {
    let server = TestServer::start().await;
    server.cc_client("read").await;
    let answer = server.post_form("/token", None, &[CC]).await;
    assert_error(&answer, 401, "invalid_client");
}

#[tokio::test]
async fn client_secret_without_client_id_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let answer = server
        .post_form("/token", None, &[CC, ("client_secret", secret(&client))])
        .await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn a_public_client_asking_for_client_credentials_is_unauthorized_client() {
    let server = TestServer::start().await;
    let public = server.public_client("read").await;
    let answer = server
        .post_form("/token", None, &[CC, ("client_id", &public.id)])
        .await;
    assert_error(&answer, 400, "unauthorized_client");
}

#[tokio::test]
async fn a_confidential_client_sending_only_its_client_id_is_invalid_client() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let answer = server
        .post_form("/token", None, &[CC, ("client_id", &client.id)])
        .await;
    assert_error(&answer, 401, "invalid_client");
    assert_basic_challenge(&answer);
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_client_with_a_basic_challenge() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let non_utf8 = {
        let mut raw = format!("{}:", client.id).into_bytes();
        raw.extend_from_slice(&[0xff, 0xfe]);
        format!("Basic {}", STANDARD.encode(raw)).into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("bearer scheme", b"Bearer xyz".to_vec()),
        ("basic without credentials", b"Basic".to_vec()),
        ("invalid base64", b"Basic !!!not-base64!!!".to_vec()),
        (
            "no colon",
            format!("Basic {}", STANDARD.encode(&client.id)).into_bytes(),
        ),
        ("base64 of non-UTF-8 bytes", non_utf8),
        ("raw non-UTF-8 header bytes", b"Basic \xff\xfe".to_vec()),
        ("empty secret", basic(&client.id, "")),
        ("empty client id", basic("", secret(&client))),
    ];
    for (what, value) in cases {
        let answer = raw_post(
            &server,
            "/token",
            Some(FORM),
            &[&value],
            b"grant_type=client_credentials".to_vec(),
        )
        .await;
        assert_eq!(answer.0, 401, "{what}: {}", answer.2);
        assert_error(&answer, 401, "invalid_client");
        assert_basic_challenge(&answer);
    }
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let credentials = basic(&client.id, secret(&client));
    let answer = raw_post(
        &server,
        "/token",
        Some(FORM),
        &[&credentials, &credentials],
        b"grant_type=client_credentials".to_vec(),
    )
    .await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn form_encoded_basic_credentials_are_decoded() {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64; a plain
    // secret of this server has no reserved characters, so encoding it is a no-op,
    // and `+`/`%XX` in the id decode to the registered id.
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let encoded_id: String = client.id.bytes().map(|b| format!("%{b:02X}")).collect();
    let answer = raw_post(
        &server,
        "/token",
        Some(FORM),
        &[&basic(&encoded_id, secret(&client))],
        b"grant_type=client_credentials".to_vec(),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
}

#[tokio::test]
async fn the_basic_scheme_name_is_case_insensitive() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let encoded = STANDARD.encode(format!("{}:{}", client.id, secret(&client)));
    for scheme in ["basic", "BASIC"] {
        let answer = raw_post(
            &server,
            "/token",
            Some(FORM),
            &[format!("{scheme} {encoded}").as_bytes()],
            b"grant_type=client_credentials".to_vec(),
        )
        .await;
        assert_eq!(answer.0, 200, "{scheme}: {}", answer.2);
    }
}

// Grant types.

#[tokio::test]
async fn a_missing_grant_type_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let answer = token_as(&server, &client, &[("scope", "read")]).await;
    assert_error(&answer, 400, "invalid_request");

    // An empty value counts as omitted (RFC 6749 §3.1).
    let answer = token_as(&server, &client, &[("grant_type", "")]).await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn password_implicit_and_jwt_bearer_grants_are_unsupported_grant_type() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for grant in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "CLIENT_CREDENTIALS",
    ] {
        let answer = token_as(&server, &client, &[("grant_type", grant)]).await;
        assert_eq!(answer.0, 400, "{grant}: {}", answer.2);
        assert_error(&answer, 400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn authorization_code_and_refresh_token_for_a_client_not_registered_for_them_are_unauthorized_client()
 {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for grant in ["authorization_code", "refresh_token"] {
        let answer = token_as(
            &server,
            &client,
            &[
                ("grant_type", grant),
                ("code", "some-code"),
                ("refresh_token", "some-refresh-token"),
                ("redirect_uri", "http://127.0.0.1/cb"),
            ],
        )
        .await;
        assert_eq!(answer.0, 400, "{grant}: {}", answer.2);
        assert_error(&answer, 400, "unauthorized_client");
    }
}

// Scopes.

#[tokio::test]
async fn a_scope_outside_the_clients_allowed_set_is_invalid_scope() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for scope in ["admin", "read admin", "write", "read write"] {
        let answer = token_as(&server, &client, &[CC, ("scope", scope)]).await;
        assert_eq!(answer.0, 400, "{scope}: {}", answer.2);
        assert_error(&answer, 400, "invalid_scope");
    }
}

#[tokio::test]
async fn a_malformed_scope_is_invalid_scope() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    for scope in [
        "read  write",
        "re\"ad",
        " read",
        "read ",
        "read\twrite",
        "ré",
    ] {
        let answer = token_as(&server, &client, &[CC, ("scope", scope)]).await;
        assert_eq!(answer.0, 400, "{scope:?}: {}", answer.2);
        assert_error(&answer, 400, "invalid_scope");
    }
}

#[tokio::test]
async fn a_narrower_scope_is_granted_as_requested() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let (status, _, body) = token_as(&server, &client, &[CC, ("scope", "read")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn without_a_scope_the_client_gets_all_its_allowed_scopes() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    for form in [&[CC][..], &[CC, ("scope", "")][..]] {
        let (status, _, body) = token_as(&server, &client, form).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scope"], "read write");
    }
}

#[tokio::test]
async fn without_a_scope_a_client_with_a_default_scope_gets_its_default() {
    let server = TestServer::start().await;
    let registered = server
        .register(ClientRegistration {
            name: "Defaulted".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            allowed_scope: Scope::parse("read write").unwrap(),
            default_scope: Some(Scope::parse("read").unwrap()),
            access_token_ttl: None,
            introspect_any: false,
            skip_consent: false,
            token_endpoint_auth_method: None,
            require_pkce: false,
            backchannel_logout_uri: None,
        })
        .await;
    let secret = registered.secret.unwrap();
    let (status, _, body) = server
        .post_form(
            "/token",
            Some((&registered.client.client_id, secret.expose())),
            &[CC],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read");
}

// Form bodies.

#[tokio::test]
async fn repeated_parameters_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    for form in [
        &[CC, CC][..],
        &[CC, ("scope", "read"), ("scope", "write")][..],
        &[CC, ("scope", "read"), ("scope", "read")][..],
        &[CC, ("grant_type", "password")][..],
    ] {
        let answer = token_as(&server, &client, form).await;
        assert_eq!(answer.0, 400, "{form:?}: {}", answer.2);
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test]
async fn a_json_body_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let body = json!({ "grant_type": "client_credentials" }).to_string();
    let answer = raw_post(
        &server,
        "/token",
        Some("application/json"),
        &[&basic(&client.id, secret(&client))],
        body.into_bytes(),
    )
    .await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn a_form_body_without_a_content_type_is_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let answer = cc_with_content_type(&server, &client, None).await;
    assert_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn other_content_types_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "application/x-www-form-urlencodedx",
    ] {
        let answer = cc_with_content_type(&server, &client, Some(content_type)).await;
        assert_eq!(answer.0, 400, "{content_type}: {}", answer.2);
        assert_error(&answer, 400, "invalid_request");
    }
}

#[tokio::test]
async fn a_form_content_type_with_a_utf8_charset_is_accepted() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for content_type in [
        "application/x-www-form-urlencoded;charset=utf-8",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded; charset=\"utf-8\"",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let answer = cc_with_content_type(&server, &client, Some(content_type)).await;
        assert_eq!(answer.0, 200, "{content_type}: {}", answer.2);
    }
}

#[tokio::test]
async fn a_body_over_16_kib_is_413_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let padding = "a".repeat(20_000);
    let answer = token_as(&server, &client, &[CC, ("padding", &padding)]).await;
    assert_error(&answer, 413, "invalid_request");
}

#[tokio::test]
async fn a_body_of_exactly_16_kib_is_read_and_one_byte_more_is_413() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let mut body = b"grant_type=client_credentials&padding=".to_vec();
    body.resize(16 * 1024, b'a');
    let answer = form_with_basic(&server, &client, &body).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    body.push(b'a');
    let answer = form_with_basic(&server, &client, &body).await;
    assert_error(&answer, 413, "invalid_request");
}

#[tokio::test]
async fn a_body_over_10_mib_is_413() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let mut body = b"grant_type=client_credentials&padding=".to_vec();
    body.resize(10 * 1024 * 1024 + 1024, b'a');
    let answer = raw_post(
        &server,
        "/token",
        Some(FORM),
        &[&basic(&client.id, secret(&client))],
        body,
    )
    .await;
    assert_error(&answer, 413, "invalid_request");
}

#[tokio::test]
async fn non_utf8_bytes_in_the_body_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let bodies: [&[u8]; 4] = [
        b"grant_type=client_credentials&scope=re\xffad",
        b"grant_type=client_credentials&scope=re%FFad",
        b"grant_type=client_credentials&\xff=x",
        b"grant_type=client_credentials&scope=%C3",
    ];
    assert_each_is_invalid_request(&server, &client, &bodies).await;
}

#[tokio::test]
async fn malformed_percent_escapes_are_invalid_request() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let bodies: [&[u8]; 5] = [
        b"grant_type=client_credentials&scope=%zz",
        b"grant_type=client_credentials&scope=read%",
        b"grant_type=client_credentials&scope=read%2",
        b"grant_type=client_%zzcredentials",
        b"grant_type=client_credentials&sc%ope=read",
    ];
    assert_each_is_invalid_request(&server, &client, &bodies).await;
}

#[tokio::test]
async fn percent_encoded_and_plus_encoded_values_are_decoded() {
    let server = TestServer::start().await;
    let client = server.cc_client("read write").await;
    let answer = form_with_basic(
        &server,
        &client,
        b"grant_type=client%5Fcredentials&scope=read+w%72ite",
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    assert_eq!(answer.2["scope"], "read write");
}

// Method, path, success.

#[tokio::test]
async fn get_token_is_405_with_allow_post() {
    let server = TestServer::start().await;
    let answer = read(
        http()
            .get(server.url("/token?grant_type=client_credentials"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&answer, 405, "invalid_request");
    assert_eq!(
        answer.1.get(header::ALLOW).and_then(|v| v.to_str().ok()),
        Some("POST")
    );
}

#[tokio::test]
async fn other_methods_on_token_are_405() {
    let server = TestServer::start().await;
    for method in [
        gatehouse_tests::reqwest::Method::PUT,
        gatehouse_tests::reqwest::Method::DELETE,
        gatehouse_tests::reqwest::Method::PATCH,
    ] {
        let answer = read(
            http()
                .request(method.clone(), server.url("/token"))
                .header(header::CONTENT_TYPE, FORM)
                .body("grant_type=client_credentials")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.0, 405, "{method}");
        assert_error(&answer, 405, "invalid_request");
    }
}

#[tokio::test]
async fn a_successful_response_is_an_uncacheable_bearer_token_without_refresh_token() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let (status, headers, body) = token_as(&server, &client, &[CC]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert_eq!(
        headers.get(header::PRAGMA).and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{headers:?}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
}

#[tokio::test]
async fn error_responses_are_never_5xx() {
    // A grab bag of hostile requests: none may make the server fail.
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    let bodies: [&[u8]; 8] = [
        b"",
        b"&&&",
        b"=",
        b"==&=x&x==",
        b"grant_type",
        b"grant_type=client_credentials&scope",
        b"\x00\x01\x02",
        b"grant_type=client_credentials&%00=%00",
    ];
    for body in bodies {
        let answer = form_with_basic(&server, &client, body).await;
        assert!(
            answer.0 < 500,
            "{}: {} {}",
            String::from_utf8_lossy(body),
            answer.0,
            answer.2
        );
        assert!(
            answer.2["error"].is_string() || answer.0 == 200,
            "{}",
            answer.2
        );
    }
}

#[tokio::test]
async fn an_unknown_path_is_404() {
    let server = TestServer::start().await;
    let client = server.cc_client("read").await;
    for path in ["/tokens", "/token/", "/TOKEN", "/"] {
        let (status, _, body) = server
            .post_form(path, Some((&client.id, secret(&client))), &[CC])
            .await;
        assert_eq!(status, 404, "{path}: {body}");
    }
}
