//! Refresh-token administration (Okta's refresh-token administration): the clients holding tokens of a server,
//! and listing and revoking refresh tokens per server and client, per user and client, and per
//! app. Revoking a refresh token also revokes the access tokens minted with it.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use tessera_core::AppState;
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::config::OAuthSettings;
use tessera_store::entities::{app, authorization_server as srv, refresh_token};
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{hinted, href, list_response, opt_ts, server, stored, ts};

pub fn routes(api: &mut Api) {
    let per_server = "/authorizationServers/{id}/clients/{clientId}/tokens";
    let per_user = "/users/{userId}/clients/{clientId}/tokens";
    let servers = Guard::of(Resource::AuthorizationServers);
    let users = Guard::of(Resource::Users);
    let apps = Guard::of(Resource::Apps);
    api.get("/authorizationServers/{id}/clients", servers, clients)
        .get(per_server, servers, list_for_server)
        .delete(per_server, servers, revoke_for_server)
        .get(
            &format!("{per_server}/{{tokenId}}"),
            servers,
            get_for_server,
        )
        .delete(
            &format!("{per_server}/{{tokenId}}"),
            servers,
            revoke_one_for_server,
        )
        .get(per_user, users, list_for_user)
        .delete(per_user, users.on_user("userId"), revoke_for_user)
        .get(&format!("{per_user}/{{tokenId}}"), users, get_for_user)
        .delete(
            &format!("{per_user}/{{tokenId}}"),
            users.on_user("userId"),
            revoke_one_for_user,
        )
        .get("/apps/{appId}/tokens", apps, list_for_app)
        .delete("/apps/{appId}/tokens", apps.on_app("appId"), revoke_for_app)
        .get("/apps/{appId}/tokens/{tokenId}", apps, get_for_app)
        .delete(
            "/apps/{appId}/tokens/{tokenId}",
            apps.on_app("appId"),
            revoke_one_for_app,
        );
}

/// The app whose OAuth client id is `client_id`, in this tenant.
async fn app_by_client(
    state: &AppState,
    admin: &Admin,
    client_id: &str,
) -> Result<app::Model, ApiError> {
    repo::find_by::<app::Entity>(
        &state.db,
        &admin.tenant.id,
        app::Column::ClientId.eq(client_id),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(client_id, "OAuth2Client"))
}

async fn issuer_of(state: &AppState, admin: &Admin, server_id: &str) -> Result<String, ApiError> {
    let s = repo::find::<srv::Entity>(&state.db, &admin.tenant.id, server_id).await?;
    Ok(
        s.map(|s| tessera_domain::urls::issuer(&admin.tenant.org_url, &s.id, s.is_default))
            .unwrap_or_default(),
    )
}

async fn render(
    state: &AppState,
    admin: &Admin,
    r: &refresh_token::Model,
    expand_scope: bool,
) -> Result<Value, ApiError> {
    let org = &admin.tenant.org_url;
    let scopes: Vec<String> = stored(&r.scopes)?;
    let app = repo::find_by::<app::Entity>(
        &state.db,
        &admin.tenant.id,
        app::Column::ClientId.eq(&r.client_id),
    )
    .await?;
    let base = format!(
        "{org}/api/v1/authorizationServers/{}/clients/{}/tokens/{}",
        r.server_id, r.client_id, r.id
    );
    // Okta's `OAuth2RefreshTokenStatus` is ACTIVE or REVOKED: a token that was rotated can no
    // longer be used, so on the wire it is REVOKED (the store keeps ROTATED for reuse
    // detection).
    let status = if r.status == "ACTIVE" {
        "ACTIVE"
    } else {
        "REVOKED"
    };
    let mut v = json!({
        "id": r.id,
        "status": status,
        "created": ts(r.created),
        "lastUpdated": ts(r.last_updated),
        "expiresAt": opt_ts(r.expires_at.or(r.window_expires_at)),
        "issuer": issuer_of(state, admin, &r.server_id).await?,
        "clientId": r.client_id,
        "userId": r.user_id,
        "scopes": scopes,
        "_links": {
            "self": hinted(base.clone(), &["GET", "DELETE"]),
            "revoke": hinted(base, &["DELETE"]),
            "client": href(format!("{org}/oauth2/v1/clients/{}", r.client_id)),
            "authorizationServer": href(format!("{org}/api/v1/authorizationServers/{}", r.server_id)),
        },
    });
    if let Some(a) = app {
        v["_links"]["app"] = href(format!("{org}/api/v1/apps/{}", a.id));
    }
    if let Some(u) = &r.user_id {
        v["_links"]["user"] = href(format!("{org}/api/v1/users/{u}"));
    }
    if expand_scope {
        v["_embedded"] =
            json!({ "scopes": scopes.iter().map(|s| json!({ "name": s })).collect::<Vec<_>>() });
    }
    Ok(v)
}

/// Lists ACTIVE refresh tokens matching `cond` (default page 20, at most 200).
async fn list(
    state: &AppState,
    admin: &Admin,
    req: &HttpRequest,
    q: &ListParams,
    cond: Condition,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit_in(PageSize::SMALL)?;
    let cond = cond.add(refresh_token::Column::Status.eq("ACTIVE"));
    let page =
        repo::page::<refresh_token::Entity>(&state.db, &admin.tenant.id, cond, q.after()?, limit)
            .await?;
    let expand = q.expand.as_deref() == Some("scope");
    let mut items = Vec::with_capacity(page.items.len());
    for r in &page.items {
        items.push(render(state, admin, r, expand).await?);
    }
    Ok(list_response(admin, req, items, page.next_after))
}

async fn one(
    state: &AppState,
    admin: &Admin,
    cond: Condition,
    token_id: &str,
) -> Result<refresh_token::Model, ApiError> {
    repo::find_by::<refresh_token::Entity>(
        &state.db,
        &admin.tenant.id,
        cond.add(refresh_token::Column::Id.eq(token_id)),
    )
    .await?
    .ok_or_else(|| ApiError::not_found(token_id, "OAuth2RefreshToken"))
}

async fn revoke(
    state: &AppState,
    admin: &Admin,
    cond: Condition,
) -> Result<HttpResponse, ApiError> {
    let rows = repo::all::<refresh_token::Entity>(
        &state.db,
        &admin.tenant.id,
        cond.add(refresh_token::Column::Status.eq("ACTIVE")),
    )
    .await?;
    let n = tessera_core::revoke::refresh_tokens(state, &admin.tenant.id, rows).await?;
    admin.record(state);
    tracing::info!(tenant = %admin.tenant.id, revoked = n, "refresh tokens revoked by an administrator");
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes the family of one token (it and every token rotated from the same grant).
async fn revoke_one(
    state: &AppState,
    admin: &Admin,
    cond: Condition,
    token_id: &str,
) -> Result<HttpResponse, ApiError> {
    let r = one(state, admin, cond, token_id).await?;
    revoke(
        state,
        admin,
        Condition::all().add(refresh_token::Column::FamilyId.eq(&r.family_id)),
    )
    .await
}

fn server_client(s: &srv::Model, client_id: &str) -> Condition {
    Condition::all()
        .add(refresh_token::Column::ServerId.eq(&s.id))
        .add(refresh_token::Column::ClientId.eq(client_id))
}

/// `GET /authorizationServers/{id}/clients`: the clients holding ACTIVE refresh tokens here.
async fn clients(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let rows = repo::all::<refresh_token::Entity>(
        &state.db,
        &admin.tenant.id,
        Condition::all()
            .add(refresh_token::Column::ServerId.eq(&s.id))
            .add(refresh_token::Column::Status.eq("ACTIVE")),
    )
    .await?;
    let mut ids: Vec<&str> = rows.iter().map(|r| r.client_id.as_str()).collect();
    ids.dedup();
    ids.sort_unstable();
    ids.dedup();
    let org = &admin.tenant.org_url;
    let mut out = Vec::new();
    for id in ids {
        if let Ok(a) = app_by_client(&state, &admin, id).await {
            let settings: OAuthSettings = stored(&a.settings)?;
            out.push(crate::support::without_nulls(
                json!({
                    "client_id": id,
                    "client_name": a.label,
                    "client_uri": settings.client_uri,
                    "logo_uri": settings.logo_uri,
                    "_links": { "tokens": href(format!("{org}/api/v1/authorizationServers/{}/clients/{id}/tokens", s.id)) },
                }),
                &["client_uri", "logo_uri"],
            ));
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn list_for_server(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    app_by_client(&state, &admin, &path.2).await?;
    list(&state, &admin, &req, &q, server_client(&s, &path.2)).await
}

async fn get_for_server(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let r = one(&state, &admin, server_client(&s, &path.2), &path.3).await?;
    Ok(HttpResponse::Ok()
        .json(render(&state, &admin, &r, q.expand.as_deref() == Some("scope")).await?))
}

async fn revoke_for_server(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    app_by_client(&state, &admin, &path.2).await?;
    revoke(&state, &admin, server_client(&s, &path.2)).await
}

async fn revoke_one_for_server(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    revoke_one(&state, &admin, server_client(&s, &path.2), &path.3).await
}

fn user_client(user_id: &str, client_id: &str) -> Condition {
    Condition::all()
        .add(refresh_token::Column::UserId.eq(user_id))
        .add(refresh_token::Column::ClientId.eq(client_id))
}

async fn list_for_user(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    list(&state, &admin, &req, &q, user_client(&u.id, &path.2)).await
}

async fn get_for_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    let r = one(&state, &admin, user_client(&u.id, &path.2), &path.3).await?;
    Ok(HttpResponse::Ok()
        .json(render(&state, &admin, &r, q.expand.as_deref() == Some("scope")).await?))
}

async fn revoke_for_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    revoke(&state, &admin, user_client(&u.id, &path.2)).await
}

async fn revoke_one_for_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let u = crate::support::user(&state, &admin, &path.1).await?;
    revoke_one(&state, &admin, user_client(&u.id, &path.2), &path.3).await
}

async fn app_cond(state: &AppState, admin: &Admin, app_id: &str) -> Result<Condition, ApiError> {
    let a = crate::support::app(state, admin, app_id).await?;
    Ok(Condition::all().add(refresh_token::Column::ClientId.eq(a.client_id)))
}

async fn list_for_app(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let cond = app_cond(&state, &admin, &path.1).await?;
    list(&state, &admin, &req, &q, cond).await
}

async fn get_for_app(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let cond = app_cond(&state, &admin, &path.1).await?;
    let r = one(&state, &admin, cond, &path.2).await?;
    Ok(HttpResponse::Ok()
        .json(render(&state, &admin, &r, q.expand.as_deref() == Some("scope")).await?))
}

async fn revoke_for_app(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let cond = app_cond(&state, &admin, &path.1).await?;
    revoke(&state, &admin, cond).await
}

async fn revoke_one_for_app(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let cond = app_cond(&state, &admin, &path.1).await?;
    revoke_one(&state, &admin, cond, &path.2).await
}
