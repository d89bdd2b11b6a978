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
