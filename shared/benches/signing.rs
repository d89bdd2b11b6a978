//! `cargo bench -p gatehouse-core --bench signing`: CPU time to sign one RFC 9068
//! access token with RS256 and with ES256, and to verify it; to check a password
//! (argon2id, the cost of every sign-in); and to check a refresh token's MAC.
//!
//! A plain harness (no extra crates): warm up, then time batches and report the
//! median and the spread of the per-token time over the batches.

use gatehouse_core::domain::user::{hash_password, verify_password};
use gatehouse_core::keys::{JwtType, KeyPair, KeySet, KeyStatus, SigningAlgorithm, SigningKey};
use gatehouse_core::secret::Secret;
use gatehouse_core::tokens::{presented, refresh};
use jsonwebtoken::{DecodingKey, Header, Validation, decode, encode};
use std::hint::black_box;
use std::time::Instant;

const BATCHES: usize = 30;

fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "https://auth.example.com", "sub": "QoE6w5SN6JqaWuJ6hjaRKA",
        "aud": "https://auth.example.com", "exp": 4_000_000_000u64, "iat": 1_795_834_042u64,
        "jti": "LZq_YMmQu4yTR9qfqr9pRg", "client_id": "QoE6w5SN6JqaWuJ6hjaRKA", "scope": "read write",
    })
}

/// Median and min/max microseconds per call of `f`, over `BATCHES` batches of `per_batch`.
fn time(per_batch: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..per_batch {
        f();
    }
    let mut samples: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    (samples[BATCHES / 2], samples[0], samples[BATCHES - 1])
}

fn main() {
    // `cargo test --benches` passes `--bench`-less args; only run when benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!(
        "{:<26} {:>12} {:>12} {:>12}",
        "operation", "median µs", "min µs", "max µs"
    );
    for (alg, per_batch) in [
        (SigningAlgorithm::Rs256, 50),
        (SigningAlgorithm::Es256, 500),
    ] {
        let pair = KeyPair::generate(alg, KeyStatus::Active, 0).unwrap();
        let signing = SigningKey::new(&pair.public.kid, alg, &pair.private);
        let set = KeySet::build(vec![pair.public.clone()], 0).unwrap();
        let mut header = Header::new(alg.jwt_algorithm());
        header.typ = Some("at+jwt".into());
        header.kid = Some(signing.kid.clone());
        let claims = claims();
        let (med, min, max) = time(per_batch, || {
            black_box(signing.sign(JwtType::Access, black_box(&claims)).unwrap());
        });
        println!(
            "{:<26} {med:>12.1} {min:>12.1} {max:>12.1}",
            format!("sign {}", alg.as_str())
        );
        // What a token cost before the key was parsed once: `jsonwebtoken`
        // parses (and checks) the DER key at every signature.
        let (med, min, max) = time(per_batch, || {
            black_box(encode(&header, black_box(&claims), signing.encoding_key()).unwrap());
        });
        println!(
            "{:<26} {med:>12.1} {min:>12.1} {max:>12.1}",
            format!("sign {} (parse each)", alg.as_str())
        );

        let token = encode(&header, &claims, signing.encoding_key()).unwrap();
        let dk = DecodingKey::from_jwk(set.jwks.find(&pair.public.kid).unwrap()).unwrap();
        let mut v = Validation::new(alg.jwt_algorithm());
        v.set_audience(&["https://auth.example.com"]);
        let (med, min, max) = time(per_batch * 4, || {
            black_box(decode::<serde_json::Value>(black_box(&token), &dk, &v).unwrap());
        });
        println!(
            "{:<26} {med:>12.1} {min:>12.1} {max:>12.1}",
            format!("verify {}", alg.as_str())
        );
    }

    let hash = hash_password("correct horse battery").unwrap();
    let (med, min, max) = time(3, || {
        black_box(verify_password(black_box("correct horse battery"), &hash));
    });
    println!(
        "{:<26} {med:>12.1} {min:>12.1} {max:>12.1}",
        "argon2id verify"
    );
    let key = Secret::new("k".repeat(43));
    let token = refresh::mint(&key, "QoE6w5SN6JqaWuJ6hjaRKA", 42);
    let (med, min, max) = time(5000, || {
        let p = presented::refresh(black_box(token.expose())).unwrap();
        black_box(refresh::verify(&key, &p));
    });
    println!(
        "{:<26} {med:>12.1} {min:>12.1} {max:>12.1}",
        "refresh token MAC"
    );
}
