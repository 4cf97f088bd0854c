//! The in-process short-lived store: one map behind a mutex, expiry checked on every read and
//! swept now and then. Critical sections are a few map operations, never an await.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::{Hit, Key, Result, ShortLived};

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    fences: HashMap<String, u64>,
    writes: u64,
}

impl Inner {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| e.expires <= now) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn insert(&mut self, key: &str, value: Vec<u8>, expires: Instant, now: Instant) {
        self.writes += 1;
        if self.writes.is_multiple_of(1024) {
            self.entries.retain(|_, e| e.expires > now);
        }
        self.entries
            .insert(key.to_owned(), Entry { value, expires });
    }
}

/// The embedded default.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl ShortLived for MemoryStore {
    async fn put(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<()> {
        let now = Instant::now();
        self.lock()
            .insert(key.as_str(), value.to_vec(), now + ttl, now);
        Ok(())
    }

    async fn put_if_absent(&self, key: &Key, value: &[u8], ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.live(key.as_str(), now).is_some() {
            return Ok(false);
        }
        inner.insert(key.as_str(), value.to_vec(), now + ttl, now);
        Ok(true)
    }

    async fn get(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        Ok(self
            .lock()
            .live(key.as_str(), Instant::now())
            .map(|e| e.value.clone()))
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let now = Instant::now();
        let mut inner = self.lock();
        Ok(keys
            .iter()
            .map(|k| inner.live(k.as_str(), now).map(|e| e.value.clone()))
            .collect())
    }

    async fn take(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let mut inner = self.lock();
        let found = inner.live(key.as_str(), Instant::now()).is_some();
        Ok(if found {
            inner.entries.remove(key.as_str()).map(|e| e.value)
        } else {
            None
        })
    }

    async fn delete(&self, key: &Key) -> Result<bool> {
        let mut inner = self.lock();
        let found = inner.live(key.as_str(), Instant::now()).is_some();
        inner.entries.remove(key.as_str());
        Ok(found)
    }

    async fn hit(&self, key: &Key, window: Duration) -> Result<Hit> {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(e) = inner.live(key.as_str(), now) {
            let count = parse_count(&e.value) + 1;
            e.value = count.to_string().into_bytes();
            return Ok(Hit {
                count,
                resets_in: e.expires.saturating_duration_since(now),
            });
        }
        inner.insert(key.as_str(), b"1".to_vec(), now + window, now);
        Ok(Hit {
            count: 1,
            resets_in: window,
        })
    }

    async fn acquire_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<Option<u64>> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.live(key.as_str(), now) {
            Some(e) if e.value == holder.as_bytes() => {
                e.expires = now + ttl;
                Ok(Some(inner.fences.get(&key.fence()).copied().unwrap_or(0)))
            }
            Some(_) => Ok(None),
            None => {
                inner.insert(key.as_str(), holder.as_bytes().to_vec(), now + ttl, now);
                let fence = inner.fences.entry(key.fence()).or_insert(0);
                *fence += 1;
                Ok(Some(*fence))
            }
        }
    }

    async fn renew_lease(&self, key: &Key, holder: &str, ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let mut inner = self.lock();
        match inner.live(key.as_str(), now) {
            Some(e) if e.value == holder.as_bytes() => {
                e.expires = now + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(&self, key: &Key, holder: &str) -> Result<bool> {
        let mut inner = self.lock();
        let held = inner
            .live(key.as_str(), Instant::now())
            .is_some_and(|e| e.value == holder.as_bytes());
        if held {
            inner.entries.remove(key.as_str());
        }
        Ok(held)
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }
}

fn parse_count(v: &[u8]) -> u64 {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
