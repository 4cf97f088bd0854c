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

use actix_web::{guard, web};

/// Mounts the token service's routes. Routes are registered one by one (not as a
/// `/t/{tenant}` scope): an actix scope that matches a prefix does not fall through to the
/// other services' routes under the same tenant prefix.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let org = "/t/{tenant}";
    // The router tries patterns in this order: the busiest endpoints first.
    cfg.route(
        &format!("{org}/oauth2/{{as}}/v1/token"),
        web::post().to(token::token),
    )
    .route(
        &format!("{org}/oauth2/{{as}}/v1/keys"),
        web::get().to(metadata::keys),
    )
    .route(
        &format!("{org}/oauth2/{{as}}/.well-known/openid-configuration"),
        web::get().to(metadata::openid_configuration),
    )
    .route(
        &format!("{org}/oauth2/{{as}}/.well-known/oauth-authorization-server"),
        web::get().to(metadata::oauth_metadata),
    )
    .route(
        &format!("{org}/.well-known/oauth-authorization-server/oauth2/{{as}}"),
        web::get().to(metadata::oauth_metadata),
    )
    .route(
        &format!("{org}/oauth2/{{as}}/v1/par"),
        web::post().to(par::par),
    )
    .route(
        &format!("{org}/oauth2/{{as}}/v1/device/authorize"),
        web::post().to(device::authorize),
    )
    .service(get_and_post(
        &format!("{org}/oauth2/{{as}}/v1/userinfo"),
        web::get().to(userinfo::userinfo),
        web::post().to(userinfo::userinfo),
    ))
    .service(get_and_post(
        &format!("{org}/oauth2/{{as}}/v1/authorize"),
        web::get().to(authorize::authorize),
        web::post().to(authorize::authorize),
    ))
    .service(get_and_post(
        &format!("{org}/oauth2/{{as}}/v1/logout"),
        web::get().to(logout::logout),
        web::post().to(logout::logout),
    ))
    // The org authorization server (Okta's org authorization server, <https://developer.okta.com/docs/concepts/auth-servers/>): issuer `{org}`, access tokens for the
    // management API.
    .route(
        &format!("{org}/.well-known/openid-configuration"),
        web::get().to(metadata::openid_configuration),
    )
    .route(
        &format!("{org}/.well-known/oauth-authorization-server"),
        web::get().to(metadata::oauth_metadata),
    )
    .route(
        &format!("{org}/oauth2/v1/keys"),
        web::get().to(metadata::keys),
    )
    .route(
        &format!("{org}/oauth2/v1/token"),
        web::post().to(token::token),
    )
    .service(get_and_post(
        &format!("{org}/oauth2/v1/authorize"),
        web::get().to(authorize::authorize),
        web::post().to(authorize::authorize),
    ))
    .route(&format!("{org}/oauth2/v1/par"), web::post().to(par::par))
    .service(get_and_post(
        &format!("{org}/oauth2/v1/userinfo"),
        web::get().to(userinfo::userinfo),
        web::post().to(userinfo::userinfo),
    ))
    .route(&format!("{org}/consent"), web::post().to(consent::decide))
    .service(get_and_post(
        &format!("{org}/activate"),
        web::get().to(device::activate),
        web::post().to(device::answer),
    ))
    .service(get_and_post(
        &format!("{org}/login"),
        web::get().to(login::show),
        web::post().to(login::submit),
    ));
}

/// One resource for the `GET` and the `POST` route of `path`: the router compiles the
/// pattern once instead of twice. Other methods fall through to the next route, as with two
/// `route` calls.
fn get_and_post(path: &str, get: actix_web::Route, post: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .guard(guard::Any(guard::Get()).or(guard::Post()))
        .route(get)
        .route(post)
}
