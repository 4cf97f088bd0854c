//! Opaque identifiers in Okta's shape: a three-character type prefix followed by 17 base-62
//! characters (about 101 bits of randomness), for example `aus9o8wzkhckw9TLa0h7`.

use crate::random::Random;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The kinds of object Tessera names, with the prefix Okta uses for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Tenant,
    AuthorizationServer,
    Scope,
    Claim,
    Policy,
    Rule,
    App,
    AppSecret,
    AppJwk,
    User,
    Group,
    ApiToken,
    SigningKey,
    RefreshToken,
    Consent,
    LogEvent,
    RoleAssignment,
    InlineHook,
    TrustedOrigin,
    Association,
    RoleTarget,
    ErrorId,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Tenant => "ten",
            Self::AuthorizationServer => "aus",
            Self::Scope => "scp",
            Self::Claim => "ocl",
            Self::Policy => "00p",
            Self::Rule => "0pr",
            Self::App => "0oa",
            Self::AppSecret => "ocs",
            Self::AppJwk => "pks",
            Self::User => "00u",
            Self::Group => "00g",
            Self::ApiToken => "00T",
            Self::SigningKey => "key",
            Self::RefreshToken => "oar",
            Self::Consent => "oag",
            Self::LogEvent => "evt",
            Self::RoleAssignment => "ra1",
            Self::InlineHook => "cal",
            Self::Association => "asn",
            Self::RoleTarget => "rtg",
            Self::TrustedOrigin => "tos",
            Self::ErrorId => "oae",
        }
    }
}

/// A fresh identifier of the given kind.
pub fn new_id(kind: IdKind, random: &dyn Random) -> String {
    let mut out = String::with_capacity(20);
    out.push_str(kind.prefix());
    out.push_str(&base62(random, 17));
    out
}

/// `len` uniformly distributed base-62 characters (rejection sampling, no modulo bias).
pub fn base62(random: &dyn Random, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        random.fill(&mut buf);
        for b in buf {
            // 248 = 62 * 4: bytes at or above it would favour the first characters.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn new_id_when_generated_then_has_prefix_and_okta_length() {
        let r = SeededRandom::new(7);
        let id = new_id(IdKind::AuthorizationServer, &r);
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("aus"));
        assert!(id[3..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(id, new_id(IdKind::AuthorizationServer, &r));
    }
}
