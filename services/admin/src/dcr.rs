//! Dynamic client registration, as Okta's Client API has it
//! (<https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/Client/>): RFC 7591
//! registration and RFC 7592 read, replace and delete at `{org}/oauth2/v1/clients`, authorized
//! as the rest of the management API (an API token, or an org-server access token with
//! `okta.clients.register`, `okta.clients.read` or `okta.clients.manage`) — Okta issues no
//! registration access tokens.
//!
//! A registered client is an app like any other (one object model with `/api/v1/apps`): the
//! metadata is turned into the Apps API's shape, validated by the same code and shown back as
//! RFC 7591 metadata. Registered clients default to `consent_method` `REQUIRED` (Okta's rule),
//! `application_type` `web`, `grant_types` `["authorization_code"]`, `response_types`
//! `["code"]` and `token_endpoint_auth_method` `client_secret_basic` (RFC 7591 §2). Refusals
//! are RFC 7591 §3.2.2 bodies: `invalid_client_metadata` (or `invalid_redirect_uri`) naming
//! the field.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_store::entities::app;
use tessera_store::{ColumnTrait as _, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::apps::{AppInput, create_app, delete_app, render, replace_app};

/// Client metadata copied between RFC 7591 and `settings.oauthClient` as they are.
const SETTINGS: &[&str] = &[
    "application_type",
    "redirect_uris",
    "post_logout_redirect_uris",
    "response_types",
    "grant_types",
    "initiate_login_uri",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "jwks",
    "jwks_uri",
    "request_object_signing_alg",
    "frontchannel_logout_uri",
    "frontchannel_logout_session_required",
    "dpop_bound_access_tokens",
    "require_pushed_authorization_requests",
    "consent_method",
];
/// The longest list a page holds.
const MAX_LIMIT: usize = 200;

pub fn routes(api: &mut Api) {
    let clients = Guard::of(Resource::Clients);
    api.post("", Guard::of(Resource::ClientRegistration), register)
        .get("", clients, list)
        .get("/{clientId}", clients, read)
        .put("/{clientId}", clients, replace)
        .delete("/{clientId}", clients, remove);
}

/// RFC 7591 §3.2.2: a refusal naming what was wrong.
struct Refusal {
    error: &'static str,
    description: String,
}

impl Refusal {
    fn metadata(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_client_metadata",
            description: description.into(),
        }
    }

    fn response(self) -> HttpResponse {
        HttpResponse::build(StatusCode::BAD_REQUEST)
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "error": self.error, "error_description": self.description }))
    }
}

/// A validation failure of the Apps API, told in client-metadata terms.
fn as_metadata_error(e: ApiError) -> Result<HttpResponse, ApiError> {
    if e.status != StatusCode::BAD_REQUEST {
        return Err(e);
    }
    let cause = e.causes.first().cloned().unwrap_or(e.summary);
    let (field, reason) = cause.split_once(": ").unwrap_or(("", cause.as_str()));
    let field = field
        .trim_start_matches("settings.oauthClient.")
        .trim_start_matches("credentials.oauthClient.");
    let field = if field == "label" {
        "client_name"
    } else {
        field
    };
    let error = if field == "redirect_uris" {
        "invalid_redirect_uri"
    } else {
        "invalid_client_metadata"
    };
    let description = if field.is_empty() {
        reason.to_owned()
    } else {
        format!("`{field}`: {reason}")
    };
    Ok(Refusal { error, description }.response())
}

/// RFC 7591 metadata as the Apps API's body.
fn app_input(metadata: &Map<String, Value>) -> Result<AppInput, Refusal> {
    let name = metadata
        .get("client_name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| Refusal::metadata("`client_name`: The field can't be left blank."))?;
    let mut settings = Map::new();
    for field in SETTINGS {
        if let Some(v) = metadata.get(*field).filter(|v| !v.is_null()) {
            settings.insert((*field).to_owned(), v.clone());
        }
    }
    settings
        .entry("application_type")
        .or_insert_with(|| json!("web"));
    settings
        .entry("grant_types")
        .or_insert_with(|| json!(["authorization_code"]));
    let redirect_flow = settings["grant_types"].as_array().is_some_and(|g| {
        g.iter()
            .any(|g| g == "authorization_code" || g == "implicit")
    });
    if redirect_flow {
        settings
            .entry("response_types")
            .or_insert_with(|| json!(["code"]));
    }
    settings
        .entry("consent_method")
        .or_insert_with(|| json!("REQUIRED"));
    let method = metadata
        .get("token_endpoint_auth_method")
        .cloned()
        .unwrap_or_else(|| json!("client_secret_basic"));
    serde_json::from_value(json!({
        "name": "oidc_client",
        "label": name,
        "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": method}},
        "settings": {"oauthClient": settings},
    }))
    .map_err(|e| Refusal::metadata(e.to_string()))
}

/// An app as RFC 7591 metadata (with `client_secret` when the app shows one).
fn metadata(app: &app::Model, rendered: &Value) -> Value {
    let creds = &rendered["credentials"]["oauthClient"];
    let settings = &rendered["settings"]["oauthClient"];
    let mut out = Map::new();
    out.insert("client_id".into(), json!(app.client_id));
    out.insert("client_id_issued_at".into(), json!(app.created / 1000));
    out.insert("client_name".into(), json!(app.label));
    if let Some(secret) = creds.get("client_secret") {
        out.insert("client_secret".into(), secret.clone());
        // Okta's secrets do not expire.
        out.insert("client_secret_expires_at".into(), json!(0));
    }
    out.insert(
        "token_endpoint_auth_method".into(),
        creds["token_endpoint_auth_method"].clone(),
    );
    // Absent rather than null or empty: Okta's Client schema types some lists as strings, and
    // an empty list says nothing.
    for field in SETTINGS {
        if let Some(v) = settings
            .get(*field)
            .filter(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
        {
            out.insert((*field).to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// The registered client `client_id` names, as an app of this tenant.
async fn find(state: &AppState, admin: &Admin, client_id: &str) -> Result<app::Model, ApiError> {
    repo::find_by::<app::Entity>(
        &state.db,
        &admin.tenant.id,
        app::Column::ClientId.eq(client_id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(client_id, "Client"))
}

fn object(body: &web::Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Refusal::metadata(
            "The request body must be a JSON object of client metadata.",
        )),
    }
}

/// `POST {org}/oauth2/v1/clients` (RFC 7591 §3.1): `201` with the client's metadata.
async fn register(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input = match object(&body).and_then(|m| app_input(&m)) {
        Ok(input) => input,
        Err(refused) => return Ok(refused.response()),
    };
    let (a, secret) = match create_app(&state, &admin, input, true).await {
        Ok(created) => created,
        Err(e) => return as_metadata_error(e),
    };
    let rendered = render(&state, &admin.tenant.org_url, &a, secret.as_deref()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(metadata(&a, &rendered)))
}

#[derive(Debug, serde::Deserialize)]
struct ListParams {
    limit: Option<String>,
    after: Option<String>,
    q: Option<String>,
}

/// `GET {org}/oauth2/v1/clients`: clients by registration order, `q` matching the start of
/// `client_name`, `limit` (20, at most 200) and `after` a `client_id`.
async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = match params.limit.as_deref() {
        None => 20,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("must be an integer between 1 and {MAX_LIMIT}"),
                ));
            }
        },
    };
    let mut apps = repo::all::<app::Entity>(
        &state.db,
        &admin.tenant.id,
        app::Column::SignOnMode.eq("OPENID_CONNECT"),
    )
    .await?;
    apps.sort_by_key(|a| a.seq);
    if let Some(after) = params.after.as_deref().filter(|a| !a.is_empty()) {
        let at = apps
            .iter()
            .position(|a| a.client_id == after)
            .map_or(0, |i| i + 1);
        apps.drain(..at);
    }
    let q = params.q.as_deref().unwrap_or_default().to_lowercase();
    let mut out = Vec::new();
    for a in apps
        .into_iter()
        .filter(|a| a.label.to_lowercase().starts_with(&q))
        .take(limit)
    {
        let rendered = render(&state, &admin.tenant.org_url, &a, None).await?;
        out.push(metadata(&a, &rendered));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET {org}/oauth2/v1/clients/{clientId}` (RFC 7592 §2.1).
async fn read(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = find(&state, &admin, &path.1).await?;
    let rendered = render(&state, &admin.tenant.org_url, &a, None).await?;
    Ok(HttpResponse::Ok().json(metadata(&a, &rendered)))
}

/// `PUT {org}/oauth2/v1/clients/{clientId}` (RFC 7592 §2.2): every setting, as on registration.
async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let existing = find(&state, &admin, &path.1).await?;
    let metadata_in = match object(&body) {
        Ok(m) => m,
        Err(refused) => return Ok(refused.response()),
    };
    if metadata_in
        .get("client_id")
        .and_then(Value::as_str)
        .is_some_and(|id| id != existing.client_id)
    {
        return Ok(Refusal::metadata("`client_id`: must be the client's own.").response());
    }
    let input = match app_input(&metadata_in) {
        Ok(input) => input,
        Err(refused) => return Ok(refused.response()),
    };
    let a = match replace_app(&state, &admin, existing, input).await {
        Ok(a) => a,
        Err(e) => return as_metadata_error(e),
    };
    let rendered = render(&state, &admin.tenant.org_url, &a, None).await?;
    Ok(HttpResponse::Ok().json(metadata(&a, &rendered)))
}

/// `DELETE {org}/oauth2/v1/clients/{clientId}` (RFC 7592 §2.3): the client and its tokens go.
async fn remove(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let a = find(&state, &admin, &path.1).await?;
    delete_app(&state, &admin, a).await?;
    Ok(HttpResponse::NoContent().finish())
}
