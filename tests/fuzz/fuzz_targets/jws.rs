//! Compact JWTs from outside (client assertions, request objects, org-server tokens): the
//! header and the unverified claims are read, and the signature checked against an HMAC key and
//! an ES256 key, without panicking on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_jose::compact::{self, Algorithm, DecodingKey, Validation};

const SECRET: &[u8] = b"fuzzing-secret-0123456789abcdefghij";
/// A P-256 public point (the x and y of the corpus key), so valid ES256 tokens can be found.
const ES256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const ES256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

fuzz_target!(|data: &[u8]| {
    let Ok(jwt) = std::str::from_utf8(data) else {
        return;
    };
    let header = compact::header(jwt);
    let _ = compact::unverified_claims(jwt);
    let Ok(header) = header else {
        return;
    };
    let keys = match header.alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            vec![DecodingKey::from_secret(SECRET)]
        }
        Algorithm::ES256 => DecodingKey::from_ec_components(ES256_X, ES256_Y)
            .map(|k| vec![k])
            .unwrap_or_default(),
        _ => return,
    };
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let _ = compact::verify(jwt, &keys, &validation);
});
