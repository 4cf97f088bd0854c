//! Admin role assignments (Okta's administrator roles and OAuth 2.0 scopes for Okta APIs): `/users/{id}/roles` and `/groups/{id}/roles`.
//! A role held by a group is held by each of its members. Only a super admin may read or
//! change them (the permission check in `tessera_web::tenant::Admin` sees to that).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_domain::admin_roles::Role;
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_store::entities::role_assignment;
use tessera_store::{ColumnTrait as _, Condition, ConnectionTrait, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{href, ts};

/// Roles of client apps (service apps calling the management API with org-server tokens), at
/// Okta's `/oauth2/v1/clients/{clientId}/roles`.
pub fn client_routes(api: &mut Api) {
    let roles = Guard::of(Resource::Roles);
    api.get("/{id}/roles", roles, list)
        .post("/{id}/roles", roles, assign)
        .get("/{id}/roles/{roleId}", roles, get)
        .delete("/{id}/roles/{roleId}", roles, unassign);
}

pub fn routes(api: &mut Api) {
    let roles = Guard::of(Resource::Roles);
    for kind in ["users", "groups"] {
        api.get(&format!("/{kind}/{{id}}/roles"), roles, list)
            .post(&format!("/{kind}/{{id}}/roles"), roles, assign)
            .get(&format!("/{kind}/{{id}}/roles/{{roleId}}"), roles, get)
            .delete(&format!("/{kind}/{{id}}/roles/{{roleId}}"), roles, unassign);
    }
}

/// Whose roles a path names: `("USER" | "GROUP", id)`, after checking they exist here.
pub(crate) async fn principal(
    state: &AppState,
    admin: &Admin,
    req: &actix_web::HttpRequest,
    id: &str,
) -> Result<(&'static str, String), ApiError> {
    // Which family of route matched (its pattern is code, not the request's spelling).
    let pattern = req.match_pattern().unwrap_or_default();
    if pattern.contains("/oauth2/v1/clients/") {
        let found = repo::find_by::<tessera_store::entities::app::Entity>(
            &state.db,
            &admin.tenant.id,
            tessera_store::entities::app::Column::ClientId.eq(id),
        )
        .await?
        .ok_or_else(|| ApiError::not_found(id, "OAuth2Client"))?;
        return Ok(("CLIENT", found.client_id));
    }
    if pattern.contains("/api/v1/groups/") {
        let g = crate::support::group(state, admin, id).await?;
        // A built-in group holds no role and cannot be given one; reading its (empty) list is
        // fine.
        if g.group_type == "BUILT_IN" && req.method() != actix_web::http::Method::GET {
            return Err(ApiError::invalid(
                "type",
                "Admin roles cannot be assigned to a built-in group.",
            ));
        }
        Ok(("GROUP", g.id))
    } else {
        Ok(("USER", crate::support::user(state, admin, id).await?.id))
    }
}

fn held_by(principal_type: &str, principal_id: &str) -> Condition {
    Condition::all()
        .add(role_assignment::Column::PrincipalType.eq(principal_type))
        .add(role_assignment::Column::PrincipalId.eq(principal_id))
}

fn render(admin: &Admin, r: &role_assignment::Model) -> Value {
    let org = &admin.tenant.org_url;
    let label = r.role_type.parse::<Role>().map_or("", Role::label);
    let assignee = match r.principal_type.as_str() {
        "GROUP" => format!("{org}/api/v1/groups/{}", r.principal_id),
        "CLIENT" => format!("{org}/oauth2/v1/clients/{}", r.principal_id),
        _ => format!("{org}/api/v1/users/{}", r.principal_id),
    };
    json!({
        "id": r.id,
        "label": label,
        "type": r.role_type,
        "status": "ACTIVE",
        "created": ts(r.created),
        "lastUpdated": ts(r.last_updated),
        "assignmentType": r.principal_type,
        "_links": { "assignee": href(assignee) },
    })
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, id) = principal(&state, &admin, &req, &path.1).await?;
    let rows =
        repo::all::<role_assignment::Entity>(&state.db, &admin.tenant.id, held_by(kind, &id))
            .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(|r| render(&admin, r)).collect::<Vec<_>>()))
}

#[derive(Debug, Deserialize)]
struct Assignment {
    #[serde(rename = "type")]
    role_type: Option<String>,
}

async fn assign(
    state: web::Data<AppState>,
    admin: Admin,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Assignment>,
) -> Result<HttpResponse, ApiError> {
    let (kind, id) = principal(&state, &admin, &req, &path.1).await?;
    let Some(wanted) = body.role_type.as_deref() else {
        return Err(ApiError::invalid("type", "The field cannot be left blank"));
    };
    let role: Role = wanted.parse().map_err(|()| {
        let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        ApiError::invalid(
            "type",
            format!(
                "'{wanted}' is not a role type. Valid types: [{}]",
                known.join(", ")
            ),
        )
    })?;
    let t = &admin.tenant.id;
    let existing = repo::find_by::<role_assignment::Entity>(
        &state.db,
        t,
        held_by(kind, &id).add(role_assignment::Column::RoleType.eq(role.as_str())),
    )
    .await?;
    if existing.is_some() {
        return Err(ApiError::duplicate_role());
    }
    let now = state.now_ms();
    let row = repo::insert::<role_assignment::Entity>(
        &state.db,
        role_assignment::Model {
            seq: 0,
            tenant_id: t.clone(),
            id: state.new_id(IdKind::RoleAssignment),
            role_type: role.as_str().to_owned(),
            principal_type: kind.to_owned(),
            principal_id: id.clone(),
            created: now,
            last_updated: now,
        },
    )
    .await?;
    admin.record(&state);
    tracing::info!(tenant = %t, by = %admin.token_id, principal = %id, role = %role, "admin role assigned");
    // Okta answers 201 for a user's new role and 200 for a group's or a client's.
    let mut res = if kind == "USER" {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(res.json(render(&admin, &row)))
}

pub(crate) async fn one(
    state: &AppState,
    admin: &Admin,
    kind: &str,
    id: &str,
    role_id: &str,
) -> Result<role_assignment::Model, ApiError> {
    repo::find_by::<role_assignment::Entity>(
        &state.db,
        &admin.tenant.id,
        held_by(kind, id).add(role_assignment::Column::Id.eq(role_id)),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(role_id, "Role"))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, id) = principal(&state, &admin, &req, &path.1).await?;
    let r = one(&state, &admin, kind, &id, &path.2).await?;
    Ok(HttpResponse::Ok().json(render(&admin, &r)))
}

async fn unassign(
    state: web::Data<AppState>,
    admin: Admin,
    req: actix_web::HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (kind, id) = principal(&state, &admin, &req, &path.1).await?;
    let r = one(&state, &admin, kind, &id, &path.2).await?;
    let txn = state.begin().await?;
    crate::role_targets::remove_for(&txn, &admin.tenant.id, vec![r.id.clone()]).await?;
    repo::delete_where::<role_assignment::Entity>(
        &txn,
        &admin.tenant.id,
        role_assignment::Column::Id.eq(&r.id),
    )
    .await?;
    txn.commit().await.map_err(ApiError::internal)?;
    admin.record(&state);
    tracing::info!(tenant = %admin.tenant.id, by = %admin.token_id, principal = %id, role = %r.role_type, "admin role unassigned");
    Ok(HttpResponse::NoContent().finish())
}

/// Removes every role of a deleted user or group, in the caller's transaction.
pub async fn remove_all(
    db: &impl ConnectionTrait,
    tenant_id: &str,
    principal_type: &str,
    principal_id: &str,
) -> Result<(), ApiError> {
    let ids: Vec<String> =
        repo::all::<role_assignment::Entity>(db, tenant_id, held_by(principal_type, principal_id))
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
    crate::role_targets::remove_for(db, tenant_id, ids).await?;
    repo::delete_where::<role_assignment::Entity>(
        db,
        tenant_id,
        held_by(principal_type, principal_id),
    )
    .await?;
    Ok(())
}
