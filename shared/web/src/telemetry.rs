//! Observability plumbing: structured logs, and OpenTelemetry traces over OTLP.
//!
//! * Logs are JSON lines by default (one object per event), or human-readable for local work.
//!   Span fields are not copied into log lines, and no line carries a query string, a token
//!   or a secret. sqlx's per-query logs are kept at `warn`.
//! * When `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
//!   spans are exported over OTLP/HTTP with JSON bodies, in batches; `OTEL_SERVICE_NAME` names
//!   the service (default `tessera`). A request's span continues the trace of its W3C
//!   `traceparent` header.

use std::sync::OnceLock;

use actix_web::dev::ServiceRequest;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::FilterExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use tessera_core::config::Config;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

fn otlp_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
}

/// Installs the global subscriber once; later calls (tests start several servers) are no-ops.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(format!("{},sqlx=warn,sea_orm=warn", config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let pretty = match config.log_format.as_str() {
        "pretty" => true,
        "auto" => std::io::IsTerminal::is_terminal(&std::io::stderr()),
        _ => false,
    };
    let fmt = if pretty {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed()
    };
    let otel = if otlp_configured() {
        match exporter() {
            Ok(provider) => {
                let tracer = provider.tracer("tessera");
                let _ = PROVIDER.set(provider);
                opentelemetry::global::set_text_map_propagator(
                    opentelemetry_sdk::propagation::TraceContextPropagator::new(),
                );
                // Spans are exported at `info` whatever the log level: a quiet log must not
                // blind the traces.
                Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(EnvFilter::new(
                            "info,sqlx=warn,sea_orm=warn,hyper=warn,reqwest=warn,h2=warn",
                        )),
                )
            }
            Err(e) => {
                eprintln!("OpenTelemetry export disabled: {e}");
                None
            }
        }
    } else {
        None
    };
    // Log lines are events: the fmt layer takes no spans, so without an exporter a request's
    // spans cost nothing. (An absent `Option` layer would enable every span, so the two cases
    // are built apart.)
    let fmt = fmt.with_filter(filter.and(tracing_subscriber::filter::filter_fn(|m| m.is_event())));
    let _ = match otel {
        Some(otel) => tracing_subscriber::registry()
            .with(fmt)
            .with(otel)
            .try_init(),
        None => tracing_subscriber::registry().with(fmt).try_init(),
    };
}

fn exporter() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .build()?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "tessera".into());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build())
}

/// Exports the spans still buffered (at shutdown).
pub fn shutdown() {
    if let Some(p) = PROVIDER.get() {
        if let Err(e) = p.force_flush() {
            tracing::warn!(error = %e, "flushing traces failed");
        }
        let _ = p.shutdown();
    }
}

struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(actix_web::http::header::HeaderName::as_str)
            .collect()
    }
}

/// The request's span (`otel.kind = server`) when traces are exported, continuing the
/// caller's `traceparent`, named `{method} {route pattern}`. Its fields are the method, the
/// route pattern and (recorded by the caller) the status: never a path value or the query.
/// `None` without an exporter: a request then pays nothing for tracing.
pub fn request_span(req: &ServiceRequest) -> Option<tracing::Span> {
    PROVIDER.get()?;
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!(
        "HTTP request",
        otel.name = %format!("{} {route}", req.method()),
        otel.kind = "server",
        http.request.method = %req.method(),
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
    let _ = span.set_parent(parent);
    Some(span)
}

/// The trace id of the current request: the exported trace's when traces are exported, else
/// the one in the request's `traceparent` header, if valid.
pub fn trace_id_of(req: &actix_web::HttpRequest) -> Option<String> {
    if PROVIDER.get().is_some() {
        use opentelemetry::trace::TraceContextExt as _;
        let cx = tracing::Span::current().context();
        let id = cx.span().span_context().trace_id();
        if id != opentelemetry::trace::TraceId::INVALID {
            return Some(id.to_string());
        }
    }
    let value = req.headers().get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    let valid = trace.len() == 32
        && trace.bytes().all(|b| b.is_ascii_hexdigit())
        && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_ascii_lowercase())
}
