//! `POST /v1/token` (RFC 6749 §3.2): parse the form (repeated parameters refused), resolve the
//! server from hot state, authenticate the client, check the grant type against the app, parse
//! the grant's parameters into a typed value, run the grant, and serialise what it issued.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_core::syslog::{Event, Outcome, Party};
use tessera_hot::{ServerSnapshot, TenantSnapshot};
use tessera_oauth::client_auth::{self, Credentials};
use tessera_oauth::{ErrorCode, Form, OAuthError};

use crate::grants::{self, GrantRequest, GrantType, Granted, Params};
use crate::metadata::{ServerPath, resolve};

pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let form = Form::posted(&req, &body)?;
    let (tenant, server) = resolve(&state, &path).await?;
    let endpoint_url = format!(
        "{}{}",
        tenant.org_url,
        tessera_web::paging::relative_path(&req)
    );
    let mut seen = Seen::default();
    let result = grant(
        &req,
        &state,
        &tenant,
        &server,
        &form,
        &endpoint_url,
        &mut seen,
    )
    .await;
    let outcome = match &result {
        Ok(_) => "issued",
        Err(e) => e.error.as_str(),
    };
    tessera_core::metrics::metrics()
        .tokens
        .with_label_values(&[
            tenant.name.as_str(),
            server.server_id.as_str(),
            seen.grant.map_or("unknown", GrantType::as_str),
            outcome,
        ])
        .inc();
    record(&state, &req, &tenant, &server, &seen, &result);
    let granted = match result {
        Ok(g) => g,
        // RFC 9449 §8: the nonce to put in the next proof.
        Err(e) if e.error == ErrorCode::UseDpopNonce => {
            let mut res = actix_web::ResponseError::error_response(&e);
            if let Some(nonce) = seen
                .dpop_nonce
                .as_deref()
                .and_then(|n| header::HeaderValue::from_str(n).ok())
            {
                res.headers_mut()
                    .insert(header::HeaderName::from_static("dpop-nonce"), nonce);
            }
            return Ok(res);
        }
        Err(e) => return Err(e),
    };
    if let (Some(client), Some(grant)) = (&seen.client, seen.grant) {
        state
            .usage
            .touch(
                state.short.as_ref(),
                &tenant.tenant_id,
                &client.app_id,
                tessera_core::usage::Used::GrantType,
                grant.as_str(),
                state.now_ms(),
            )
            .await;
    }
    let mut body = granted.body();
    if seen.dpop {
        body.insert("token_type".into(), json!("DPoP"));
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(Value::Object(body)))
}

/// What the token request revealed before it succeeded or failed, for its System Log event.
#[derive(Default)]
pub(crate) struct Seen {
    pub client: Option<std::sync::Arc<tessera_hot::ClientSnapshot>>,
    pub grant: Option<GrantType>,
    /// The tokens are bound to a DPoP key (`token_type` `DPoP`).
    pub dpop: bool,
    /// A nonce to send back with `use_dpop_nonce`.
    pub dpop_nonce: Option<String>,
}

/// Authenticates the client and runs the grant.
#[tracing::instrument(name = "oauth.token.grant", skip_all)]
async fn grant(
    req: &HttpRequest,
    state: &AppState,
    tenant: &tessera_hot::TenantSnapshot,
    server: &tessera_hot::ServerSnapshot,
    form: &Form,
    endpoint_url: &str,
    seen: &mut Seen,
) -> Result<Granted, OAuthError> {
    let instant = state.clock.now();
    let (now, now_ms) = (
        instant.unix_timestamp(),
        tessera_domain::timefmt::to_millis(instant),
    );
    let creds = Credentials {
        authorization: req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        query: req.query_string(),
        form,
        endpoint_url,
        jwks: &state.client_jwks,
    };
    let client = client_auth::authenticate(&creds, tenant, state.short.as_ref(), now).await?;
    seen.client = Some(client.clone());
    let raw = form.get("grant_type").ok_or_else(|| {
        OAuthError::invalid_request(format!(
            "The token request must specify a 'grant_type'. Valid values: [{}]",
            GrantType::SUPPORTED.join(", ")
        ))
    })?;
    let grant_type = GrantType::parse(raw).ok_or_else(unsupported_grant_type)?;
    seen.grant = Some(grant_type);
    if server.org
        && !matches!(
            grant_type,
            GrantType::ClientCredentials | GrantType::AuthorizationCode | GrantType::TokenExchange
        )
    {
        return Err(OAuthError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedGrantType,
            "The authorization grant type is not supported by the authorization server. Configured grant types: [authorization_code, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange]",
        ));
    }
    refuse_unconfigured_grant(&client, grant_type)?;
    let params = Params::parse(grant_type, form)?;
    let dpop_jkt = if client.dpop_bound {
        let jkt = dpop_proof(req, state, tenant, endpoint_url, now, seen).await?;
        seen.dpop = true;
        Some(jkt)
    } else {
        None
    };
    let r = GrantRequest {
        state,
        tenant,
        server,
        client: &client,
        form,
        now,
        now_ms,
        address: tessera_web::client::client_address(state, req),
        dpop_jkt,
    };
    grants::run(&r, params).await
}

pub(crate) fn unsupported_grant_type() -> OAuthError {
    OAuthError::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        ErrorCode::UnsupportedGrantType,
        format!(
            "The authorization grant type is not supported by the authorization server. Configured grant types: [{}]",
            GrantType::SUPPORTED.join(", ")
        ),
    )
}

/// The app must have the grant type among its `grant_types`.
pub(crate) fn refuse_unconfigured_grant(
    client: &tessera_hot::ClientSnapshot,
    grant_type: GrantType,
) -> Result<(), OAuthError> {
    if client.grant_types.iter().any(|g| g == grant_type.as_str()) {
        return Ok(());
    }
    Err(OAuthError::unauthorized_client(format!(
        "The client is not authorized to use the provided grant type. Configured grant types: [{}]",
        client.grant_types.join(", ")
    )))
}

/// The DPoP proof of a token request from an app with DPoP-bound tokens (RFC 9449 §5), with a
/// nonce required as Okta requires it; the thumbprint of its key.
async fn dpop_proof(
    req: &HttpRequest,
    state: &AppState,
    tenant: &TenantSnapshot,
    endpoint_url: &str,
    now: i64,
    seen: &mut Seen,
) -> Result<String, OAuthError> {
    use tessera_oauth::dpop::{self, Expect, Refused};
    let mut proofs = req.headers().get_all("dpop");
    let proof = match (proofs.next(), proofs.next()) {
        (Some(p), None) => p.to_str().unwrap_or_default(),
        (Some(_), Some(_)) => {
            return Err(OAuthError::code(
                ErrorCode::InvalidDpopProof,
                "Only one DPoP proof JWT may be sent.",
            ));
        }
        (None, _) => {
            return Err(OAuthError::code(
                ErrorCode::InvalidDpopProof,
                "The DPoP proof JWT header is missing.",
            ));
        }
    };
    let expect = Expect {
        method: "POST",
        url: endpoint_url,
        access_token: None,
        nonce_required: true,
        now,
    };
    match dpop::verify(proof, &expect, state.short.as_ref(), &tenant.tenant_id).await {
        Ok(jkt) => Ok(jkt),
        Err(Refused::UseNonce) => {
            seen.dpop_nonce = Some(
                dpop::new_nonce(
                    state.short.as_ref(),
                    state.random.as_ref(),
                    &tenant.tenant_id,
                )
                .await
                .map_err(|_| OAuthError::temporarily_unavailable("short-lived store"))?,
            );
            Err(OAuthError::code(
                ErrorCode::UseDpopNonce,
                "Authorization server requires nonce in DPoP proof.",
            ))
        }
        Err(Refused::Invalid(why)) => Err(OAuthError::code(ErrorCode::InvalidDpopProof, why)),
        Err(Refused::Unavailable) => Err(OAuthError::temporarily_unavailable(
            "short-lived store unavailable",
        )),
    }
}

/// Records a token request and what it issued: `app.oauth2.as.token.grant` (its outcome, and
/// on failure the OAuth error as the reason), and one `…token.grant.{access_token,id_token,
/// refresh_token}` follow-up per token issued, named by its `jti` (an opaque refresh token by
/// nothing of its own).
fn record(
    state: &AppState,
    req: &HttpRequest,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    seen: &Seen,
    result: &Result<Granted, OAuthError>,
) {
    let prefix = crate::events::prefix(server);
    let actor = match &seen.client {
        Some(c) => crate::events::client_party(c),
        None => Party::new("PublicClientApp", "unknown"),
    };
    let origin = tessera_web::client::origin(req);
    let grant = seen.grant.map_or("unknown", |g| g.as_str());
    let base = |event_type: String, message: &str| {
        Event::new(&tenant.tenant_id, event_type, message, actor.clone())
            .origin(origin.clone())
            .target(crate::events::server_party(server))
            .debug("grantType", grant)
    };
    match result {
        Err(e) => state.syslog.record(
            base(format!("{prefix}.token.grant"), "OAuth2 token request")
                .outcome(Outcome::failure(e.error.as_str()))
                .debug("errorDescription", e.description.clone()),
        ),
        Ok(granted) => {
            let mut event = base(format!("{prefix}.token.grant"), "OAuth2 token request")
                .debug("grantedScopes", granted.scopes.join(" "));
            let at = &granted.access;
            if granted.is_assertion() {
                state.syslog.record(event.follow_up(
                    format!("{prefix}.token.grant.id_jag"),
                    "OAuth2 identity assertion authorization grant is issued",
                    Party::new("id_jag", &at.jti).detail(json!({
                        "subject": at.sub,
                        "expires": at.exp,
                        "scopes": granted.scopes,
                    })),
                ));
                return;
            }
            event = event.follow_up(
                format!("{prefix}.token.grant.access_token"),
                "OAuth2 access token is granted",
                Party::new("access_token", &at.jti).detail(json!({
                    "subject": at.sub,
                    "expires": at.exp,
                    "scopes": granted.scopes,
                })),
            );
            if let Some(id) = &granted.id_token {
                event = event.follow_up(
                    format!("{prefix}.token.grant.id_token"),
                    "OAuth2 id token is granted",
                    Party::new("id_token", &id.jti).detail(json!({
                        "subject": id.sub,
                        "expires": id.exp,
                        "scopes": Value::Null,
                    })),
                );
            }
            if granted.refresh_token.is_some() {
                event = event.follow_up(
                    format!("{prefix}.token.grant.refresh_token"),
                    "OAuth2 refresh token is granted",
                    // An opaque token is named by nothing of its own: never the token itself.
                    Party::new("refresh_token", "opaque")
                        .detail(json!({ "expiresIn": at.expires_in })),
                );
            }
            state.syslog.record(event);
        }
    }
}
