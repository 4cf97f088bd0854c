//! The token preview: the decision the token endpoint would make right now for a client, a
//! grant type, requested scopes and a user, and why — without issuing, signing, storing or
//! calling anything.
//!
//! It runs the token endpoint's own checks in the token endpoint's order, from the same
//! functions: the grant type's configuration on the app, each grant's scope refusals, the
//! user's status and assignment, the access policies ([`policy::explain`], the function the
//! endpoint's [`policy::evaluate`] is), the consent refusals and the claims engine
//! ([`claims::outcome`], the function every token's claims come from). A refusal is the error
//! the endpoint would answer, with the explanation of how it was reached.
//!
//! Not previewed: what a grant checks of its own credential (the client's secret or assertion,
//! the user's password, a code, a refresh token, a subject token or an assertion), DPoP proofs,
//! rate limits and the inline hook's answer (the hook that would be called is named).

use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_core::preview::{
    ClaimFailure, Pending, PreviewInput as Input, Previewer, Unpreviewable,
};
use tessera_domain::policy::{self, Denied, Grant, PolicyOutcome, RuleOutcome, Trace, UserFacts};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::OAuthError;
use tessera_store::entities::{claim, policy as policy_row, policy_rule, user};
use tessera_store::{ColumnTrait as _, repo};

use super::{GrantType, client_credentials, consent_scopes, jwt_bearer, password, policy_request};
use crate::claims::{self, Outcome, UserInfo};
use crate::mint::{self, IdTokenFor};

/// What the preview found, before it is rendered.
#[derive(Default)]
struct Findings {
    trace: Option<Trace>,
    grant: Option<Grant>,
    user: Option<(UserInfo, user::Model)>,
    claims: Vec<Value>,
    tokens: Option<Value>,
    /// The scopes refused after the policy granted them (consent), with why.
    consent_refused: Vec<String>,
}

/// The token service's [`Previewer`], installed in the state by the composition root.
pub struct Engine;

impl Previewer for Engine {
    fn preview<'a>(
        &'a self,
        state: &'a AppState,
        tenant: &'a str,
        server: &'a str,
        input: &'a Input,
    ) -> Pending<'a, Result<Value, Unpreviewable>> {
        Box::pin(run(state, tenant, server, input))
    }

    fn claim_failures<'a>(
        &'a self,
        state: &'a AppState,
        tenant: &'a str,
        server: &'a str,
    ) -> Pending<'a, Result<Vec<ClaimFailure>, Unpreviewable>> {
        Box::pin(async move { claim_failures(state, tenant, server).await.map_err(failed) })
    }
}

fn failed(e: OAuthError) -> Unpreviewable {
    Unpreviewable::Failed {
        unavailable: e.error == tessera_oauth::ErrorCode::TemporarilyUnavailable,
        cause: e.description,
    }
}

/// The preview of `input` at `server_id` (`default` or an id) of tenant `tenant_name`.
pub async fn run(
    state: &AppState,
    tenant_name: &str,
    server_id: &str,
    input: &Input,
) -> Result<Value, Unpreviewable> {
    let Some((tenant, saved)) = state
        .hot
        .server(tenant_name, server_id)
        .await
        .map_err(|e| failed(OAuthError::server_error(e)))?
    else {
        return Err(Unpreviewable::UnknownServer);
    };
    if saved.org {
        return Err(Unpreviewable::UnknownServer);
    }
    // A proposed change is previewed on a copy of the server's policies; nothing is saved.
    let server = match &input.proposed {
        Some(change) => {
            let mut copy = (*saved).clone();
            copy.policies = proposal::apply(&saved.policies, change)
                .map_err(|why| Unpreviewable::Invalid("proposed", why))?;
            std::sync::Arc::new(copy)
        }
        None => saved,
    };
    let now = state.clock.now().unix_timestamp();
    let names = Names::load(state, &tenant, &server).await.map_err(failed)?;
    let mut found = Findings::default();
    let outcome = decide(state, &tenant, &server, input, now, &names, &mut found).await?;
    let mut out = Map::new();
    out.insert(
        "decision".into(),
        json!(if outcome.is_ok() { "ALLOW" } else { "DENY" }),
    );
    if let Err(e) = &outcome {
        out.insert(
            "error".into(),
            json!({"status": e.status.as_u16(), "error": e.error.as_str(), "error_description": e.description}),
        );
    }
    out.insert(
        "request".into(),
        json!({"clientId": input.client_id, "grantType": input.grant_type,
            "scopes": input.scopes, "user": input.user}),
    );
    if let Some((info, u)) = &found.user {
        out.insert(
            "user".into(),
            json!({"id": info.id, "login": u.login, "status": info.status, "groupIds": info.group_ids}),
        );
    }
    out.insert(
        "policies".into(),
        policies(&server, found.trace.as_ref(), &names, &input.grant_type),
    );
    out.insert(
        "scopes".into(),
        scopes(&server, input, &outcome, &found, &names),
    );
    if let Some(g) = &found.grant {
        out.insert(
            "lifetimes".into(),
            json!({"accessTokenMinutes": g.lifetimes.access_token_minutes,
                "refreshTokenMinutes": g.lifetimes.refresh_token_minutes,
                "refreshTokenWindowMinutes": g.lifetimes.refresh_window_minutes}),
        );
        out.insert(
            "inlineHook".into(),
            match &g.inline_hook {
                Some(id) => json!({"id": id, "called": false,
                    "note": "The hook would be called with the drafted tokens and could change their claims and lifetimes; the preview shows them as drafted."}),
                None => Value::Null,
            },
        );
    }
    out.insert("claims".into(), Value::Array(found.claims));
    out.insert("tokens".into(), found.tokens.unwrap_or(Value::Null));
    Ok(Value::Object(out))
}

/// The token endpoint's checks, in its order; fills `found` as it goes.
async fn decide(
    state: &AppState,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    input: &Input,
    now: i64,
    names: &Names,
    found: &mut Findings,
) -> Result<Result<(), OAuthError>, Unpreviewable> {
    let Some(client) = tenant
        .clients
        .get(&input.client_id)
        .filter(|c| c.active)
        .cloned()
    else {
        return Ok(Err(OAuthError::invalid_client(
            "Client authentication failed. Either the client or the client credentials are invalid.",
        )));
    };
    let Some(grant_type) = GrantType::parse(&input.grant_type) else {
        return Ok(Err(crate::token::unsupported_grant_type()));
    };
    if let Err(e) = crate::token::refuse_unconfigured_grant(&client, grant_type) {
        return Ok(Err(e));
    }
    let scopes = input.scopes.as_deref();
    let before = match grant_type {
        GrantType::ClientCredentials => client_credentials::refuse_openid(scopes),
        GrantType::Password if scopes.is_none() => Err(OAuthError::missing("scope")),
        GrantType::JwtBearer => jwt_bearer::refuse_scopes(scopes),
        GrantType::TokenExchange if scopes.is_none() => Err(OAuthError::missing("scope")),
        GrantType::TokenExchange => super::token_exchange::refuse_service_scopes(&client, scopes),
        _ => Ok(()),
    };
    if let Err(e) = before {
        return Ok(Err(e));
    }
    let facts = if grant_type == GrantType::ClientCredentials {
        None
    } else {
        match user_facts(state, tenant, &client, grant_type, input, found).await? {
            Ok(facts) => Some(facts),
            Err(e) => return Ok(Err(e)),
        }
    };
    let request = policy_request(tenant, &client, grant_type.as_str(), facts.as_ref(), scopes);
    let (decision, trace) = policy::explain(&server.policies, &server.scopes, &request);
    let grant = match decision {
        Ok(g) => g,
        // The scopes were refused before any policy was looked at.
        Err(d @ (Denied::UnknownScope(_) | Denied::NoScopes | Denied::NoDefaultScopes)) => {
            return Ok(Err(OAuthError::from(d)));
        }
        Err(d) => {
            found.trace = Some(trace);
            return Ok(Err(OAuthError::from(d)));
        }
    };
    found.trace = Some(trace);
    found.grant = Some(grant.clone());
    let consent = consent_scopes(server, &grant);
    let after = match grant_type {
        GrantType::ClientCredentials => client_credentials::refuse_consent(&consent),
        GrantType::Password => password::refuse_consent(&client, &consent),
        _ => Ok(()),
    };
    if let Err(e) = after {
        found.consent_refused = consent.iter().map(|s| (*s).to_owned()).collect();
        return Ok(Err(e));
    }
    let drafted = Drafting {
        state,
        tenant,
        server,
        client: &client,
        grant: &grant,
        grant_type,
        now,
        names,
    };
    Ok(drafted.tokens(found))
}

/// The user of a user-bound grant: it must exist (else the preview cannot run), be ACTIVE and —
/// except for a token exchange — be assigned to the app.
async fn user_facts(
    state: &AppState,
    tenant: &TenantSnapshot,
    client: &ClientSnapshot,
    grant_type: GrantType,
    input: &Input,
    found: &mut Findings,
) -> Result<Result<UserFacts, OAuthError>, Unpreviewable> {
    let Some(wanted) = input.user.as_deref() else {
        return Err(Unpreviewable::Invalid(
            "userId",
            format!(
                "the {} grant issues tokens for a user; name one (an id or a login)",
                grant_type.as_str()
            ),
        ));
    };
    let t = tenant.tenant_id.as_str();
    let store = |e| failed(OAuthError::server_error(e));
    let u = match repo::find::<user::Entity>(&state.db, t, wanted)
        .await
        .map_err(store)?
    {
        Some(u) => Some(u),
        None => repo::find_by::<user::Entity>(&state.db, t, user::Column::Login.eq(wanted))
            .await
            .map_err(store)?,
    };
    let Some(u) = u else {
        return Err(Unpreviewable::Invalid(
            "userId",
            format!("no user '{wanted}' in this organization"),
        ));
    };
    let info = UserInfo::load(&state.db, t, client, &u)
        .await
        .map_err(|e| failed(OAuthError::from(e)))?;
    let facts = UserFacts {
        id: u.id.clone(),
        group_ids: info.group_ids.clone(),
    };
    let (active, assigned) = (
        u.status == "ACTIVE",
        crate::code::assigned(tenant, client, &u.id, &info.group_ids),
    );
    found.user = Some((info, u));
    if !active {
        return Ok(Err(OAuthError::invalid_grant(
            "The credentials provided were invalid.",
        )));
    }
    if !assigned && grant_type != GrantType::TokenExchange {
        return Ok(Err(OAuthError::access_denied(
            "User is not assigned to the client application.",
        )));
    }
    Ok(Ok(facts))
}

/// What the tokens of an allowed request are drafted from.
struct Drafting<'a> {
    state: &'a AppState,
    tenant: &'a TenantSnapshot,
    server: &'a ServerSnapshot,
    client: &'a ClientSnapshot,
    grant: &'a Grant,
    grant_type: GrantType,
    now: i64,
    names: &'a Names,
}

impl Drafting<'_> {
    /// Every claim's outcome, and the token payloads as they would be signed (if the inline hook,
    /// when there is one, left them alone).
    fn tokens(&self, found: &mut Findings) -> Result<(), OAuthError> {
        let Self {
            state,
            tenant,
            server,
            client,
            grant,
            grant_type,
            now,
            names,
        } = *self;
        let user = found.user.as_ref().map(|(info, _)| info);
        let ctx = claims::context(tenant, client, user, &grant.scopes, now);
        let openid = user.is_some() && grant.scopes.iter().any(|s| s == "openid");
        let mut failure = None;
        for c in &server.claims {
            // The token endpoint's ID tokens are thin: only claims always included.
            let (token, always_only) = match c.claim_type.as_str() {
                "RESOURCE" => ("access_token", false),
                _ if openid => ("id_token", true),
                _ => {
                    found.claims.push(json!({"name": c.name, "claimType": c.claim_type,
                    "included": false, "reason": "No ID token is issued: the grant has no user or 'openid' was not granted."}));
                    continue;
                }
            };
            let row = names
                .claims
                .iter()
                .find(|r| r.name == c.name && r.claim_type == c.claim_type);
            let mut report = json!({"name": c.name, "claimType": c.claim_type, "token": token,
            "valueType": row.map(|r| r.value_type.clone()), "expression": row.map(|r| r.value.clone())});
            let absent = |why: &str| Some(why.to_owned());
            let reason = match claims::outcome(c, &ctx, &grant.scopes, always_only) {
                Ok(Outcome::Value(v)) => {
                    report["value"] = v;
                    None
                }
                Ok(Outcome::Null) => absent("Its value is null for this user and client."),
                Ok(Outcome::ScopeNotGranted) => {
                    absent("None of the scopes it is included with was granted.")
                }
                Ok(Outcome::NotAlwaysIncluded) => absent(
                    "ID tokens from the token endpoint carry only claims included in every token (alwaysIncludeInToken).",
                ),
                Ok(Outcome::Reserved) => {
                    absent("Its name is a reserved claim, which a custom claim never overrides.")
                }
                Ok(Outcome::NoUser) => absent("A groups claim, and the token has no user."),
                Err(e) => {
                    let why = format!("It fails to evaluate ({e}): the token request would fail.");
                    failure.get_or_insert(e);
                    Some(why)
                }
            };
            report["included"] = json!(reason.is_none());
            if let Some(why) = reason {
                report["reason"] = json!(why);
            }
            found.claims.push(report);
        }
        if let Some(e) = failure {
            return Err(e.into());
        }
        let random = state.random.as_ref();
        let user_at = found.user.as_ref().map(|(info, _)| (info, now));
        let access = mint::access_claims(tenant, server, client, grant, user_at, now, random)?;
        let mut access_claims = access.claims;
        access_claims.insert("exp".into(), json!(now + access.lifetime_secs));
        let mut tokens = json!({"access_token": access_claims});
        if openid && let Some(info) = user {
            let opts = IdTokenFor {
                auth_time: now,
                ..IdTokenFor::default()
            };
            let id = mint::id_claims(
                tenant,
                server,
                client,
                info,
                &grant.scopes,
                now,
                opts,
                random,
            )?;
            let mut id_claims = id.claims;
            id_claims.insert("exp".into(), json!(now + id.lifetime_secs));
            tokens["id_token"] = Value::Object(id_claims);
        }
        // The grants that start (or continue) a refresh-token family when it is offered.
        let refresh = super::family::offered(client, grant)
            && matches!(
                grant_type,
                GrantType::Password
                    | GrantType::AuthorizationCode
                    | GrantType::DeviceCode
                    | GrantType::RefreshToken
            );
        tokens["refresh_token"] = json!(refresh);
        found.tokens = Some(tokens);
        Ok(())
    }
}

/// The display names of the server's policies, rules and claims, and each claim's expression.
struct Names {
    policies: Vec<policy_row::Model>,
    rules: Vec<policy_rule::Model>,
    claims: Vec<claim::Model>,
}

impl Names {
    async fn load(
        state: &AppState,
        tenant: &TenantSnapshot,
        server: &ServerSnapshot,
    ) -> Result<Self, OAuthError> {
        let t = tenant.tenant_id.as_str();
        let sid = server.server_id.as_str();
        Ok(Self {
            policies: repo::all::<policy_row::Entity>(
                &state.db,
                t,
                policy_row::Column::ServerId.eq(sid),
            )
            .await
            .map_err(OAuthError::server_error)?,
            rules: repo::all::<policy_rule::Entity>(
                &state.db,
                t,
                policy_rule::Column::ServerId.eq(sid),
            )
            .await
            .map_err(OAuthError::server_error)?,
            claims: repo::all::<claim::Entity>(&state.db, t, claim::Column::ServerId.eq(sid))
                .await
                .map_err(OAuthError::server_error)?,
        })
    }

    fn policy(&self, id: &str) -> Option<&policy_row::Model> {
        self.policies.iter().find(|p| p.id == id)
    }

    fn rule(&self, id: &str) -> Option<&policy_rule::Model> {
        self.rules.iter().find(|r| r.id == id)
    }

    fn rule_name(&self, id: &str) -> String {
        self.rule(id)
            .map_or_else(|| id.to_owned(), |r| r.name.clone())
    }
}

/// Each policy, in the order evaluated, with its rules.
fn policies(
    server: &ServerSnapshot,
    trace: Option<&Trace>,
    names: &Names,
    grant_type: &str,
) -> Value {
    let describe = |id: &str, outcome: &str, reason: String, rules: Vec<Value>| {
        let row = names.policy(id);
        json!({"id": id, "name": row.map(|p| p.name.clone()), "priority": row.map(|p| p.priority),
            "status": row.map(|p| p.status.clone()), "outcome": outcome, "reason": reason, "rules": rules})
    };
    let Some(trace) = trace else {
        let mut all: Vec<_> = server.policies.iter().collect();
        all.sort_by_key(|p| p.priority);
        return Value::Array(
            all.iter()
                .map(|p| {
                    describe(
                        &p.id,
                        "NOT_EVALUATED",
                        "The request was refused before the access policies were evaluated.".into(),
                        Vec::new(),
                    )
                })
                .collect(),
        );
    };
    Value::Array(
        trace
            .policies
            .iter()
            .map(|p| {
                let (outcome, reason) = match p.outcome {
                    PolicyOutcome::Matched => ("MATCHED", "A rule of this policy matched: it decides the request.".to_owned()),
                    PolicyOutcome::Inactive => ("SKIPPED", "The policy is INACTIVE.".to_owned()),
                    PolicyOutcome::ClientNotIncluded => ("SKIPPED", "The policy's clients condition does not include the client.".to_owned()),
                    PolicyOutcome::NoRuleMatched => ("SKIPPED", "The policy applies to the client, but none of its rules matched.".to_owned()),
                    PolicyOutcome::NotEvaluated => ("NOT_EVALUATED", "An earlier policy decided the request.".to_owned()),
                };
                let rules = p
                    .rules
                    .iter()
                    .map(|r| {
                        let (outcome, reason) = rule_reason(&r.outcome, grant_type);
                        let row = names.rule(&r.id);
                        json!({"id": r.id, "name": row.map(|r| r.name.clone()), "priority": row.map(|r| r.priority),
                            "status": row.map(|r| r.status.clone()), "outcome": outcome, "reason": reason})
                    })
                    .collect();
                describe(&p.id, outcome, reason, rules)
            })
            .collect(),
    )
}

fn rule_reason(outcome: &RuleOutcome, grant_type: &str) -> (&'static str, String) {
    match outcome {
        RuleOutcome::Matched => (
            "MATCHED",
            "The rule covers the grant type, the user and every requested scope.".into(),
        ),
        RuleOutcome::Inactive => ("SKIPPED", "The rule is INACTIVE.".into()),
        RuleOutcome::GrantTypeNotIncluded => (
            "SKIPPED",
            format!("The rule's grant types do not include {grant_type}."),
        ),
        RuleOutcome::UserNotIncluded => (
            "SKIPPED",
            "The rule's people condition includes neither the user nor a group of the user.".into(),
        ),
        RuleOutcome::ScopesNotCovered(s) => (
            "SKIPPED",
            format!(
                "The rule does not cover the requested scopes [{}]; a rule must cover every requested scope.",
                s.join(", ")
            ),
        ),
        RuleOutcome::NoDefaultScopePermitted => (
            "SKIPPED",
            "No scope was requested and the rule permits none of the default scopes.".into(),
        ),
        RuleOutcome::NotEvaluated => ("NOT_EVALUATED", "An earlier rule matched.".into()),
    }
}

/// Each requested scope (the default scopes when none was requested), granted or refused, and why.
fn scopes(
    server: &ServerSnapshot,
    input: &Input,
    outcome: &Result<(), OAuthError>,
    found: &Findings,
    names: &Names,
) -> Value {
    let defaults: Vec<String> = server
        .scopes
        .iter()
        .filter(|s| s.is_default)
        .map(|s| s.name.clone())
        .collect();
    let asked: Vec<String> = input.scopes.clone().unwrap_or_else(|| defaults.clone());
    let exists = |s: &str| server.scopes.iter().any(|c| c.name == s);
    // The rules that were considered and did not cover some scopes, per scope.
    let mut uncovered_by: Vec<(&str, &Vec<String>)> = Vec::new();
    for p in found.trace.iter().flat_map(|t| &t.policies) {
        for r in &p.rules {
            if let RuleOutcome::ScopesNotCovered(s) = &r.outcome {
                uncovered_by.push((r.id.as_str(), s));
            }
        }
    }
    let mut out = Vec::new();
    for name in &asked {
        let (granted, reason) = if !exists(name) {
            (
                false,
                "It is not a scope of this authorization server.".to_owned(),
            )
        } else if found.consent_refused.contains(name) {
            (
                false,
                "It needs the user's consent, which this grant cannot ask for.".to_owned(),
            )
        } else if let Some(g) = found.grant.as_ref().filter(|_| outcome.is_ok()) {
            if g.scopes.contains(name) {
                let via = format!("Granted by rule '{}'", names.rule_name(&g.rule_id));
                let default = if input.scopes.is_none() {
                    " (a default scope; no scope was requested)"
                } else {
                    ""
                };
                (true, format!("{via}{default}."))
            } else {
                (
                    false,
                    format!(
                        "A default scope the matching rule '{}' does not permit.",
                        names.rule_name(&g.rule_id)
                    ),
                )
            }
        } else if let Some(g) = &found.grant {
            (
                false,
                format!(
                    "Rule '{}' permits it, but the request was refused for another scope, so nothing is granted.",
                    names.rule_name(&g.rule_id)
                ),
            )
        } else if found.trace.is_none() {
            (
                false,
                "The request was refused before the policies were evaluated, so nothing is granted.".to_owned(),
            )
        } else {
            let not_covering: Vec<String> = uncovered_by
                .iter()
                .filter(|(_, s)| s.contains(name))
                .map(|(id, _)| names.rule_name(id))
                .collect();
            let reason = if not_covering.is_empty() {
                "No rule matched the request (see the policies); this scope is not why any rule was skipped.".to_owned()
            } else {
                format!(
                    "No rule matched the request; rules that do not cover this scope: [{}].",
                    not_covering.join(", ")
                )
            };
            (false, reason)
        };
        out.push(json!({"name": name, "granted": granted, "reason": reason}));
    }
    Value::Array(out)
}

/// The users each claim check reads at most (the first, by creation).
pub const CLAIM_CHECK_USERS: u64 = 200;

/// Every claim of `server_id` evaluated for each ACTIVE user (at most [`CLAIM_CHECK_USERS`])
/// with each app of the tenant the user is assigned to, as the token endpoint would evaluate it
/// for a request granting the claim's scopes: the failures, at most one per claim.
pub async fn claim_failures(
    state: &AppState,
    tenant_name: &str,
    server_id: &str,
) -> Result<Vec<ClaimFailure>, OAuthError> {
    let Some((tenant, server)) = state
        .hot
        .server(tenant_name, server_id)
        .await
        .map_err(OAuthError::server_error)?
    else {
        return Ok(Vec::new());
    };
    if server.claims.is_empty() {
        return Ok(Vec::new());
    }
    let users = repo::page::<user::Entity>(
        &state.db,
        &tenant.tenant_id,
        user::Column::Status.eq("ACTIVE"),
        None,
        CLAIM_CHECK_USERS,
    )
    .await
    .map_err(OAuthError::server_error)?
    .items;
    let now = state.clock.now().unix_timestamp();
    let mut failures: Vec<ClaimFailure> = Vec::new();
    for u in &users {
        let groups = claims::group_ids(&state.db, &tenant.tenant_id, &u.id)
            .await
            .map_err(OAuthError::from)?;
        for client in tenant.clients.values().filter(|c| c.active) {
            let info = UserInfo::of(client, u, groups.clone()).map_err(OAuthError::from)?;
            if !crate::code::assigned(&tenant, client, &u.id, &info.group_ids) {
                continue;
            }
            for c in &server.claims {
                if failures
                    .iter()
                    .any(|f| f.claim == c.name && f.claim_type == c.claim_type)
                {
                    continue;
                }
                let scopes = c.scopes.clone();
                let ctx = claims::context(&tenant, client, Some(&info), &scopes, now);
                if let Err(e) = claims::outcome(c, &ctx, &scopes, false) {
                    failures.push(ClaimFailure {
                        claim: c.name.clone(),
                        claim_type: c.claim_type.clone(),
                        user_login: u.login.clone(),
                        client_id: client.client_id.clone(),
                        error: e.to_string(),
                    });
                }
            }
        }
    }
    Ok(failures)
}

/// A proposed, unsaved change to a server's access policies, applied to a copy of them.
///
/// * `{"rule": {"policyId": …, "id": …, "name", "priority", "status", "conditions", "actions"}}`
///   replaces the rule with that `id` in that policy, or adds the rule when it has no `id`;
/// * `{"policy": {"id": …, "priority", "status", "conditions": {"clients": {"include": […]}}}}`
///   replaces that policy's settings (keeping its rules), or adds a policy (with no rules) when
///   it has no `id`;
/// * `{"deleteRule": {"policyId": …, "id": …}}` and `{"deletePolicy": {"id": …}}` take one out.
mod proposal {
    use serde::Deserialize;
    use serde_json::Value;
    use tessera_domain::config::{RuleActions, RuleConditions};
    use tessera_domain::policy::{Clients, Policy};

    /// The id a proposed rule or policy without one is previewed under.
    pub const NEW_ID: &str = "proposed";

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    enum Change {
        Rule(RuleChange),
        Policy(PolicyChange),
        DeleteRule(Target),
        DeletePolicy(Target),
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RuleChange {
        policy_id: String,
        id: Option<String>,
        priority: Option<i32>,
        status: Option<String>,
        #[serde(default)]
        conditions: RuleConditions,
        #[serde(default)]
        actions: RuleActions,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PolicyChange {
        id: Option<String>,
        priority: Option<i32>,
        status: Option<String>,
        conditions: Option<PolicyConditions>,
    }

    #[derive(Deserialize)]
    struct PolicyConditions {
        clients: tessera_domain::config::Include,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Target {
        policy_id: Option<String>,
        id: String,
    }

    fn active(status: Option<&str>) -> Result<bool, String> {
        match status.unwrap_or("ACTIVE") {
            "ACTIVE" => Ok(true),
            "INACTIVE" => Ok(false),
            other => Err(format!("status '{other}' is not ACTIVE or INACTIVE")),
        }
    }

    pub fn apply(policies: &[Policy], change: &Value) -> Result<Vec<Policy>, String> {
        let change: Change = serde_json::from_value(change.clone())
            .map_err(|e| format!("not a rule, policy, deleteRule or deletePolicy change: {e}"))?;
        let mut out = policies.to_vec();
        let policy_at = |out: &[Policy], id: &str| {
            out.iter()
                .position(|p| p.id == id)
                .ok_or_else(|| format!("no policy '{id}' on this server"))
        };
        match change {
            Change::Rule(r) => {
                let at = policy_at(&out, &r.policy_id)?;
                for g in &r.conditions.grant_types.include {
                    if !crate::grants::GrantType::SUPPORTED.contains(&g.as_str())
                        && ![
                            "implicit",
                            "interaction_code",
                            "urn:ietf:params:oauth:grant-type:saml2-bearer",
                            "urn:openid:params:grant-type:ciba",
                        ]
                        .contains(&g.as_str())
                    {
                        return Err(format!("grant type '{g}' is not one a rule may name"));
                    }
                }
                let rules = &mut out[at].rules;
                let existing = r.id.as_ref().map(|id| {
                    rules
                        .iter()
                        .position(|x| &x.id == id)
                        .ok_or_else(|| format!("no rule '{id}' in policy '{}'", r.policy_id))
                });
                let priority = r
                    .priority
                    .unwrap_or_else(|| rules.iter().map(|x| x.priority).max().unwrap_or(0) + 1);
                let rule = tessera_domain::config::rule(
                    r.id.as_deref().unwrap_or(NEW_ID),
                    priority,
                    active(r.status.as_deref())?,
                    r.conditions,
                    &r.actions,
                );
                match existing.transpose()? {
                    Some(i) => rules[i] = rule,
                    None => rules.push(rule),
                }
            }
            Change::Policy(p) => {
                let clients = p.conditions.map(|c| {
                    if c.clients.include.iter().any(|x| x == "ALL_CLIENTS") {
                        Clients::All
                    } else {
                        Clients::Only(c.clients.include)
                    }
                });
                match &p.id {
                    Some(id) => {
                        let at = policy_at(&out, id)?;
                        let target = &mut out[at];
                        if let Some(priority) = p.priority {
                            target.priority = priority;
                        }
                        if p.status.is_some() {
                            target.active = active(p.status.as_deref())?;
                        }
                        if let Some(clients) = clients {
                            target.clients = clients;
                        }
                    }
                    None => {
                        let priority = p.priority.unwrap_or_else(|| {
                            out.iter().map(|x| x.priority).max().unwrap_or(0) + 1
                        });
                        out.push(Policy {
                            id: NEW_ID.to_owned(),
                            priority,
                            active: active(p.status.as_deref())?,
                            clients: clients.ok_or("a new policy needs conditions.clients")?,
                            rules: Vec::new(),
                        });
                    }
                }
            }
            Change::DeleteRule(t) => {
                let policy = t.policy_id.ok_or("deleteRule needs policyId")?;
                let at = policy_at(&out, &policy)?;
                let before = out[at].rules.len();
                out[at].rules.retain(|r| r.id != t.id);
                if out[at].rules.len() == before {
                    return Err(format!("no rule '{}' in policy '{policy}'", t.id));
                }
            }
            Change::DeletePolicy(t) => {
                let at = policy_at(&out, &t.id)?;
                out.remove(at);
            }
        }
        Ok(out)
    }
}
