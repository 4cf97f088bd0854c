//! Tessera's application core: the state every service shares and what the services do with
//! their stores, with no HTTP in it. The HTTP surfaces (`tessera-web`, `tessera-oauth` and the
//! services) call in here and render the results on their own wire.
//!
//! * [`config`]: typed configuration from a TOML file and `TESSERA_*` variables, validated at
//!   start-up with an error that names the bad setting.
//! * [`state`]: [`AppState`], the stores, bus, clock, random and hot state of a process, and
//!   [`AppState::commit`], the one way a configuration write is committed and announced.
//! * [`revocation`] and [`revoke`]: revoking tokens durably, and checking them.
//! * [`keys`]: applying signing-key lifecycle changes (for the admin and keys services).
//! * [`syslog`]: the System Log's events and their writer.
//! * [`hooks`]: the outbound client for inline hooks (through the SSRF guard).
//! * [`metrics`]: the process's Prometheus series.
//! * [`error`]: the core's error, converted to a wire error by each surface.

pub mod client_jwks;
pub mod config;
pub mod error;
pub mod health;
pub mod hooks;
pub mod keys;
mod log_export;
pub mod metrics;
pub mod preview;
pub mod revocation;
pub mod revoke;
pub mod spool;
pub mod state;
pub mod syslog;
pub mod usage;

pub use config::Config;
pub use error::{Error, Result};
pub use state::{AppState, Change};
