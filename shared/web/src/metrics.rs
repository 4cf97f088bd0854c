//! Prometheus metrics (SPEC §6), served at `GET /metrics` by every service: requests and their
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
    pub system_log_dropped: IntCounter,
    pub rate_limited: IntCounterVec,
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
            "System Log events stored by this process",
        )
        .unwrap_or_else(|_| unreachable_metric());
        let system_log_dropped = IntCounter::new(
            "system_log_dropped_total",
            "System Log events this process could not store (queue full or database refused)",
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
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(tokens.clone()),
            Box::new(loaded_tenants.clone()),
            Box::new(system_log_events.clone()),
            Box::new(system_log_dropped.clone()),
            Box::new(rate_limited.clone()),
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
            system_log_dropped,
            rate_limited,
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

impl Metrics {
    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}
