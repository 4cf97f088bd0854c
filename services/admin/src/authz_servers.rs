//! Authorization servers (Okta's Authorization Servers API): CRUD and lifecycle. The literal `default`
//! names the tenant's default server everywhere an id is accepted.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::ids::IdKind;
use tessera_domain::validate;
use tessera_ephemeral::revocation::Subject;
use tessera_store::entities::{
    associated_server, authorization_server as srv, claim, consent, policy, policy_rule,
    refresh_token, scope, signing_key,
};
use tessera_store::{ColumnTrait as _, Condition, ConnectionTrait, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, href, server, to_text, ts};

pub fn routes(api: &mut Api) {
    let servers = Guard::of(Resource::AuthorizationServers);
    api.get("/authorizationServers", servers, list)
        .post("/authorizationServers", servers, create)
        .get("/authorizationServers/{id}", servers, get)
        .put("/authorizationServers/{id}", servers, replace)
        .delete("/authorizationServers/{id}", servers, delete)
        .post(
            "/authorizationServers/{id}/lifecycle/activate",
            servers,
            activate,
        )
        .post(
            "/authorizationServers/{id}/lifecycle/deactivate",
            servers,
            deactivate,
        )
        .post(
            "/authorizationServers/{id}/tokenPreview",
            servers.reading(),
            crate::preview::token_preview,
        )
        .get(
            "/authorizationServers/{id}/advice",
            servers,
            crate::advice::server_advice,
        )
        .get("/advice", servers, crate::advice::tenant_advice);
}

/// The scopes every authorization server has (Okta's authorization-server scopes), with the consent Okta
/// gives them.
pub const RESERVED_SCOPES: &[(&str, &str)] = &[
    ("openid", "Signals that a request is an OpenID request."),
    (
        "profile",
        "Allows this application to access your profile information.",
    ),
    (
        "email",
        "Allows this application to access your email address.",
    ),
    ("address", "Allows this application to access your address."),
    (
        "phone",
        "Allows this application to access your phone number.",
    ),
    (
        "offline_access",
        "Allows this application to access your data when you are not present.",
    ),
    ("groups", "Allows this application to access your groups."),
    (
        "device_sso",
        "Allows this application to use device single sign-on.",
    ),
];

/// The built-in `sub` claim of a custom authorization server's access tokens.
pub const SUB_EXPRESSION: &str = "(appuser != null) ? appuser.userName : app.clientId";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInput {
    name: Option<String>,
    description: Option<String>,
    audiences: Option<Vec<String>>,
    issuer_mode: Option<String>,
    credentials: Option<CredentialsInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsInput {
    signing: Option<SigningInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningInput {
    rotation_mode: Option<String>,
    /// Tessera extension: `RS256` (default) or `ES256`, fixed when the server is created.
    alg: Option<String>,
    /// Tessera extension: this server's AUTO rotation interval in minutes (default: the
    /// deployment's, 90 days).
    rotation_interval_minutes: Option<i64>,
}

/// The validated fields of a server.
struct ServerFields {
    name: String,
    description: String,
    audience: String,
    issuer_mode: String,
    rotation_mode: String,
    alg: String,
    rotation_interval_minutes: Option<i64>,
}

async fn validate_input(
    state: &AppState,
    admin: &Admin,
    input: ServerInput,
    existing: Option<&srv::Model>,
) -> Result<ServerFields, ApiError> {
    let mut c = Causes::new();
    let name = c.require("name", input.name.as_deref()).map(str::to_owned);
    if let Some(n) = &name {
        c.check("name", validate::length(n, 1, 100));
        let clash = repo::find_by::<srv::Entity>(
            &state.db,
            &admin.tenant.id,
            srv::Column::Name.eq(n.as_str()),
        )
        .await?;
        if clash.is_some_and(|s| existing.is_none_or(|e| e.id != s.id)) {
            c.add(
                "name",
                "An object with this field already exists in the current organization",
            );
        }
    }
    let description = input.description.unwrap_or_default();
    c.check("description", validate::length(&description, 0, 1024));
    let audience = match input.audiences.as_deref() {
        Some([one]) => {
            c.check("audiences", validate::audience(one));
            one.clone()
        }
        Some([]) | None => {
            c.add("audiences", "The field cannot be left blank");
            String::new()
        }
        Some(_) => {
            c.add("audiences", "Only one audience is supported");
            String::new()
        }
    };
    let issuer_mode = input
        .issuer_mode
        .unwrap_or_else(|| existing.map_or("ORG_URL".into(), |e| e.issuer_mode.clone()));
    if !matches!(issuer_mode.as_str(), "ORG_URL" | "CUSTOM_URL" | "DYNAMIC") {
        c.add("issuerMode", "must be one of ORG_URL, CUSTOM_URL, DYNAMIC");
    }
    let signing = input
        .credentials
        .and_then(|cr| cr.signing)
        .unwrap_or_default();
    let rotation_mode = signing
        .rotation_mode
        .unwrap_or_else(|| existing.map_or("AUTO".into(), |e| e.rotation_mode.clone()));
    let alg = match (signing.alg, existing) {
        (Some(a), Some(e)) if a != e.signing_alg => {
            c.add(
                "credentials.signing.alg",
                "is fixed when the authorization server is created",
            );
            a
        }
        (Some(a), _) => a,
        (None, Some(e)) => e.signing_alg.clone(),
        (None, None) => "RS256".into(),
    };
    if !matches!(alg.as_str(), "RS256" | "ES256") {
        c.add("credentials.signing.alg", "must be RS256 or ES256");
    }
    let rotation_interval_minutes = signing
        .rotation_interval_minutes
        .or_else(|| existing.and_then(|e| e.rotation_interval_minutes));
    if rotation_interval_minutes.is_some_and(|m| !(1..=5_256_000).contains(&m)) {
        c.add(
            "credentials.signing.rotationIntervalMinutes",
            "must be between 1 and 5256000 (10 years)",
        );
    }
    if !matches!(rotation_mode.as_str(), "AUTO" | "MANUAL") {
        c.add("credentials.signing.rotationMode", "must be AUTO or MANUAL");
    }
    c.finish()?;
    Ok(ServerFields {
        name: name.unwrap_or_default(),
        description,
        audience,
        issuer_mode,
        rotation_mode,
        alg,
        rotation_interval_minutes,
    })
}

/// The server as the management API shows it, with `credentials.signing` read from its keys.
pub async fn view(state: &AppState, org: &str, s: &srv::Model) -> Result<Value, ApiError> {
    let keys = tessera_core::keys::keys_of(&state.db, &s.tenant_id, &s.id).await?;
    let kid = keys
        .iter()
        .find(|k| k.status == "ACTIVE")
        .map(|k| k.kid.clone());
    let schedule = tessera_core::keys::schedule_of(state, s);
    let next = tessera_domain::rotation::next_rotation(
        tessera_core::keys::mode(s),
        tessera_core::keys::last_rotated(s),
        &schedule,
    );
    render(org, s, kid, next)
}

fn render(
    org: &str,
    s: &srv::Model,
    kid: Option<String>,
    next_rotation: Option<i64>,
) -> Result<Value, ApiError> {
    let audiences: Vec<String> = crate::support::stored(&s.audiences)?;
    let path_id = if s.is_default {
        "default"
    } else {
        s.id.as_str()
    };
    let base = format!("{org}/api/v1/authorizationServers/{}", s.id);
    let lifecycle = if s.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    let mut signing =
        json!({ "rotationMode": s.rotation_mode, "use": "sig", "alg": s.signing_alg, "kid": kid });
    if let Some(last) = s.last_rotated {
        signing["lastRotated"] = json!(ts(last));
    }
    if let Some(next) = next_rotation {
        signing["nextRotation"] = json!(ts(next));
    }
    if let Some(m) = s.rotation_interval_minutes {
        signing["rotationIntervalMinutes"] = json!(m);
    }
    Ok(json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "audiences": audiences,
        "issuer": format!("{org}/oauth2/{path_id}"),
        "issuerMode": s.issuer_mode,
        "status": s.status,
        "default": s.is_default,
        "created": ts(s.created),
        "lastUpdated": ts(s.last_updated),
        "credentials": { "signing": signing },
        "_links": {
            "scopes": hinted(format!("{base}/scopes"), &["GET"]),
            "claims": hinted(format!("{base}/claims"), &["GET"]),
            "policies": hinted(format!("{base}/policies"), &["GET"]),
            "self": hinted(base.clone(), &["GET", "DELETE", "PUT"]),
            "metadata": [
                { "name": "oauth-authorization-server",
                  "href": format!("{org}/oauth2/{path_id}/.well-known/oauth-authorization-server"),
                  "hints": { "allow": ["GET"] } },
                { "name": "openid-configuration",
                  "href": format!("{org}/oauth2/{path_id}/.well-known/openid-configuration"),
                  "hints": { "allow": ["GET"] } },
            ],
            "rotateKey": hinted(format!("{base}/credentials/lifecycle/keyRotate"), &["POST"]),
            lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]),
            "keys": href(format!("{base}/credentials/keys")),
        },
    }))
}

/// Inserts a server with its reserved scopes, `sub` claim and its ACTIVE and NEXT signing keys
/// (inside the caller's transaction; `keys` come from [`tessera_core::keys::generate`], made before
/// the transaction so no write lock is held while RSA keys are generated).
pub async fn insert_server(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant_id: &str,
    fields: ServerFieldsOwned,
    kind: ServerKind,
    keys: Vec<tessera_jose::GeneratedKey>,
) -> Result<srv::Model, ApiError> {
    let now = state.now_ms();
    let server = repo::insert::<srv::Entity>(
        db,
        srv::Model {
            seq: 0,
            tenant_id: tenant_id.to_owned(),
            id: state.new_id(IdKind::AuthorizationServer),
            name: fields.name,
            description: fields.description,
            audiences: to_text(&vec![fields.audience]),
            issuer_mode: fields.issuer_mode,
            status: "ACTIVE".into(),
            is_default: kind == ServerKind::Default,
            org: kind == ServerKind::Org,
            rotation_mode: fields.rotation_mode,
            signing_alg: fields.alg,
            rotation_interval_minutes: fields.rotation_interval_minutes,
            last_rotated: None,
            created: now,
            last_updated: now,
        },
    )
    .await?;
    for (name, description) in RESERVED_SCOPES {
        repo::insert::<scope::Entity>(
            db,
            scope::Model {
                seq: 0,
                tenant_id: tenant_id.to_owned(),
                id: state.new_id(IdKind::Scope),
                server_id: server.id.clone(),
                name: (*name).to_owned(),
                display_name: Some((*name).to_owned()),
                description: Some((*description).to_owned()),
                consent: "IMPLICIT".into(),
                optional: false,
                is_default: false,
                metadata_publish: "ALL_CLIENTS".into(),
                system: true,
                created: now,
                last_updated: now,
            },
        )
        .await?;
    }
    repo::insert::<claim::Entity>(
        db,
        claim::Model {
            seq: 0,
            tenant_id: tenant_id.to_owned(),
            id: state.new_id(IdKind::Claim),
            server_id: server.id.clone(),
            name: "sub".into(),
            status: "ACTIVE".into(),
            claim_type: "RESOURCE".into(),
            value_type: "EXPRESSION".into(),
            value: SUB_EXPRESSION.into(),
            group_filter_type: None,
            always_include_in_token: true,
            condition_scopes: "[]".into(),
            system: true,
            created: now,
            last_updated: now,
        },
    )
    .await?;
    let mut keys = keys.into_iter();
    for status in [
        tessera_domain::rotation::Status::Active,
        tessera_domain::rotation::Status::Next,
    ] {
        let key = keys
            .next()
            .ok_or_else(|| ApiError::internal("a new server needs two generated keys"))?;
        let owner = (tenant_id, server.id.as_str(), server.created);
        tessera_core::keys::insert_at(db, state, owner, key, status).await?;
    }
    Ok(server)
}

/// Owned fields for [`insert_server`] (also used by tenant provisioning).
/// Which server [`insert_server`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Custom,
    /// The tenant's `default` custom server.
    Default,
    /// The tenant's org authorization server (hidden from the management API).
    Org,
}

pub struct ServerFieldsOwned {
    pub name: String,
    pub description: String,
    pub audience: String,
    pub issuer_mode: String,
    pub rotation_mode: String,
    pub alg: String,
    pub rotation_interval_minutes: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    q: web::Query<tessera_web::paging::ListParams>,
) -> Result<HttpResponse, ApiError> {
    // The org authorization server is not a custom server: Okta does not list it here.
    let mut cond = Condition::all().add(srv::Column::Org.eq(false));
    if let Some(term) = q.q.as_deref().filter(|t| !t.is_empty()) {
        cond = cond.add(
            Condition::any()
                .add(tessera_store::text::contains(srv::Column::Name, term))
                .add(tessera_store::text::contains(srv::Column::Audiences, term)),
        );
    }
    let page = repo::page::<srv::Entity>(&state.db, &admin.tenant.id, cond, q.after()?, q.limit()?)
        .await?;
    let org = admin.tenant.org_url.clone();
    let mut items = Vec::with_capacity(page.items.len());
    for s in &page.items {
        items.push(view(&state, &org, s).await?);
    }
    Ok(crate::support::list_response(
        &admin,
        &req,
        items,
        page.next_after,
    ))
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<ServerInput>,
) -> Result<HttpResponse, ApiError> {
    let f = validate_input(&state, &admin, body.into_inner(), None).await?;
    let alg = tessera_jose::Alg::parse(&f.alg).map_err(ApiError::internal)?;
    let keys = tessera_core::keys::generate(alg, 2).await?;
    let txn = state.begin().await?;
    let fields = ServerFieldsOwned {
        name: f.name,
        description: f.description,
        audience: f.audience,
        issuer_mode: f.issuer_mode,
        rotation_mode: f.rotation_mode,
        alg: f.alg,
        rotation_interval_minutes: f.rotation_interval_minutes,
    };
    let server = insert_server(
        &txn,
        &state,
        &admin.tenant.id,
        fields,
        ServerKind::Custom,
        keys,
    )
    .await?;
    admin
        .commit(
            &state,
            txn,
            Change::server("authorizationServer", &server.id, &server.id),
        )
        .await?;
    Ok(HttpResponse::Created().json(view(&state, &admin.tenant.org_url, &server).await?))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    Ok(HttpResponse::Ok().json(view(&state, &admin.tenant.org_url, &s).await?))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ServerInput>,
) -> Result<HttpResponse, ApiError> {
    let existing = server(&state, &admin, &path.1).await?;
    let f = validate_input(&state, &admin, body.into_inner(), Some(&existing)).await?;
    let txn = state.begin().await?;
    let updated = repo::update::<srv::Entity>(
        &txn,
        srv::Model {
            name: f.name,
            description: f.description,
            audiences: to_text(&vec![f.audience]),
            issuer_mode: f.issuer_mode,
            rotation_mode: f.rotation_mode,
            rotation_interval_minutes: f.rotation_interval_minutes,
            last_updated: state.now_ms(),
            ..existing
        },
    )
    .await?;
    admin
        .commit(
            &state,
            txn,
            Change::server("authorizationServer", &updated.id, &updated.id),
        )
        .await?;
    Ok(HttpResponse::Ok().json(view(&state, &admin.tenant.org_url, &updated).await?))
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    if s.is_default {
        return Err(ApiError::invalid(
            "default",
            "The default authorization server cannot be deleted.",
        ));
    }
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    repo::delete_where::<policy_rule::Entity>(&txn, t, policy_rule::Column::ServerId.eq(&s.id))
        .await?;
    repo::delete_where::<policy::Entity>(&txn, t, policy::Column::ServerId.eq(&s.id)).await?;
    repo::delete_where::<claim::Entity>(&txn, t, claim::Column::ServerId.eq(&s.id)).await?;
    repo::delete_where::<scope::Entity>(&txn, t, scope::Column::ServerId.eq(&s.id)).await?;
    repo::delete_where::<signing_key::Entity>(&txn, t, signing_key::Column::ServerId.eq(&s.id))
        .await?;
    repo::delete_where::<refresh_token::Entity>(&txn, t, refresh_token::Column::ServerId.eq(&s.id))
        .await?;
    repo::delete_where::<consent::Entity>(&txn, t, consent::Column::ServerId.eq(&s.id)).await?;
    repo::delete_where::<associated_server::Entity>(
        &txn,
        t,
        Condition::any()
            .add(associated_server::Column::ServerId.eq(&s.id))
            .add(associated_server::Column::TrustedServerId.eq(&s.id)),
    )
    .await?;
    repo::delete_where::<srv::Entity>(&txn, t, srv::Column::Id.eq(&s.id)).await?;
    admin
        .commit(
            &state,
            txn,
            Change::server("authorizationServer", &s.id, &s.id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn set_status(
    state: &AppState,
    admin: &Admin,
    id: &str,
    status: &str,
) -> Result<HttpResponse, ApiError> {
    let s = server(state, admin, id).await?;
    if s.status != status {
        let txn = state.begin().await?;
        if status == "INACTIVE" {
            crate::support::revoke_tokens(state, &txn, &admin.tenant.id, Subject::Server(&s.id))
                .await?;
        }
        let id = s.id.clone();
        repo::update::<srv::Entity>(
            &txn,
            srv::Model {
                status: status.into(),
                last_updated: state.now_ms(),
                ..s
            },
        )
        .await?;
        admin
            .commit(state, txn, Change::server("authorizationServer", &id, &id))
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn activate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, &admin, &path.1, "ACTIVE").await
}

async fn deactivate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_status(&state, &admin, &path.1, "INACTIVE").await
}
