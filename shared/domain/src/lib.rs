//! Tessera's domain vocabulary, free of any web framework or storage engine.
//!
//! * [`clock`] and [`random`]: time and randomness are injected, so expiry,
//!   rotation and replay windows are deterministic in tests.
//! * [`ids`]: opaque identifiers with Okta-like prefixes (`aus`, `scp`, `0oa`, …).
//! * [`secrets`]: generation and keyed hashing of high-entropy secrets, argon2id for passwords.
//! * [`el`]: the Okta Expression Language subset used by claims, parsed into an AST.
//! * [`validate`]: field rules shared by the management API (names, URIs, lifetimes).
//! * [`timefmt`]: RFC 3339 UTC timestamps as Okta prints them.
//! * [`token_hook`]: the JSON-Patch commands of token inline hooks, applied all or nothing.
//! * [`org_scopes`]: the `okta.*` scopes of the org authorization server.
//! * [`origins`]: trusted origins, serialised as browsers send them in `Origin`.
//! * [`config`]: rules' conditions and actions and apps' OAuth settings, as the management API
//!   accepts them, the database stores them and the hot state loads them.
//! * [`admin_roles`]: the admin roles and which resources of the management API each may touch.

pub mod admin_roles;
pub mod claims_request;
pub mod clock;
pub mod config;
pub mod el;
pub mod el_eval;
pub mod form;
pub mod ids;
pub mod org_scopes;
pub mod origins;
pub mod policy;
pub mod random;
pub mod ratelimit;
pub mod rotation;
pub mod scim;
pub mod secrets;
pub mod syslog;
pub mod timefmt;
pub mod token_hook;
pub mod urls;
pub mod validate;

pub use clock::{Clock, SystemClock, TestClock};
pub use random::{Random, SystemRandom};
