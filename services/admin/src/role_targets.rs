//! Role targets, as Okta has them
//! (<https://developer.okta.com/docs/api/openapi/okta-management/management/tag/RoleTarget/>):
//! a `USER_ADMIN`, `HELP_DESK_ADMIN` or `GROUP_MEMBERSHIP_ADMIN` assignment narrowed to groups,
//! an `APP_ADMIN` assignment narrowed to apps (every app of a catalog name, or app instances).
//! The first target narrows the assignment; the last one cannot be removed (Okta: delete the
//! assignment and make a new one instead). `tessera_web::tenant` enforces them on every change.
//!
//! Under `/users/{id}/roles/{roleId}/targets/…` and `/groups/{id}/roles/{roleId}/targets/…`:
//! `groups` (GET), `groups/{groupId}` (PUT, DELETE), `catalog/apps` (GET),
//! `catalog/apps/{appName}` and `catalog/apps/{appName}/{appId}` (PUT, DELETE).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_domain::admin_roles::{Guard, Resource, Role, TargetKind};
use tessera_domain::ids::IdKind;
use tessera_store::entities::{app, group, role_assignment, role_target};
use tessera_store::{ColumnTrait as _, Condition, ConnectionTrait, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::href;

/// The only catalog app name Tessera has: OpenID Connect apps.
const OIDC_APP: &str = "oidc_client";

pub fn routes(api: &mut Api) {
    let roles = Guard::of(Resource::Roles);
    for kind in ["users", "groups"] {
        let base = format!("/{kind}/{{id}}/roles/{{roleId}}/targets");
        api.get(&format!("{base}/groups"), roles, list_groups)
            .put(&format!("{base}/groups/{{groupId}}"), roles, add_group)
            .delete(&format!("{base}/groups/{{groupId}}"), roles, remove_group)
            .get(&format!("{base}/catalog/apps"), roles, list_apps)
            .put(
                &format!("{base}/catalog/apps/{{appName}}"),
                roles,
                add_app_name,
            )
            .delete(
                &format!("{base}/catalog/apps/{{appName}}"),
                roles,
                remove_app_name,
            )
            .put(
                &format!("{base}/catalog/apps/{{appName}}/{{appId}}"),
                roles,
                add_app_instance,
            )
            .delete(
                &format!("{base}/catalog/apps/{{appName}}/{{appId}}"),
                roles,
                remove_app_instance,
            );
    }
}

/// The assignment the path names, and its role.
async fn assignment(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    principal_id: &str,
    role_id: &str,
) -> Result<(role_assignment::Model, Role), ApiError> {
    let (kind, id) = crate::roles::principal(state, admin, req, principal_id).await?;
    let a = crate::roles::one(state, admin, kind, &id, role_id).await?;
    let role = a
        .role_type
        .parse::<Role>()
        .map_err(|()| ApiError::not_found(role_id, "Role"))?;
    Ok((a, role))
}

fn needs(role: Role, kind: TargetKind) -> Result<(), ApiError> {
    if role.target_kind() == Some(kind) {
        return Ok(());
    }
    let what = match kind {
        TargetKind::Groups => "group targets (USER_ADMIN, HELP_DESK_ADMIN, GROUP_MEMBERSHIP_ADMIN)",
        TargetKind::Apps => "app targets (APP_ADMIN)",
    };
    Err(ApiError::invalid(
        "type",
        format!("A {role} role assignment cannot have {what}"),
    ))
}

async fn targets_of(
    db: &impl ConnectionTrait,
    tenant: &str,
    assignment_id: &str,
) -> Result<Vec<role_target::Model>, ApiError> {
    Ok(repo::all::<role_target::Entity>(
        db,
        tenant,
        role_target::Column::AssignmentId.eq(assignment_id),
    )
    .await?)
}

/// Adds a target unless the assignment has it already; 204 either way.
async fn add(
    state: &AppState,
    admin: &Admin,
    a: &role_assignment::Model,
    kind: &str,
    target: &str,
    app_id: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let existing = targets_of(&state.db, &admin.tenant.id, &a.id).await?;
    let same = |t: &role_target::Model| {
        t.kind == kind && t.target == target && t.app_id.as_deref() == app_id
    };
    if !existing.iter().any(same) {
        let now = state.now_ms();
        repo::insert::<role_target::Entity>(
            &state.db,
            role_target::Model {
                seq: 0,
                tenant_id: admin.tenant.id.clone(),
                id: state.new_id(IdKind::RoleTarget),
                assignment_id: a.id.clone(),
                kind: kind.to_owned(),
                target: target.to_owned(),
                app_id: app_id.map(str::to_owned),
                created: now,
                last_updated: now,
            },
        )
        .await?;
        tracing::info!(tenant = %admin.tenant.id, by = %admin.token_id, assignment = %a.id, kind, target, "role target added");
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a target; the last one stays (Okta refuses to widen an assignment that way).
async fn remove(
    state: &AppState,
    admin: &Admin,
    a: &role_assignment::Model,
    kind: &str,
    target: &str,
    app_id: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let existing = targets_of(&state.db, &admin.tenant.id, &a.id).await?;
    let Some(found) = existing
        .iter()
        .find(|t| t.kind == kind && t.target == target && t.app_id.as_deref() == app_id)
    else {
        return Err(ApiError::not_found(app_id.unwrap_or(target), "RoleTarget"));
    };
    if existing.len() == 1 {
        return Err(ApiError::invalid(
            "target",
            "The last target of a role assignment cannot be removed; delete the role assignment and assign the role again to make it apply to the whole organization",
        ));
    }
    repo::delete_where::<role_target::Entity>(
        &state.db,
        &admin.tenant.id,
        role_target::Column::Id.eq(&found.id),
    )
    .await?;
    tracing::info!(tenant = %admin.tenant.id, by = %admin.token_id, assignment = %a.id, kind, target, "role target removed");
    Ok(HttpResponse::NoContent().finish())
}

async fn list_groups(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, _) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    let t = &admin.tenant.id;
    let ids: Vec<String> = targets_of(&state.db, t, &a.id)
        .await?
        .into_iter()
        .filter(|x| x.kind == "GROUP")
        .map(|x| x.target)
        .collect();
    let groups = repo::all::<group::Entity>(&state.db, t, group::Column::Id.is_in(ids)).await?;
    let out: Vec<Value> = groups
        .iter()
        .map(|g| crate::groups::render(&admin.tenant.org_url, g))
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

async fn add_group(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, role) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    needs(role, TargetKind::Groups)?;
    let g = crate::support::group(&state, &admin, &path.3).await?;
    add(&state, &admin, &a, "GROUP", &g.id, None).await
}

async fn remove_group(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, _) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    remove(&state, &admin, &a, "GROUP", &path.3, None).await
}

/// Okta's `CatalogApplication` for OIDC apps, naming the instance for an instance target.
fn catalog_app(org: &str, app_id: Option<&str>) -> Value {
    let mut v = json!({
        "name": OIDC_APP,
        "displayName": "OpenID Connect",
        "description": "OpenID Connect and OAuth 2.0 applications",
        "status": "ACTIVE",
        "category": "CUSTOM",
        "signOnModes": ["OPENID_CONNECT"],
        "_links": { "self": href(format!("{org}/api/v1/apps?filter=name%20eq%20%22{OIDC_APP}%22")) },
    });
    if let Some(id) = app_id {
        v["id"] = json!(id);
        v["_links"]["self"] = href(format!("{org}/api/v1/apps/{id}"));
    }
    v
}

async fn list_apps(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, _) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    let org = &admin.tenant.org_url;
    let out: Vec<Value> = targets_of(&state.db, &admin.tenant.id, &a.id)
        .await?
        .iter()
        .filter_map(|x| match x.kind.as_str() {
            "APP" => Some(catalog_app(org, None)),
            "APP_INSTANCE" => Some(catalog_app(org, x.app_id.as_deref())),
            _ => None,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

fn known_app_name(name: &str) -> Result<(), ApiError> {
    if name == OIDC_APP {
        Ok(())
    } else {
        Err(ApiError::not_found(name, "App"))
    }
}

async fn add_app_name(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, role) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    needs(role, TargetKind::Apps)?;
    known_app_name(&path.3)?;
    add(&state, &admin, &a, "APP", &path.3, None).await
}

async fn remove_app_name(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, _) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    remove(&state, &admin, &a, "APP", &path.3, None).await
}

async fn add_app_instance(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, role) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    needs(role, TargetKind::Apps)?;
    known_app_name(&path.3)?;
    let found = repo::find_by::<app::Entity>(
        &state.db,
        &admin.tenant.id,
        Condition::all()
            .add(app::Column::Id.eq(&path.4))
            .add(app::Column::Name.eq(&path.3)),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(&path.4, "App"))?;
    add(&state, &admin, &a, "APP_INSTANCE", &path.3, Some(&found.id)).await
}

async fn remove_app_instance(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (a, _) = assignment(&state, &admin, &req, &path.1, &path.2).await?;
    remove(&state, &admin, &a, "APP_INSTANCE", &path.3, Some(&path.4)).await
}

/// Removes the targets of deleted role assignments, in the caller's transaction.
pub async fn remove_for(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    assignment_ids: Vec<String>,
) -> Result<(), ApiError> {
    repo::delete_where::<role_target::Entity>(
        db,
        tenant_id,
        role_target::Column::AssignmentId.is_in(assignment_ids),
    )
    .await?;
    Ok(())
}
