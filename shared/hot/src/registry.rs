//! The per-process registry of hot-state actors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;
use tessera_domain::Clock;
use tessera_ephemeral::ConfigBus;
use tessera_jose::KeyRing;
use tessera_store::entities::authorization_server as srv;

/// How metrics and logs name the org authorization server (its routes are `{org}/oauth2/v1/…`).
pub const ORG_SERVER: &str = "org";
use tessera_store::{DatabaseConnection, repo};

use crate::LoadError;
use crate::load;
use crate::snapshot::{ServerSnapshot, TenantSnapshot};

/// What the registry needs to know about this deployment.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub public_url: String,
    pub base_domain: Option<String>,
    /// Grant types the token endpoint implements (for discovery).
    pub grant_types: Vec<&'static str>,
    pub response_types: Vec<&'static str>,
    pub response_modes: Vec<&'static str>,
    /// Optional endpoints this deployment serves (`authorize`, `introspect`, `revoke`, `userinfo`).
    pub endpoints: Vec<&'static str>,
    /// How long EXPIRED keys stay published.
    pub expired_key_retention_ms: i64,
    /// The AUTO rotation interval (for the JWKS max-age).
    pub rotation_interval_ms: i64,
    /// How often loaded tenants' config versions are compared with the database.
    pub version_check_every: Duration,
    /// How long an unused tenant stays loaded.
    pub idle_after: Duration,
    /// Whether introspection results may be cached: only where revocations reach this cache
    /// synchronously (the in-process store and bus of the embedded default).
    pub cache_introspection: bool,
}

/// Introspection results of active JWTs, by a hash of the token, until the token's `exp`.
/// Any announcement for a tenant drops its entries, so a revocation (explicit or implicit) is
/// never answered from the cache.
#[derive(Debug, Default)]
struct ResultCache {
    entries: std::sync::Mutex<HashMap<String, (String, i64, bytes::Bytes)>>,
}

const RESULT_CACHE_MAX: usize = 100_000;

impl ResultCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, i64, bytes::Bytes)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A loaded snapshot behind its actor.
struct Slot<T> {
    cell: Arc<ArcSwap<T>>,
    actor: Addr<Loader>,
    last_used: AtomicI64,
}

struct TenantSlot {
    slot: Slot<TenantSnapshot>,
    servers: RwLock<HashMap<String, Arc<Slot<ServerSnapshot>>>>,
    /// The newest config version announced for this tenant. A snapshot older than this is
    /// reloaded (and waited for) before it is handed out, so a committed change is honoured by
    /// the very next request.
    wanted: AtomicI64,
}

/// What an actor reloads.
#[derive(Debug, Clone)]
enum Target {
    Tenant {
        tenant_id: String,
    },
    Server {
        tenant_id: String,
        server_id: String,
    },
}

/// The actor that owns one snapshot: it is the only writer, reloads one at a time, and never
/// holds its own state across an await (the load works on clones).
struct Loader {
    target: Target,
    tenant_cell: Option<Arc<ArcSwap<TenantSnapshot>>>,
    server_cell: Option<Arc<ArcSwap<ServerSnapshot>>>,
    shared: Arc<Shared>,
}

impl Actor for Loader {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Reload;

impl Handler<Reload> for Loader {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, _: Reload, _: &mut Self::Context) -> Self::Result {
        let (target, shared) = (self.target.clone(), self.shared.clone());
        let (tenant_cell, server_cell) = (self.tenant_cell.clone(), self.server_cell.clone());
        AtomicResponse::new(Box::pin(
            async move {
                let result = match &target {
                    Target::Tenant { tenant_id } => shared.load_tenant(tenant_id).await.map(|t| {
                        if let (Some(cell), Some(t)) = (tenant_cell, t) {
                            cell.store(Arc::new(t));
                        }
                    }),
                    Target::Server { tenant_id, server_id } => shared.load_server(tenant_id, server_id).await.map(|s| {
                        if let (Some(cell), Some(s)) = (server_cell, s) {
                            cell.store(Arc::new(s));
                        }
                    }),
                };
                if let Err(e) = result {
                    tracing::error!(error = %e, ?target, "hot-state reload failed; keeping the previous snapshot");
                }
            }
            .into_actor(self),
        ))
    }
}

struct Shared {
    db: DatabaseConnection,
    master: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    config: RegistryConfig,
}

impl Shared {
    fn now_ms(&self) -> i64 {
        tessera_domain::timefmt::to_millis(self.clock.now())
    }

    async fn load_tenant(&self, tenant_id: &str) -> Result<Option<TenantSnapshot>, LoadError> {
        let Some(t) = tessera_store::tenants::by_id(&self.db, tenant_id).await? else {
            return Ok(None);
        };
        Ok(Some(
            load::tenant(&self.db, &self.config, &self.master, &t).await?,
        ))
    }

    async fn load_server(
        &self,
        tenant_id: &str,
        server_id: &str,
    ) -> Result<Option<ServerSnapshot>, LoadError> {
        let Some(t) = tessera_store::tenants::by_id(&self.db, tenant_id).await? else {
            return Ok(None);
        };
        let Some(s) = repo::find::<srv::Entity>(&self.db, tenant_id, server_id).await? else {
            return Ok(None);
        };
        Ok(Some(
            load::server(&self.db, &self.config, &self.master, &t, &s, self.now_ms()).await?,
        ))
    }
}

/// Maps tenants and their servers to hot-state actors.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
    stats: Arc<Counters>,
    results: Arc<ResultCache>,
    /// Loaded tenants by name (the path segment), and names by id (the bus's key).
    tenants: Arc<RwLock<HashMap<String, Arc<TenantSlot>>>>,
    names: Arc<RwLock<HashMap<String, String>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("loaded_tenants", &self.loaded_tenants())
            .finish()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the registry has counted since the process started (for `/metrics`).
#[derive(Debug, Default)]
struct Counters {
    tenant_hits: AtomicU64,
    tenant_loads: AtomicU64,
    result_hits: AtomicU64,
    result_misses: AtomicU64,
    bus_events: AtomicU64,
    bus_lag_ms: AtomicI64,
}

/// A reading of the registry's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Requests for a tenant answered from its loaded snapshot, and loads from the database.
    pub tenant_hits: u64,
    pub tenant_loads: u64,
    /// Introspection answers served from the result cache, and lookups that missed it.
    pub result_hits: u64,
    pub result_misses: u64,
    /// Config-bus messages received, and the lag of the latest (commit to receipt).
    pub bus_events: u64,
    pub bus_lag_ms: i64,
}

impl Registry {
    /// The counters' current values.
    pub fn stats(&self) -> Stats {
        let s = &self.stats;
        Stats {
            tenant_hits: s.tenant_hits.load(Ordering::Relaxed),
            tenant_loads: s.tenant_loads.load(Ordering::Relaxed),
            result_hits: s.result_hits.load(Ordering::Relaxed),
            result_misses: s.result_misses.load(Ordering::Relaxed),
            bus_events: s.bus_events.load(Ordering::Relaxed),
            bus_lag_ms: s.bus_lag_ms.load(Ordering::Relaxed),
        }
    }

    pub fn new(
        db: DatabaseConnection,
        master: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        config: RegistryConfig,
    ) -> Self {
        Self {
            stats: Arc::default(),
            results: Arc::default(),
            shared: Arc::new(Shared {
                db,
                master,
                clock,
                config,
            }),
            tenants: Arc::default(),
            names: Arc::default(),
        }
    }

    /// How many tenants have live actors.
    pub fn loaded_tenants(&self) -> usize {
        read(&self.tenants).len()
    }

    fn touch<T>(&self, slot: &Slot<T>) {
        slot.last_used
            .store(self.shared.now_ms(), Ordering::Relaxed);
    }

    fn start_loader(
        &self,
        target: Target,
        tenant_cell: Option<Arc<ArcSwap<TenantSnapshot>>>,
        server_cell: Option<Arc<ArcSwap<ServerSnapshot>>>,
    ) -> Addr<Loader> {
        Loader {
            target,
            tenant_cell,
            server_cell,
            shared: self.shared.clone(),
        }
        .start()
    }

    async fn tenant_slot(&self, name: &str) -> Result<Option<Arc<TenantSlot>>, LoadError> {
        let loaded = read(&self.tenants).get(name).cloned();
        if let Some(slot) = loaded {
            self.stats.tenant_hits.fetch_add(1, Ordering::Relaxed);
            self.touch(&slot.slot);
            if slot.slot.cell.load().version < slot.wanted.load(Ordering::Acquire) {
                let _ = slot.slot.actor.send(Reload).await;
            }
            return Ok(Some(slot));
        }
        let Some(t) = tessera_store::tenants::by_name(&self.shared.db, name).await? else {
            return Ok(None);
        };
        self.stats.tenant_loads.fetch_add(1, Ordering::Relaxed);
        let snapshot = load::tenant(
            &self.shared.db,
            &self.shared.config,
            &self.shared.master,
            &t,
        )
        .await?;
        let cell = Arc::new(ArcSwap::from_pointee(snapshot));
        let actor = self.start_loader(
            Target::Tenant {
                tenant_id: t.id.clone(),
            },
            Some(cell.clone()),
            None,
        );
        let slot = Arc::new(TenantSlot {
            wanted: AtomicI64::new(t.config_version),
            slot: Slot {
                cell,
                actor,
                last_used: AtomicI64::new(self.shared.now_ms()),
            },
            servers: RwLock::default(),
        });
        // Two first requests may race; keep the one that got in first.
        let slot = write(&self.tenants)
            .entry(name.to_owned())
            .or_insert(slot)
            .clone();
        write(&self.names).insert(t.id, name.to_owned());
        Ok(Some(slot))
    }

    /// The tenant's current snapshot, loading it on first use.
    pub async fn tenant(&self, name: &str) -> Result<Option<Arc<TenantSnapshot>>, LoadError> {
        Ok(self
            .tenant_slot(name)
            .await?
            .map(|s| s.slot.cell.load_full()))
    }

    /// A custom server's current snapshot (`default` names the default server), loading it on
    /// first use. The org authorization server is not a custom server: see [`Self::org_server`].
    pub async fn server(
        &self,
        tenant_name: &str,
        server: &str,
    ) -> Result<Option<(Arc<TenantSnapshot>, Arc<ServerSnapshot>)>, LoadError> {
        self.server_named(tenant_name, server, false).await
    }

    /// The tenant's org authorization server (OKTA-REFERENCE §1), loading it on first use.
    pub async fn org_server(
        &self,
        tenant_name: &str,
    ) -> Result<Option<(Arc<TenantSnapshot>, Arc<ServerSnapshot>)>, LoadError> {
        self.server_named(tenant_name, ORG_SERVER, true).await
    }

    async fn server_named(
        &self,
        tenant_name: &str,
        server: &str,
        org: bool,
    ) -> Result<Option<(Arc<TenantSnapshot>, Arc<ServerSnapshot>)>, LoadError> {
        let Some(tslot) = self.tenant_slot(tenant_name).await? else {
            return Ok(None);
        };
        let tenant = tslot.slot.cell.load_full();
        let named = if org {
            tenant.org_server_id.clone()
        } else if server == "default" {
            tenant.default_server_id.clone()
        } else {
            Some(server.to_owned())
        };
        // The org server answers only at its own routes, never by id among the custom ones.
        let Some(server_id) = named.filter(|id| org || tenant.org_server_id.as_ref() != Some(id))
        else {
            return Ok(None);
        };
        let loaded = read(&tslot.servers).get(&server_id).cloned();
        if let Some(slot) = loaded {
            self.touch(&slot);
            if slot.cell.load().version < tslot.wanted.load(Ordering::Acquire) {
                let _ = slot.actor.send(Reload).await;
            }
            return Ok(Some((tenant, slot.cell.load_full())));
        }
        let Some(t) = tessera_store::tenants::by_id(&self.shared.db, &tenant.tenant_id).await?
        else {
            return Ok(None);
        };
        let Some(s) = repo::find::<srv::Entity>(&self.shared.db, &t.id, &server_id).await? else {
            return Ok(None);
        };
        let snapshot = load::server(
            &self.shared.db,
            &self.shared.config,
            &self.shared.master,
            &t,
            &s,
            self.shared.now_ms(),
        )
        .await?;
        let cell = Arc::new(ArcSwap::from_pointee(snapshot));
        let actor = self.start_loader(
            Target::Server {
                tenant_id: t.id.clone(),
                server_id: server_id.clone(),
            },
            None,
            Some(cell.clone()),
        );
        let slot = Arc::new(Slot {
            cell,
            actor,
            last_used: AtomicI64::new(self.shared.now_ms()),
        });
        let slot = write(&tslot.servers)
            .entry(server_id)
            .or_insert(slot)
            .clone();
        Ok(Some((tenant, slot.cell.load_full())))
    }

    /// Records that `version` of a tenant's configuration is committed and asks its actors to
    /// reload. Requests that arrive before the reload finishes wait for it. Called synchronously
    /// by the process that committed the change, and from the config bus on every replica.
    pub fn announce(&self, tenant_id: &str, version: i64) {
        self.forget_results(tenant_id);
        let slot = read(&self.names)
            .get(tenant_id)
            .cloned()
            .and_then(|name| read(&self.tenants).get(&name).cloned());
        if let Some(slot) = slot {
            slot.wanted.fetch_max(version, Ordering::AcqRel);
            self.reload_tenant(tenant_id);
        }
    }

    /// A cached introspection response for the token hashed to `key`, if still valid at `now`.
    pub fn cached_result(&self, key: &str, now: i64) -> Option<bytes::Bytes> {
        if !self.shared.config.cache_introspection {
            return None;
        }
        let found = self
            .results
            .lock()
            .get(key)
            .filter(|(_, exp, _)| *exp > now)
            .map(|(_, _, body)| body.clone());
        let counter = if found.is_some() {
            &self.stats.result_hits
        } else {
            &self.stats.result_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Caches an active token's introspection response until its `exp`.
    pub fn cache_result(&self, key: String, tenant_id: &str, exp: i64, body: bytes::Bytes) {
        if !self.shared.config.cache_introspection {
            return;
        }
        let mut entries = self.results.lock();
        if entries.len() >= RESULT_CACHE_MAX {
            entries.clear();
        }
        entries.insert(key, (tenant_id.to_owned(), exp, body));
    }

    /// Drops every cached introspection result of a tenant.
    pub fn forget_results(&self, tenant_id: &str) {
        self.results.lock().retain(|_, (t, _, _)| t != tenant_id);
    }

    /// Asks every actor of a loaded tenant to reload.
    pub fn reload_tenant(&self, tenant_id: &str) {
        let Some(name) = read(&self.names).get(tenant_id).cloned() else {
            return;
        };
        let Some(slot) = read(&self.tenants).get(&name).cloned() else {
            return;
        };
        slot.slot.actor.do_send(Reload);
        for s in read(&slot.servers).values() {
            s.actor.do_send(Reload);
        }
    }

    /// Forgets a tenant entirely (it was deleted): its actors stop with their last address.
    fn forget(&self, tenant_id: &str) {
        if let Some(name) = write(&self.names).remove(tenant_id) {
            write(&self.tenants).remove(&name);
        }
    }

    /// Listens on the config bus, checks versions periodically and evicts idle tenants. Runs
    /// until the process stops; call once per process, inside the actix system.
    pub fn spawn_maintenance(&self, bus: Arc<dyn ConfigBus>) {
        let me = self.clone();
        let mut rx = bus.subscribe();
        actix_rt::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(event) if event.what == "tenant" && event.version == i64::MAX => {
                        me.forget(&event.tenant)
                    }
                    Ok(event) => {
                        me.stats.bus_events.fetch_add(1, Ordering::Relaxed);
                        if event.published_ms > 0 {
                            me.stats
                                .bus_lag_ms
                                .store(me.shared.now_ms() - event.published_ms, Ordering::Relaxed);
                        }
                        me.announce(&event.tenant, event.version)
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "config bus lagged; reloading every loaded tenant"
                        );
                        let ids: Vec<String> = read(&me.names).keys().cloned().collect();
                        for id in ids {
                            me.reload_tenant(&id);
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let me = self.clone();
        actix_rt::spawn(async move {
            let mut tick = tokio::time::interval(me.shared.config.version_check_every);
            loop {
                tick.tick().await;
                me.check_versions().await;
                me.evict_idle();
            }
        });
    }

    /// The safety net for lost bus messages: reload any tenant whose stored config version is
    /// newer than its snapshot's.
    async fn check_versions(&self) {
        let loaded: Vec<(String, i64)> = read(&self.tenants)
            .values()
            .map(|s| {
                let t = s.slot.cell.load();
                (t.tenant_id.clone(), t.version)
            })
            .collect();
        for chunk in loaded.chunks(500) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            let rows = tessera_store::tenants::by_ids(&self.shared.db, &ids).await;
            match rows {
                Ok(rows) => {
                    for row in rows {
                        if chunk
                            .iter()
                            .any(|(id, v)| *id == row.id && *v < row.config_version)
                        {
                            tracing::info!(tenant = %row.id, "config version moved without a bus message; reloading");
                            self.announce(&row.id, row.config_version);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "config version check failed"),
            }
        }
    }

    fn evict_idle(&self) {
        let cutoff = self.shared.now_ms()
            - i64::try_from(self.shared.config.idle_after.as_millis()).unwrap_or(i64::MAX);
        let idle: Vec<(String, String)> = read(&self.tenants)
            .iter()
            .filter(|(_, s)| {
                s.slot.last_used.load(Ordering::Relaxed) < cutoff
                    && read(&s.servers)
                        .values()
                        .all(|x| x.last_used.load(Ordering::Relaxed) < cutoff)
            })
            .map(|(name, s)| (name.clone(), s.slot.cell.load().tenant_id.clone()))
            .collect();
        for (name, id) in idle {
            write(&self.tenants).remove(&name);
            write(&self.names).remove(&id);
            tracing::debug!(tenant = %name, "evicted idle hot state");
        }
    }
}
