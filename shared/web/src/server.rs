//! Starting a Tessera HTTP server: shared middleware, error configs, health endpoints, and the
//! routes of whichever services this process runs.

use std::net::SocketAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::error::{ApiError, json_config, query_config};
use crate::routes::RouteLabel;
use tessera_core::config::Config;
use tessera_core::state::{AppState, StartError};

/// A function that mounts one service's routes.
pub type Mount = fn(&mut web::ServiceConfig);

/// A bound, not yet awaited server.
pub struct Started {
    pub addr: SocketAddr,
    /// Where `/metrics` is served (`metrics_listen`), unless it is off.
    pub metrics_addr: Option<SocketAddr>,
    pub state: AppState,
    pub server: Server,
    /// The operator token, when this start generated it (print it once).
    pub generated_operator_token: Option<String>,
}

impl Started {
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: stops accepting, lets
    /// in-flight requests finish (up to 10 s), and stores the System Log events still queued.
    pub async fn serve(self) -> std::io::Result<()> {
        let result = self.server.await;
        tracing::info!("stopped accepting requests; in-flight requests drained");
        self.state.syslog.flush().await;
        crate::telemetry::shutdown();
        tracing::info!("System Log and traces flushed; exiting");
        result
    }
}

/// The whole `main` of a binary that runs one service alone (`tessera-admin`, `tessera-token`,
/// …; the same as `tessera serve --service {name}`): configuration from `TESSERA_CONFIG` and
/// the environment, logging, the server with `mount`, then `after_start` (a background job,
/// a backfill), then serving until SIGTERM.
pub fn run_alone<F, Fut>(name: &'static str, mount: Mount, after_start: F) -> anyhow::Result<()>
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = Config::load(
        std::env::var_os("TESSERA_CONFIG")
            .map(std::path::PathBuf::from)
            .as_deref(),
    )?;
    crate::telemetry::init(&config);
    actix_rt::System::new().block_on(async move {
        let started = start(config, vec![mount]).await?;
        after_start(started.state.clone()).await?;
        tracing::info!(addr = %started.addr, metrics = ?started.metrics_addr, service = name, "listening");
        started.serve().await?;
        Ok(())
    })
}

/// Binds `config.listen`, opens the stores, and builds the server with `mounts`.
pub async fn start(config: Config, mounts: Vec<Mount>) -> Result<Started, anyhow::Error> {
    start_with_clock(
        config,
        mounts,
        std::sync::Arc::new(tessera_domain::SystemClock),
    )
    .await
}

/// [`start`] with an injected clock.
pub async fn start_with_clock(
    config: Config,
    mounts: Vec<Mount>,
    clock: std::sync::Arc<dyn tessera_domain::Clock>,
) -> Result<Started, anyhow::Error> {
    let listener = std::net::TcpListener::bind(&config.listen).map_err(|e| {
        anyhow::anyhow!("cannot listen on {} (setting `listen`): {e}", config.listen)
    })?;
    let addr = listener.local_addr()?;
    let metrics_listener = match config.metrics_listen.as_str() {
        "off" => None,
        at => Some(std::net::TcpListener::bind(at).map_err(|e| {
            anyhow::anyhow!("cannot listen on {at} (setting `metrics_listen`): {e}")
        })?),
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .map(std::net::TcpListener::local_addr)
        .transpose()?;
    let (state, generated) = AppState::open_with_clock(config, addr, clock)
        .await
        .map_err(|e: StartError| anyhow::anyhow!(e))?;
    state.hot.spawn_maintenance(state.bus.clone());
    let keep_alive = match state.config.keep_alive_secs {
        0 => actix_web::http::KeepAlive::Disabled,
        secs => actix_web::http::KeepAlive::Timeout(std::time::Duration::from_secs(secs)),
    };
    let data = web::Data::new(state.clone());
    let mut server = HttpServer::new(move || {
        let app = App::new()
            .app_data(data.clone())
            .app_data(json_config())
            .app_data(query_config())
            // Outermost last: the edge first (the path in normal form, the split between the
            // public and the metrics listener, host routing so every later step sees
            // `/t/{tenant}`, security headers), then the access log with the request's span,
            // then CORS for the protocol endpoints (so a browser can read even a 429), then
            // rate limiting.
            .wrap(from_fn(crate::ratelimit::enforce))
            .wrap(from_fn(crate::cors::handle))
            .wrap(from_fn(access_log));
        // Test builds record every JSON answer for the OpenAPI check.
        #[cfg(feature = "wire-capture")]
        let app = app.wrap(from_fn(crate::capture::record));
        let mut app = app.wrap(from_fn(move |req, next| edge(metrics_addr, req, next)));
        for mount in &mounts {
            app = app.configure(*mount);
        }
        // The router tries patterns in registration order: the services' (the token and JWKS
        // routes first) before the probes', which no other pattern can match.
        app.configure(crate::health::configure)
            .default_service(web::to(not_found))
    })
    .keep_alive(keep_alive)
    .listen(listener)?
    .shutdown_timeout(10);
    if let Some(l) = metrics_listener {
        server = server.listen(l)?;
    }
    if let Some(n) = state.config.http_workers {
        server = server.workers(n);
    }
    Ok(Started {
        addr,
        metrics_addr,
        state,
        server: server.run(),
        generated_operator_token: generated,
    })
}

/// The outermost middleware, in this order:
///
/// 1. It puts the request path in normal form (RFC 3986 §6.2.2: `%72oles` is `roles`), so that
///    rate limiting, the System Log and everything else that reads the path see the segments
///    the router matched.
/// 2. It keeps the two listeners apart: the metrics listener answers `/metrics` and nothing
///    else; the public listener answers everything but `/metrics` (which names every tenant
///    and is for the operator's Prometheus only).
/// 3. It routes `{tenant}.{base_domain}` hosts to `/t/{tenant}/…`
///    ([`crate::tenant::route_by_host`]), so every later step sees `/t/{tenant}`.
/// 4. It adds the headers every response carries: `X-Content-Type-Options: nosniff`, and
///    `Strict-Transport-Security` when the public URL is https (RFC 6797; browsers ignore it
///    over http).
///
/// One middleware rather than three: each `from_fn` layer boxes the request's future and
/// calls the next through a `dyn` service, on every request.
async fn edge(
    metrics_addr: Option<SocketAddr>,
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    use actix_web::http::header::{self, HeaderValue};
    if let Some(path) = tessera_domain::urls::normal_path(req.uri().path()) {
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(uri) = rebuilt.parse::<actix_web::http::Uri>() {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.public_url.starts_with("https://"));
    let on_metrics_listener = Some(req.app_config().local_addr()) == metrics_addr;
    let asks_metrics = req.path() == crate::health::METRICS_PATH;
    let mut res = if on_metrics_listener == asks_metrics {
        crate::tenant::route_by_host(&mut req);
        next.call(req).await?.map_into_left_body()
    } else {
        let (http, _) = req.into_parts();
        let res = not_found(http.clone()).await;
        ServiceResponse::new(http, res).map_into_right_body()
    };
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    Ok(res)
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError as _;
    ApiError::not_found(req.path(), "Resource").error_response()
}

/// One structured line per request: method, route pattern, status, latency. The query string
/// is never logged (it may carry codes or tokens). When traces are exported, the request runs
/// inside its span ([`crate::telemetry::request_span`]). A route registered through
/// [`crate::routes`] names itself ([`RouteLabel`]); anything else (the default service's 404) is
/// named by matching its path again.
async fn access_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::Instrument as _;
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let res = match crate::telemetry::request_span(&req) {
        Some(span) => {
            let res = next.call(req).instrument(span.clone()).await?;
            span.record("http.response.status_code", res.status().as_u16());
            res
        }
        None => next.call(req).await?,
    };
    let status = res.status();
    let seconds = started.elapsed().as_secs_f64();
    let request = res.request();
    let unlabelled;
    let route = match request.app_data::<RouteLabel>() {
        Some(label) => label.record(request, &method, status, seconds),
        None => {
            unlabelled = request
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into());
            let m = tessera_core::metrics::metrics();
            m.http_requests
                .with_label_values(&[unlabelled.as_str(), method.as_str(), status.as_str()])
                .inc();
            m.http_duration
                .with_label_values(&[unlabelled.as_str()])
                .observe(seconds);
            unlabelled.as_str()
        }
    };
    tracing::info!(
        target: "tessera::http",
        method = method.as_str(),
        route,
        status = status.as_u16(),
        latency_ms = seconds * 1000.0,
        "request"
    );
    Ok(res)
}
