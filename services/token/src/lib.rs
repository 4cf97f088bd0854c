//! The token service: discovery, JWKS and the token endpoint of every
//! custom authorization server, under `{org}/oauth2/{as}`.
//!
//! Everything on the token path reads the hot state (`tessera_hot`). The database is read only
//! for a user-bound grant's user and groups (password — where an argon2id check dominates —
//! authorization code, device code, token exchange, JWT bearer) and written only to store a
//! refresh token, which must survive a restart; `client_credentials` touches neither.

mod authorize;
mod claims;
mod code;
mod consent;
mod device;
mod error;
mod events;
mod grants;
pub use grants::preview;
mod issue;
mod login;
mod logout;
mod metadata;
mod mint;
mod pages;
mod par;
mod reply;
mod request_object;
mod session;
mod sign_in;
mod token;
mod userinfo;

use actix_web::web;
use tessera_web::routes::Routes;

/// Mounts the token service's routes. Routes are registered one by one (not as a
/// `/t/{tenant}` scope): an actix scope that matches a prefix does not fall through to the
/// other services' routes under the same tenant prefix.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let org = "/t/{tenant}";
    // The router tries patterns in this order: the busiest endpoints first.
    Routes::new(cfg)
        .post(&format!("{org}/oauth2/{{as}}/v1/token"), token::token)
        .get(&format!("{org}/oauth2/{{as}}/v1/keys"), metadata::keys)
        .get(
            &format!("{org}/oauth2/{{as}}/.well-known/openid-configuration"),
            metadata::openid_configuration,
        )
        .get(
            &format!("{org}/oauth2/{{as}}/.well-known/oauth-authorization-server"),
            metadata::oauth_metadata,
        )
        .get(
            &format!("{org}/.well-known/oauth-authorization-server/oauth2/{{as}}"),
            metadata::oauth_metadata,
        )
        .post(&format!("{org}/oauth2/{{as}}/v1/par"), par::par)
        .post(
            &format!("{org}/oauth2/{{as}}/v1/device/authorize"),
            device::authorize,
        )
        .get_and_post(
            &format!("{org}/oauth2/{{as}}/v1/userinfo"),
            userinfo::userinfo,
            userinfo::userinfo,
        )
        .get_and_post(
            &format!("{org}/oauth2/{{as}}/v1/authorize"),
            authorize::authorize,
            authorize::authorize,
        )
        .get_and_post(
            &format!("{org}/oauth2/{{as}}/v1/logout"),
            logout::logout,
            logout::logout,
        )
        // The org authorization server (Okta's org authorization server,
        // <https://developer.okta.com/docs/concepts/auth-servers/>): issuer `{org}`, access
        // tokens for the management API.
        .get(
            &format!("{org}/.well-known/openid-configuration"),
            metadata::openid_configuration,
        )
        .get(
            &format!("{org}/.well-known/oauth-authorization-server"),
            metadata::oauth_metadata,
        )
        .get(&format!("{org}/oauth2/v1/keys"), metadata::keys)
        .post(&format!("{org}/oauth2/v1/token"), token::token)
        .get_and_post(
            &format!("{org}/oauth2/v1/authorize"),
            authorize::authorize,
            authorize::authorize,
        )
        .post(&format!("{org}/oauth2/v1/par"), par::par)
        .get_and_post(
            &format!("{org}/oauth2/v1/userinfo"),
            userinfo::userinfo,
            userinfo::userinfo,
        )
        .post(&format!("{org}/consent"), consent::decide)
        .get_and_post(&format!("{org}/activate"), device::activate, device::answer)
        .get_and_post(&format!("{org}/login"), login::show, login::submit);
}
