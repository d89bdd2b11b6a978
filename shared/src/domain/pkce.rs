//! Proof Key for Code Exchange (RFC 7636).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::str::FromStr;

/// `code_challenge_method` (RFC 7636 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeMethod {
    /// `BASE64URL(SHA256(verifier))`: the one every client should use.
    S256,
    /// The challenge is the verifier itself; off unless a deployment allows it.
    Plain,
}

impl ChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

impl FromStr for ChallengeMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "S256" => Ok(Self::S256),
            "plain" => Ok(Self::Plain),
            other => Err(format!("unknown code_challenge_method `{other}`")),
        }
    }
}

/// A code challenge bound to an authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge {
    pub challenge: String,
    pub method: ChallengeMethod,
}

/// Whether `s` has the syntax of a code verifier, and so of a code challenge:
/// 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`
/// (RFC 7636 §4.1, §4.2).
pub fn is_valid_verifier_syntax(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `s` can be an `S256` challenge at all: `BASE64URL(SHA256(verifier))`
/// is the unpadded base64url encoding of 32 bytes (RFC 7636 §4.2, Appendix A),
/// so exactly 43 characters of `[A-Za-z0-9-_]` whose unused low bits are zero.
/// Any other challenge, though within the 43 to 128 characters a verifier may
/// have, could never be answered.
pub fn is_s256_challenge(s: &str) -> bool {
    s.len() == 43 && URL_SAFE_NO_PAD.decode(s).is_ok_and(|b| b.len() == 32)
}

impl CodeChallenge {
    /// Whether `verifier` answers this challenge (RFC 7636 §4.6), compared in
    /// constant time.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_valid_verifier_syntax(verifier) {
            return false;
        }
        let expected = match self.method {
            ChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(ring::digest::digest(
                &ring::digest::SHA256,
                verifier.as_bytes(),
            )),
            ChallengeMethod::Plain => verifier.to_owned(),
        };
        crate::secret::constant_time_eq(expected.as_bytes(), self.challenge.as_bytes())
    }
}

/// The PKCE policy at the authorization endpoint (RFC 7636 §4.3, RFC 9700
/// §2.1.1): a challenge is required from public clients, from a client
/// registered with `client_requires`, and from all when the deployment's
/// `require` says so; `S256` unless `allow_plain`; well formed: an `S256`
/// challenge is exactly 43 base64url characters ([`is_s256_challenge`]), a
/// `plain` one 43 to 128 unreserved characters (§4.2).
pub fn challenge_for_request(
    public_client: bool,
    client_requires: bool,
    require: bool,
    allow_plain: bool,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<CodeChallenge>, &'static str> {
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err("code_challenge_method without code_challenge");
        }
        if public_client {
            return Err("PKCE is required: send code_challenge with code_challenge_method=S256");
        }
        if client_requires {
            return Err(
                "PKCE is required for this client: send code_challenge with code_challenge_method=S256",
            );
        }
        if require {
            return Err(
                "PKCE is required by this server: send code_challenge with code_challenge_method=S256",
            );
        }
        return Ok(None);
    };
    // RFC 7636 §4.3: an absent method means plain.
    let method = match method.unwrap_or("plain").parse::<ChallengeMethod>() {
        Ok(m) => m,
        Err(_) => return Err("code_challenge_method must be S256"),
    };
    if method == ChallengeMethod::Plain && !allow_plain {
        return Err("code_challenge_method must be S256 (plain is not allowed)");
    }
    match method {
        ChallengeMethod::S256 if !is_s256_challenge(challenge) => {
            return Err(
                "an S256 code_challenge is 43 base64url characters: BASE64URL(SHA256(code_verifier)) without padding",
            );
        }
        ChallengeMethod::Plain if !is_valid_verifier_syntax(challenge) => {
            return Err("a plain code_challenge must be 43 to 128 unreserved characters");
        }
        _ => {}
    }
    Ok(Some(CodeChallenge {
        challenge: challenge.to_owned(),
        method,
    }))
}

/// Why a token request's `code_verifier` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifierRefusal {
    Missing,
    Mismatch,
    /// A verifier for a code issued without a challenge (RFC 9700 §4.8.2: a PKCE
    /// downgrade).
    Unexpected,
}

impl VerifierRefusal {
    pub fn description(self) -> &'static str {
        match self {
            Self::Missing => "code_verifier is required",
            Self::Mismatch => "the code_verifier does not match the code_challenge",
            Self::Unexpected => {
                "code_verifier given, but the authorization request had no code_challenge"
            }
        }
    }
}

/// The PKCE check at the token endpoint (RFC 7636 §4.6).
pub fn check_verifier(
    challenge: Option<&CodeChallenge>,
    verifier: Option<&str>,
) -> Result<(), VerifierRefusal> {
    match (challenge, verifier) {
        (Some(c), Some(v)) if c.verify(v) => Ok(()),
        (Some(_), Some(_)) => Err(VerifierRefusal::Mismatch),
        (Some(_), None) => Err(VerifierRefusal::Missing),
        (None, Some(_)) => Err(VerifierRefusal::Unexpected),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        let c = CodeChallenge {
            challenge: CHALLENGE.into(),
            method: ChallengeMethod::S256,
        };
        assert!(c.verify(VERIFIER));
        assert!(!c.verify(&VERIFIER.replace('d', "e")));
        assert!(
            !c.verify(CHALLENGE),
            "the challenge is not its own verifier"
        );
    }

    #[test]
    fn the_token_request_verifier_check() {
        let c = CodeChallenge {
            challenge: CHALLENGE.into(),
            method: ChallengeMethod::S256,
        };
        assert_eq!(check_verifier(Some(&c), Some(VERIFIER)), Ok(()));
        assert_eq!(
            check_verifier(Some(&c), Some(CHALLENGE)),
            Err(VerifierRefusal::Mismatch)
        );
        assert_eq!(
            check_verifier(Some(&c), None),
            Err(VerifierRefusal::Missing)
        );
        assert_eq!(
            check_verifier(None, Some(VERIFIER)),
            Err(VerifierRefusal::Unexpected)
        );
        assert_eq!(check_verifier(None, None), Ok(()));
    }

    #[test]
    fn the_authorization_request_policy() {
        let ok = |public, require, plain, c, m| {
            challenge_for_request(public, false, require, plain, c, m)
        };
        assert_eq!(ok(false, false, false, None, None), Ok(None));
        assert!(ok(true, false, false, None, None).is_err());
        assert!(ok(false, true, false, None, None).is_err());
        assert!(ok(false, false, false, None, Some("S256")).is_err());
        assert!(
            ok(false, false, false, Some(CHALLENGE), None).is_err(),
            "plain by default"
        );
        assert!(
            ok(false, false, true, Some(CHALLENGE), None)
                .unwrap()
                .is_some()
        );
        assert!(
            ok(true, false, false, Some(CHALLENGE), Some("S256"))
                .unwrap()
                .is_some()
        );
        assert!(ok(true, false, false, Some("short"), Some("S256")).is_err());
        let (longest, too_long) = ("a".repeat(128), "a".repeat(129));
        assert!(
            challenge_for_request(false, false, false, true, Some(&longest), Some("plain"))
                .unwrap()
                .is_some(),
            "plain keeps 43 to 128"
        );
        assert!(
            challenge_for_request(false, false, false, true, Some(&too_long), Some("plain"))
                .is_err()
        );
        assert!(ok(true, false, false, Some(CHALLENGE), Some("S512")).is_err());
    }

    #[test]
    fn a_client_registered_to_require_pkce_needs_a_challenge_whatever_the_deployment() {
        let e = challenge_for_request(false, true, false, false, None, None).unwrap_err();
        assert!(e.contains("required for this client"), "{e}");
        assert!(challenge_for_request(false, true, true, false, None, None).is_err());
        assert!(challenge_for_request(false, true, false, false, None, Some("S256")).is_err());
        assert!(
            challenge_for_request(false, true, false, false, Some(CHALLENGE), None).is_err(),
            "still S256 only"
        );
        assert_eq!(
            challenge_for_request(false, true, false, false, Some(CHALLENGE), Some("S256")),
            Ok(Some(CodeChallenge {
                challenge: CHALLENGE.into(),
                method: ChallengeMethod::S256
            }))
        );
        assert_eq!(
            challenge_for_request(false, false, false, false, None, None),
            Ok(None)
        );
    }

    #[test]
    fn an_s256_challenge_is_exactly_43_base64url_characters() {
        let s256 =
            |c: &str| challenge_for_request(true, false, false, false, Some(c), Some("S256"));
        assert!(s256(CHALLENGE).unwrap().is_some());
        // Every BASE64URL(SHA256(..)) is accepted.
        for v in [VERIFIER, &"~".repeat(128), &"0".repeat(43)] {
            let c =
                URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, v.as_bytes()));
            assert!(s256(&c).unwrap().is_some(), "{c}");
        }
        let refused = [
            format!("{CHALLENGE}A"),
            format!("{CHALLENGE}{}", "A".repeat(85)),
            "A".repeat(44),
            "A".repeat(128),
            CHALLENGE[..42].to_owned(),
            // 43 characters that are no encoding of 32 bytes: unused bits set.
            format!("{}b", &CHALLENGE[..42]),
            "a".repeat(43),
            // Verifier characters outside base64url.
            format!("{}.", &CHALLENGE[..42]),
            format!("{}~", &CHALLENGE[..42]),
            format!("{CHALLENGE}="),
            format!("{}+", &CHALLENGE[..42]),
        ];
        for c in refused {
            assert!(s256(&c).is_err(), "{c}");
            assert!(!is_s256_challenge(&c), "{c}");
        }
    }

    #[test]
    fn plain_compares_the_verifier_itself() {
        let c = CodeChallenge {
            challenge: VERIFIER.into(),
            method: ChallengeMethod::Plain,
        };
        assert!(c.verify(VERIFIER));
        assert!(!c.verify(CHALLENGE));
    }

    #[test]
    fn verifier_syntax_is_43_to_128_unreserved_characters() {
        assert!(is_valid_verifier_syntax(&"a".repeat(43)));
        assert!(is_valid_verifier_syntax(&"~._-".repeat(32)));
        assert!(!is_valid_verifier_syntax(&"a".repeat(42)));
        assert!(!is_valid_verifier_syntax(&"a".repeat(129)));
        assert!(!is_valid_verifier_syntax(&format!("{}+", "a".repeat(42))));
        assert!(!is_valid_verifier_syntax(&format!("{} ", "a".repeat(43))));
        let c = CodeChallenge {
            challenge: "a".repeat(42),
            method: ChallengeMethod::Plain,
        };
        assert!(!c.verify(&"a".repeat(42)), "short verifiers never verify");
    }
}
