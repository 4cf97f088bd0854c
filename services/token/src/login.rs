//! The hosted sign-in page: a server-rendered form that works without JavaScript, with a
//! single-use CSRF token bound to a pre-login cookie, an `Origin`/`Sec-Fetch-Site` check, a
//! generic failure message, Okta's lockout and a per-address throttle ([`crate::sign_in`]), and
//! strict security headers. A successful sign-in starts a session and resumes the pending
//! authorize request.
//!
//! Login CSRF (signing a victim in as the attacker): the form's token is stored with a digest of
//! the browser's pre-login cookie (`__Host-tessera_login` over https), and a post counts only
//! from the browser that holds that cookie, from this origin.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use tessera_core::AppState;
use tessera_domain::secrets::{constant_time_eq, lookup_digest, random_token};
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::OAuthError;

use crate::pages::{self, error_page};
use crate::session::{self, Session};

const FAILED: &str = "Sign-in failed. Check your username and password and try again.";
const THROTTLED: &str = "Too many attempts. Wait a moment and try again.";

/// The pre-login cookie's name: with the `__Host-` prefix over https (the browser then keeps it
/// to this exact origin, path `/`, Secure), a plain name over http (development).
fn pre_login_cookie(state: &AppState) -> &'static str {
    if state.public_url.starts_with("https://") {
        "__Host-tessera_login"
    } else {
        "tessera_login"
    }
}

/// The pre-login cookie of this browser, or a new one to set.
fn pre_login(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> (String, Option<Cookie<'static>>) {
    let name = pre_login_cookie(state);
    if let Some(c) = req.cookie(name).filter(|c| c.value().len() >= 32) {
        return (c.value().to_owned(), None);
    }
    let value = random_token(state.random.as_ref(), 32);
    let https = state.public_url.starts_with("https://");
    let path = if https || state.config.base_domain.is_some() {
        "/".to_owned()
    } else {
        format!("/t/{tenant}")
    };
    let cookie = Cookie::build(name, value.clone())
        .path(path)
        .http_only(true)
        .secure(https)
        .same_site(SameSite::Lax)
        .finish();
    (value, Some(cookie))
}

/// Whether a form post comes from this service's own pages. A browser that sends
/// `Sec-Fetch-Site` says where the post came from, and it must be `same-origin`. Otherwise an
/// `Origin` naming an origin must be the public URL's or the org URL's. (Our pages send
/// `Referrer-Policy: no-referrer`, under which browsers post `Origin: null`; the pre-login cookie
/// binding still applies to every post.)
fn same_origin(state: &AppState, req: &HttpRequest, tenant: &str) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return site.to_str().ok() == Some("same-origin");
    }
    let origin_of = |url: &str| {
        url::Url::parse(url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    };
    let allowed = [
        origin_of(&state.public_url),
        origin_of(&state.org_url(tenant)),
    ];
    match req.headers().get(header::ORIGIN).map(|o| o.to_str()) {
        None | Some(Ok("null")) => true,
        Some(Ok(o)) => allowed.iter().flatten().any(|a| a == o),
        Some(Err(_)) => false,
    }
}

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

/// Who the sign-in form is for.
struct Page<'a> {
    tenant_id: &'a str,
    tenant: &'a str,
    pending: &'a str,
    username: &'a str,
}

/// What the sign-in form says above its fields.
enum Prompt {
    /// A fresh form.
    Fresh,
    /// The last attempt failed.
    Error(&'static str),
    /// The password is right but expired: the form asks for a new one too (and why the last
    /// new one was refused, if it was).
    Expired(Option<&'static str>),
}

/// The sign-in form, with a fresh CSRF token bound to this browser's pre-login cookie.
async fn render(
    state: &AppState,
    req: &HttpRequest,
    page: &Page<'_>,
    prompt: Prompt,
    status: StatusCode,
) -> Result<HttpResponse, OAuthError> {
    let Page {
        tenant_id,
        tenant,
        pending,
        username,
    } = *page;
    let (error, expired) = match prompt {
        Prompt::Fresh => (None, false),
        Prompt::Error(e) => (Some(e), false),
        Prompt::Expired(e) => (e, true),
    };
    let (browser, new_cookie) = pre_login(state, req, tenant);
    let csrf = random_token(state.random.as_ref(), 24);
    state
        .short
        .put(
            &csrf_key(tenant_id, &csrf),
            lookup_digest(&browser).as_bytes(),
            Duration::from_secs(600),
        )
        .await?;
    let mut page = pages::render(
        status,
        "sign_in.html",
        context! { org => tenant, csrf => csrf, pending => pending, username => username, error => error, expired => expired },
    );
    if let Some(c) = new_cookie {
        page.add_cookie(&c).map_err(OAuthError::server_error)?;
    }
    Ok(page)
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = match crate::pages::active_tenant(&state, &path).await? {
        Ok(t) => t,
        Err(not_found) => return Ok(not_found),
    };
    let page = Page {
        tenant_id: &tenant.tenant_id,
        tenant: &tenant.name,
        pending: q.pending.as_deref().unwrap_or_default(),
        username: q.login_hint.as_deref().unwrap_or_default(),
    };
    render(&state, &req, &page, Prompt::Fresh, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    pending: Option<String>,
    username: Option<String>,
    password: Option<String>,
    /// The new password, when the current one has expired.
    new_password: Option<String>,
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Form<LoginForm>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = match crate::pages::active_tenant(&state, &path).await? {
        Ok(t) => t,
        Err(not_found) => return Ok(not_found),
    };
    let t = tenant.tenant_id.as_str();
    let f = body.into_inner();
    let (username, pending) = (
        f.username.unwrap_or_default(),
        f.pending.unwrap_or_default(),
    );
    // The token is single use, and counts only from the browser it was issued to, posting from
    // this origin.
    let stored = match f.csrf.as_deref() {
        Some(c) => state.short.take(&csrf_key(t, c)).await?,
        None => None,
    };
    let browser = req
        .cookie(pre_login_cookie(&state))
        .map(|c| lookup_digest(c.value()));
    let csrf_ok = match (stored, browser) {
        (Some(stored), Some(browser)) => constant_time_eq(&stored, browser.as_bytes()),
        _ => false,
    };
    if !csrf_ok || !same_origin(&state, &req, &tenant.name) {
        tracing::info!(
            tenant = t,
            "sign-in form refused: CSRF token, cookie or origin"
        );
        return Ok(error_page(
            StatusCode::FORBIDDEN,
            "Sign-in expired",
            "The sign-in form expired. Go back to the application and start again.",
        ));
    }
    let password = f.password.unwrap_or_default();
    let address = tessera_web::client::client_address(&state, &req);
    let page = Page {
        tenant_id: t,
        tenant: &tenant.name,
        pending: &pending,
        username: &username,
    };
    let u = match crate::sign_in::authenticate(&state, t, &username, password, address).await? {
        Ok(u) => u,
        Err(crate::sign_in::Refused::Expired(u)) => {
            let new = f.new_password.unwrap_or_default();
            if new.is_empty() {
                return render(&state, &req, &page, Prompt::Expired(None), StatusCode::OK).await;
            }
            match crate::sign_in::change_expired_password(&state, *u, new).await? {
                Ok(u) => u,
                Err(refusal) => {
                    let prompt = Prompt::Expired(Some(refusal));
                    return render(&state, &req, &page, prompt, StatusCode::BAD_REQUEST).await;
                }
            }
        }
        Err(refused) => {
            let (message, status) = match refused {
                crate::sign_in::Refused::Throttled => (THROTTLED, StatusCode::TOO_MANY_REQUESTS),
                _ => (FAILED, StatusCode::UNAUTHORIZED),
            };
            tracing::info!(tenant = t, "sign-in failed");
            return render(&state, &req, &page, Prompt::Error(message), status).await;
        }
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
    // Okta's `user.session.start`: the user signed in with a password.
    let user = tessera_core::syslog::Party::new("User", &u.id).alternate(&u.login);
    state.syslog.record(
        tessera_core::syslog::Event::new(t, "user.session.start", "User login to Okta", user)
            .origin(tessera_web::client::origin(&req))
            .debug("authnMethod", "password"),
    );
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
