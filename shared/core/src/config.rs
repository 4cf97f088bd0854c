//! Configuration: defaults, then an optional TOML file, then `TESSERA_*` environment variables
//! (and the conventional `DATABASE_URL` / `REDIS_URL`). Every value is checked before the
//! service starts; an error names the setting that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

/// Every setting, with its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`TESSERA_LISTEN`).
    pub listen: String,
    /// Where `/metrics` is served, apart from the public listener (`TESSERA_METRICS_LISTEN`;
    /// loopback by default, so only the machine's own Prometheus agent reads it). `off` serves
    /// no metrics.
    pub metrics_listen: String,
    /// How long an idle client connection is kept open, in seconds (`TESSERA_KEEP_ALIVE_SECS`).
    /// 75 like nginx's default, longer than the idle timeouts of client pools (Node's agents
    /// keep sockets for 5 s to a few tens of seconds), so a client never reuses a connection
    /// the server has just closed. 0 turns keep-alive off.
    pub keep_alive_secs: u64,
    /// HTTP worker threads (`TESSERA_HTTP_WORKERS`). Unset: one per CPU the process may use
    /// (a container's CPU quota included). Each worker builds its own route table, a few MiB
    /// (docs/operations.md, "Sizing"), so a process on a large node may want fewer.
    pub http_workers: Option<usize>,
    /// The externally visible base URL (`TESSERA_PUBLIC_URL`); tenants' org URLs and issuers
    /// derive from it, never from a request's Host header. Default: `http://{listen}`.
    pub public_url: Option<String>,
    /// With a wildcard DNS name, tenants are also served at `https://{tenant}.{base_domain}`
    /// (`TESSERA_BASE_DOMAIN`), and that becomes their org URL.
    pub base_domain: Option<String>,
    /// Where the embedded database, the generated operator token and master key live
    /// (`TESSERA_DATA_DIR`).
    pub data_dir: PathBuf,
    /// PostgreSQL (or SQLite) URL; unset means SQLite under the data directory.
    pub database_url: Option<String>,
    /// Redis URL; unset means the in-process short-lived store and bus.
    pub redis_url: Option<String>,
    /// The operator API's bearer token (`TESSERA_OPERATOR_TOKEN`); generated into the data
    /// directory on first start when unset.
    pub operator_token: Option<String>,
    /// The AES-256-GCM key (32 bytes, base64url) that seals signing keys and client secrets at
    /// rest (`TESSERA_MASTER_KEY`); generated into the data directory when unset.
    pub master_key: Option<String>,
    /// Signing keys of AUTO servers rotate this often (seconds; Okta: 90 days). Servers may
    /// override it with `credentials.signing.rotationIntervalMinutes`.
    pub rotation_interval_secs: u64,
    /// The NEXT key is created and published this long before a rotation (seconds).
    pub rotation_next_lead_secs: u64,
    /// How often the keys service checks what is due (seconds).
    pub rotation_check_secs: u64,
    /// Names this deployment in keys shared with other deployments on the same Redis (the
    /// rotation lease).
    pub cluster_name: String,
    /// The previous master key during a master-key rotation (`tessera keys rewrap`).
    pub previous_master_key: Option<String>,
    /// This replica's name among replicas (the holder of leases it takes); random when unset.
    pub instance_id: Option<String>,
    /// `auto` (default: `pretty` when stderr is a terminal, `json` otherwise), `json` (one object
    /// per line) or `pretty`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `tessera=debug,info`.
    pub log_level: String,
    /// Development only: let inline hooks call loopback addresses, over `http://` too
    /// (`TESSERA_HOOKS_ALLOW_HTTP_LOOPBACK`). Otherwise a hook's URI must be `https://` and
    /// reach no internal address.
    pub hooks_allow_http_loopback: bool,
    /// How OIDC client secrets are kept (`TESSERA_CLIENT_SECRETS`): `sealed` (default, as Okta)
    /// keeps each one sealed with the master key and shows it on `GET /apps/{id}` and in
    /// `/credentials/secrets`; `hashed` keeps only a salted hash (and a sealed copy for
    /// `client_secret_jwt` apps, which need the secret to check HMACs) and shows a secret once,
    /// when it is created.
    pub client_secrets: ClientSecrets,
    /// `TESSERA_*` environment variables that name no setting, ignored (filled by [`Config::load`]
    /// for the start-up log; never read from a file or the environment itself).
    #[serde(skip)]
    pub ignored_env: Vec<String>,
    /// Internal ranges (CIDR) and host names that outbound calls may reach although they are
    /// internal, for hooks that live inside the network (`TESSERA_OUTBOUND_ALLOW`, a TOML list:
    /// `'["10.1.0.0/16", "hooks.internal"]'`).
    pub outbound_allow: Vec<String>,
    /// Per-tenant request quotas per minute (`[rate_limits]`, or `TESSERA_RATE_LIMITS__TOKEN=…`).
    pub rate_limits: RateLimits,
    /// A tenant's hot state (its actors, keys and snapshots) is dropped after this many seconds
    /// without a request (`TESSERA_HOT_IDLE_SECS`), and loaded again from the database on the
    /// next one.
    pub hot_idle_secs: u64,
    /// How long start-up keeps trying to reach the database and Redis before giving up
    /// (seconds; `TESSERA_STARTUP_WAIT_SECS`).
    pub startup_wait_secs: u64,
    /// Password sign-in: lockout and throttling (`[sign_in]`, `TESSERA_SIGN_IN__…`).
    pub sign_in: SignIn,
    /// How long a request waits on Redis and PostgreSQL before it fails (`[stores]`,
    /// `TESSERA_STORES__…`): a store that is down costs a caller a fast 503, not a hang.
    pub stores: Stores,
    /// The System Log's spool (`[system_log]`, `TESSERA_SYSTEM_LOG__…`).
    pub system_log: SystemLogSettings,
    /// Proxies whose `X-Forwarded-For` names the client (CIDR ranges; `TESSERA_TRUSTED_PROXIES`).
    /// A request from anywhere else is attributed to its own peer address, so a client cannot
    /// choose the address its failed sign-ins are counted against.
    pub trusted_proxies: Vec<String>,
}

/// How client secrets are kept and shown (the `client_secrets` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientSecrets {
    /// Sealed with the master key, shown as Okta shows them.
    Sealed,
    /// Hashed, shown once.
    Hashed,
}

/// The System Log's spool: every event is written to `{data_dir}/system-log` before its request
/// answers, and loaded into the database from there (docs/operations.md, "The System Log").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemLogSettings {
    /// Past this many megabytes waiting (the database is down or slow) the spool says so loudly;
    /// it keeps accepting events all the same.
    pub spool_max_mb: u64,
    /// Events older than this many days are deleted (Okta keeps 90); `0` keeps them forever.
    pub retention_days: u64,
    /// A JSON Lines file every event is also written to, at least once, for a log shipper to
    /// stream out (docs/operations.md, "Streaming the System Log out"). Unset: no export.
    pub export_path: Option<PathBuf>,
}

impl Default for SystemLogSettings {
    fn default() -> Self {
        Self {
            spool_max_mb: 512,
            retention_days: 90,
            export_path: None,
        }
    }
}

/// Timeouts on the stores (the `[stores]` section), in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Stores {
    /// The longest one Redis operation may take; past it Redis is taken to be down and every
    /// operation fails at once until the probe hears from it again.
    pub redis_timeout_ms: u64,
    /// The longest one connection attempt to Redis may take.
    pub redis_connect_timeout_ms: u64,
    /// How often Redis is pinged while it answers (a connection that died unused is replaced
    /// by the ping); while it is down it is pinged five times as often.
    pub redis_probe_ms: u64,
    /// PostgreSQL: connections each process keeps open at most. Every replica of every
    /// service has its own pool, so the sum over the largest number of pods the deployment can
    /// scale to must stay below PostgreSQL's `max_connections` (docs/operations.md, "Sizing").
    pub database_max_connections: u32,
    /// PostgreSQL: the longest a request waits for a pooled connection (while the database is
    /// down, how long a request that needs it takes to answer 503).
    pub database_acquire_timeout_ms: u64,
    /// PostgreSQL: the longest one connection attempt may take.
    pub database_connect_timeout_ms: u64,
    /// PostgreSQL: the longest one statement may run (`statement_timeout`).
    pub database_statement_timeout_ms: u64,
    /// How often this process checks that the database answers (`/readyz`, the
    /// `tessera_dependency_up` metric).
    pub database_probe_ms: u64,
}

impl Default for Stores {
    fn default() -> Self {
        Self {
            redis_timeout_ms: 500,
            redis_connect_timeout_ms: 500,
            redis_probe_ms: 1000,
            database_max_connections: 16,
            database_acquire_timeout_ms: 1000,
            database_connect_timeout_ms: 1000,
            database_statement_timeout_ms: 5000,
            database_probe_ms: 1000,
        }
    }
}

impl Stores {
    fn validate(&self) -> Result<(), ConfigError> {
        for (setting, value) in [
            ("stores.redis_timeout_ms", self.redis_timeout_ms),
            (
                "stores.redis_connect_timeout_ms",
                self.redis_connect_timeout_ms,
            ),
            ("stores.redis_probe_ms", self.redis_probe_ms),
            (
                "stores.database_acquire_timeout_ms",
                self.database_acquire_timeout_ms,
            ),
            (
                "stores.database_connect_timeout_ms",
                self.database_connect_timeout_ms,
            ),
            (
                "stores.database_statement_timeout_ms",
                self.database_statement_timeout_ms,
            ),
            ("stores.database_probe_ms", self.database_probe_ms),
        ] {
            if !(10..=600_000).contains(&value) {
                return Err(invalid(
                    setting,
                    format!("{value} is not between 10 and 600000"),
                ));
            }
        }
        if !(1..=1000).contains(&self.database_max_connections) {
            return Err(invalid(
                "stores.database_max_connections",
                format!(
                    "{} is not between 1 and 1000",
                    self.database_max_connections
                ),
            ));
        }
        Ok(())
    }

    /// The Redis store's timeouts.
    pub fn redis(&self) -> tessera_ephemeral::Timeouts {
        let ms = std::time::Duration::from_millis;
        tessera_ephemeral::Timeouts {
            operation: ms(self.redis_timeout_ms),
            connect: ms(self.redis_connect_timeout_ms),
            probe: ms(self.redis_probe_ms),
            recovery_probe: ms((self.redis_probe_ms / 5).max(10)),
        }
    }

    /// The database pool.
    pub fn database(&self) -> tessera_store::Pool {
        let ms = std::time::Duration::from_millis;
        tessera_store::Pool {
            max_connections: self.database_max_connections,
            acquire: ms(self.database_acquire_timeout_ms),
            connect: ms(self.database_connect_timeout_ms),
            statement: ms(self.database_statement_timeout_ms),
        }
    }
}

/// Okta's password-policy lockout (`settings.password.lockout`) and a per-address throttle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignIn {
    /// Consecutive failed sign-ins after which a user becomes `LOCKED_OUT` (Okta's
    /// `maxAttempts`, default 10; `0` never locks).
    pub lockout_attempts: u64,
    /// Minutes after which a locked user is unlocked by itself (Okta's `autoUnlockMinutes`,
    /// default `0`: only an admin unlocks, `POST /api/v1/users/{id}/lifecycle/unlock`).
    pub lockout_minutes: u64,
    /// Failed sign-ins per minute from one client address before that address is throttled
    /// (password spraying across many usernames); `0` turns the throttle off.
    pub address_failures_per_minute: u64,
}

impl Default for SignIn {
    fn default() -> Self {
        Self {
            lockout_attempts: 10,
            lockout_minutes: 0,
            address_failures_per_minute: 20,
        }
    }
}

/// Requests per minute per tenant and bucket (Okta's rate limits, <https://developer.okta.com/docs/reference/rate-limits/>; defaults are Okta's
/// Enterprise quotas). `0` lifts a bucket's limit; `enabled = false` lifts them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub enabled: bool,
    pub authorize: u64,
    pub token: u64,
    pub oauth2: u64,
    pub clients: u64,
    pub apps: u64,
    pub app: u64,
    pub management: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            authorize: 1200,
            token: 1200,
            oauth2: 1200,
            clients: 100,
            apps: 100,
            app: 600,
            management: 600,
        }
    }
}

impl RateLimits {
    /// The quota of `bucket`, or `None` when it is not limited.
    pub fn quota(&self, bucket: tessera_domain::ratelimit::Bucket) -> Option<u64> {
        use tessera_domain::ratelimit::Bucket as B;
        let q = match bucket {
            B::Authorize => self.authorize,
            B::Token => self.token,
            B::OAuth2 => self.oauth2,
            B::Clients => self.clients,
            B::Apps => self.apps,
            B::App => self.app,
            B::Management => self.management,
        };
        (self.enabled && q > 0).then_some(q)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: "127.0.0.1:9464".into(),
            keep_alive_secs: 75,
            http_workers: None,
            public_url: None,
            base_domain: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            operator_token: None,
            master_key: None,
            rotation_interval_secs: 90 * 24 * 60 * 60,
            rotation_next_lead_secs: 24 * 60 * 60,
            rotation_check_secs: 60,
            cluster_name: "tessera".into(),
            previous_master_key: None,
            instance_id: None,
            log_format: "auto".into(),
            log_level: "info".into(),
            hooks_allow_http_loopback: false,
            client_secrets: ClientSecrets::Sealed,
            ignored_env: Vec::new(),
            outbound_allow: Vec::new(),
            rate_limits: RateLimits::default(),
            startup_wait_secs: 60,
            hot_idle_secs: 600,
            sign_in: SignIn::default(),
            stores: Stores::default(),
            system_log: SystemLogSettings::default(),
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1/128".into()],
        }
    }
}

/// A setting that is missing or wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    #[error("could not read the configuration: {0}")]
    Load(String),
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        reason: reason.into(),
    }
}

/// Whether `key` (after `TESSERA_`, any case, `__` between levels) names a setting. Other
/// `TESSERA_*` variables are not settings: Kubernetes, for one, injects `TESSERA_TOKEN_PORT` and
/// the like for Services named `tessera-…` (unless a pod sets `enableServiceLinks: false`),
/// and a process must not refuse to start over them. They are listed in
/// [`Config::ignored_env`] and logged once at start-up. The TOML file, which only an operator
/// writes, still refuses unknown keys.
fn known_env_key(key: &str) -> bool {
    let Ok(serde_json::Value::Object(settings)) = serde_json::to_value(Config::default()) else {
        return false;
    };
    let lower = key.to_ascii_lowercase();
    let mut parts = lower.split("__");
    let (Some(top), nested) = (parts.next(), parts.next()) else {
        return false;
    };
    match (settings.get(top), nested) {
        (Some(serde_json::Value::Object(section)), Some(field)) => {
            parts.next().is_none() && section.contains_key(field)
        }
        (Some(_), None) => true,
        // A section set as a whole (`TESSERA_RATE_LIMITS='{…}'`) or a nested key of a plain
        // setting: leave it to the parser to accept or refuse.
        (Some(_), Some(_)) => true,
        (None, _) => false,
    }
}

impl Config {
    /// Loads from `file` (when given, it must exist), then the environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Self::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(invalid(
                    "config file",
                    format!("{} does not exist", path.display()),
                ));
            }
            fig = fig.merge(Toml::file(path));
        }
        let fig = fig
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL", "REDIS_URL"])
                    .map(|k| k.as_str().to_ascii_lowercase().into()),
            )
            .merge(
                Env::prefixed("TESSERA_")
                    .ignore(&["CONFIG"])
                    .filter(|k| known_env_key(k.as_str()))
                    .split("__"),
            );
        let mut config: Self = fig
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        config.validate()?;
        config.ignored_env = std::env::vars()
            .filter_map(|(k, _)| k.strip_prefix("TESSERA_").map(str::to_owned))
            .filter(|k| k != "CONFIG" && !known_env_key(k))
            .map(|k| format!("TESSERA_{k}"))
            .collect();
        config.ignored_env.sort();
        Ok(config)
    }

    /// Checks every setting.
    /// The trusted proxies' ranges.
    pub fn proxies(&self) -> Result<Vec<tessera_outbound::Allowed>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| match p.parse::<tessera_outbound::Allowed>() {
                Ok(a @ tessera_outbound::Allowed::Cidr(..)) => Ok(a),
                Ok(_) => Err(invalid(
                    "trusted_proxies",
                    format!("'{p}' is not a CIDR range"),
                )),
                Err(e) => Err(invalid("trusted_proxies", e)),
            })
            .collect()
    }

    /// What outbound calls (inline hooks) may reach.
    pub fn outbound_policy(&self) -> Result<tessera_outbound::Policy, ConfigError> {
        let allow = self
            .outbound_allow
            .iter()
            .map(|a| a.parse().map_err(|e: String| invalid("outbound_allow", e)))
            .collect::<Result<_, _>>()?;
        Ok(tessera_outbound::Policy {
            allow_loopback: self.hooks_allow_http_loopback,
            allow,
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen
            .parse::<SocketAddr>()
            .map_err(|_| invalid("listen", format!("'{}' is not host:port", self.listen)))?;
        if let Some(url) = &self.public_url {
            let u = Url::parse(url).map_err(|e| invalid("public_url", e.to_string()))?;
            if !matches!(u.scheme(), "http" | "https")
                || u.query().is_some()
                || u.fragment().is_some()
            {
                return Err(invalid(
                    "public_url",
                    "must be an http(s) URL without query or fragment",
                ));
            }
        }
        if let Some(domain) = &self.base_domain {
            let ok = !domain.is_empty()
                && domain.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return Err(invalid(
                    "base_domain",
                    format!("'{domain}' is not a DNS name"),
                ));
            }
        }
        self.outbound_policy()?;
        self.proxies()?;
        self.stores.validate()?;
        if self.hot_idle_secs == 0 {
            return Err(invalid("hot_idle_secs", "must be at least 1"));
        }
        if let Some(n) = self.http_workers
            && !(1..=512).contains(&n)
        {
            return Err(invalid(
                "http_workers",
                format!("{n} is not between 1 and 512"),
            ));
        }
        if self.keep_alive_secs > 3600 {
            return Err(invalid(
                "keep_alive_secs",
                format!("{} is more than an hour", self.keep_alive_secs),
            ));
        }
        if self.metrics_listen != "off" && self.metrics_listen.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "metrics_listen",
                format!("'{}' is not host:port (or off)", self.metrics_listen),
            ));
        }
        if let Some(db) = &self.database_url
            && !(db.starts_with("postgres://")
                || db.starts_with("postgresql://")
                || db.starts_with("sqlite:"))
        {
            return Err(invalid(
                "database_url",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        if let Some(r) = &self.redis_url
            && !(r.starts_with("redis://") || r.starts_with("rediss://"))
        {
            return Err(invalid(
                "redis_url",
                "must start with redis:// or rediss://",
            ));
        }
        if let Some(t) = &self.operator_token
            && t.len() < 24
        {
            return Err(invalid("operator_token", "must be at least 24 characters"));
        }
        if let Some(k) = &self.master_key
            && tessera_jose::MasterKey::from_text(k).is_err()
        {
            return Err(invalid(
                "master_key",
                "must be 32 bytes, base64url-encoded without padding",
            ));
        }
        if let Some(k) = &self.previous_master_key
            && tessera_jose::MasterKey::from_text(k).is_err()
        {
            return Err(invalid(
                "previous_master_key",
                "must be 32 bytes, base64url-encoded without padding",
            ));
        }
        if self.rotation_interval_secs < 2
            || self.rotation_next_lead_secs >= self.rotation_interval_secs
        {
            return Err(invalid(
                "rotation_interval_secs",
                "must be at least 2 and longer than rotation_next_lead_secs",
            ));
        }
        if self.rotation_check_secs == 0 {
            return Err(invalid("rotation_check_secs", "must be at least 1"));
        }
        if self.cluster_name.is_empty()
            || !self
                .cluster_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "cluster_name",
                "must be letters, digits, '-' or '_'",
            ));
        }
        if !matches!(self.log_format.as_str(), "auto" | "json" | "pretty") {
            return Err(invalid("log_format", "must be auto, json or pretty"));
        }
        Ok(())
    }

    /// The default rotation schedule (milliseconds).
    pub fn rotation_schedule(&self) -> tessera_domain::rotation::Schedule {
        let ms = |s: u64| i64::try_from(s).unwrap_or(i64::MAX / 2_000) * 1000;
        tessera_domain::rotation::Schedule {
            interval: ms(self.rotation_interval_secs),
            next_lead: ms(self.rotation_next_lead_secs),
            retention: tessera_jose::EXPIRED_KEY_RETENTION_MS,
        }
    }

    /// The database URL in force: the configured one, or SQLite under the data directory.
    pub fn effective_database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tessera.db").display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_when_defaults_then_ok() {
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn validate_when_bad_setting_then_error_names_it() {
        let cases: Vec<(Config, &str)> = vec![
            (
                Config {
                    listen: "nope".into(),
                    ..Config::default()
                },
                "`listen`",
            ),
            (
                Config {
                    public_url: Some("ftp://x".into()),
                    ..Config::default()
                },
                "`public_url`",
            ),
            (
                Config {
                    base_domain: Some("bad domain".into()),
                    ..Config::default()
                },
                "`base_domain`",
            ),
            (
                Config {
                    database_url: Some("mysql://x".into()),
                    ..Config::default()
                },
                "`database_url`",
            ),
            (
                Config {
                    redis_url: Some("http://x".into()),
                    ..Config::default()
                },
                "`redis_url`",
            ),
            (
                Config {
                    operator_token: Some("short".into()),
                    ..Config::default()
                },
                "`operator_token`",
            ),
            (
                Config {
                    http_workers: Some(0),
                    ..Config::default()
                },
                "`http_workers`",
            ),
        ];
        for (config, setting) in cases {
            let err = config
                .validate()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(setting), "{err} should name {setting}");
        }
    }
}
