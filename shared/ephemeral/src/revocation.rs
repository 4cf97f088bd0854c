//! Revocation markers as the short-lived store holds them (Okta's "implicit revocation": a
//! deactivated user's, app's or server's tokens stop working at once). Nothing stores every
//! access token: a revoked token's `jti` is denylisted until its `exp`, and deactivating a
//! client, a user, an assignment, a server or a tenant records an *epoch*: every token of that
//! subject issued at or before the epoch is inactive from then on, on every replica. Markers
//! live as long as the longest token they can concern (a day, the longest access-token
//! lifetime). The store is a cache: `tessera_core::revocation` keeps every marker in the
//! database too, and reloads a tenant's markers when the store has lost them.

use std::time::Duration;

use crate::{Key, Kind};

/// How long an epoch marker lasts: longer than any access token can live.
pub const EPOCH_TTL: Duration = Duration::from_secs(24 * 60 * 60 + 60);

/// Whose tokens an epoch revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject<'a> {
    Tenant,
    Server(&'a str),
    Client(&'a str),
    User(&'a str),
    /// A user's tokens for one client (unassignment).
    Assignment {
        client_id: &'a str,
        user_id: &'a str,
    },
}

impl Subject<'_> {
    /// The marker's name within its tenant: `epoch:user:00u1`.
    pub fn marker(&self) -> String {
        match self {
            Subject::Tenant => "epoch:tenant".to_owned(),
            Subject::Server(s) => format!("epoch:server:{s}"),
            Subject::Client(c) => format!("epoch:client:{c}"),
            Subject::User(u) => format!("epoch:user:{u}"),
            Subject::Assignment { client_id, user_id } => {
                format!("epoch:assignment:{client_id}:{user_id}")
            }
        }
    }
}

/// The name of a denylisted access token's marker: `jti:{jti}`.
pub fn jti_marker(jti: &str) -> String {
    format!("jti:{jti}")
}

/// Where a marker lives in the short-lived store.
pub fn marker_key(tenant: &str, marker: &str) -> Key {
    Key::tenant(tenant, Kind::RevokedToken, marker)
}

/// The cache's generation marker for a tenant: present once the tenant's markers have been
/// loaded into this store. A store that restarted empty (Redis keeps nothing on disk) lacks it,
/// and the markers are then reloaded from the database before any check is answered.
pub fn generation_key(tenant: &str) -> Key {
    Key::tenant(tenant, Kind::RevokedToken, "generation")
}

/// How long a generation marker lasts; after it the tenant's markers are simply loaded again.
pub const GENERATION_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Whether a token issued at `iat` (seconds) is revoked, given the values of its markers as the
/// store returned them: its `jti` marker (any value revokes) and its subjects' epochs (those at
/// or after the issue time revoke).
pub fn decide(jti: Option<&[u8]>, epochs: &[Option<Vec<u8>>], iat: i64) -> bool {
    if jti.is_some() {
        return true;
    }
    epochs.iter().flatten().any(|raw| {
        let epoch: i64 = std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(i64::MAX);
        iat.saturating_mul(1000) <= epoch
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_marker_or_a_later_epoch_revokes() {
        assert!(decide(Some(b"1"), &[], 100));
        assert!(!decide(None, &[None, None], 100));
        assert!(decide(None, &[None, Some(b"100000".to_vec())], 100));
        assert!(!decide(None, &[Some(b"99999".to_vec())], 100));
        // A marker that cannot be read revokes: fail closed.
        assert!(decide(None, &[Some(b"garbage".to_vec())], 100));
        assert_eq!(Subject::User("00u1").marker(), "epoch:user:00u1");
    }
}
