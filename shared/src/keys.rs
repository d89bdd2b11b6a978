//! Signing keys: generation, the JWKS (RFC 7517), and rotation.
//!
//! A deployment holds at most one `active` key (it signs), one `next` key (published
//! in the JWKS before it ever signs, so that verifiers have cached it by the time it
//! does), and `retired` keys (published until the last token they signed expires).
//! `kid` is the key's RFC 7638 thumbprint.
//!
//! A key's public record ([`StoredKey`]: the JWK and its status) and its private
//! half ([`PrivateKeyDer`]) are stored apart: the public records in the keys table,
//! which every verifier and the JWKS read; the private halves in the secrets table,
//! which only the function that signs may read (see template.yaml).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use std::fmt;
use std::str::FromStr;

/// Algorithms Gatehouse signs access tokens with. RS256 is the default because API
/// Gateway's JWT authorizer verifies only RSA signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Rs256,
    Es256,
}

impl SigningAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

impl FromStr for SigningAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            other => Err(format!(
                "unsupported signing algorithm `{other}` (RS256 or ES256)"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Next,
    Active,
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

impl FromStr for KeyStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "next" => Ok(Self::Next),
            "active" => Ok(Self::Active),
            "retired" => Ok(Self::Retired),
            other => Err(format!("unknown key status `{other}`")),
        }
    }
}

/// A private key in DER (PKCS#1 for RSA, PKCS#8 for EC). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyDer(pub Vec<u8>);

impl fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The public record of a signing key, as the keys table keeps it: no private
/// material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub status: KeyStatus,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    pub created_at: u64,
    pub activated_at: Option<u64>,
    pub retired_at: Option<u64>,
    /// Retired keys stay in the JWKS until then.
    pub publish_until: Option<u64>,
}

/// A freshly generated key: its public record and its private half, stored apart.
#[derive(Clone, Debug)]
pub struct KeyPair {
    pub public: StoredKey,
    pub private: PrivateKeyDer,
}

impl KeyPair {
    /// Generates a fresh key pair with status `status`.
    pub fn generate(alg: SigningAlgorithm, status: KeyStatus, now: u64) -> Result<Self, String> {
        let der = match alg {
            SigningAlgorithm::Rs256 => {
                use aws_lc_rs::encoding::AsDer;
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(|_| "RSA key generation failed")?;
                let pkcs8 = pair.as_der().map_err(|_| "RSA key encoding failed")?;
                pkcs1_from_pkcs8(pkcs8.as_ref()).ok_or("RSA key encoding is not PKCS#8")?
            }
            SigningAlgorithm::Es256 => {
                let rng = ring::rand::SystemRandom::new();
                ring::signature::EcdsaKeyPair::generate_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &rng,
                )
                .map_err(|_| "EC key generation failed")?
                .as_ref()
                .to_vec()
            }
        };
        let private_der = PrivateKeyDer(der);
        let mut jwk = Jwk::from_encoding_key(&encoding_key(alg, &private_der), alg.jwt_algorithm())
            .map_err(|e| format!("public key extraction failed: {e}"))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| format!("thumbprint failed: {e}"))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            public: StoredKey {
                kid,
                alg,
                status,
                public_jwk: serde_json::to_string(&jwk).map_err(|e| e.to_string())?,
                created_at: now,
                activated_at: (status == KeyStatus::Active).then_some(now),
                retired_at: None,
                publish_until: None,
            },
            private: private_der,
        })
    }
}

impl StoredKey {
    /// Whether the key belongs in the JWKS at `now`.
    pub fn is_published(&self, now: u64) -> bool {
        match self.status {
            KeyStatus::Next | KeyStatus::Active => true,
            KeyStatus::Retired => self.publish_until.is_some_and(|t| now < t),
        }
    }
}

fn encoding_key(alg: SigningAlgorithm, der: &PrivateKeyDer) -> EncodingKey {
    match alg {
        SigningAlgorithm::Rs256 => EncodingKey::from_rsa_der(&der.0),
        SigningAlgorithm::Es256 => EncodingKey::from_ec_der(&der.0),
    }
}

/// The RSAPrivateKey (PKCS#1) inside a PKCS#8 PrivateKeyInfo (RFC 5208 §5):
/// `SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING privateKey, ... }`.
fn pkcs1_from_pkcs8(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (tag, info, _) = der_element(pkcs8)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _, rest) = der_element(info)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, _, rest) = der_element(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, key, _) = der_element(rest)?;
    (tag == 0x04).then(|| key.to_vec())
}

/// Splits one DER element off `input`: (tag, content, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, input) = input.split_first()?;
    let (len, input) = if first < 0x80 {
        (first as usize, input)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || input.len() < n {
            return None;
        }
        let len = input[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &input[n..])
    };
    (input.len() >= len).then(|| (tag, &input[..len], &input[len..]))
}

/// The JWS `typ` of each kind of token this server signs (explicit typing,
/// RFC 8725 §3.11): RFC 9068 §2.1 access tokens, OpenID Connect Core §2 ID
/// tokens, Back-Channel Logout 1.0 §2.4 logout tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtType {
    Access,
    Id,
    Logout,
}

impl JwtType {
    const ALL: [Self; 3] = [Self::Access, Self::Id, Self::Logout];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Id => "JWT",
            Self::Logout => "logout+jwt",
        }
    }
}

/// The private key, parsed (and checked) once: parsing an RSA key validates it,
/// which costs more than a signature.
enum Signer {
    Rsa(aws_lc_rs::signature::RsaKeyPair),
    Es256(aws_lc_rs::signature::EcdsaKeyPair),
    /// The stored private half does not parse; signing fails with this.
    Unusable(String),
}

/// The key that signs new tokens, prepared once per key: the parsed private key
/// and, for each [`JwtType`], the encoded JWS header (`alg`, `kid`, `typ`), so a
/// token costs one serialisation of its claims and one signature.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    key: EncodingKey,
    signer: Signer,
    /// The base64url JWS headers, in [`JwtType::ALL`]'s order.
    headers: [String; 3],
}

impl SigningKey {
    /// The signing key of `kid` from its private half.
    pub fn new(kid: &str, alg: SigningAlgorithm, der: &PrivateKeyDer) -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RsaKeyPair};
        let signer = match alg {
            SigningAlgorithm::Rs256 => RsaKeyPair::from_der(&der.0).map(Signer::Rsa),
            // JWS ES256 signatures are R || S, 64 bytes (RFC 7518 §3.4).
            SigningAlgorithm::Es256 => {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der.0)
                    .map(Signer::Es256)
            }
        }
        .unwrap_or_else(|e| {
            Signer::Unusable(format!("the private key of {kid} does not parse: {e}"))
        });
        let headers = JwtType::ALL.map(|typ| {
            let header = serde_json::json!({"alg": alg.as_str(), "kid": kid, "typ": typ.as_str()});
            URL_SAFE_NO_PAD.encode(header.to_string())
        });
        Self {
            kid: kid.to_owned(),
            alg,
            key: encoding_key(alg, der),
            signer,
            headers,
        }
    }

    /// The key as `jsonwebtoken` takes it, for tests and benchmarks that sign
    /// headers of their own.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }

    /// A compact JWS (RFC 7515 §7.1) of `claims` with the prepared header of
    /// `typ`: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) or ES256 (RFC 7518 §3.3,
    /// §3.4).
    pub fn sign<T: serde::Serialize>(&self, typ: JwtType, claims: &T) -> Result<String, String> {
        let header = &self.headers[typ as usize];
        let payload = serde_json::to_vec(claims).map_err(|e| format!("serialising claims: {e}"))?;
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 350);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = match &self.signer {
            Signer::Rsa(k) => {
                let mut s = vec![0; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    token.as_bytes(),
                    &mut s,
                )
                .map_err(|_| "RSA signing failed".to_owned())?;
                s
            }
            Signer::Es256(k) => k
                .sign(&rng, token.as_bytes())
                .map_err(|_| "ECDSA signing failed".to_owned())?
                .as_ref()
                .to_vec(),
            Signer::Unusable(why) => return Err(why.clone()),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }
}

/// How long clients and API Gateway may cache the JWKS (`Cache-Control: max-age`).
pub const JWKS_CACHE_SECONDS: u32 = 300;

/// The longest a function may keep the key set it read (`GATEHOUSE_KEY_CACHE_SECONDS`,
/// 30 by default, refused above this). The discovery function serves the JWKS from
/// that cache, and the token function signs with the active key it cached.
pub const MAX_KEY_CACHE_SECONDS: u64 = 60;

/// How long a new key is published before it may sign. A verifier sees a new key
/// once the discovery function's cache has read it (up to
/// [`MAX_KEY_CACHE_SECONDS`]) and its own copy of the JWKS has expired (up to
/// [`JWKS_CACHE_SECONDS`]): the rotation guard waits for both.
pub const PUBLISH_BEFORE_SIGNING_SECONDS: u64 = JWKS_CACHE_SECONDS as u64 + MAX_KEY_CACHE_SECONDS;

/// A published key, to verify the tokens it signed.
pub struct VerifyingKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub key: jsonwebtoken::DecodingKey,
}

/// What the endpoints need of the public keys: which key signs, the JWKS
/// document, and the published keys that verify access tokens. It never holds
/// private material: the signer reads the active key's private half apart
/// ([`crate::app::App::signing_key`]).
pub struct KeySet {
    /// The newest active key: `(kid, alg)`.
    pub active: Option<(String, SigningAlgorithm)>,
    pub jwks: JwkSet,
    pub verifying: Vec<VerifyingKey>,
}

impl KeySet {
    /// How to verify `token`, a JWT whose header must say `typ` (RFC 8725 §3.11:
    /// explicit typing keeps one kind of token from passing for another): the
    /// published key its `kid` names, and a validation for that key's algorithm
    /// only, never the header's choice (RFC 8725 §3.1), with no leeway and with
    /// expiry left to the caller. `None` for any other header.
    pub fn validation_for(
        &self,
        token: &str,
        typ: &str,
    ) -> Option<(&VerifyingKey, jsonwebtoken::Validation)> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.typ.as_deref() != Some(typ) {
            return None;
        }
        let kid = header.kid.as_deref()?;
        let key = self.verifying.iter().find(|k| k.kid == kid)?;
        if header.alg != key.alg.jwt_algorithm() {
            return None;
        }
        let mut v = jsonwebtoken::Validation::new(key.alg.jwt_algorithm());
        v.leeway = 0;
        v.validate_exp = false;
        Some((key, v))
    }

    /// Builds the set from stored keys: the newest active key signs; every published
    /// key (active, next, retired within its window) is in the JWKS.
    pub fn build(mut keys: Vec<StoredKey>, now: u64) -> Result<Self, String> {
        keys.sort_by_key(|k| {
            (
                k.status != KeyStatus::Active,
                std::cmp::Reverse(k.activated_at),
            )
        });
        let active = keys
            .iter()
            .find(|k| k.status == KeyStatus::Active)
            .map(|k| (k.kid.clone(), k.alg));
        let mut jwks = Vec::new();
        let mut verifying = Vec::new();
        for k in keys.iter().filter(|k| k.is_published(now)) {
            let jwk: Jwk = serde_json::from_str(&k.public_jwk)
                .map_err(|e| format!("stored JWK of {} is unreadable: {e}", k.kid))?;
            verifying.push(VerifyingKey {
                kid: k.kid.clone(),
                alg: k.alg,
                key: jsonwebtoken::DecodingKey::from_jwk(&jwk)
                    .map_err(|e| format!("stored JWK of {} is unusable: {e}", k.kid))?,
            });
            jwks.push(jwk);
        }
        Ok(Self {
            active,
            jwks: JwkSet { keys: jwks },
            verifying,
        })
    }
}

/// A change to the key set, applied atomically by [`crate::store::KeyStore::apply_rotation`].
#[derive(Debug)]
pub struct Rotation {
    /// `next` key to make `active` (at `now`).
    pub promote: Option<String>,
    /// `active` key to retire, and until when it stays published.
    pub retire: Option<(String, u64)>,
    /// New keys to store.
    pub create: Vec<KeyPair>,
    pub now: u64,
}

impl Rotation {
    /// Plans one rotation step:
    /// - no keys: create an active key (nothing was signed yet) and a next key;
    /// - active and next: the next key (already published) becomes active, the active
    ///   one is retired and stays published for `publish_after_retire` seconds (the
    ///   longest token lifetime plus clock skew), and a new next key is created;
    /// - only an active key: create a next key; it signs after the following rotation;
    /// - only a next key: it becomes active, and a new next key is created.
    pub fn plan(
        keys: &[StoredKey],
        alg: SigningAlgorithm,
        now: u64,
        publish_after_retire: u64,
    ) -> Result<Self, String> {
        let active = keys.iter().find(|k| k.status == KeyStatus::Active);
        let next = keys.iter().find(|k| k.status == KeyStatus::Next);
        let mut create = Vec::new();
        let (promote, retire) = match (active, next) {
            (None, None) => {
                create.push(KeyPair::generate(alg, KeyStatus::Active, now)?);
                (None, None)
            }
            (Some(_), None) => (None, None),
            (None, Some(n)) => (Some(n.kid.clone()), None),
            (Some(a), Some(n)) => (
                Some(n.kid.clone()),
                Some((a.kid.clone(), now + publish_after_retire)),
            ),
        };
        create.push(KeyPair::generate(alg, KeyStatus::Next, now)?);
        Ok(Self {
            promote,
            retire,
            create,
            now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Header, Validation, decode, encode};

    fn sign_and_verify(alg: SigningAlgorithm) {
        let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
        let key = pair.public.clone();
        let set = KeySet::build(vec![key.clone()], 1).unwrap();
        let (kid, active_alg) = set.active.clone().unwrap();
        assert_eq!((kid.as_str(), active_alg), (key.kid.as_str(), alg));
        let signing = SigningKey::new(&kid, alg, &pair.private);
        let mut header = Header::new(alg.jwt_algorithm());
        header.kid = Some(signing.kid.clone());
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64});
        let token = encode(&header, &claims, signing.encoding_key()).unwrap();
        let jwk = set.jwks.find(&key.kid).unwrap();
        let dk = DecodingKey::from_jwk(jwk).unwrap();
        let data = decode::<serde_json::Value>(&token, &dk, &Validation::new(alg.jwt_algorithm()))
            .unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
        // The prepared signer: the same key, each `typ`, verified by another library.
        for typ in JwtType::ALL {
            let token = signing.sign(typ, &claims).unwrap();
            let data =
                decode::<serde_json::Value>(&token, &dk, &Validation::new(alg.jwt_algorithm()))
                    .unwrap();
            assert_eq!(data.claims, claims);
            assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(data.header.typ.as_deref(), Some(typ.as_str()));
            assert_eq!(data.header.alg, alg.jwt_algorithm());
        }
    }

    #[test]
    fn a_private_key_that_does_not_parse_signs_nothing() {
        let signing = SigningKey::new(
            "k",
            SigningAlgorithm::Rs256,
            &PrivateKeyDer(b"not a key".to_vec()),
        );
        let e = signing
            .sign(JwtType::Access, &serde_json::json!({}))
            .unwrap_err();
        assert!(e.contains("does not parse"), "{e}");
    }

    #[test]
    fn rs256_keys_sign_tokens_their_jwk_verifies() {
        sign_and_verify(SigningAlgorithm::Rs256);
    }

    #[test]
    fn es256_keys_sign_tokens_their_jwk_verifies() {
        sign_and_verify(SigningAlgorithm::Es256);
    }

    #[test]
    fn the_jwks_never_holds_private_key_material() {
        for alg in [SigningAlgorithm::Rs256, SigningAlgorithm::Es256] {
            let pair = KeyPair::generate(alg, KeyStatus::Active, 1).unwrap();
            let key = &pair.public;
            let v: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(v.get(private).is_none(), "{alg:?} JWK has `{private}`");
            }
            assert_eq!(v["kid"], key.kid.as_str());
            assert_eq!(v["use"], "sig");
            assert_eq!(v["alg"], alg.as_str());
            assert_eq!(format!("{:?}", pair.private), "[redacted]");
        }
    }

    fn with_status(mut k: StoredKey, s: KeyStatus) -> StoredKey {
        k.status = s;
        k
    }

    #[test]
    fn rotation_publishes_a_key_before_it_signs_and_keeps_the_retired_one() {
        let alg = SigningAlgorithm::Es256;
        let first = Rotation::plan(&[], alg, 10, 100).unwrap();
        assert_eq!(first.create.len(), 2);
        assert_eq!(first.create[0].public.status, KeyStatus::Active);
        assert_eq!(first.create[1].public.status, KeyStatus::Next);

        let a = with_status(first.create[0].public.clone(), KeyStatus::Active);
        let n = with_status(first.create[1].public.clone(), KeyStatus::Next);
        let second = Rotation::plan(&[a.clone(), n.clone()], alg, 50, 100).unwrap();
        assert_eq!(second.promote.as_deref(), Some(n.kid.as_str()));
        assert_eq!(second.retire, Some((a.kid.clone(), 150)));
        assert_eq!(second.create.len(), 1);
        assert_eq!(second.create[0].public.status, KeyStatus::Next);

        let only_active = Rotation::plan(std::slice::from_ref(&a), alg, 50, 100).unwrap();
        assert!(only_active.promote.is_none() && only_active.retire.is_none());
        assert_eq!(only_active.create[0].public.status, KeyStatus::Next);
    }

    #[test]
    fn retired_keys_leave_the_jwks_when_their_window_ends() {
        let mut r = KeyPair::generate(SigningAlgorithm::Es256, KeyStatus::Retired, 1)
            .unwrap()
            .public;
        r.publish_until = Some(100);
        assert!(r.is_published(99));
        assert!(!r.is_published(100));
        let set = KeySet::build(vec![r], 100).unwrap();
        assert!(set.active.is_none());
        assert!(set.jwks.keys.is_empty());
    }

    #[test]
    fn der_walker_refuses_truncated_input() {
        assert!(der_element(&[0x30]).is_none());
        assert!(der_element(&[0x30, 0x05, 1, 2]).is_none());
        assert!(der_element(&[0x30, 0x81]).is_none());
        assert!(pkcs1_from_pkcs8(&[0x04, 0x00]).is_none());
    }
}
