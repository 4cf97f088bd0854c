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
