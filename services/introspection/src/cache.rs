//! Introspection answers of active JWTs, kept until the token's `exp`, so a resource server
//! polling the same token is answered without verifying it again. Only in the embedded default,
//! where every revocation happens in this process and reaches the cache at once; with Redis
//! (several replicas) nothing is cached.
//!
//! An entry records what the tenant's state was when it was computed: the newest config version
//! announced for the tenant (any change moves it) and the tenant's revocation generation (any
//! revocation moves it). An entry whose record no longer matches is a miss, so neither a change
//! nor a revocation is ever answered from the cache, and nothing has to be told to forget.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use tessera_core::AppState;

/// The most entries kept; past it the cache starts over.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    tenant_id: String,
    exp: i64,
    seen: Option<i64>,
    revocations: u64,
    body: Bytes,
}

fn entries() -> &'static Mutex<HashMap<String, Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Entry>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, Entry>> {
    entries()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn enabled(state: &AppState) -> bool {
    state.config.redis_url.is_none()
}

/// The cached answer for the token hashed to `key` in `tenant_id`, if it is still valid at `now`.
pub fn lookup(state: &AppState, key: &str, tenant_id: &str, now: i64) -> Option<Bytes> {
    if !enabled(state) {
        return None;
    }
    let (seen, revocations) = (
        state.hot.seen_version(tenant_id),
        state.revocations.generation(tenant_id),
    );
    let found = lock()
        .get(key)
        .filter(|e| {
            e.tenant_id == tenant_id
                && e.exp > now
                && e.seen == seen
                && e.revocations == revocations
        })
        .map(|e| e.body.clone());
    let counter = if found.is_some() { "hit" } else { "miss" };
    tessera_core::metrics::metrics()
        .introspection_cache
        .with_label_values(&[counter])
        .inc();
    found
}

/// Keeps an active token's answer until its `exp`.
pub fn store(state: &AppState, key: String, tenant_id: &str, exp: i64, body: Bytes) {
    if !enabled(state) {
        return;
    }
    let entry = Entry {
        tenant_id: tenant_id.to_owned(),
        exp,
        seen: state.hot.seen_version(tenant_id),
        revocations: state.revocations.generation(tenant_id),
        body,
    };
    let mut all = lock();
    if all.len() >= MAX_ENTRIES {
        all.clear();
    }
    all.insert(key, entry);
}
