//! Scope requirements per route, from `GATEHOUSE_AUTHORIZER_ROUTE_SCOPES`:
//!
//! ```text
//! GET /notes=read;POST /notes=write;DELETE /notes/{id}=write admin;ANY /admin/*=admin
//! ```
//!
//! Entries are separated by `;` (blank entries are skipped). Each is
//! `METHOD /path=scope [scope ...]`: the token must hold *every* listed scope
//! (RFC 6749 §3.3 tokens, space-separated) for that route. A route not listed needs
//! only an active token; where several entries match one request, all must be met.
//!
//! - `METHOD`: `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS`, or
//!   `ANY` / `*` for every method; case does not matter.
//! - `/path`: the path as the API defines it. A path-parameter segment (`{id}`,
//!   `{proxy+}`) and `*` become the IAM wildcard `*`, which matches any characters,
//!   `/` included: `/notes/{id}` also covers `/notes/1/comments` (a rule errs on the
//!   side of denying).
//!
//! The value is parsed once, at cold start; a bad value stops the function there
//! with a message naming the entry, never at a request.

use crate::domain::scope::{Scope, is_scope_token};
use std::fmt;

/// The environment variable holding the route scopes.
pub const ROUTE_SCOPES_ENV: &str = "GATEHOUSE_AUTHORIZER_ROUTE_SCOPES";

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// One route and the scopes it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRule {
    /// `METHOD /path` as written (method upper-cased).
    route: String,
    /// `{verb}/{path}` of an execute-api ARN, with IAM wildcards.
    resource: String,
    scope: Scope,
}

impl RouteRule {
    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

/// Every route with a scope requirement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteScopes(Vec<RouteRule>);

/// A bad `GATEHOUSE_AUTHORIZER_ROUTE_SCOPES`: which entry, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteScopesError {
    /// 1-based position among the `;`-separated entries.
    pub entry: usize,
    pub text: String,
    pub problem: String,
}

impl fmt::Display for RouteScopesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ROUTE_SCOPES_ENV}: entry {} `{}`: {}",
            self.entry, self.text, self.problem
        )
    }
}

impl std::error::Error for RouteScopesError {}

impl RouteScopes {
    pub fn parse(spec: &str) -> Result<Self, RouteScopesError> {
        let mut rules: Vec<RouteRule> = Vec::new();
        for (i, text) in spec.split(';').enumerate() {
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let fail = |problem: String| RouteScopesError {
                entry: i + 1,
                text: text.to_owned(),
                problem,
            };
            let rule = parse_rule(text).map_err(fail)?;
            if let Some(earlier) = rules.iter().find(|r| r.resource == rule.resource) {
                return Err(fail(format!(
                    "the same route as `{}`; list each route once, with all its scopes",
                    earlier.route
                )));
            }
            rules.push(rule);
        }
        Ok(Self(rules))
    }

    pub fn rules(&self) -> &[RouteRule] {
        &self.0
    }

    /// The routes whose scopes `granted` does not all include.
    pub fn unmet_by<'a>(&'a self, granted: &'a Scope) -> impl Iterator<Item = &'a RouteRule> {
        self.0.iter().filter(|r| !r.scope.is_subset_of(granted))
    }
}

fn parse_rule(text: &str) -> Result<RouteRule, String> {
    let (route, scopes) = text
        .split_once('=')
        .ok_or("expected `METHOD /path=scope [scope ...]`: no `=`")?;
    let mut words = route.split_whitespace();
    let (Some(method), Some(path), None) = (words.next(), words.next(), words.next()) else {
        return Err("expected `METHOD /path` before `=`".into());
    };
    let method = method.to_ascii_uppercase();
    let verb = match method.as_str() {
        "ANY" | "*" => "*",
        m if METHODS.contains(&m) => m,
        m => {
            return Err(format!(
                "unknown method `{m}`; use one of {}, ANY or *",
                METHODS.join(", ")
            ));
        }
    };
    let pattern = path_pattern(path)?;
    let tokens: Vec<&str> = scopes.split_whitespace().collect();
    if tokens.is_empty() {
        return Err("no scope after `=`; leave a route out to need only an active token".into());
    }
    if let Some(bad) = tokens.iter().find(|t| !is_scope_token(t)) {
        return Err(format!(
            "`{bad}` is not a scope token (RFC 6749 §3.3: printable ASCII but `\"` and `\\`)"
        ));
    }
    Ok(RouteRule {
        route: format!("{method} {path}"),
        resource: format!("{verb}{pattern}"),
        scope: Scope::from_tokens(tokens),
    })
}

/// `/notes/{id}` → `/notes/*`: path parameters become IAM wildcards.
fn path_pattern(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("the path `{path}` does not start with `/`"));
    }
    let segments = path.split('/').map(|segment| {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            let name = name.strip_suffix('+').unwrap_or(name);
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("`{segment}` is not a path parameter"));
            }
            return Ok("*");
        }
        match segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()+,:@%*".contains(*c)))
        {
            Some(c) => Err(format!("the path `{path}` has `{c}`, which a route cannot")),
            None => Ok(segment),
        }
    });
    Ok(segments.collect::<Result<Vec<_>, _>>()?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_become_resources_with_wildcards() {
        let routes = RouteScopes::parse(
            " GET /notes=read ; post /notes=write;DELETE /notes/{id}=write  admin;\
             ANY /files/{proxy+}=files;* /=root;GET /a/*/b=x;",
        )
        .unwrap();
        let got: Vec<(&str, &str, String)> = routes
            .rules()
            .iter()
            .map(|r| (r.route(), r.resource(), r.scope().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("GET /notes", "GET/notes", "read".to_owned()),
                ("POST /notes", "POST/notes", "write".to_owned()),
                (
                    "DELETE /notes/{id}",
                    "DELETE/notes/*",
                    "admin write".to_owned()
                ),
                ("ANY /files/{proxy+}", "*/files/*", "files".to_owned()),
                ("* /", "*/", "root".to_owned()),
                ("GET /a/*/b", "GET/a/*/b", "x".to_owned()),
            ]
        );
    }

    #[test]
    fn an_empty_value_lists_no_route() {
        assert!(RouteScopes::parse("").unwrap().rules().is_empty());
        assert!(RouteScopes::parse(" ; ;").unwrap().rules().is_empty());
    }

    #[test]
    fn unmet_routes_are_those_missing_any_of_their_scopes() {
        let routes =
            RouteScopes::parse("GET /notes=read;POST /notes=write;DELETE /notes/{id}=write admin")
                .unwrap();
        let unmet = |granted: &str| -> Vec<String> {
            routes
                .unmet_by(&Scope::parse(granted).unwrap())
                .map(|r| r.route().to_owned())
                .collect()
        };
        assert_eq!(
            unmet(""),
            ["GET /notes", "POST /notes", "DELETE /notes/{id}"]
        );
        assert_eq!(unmet("read write"), ["DELETE /notes/{id}"]);
        assert_eq!(
            unmet("admin"),
            ["GET /notes", "POST /notes", "DELETE /notes/{id}"]
        );
        assert!(unmet("read write admin").is_empty());
    }

    #[test]
    fn bad_entries_are_named_with_what_is_wrong() {
        let cases = [
            ("GET /notes", 1, "no `=`"),
            ("GET /notes=read;POST /notes", 2, "no `=`"),
            ("/notes=read", 1, "`METHOD /path`"),
            ("GET /notes extra=read", 1, "`METHOD /path`"),
            ("FETCH /notes=read", 1, "unknown method `FETCH`"),
            ("GET notes=read", 1, "does not start with `/`"),
            ("GET /notes?x=1=read", 1, "has `?`"),
            ("GET /notes/{}=read", 1, "`{}` is not a path parameter"),
            ("GET /notes/{a-b}=read", 1, "is not a path parameter"),
            ("GET /no{tes=read", 1, "has `{`"),
            ("GET /notes=", 1, "no scope"),
            ("GET /notes=  ", 1, "no scope"),
            ("GET /notes=re\"ad", 1, "is not a scope token"),
            (
                "GET /notes=read;get /notes=write",
                2,
                "the same route as `GET /notes`",
            ),
            ("GET /n/{id}=a;GET /n/{other}=b", 2, "the same route"),
        ];
        for (spec, entry, problem) in cases {
            let err = RouteScopes::parse(spec).expect_err(spec);
            assert_eq!(err.entry, entry, "{spec}: {err}");
            let message = err.to_string();
            assert!(message.contains(problem), "{spec}: {message}");
            assert!(message.starts_with(ROUTE_SCOPES_ENV), "{message}");
        }
    }
}
