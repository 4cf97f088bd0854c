//! The consent page (Okta's policy evaluation) and stored consents. When a user must be
//! asked, `/authorize` parks the prepared code grant under a single-use random id and renders
//! the page; allowing stores one consent per scope (so the user is not asked again) and issues
//! the code, denying sends `access_denied` back to the client.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::{Deserialize, Serialize};
use tessera_core::AppState;
use tessera_domain::ids::IdKind;
use tessera_domain::secrets::{lookup_digest, random_token};
use tessera_ephemeral::{Key, Kind};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{ErrorCode, OAuthError};
use tessera_store::entities::{consent, scope};
use tessera_store::{ColumnTrait as _, Condition, repo};

use crate::code::CodeGrant;
use crate::pages::{error_page, render};
use crate::reply::{ReplyTo, respond};
use crate::session;

/// What a consent page says about each of `names` on a server: the scope's description, or its
/// display name, or its name. Read from the database when a page is shown rather than kept in
/// every hot server snapshot (docs/performance.md, "Memory per hot tenant").
pub async fn describe(
    state: &AppState,
    tenant_id: &str,
    server_id: &str,
    names: &[String],
) -> Result<Vec<(String, String)>, OAuthError> {
    let rows = repo::all::<scope::Entity>(
        &state.db,
        tenant_id,
        Condition::all()
            .add(scope::Column::ServerId.eq(server_id))
            .add(scope::Column::Name.is_in(names)),
    )
    .await
    .map_err(OAuthError::server_error)?;
    Ok(names
        .iter()
        .map(|name| {
            let row = rows.iter().find(|r| &r.name == name);
            let description = row
                .and_then(|r| r.description.clone().or_else(|| r.display_name.clone()))
                .unwrap_or_else(|| name.clone());
            (name.clone(), description)
        })
        .collect())
}

/// The ACTIVE consents a user gave a client on a server, by scope name.
pub async fn granted(
    state: &AppState,
    tenant_id: &str,
    server_id: &str,
    user_id: &str,
    client_id: &str,
) -> Result<Vec<String>, OAuthError> {
    let cond = Condition::all()
        .add(consent::Column::ServerId.eq(server_id))
        .add(consent::Column::UserId.eq(user_id))
        .add(consent::Column::ClientId.eq(client_id))
        .add(consent::Column::Status.eq("ACTIVE"));
    Ok(repo::all::<consent::Entity>(&state.db, tenant_id, cond)
        .await
        .map_err(OAuthError::server_error)?
        .into_iter()
        .map(|c| c.scope_name)
        .collect())
}

#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    scopes: Vec<String>,
    grant: CodeGrant,
    back: ReplyTo,
}

fn pending_key(tenant_id: &str, id: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::Session,
        &format!("consent:{}", lookup_digest(id)),
    )
}

/// Parks the grant and renders the consent page.
pub async fn ask(
    state: &AppState,
    tenant: &TenantSnapshot,
    server: &ServerSnapshot,
    client: &ClientSnapshot,
    scopes: &[String],
    grant: CodeGrant,
    back: ReplyTo,
) -> Result<HttpResponse, OAuthError> {
    let id = random_token(state.random.as_ref(), 24);
    let pending = Pending {
        scopes: scopes.to_vec(),
        grant,
        back,
    };
    let value = serde_json::to_vec(&pending).map_err(OAuthError::server_error)?;
    state
        .short
        .put(
            &pending_key(&tenant.tenant_id, &id),
            &value,
            Duration::from_secs(600),
        )
        .await?;
    let scopes: Vec<_> = describe(state, &tenant.tenant_id, &server.server_id, scopes)
        .await?
        .into_iter()
        .map(|(name, description)| context! { name => name, description => description })
        .collect();
    Ok(render(
        StatusCode::OK,
        "consent.html",
        context! { org => &tenant.name, app => &client.label, consent => id, scopes => scopes },
    ))
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    consent: Option<String>,
    decision: Option<String>,
}

/// `POST {org}/consent`: the user's answer. The pending id is single use and must belong to
/// the session's user.
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<Decision>,
) -> Result<HttpResponse, OAuthError> {
    let tenant = match crate::pages::active_tenant(&state, &path).await? {
        Ok(t) => t,
        Err(not_found) => return Ok(not_found),
    };
    let t = tenant.tenant_id.as_str();
    let expired = || {
        error_page(
            StatusCode::BAD_REQUEST,
            "Request expired",
            "This consent request expired. Go back to the application and start again.",
        )
    };
    let Some(id) = form.consent.as_deref() else {
        return Ok(expired());
    };
    let Some(raw) = state.short.take(&pending_key(t, id)).await? else {
        return Ok(expired());
    };
    let pending: Pending = serde_json::from_slice(&raw).map_err(OAuthError::server_error)?;
    let session = session::current(&state, &req, t).await?;
    if session.is_none_or(|s| s.user_id != pending.grant.user_id) {
        return Ok(expired());
    }
    if form.decision.as_deref() != Some("allow") {
        return Ok(pending.back.error(
            ErrorCode::AccessDenied,
            "The resource owner or authorization server denied the request.",
        ));
    }
    let now = tessera_domain::timefmt::to_millis(state.clock.now());
    for scope in &pending.scopes {
        repo::insert::<consent::Entity>(
            &state.db,
            consent::Model {
                seq: 0,
                tenant_id: t.to_owned(),
                id: state.new_id(IdKind::Consent),
                server_id: pending.grant.server_id.clone(),
                user_id: pending.grant.user_id.clone(),
                client_id: pending.grant.client_id.clone(),
                scope_name: scope.clone(),
                status: "ACTIVE".into(),
                created: now,
                last_updated: now,
            },
        )
        .await
        .map_err(OAuthError::server_error)?;
    }
    let resolved = state
        .hot
        .server(&tenant.name, &pending.grant.server_id)
        .await
        .map_err(OAuthError::server_error)?;
    let client = tenant.clients.get(&pending.grant.client_id).cloned();
    let (Some((_, server)), Some(client)) = (resolved, client) else {
        return Ok(expired());
    };
    state.syslog.record(
        tessera_core::syslog::Event::new(
            t,
            format!("{}.consent.grant", crate::events::prefix(&server)),
            "User granted consent to an application",
            tessera_core::syslog::Party::new("User", &pending.grant.user_id),
        )
        .origin(tessera_web::client::origin(&req))
        .target(crate::events::client_party(&client))
        .debug("grantedScopes", pending.scopes.join(" ")),
    );
    respond(
        &state,
        &tenant,
        &server,
        &client,
        pending.grant,
        &pending.back,
    )
    .await
}
