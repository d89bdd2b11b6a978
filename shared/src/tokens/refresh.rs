//! Refresh token values (RFC 6749 §6, §10.4; RFC 9700 §4.14.2).
//!
//! A refresh token is `{grant_id}.{generation}.{mac}`, the MAC an HMAC-SHA-256 of
//! the grant id and generation under the deployment's refresh key. The grant keeps
//! only its current generation, so storage per grant is one record however often
//! it rotates; yet every token the grant ever issued is recognised: a verified MAC
//! of an older generation is a rotated-out token (reuse), while a forged value,
//! even one carrying a real grant id, fails the MAC and touches nothing.

use super::presented::PresentedRefresh;
use crate::secret::{Secret, constant_time_eq};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

fn mac(key: &Secret, grant_id: &str, generation: u64) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes());
    let mut ctx = hmac::Context::with_key(&k);
    ctx.update(b"refresh_token\0");
    ctx.update(grant_id.as_bytes());
    ctx.update(b"\0");
    ctx.update(generation.to_string().as_bytes());
    URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
}

/// The refresh token of `generation` of grant `grant_id`.
pub fn mint(key: &Secret, grant_id: &str, generation: u64) -> Secret {
    Secret::new(format!(
        "{grant_id}.{generation}.{}",
        mac(key, grant_id, generation)
    ))
}

/// Whether this server issued the presented token (constant-time comparison).
pub fn verify(key: &Secret, presented: &PresentedRefresh<'_>) -> bool {
    constant_time_eq(
        mac(key, presented.grant_id, presented.generation).as_bytes(),
        presented.mac.as_bytes(),
    )
}

/// Whether this deployment issued the presented token, reading (never creating)
/// the refresh key.
pub async fn issued_here(
    app: &crate::app::App,
    presented: &PresentedRefresh<'_>,
) -> Result<bool, crate::store::StoreError> {
    Ok(match app.existing_refresh_key().await? {
        Some(key) => verify(&key, presented),
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::presented::refresh;

    #[test]
    fn a_minted_token_verifies_and_a_forged_one_does_not() {
        let key = Secret::new("k".repeat(43));
        let t = mint(&key, "grant1", 3);
        let p = refresh(t.expose()).unwrap();
        assert_eq!((p.grant_id, p.generation), ("grant1", 3));
        assert!(verify(&key, &p));
        assert!(!verify(&Secret::new("other"), &p));
        let other_generation = t.expose().replace(".3.", ".4.");
        assert!(!verify(&key, &refresh(&other_generation).unwrap()));
        let other_grant = t.expose().replace("grant1", "grant2");
        assert!(!verify(&key, &refresh(&other_grant).unwrap()));
    }
}
