//! The `prompt` parameter of an authentication request (OpenID Connect Core
//! §3.1.2.1): a space-delimited list of `none`, `login`, `consent` and
//! `select_account`, where `none` must stand alone ("If this parameter contains
//! none with any other value, an error is returned"). Any other value is not
//! defined by the specification, so the request is refused (`invalid_request`).

/// The `prompt` values asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Never show a page: answer `login_required` / `consent_required` instead
    /// (§3.1.2.6).
    pub none: bool,
    /// Ask for the password even within a session.
    pub login: bool,
    /// Ask for consent even when it was given before or the client skips it.
    pub consent: bool,
    /// Let the user choose the account: with a session, the login page names
    /// the signed-in user and offers to continue as them or to sign in as
    /// someone else (a browser holds one session, so one account to choose).
    pub select_account: bool,
}

/// Parses a `prompt` value; `None` when it is not a valid one.
pub fn parse_prompt(value: &str) -> Option<Prompt> {
    let mut p = Prompt::default();
    for v in value.split(' ') {
        match v {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => p.select_account = true,
            _ => return None,
        }
    }
    let alone = !(p.login || p.consent || p.select_account);
    (!p.none || alone).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_parse_strictly() {
        assert_eq!(
            parse_prompt("login").unwrap(),
            Prompt {
                login: true,
                ..Default::default()
            }
        );
        assert_eq!(
            parse_prompt("login consent").unwrap(),
            Prompt {
                login: true,
                consent: true,
                ..Default::default()
            }
        );
        assert_eq!(
            parse_prompt("select_account consent").unwrap(),
            Prompt {
                select_account: true,
                consent: true,
                ..Default::default()
            }
        );
        assert!(parse_prompt("none").unwrap().none);
        for bad in [
            "none login",
            "none consent",
            "none select_account",
            "consent none",
            "",
            "login  consent",
            "LOGIN",
            "other",
        ] {
            assert!(parse_prompt(bad).is_none(), "{bad}");
        }
    }
}
