//! The state every service receives: stores, bus, clock, random, the resolved public URL, and
//! the one commit path for configuration writes.

use std::path::Path;
use std::sync::Arc;

use tessera_domain::ids::{IdKind, new_id};
use tessera_domain::secrets::{lookup_digest, random_token};
use tessera_domain::{Clock, Random, SystemClock, SystemRandom};
use tessera_ephemeral::{
    ConfigBus, ConfigEvent, MemoryBus, MemoryStore, RedisBus, RedisStore, Reload, ShortLived,
};
use tessera_store::{DatabaseConnection, DatabaseTransaction};

use crate::config::Config;
use crate::error::Error;

/// Shared, cheaply cloned application state.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The public base URL in force (configured, or derived from the bound address).
    pub public_url: Arc<str>,
    pub db: DatabaseConnection,
    pub short: Arc<dyn ShortLived>,
    pub bus: Arc<dyn ConfigBus>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// SHA-256 of the operator token; the token itself is not kept.
    pub operator_token_digest: Arc<str>,
    /// Seals private keys and client secrets at rest.
    pub master_key: Arc<tessera_jose::MasterKey>,
    /// Opens them: the current master key and, during a master-key rotation, the previous one.
    pub master_keys: Arc<tessera_jose::KeyRing>,
    /// The hot-state actors of this process (token path reads only from here).
    pub hot: tessera_hot::Registry,
    /// This process's identity among replicas (the holder name of leases it takes).
    pub instance_id: Arc<str>,
    /// Outbound calls to inline hooks (one pooled client per process).
    pub hooks: crate::hooks::HookClient,
    /// Client keys published at `jwks_uri`s, fetched through the same outbound guard.
    pub client_jwks: crate::client_jwks::ClientJwks,
    /// This process's System Log writer.
    pub syslog: crate::syslog::SystemLog,
    /// Revocation markers: durable in the database, cached in the short-lived store.
    pub revocations: Arc<crate::revocation::Revocations>,
    /// Proxies whose `X-Forwarded-For` is believed (`trusted_proxies`).
    pub proxies: Arc<Vec<tessera_outbound::Allowed>>,
    /// The stores' health as the background probes last saw it.
    pub health: Arc<crate::health::Health>,
    /// The token service's decisions for the admin service's token preview and advice,
    /// installed by the composition root once the state is open (empty in a process that does
    /// not link the token service).
    pub previewer: Arc<std::sync::OnceLock<Arc<dyn crate::preview::Previewer>>>,
    /// When apps last used their grant types and redirect URIs (the advice's unused findings).
    pub usage: Arc<crate::usage::Usage>,
}

/// A failure to start: the message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Database(#[from] tessera_store::StoreError),
    #[error("cannot reach Redis: {0}")]
    Redis(#[from] tessera_ephemeral::StoreUnavailable),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the {store} at {address} did not answer within {waited_secs} s (setting `startup_wait_secs`){reason}"
    )]
    Unreachable {
        store: &'static str,
        address: String,
        waited_secs: u64,
        /// What a plain TCP connection to the address found (`: connection refused`), or empty.
        reason: String,
    },
    #[error("the master key in {0} is not 32 bytes of base64url")]
    MasterKey(String),
    #[error("{0}")]
    Setting(String),
}

impl AppState {
    /// Opens the stores named by `config`, applies migrations, and resolves the operator token.
    /// `bound` is the address actually bound (for `public_url` when none is configured).
    pub async fn open(
        config: Config,
        bound: std::net::SocketAddr,
    ) -> Result<(Self, Option<String>), StartError> {
        Self::open_with_clock(config, bound, Arc::new(SystemClock)).await
    }

    /// [`AppState::open`] with an injected clock (tests move time forward with a `TestClock`).
    pub async fn open_with_clock(
        config: Config,
        bound: std::net::SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, Option<String>), StartError> {
        let data_dir = &config.data_dir;
        if config.database_url.is_none()
            || config.operator_token.is_none()
            || config.master_key.is_none()
        {
            private_dir(data_dir).map_err(|source| StartError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?;
        }
        if config.database_url.is_none() {
            // The embedded database holds password hashes and sealed secrets: owner-only, and
            // SQLite creates its -wal and -shm files with the database file's mode.
            let db_file = data_dir.join("tessera.db");
            private_files(&db_file).map_err(|source| StartError::DataDir {
                path: db_file.display().to_string(),
                source,
            })?;
        }
        let wait = std::time::Duration::from_secs(config.startup_wait_secs);
        let db_url = config.effective_database_url();
        let db = patiently(
            "database",
            &db_url,
            wait,
            StartError::Database,
            tessera_store::permanent,
            || tessera_store::connect_with(&db_url, config.stores.database()),
        )
        .await?;
        tessera_store::migrate(&db).await?;
        let (short, bus): (Arc<dyn ShortLived>, Arc<dyn ConfigBus>) = match &config.redis_url {
            Some(url) => {
                let store = patiently(
                    "Redis",
                    url,
                    wait,
                    StartError::Redis,
                    tessera_ephemeral::StoreUnavailable::is_permanent,
                    || RedisStore::connect_with(url, config.stores.redis()),
                )
                .await?;
                let bus = RedisBus::connect(url, store.clone()).await?;
                (Arc::new(store), Arc::new(bus))
            }
            None => (Arc::new(MemoryStore::new()), Arc::new(MemoryBus::new())),
        };
        let random: Arc<dyn Random> = Arc::new(SystemRandom);
        let random_for_id = random.clone();
        let (digest, generated) = operator_token(&config, data_dir, random.as_ref())?;
        let (master_key, master_key_text) = master_key(&config, data_dir, random.as_ref())?;
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned();
        let previous = match &config.previous_master_key {
            Some(text) => Some(
                tessera_jose::MasterKey::from_text(text)
                    .map_err(|_| StartError::MasterKey("previous_master_key".into()))?,
            ),
            None => None,
        };
        let ring = Arc::new(tessera_jose::KeyRing {
            current: tessera_jose::MasterKey::from_text(&master_key_text)
                .map_err(|_| StartError::MasterKey("master_key".into()))?,
            previous,
        });
        let master_key = Arc::new(master_key);
        let instance_id = config.instance_id.clone().unwrap_or_else(|| {
            format!(
                "replica-{}",
                tessera_domain::ids::base62(random_for_id.as_ref(), 12)
            )
        });
        let hot = tessera_hot::Registry::new(
            db.clone(),
            ring.clone(),
            clock.clone(),
            registry_config(&public_url, &config, &instance_id),
        );

        let policy = config
            .outbound_policy()
            .map_err(|e| StartError::Setting(e.to_string()))?;
        let client_jwks = crate::client_jwks::ClientJwks::new(policy.clone())
            .map_err(|e| StartError::Setting(format!("the outbound HTTP client: {e}")))?;
        let hooks = crate::hooks::HookClient::new(policy)
            .map_err(|e| StartError::Setting(format!("the outbound HTTP client: {e}")))?;
        let proxies = Arc::new(
            config
                .proxies()
                .map_err(|e| StartError::Setting(e.to_string()))?,
        );
        let revocations = Arc::new(crate::revocation::Revocations::new(
            db.clone(),
            short.clone(),
            clock.clone(),
        ));
        let health = crate::health::Health::start(
            db.clone(),
            std::time::Duration::from_millis(config.stores.database_probe_ms),
            std::time::Duration::from_millis(config.stores.database_acquire_timeout_ms),
        );
        let syslog = crate::syslog::SystemLog::start(
            db.clone(),
            &config.data_dir.join("system-log"),
            &config.system_log,
            clock.clone(),
            random.clone(),
        )
        .map_err(|e| StartError::Setting(e.to_string()))?;
        let state = Self {
            config: Arc::new(config),
            public_url: public_url.into(),
            db,
            short,
            bus,
            clock,
            random,
            operator_token_digest: digest.into(),
            master_key,
            master_keys: ring,
            hot,
            instance_id: instance_id.into(),
            hooks,
            client_jwks,
            revocations,
            proxies,
            health,
            syslog,
            previewer: Arc::default(),
            usage: Arc::default(),
        };
        Ok((state, generated))
    }

    /// A tenant's org URL: `https://{tenant}.{base_domain}` with a wildcard domain, else
    /// `{public_url}/t/{tenant}`. Never derived from the request.
    pub fn org_url(&self, tenant_name: &str) -> String {
        tessera_domain::urls::org_url(
            &self.public_url,
            self.config.base_domain.as_deref(),
            tenant_name,
        )
    }

    pub fn now_ms(&self) -> i64 {
        tessera_domain::timefmt::to_millis(self.clock.now())
    }

    pub fn new_id(&self, kind: IdKind) -> String {
        new_id(kind, self.random.as_ref())
    }

    /// Commits a configuration write: bumps the tenant's config version inside `txn`, commits,
    /// then announces the change (`{tenant, what, id, version, reload}`) to this process's hot
    /// state and on the config bus, so each replica reloads exactly what `change` touched.
    /// While Redis is down the bus holds the announcement and sends it when Redis answers; a
    /// failed announcement is logged, not returned: the write is durable and the periodic
    /// version check catches up.
    pub async fn commit(
        &self,
        txn: DatabaseTransaction,
        tenant_id: &str,
        change: Change<'_>,
    ) -> Result<i64, Error> {
        let Change {
            what,
            id,
            reload,
            audit,
        } = change;
        let version = tessera_store::tenants::bump_version(&txn, tenant_id).await?;
        txn.commit().await.map_err(Error::internal)?;
        // This process's own hot state first, synchronously; then every other replica.
        self.hot.announce(tenant_id, version, &reload);
        let event = ConfigEvent {
            tenant: tenant_id.to_owned(),
            what: what.to_owned(),
            id: id.to_owned(),
            version,
            published_ms: self.now_ms(),
            reload,
            origin: self.instance_id.to_string(),
        };
        if let Some(audit) = audit {
            self.syslog.record(audit.event(id));
        }
        if let Err(e) = self.bus.publish(&event).await {
            tracing::warn!(error = %e, tenant = tenant_id, what, "config change committed but not announced");
        }
        Ok(version)
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        tessera_store::begin_write(&self.db)
            .await
            .map_err(Error::internal)
    }
}

/// A configuration change being committed: what changed (`app`, `policyRule`, …), its id,
/// which hot state it makes stale, and the System Log record the commit writes once the change
/// is durable (management calls; see [`Change::audited`]).
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub what: &'a str,
    pub id: &'a str,
    pub reload: Reload,
    pub audit: Option<crate::syslog::Audit>,
}

impl<'a> Change<'a> {
    /// The same change, recording `audit` (if any) when it commits.
    pub fn audited(mut self, audit: Option<crate::syslog::Audit>) -> Self {
        self.audit = audit;
        self
    }

    /// A change to something an authorization server's snapshot holds (the server itself, its
    /// scopes, claims, policies, rules or keys).
    pub fn server(what: &'a str, id: &'a str, server_id: &str) -> Self {
        Self {
            what,
            id,
            reload: Reload::Server(server_id.to_owned()),
            audit: None,
        }
    }

    /// A change to one app: its settings, secrets, keys, assignments or grants.
    pub fn app(what: &'a str, id: &'a str, app_id: &str) -> Self {
        Self {
            what,
            id,
            reload: Reload::App(app_id.to_owned()),
            audit: None,
        }
    }

    /// A change to something the tenant-wide snapshot holds besides apps (groups, hooks).
    pub fn tenant_wide(what: &'a str, id: &'a str) -> Self {
        Self {
            what,
            id,
            reload: Reload::Tenant,
            audit: None,
        }
    }

    /// A change to the tenant itself: everything loaded for it reloads.
    pub fn everything(what: &'a str, id: &'a str) -> Self {
        Self {
            what,
            id,
            reload: Reload::All,
            audit: None,
        }
    }

    /// A change to nothing hot (users, memberships, API tokens, read when used).
    pub fn cold(what: &'a str, id: &'a str) -> Self {
        Self {
            what,
            id,
            reload: Reload::Nothing,
            audit: None,
        }
    }
}

/// Calls `connect` until it succeeds or `wait` has passed, logging each failed attempt with
/// the store's address (never its credentials). Each attempt is cut off at 5 s or the time
/// left, whichever is shorter (a driver's own connect timeout can be 30 s), so `wait` bounds
/// the whole. Replicas started before their stores (a compose file, a Kubernetes rollout) come
/// up as soon as the stores do. A failure that waiting cannot mend (`permanent`: no such
/// database, wrong credentials) ends it at once.
async fn patiently<T, E, F, Fut>(
    what: &'static str,
    url: &str,
    wait: std::time::Duration,
    failed: fn(E) -> StartError,
    permanent: fn(&E) -> bool,
    mut connect: F,
) -> Result<T, StartError>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    const ATTEMPT: std::time::Duration = std::time::Duration::from_secs(5);
    let started = std::time::Instant::now();
    let mut attempt = 1u32;
    loop {
        let left = wait.saturating_sub(started.elapsed());
        let per_attempt = left.clamp(std::time::Duration::from_millis(200), ATTEMPT);
        let mut failure = match tokio::time::timeout(per_attempt, connect()).await {
            Ok(Ok(v)) => {
                if attempt > 1 {
                    tracing::info!(store = what, address = %redacted(url), attempt, "store reachable");
                }
                return Ok(v);
            }
            Ok(Err(e)) if permanent(&e) => return Err(failed(e)),
            Ok(Err(e)) => {
                let text = e.to_string();
                (text, Some(e))
            }
            Err(_) => (
                format!("no answer within {}s", per_attempt.as_secs_f32()),
                None,
            ),
        };
        // A driver that retries inside its own timeout reports only that it timed out; a bare
        // TCP connection says why ("connection refused" is a closed port or a stopped server).
        let tcp = tcp_diagnosis(url).await;
        if let Some(found) = &tcp {
            failure.0 = format!("{found} ({})", failure.0);
        }
        tracing::warn!(
            store = what,
            address = %redacted(url),
            attempt,
            error = %failure.0,
            waited_secs = started.elapsed().as_secs(),
            "waiting for the {what} before starting"
        );
        if started.elapsed() >= wait {
            // The store's own error when it answered; else what the TCP check found.
            return Err(match (failure.1, tcp) {
                (Some(e), None) => failed(e),
                (_, tcp) => StartError::Unreachable {
                    store: what,
                    address: redacted(url),
                    waited_secs: started.elapsed().as_secs(),
                    reason: tcp.map(|t| format!(": {t}")).unwrap_or_default(),
                },
            });
        }
        attempt += 1;
        tokio::time::sleep(
            std::time::Duration::from_secs(1).min(wait.saturating_sub(started.elapsed())),
        )
        .await;
    }
}

/// What a bare TCP connection to the store's host and port finds, when it fails: `connection
/// refused at 127.0.0.1:9`, `no such host db.internal`, `no answer from 10.0.0.5:5432`. `None`
/// when it connects (the store itself is the problem) or the URL names no host.
async fn tcp_diagnosis(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_owned();
    let port = u.port_or_known_default().or(match u.scheme() {
        "postgres" | "postgresql" => Some(5432),
        "redis" | "rediss" => Some(6379),
        _ => None,
    })?;
    let at = format!("{host}:{port}");
    let attempt = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        tokio::net::TcpStream::connect(at.clone()),
    )
    .await;
    match attempt {
        Ok(Ok(_)) => None,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            Some(format!("connection refused at {at}"))
        }
        Ok(Err(e)) => Some(format!("cannot connect to {at}: {e}")),
        Err(_) => Some(format!("no answer from {at} within 0.5 s")),
    }
}

/// A store URL without its user and password: `postgres://db:5432/tessera`.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.has_host() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.split('?').next().unwrap_or_default().to_owned(),
    }
}

/// What the hot state needs to know about this deployment: URLs, the grants and endpoints
/// the token service implements (for discovery), and key-retention and reload timings.
fn registry_config(
    public_url: &str,
    config: &Config,
    instance_id: &str,
) -> tessera_hot::RegistryConfig {
    tessera_hot::RegistryConfig {
        public_url: public_url.to_owned(),
        base_domain: config.base_domain.clone(),
        grant_types: vec![
            "authorization_code",
            "implicit",
            "client_credentials",
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        response_types: vec![
            "code",
            "id_token",
            "code id_token",
            "code token",
            "id_token token",
            "code id_token token",
            "token",
        ],
        response_modes: vec![
            "query",
            "fragment",
            "form_post",
            // `web_message` is accepted at /authorize too, but not advertised: Okta's
            // metadata (and its OpenAPI enum, which typed clients check) lists these four.
            "okta_post_message",
        ],
        endpoints: vec![
            "authorize",
            "device/authorize",
            "introspect",
            "revoke",
            "userinfo",
            "logout",
        ],
        expired_key_retention_ms: tessera_jose::EXPIRED_KEY_RETENTION_MS,
        rotation_interval_ms: config.rotation_schedule().interval,
        rotation_next_lead_ms: config.rotation_schedule().next_lead,
        version_check_every: std::time::Duration::from_secs(5),
        idle_after: std::time::Duration::from_secs(config.hot_idle_secs),
        instance_id: instance_id.to_owned(),
    }
}

/// The operator token's digest: from configuration, else from `{data_dir}/operator-token`,
/// else generated into that file (mode 0600) and returned so the caller prints it once.
fn operator_token(
    config: &Config,
    data_dir: &Path,
    random: &dyn Random,
) -> Result<(String, Option<String>), StartError> {
    if let Some(t) = &config.operator_token {
        return Ok((lookup_digest(t), None));
    }
    let path = data_dir.join("operator-token");
    let io = |source| StartError::DataDir {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        let token = std::fs::read_to_string(&path).map_err(io)?;
        return Ok((lookup_digest(token.trim()), None));
    }
    let token = format!("op_{}", random_token(random, 32));
    write_private(&path, &token).map_err(io)?;
    Ok((lookup_digest(&token), Some(token)))
}

/// The master key: from configuration, else from `{data_dir}/master-key`, else generated into
/// that file (mode 0600). Losing it makes sealed keys unreadable, so it is never regenerated
/// over an existing file.
fn master_key(
    config: &Config,
    data_dir: &Path,
    random: &dyn Random,
) -> Result<(tessera_jose::MasterKey, String), StartError> {
    let path = data_dir.join("master-key");
    let text = match &config.master_key {
        Some(k) => k.clone(),
        None if path.exists() => {
            std::fs::read_to_string(&path).map_err(|source| StartError::DataDir {
                path: path.display().to_string(),
                source,
            })?
        }
        None => {
            let k = tessera_jose::MasterKey::generate_text(random);
            write_private(&path, &k).map_err(|source| StartError::DataDir {
                path: path.display().to_string(),
                source,
            })?;
            k
        }
    };
    let key = tessera_jose::MasterKey::from_text(&text)
        .map_err(|_| StartError::MasterKey(path.display().to_string()))?;
    Ok((key, text))
}

/// Creates `dir` (and its parents) readable by this user only, and tightens it to `0700` if it
/// exists with a wider mode.
#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0
        && let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    {
        tracing::warn!(dir = %dir.display(), error = %e, "could not make the data directory owner-only");
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Creates the SQLite file `0600` before SQLite opens it, and tightens it and its `-wal` and
/// `-shm` files to `0600` if they exist with a wider mode.
#[cfg(unix)]
fn private_files(db_file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(db_file)?;
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db_file.display()));
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_files(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}
