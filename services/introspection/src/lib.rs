//! The introspection service: RFC 7662 introspection and RFC 7009 revocation under
//! `{org}/oauth2/{as}/v1/introspect|revoke` (DESIGN "Four services").
//!
//! The foundation mounts only the shared operational endpoints; the endpoints themselves are
//! built by the introspection issue and mount here.

use actix_web::web;

/// Mounts the introspection service's routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
