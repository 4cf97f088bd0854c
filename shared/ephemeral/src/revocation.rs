//! Revocation markers (OKTA-REFERENCE §3.4 "implicit revocation"), shared by every replica
//! through the short-lived store. Nothing stores every access token: a revoked token's `jti`
//! is denylisted until its `exp`, and deactivating a client, a user, an assignment, a server or
//! a tenant records an *epoch*: every token of that subject issued at or before the epoch is
//! inactive from then on, on every replica. Markers live as long as the longest token they can
//! concern (a day, the longest access-token lifetime); refresh tokens are revoked in the
//! durable store by the same actions.

use std::time::Duration;

use crate::{Key, Kind, Result, ShortLived};

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

fn epoch_key(tenant: &str, subject: &Subject<'_>) -> Key {
    let id = match subject {
        Subject::Tenant => "epoch:tenant".to_owned(),
        Subject::Server(s) => format!("epoch:server:{s}"),
        Subject::Client(c) => format!("epoch:client:{c}"),
        Subject::User(u) => format!("epoch:user:{u}"),
        Subject::Assignment { client_id, user_id } => {
            format!("epoch:assignment:{client_id}:{user_id}")
        }
    };
    Key::tenant(tenant, Kind::RevokedToken, &id)
}

fn jti_key(tenant: &str, jti: &str) -> Key {
    Key::tenant(tenant, Kind::RevokedToken, &format!("jti:{jti}"))
}

/// Revokes every token of `subject` issued up to `now_ms`.
pub async fn revoke_all(
    store: &dyn ShortLived,
    tenant: &str,
    subject: &Subject<'_>,
    now_ms: i64,
) -> Result<()> {
    store
        .put(
            &epoch_key(tenant, subject),
            now_ms.to_string().as_bytes(),
            EPOCH_TTL,
        )
        .await
}

/// Denylists one access token until it would have expired anyway.
pub async fn revoke_jti(
    store: &dyn ShortLived,
    tenant: &str,
    jti: &str,
    remaining: Duration,
) -> Result<()> {
    store
        .put(
            &jti_key(tenant, jti),
            b"1",
            remaining.max(Duration::from_secs(1)),
        )
        .await
}

/// Whether a token (`jti`, issued at `iat` seconds, for `subjects`) has been revoked.
pub async fn is_revoked(
    store: &dyn ShortLived,
    tenant: &str,
    jti: Option<&str>,
    iat: i64,
    subjects: &[Subject<'_>],
) -> Result<bool> {
    if let Some(jti) = jti
        && store.get(&jti_key(tenant, jti)).await?.is_some()
    {
        return Ok(true);
    }
    for subject in subjects {
        if let Some(raw) = store.get(&epoch_key(tenant, subject)).await? {
            let epoch: i64 = std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(i64::MAX);
            if iat.saturating_mul(1000) <= epoch {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
