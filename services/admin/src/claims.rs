//! Claims of an authorization server (Okta's authorization-server claims). Expression values are parsed with
//! the Expression Language parser when saved; a syntax error is a 400 naming its position.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::{el, validate};
use tessera_store::entities::{authorization_server as srv, claim};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, server, stored, to_text};

pub fn routes(api: &mut Api) {
    let servers = Guard::of(Resource::AuthorizationServers);
    api.get("/authorizationServers/{id}/claims", servers, list)
        .post("/authorizationServers/{id}/claims", servers, create)
        .get("/authorizationServers/{id}/claims/{claimId}", servers, get)
        .put(
            "/authorizationServers/{id}/claims/{claimId}",
            servers,
            replace,
        )
        .delete(
            "/authorizationServers/{id}/claims/{claimId}",
            servers,
            delete,
        );
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimInput {
    name: Option<String>,
    status: Option<String>,
    claim_type: Option<String>,
    value_type: Option<String>,
    value: Option<String>,
    #[serde(rename = "group_filter_type")]
    group_filter_type: Option<String>,
    always_include_in_token: Option<bool>,
    conditions: Option<ConditionsInput>,
}

#[derive(Debug, Default, Deserialize)]
struct ConditionsInput {
    scopes: Option<Vec<String>>,
}

fn render(org: &str, s: &srv::Model, c: &claim::Model) -> Result<Value, ApiError> {
    let scopes: Vec<String> = stored(&c.condition_scopes)?;
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "claimType": c.claim_type,
        "valueType": c.value_type,
        "value": c.value,
        "alwaysIncludeInToken": c.always_include_in_token,
        "conditions": { "scopes": scopes },
        "system": c.system,
        "_links": {
            "self": hinted(format!("{org}/api/v1/authorizationServers/{}/claims/{}", s.id, c.id), &["GET", "PUT", "DELETE"]),
        },
    });
    if let Some(f) = &c.group_filter_type {
        v["group_filter_type"] = json!(f);
    }
    Ok(v)
}

async fn validated(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
    input: ClaimInput,
    existing: Option<&claim::Model>,
) -> Result<claim::Model, ApiError> {
    let mut c = Causes::new();
    let name = c
        .require("name", input.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("name", validate::claim_name(&name));
        if validate::RESERVED_CLAIMS.contains(&name.as_str()) && !existing.is_some_and(|e| e.system)
        {
            c.add(
                "name",
                format!("'{name}' is a reserved claim and cannot be customized"),
            );
        }
    }
    let claim_type = c
        .require("claimType", input.claim_type.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !claim_type.is_empty() && !matches!(claim_type.as_str(), "RESOURCE" | "IDENTITY") {
        c.add("claimType", "must be RESOURCE or IDENTITY");
    }
    let value_type = input.value_type.unwrap_or_else(|| "EXPRESSION".into());
    let value = c
        .require("value", input.value.as_deref())
        .unwrap_or_default()
        .to_owned();
    let mut group_filter_type = None;
    match value_type.as_str() {
        "EXPRESSION" => {
            if !value.is_empty()
                && let Err(e) = el::parse(&value)
            {
                c.add("value", e);
            }
        }
        "GROUPS" => {
            let f = input.group_filter_type.unwrap_or_default();
            if !matches!(f.as_str(), "STARTS_WITH" | "EQUALS" | "CONTAINS" | "REGEX") {
                c.add(
                    "group_filter_type",
                    "must be one of STARTS_WITH, EQUALS, CONTAINS, REGEX",
                );
            } else if f == "REGEX" {
                let pattern = value
                    .strip_prefix('/')
                    .and_then(|v| v.strip_suffix('/'))
                    .unwrap_or(&value);
                if regex::Regex::new(pattern).is_err() {
                    c.add("value", "is not a valid regular expression");
                }
            }
            group_filter_type = Some(f);
            c.check("value", validate::length(&value, 1, 1024));
        }
        "SYSTEM" if existing.is_some_and(|e| e.system) => {}
        _ => c.add("valueType", "must be EXPRESSION or GROUPS"),
    }
    let status = input.status.unwrap_or_else(|| "ACTIVE".into());
    if !matches!(status.as_str(), "ACTIVE" | "INACTIVE") {
        c.add("status", "must be ACTIVE or INACTIVE");
    }
    let scopes = input.conditions.and_then(|x| x.scopes).unwrap_or_default();
    for sc in &scopes {
        c.check("conditions.scopes", validate::scope_name(sc));
    }
    if let Some(e) = existing.filter(|e| e.system)
        && (e.name != name || e.value != value)
    {
        c.add(
            "system",
            "The name and value of a system claim cannot be changed.",
        );
    }
    if !name.is_empty() && !claim_type.is_empty() {
        let clash = repo::find_by::<claim::Entity>(
            &state.db,
            &admin.tenant.id,
            Condition::all()
                .add(claim::Column::ServerId.eq(&s.id))
                .add(claim::Column::ClaimType.eq(&claim_type))
                .add(claim::Column::Name.eq(&name)),
        )
        .await?;
        if clash.is_some_and(|x| existing.is_none_or(|e| e.id != x.id)) {
            c.add(
                "name",
                "A claim with the same name already exists for this claim type.",
            );
        }
    }
    c.finish()?;
    // Access-token claims are always included (§4.4); the flag matters for ID tokens only.
    let always = claim_type == "RESOURCE" || input.always_include_in_token.unwrap_or(false);
    let now = state.now_ms();
    Ok(claim::Model {
        seq: existing.map_or(0, |e| e.seq),
        tenant_id: admin.tenant.id.clone(),
        id: existing.map_or_else(|| state.new_id(IdKind::Claim), |e| e.id.clone()),
        server_id: s.id.clone(),
        name,
        status,
        claim_type,
        value_type: if existing.is_some_and(|e| e.system) {
            existing.map_or(value_type.clone(), |e| e.value_type.clone())
        } else {
            value_type
        },
        value,
        group_filter_type,
        always_include_in_token: always,
        condition_scopes: to_text(&scopes),
        system: existing.is_some_and(|e| e.system),
        created: existing.map_or(now, |e| e.created),
        last_updated: now,
    })
}

async fn find(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
    id: &str,
) -> Result<claim::Model, ApiError> {
    repo::find::<claim::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .filter(|c| c.server_id == s.id)
        .ok_or_else(|| ApiError::not_found(id, "OAuth2Claim"))
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let claims = repo::all::<claim::Entity>(
        &state.db,
        &admin.tenant.id,
        claim::Column::ServerId.eq(&s.id),
    )
    .await?;
    let out = claims
        .iter()
        .map(|c| render(&admin.tenant.org_url, &s, c))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ClaimInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let model = validated(&state, &admin, &s, body.into_inner(), None).await?;
    let txn = state.begin().await?;
    let c = repo::insert::<claim::Entity>(&txn, model).await?;
    admin
        .commit(&state, txn, Change::server("claim", &c.id, &s.id))
        .await?;
    Ok(HttpResponse::Created().json(render(&admin.tenant.org_url, &s, &c)?))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let c = find(&state, &admin, &s, &path.2).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &s, &c)?))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<ClaimInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let existing = find(&state, &admin, &s, &path.2).await?;
    let model = validated(&state, &admin, &s, body.into_inner(), Some(&existing)).await?;
    let txn = state.begin().await?;
    let c = repo::update::<claim::Entity>(&txn, model).await?;
    admin
        .commit(&state, txn, Change::server("claim", &c.id, &s.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &s, &c)?))
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let c = find(&state, &admin, &s, &path.2).await?;
    if c.system {
        return Err(ApiError::invalid(
            "system",
            "A system claim cannot be deleted.",
        ));
    }
    let txn = state.begin().await?;
    repo::delete_where::<claim::Entity>(&txn, &admin.tenant.id, claim::Column::Id.eq(&c.id))
        .await?;
    admin
        .commit(&state, txn, Change::server("claim", &c.id, &s.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
