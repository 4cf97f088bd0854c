//! The admin service: the operator's tenant API (`/operator/v1`) and the Okta-compatible
//! management API (`{org}/api/v1`). Every write validates fully before it changes anything,
//! commits, bumps the tenant's config version and announces the change on the config bus.

pub mod advice;
mod api_tokens;
mod apps;
mod associated_servers;
mod authz_servers;
mod claims;
mod dcr;
mod grants;
mod groups;
mod hooks;
pub mod keys;
mod logs;
mod operator;
mod policies;
mod preview;
pub mod provision;
mod role_targets;
mod roles;
mod scopes;
mod support;
mod tokens;
mod trusted_origins;
mod users;

use actix_web::middleware::from_fn;
use actix_web::web;
use tessera_web::routes::{Api, RouteSpec};

/// The management API below `{org}/api/v1`, each route with its permission guard.
fn api_v1(api: &mut Api) {
    logs::routes(api);
    authz_servers::routes(api);
    associated_servers::routes(api);
    keys::routes(api);
    scopes::routes(api);
    claims::routes(api);
    policies::routes(api);
    apps::routes(api);
    users::routes(api);
    groups::routes(api);
    api_tokens::routes(api);
    tokens::routes(api);
    grants::routes(api);
    grants::app_routes(api);
    roles::routes(api);
    role_targets::routes(api);
    hooks::routes(api);
    trusted_origins::routes(api);
}

/// Mounts the operator and management APIs.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let strict_json = || from_fn(tessera_web::error::strict_json);
    cfg.service(
        web::scope("/operator/v1")
            .wrap(strict_json())
            .configure(operator::routes),
    )
    .service(
        web::scope("/t/{tenant}/oauth2/v1/clients")
            .wrap(strict_json())
            .configure(|c| {
                let mut api = Api::new(c);
                dcr::routes(&mut api);
                roles::client_routes(&mut api);
            }),
    )
    .service(
        web::scope("/t/{tenant}/api/v1")
            .wrap(strict_json())
            .configure(|c| api_v1(&mut Api::new(c))),
    );
}

/// Every management route with its guard, patterns relative to the org URL
/// (`/api/v1/users/{id}/roles`): what the permission tests walk through.
pub fn management_routes() -> Vec<RouteSpec> {
    let mut v1 = Api::recording();
    api_v1(&mut v1);
    let mut clients = Api::recording();
    dcr::routes(&mut clients);
    roles::client_routes(&mut clients);
    let prefixed = |prefix: &str, specs: Vec<RouteSpec>| {
        specs.into_iter().map({
            let prefix = prefix.to_owned();
            move |r| RouteSpec {
                pattern: format!("{prefix}{}", r.pattern),
                ..r
            }
        })
    };
    prefixed("/api/v1", v1.into_specs())
        .chain(prefixed("/oauth2/v1/clients", clients.into_specs()))
        .collect()
}
