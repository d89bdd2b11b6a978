//! A UserInfo answer from an upstream provider is about the ID token's user:
//! OpenID Connect Core 1.0 §5.3.2 says the `sub` of the UserInfo Response must
//! be verified to exactly match the ID token's, and if they differ the answer's
//! values must not be used (a token substitution would otherwise mix two users'
//! claims).

use serde_json::Value;

/// Why a UserInfo answer may not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserinfoSubjectError {
    /// The answer is not a JSON object.
    NotAnObject,
    /// The answer has no `sub`, or not a string.
    MissingSub,
    /// Its `sub` is not the ID token's.
    Mismatch,
}

impl std::fmt::Display for UserinfoSubjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotAnObject => "the UserInfo answer is not a JSON object",
            Self::MissingSub => "the UserInfo answer has no sub string",
            Self::Mismatch => "the UserInfo answer's sub is not the ID token's",
        })
    }
}

impl std::error::Error for UserinfoSubjectError {}

/// Checks that `userinfo` is about `id_token_sub`, compared exactly (no case
/// folding, no trimming).
pub fn check(id_token_sub: &str, userinfo: &Value) -> Result<(), UserinfoSubjectError> {
    let Value::Object(claims) = userinfo else {
        return Err(UserinfoSubjectError::NotAnObject);
    };
    match claims.get("sub") {
        Some(Value::String(sub)) if sub == id_token_sub => Ok(()),
        Some(Value::String(_)) => Err(UserinfoSubjectError::Mismatch),
        _ => Err(UserinfoSubjectError::MissingSub),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn another_or_no_subject_is_refused() {
        for (answer, err) in [
            (
                json!({"sub": "248289761002"}),
                UserinfoSubjectError::Mismatch,
            ),
            (
                json!({"sub": "248289761001 "}),
                UserinfoSubjectError::Mismatch,
            ),
            (json!({"sub": "ABC"}), UserinfoSubjectError::Mismatch),
            (json!({"sub": ""}), UserinfoSubjectError::Mismatch),
            (
                json!({"email": "jane@example.com"}),
                UserinfoSubjectError::MissingSub,
            ),
            (
                json!({"sub": 248289761001u64}),
                UserinfoSubjectError::MissingSub,
            ),
            (json!({"sub": null}), UserinfoSubjectError::MissingSub),
            (json!(["248289761001"]), UserinfoSubjectError::NotAnObject),
            (json!("248289761001"), UserinfoSubjectError::NotAnObject),
        ] {
            let sub = if answer == json!({"sub": "ABC"}) {
                "abc"
            } else {
                "248289761001"
            };
            assert_eq!(check(sub, &answer), Err(err), "{answer}");
        }
    }

    #[test]
    fn the_same_subject_is_accepted() {
        let answer = json!({"sub": "248289761001", "email": "jane@example.com"});
        assert_eq!(check("248289761001", &answer), Ok(()));
    }
}
