//! Helpers for the browser flow without a browser: a user agent that keeps
//! cookies and reads the hidden fields of the login and consent forms, users and
//! authorization-code clients, PKCE pairs, and the whole authorize round trip.

use crate::{TestClient, TestServer};
use gatehouse_core::domain::client::{ClientRegistration, ClientType, GrantType};
use gatehouse_core::domain::scope::Scope;
use gatehouse_core::registration;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

pub const PASSWORD: &str = "correct horse battery";
pub const CONFIDENTIAL_REDIRECT: &str = "https://app.example/callback";
pub const PUBLIC_REDIRECT: &str = "http://127.0.0.1/callback";

/// A response as a browser would see it: status, headers, text.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> Option<url::Url> {
        self.header(LOCATION.as_str())
            .map(|l| url::Url::parse(l).expect("Location is absolute"))
    }

    /// The value of the hidden (or any) input named `name`, HTML-unescaped.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\"");
        let at = self.body.find(&marker)?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let v = tag.find("value=\"")? + 7;
        let end = v + tag[v..].find('"')?;
        Some(unescape(&tag[v..end]))
    }

    pub fn is_login(&self) -> bool {
        self.body.contains("name=\"password\"")
    }

    pub fn is_consent(&self) -> bool {
        self.body.contains("value=\"approve\"")
    }
}

/// Undoes HTML escaping of an attribute value (`&amp;`, `&#38;`, `&#x26;`, ...).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A cookie-keeping HTTP client that never follows redirects.
#[derive(Default)]
pub struct UserAgent {
    pub cookies: BTreeMap<String, String>,
}

impl UserAgent {
    pub fn new() -> Self {
        Self::default()
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, resp: reqwest::Response) -> Page {
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        Page {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let mut req = crate::http().get(url);
        if !self.cookies.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        let resp = req.send().await.expect("request is answered");
        self.read(resp).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let mut req = crate::http().post(url).form(form);
        if !self.cookies.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        let resp = req.send().await.expect("request is answered");
        self.read(resp).await
    }

    /// Submits the login form of `page`.
    pub async fn login(&mut self, server: &TestServer, page: &Page, user: &str, pw: &str) -> Page {
        let request = page.field("request").expect("login form has the request");
        let csrf = page
            .field("csrf_token")
            .expect("login form has a CSRF token");
        self.post(
            &server.url("/authorize"),
            &[
                ("request", &request),
                ("csrf_token", &csrf),
                ("action", "login"),
                ("username", user),
                ("password", pw),
            ],
        )
        .await
    }

    /// Submits the consent form of `page` with `action` (`approve` or `deny`).
    pub async fn consent(&mut self, server: &TestServer, page: &Page, action: &str) -> Page {
        let request = page.field("request").expect("consent form has the request");
        let csrf = page
            .field("csrf_token")
            .expect("consent form has a CSRF token");
        self.post(
            &server.url("/authorize"),
            &[
                ("request", &request),
                ("csrf_token", &csrf),
                ("action", action),
            ],
        )
        .await
    }

    /// Runs `GET /authorize?query`, signs in as `user` if asked, approves if asked,
    /// and returns the final redirect.
    pub async fn authorize(&mut self, server: &TestServer, query: &str, user: &str) -> Page {
        let mut page = self.get(&server.url(&format!("/authorize?{query}"))).await;
        if page.is_login() {
            page = self.login(server, &page, user, PASSWORD).await;
        }
        if page.is_consent() {
            page = self.consent(server, &page, "approve").await;
        }
        assert!(
            matches!(page.status, 302 | 303),
            "expected a redirect, got {} {}",
            page.status,
            page.body
        );
        page
    }
}

/// The value of query parameter `name` in `url`.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A PKCE verifier and its S256 challenge, `BASE64URL(SHA256(verifier))`
/// (RFC 7636 §4.2), which is exactly how the store's `SecretHash` is written.
pub fn pkce() -> (String, String) {
    let verifier = gatehouse_core::secret::random_token().expose().to_owned();
    let challenge = gatehouse_core::secret::SecretHash::of(&verifier)
        .as_str()
        .to_owned();
    (verifier, challenge)
}

impl TestServer {
    /// Creates a user with [`PASSWORD`].
    pub async fn user(&self, username: &str) -> gatehouse_core::domain::user::User {
        registration::create_user(&self.app.store, username, PASSWORD)
            .await
            .expect("user is created")
    }

    /// A client of the authorization code flow (with refresh tokens), confidential
    /// or public, allowed `scope`.
    pub async fn code_client(&self, client_type: ClientType, scope: &str) -> TestClient {
        self.code_client_with(client_type, scope, |_| {}).await
    }

    pub async fn code_client_with(
        &self,
        client_type: ClientType,
        scope: &str,
        adjust: impl FnOnce(&mut ClientRegistration),
    ) -> TestClient {
        let mut reg = ClientRegistration {
            name: "Photo App".into(),
            client_type,
            redirect_uris: vec![match client_type {
                ClientType::Confidential => CONFIDENTIAL_REDIRECT.into(),
                ClientType::Public => PUBLIC_REDIRECT.into(),
            }],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            allowed_scope: Scope::parse(scope).unwrap(),
            default_scope: None,
            access_token_ttl: None,
            introspect_any: false,
            skip_consent: false,
            token_endpoint_auth_method: None,
            require_pkce: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
        };
        adjust(&mut reg);
        let c = self.register(reg).await;
        TestClient::from(c)
    }

    /// The authorize query for `client` with PKCE `challenge` (S256) and `state`.
    pub fn authorize_query(
        &self,
        client: &TestClient,
        redirect: &str,
        scope: &str,
        challenge: &str,
    ) -> String {
        let mut u = url::Url::parse("http://x/").unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.id)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", scope)
            .append_pair("state", "st-123")
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        u.query().unwrap().to_owned()
    }

    /// A code for `client` (scope `read`) after `user` signs in and approves;
    /// with its verifier.
    pub async fn code_for(
        &self,
        client: &TestClient,
        redirect: &str,
        user: &str,
    ) -> (String, String) {
        let (verifier, challenge) = pkce();
        let mut ua = UserAgent::new();
        let page = ua
            .authorize(
                self,
                &self.authorize_query(client, redirect, "read", &challenge),
                user,
            )
            .await;
        let loc = page.location().expect("redirect has a Location");
        (
            param(&loc, "code").expect("the redirect carries a code"),
            verifier,
        )
    }

    /// POSTs to `/token` as `client` (Basic for confidential clients, `client_id`
    /// in the form for public ones).
    pub async fn token_request(&self, client: &TestClient, form: &[(&str, &str)]) -> crate::Answer {
        match &client.secret {
            Some(s) => self.post_form("/token", Some((&client.id, s)), form).await,
            None => {
                let mut f = form.to_vec();
                f.push(("client_id", &client.id));
                self.post_form("/token", None, &f).await
            }
        }
    }
}

/// The access and refresh token of a successful token response.
pub fn tokens(answer: &crate::Answer) -> (String, String) {
    let (status, _, body) = answer;
    assert_eq!(*status, 200, "{body}");
    (
        body["access_token"]
            .as_str()
            .expect("an access token")
            .into(),
        body["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .into(),
    )
}

impl TestServer {
    /// Redeems `code` as `client` with `redirect_uri` and `code_verifier`.
    pub async fn exchange_code(
        &self,
        client: &TestClient,
        code: &str,
        redirect: &str,
        verifier: &str,
    ) -> crate::Answer {
        self.token_request(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// A refresh request as `client`, with `scope` when given.
    pub async fn refresh_grant(
        &self,
        client: &TestClient,
        token: &str,
        scope: Option<&str>,
    ) -> crate::Answer {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        self.token_request(client, &form).await
    }

    /// The access and refresh tokens of a new grant of `user` (who must exist) to
    /// `client` (a code client), by the browser flow and the code exchange.
    pub async fn user_tokens(&self, client: &TestClient, user: &str) -> (String, String) {
        let redirect = if client.secret.is_some() {
            CONFIDENTIAL_REDIRECT
        } else {
            PUBLIC_REDIRECT
        };
        let (code, verifier) = self.code_for(client, redirect, user).await;
        tokens(&self.exchange_code(client, &code, redirect, &verifier).await)
    }

    /// Signs `claims` as an access token with the deployment's active key, as the
    /// token endpoint would (to test what introspection makes of odd claims).
    pub async fn sign_access_token(
        &self,
        claims: &gatehouse_core::tokens::access::AccessTokenClaims,
    ) -> String {
        let k = self.app.signing_key().await.unwrap().unwrap();
        let mut h = jsonwebtoken::Header::new(k.alg.jwt_algorithm());
        h.typ = Some("at+jwt".into());
        h.kid = Some(k.kid.clone());
        jsonwebtoken::encode(&h, claims, k.encoding_key()).unwrap()
    }

    /// Claims as the token endpoint writes them for a client-credentials token of
    /// `client_id`, valid for an hour from now.
    pub fn cc_claims(&self, client_id: &str) -> gatehouse_core::tokens::access::AccessTokenClaims {
        let t = gatehouse_core::app::now();
        gatehouse_core::tokens::access::AccessTokenClaims {
            iss: self.app.config.issuer.clone(),
            sub: client_id.into(),
            aud: self.app.config.audience.clone(),
            exp: t + 3600,
            iat: t,
            jti: gatehouse_core::secret::random_id(),
            client_id: client_id.into(),
            scope: "read".into(),
            grant_id: None,
        }
    }

    /// A resource server: a confidential client that may introspect every token.
    pub async fn resource_server(&self) -> TestClient {
        let mut reg = crate::cc_registration("read");
        reg.introspect_any = true;
        let c = self.register(reg).await;
        TestClient::from(c)
    }

    /// The introspection answer's body for `token`, asked by `rs` (confidential).
    pub async fn introspect_as(&self, rs: &TestClient, token: &str) -> serde_json::Value {
        let (status, _, body) = self
            .post_form(
                "/introspect",
                Some((&rs.id, rs.secret.as_deref().unwrap())),
                &[("token", token)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn is_active(&self, rs: &TestClient, token: &str) -> bool {
        self.introspect_as(rs, token).await["active"] == true
    }

    /// POSTs `/revoke` as `client` (Basic, or `client_id` alone for public clients).
    pub async fn revoke_as(&self, client: &TestClient, token: &str) -> crate::Answer {
        match &client.secret {
            Some(s) => {
                self.post_form("/revoke", Some((&client.id, s)), &[("token", token)])
                    .await
            }
            None => {
                self.post_form(
                    "/revoke",
                    None,
                    &[("token", token), ("client_id", &client.id)],
                )
                .await
            }
        }
    }
}
