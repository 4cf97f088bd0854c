//! Reading compact JWTs that arrive from outside: client assertions (RFC 7523), request objects
//! (OpenID Connect Core §6.1) and the org server's access tokens on the management API. Every
//! entry point refuses a token longer than [`MAX_JWT_LEN`] before decoding anything, and none
//! panics on any input (the `jws` fuzz target runs them on arbitrary bytes).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

/// The longest JWT read (a request object with many parameters is a few KiB).
pub const MAX_JWT_LEN: usize = 16 * 1024;

/// Why a JWT was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the JWT is longer than {MAX_JWT_LEN} bytes")]
    TooLong,
    #[error("the JWT is not a well-formed compact JWS")]
    Malformed,
    /// Five segments: an encrypted JWT (JWE), which Tessera does not read.
    #[error("the JWT is encrypted")]
    Encrypted,
    #[error("the JWT's signature does not verify: {0:?}")]
    Rejected(jsonwebtoken::errors::ErrorKind),
}

fn bounded(jwt: &str) -> Result<&str, JwtError> {
    if jwt.len() > MAX_JWT_LEN {
        return Err(JwtError::TooLong);
    }
    match jwt.split('.').count() {
        3 => Ok(jwt),
        5 => Err(JwtError::Encrypted),
        _ => Err(JwtError::Malformed),
    }
}

/// The JOSE header, unverified.
pub fn header(jwt: &str) -> Result<Header, JwtError> {
    jsonwebtoken::decode_header(bounded(jwt)?).map_err(|_| JwtError::Malformed)
}

/// The claims, unverified: for choosing the key that verifies them.
pub fn unverified_claims(jwt: &str) -> Result<Map<String, Value>, JwtError> {
    let payload = bounded(jwt)?.split('.').nth(1).ok_or(JwtError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

/// The claims, once one of `keys` verifies the signature under `validation`. The first
/// verification failure that is about the claims (audience, issuer, subject) is returned as is,
/// so the caller can say which.
pub fn verify(
    jwt: &str,
    keys: &[DecodingKey],
    validation: &Validation,
) -> Result<Map<String, Value>, JwtError> {
    let jwt = bounded(jwt)?;
    let mut last = JwtError::Rejected(jsonwebtoken::errors::ErrorKind::InvalidSignature);
    for key in keys {
        match jsonwebtoken::decode::<Map<String, Value>>(jwt, key, validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) => {
                let kind = e.into_kind();
                let about_claims = matches!(
                    kind,
                    jsonwebtoken::errors::ErrorKind::InvalidAudience
                        | jsonwebtoken::errors::ErrorKind::InvalidIssuer
                        | jsonwebtoken::errors::ErrorKind::InvalidSubject
                );
                last = JwtError::Rejected(kind);
                if about_claims {
                    return Err(last);
                }
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_oversized_tokens_are_errors() {
        assert_eq!(header("a.b"), Err(JwtError::Malformed));
        assert_eq!(header("a.b.c.d.e").err(), Some(JwtError::Encrypted));
        assert_eq!(header(&"a.".repeat(9000)), Err(JwtError::TooLong));
        assert_eq!(header("!!.!!.!!"), Err(JwtError::Malformed));
        assert_eq!(unverified_claims("e30.W10.x"), Err(JwtError::Malformed));
        assert!(unverified_claims("e30.e30.x").is_ok_and(|c| c.is_empty()));
        let key = DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let v = Validation::new(Algorithm::HS256);
        assert!(verify("e30.e30.x", &[key], &v).is_err());
    }
}
