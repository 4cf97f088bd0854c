//! Tenant resolution and authentication of the management and operator APIs.
//!
//! Routes live under `/t/{tenant}/…`. With a wildcard base domain, [`route_by_host`] rewrites
//! `https://acme.example.com/api/v1/…` to `/t/acme/api/v1/…` before routing, so both forms
//! reach the same handlers.

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use tessera_domain::admin_roles::{self, Guard, Held, PrincipalKind, Resource, Role, Target};
use tessera_domain::org_scopes;
use tessera_domain::secrets::{constant_time_eq, lookup_digest};
use tessera_ephemeral::revocation::Subject;
use tessera_store::entities::{
    api_token, app, group, group_member, role_assignment, role_target, tenant, user,
};
use tessera_store::{ColumnTrait as _, Condition, repo};

use crate::error::ApiError;
use crate::routes::RouteGuards;
use std::sync::{Arc, Mutex};
use tessera_core::state::{AppState, Change};
use tessera_core::syslog::{Audit, Event, Party};
use tessera_store::DatabaseTransaction;

/// The resolved tenant of a request.
#[derive(Debug, Clone)]
pub struct TenantCtx {
    pub id: String,
    pub name: String,
    pub status: String,
    pub org_url: String,
}

/// A caller authenticated with an API token of this tenant (`Authorization: SSWS …`) whose
/// admin roles allow the request (the matrix is in docs/management-api.md, after Okta's standard
/// administrator roles). A token acts with the current roles of
/// the user it belongs to (direct and through groups), so a user who loses a role or is
/// deactivated loses its rights at once; the tenant's provisioning token, which belongs to no
/// user, carries its own (`SUPER_ADMIN`).
#[derive(Debug, Clone)]
pub struct Admin {
    pub tenant: TenantCtx,
    pub token_id: String,
    pub user_id: Option<String>,
    pub roles: Vec<Role>,
    /// The System Log event this call records when its change commits (`None` for reads and
    /// for calls that record nothing); taken by the first [`Admin::commit`].
    audit: Arc<Mutex<Option<Audit>>>,
}

impl Admin {
    pub fn is_super_admin(&self) -> bool {
        self.roles.contains(&Role::SuperAdmin)
    }

    /// Commits the change this call made (see [`AppState::commit`]) and, with the first commit
    /// of the call, its System Log event: the actor is the caller, the target the route's
    /// object or, for a create, the object `change` names.
    pub async fn commit(
        &self,
        state: &AppState,
        txn: DatabaseTransaction,
        change: Change<'_>,
    ) -> Result<i64, tessera_core::Error> {
        let audit = self.audit.lock().map(|mut a| a.take()).unwrap_or(None);
        state
            .commit(txn, &self.tenant.id, change.audited(audit))
            .await
    }

    /// Names the target of this call's System Log event (see [`Audit::name_target`]).
    pub fn name_target(&self, alternate_id: &str, display_name: &str) {
        if let Ok(mut audit) = self.audit.lock()
            && let Some(audit) = audit.as_mut()
        {
            audit.name_target(alternate_id, display_name);
        }
    }

    /// Records this call's System Log event for a change that is not a configuration commit
    /// (revocations, role assignments, key rotation). Call it once the change is durable.
    pub fn record(&self, state: &AppState) {
        let audit = self.audit.lock().map(|mut a| a.take()).unwrap_or(None);
        if let Some(audit) = audit {
            state.syslog.record(audit.event("unknown"));
        }
    }
}

/// The event a management call records, prepared when the call is authorised: the event type
/// from its method and path (`tessera_domain::syslog::admin_event`), the caller as actor.
fn audit_of(req: &HttpRequest, tenant_id: &str, actor: Party) -> Option<Audit> {
    let method = req.method().as_str();
    let relative = relative_management_path(req.path())?;
    let change = tessera_domain::syslog::admin_event(method, &relative)?;
    let verb = change
        .event_type
        .rsplit('.')
        .next()
        .unwrap_or("change")
        .replace('_', " ");
    let event = Event::new(
        tenant_id,
        &change.event_type,
        format!("{} {}", capitalized(&verb), change.target_type),
        actor,
    )
    .origin(crate::client::origin(req))
    .debug("method", method);
    Some(Audit::new(event, change.target_type, change.target_id))
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// `/t/acme/api/v1/apps/0oa1` → `/apps/0oa1`; `/t/acme/oauth2/v1/clients/x/roles` →
/// `/clients/x/roles`.
fn relative_management_path(path: &str) -> Option<String> {
    if let Some((_, rest)) = path.split_once("/api/v1") {
        return Some(rest.to_owned());
    }
    path.split_once("/oauth2/v1/clients")
        .map(|(_, rest)| format!("/clients{rest}"))
}

/// The role assignments a user holds, directly and through their groups.
async fn user_assignments(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<role_assignment::Model>, ApiError> {
    let groups: Vec<String> = repo::all::<group_member::Entity>(
        &state.db,
        tenant_id,
        group_member::Column::UserId.eq(user_id),
    )
    .await?
    .into_iter()
    .map(|m| m.group_id)
    .collect();
    let held = Condition::any()
        .add(
            Condition::all()
                .add(role_assignment::Column::PrincipalType.eq("USER"))
                .add(role_assignment::Column::PrincipalId.eq(user_id)),
        )
        .add(
            Condition::all()
                .add(role_assignment::Column::PrincipalType.eq("GROUP"))
                .add(role_assignment::Column::PrincipalId.is_in(groups)),
        );
    Ok(repo::all::<role_assignment::Entity>(&state.db, tenant_id, held).await?)
}

/// The roles a user holds, directly and through their groups.
pub async fn user_roles(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<Role>, ApiError> {
    let mut roles: Vec<Role> = user_assignments(state, tenant_id, user_id)
        .await?
        .iter()
        .filter_map(|r| r.role_type.parse().ok())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    Ok(roles)
}

/// A user's assignments with their targets (Okta's role targets), for the target check.
pub async fn user_held(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
) -> Result<Vec<Held>, ApiError> {
    let assignments = user_assignments(state, tenant_id, user_id).await?;
    let ids: Vec<&str> = assignments.iter().map(|a| a.id.as_str()).collect();
    let targets = repo::all::<role_target::Entity>(
        &state.db,
        tenant_id,
        role_target::Column::AssignmentId.is_in(ids),
    )
    .await?;
    Ok(assignments
        .iter()
        .filter_map(|a| {
            let role = a.role_type.parse().ok()?;
            let targets = targets
                .iter()
                .filter(|t| t.assignment_id == a.id)
                .filter_map(target_of)
                .collect();
            Some(Held { role, targets })
        })
        .collect())
}

/// A stored target as the domain knows it.
pub fn target_of(t: &role_target::Model) -> Option<Target> {
    match (t.kind.as_str(), &t.app_id) {
        ("GROUP", _) => Some(Target::Group(t.target.clone())),
        ("APP", _) => Some(Target::AppName(t.target.clone())),
        ("APP_INSTANCE", Some(id)) => Some(Target::AppInstance {
            name: t.target.clone(),
            id: id.clone(),
        }),
        _ => None,
    }
}

/// The roles an API token acts with now.
async fn token_roles(state: &AppState, token: &api_token::Model) -> Result<Vec<Role>, ApiError> {
    match &token.user_id {
        Some(user_id) => {
            let active = repo::find::<user::Entity>(&state.db, &token.tenant_id, user_id)
                .await?
                .is_some_and(|u| u.status == "ACTIVE");
            if active {
                user_roles(state, &token.tenant_id, user_id).await
            } else {
                Ok(Vec::new())
            }
        }
        None => Ok(serde_json::from_str::<Vec<String>>(&token.roles)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.parse().ok())
            .collect()),
    }
}

/// Loads a tenant by name.
pub async fn find_tenant(state: &AppState, name: &str) -> Result<Option<tenant::Model>, ApiError> {
    Ok(tessera_store::tenants::by_name(&state.db, name).await?)
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("application state missing"))
}

fn authorization<'a>(req: &'a HttpRequest, scheme: &str) -> Option<&'a str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    credential(value, scheme)
}

/// The credential after `scheme` (any case) in an `Authorization` value. `SSWS` may also be
/// written without its space (`SSWS00abc…`): Okta's Python SDK sends it so, and Okta takes it.
fn credential<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let head = value.get(..scheme.len())?;
    let rest = &value[scheme.len()..];
    let spaced = rest.starts_with(' ');
    (head.eq_ignore_ascii_case(scheme) && (spaced || scheme == "SSWS"))
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let name = req
                .match_info()
                .get("tenant")
                .unwrap_or_default()
                .to_owned();
            let Some(tenant) = find_tenant(&state, &name).await? else {
                // Same answer as a wrong token: do not reveal which tenants exist.
                return Err(ApiError::invalid_token());
            };
            let caller = if let Some(token) = authorization(&req, "SSWS") {
                api_token_caller(&state, &tenant.id, token).await?
            } else if let Some(token) = authorization(&req, "Bearer") {
                org_token_caller(&state, &tenant, token, None).await?
            } else if let Some(token) = authorization(&req, "DPoP") {
                org_token_caller(&state, &tenant, token, Some(&req)).await?
            } else {
                return Err(ApiError::invalid_token());
            };
            if tenant.status != "ACTIVE" {
                return Err(ApiError::forbidden());
            }
            // The permission comes from the route that matched (its declared guard and its
            // method), never from the path as the request spelled it.
            let Some(guard) = req
                .app_data::<RouteGuards>()
                .and_then(|g| g.of(req.method()))
            else {
                tracing::error!(
                    route = req.match_pattern().as_deref().unwrap_or("unmatched"),
                    "management route registered without a permission guard; refused"
                );
                return Err(ApiError::forbidden());
            };
            let resource = guard.resource;
            let write = !guard.reads_only && !matches!(*req.method(), Method::GET | Method::HEAD);
            let scoped = caller
                .scopes
                .as_ref()
                .is_none_or(|scopes| org_scopes::allows(scopes, resource, write));
            let denied = if !scoped {
                Some("the token lacks the okta.* scope")
            } else if !admin_roles::allows(&caller.roles, resource, write) {
                Some("no role allows it")
            } else if write && !may_act_on(&state, &tenant.id, &req, &guard, &caller.roles).await? {
                Some("the target holds a role the caller does not cover")
            } else if write && !within_targets(&state, &tenant.id, &req, &guard, &caller).await? {
                Some("outside the groups or apps the caller's roles are narrowed to")
            } else {
                None
            };
            if let Some(reason) = denied {
                tracing::warn!(
                    tenant = %tenant.id,
                    token = %caller.token_id,
                    principal = %caller.principal,
                    method = %req.method(),
                    route = req.match_pattern().as_deref().unwrap_or("unmatched"),
                    ?resource,
                    reason,
                    "management call denied"
                );
                return Err(ApiError::forbidden());
            }
            let actor = match (&caller.user_id, caller.scopes.is_some()) {
                (Some(uid), _) => Party::new("User", uid),
                (None, true) => Party::new("PublicClientApp", &caller.principal),
                (None, false) => {
                    Party::new("ApiToken", &caller.token_id).named("Provisioning token")
                }
            };
            let audit = audit_of(&req, &tenant.id, actor);
            let ctx = TenantCtx {
                org_url: state.org_url(&tenant.name),
                id: tenant.id,
                name: tenant.name,
                status: tenant.status,
            };
            Ok(Self {
                tenant: ctx,
                token_id: caller.token_id,
                user_id: caller.user_id,
                roles: caller.roles,
                audit: Arc::new(Mutex::new(audit)),
            })
        })
    }
}

/// Whether a caller holding `roles` may change the principals `guard` names in this request's
/// path (Okta: an admin never acts on someone who holds rights the admin lacks; only a super
/// admin acts on super admins). A principal that does not exist holds nothing; the handler
/// answers 404 for it.
async fn may_act_on(
    state: &AppState,
    tenant_id: &str,
    req: &HttpRequest,
    guard: &Guard,
    roles: &[Role],
) -> Result<bool, ApiError> {
    for principal in guard.principals() {
        let Some(id) = req.match_info().get(principal.param) else {
            continue;
        };
        let held = principal_held_roles(state, tenant_id, principal.kind, id).await?;
        if !admin_roles::covers(roles, &held) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the principals a change acts on are within the targets of the caller's roles
/// (Okta's role targets: a user admin narrowed to a group manages that group and its members
/// only; an app admin narrowed to apps manages those apps only). Callers that are not users
/// (the provisioning token, service apps with org-server tokens) have no targets. A principal
/// that does not exist is left to the handler (404); users added to a group are the group's
/// business, so a membership change checks the group alone.
async fn within_targets(
    state: &AppState,
    tenant_id: &str,
    req: &HttpRequest,
    guard: &Guard,
    caller: &Caller,
) -> Result<bool, ApiError> {
    let Some(uid) = &caller.user_id else {
        return Ok(true);
    };
    if guard.principals().next().is_none() {
        return Ok(true);
    }
    let held = user_held(state, tenant_id, uid).await?;
    if held.iter().all(|h| h.targets.is_empty()) {
        return Ok(true);
    }
    for principal in guard.principals() {
        let Some(id) = req.match_info().get(principal.param) else {
            continue;
        };
        let reached = match principal.kind {
            PrincipalKind::User if guard.resource == Resource::GroupMembership => true,
            PrincipalKind::User => {
                let found = match repo::find::<user::Entity>(&state.db, tenant_id, id).await? {
                    Some(u) => Some(u),
                    None => {
                        repo::find_by::<user::Entity>(
                            &state.db,
                            tenant_id,
                            user::Column::Login.eq(id),
                        )
                        .await?
                    }
                };
                let Some(u) = found else { continue };
                let group_ids: Vec<String> = repo::all::<group_member::Entity>(
                    &state.db,
                    tenant_id,
                    group_member::Column::UserId.eq(&u.id),
                )
                .await?
                .into_iter()
                .map(|m| m.group_id)
                .collect();
                admin_roles::reaches(
                    &held,
                    guard.resource,
                    true,
                    admin_roles::Subject::User {
                        group_ids: &group_ids,
                    },
                )
            }
            PrincipalKind::Group => {
                if repo::find::<group::Entity>(&state.db, tenant_id, id)
                    .await?
                    .is_none()
                {
                    continue;
                }
                admin_roles::reaches(
                    &held,
                    guard.resource,
                    true,
                    admin_roles::Subject::Group { id },
                )
            }
            PrincipalKind::App => {
                let Some(a) = repo::find::<app::Entity>(&state.db, tenant_id, id).await? else {
                    continue;
                };
                let subject = admin_roles::Subject::App {
                    id: &a.id,
                    name: &a.name,
                };
                admin_roles::reaches(&held, guard.resource, true, subject)
            }
            PrincipalKind::ApiToken => true,
        };
        if !reached {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The admin roles a principal holds now: a user directly and through groups, a group's own,
/// an app's client's, an API token's (its user's, or its own for the provisioning token).
pub async fn principal_held_roles(
    state: &AppState,
    tenant_id: &str,
    kind: PrincipalKind,
    id: &str,
) -> Result<Vec<Role>, ApiError> {
    match kind {
        PrincipalKind::User => {
            let by_id = repo::find::<user::Entity>(&state.db, tenant_id, id).await?;
            let found = match by_id {
                Some(u) => Some(u),
                None => {
                    repo::find_by::<user::Entity>(&state.db, tenant_id, user::Column::Login.eq(id))
                        .await?
                }
            };
            match found {
                Some(u) => user_roles(state, tenant_id, &u.id).await,
                None => Ok(Vec::new()),
            }
        }
        PrincipalKind::Group => principal_roles(state, tenant_id, "GROUP", id).await,
        PrincipalKind::App => match repo::find::<app::Entity>(&state.db, tenant_id, id).await? {
            Some(a) => principal_roles(state, tenant_id, "CLIENT", &a.client_id).await,
            None => Ok(Vec::new()),
        },
        PrincipalKind::ApiToken => {
            match repo::find::<api_token::Entity>(&state.db, tenant_id, id).await? {
                // Whatever the token's user holds now, active or not: the token acts for them.
                Some(t) => match &t.user_id {
                    Some(uid) => user_roles(state, tenant_id, uid).await,
                    None => token_roles(state, &t).await,
                },
                None => Ok(Vec::new()),
            }
        }
    }
}

/// Who is calling the management API, before the permission check.
struct Caller {
    token_id: String,
    /// For logs: the user, the client, or `-` for the provisioning token.
    principal: String,
    user_id: Option<String>,
    roles: Vec<Role>,
    /// The `okta.*` scopes of an org-server access token; `None` for API tokens.
    scopes: Option<Vec<String>>,
}

/// `Authorization: SSWS {api token}`.
async fn api_token_caller(
    state: &AppState,
    tenant_id: &str,
    token: &str,
) -> Result<Caller, ApiError> {
    let row = tessera_store::tenants::api_token_by_digest(&state.db, &lookup_digest(token))
        .await?
        .filter(|t| t.tenant_id == tenant_id)
        .filter(|t| t.expires_at.is_none_or(|exp| exp > state.now_ms()))
        .ok_or_else(ApiError::invalid_token)?;
    Ok(Caller {
        roles: token_roles(state, &row).await?,
        principal: row.user_id.clone().unwrap_or_else(|| "-".into()),
        token_id: row.id,
        user_id: row.user_id,
        scopes: None,
    })
}

#[derive(Debug, serde::Deserialize)]
struct OrgClaims {
    iss: String,
    aud: String,
    exp: i64,
    iat: i64,
    jti: String,
    cid: String,
    /// Present when a user signed in (authorization code): the token acts as that user.
    uid: Option<String>,
    #[serde(default)]
    scp: Vec<String>,
    /// RFC 9449 §6: the DPoP key the token is bound to.
    cnf: Option<Confirmation>,
}

#[derive(Debug, serde::Deserialize)]
struct Confirmation {
    jkt: String,
}

/// The key thumbprint of the request's one DPoP proof for `token` (RFC 9449 §7: `htm`, `htu`,
/// `ath`; no nonce is asked for at the management API); `None` when there is no valid proof.
async fn dpop_key(
    state: &AppState,
    tenant: &tenant::Model,
    req: &HttpRequest,
    token: &str,
) -> Option<String> {
    let mut proofs = req.headers().get_all("dpop");
    let (Some(proof), None) = (proofs.next(), proofs.next()) else {
        return None;
    };
    let url = format!(
        "{}{}",
        state.org_url(&tenant.name),
        crate::paging::relative_path(req)
    );
    let expect = tessera_oauth::dpop::Expect {
        method: req.method().as_str(),
        url: &url,
        access_token: Some(token),
        nonce_required: false,
        now: state.clock.now().unix_timestamp(),
    };
    match tessera_oauth::dpop::verify(
        proof.to_str().ok()?,
        &expect,
        state.short.as_ref(),
        &tenant.id,
    )
    .await
    {
        Ok(jkt) => Some(jkt),
        Err(refused) => {
            tracing::info!(tenant = %tenant.id, reason = ?refused, "management API: DPoP proof refused");
            None
        }
    }
}

/// `Authorization: Bearer {access token of the org authorization server}` (Okta's "OAuth 2.0
/// for Okta APIs", <https://developer.okta.com/docs/guides/implement-oauth-for-okta/>): verified against the org server's keys, issuer and audience (both the org), expiry and
/// revocation; the caller acts with the roles assigned to its client, within its scopes.
/// A DPoP-bound token (`cnf.jkt`) counts only as `Authorization: DPoP` with a proof of its key
/// (`dpop`: the request, when the scheme was DPoP); an unbound one only as `Bearer`.
async fn org_token_caller(
    state: &AppState,
    tenant: &tenant::Model,
    token: &str,
    dpop: Option<&HttpRequest>,
) -> Result<Caller, ApiError> {
    let (_, server) = state
        .hot
        .org_server(&tenant.name)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(ApiError::invalid_token)?;
    let header = tessera_jose::compact::header(token).map_err(|_| ApiError::invalid_token())?;
    let key = server
        .verify_keys
        .iter()
        .find(|k| Some(&k.kid) == header.kid.as_ref() && k.alg == header.alg)
        .ok_or_else(ApiError::invalid_token)?;
    let mut validation = jsonwebtoken::Validation::new(key.alg);
    validation.validate_exp = false; // against the injected clock, below
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<OrgClaims>(token, &key.key, &validation)
        .map_err(|_| ApiError::invalid_token())?
        .claims;
    let now = state.clock.now().unix_timestamp();
    if claims.iss != server.issuer || claims.aud != server.audience || claims.exp <= now {
        return Err(ApiError::invalid_token());
    }
    match (&claims.cnf, dpop) {
        (None, None) => {}
        (Some(cnf), Some(req)) => {
            if dpop_key(state, tenant, req, token).await.as_deref() != Some(cnf.jkt.as_str()) {
                return Err(ApiError::invalid_token());
            }
        }
        // A bound token without its proof, or a proof for an unbound token.
        _ => return Err(ApiError::invalid_token()),
    }
    let mut subjects = vec![
        Subject::Tenant,
        Subject::Server(&server.server_id),
        Subject::Client(&claims.cid),
    ];
    if let Some(uid) = &claims.uid {
        subjects.push(Subject::User(uid));
    }
    let revoked = state
        .revocations
        .is_revoked(&tenant.id, Some(&claims.jti), claims.iat, &subjects)
        .await?;
    let client_active =
        repo::find_by::<app::Entity>(&state.db, &tenant.id, app::Column::ClientId.eq(&claims.cid))
            .await?
            .is_some_and(|a| a.status == "ACTIVE");
    if revoked || !client_active {
        return Err(ApiError::invalid_token());
    }
    // A user's token acts with the user's roles (while the user is active); a service app's
    // with the roles assigned to its client.
    let roles = match &claims.uid {
        Some(uid) => {
            let active = repo::find::<user::Entity>(&state.db, &tenant.id, uid)
                .await?
                .is_some_and(|u| u.status == "ACTIVE");
            if !active {
                return Err(ApiError::invalid_token());
            }
            user_roles(state, &tenant.id, uid).await?
        }
        None => principal_roles(state, &tenant.id, "CLIENT", &claims.cid).await?,
    };
    Ok(Caller {
        roles,
        principal: claims.uid.clone().unwrap_or_else(|| claims.cid.clone()),
        token_id: claims.jti,
        user_id: claims.uid,
        scopes: Some(claims.scp),
    })
}

/// The roles assigned directly to a principal (`USER`, `GROUP` or `CLIENT`).
pub async fn principal_roles(
    state: &AppState,
    tenant_id: &str,
    principal_type: &str,
    principal_id: &str,
) -> Result<Vec<Role>, ApiError> {
    let held = Condition::all()
        .add(role_assignment::Column::PrincipalType.eq(principal_type))
        .add(role_assignment::Column::PrincipalId.eq(principal_id));
    Ok(
        repo::all::<role_assignment::Entity>(&state.db, tenant_id, held)
            .await?
            .iter()
            .filter_map(|r| r.role_type.parse().ok())
            .collect(),
    )
}

/// The platform operator (`Authorization: Bearer {operator token}`).
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ok = state_of(req).ok().is_some_and(|state| {
            authorization(req, "Bearer").is_some_and(|t| {
                constant_time_eq(
                    lookup_digest(t).as_bytes(),
                    state.operator_token_digest.as_bytes(),
                )
            })
        });
        std::future::ready(if ok {
            Ok(Self)
        } else {
            Err(ApiError::invalid_token())
        })
    }
}

/// With a base domain configured, a request to `{tenant}.{base_domain}` is routed as
/// `/t/{tenant}{path}`. Requests to other hosts are left alone. Run by the outermost middleware
/// ([`crate::server`]) before the router sees the path.
pub fn route_by_host(req: &mut ServiceRequest) {
    let domain = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.config.base_domain.clone());
    let Some(domain) = domain else {
        return;
    };
    let host = req
        .connection_info()
        .host()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let tenant = host
        .strip_suffix(&format!(".{domain}"))
        .filter(|t| !t.is_empty() && !t.contains('.'));
    if let Some(tenant) = tenant.map(str::to_owned) {
        let pq = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        if !pq.starts_with("/t/")
            && let Ok(uri) = format!("/t/{tenant}{pq}").parse::<actix_web::http::Uri>()
        {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
}

#[cfg(test)]
mod audit_tests {
    use super::{credential, relative_management_path};

    #[test]
    fn ssws_is_read_in_any_case_with_or_without_its_space() {
        assert_eq!(credential("SSWS 00abc", "SSWS"), Some("00abc"));
        assert_eq!(credential("ssws 00abc", "SSWS"), Some("00abc"));
        assert_eq!(credential("SSWS00abc", "SSWS"), Some("00abc"));
        assert_eq!(credential("SSWS ", "SSWS"), None);
        assert_eq!(credential("SSWS", "SSWS"), None);
        assert_eq!(credential("Bearer x.y.z", "Bearer"), Some("x.y.z"));
        assert_eq!(credential("Bearerx.y.z", "Bearer"), None);
        assert_eq!(credential("Basic abc", "SSWS"), None);
    }

    #[test]
    fn management_paths_are_made_relative() {
        assert_eq!(
            relative_management_path("/t/acme/api/v1/apps/0oa1").as_deref(),
            Some("/apps/0oa1")
        );
        assert_eq!(
            relative_management_path("/t/acme/oauth2/v1/clients/c1/roles").as_deref(),
            Some("/clients/c1/roles")
        );
        assert_eq!(relative_management_path("/operator/v1/tenants"), None);
    }
}
