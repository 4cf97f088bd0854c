//! Secrets: generation, keyed hashing with constant-time checks, and argon2id for passwords.
//!
//! Client secrets and API tokens are generated here with at least 256 bits of entropy, so a
//! keyed SHA-256 (HMAC with a per-secret salt) is the right check: a slow password hash there
//! would cap token throughput. Human passwords use argon2id.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::{digest, hmac};

use crate::random::Random;

/// A random URL-safe string carrying `bytes` bytes of entropy.
pub fn random_token(random: &dyn Random, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A new client secret: 48 random bytes, 64 characters.
pub fn new_client_secret(random: &dyn Random) -> String {
    random_token(random, 48)
}

/// A new management API token: `00` followed by 40 URL-safe characters (30 random bytes),
/// the length Okta's SSWS tokens have.
pub fn new_api_token(random: &dyn Random) -> String {
    format!("00{}", random_token(random, 30))
}

/// The stored form of a high-entropy secret: HMAC-SHA-256 keyed by a per-secret random salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretHash {
    pub salt: String,
    pub digest: String,
}

impl SecretHash {
    /// Hashes `secret` under a fresh salt.
    pub fn new(secret: &str, random: &dyn Random) -> Self {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salt);
        let tag = hmac::sign(&key, secret.as_bytes());
        Self {
            salt: URL_SAFE_NO_PAD.encode(salt),
            digest: URL_SAFE_NO_PAD.encode(tag.as_ref()),
        }
    }

    /// Checks `candidate` against this hash in constant time.
    pub fn verify(&self, candidate: &str) -> bool {
        let (Ok(salt), Ok(expected)) = (
            URL_SAFE_NO_PAD.decode(&self.salt),
            URL_SAFE_NO_PAD.decode(&self.digest),
        ) else {
            return false;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &salt);
        hmac::verify(&key, candidate.as_bytes(), &expected).is_ok()
    }
}

/// SHA-256 of a high-entropy token, hex-encoded: the lookup key under which API tokens are
/// stored. An index needs a deterministic value, and 240 bits of entropy leave nothing to
/// brute-force, so no salt is needed here.
pub fn lookup_digest(token: &str) -> String {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two byte strings.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// What Okta's default password policy says of a password, as its error cause:
/// at least 8 characters (and at most 256 bytes), a lowercase letter, an uppercase letter, a
/// number, and no part of the username (the part of `login` before `@`, when it has 3 or more
/// characters). `None` when the password meets it.
pub fn password_policy_refusal(password: &str, login: &str) -> Option<&'static str> {
    let long = password.chars().count() >= 8 && password.len() <= 256;
    let lower = password.chars().any(char::is_lowercase);
    let upper = password.chars().any(char::is_uppercase);
    let digit = password.chars().any(|ch| ch.is_ascii_digit());
    let local = login.split('@').next().unwrap_or_default().to_lowercase();
    let has_login = local.chars().count() >= 3 && password.to_lowercase().contains(&local);
    (!(long && lower && upper && digit) || has_login).then_some(
        "Password requirements were not met. Password requirements: at least 8 characters, a \
         lowercase letter, an uppercase letter, a number, no parts of your username.",
    )
}

/// Hashes a user's password with argon2id (default parameters), giving a PHC string.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PasswordError)
}

/// Verifies a password against its PHC string; a malformed hash never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[derive(Debug, thiserror::Error)]
#[error("the password could not be hashed")]
pub struct PasswordError;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn secret_hash_when_same_secret_then_verifies_and_other_does_not() {
        let r = SeededRandom::new(1);
        let secret = new_client_secret(&r);
        assert_eq!(secret.len(), 64);
        let h = SecretHash::new(&secret, &r);
        assert!(h.verify(&secret));
        assert!(!h.verify("not-the-secret"));
        assert_ne!(
            h,
            SecretHash::new(&secret, &r),
            "each hash has its own salt"
        );
    }

    #[test]
    fn api_token_when_generated_then_okta_length_and_stable_digest() {
        let r = SeededRandom::new(2);
        let t = new_api_token(&r);
        assert_eq!(t.len(), 42);
        assert_eq!(lookup_digest(&t), lookup_digest(&t));
        assert_eq!(lookup_digest(&t).len(), 64);
    }

    #[test]
    fn password_when_hashed_then_argon2id_and_verifies() {
        let phc = hash_password("correct horse").unwrap_or_default();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong horse", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }
}
