//! The config bus: after the admin or keys service commits a change, it publishes
//! `{tenant, what, id, version}`; every replica's hot-state registry listens and reloads.
//! In-process it is a broadcast channel; with Redis it is pub/sub on one channel, relayed
//! into the same local broadcast so that listeners do not care which one runs.

use std::time::Duration;

use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::Result;

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

/// The bus across replicas: Redis pub/sub relayed into a local broadcast.
#[derive(Clone)]
pub struct RedisBus {
    conn: redis::aio::ConnectionManager,
    local: broadcast::Sender<ConfigEvent>,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisBus")
    }
}

impl RedisBus {
    /// Connects, subscribes, and starts the relay task, which resubscribes by itself after a
    /// lost connection (the hot-state registry's periodic version check covers the gap).
    /// Returns once the subscription is active, so nothing published afterwards is missed.
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = redis::aio::ConnectionManager::new(client.clone()).await?;
        let (local, _) = broadcast::channel(LOCAL_CAPACITY);
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        let relay = local.clone();
        tokio::spawn(async move {
            let mut pubsub = Some(pubsub);
            loop {
                if let Some(mut ps) = pubsub.take() {
                    let mut messages = ps.on_message();
                    while let Some(msg) = messages.next().await {
                        match serde_json::from_slice::<ConfigEvent>(msg.get_payload_bytes()) {
                            Ok(event) => {
                                let _ = relay.send(event);
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "ignoring a malformed config-bus message")
                            }
                        }
                    }
                    tracing::warn!("config bus subscription lost; resubscribing");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                match client.get_async_pubsub().await {
                    Ok(mut ps) => match ps.subscribe(CHANNEL).await {
                        Ok(()) => pubsub = Some(ps),
                        Err(e) => tracing::warn!(error = %e, "config bus resubscribe failed"),
                    },
                    Err(e) => tracing::warn!(error = %e, "config bus reconnect failed"),
                }
            }
        });
        Ok(Self { conn, local })
    }
}

#[async_trait::async_trait]
impl ConfigBus for RedisBus {
    async fn publish(&self, event: &ConfigEvent) -> Result<()> {
        let payload = serde_json::to_vec(event)
            .map_err(|e| crate::StoreUnavailable::Malformed(e.to_string()))?;
        let mut c = self.conn.clone();
        let _: i64 = c.publish(CHANNEL, payload).await?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<ConfigEvent> {
        self.local.subscribe()
    }
}
