//! What this process knows of its stores' health, without asking them on a request's path:
//! a background probe pings the database every `stores.database_probe_ms`; Redis's state is its
//! circuit breaker's (see `tessera_ephemeral::RedisStore`). `/readyz` and the
//! `tessera_dependency_up` metric read it.

use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tessera_ephemeral::ShortLived;
use tessera_store::DatabaseConnection;

/// The stores' health as last seen.
#[derive(Debug)]
pub struct Health {
    database_up: AtomicBool,
}

impl Health {
    /// Starts the database probe; it stops when the returned value is dropped.
    pub fn start(db: DatabaseConnection, every: Duration, within: Duration) -> Arc<Self> {
        let health = Arc::new(Self {
            database_up: AtomicBool::new(true),
        });
        tokio::spawn(probe(Arc::downgrade(&health), db, every, within));
        health
    }

    /// Whether the database answered the last probe.
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::Acquire)
    }

    /// What `/readyz` and the metrics say of each store.
    pub fn snapshot(&self, short: &dyn ShortLived) -> Snapshot {
        Snapshot {
            database: self.database_up(),
            short_lived: short.reachable(),
        }
    }
}

/// Each store's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub database: bool,
    pub short_lived: bool,
}

async fn probe(health: Weak<Health>, db: DatabaseConnection, every: Duration, within: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let up = tessera_store::ping(&db, within).await;
        let Some(health) = health.upgrade() else {
            return;
        };
        let was = health.database_up.swap(up, Ordering::AcqRel);
        match (was, up) {
            (true, false) => tracing::error!(
                "the database does not answer: requests that need it answer 503 until it does"
            ),
            (false, true) => tracing::info!("the database answers again"),
            _ => {}
        }
    }
}
