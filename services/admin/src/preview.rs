//! `POST /api/v1/authorizationServers/{id}/tokenPreview`: what the token endpoint would decide
//! for a client, a grant type, scopes and a user, and why — and, with a `proposed` change and a
//! list of `requests`, which of their decisions the change would turn (docs/token-preview.md).
//! It needs only the permission to read the server, and changes nothing: no token is signed,
//! stored or logged, no inline hook is called, no proposed change is saved. The decisions are
//! the token service's own ([`tessera_core::preview::Previewer`]).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_core::preview::{PreviewInput, Unpreviewable};
use tessera_web::ApiError;
use tessera_web::tenant::Admin;

/// The most scopes a preview may ask for.
const MAX_SCOPES: usize = 100;
/// The longest client id, grant type, user or scope name read.
const MAX_FIELD: usize = 1024;
/// The most requests one proposed change is previewed for.
const MAX_REQUESTS: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RequestInput {
    client_id: Option<String>,
    grant_type: Option<String>,
    scopes: Option<Vec<String>>,
    user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PreviewBody {
    client_id: Option<String>,
    grant_type: Option<String>,
    scopes: Option<Vec<String>>,
    user_id: Option<String>,
    /// An unsaved change to the server's policies (docs/token-preview.md).
    proposed: Option<Value>,
    /// The requests to compare with and without the proposed change.
    requests: Option<Vec<RequestInput>>,
}

pub(crate) async fn token_preview(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<PreviewBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let Some(previewer) = state.previewer.get() else {
        return Err(ApiError::internal(
            "the token preview needs the token service's decisions: run `tessera serve` (any --service)",
        ));
    };
    let server = path.1.as_str();
    let tenant = admin.tenant.name.as_str();
    let Some(proposed) = body.proposed else {
        if body.requests.is_some() {
            return Err(ApiError::invalid("requests", "only with a proposed change"));
        }
        let one = RequestInput {
            client_id: body.client_id,
            grant_type: body.grant_type,
            scopes: body.scopes,
            user_id: body.user_id,
        };
        let input = validate(one, "")?;
        let found = previewer
            .preview(&state, tenant, server, &input)
            .await
            .map_err(|e| refused(e, server))?;
        return Ok(HttpResponse::Ok().json(found));
    };
    // A policy-change diff: each request decided as saved and as proposed.
    if body.client_id.is_some()
        || body.grant_type.is_some()
        || body.scopes.is_some()
        || body.user_id.is_some()
    {
        return Err(ApiError::invalid(
            "proposed",
            "with a proposed change, list the requests in `requests`",
        ));
    }
    let requests = body.requests.unwrap_or_default();
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return Err(ApiError::invalid(
            "requests",
            format!("1 to {MAX_REQUESTS} requests"),
        ));
    }
    let mut changes = Vec::with_capacity(requests.len());
    let mut changed = 0;
    for (i, r) in requests.into_iter().enumerate() {
        let mut input = validate(r, &format!("requests[{i}].",))?;
        let before = previewer
            .preview(&state, tenant, server, &input)
            .await
            .map_err(|e| refused(e, server))?;
        input.proposed = Some(proposed.clone());
        let after = previewer
            .preview(&state, tenant, server, &input)
            .await
            .map_err(|e| refused(e, server))?;
        let (was, will) = (summary(&before), summary(&after));
        let differs = was != will;
        changed += usize::from(differs);
        changes.push(
            json!({"request": before["request"], "changed": differs, "before": was, "after": will,
            "explanation": {"policies": after["policies"], "scopes": after["scopes"]}}),
        );
    }
    Ok(HttpResponse::Ok().json(json!({"changed": changed, "requests": changes})))
}

/// What a decision is, for comparing two: allowed with which scopes and lifetimes, or the error.
fn summary(preview: &Value) -> Value {
    let granted: Vec<&Value> = preview["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["granted"] == true)
        .map(|s| &s["name"])
        .collect();
    if preview["decision"] == "ALLOW" {
        let rule = preview["policies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["rules"].as_array().into_iter().flatten())
            .find(|r| r["outcome"] == "MATCHED")
            .map(|r| r["id"].clone())
            .unwrap_or(Value::Null);
        json!({"decision": "ALLOW", "scopes": granted, "rule": rule, "lifetimes": preview["lifetimes"]})
    } else {
        json!({"decision": "DENY", "error": preview["error"]})
    }
}

fn refused(e: Unpreviewable, server: &str) -> ApiError {
    match e {
        Unpreviewable::UnknownServer => ApiError::not_found(server, "AuthorizationServer"),
        Unpreviewable::Invalid(field, cause) => ApiError::invalid(field, cause),
        Unpreviewable::Failed {
            unavailable: true,
            cause,
        } => ApiError::unavailable(cause),
        Unpreviewable::Failed { cause, .. } => ApiError::internal(cause),
    }
}

/// The request's fields, each named when it is missing or too long.
fn validate(body: RequestInput, prefix: &str) -> Result<PreviewInput, ApiError> {
    let mut causes = Vec::new();
    let mut required = |name: &str, value: Option<String>| match value {
        Some(v) if !v.is_empty() && v.len() <= MAX_FIELD => v,
        Some(v) if !v.is_empty() => {
            causes.push(format!("{prefix}{name}: at most {MAX_FIELD} characters"));
            String::new()
        }
        _ => {
            causes.push(format!("{prefix}{name}: The field cannot be left blank"));
            String::new()
        }
    };
    let client_id = required("clientId", body.client_id);
    let grant_type = required("grantType", body.grant_type);
    if let Some(scopes) = &body.scopes {
        if scopes.len() > MAX_SCOPES {
            causes.push(format!("{prefix}scopes: at most {MAX_SCOPES}"));
        }
        if scopes
            .iter()
            .any(|s| s.is_empty() || s.len() > MAX_FIELD || s.contains(' '))
        {
            causes.push(format!(
                "{prefix}scopes: each is a scope name, without spaces, of 1 to {MAX_FIELD} characters"
            ));
        }
    }
    if body
        .user_id
        .as_ref()
        .is_some_and(|u| u.is_empty() || u.len() > MAX_FIELD)
    {
        causes.push(format!("{prefix}userId: 1 to {MAX_FIELD} characters"));
    }
    if !causes.is_empty() {
        return Err(ApiError::validation("tokenPreview", causes));
    }
    Ok(PreviewInput {
        client_id,
        grant_type,
        scopes: body.scopes,
        user: body.user_id,
        proposed: None,
    })
}
