//! The grant: one user's authorization of one client for a scope, made by one
//! authorization code, and everything issued from it (RFC 6749 §1.3, §4.1).
//!
//! The grant is the unit of revocation. It is one record, so ending it is one
//! conditional write whatever its history (RFC 6749 §4.1.2, §10.4; RFC 9700
//! §4.14.2; RFC 7009 §2.1). Access tokens are self-contained and name their
//! grant; a refresh token names its grant and its generation, and only the
//! grant's current generation works. This file holds the pure decisions on a
//! grant; the store applies them with conditional writes.

use crate::domain::grant_lifetime;
use crate::domain::pkce::{self, CodeChallenge};
use crate::domain::scope::Scope;
use crate::secret::SecretHash;
use std::str::FromStr;

/// One grant record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub grant_id: String,
    pub client_id: String,
    /// The resource owner, as the grant was made for them.
    pub user: GrantOwner,
    /// The scope the user approved: the most any token of the grant carries.
    pub scope: Scope,
    pub created_at: u64,
    pub last_used_at: u64,
    /// The login session the grant was made in.
    pub session_id: String,
    /// When the user authenticated in that session (OpenID Connect Core §2 `auth_time`).
    pub auth_time: u64,
    /// How the user authenticated in that session, carried from it when the grant
    /// is made (`pwd`; RFC 8176 §2): the ID token's `amr` (OpenID Connect Core §2).
    /// Empty for a grant stored before it was kept: no `amr` is said then.
    pub amr: String,
    pub state: GrantState,
    pub code: CodeState,
    /// The current refresh token, once the code is redeemed by a client that may
    /// refresh.
    pub refresh: Option<RefreshState>,
    /// When the record may be deleted: after the code, the refresh token and every
    /// access token of the grant have expired.
    pub expires_at: u64,
}

/// The user a grant was made for. A grant is usable only while the user still
/// exists under that id, is enabled, and has the same epoch: a password change,
/// disabling or `end-sessions` moves the epoch on and so ends every grant at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantOwner {
    pub user_id: String,
    pub username: String,
    pub epoch: u64,
}

/// Live, or revoked with when and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GrantState {
    Live,
    Revoked { at: u64, reason: RevokeReason },
}

/// Why a grant ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokeReason {
    /// Its code was presented again (RFC 6749 §4.1.2).
    CodeReplay,
    /// A rotated-out refresh token was presented (RFC 9700 §4.14.2).
    RefreshReuse,
    /// The client revoked a refresh token of it (RFC 7009 §2.1).
    ClientRevocation,
    /// An operator ended it (`gatehouse grant revoke`).
    Operator,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeReplay => "code_replay",
            Self::RefreshReuse => "refresh_reuse",
            Self::ClientRevocation => "client_revocation",
            Self::Operator => "operator",
        }
    }
}

impl FromStr for RevokeReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Self::CodeReplay,
            Self::RefreshReuse,
            Self::ClientRevocation,
            Self::Operator,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| format!("unknown revocation reason `{s}`"))
    }
}

/// The grant's authorization code: stored by its hash, bound to the request it
/// was issued for (RFC 6749 §4.1.3, RFC 7636 §4.6), usable once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeState {
    pub hash: SecretHash,
    pub binding: CodeBinding,
    pub expires_at: u64,
    pub redeemed_at: Option<u64>,
}

/// The request an authorization code was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeBinding {
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri`; if so the token
    /// request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_in_request: bool,
    pub challenge: Option<CodeChallenge>,
    /// The request's `nonce`, echoed in the ID token issued for the code
    /// (OpenID Connect Core §3.1.2.1, §3.1.3.6).
    pub nonce: Option<String>,
}

/// The grant's current refresh token: its generation (the token carries it) and
/// when it expires. Every rotation moves the generation on by one, so exactly one
/// refresh token of a grant is ever live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshState {
    pub generation: u64,
    /// The generation presented to obtain this one (0: the code was).
    pub parent: u64,
    /// When this generation was issued.
    pub issued_at: u64,
    pub expires_at: u64,
}

impl Grant {
    pub fn is_live(&self) -> bool {
        self.state == GrantState::Live
    }
}

/// What a token request presents with an authorization code.
pub struct Redemption<'a> {
    pub client_id: &'a str,
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// Why a code is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Not this grant's code, another client's, or expired: nothing changes, and
    /// the code stays usable by its owner.
    Invalid,
    /// The owner presented it again after it was redeemed: the grant ends.
    Replay,
    /// The grant was revoked.
    Revoked,
    RedirectUriRequired,
    RedirectUriMismatch,
    Pkce(pkce::VerifierRefusal),
}

impl CodeRefusal {
    pub fn description(self) -> &'static str {
        match self {
            Self::Invalid | Self::Replay | Self::Revoked => {
                "the authorization code is invalid, expired or already used"
            }
            Self::RedirectUriRequired => {
                "redirect_uri is required: the authorization request had one"
            }
            Self::RedirectUriMismatch => "redirect_uri does not match the authorization request",
            Self::Pkce(p) => p.description(),
        }
    }
}

/// Checks a presented code against the grant, before anything is used up
/// (RFC 6749 §4.1.3, RFC 7636 §4.6): the code's hash, the client, expiry, the
/// redirect URI and the PKCE verifier. Only a code that passes every check and was
/// redeemed before is a replay; a wrong party's attempt changes nothing.
pub fn check_redemption(grant: &Grant, r: &Redemption<'_>, now: u64) -> Result<(), CodeRefusal> {
    if !grant.code.hash.matches(r.code) || grant.client_id != r.client_id {
        return Err(CodeRefusal::Invalid);
    }
    let binding = &grant.code.binding;
    // RFC 6749 §4.1.3: redirect_uri is required, and identical, when the
    // authorization request had one; when given otherwise it must still match.
    match r.redirect_uri {
        Some(given) if given == binding.redirect_uri => {}
        None if !binding.redirect_uri_in_request => {}
        None => return Err(CodeRefusal::RedirectUriRequired),
        Some(_) => return Err(CodeRefusal::RedirectUriMismatch),
    }
    pkce::check_verifier(binding.challenge.as_ref(), r.code_verifier).map_err(CodeRefusal::Pkce)?;
    if grant.code.redeemed_at.is_some() {
        return Err(if grant.is_live() {
            CodeRefusal::Replay
        } else {
            CodeRefusal::Revoked
        });
    }
    if !grant.is_live() {
        return Err(CodeRefusal::Revoked);
    }
    if now >= grant.code.expires_at {
        return Err(CodeRefusal::Invalid);
    }
    Ok(())
}

/// What to do with a presented refresh token of a grant (RFC 6749 §6, RFC 9700
/// §4.14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Issue generation `from + 1`, on the condition that `from` is still current.
    Rotate { from: u64 },
    /// A rotated-out token: end the grant.
    Reuse,
    /// Refuse, changing nothing.
    Refuse,
}

/// Decides a refresh with the token of generation `presented`, after its MAC has
/// verified (so the grant really issued it). `grace` is the operator's reuse
/// grace: the token whose use produced the current generation, presented again by
/// the same client less than `grace` seconds later, is taken for a retry whose
/// answer was lost and answered with a new pair (the current one, never seen by
/// the client, stops working); 0 turns this off. Any other older generation is a
/// reuse. A grant past its longest life (`max_lifetime` seconds after it was
/// made, [`grant_lifetime`]) refreshes no more.
pub fn decide_refresh(
    grant: &Grant,
    client_id: &str,
    presented: u64,
    now: u64,
    grace: u64,
    max_lifetime: u64,
) -> RefreshDecision {
    if grant.client_id != client_id
        || !grant.is_live()
        || grant_lifetime::has_ended(grant.created_at, max_lifetime, now)
    {
        return RefreshDecision::Refuse;
    }
    let Some(current) = grant.refresh else {
        return RefreshDecision::Refuse;
    };
    if presented > current.generation || presented == 0 {
        return RefreshDecision::Refuse;
    }
    if presented < current.generation {
        let retry = presented == current.parent
            && now.saturating_sub(current.issued_at) < grace
            && now < current.expires_at;
        return if retry {
            RefreshDecision::Rotate {
                from: current.generation,
            }
        } else {
            RefreshDecision::Reuse
        };
    }
    if now >= current.expires_at {
        return RefreshDecision::Refuse;
    }
    RefreshDecision::Rotate {
        from: current.generation,
    }
}

/// Whether the refresh token of generation `presented` is the grant's live one
/// (RFC 7662 §2.2: a rotated-out token, or one of a grant past its longest life,
/// is inactive).
pub fn is_current_refresh(grant: &Grant, presented: u64, now: u64, max_lifetime: u64) -> bool {
    grant.is_live()
        && !grant_lifetime::has_ended(grant.created_at, max_lifetime, now)
        && grant
            .refresh
            .is_some_and(|r| r.generation == presented && now < r.expires_at)
}

/// When the refresh token of the grant expires: its own expiry, or the grant's
/// end if sooner (a token stored before the grant's life was capped).
pub fn refresh_expiry(grant: &Grant, refresh: &RefreshState, max_lifetime: u64) -> u64 {
    refresh
        .expires_at
        .min(grant_lifetime::ends_at(grant.created_at, max_lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pkce::ChallengeMethod;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn grant() -> Grant {
        Grant {
            grant_id: "g".into(),
            client_id: "c".into(),
            user: GrantOwner {
                user_id: "u".into(),
                username: "alice".into(),
                epoch: 0,
            },
            scope: Scope::parse("read").unwrap(),
            created_at: 100,
            last_used_at: 100,
            session_id: "s".into(),
            auth_time: 90,
            amr: "pwd".into(),
            state: GrantState::Live,
            code: CodeState {
                hash: SecretHash::of("the-code"),
                binding: CodeBinding {
                    redirect_uri: "https://app/cb".into(),
                    redirect_uri_in_request: true,
                    challenge: Some(CodeChallenge {
                        challenge: CHALLENGE.into(),
                        method: ChallengeMethod::S256,
                    }),
                    nonce: None,
                },
                expires_at: 160,
                redeemed_at: None,
            },
            refresh: None,
            expires_at: 1000,
        }
    }

    fn redemption<'a>() -> Redemption<'a> {
        Redemption {
            client_id: "c",
            code: "the-code",
            redirect_uri: Some("https://app/cb"),
            code_verifier: Some(VERIFIER),
        }
    }

    #[test]
    fn a_code_is_checked_against_its_binding_before_anything_is_used() {
        use CodeRefusal as R;
        use pkce::VerifierRefusal as V;
        let revoked = Grant {
            state: GrantState::Revoked {
                at: 120,
                reason: RevokeReason::Operator,
            },
            ..grant()
        };
        let mut redeemed = grant();
        redeemed.code.redeemed_at = Some(110);
        let mut no_uri_in_request = grant();
        no_uri_in_request.code.binding.redirect_uri_in_request = false;
        type Case<'a> = (&'a str, Grant, Redemption<'a>, u64, Result<(), CodeRefusal>);
        let cases: Vec<Case> = vec![
            ("the owner, in time", grant(), redemption(), 120, Ok(())),
            ("expired", grant(), redemption(), 160, Err(R::Invalid)),
            (
                "another code value",
                grant(),
                Redemption {
                    code: "forged",
                    ..redemption()
                },
                120,
                Err(R::Invalid),
            ),
            (
                "another client",
                grant(),
                Redemption {
                    client_id: "other",
                    ..redemption()
                },
                120,
                Err(R::Invalid),
            ),
            (
                "no redirect_uri although the request had one",
                grant(),
                Redemption {
                    redirect_uri: None,
                    ..redemption()
                },
                120,
                Err(R::RedirectUriRequired),
            ),
            (
                "another redirect_uri",
                grant(),
                Redemption {
                    redirect_uri: Some("https://app/cb2"),
                    ..redemption()
                },
                120,
                Err(R::RedirectUriMismatch),
            ),
            (
                "no redirect_uri, none in the request",
                no_uri_in_request.clone(),
                Redemption {
                    redirect_uri: None,
                    ..redemption()
                },
                120,
                Ok(()),
            ),
            (
                "a wrong verifier",
                grant(),
                Redemption {
                    code_verifier: Some(&CHALLENGE[..43]),
                    ..redemption()
                },
                120,
                Err(R::Pkce(V::Mismatch)),
            ),
            (
                "no verifier",
                grant(),
                Redemption {
                    code_verifier: None,
                    ..redemption()
                },
                120,
                Err(R::Pkce(V::Missing)),
            ),
            (
                "redeemed before",
                redeemed.clone(),
                redemption(),
                120,
                Err(R::Replay),
            ),
            (
                "redeemed before, by another client",
                redeemed.clone(),
                Redemption {
                    client_id: "other",
                    ..redemption()
                },
                120,
                Err(R::Invalid),
            ),
            (
                "redeemed before, wrong verifier",
                redeemed.clone(),
                Redemption {
                    code_verifier: None,
                    ..redemption()
                },
                120,
                Err(R::Pkce(V::Missing)),
            ),
            (
                "revoked grant",
                revoked.clone(),
                redemption(),
                120,
                Err(R::Revoked),
            ),
        ];
        for (name, g, r, now, want) in cases {
            assert_eq!(check_redemption(&g, &r, now), want, "{name}");
        }
    }

    fn refreshable(generation: u64, issued_at: u64) -> Grant {
        Grant {
            refresh: Some(RefreshState {
                generation,
                parent: generation - 1,
                issued_at,
                expires_at: 500,
            }),
            ..grant()
        }
    }

    #[test]
    fn refresh_decisions() {
        use RefreshDecision as D;
        let revoked = Grant {
            state: GrantState::Revoked {
                at: 120,
                reason: RevokeReason::RefreshReuse,
            },
            ..refreshable(3, 200)
        };
        // Generation 3 answered a retry of 1: generation 2 was never seen by the client.
        let mut retried = refreshable(3, 200);
        retried.refresh.as_mut().unwrap().parent = 1;
        // (case, grant, client, presented, now, grace, decision)
        let cases: Vec<(&str, Grant, &str, u64, u64, u64, RefreshDecision)> = vec![
            (
                "current",
                refreshable(3, 200),
                "c",
                3,
                210,
                0,
                D::Rotate { from: 3 },
            ),
            ("expired", refreshable(3, 200), "c", 3, 500, 0, D::Refuse),
            (
                "another client",
                refreshable(3, 200),
                "x",
                3,
                210,
                0,
                D::Refuse,
            ),
            (
                "another client, old",
                refreshable(3, 200),
                "x",
                1,
                210,
                0,
                D::Refuse,
            ),
            ("rotated out", refreshable(3, 200), "c", 2, 210, 0, D::Reuse),
            (
                "long rotated out",
                refreshable(3, 200),
                "c",
                1,
                210,
                0,
                D::Reuse,
            ),
            (
                "rotated out, in grace",
                refreshable(3, 200),
                "c",
                2,
                205,
                10,
                D::Rotate { from: 3 },
            ),
            (
                "rotated out, after grace",
                refreshable(3, 200),
                "c",
                2,
                210,
                10,
                D::Reuse,
            ),
            (
                "two back, in grace",
                refreshable(3, 200),
                "c",
                1,
                205,
                10,
                D::Reuse,
            ),
            (
                "retried twice, in grace",
                retried.clone(),
                "c",
                1,
                205,
                10,
                D::Rotate { from: 3 },
            ),
            (
                "the lost successor, in grace",
                retried,
                "c",
                2,
                205,
                10,
                D::Reuse,
            ),
            (
                "from the future",
                refreshable(3, 200),
                "c",
                4,
                210,
                0,
                D::Refuse,
            ),
            (
                "generation 0",
                refreshable(3, 200),
                "c",
                0,
                210,
                0,
                D::Refuse,
            ),
            ("revoked grant", revoked, "c", 3, 210, 0, D::Refuse),
            ("no refresh token", grant(), "c", 1, 210, 0, D::Refuse),
        ];
        for (name, g, client, presented, now, grace, want) in cases {
            assert_eq!(
                decide_refresh(&g, client, presented, now, grace, NO_CAP),
                want,
                "{name}"
            );
        }
    }

    /// A cap that never ends a grant in these tests.
    const NO_CAP: u64 = u64::MAX;

    #[test]
    fn a_grant_past_its_longest_life_refreshes_no_more() {
        use RefreshDecision as D;
        // Made at 100, capped at 300 seconds: it ends at 400.
        let g = refreshable(3, 200);
        assert_eq!(
            decide_refresh(&g, "c", 3, 399, 0, 300),
            D::Rotate { from: 3 }
        );
        assert_eq!(decide_refresh(&g, "c", 3, 400, 0, 300), D::Refuse);
        assert_eq!(decide_refresh(&g, "c", 3, 450, 0, 300), D::Refuse);
        // Not even as a retry within the grace.
        assert_eq!(
            decide_refresh(&g, "c", 2, 205, 10, 300),
            D::Rotate { from: 3 }
        );
        let late = refreshable(3, 395);
        assert_eq!(
            decide_refresh(&late, "c", 2, 399, 10, 300),
            D::Rotate { from: 3 }
        );
        assert_eq!(decide_refresh(&late, "c", 2, 400, 10, 300), D::Refuse);
        assert!(is_current_refresh(&g, 3, 399, 300));
        assert!(!is_current_refresh(&g, 3, 400, 300));
        // A stored expiry past the end is cut to the end.
        let r = g.refresh.unwrap();
        assert_eq!(refresh_expiry(&g, &r, 300), 400);
        assert_eq!(refresh_expiry(&g, &r, NO_CAP), 500);
    }

    #[test]
    fn only_the_current_generation_is_active() {
        let g = refreshable(3, 200);
        assert!(is_current_refresh(&g, 3, 499, NO_CAP));
        assert!(!is_current_refresh(&g, 3, 500, NO_CAP));
        assert!(!is_current_refresh(&g, 2, 300, NO_CAP));
        assert!(!is_current_refresh(&grant(), 1, 300, NO_CAP));
    }

    #[test]
    fn revocation_reasons_round_trip() {
        for r in [
            RevokeReason::CodeReplay,
            RevokeReason::RefreshReuse,
            RevokeReason::ClientRevocation,
            RevokeReason::Operator,
        ] {
            assert_eq!(r.as_str().parse::<RevokeReason>().unwrap(), r);
        }
        assert!("x".parse::<RevokeReason>().is_err());
    }
}
