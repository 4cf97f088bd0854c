//! The per-process registry of hot-state actors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;
use tessera_domain::Clock;
use tessera_ephemeral::{ConfigBus, Reload as BusReload};
use tessera_jose::KeyRing;
use tessera_store::entities::authorization_server as srv;
use tokio::sync::watch;

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
    /// How long before a scheduled rotation its NEXT key is published (bounds the JWKS
    /// max-age floor).
    pub rotation_next_lead_ms: i64,
    /// How often loaded tenants' config versions are compared with the database.
    pub version_check_every: Duration,
    /// How long an unused tenant stays loaded.
    pub idle_after: Duration,
    /// This replica's name: a bus event it published itself has been applied already.
    pub instance_id: String,
}

/// How long a request waits for a reload of a stale snapshot before it is served the one it
/// has (a reload that is slow or failing must not stall requests).
const RELOAD_WAIT: Duration = Duration::from_secs(5);
/// How soon a failed reload is tried again.
const RELOAD_RETRY: Duration = Duration::from_secs(2);

/// The state of one snapshot's reloads, as requests see it.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// The config version the snapshot holds.
    version: i64,
    /// Reload attempts finished so far.
    attempts: u64,
    /// Whether the last attempt failed.
    failed: bool,
}

/// A loaded snapshot behind its actor.
struct Slot<T> {
    cell: Arc<ArcSwap<T>>,
    actor: Addr<Loader>,
    last_used: AtomicI64,
    /// The newest config version announced that makes this snapshot stale. A snapshot older
    /// than this is reloaded (and waited for) before it is handed out, so a committed change is
    /// honoured by the very next request.
    wanted: AtomicI64,
    /// Each finished reload, so requests can wait for one without queueing their own.
    progress: Arc<watch::Sender<Progress>>,
}

impl<T> Slot<T> {
    fn new(
        cell: Arc<ArcSwap<T>>,
        actor: Addr<Loader>,
        progress: Arc<watch::Sender<Progress>>,
        version: i64,
        now: i64,
    ) -> Self {
        Self {
            cell,
            actor,
            last_used: AtomicI64::new(now),
            wanted: AtomicI64::new(version),
            progress,
        }
    }

    /// Waits (at most [`RELOAD_WAIT`]) until the snapshot holds `wanted`, unless its last reload
    /// failed: then the snapshot at hand is served (the loader retries by itself).
    async fn fresh(&self, version_now: i64) {
        let wanted = self.wanted.load(Ordering::Acquire);
        if version_now >= wanted {
            return;
        }
        let mut rx = self.progress.subscribe();
        let (start, failed) = {
            let p = rx.borrow();
            (p.attempts, p.failed)
        };
        if failed {
            return;
        }
        let _ = tokio::time::timeout(
            RELOAD_WAIT,
            // An attempt that succeeds may still have read an older version (it started
            // before the change committed): wait for the wanted one, or for a failure.
            rx.wait_for(|p| p.version >= wanted || (p.attempts > start && p.failed)),
        )
        .await;
    }
}

struct TenantSlot {
    slot: Slot<TenantSnapshot>,
    servers: RwLock<HashMap<String, Arc<Slot<ServerSnapshot>>>>,
    /// The newest config version announced for the tenant, whatever it touched: a stored
    /// version past it means a bus message was lost.
    seen: AtomicI64,
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
    progress: Arc<watch::Sender<Progress>>,
    /// Per app, the config version its client snapshot was last loaded at (a whole-tenant load
    /// counts for every app).
    app_versions: HashMap<String, i64>,
    shared: Arc<Shared>,
}

impl Actor for Loader {
    type Context = Context<Self>;
}

/// Make the snapshot hold at least `version`: all of it, or for a tenant snapshot one `app`.
#[derive(Message, Clone)]
#[rtype(result = "()")]
struct Reload {
    version: i64,
    app: Option<String>,
}

/// What one reload did.
enum Outcome {
    /// The snapshot already held the version: nothing was read.
    Skipped,
    /// Reloaded (`Some` app: only that app), at this version.
    Loaded(Option<String>, i64),
    Failed,
}

impl Loader {
    fn holds(&self, r: &Reload) -> bool {
        let whole = match (&self.tenant_cell, &self.server_cell) {
            (Some(c), _) => c.load().version,
            (None, Some(c)) => c.load().version,
            (None, None) => i64::MAX,
        };
        match &r.app {
            // An app is as new as its own last load or the last whole-tenant load: versions
            // from different admin replicas can arrive out of order, so a later change to
            // another app says nothing about this one.
            Some(app) => {
                self.app_versions
                    .get(app)
                    .copied()
                    .unwrap_or(i64::MIN)
                    .max(self.full_version())
                    >= r.version
            }
            None => whole >= r.version,
        }
    }

    /// The version of the last whole-tenant (or server) load.
    fn full_version(&self) -> i64 {
        self.app_versions.get("").copied().unwrap_or(i64::MIN)
    }
}

impl Handler<Reload> for Loader {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, r: Reload, _: &mut Self::Context) -> Self::Result {
        let skip = self.holds(&r);
        let (target, shared) = (self.target.clone(), self.shared.clone());
        let (tenant_cell, server_cell) = (self.tenant_cell.clone(), self.server_cell.clone());
        let app = r.app.clone();
        AtomicResponse::new(Box::pin(
            async move {
                if skip {
                    return Outcome::Skipped;
                }
                let result = match (&target, &app) {
                    (Target::Tenant { tenant_id }, None) => shared.load_tenant(tenant_id).await.map(|t| {
                        t.map(|t| {
                            let v = t.version;
                            if let Some(cell) = tenant_cell {
                                cell.store(Arc::new(t));
                            }
                            v
                        })
                    }),
                    (Target::Tenant { tenant_id }, Some(app_id)) => shared.load_app(tenant_id, app_id).await.map(|loaded| {
                        loaded.map(|(version, client)| {
                            if let Some(cell) = tenant_cell {
                                cell.rcu(|current| {
                                    let mut next = TenantSnapshot::clone(current);
                                    next.clients.retain(|_, c| c.app_id != *app_id);
                                    if let Some(c) = &client {
                                        next.clients.insert(c.client_id.clone(), Arc::new(c.clone()));
                                    }
                                    next.version = next.version.max(version);
                                    next
                                });
                            }
                            version
                        })
                    }),
                    (Target::Server { tenant_id, server_id }, _) => shared.load_server(tenant_id, server_id).await.map(|s| {
                        s.map(|s| {
                            let v = s.version;
                            if let Some(cell) = server_cell {
                                cell.store(Arc::new(s));
                            }
                            v
                        })
                    }),
                };
                match result {
                    Ok(Some(version)) => Outcome::Loaded(app, version),
                    // Gone from the database: the last snapshot stays until the slot is dropped.
                    Ok(None) => Outcome::Skipped,
                    Err(e) => {
                        tracing::error!(error = %e, ?target, "hot-state reload failed; keeping the previous snapshot");
                        Outcome::Failed
                    }
                }
            }
            .into_actor(self)
            .map(move |outcome, me, ctx| {
                let kind = match (&me.target, &r.app) {
                    (Target::Server { .. }, _) => ReloadKind::Server,
                    (Target::Tenant { .. }, Some(_)) => ReloadKind::App,
                    (Target::Tenant { .. }, None) => ReloadKind::Tenant,
                };
                let failed = matches!(outcome, Outcome::Failed);
                match outcome {
                    Outcome::Skipped => me.shared.count(kind, ReloadResult::Skipped),
                    Outcome::Loaded(app, version) => {
                        me.shared.count(kind, ReloadResult::Loaded);
                        me.app_versions.insert(app.unwrap_or_default(), version);
                    }
                    Outcome::Failed => {
                        me.shared.count(kind, ReloadResult::Failed);
                        ctx.notify_later(r.clone(), RELOAD_RETRY);
                    }
                }
                let version = match (&me.tenant_cell, &me.server_cell) {
                    (Some(c), _) => c.load().version,
                    (None, Some(c)) => c.load().version,
                    (None, None) => 0,
                };
                me.progress.send_modify(|p| {
                    p.version = version;
                    p.attempts += 1;
                    p.failed = failed;
                });
            }),
        ))
    }
}

/// What a reload reloaded, for the metrics.
#[derive(Debug, Clone, Copy)]
pub enum ReloadKind {
    /// A whole tenant-wide snapshot.
    Tenant,
    /// One app in the tenant-wide snapshot.
    App,
    /// One authorization server's snapshot.
    Server,
}

/// How a reload ended.
#[derive(Debug, Clone, Copy)]
pub enum ReloadResult {
    Loaded,
    /// The snapshot already held the change (the committing replica's own bus echo, or a reload
    /// overtaken by a newer one).
    Skipped,
    Failed,
}

struct Shared {
    db: DatabaseConnection,
    master: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    config: RegistryConfig,
    /// Reloads by kind and result: `[kind][result]`.
    reloads: [[AtomicU64; 3]; 3],
}

impl Shared {
    fn count(&self, kind: ReloadKind, result: ReloadResult) {
        self.reloads[kind as usize][result as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// One app's client snapshot and the version it was read at; `Some((v, None))` when the
    /// app is gone.
    async fn load_app(
        &self,
        tenant_id: &str,
        app_id: &str,
    ) -> Result<Option<(i64, Option<crate::ClientSnapshot>)>, LoadError> {
        let Some(t) = tessera_store::tenants::by_id(&self.db, tenant_id).await? else {
            return Ok(None);
        };
        let client = load::app(&self.db, &self.master, &t, app_id).await?;
        Ok(Some((t.config_version, client)))
    }

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
    bus_events: AtomicU64,
    bus_lag_ms: AtomicI64,
}

/// A reading of the registry's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Requests for a tenant answered from its loaded snapshot, and loads from the database.
    pub tenant_hits: u64,
    pub tenant_loads: u64,
    /// Config-bus messages received, and the lag of the latest (commit to receipt).
    pub bus_events: u64,
    pub bus_lag_ms: i64,
    /// Reloads by kind (tenant, app, server) and result (loaded, skipped, failed).
    pub reloads: [[u64; 3]; 3],
}

impl Registry {
    /// The counters' current values.
    pub fn stats(&self) -> Stats {
        let s = &self.stats;
        Stats {
            tenant_hits: s.tenant_hits.load(Ordering::Relaxed),
            tenant_loads: s.tenant_loads.load(Ordering::Relaxed),
            bus_events: s.bus_events.load(Ordering::Relaxed),
            bus_lag_ms: s.bus_lag_ms.load(Ordering::Relaxed),
            reloads: self
                .shared
                .reloads
                .each_ref()
                .map(|row| row.each_ref().map(|c| c.load(Ordering::Relaxed))),
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
            shared: Arc::new(Shared {
                db,
                master,
                clock,
                config,
                reloads: Default::default(),
            }),
            tenants: Arc::default(),
            names: Arc::default(),
        }
    }

    /// What the registry was configured with.
    pub fn config(&self) -> &RegistryConfig {
        &self.shared.config
    }

    /// How many tenants have live actors.
    pub fn loaded_tenants(&self) -> usize {
        read(&self.tenants).len()
    }

    fn touch<T>(&self, slot: &Slot<T>) {
        slot.last_used
            .store(self.shared.now_ms(), Ordering::Relaxed);
    }

    /// Starts the actor of a snapshot loaded at `version`; returns it and its progress.
    fn start_loader(
        &self,
        target: Target,
        tenant_cell: Option<Arc<ArcSwap<TenantSnapshot>>>,
        server_cell: Option<Arc<ArcSwap<ServerSnapshot>>>,
        version: i64,
    ) -> (Addr<Loader>, Arc<watch::Sender<Progress>>) {
        let progress = Arc::new(
            watch::channel(Progress {
                version,
                ..Progress::default()
            })
            .0,
        );
        let actor = Loader {
            target,
            tenant_cell,
            server_cell,
            progress: progress.clone(),
            app_versions: HashMap::from([(String::new(), version)]),
            shared: self.shared.clone(),
        }
        .start();
        (actor, progress)
    }

    async fn tenant_slot(&self, name: &str) -> Result<Option<Arc<TenantSlot>>, LoadError> {
        let loaded = read(&self.tenants).get(name).cloned();
        if let Some(slot) = loaded {
            self.stats.tenant_hits.fetch_add(1, Ordering::Relaxed);
            self.touch(&slot.slot);
            slot.slot.fresh(slot.slot.cell.load().version).await;
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
        let version = snapshot.version;
        let cell = Arc::new(ArcSwap::from_pointee(snapshot));
        let (actor, progress) = self.start_loader(
            Target::Tenant {
                tenant_id: t.id.clone(),
            },
            Some(cell.clone()),
            None,
            version,
        );
        let slot = Arc::new(TenantSlot {
            seen: AtomicI64::new(version),
            slot: Slot::new(cell, actor, progress, version, self.shared.now_ms()),
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

    /// The tenant's org authorization server (Okta's org authorization server, <https://developer.okta.com/docs/concepts/auth-servers/>), loading it on first use.
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
            slot.fresh(slot.cell.load().version).await;
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
        let version = snapshot.version;
        let cell = Arc::new(ArcSwap::from_pointee(snapshot));
        let (actor, progress) = self.start_loader(
            Target::Server {
                tenant_id: t.id.clone(),
                server_id: server_id.clone(),
            },
            None,
            Some(cell.clone()),
            version,
        );
        let slot = Arc::new(Slot::new(
            cell,
            actor,
            progress,
            version,
            self.shared.now_ms(),
        ));
        let slot = write(&tslot.servers)
            .entry(server_id)
            .or_insert(slot)
            .clone();
        Ok(Some((tenant, slot.cell.load_full())))
    }

    /// Records that `version` of a tenant's configuration is committed and asks the actors of
    /// what it touched (`reload`) to reload; requests for those snapshots that arrive before the
    /// reload finishes wait for it. Called synchronously by the process that committed the
    /// change, and from the config bus on every other replica.
    pub fn announce(&self, tenant_id: &str, version: i64, reload: &BusReload) {
        let Some(slot) = self.loaded(tenant_id) else {
            return;
        };
        slot.seen.fetch_max(version, Ordering::AcqRel);
        let ask = |s: &Slot<_>, app: Option<String>| {
            s.wanted.fetch_max(version, Ordering::AcqRel);
            s.actor.do_send(Reload { version, app });
        };
        let ask_server = |s: &Slot<ServerSnapshot>| {
            s.wanted.fetch_max(version, Ordering::AcqRel);
            s.actor.do_send(Reload { version, app: None });
        };
        match reload {
            BusReload::All => {
                ask(&slot.slot, None);
                read(&slot.servers).values().for_each(|s| ask_server(s));
            }
            BusReload::Tenant => ask(&slot.slot, None),
            BusReload::App(app_id) => ask(&slot.slot, Some(app_id.clone())),
            BusReload::Server(server_id) => {
                if let Some(s) = read(&slot.servers).get(server_id) {
                    ask_server(s);
                }
            }
            BusReload::Nothing => {}
        }
    }

    /// The newest config version announced for a loaded tenant (any change to it moves this):
    /// what an answer cached for the tenant was computed at.
    pub fn seen_version(&self, tenant_id: &str) -> Option<i64> {
        self.loaded(tenant_id)
            .map(|slot| slot.seen.load(Ordering::Acquire))
    }

    fn loaded(&self, tenant_id: &str) -> Option<Arc<TenantSlot>> {
        read(&self.names)
            .get(tenant_id)
            .cloned()
            .and_then(|name| read(&self.tenants).get(&name).cloned())
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
                        // This replica announced its own change when it committed it.
                        if event.origin != me.shared.config.instance_id {
                            me.announce(&event.tenant, event.version, &event.reload);
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "config bus lagged; reloading every loaded tenant"
                        );
                        let loaded: Vec<(String, i64)> = read(&me.tenants)
                            .values()
                            .map(|s| {
                                (
                                    s.slot.cell.load().tenant_id.clone(),
                                    s.seen.load(Ordering::Acquire),
                                )
                            })
                            .collect();
                        for (id, seen) in loaded {
                            // Newer than anything seen: every snapshot of the tenant is stale.
                            me.announce(&id, seen + 1, &BusReload::All);
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

    /// The safety net for lost bus messages: reload everything of any tenant whose stored
    /// config version is newer than every version announced for it.
    async fn check_versions(&self) {
        let loaded: Vec<(String, i64)> = read(&self.tenants)
            .values()
            .map(|s| {
                (
                    s.slot.cell.load().tenant_id.clone(),
                    s.seen.load(Ordering::Acquire),
                )
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
                            self.announce(&row.id, row.config_version, &BusReload::All);
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
