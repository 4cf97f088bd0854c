//! `/healthz` (the process is alive) and `/readyz` (it can serve; how its stores are) on every service's public
//! listener; `/metrics` (Prometheus) only on the metrics listener (`metrics_listen`), which
//! serves nothing else (see [`crate::server`]).

use actix_web::{HttpResponse, web};
use serde_json::json;

use tessera_core::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    crate::routes::Routes::new(cfg)
        .get("/healthz", healthz)
        .get("/readyz", readyz)
        .get(METRICS_PATH, metrics);
}

pub const METRICS_PATH: &str = "/metrics";

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: whether this process can serve its requests, and how its stores are.
///
/// * `ready` (200): every store answers.
/// * `degraded` (200): a store is down, and requests that need it answer a JSON 503 with
///   `Retry-After`, while the rest (client credentials from hot state, JWT introspection with
///   the database down, JWKS) are served. A store outage is shared by every replica, so taking
///   them all out of the load balancer would only swap those JSON answers for the proxy's own
///   error page and stop the requests that still work.
/// * `unavailable` (503): the database is down and this process has no tenant loaded, so it
///   can serve nothing.
///
/// It never asks a store on the request's path (the probes have: see `tessera_core::health`),
/// so it answers within any readiness-probe timeout.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let health = state.health.snapshot(state.short.as_ref());
    let redis = state.config.redis_url.is_some();
    tessera_core::metrics::metrics().observe_health(health, redis, state.bus.waiting());
    let warm = state.hot.loaded_tenants() > 0;
    let status = match (health.database, health.short_lived) {
        (true, true) => "ready",
        (false, _) if !warm => "unavailable",
        _ => "degraded",
    };
    let mut down = Vec::new();
    if !health.database {
        down.push("database");
    }
    if !health.short_lived {
        down.push(if redis { "redis" } else { "shortLivedStore" });
    }
    let body = json!({
        "status": status,
        "database": health.database,
        "shortLivedStore": health.short_lived,
        "down": down,
        "announcementsWaiting": state.bus.waiting(),
    });
    if status == "unavailable" {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

/// Prometheus text exposition of this process's metrics.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = tessera_core::metrics::metrics();
    m.observe_registry(&state.hot);
    m.observe_health(
        state.health.snapshot(state.short.as_ref()),
        state.config.redis_url.is_some(),
        state.bus.waiting(),
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render())
}
