//! Scopes of an authorization server (Okta's authorization-server scopes).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::validate;
use tessera_store::entities::{authorization_server as srv, consent, scope};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, paged, server};

pub fn routes(api: &mut Api) {
    let servers = Guard::of(Resource::AuthorizationServers);
    api.get("/authorizationServers/{id}/scopes", servers, list)
        .post("/authorizationServers/{id}/scopes", servers, create)
        .get("/authorizationServers/{id}/scopes/{scopeId}", servers, get)
        .put(
            "/authorizationServers/{id}/scopes/{scopeId}",
            servers,
            replace,
        )
        .delete(
            "/authorizationServers/{id}/scopes/{scopeId}",
            servers,
            delete,
        );
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeInput {
    name: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    consent: Option<String>,
    optional: Option<bool>,
    default: Option<bool>,
    metadata_publish: Option<String>,
}

fn render(org: &str, s: &srv::Model, sc: &scope::Model) -> Value {
    let v = json!({
        "id": sc.id,
        "name": sc.name,
        "displayName": sc.display_name,
        "description": sc.description,
        "system": sc.system,
        "default": sc.is_default,
        "consent": sc.consent,
        "optional": sc.optional,
        "metadataPublish": sc.metadata_publish,
        "_links": {
            "self": hinted(format!("{org}/api/v1/authorizationServers/{}/scopes/{}", s.id, sc.id), &["GET", "PUT", "DELETE"]),
        },
    });
    crate::support::without_nulls(v, &["displayName", "description"])
}

async fn validated(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
    input: ScopeInput,
    existing: Option<&scope::Model>,
) -> Result<scope::Model, ApiError> {
    let mut c = Causes::new();
    let name = c
        .require("name", input.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("name", validate::scope_name(&name));
        let clash = repo::find_by::<scope::Entity>(
            &state.db,
            &admin.tenant.id,
            Condition::all()
                .add(scope::Column::ServerId.eq(&s.id))
                .add(scope::Column::Name.eq(&name)),
        )
        .await?;
        if clash.is_some_and(|x| existing.is_none_or(|e| e.id != x.id)) {
            c.add(
                "name",
                "A scope with the same name already exists for this authorization server.",
            );
        }
        if existing.is_some_and(|e| e.system && e.name != name) {
            c.add("name", "The name of a system scope cannot be changed.");
        }
    }
    if let Some(d) = &input.display_name {
        c.check("displayName", validate::length(d, 0, 255));
    }
    if let Some(d) = &input.description {
        c.check("description", validate::length(d, 0, 1024));
    }
    let consent = input.consent.unwrap_or_else(|| "IMPLICIT".into());
    if !matches!(consent.as_str(), "IMPLICIT" | "REQUIRED" | "FLEXIBLE") {
        c.add("consent", "must be one of IMPLICIT, REQUIRED, FLEXIBLE");
    }
    let metadata_publish = input
        .metadata_publish
        .unwrap_or_else(|| "NO_CLIENTS".into());
    if !matches!(metadata_publish.as_str(), "NO_CLIENTS" | "ALL_CLIENTS") {
        c.add("metadataPublish", "must be NO_CLIENTS or ALL_CLIENTS");
    }
    c.finish()?;
    let now = state.now_ms();
    Ok(scope::Model {
        seq: existing.map_or(0, |e| e.seq),
        tenant_id: admin.tenant.id.clone(),
        id: existing.map_or_else(|| state.new_id(IdKind::Scope), |e| e.id.clone()),
        server_id: s.id.clone(),
        name,
        display_name: input.display_name,
        description: input.description,
        consent,
        optional: input.optional.unwrap_or(false),
        is_default: input.default.unwrap_or(false),
        metadata_publish,
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
) -> Result<scope::Model, ApiError> {
    repo::find::<scope::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .filter(|sc| sc.server_id == s.id)
        .ok_or_else(|| ApiError::not_found(id, "OAuth2Scope"))
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let mut cond = Condition::all().add(scope::Column::ServerId.eq(&s.id));
    if let Some(term) = q.q.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(tessera_store::text::contains(scope::Column::Name, term));
    }
    let org = admin.tenant.org_url.clone();
    paged::<scope::Entity>(&state, &admin, &req, &q, PageSize::STANDARD, cond, |sc| {
        Ok(render(&org, &s, sc))
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ScopeInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let model = validated(&state, &admin, &s, body.into_inner(), None).await?;
    let txn = state.begin().await?;
    let sc = repo::insert::<scope::Entity>(&txn, model).await?;
    admin
        .commit(&state, txn, Change::server("scope", &sc.id, &s.id))
        .await?;
    Ok(HttpResponse::Created().json(render(&admin.tenant.org_url, &s, &sc)))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let sc = find(&state, &admin, &s, &path.2).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &s, &sc)))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<ScopeInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let existing = find(&state, &admin, &s, &path.2).await?;
    let model = validated(&state, &admin, &s, body.into_inner(), Some(&existing)).await?;
    let txn = state.begin().await?;
    let sc = repo::update::<scope::Entity>(&txn, model).await?;
    admin
        .commit(&state, txn, Change::server("scope", &sc.id, &s.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &s, &sc)))
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let sc = find(&state, &admin, &s, &path.2).await?;
    if sc.system {
        return Err(ApiError::invalid(
            "system",
            "A system scope cannot be deleted.",
        ));
    }
    let txn = state.begin().await?;
    repo::delete_where::<scope::Entity>(&txn, &admin.tenant.id, scope::Column::Id.eq(&sc.id))
        .await?;
    // Consents to a deleted scope end with it: a scope created later under the same name is
    // asked for again.
    tessera_store::tokens::revoke_consents(
        &txn,
        &admin.tenant.id,
        Condition::all()
            .add(consent::Column::ServerId.eq(&s.id))
            .add(consent::Column::ScopeName.eq(&sc.name)),
        state.now_ms(),
    )
    .await?;
    admin
        .commit(&state, txn, Change::server("scope", &sc.id, &s.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
