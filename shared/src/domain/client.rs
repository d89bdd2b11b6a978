//! Registered clients (RFC 6749 §2): type, redirect URIs, grants, scopes, lifetimes.

use crate::domain::post_logout_redirect_uri;
use crate::domain::scope::{Scope, ScopeCatalog};
use crate::domain::token_endpoint_auth_method::TokenEndpointAuthMethod;
use crate::secret::SecretHash;
use std::fmt;
use std::str::FromStr;

/// Client types (RFC 6749 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    /// Can keep a secret; authenticates with `client_secret_basic` or `client_secret_post`.
    Confidential,
    /// Cannot keep a secret (native and browser apps); authenticates with `none`.
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}

impl FromStr for ClientType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "confidential" => Ok(Self::Confidential),
            "public" => Ok(Self::Public),
            other => Err(format!(
                "unknown client type `{other}` (expected confidential or public)"
            )),
        }
    }
}

/// Grant types Gatehouse implements. The implicit and resource owner password
/// grants are deliberately absent (RFC 9700 §2.1.2, §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §6.
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        Self::AuthorizationCode,
        Self::ClientCredentials,
        Self::RefreshToken,
    ];

    /// The `grant_type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
        }
    }
}

impl FromStr for GrantType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| format!("unsupported grant type `{s}`"))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest `client_id` looked up (RFC 6749 §2.2 leaves the length open):
/// registered ids are 23 characters, so a longer one names no client and is
/// refused without a read (DynamoDB refuses keys over 2,048 bytes).
pub const MAX_CLIENT_ID_BYTES: usize = 256;

/// Whether `client_id` could name a registered client, by its length alone.
pub fn could_be_registered(client_id: &str) -> bool {
    client_id.len() <= MAX_CLIENT_ID_BYTES
}

/// A registered client as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    /// SHA-256 of the current secret (confidential clients only).
    pub secret_hash: Option<SecretHash>,
    /// The secret before the last rotation, accepted until its deadline so that a
    /// planned rotation needs no downtime.
    pub previous_secret: Option<PreviousSecret>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may be granted.
    pub allowed_scope: Scope,
    /// Scopes granted when a request names none (RFC 6749 §3.3).
    pub default_scope: Scope,
    /// Access-token lifetime for this client; `None` uses the deployment default.
    pub access_token_ttl: Option<u64>,
    /// Whether this client (a resource server) may introspect tokens issued to others.
    pub introspect_any: bool,
    /// A trusted first-party client: users are not asked to approve it.
    pub skip_consent: bool,
    /// The one client authentication method it may use (RFC 7591 §2); `None` for a
    /// client stored before the method was recorded (see
    /// [`TokenEndpointAuthMethod::accepts`]).
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// PKCE (S256) is required of this client whatever the deployment's setting
    /// (RFC 9700 §2.1.1); public clients always need it.
    pub require_pkce: bool,
    /// Where the browser may be sent after logout (RP-Initiated Logout 1.0 §3.1);
    /// none for a client stored before they were registered.
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed when a login session the client was part
    /// of ends (Back-Channel Logout 1.0 §2.2); `None` for a client without one,
    /// and for clients stored before it was recorded.
    pub backchannel_logout_uri: Option<String>,
    pub created_at: u64,
}

/// A rotated-out secret and the moment it stops being accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousSecret {
    pub hash: SecretHash,
    pub valid_until: u64,
}

impl Client {
    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// Whether this client may authenticate with `used` (RFC 7591 §2).
    pub fn accepts_auth_method(&self, used: TokenEndpointAuthMethod) -> bool {
        TokenEndpointAuthMethod::accepts(self.token_endpoint_auth_method, self.client_type, used)
    }

    /// The registered redirect URI that `given` names, compared as strings
    /// (RFC 9700 §4.1.3). The one allowance, for public (native) clients only: a
    /// loopback IP redirect URI matches on any port (RFC 8252 §7.3), since a native
    /// app listens on whatever port the system gives it; everything else still
    /// compared exactly. A confidential client is a server with a fixed callback,
    /// so its loopback URIs match exactly, port included. `localhost` URIs are
    /// never given the allowance (RFC 8252 §8.3); only clients registered before
    /// they were refused have one, and it matches exactly.
    pub fn registered_redirect_uri(&self, given: &str) -> Option<&str> {
        let given_portless = match self.client_type {
            ClientType::Public => without_loopback_port(given),
            ClientType::Confidential => None,
        };
        self.redirect_uris
            .iter()
            .find(|r| {
                r.as_str() == given
                    || given_portless.is_some()
                        && without_loopback_port(r).as_deref() == given_portless.as_deref()
            })
            .map(String::as_str)
    }

    /// The registered post-logout redirect URI that `given` is: exact string
    /// comparison, no loopback-port allowance (RP-Initiated Logout 1.0 §3).
    pub fn registered_post_logout_redirect_uri(&self, given: &str) -> Option<&str> {
        post_logout_redirect_uri::registered(&self.post_logout_redirect_uris, given)
    }

    /// Whether `presented` is the current secret, or the previous one before its
    /// deadline. Both comparisons always run, in constant time.
    pub fn secret_matches(&self, presented: &str, now: u64) -> bool {
        let current = self
            .secret_hash
            .as_ref()
            .is_some_and(|h| h.matches(presented));
        let previous = self
            .previous_secret
            .as_ref()
            .is_some_and(|p| p.hash.matches(presented) & (now < p.valid_until));
        current | previous
    }
}

/// What an operator asks for when registering a client.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub allowed_scope: Scope,
    pub default_scope: Option<Scope>,
    pub access_token_ttl: Option<u64>,
    pub introspect_any: bool,
    pub skip_consent: bool,
    /// `None`: the default for the client type
    /// ([`TokenEndpointAuthMethod::default_for`]).
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    pub require_pkce: bool,
    /// RP-Initiated Logout 1.0 §3.1; only for clients with user sessions.
    pub post_logout_redirect_uris: Vec<String>,
    /// Back-Channel Logout 1.0 §2.2: checked by
    /// [`crate::domain::backchannel_logout_uri::validate`].
    pub backchannel_logout_uri: Option<String>,
}

impl ClientRegistration {
    /// A registration of `name` with only what every client needs; the rest at
    /// its default: no redirect URIs, the default scope all of `allowed_scope`,
    /// the deployment's token lifetime, consent asked, the type's default
    /// authentication method, PKCE as the deployment requires it.
    pub fn new(
        name: impl Into<String>,
        client_type: ClientType,
        grant_types: Vec<GrantType>,
        allowed_scope: Scope,
    ) -> Self {
        Self {
            name: name.into(),
            client_type,
            redirect_uris: Vec::new(),
            grant_types,
            allowed_scope,
            default_scope: None,
            access_token_ttl: None,
            introspect_any: false,
            skip_consent: false,
            token_endpoint_auth_method: None,
            require_pkce: false,
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
        }
    }

    /// The method the client is registered with: the one asked for, or the
    /// default for its type.
    pub fn auth_method(&self) -> TokenEndpointAuthMethod {
        self.token_endpoint_auth_method
            .unwrap_or_else(|| TokenEndpointAuthMethod::default_for(self.client_type))
    }

    /// Checks the registration against the rules of RFC 6749 §2, §3.1.2 and RFC 9700
    /// §2.1, §4.1.3: a public client may not use the client credentials grant, code
    /// clients need a redirect URI, and every redirect URI is absolute, without a
    /// fragment, and `https` unless it is a loopback or private-use (native app) URI;
    /// the token endpoint auth method fits the client type (RFC 7591 §2).
    pub fn validate(&self, catalog: &ScopeCatalog, max_ttl: u64) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a client needs a name".into());
        }
        if self.name.chars().count() > 200 || self.name.chars().any(char::is_control) {
            return Err(
                "a client name is at most 200 characters, without control characters".into(),
            );
        }
        if self.grant_types.is_empty() {
            return Err("a client needs at least one grant type".into());
        }
        self.auth_method().check_registration(self.client_type)?;
        if self.client_type == ClientType::Public
            && self.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(
                "a public client cannot use the client_credentials grant (RFC 6749 §4.4)".into(),
            );
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            return Err("a client using authorization_code needs at least one redirect URI".into());
        }
        if self.grant_types.contains(&GrantType::RefreshToken)
            && !self.grant_types.contains(&GrantType::AuthorizationCode)
        {
            return Err("refresh_token is only issued with authorization_code".into());
        }
        for uri in &self.redirect_uris {
            validate_redirect_uri(uri)?;
        }
        if !self.post_logout_redirect_uris.is_empty()
            && !self.grant_types.contains(&GrantType::AuthorizationCode)
        {
            return Err("only a client that signs users in (authorization_code) may have post-logout redirect URIs".into());
        }
        for uri in &self.post_logout_redirect_uris {
            post_logout_redirect_uri::validate(uri)?;
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            crate::domain::backchannel_logout_uri::validate(uri)?;
            if !self.grant_types.contains(&GrantType::AuthorizationCode) {
                return Err(
                    "a backchannel logout URI needs the authorization_code grant: only its \
                     clients take part in login sessions (Back-Channel Logout 1.0 §2.2)"
                        .into(),
                );
            }
        }
        if crate::domain::cors::registered_origins(&self.redirect_uris).len()
            > crate::domain::cors::MAX_CLIENT_ORIGINS
        {
            return Err(format!(
                "a client's redirect URIs may name at most {} origins",
                crate::domain::cors::MAX_CLIENT_ORIGINS
            ));
        }
        if self.allowed_scope.is_empty() {
            return Err("a client needs at least one allowed scope".into());
        }
        let unknown = self.allowed_scope.difference(&catalog.all());
        if !unknown.is_empty() {
            return Err(format!(
                "unknown scope(s) {}: the deployment offers {}",
                unknown.join(", "),
                catalog.all()
            ));
        }
        if let Some(d) = &self.default_scope
            && !d.is_subset_of(&self.allowed_scope)
        {
            return Err("default scopes must be among the allowed scopes".into());
        }
        if let Some(ttl) = self.access_token_ttl
            && !(60..=max_ttl).contains(&ttl)
        {
            return Err(format!(
                "access token lifetime must be between 60 and {max_ttl} seconds"
            ));
        }
        Ok(())
    }
}

/// A loopback IP redirect URI (`http://127.0.0.1[:port]...` or
/// `http://[::1][:port]...`) with its port removed; `None` for any other URI.
fn without_loopback_port(uri: &str) -> Option<String> {
    let (host, rest) = ["http://127.0.0.1", "http://[::1]"]
        .into_iter()
        .find_map(|h| uri.strip_prefix(h).map(|rest| (h, rest)))?;
    let rest = match rest.strip_prefix(':') {
        Some(p) => {
            let digits = p.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=5).contains(&digits) {
                return None;
            }
            &p[digits..]
        }
        None => rest,
    };
    (rest.is_empty() || rest.starts_with('/')).then(|| format!("{host}{rest}"))
}

/// Whether a redirect URI may be registered (RFC 6749 §3.1.2, RFC 8252 §7, §8.3,
/// RFC 9700 §4.1.3). Applied to new registrations only: a stored client is never
/// checked again, so one registered with a `localhost` URI keeps it.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| format!("redirect URI `{uri}` is not an absolute URI: {e}"))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(format!(
            "redirect URI `{uri}` must not have a fragment (RFC 6749 §3.1.2)"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "redirect URI `{uri}` must not carry user information"
        ));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host_str() {
            Some("127.0.0.1") | Some("[::1]") => Ok(()),
            // RFC 8252 §8.3: `localhost` may resolve elsewhere than the loopback
            // interface, and another program may listen there.
            Some("localhost") => Err(format!(
                "redirect URI `{uri}` uses localhost: register the loopback IP literal instead, \
                 http://127.0.0.1 or http://[::1] with the same port and path (RFC 8252 §7.3, §8.3)"
            )),
            _ => Err(format!(
                "redirect URI `{uri}` uses http; only loopback addresses may (RFC 8252 §7.3)"
            )),
        },
        // Private-use URI schemes for native apps (RFC 8252 §7.1) contain a period.
        s if s.contains('.') => Ok(()),
        s => Err(format!(
            "redirect URI scheme `{s}` is not allowed: use https, loopback http, or a reverse-domain private-use scheme"
        )),
    }
}

#[cfg(test)]
impl Client {
    /// A client of the code grant for unit tests: id and name `id`, no secret,
    /// `redirect_uris`, no scope, and every option at its default.
    pub(crate) fn for_tests(id: &str, client_type: ClientType, redirect_uris: &[&str]) -> Self {
        Client {
            client_id: id.into(),
            name: id.into(),
            client_type,
            secret_hash: None,
            previous_secret: None,
            redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
            grant_types: vec![GrantType::AuthorizationCode],
            allowed_scope: Scope::default(),
            default_scope: Scope::default(),
            access_token_ttl: None,
            introspect_any: false,
            skip_consent: false,
            token_endpoint_auth_method: None,
            require_pkce: false,
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            created_at: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_with(client_type: ClientType, redirect_uris: &[&str]) -> Client {
        Client::for_tests("c", client_type, redirect_uris)
    }

    #[test]
    fn a_confidential_clients_loopback_uris_match_exactly_port_included() {
        let c = client_with(
            ClientType::Confidential,
            &[
                "http://127.0.0.1:8000/cb",
                "http://[::1]/v6",
                "http://localhost:3000/old",
            ],
        );
        let m = |u: &str| c.registered_redirect_uri(u).map(str::to_owned);
        for exact in [
            "http://127.0.0.1:8000/cb",
            "http://[::1]/v6",
            "http://localhost:3000/old",
        ] {
            assert_eq!(m(exact).as_deref(), Some(exact));
        }
        for other in [
            "http://127.0.0.1:8001/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8000/v6",
            "http://localhost:3001/old",
            "http://localhost/old",
        ] {
            assert_eq!(m(other), None, "{other}");
        }
    }

    #[test]
    fn a_public_client_registered_with_localhost_keeps_an_exact_match_only() {
        let c = client_with(ClientType::Public, &["http://localhost:3000/old"]);
        assert!(
            c.registered_redirect_uri("http://localhost:3000/old")
                .is_some()
        );
        assert!(
            c.registered_redirect_uri("http://localhost:3001/old")
                .is_none()
        );
        assert!(
            c.registered_redirect_uri("http://127.0.0.1:3000/old")
                .is_none()
        );
    }

    #[test]
    fn redirect_uris_match_exactly_except_the_loopback_port() {
        let c = client_with(
            ClientType::Public,
            &[
                "https://app.example/cb",
                "http://127.0.0.1/native",
                "http://[::1]:8000/v6?x=1",
            ],
        );
        let m = |u: &str| c.registered_redirect_uri(u).map(str::to_owned);
        assert_eq!(
            m("https://app.example/cb").as_deref(),
            Some("https://app.example/cb")
        );
        assert_eq!(
            m("http://127.0.0.1:49152/native").as_deref(),
            Some("http://127.0.0.1/native")
        );
        assert_eq!(
            m("http://127.0.0.1/native").as_deref(),
            Some("http://127.0.0.1/native")
        );
        assert_eq!(
            m("http://[::1]/v6?x=1").as_deref(),
            Some("http://[::1]:8000/v6?x=1")
        );
        for bad in [
            "https://app.example/cb/",
            "https://app.example/cb/../cb",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "https://APP.example/cb",
            "https://app.example:443/cb",
            "https://app.example/CB",
            "https://app.example/cb%2F",
            "https://user@app.example/cb",
            "https://app.example.evil.test/cb",
            "http://app.example/cb",
            "http://127.0.0.1:80a/native",
            "http://127.0.0.1:123456/native",
            "http://127.0.0.1:8080/native/extra",
            "http://127.0.0.1@evil.test/native",
            "http://localhost/native",
            "http://127.0.0.1:1/native#x",
            "",
        ] {
            assert_eq!(m(bad), None, "{bad}");
        }
    }

    fn reg() -> ClientRegistration {
        ClientRegistration::new(
            "App",
            ClientType::Confidential,
            vec![GrantType::ClientCredentials],
            Scope::parse("read").unwrap(),
        )
    }

    #[test]
    fn redirect_uris_are_checked_when_registered() {
        let ok = [
            "https://app.example.com/cb",
            "https://app.example.com/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8000/cb",
            "http://[::1]:9/cb",
            "com.example.app:/oauth2redirect",
        ];
        for u in ok {
            assert!(validate_redirect_uri(u).is_ok(), "{u}");
        }
        let bad = [
            "/relative",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "http://app.example.com/cb",
            "https://user:pw@app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "",
        ];
        for u in bad {
            assert!(validate_redirect_uri(u).is_err(), "{u}");
        }
    }

    #[test]
    fn localhost_redirect_uris_are_refused_naming_the_loopback_literals() {
        for u in [
            "http://localhost/cb",
            "http://localhost:3000/cb",
            "http://localhost:3000",
            "http://LOCALHOST:8080/x?y=1",
        ] {
            let e = validate_redirect_uri(u).unwrap_err();
            assert!(e.contains("127.0.0.1") && e.contains("[::1]"), "{u}: {e}");
            let mut r = reg();
            r.grant_types = vec![GrantType::AuthorizationCode];
            r.client_type = ClientType::Public;
            r.redirect_uris = vec![u.into()];
            assert_eq!(r.validate(&ScopeCatalog::default(), 86400), Err(e));
        }
    }

    #[test]
    fn a_token_endpoint_auth_method_that_does_not_fit_the_client_type_is_refused() {
        let catalog = ScopeCatalog::default();
        let mut r = reg();
        r.token_endpoint_auth_method = Some(TokenEndpointAuthMethod::None);
        let e = r.validate(&catalog, 86400).unwrap_err();
        assert!(e.contains("confidential") && e.contains("none"), "{e}");

        for m in [
            TokenEndpointAuthMethod::ClientSecretBasic,
            TokenEndpointAuthMethod::ClientSecretPost,
        ] {
            let mut r = reg();
            r.client_type = ClientType::Public;
            r.grant_types = vec![GrantType::AuthorizationCode];
            r.redirect_uris = vec!["http://127.0.0.1/cb".into()];
            r.token_endpoint_auth_method = Some(m);
            let e = r.validate(&catalog, 86400).unwrap_err();
            assert!(e.contains("public") && e.contains(m.as_str()), "{e}");
            r.token_endpoint_auth_method = None;
            assert_eq!(r.validate(&catalog, 86400), Ok(()));
            assert_eq!(r.auth_method(), TokenEndpointAuthMethod::None);
        }

        let mut r = reg();
        r.token_endpoint_auth_method = Some(TokenEndpointAuthMethod::ClientSecretPost);
        assert_eq!(r.validate(&catalog, 86400), Ok(()));
        r.token_endpoint_auth_method = None;
        assert_eq!(r.auth_method(), TokenEndpointAuthMethod::ClientSecretBasic);
    }

    #[test]
    fn a_public_client_cannot_use_client_credentials() {
        let mut r = reg();
        r.client_type = ClientType::Public;
        assert!(r.validate(&ScopeCatalog::default(), 86400).is_err());
    }

    #[test]
    fn registration_rules_refuse_what_cannot_work() {
        let catalog = ScopeCatalog::default();
        assert!(reg().validate(&catalog, 86400).is_ok());

        let mut r = reg();
        r.allowed_scope = Scope::parse("admin").unwrap();
        assert!(
            r.validate(&catalog, 86400)
                .unwrap_err()
                .contains("unknown scope")
        );

        let mut r = reg();
        r.grant_types = vec![GrantType::AuthorizationCode];
        assert!(
            r.validate(&catalog, 86400).is_err(),
            "code without redirect URI"
        );

        let mut r = reg();
        r.default_scope = Some(Scope::parse("write").unwrap());
        assert!(
            r.validate(&catalog, 86400).is_err(),
            "default outside allowed"
        );

        let mut r = reg();
        r.access_token_ttl = Some(10);
        assert!(r.validate(&catalog, 86400).is_err(), "ttl too short");

        let mut r = reg();
        r.grant_types = vec![];
        assert!(r.validate(&catalog, 86400).is_err());

        let mut r = reg();
        r.name = " ".into();
        assert!(r.validate(&catalog, 86400).is_err());
    }

    #[test]
    fn a_backchannel_logout_uri_needs_a_code_client_and_a_valid_uri() {
        let catalog = ScopeCatalog::default();
        let mut r = reg();
        r.backchannel_logout_uri = Some("https://rp.example/logout".into());
        let err = r.validate(&catalog, 86400).unwrap_err();
        assert!(err.contains("authorization_code"), "{err}");

        let code = |uri: &str| {
            let mut r = reg();
            r.grant_types = vec![GrantType::AuthorizationCode];
            r.redirect_uris = vec!["https://rp.example/cb".into()];
            r.backchannel_logout_uri = Some(uri.into());
            r
        };
        assert_eq!(
            code("https://rp.example/logout").validate(&catalog, 86400),
            Ok(())
        );
        assert_eq!(
            code("http://127.0.0.1:9/logout").validate(&catalog, 86400),
            Ok(())
        );
        for (bad, why) in [
            ("http://rp.example/logout", "uses http"),
            ("https://rp.example/logout#x", "fragment"),
            ("garbage", "not an absolute URI"),
        ] {
            let err = code(bad).validate(&catalog, 86400).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let mut public = code("https://rp.example/logout");
        public.client_type = ClientType::Public;
        assert_eq!(public.validate(&catalog, 86400), Ok(()));
    }

    #[test]
    fn grant_types_round_trip_their_wire_names() {
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>().unwrap(), g);
        }
        assert!("password".parse::<GrantType>().is_err());
        assert!("implicit".parse::<GrantType>().is_err());
    }

    #[test]
    fn post_logout_redirect_uris_need_a_code_client_and_a_valid_uri() {
        let code = || ClientRegistration {
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode],
            ..reg()
        };
        let catalog = ScopeCatalog::parse("read=Read").unwrap();
        let with = |mut r: ClientRegistration, uris: &[&str]| {
            r.post_logout_redirect_uris = uris.iter().map(|u| u.to_string()).collect();
            r.validate(&catalog, 3600)
        };
        assert_eq!(with(code(), &["https://app.example/out"]), Ok(()));
        assert_eq!(
            with(code(), &["http://127.0.0.1:8080/out", "http://[::1]/out"]),
            Ok(())
        );
        let e = with(reg(), &["https://app.example/out"]).unwrap_err();
        assert!(e.contains("authorization_code"), "{e}");
        for bad in [
            "https://app.example/out#x",
            "http://app.example/out",
            "http://localhost/out",
            "out",
        ] {
            assert!(with(code(), &[bad]).is_err(), "{bad}");
        }
        let c = Client {
            post_logout_redirect_uris: vec!["https://app.example/out".into()],
            ..client_with(ClientType::Public, &["http://127.0.0.1/cb"])
        };
        assert_eq!(
            c.registered_post_logout_redirect_uri("https://app.example/out"),
            Some("https://app.example/out")
        );
        assert_eq!(
            c.registered_post_logout_redirect_uri("http://127.0.0.1/cb"),
            None
        );
    }
}
