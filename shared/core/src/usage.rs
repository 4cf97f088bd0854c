//! When an app last used each of its grant types and redirect URIs, for the configuration
//! advice's "enabled but unused" findings (docs/advice.md).
//!
//! Each use is kept in the short-lived store under a key per tenant, app and grant type (or
//! redirect URI, by digest), holding the time of use and living [`WINDOW`]: a key that is absent
//! means the app has not used it for that long — or that the store has not been keeping uses
//! that long. So the store also keeps when it started keeping them ([`Usage::tracking_since`]),
//! and the advice reports an unused grant type or redirect URI only once that is a full window
//! ago. A process writes a key at most once per [`REFRESH`], whatever the traffic, and a store
//! that cannot be reached loses the record of a use, never the request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tessera_domain::secrets::lookup_digest;
use tessera_ephemeral::{Key, Kind, ShortLived};

/// How far back uses are kept: Okta's advice looks at 90 days.
pub const WINDOW: Duration = Duration::from_secs(90 * 86_400);
/// How often one process rewrites the same key.
pub const REFRESH: Duration = Duration::from_secs(3_600);
/// The most keys a process remembers having written (past it, the memory is cleared).
const MAX_REMEMBERED: usize = 100_000;

/// What was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    GrantType,
    RedirectUri,
}

impl Used {
    const fn tag(self) -> &'static str {
        match self {
            Self::GrantType => "grant",
            Self::RedirectUri => "redirect",
        }
    }
}

/// The key of one use: a grant type as it is (a short fixed name), a redirect URI by digest.
fn key(tenant: &str, app_id: &str, used: Used, value: &str) -> Key {
    let id = match used {
        Used::GrantType => format!("{app_id}:{}:{value}", used.tag()),
        Used::RedirectUri => format!("{app_id}:{}:{}", used.tag(), lookup_digest(value)),
    };
    Key::tenant(tenant, Kind::Usage, &id)
}

fn since_key() -> Key {
    Key::global(Kind::Usage, "since")
}

/// This process's record of uses.
#[derive(Debug, Default)]
pub struct Usage {
    /// Key → when this process last wrote it (ms).
    written: Mutex<HashMap<String, i64>>,
}

impl Usage {
    /// Marks the start of keeping uses, unless the store already has one.
    pub async fn start(&self, store: &dyn ShortLived, now_ms: i64) {
        let ten_years = Duration::from_secs(10 * 365 * 86_400);
        if let Err(e) = store
            .put_if_absent(&since_key(), now_ms.to_string().as_bytes(), ten_years)
            .await
        {
            tracing::warn!(error = %e, "usage tracking: cannot record its start");
        }
    }

    /// Since when the store has kept uses (ms), if it says.
    pub async fn tracking_since(&self, store: &dyn ShortLived) -> Option<i64> {
        let raw = store.get(&since_key()).await.ok()??;
        std::str::from_utf8(&raw).ok()?.parse().ok()
    }

    /// Records that `app_id` used `value` now.
    pub async fn touch(
        &self,
        store: &dyn ShortLived,
        tenant: &str,
        app_id: &str,
        used: Used,
        value: &str,
        now_ms: i64,
    ) {
        let key = key(tenant, app_id, used, value);
        let refresh_ms = i64::try_from(REFRESH.as_millis()).unwrap_or(i64::MAX);
        {
            let mut written = self
                .written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if written
                .get(key.as_str())
                .is_some_and(|at| now_ms - at < refresh_ms && *at <= now_ms)
            {
                return;
            }
            if written.len() >= MAX_REMEMBERED {
                written.clear();
            }
            written.insert(key.as_str().to_owned(), now_ms);
        }
        if let Err(e) = store.put(&key, now_ms.to_string().as_bytes(), WINDOW).await {
            tracing::debug!(error = %e, "usage tracking: a use was not recorded");
        }
    }

    /// When `app_id` last used each of `values` (ms), within the window.
    pub async fn last_used(
        &self,
        store: &dyn ShortLived,
        tenant: &str,
        app_id: &str,
        used: Used,
        values: &[String],
    ) -> Result<Vec<Option<i64>>, tessera_ephemeral::StoreUnavailable> {
        let keys: Vec<Key> = values
            .iter()
            .map(|v| key(tenant, app_id, used, v))
            .collect();
        Ok(store
            .get_many(&keys)
            .await?
            .into_iter()
            .map(|raw| raw.and_then(|r| std::str::from_utf8(&r).ok()?.parse().ok()))
            .collect())
    }
}
