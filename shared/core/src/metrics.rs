//! Prometheus metrics, served at `GET /metrics` by every service: requests and their
//! latency per route, tokens issued per tenant, server, grant and outcome, and the hot-state
//! actors a process holds. One registry per process.

use std::sync::OnceLock;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub tokens: IntCounterVec,
    pub loaded_tenants: IntGauge,
    pub system_log_events: IntCounter,
    pub system_log_lost: IntCounter,
    pub system_log_spool_bytes: IntGauge,
    pub system_log_spooled: IntCounter,
    pub system_log_lag: prometheus::Gauge,
    pub system_log_exported: IntCounter,
    pub rate_limited: IntCounterVec,
    pub hot_tenant_lookups: IntCounterVec,
    pub introspection_cache: IntCounterVec,
    pub hot_reloads: IntCounterVec,
    pub bus_events: IntCounter,
    pub bus_lag: prometheus::Gauge,
    pub key_rotations: IntCounterVec,
    pub dependency_up: prometheus::IntGaugeVec,
    pub bus_waiting: IntGauge,
}

/// The metrics of this process.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let registry = Registry::new_custom(Some("tessera".into()), None).unwrap_or_default();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let tokens = IntCounterVec::new(
            Opts::new(
                "tokens_total",
                "Token requests by tenant, authorization server, grant and outcome",
            ),
            &["tenant", "server", "grant", "outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let loaded_tenants = IntGauge::new(
            "hot_loaded_tenants",
            "Tenants whose hot-state actors are loaded",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_events = IntCounter::new(
            "system_log_events_total",
            "System Log records this process loaded from its spool into the database (an event stored with its follow-ups is one)",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_lost = IntCounter::new(
            "system_log_lost_total",
            "System Log events lost: spooled lines that could not be loaded (torn by a machine crash, or not JSON), and events the spool could not be written to",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_spool_bytes = IntGauge::new(
            "system_log_spool_bytes",
            "Bytes of System Log events in this process's spool, waiting to be loaded into the database",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_spooled = IntCounter::new(
            "system_log_spooled_total",
            "System Log records this process appended to its spool (every record is then loaded, or counted lost)",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_lag = prometheus::Gauge::new(
            "system_log_write_lag_seconds",
            "Age of the oldest System Log record waiting in this process's spool to be loaded (0 when none waits)",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_exported = IntCounter::new(
            "system_log_exported_total",
            "System Log events written to the export file (system_log.export_path)",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused with 429 by the rate limiter, by bucket",
            ),
            &["bucket"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let hot_tenant_lookups = IntCounterVec::new(
            Opts::new(
                "hot_tenant_lookups_total",
                "Tenant lookups by result: hit (served from the loaded actor) or load (read from the database)",
            ),
            &["result"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let introspection_cache = IntCounterVec::new(
            Opts::new(
                "introspection_cache_lookups_total",
                "Introspection result-cache lookups by result (hit or miss)",
            ),
            &["result"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let hot_reloads = IntCounterVec::new(
            Opts::new(
                "hot_reloads_total",
                "Hot-state reloads by kind (tenant: the whole tenant-wide snapshot; app: one app in it; server: one authorization server) and result (loaded, skipped: the snapshot held the change already, failed)",
            ),
            &["kind", "result"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let bus_events = IntCounter::new(
            "config_bus_events_total",
            "Configuration changes received on the config bus",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let bus_lag = prometheus::Gauge::new(
            "config_bus_lag_seconds",
            "Delay between a configuration commit and its receipt here, for the latest change",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let key_rotations = IntCounterVec::new(
            Opts::new(
                "key_rotations_total",
                "Signing-key rollovers this process made, by trigger (scheduled or manual)",
            ),
            &["trigger"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let dependency_up = prometheus::IntGaugeVec::new(
            Opts::new(
                "dependency_up",
                "Whether a store answers, as this process last saw it (1) or not (0): database (probed every stores.database_probe_ms), redis (its circuit breaker)",
            ),
            &["dependency"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let bus_waiting = IntGauge::new(
            "config_bus_waiting",
            "Committed configuration changes waiting for Redis to be announced",
        )
        .unwrap_or_else(|_| unreachable_metric());
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(tokens.clone()),
            Box::new(loaded_tenants.clone()),
            Box::new(system_log_events.clone()),
            Box::new(system_log_lost.clone()),
            Box::new(system_log_spool_bytes.clone()),
            Box::new(system_log_spooled.clone()),
            Box::new(system_log_lag.clone()),
            Box::new(system_log_exported.clone()),
            Box::new(rate_limited.clone()),
            Box::new(hot_tenant_lookups.clone()),
            Box::new(introspection_cache.clone()),
            Box::new(hot_reloads.clone()),
            Box::new(bus_events.clone()),
            Box::new(bus_lag.clone()),
            Box::new(key_rotations.clone()),
            Box::new(dependency_up.clone()),
            Box::new(bus_waiting.clone()),
        ] {
            let _ = registry.register(c);
        }
        Metrics {
            registry,
            http_requests,
            http_duration,
            tokens,
            loaded_tenants,
            system_log_events,
            system_log_lost,
            system_log_spool_bytes,
            system_log_spooled,
            system_log_lag,
            system_log_exported,
            rate_limited,
            hot_tenant_lookups,
            introspection_cache,
            hot_reloads,
            bus_events,
            bus_lag,
            key_rotations,
            dependency_up,
            bus_waiting,
        }
    })
}

/// Metric definitions above are constants; building them cannot fail.
fn unreachable_metric<T>() -> T {
    #[expect(clippy::panic, reason = "static metric definitions are valid")]
    {
        panic!("invalid static metric definition")
    }
}

/// Raises a counter to `total` (a count kept elsewhere, e.g. by the hot registry).
fn catch_up(counter: &prometheus::IntCounter, total: u64) {
    let current = counter.get();
    if total > current {
        counter.inc_by(total - current);
    }
}

impl Metrics {
    /// Sets the stores' health gauges (`redis` only where Redis is configured).
    pub fn observe_health(&self, health: crate::health::Snapshot, redis: bool, waiting: usize) {
        self.dependency_up
            .with_label_values(&["database"])
            .set(i64::from(health.database));
        if redis {
            self.dependency_up
                .with_label_values(&["redis"])
                .set(i64::from(health.short_lived));
        }
        self.bus_waiting
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    /// Copies the hot registry's own counts into the exported metrics.
    pub fn observe_registry(&self, hot: &tessera_hot::Registry) {
        let s = hot.stats();
        self.loaded_tenants
            .set(i64::try_from(hot.loaded_tenants()).unwrap_or(i64::MAX));
        catch_up(
            &self.hot_tenant_lookups.with_label_values(&["hit"]),
            s.tenant_hits,
        );
        catch_up(
            &self.hot_tenant_lookups.with_label_values(&["load"]),
            s.tenant_loads,
        );
        for (kind, row) in ["tenant", "app", "server"].iter().zip(s.reloads) {
            for (result, n) in ["loaded", "skipped", "failed"].iter().zip(row) {
                catch_up(&self.hot_reloads.with_label_values(&[kind, result]), n);
            }
        }
        catch_up(&self.bus_events, s.bus_events);
        #[expect(
            clippy::cast_precision_loss,
            reason = "a lag in milliseconds fits an f64"
        )]
        self.bus_lag.set(s.bus_lag_ms.max(0) as f64 / 1000.0);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
