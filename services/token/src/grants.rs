//! One function per grant (OKTA-REFERENCE §2.4, §4.7). Each returns the token response body.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};
use tessera_domain::ids::IdKind;
use tessera_domain::policy::{self, Denied, Grant, UserFacts};
use tessera_domain::secrets::{lookup_digest, verify_password};
use tessera_ephemeral::{Key, Kind};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{Form, OAuthError};
use tessera_store::entities::{group_member, refresh_token, user};
use tessera_store::{ColumnTrait as _, repo};
use tessera_web::AppState;

use crate::claims::UserInfo;
use crate::mint;

/// Everything a grant handler needs.
pub struct GrantRequest<'a> {
    pub state: &'a AppState,
    pub tenant: &'a TenantSnapshot,
    pub server: &'a ServerSnapshot,
    pub client: &'a ClientSnapshot,
    pub form: &'a Form,
    pub now: i64,
}

fn denied(d: Denied) -> OAuthError {
    OAuthError::new(StatusCode::BAD_REQUEST, d.error(), d.description())
}

fn decide(
    r: &GrantRequest<'_>,
    grant_type: &str,
    user: Option<&UserFacts>,
) -> Result<Grant, OAuthError> {
    let requested = r.form.scopes();
    let request = policy::Request {
        client_id: &r.client.client_id,
        grant_type,
        user,
        scopes: requested.as_deref(),
        everyone_group_id: &r.tenant.everyone_group_id,
    };
    let decision = policy::evaluate(&r.server.policies, &r.server.scopes, &request);
    if let Err(d) = &decision {
        tracing::info!(client = %r.client.client_id, grant_type, reason = ?d, "token request denied by policy");
    }
    decision.map_err(denied)
}

fn response(access_token: String, expires_in: i64, scopes: &[String]) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(expires_in));
    body.insert("access_token".into(), json!(access_token));
    body.insert("scope".into(), json!(scopes.join(" ")));
    body
}

/// `client_credentials` (RFC 6749 §4.4): no user, no `openid`, no consent-required scope.
pub async fn client_credentials(r: &GrantRequest<'_>) -> Result<Map<String, Value>, OAuthError> {
    if r.form
        .scopes()
        .is_some_and(|s| s.iter().any(|x| x == "openid"))
    {
        return Err(OAuthError::invalid_scope(
            "Cannot request 'openid' scopes using client credentials.",
        ));
    }
    let grant = decide(r, "client_credentials", None)?;
    let consent: Vec<&String> = grant
        .scopes
        .iter()
        .filter(|s| r.server.consent_required.contains(s))
        .collect();
    if !consent.is_empty() {
        let list = consent
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "consent_required",
            format!(
                "The following scopes cannot be granted for the client credentials grant type: [{list}]"
            ),
        ));
    }
    let at = mint::access_token(
        r.tenant,
        r.server,
        r.client,
        &grant,
        None,
        r.now,
        r.state.random.as_ref(),
    )?;
    Ok(response(at.jwt, at.expires_in, &grant.scopes))
}

/// Requests per second a username may make to the password grant (OKTA-REFERENCE §11).
const PASSWORD_RATE_PER_SECOND: u64 = 4;
const BAD_CREDENTIALS: &str = "The credentials provided were invalid.";

/// `password` (RFC 6749 §4.3): the resource owner's credentials, checked with argon2id off the
/// async workers; the user must be active and assigned to the app.
pub async fn password(r: &GrantRequest<'_>) -> Result<Map<String, Value>, OAuthError> {
    let username = r.form.require("username")?;
    let password = r.form.require("password")?.to_owned();
    r.form.require("scope")?;
    let throttle = Key::tenant(
        &r.tenant.tenant_id,
        Kind::Throttle,
        &format!("pwd:{}", lookup_digest(&username.to_lowercase())),
    );
    if r.state
        .short
        .incr(&throttle, Duration::from_secs(1))
        .await?
        > PASSWORD_RATE_PER_SECOND
    {
        return Err(OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_grant",
            "API call exceeded rate limit due to too many requests.",
        ));
    }
    let db = &r.state.db;
    let t = r.tenant.tenant_id.as_str();
    let found = repo::find_by::<user::Entity>(db, t, user::Column::Login.eq(username))
        .await
        .map_err(OAuthError::server_error)?;
    // Verify even for unknown users (against a fixed hash) so timing does not reveal logins.
    let phc = found
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_phc().to_owned());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(OAuthError::server_error)?;
    let Some(u) = found.filter(|u| ok && u.status == "ACTIVE" && u.password_hash.is_some()) else {
        tracing::info!(client = %r.client.client_id, "password grant refused: bad credentials or inactive user");
        return Err(OAuthError::invalid_grant(BAD_CREDENTIALS));
    };
    let group_ids: Vec<String> =
        repo::all::<group_member::Entity>(db, t, group_member::Column::UserId.eq(&u.id))
            .await
            .map_err(OAuthError::server_error)?
            .into_iter()
            .map(|m| m.group_id)
            .collect();
    let direct = r.client.assigned_users.get(&u.id).cloned();
    let via_group = r
        .client
        .assigned_groups
        .iter()
        .any(|g| *g == r.tenant.everyone_group_id || group_ids.contains(g));
    let Some(app_user_name) = direct.or_else(|| via_group.then(|| u.login.clone())) else {
        return Err(OAuthError::access_denied(
            "User is not assigned to the client application.",
        ));
    };
    let facts = UserFacts {
        id: u.id.clone(),
        group_ids: group_ids.clone(),
    };
    let grant = decide(r, "password", Some(&facts))?;
    let consent: Vec<&String> = grant
        .scopes
        .iter()
        .filter(|s| r.server.consent_required.contains(s))
        .collect();
    if !consent.is_empty() && r.client.consent_method == "REQUIRED" {
        let list = consent
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "consent_required",
            format!(
                "The following scopes require user consent: [{list}]. Set the application's consent_method to TRUSTED to use them with the password grant."
            ),
        ));
    }
    let info = UserInfo {
        id: u.id.clone(),
        status: u.status.clone(),
        profile: serde_json::from_str(&u.profile).map_err(OAuthError::server_error)?,
        group_ids,
        app_user_name,
    };
    let random = r.state.random.as_ref();
    let at = mint::access_token(
        r.tenant,
        r.server,
        r.client,
        &grant,
        Some(&info),
        r.now,
        random,
    )?;
    let mut body = response(at.jwt.clone(), at.expires_in, &grant.scopes);
    if grant.scopes.iter().any(|s| s == "openid") {
        body.insert(
            "id_token".into(),
            json!(mint::id_token(
                r.tenant,
                r.server,
                r.client,
                &info,
                &grant.scopes,
                r.now,
                random
            )?),
        );
    }
    if grant.scopes.iter().any(|s| s == "offline_access")
        && r.client.grant_types.iter().any(|g| g == "refresh_token")
    {
        body.insert(
            "refresh_token".into(),
            json!(store_refresh_token(r, &grant, &info, &at).await?),
        );
    }
    Ok(body)
}

/// Stores a new refresh-token family's first token (hashed) and returns the token. It is
/// committed before the response: a refresh token the client was given is never lost.
async fn store_refresh_token(
    r: &GrantRequest<'_>,
    grant: &Grant,
    user: &UserInfo,
    at: &mint::AccessToken,
) -> Result<String, OAuthError> {
    let token = mint::refresh_token(r.state.random.as_ref());
    let now_ms = r.now * 1000;
    let minutes = |m: i64| now_ms + m * 60_000;
    let family = r.state.new_id(IdKind::RefreshToken);
    repo::insert::<refresh_token::Entity>(
        &r.state.db,
        refresh_token::Model {
            seq: 0,
            tenant_id: r.tenant.tenant_id.clone(),
            id: family.clone(),
            server_id: r.server.server_id.clone(),
            client_id: r.client.client_id.clone(),
            user_id: Some(user.id.clone()),
            family_id: family,
            token_hash: lookup_digest(&token),
            status: "ACTIVE".into(),
            scopes: serde_json::to_string(&grant.scopes).unwrap_or_default(),
            expires_at: (grant.lifetimes.refresh_token_minutes > 0)
                .then(|| minutes(grant.lifetimes.refresh_token_minutes)),
            window_expires_at: Some(minutes(grant.lifetimes.refresh_window_minutes)),
            rotated_at: None,
            access_token_jti: Some(at.jti.clone()),
            access_token_exp: Some(at.exp),
            created: now_ms,
            last_updated: now_ms,
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    Ok(token)
}

/// An argon2id hash (made once, with the same parameters as real ones) that unknown usernames
/// are verified against, so the grant takes as long for them as for a wrong password.
fn dummy_phc() -> &'static str {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PHC.get_or_init(|| {
        tessera_domain::secrets::hash_password("not a password of anyone").unwrap_or_default()
    })
}
