//! The Redis short-lived store, shared by every replica. Compound operations are single
//! commands (`SET NX PX`, `GETDEL`) or Lua scripts, so they are atomic across replicas.

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{AsyncCommands as _, Script};

use crate::{Hit, Key, Result, ShortLived, millis};

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

/// Short-lived state in Redis. Cloning shares the multiplexed connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
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

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self {
            conn,
            hit: Script::new(HIT),
            acquire: Script::new(ACQUIRE),
            renew: Script::new(RENEW),
            release: Script::new(RELEASE),
        })
    }
}

#[async_trait::async_trait]
impl ShortLived for RedisStore {
    async fn put(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<()> {
        let mut c = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(key.as_str())
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<bool> {
        let mut c = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(key.as_str())
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await?;
        Ok(set.is_some())
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        Ok(c.get(key.as_str()).await?)
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.conn.clone();
        let mut cmd = redis::cmd("MGET");
        for k in keys {
            cmd.arg(k.as_str());
        }
        Ok(cmd.query_async(&mut c).await?)
    }

    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let mut c = self.conn.clone();
        Ok(redis::cmd("GETDEL")
            .arg(key.as_str())
            .query_async(&mut c)
            .await?)
    }

    async fn delete(&self, key: &Key) -> Result<bool> {
        let mut c = self.conn.clone();
        let n: u64 = c.del(key.as_str()).await?;
        Ok(n > 0)
    }

    async fn hit(&self, key: &Key, window: Duration) -> Result<Hit> {
        let mut c = self.conn.clone();
        let (count, ttl_ms): (u64, u64) = self
            .hit
            .key(key.as_str())
            .arg(millis(window))
            .invoke_async(&mut c)
            .await?;
        Ok(Hit {
            count,
            resets_in: Duration::from_millis(ttl_ms),
        })
    }

    async fn acquire_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        let mut c = self.conn.clone();
        let fence: i64 = self
            .acquire
            .key(key.as_str())
            .key(key.fence())
            .arg(holder)
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?;
        Ok(u64::try_from(fence).ok())
    }

    async fn renew_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<bool> {
        let mut c = self.conn.clone();
        let n: i64 = self
            .renew
            .key(key.as_str())
            .arg(holder)
            .arg(millis(ttl))
            .invoke_async(&mut c)
            .await?;
        Ok(n == 1)
    }

    async fn release_lease(&self, key: &Key, holder: &str) -> Result<bool> {
        let mut c = self.conn.clone();
        let n: i64 = self
            .release
            .key(key.as_str())
            .arg(holder)
            .invoke_async(&mut c)
            .await?;
        Ok(n == 1)
    }

    async fn ping(&self) -> Result<()> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }
}
