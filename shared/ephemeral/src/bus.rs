//! The config bus: after the admin or keys service commits a change, it publishes
//! `{tenant, what, id, version}`; every replica's hot-state registry listens and reloads.
//! In-process it is a broadcast channel; with Redis it is pub/sub on one channel, relayed
//! into the same local broadcast so that listeners do not care which one runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};

use crate::{RedisStore, Result};

/// The Redis channel the bus uses.
pub const CHANNEL: &str = "tessera:config";

/// A committed configuration change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEvent {
    pub tenant: String,
    /// What changed: `authorizationServer`, `scope`, `app`, `tenant`, …
    pub what: String,
    pub id: String,
    /// The tenant's config version after the change.
    pub version: i64,
    /// When the change was committed (Unix milliseconds; 0 when unknown): receivers measure
    /// the bus's lag from it.
    #[serde(default)]
    pub published_ms: i64,
    /// Which hot state the change makes stale (an event from an older replica, without it,
    /// reloads everything).
    #[serde(default)]
    pub reload: Reload,
    /// The replica that committed the change (it has applied it already and ignores its own
    /// echo); empty when unknown.
    #[serde(default)]
    pub origin: String,
}

/// Which hot state a committed change makes stale.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Reload {
    /// Everything loaded for the tenant (its status changed, it was provisioned, or the kind of
    /// change is not known).
    #[default]
    All,
    /// The tenant-wide snapshot: groups, inline hooks, every app.
    Tenant,
    /// One app (its settings, secrets, keys, assignments, `okta.*` grants) in the tenant-wide
    /// snapshot.
    App(String),
    /// One authorization server: its settings, scopes, claims, policies, rules and keys.
    Server(String),
    /// Nothing hot: users, memberships and API tokens are read from the database when used.
    Nothing,
}

/// Publishes and delivers [`ConfigEvent`]s.
#[async_trait::async_trait]
pub trait ConfigBus: Send + Sync + 'static {
    async fn publish(&self, event: &ConfigEvent) -> Result<()>;
    /// A receiver of every event published from now on, by any replica.
    fn subscribe(&self) -> broadcast::Receiver<ConfigEvent>;
    /// Events published here that wait to be delivered to the other replicas.
    fn waiting(&self) -> usize {
        0
    }
}

const LOCAL_CAPACITY: usize = 4096;

/// The in-process bus of the embedded default.
#[derive(Debug, Clone)]
pub struct MemoryBus {
    tx: broadcast::Sender<ConfigEvent>,
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(LOCAL_CAPACITY).0,
        }
    }
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ConfigBus for MemoryBus {
    async fn publish(&self, event: &ConfigEvent) -> Result<()> {
        // No receiver yet is not an error: nobody holds state that could be stale.
        let _ = self.tx.send(event.clone());
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<ConfigEvent> {
        self.tx.subscribe()
    }
}

/// How many announcements wait for Redis at most; past that the oldest is dropped (and logged):
/// each replica's periodic version check still finds the change.
const OUTBOX_CAPACITY: usize = 10_000;

/// The bus across replicas: Redis pub/sub relayed into a local broadcast.
///
/// Publishing goes through the short-lived store's connection and circuit breaker. An event
/// that cannot be published (Redis is down) waits in an in-process outbox, in order, and a
/// background task publishes it as soon as Redis answers: a committed change is announced
/// late, never not at all (unless the process dies first, when the replicas' periodic version
/// check finds it).
#[derive(Clone)]
pub struct RedisBus {
    store: RedisStore,
    local: broadcast::Sender<ConfigEvent>,
    outbox: Arc<Outbox>,
}

struct Outbox {
    waiting: Mutex<VecDeque<Vec<u8>>>,
    wake: Notify,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisBus")
    }
}

impl RedisBus {
    /// Subscribes and starts the relay task, which resubscribes by itself after a lost
    /// connection (the hot-state registry's periodic version check covers the gap), and the
    /// outbox task. Publishes through `store`. Returns once the subscription is active, so
    /// nothing published afterwards is missed.
    pub async fn connect(url: &str, store: RedisStore) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        tokio::spawn(relay(client, pubsub, local.clone()));
        let outbox = Arc::new(Outbox {
            waiting: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
        });
        tokio::spawn(deliver(store.clone(), Arc::downgrade(&outbox)));
        Ok(Self {
            store,
            local,
            outbox,
        })
    }
}

/// Relays every message on [`CHANNEL`] into `local`, resubscribing after a lost connection.
async fn relay(
    client: redis::Client,
    pubsub: redis::aio::PubSub,
    local: broadcast::Sender<ConfigEvent>,
) {
    let mut pubsub = Some(pubsub);
    loop {
        if let Some(mut ps) = pubsub.take() {
            let mut messages = ps.on_message();
            while let Some(msg) = messages.next().await {
                match serde_json::from_slice::<ConfigEvent>(msg.get_payload_bytes()) {
                    Ok(event) => {
                        let _ = local.send(event);
                    }
                    Err(e) => tracing::warn!(error = %e, "ignoring a malformed config-bus message"),
                }
            }
            tracing::warn!("config bus subscription lost; resubscribing");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let attempt = tokio::time::timeout(Duration::from_secs(1), async {
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(ps)
        })
        .await;
        match attempt {
            Ok(Ok(ps)) => {
                tracing::info!("config bus subscribed again");
                pubsub = Some(ps);
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "config bus resubscribe failed"),
            Err(_) => tracing::debug!("config bus resubscribe timed out"),
        }
    }
}

/// Publishes what waits in the outbox, oldest first, until the bus is dropped.
async fn deliver(store: RedisStore, outbox: Weak<Outbox>) {
    loop {
        let Some(ob) = outbox.upgrade() else { return };
        let next = ob.waiting.lock().ok().and_then(|w| w.front().cloned());
        let Some(payload) = next else {
            // Wake on a new event, or look again in a while (the bus may have been dropped).
            let _ = tokio::time::timeout(Duration::from_secs(5), ob.wake.notified()).await;
            continue;
        };
        if store.publish(CHANNEL, &payload).await.is_ok() {
            if let Ok(mut w) = ob.waiting.lock() {
                w.pop_front();
                if w.is_empty() {
                    tracing::info!("every waiting config change is announced");
                }
            }
        } else {
            drop(ob);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[async_trait::async_trait]
impl ConfigBus for RedisBus {
    /// Publishes now, or, while Redis is down or earlier events still wait, queues the event
    /// behind them; it is announced when Redis answers. `Ok` either way.
    async fn publish(&self, event: &ConfigEvent) -> Result<()> {
        let payload = serde_json::to_vec(event)
            .map_err(|e| crate::StoreUnavailable::Malformed(e.to_string()))?;
        let queued_before = ConfigBus::waiting(self) > 0;
        if !queued_before && self.store.publish(CHANNEL, &payload).await.is_ok() {
            return Ok(());
        }
        let Ok(mut waiting) = self.outbox.waiting.lock() else {
            return Err(crate::StoreUnavailable::Malformed(
                "the config bus outbox is poisoned".into(),
            ));
        };
        if waiting.len() >= OUTBOX_CAPACITY {
            waiting.pop_front();
            tracing::error!(
                capacity = OUTBOX_CAPACITY,
                "config bus outbox full: dropped its oldest announcement (replicas find that change by their periodic version check)"
            );
        }
        waiting.push_back(payload);
        drop(waiting);
        self.outbox.wake.notify_one();
        tracing::warn!(
            tenant = event.tenant,
            what = event.what,
            "config change committed; Redis is unavailable, so it is announced when Redis answers"
        );
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<ConfigEvent> {
        self.local.subscribe()
    }

    fn waiting(&self) -> usize {
        self.outbox.waiting.lock().map_or(0, |w| w.len())
    }
}
