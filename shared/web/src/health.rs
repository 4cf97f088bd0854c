//! `/healthz` (the process is alive), `/readyz` (its stores answer) and `/metrics`
//! (Prometheus), on every service.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

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
    let m = crate::metrics::metrics();
    m.observe_registry(&state.hot);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(m.render())
}
