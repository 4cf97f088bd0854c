//! Issuing the tokens of one response: draft their claims, let the matched rule's token inline
//! hook (Okta's token inline hook, <https://developer.okta.com/docs/reference/token-hook/>) change them, then sign. Every grant that mints tokens goes through
//! [`tokens`], so the hook runs for client credentials, password, authorization code, refresh
//! and the implicit and hybrid responses of `/authorize` alike.
//!
//! A hook answering with `error` fails the request ([`IssueError::HookRefused`]).
//! A hook that times out, cannot be reached, answers other than 200/204, or sends commands that
//! cannot be applied is skipped: the tokens are issued unmodified and the failure is logged.

use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_core::syslog::{Event, Outcome, Party};
use tessera_domain::policy::Grant;
use tessera_domain::token_hook::{self, Draft};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::Form;

use crate::claims::UserInfo;
use crate::error::IssueError;
use crate::mint::{self, AccessToken, IdToken, IdTokenFor};

const HOOK_TYPE: &str = "com.okta.oauth2.tokens.transform";
const HOOK_ERROR_DEFAULT: &str = "The callback service returned an error.";

/// Which tokens a response carries.
#[derive(Default)]
pub struct Want<'a> {
    pub access: bool,
    /// An ID token, issued with these.
    pub id: Option<IdTokenFor<'a>>,
    /// The code issued in the same response (hybrid flow; gives the ID token's `c_hash`).
    pub code: Option<&'a str>,
}

/// The signed tokens.
pub struct Issued {
    pub access: Option<AccessToken>,
    pub id_token: Option<IdToken>,
}

/// Where the tokens were asked for, as a hook's `context.protocol` describes it.
pub struct Origin<'a> {
    /// `token` or `authorize`.
    pub endpoint: &'a str,
    pub grant_type: &'a str,
    /// The request's parameters; only the protocol fields are passed on.
    pub params: &'a Form,
    /// On a refresh: the id of the refresh token presented.
    pub refresh_token_id: Option<&'a str>,
}

/// The everything-about-the-request a token issuance needs.
pub struct Issue<'a> {
    pub state: &'a AppState,
    pub tenant: &'a TenantSnapshot,
    pub server: &'a ServerSnapshot,
    pub client: &'a ClientSnapshot,
    pub grant: &'a Grant,
    pub user: Option<&'a UserInfo>,
    /// When the user authenticated (seconds; user grants only): the tokens' `auth_time`.
    pub auth_time: Option<i64>,
    /// The DPoP key the access token is bound to (`cnf.jkt`, RFC 9449 §6), set after the hook
    /// ran so that no hook can change it.
    pub dpop_jkt: Option<&'a str>,
    pub now: i64,
    pub origin: Origin<'a>,
}

/// Drafts, transforms (through the rule's hook) and signs the tokens `want` asks for.
#[tracing::instrument(name = "token.issue", skip_all)]
pub async fn tokens(i: &Issue<'_>, want: Want<'_>) -> Result<Issued, IssueError> {
    let random = i.state.random.as_ref();
    let mut draft = Draft {
        access: if want.access {
            Some(mint::access_claims(
                i.tenant,
                i.server,
                i.client,
                i.grant,
                i.user.zip(i.auth_time),
                i.now,
                random,
            )?)
        } else {
            None
        },
        identity: match (want.id, i.user) {
            (Some(opts), Some(user)) => Some(mint::id_claims(
                i.tenant,
                i.server,
                i.client,
                user,
                &i.grant.scopes,
                i.now,
                opts,
                random,
            )?),
            _ => None,
        },
    };
    if let Some(hook) = i.grant.inline_hook.as_deref() {
        transform(i, hook, &mut draft).await?;
    }
    if let (Some(jkt), Some(access)) = (i.dpop_jkt, draft.access.as_mut()) {
        access.claims.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    let access = draft
        .access
        .map(|d| mint::sign_access(i.server, d, i.now))
        .transpose()?;
    let id_token = draft
        .identity
        .map(|d| mint::sign_id(i.server, d, i.now, access.as_ref(), want.code))
        .transpose()?;
    Ok(Issued { access, id_token })
}

/// Records a hook outcome in the System Log (`inline_hook.executed` when the call itself
/// failed, `inline_hook.response.processed` for what was done with an answer).
fn record_hook(i: &Issue<'_>, hook_id: &str, event_type: &str, outcome: Outcome) {
    i.state.syslog.record(
        Event::new(
            &i.tenant.tenant_id,
            event_type,
            "Token inline hook",
            crate::events::client_party(i.client),
        )
        .target(Party::new("InlineHook", hook_id))
        .outcome(outcome),
    );
}

/// Calls the hook and applies its commands to `draft`.
async fn transform(i: &Issue<'_>, hook_id: &str, draft: &mut Draft) -> Result<(), IssueError> {
    let Some(hook) = i.tenant.hooks.get(hook_id).filter(|h| h.active) else {
        tracing::warn!(
            tenant = %i.tenant.tenant_id, hook = hook_id, outcome = "SKIPPED",
            event = "inline_hook.executed", "the rule's inline hook is missing or inactive; tokens issued unmodified"
        );
        return Ok(());
    };
    let body = request(i, draft);
    let started = std::time::Instant::now();
    let answer = match i.state.hooks.call(hook, &body).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(
                tenant = %i.tenant.tenant_id, hook = %hook.id, outcome = "FAILURE", reason = %e,
                elapsed_ms = started.elapsed().as_millis(), event = "inline_hook.executed",
                "token inline hook failed; tokens issued unmodified"
            );
            record_hook(
                i,
                &hook.id,
                "inline_hook.executed",
                Outcome::failure(e.to_string()),
            );
            return Ok(());
        }
    };
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        let summary = error["errorSummary"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(HOOK_ERROR_DEFAULT)
            .to_owned();
        tracing::info!(
            tenant = %i.tenant.tenant_id, hook = %hook.id, outcome = "DENY",
            event = "inline_hook.response.processed", "token inline hook answered with an error"
        );
        record_hook(
            i,
            &hook.id,
            "inline_hook.response.processed",
            Outcome::failure(summary.clone()),
        );
        return Err(IssueError::HookRefused(summary));
    }
    let commands = answer.get("commands").cloned().unwrap_or(json!([]));
    match token_hook::apply(&commands, draft) {
        Ok(()) => {
            tracing::info!(
                tenant = %i.tenant.tenant_id, hook = %hook.id, outcome = "SUCCESS",
                elapsed_ms = started.elapsed().as_millis(), event = "inline_hook.response.processed",
                "token inline hook applied"
            );
            record_hook(
                i,
                &hook.id,
                "inline_hook.response.processed",
                Outcome::success(),
            );
        }
        Err(e) => {
            tracing::warn!(
                tenant = %i.tenant.tenant_id, hook = %hook.id, outcome = "FAILURE", reason = %e,
                event = "inline_hook.response.processed",
                "token inline hook commands ignored; tokens issued unmodified"
            );
            record_hook(
                i,
                &hook.id,
                "inline_hook.response.processed",
                Outcome::failure(e.to_string()),
            );
        }
    }
    Ok(())
}

/// The request Okta's token inline hook sends.
fn request(i: &Issue<'_>, draft: &Draft) -> Value {
    let source = format!("{}/v1/{}", i.server.issuer, i.origin.endpoint);
    let event_id = tessera_domain::secrets::random_token(i.state.random.as_ref(), 16);
    let mut protocol_request = Map::new();
    for name in [
        "scope",
        "state",
        "redirect_uri",
        "response_mode",
        "response_type",
        "client_id",
    ] {
        if let Some(v) = i.origin.params.get(name) {
            protocol_request.insert(name.into(), json!(v));
        }
    }
    protocol_request.insert("grant_type".into(), json!(i.origin.grant_type));
    let mut protocol = json!({
        "type": "OAUTH2.0",
        "request": protocol_request,
        "issuer": { "uri": i.server.issuer },
        "client": {
            "id": i.client.client_id,
            "name": i.client.label,
            "type": if i.client.token_endpoint_auth_method == "none" { "PUBLIC" } else { "CONFIDENTIAL" },
        },
    });
    if let Some(jti) = i.origin.refresh_token_id {
        protocol["OriginalGrant"] = json!({ "refresh_token": { "jti": jti } });
    }
    let mut context = json!({
        "request": {
            "id": event_id,
            "method": if i.origin.endpoint == "token" { "POST" } else { "GET" },
            "url": { "value": source },
        },
        "protocol": protocol,
        "policy": { "id": i.grant.policy_id, "rule": { "id": i.grant.rule_id } },
    });
    if let Some(u) = i.user {
        let p = &u.profile;
        context["user"] = json!({
            "id": u.id,
            "profile": {
                "login": p["login"], "firstName": p["firstName"], "lastName": p["lastName"],
                "locale": p["locale"], "timeZone": p["timeZone"],
            },
        });
    }
    let mut data = json!({ "context": context });
    if let Some(id) = &draft.identity {
        data["identity"] = json!({
            "claims": id.claims,
            "token": { "lifetime": { "expiration": id.lifetime_secs } },
        });
    }
    if let Some(at) = &draft.access {
        let scopes: Map<String, Value> = i
            .grant
            .scopes
            .iter()
            .map(|s| (s.clone(), json!({ "action": "GRANT" })))
            .collect();
        data["access"] = json!({
            "claims": at.claims,
            "token": { "lifetime": { "expiration": at.lifetime_secs } },
            "scopes": scopes,
        });
    }
    json!({
        "source": source,
        "eventId": event_id,
        "eventTime": tessera_domain::timefmt::rfc3339(i.state.clock.now()),
        "eventTypeVersion": "1.0",
        "cloudEventVersion": "0.1",
        "contentType": "application/json",
        "eventType": HOOK_TYPE,
        "data": data,
    })
}
