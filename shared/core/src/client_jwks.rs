//! Client keys published at an app's `jwks_uri` (RFC 7591 §2; OIDC Core §10.1.1), for
//! `private_key_jwt` client assertions and signed request objects: fetched through the outbound
//! guard (the SSRF policy every outbound call obeys), at most [`MAX_BYTES`] within [`TIMEOUT`],
//! cached for the `Cache-Control: max-age` the publisher gives — between [`MIN_AGE`] and
//! [`MAX_AGE`], [`DEFAULT_AGE`] without one — and fetched again once when a JWT names a `kid`
//! the cached set lacks (at most once per [`REFRESH_EVERY`] per client, so that made-up `kid`s
//! cannot make Tessera fetch on every request). Only public signing keys are kept; at most
//! [`MAX_ENTRIES`] sets are cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest key set read.
pub const MAX_BYTES: usize = 64 * 1024;
/// How long a fetch may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Cache lifetimes: the floor, the ceiling, and the lifetime without `Cache-Control`.
pub const MIN_AGE: Duration = Duration::from_secs(60);
pub const MAX_AGE: Duration = Duration::from_secs(3600);
pub const DEFAULT_AGE: Duration = Duration::from_secs(300);
/// How often an unknown `kid` may send Tessera back to the same `jwks_uri`.
pub const REFRESH_EVERY: Duration = Duration::from_secs(10);
/// Cached sets at most: past it, stale ones go first, then the whole cache.
pub const MAX_ENTRIES: usize = 10_000;

/// Why a key set could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the jwks_uri is not allowed: {0}")]
    Refused(String),
    #[error("the jwks_uri could not be fetched: {0}")]
    Unreachable(String),
    #[error("the jwks_uri answered {0}")]
    Status(u16),
    #[error("the jwks_uri's key set is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the jwks_uri did not answer a JWK set")]
    NotAKeySet,
}

/// Tenant, client id and URL: a changed `jwks_uri` is another entry.
type CacheKey = (String, String, String);

struct Entry {
    keys: Arc<Vec<Value>>,
    fresh_until: Instant,
    fetched_at: Instant,
}

/// The fetcher and its cache, shared by every request of the process.
#[derive(Clone)]
pub struct ClientJwks {
    http: reqwest::Client,
    policy: tessera_outbound::Policy,
    cache: Arc<Mutex<HashMap<CacheKey, Entry>>>,
}

impl std::fmt::Debug for ClientJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientJwks")
    }
}

/// `max-age` of a `Cache-Control` value, within the floor and ceiling (`no-store`/`no-cache`
/// count as the floor).
fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(value) = cache_control else {
        return DEFAULT_AGE;
    };
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return MIN_AGE;
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            age = secs.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.map_or(DEFAULT_AGE, |s| {
        Duration::from_secs(s).clamp(MIN_AGE, MAX_AGE)
    })
}

impl ClientJwks {
    pub fn new(policy: tessera_outbound::Policy) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: tessera_outbound::client(
                policy.clone(),
                TIMEOUT,
                concat!("Tessera/", env!("CARGO_PKG_VERSION")),
            )?,
            policy,
            cache: Arc::default(),
        })
    }

    /// The keys at `uri` for `client_id` of `tenant_id`: cached while fresh; fetched again when
    /// `kid` is given and not among them (once per [`REFRESH_EVERY`]).
    pub async fn keys(
        &self,
        tenant_id: &str,
        client_id: &str,
        uri: &str,
        kid: Option<&str>,
    ) -> Result<Arc<Vec<Value>>, FetchError> {
        let key: CacheKey = (tenant_id.to_owned(), client_id.to_owned(), uri.to_owned());
        let now = Instant::now();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.get(&key).map(|e| {
                let has_kid =
                    kid.is_none_or(|k| e.keys.iter().any(|j| j["kid"].as_str() == Some(k)));
                let fresh = now < e.fresh_until;
                let may_refresh = now.duration_since(e.fetched_at) >= REFRESH_EVERY;
                (e.keys.clone(), fresh && (has_kid || !may_refresh))
            })
        };
        if let Some((keys, true)) = cached {
            return Ok(keys);
        }
        let (keys, age) = self.fetch(uri).await?;
        let keys = Arc::new(keys);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, e| now < e.fresh_until);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Entry {
                keys: keys.clone(),
                fresh_until: now + age,
                fetched_at: now,
            },
        );
        drop(cache);
        Ok(keys)
    }

    async fn fetch(&self, uri: &str) -> Result<(Vec<Value>, Duration), FetchError> {
        let url = self
            .policy
            .check_url(uri)
            .map_err(|e| FetchError::Refused(e.to_string()))?;
        let mut res = self
            .http
            .get(url)
            .header(
                reqwest::header::ACCEPT,
                "application/json, application/jwk-set+json",
            )
            .send()
            .await
            .map_err(unreachable)?;
        if !res.status().is_success() {
            return Err(FetchError::Status(res.status().as_u16()));
        }
        if res.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        let age = max_age(
            res.headers()
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let set: Value = serde_json::from_slice(&body).map_err(|_| FetchError::NotAKeySet)?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(FetchError::NotAKeySet)?
            .iter()
            .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
            .filter(|k| tessera_jose::jwk::check_public(k).is_ok())
            .cloned()
            .collect();
        Ok((keys, age))
    }
}

fn unreachable(e: reqwest::Error) -> FetchError {
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<tessera_outbound::Refused>() {
            return FetchError::Refused(refused.to_string());
        }
        source = err.source();
    }
    FetchError::Unreachable(e.without_url().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lifetimes_follow_max_age_within_the_floor_and_ceiling() {
        assert_eq!(max_age(None), DEFAULT_AGE);
        assert_eq!(
            max_age(Some("public, max-age=600")),
            Duration::from_secs(600)
        );
        assert_eq!(max_age(Some("max-age=5")), MIN_AGE);
        assert_eq!(max_age(Some("max-age=999999")), MAX_AGE);
        assert_eq!(max_age(Some("no-store")), MIN_AGE);
        assert_eq!(max_age(Some("max-age=banana")), DEFAULT_AGE);
    }
}
