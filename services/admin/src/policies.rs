//! Access policies and their rules (Okta's access policies and rules), with lifecycle and priorities.
//! Priorities are kept dense (1..n): creating or moving an object to a priority in use shifts
//! the others down, and a priority past the end places it last.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{AppState, Change};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::config::{self, Include, RuleActions, RuleConditions};
use tessera_domain::ids::IdKind;
use tessera_domain::validate;
use tessera_store::entities::{
    app, authorization_server as srv, group, inline_hook, policy, policy_rule, scope, user,
};
use tessera_store::sea_orm::sea_query::IntoCondition;
use tessera_store::sea_orm::{ActiveModelBehavior, ActiveModelTrait, IntoActiveModel};
use tessera_store::{ColumnTrait as _, Condition, ConnectionTrait, repo};
use tessera_web::ApiError;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

use crate::support::{Causes, hinted, reorder, server, stored, to_text, ts};

pub fn routes(api: &mut Api) {
    let p = "/authorizationServers/{id}/policies";
    let servers = Guard::of(Resource::AuthorizationServers);
    api.get(p, servers, list)
        .post(p, servers, create)
        .get(&format!("{p}/{{pid}}"), servers, get)
        .put(&format!("{p}/{{pid}}"), servers, replace)
        .delete(&format!("{p}/{{pid}}"), servers, delete)
        .post(
            &format!("{p}/{{pid}}/lifecycle/activate"),
            servers,
            activate,
        )
        .post(
            &format!("{p}/{{pid}}/lifecycle/deactivate"),
            servers,
            deactivate,
        )
        .get(&format!("{p}/{{pid}}/rules"), servers, list_rules)
        .post(&format!("{p}/{{pid}}/rules"), servers, create_rule)
        .get(&format!("{p}/{{pid}}/rules/{{rid}}"), servers, get_rule)
        .put(&format!("{p}/{{pid}}/rules/{{rid}}"), servers, replace_rule)
        .delete(&format!("{p}/{{pid}}/rules/{{rid}}"), servers, delete_rule)
        .post(
            &format!("{p}/{{pid}}/rules/{{rid}}/lifecycle/activate"),
            servers,
            activate_rule,
        )
        .post(
            &format!("{p}/{{pid}}/rules/{{rid}}/lifecycle/deactivate"),
            servers,
            deactivate_rule,
        );
}

/// Grant types a rule may name (§4.6).
pub const RULE_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "password",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:openid:params:grant-type:ciba",
    "interaction_code",
];

// ---------------------------------------------------------------- policies

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyInput {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    description: Option<String>,
    priority: Option<i64>,
    status: Option<String>,
    conditions: Option<PolicyConditions>,
}

#[derive(Debug, Default, Deserialize)]
struct PolicyConditions {
    clients: Option<Include>,
}

fn render_policy(org: &str, s: &srv::Model, p: &policy::Model) -> Result<Value, ApiError> {
    let clients: Vec<String> = stored(&p.clients)?;
    let base = format!(
        "{org}/api/v1/authorizationServers/{}/policies/{}",
        s.id, p.id
    );
    let lifecycle = if p.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    Ok(json!({
        "id": p.id,
        "type": "OAUTH_AUTHORIZATION_POLICY",
        "status": p.status,
        "name": p.name,
        "description": p.description,
        "priority": p.priority,
        "system": p.system,
        "conditions": { "clients": { "include": clients } },
        "created": ts(p.created),
        "lastUpdated": ts(p.last_updated),
        "_links": {
            "self": hinted(base.clone(), &["GET", "PUT", "DELETE"]),
            lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]),
            "rules": hinted(format!("{base}/rules"), &["GET"]),
        },
    }))
}

async fn validated_policy(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
    input: PolicyInput,
    existing: Option<&policy::Model>,
) -> Result<(policy::Model, i32), ApiError> {
    let mut c = Causes::new();
    if input
        .kind
        .as_deref()
        .is_some_and(|k| k != "OAUTH_AUTHORIZATION_POLICY")
    {
        c.add("type", "must be OAUTH_AUTHORIZATION_POLICY");
    }
    let name = c
        .require("name", input.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("name", validate::length(&name, 1, 100));
    }
    let description = c
        .require("description", input.description.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !description.is_empty() {
        c.check("description", validate::length(&description, 1, 255));
    }
    let status = input
        .status
        .unwrap_or_else(|| existing.map_or("ACTIVE".into(), |e| e.status.clone()));
    if !matches!(status.as_str(), "ACTIVE" | "INACTIVE") {
        c.add("status", "must be ACTIVE or INACTIVE");
    }
    let priority = priority_field(&mut c, input.priority);
    let clients = input
        .conditions
        .and_then(|x| x.clients)
        .map(|x| x.include)
        .unwrap_or_default();
    if clients.is_empty() {
        c.add(
            "conditions.clients.include",
            "The field cannot be left blank",
        );
    }
    for client in &clients {
        if client != "ALL_CLIENTS"
            && repo::find_by::<app::Entity>(
                &state.db,
                &admin.tenant.id,
                app::Column::ClientId.eq(client.as_str()),
            )
            .await?
            .is_none()
        {
            c.add(
                "conditions.clients.include",
                format!("'{client}' is not a client of this organization"),
            );
        }
    }
    c.finish()?;
    let now = state.now_ms();
    let model = policy::Model {
        seq: existing.map_or(0, |e| e.seq),
        tenant_id: admin.tenant.id.clone(),
        id: existing.map_or_else(|| state.new_id(IdKind::Policy), |e| e.id.clone()),
        server_id: s.id.clone(),
        name,
        description,
        priority: existing.map_or(i32::MAX, |e| e.priority),
        status,
        system: existing.is_some_and(|e| e.system),
        clients: to_text(&clients),
        created: existing.map_or(now, |e| e.created),
        last_updated: now,
    };
    let wanted = priority.unwrap_or_else(|| existing.map_or(i32::MAX, |e| e.priority));
    Ok((model, wanted))
}

fn priority_field(c: &mut Causes, raw: Option<i64>) -> Option<i32> {
    match raw {
        None => None,
        Some(p) if p >= 1 => Some(i32::try_from(p).unwrap_or(i32::MAX)),
        Some(_) => {
            c.add("priority", "must be a positive integer");
            None
        }
    }
}

/// Something ordered by `priority` among its siblings: a policy on its server, a rule in its
/// policy.
trait Ordered: Sized {
    fn id(&self) -> &str;
    fn priority(&self) -> i32;
    fn renumbered(self, priority: i32, now: i64) -> Self;
}

impl Ordered for policy::Model {
    fn id(&self) -> &str {
        &self.id
    }
    fn priority(&self) -> i32 {
        self.priority
    }
    fn renumbered(self, priority: i32, last_updated: i64) -> Self {
        Self {
            priority,
            last_updated,
            ..self
        }
    }
}

impl Ordered for policy_rule::Model {
    fn id(&self) -> &str {
        &self.id
    }
    fn priority(&self) -> i32 {
        self.priority
    }
    fn renumbered(self, priority: i32, last_updated: i64) -> Self {
        Self {
            priority,
            last_updated,
            ..self
        }
    }
}

/// Places `id` at `wanted` among the siblings matching `siblings` (a server's policies, a
/// policy's rules) and writes the rows whose priority changed.
async fn renumber<E>(
    db: &impl ConnectionTrait,
    state: &AppState,
    tenant: &str,
    siblings: impl IntoCondition,
    id: &str,
    wanted: i32,
) -> Result<(), ApiError>
where
    E: repo::Scoped,
    E::Model: Ordered + IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let all = repo::all::<E>(db, tenant, siblings).await?;
    let order = reorder(
        all.iter()
            .map(|m| (m.id().to_owned(), m.priority()))
            .collect(),
        id,
        wanted,
    );
    for m in all {
        if let Some((_, n)) = order.iter().find(|(mid, _)| mid == m.id())
            && *n != m.priority()
        {
            repo::update::<E>(db, m.renumbered(*n, state.now_ms())).await?;
        }
    }
    Ok(())
}

async fn find_policy(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
    id: &str,
) -> Result<policy::Model, ApiError> {
    repo::find::<policy::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .filter(|p| p.server_id == s.id)
        .ok_or_else(|| ApiError::not_found(id, "AuthorizationServerPolicy"))
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let mut all = repo::all::<policy::Entity>(
        &state.db,
        &admin.tenant.id,
        policy::Column::ServerId.eq(&s.id),
    )
    .await?;
    all.sort_by_key(|p| p.priority);
    let out = all
        .iter()
        .map(|p| render_policy(&admin.tenant.org_url, &s, p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<PolicyInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let (model, wanted) = validated_policy(&state, &admin, &s, body.into_inner(), None).await?;
    let txn = state.begin().await?;
    let p = repo::insert::<policy::Entity>(&txn, model).await?;
    renumber::<policy::Entity>(
        &txn,
        &state,
        &admin.tenant.id,
        policy::Column::ServerId.eq(&s.id),
        &p.id,
        wanted,
    )
    .await?;
    let p = repo::find::<policy::Entity>(&txn, &admin.tenant.id, &p.id)
        .await?
        .unwrap_or(p);
    admin
        .commit(&state, txn, Change::server("policy", &p.id, &s.id))
        .await?;
    Ok(HttpResponse::Created().json(render_policy(&admin.tenant.org_url, &s, &p)?))
}

async fn get(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    Ok(HttpResponse::Ok().json(render_policy(&admin.tenant.org_url, &s, &p)?))
}

async fn replace(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<PolicyInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let existing = find_policy(&state, &admin, &s, &path.2).await?;
    let (model, wanted) =
        validated_policy(&state, &admin, &s, body.into_inner(), Some(&existing)).await?;
    let txn = state.begin().await?;
    let p = repo::update::<policy::Entity>(&txn, model).await?;
    renumber::<policy::Entity>(
        &txn,
        &state,
        &admin.tenant.id,
        policy::Column::ServerId.eq(&s.id),
        &p.id,
        wanted,
    )
    .await?;
    let p = repo::find::<policy::Entity>(&txn, &admin.tenant.id, &p.id)
        .await?
        .unwrap_or(p);
    admin
        .commit(&state, txn, Change::server("policy", &p.id, &s.id))
        .await?;
    Ok(HttpResponse::Ok().json(render_policy(&admin.tenant.org_url, &s, &p)?))
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    let t = &admin.tenant.id;
    let txn = state.begin().await?;
    repo::delete_where::<policy_rule::Entity>(&txn, t, policy_rule::Column::PolicyId.eq(&p.id))
        .await?;
    repo::delete_where::<policy::Entity>(&txn, t, policy::Column::Id.eq(&p.id)).await?;
    renumber::<policy::Entity>(
        &txn,
        &state,
        t,
        policy::Column::ServerId.eq(&s.id),
        "",
        i32::MAX,
    )
    .await?;
    admin
        .commit(&state, txn, Change::server("policy", &p.id, &s.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn set_policy_status(
    state: &AppState,
    admin: &Admin,
    path: &(String, String, String),
    status: &str,
) -> Result<HttpResponse, ApiError> {
    let s = server(state, admin, &path.1).await?;
    let p = find_policy(state, admin, &s, &path.2).await?;
    if p.status != status {
        let txn = state.begin().await?;
        let id = p.id.clone();
        repo::update::<policy::Entity>(
            &txn,
            policy::Model {
                status: status.into(),
                last_updated: state.now_ms(),
                ..p
            },
        )
        .await?;
        admin
            .commit(state, txn, Change::server("policy", &id, &s.id))
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn activate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_policy_status(&state, &admin, &path, "ACTIVE").await
}

async fn deactivate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_policy_status(&state, &admin, &path, "INACTIVE").await
}

// ---------------------------------------------------------------- rules

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleInput {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    priority: Option<i64>,
    status: Option<String>,
    conditions: Option<RuleConditions>,
    actions: Option<RuleActions>,
}

/// The stored, normalised form of a rule's conditions and actions.
pub struct RuleBody {
    pub conditions: RuleConditions,
    pub actions: RuleActions,
}

fn render_rule(org: &str, s: &srv::Model, r: &policy_rule::Model) -> Result<Value, ApiError> {
    let conditions: RuleConditions = stored(&r.conditions)?;
    let actions: RuleActions = stored(&r.actions)?;
    let base = format!(
        "{org}/api/v1/authorizationServers/{}/policies/{}/rules/{}",
        s.id, r.policy_id, r.id
    );
    let lifecycle = if r.status == "ACTIVE" {
        "deactivate"
    } else {
        "activate"
    };
    Ok(json!({
        "id": r.id,
        "type": "RESOURCE_ACCESS",
        "name": r.name,
        "priority": r.priority,
        "status": r.status,
        "system": r.system,
        "conditions": conditions,
        "actions": actions,
        "created": ts(r.created),
        "lastUpdated": ts(r.last_updated),
        "_links": {
            "self": hinted(base.clone(), &["GET", "PUT", "DELETE"]),
            lifecycle: hinted(format!("{base}/lifecycle/{lifecycle}"), &["POST"]),
        },
    }))
}

/// Validates a rule's conditions and actions (§3.3 ranges, §4.6 fields) in this tenant.
async fn validate_rule_body(
    state: &AppState,
    tenant: &str,
    s: &srv::Model,
    c: &mut Causes,
    conditions: Option<RuleConditions>,
    actions: Option<RuleActions>,
) -> Result<RuleBody, ApiError> {
    // Members Tessera does not interpret are dropped by the types.
    let cond = conditions.unwrap_or_default();
    let grant_types = &cond.grant_types.include;
    if grant_types.is_empty() {
        c.add(
            "conditions.grantTypes.include",
            "The field cannot be left blank",
        );
    }
    for g in grant_types {
        if !RULE_GRANT_TYPES.contains(&g.as_str()) {
            c.add(
                "conditions.grantTypes.include",
                format!("'{g}' is not a supported grant type"),
            );
        }
    }
    for u in &cond.people.users.include {
        if repo::find::<user::Entity>(&state.db, tenant, u)
            .await?
            .is_none()
        {
            c.add(
                "conditions.people.users.include",
                format!("'{u}' is not a user of this organization"),
            );
        }
    }
    for g in &cond.people.groups.include {
        if g != "EVERYONE"
            && repo::find::<group::Entity>(&state.db, tenant, g)
                .await?
                .is_none()
        {
            c.add(
                "conditions.people.groups.include",
                format!("'{g}' is not a group of this organization"),
            );
        }
    }
    if cond.scopes.include.is_empty() {
        c.add(
            "conditions.scopes.include",
            "The field cannot be left blank",
        );
    }
    for name in cond.scopes.include.iter().filter(|n| *n != "*") {
        let exists = repo::find_by::<scope::Entity>(
            &state.db,
            tenant,
            Condition::all()
                .add(scope::Column::ServerId.eq(&s.id))
                .add(scope::Column::Name.eq(name.as_str())),
        )
        .await?
        .is_some();
        if !exists {
            c.add(
                "conditions.scopes.include",
                format!("'{name}' is not a scope of this authorization server"),
            );
        }
    }
    let mut actions = actions.unwrap_or_default();
    let token = &mut actions.token;
    // Stored with Okta's defaults filled in, so a reader sees the lifetimes that apply.
    let lifetimes = token.lifetimes();
    let (at, rt, window) = (
        lifetimes.access_token_minutes,
        lifetimes.refresh_token_minutes,
        lifetimes.refresh_window_minutes,
    );
    token.access_token_lifetime_minutes = Some(at);
    token.refresh_token_lifetime_minutes = Some(rt);
    token.refresh_token_window_minutes = Some(window);
    if !(5..=1440).contains(&at) {
        c.add(
            "actions.token.accessTokenLifetimeMinutes",
            "must be between 5 and 1440",
        );
    }
    if rt != 0 && (rt < at || rt > 2_628_000) {
        c.add(
            "actions.token.refreshTokenLifetimeMinutes",
            "must be 0 (unlimited) or between the access token lifetime and 2628000",
        );
    }
    if !(10..=2_628_000).contains(&window) {
        c.add(
            "actions.token.refreshTokenWindowMinutes",
            "must be between 10 and 2628000",
        );
    } else if rt != 0 && window > rt {
        c.add(
            "actions.token.refreshTokenWindowMinutes",
            "must not exceed the refresh token lifetime",
        );
    }
    // A hook reference without an id names nothing.
    if token.hook_id().is_none() {
        token.inline_hook = None;
    }
    if let Some(hook) = token.hook_id() {
        let found = repo::find::<inline_hook::Entity>(&state.db, tenant, hook).await?;
        if found.is_none_or(|h| h.hook_type != crate::hooks::TOKEN_HOOK_TYPE) {
            c.add(
                "actions.token.inlineHook.id",
                format!("'{hook}' is not a token inline hook of this organization"),
            );
        }
    }
    Ok(RuleBody {
        conditions: cond,
        actions,
    })
}

/// The default rule of a new tenant's default server.
pub fn default_rule_body() -> RuleBody {
    let (conditions, actions) = config::default_rule();
    RuleBody {
        conditions,
        actions,
    }
}

async fn validated_rule(
    state: &AppState,
    admin: &Admin,
    s: &srv::Model,
    p: &policy::Model,
    input: RuleInput,
    existing: Option<&policy_rule::Model>,
) -> Result<(policy_rule::Model, i32), ApiError> {
    let mut c = Causes::new();
    if input
        .kind
        .as_deref()
        .is_some_and(|k| k != "RESOURCE_ACCESS")
    {
        c.add("type", "must be RESOURCE_ACCESS");
    }
    let name = c
        .require("name", input.name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if !name.is_empty() {
        c.check("name", validate::length(&name, 1, 100));
    }
    let status = input
        .status
        .unwrap_or_else(|| existing.map_or("ACTIVE".into(), |e| e.status.clone()));
    if !matches!(status.as_str(), "ACTIVE" | "INACTIVE") {
        c.add("status", "must be ACTIVE or INACTIVE");
    }
    let priority = priority_field(&mut c, input.priority);
    let body = validate_rule_body(
        state,
        &admin.tenant.id,
        s,
        &mut c,
        input.conditions,
        input.actions,
    )
    .await?;
    c.finish()?;
    let now = state.now_ms();
    let model = policy_rule::Model {
        seq: existing.map_or(0, |e| e.seq),
        tenant_id: admin.tenant.id.clone(),
        id: existing.map_or_else(|| state.new_id(IdKind::Rule), |e| e.id.clone()),
        server_id: s.id.clone(),
        policy_id: p.id.clone(),
        name,
        priority: existing.map_or(i32::MAX, |e| e.priority),
        status,
        system: existing.is_some_and(|e| e.system),
        conditions: to_text(&body.conditions),
        actions: to_text(&body.actions),
        created: existing.map_or(now, |e| e.created),
        last_updated: now,
    };
    Ok((
        model,
        priority.unwrap_or_else(|| existing.map_or(i32::MAX, |e| e.priority)),
    ))
}

async fn find_rule(
    state: &AppState,
    admin: &Admin,
    p: &policy::Model,
    id: &str,
) -> Result<policy_rule::Model, ApiError> {
    repo::find::<policy_rule::Entity>(&state.db, &admin.tenant.id, id)
        .await?
        .filter(|r| r.policy_id == p.id)
        .ok_or_else(|| ApiError::not_found(id, "AuthorizationServerPolicyRule"))
}

async fn list_rules(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    let mut all = repo::all::<policy_rule::Entity>(
        &state.db,
        &admin.tenant.id,
        policy_rule::Column::PolicyId.eq(&p.id),
    )
    .await?;
    all.sort_by_key(|r| r.priority);
    let out = all
        .iter()
        .map(|r| render_rule(&admin.tenant.org_url, &s, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(out))
}

async fn create_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<RuleInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    let (model, wanted) = validated_rule(&state, &admin, &s, &p, body.into_inner(), None).await?;
    let txn = state.begin().await?;
    let r = repo::insert::<policy_rule::Entity>(&txn, model).await?;
    renumber::<policy_rule::Entity>(
        &txn,
        &state,
        &admin.tenant.id,
        policy_rule::Column::PolicyId.eq(&p.id),
        &r.id,
        wanted,
    )
    .await?;
    let r = repo::find::<policy_rule::Entity>(&txn, &admin.tenant.id, &r.id)
        .await?
        .unwrap_or(r);
    admin
        .commit(&state, txn, Change::server("policyRule", &r.id, &s.id))
        .await?;
    Ok(HttpResponse::Created().json(render_rule(&admin.tenant.org_url, &s, &r)?))
}

async fn get_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    let r = find_rule(&state, &admin, &p, &path.3).await?;
    Ok(HttpResponse::Ok().json(render_rule(&admin.tenant.org_url, &s, &r)?))
}

async fn replace_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
    body: web::Json<RuleInput>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    let existing = find_rule(&state, &admin, &p, &path.3).await?;
    let (model, wanted) =
        validated_rule(&state, &admin, &s, &p, body.into_inner(), Some(&existing)).await?;
    let txn = state.begin().await?;
    let r = repo::update::<policy_rule::Entity>(&txn, model).await?;
    renumber::<policy_rule::Entity>(
        &txn,
        &state,
        &admin.tenant.id,
        policy_rule::Column::PolicyId.eq(&p.id),
        &r.id,
        wanted,
    )
    .await?;
    let r = repo::find::<policy_rule::Entity>(&txn, &admin.tenant.id, &r.id)
        .await?
        .unwrap_or(r);
    admin
        .commit(&state, txn, Change::server("policyRule", &r.id, &s.id))
        .await?;
    Ok(HttpResponse::Ok().json(render_rule(&admin.tenant.org_url, &s, &r)?))
}

async fn delete_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let s = server(&state, &admin, &path.1).await?;
    let p = find_policy(&state, &admin, &s, &path.2).await?;
    let r = find_rule(&state, &admin, &p, &path.3).await?;
    let txn = state.begin().await?;
    repo::delete_where::<policy_rule::Entity>(
        &txn,
        &admin.tenant.id,
        policy_rule::Column::Id.eq(&r.id),
    )
    .await?;
    renumber::<policy_rule::Entity>(
        &txn,
        &state,
        &admin.tenant.id,
        policy_rule::Column::PolicyId.eq(&p.id),
        "",
        i32::MAX,
    )
    .await?;
    admin
        .commit(&state, txn, Change::server("policyRule", &r.id, &s.id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn set_rule_status(
    state: &AppState,
    admin: &Admin,
    path: &(String, String, String, String),
    status: &str,
) -> Result<HttpResponse, ApiError> {
    let s = server(state, admin, &path.1).await?;
    let p = find_policy(state, admin, &s, &path.2).await?;
    let r = find_rule(state, admin, &p, &path.3).await?;
    if r.status != status {
        let txn = state.begin().await?;
        let id = r.id.clone();
        repo::update::<policy_rule::Entity>(
            &txn,
            policy_rule::Model {
                status: status.into(),
                last_updated: state.now_ms(),
                ..r
            },
        )
        .await?;
        admin
            .commit(state, txn, Change::server("policyRule", &id, &s.id))
            .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

async fn activate_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_rule_status(&state, &admin, &path, "ACTIVE").await
}

async fn deactivate_rule(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_rule_status(&state, &admin, &path, "INACTIVE").await
}
