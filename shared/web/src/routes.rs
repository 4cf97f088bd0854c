//! Routes as they are registered: the management API's with their permission declared where
//! they are registered ([`Api`]), and the rest ([`Routes`]); each resource carries its
//! [`RouteLabel`], which names it in the access log and the request metrics.
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

use std::cell::{OnceCell, RefCell};

use actix_web::http::{Method, StatusCode};
use actix_web::{FromRequest, Handler, HttpRequest, Responder, guard, web};
use prometheus::{Histogram, IntCounter};
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
///
/// Routes registered one after another with the same pattern (`GET`, `PUT` and `DELETE` of
/// `/apps/{id}`) share one actix resource, so the router compiles that pattern's regex once:
/// each compiled pattern costs 8–45 kB per HTTP worker, and the management API has hundreds.
/// Only consecutive routes are merged, so the order in which patterns are tried is exactly
/// the order of registration. The resource answers only the methods registered for it; any
/// other method falls through to the next resource, as separate per-method resources did.
pub struct Api<'a> {
    cfg: Option<&'a mut web::ServiceConfig>,
    /// The resource being built for the latest pattern, registered when the pattern changes
    /// or the `Api` is dropped.
    pending: Option<Pending>,
    recorded: Vec<RouteSpec>,
}

struct Pending {
    pattern: String,
    resource: actix_web::Resource,
    guards: Vec<(Method, Guard)>,
}

impl<'a> Api<'a> {
    /// Registers into `cfg`.
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Self {
            cfg: Some(cfg),
            pending: None,
            recorded: Vec::new(),
        }
    }

    /// Records only: [`Api::into_specs`] then lists what would have been registered.
    pub fn recording() -> Self {
        Self {
            cfg: None,
            pending: None,
            recorded: Vec::new(),
        }
    }

    pub fn into_specs(mut self) -> Vec<RouteSpec> {
        std::mem::take(&mut self.recorded)
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
        if self.cfg.is_some() {
            if self.pending.as_ref().is_some_and(|p| p.pattern != pattern) {
                self.register_pending();
            }
            let pending = self.pending.get_or_insert_with(|| Pending {
                pattern: pattern.to_owned(),
                resource: web::resource(pattern),
                guards: Vec::new(),
            });
            assert!(
                !pending.guards.iter().any(|(m, _)| *m == method),
                "{method} {pattern} registered twice in a row"
            );
            pending.guards.push((method.clone(), guard));
            let resource = std::mem::replace(&mut pending.resource, web::resource(""));
            pending.resource = resource.route(web::method(method.clone()).to(handler));
        }
        self.recorded.push(RouteSpec {
            method,
            pattern: pattern.to_owned(),
            guard,
        });
        self
    }

    /// Registers the resource being built: it matches only its routes' methods and carries
    /// their guards as its data.
    fn register_pending(&mut self) {
        let (Some(cfg), Some(p)) = (self.cfg.as_deref_mut(), self.pending.take()) else {
            return;
        };
        let mut methods = p.guards.iter().map(|(m, _)| guard::Method(m.clone()));
        let Some(first) = methods.next() else {
            return;
        };
        let any = methods.fold(guard::Any(first), |any, m| any.or(m));
        cfg.service(
            p.resource
                .guard(any)
                .app_data(RouteGuards(p.guards.into_boxed_slice()))
                .app_data(RouteLabel::default()),
        );
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

impl Drop for Api<'_> {
    fn drop(&mut self) {
        self.register_pending();
    }
}

/// Registers routes that need no permission guard (the protocol endpoints, health, the
/// operator API), each as its own resource carrying a [`RouteLabel`]. A resource answers only
/// the methods registered for it; any other method falls through to the next resource, as
/// with `ServiceConfig::route`. Resources are tried in registration order.
pub struct Routes<'a> {
    cfg: &'a mut web::ServiceConfig,
}

impl<'a> Routes<'a> {
    pub fn new(cfg: &'a mut web::ServiceConfig) -> Self {
        Self { cfg }
    }

    pub fn get<F, Args>(&mut self, pattern: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.one(Method::GET, pattern, handler)
    }

    pub fn post<F, Args>(&mut self, pattern: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.one(Method::POST, pattern, handler)
    }

    pub fn delete<F, Args>(&mut self, pattern: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.one(Method::DELETE, pattern, handler)
    }

    /// One resource for the `GET` and the `POST` route of `pattern`: the router compiles the
    /// pattern once instead of twice.
    pub fn get_and_post<F, Args, G, GArgs>(&mut self, pattern: &str, get: F, post: G) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
        G: Handler<GArgs>,
        GArgs: FromRequest + 'static,
        G::Output: Responder + 'static,
    {
        self.cfg.service(
            labelled(pattern)
                .guard(guard::Any(guard::Get()).or(guard::Post()))
                .route(web::get().to(get))
                .route(web::post().to(post)),
        );
        self
    }

    fn one<F, Args>(&mut self, method: Method, pattern: &str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.cfg.service(
            labelled(pattern)
                .guard(guard::Method(method.clone()))
                .route(web::method(method).to(handler)),
        );
        self
    }
}

/// A resource for `pattern` carrying a [`RouteLabel`].
fn labelled(pattern: &str) -> actix_web::Resource {
    web::resource(pattern).app_data(RouteLabel::default())
}

/// What the access log and the request metrics call the route that answered, kept in the data
/// of the route's resource (one per resource and HTTP worker, as the route table is).
///
/// `HttpRequest::match_pattern` walks the route table again, trying each pattern's regex in
/// turn, and Prometheus' `with_label_values` hashes the label values to find the series: both
/// per request. The label does each once: on the first request the resource answers it takes
/// the pattern from `match_pattern` and resolves the latency series, and keeps the request
/// counter of each method and status it has answered with.
#[derive(Default)]
pub struct RouteLabel {
    label: OnceCell<Label>,
}

struct Label {
    pattern: Box<str>,
    duration: Histogram,
    /// At most [`COUNTERS`]; beyond them (a route answering with many statuses) a counter is
    /// looked up by its label values per request, as without a label.
    requests: RefCell<Vec<(Method, StatusCode, IntCounter)>>,
}

const COUNTERS: usize = 16;

impl RouteLabel {
    /// The route's pattern, after counting the request and observing its latency.
    pub fn record(
        &self,
        req: &HttpRequest,
        method: &Method,
        status: StatusCode,
        seconds: f64,
    ) -> &str {
        let m = tessera_core::metrics::metrics();
        let label = self.label.get_or_init(|| {
            let pattern = req.match_pattern().unwrap_or_else(|| "unmatched".into());
            Label {
                duration: m.http_duration.with_label_values(&[pattern.as_str()]),
                pattern: pattern.into_boxed_str(),
                requests: RefCell::new(Vec::new()),
            }
        });
        debug_assert_eq!(
            req.match_pattern().as_deref(),
            Some(&*label.pattern),
            "a resource's label names the pattern that matched"
        );
        label.duration.observe(seconds);
        let mut requests = label.requests.borrow_mut();
        match requests
            .iter()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some((_, _, counter)) => counter.inc(),
            None => {
                let counter = m.http_requests.with_label_values(&[
                    &*label.pattern,
                    method.as_str(),
                    status.as_str(),
                ]);
                counter.inc();
                if requests.len() < COUNTERS {
                    requests.push((method.clone(), status, counter));
                }
            }
        }
        &label.pattern
    }
}

/// The guards of the routes of the resource that matched, one per method, in the resource's
/// own data.
#[derive(Debug, Clone)]
pub struct RouteGuards(Box<[(Method, Guard)]>);

impl RouteGuards {
    /// The guard of the route for `method`, when the resource has one.
    pub fn of(&self, method: &Method) -> Option<Guard> {
        self.0.iter().find(|(m, _)| m == method).map(|(_, g)| *g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpRequest, HttpResponse, test};
    use tessera_domain::admin_roles::Resource;

    /// Answers with the resource of the guard the matched route carries for this method.
    async fn which(req: HttpRequest) -> HttpResponse {
        let guard = req
            .app_data::<RouteGuards>()
            .and_then(|g| g.of(req.method()));
        HttpResponse::Ok().body(format!("{:?}", guard.map(|g| g.resource)))
    }

    #[actix_web::test]
    async fn merged_routes_keep_each_methods_guard_and_let_other_methods_fall_through() {
        let app = test::init_service(
            App::new()
                .configure(|cfg| {
                    let mut api = Api::new(cfg);
                    api.get("/x/{id}", Guard::of(Resource::Apps), which)
                        .delete("/x/{id}", Guard::of(Resource::Users), which)
                        .get("/y", Guard::of(Resource::Groups), which)
                        // Not next to the others: its own resource, tried after `/y`.
                        .put("/x/{id}", Guard::of(Resource::Roles), which);
                })
                .default_service(web::to(HttpResponse::NotFound)),
        )
        .await;
        for (method, path, status, body) in [
            (Method::GET, "/x/1", 200, "Some(Apps)"),
            (Method::DELETE, "/x/1", 200, "Some(Users)"),
            (Method::PUT, "/x/1", 200, "Some(Roles)"),
            (Method::GET, "/y", 200, "Some(Groups)"),
            (Method::PATCH, "/x/1", 404, ""),
            (Method::POST, "/y", 404, ""),
        ] {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri(path)
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), status, "{method} {path}");
            let got = test::read_body(res).await;
            assert_eq!(got, body.as_bytes(), "{method} {path}");
        }
        assert_eq!(
            Api::recording()
                .get("/x/{id}", Guard::of(Resource::Apps), which)
                .delete("/x/{id}", Guard::of(Resource::Users), which)
                .recorded
                .len(),
            2,
            "every route is recorded, merged or not"
        );
    }

    /// Answers with the pattern the resource's label records.
    async fn labelled_as(req: HttpRequest) -> HttpResponse {
        let label = req
            .app_data::<RouteLabel>()
            .expect("every resource is labelled");
        let pattern = label.record(&req, req.method(), actix_web::http::StatusCode::OK, 0.0);
        HttpResponse::Ok().body(pattern.to_owned())
    }

    #[actix_web::test]
    async fn routes_answer_their_methods_name_their_pattern_and_let_other_methods_fall_through() {
        let app = test::init_service(
            App::new()
                .configure(|cfg| {
                    Routes::new(cfg)
                        .post("/t/{tenant}/token", labelled_as)
                        .get_and_post("/t/{tenant}/login", labelled_as, labelled_as)
                        .get("/t/{tenant}/{any}", labelled_as);
                })
                .default_service(web::to(HttpResponse::NotFound)),
        )
        .await;
        for (method, path, status, body) in [
            (Method::POST, "/t/a/token", 200, "/t/{tenant}/token"),
            // Not the token route's method: the next pattern that matches answers.
            (Method::GET, "/t/a/token", 200, "/t/{tenant}/{any}"),
            (Method::GET, "/t/b/login", 200, "/t/{tenant}/login"),
            (Method::POST, "/t/b/login", 200, "/t/{tenant}/login"),
            (Method::DELETE, "/t/b/login", 404, ""),
            (Method::PUT, "/t/a/token", 404, ""),
        ] {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri(path)
                .to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), status, "{method} {path}");
            let got = test::read_body(res).await;
            assert_eq!(got, body.as_bytes(), "{method} {path}");
        }
    }
}
