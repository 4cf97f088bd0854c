//! HTTP plumbing shared by every Tessera service.
//!
//! * [`config`]: typed configuration from a TOML file and `TESSERA_*` variables, validated at
//!   start-up with an error that names the bad setting.
//! * [`state`]: the application state each service receives (stores, bus, clock, random).
//! * [`error`]: Okta's management-API error body, the one conversion point for `/api/v1`.
//! * [`tenant`]: tenant resolution (`/t/{tenant}/…` or `{tenant}.{base domain}`) and the SSWS
//!   and operator authentication extractors.
//! * [`paging`]: `limit`/`after` and the `Link` header.
//! * [`health`]: `/healthz` and `/readyz`.
//! * [`telemetry`]: structured logging.

pub mod client;
pub mod config;
pub mod error;
pub mod health;
pub mod hooks;
pub mod metrics;
pub mod paging;
pub mod ratelimit;
pub mod revoke;
pub mod routes;
pub mod server;
pub mod state;
pub mod syslog;
pub mod telemetry;
pub mod tenant;

pub use config::Config;
pub use error::ApiError;
pub use state::AppState;
