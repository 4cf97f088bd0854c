//! Configuration advice: the setups Okta's guidance for custom authorization servers warns
//! against, found in a tenant's configuration (`GET /api/v1/authorizationServers/{id}/advice`,
//! `GET /api/v1/advice` for the whole tenant, `tessera advise --tenant NAME`). Each finding has a
//! stable code (docs/advice.md), a severity, the object it concerns, the guidance it comes from
//! and how to fix it. The checks read the same hot state the token endpoint decides from, and
//! claims are evaluated by the token endpoint's claims engine.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use tessera_core::AppState;
use tessera_core::usage::Used;
use tessera_domain::policy::{Clients, Policy};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_store::entities::{app, app_secret, associated_server, authorization_server as srv};
use tessera_store::{ColumnTrait as _, repo};
use tessera_web::ApiError;
use tessera_web::tenant::Admin;

/// Okta's guidance on custom authorization servers, which most findings cite.
const AS_GUIDE: &str = "https://developer.okta.com/docs/concepts/auth-servers/";
const POLICY_GUIDE: &str = "https://developer.okta.com/docs/guides/configure-access-policy/main/";
const SCOPES_GUIDE: &str = "https://developer.okta.com/docs/guides/customize-authz-server/main/";
const OAUTH_BCP: &str = "https://www.rfc-editor.org/rfc/rfc9700";
/// Access tokens longer than Okta's default lifetime, on scopes that change data.
const LONG_ACCESS_MINUTES: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::High => "HIGH",
            Self::Medium => "MEDIUM",
            Self::Low => "LOW",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub title: String,
    pub object: Subject,
    /// The authorization server the finding is about, when it is about one.
    #[serde(
        rename = "authorizationServerId",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_id: Option<String>,
    pub guidance: Guidance,
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guidance {
    pub text: &'static str,
    pub source: &'static str,
}

/// What the checks need of the tenant: its hot servers and clients, and the rows hot state
/// does not hold (names, statuses, audiences, secrets' ages, associations).
struct Config {
    tenant: std::sync::Arc<TenantSnapshot>,
    /// Every custom server with its snapshot (inactive ones too).
    servers: Vec<(srv::Model, std::sync::Arc<ServerSnapshot>)>,
    rule_names: HashMap<String, String>,
    policy_names: HashMap<String, String>,
    secrets: Vec<app_secret::Model>,
    associations: Vec<associated_server::Model>,
    now_ms: i64,
    /// Per app: when it was created, and when it last used each grant type and redirect URI
    /// (in its settings' order).
    usage: HashMap<String, AppUsage>,
    /// Since when uses have been kept (`None`: unknown, so nothing is reported unused).
    tracking_since: Option<i64>,
}

struct AppUsage {
    created: i64,
    grants: Vec<Option<i64>>,
    redirects: Vec<Option<i64>>,
}

/// What to check.
pub enum Scope<'a> {
    Tenant,
    /// One server (`default` or an id): its own objects, and its audience among the others.
    Server(&'a str),
}

/// The settings of the checks.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A client secret older than this many days is reported.
    pub secret_max_age_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secret_max_age_days: 180,
        }
    }
}

/// The findings for `scope` in tenant `tenant_name`, most severe first; `None` when the server
/// named does not exist.
pub async fn advise(
    state: &AppState,
    tenant_name: &str,
    scope: Scope<'_>,
    settings: Settings,
) -> Result<Option<Vec<Finding>>, ApiError> {
    let Some(cfg) = load(state, tenant_name).await? else {
        return Ok(None);
    };
    let only: Option<&str> = match scope {
        Scope::Tenant => None,
        Scope::Server(id) => {
            let found = cfg
                .servers
                .iter()
                .find(|(row, _)| row.id == id || (id == "default" && row.is_default));
            match found {
                Some((row, _)) => Some(row.id.as_str()),
                None => return Ok(None),
            }
        }
    };
    let mut out = Vec::new();
    for (row, server) in &cfg.servers {
        if only.is_some_and(|id| id != row.id) {
            continue;
        }
        server_findings(&cfg, row, server, &mut out);
        let Some(previewer) = state.previewer.get() else {
            return Err(ApiError::internal(
                "the claim checks need the token service's claims engine: run `tessera serve` (any --service)",
            ));
        };
        let failures = previewer
            .claim_failures(state, tenant_name, &row.id)
            .await
            .map_err(|e| match e {
                tessera_core::preview::Unpreviewable::Failed {
                    unavailable: true,
                    cause,
                } => ApiError::unavailable(cause),
                other => ApiError::internal(format!("{other:?}")),
            })?;
        for failure in failures {
            out.push(Finding {
                code: "TA-CLAIM-FAILS",
                severity: Severity::High,
                title: format!(
                    "The {} claim '{}' fails to evaluate for user {} with app {}: {}; their token requests fail",
                    failure.claim_type, failure.claim, failure.user_login, failure.client_id, failure.error
                ),
                object: Subject { kind: "Claim", id: failure.claim.clone(), name: failure.claim },
                server_id: Some(row.id.clone()),
                guidance: Guidance { text: "A claim that cannot be evaluated fails the token request (server_error).", source: SCOPES_GUIDE },
                fix: "Guard the expression against absent values (for example with the Elvis operator `?:` or a conditional) or include the claim only with the scopes that need it.".into(),
            });
        }
    }
    if only.is_none() {
        tenant_findings(&cfg, settings, &mut out);
    }
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.code.cmp(b.code)));
    Ok(Some(out))
}

async fn load(state: &AppState, tenant_name: &str) -> Result<Option<Config>, ApiError> {
    let Some((tenant, _)) = state
        .hot
        .org_server(tenant_name)
        .await
        .map_err(ApiError::internal)?
    else {
        return Ok(None);
    };
    let t = tenant.tenant_id.as_str();
    let rows = repo::all::<srv::Entity>(&state.db, t, srv::Column::Org.eq(false)).await?;
    let mut servers = Vec::new();
    for row in rows {
        if let Some((_, snapshot)) = state
            .hot
            .server(tenant_name, &row.id)
            .await
            .map_err(ApiError::internal)?
        {
            servers.push((row, snapshot));
        }
    }
    let policy_names = repo::all::<tessera_store::entities::policy::Entity>(
        &state.db,
        t,
        tessera_store::Condition::all(),
    )
    .await?
    .into_iter()
    .map(|p| (p.id, p.name))
    .collect();
    let rule_names = repo::all::<tessera_store::entities::policy_rule::Entity>(
        &state.db,
        t,
        tessera_store::Condition::all(),
    )
    .await?
    .into_iter()
    .map(|r| (r.id, r.name))
    .collect();
    let mut usage = HashMap::new();
    let unavailable = |e: tessera_ephemeral::StoreUnavailable| ApiError::unavailable(e);
    for a in repo::all::<app::Entity>(&state.db, t, app::Column::Status.eq("ACTIVE")).await? {
        let Some(c) = tenant.clients.get(&a.client_id) else {
            continue;
        };
        let store = state.short.as_ref();
        let grants = state
            .usage
            .last_used(store, t, &a.id, Used::GrantType, &c.grant_types)
            .await
            .map_err(unavailable)?;
        let redirects = state
            .usage
            .last_used(store, t, &a.id, Used::RedirectUri, &c.redirect_uris)
            .await
            .map_err(unavailable)?;
        usage.insert(
            a.id.clone(),
            AppUsage {
                created: a.created,
                grants,
                redirects,
            },
        );
    }
    Ok(Some(Config {
        usage,
        tracking_since: state.usage.tracking_since(state.short.as_ref()).await,
        secrets: repo::all::<app_secret::Entity>(
            &state.db,
            t,
            app_secret::Column::Status.eq("ACTIVE"),
        )
        .await?,
        associations: repo::all::<associated_server::Entity>(
            &state.db,
            t,
            tessera_store::Condition::all(),
        )
        .await?,
        tenant,
        servers,
        rule_names,
        policy_names,
        now_ms: state.now_ms(),
    }))
}

/// A scope that can change data, by its name.
fn changes_data(scope: &str) -> bool {
    let s = scope.to_ascii_lowercase();
    [
        "write", "manage", "admin", "delete", "update", "create", "modify",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// A scope named like a generic administrator scope: `admin`, `all`, `root`, … as its whole
/// name or its last segment (`orders.admin`, `api:all`).
fn generic_admin(scope: &str) -> bool {
    let s = scope.to_ascii_lowercase();
    let last = s.rsplit(['.', ':', '/', '_', '-']).next().unwrap_or(&s);
    [
        "admin",
        "administrator",
        "superuser",
        "root",
        "all",
        "full",
        "fullaccess",
        "*",
    ]
    .contains(&last)
}

fn server_subject(row: &srv::Model) -> Subject {
    Subject {
        kind: "AuthorizationServer",
        id: row.id.clone(),
        name: row.name.clone(),
    }
}

fn server_findings(
    cfg: &Config,
    row: &srv::Model,
    server: &ServerSnapshot,
    out: &mut Vec<Finding>,
) {
    let sid = Some(row.id.clone());
    let name_of = |names: &HashMap<String, String>, id: &str| {
        names.get(id).cloned().unwrap_or_else(|| id.to_owned())
    };
    for policy in server.policies.iter().filter(|p| p.active) {
        let policy_subject = Subject {
            kind: "Policy",
            id: policy.id.clone(),
            name: name_of(&cfg.policy_names, &policy.id),
        };
        if policy.clients == Clients::All {
            out.push(Finding {
                code: "TA-POLICY-ALL-CLIENTS",
                severity: Severity::Medium,
                title: format!("Policy '{}' applies to all clients", policy_subject.name),
                object: policy_subject.clone(),
                server_id: sid.clone(),
                guidance: Guidance { text: "Assign policies to specific clients; use the All Clients option only if no other solution is possible.", source: POLICY_GUIDE },
                fix: "Set the policy's conditions.clients.include to the clients that need it.".into(),
            });
        }
        for rule in policy.rules.iter().filter(|r| r.active) {
            let rule_subject = Subject {
                kind: "PolicyRule",
                id: rule.id.clone(),
                name: name_of(&cfg.rule_names, &rule.id),
            };
            let all_scopes = rule.scopes.iter().any(|s| s == "*");
            if all_scopes {
                out.push(Finding {
                    code: "TA-RULE-ALL-SCOPES",
                    severity: Severity::Medium,
                    title: format!("Rule '{}' of policy '{}' grants every scope (*)", rule_subject.name, policy_subject.name),
                    object: rule_subject.clone(),
                    server_id: sid.clone(),
                    guidance: Guidance { text: "If a request generates unexpected scopes, it's because of an overly broad rule within the authorization server.", source: POLICY_GUIDE },
                    fix: "List the scopes the rule's clients need in conditions.scopes.include.".into(),
                });
            }
            let everyone = rule
                .groups
                .iter()
                .any(|g| g == "EVERYONE" || *g == cfg.tenant.everyone_group_id);
            let sensitive: Vec<&str> = if all_scopes {
                server
                    .scopes
                    .iter()
                    .map(|s| s.name.as_str())
                    .filter(|s| changes_data(s))
                    .collect()
            } else {
                rule.scopes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| changes_data(s))
                    .collect()
            };
            let user_grant = rule.grant_types.iter().any(|g| g != "client_credentials");
            if everyone && user_grant && !sensitive.is_empty() {
                out.push(Finding {
                    code: "TA-RULE-EVERYONE-SENSITIVE",
                    severity: Severity::Medium,
                    title: format!("Rule '{}' grants [{}] to Everyone", rule_subject.name, sensitive.join(", ")),
                    object: rule_subject.clone(),
                    server_id: sid.clone(),
                    guidance: Guidance { text: "Use the Everyone group only when necessary; grant scopes that change data to the groups that need them.", source: POLICY_GUIDE },
                    fix: "Replace EVERYONE in conditions.people.groups.include with the groups that need these scopes, or move them to a rule of their own.".into(),
                });
            }
            let long_on: Vec<&str> = sensitive.clone();
            if rule.lifetimes.access_token_minutes > LONG_ACCESS_MINUTES && !long_on.is_empty() {
                out.push(Finding {
                    code: "TA-LIFETIME-LONG-WRITE",
                    severity: Severity::Low,
                    title: format!(
                        "Rule '{}' issues {}-minute access tokens for scopes that change data ([{}])",
                        rule_subject.name, rule.lifetimes.access_token_minutes, long_on.join(", ")
                    ),
                    object: rule_subject,
                    server_id: sid.clone(),
                    guidance: Guidance { text: "Match access-token lifetimes to the risk of the scopes they carry; a stolen token works until it expires.", source: POLICY_GUIDE },
                    fix: format!("Lower actions.token.accessTokenLifetimeMinutes to {LONG_ACCESS_MINUTES} or less, or give the scopes that change data a rule with a shorter lifetime."),
                });
            }
        }
    }
    for scope in server.scopes.iter().filter(|s| generic_admin(&s.name)) {
        out.push(Finding {
            code: "TA-SCOPE-GENERIC-ADMIN",
            severity: Severity::Medium,
            title: format!("Scope '{}' is named like a generic administrator scope", scope.name),
            object: Subject { kind: "Scope", id: scope.name.clone(), name: scope.name.clone() },
            server_id: sid.clone(),
            guidance: Guidance { text: "Define granular scopes: a generic administrator scope is rarely appropriate.", source: SCOPES_GUIDE },
            fix: "Split it into scopes for the operations clients perform (orders:read, orders:refund, …).".into(),
        });
    }
    if row.status == "ACTIVE" {
        let sharing: Vec<&str> = cfg
            .servers
            .iter()
            .filter(|(other, _)| other.id != row.id && other.audiences == row.audiences)
            .map(|(other, _)| other.name.as_str())
            .collect();
        if !sharing.is_empty() {
            out.push(Finding {
                code: "TA-AUDIENCE-SHARED",
                severity: Severity::High,
                title: format!("The audience {} is also the audience of [{}]", server.audience, sharing.join(", ")),
                object: server_subject(row),
                server_id: sid.clone(),
                guidance: Guidance { text: "Use one authorization server per API product, with an audience specific to that API: a resource server that checks only the audience accepts the other server's tokens.", source: AS_GUIDE },
                fix: "Give each server the audience of its own API (audiences in the server's settings).".into(),
            });
        }
        if server.audience == "api://default" || !server.audience.contains("://") {
            out.push(Finding {
                code: "TA-AUDIENCE-GENERIC",
                severity: Severity::Low,
                title: format!("The audience '{}' does not name a specific API", server.audience),
                object: server_subject(row),
                server_id: sid,
                guidance: Guidance { text: "Use an audience specific to the API the tokens are for, not the default server's api://default.", source: AS_GUIDE },
                fix: "Set the server's audience to the API's URI (for example https://api.example.com/orders).".into(),
            });
        }
    }
}

fn app_subject(c: &ClientSnapshot) -> Subject {
    Subject {
        kind: "App",
        id: c.app_id.clone(),
        name: c.label.clone(),
    }
}

/// Whether any ACTIVE rule of an ACTIVE server allows `grant_type` for `client`.
fn some_rule_allows(
    servers: &[(srv::Model, std::sync::Arc<ServerSnapshot>)],
    client: &str,
    grant_type: &str,
) -> bool {
    let applies = |p: &Policy| match &p.clients {
        Clients::All => true,
        Clients::Only(ids) => ids.iter().any(|c| c == client),
    };
    servers
        .iter()
        .filter(|(row, _)| row.status == "ACTIVE")
        .flat_map(|(_, s)| s.policies.iter())
        .filter(|p| p.active && applies(p))
        .flat_map(|p| p.rules.iter())
        .any(|r| r.active && r.grant_types.iter().any(|g| g == grant_type))
}

fn is_loopback(uri: &str) -> bool {
    url::Url::parse(uri)
        .ok()
        .is_some_and(|u| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
}

fn tenant_findings(cfg: &Config, settings: Settings, out: &mut Vec<Finding>) {
    let mut clients: Vec<&ClientSnapshot> = cfg
        .tenant
        .clients
        .values()
        .map(AsRef::as_ref)
        .filter(|c: &&ClientSnapshot| c.active)
        .collect();
    clients.sort_by(|a, b| a.label.cmp(&b.label).then(a.client_id.cmp(&b.client_id)));
    for c in clients {
        // Grants the org server serves (the org's own sign-in and service tokens) are not a
        // custom server's to allow.
        for g in c.grant_types.iter().filter(|g| {
            !matches!(
                g.as_str(),
                "refresh_token" | "implicit" | "interaction_code"
            )
        }) {
            if !some_rule_allows(&cfg.servers, &c.client_id, g) {
                out.push(Finding {
                    code: "TA-GRANT-NO-RULE",
                    severity: Severity::Low,
                    title: format!("App '{}' has the {g} grant type, which no rule of an active authorization server allows for it", c.label),
                    object: app_subject(c),
                    server_id: None,
                    guidance: Guidance { text: "Enable only the grant types a use case needs.", source: POLICY_GUIDE },
                    fix: format!("Remove {g} from the app's settings.oauthClient.grant_types, or add a rule that allows it if the app needs it."),
                });
            }
        }
        for (g, why) in [
            (
                "password",
                "The resource owner password grant exposes the user's password to the app and bypasses multifactor sign-in.",
            ),
            (
                "implicit",
                "The implicit grant returns tokens in the browser's URL; use the authorization code flow with PKCE.",
            ),
        ] {
            if c.grant_types.iter().any(|x| x == g) {
                out.push(Finding {
                    code: if g == "password" { "TA-GRANT-PASSWORD" } else { "TA-GRANT-IMPLICIT" },
                    severity: Severity::Medium,
                    title: format!("App '{}' has the {g} grant enabled", c.label),
                    object: app_subject(c),
                    server_id: None,
                    guidance: Guidance { text: why, source: OAUTH_BCP },
                    fix: format!("Remove {g} from settings.oauthClient.grant_types and use authorization_code with PKCE."),
                });
            }
        }
        for uri in c
            .redirect_uris
            .iter()
            .filter(|u| u.starts_with("http://") && !is_loopback(u))
        {
            out.push(Finding {
                code: "TA-REDIRECT-HTTP",
                severity: Severity::High,
                title: format!("App '{}' redirects to {uri} over plain http", c.label),
                object: app_subject(c),
                server_id: None,
                guidance: Guidance { text: "Authorization codes and tokens sent to an http redirect URI can be read on the network; only loopback redirects may use http.", source: OAUTH_BCP },
                fix: "Use an https redirect URI (or a loopback one for native apps), and remove the http one.".into(),
            });
        }
        unused(cfg, c, out);
        let limit_ms = settings.secret_max_age_days * 86_400_000;
        for s in cfg
            .secrets
            .iter()
            .filter(|s| s.app_id == c.app_id && cfg.now_ms - s.created > limit_ms)
        {
            out.push(Finding {
                code: "TA-SECRET-OLD",
                severity: Severity::Low,
                title: format!(
                    "App '{}' has an active client secret {} days old (more than {})",
                    c.label,
                    (cfg.now_ms - s.created) / 86_400_000,
                    settings.secret_max_age_days
                ),
                object: Subject { kind: "ClientSecret", id: s.id.clone(), name: c.label.clone() },
                server_id: None,
                guidance: Guidance { text: "Rotate client secrets on a schedule: add a new secret, move the app to it, then deactivate and delete the old one.", source: "https://developer.okta.com/docs/guides/client-secret-rotation-key/main/" },
                fix: "POST /api/v1/apps/{id}/credentials/secrets, switch the app over, then deactivate the old secret.".into(),
            });
        }
    }
    for a in &cfg.associations {
        let (Some((from, _)), Some((to, _))) = (
            cfg.servers.iter().find(|(r, _)| r.id == a.server_id),
            cfg.servers
                .iter()
                .find(|(r, _)| r.id == a.trusted_server_id),
        ) else {
            continue;
        };
        if to.status != "ACTIVE" {
            out.push(Finding {
                code: "TA-SERVER-INACTIVE-REFERENCED",
                severity: Severity::Low,
                title: format!("Inactive server '{}' is still a trusted server of '{}'", to.name, from.name),
                object: server_subject(to),
                server_id: Some(to.id.clone()),
                guidance: Guidance { text: "Remove what is no longer in use: a configuration that names inactive servers is harder to reason about, and reactivating one re-opens the trust.", source: AS_GUIDE },
                fix: format!("DELETE /api/v1/authorizationServers/{}/associatedServers/{}, or delete the inactive server.", from.id, to.id),
            });
        }
    }
}

/// The grant types and redirect URIs `c` has not used for the usage window, once the app and
/// the record of uses are both that old.
fn unused(cfg: &Config, c: &ClientSnapshot, out: &mut Vec<Finding>) {
    let window_ms = i64::try_from(tessera_core::usage::WINDOW.as_millis()).unwrap_or(i64::MAX);
    let days = window_ms / 86_400_000;
    let horizon = cfg.now_ms - window_ms;
    let (Some(since), Some(u)) = (cfg.tracking_since, cfg.usage.get(&c.app_id)) else {
        return;
    };
    if since > horizon || u.created > horizon {
        return;
    }
    let stale = |at: &Option<i64>| at.is_none_or(|t| t < horizon);
    for (g, at) in c.grant_types.iter().zip(&u.grants) {
        if stale(at) {
            out.push(Finding {
                code: "TA-GRANT-UNUSED",
                severity: Severity::Low,
                title: format!(
                    "App '{}' has not used its {g} grant type in {days} days",
                    c.label
                ),
                object: app_subject(c),
                server_id: None,
                guidance: Guidance {
                    text: "Enable only the grant types a use case needs.",
                    source: POLICY_GUIDE,
                },
                fix: format!("Remove {g} from the app's settings.oauthClient.grant_types."),
            });
        }
    }
    for (uri, at) in c.redirect_uris.iter().zip(&u.redirects) {
        if stale(at) {
            out.push(Finding {
                code: "TA-REDIRECT-UNUSED",
                severity: Severity::Low,
                title: format!("App '{}' has not been sent to its redirect URI {uri} in {days} days", c.label),
                object: app_subject(c),
                server_id: None,
                guidance: Guidance { text: "Keep only the redirect URIs in active use: every registered one is a place codes and tokens may be sent.", source: OAUTH_BCP },
                fix: "Remove the redirect URI from settings.oauthClient.redirect_uris.".into(),
            });
        }
    }
}

/// `GET /authorizationServers/{id}/advice`.
pub(crate) async fn server_advice(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    match advise(
        &state,
        &admin.tenant.name,
        Scope::Server(&path.1),
        Settings::default(),
    )
    .await?
    {
        Some(found) => Ok(HttpResponse::Ok().json(found)),
        None => Err(ApiError::not_found(&path.1, "AuthorizationServer")),
    }
}

/// `GET /advice`: every server's findings and the tenant's apps and associations.
pub(crate) async fn tenant_advice(
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, ApiError> {
    let found = advise(
        &state,
        &admin.tenant.name,
        Scope::Tenant,
        Settings::default(),
    )
    .await?
    .unwrap_or_default();
    Ok(HttpResponse::Ok().json(found))
}

/// The findings as lines of text, for the command line.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let severity = f.severity.as_str();
        out.push_str(&format!(
            "{severity:<6} {} {} '{}' ({})\n",
            f.code, f.object.kind, f.object.name, f.object.id
        ));
        out.push_str(&format!(
            "       {}\n       guidance: {} ({})\n       fix: {}\n",
            f.title, f.guidance.text, f.guidance.source, f.fix
        ));
    }
    out
}
