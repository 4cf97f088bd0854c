//! Observability: a token request's trace, exported over OTLP to a test receiver,
//! continues the caller's `traceparent` and shows the spans from HTTP down to signing; and
//! `/metrics` parses as Prometheus text with the token, latency and hot-state series.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, config, free_port, service_app, service_process, spawn, spawn_with};

type Received = Arc<Mutex<Vec<Value>>>;

/// An OTLP/HTTP receiver (JSON bodies) on a free port; returns its address and what it got.
fn otlp_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        let store = store.clone();
        App::new().route(
            "/v1/traces",
            web::post().to(move |body: web::Bytes| {
                let store = store.clone();
                async move {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        store.lock().unwrap().push(v);
                    }
                    HttpResponse::Ok().json(serde_json::json!({}))
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_rt::spawn(server);
    (format!("http://{addr}"), received)
}

/// Every span received: (trace id, span id, parent span id, name).
fn spans(received: &Received) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for export in received.lock().unwrap().iter() {
        for rs in export["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_lowercase();
                    out.push((
                        text("traceId"),
                        text("spanId"),
                        text("parentSpanId"),
                        text("name"),
                    ));
                }
            }
        }
    }
    out
}

#[actix_web::test]
async fn a_token_request_is_traced_from_http_down_to_signing() {
    let (endpoint, received) = otlp_receiver();
    let mut cfg = config(Backend::Shared).await;
    cfg.master_key = Some(tessera_jose::MasterKey::generate_text(
        &tessera_domain::SystemRandom,
    ));
    let app = spawn_with(cfg.clone()).await;
    let port = free_port();
    let _token = service_process(
        &cfg,
        "token",
        port,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
            ("OTEL_SERVICE_NAME", "tessera-token".into()),
            // A nested setting through the environment (`[rate_limits] token`).
            ("TESSERA_RATE_LIMITS__TOKEN", "1000".into()),
        ],
    );
    let t = app.provision().await;
    let svc = app
        .api(&t, Method::POST, "/apps", Some(service_app("traced")))
        .await
        .expect(200);

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let res = app
        .client
        .post(format!(
            "http://127.0.0.1:{port}/t/{}/oauth2/default/v1/token",
            t.name
        ))
        .basic_auth(
            svc["id"].as_str().unwrap(),
            svc["credentials"]["oauthClient"]["client_secret"].as_str(),
        )
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .form(&[("grant_type", "client_credentials"), ("scope", "profile")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-rate-limit-limit"], "1000");

    let wanted = [
        "post /t/{tenant}/oauth2/{as}/v1/token",
        "oauth.token.grant",
        "oauth.client_auth",
        "token.issue",
        "jose.sign",
    ];
    let mut ours = Vec::new();
    for _ in 0..100 {
        ours = spans(&received)
            .into_iter()
            .filter(|s| s.0 == trace_id)
            .collect();
        if wanted.iter().all(|w| ours.iter().any(|s| s.3 == *w)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let find = |name: &str| {
        ours.iter()
            .find(|s| s.3 == name)
            .unwrap_or_else(|| panic!("no span {name} in {ours:?}"))
            .clone()
    };
    let server = find(wanted[0]);
    assert_eq!(
        server.2, caller_span,
        "the request span continues the caller's trace"
    );
    let grant = find("oauth.token.grant");
    assert_eq!(grant.2, server.1);
    assert_eq!(find("oauth.client_auth").2, grant.1);
    let issue = find("token.issue");
    assert_eq!(issue.2, grant.1);
    assert_eq!(find("jose.sign").2, issue.1, "signing is inside issuance");
    app.stop().await;
}

#[actix_web::test]
async fn metrics_parse_as_prometheus_text_and_count_what_happened() {
    let app = spawn(Backend::Embedded).await;
    let t = app.provision().await;
    let svc = app
        .api(&t, Method::POST, "/apps", Some(service_app("counted")))
        .await
        .expect(200);
    let id = svc["id"].as_str().unwrap();
    let secret = svc["credentials"]["oauthClient"]["client_secret"].as_str();
    for scope in ["profile", "profile", "no.such.scope"] {
        app.client
            .post(format!("{}/oauth2/default/v1/token", t.org))
            .basic_auth(id, secret)
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .unwrap();
    }
    // A path no route matches is counted under `unmatched`.
    let res = app
        .client
        .get(format!("{}/no/such/route", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text().await.unwrap();
    let samples = crate::helpers::prometheus_samples(&text);
    let value = |metric: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|s| s["name"] == metric && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
            .and_then(|s| s["value"].as_f64())
    };
    let issued = [
        ("tenant", t.name.as_str()),
        ("grant", "client_credentials"),
        ("outcome", "issued"),
    ];
    assert_eq!(value("tessera_tokens_total", &issued), Some(2.0));
    let refused = [("tenant", t.name.as_str()), ("outcome", "invalid_scope")];
    assert_eq!(value("tessera_tokens_total", &refused), Some(1.0));
    let latency = value(
        "tessera_http_request_duration_seconds_count",
        &[("route", "/t/{tenant}/oauth2/{as}/v1/token")],
    );
    assert_eq!(latency, Some(3.0), "three token requests observed");
    // Each route's requests by method and status (two statuses from the one route).
    let requests = |route: &str, method: &str, status: &str| {
        value(
            "tessera_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    let token = "/t/{tenant}/oauth2/{as}/v1/token";
    assert_eq!(requests(token, "POST", "200"), Some(2.0), "issued");
    assert_eq!(requests(token, "POST", "400"), Some(1.0), "invalid_scope");
    assert_eq!(requests("unmatched", "GET", "404"), Some(1.0));
    assert_eq!(
        requests("/t/{tenant}/api/v1/apps", "POST", "200"),
        Some(1.0),
        "a management route"
    );
    assert_eq!(value("tessera_hot_loaded_tenants", &[]), Some(1.0));
    assert!(value("tessera_hot_tenant_lookups_total", &[("result", "hit")]).unwrap_or(0.0) >= 2.0);
    assert!(value("tessera_config_bus_events_total", &[]).is_some());
    assert!(
        samples
            .iter()
            .any(|s| s["name"] == "tessera_tokens_total" && s["type"] == "counter"),
        "tokens are a counter"
    );
    app.stop().await;
}

/// A tenant's hot state is dropped after `hot_idle_secs` without a request, and the next
/// request loads it again.
#[actix_web::test]
async fn idle_tenants_are_evicted_after_the_configured_time_and_load_again() {
    let clock = std::sync::Arc::new(tessera_domain::TestClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let mut cfg = crate::helpers::config(crate::helpers::Backend::Embedded).await;
    cfg.hot_idle_secs = 30;
    let app = crate::helpers::spawn_clocked(cfg, &tessera::Service::ALL, clock.clone()).await;
    let t = app.provision().await;
    let jwks = |app: &crate::helpers::TestApp| {
        app.client
            .get(format!("{}/oauth2/default/v1/keys", t.org))
            .send()
    };
    assert_eq!(jwks(&app).await.unwrap().status(), 200);
    assert!(app.state.hot.loaded_tenants() >= 1);
    // Idle for less than the setting: kept through a maintenance pass (every 5 s).
    clock.advance(time::Duration::seconds(20));
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert!(
        app.state.hot.loaded_tenants() >= 1,
        "kept while younger than hot_idle_secs"
    );
    // Past it: dropped at the next pass.
    clock.advance(time::Duration::seconds(20));
    let mut evicted = false;
    for _ in 0..70 {
        if app.state.hot.loaded_tenants() == 0 {
            evicted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(evicted, "evicted once idle past hot_idle_secs");
    assert_eq!(
        jwks(&app).await.unwrap().status(),
        200,
        "and loaded again on use"
    );
    assert!(app.state.hot.loaded_tenants() >= 1);
    app.stop().await;
}

/// The HTTP worker threads of this process: actix-server runs each worker on an arbiter thread
/// of its own, named `actix-rt|system:…` (Linux keeps the first 15 bytes of a thread's name).
/// nextest runs each test in its own process.
fn http_worker_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("actix-rt|system"))
        .count()
}

/// `http_workers` sets how many HTTP workers serve (each holds its own route table), and all
/// of them answer.
#[actix_web::test]
async fn http_workers_sets_the_number_of_http_workers() {
    let before = http_worker_threads();
    let mut cfg = config(Backend::Embedded).await;
    cfg.http_workers = Some(3);
    let app = spawn_with(cfg).await;
    let t = app.provision().await;
    for _ in 0..12 {
        let res = app
            .client
            .get(format!("{}/oauth2/default/v1/keys", t.org))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(http_worker_threads() - before, 3);
    app.stop().await;
}
