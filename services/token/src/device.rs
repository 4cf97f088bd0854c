//! The device authorization grant (RFC 8628), as Okta's custom authorization servers offer it
//! (<https://developer.okta.com/docs/guides/device-authorization-grant/main/>):
//!
//! * `POST {as}/v1/device/authorize` — a client allowed the device grant asks for a
//!   `device_code` (its secret, polled with) and a `user_code` (what the user types), valid
//!   for [`LIFETIME`].
//! * `GET {org}/activate` — the hosted page: the user enters the code (or arrives with it in
//!   `verification_uri_complete`), signs in, and allows or denies the device.
//! * The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant
//!   (`crate::grants::device_code`) polls: `authorization_pending` until the user answers,
//!   `slow_down` when faster than [`INTERVAL`], `access_denied`, `expired_token`, and the tokens
//!   once, after which the device code is spent.
//!
//! Codes live in the short-lived store under a digest of the device code; the user code maps
//! to that digest. User codes are 8 letters from RFC 8628 §6.1's 20 consonants (about 34.6
//! bits), entered case-insensitively with or without a dash; the hosted page allows each
//! address [`GUESSES_PER_MINUTE`] lookups a minute.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_core::AppState;
use tessera_domain::policy;
use tessera_domain::secrets::{lookup_digest, random_token};
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::client_auth::{self, Credentials};
use tessera_oauth::{ErrorCode, Form, OAuthError};

use crate::login::pending_key;
use crate::metadata::{ServerPath, resolve};
use crate::pages::{error_page, render};
use crate::session;

/// The grant type a client and a policy rule must allow.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a device code and its user code are valid (Okta: 10 minutes).
pub const LIFETIME: Duration = Duration::from_secs(600);
/// The polling interval the client is told, in seconds (Okta: 5).
pub const INTERVAL: u64 = 5;
/// How long a spent or expired code is still known, so that polling it says `expired_token`
/// (or that it was used) rather than `invalid_grant`.
const REMEMBERED: Duration = Duration::from_secs(600);
/// Code lookups one address may make on the hosted page per minute.
pub const GUESSES_PER_MINUTE: u64 = 10;
/// RFC 8628 §6.1: no vowels (no words), no look-alike characters.
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// Where a device code stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Pending,
    Approved { user_id: String, auth_time: i64 },
    Denied,
}

/// A device code's record, under [`code_key`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCode {
    pub server_id: String,
    pub client_id: String,
    /// The `scope` parameter as sent (`None`: the server's default scopes).
    pub scopes: Option<Vec<String>>,
    pub user_code: String,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    pub status: Status,
}

/// The record of the device code whose digest is `digest`.
pub fn code_key(tenant_id: &str, digest: &str) -> Key {
    Key::tenant(tenant_id, Kind::DeviceCode, &format!("dc:{digest}"))
}

fn user_code_key(tenant_id: &str, user_code: &str) -> Key {
    Key::tenant(tenant_id, Kind::DeviceCode, &format!("uc:{user_code}"))
}

fn approval_key(tenant_id: &str, id: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::Session,
        &format!("device:{}", lookup_digest(id)),
    )
}

/// A fresh user code.
fn new_user_code(state: &AppState) -> String {
    let mut code = String::with_capacity(USER_CODE_LEN);
    let mut byte = [0u8; 1];
    while code.len() < USER_CODE_LEN {
        state.random.fill(&mut byte);
        // 240 is the largest multiple of 20 in a byte: drawing again above it keeps every
        // letter equally likely.
        if byte[0] < 240 {
            code.push(char::from(ALPHABET[usize::from(byte[0] % 20)]));
        }
    }
    code
}

/// What a user typed, as a stored user code: letters upper-cased, dashes and spaces dropped;
/// `None` when it cannot be one (wrong length or characters).
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// How long from `now_ms` until `expires_at`, plus [`REMEMBERED`].
fn ttl(record: &DeviceCode, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(record.expires_at - now_ms).unwrap_or(0)) + REMEMBERED
}

/// Writes `record` back under `digest`, keeping its expiry.
pub async fn save(
    state: &AppState,
    tenant_id: &str,
    digest: &str,
    record: &DeviceCode,
    now_ms: i64,
) -> Result<(), OAuthError> {
    let value = serde_json::to_vec(record).map_err(OAuthError::server_error)?;
    state
        .short
        .put(&code_key(tenant_id, digest), &value, ttl(record, now_ms))
        .await?;
    Ok(())
}

/// `POST {as}/v1/device/authorize` (RFC 8628 §3.1–3.2).
pub async fn authorize(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::posted(&req, &body)?;
    let (tenant, server) = resolve(&state, &path).await?;
    if server.org {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedGrantType,
            "The device authorization grant is offered by custom authorization servers.",
        ));
    }
    let endpoint_url = format!(
        "{}{}",
        tenant.org_url,
        tessera_web::paging::relative_path(&req)
    );
    let now = state.clock.now();
    let creds = Credentials {
        authorization: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        query: req.query_string(),
        form: &form,
        endpoint_url: &endpoint_url,
        jwks: &state.client_jwks,
    };
    let client =
        client_auth::authenticate(&creds, &tenant, state.short.as_ref(), now.unix_timestamp())
            .await?;
    if !client.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OAuthError::unauthorized_client(format!(
            "The client is not authorized to use the provided grant type. Configured grant types: [{}]",
            client.grant_types.join(", ")
        )));
    }
    let scopes = form.scopes();
    // The scopes must exist and some rule must allow this client the grant for them; who the
    // user is is checked when the tokens are issued.
    policy::evaluate(
        &server.policies,
        &server.scopes,
        &policy::Request {
            client_id: &client.client_id,
            grant_type: GRANT_TYPE,
            user: None,
            scopes: scopes.as_deref(),
            everyone_group_id: &tenant.everyone_group_id,
        },
    )?;
    let now_ms = tessera_domain::timefmt::to_millis(now);
    let device_code = random_token(state.random.as_ref(), 32);
    let digest = lookup_digest(&device_code);
    let expires_at = now_ms + i64::try_from(LIFETIME.as_millis()).unwrap_or(i64::MAX);
    // A fresh user code that no live device code holds (a collision is drawn again).
    let mut user_code = None;
    for _ in 0..5 {
        let candidate = new_user_code(&state);
        if state
            .short
            .put_if_absent(
                &user_code_key(&tenant.tenant_id, &candidate),
                digest.as_bytes(),
                LIFETIME,
            )
            .await?
        {
            user_code = Some(candidate);
            break;
        }
    }
    let user_code =
        user_code.ok_or_else(|| OAuthError::server_error("no free user code after 5 draws"))?;
    let record = DeviceCode {
        server_id: server.server_id.clone(),
        client_id: client.client_id.clone(),
        scopes,
        user_code: user_code.clone(),
        expires_at,
        status: Status::Pending,
    };
    save(&state, &tenant.tenant_id, &digest, &record, now_ms).await?;
    let verification_uri = format!("{}/activate", tenant.org_url);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={user_code}"),
            "expires_in": LIFETIME.as_secs(),
            "interval": INTERVAL,
        })))
}

#[derive(Debug, Deserialize)]
pub struct ActivateQuery {
    user_code: Option<String>,
}

/// A pending approval: which device code the signed-in user is answering for.
#[derive(Debug, Serialize, Deserialize)]
struct Approval {
    digest: String,
    user_id: String,
    auth_time: i64,
}

fn entry_page(tenant: &str, status: StatusCode, error: Option<&str>) -> HttpResponse {
    render(
        status,
        "activate.html",
        context! { org => tenant, error => error },
    )
}

/// `GET {org}/activate[?user_code=…]`: the code entry form; with a code, sign-in (when there
/// is no session) and then the approval page.
pub async fn activate(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<ActivateQuery>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = match crate::pages::active_tenant(&state, &path).await? {
        Ok(t) => t,
        Err(not_found) => return Ok(not_found),
    };
    let t = tenant.tenant_id.as_str();
    let Some(typed) = q.user_code.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Ok(entry_page(&tenant.name, StatusCode::OK, None));
    };
    // Guessing is bounded per address (and the code space is 20^8).
    let address = tessera_web::client::client_address(&state, &req)
        .map_or_else(|| "unknown".to_owned(), |a| a.to_string());
    let throttle = Key::tenant(t, Kind::Throttle, &format!("activate:{address}"));
    if state
        .short
        .hit(&throttle, Duration::from_secs(60))
        .await?
        .count
        > GUESSES_PER_MINUTE
    {
        return Ok(entry_page(
            &tenant.name,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many attempts. Wait a minute and try again."),
        ));
    }
    let invalid = || {
        entry_page(
            &tenant.name,
            StatusCode::BAD_REQUEST,
            Some("That code is not valid or has expired. Check the code on your device."),
        )
    };
    let Some(user_code) = normalise_user_code(typed) else {
        return Ok(invalid());
    };
    let Some(digest) = state
        .short
        .get(&user_code_key(t, &user_code))
        .await?
        .and_then(|v| String::from_utf8(v).ok())
    else {
        return Ok(invalid());
    };
    let now_ms = tessera_domain::timefmt::to_millis(state.clock.now());
    let record: Option<DeviceCode> = state
        .short
        .get(&code_key(t, &digest))
        .await?
        .and_then(|v| serde_json::from_slice(&v).ok());
    let Some(record) = record.filter(|r| r.status == Status::Pending && r.expires_at > now_ms)
    else {
        return Ok(invalid());
    };
    let Some(signed_in) = session::current(&state, &req, t).await? else {
        // Sign in first, then come back here with the code.
        let id = random_token(state.random.as_ref(), 24);
        let resume = format!("/t/{}/activate?user_code={user_code}", tenant.name);
        state
            .short
            .put(&pending_key(t, &id), resume.as_bytes(), LIFETIME)
            .await?;
        return Ok(HttpResponse::Found()
            .insert_header((
                header::LOCATION,
                format!("/t/{}/login?pending={id}", tenant.name),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    };
    let Some(client) = tenant.clients.get(&record.client_id) else {
        return Ok(invalid());
    };
    let names = record.scopes.as_deref().unwrap_or_default();
    let scopes: Vec<_> =
        crate::consent::describe(&state, &tenant.tenant_id, &record.server_id, names)
            .await?
            .into_iter()
            .map(|(name, description)| context! { name => name, description => description })
            .collect();
    // The answer is bound to this user and this code by a single-use id only this page shows.
    let id = random_token(state.random.as_ref(), 24);
    let approval = Approval {
        digest,
        user_id: signed_in.user_id,
        auth_time: signed_in.auth_time,
    };
    state
        .short
        .put(
            &approval_key(t, &id),
            &serde_json::to_vec(&approval).map_err(OAuthError::server_error)?,
            LIFETIME,
        )
        .await?;
    Ok(render(
        StatusCode::OK,
        "device_consent.html",
        context! { org => &tenant.name, app => &client.label, approval => id, user_code => user_code, scopes => scopes },
    ))
}

#[derive(Debug, Deserialize)]
pub struct Answer {
    approval: Option<String>,
    decision: Option<String>,
}

/// `POST {org}/activate`: the signed-in user allows or denies the device.
pub async fn answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<Answer>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = match crate::pages::active_tenant(&state, &path).await? {
        Ok(t) => t,
        Err(not_found) => return Ok(not_found),
    };
    let t = tenant.tenant_id.as_str();
    let expired = || {
        error_page(
            StatusCode::BAD_REQUEST,
            "Request expired",
            "This activation expired. Start again on your device.",
        )
    };
    let Some(id) = form.approval.as_deref() else {
        return Ok(expired());
    };
    let Some(raw) = state.short.take(&approval_key(t, id)).await? else {
        return Ok(expired());
    };
    let approval: Approval = serde_json::from_slice(&raw).map_err(OAuthError::server_error)?;
    let session = session::current(&state, &req, t).await?;
    if session.is_none_or(|s| s.user_id != approval.user_id) {
        return Ok(expired());
    }
    let now_ms = tessera_domain::timefmt::to_millis(state.clock.now());
    let record: Option<DeviceCode> = state
        .short
        .get(&code_key(t, &approval.digest))
        .await?
        .and_then(|v| serde_json::from_slice(&v).ok());
    let Some(mut record) = record.filter(|r| r.status == Status::Pending && r.expires_at > now_ms)
    else {
        return Ok(expired());
    };
    let allowed = form.decision.as_deref() == Some("allow");
    record.status = if allowed {
        Status::Approved {
            user_id: approval.user_id.clone(),
            auth_time: approval.auth_time,
        }
    } else {
        Status::Denied
    };
    save(&state, t, &approval.digest, &record, now_ms).await?;
    // The user code is answered: it cannot be entered again.
    state
        .short
        .delete(&user_code_key(t, &record.user_code))
        .await?;
    if let Some(client) = tenant.clients.get(&record.client_id) {
        let server = state
            .hot
            .server(&tenant.name, &record.server_id)
            .await
            .map_err(OAuthError::server_error)?;
        if let (true, Some((_, server))) = (allowed, server) {
            state.syslog.record(
                tessera_core::syslog::Event::new(
                    t,
                    format!("{}.consent.grant", crate::events::prefix(&server)),
                    "User granted consent to an application",
                    tessera_core::syslog::Party::new("User", &approval.user_id),
                )
                .origin(tessera_web::client::origin(&req))
                .target(crate::events::client_party(client))
                .debug("grantType", GRANT_TYPE)
                .debug(
                    "grantedScopes",
                    record.scopes.as_deref().unwrap_or_default().join(" "),
                ),
            );
        }
    }
    Ok(if allowed {
        error_page(
            StatusCode::OK,
            "Device activated",
            "Your device is now connected. You can close this window and return to it.",
        )
    } else {
        error_page(
            StatusCode::OK,
            "Device not connected",
            "You denied access. The device will not be connected.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_read_the_way_people_type_them() {
        assert_eq!(
            normalise_user_code("bcdf-ghjk").as_deref(),
            Some("BCDFGHJK")
        );
        assert_eq!(
            normalise_user_code("BCDF GHJK").as_deref(),
            Some("BCDFGHJK")
        );
        // Vowels and digits are never in a code; nor is a wrong length.
        for bad in [
            "BCDFGHJA",
            "BCDFGHJ1",
            "BCDFGHJ",
            "BCDFGHJKL",
            "",
            "БCDFGHJK",
        ] {
            assert_eq!(normalise_user_code(bad), None, "{bad}");
        }
    }
}
