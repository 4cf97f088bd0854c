//! Sign-in sessions: a random id in an HttpOnly, SameSite=Lax cookie scoped to the
//! tenant's path; the session itself lives in the short-lived store (Redis when configured),
//! keyed by a hash of the id, so any token replica can read it.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use tessera_core::AppState;
use tessera_domain::secrets::{lookup_digest, random_token};
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::OAuthError;

pub const COOKIE: &str = "tessera_sid";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub user_id: String,
    /// Seconds since the epoch.
    pub auth_time: i64,
}

fn key(tenant_id: &str, sid: &str) -> Key {
    Key::tenant(tenant_id, Kind::Session, &lookup_digest(sid))
}

/// The session the request's cookie names, if it is live.
pub async fn current(
    state: &AppState,
    req: &HttpRequest,
    tenant_id: &str,
) -> Result<Option<Session>, OAuthError> {
    let Some(cookie) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let Some(raw) = state.short.get(&key(tenant_id, cookie.value())).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&raw).ok())
}

/// Starts a session and returns the cookie that carries it.
pub async fn start(
    state: &AppState,
    tenant_id: &str,
    tenant_name: &str,
    session: &Session,
) -> Result<Cookie<'static>, OAuthError> {
    let sid = random_token(state.random.as_ref(), 32);
    let value = serde_json::to_vec(session).map_err(OAuthError::server_error)?;
    state
        .short
        .put(&key(tenant_id, &sid), &value, LIFETIME)
        .await?;
    let secure = state.public_url.starts_with("https://");
    let path = if state.config.base_domain.is_some() {
        "/".to_owned()
    } else {
        format!("/t/{tenant_name}")
    };
    Ok(Cookie::build(COOKIE, sid)
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish())
}

/// Ends the request's session, if any, and returns the cookie that clears it.
pub async fn end(
    state: &AppState,
    req: &HttpRequest,
    tenant_id: &str,
    tenant_name: &str,
) -> Result<Cookie<'static>, OAuthError> {
    if let Some(cookie) = req.cookie(COOKIE) {
        state.short.delete(&key(tenant_id, cookie.value())).await?;
    }
    let path = if state.config.base_domain.is_some() {
        "/".to_owned()
    } else {
        format!("/t/{tenant_name}")
    };
    let mut removal = Cookie::build(COOKIE, "")
        .path(path)
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    removal.make_removal();
    Ok(removal)
}
