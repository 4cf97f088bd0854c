//! Structured logging: JSON lines by default (one object per event, with span fields), or a
//! human-readable format for local work. sqlx's per-query logs are kept at `warn`.

use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// Installs the global subscriber once; later calls (tests start several servers) are no-ops.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(format!("{},sqlx=warn,sea_orm=warn", config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "pretty" {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
}

/// The W3C trace id of a request's `traceparent` header (`00-{trace id}-{span id}-{flags}`),
/// when it carries a valid one.
pub fn trace_id_of(req: &actix_web::HttpRequest) -> Option<String> {
    let value = req.headers().get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    let valid = trace.len() == 32
        && trace.bytes().all(|b| b.is_ascii_hexdigit())
        && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_ascii_lowercase())
}
