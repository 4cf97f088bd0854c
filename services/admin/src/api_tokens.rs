//! Management API tokens (`/api/v1/api-tokens`): list, read, create (the token is returned
//! once and stored as a SHA-256 digest), revoke, and revoke the caller's own token.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::Role;
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::secrets::{lookup_digest, new_api_token};
use tessera_domain::validate;
use tessera_store::entities::api_token;
use tessera_store::{ColumnTrait as _, Condition, ConnectionTrait, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, href, opt_ts, paged, ts};

pub fn routes(api: &mut Api) {
    let tokens = Guard::of(Resource::ApiTokens);
    api.get("/api-tokens", tokens, list)
        .post("/api-tokens", tokens, create)
        .delete("/api-tokens/current", tokens, revoke_current)
        .get("/api-tokens/{id}", tokens, get)
        .delete("/api-tokens/{id}", tokens.on_api_token("id"), revoke);
}

fn render(org: &str, t: &api_token::Model) -> Value {
    let v = json!({
        "id": t.id,
        "name": t.name,
        "userId": t.user_id,
        "tokenWindow": "P30D",
        "tokenPrefix": t.token_prefix,
        "created": ts(t.created),
        "lastUpdated": ts(t.last_updated),
        "expiresAt": opt_ts(t.expires_at),
        "network": { "connection": "ANYWHERE" },
        "_link": { "self": href(format!("{org}/api/v1/api-tokens/{}", t.id)) },
    });
    crate::support::without_nulls(v, &["expiresAt", "userId"])
}

/// Who a new token acts as: a user (with that user's roles at each call), or nobody with fixed
/// roles (the tenant's provisioning token, and the tokens it creates for itself).
pub enum Owner {
    User(String),
    Roles(Vec<Role>),
}

/// Creates a token for `tenant` and returns its row and the token itself (shown once).
pub async fn issue(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant: &str,
    name: &str,
    owner: Owner,
) -> Result<(api_token::Model, String), ApiError> {
    let (user_id, roles) = match owner {
        Owner::User(id) => (Some(id), Vec::new()),
        Owner::Roles(roles) => (None, roles),
    };
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let token = new_api_token(state.random.as_ref());
    let now = state.now_ms();
    let row = repo::insert::<api_token::Entity>(
        db,
        api_token::Model {
            seq: 0,
            tenant_id: tenant.to_owned(),
            id: state.new_id(IdKind::ApiToken),
            name: name.to_owned(),
            token_hash: lookup_digest(&token),
            token_prefix: token[..6].to_owned(),
            user_id,
            roles: serde_json::to_string(&roles).map_err(ApiError::internal)?,
            expires_at: None,
            created: now,
            last_updated: now,
        },
    )
    .await?;
    Ok((row, token))
}

#[derive(Debug, Default, Deserialize)]
struct TokenInput {
    name: Option<String>,
    /// Tessera extension: a super admin may create a token that acts as another admin (Okta
    /// creates tokens in its admin console, as the signed-in admin).
    #[serde(rename = "userId")]
    user_id: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let org = admin.tenant.org_url.clone();
    paged::<api_token::Entity>(
        &state,
        &admin,
        &req,
        &q,
        PageSize::STANDARD,
        Condition::all(),
        |t| Ok(render(&org, t)),
    )
    .await
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<TokenInput>,
) -> Result<HttpResponse, ApiError> {
    let mut c = Causes::new();
    let name = c
        .require("name", body.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("name", validate::length(&name, 1, 100));
    }
    c.finish()?;
    let owner = match (&body.user_id, &admin.user_id) {
        (Some(wanted), mine) if mine.as_deref() != Some(wanted.as_str()) => {
            if !admin.is_super_admin() {
                return Err(ApiError::forbidden());
            }
            let u = crate::support::user(&state, &admin, wanted).await?;
            if u.status != "ACTIVE"
                || tessera_web::tenant::user_roles(&state, &admin.tenant.id, &u.id)
                    .await?
                    .is_empty()
            {
                return Err(ApiError::invalid(
                    "userId",
                    "An API token can only act as an active user with an admin role.",
                ));
            }
            Owner::User(u.id)
        }
        (_, Some(mine)) => Owner::User(mine.clone()),
        (_, None) => Owner::Roles(admin.roles.clone()),
    };
    let txn = state.begin().await?;
    let (row, token) = issue(&txn, &state, &admin.tenant.id, &name, owner).await?;
    admin
        .commit(&state, txn, Change::cold("apiToken", &row.id))
        .await?;
    let mut body = render(&admin.tenant.org_url, &row);
    body["token"] = json!(token);
    Ok(HttpResponse::Created().json(body))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let t = repo::find::<api_token::Entity>(&state.db, &admin.tenant.id, &path.1)
        .await?
        .ok_or_else(|| ApiError::not_found(&path.1, "ApiToken"))?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &t)))
}

async fn remove(state: &AppState, admin: &Admin, id: &str) -> Result<HttpResponse, ApiError> {
    let t = repo::find::<api_token::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(id, "ApiToken"))?;
    let txn = state.begin().await?;
    repo::delete_where::<api_token::Entity>(
        &txn,
        &admin.tenant.id,
        api_token::Column::Id.eq(&t.id),
    )
    .await?;
    admin
        .commit(state, txn, Change::cold("apiToken", &t.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn revoke(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    remove(&state, &admin, &path.1).await
}

async fn revoke_current(
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, ApiError> {
    let id = admin.token_id.clone();
    remove(&state, &admin, &id).await
}
