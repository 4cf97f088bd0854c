//! Trusted origins (`/api/v1/trustedOrigins`, Okta's Trusted Origins API): the origins whose
//! scripts may call the protocol endpoints (`CORS`), that may be redirected to (`REDIRECT`),
//! and whose pages may frame the hosted pages (`IFRAME_EMBED`). Origins are stored in the form
//! browsers send in `Origin` (`tessera_domain::origins::normalize`), so the CORS check is an
//! exact comparison.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::origins::{self, Scope, ScopeType};
use tessera_store::entities::trusted_origin;
use tessera_store::{ColumnTrait as _, Condition, repo};
use tessera_web::ApiError;
use tessera_web::paging::{ListParams, PageSize};
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, paged, stored, to_text, ts};

pub fn routes(api: &mut Api) {
    let origins = Guard::of(Resource::TrustedOrigins);
    api.get("/trustedOrigins", origins, list)
        .post("/trustedOrigins", origins, create)
        .get("/trustedOrigins/{id}", origins, get)
        .put("/trustedOrigins/{id}", origins, replace)
        .delete("/trustedOrigins/{id}", origins, delete)
        .post(
            "/trustedOrigins/{id}/lifecycle/{action}",
            origins,
            lifecycle,
        );
}

/// `TrustedOriginWrite` (create) or `TrustedOrigin` (replace: its read-only members, sent back
/// by clients that replace what they read, are ignored).
#[derive(Debug, Default, Deserialize)]
struct Input {
    name: Option<String>,
    origin: Option<String>,
    scopes: Option<Vec<ScopeInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeInput {
    #[serde(rename = "type")]
    kind: Option<String>,
    allowed_okta_apps: Option<Vec<String>>,
}

/// What the end-user dashboard value of `allowedOktaApps` is called.
const OKTA_ENDUSER: &str = "OKTA_ENDUSER";

struct Valid {
    name: String,
    origin: String,
    scopes: Vec<Scope>,
}

/// Validates the whole body (every problem in one `E0000001`), then checks that no other
/// trusted origin of the tenant has the same name or origin.
async fn validate(
    state: &AppState,
    admin: &Admin,
    input: Input,
    except: Option<&str>,
) -> Result<Valid, ApiError> {
    let mut c = Causes::new();
    let name = c.require("name", input.name.as_deref()).map(str::to_owned);
    if name.as_ref().is_some_and(|n| n.chars().count() > 255) {
        c.add("name", "The field must be at most 255 characters");
    }
    let origin = match c.require("origin", input.origin.as_deref()) {
        Some(o) => match origins::normalize(o) {
            Ok(o) => Some(o),
            Err(why) => {
                c.add("origin", format!("The origin {why}"));
                None
            }
        },
        None => None,
    };
    let mut scopes: Vec<Scope> = Vec::new();
    match input.scopes {
        None => c.add("scopes", "The field cannot be left blank"),
        Some(list) if list.is_empty() => c.add("scopes", "The field cannot be left blank"),
        Some(list) => {
            for s in list {
                let Some(kind) = s.kind.as_deref().and_then(ScopeType::parse) else {
                    c.add(
                        "scopes",
                        format!(
                            "'{}' is not a valid scope type. Valid types: [CORS, REDIRECT, IFRAME_EMBED]",
                            s.kind.as_deref().unwrap_or("")
                        ),
                    );
                    continue;
                };
                if scopes.iter().any(|have| have.kind == kind) {
                    c.add(
                        "scopes",
                        format!("The scope type {} is listed twice", kind.as_str()),
                    );
                    continue;
                }
                let allowed_okta_apps = match (kind, s.allowed_okta_apps) {
                    (ScopeType::IframeEmbed, apps) => {
                        let apps = apps.unwrap_or_default();
                        if apps.iter().any(|a| a != OKTA_ENDUSER) {
                            c.add("scopes", "allowedOktaApps may only contain OKTA_ENDUSER");
                        }
                        Some(apps)
                    }
                    (_, Some(apps)) if !apps.is_empty() => {
                        c.add(
                            "scopes",
                            "allowedOktaApps is only allowed with the IFRAME_EMBED scope type",
                        );
                        None
                    }
                    _ => None,
                };
                scopes.push(Scope {
                    kind,
                    allowed_okta_apps,
                });
            }
        }
    }
    c.finish()?;
    let (Some(name), Some(origin)) = (name, origin) else {
        return Err(ApiError::internal("validated fields missing"));
    };
    let others =
        repo::all::<trusted_origin::Entity>(&state.db, &admin.tenant.id, Condition::all()).await?;
    let mut c = Causes::new();
    for o in others.iter().filter(|o| Some(o.id.as_str()) != except) {
        if o.origin == origin {
            c.add(
                "origin",
                "An object with this field already exists in the current organization",
            );
        }
        if o.name == name {
            c.add(
                "name",
                "An object with this field already exists in the current organization",
            );
        }
    }
    c.finish()?;
    Ok(Valid {
        name,
        origin,
        scopes,
    })
}

fn render(org: &str, o: &trusted_origin::Model) -> Result<Value, ApiError> {
    let base = format!("{org}/api/v1/trustedOrigins/{}", o.id);
    let scopes: Vec<Scope> = stored(&o.scopes)?;
    let lifecycle = if o.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    Ok(json!({
        "id": o.id,
        "name": o.name,
        "origin": o.origin,
        "scopes": scopes,
        "status": o.status,
        "created": ts(o.created),
        "createdBy": o.created_by,
        "lastUpdated": ts(o.last_updated),
        "lastUpdatedBy": o.last_updated_by,
        "_links": {
            "self": hinted(base.clone(), &["GET", "PUT", "DELETE"]),
            lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]),
        },
    }))
}

/// Who is changing it: the admin user, or the API token that has no user.
fn who(admin: &Admin) -> String {
    admin
        .user_id
        .clone()
        .unwrap_or_else(|| admin.token_id.clone())
}

async fn find(
    state: &AppState,
    admin: &Admin,
    id: &str,
) -> Result<trusted_origin::Model, ApiError> {
    repo::find::<trusted_origin::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(id, "TrustedOrigin"))
}

/// `filter`: `name`, `origin`, `status` or `type` (a scope type) `eq "…"`, joined by `and`.
fn filter_condition(filter: &str) -> Result<Condition, ApiError> {
    let invalid = || ApiError::invalid("filter", format!("Invalid search criteria: {filter}"));
    let re = regex::Regex::new(r#"^(name|origin|status|type)\s+eq\s+"([^"]*)"$"#)
        .map_err(ApiError::internal)?;
    let mut cond = Condition::all();
    for term in filter.split(" and ") {
        let caps = re.captures(term.trim()).ok_or_else(invalid)?;
        let value = caps[2].to_owned();
        cond = cond.add(match &caps[1] {
            "name" => trusted_origin::Column::Name.eq(value),
            "origin" => trusted_origin::Column::Origin.eq(value),
            "status" => trusted_origin::Column::Status.eq(value),
            _ => {
                // Only the three type names reach the LIKE pattern, so it holds no wildcard.
                let kind = ScopeType::parse(&value).ok_or_else(invalid)?;
                trusted_origin::Column::Scopes.contains(format!("\"{}\"", kind.as_str()))
            }
        });
    }
    Ok(cond)
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let mut cond = Condition::all();
    if let Some(term) = q.q.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(
            Condition::any()
                .add(tessera_store::text::starts_with(
                    trusted_origin::Column::Name,
                    term,
                ))
                .add(tessera_store::text::starts_with(
                    trusted_origin::Column::Origin,
                    term,
                )),
        );
    }
    if let Some(filter) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        cond = cond.add(filter_condition(filter.trim())?);
    }
    let org = admin.tenant.org_url.clone();
    paged::<trusted_origin::Entity>(&state, &admin, &req, &q, PageSize::SMALL, cond, |o| {
        render(&org, o)
    })
    .await
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Input>,
) -> Result<HttpResponse, ApiError> {
    let v = validate(&state, &admin, body.into_inner(), None).await?;
    let now = state.now_ms();
    let by = who(&admin);
    let txn = state.begin().await?;
    let row = repo::insert::<trusted_origin::Entity>(
        &txn,
        trusted_origin::Model {
            seq: 0,
            tenant_id: admin.tenant.id.clone(),
            id: state.new_id(IdKind::TrustedOrigin),
            name: v.name,
            origin: v.origin,
            scopes: to_text(&v.scopes),
            status: "ACTIVE".into(),
            created_by: Some(by.clone()),
            last_updated_by: Some(by),
            created: now,
            last_updated: now,
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("trustedOrigin", &row.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &row)?))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let o = find(&state, &admin, &path.1).await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &o)?))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Input>,
) -> Result<HttpResponse, ApiError> {
    let o = find(&state, &admin, &path.1).await?;
    let v = validate(&state, &admin, body.into_inner(), Some(&o.id)).await?;
    let txn = state.begin().await?;
    let row = repo::update::<trusted_origin::Entity>(
        &txn,
        trusted_origin::Model {
            name: v.name,
            origin: v.origin,
            scopes: to_text(&v.scopes),
            last_updated_by: Some(who(&admin)),
            last_updated: state.now_ms(),
            ..o
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("trustedOrigin", &row.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &row)?))
}

async fn lifecycle(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let status = match path.2.as_str() {
        "activate" => "ACTIVE",
        "deactivate" => "INACTIVE",
        other => return Err(ApiError::not_found(other, "Lifecycle")),
    };
    let o = find(&state, &admin, &path.1).await?;
    let txn = state.begin().await?;
    let row = repo::update::<trusted_origin::Entity>(
        &txn,
        trusted_origin::Model {
            status: status.into(),
            last_updated_by: Some(who(&admin)),
            last_updated: state.now_ms(),
            ..o
        },
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("trustedOrigin", &row.id))
        .await?;
    Ok(HttpResponse::Ok().json(render(&admin.tenant.org_url, &row)?))
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let o = find(&state, &admin, &path.1).await?;
    let txn = state.begin().await?;
    repo::delete_where::<trusted_origin::Entity>(
        &txn,
        &admin.tenant.id,
        trusted_origin::Column::Id.eq(&o.id),
    )
    .await?;
    admin
        .commit(&state, txn, Change::tenant_wide("trustedOrigin", &o.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
