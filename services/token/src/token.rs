//! `POST /v1/token` (RFC 6749 §3.2, OKTA-REFERENCE §2.4): parse the form (repeated parameters
//! refused), resolve the server from hot state, authenticate the client, check the grant type
//! against the app, then dispatch on a closed grant enum.

use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use tessera_core::AppState;
use tessera_oauth::client_auth::{self, Credentials};
use tessera_oauth::{Form, OAuthError};

use crate::grants::{self, GrantRequest};
use crate::metadata::{ServerPath, resolve};

/// The grants this endpoint implements; anything else is `unsupported_grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    Password,
    RefreshToken,
}

impl GrantType {
    const SUPPORTED: &'static [&'static str] = &[
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
    ];

    fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(Self::AuthorizationCode),
            "client_credentials" => Some(Self::ClientCredentials),
            "password" => Some(Self::Password),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
        }
    }
}

pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
    path: web::Path<ServerPath>,
) -> Result<HttpResponse, OAuthError> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "The request must use Content-Type application/x-www-form-urlencoded.",
        ));
    }
    let form = Form::parse(&body)?;
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
        Err(e) => e.error,
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
    crate::events::token_grant(&state, &req, &tenant, &server, &seen, &result);
    let body = result?;
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
) -> Result<serde_json::Map<String, Value>, OAuthError> {
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
    };
    let client = client_auth::authenticate(&creds, tenant, state.short.as_ref(), now).await?;
    seen.client = Some(client.clone());
    let raw = form.get("grant_type").ok_or_else(|| {
        OAuthError::invalid_request(format!(
            "The token request must specify a 'grant_type'. Valid values: [{}]",
            GrantType::SUPPORTED.join(", ")
        ))
    })?;
    let grant_type = GrantType::parse(raw).ok_or_else(|| {
        OAuthError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "The authorization grant type is not supported by the authorization server. Configured grant types: [{}]",
                GrantType::SUPPORTED.join(", ")
            ),
        )
    })?;
    seen.grant = Some(grant_type);
    if server.org
        && !matches!(
            grant_type,
            GrantType::ClientCredentials | GrantType::AuthorizationCode
        )
    {
        return Err(OAuthError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server. Configured grant types: [authorization_code, client_credentials]",
        ));
    }
    if !client.grant_types.iter().any(|g| g == grant_type.as_str()) {
        return Err(OAuthError::unauthorized_client(format!(
            "The client is not authorized to use the provided grant type. Configured grant types: [{}]",
            client.grant_types.join(", ")
        )));
    }
    let r = GrantRequest {
        state,
        tenant,
        server,
        client: &client,
        form,
        now,
        now_ms,
        address: tessera_web::client::client_address(state, req),
    };
    match grant_type {
        GrantType::ClientCredentials if server.org => grants::org_client_credentials(&r).await,
        GrantType::AuthorizationCode => grants::authorization_code(&r).await,
        GrantType::ClientCredentials => grants::client_credentials(&r).await,
        GrantType::Password => grants::password(&r).await,
        GrantType::RefreshToken => grants::refresh(&r).await,
    }
}
