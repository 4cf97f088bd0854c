//! The key-rotation service: rotates authorization servers' signing keys on a schedule, one
//! leader at a time under a lease in the short-lived store (DESIGN "Tokens and keys").
//!
//! The foundation provides the lease primitive (`tessera_ephemeral::ShortLived::acquire_lease`)
//! and the `signing_keys` table; the scheduler is built by the key-lifecycle issue.

use actix_web::web;

/// Mounts the keys service's routes (it serves only the shared operational endpoints).
pub fn configure(_cfg: &mut web::ServiceConfig) {}
