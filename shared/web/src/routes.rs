//! Management routes with their permission declared where they are registered.
//!
//! Every route of the management API is added through [`Api`], which attaches the route's
//! [`Guard`] (the resource it guards and the principals a change acts on) to the route itself.
//! The [`Admin`](crate::tenant::Admin) extractor reads the guard of the route that actually
//! matched, so the decision never depends on how the request spelled its path
//! (percent-encoding, `//`, dot segments, case): a path either matches a route, and gets that
//! route's check, or matches nothing. A route registered without a guard is refused to
//! everyone, so a forgotten declaration fails closed.
//!
//! The same registration code can run in recording mode ([`Api::recording`]) to list every
//! route with its guard, which the test suite uses to try each one.

use actix_web::dev::HttpServiceFactory;
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, guard, web};
use tessera_domain::admin_roles::Guard;

/// One registered management route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    /// The pattern below the scope it is mounted in, e.g. `/users/{id}/roles`.
    pub pattern: String,
    pub guard: Guard,
}

/// Registers guarded routes into a `ServiceConfig`, or only records them.
pub struct Api<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    recorded: Vec<RouteSpec>,
}

impl<'a> Api<'a> {
    /// Registers into `cfg`.
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Self {
            cfg: Some(cfg),
            recorded: Vec::new(),
        }
    }

    /// Records only: [`Api::into_specs`] then lists what would have been registered.
    pub fn recording() -> Self {
        Self {
            cfg: None,
            recorded: Vec::new(),
        }
    }

    pub fn into_specs(self) -> Vec<RouteSpec> {
        self.recorded
    }

    /// A route for `method` at `pattern`, guarded by `guard`.
    pub fn route<F, Args>(
        &mut self,
        method: Method,
        pattern: &str,
        guard: Guard,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.service(resource(method.clone(), pattern, guard, handler));
        }
        self.recorded.push(RouteSpec {
            method,
            pattern: pattern.to_owned(),
            guard,
        });
        self
    }

    pub fn get<F, Args>(&mut self, pattern: &str, guard: Guard, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::GET, pattern, guard, handler)
    }

    pub fn post<F, Args>(&mut self, pattern: &str, guard: Guard, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::POST, pattern, guard, handler)
    }

    pub fn put<F, Args>(&mut self, pattern: &str, guard: Guard, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::PUT, pattern, guard, handler)
    }

    pub fn delete<F, Args>(&mut self, pattern: &str, guard: Guard, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(Method::DELETE, pattern, guard, handler)
    }
}

/// A resource that answers only `method` (others fall through to the next resource with the
/// same pattern, as `ServiceConfig::route` does) and carries `guard` as its route data.
fn resource<F, Args>(
    method: Method,
    pattern: &str,
    guard: Guard,
    handler: F,
) -> impl HttpServiceFactory + 'static
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(pattern)
        .guard(guard::Method(method.clone()))
        .app_data(RouteGuard(guard))
        .route(web::method(method).to(handler))
}

/// The guard of the route that matched, in the route's own data.
#[derive(Debug, Clone, Copy)]
pub struct RouteGuard(pub Guard);
