//! Revocations, kept so that nothing a caller was told is revoked ever comes back.
//!
//! Every marker (a denylisted access token's `jti`, or a subject's *epoch*) is written twice: to
//! the short-lived store, which every check reads, and to the database (`revocations`), which
//! outlives it. The short-lived store is a cache. Redis as deployed keeps nothing on disk, and
//! the embedded store lives in the process, so either can come back empty; each tenant's cached
//! markers therefore carry a *generation marker*. A check that finds a tenant's generation
//! marker missing reloads that tenant's live markers from the database before it answers; while
//! a reload is running (or when the database cannot be read) checks fail closed.
//!
//! Order of writes: the short-lived store first (if it is down, the request fails and nothing
//! changes), then the database, in the caller's transaction where there is one. A cache that
//! restarted between the two writes and was reloaded before the second committed would miss
//! the marker; a second pass a few seconds after every reload ([`CATCH_UP_AFTER`]) loads the
//! markers written meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_domain::Clock;
use tessera_ephemeral::revocation::{
    EPOCH_TTL, GENERATION_TTL, Subject, decide, generation_key, jti_marker, marker_key,
};
use tessera_ephemeral::{ShortLived, StoreUnavailable};
use tessera_store::entities::revocation;
use tessera_store::sea_orm::sea_query::OnConflict;
use tessera_store::sea_orm::{ActiveValue, EntityTrait as _, QueryFilter as _};
use tessera_store::{ColumnTrait as _, ConnectionTrait, DatabaseConnection, StoreError, repo};

/// How long a check waits for another task's reload of the same tenant before failing closed.
pub const RELOAD_WAIT: Duration = Duration::from_secs(2);
/// When, after a reload, the markers written during it are loaded again.
pub const CATCH_UP_AFTER: Duration = Duration::from_secs(5);

/// Why a revocation could not be recorded or checked. Every variant fails the request.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tenant's cached markers are being reloaded (or could not be); the check is refused
    /// rather than answered from an incomplete cache.
    #[error("the revocation markers of tenant {0} are being reloaded")]
    Reloading(String),
}

pub type Result<T> = std::result::Result<T, RevocationError>;

/// The revocation markers of every tenant.
pub struct Revocations {
    db: DatabaseConnection,
    short: Arc<dyn ShortLived>,
    clock: Arc<dyn Clock>,
    /// One reload per tenant at a time in this process; other checks wait for it.
    reloading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Per tenant, how many revocations this process has recorded: what a cached introspection
    /// answer was computed at.
    generations: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revocations")
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn ttl_until(expires_ms: i64, now_ms: i64) -> Option<Duration> {
    u64::try_from(expires_ms - now_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
}

/// The cached value of a marker row: `1` for a `jti`, the epoch for an epoch.
fn cached_value(row: &revocation::Model) -> Vec<u8> {
    if row.id.starts_with("jti:") {
        b"1".to_vec()
    } else {
        row.value.to_string().into_bytes()
    }
}

impl Revocations {
    pub fn new(db: DatabaseConnection, short: Arc<dyn ShortLived>, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            short,
            clock,
            reloading: Mutex::default(),
            generations: Mutex::default(),
        }
    }

    /// How many revocations this process has recorded for `tenant` (it moves with each one).
    pub fn generation(&self, tenant: &str) -> u64 {
        self.generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(tenant)
            .copied()
            .unwrap_or(0)
    }

    fn bump(&self, tenant: &str) {
        *self
            .generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(tenant.to_owned())
            .or_insert(0) += 1;
    }

    fn now_ms(&self) -> i64 {
        tessera_domain::timefmt::to_millis(self.clock.now())
    }

    /// Denylists one access token until its `exp` (seconds). `conn` is the caller's
    /// transaction or the database itself.
    pub async fn revoke_jti(
        &self,
        conn: &impl ConnectionTrait,
        tenant: &str,
        jti: &str,
        exp: i64,
    ) -> Result<()> {
        let now = self.now_ms();
        let expires = exp.saturating_mul(1000);
        let Some(ttl) = ttl_until(expires, now) else {
            return Ok(()); // expired already: nothing to revoke
        };
        let marker = jti_marker(jti);
        self.bump(tenant);
        self.short
            .put(&marker_key(tenant, &marker), b"1", ttl)
            .await?;
        record(conn, tenant, &marker, 0, expires, now).await
    }

    /// Revokes every token of `subject` issued until now.
    pub async fn revoke_all(
        &self,
        conn: &impl ConnectionTrait,
        tenant: &str,
        subject: &Subject<'_>,
    ) -> Result<()> {
        let now = self.now_ms();
        let marker = subject.marker();
        self.bump(tenant);
        self.short
            .put(
                &marker_key(tenant, &marker),
                now.to_string().as_bytes(),
                EPOCH_TTL,
            )
            .await?;
        record(conn, tenant, &marker, now, now + millis(EPOCH_TTL), now).await
    }

    /// Whether a token (`jti`, issued at `iat` seconds, for `subjects`) has been revoked: one
    /// round trip to the short-lived store, with the tenant's generation marker.
    pub async fn is_revoked(
        &self,
        tenant: &str,
        jti: Option<&str>,
        iat: i64,
        subjects: &[Subject<'_>],
    ) -> Result<bool> {
        let mut keys = Vec::with_capacity(2 + subjects.len());
        keys.push(generation_key(tenant));
        if let Some(j) = jti {
            keys.push(marker_key(tenant, &jti_marker(j)));
        }
        keys.extend(subjects.iter().map(|s| marker_key(tenant, &s.marker())));
        let mut values = self.short.get_many(&keys).await?;
        if values.first().is_none_or(Option::is_none) {
            self.reload(tenant).await?;
            values = self.short.get_many(&keys).await?;
            if values.first().is_none_or(Option::is_none) {
                return Err(RevocationError::Reloading(tenant.to_owned()));
            }
        }
        let (jti_value, epochs) = match jti {
            Some(_) => (values.get(1).and_then(Option::as_deref), values.get(2..)),
            None => (None, values.get(1..)),
        };
        Ok(decide(jti_value, epochs.unwrap_or_default(), iat))
    }

    fn gate(&self, tenant: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(tenant.to_owned()).or_default().clone()
    }

    /// Loads the tenant's live markers into the short-lived store and sets its generation
    /// marker, unless another task did so meanwhile. Returns how many markers were loaded.
    pub async fn reload(&self, tenant: &str) -> Result<usize> {
        let gate = self.gate(tenant);
        let Ok(_turn) = tokio::time::timeout(RELOAD_WAIT, gate.lock()).await else {
            return Err(RevocationError::Reloading(tenant.to_owned()));
        };
        if self.short.get(&generation_key(tenant)).await?.is_some() {
            return Ok(0);
        }
        let started = self.now_ms();
        let loaded = self.load(tenant, None).await.map_err(|e| {
            tracing::error!(tenant, error = %e, "revocation markers could not be reloaded; checks fail closed");
            RevocationError::Reloading(tenant.to_owned())
        })?;
        self.short
            .put(
                &generation_key(tenant),
                started.to_string().as_bytes(),
                GENERATION_TTL,
            )
            .await?;
        tracing::info!(
            tenant,
            markers = loaded,
            "revocation markers loaded into the short-lived store"
        );
        self.catch_up_later(tenant, started);
        Ok(loaded)
    }

    /// Puts the tenant's live markers (those changed since `since`, or all) into the store.
    async fn load(&self, tenant: &str, since: Option<i64>) -> Result<usize> {
        let now = self.now_ms();
        let mut cond = tessera_store::Condition::all().add(revocation::Column::ExpiresAt.gt(now));
        if let Some(since) = since {
            cond = cond.add(revocation::Column::LastUpdated.gte(since));
        }
        let rows = repo::all::<revocation::Entity>(&self.db, tenant, cond).await?;
        let mut loaded = 0;
        for row in &rows {
            if let Some(ttl) = ttl_until(row.expires_at, now) {
                self.short
                    .put(&marker_key(tenant, &row.id), &cached_value(row), ttl)
                    .await?;
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// After [`CATCH_UP_AFTER`], loads again the markers changed since a little before the
    /// reload started: a revocation whose cache write the restart lost and whose database write
    /// committed after the reload read is picked up.
    fn catch_up_later(&self, tenant: &str, started: i64) {
        let this = Self {
            db: self.db.clone(),
            short: self.short.clone(),
            clock: self.clock.clone(),
            reloading: Mutex::default(),
            generations: Mutex::default(),
        };
        let tenant = tenant.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(CATCH_UP_AFTER).await;
            let since = started - 2 * millis(CATCH_UP_AFTER);
            if let Err(e) = this.load(&tenant, Some(since)).await {
                tracing::warn!(tenant = %tenant, error = %e, "revocation catch-up pass failed");
            }
        });
    }

    /// Deletes the rows of markers that no longer matter (their tokens have all expired).
    pub async fn prune(&self) -> Result<u64> {
        let cutoff = self.now_ms() - 60_000;
        let deleted = revocation::Entity::delete_many()
            .filter(revocation::Column::ExpiresAt.lt(cutoff))
            .exec(&self.db)
            .await
            .map_err(StoreError::from)?;
        Ok(deleted.rows_affected)
    }
}

/// Upserts a marker row (a later epoch replaces an earlier one).
async fn record(
    conn: &impl ConnectionTrait,
    tenant: &str,
    marker: &str,
    value: i64,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    let row = revocation::ActiveModel {
        seq: ActiveValue::NotSet,
        tenant_id: ActiveValue::Set(tenant.to_owned()),
        id: ActiveValue::Set(marker.to_owned()),
        value: ActiveValue::Set(value),
        expires_at: ActiveValue::Set(expires_at),
        created: ActiveValue::Set(now),
        last_updated: ActiveValue::Set(now),
    };
    revocation::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([revocation::Column::TenantId, revocation::Column::Id])
                .update_columns([
                    revocation::Column::Value,
                    revocation::Column::ExpiresAt,
                    revocation::Column::LastUpdated,
                ])
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await
        .map_err(StoreError::from)?;
    Ok(())
}
