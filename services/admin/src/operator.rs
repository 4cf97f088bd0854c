//! The operator API (`/operator/v1`; README, "APIs"): the SaaS platform provisions, lists, suspends,
//! reactivates and deletes tenants. Authenticated by the operator token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_ephemeral::revocation::Subject;
use tessera_store::entities::{
    api_token, app, app_group, app_jwk, app_secret, app_user, authorization_server, claim, consent,
    group, group_member, inline_hook, log_event, policy, policy_rule, refresh_token,
    role_assignment, scope, signing_key, tenant, user,
};
use tessera_store::repo;
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, link_header};
use tessera_web::routes::Routes;
use tessera_web::tenant::Operator;

use crate::support::ts;

pub fn routes(cfg: &mut web::ServiceConfig) {
    Routes::new(cfg)
        .get("/tenants", list)
        .post("/tenants", create)
        .get("/tenants/{name}", get)
        .delete("/tenants/{name}", delete)
        .post("/tenants/{name}/lifecycle/{action}", lifecycle);
}

fn render(state: &AppState, t: &tenant::Model) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "status": t.status,
        "orgUrl": state.org_url(&t.name),
        "created": ts(t.created),
        "lastUpdated": ts(t.last_updated),
    })
}

#[derive(Debug, Deserialize)]
struct CreateTenant {
    name: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    _: Operator,
    body: web::Json<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    let name = body
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("name", "The field cannot be left blank"))?;
    let p = crate::provision::provision(&state, name).await?;
    tracing::info!(tenant = %p.tenant.name, tenant_id = %p.tenant.id, "tenant provisioned");
    let mut out = render(&state, &p.tenant);
    out["apiToken"] = json!(p.api_token);
    Ok(HttpResponse::Created().json(out))
}

async fn find(state: &AppState, name: &str) -> Result<tenant::Model, ApiError> {
    tessera_store::tenants::by_name(&state.db, name)
        .await?
        .ok_or_else(|| ApiError::not_found(name, "Tenant"))
}

async fn list(
    state: web::Data<AppState>,
    _: Operator,
    req: HttpRequest,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = tessera_store::tenants::page(&state.db, q.after()?, q.limit()?).await?;
    let items: Vec<_> = page.items.iter().map(|t| render(&state, t)).collect();
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            link_header(&state.public_url, &req, page.next_after),
        ))
        .json(items))
}

async fn get(
    state: web::Data<AppState>,
    _: Operator,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(render(&state, &find(&state, &path).await?)))
}

async fn lifecycle(
    state: web::Data<AppState>,
    _: Operator,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let t = find(&state, &path.0).await?;
    let status = match path.1.as_str() {
        "suspend" => "SUSPENDED",
        "activate" => "ACTIVE",
        other => return Err(ApiError::not_found(other, "TenantLifecycleOperation")),
    };
    if t.status != status {
        let txn = state.begin().await?;
        if status == "SUSPENDED" {
            crate::support::revoke_tokens(&state, &txn, &t.id, Subject::Tenant).await?;
        }
        tessera_store::tenants::set_status(&txn, &t.id, status, state.now_ms()).await?;
        state
            .commit(txn, &t.id, Change::everything("tenant", &t.id))
            .await?;
        tracing::info!(tenant = %t.name, status, "tenant lifecycle changed");
    }
    Ok(HttpResponse::Ok().json(render(&state, &find(&state, &path.0).await?)))
}

/// Deletes a suspended tenant and every row it owns, in one transaction.
async fn delete(
    state: web::Data<AppState>,
    _: Operator,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = find(&state, &path).await?;
    if t.status != "SUSPENDED" {
        return Err(ApiError::invalid(
            "status",
            "Only a SUSPENDED tenant can be deleted; suspend it first.",
        ));
    }
    let txn = tessera_store::begin_write(&state.db)
        .await
        .map_err(ApiError::internal)?;
    let id = t.id.as_str();
    repo::purge_tenant::<api_token::Entity>(&txn, id).await?;
    repo::purge_tenant::<authorization_server::Entity>(&txn, id).await?;
    repo::purge_tenant::<scope::Entity>(&txn, id).await?;
    repo::purge_tenant::<claim::Entity>(&txn, id).await?;
    repo::purge_tenant::<policy::Entity>(&txn, id).await?;
    repo::purge_tenant::<policy_rule::Entity>(&txn, id).await?;
    repo::purge_tenant::<app::Entity>(&txn, id).await?;
    repo::purge_tenant::<app_secret::Entity>(&txn, id).await?;
    repo::purge_tenant::<app_jwk::Entity>(&txn, id).await?;
    repo::purge_tenant::<app_user::Entity>(&txn, id).await?;
    repo::purge_tenant::<app_group::Entity>(&txn, id).await?;
    repo::purge_tenant::<user::Entity>(&txn, id).await?;
    repo::purge_tenant::<group::Entity>(&txn, id).await?;
    repo::purge_tenant::<group_member::Entity>(&txn, id).await?;
    repo::purge_tenant::<signing_key::Entity>(&txn, id).await?;
    repo::purge_tenant::<refresh_token::Entity>(&txn, id).await?;
    repo::purge_tenant::<consent::Entity>(&txn, id).await?;
    repo::purge_tenant::<log_event::Entity>(&txn, id).await?;
    repo::purge_tenant::<role_assignment::Entity>(&txn, id).await?;
    repo::purge_tenant::<inline_hook::Entity>(&txn, id).await?;
    tessera_store::tenants::delete(&txn, id).await?;
    txn.commit().await.map_err(ApiError::internal)?;
    let event = tessera_ephemeral::ConfigEvent {
        tenant: t.id.clone(),
        what: "tenant".into(),
        id: t.id.clone(),
        version: i64::MAX,
        published_ms: state.now_ms(),
        reload: tessera_ephemeral::Reload::All,
        origin: state.instance_id.to_string(),
    };
    if let Err(e) = state.bus.publish(&event).await {
        tracing::warn!(error = %e, "tenant deletion committed but not announced");
    }
    tracing::info!(tenant = %t.name, "tenant deleted");
    Ok(HttpResponse::NoContent().finish())
}
