//! The token service: authorize, token, userinfo, keys, discovery, logout and hosted sign-in
//! under `{org}/oauth2/…` (DESIGN "Four services").
//!
//! The foundation mounts only the operational endpoints every service shares (`/healthz`,
//! `/readyz`, in `tessera-web`); the protocol endpoints are built by the token-issuance issue
//! on top of the hot-state actors, and mount here.

use actix_web::web;

/// Mounts the token service's routes.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
