//! Short-lived state and the config bus, each behind one trait with two implementations:
//! in-process (the embedded default) and Redis (`REDIS_URL`, shared across replicas).
//!
//! Short-lived state is what lives seconds to hours: authorization codes (single use),
//! sign-in sessions, revoked access-token ids until their `exp`, used client-assertion `jti`s,
//! device codes, rate-limit counters and the key-rotation leader lease.
//! Protocol rules (single use, rotation, reuse detection) are built by callers from the
//! primitives here; the store only promises atomicity and expiry.

mod bus;
mod memory;
mod redis_store;
pub mod revocation;

use std::time::Duration;

pub use bus::{ConfigBus, ConfigEvent, MemoryBus, RedisBus, Reload};
pub use memory::MemoryStore;
pub use redis_store::{RedisStore, Timeouts};

/// A failure to reach or use the store. Callers fail closed on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreUnavailable {
    #[error("short-lived store unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("short-lived store returned malformed data: {0}")]
    Malformed(String),
    /// The store did not answer within its operation timeout.
    #[error("short-lived store did not answer in time")]
    Timeout,
    /// The store is known to be down (its circuit breaker is open): nothing was sent.
    #[error("short-lived store is down; failing fast until it answers again")]
    Down,
}

impl StoreUnavailable {
    /// Whether waiting cannot help: Redis refused the credentials, or the URL is malformed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Redis(e) if matches!(
            e.kind(),
            redis::ErrorKind::AuthenticationFailed | redis::ErrorKind::InvalidClientConfig
        ))
    }
}

pub type Result<T> = std::result::Result<T, StoreUnavailable>;

/// What a key holds; part of every key, so kinds never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AuthorizationCode,
    Session,
    RevokedToken,
    AssertionJti,
    DeviceCode,
    RateLimit,
    Throttle,
    Lease,
    /// When an app last used a grant type or redirect URI (the configuration advice).
    Usage,
}

impl Kind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "code",
            Self::Session => "sess",
            Self::RevokedToken => "deny",
            Self::AssertionJti => "jti",
            Self::DeviceCode => "device",
            Self::RateLimit => "rl",
            Self::Throttle => "thr",
            Self::Lease => "lease",
            Self::Usage => "use",
        }
    }
}

/// A namespaced key. Tenant-owned state always carries its tenant; only
/// process-wide coordination (the rotation lease) uses [`Key::global`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    pub fn tenant(tenant: &str, kind: Kind, id: &str) -> Self {
        Self(format!("tessera:t:{tenant}:{}:{id}", kind.as_str()))
    }

    pub fn global(kind: Kind, id: &str) -> Self {
        Self(format!("tessera:g:{}:{id}", kind.as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn fence(&self) -> String {
        format!("{}:fence", self.0)
    }
}

/// A counter after an increment: its count in the current window, and the time the window
/// has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub count: u64,
    pub resets_in: Duration,
}

/// The short-lived store.
#[async_trait::async_trait]
pub trait ShortLived: Send + Sync + 'static {
    /// Stores `value` under `key` for `ttl`, replacing what was there.
    async fn put(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<()>;
    /// Stores `value` only if `key` is absent; `true` when it was stored. Replay detection.
    async fn put_if_absent(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<bool>;
    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>>;
    /// Reads several keys in one round trip; the values come back in the order of `keys`.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>>;
    /// Reads and removes `key` in one atomic step: of two concurrent takes, one gets the value.
    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>>;
    /// Removes `key`; `true` when it existed.
    async fn delete(&self, key: &Key) -> Result<bool>;
    /// Increments a counter whose window starts at its first increment; returns the new count
    /// and how long the window has left (throttles and rate limits).
    async fn hit(&self, key: &Key, window: Duration) -> Result<Hit>;
    /// Takes (or, for the same holder, keeps) the lease; returns its fencing token, which grows
    /// with every change of holder, or `None` when another holder has it.
    async fn acquire_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<Option<u64>>;
    /// Extends the lease if `holder` still has it.
    async fn renew_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<bool>;
    /// Gives the lease up if `holder` has it.
    async fn release_lease(&self, key: &Key, holder: &str) -> Result<bool>;
    /// Whether the store answers, asked now.
    async fn ping(&self) -> Result<()>;
    /// Whether the store is believed to answer, without asking (for `/readyz` and metrics):
    /// the Redis store's circuit breaker; the in-process store always is.
    fn reachable(&self) -> bool {
        true
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
