//! Cross-origin calls to the protocol endpoints (the Fetch standard's CORS protocol), for the
//! tenant's ACTIVE trusted origins with the `CORS` scope, as Okta serves them: the discovery
//! documents, `/keys`, `/token`, `/revoke`, `/introspect`, `/userinfo` and `/logout` of every
//! authorization server, the org server's included.
//!
//! A preflight (`OPTIONS` with `Access-Control-Request-Method`) from a trusted origin is answered
//! here, `204` with the exact origin, the methods and the request headers browsers send
//! (okta-auth-js sends `X-Okta-User-Agent-Extended` on every call, so every call is
//! preflighted); from any other origin it is refused (`403`) without CORS headers. An actual
//! request is served as usual; from a trusted origin its response carries
//! `Access-Control-Allow-Origin`. Every response of these endpoints carries `Vary: Origin`, so no
//! cache hands one origin's answer to another.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use tessera_core::AppState;
use tessera_domain::origins::ScopeType;

/// The methods the protocol endpoints answer.
const ALLOW_METHODS: &str = "GET, POST, OPTIONS";

/// The request headers a browser may send: what OAuth clients and okta-auth-js use.
const ALLOW_HEADERS: &str =
    "Accept, Authorization, Content-Type, DPoP, X-Okta-User-Agent-Extended, X-Requested-With";

/// Headers a script may read from the response.
const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce, Link";

/// How long a browser may cache a preflight answer (seconds).
const MAX_AGE: &str = "3600";

/// The tenant named by a protocol endpoint's path (`/t/{tenant}/oauth2/{as}/v1/token`), or
/// `None` for every other path.
pub fn endpoint_tenant(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/t/")?;
    let (tenant, rest) = rest.split_once('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let endpoint = |name: &str| {
        matches!(
            name,
            "keys" | "token" | "revoke" | "introspect" | "userinfo" | "logout"
        )
    };
    let discovery =
        |name: &str| matches!(name, "openid-configuration" | "oauth-authorization-server");
    let ok = match segments.as_slice() {
        // The org server: /oauth2/v1/{endpoint}; a custom one: /oauth2/{as}/v1/{endpoint}.
        ["oauth2", "v1", name] => endpoint(name),
        ["oauth2", server, "v1", name] => !server.is_empty() && endpoint(name),
        ["oauth2", server, ".well-known", name] => !server.is_empty() && discovery(name),
        [".well-known", name] => discovery(name),
        [
            ".well-known",
            "oauth-authorization-server",
            "oauth2",
            server,
        ] => !server.is_empty(),
        _ => false,
    };
    (ok && !tenant.is_empty()).then_some(tenant)
}

/// Whether `origin` is one of the tenant's ACTIVE trusted origins with the CORS scope. A tenant
/// that cannot be loaded trusts nothing.
async fn trusted(state: &AppState, tenant: &str, origin: &str) -> bool {
    match state.hot.tenant(tenant).await {
        Ok(Some(t)) => t.active && t.origins.allows(ScopeType::Cors, origin),
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, tenant, "trusted origins unavailable; CORS refused");
            false
        }
    }
}

fn allow_origin(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
}

fn vary_origin(headers: &mut HeaderMap) {
    let already = headers
        .get_all(header::VARY)
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("origin"))
        });
    if !already {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The middleware (mounted inside host routing, so it sees `/t/{tenant}/…`).
pub async fn handle(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(tenant) = endpoint_tenant(req.path()).map(str::to_owned) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let origin = req.headers().get(header::ORIGIN).cloned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let is_preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let allowed = match (&origin, &state) {
        (Some(o), Some(state)) => match o.to_str() {
            Ok(o) => trusted(state, &tenant, o).await,
            Err(_) => false,
        },
        _ => false,
    };
    if is_preflight {
        let (http, _) = req.into_parts();
        let mut res = if allowed {
            let mut res = HttpResponse::NoContent().finish();
            let h = res.headers_mut();
            if let Some(o) = &origin {
                allow_origin(h, o);
            }
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static(ALLOW_METHODS),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(ALLOW_HEADERS),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static(MAX_AGE),
            );
            res
        } else {
            tracing::info!(
                tenant = %tenant,
                origin = origin.as_ref().and_then(|o| o.to_str().ok()).unwrap_or("-"),
                "CORS preflight from an origin that is not trusted; refused"
            );
            HttpResponse::build(StatusCode::FORBIDDEN).finish()
        };
        vary_origin(res.headers_mut());
        return Ok(ServiceResponse::new(http, res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    if allowed && let Some(o) = &origin {
        allow_origin(h, o);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    vary_origin(h);
    Ok(res.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::endpoint_tenant;

    #[test]
    fn only_the_protocol_endpoints_are_served_cross_origin() {
        for (path, tenant) in [
            ("/t/acme/oauth2/default/v1/token", Some("acme")),
            ("/t/acme/oauth2/aus1/v1/keys", Some("acme")),
            ("/t/acme/oauth2/v1/revoke", Some("acme")),
            ("/t/acme/oauth2/v1/introspect", Some("acme")),
            ("/t/acme/oauth2/default/v1/userinfo", Some("acme")),
            ("/t/acme/oauth2/default/v1/logout", Some("acme")),
            (
                "/t/acme/oauth2/default/.well-known/openid-configuration",
                Some("acme"),
            ),
            ("/t/acme/.well-known/openid-configuration", Some("acme")),
            (
                "/t/acme/.well-known/oauth-authorization-server/oauth2/aus1",
                Some("acme"),
            ),
            ("/t/acme/oauth2/default/v1/authorize", None),
            ("/t/acme/api/v1/apps", None),
            ("/t/acme/oauth2/v1/clients", None),
            ("/t/acme/login", None),
            ("/operator/v1/tenants", None),
            ("/t//oauth2/v1/token", None),
        ] {
            assert_eq!(endpoint_tenant(path), tenant, "{path}");
        }
    }
}
