//! Groups (Okta Groups API): CRUD, members, and the built-in Everyone group, whose membership
//! is every user of the tenant and which cannot be changed or deleted.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::{scim, validate};
use tessera_store::entities::{app_group, group, group_member, user};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, href, page_response, ts};

pub fn routes(api: &mut Api) {
    let groups = Guard::of(Resource::Groups);
    let membership = Guard::of(Resource::GroupMembership);
    api.get("/groups", groups, list)
        .post("/groups", groups, create)
        .get("/groups/{id}", groups, get)
        .put("/groups/{id}", groups.on_group("id"), replace)
        .delete("/groups/{id}", groups.on_group("id"), delete)
        .get("/groups/{id}/users", membership, members)
        .put(
            "/groups/{id}/users/{userId}",
            membership.on_group("id").on_user("userId"),
            add_member,
        )
        .delete(
            "/groups/{id}/users/{userId}",
            membership.on_group("id").on_user("userId"),
            remove_member,
        );
}

#[derive(Debug, Default, Deserialize)]
struct GroupInput {
    profile: Option<ProfileInput>,
}

#[derive(Debug, Default, Deserialize)]
struct ProfileInput {
    name: Option<String>,
    description: Option<String>,
}

pub fn render(org: &str, g: &group::Model) -> Value {
    let base = format!("{org}/api/v1/groups/{}", g.id);
    json!({
        "id": g.id,
        "created": ts(g.created),
        "lastUpdated": ts(g.last_updated),
        // A group that never had members was last updated, membership-wise, when created.
        "lastMembershipUpdated": ts(g.last_membership_updated.unwrap_or(g.created)),
        "objectClass": ["okta:user_group"],
        "type": g.group_type,
        "profile": crate::support::without_nulls(
            json!({ "name": g.name, "description": g.description }),
            &["description"],
        ),
        "_links": { "self": href(base.clone()), "users": href(format!("{base}/users")), "apps": href(format!("{base}/apps")) },
    })
}

/// Creates a tenant's Everyone group (provisioning).
pub async fn insert_everyone(
    db: &impl tessera_store::ConnectionTrait,
    state: &AppState,
    tenant: &str,
) -> Result<group::Model, ApiError> {
    let now = state.now_ms();
    Ok(repo::insert::<group::Entity>(
        db,
        group::Model {
            seq: 0,
            tenant_id: tenant.to_owned(),
            id: state.new_id(IdKind::Group),
            name: "Everyone".into(),
            description: Some("All users in your organization".into()),
            group_type: "BUILT_IN".into(),
            last_membership_updated: Some(now),
            created: now,
            last_updated: now,
        },
    )
    .await?)
}

async fn validated(
    state: &AppState,
    admin: &Admin,
    input: GroupInput,
    existing: Option<&group::Model>,
) -> Result<(String, Option<String>), ApiError> {
    let mut c = Causes::new();
    let profile = input.profile.unwrap_or_default();
    let name = c
        .require("profile.name", profile.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("profile.name", validate::length(&name, 1, 255));
        let clash = repo::find_by::<group::Entity>(
            &state.db,
            &admin.tenant.id,
            group::Column::Name.eq(&name),
        )
        .await?;
        if clash.is_some_and(|g| existing.is_none_or(|e| e.id != g.id)) {
            c.add(
                "name",
                "An object with this field already exists in the current organization",
            );
        }
    }
    if let Some(d) = &profile.description {
        c.check("profile.description", validate::length(d, 0, 1024));
    }
    c.finish()?;
    Ok((name, profile.description))
}

fn built_in_is_read_only(g: &group::Model) -> Result<(), ApiError> {
    if g.group_type == "BUILT_IN" {
        return Err(ApiError::invalid(
            "type",
            "Built-in groups cannot be modified or deleted.",
        ));
    }
    Ok(())
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let mut cond = Condition::all();
    if let Some(term) = q.q.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(tessera_store::text::starts_with(group::Column::Name, term));
    }
    let mut filters = Vec::new();
    for (param, text) in [("filter", &q.filter), ("search", &q.search)] {
        if let Some(text) = text.as_deref().filter(|f| !f.trim().is_empty()) {
            filters.push(crate::users::parse_search(param, text)?);
        }
    }
    let org = admin.tenant.org_url.clone();
    let keep = |g: &group::Model| {
        let v = render(&org, g);
        filters
            .iter()
            .all(|f| f.matches_with(&v, scim::Case::Insensitive))
    };
    let page = repo::page_filtered::<group::Entity>(
        &state.db,
        &admin.tenant.id,
        cond,
        q.after()?,
        q.limit_in(PageSize::GROUPS)?,
        keep,
    )
    .await?;
    page_response(&admin, &req, page, |g| Ok(render(&org, g)))
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<GroupInput>,
) -> Result<HttpResponse, ApiError> {
    let (name, description) = validated(&state, &admin, body.into_inner(), None).await?;
    let now = state.now_ms();
    let txn = state.begin().await?;
    let g = repo::insert::<group::Entity>(
        &txn,
        group::Model {
            seq: 0,
            tenant_id: admin.tenant.id.clone(),
            id: state.new_id(IdKind::Group),
            name,
            description,
            group_type: "OKTA_GROUP".into(),
            last_membership_updated: None,
            created: now,
            last_updated: now,
        },
    )
    .await
    .map_err(|e| match e {
        tessera_store::StoreError::Conflict => ApiError::invalid(
            "name",
            "An object with this field already exists in the current organization",
        ),
        e => e.into(),
    })?;
    admin
        .commit(&state, txn, Change::tenant_wide("group", &g.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &g)))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let g = crate::support::group(&state, &admin, &path.1).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &g)))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<GroupInput>,
) -> Result<HttpResponse, ApiError> {
    let existing = crate::support::group(&state, &admin, &path.1).await?;
    built_in_is_read_only(&existing)?;
    let (name, description) = validated(&state, &admin, body.into_inner(), Some(&existing)).await?;
    let txn = state.begin().await?;
    let g = repo::update::<group::Entity>(
        &txn,
        group::Model {
            name,
            description,
            last_updated: state.now_ms(),
            ..existing
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("group", &g.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &g)))
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let g = crate::support::group(&state, &admin, &path.1).await?;
    built_in_is_read_only(&g)?;
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    repo::delete_where::<group_member::Entity>(&txn, t, group_member::Column::GroupId.eq(&g.id))
        .await?;
    repo::delete_where::<app_group::Entity>(&txn, t, app_group::Column::GroupId.eq(&g.id)).await?;
    crate::roles::remove_all(&txn, t, "GROUP", &g.id).await?;
    repo::delete_where::<group::Entity>(&txn, t, group::Column::Id.eq(&g.id)).await?;
    admin
        .commit(&state, txn, Change::tenant_wide("group", &g.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn members(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let g = crate::support::group(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let org = admin.tenant.org_url.clone();
    let limit = q.limit_in(PageSize::GROUP_USERS)?;
    if g.group_type == "BUILT_IN" {
        let page =
            repo::page::<user::Entity>(&state.db, t, Condition::all(), q.after()?, limit).await?;
        return page_response(&admin, &req, page, |u| crate::users::render(&org, u));
    }
    let page = repo::page::<group_member::Entity>(
        &state.db,
        t,
        group_member::Column::GroupId.eq(&g.id),
        q.after()?,
        limit,
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for m in &page.items {
        if let Some(u) = repo::find::<user::Entity>(&state.db, t, &m.user_id).await? {
            items.push(crate::users::render(&org, &u)?);
        }
    }
    Ok(crate::support::list_response(
        &admin,
        &req,
        items,
        page.next_after,
    ))
}

async fn add_member(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let g = crate::support::group(&state, &admin, &path.1).await?;
    built_in_is_read_only(&g)?;
    let u = crate::support::user(&state, &admin, &path.2).await?;
    let txn = state.begin().await?;
    crate::users::add_member(&txn, &state, &admin.tenant.id, &g.id, &u.id).await?;
    let gid = g.id.clone();
    repo::update::<group::Entity>(
        &txn,
        group::Model {
            last_membership_updated: Some(state.now_ms()),
            ..g
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::cold("groupMembership", &gid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn remove_member(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let g = crate::support::group(&state, &admin, &path.1).await?;
    built_in_is_read_only(&g)?;
    let u = crate::support::user(&state, &admin, &path.2).await?;
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    repo::delete_where::<group_member::Entity>(
        &txn,
        t,
        Condition::all()
            .add(group_member::Column::GroupId.eq(&g.id))
            .add(group_member::Column::UserId.eq(&u.id)),
    )
    .await?;
    let gid = g.id.clone();
    repo::update::<group::Entity>(
        &txn,
        group::Model {
            last_membership_updated: Some(state.now_ms()),
            ..g
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::cold("groupMembership", &gid))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
