//! Pushed authorization requests (RFC 9126): `POST {as}/v1/par` takes an authorization
//! request's parameters from an authenticated client and answers a `request_uri` that
//! `/authorize` accepts once, with that client's `client_id`, for [`LIFETIME`] (the lifetime in
//! Okta's `/par` reference). An app with `require_pushed_authorization_requests` may use
//! `/authorize` only this way.
//!
//! The endpoint checks what can be checked before a user is involved — the client, an exactly
//! registered `redirect_uri`, a `response_type` the app may use, and no `request_uri` of its
//! own (§2.1) — and `/authorize` checks the rest when the request is used, exactly as for a
//! request sent in the query. A signed request object may be pushed as `request`.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_core::AppState;
use tessera_domain::secrets::{lookup_digest, random_token};
use tessera_ephemeral::{Key, Kind};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::client_auth::{self, Credentials};
use tessera_oauth::{ErrorCode, Form, OAuthError};

use crate::metadata::{ServerPath, resolve};

/// How long a `request_uri` can be used.
pub const LIFETIME: Duration = Duration::from_secs(3600);
/// RFC 9126 §2.2's form of a `request_uri`.
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed request, under [`key`].
#[derive(Debug, Serialize, Deserialize)]
struct Pushed {
    server_id: String,
    client_id: String,
    /// The parameters, form-encoded.
    params: String,
}

fn key(tenant_id: &str, id: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::AuthorizationCode,
        &format!("par:{}", lookup_digest(id)),
    )
}

/// Stores `params` for `client` and returns the `request_uri` that names them.
pub async fn push(
    state: &AppState,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    params: &Form,
) -> Result<String, OAuthError> {
    let id = random_token(state.random.as_ref(), 32);
    let pushed = Pushed {
        server_id: server.server_id.clone(),
        client_id: client.client_id.clone(),
        params: params.encoded(),
    };
    state
        .short
        .put(
            &key(&tenant.tenant_id, &id),
            &serde_json::to_vec(&pushed).map_err(OAuthError::server_error)?,
            LIFETIME,
        )
        .await?;
    Ok(format!("{PREFIX}{id}"))
}

/// The parameters `request_uri` names, spent: `None` when it is unknown, used, expired, or
/// pushed by another client or for another server.
pub async fn take(
    state: &AppState,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    request_uri: &str,
) -> Result<Option<Form>, OAuthError> {
    let Some(id) = request_uri.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    let Some(raw) = state.short.take(&key(&tenant.tenant_id, id)).await? else {
        return Ok(None);
    };
    let pushed: Pushed = serde_json::from_slice(&raw).map_err(OAuthError::server_error)?;
    if pushed.client_id != client.client_id || pushed.server_id != server.server_id {
        return Ok(None);
    }
    Ok(Some(Form::parse(pushed.params.as_bytes())?))
}

/// `POST {as}/v1/par`.
pub async fn par(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let mut form = Form::posted(&req, &body)?;
    let (tenant, server) = resolve(&state, &path).await?;
    let endpoint_url = format!(
        "{}{}",
        tenant.org_url,
        tessera_web::paging::relative_path(&req)
    );
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
    let client = client_auth::authenticate(
        &creds,
        &tenant,
        state.short.as_ref(),
        state.clock.now().unix_timestamp(),
    )
    .await?;
    if form.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "The 'request_uri' parameter cannot be pushed.",
        ));
    }
    // The request object, when there is one, says where the user comes back: its parameters
    // are checked at /authorize; the query's must still be registered if given.
    if form.get("request").is_none() {
        let registered = form
            .get("redirect_uri")
            .is_some_and(|r| client.redirect_uris.iter().any(|u| u == r));
        if !registered {
            return Err(OAuthError::invalid_request(
                "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
            ));
        }
        let response_type = form.get("response_type").unwrap_or_default();
        if response_type.is_empty()
            || !response_type
                .split(' ')
                .filter(|t| !t.is_empty())
                .all(|t| client.response_types.iter().any(|r| r == t))
        {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnsupportedResponseType,
                "The response type is not supported by the authorization server. Configured response types: [code, token, id_token].",
            ));
        }
    }
    // Client credentials are not part of the authorization request.
    for name in ["client_secret", "client_assertion", "client_assertion_type"] {
        form.set(name, String::new());
    }
    form.set("client_id", client.client_id.clone());
    let request_uri = push(&state, &tenant, &server, &client, &form).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "request_uri": request_uri,
            "expires_in": LIFETIME.as_secs(),
        })))
}
