//! `/healthz` (the process is alive) and `/readyz` (its stores answer) on every service's public
//! listener; `/metrics` (Prometheus) only on the metrics listener (`metrics_listen`), which
//! serves nothing else (see [`crate::server`]).

use actix_web::{HttpResponse, web};
use serde_json::json;

use tessera_core::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route(METRICS_PATH, web::get().to(metrics));
}

pub const METRICS_PATH: &str = "/metrics";

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = tessera_store::ping(&state.db).await;
    let short_lived = state.short.ping().await.is_ok();
    let body = json!({
        "status": if database && short_lived { "ready" } else { "unavailable" },
        "database": database,
        "shortLivedStore": short_lived,
    });
    if database && short_lived {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition of this process's metrics.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let m = tessera_core::metrics::metrics();
    m.observe_registry(&state.hot);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render())
}
