//! Whether the browser's login session may answer an authentication request,
//! or the user must sign in (again): OpenID Connect Core §3.1.2.1 (`prompt`,
//! `max_age`, `id_token_hint`) and §3.1.2.3 ("the Authorization Server MUST
//! attempt to Authenticate the End-User" when the request asks for it).
//!
//! `interaction_required` (§3.1.2.6) is never the answer: every interaction a
//! request here can need is a sign-in (`login_required`) or a consent
//! (`consent_required`, decided where consent is), the two codes §3.1.2.6
//! defines for exactly those; there is no other kind of interaction to ask for.

use crate::domain::max_age;
use crate::domain::prompt::Prompt;

/// With `prompt=login` or `max_age`, how recent the sign-in must be for the
/// consent form to be accepted: the time to read the consent page after signing
/// in. The session was checked (or made) when the consent page was shown; the
/// form comes back later, and must not let an older session approve.
pub const FRESH_LOGIN_SECONDS: u64 = 600;

/// What the request asks about the authentication.
#[derive(Clone, Copy, Debug, Default)]
pub struct Asked<'a> {
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    /// The `sub` of a verified `id_token_hint`.
    pub hint_sub: Option<&'a str>,
}

/// What is known of the session: whose, and when they signed in.
#[derive(Clone, Copy, Debug)]
pub struct SessionFacts<'a> {
    pub user_id: &'a str,
    pub auth_time: u64,
}

/// What to do with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The session answers the request (consent is decided next).
    UseSession,
    /// `prompt=select_account` with a session: name its user, offer to continue
    /// as them or to sign in as someone else.
    ChooseAccount,
    /// Show the login page.
    SignIn,
    /// `prompt=none` and the session cannot answer: `login_required` (§3.1.2.6).
    LoginRequired,
}

/// Decides at `now`. The session is `None` when there is none, it ended or
/// expired, or its user is disabled, deleted or at another epoch.
///
/// - no session, `prompt=login`, `max_age` exceeded (§3.1.2.1: "the OP MUST
///   attempt to actively re-authenticate"), or an `id_token_hint` for another
///   user than the session's ("the End-User identified by the ID Token" is not
///   the one logged in) → sign in, or with `prompt=none` `login_required`;
/// - else `prompt=select_account` → choose the account;
/// - else the session answers.
pub fn decide(asked: &Asked<'_>, session: Option<SessionFacts<'_>>, now: u64) -> Decision {
    let usable = session.is_some_and(|s| {
        !asked.prompt.login
            && !max_age::exceeded(asked.max_age, s.auth_time, now)
            && hint_matches(asked.hint_sub, s.user_id)
    });
    match (usable, asked.prompt.none) {
        (false, true) => Decision::LoginRequired,
        (false, false) => Decision::SignIn,
        (true, _) if asked.prompt.select_account => Decision::ChooseAccount,
        (true, _) => Decision::UseSession,
    }
}

/// Whether the user who signed in (or whose session it is) is the one an
/// `id_token_hint` names; true without a hint. §3.1.2.1: when the End-User the
/// hint identifies is not logged in, not even "as a result of the request",
/// the OP "SHOULD return an error, such as login_required".
pub fn hint_matches(hint_sub: Option<&str>, user_id: &str) -> bool {
    hint_sub.is_none_or(|sub| sub == user_id)
}

/// Whether the session may approve the consent form of the request: the
/// session's user is the hinted one, and with `prompt=login` the sign-in is at
/// most [`FRESH_LOGIN_SECONDS`] old; with `max_age`, at most the larger of
/// `max_age` and [`FRESH_LOGIN_SECONDS`] (a sign-in made for this request may
/// take a while to read the consent page, even with `max_age=0`).
pub fn may_approve(asked: &Asked<'_>, session: SessionFacts<'_>, now: u64) -> bool {
    let age = now.saturating_sub(session.auth_time);
    let limit = match (asked.prompt.login, asked.max_age) {
        (true, _) => FRESH_LOGIN_SECONDS,
        (false, Some(m)) => m.max(FRESH_LOGIN_SECONDS),
        (false, None) => u64::MAX,
    };
    hint_matches(asked.hint_sub, session.user_id) && age <= limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;

    const NOW: u64 = 1_000_000;

    fn session(user_id: &str, age: u64) -> Option<SessionFacts<'_>> {
        Some(SessionFacts {
            user_id,
            auth_time: NOW - age,
        })
    }

    fn prompt(none: bool, login: bool, select_account: bool) -> Prompt {
        Prompt {
            none,
            login,
            select_account,
            consent: false,
        }
    }

    #[test]
    fn the_session_answers_unless_the_request_asks_for_a_new_sign_in() {
        let plain = Prompt::default();
        let none = prompt(true, false, false);
        let login = prompt(false, true, false);
        let select = prompt(false, false, true);
        for (why, p, max_age, hint, s, expected) in [
            ("no session", plain, None, None, None, SignIn),
            ("no session, none", none, None, None, None, LoginRequired),
            ("a session", plain, None, None, session("u1", 5), UseSession),
            (
                "a session, none",
                none,
                None,
                None,
                session("u1", 5),
                UseSession,
            ),
            ("prompt=login", login, None, None, session("u1", 0), SignIn),
            (
                "fresh for max_age",
                plain,
                Some(60),
                None,
                session("u1", 60),
                UseSession,
            ),
            (
                "older than max_age",
                plain,
                Some(60),
                None,
                session("u1", 61),
                SignIn,
            ),
            (
                "older than max_age, none",
                none,
                Some(60),
                None,
                session("u1", 61),
                LoginRequired,
            ),
            ("max_age=0", plain, Some(0), None, session("u1", 0), SignIn),
            (
                "max_age=0, none",
                none,
                Some(0),
                None,
                session("u1", 0),
                LoginRequired,
            ),
            (
                "hint of the user",
                none,
                None,
                Some("u1"),
                session("u1", 5),
                UseSession,
            ),
            (
                "hint of another user",
                plain,
                None,
                Some("u2"),
                session("u1", 5),
                SignIn,
            ),
            (
                "hint of another user, none",
                none,
                None,
                Some("u2"),
                session("u1", 5),
                LoginRequired,
            ),
            ("hint, no session", plain, None, Some("u1"), None, SignIn),
            (
                "select_account",
                select,
                None,
                None,
                session("u1", 5),
                ChooseAccount,
            ),
            (
                "select_account, no session",
                select,
                None,
                None,
                None,
                SignIn,
            ),
            (
                "select_account, old",
                select,
                Some(1),
                None,
                session("u1", 5),
                SignIn,
            ),
            (
                "select_account and login",
                prompt(false, true, true),
                None,
                None,
                session("u1", 5),
                SignIn,
            ),
        ] {
            let asked = Asked {
                prompt: p,
                max_age,
                hint_sub: hint,
            };
            assert_eq!(decide(&asked, s, NOW), expected, "{why}");
        }
    }

    #[test]
    fn only_a_recent_enough_sign_in_of_the_hinted_user_approves() {
        let login = prompt(false, true, false);
        for (why, p, max_age, hint, age, expected) in [
            (
                "plain, any age",
                Prompt::default(),
                None,
                None,
                100_000,
                true,
            ),
            (
                "prompt=login, fresh",
                login,
                None,
                None,
                FRESH_LOGIN_SECONDS,
                true,
            ),
            (
                "prompt=login, stale",
                login,
                None,
                None,
                FRESH_LOGIN_SECONDS + 1,
                false,
            ),
            (
                "max_age=0, just signed in",
                Prompt::default(),
                Some(0),
                None,
                30,
                true,
            ),
            (
                "max_age=0, stale",
                Prompt::default(),
                Some(0),
                None,
                FRESH_LOGIN_SECONDS + 1,
                false,
            ),
            (
                "max_age long, within it",
                Prompt::default(),
                Some(3_600),
                None,
                3_000,
                true,
            ),
            (
                "max_age long, past it",
                Prompt::default(),
                Some(3_600),
                None,
                3_601,
                false,
            ),
            (
                "login and a long max_age",
                login,
                Some(3_600),
                None,
                3_000,
                false,
            ),
            (
                "the hinted user",
                Prompt::default(),
                None,
                Some("u1"),
                5,
                true,
            ),
            (
                "another user than hinted",
                Prompt::default(),
                None,
                Some("u2"),
                5,
                false,
            ),
        ] {
            let asked = Asked {
                prompt: p,
                max_age,
                hint_sub: hint,
            };
            let s = session("u1", age).unwrap();
            assert_eq!(may_approve(&asked, s, NOW), expected, "{why}");
        }
    }
}
