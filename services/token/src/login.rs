//! The hosted sign-in page (SPEC §5): a server-rendered form that works without JavaScript,
//! with a single-use CSRF token, a generic failure message, per-username throttling and strict
//! security headers. A successful sign-in starts a session and resumes the pending authorize
//! request.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use tessera_domain::secrets::{lookup_digest, random_token, verify_password};
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::OAuthError;
use tessera_store::entities::user;
use tessera_store::{ColumnTrait as _, repo};
use tessera_web::AppState;

use crate::pages::{self, error_page};
use crate::session::{self, Session};

const FAILED: &str = "Sign-in failed. Check your username and password and try again.";
const THROTTLED: &str = "Too many attempts. Wait a moment and try again.";

fn csrf_key(tenant_id: &str, token: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::Session,
        &format!("csrf:{}", lookup_digest(token)),
    )
}

/// A pending authorize request: the URL to resume after sign-in.
pub fn pending_key(tenant_id: &str, id: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::Session,
        &format!("pending:{}", lookup_digest(id)),
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pending: Option<String>,
    login_hint: Option<String>,
}

async fn render(
    state: &AppState,
    tenant_id: &str,
    tenant: &str,
    pending: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, OAuthError> {
    let csrf = random_token(state.random.as_ref(), 24);
    state
        .short
        .put(&csrf_key(tenant_id, &csrf), b"1", Duration::from_secs(600))
        .await?;
    Ok(pages::render(
        status,
        "sign_in.html",
        context! { org => tenant, csrf => csrf, pending => pending, username => username, error => error },
    ))
}

pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, OAuthError> {
    let Some(tenant) = state
        .hot
        .tenant(&path)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|t| t.active)
    else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This organization does not exist.",
        ));
    };
    render(
        &state,
        &tenant.tenant_id,
        &tenant.name,
        q.pending.as_deref().unwrap_or_default(),
        q.login_hint.as_deref().unwrap_or_default(),
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    pending: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

pub async fn submit(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Form<LoginForm>,
) -> Result<HttpResponse, OAuthError> {
    let Some(tenant) = state
        .hot
        .tenant(&path)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|t| t.active)
    else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "This organization does not exist.",
        ));
    };
    let t = tenant.tenant_id.as_str();
    let f = body.into_inner();
    let (username, pending) = (
        f.username.unwrap_or_default(),
        f.pending.unwrap_or_default(),
    );
    let csrf_ok = match f.csrf.as_deref() {
        Some(c) => state.short.take(&csrf_key(t, c)).await?.is_some(),
        None => false,
    };
    if !csrf_ok {
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Sign-in expired",
            "The sign-in form expired. Go back to the application and start again.",
        ));
    }
    let throttle = Key::tenant(
        t,
        Kind::Throttle,
        &format!("login:{}", lookup_digest(&username.to_lowercase())),
    );
    if state
        .short
        .hit(&throttle, Duration::from_secs(60))
        .await?
        .count
        > 10
    {
        return render(
            &state,
            t,
            &tenant.name,
            &pending,
            &username,
            Some(THROTTLED),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let found =
        repo::find_by::<user::Entity>(&state.db, t, user::Column::Login.eq(username.as_str()))
            .await
            .map_err(OAuthError::server_error)?;
    let phc = found
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| crate::grants::dummy_phc().to_owned());
    let password = f.password.unwrap_or_default();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(OAuthError::server_error)?;
    let Some(u) = found.filter(|u| ok && u.status == "ACTIVE") else {
        tracing::info!(tenant = t, "sign-in failed");
        return render(
            &state,
            t,
            &tenant.name,
            &pending,
            &username,
            Some(FAILED),
            StatusCode::UNAUTHORIZED,
        )
        .await;
    };
    let cookie = session::start(
        &state,
        t,
        &tenant.name,
        &Session {
            user_id: u.id.clone(),
            auth_time: state.clock.now().unix_timestamp(),
        },
    )
    .await?;
    let resume = match pending.is_empty() {
        true => None,
        false => state
            .short
            .take(&pending_key(t, &pending))
            .await?
            .and_then(|v| String::from_utf8(v).ok()),
    };
    let location = resume.unwrap_or_else(|| format!("/t/{}/login", tenant.name));
    Ok(HttpResponse::SeeOther()
        .cookie(cookie)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
