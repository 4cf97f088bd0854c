//! The introspection service: RFC 7662 introspection and RFC 7009
//! revocation with Okta's semantics (Okta's `/introspect` reference), under
//! `{org}/oauth2/{as}/v1/introspect|revoke`, and the org authorization server's under
//! `{org}/oauth2/v1/introspect|revoke`.
//!
//! Access and ID tokens are checked locally against the server's published keys (hot state),
//! then against the revocation markers in the short-lived store (a denylisted `jti`, or an
//! epoch recorded when a tenant, server, client, user or assignment was deactivated). Refresh
//! tokens are looked up by hash in the durable store. When the short-lived store cannot be read
//! the answer is 503 `temporarily_unavailable`, never `active: true` (fail closed).

mod cache;
mod handlers;

use actix_web::web;
use tessera_web::routes::Routes;

/// Mounts the introspection service's routes (one by one: see `tessera_token::configure`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    Routes::new(cfg)
        .post(
            "/t/{tenant}/oauth2/{as}/v1/introspect",
            handlers::introspect,
        )
        .post("/t/{tenant}/oauth2/{as}/v1/revoke", handlers::revoke)
        // The org authorization server's.
        .post("/t/{tenant}/oauth2/v1/introspect", handlers::introspect)
        .post("/t/{tenant}/oauth2/v1/revoke", handlers::revoke);
}
