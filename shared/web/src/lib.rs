//! HTTP plumbing shared by every Tessera service: extractors, middleware, error rendering and
//! the server runner. The application itself (state, configuration, commits, revocation, the
//! System Log writer, the hook client) is `tessera_core`, which knows nothing of HTTP.
//!
//! * [`error`]: Okta's management-API error body, the one conversion point for `/api/v1`.
//! * [`client`]: who a request comes from (address behind trusted proxies, System Log origin).
//! * [`cors`]: cross-origin calls to the protocol endpoints from trusted origins.
//! * [`routes`]: management routes with their permission guards.
//! * [`tenant`]: tenant resolution (`/t/{tenant}/…` or `{tenant}.{base domain}`) and the SSWS
//!   and operator authentication extractors.
//! * [`paging`]: `limit`/`after` and the `Link` header.
//! * [`health`]: `/healthz` and `/readyz`.
//! * [`telemetry`]: structured logging.

#[cfg(feature = "wire-capture")]
pub mod capture;
pub mod client;
pub mod cors;
pub mod error;
pub mod health;
pub mod paging;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod telemetry;
pub mod tenant;

pub use error::{ApiCode, ApiError};
