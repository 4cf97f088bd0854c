//! Discovery documents and JWKS (Okta's `/keys` reference): bytes serialised once per snapshot
//! (the JWKS when it is loaded, the discovery documents on their first request).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use tessera_core::AppState;
use tessera_hot::{Bytes, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{ErrorCode, OAuthError};

/// The server a protocol route names: `{org}/oauth2/{as}/…` a custom server (`default` or an
/// id), `{org}/oauth2/v1/…` and `{org}/.well-known/…` the org authorization server.
#[derive(Debug, Deserialize)]
pub struct ServerPath {
    pub tenant: String,
    #[serde(rename = "as")]
    pub server: Option<String>,
}

/// Resolves the path to live snapshots. An unknown or inactive server is Okta's
/// "The authorization server id is invalid." (404); a suspended tenant is `access_denied` (403).
#[tracing::instrument(name = "hot.resolve", skip_all)]
pub async fn resolve(
    state: &AppState,
    path: &ServerPath,
) -> Result<(Arc<TenantSnapshot>, Arc<ServerSnapshot>), OAuthError> {
    let found = match &path.server {
        Some(server) => state.hot.server(&path.tenant, server).await,
        None => state.hot.org_server(&path.tenant).await,
    };
    let (t, s) = found
        .map_err(OAuthError::server_error)?
        .ok_or_else(OAuthError::unknown_server)?;
    if !t.active {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::AccessDenied,
            "The organization is suspended.",
        ));
    }
    if !s.active {
        return Err(OAuthError::unknown_server());
    }
    Ok((t, s))
}

fn document(bytes: &Bytes, max_age: u64) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json"))
        .insert_header((CACHE_CONTROL, format!("max-age={max_age}, must-revalidate")))
        .body(bytes.clone())
}

pub async fn openid_configuration(
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let (_, s) = resolve(&state, &path).await?;
    Ok(document(&s.openid_configuration(state.hot.config()), 3600))
}

pub async fn oauth_metadata(
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let (_, s) = resolve(&state, &path).await?;
    Ok(document(&s.oauth_metadata(state.hot.config()), 3600))
}

/// The JWKS with a `max-age` computed for this request: until the server's next scheduled
/// rotation, at least the server's floor (a minute at most, so that strict caches do not refetch
/// on every request while a due rotation waits for the keys service) and at most its ceiling (a
/// day, an hour on MANUAL servers, never above the NEXT key's lead, so that a key published now
/// may sign once every older cached copy has expired; docs/architecture.md, "Keys").
pub async fn keys(
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let (_, s) = resolve(&state, &path).await?;
    let now_ms = tessera_domain::timefmt::to_millis(state.clock.now());
    let max_age = match s.jwks_fresh_until {
        Some(until) => u64::try_from((until - now_ms) / 1000)
            .unwrap_or(0)
            .max(s.jwks_max_age_floor)
            .min(s.jwks_max_age_ceiling),
        None => s.jwks_max_age_ceiling,
    };
    Ok(document(&s.jwks, max_age))
}
