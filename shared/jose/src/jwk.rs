//! Checking a public JWK a client uploads (RFC 7517, RFC 7518 §6) before it is stored: a key
//! that cannot be used, or whose members are not what the RFCs say, is refused with a reason,
//! so that nothing malformed reaches the JWKS documents Okta's SDKs parse.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// Why a JWK was refused.
pub type Refusal = String;

fn string<'a>(obj: &'a Map<String, Value>, member: &str) -> Result<Option<&'a str>, Refusal> {
    match obj.get(member) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("The member '{member}' must be a string")),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, member: &str, kty: &str) -> Result<&'a str, Refusal> {
    string(obj, member)?.ok_or_else(|| format!("An {kty} key needs '{member}'"))
}

/// The bytes of a base64url member (no padding, RFC 7515 §2).
fn bytes(member: &str, text: &str) -> Result<Vec<u8>, Refusal> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| format!("The member '{member}' is not base64url without padding"))
}

/// Checks a public signing key: `RSA` (2048 to 8192 bits) or `EC` on P-256 or P-384, its
/// members well formed, no private member, `use`, `alg` and `kid` strings that agree with it.
pub fn check_public(key: &Value) -> Result<(), Refusal> {
    let obj = key.as_object().ok_or("Each key must be a JSON object")?;
    for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        if obj.contains_key(private) {
            return Err(
                "Private key material must not be uploaded; send the public key only".into(),
            );
        }
    }
    let kty = string(obj, "kty")?.ok_or("The key needs 'kty'")?;
    let algs: &[&str] = match kty {
        "RSA" => {
            let n = bytes("n", required(obj, "n", kty)?)?;
            let e = bytes("e", required(obj, "e", kty)?)?;
            let n = n.iter().skip_while(|b| **b == 0).count();
            if !(256..=1024).contains(&n) {
                return Err(format!(
                    "The RSA modulus is {} bits; it must be 2048 to 8192",
                    n * 8
                ));
            }
            if e.is_empty() || e.len() > 8 || e.iter().all(|b| *b == 0) {
                return Err("The exponent 'e' is not a valid RSA exponent".into());
            }
            &["RS256", "RS384", "RS512"]
        }
        "EC" => {
            let (size, alg) = match required(obj, "crv", kty)? {
                "P-256" => (32, "ES256"),
                "P-384" => (48, "ES384"),
                other => return Err(format!("Curve '{other}' is not supported (P-256, P-384)")),
            };
            for member in ["x", "y"] {
                if bytes(member, required(obj, member, kty)?)?.len() != size {
                    return Err(format!(
                        "The member '{member}' is not a {size}-byte coordinate"
                    ));
                }
            }
            if alg == "ES256" {
                &["ES256"]
            } else {
                &["ES384"]
            }
        }
        other => return Err(format!("Key type '{other}' is not supported (RSA, EC)")),
    };
    if let Some(u) = string(obj, "use")?
        && u != "sig"
        && u != "enc"
    {
        return Err("The member 'use' must be sig or enc".into());
    }
    if let Some(alg) = string(obj, "alg")?
        && !algs.contains(&alg)
    {
        return Err(format!(
            "The algorithm {alg} does not fit this key (one of {})",
            algs.join(", ")
        ));
    }
    if let Some(kid) = string(obj, "kid")?
        && (kid.is_empty() || kid.len() > 255)
    {
        return Err("The member 'kid' must be 1 to 255 characters".into());
    }
    if obj.get("key_ops").is_some_and(|o| !o.is_array()) {
        return Err("The member 'key_ops' must be an array".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_keys_pass_and_malformed_ones_are_refused() {
        for alg in [crate::Alg::RS256, crate::Alg::ES256] {
            let key = crate::generate(alg).expect("key");
            assert_eq!(check_public(&key.public_jwk), Ok(()), "{alg:?}");
        }
        let good_ec = crate::generate(crate::Alg::ES256).expect("key").public_jwk;
        let with = |k: &str, v: Value| {
            let mut j = good_ec.clone();
            j[k] = v;
            j
        };
        for (bad, why) in [
            (
                json!({"kty": "RSA", "n": "!!!not-base64!!!", "e": "AQAB"}),
                "base64url",
            ),
            (with("use", json!({})), "string"),
            (with("use", json!("both")), "sig or enc"),
            (with("alg", json!("RS256")), "does not fit"),
            (with("kid", json!(7)), "string"),
            (with("crv", json!("P-521")), "not supported"),
            (with("x", json!("AAAA")), "coordinate"),
            (with("d", json!("secret")), "Private"),
            (json!({"kty": "oct", "k": "c2VjcmV0"}), "Private"),
            (json!({"kty": "OKP"}), "not supported"),
            (json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}), "bits"),
            (json!("a string"), "object"),
            (json!({"n": "AQAB"}), "kty"),
        ] {
            let refused = check_public(&bad).expect_err("refused");
            assert!(refused.contains(why), "{bad}: {refused}");
        }
    }
}
