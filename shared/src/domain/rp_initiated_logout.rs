//! The decisions of an RP-initiated logout (OpenID Connect RP-Initiated Logout
//! 1.0 §2, §3, §4), on values already read and verified: which client the
//! request names, whether its `post_logout_redirect_uri` may be used, and
//! whether the user must be asked before the session ends. No I/O; the request is
//! read and the session ended in [`crate::tokens::logout`].

/// Why a logout request is refused with an error page, never a redirect (§4: the
/// OP "MUST NOT perform post-logout redirection" with what failed to validate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutRefusal {
    /// The `id_token_hint` is not an ID token of this issuer (§2: "the OP MUST
    /// validate that it was the issuer of the ID Token").
    InvalidHint,
    /// `client_id` is not the hint's `aud` (§2: "When both `client_id` and
    /// `id_token_hint` are present, the OP MUST verify that the Client Identifier
    /// matches the one used when issuing the ID Token").
    ClientMismatch,
    /// A `post_logout_redirect_uri` with neither `client_id` nor an
    /// `id_token_hint` to say whose it is (§3: redirection only to a URI
    /// registered for the client; the OP cannot check that without the client).
    UnidentifiedClient,
    /// A `post_logout_redirect_uri` for a client that does not exist.
    UnknownClient,
    /// A `post_logout_redirect_uri` that is not exactly one the client
    /// registered (§3).
    UnregisteredRedirectUri,
}

impl LogoutRefusal {
    /// What the error page says.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidHint => {
                "The sign-out request carries an ID token hint that this server did not issue or that is not valid."
            }
            Self::ClientMismatch => {
                "The sign-out request names one application in client_id and another in its ID token hint."
            }
            Self::UnidentifiedClient => {
                "The sign-out request asks to return to an address without saying which application it is for (client_id or id_token_hint)."
            }
            Self::UnknownClient => {
                "The sign-out request names an application that is not registered."
            }
            Self::UnregisteredRedirectUri => {
                "The sign-out request asks to return to an address the application has not registered."
            }
        }
    }
}

/// The client a logout request names: `client_id`, or the hint's `aud`; when both
/// are given they must be the same (§2).
pub fn client_named<'a>(
    client_id: Option<&'a str>,
    hint_audience: Option<&'a str>,
) -> Result<Option<&'a str>, LogoutRefusal> {
    match (client_id, hint_audience) {
        (Some(c), Some(a)) if c != a => Err(LogoutRefusal::ClientMismatch),
        (c, a) => Ok(c.or(a)),
    }
}

/// What to do with the login session the browser presents (§2: the OP "MUST ask
/// the End-User" whether to log out "if an `id_token_hint` was not provided or if
/// the supplied ID Token does not belong to the current OP session with the RP
/// and/or currently logged in End-User").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionAction {
    /// No session: nothing to end (§4: logout is idempotent, not an error).
    NothingToEnd,
    /// The hint names the signed-in user: end the session now.
    EndNow,
    /// No hint, or a hint about someone else: ask first.
    Confirm,
}

/// The action for `signed_in_user` (the user id of the browser's open session,
/// if any) and `hint_subject` (the verified hint's `sub`, if any).
pub fn session_action(signed_in_user: Option<&str>, hint_subject: Option<&str>) -> SessionAction {
    match (signed_in_user, hint_subject) {
        (None, _) => SessionAction::NothingToEnd,
        (Some(user), Some(sub)) if user == sub => SessionAction::EndNow,
        (Some(_), _) => SessionAction::Confirm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_client_id_or_the_hints_audience_and_both_must_agree() {
        assert_eq!(client_named(None, None), Ok(None));
        assert_eq!(client_named(Some("a"), None), Ok(Some("a")));
        assert_eq!(client_named(None, Some("a")), Ok(Some("a")));
        assert_eq!(client_named(Some("a"), Some("a")), Ok(Some("a")));
        assert_eq!(
            client_named(Some("a"), Some("b")),
            Err(LogoutRefusal::ClientMismatch)
        );
        assert_eq!(
            client_named(Some("a"), Some("A")),
            Err(LogoutRefusal::ClientMismatch),
            "client ids are compared exactly"
        );
    }

    #[test]
    fn only_a_hint_about_the_signed_in_user_ends_the_session_without_asking() {
        use SessionAction::*;
        for (user, sub, want) in [
            (None, None, NothingToEnd),
            (None, Some("u1"), NothingToEnd),
            (Some("u1"), Some("u1"), EndNow),
            (Some("u1"), Some("u2"), Confirm),
            (Some("u1"), None, Confirm),
        ] {
            assert_eq!(session_action(user, sub), want, "{user:?} {sub:?}");
        }
    }
}
