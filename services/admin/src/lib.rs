//! The admin service: the operator's tenant API (`/operator/v1`) and the Okta-compatible
//! management API (`{org}/api/v1`). Every write validates fully before it changes anything,
//! commits, bumps the tenant's config version and announces the change on the config bus.

mod api_tokens;
mod apps;
mod authz_servers;
mod claims;
mod grants;
mod groups;
mod hooks;
pub mod keys;
mod logs;
mod operator;
mod policies;
pub mod provision;
mod roles;
mod scopes;
mod support;
mod tokens;
mod users;

use actix_web::middleware::from_fn;
use actix_web::web;

/// Mounts the operator and management APIs.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/operator/v1").configure(operator::routes))
        .service(
            web::scope("/t/{tenant}/oauth2/v1/clients")
                .wrap(from_fn(logs::record_changes))
                .configure(roles::client_routes),
        )
        .service(
            web::scope("/t/{tenant}/api/v1")
                .wrap(from_fn(logs::record_changes))
                .configure(logs::routes)
                .configure(authz_servers::routes)
                .configure(keys::routes)
                .configure(scopes::routes)
                .configure(claims::routes)
                .configure(policies::routes)
                .configure(apps::routes)
                .configure(users::routes)
                .configure(groups::routes)
                .configure(api_tokens::routes)
                .configure(tokens::routes)
                .configure(grants::routes)
                .configure(grants::app_routes)
                .configure(roles::routes)
                .configure(hooks::routes),
        );
}
