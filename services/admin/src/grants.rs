//! Consent grants (Okta's User Grants API): the scopes a user allowed an app on the consent
//! page, listed and revoked per user, per grant and per user and client. A revoked grant is
//! asked for again on the next authorize request; the tokens already issued stay valid until
//! they are revoked through the token APIs.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_store::entities::{app, authorization_server as srv, consent, scope};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{hinted, href, list_response, ts, user};

pub fn routes(api: &mut Api) {
    let per_client = "/users/{userId}/clients/{clientId}/grants";
    let users = Guard::of(Resource::Users);
    let user = users.on_user("userId");
    api.get("/users/{userId}/grants", users, list_for_user)
        .delete("/users/{userId}/grants", user, revoke_for_user)
        .get("/users/{userId}/grants/{grantId}", users, get_one)
        .delete("/users/{userId}/grants/{grantId}", user, revoke_one)
        .get(per_client, users, list_for_client)
        .delete(per_client, user, revoke_for_client);
}

#[derive(Debug, Deserialize)]
struct GrantFilter {
    #[serde(rename = "scopeId")]
    scope_id: Option<String>,
}

fn active(user_id: &str) -> Condition {
    Condition::all()
        .add(consent::Column::UserId.eq(user_id))
        .add(consent::Column::Status.eq("ACTIVE"))
}

async fn render(
    state: &AppState,
    admin: &Admin,
    c: &consent::Model,
    expand_scope: bool,
) -> Result<Value, ApiError> {
    let t = &admin.tenant.id;
    let org = &admin.tenant.org_url;
    let server = repo::find::<srv::Entity>(&state.db, t, &c.server_id).await?;
    let issuer = server
        .map(|s| tessera_domain::urls::issuer(org, &s.id, s.is_default))
        .unwrap_or_default();
    let sc = repo::find_by::<scope::Entity>(
        &state.db,
        t,
        Condition::all()
            .add(scope::Column::ServerId.eq(&c.server_id))
            .add(scope::Column::Name.eq(&c.scope_name)),
    )
    .await?;
    let app =
        repo::find_by::<app::Entity>(&state.db, t, app::Column::ClientId.eq(&c.client_id)).await?;
    let scope_id = sc.as_ref().map(|s| s.id.clone());
    let me = format!("{org}/api/v1/users/{}/grants/{}", c.user_id, c.id);
    let mut v = json!({
        "id": c.id,
        "status": c.status,
        "created": ts(c.created),
        "createdBy": { "id": c.user_id, "type": "User" },
        "lastUpdated": ts(c.last_updated),
        "issuer": issuer,
        "clientId": c.client_id,
        "userId": c.user_id,
        "scopeId": scope_id,
        "source": "END_USER",
        "_links": {
            "self": hinted(me, &["GET", "DELETE"]),
            "client": href(format!("{org}/oauth2/v1/clients/{}", c.client_id)),
            "user": href(format!("{org}/api/v1/users/{}", c.user_id)),
            "issuer": href(format!("{org}/api/v1/authorizationServers/{}", c.server_id)),
            "authorizationServer": href(format!("{org}/api/v1/authorizationServers/{}", c.server_id)),
        },
    });
    if let Some(id) = &scope_id {
        v["_links"]["scope"] = href(format!(
            "{org}/api/v1/authorizationServers/{}/scopes/{id}",
            c.server_id
        ));
    }
    if let Some(a) = app {
        v["_links"]["app"] = href(format!("{org}/api/v1/apps/{}", a.id));
    }
    if expand_scope {
        v["_embedded"] = json!({ "scope": {
            "id": scope_id,
            "name": c.scope_name,
            "displayName": sc.as_ref().and_then(|s| s.display_name.clone()),
            "description": sc.as_ref().and_then(|s| s.description.clone()),
        } });
    }
    Ok(v)
}

/// Lists the ACTIVE grants matching `cond` (default page 20, at most 200).
async fn list(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    q: &ListParams,
    cond: Condition,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit_in(PageSize::SMALL)?;
    let page =
        repo::page::<consent::Entity>(&state.db, &admin.tenant.id, cond, q.after()?, limit).await?;
    let expand = q.expand.as_deref() == Some("scope");
    let mut items = Vec::with_capacity(page.items.len());
    for c in &page.items {
        items.push(render(state, admin, c, expand).await?);
    }
    Ok(list_response(admin, req, items, page.next_after))
}

/// Revokes the ACTIVE grants matching `cond`.
async fn revoke(
    state: &AppState,
    admin: &Admin,
    cond: Condition,
) -> Result<HttpResponse, ApiError> {
    let n =
        tessera_store::tokens::revoke_consents(&state.db, &admin.tenant.id, cond, state.now_ms())
            .await?;
    admin.record(state);
    tracing::info!(tenant = %admin.tenant.id, revoked = n, "consent grants revoked by an administrator");
    Ok(HttpResponse::NoContent().finish())
}

async fn list_for_user(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
    filter: web::Query<GrantFilter>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, &admin, &path.1).await?;
    let mut cond = active(&u.id);
    if let Some(scope_id) = &filter.scope_id {
        // An unknown scope id matches nothing, as a filter should.
        let sc = repo::find::<scope::Entity>(&state.db, &admin.tenant.id, scope_id).await?;
        cond = match sc {
            Some(sc) => cond
                .add(consent::Column::ServerId.eq(sc.server_id))
                .add(consent::Column::ScopeName.eq(sc.name)),
            None => cond.add(consent::Column::Id.eq("")),
        };
    }
    list(&state, &admin, &req, &q, cond).await
}

async fn one(
    state: &AppState,
    admin: &Admin,
    user_id: &str,
    grant_id: &str,
) -> Result<consent::Model, ApiError> {
    repo::find_by::<consent::Entity>(
        &state.db,
        &admin.tenant.id,
        active(user_id).add(consent::Column::Id.eq(grant_id)),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(grant_id, "OAuth2ScopeConsentGrant"))
}

async fn get_one(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, &admin, &path.1).await?;
    let c = one(&state, &admin, &u.id, &path.2).await?;
    Ok(HttpResponse::Ok()
        .json(render(&state, &admin, &c, q.expand.as_deref() == Some("scope")).await?))
}

async fn revoke_for_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, &admin, &path.1).await?;
    revoke(&state, &admin, active(&u.id)).await
}

async fn revoke_one(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, &admin, &path.1).await?;
    let c = one(&state, &admin, &u.id, &path.2).await?;
    revoke(
        &state,
        &admin,
        Condition::all().add(consent::Column::Id.eq(c.id)),
    )
    .await
}

fn user_client(user_id: &str, client_id: &str) -> Condition {
    active(user_id).add(consent::Column::ClientId.eq(client_id))
}

async fn list_for_client(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, &admin, &path.1).await?;
    list(&state, &admin, &req, &q, user_client(&u.id, &path.2)).await
}

async fn revoke_for_client(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = user(&state, &admin, &path.1).await?;
    revoke(&state, &admin, user_client(&u.id, &path.2)).await
}

// --- App grants: the `okta.*` scopes an app may ask the org authorization server for. ---

/// The org authorization server's row (the app grants are stored against it).
async fn org_server(state: &AppState, admin: &Admin) -> Result<srv::Model, ApiError> {
    repo::find_by::<srv::Entity>(&state.db, &admin.tenant.id, srv::Column::Org.eq(true))
        .await?
        .ok_or_else(|| ApiError::internal("the tenant has no org authorization server"))
}

fn render_app_grant(admin: &Admin, app_id: &str, c: &consent::Model, expand: bool) -> Value {
    let org = &admin.tenant.org_url;
    let me = format!("{org}/api/v1/apps/{app_id}/grants/{}", c.id);
    let mut v = json!({
        "id": c.id,
        "status": c.status,
        "created": ts(c.created),
        "createdBy": { "id": c.client_id, "type": "API_TOKEN" },
        "lastUpdated": ts(c.last_updated),
        "issuer": org,
        "clientId": c.client_id,
        "scopeId": c.scope_name,
        "source": "ADMIN",
        "_links": {
            "self": hinted(me, &["GET", "DELETE"]),
            "app": href(format!("{org}/api/v1/apps/{app_id}")),
            "client": href(format!("{org}/oauth2/v1/clients/{}", c.client_id)),
        },
    });
    if expand {
        v["_embedded"] = json!({ "scope": { "id": c.scope_name } });
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppGrantInput {
    issuer: Option<String>,
    scope_id: Option<String>,
}

pub fn app_routes(api: &mut Api) {
    let apps = Guard::of(Resource::Apps);
    let app = apps.on_app("appId");
    api.get("/apps/{appId}/grants", apps, list_app_grants)
        .post("/apps/{appId}/grants", app, grant_to_app)
        .get("/apps/{appId}/grants/{grantId}", apps, get_app_grant)
        .delete("/apps/{appId}/grants/{grantId}", app, revoke_app_grant);
}

fn app_grants(org_server: &str, client_id: &str) -> Condition {
    Condition::all()
        .add(consent::Column::ServerId.eq(org_server))
        .add(consent::Column::UserId.eq(""))
        .add(consent::Column::ClientId.eq(client_id))
        .add(consent::Column::Status.eq("ACTIVE"))
}

async fn grant_to_app(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<AppGrantInput>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let mut c = crate::support::Causes::new();
    let issuer = c
        .require("issuer", body.issuer.as_deref())
        .unwrap_or_default();
    if !issuer.is_empty() && issuer != admin.tenant.org_url {
        c.add(
            "issuer",
            format!(
                "must be the org authorization server's issuer, {}",
                admin.tenant.org_url
            ),
        );
    }
    let scope = c
        .require("scopeId", body.scope_id.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !scope.is_empty() && !tessera_domain::org_scopes::is_org_scope(&scope) {
        c.add(
            "scopeId",
            format!("'{scope}' is not an okta.* scope Tessera grants"),
        );
    }
    c.finish()?;
    let org = org_server(&state, &admin).await?;
    let t = &admin.tenant.id;
    let existing = repo::find_by::<consent::Entity>(
        &state.db,
        t,
        app_grants(&org.id, &a.client_id).add(consent::Column::ScopeName.eq(&scope)),
    )
    .await?;
    let row = match existing {
        Some(row) => row,
        None => {
            let now = state.now_ms();
            let txn = state.begin().await?;
            let row = repo::insert::<consent::Entity>(
                &txn,
                consent::Model {
                    seq: 0,
                    tenant_id: t.clone(),
                    id: state.new_id(tessera_domain::ids::IdKind::Consent),
                    server_id: org.id.clone(),
                    user_id: String::new(),
                    client_id: a.client_id.clone(),
                    scope_name: scope,
                    status: "ACTIVE".into(),
                    created: now,
                    last_updated: now,
                },
            )
            .await?;
            admin
                .commit(&state, txn, Change::app("appGrant", &row.id, &a.id))
                .await?;
            row
        }
    };
    Ok(HttpResponse::Created().json(render_app_grant(&admin, &a.id, &row, false)))
}

async fn list_app_grants(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let a = crate::support::app(&state, &admin, &path.1).await?;
    let org = org_server(&state, &admin).await?;
    let rows = repo::all::<consent::Entity>(
        &state.db,
        &admin.tenant.id,
        app_grants(&org.id, &a.client_id),
    )
    .await?;
    let expand = q.expand.as_deref() == Some("scope");
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|c| render_app_grant(&admin, &a.id, c, expand))
            .collect::<Vec<_>>(),
    ))
}

async fn app_grant(
    state: &AppState,
    admin: &Admin,
    app_id: &str,
    grant_id: &str,
) -> Result<(String, consent::Model), ApiError> {
    let a = crate::support::app(state, admin, app_id).await?;
    let org = org_server(state, admin).await?;
    let row = repo::find_by::<consent::Entity>(
        &state.db,
        &admin.tenant.id,
        app_grants(&org.id, &a.client_id).add(consent::Column::Id.eq(grant_id)),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(grant_id, "OAuth2ScopeConsentGrant"))?;
    Ok((a.id, row))
}

async fn get_app_grant(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, row) = app_grant(&state, &admin, &path.1, &path.2).await?;
    let expand = q.expand.as_deref() == Some("scope");
    Ok(HttpResponse::Ok().json(render_app_grant(&admin, &app_id, &row, expand)))
}

/// Revokes the grant: the app cannot ask for the scope any more (tokens already issued keep it
/// until they expire, within the hour).
async fn revoke_app_grant(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (app_id, row) = app_grant(&state, &admin, &path.1, &path.2).await?;
    let txn = state.begin().await?;
    tessera_store::tokens::revoke_consents(
        &txn,
        &admin.tenant.id,
        Condition::all().add(consent::Column::Id.eq(&row.id)),
        state.now_ms(),
    )
    .await?;
    admin
        .commit(&state, txn, Change::app("appGrant", &row.id, &app_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
