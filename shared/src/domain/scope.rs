//! Scopes (RFC 6749 §3.3): the deployment's catalog and requested scope sets.

use std::collections::BTreeSet;
use std::fmt;

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A set of scope tokens, kept sorted so that its string form is stable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-delimited scope string (RFC 6749 §3.3). `None` when a token has
    /// a character the RFC does not allow, or the delimiters are not single spaces.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() {
            return Some(Self::default());
        }
        let mut set = BTreeSet::new();
        for token in s.split(' ') {
            if !is_scope_token(token) {
                return None;
            }
            set.insert(token.to_owned());
        }
        Some(Self(set))
    }

    pub fn from_tokens<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(tokens.into_iter().map(Into::into).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens of `self` that are not in `other`.
    pub fn difference(&self, other: &Scope) -> Vec<&str> {
        self.0
            .iter()
            .filter(|t| !other.0.contains(*t))
            .map(String::as_str)
            .collect()
    }
}

/// The scope to grant a client (RFC 6749 §3.3): the requested scope when it is
/// well formed and within the client's allowed scopes; the client's default scope
/// when none is requested. The one rule of the authorization and token endpoints;
/// `Err` is the `invalid_scope` description.
pub fn requested_scope(
    requested: Option<&str>,
    default: &Scope,
    allowed: &Scope,
) -> Result<Scope, String> {
    let scope = match requested {
        None => default.clone(),
        Some(s) => Scope::parse(s).ok_or("the scope parameter is malformed")?,
    };
    if scope.is_empty() {
        return Err("no scope was requested and the client has no default scope".into());
    }
    let outside = scope.difference(allowed);
    if !outside.is_empty() {
        return Err(format!(
            "scope not allowed for this client: {}",
            outside.join(" ")
        ));
    }
    Ok(scope)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            first = false;
        }
        Ok(())
    }
}

/// A scope the deployment offers, with the description shown to users on consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeDefinition {
    pub name: String,
    pub description: String,
}

/// The deployment's scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeCatalog(Vec<ScopeDefinition>);

/// The scopes of OpenID Connect Core (§3.1.2.1 `openid`, §5.4 `profile` and
/// `email`, §11 `offline_access`), known to every deployment whatever
/// `GATEHOUSE_SCOPES` says, with the descriptions shown on consent.
pub const OPENID_SCOPES: [(&str, &str); 4] = [
    ("openid", "Sign you in and know who you are"),
    ("profile", "Your basic profile information"),
    ("email", "Your email address"),
    (
        "offline_access",
        "Keep access while you are not using the application",
    ),
];

/// `openid`: the request is an OpenID Connect one (Core §3.1.2.1).
pub const OPENID: &str = "openid";
/// `offline_access`: a refresh token for an OpenID request (Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

impl Default for ScopeCatalog {
    fn default() -> Self {
        Self::with_openid(vec![
            ScopeDefinition {
                name: "read".into(),
                description: "Read access to resources".into(),
            },
            ScopeDefinition {
                name: "write".into(),
                description: "Write access to resources".into(),
            },
        ])
    }
}

impl ScopeCatalog {
    /// Parses `name=description;name=description`, the form of `GATEHOUSE_SCOPES`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut defs: Vec<ScopeDefinition> = Vec::new();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, description) = entry
                .split_once('=')
                .ok_or_else(|| format!("scope entry `{entry}` is not name=description"))?;
            let name = name.trim();
            if !is_scope_token(name) {
                return Err(format!(
                    "`{name}` is not a valid scope name (RFC 6749 §3.3)"
                ));
            }
            if defs.iter().any(|d| d.name == name) {
                return Err(format!("scope `{name}` is defined twice"));
            }
            defs.push(ScopeDefinition {
                name: name.to_owned(),
                description: description.trim().to_owned(),
            });
        }
        if defs.is_empty() {
            return Err("at least one scope must be defined".into());
        }
        Ok(Self::with_openid(defs))
    }

    /// The deployment's scopes followed by the OpenID scopes it does not define
    /// itself (a deployment may word their descriptions its own way).
    fn with_openid(mut defs: Vec<ScopeDefinition>) -> Self {
        for (name, description) in OPENID_SCOPES {
            if !defs.iter().any(|d| d.name == name) {
                defs.push(ScopeDefinition {
                    name: name.into(),
                    description: description.into(),
                });
            }
        }
        Self(defs)
    }

    pub fn definitions(&self) -> &[ScopeDefinition] {
        &self.0
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|d| d.name == name)
    }

    /// Every scope the deployment offers, as a set.
    pub fn all(&self) -> Scope {
        Scope::from_tokens(self.0.iter().map(|d| d.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn requested_scope_is_narrowed_defaulted_or_refused() {
        let allowed = Scope::parse("read write").unwrap();
        let default = Scope::parse("read").unwrap();
        let ok = |s: Option<&str>| requested_scope(s, &default, &allowed).unwrap().to_string();
        assert_eq!(ok(None), "read");
        assert_eq!(ok(Some("write")), "write");
        assert_eq!(ok(Some("write read")), "read write");
        for bad in ["admin", "read admin", "read  write", "re\"ad"] {
            assert!(
                requested_scope(Some(bad), &default, &allowed).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            requested_scope(Some("read admin"), &default, &allowed).unwrap_err(),
            "scope not allowed for this client: admin"
        );
        assert!(requested_scope(None, &Scope::default(), &allowed).is_err());
    }

    use super::*;

    #[test]
    fn scope_strings_parse_per_rfc_6749_section_3_3() {
        let cases: &[(&str, Option<&str>)] = &[
            ("read write", Some("read write")),
            ("write read read", Some("read write")),
            ("", Some("")),
            ("read  write", None),
            (" read", None),
            ("read ", None),
            ("re\"ad", None),
            ("re\\ad", None),
            ("réad", None),
            ("read\twrite", None),
            ("urn:x:y/z!", Some("urn:x:y/z!")),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Scope::parse(input).map(|s| s.to_string()).as_deref(),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn catalog_parses_names_and_descriptions_and_refuses_bad_entries() {
        let c = ScopeCatalog::parse("read=Read things; write = Write things").unwrap();
        assert_eq!(c.definitions().len(), 2 + OPENID_SCOPES.len());
        assert_eq!(c.definitions()[1].description, "Write things");
        assert!(ScopeCatalog::parse("read").is_err());
        assert!(ScopeCatalog::parse("re ad=x").is_err());
        assert!(ScopeCatalog::parse("a=x;a=y").is_err());
        assert!(ScopeCatalog::parse("").is_err());
    }

    #[test]
    fn default_catalog_is_read_and_write_and_the_openid_scopes() {
        let c = ScopeCatalog::default();
        assert_eq!(
            c.all().to_string(),
            "email offline_access openid profile read write"
        );
        assert_eq!(c.definitions()[0].description, "Read access to resources");
    }

    #[test]
    fn the_openid_scopes_are_known_whatever_the_deployment_defines() {
        let c = ScopeCatalog::parse("notes=Your notes").unwrap();
        assert_eq!(
            c.all().to_string(),
            "email notes offline_access openid profile"
        );
        assert!(c.definitions().iter().all(|d| !d.description.is_empty()));
        // A deployment's own wording of an OpenID scope is kept, once.
        let c = ScopeCatalog::parse("notes=Notes;openid=Sign in").unwrap();
        let openid: Vec<_> = c
            .definitions()
            .iter()
            .filter(|d| d.name == "openid")
            .collect();
        assert_eq!(openid.len(), 1);
        assert_eq!(openid[0].description, "Sign in");
    }

    proptest::proptest! {
        #[test]
        fn parsed_scopes_print_back_to_a_parseable_string(input in "\\PC{0,60}") {
            if let Some(scope) = Scope::parse(&input) {
                proptest::prop_assert_eq!(Scope::parse(&scope.to_string()), Some(scope));
            }
        }
    }
}
