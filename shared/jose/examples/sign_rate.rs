//! The raw signing rate on this machine, one core: the ceiling that token issuance is measured
//! against (docs/performance.md). Run with `cargo run --release -p tessera-jose --example sign_rate`.

use std::time::{Duration, Instant};

use serde_json::json;
use tessera_jose::{Alg, SigningKey, generate, jws};

fn rate(alg: Alg) -> f64 {
    let g = generate(alg).unwrap_or_else(|e| panic!("keygen: {e}"));
    let key =
        SigningKey::from_pkcs8(&g.kid, alg, &g.pkcs8).unwrap_or_else(|e| panic!("parse: {e}"));
    let payload = json!({"ver": 1, "jti": "AT.x", "iss": "https://example/oauth2/default", "aud": "api://default",
        "iat": 1, "exp": 2, "cid": "client", "scp": ["a"], "sub": "client"});
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(3) {
        for _ in 0..50 {
            let _ = jws(&key, None, &payload);
        }
        n += 50;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    println!("RS256 signs per core-second: {:.0}", rate(Alg::RS256));
    println!("ES256 signs per core-second: {:.0}", rate(Alg::ES256));
}
