//! The Redis short-lived store, shared by every replica. Compound operations are single
//! commands (`SET NX PX`, `GETDEL`) or Lua scripts, so they are atomic across replicas.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script};

use crate::{Hit, Key, Result, ShortLived, StoreUnavailable, millis};

const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}";

const ACQUIRE: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('GET', KEYS[2]) or '0')
end
return -1";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// How a [`RedisStore`] waits on Redis (the `[redis]` settings).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// The longest one operation may take, reply included; past it the operation fails and
    /// Redis is taken to be down.
    pub operation: Duration,
    /// The longest one connection attempt may take.
    pub connect: Duration,
    /// How often Redis is pinged while it answers: a connection that broke while nobody used
    /// it (Redis restarted) is found and replaced by the ping, not by a caller's request.
    pub probe: Duration,
    /// How often Redis is pinged while it is down, to notice its return.
    pub recovery_probe: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            operation: Duration::from_millis(500),
            connect: Duration::from_millis(500),
            probe: Duration::from_secs(1),
            recovery_probe: Duration::from_millis(200),
        }
    }
}

/// Short-lived state in Redis. Cloning shares the multiplexed connection and its breaker.
///
/// Every operation goes through one circuit breaker. While Redis answers, operations run with
/// [`Timeouts::operation`]; the first one that fails because Redis cannot be reached (a refused
/// or dropped connection, a timeout) opens the breaker, and from then on every operation fails
/// at once with [`StoreUnavailable::Down`] instead of waiting, so callers answer 503 (or, for
/// the rate limiter, let the request through) in microseconds. A background probe pings Redis
/// every [`Timeouts::recovery_probe`] and closes the breaker on the first answer. While the
/// breaker is closed the probe pings every [`Timeouts::probe`], so a connection that died
/// unused is replaced before a caller meets it. Idempotent operations that meet a dropped
/// connection are retried once on the fresh one the connection manager opens.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    timeouts: Timeouts,
    /// `true` while Redis is believed to answer (the breaker is closed).
    up: AtomicBool,
    hit: Script,
    acquire: Script,
    renew: Script,
    release: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisStore")
    }
}

/// Whether an operation may safely be sent twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Sending it again changes nothing more (`SET`, `GET`, `DEL`, lease renewal).
    Once,
    /// A second send could answer differently (`SET NX`, `GETDEL`, `INCR`): never resent.
    Never,
}

/// A failure that says Redis cannot be reached, as opposed to an answer it gave.
fn unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`) with the default [`Timeouts`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, Timeouts::default()).await
    }

    /// Connects to `url` and starts the probe.
    pub async fn connect_with(url: &str, timeouts: Timeouts) -> Result<Self> {
        let client = redis::Client::open(url)?;
        // One quick reconnection attempt per failure: the breaker and the probe do the waiting
        // (the manager's default, six attempts with backoff, held each caller for ~9 s).
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(100))
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.operation));
        let conn = tokio::time::timeout(
            timeouts.connect + timeouts.operation,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| StoreUnavailable::Timeout)??;
        let inner = Arc::new(Inner {
            conn,
            timeouts,
            up: AtomicBool::new(true),
            hit: Script::new(HIT),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
        });
        tokio::spawn(probe(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// Whether Redis is believed to answer right now (the breaker is closed).
    pub fn is_up(&self) -> bool {
        self.inner.up.load(Ordering::Acquire)
    }

    /// Publishes `payload` on `channel` (the config bus), through the same breaker.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<()> {
        self.run(Retry::Never, |mut c| async move {
            c.publish::<_, _, i64>(channel, payload).await.map(drop)
        })
        .await
    }

    /// Runs `op` on the shared connection, through the breaker (see the type's documentation).
    async fn run<T, F, Fut>(&self, retry: Retry, op: F) -> Result<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            return Err(StoreUnavailable::Down);
        }
        let first = self.attempt(&op).await;
        let result = match first {
            Err(Attempt::Failed(e)) if retry == Retry::Once && e.is_connection_dropped() => {
                self.attempt(&op).await
            }
            other => other,
        };
        match result {
            Ok(v) => Ok(v),
            Err(Attempt::Failed(e)) => {
                if unreachable(&e) {
                    self.inner.mark_down(&e.to_string());
                }
                Err(e.into())
            }
            Err(Attempt::TimedOut) => {
                self.inner
                    .mark_down("no answer within the operation timeout");
                Err(StoreUnavailable::Timeout)
            }
        }
    }

    async fn attempt<T, F, Fut>(&self, op: &F) -> std::result::Result<T, Attempt>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.inner.timeouts.operation, op(self.inner.conn.clone())).await
        {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Attempt::Failed(e)),
            Err(_) => Err(Attempt::TimedOut),
        }
    }
}

enum Attempt {
    Failed(redis::RedisError),
    TimedOut,
}

impl Inner {
    fn mark_down(&self, why: &str) {
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::error!(
                error = why,
                "Redis unreachable: failing fast until it answers again"
            );
        }
    }

    fn mark_up(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            tracing::info!("Redis answers again");
        }
    }

    async fn ping(&self) -> bool {
        let mut c = self.conn.clone();
        matches!(
            tokio::time::timeout(
                self.timeouts.operation,
                redis::cmd("PING").query_async::<String>(&mut c),
            )
            .await,
            Ok(Ok(_))
        )
    }
}

/// The breaker's probe: pings Redis on its own schedule until the store is dropped.
async fn probe(inner: Weak<Inner>) {
    loop {
        let wait = match inner.upgrade() {
            Some(i) if i.up.load(Ordering::Acquire) => i.timeouts.probe,
            Some(i) => i.timeouts.recovery_probe,
            None => return,
        };
        tokio::time::sleep(wait).await;
        let Some(inner) = inner.upgrade() else { return };
        if inner.ping().await {
            inner.mark_up();
        } else if inner.up.load(Ordering::Acquire) {
            // One failed ping may be the dropped connection being replaced: ask again on the
            // new one before declaring Redis down.
            if !inner.ping().await {
                inner.mark_down("the health probe got no answer");
            }
        }
    }
}

#[async_trait::async_trait]
impl ShortLived for RedisStore {
    async fn put(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key.as_str()).arg(value).arg("PX").arg(millis(ttl));
        let cmd = &cmd;
        self.run(Retry::Once, |mut c| async move {
            cmd.query_async::<()>(&mut c).await
        })
        .await
    }

    async fn put_if_absent(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<bool> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key.as_str())
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl));
        let cmd = &cmd;
        let set: Option<String> = self
            .run(Retry::Never, |mut c| async move {
                cmd.query_async(&mut c).await
            })
            .await?;
        Ok(set.is_some())
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let key = key.as_str();
        self.run(Retry::Once, |mut c| async move { c.get(key).await })
            .await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(k.as_str());
        }
        let cmd = &cmd;
        self.run(
            Retry::Once,
            |mut c| async move { cmd.query_async(&mut c).await },
        )
        .await
    }

    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(key.as_str());
        let cmd = &cmd;
        self.run(Retry::Never, |mut c| async move {
            cmd.query_async(&mut c).await
        })
        .await
    }

    async fn delete(&self, key: &Key) -> Result<bool> {
        let key = key.as_str();
        let n: u64 = self
            .run(Retry::Once, |mut c| async move { c.del(key).await })
            .await?;
        Ok(n > 0)
    }

    async fn hit(&self, key: &Key, window: Duration) -> Result<Hit> {
        let script = &self.inner.hit;
        let (key, window) = (key.as_str(), millis(window));
        let (count, ttl_ms): (u64, u64) = self
            .run(Retry::Never, |mut c| async move {
                script.key(key).arg(window).invoke_async(&mut c).await
            })
            .await?;
        Ok(Hit {
            count,
            resets_in: Duration::from_millis(ttl_ms),
        })
    }

    async fn acquire_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        // Idempotent for one holder: taking a lease it already has only extends it.
        let script = &self.inner.acquire;
        let (fence_key, key, ttl) = (key.fence(), key.as_str(), millis(ttl));
        let fence_key = fence_key.as_str();
        let fence: i64 = self
            .run(Retry::Once, |mut c| async move {
                script
                    .key(key)
                    .key(fence_key)
                    .arg(holder)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(u64::try_from(fence).ok())
    }

    async fn renew_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<bool> {
        let script = &self.inner.renew;
        let (key, ttl) = (key.as_str(), millis(ttl));
        let n: i64 = self
            .run(Retry::Once, |mut c| async move {
                script
                    .key(key)
                    .arg(holder)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(n == 1)
    }

    async fn release_lease(&self, key: &Key, holder: &str) -> Result<bool> {
        let script = &self.inner.release;
        let key = key.as_str();
        let n: i64 = self
            .run(Retry::Once, |mut c| async move {
                script.key(key).arg(holder).invoke_async(&mut c).await
            })
            .await?;
        Ok(n == 1)
    }

    async fn ping(&self) -> Result<()> {
        self.run(Retry::Once, |mut c| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut c)
                .await
                .map(drop)
        })
        .await
    }

    fn reachable(&self) -> bool {
        self.is_up()
    }
}
