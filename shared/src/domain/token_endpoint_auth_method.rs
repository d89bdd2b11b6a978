//! The client authentication method a client registers (RFC 7591 §2
//! `token_endpoint_auth_method`) and the rule that it is the only one the client
//! may use at the token, introspection and revocation endpoints.

use crate::domain::client::ClientType;
use std::fmt;
use std::str::FromStr;

/// `token_endpoint_auth_method` values Gatehouse implements (RFC 7591 §2, the
/// names OpenID Connect Discovery 1.0 §3 lists in
/// `token_endpoint_auth_methods_supported`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenEndpointAuthMethod {
    /// The `Authorization: Basic` header (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A public client naming itself with `client_id` only (RFC 7591 §2).
    None,
}

impl TokenEndpointAuthMethod {
    pub const ALL: [Self; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    /// Whether the method presents a client secret.
    pub fn uses_secret(self) -> bool {
        self != Self::None
    }

    /// The method a registration gets when it names none: `client_secret_basic`
    /// for a confidential client (RFC 7591 §2: "If unspecified or omitted, the
    /// default is client_secret_basic"), `none` for a public one, which has no
    /// secret (RFC 6749 §2.1).
    pub fn default_for(client_type: ClientType) -> Self {
        match client_type {
            ClientType::Confidential => Self::ClientSecretBasic,
            ClientType::Public => Self::None,
        }
    }

    /// Whether a client of `client_type` may register this method: a confidential
    /// client has a secret and must present it, a public client has none (RFC 6749
    /// §2.1, RFC 7591 §2).
    pub fn check_registration(self, client_type: ClientType) -> Result<(), String> {
        match (client_type, self.uses_secret()) {
            (ClientType::Confidential, false) => {
                Err("a confidential client authenticates with its secret: \
                 token endpoint auth method client_secret_basic or client_secret_post, not none"
                    .into())
            }
            (ClientType::Public, true) => Err(format!(
                "a public client has no secret: its token endpoint auth method is none, not {}",
                self.as_str()
            )),
            _ => Ok(()),
        }
    }

    /// Whether a client registered with `registered` (of `client_type`) may
    /// authenticate with `used`. A client registered with a method must use it.
    /// A client stored before the method was recorded (`registered` is `None`)
    /// keeps what it could always do: a confidential client either secret method,
    /// a public client `none`.
    pub fn accepts(
        registered: Option<Self>,
        client_type: ClientType,
        used: TokenEndpointAuthMethod,
    ) -> bool {
        match registered {
            Some(m) => m == used,
            None => match client_type {
                ClientType::Confidential => used.uses_secret(),
                ClientType::Public => !used.uses_secret(),
            },
        }
    }
}

impl FromStr for TokenEndpointAuthMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown token endpoint auth method `{s}` \
                     (expected client_secret_basic, client_secret_post or none)"
                )
            })
    }
}

impl fmt::Display for TokenEndpointAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenEndpointAuthMethod::{self, ClientSecretBasic, ClientSecretPost, None};
    use crate::domain::client::ClientType::{Confidential, Public};

    #[test]
    fn mismatched_registrations_are_refused() {
        let e = None.check_registration(Confidential).unwrap_err();
        assert!(e.contains("confidential") && e.contains("none"), "{e}");
        for m in [ClientSecretBasic, ClientSecretPost] {
            let e = m.check_registration(Public).unwrap_err();
            assert!(e.contains("public") && e.contains(m.as_str()), "{e}");
        }
        assert!(ClientSecretBasic.check_registration(Confidential).is_ok());
        assert!(ClientSecretPost.check_registration(Confidential).is_ok());
        assert!(None.check_registration(Public).is_ok());
    }

    #[test]
    fn defaults_are_basic_for_confidential_and_none_for_public_clients() {
        assert_eq!(
            TokenEndpointAuthMethod::default_for(Confidential),
            ClientSecretBasic
        );
        assert_eq!(TokenEndpointAuthMethod::default_for(Public), None);
        for t in [Confidential, Public] {
            assert!(
                TokenEndpointAuthMethod::default_for(t)
                    .check_registration(t)
                    .is_ok()
            );
        }
    }

    #[test]
    fn a_registered_method_is_the_only_one_accepted() {
        for registered in TokenEndpointAuthMethod::ALL {
            let t = if registered.uses_secret() {
                Confidential
            } else {
                Public
            };
            for used in TokenEndpointAuthMethod::ALL {
                assert_eq!(
                    TokenEndpointAuthMethod::accepts(Some(registered), t, used),
                    registered == used,
                    "{registered} used as {used}"
                );
            }
        }
    }

    #[test]
    fn clients_stored_without_a_method_keep_what_they_could_do() {
        let accepts = |t, used| TokenEndpointAuthMethod::accepts(Option::None, t, used);
        assert!(accepts(Confidential, ClientSecretBasic));
        assert!(accepts(Confidential, ClientSecretPost));
        assert!(!accepts(Confidential, None));
        assert!(accepts(Public, None));
        assert!(!accepts(Public, ClientSecretBasic));
        assert!(!accepts(Public, ClientSecretPost));
    }

    #[test]
    fn methods_round_trip_their_wire_names() {
        for m in TokenEndpointAuthMethod::ALL {
            assert_eq!(m.as_str().parse::<TokenEndpointAuthMethod>(), Ok(m));
        }
        for bad in [
            "private_key_jwt",
            "client_secret_jwt",
            "",
            "Client_Secret_Basic",
        ] {
            assert!(bad.parse::<TokenEndpointAuthMethod>().is_err(), "{bad}");
        }
    }
}
