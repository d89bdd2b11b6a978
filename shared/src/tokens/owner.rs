//! "The owner is still valid": a grant's or session's user still exists under the
//! same id (not deleted, not re-created under the name), is enabled, and is at the
//! same epoch (no password change, disabling or `end-sessions` since). One rule
//! for the authorization endpoint, the grants, introspection and the authorizer.

use crate::app::App;
use crate::domain::grant::GrantOwner;
use crate::domain::user::UserState;
use crate::store::{StoreError, UserStore};

/// Whether the owner is still valid, reading the user's state (one `GetItem`,
/// without the password hash).
pub async fn still_valid(app: &App, owner: &GrantOwner) -> Result<bool, StoreError> {
    let user = app.store.get_user_state(&owner.username).await?;
    Ok(is_valid(user.as_ref(), owner))
}

pub fn is_valid(user: Option<&UserState>, owner: &GrantOwner) -> bool {
    user.is_some_and(|u| !u.disabled && u.user_id == owner.user_id && u.epoch == owner.epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_must_be_the_same_enabled_user_at_the_same_epoch() {
        let owner = GrantOwner {
            user_id: "u1".into(),
            username: "alice".into(),
            epoch: 2,
        };
        let state = |user_id: &str, disabled, epoch| UserState {
            username: "alice".into(),
            user_id: user_id.into(),
            disabled,
            epoch,
        };
        assert!(is_valid(Some(&state("u1", false, 2)), &owner));
        assert!(!is_valid(None, &owner), "deleted");
        assert!(
            !is_valid(Some(&state("u2", false, 2)), &owner),
            "re-created"
        );
        assert!(!is_valid(Some(&state("u1", true, 2)), &owner), "disabled");
        assert!(
            !is_valid(Some(&state("u1", false, 3)), &owner),
            "password changed"
        );
    }
}
