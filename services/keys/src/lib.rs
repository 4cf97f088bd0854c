//! The key-rotation service: signing keys rotate on a schedule (Okta rotates every 90 days,
//! <https://developer.okta.com/docs/concepts/key-rotation/>).
//!
//! * [`scheduler`]: the scheduled job. Every replica runs it; exactly one at a time does work,
//!   holding a lease in the short-lived store and writing under a fencing token. The lifecycle
//!   changes it applies (decided by the pure `tessera_domain::rotation`) are
//!   `tessera_core::keys`, which the management API's `keyRotate` and server creation share.
//! * [`rewrap`]: re-sealing every stored secret under a new master key.

pub mod rewrap;
pub mod scheduler;

use actix_web::web;

/// Mounts the keys service's routes: it serves only the shared operational endpoints; its
/// work is the background job started by [`scheduler::spawn`].
pub fn configure(_cfg: &mut web::ServiceConfig) {}
