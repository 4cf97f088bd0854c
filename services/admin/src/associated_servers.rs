//! Associated (trusted) authorization servers, as Okta has them
//! (<https://developer.okta.com/docs/api/openapi/okta-management/management/tag/AuthorizationServerAssoc/>):
//! a server lists the other servers of its tenant that it trusts, whose access tokens it accepts
//! as the subject token of a token exchange.
//!
//! - `GET /authorizationServers/{id}/associatedServers?trusted=true` lists the trusted servers,
//!   `trusted=false` the servers that could be (any other custom server of the tenant); `q` is a
//!   name prefix.
//! - `POST …/associatedServers` with `{"trusted": ["aus…", …]}` adds (idempotently) and answers
//!   the servers added.
//! - `DELETE …/associatedServers/{associatedServerId}` removes one (204).

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_store::entities::{associated_server as assoc, authorization_server as srv};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::authz_servers::view;
use crate::support::{list_response, server};

pub fn routes(api: &mut Api) {
    let servers = Guard::of(Resource::AuthorizationServers);
    api.get(
        "/authorizationServers/{id}/associatedServers",
        servers,
        list,
    )
    .post("/authorizationServers/{id}/associatedServers", servers, add)
    .delete(
        "/authorizationServers/{id}/associatedServers/{trustedId}",
        servers,
        remove,
    );
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    trusted: Option<String>,
    #[serde(flatten)]
    page: ListParams,
}

#[derive(Debug, Default, Deserialize)]
struct AddInput {
    trusted: Option<Vec<String>>,
}

/// The most servers one `POST` may name.
const MAX_ADDED: usize = 100;

async fn trusted_ids(
    state: &AppState,
    tenant: &str,
    server_id: &str,
) -> Result<Vec<assoc::Model>, ApiError> {
    Ok(
        repo::all::<assoc::Entity>(&state.db, tenant, assoc::Column::ServerId.eq(server_id))
            .await?,
    )
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let trusted = match q.trusted.as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::invalid("trusted", "must be true or false")),
    };
    let ids: HashSet<String> = trusted_ids(&state, t, &s.id)
        .await?
        .into_iter()
        .map(|a| a.trusted_server_id)
        .collect();
    let mut cond = Condition::all()
        .add(srv::Column::Org.eq(false))
        .add(srv::Column::Id.ne(&s.id));
    if let Some(term) = q.page.q.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(tessera_store::text::starts_with(srv::Column::Name, term));
    }
    let page = repo::page_filtered::<srv::Entity>(
        &state.db,
        t,
        cond,
        q.page.after()?,
        q.page.limit_in(PageSize::STANDARD)?,
        |other| ids.contains(&other.id) == trusted,
    )
    .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for other in &page.items {
        items.push(view(&state, &admin.tenant.org_url, other).await?);
    }
    Ok(list_response(&admin, &req, items, page.next_after))
}

async fn add(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<AddInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let Some(wanted) = body.into_inner().trusted else {
        return Err(ApiError::invalid(
            "trusted",
            "The field cannot be left blank",
        ));
    };
    if wanted.len() > MAX_ADDED {
        return Err(ApiError::invalid(
            "trusted",
            format!("at most {MAX_ADDED} servers at a time"),
        ));
    }
    // Every named server must be another custom server of this tenant; nothing is added
    // unless all are.
    let mut targets = Vec::with_capacity(wanted.len());
    for id in &wanted {
        if *id == s.id {
            return Err(ApiError::invalid(
                "trusted",
                "an authorization server cannot trust itself",
            ));
        }
        let other = server(&state, &admin, id).await?;
        if !targets.iter().any(|o: &srv::Model| o.id == other.id) {
            targets.push(other);
        }
    }
    let existing: HashSet<String> = trusted_ids(&state, t, &s.id)
        .await?
        .into_iter()
        .map(|a| a.trusted_server_id)
        .collect();
    let now = state.now_ms();
    let txn = state.begin().await?;
    for other in targets.iter().filter(|o| !existing.contains(&o.id)) {
        repo::insert::<assoc::Entity>(
            &txn,
            assoc::Model {
                seq: 0,
                tenant_id: t.clone(),
                id: state.new_id(IdKind::Association),
                server_id: s.id.clone(),
                trusted_server_id: other.id.clone(),
                created: now,
                last_updated: now,
            },
        )
        .await?;
    }
    admin
        .commit(
            &state,
            txn,
            Change::server("associatedServer", &s.id, &s.id),
        )
        .await?;
    let mut out = Vec::with_capacity(targets.len());
    for other in &targets {
        out.push(view(&state, &admin.tenant.org_url, other).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn remove(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let t = &admin.tenant.id;
    let cond = Condition::all()
        .add(assoc::Column::ServerId.eq(&s.id))
        .add(assoc::Column::TrustedServerId.eq(&path.2));
    if repo::find_by::<assoc::Entity>(&state.db, t, cond.clone())
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(&path.2, "AssociatedServer"));
    }
    let txn = state.begin().await?;
    repo::delete_where::<assoc::Entity>(&txn, t, cond).await?;
    admin
        .commit(
            &state,
            txn,
            Change::server("associatedServer", &s.id, &s.id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
