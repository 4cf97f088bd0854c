//! The key-rotation service (DESIGN "Tokens and keys", OKTA-REFERENCE §7).
//!
//! * [`lifecycle`]: applying lifecycle changes (decided by the pure
//!   `tessera_domain::rotation`) to a server's keys — shared with the management API's
//!   `keyRotate` and server creation.
//! * [`scheduler`]: the scheduled job. Every replica runs it; exactly one at a time does work,
//!   holding a lease in the short-lived store and writing under a fencing token.

pub mod lifecycle;
pub mod rewrap;
pub mod scheduler;

use actix_web::web;

/// Mounts the keys service's routes: it serves only the shared operational endpoints; its
/// work is the background job started by [`scheduler::spawn`].
pub fn configure(_cfg: &mut web::ServiceConfig) {}
