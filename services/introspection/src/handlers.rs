//! `POST /v1/introspect` and `POST /v1/revoke`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_core::syslog::{Event, Party};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::client_auth::{self, Credentials};
use tessera_oauth::{Form, OAuthError};
use tessera_store::entities::{refresh_token, user};
use tessera_store::{ColumnTrait as _, repo};

use tessera_oauth::tokens::{Active, examine};

/// The common start of both endpoints: form, tenant and server (inactive ones are allowed:
/// their tokens are simply inactive), client authentication.
/// `{org}/oauth2/{as}/v1/…` names a custom server; `{org}/oauth2/v1/…` the org authorization
/// server.
#[derive(Debug, serde::Deserialize)]
pub struct ServerPath {
    tenant: String,
    #[serde(rename = "as")]
    server: Option<String>,
}

async fn begin(
    req: &HttpRequest,
    body: &[u8],
    state: &AppState,
    path: &ServerPath,
) -> Result<
    (
        Form,
        std::sync::Arc<TenantSnapshot>,
        std::sync::Arc<ServerSnapshot>,
        std::sync::Arc<ClientSnapshot>,
        i64,
    ),
    OAuthError,
> {
    let form = Form::posted(req, body)?;
    let found = match &path.server {
        Some(server) => state.hot.server(&path.tenant, server).await,
        None => state.hot.org_server(&path.tenant).await,
    };
    let (tenant, server) = found
        .map_err(OAuthError::server_error)?
        .ok_or_else(OAuthError::unknown_server)?;
    let now = state.clock.now().unix_timestamp();
    let endpoint_url = format!(
        "{}{}",
        tenant.org_url,
        tessera_web::paging::relative_path(req)
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
    let client = client_auth::authenticate(&creds, &tenant, state.short.as_ref(), now).await?;
    if form.get("token").is_none() {
        return Err(OAuthError::invalid_request(
            "The 'token' parameter is required.",
        ));
    }
    Ok((form, tenant, server, client, now))
}

fn no_store(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// RFC 7662 (Okta's `/introspect` reference): the token's own claims plus `active`, `token_type`, `scope`,
/// `client_id`, `username`; anything not active is `{"active": false}` with 200.
pub async fn introspect(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let (form, tenant, server, _client, now) = begin(&req, &body, &state, &path).await?;
    let token = form.get("token").unwrap_or_default();
    let cache_key = format!(
        "{}:{}",
        server.server_id,
        tessera_domain::secrets::lookup_digest(token)
    );
    if let Some(cached) = crate::cache::lookup(&state, &cache_key, &tenant.tenant_id, now) {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .content_type("application/json")
            .body(cached));
    }
    let Some(active) = examine(
        tessera_oauth::tokens::Stores {
            db: &state.db,
            revocations: &state.revocations,
        },
        &tenant,
        &server,
        token,
        now,
    )
    .await?
    else {
        return Ok(no_store(json!({ "active": false })));
    };
    let cacheable_until = match &active {
        Active::Access(claims) | Active::Id(claims) => claims.get("exp").and_then(Value::as_i64),
        Active::Refresh(_) => None,
    };
    let out = match active {
        Active::Access(claims) | Active::Id(claims) => {
            let mut out: Map<String, Value> = claims;
            let scope = out.get("scp").and_then(Value::as_array).map(|s| {
                s.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let client_id = out
                .get("cid")
                .or_else(|| out.get("aud"))
                .cloned()
                .unwrap_or(Value::Null);
            let username = out.get("sub").cloned().unwrap_or(Value::Null);
            out.insert("active".into(), json!(true));
            // RFC 9449 §6.2: a bound token says so; its `cnf` is among its own claims.
            let token_type = if out.contains_key("cnf") {
                "DPoP"
            } else {
                "Bearer"
            };
            out.insert("token_type".into(), json!(token_type));
            if let Some(scope) = scope {
                out.insert("scope".into(), json!(scope));
            }
            out.insert("client_id".into(), client_id);
            out.insert("username".into(), username);
            Value::Object(out)
        }
        Active::Refresh(row) => {
            let scopes: Vec<String> = serde_json::from_str(&row.scopes).unwrap_or_default();
            let login = match &row.user_id {
                Some(uid) => repo::find::<user::Entity>(&state.db, &tenant.tenant_id, uid)
                    .await
                    .map_err(OAuthError::server_error)?
                    .map(|u| u.login),
                None => None,
            };
            let exp = row.expires_at.or(row.window_expires_at).map(|ms| ms / 1000);
            json!({
                "active": true,
                "token_type": "Bearer",
                "scope": scopes.join(" "),
                "client_id": row.client_id,
                "username": login,
                "sub": login,
                "uid": row.user_id,
                "exp": exp,
                "iss": server.issuer,
            })
        }
    };
    if let Some(exp) = cacheable_until {
        let bytes = bytes::Bytes::from(serde_json::to_vec(&out).map_err(OAuthError::server_error)?);
        crate::cache::store(&state, cache_key, &tenant.tenant_id, exp, bytes);
    }
    Ok(no_store(out))
}

/// RFC 7009 (Okta's `/revoke` reference): 200 for anything; a client revokes only its own tokens.
/// Revoking a refresh token revokes its family and the access tokens minted from it; revoking
/// an access token leaves its refresh token alone.
pub async fn revoke(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let (form, tenant, server, client, now) = begin(&req, &body, &state, &path).await?;
    let token = form.get("token").unwrap_or_default();
    let t = tenant.tenant_id.as_str();
    match examine(
        tessera_oauth::tokens::Stores {
            db: &state.db,
            revocations: &state.revocations,
        },
        &tenant,
        &server,
        token,
        now,
    )
    .await?
    {
        Some(Active::Access(claims))
            if claims.get("cid").and_then(Value::as_str) == Some(client.client_id.as_str()) =>
        {
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(now);
            state.revocations.revoke_jti(&state.db, t, jti, exp).await?;
            tracing::info!(tenant = t, client = %client.client_id, "access token revoked");
            record_revoke(
                &state,
                &req,
                &server,
                &client,
                Party::new("access_token", jti),
            );
        }
        Some(Active::Refresh(row)) if row.client_id == client.client_id => {
            let family = repo::all::<refresh_token::Entity>(
                &state.db,
                t,
                refresh_token::Column::FamilyId.eq(&row.family_id),
            )
            .await
            .map_err(OAuthError::server_error)?;
            tessera_core::revoke::refresh_tokens(&state, t, family)
                .await
                .map_err(OAuthError::from)?;
            tracing::info!(tenant = t, client = %client.client_id, "refresh token family revoked");
            record_revoke(
                &state,
                &req,
                &server,
                &client,
                Party::new("refresh_token", &row.family_id),
            );
        }
        _ => {}
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `app.oauth2.as.token.revoke` (`app.oauth2.token.revoke` on the org server): a client revoked
/// one of its tokens. The token is named by its `jti` (or refresh-token family), never shown.
fn record_revoke(
    state: &AppState,
    req: &HttpRequest,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    token: Party,
) {
    let event_type = if server.org {
        "app.oauth2.token.revoke"
    } else {
        "app.oauth2.as.token.revoke"
    };
    state.syslog.record(
        Event::new(
            &server.tenant_id,
            event_type,
            "OAuth2 token revocation request",
            Party::new("PublicClientApp", &client.client_id).named(&client.label),
        )
        .origin(tessera_web::client::origin(req))
        .target(Party::new("AuthorizationServer", &server.server_id).alternate(&server.issuer))
        .target(token),
    );
}
