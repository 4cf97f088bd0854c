//! One function per grant (OKTA-REFERENCE §2.4, §4.7). Each returns the token response body.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};
use tessera_core::AppState;
use tessera_domain::ids::IdKind;
use tessera_domain::policy::{self, Denied, Grant, UserFacts};
use tessera_domain::secrets::lookup_digest;
use tessera_ephemeral::{Key, Kind};
use tessera_hot::{ClientSnapshot, ServerSnapshot, TenantSnapshot};
use tessera_oauth::{Form, OAuthError};
use tessera_store::entities::{refresh_token, user};
use tessera_store::{ColumnTrait as _, repo};

use crate::claims::UserInfo;
use crate::issue::Want;
use crate::mint::{self, IdTokenFor};

/// Everything a grant handler needs.
pub struct GrantRequest<'a> {
    pub state: &'a AppState,
    pub tenant: &'a TenantSnapshot,
    pub server: &'a ServerSnapshot,
    pub client: &'a ClientSnapshot,
    pub form: &'a Form,
    /// Seconds (token claims) and milliseconds (stored timestamps, leeways) of the same instant.
    pub now: i64,
    pub now_ms: i64,
    /// The client address the request is attributed to (sign-in throttling).
    pub address: Option<std::net::IpAddr>,
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

/// The issuance of `grant` to this request (the hook context names the token endpoint).
fn issue<'a>(
    r: &'a GrantRequest<'_>,
    grant: &'a Grant,
    user: Option<&'a UserInfo>,
    refresh_token_id: Option<&'a str>,
) -> crate::issue::Issue<'a> {
    crate::issue::Issue {
        state: r.state,
        tenant: r.tenant,
        server: r.server,
        client: r.client,
        grant,
        user,
        now: r.now,
        origin: crate::issue::Origin {
            endpoint: "token",
            grant_type: r.form.get("grant_type").unwrap_or_default(),
            params: r.form,
            refresh_token_id,
        },
    }
}

/// The response of a user-bound grant: the access token for `user` and, when `openid` was
/// granted, an ID token beside it (signed in at `auth_time`, echoing `nonce`). The access token
/// is returned too, for the refresh token that may be bound to it.
async fn user_tokens(
    r: &GrantRequest<'_>,
    grant: &Grant,
    user: &UserInfo,
    session: IdTokenFor<'_>,
    refresh_token_id: Option<&str>,
) -> Result<(Map<String, Value>, mint::AccessToken), OAuthError> {
    let want = Want {
        access: true,
        id: grant
            .scopes
            .iter()
            .any(|s| s == "openid")
            .then_some(session),
        code: None,
    };
    let issued = crate::issue::tokens(&issue(r, grant, Some(user), refresh_token_id), want).await?;
    let at = issued
        .access
        .ok_or_else(|| OAuthError::server_error("no access token was minted"))?;
    let mut body = response(at.jwt.clone(), at.expires_in, &grant.scopes);
    if let Some(id_token) = issued.id_token {
        body.insert("id_token".into(), json!(id_token));
    }
    Ok((body, at))
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
    let want = Want {
        access: true,
        ..Want::default()
    };
    let issued = crate::issue::tokens(&issue(r, &grant, None, None), want).await?;
    let at = issued
        .access
        .ok_or_else(|| OAuthError::server_error("no access token was minted"))?;
    Ok(response(at.jwt, at.expires_in, &grant.scopes))
}

/// `client_credentials` at the org authorization server (OKTA-REFERENCE §1, §10): service apps
/// authenticated with `private_key_jwt`, for `okta.*` scopes an admin granted the app; access
/// tokens live an hour and are only for the management API (`aud` is the org).
pub async fn org_client_credentials(
    r: &GrantRequest<'_>,
) -> Result<Map<String, Value>, OAuthError> {
    if r.client.token_endpoint_auth_method != "private_key_jwt" {
        return Err(OAuthError::invalid_client(
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method",
        ));
    }
    let requested = r.form.scopes().unwrap_or_default();
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope(
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        ));
    }
    if !requested
        .iter()
        .all(|s| tessera_domain::org_scopes::is_org_scope(s))
    {
        return Err(OAuthError::invalid_scope(
            "Custom scopes are not allowed for this request",
        ));
    }
    let missing: Vec<&str> = requested
        .iter()
        .filter(|s| !r.client.org_scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "The following scopes are not granted to the client: [{}]",
            missing.join(", ")
        )));
    }
    let grant = Grant {
        policy_id: String::new(),
        rule_id: String::new(),
        scopes: requested,
        lifetimes: policy::Lifetimes {
            access_token_minutes: 60,
            refresh_token_minutes: 0,
            refresh_window_minutes: 0,
        },
        inline_hook: None,
    };
    let want = Want {
        access: true,
        ..Want::default()
    };
    let issued = crate::issue::tokens(&issue(r, &grant, None, None), want).await?;
    let at = issued
        .access
        .ok_or_else(|| OAuthError::server_error("no access token was minted"))?;
    Ok(response(at.jwt, at.expires_in, &grant.scopes))
}

/// The scopes a user may be granted at the org authorization server when signing in to the
/// tenant itself: the OpenID Connect ones.
const ORG_SIGN_IN_SCOPES: [&str; 6] = ["openid", "profile", "email", "address", "phone", "groups"];

/// The org authorization server's decision for a user's sign-in (OKTA-REFERENCE §1): the OpenID
/// scopes, and `okta.*` scopes the app was granted; fixed lifetimes (access and ID tokens an
/// hour). It has no custom scopes and no access policies; refresh tokens are not issued there.
pub fn org_sign_in_grant(
    client: &ClientSnapshot,
    requested: &[String],
) -> Result<Grant, (&'static str, String)> {
    if let Some(custom) = requested.iter().find(|s| {
        !ORG_SIGN_IN_SCOPES.contains(&s.as_str()) && !tessera_domain::org_scopes::is_org_scope(s)
    }) {
        let text = if custom == "offline_access" {
            "The org authorization server does not issue refresh tokens in Tessera.".to_owned()
        } else {
            "Custom scopes are not allowed for this request".to_owned()
        };
        return Err(("invalid_scope", text));
    }
    let missing: Vec<&str> = requested
        .iter()
        .filter(|s| tessera_domain::org_scopes::is_org_scope(s) && !client.org_scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err((
            "invalid_scope",
            format!(
                "The following scopes are not granted to the client: [{}]",
                missing.join(", ")
            ),
        ));
    }
    Ok(Grant {
        policy_id: String::new(),
        rule_id: String::new(),
        scopes: requested.to_vec(),
        lifetimes: policy::Lifetimes {
            access_token_minutes: 60,
            refresh_token_minutes: 0,
            refresh_window_minutes: 0,
        },
        inline_hook: None,
    })
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
        .hit(&throttle, Duration::from_secs(1))
        .await?
        .count
        > PASSWORD_RATE_PER_SECOND
    {
        return Err(OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_grant",
            "API call exceeded rate limit due to too many requests.",
        ));
    }
    let t = r.tenant.tenant_id.as_str();
    let u = match crate::sign_in::authenticate(r.state, t, username, password, r.address).await? {
        Ok(u) => u,
        Err(crate::sign_in::Refused::Throttled) => {
            return Err(OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_grant",
                "API call exceeded rate limit due to too many requests.",
            ));
        }
        Err(crate::sign_in::Refused::Invalid) => {
            tracing::info!(client = %r.client.client_id, "password grant refused: bad credentials, locked or inactive user");
            return Err(OAuthError::invalid_grant(BAD_CREDENTIALS));
        }
    };
    let (info, facts) = assigned_user(r, &u).await?.ok_or_else(|| {
        OAuthError::access_denied("User is not assigned to the client application.")
    })?;
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
    let signed_in = IdTokenFor {
        auth_time: r.now,
        ..IdTokenFor::default()
    };
    let (mut body, at) = user_tokens(r, &grant, &info, signed_in, None).await?;
    if grant.scopes.iter().any(|s| s == "offline_access")
        && r.client.grant_types.iter().any(|g| g == "refresh_token")
    {
        let (token, _) = new_refresh_family(r, "password", &grant, &info, &at).await?;
        body.insert("refresh_token".into(), json!(token));
    }
    Ok(body)
}

/// The user's groups, and whether (and as whom) they are assigned to the client, directly or
/// through a group. `None` when not assigned.
async fn assigned_user(
    r: &GrantRequest<'_>,
    u: &user::Model,
) -> Result<Option<(UserInfo, UserFacts)>, OAuthError> {
    let info = UserInfo::load(&r.state.db, &r.tenant.tenant_id, r.client, u).await?;
    if !crate::authorize::assigned(r.tenant, r.client, &u.id, &info.group_ids) {
        return Ok(None);
    }
    let facts = UserFacts {
        id: u.id.clone(),
        group_ids: info.group_ids.clone(),
    };
    Ok(Some((info, facts)))
}

/// Starts a refresh-token family and returns its first token. It is committed before the
/// response: a refresh token the client was given is never lost.
async fn new_refresh_family(
    r: &GrantRequest<'_>,
    grant_type: &str,
    grant: &Grant,
    user: &UserInfo,
    at: &mint::AccessToken,
) -> Result<(String, String), OAuthError> {
    let now_ms = r.now_ms;
    let l = grant.lifetimes;
    let family = r.state.new_id(IdKind::RefreshToken);
    let origin = Origin {
        family: family.clone(),
        grant_type: grant_type.to_owned(),
        user_id: user.id.clone(),
        expires_at: (l.refresh_token_minutes > 0)
            .then(|| now_ms + l.refresh_token_minutes * 60_000),
        access_token_minutes: l.access_token_minutes,
        window_minutes: l.refresh_window_minutes,
    };
    let (token, row) = refresh_row(r, &origin, &grant.scopes, at, Some(family.clone()));
    repo::insert::<refresh_token::Entity>(&r.state.db, row)
        .await
        .map_err(OAuthError::server_error)?;
    Ok((token, family))
}

/// What every token of a refresh family carries from the grant that started it.
struct Origin {
    family: String,
    grant_type: String,
    user_id: String,
    /// Absolute expiry (ms), the same for every token of the family.
    expires_at: Option<i64>,
    access_token_minutes: i64,
    window_minutes: i64,
}

/// A new refresh token of `origin`'s family and its row (the row id is the family id for the
/// family's first token, a fresh `oar…` id after that).
fn refresh_row(
    r: &GrantRequest<'_>,
    origin: &Origin,
    scopes: &[String],
    at: &mint::AccessToken,
    id: Option<String>,
) -> (String, refresh_token::Model) {
    let token = mint::refresh_token(r.state.random.as_ref());
    let now_ms = r.now_ms;
    let row = refresh_token::Model {
        seq: 0,
        tenant_id: r.tenant.tenant_id.clone(),
        id: id.unwrap_or_else(|| r.state.new_id(IdKind::RefreshToken)),
        server_id: r.server.server_id.clone(),
        client_id: r.client.client_id.clone(),
        user_id: Some(origin.user_id.clone()),
        family_id: origin.family.clone(),
        token_hash: lookup_digest(&token),
        status: "ACTIVE".into(),
        scopes: serde_json::to_string(scopes).unwrap_or_default(),
        expires_at: origin.expires_at,
        window_expires_at: Some(now_ms + origin.window_minutes * 60_000),
        rotated_at: None,
        access_token_jti: Some(at.jti.clone()),
        access_token_exp: Some(at.exp),
        grant_type: Some(origin.grant_type.clone()),
        access_token_minutes: Some(origin.access_token_minutes),
        window_minutes: Some(origin.window_minutes),
        created: now_ms,
        last_updated: now_ms,
    };
    (token, row)
}

const INVALID_REFRESH: &str = "The refresh token is invalid or expired.";

/// `refresh_token` (RFC 6749 §6, OKTA-REFERENCE §3.4, SPEC §4): the client, the user and the
/// policy are re-checked; lifetimes stay those of the original grant; `scope` may only narrow.
/// ROTATE clients get a new token each time and the old one becomes ROTATED; presenting a
/// ROTATED token after the app's leeway is reuse, and revokes the whole family.
pub async fn refresh(r: &GrantRequest<'_>) -> Result<Map<String, Value>, OAuthError> {
    let presented = r.form.require("refresh_token")?;
    let t = r.tenant.tenant_id.as_str();
    let db = &r.state.db;
    let now_ms = r.now_ms;
    let row = repo::find_by::<refresh_token::Entity>(
        db,
        t,
        refresh_token::Column::TokenHash.eq(lookup_digest(presented)),
    )
    .await
    .map_err(OAuthError::server_error)?
    .filter(|row| row.server_id == r.server.server_id && row.client_id == r.client.client_id)
    .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH))?;
    match row.status.as_str() {
        "ACTIVE" => {}
        "ROTATED"
            if row
                .rotated_at
                .is_some_and(|at| now_ms <= at + r.client.refresh_leeway * 1000) => {}
        "ROTATED" => {
            let family = repo::all::<refresh_token::Entity>(
                db,
                t,
                refresh_token::Column::FamilyId.eq(&row.family_id),
            )
            .await
            .map_err(OAuthError::server_error)?;
            tessera_core::revoke::refresh_tokens(r.state, t, family)
                .await
                .map_err(OAuthError::from)?;
            tracing::warn!(tenant = t, client = %r.client.client_id, family = %row.family_id, event = "app.oauth2.as.token.detect_reuse", "refresh token reuse detected; family revoked");
            r.state.syslog.record(
                tessera_core::syslog::Event::new(
                    t,
                    format!("{}.token.detect_reuse", crate::events::prefix(r.server)),
                    "Refresh token reuse detected; the token family is revoked",
                    crate::events::client_party(r.client),
                )
                .target(tessera_core::syslog::Party::new(
                    "refresh_token",
                    &row.family_id,
                ))
                .outcome(tessera_core::syslog::Outcome::failure(
                    "refresh_token_reuse",
                ))
                .debug("familyId", row.family_id.clone()),
            );
            return Err(OAuthError::invalid_grant(INVALID_REFRESH));
        }
        _ => return Err(OAuthError::invalid_grant(INVALID_REFRESH)),
    }
    if row.expires_at.is_some_and(|e| e <= now_ms)
        || row.window_expires_at.is_some_and(|w| w <= now_ms)
    {
        return Err(OAuthError::invalid_grant(INVALID_REFRESH));
    }
    let original: Vec<String> =
        serde_json::from_str(&row.scopes).map_err(OAuthError::server_error)?;
    let requested = r.form.scopes().unwrap_or_else(|| original.clone());
    let denied: Vec<&String> = requested.iter().filter(|s| !original.contains(s)).collect();
    if !denied.is_empty() {
        let list = denied
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(OAuthError::access_denied(format!(
            "Some of the scopes requested for the refresh request were not granted in the original authorize request. Denied scopes: [{list}]"
        )));
    }
    // The user must still be active and assigned, and the policy must still allow the grant.
    let uid = row
        .user_id
        .clone()
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH))?;
    let u = repo::find::<user::Entity>(db, t, &uid)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH))?;
    let (info, facts) = assigned_user(r, &u)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_REFRESH))?;
    let grant_type = row.grant_type.clone().unwrap_or_else(|| "password".into());
    let request = policy::Request {
        client_id: &r.client.client_id,
        grant_type: &grant_type,
        user: Some(&facts),
        scopes: Some(&requested),
        everyone_group_id: &r.tenant.everyone_group_id,
    };
    let mut grant =
        policy::evaluate(&r.server.policies, &r.server.scopes, &request).map_err(|d| {
            tracing::info!(client = %r.client.client_id, reason = ?d, "refresh refused by policy");
            OAuthError::invalid_grant(d.description())
        })?;
    // Lifetimes stay those of the original grant.
    let origin = Origin {
        family: row.family_id.clone(),
        grant_type,
        user_id: uid,
        expires_at: row.expires_at,
        access_token_minutes: row
            .access_token_minutes
            .unwrap_or(grant.lifetimes.access_token_minutes),
        window_minutes: row
            .window_minutes
            .unwrap_or(grant.lifetimes.refresh_window_minutes),
    };
    grant.lifetimes.access_token_minutes = origin.access_token_minutes;
    let refreshed = IdTokenFor {
        auth_time: r.now,
        ..IdTokenFor::default()
    };
    let (mut body, at) = user_tokens(r, &grant, &info, refreshed, Some(&row.id)).await?;
    let refresh_token = if r.client.refresh_rotation == "STATIC" {
        let window = Some(now_ms + origin.window_minutes * 60_000);
        repo::update::<refresh_token::Entity>(
            db,
            refresh_token::Model {
                window_expires_at: window,
                access_token_jti: Some(at.jti.clone()),
                access_token_exp: Some(at.exp),
                last_updated: now_ms,
                ..row
            },
        )
        .await
        .map_err(OAuthError::server_error)?;
        presented.to_owned()
    } else {
        // The old token is retired and its successor stored in one transaction; of two
        // concurrent refreshes of one ACTIVE token, only one can retire it.
        let txn = tessera_store::begin_write(db)
            .await
            .map_err(OAuthError::server_error)?;
        if row.status == "ACTIVE"
            && !tessera_store::tokens::mark_rotated(&txn, t, &row.id, now_ms)
                .await
                .map_err(OAuthError::server_error)?
        {
            return Err(OAuthError::invalid_grant(INVALID_REFRESH));
        }
        let (token, new_row) = refresh_row(r, &origin, &grant.scopes, &at, None);
        repo::insert::<refresh_token::Entity>(&txn, new_row)
            .await
            .map_err(OAuthError::server_error)?;
        txn.commit().await.map_err(OAuthError::server_error)?;
        token
    };
    body.insert("refresh_token".into(), json!(refresh_token));
    Ok(body)
}

/// An argon2id hash (made once, with the same parameters as real ones) that unknown usernames
/// are verified against, so the grant takes as long for them as for a wrong password.
pub fn dummy_phc() -> &'static str {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PHC.get_or_init(|| {
        tessera_domain::secrets::hash_password("not a password of anyone").unwrap_or_default()
    })
}

const INVALID_CODE: &str = "The authorization code is invalid or has expired.";

/// What a redeemed code minted, kept so that a replay can revoke it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Minted {
    access_token_jti: String,
    access_token_exp: i64,
    refresh_family: Option<String>,
}

fn redeemed_key(tenant_id: &str, code: &str) -> Key {
    Key::tenant(
        tenant_id,
        Kind::AuthorizationCode,
        &format!("redeemed:{}", lookup_digest(code)),
    )
}

/// `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6, OKTA-REFERENCE §2.4): the code is
/// taken atomically (single use) and must match the client, server, redirect URI and PKCE
/// challenge it was issued with. A replayed code fails and revokes every token issued from it
/// (SPEC §4).
pub async fn authorization_code(r: &GrantRequest<'_>) -> Result<Map<String, Value>, OAuthError> {
    let code = r.form.require("code")?;
    let t = r.tenant.tenant_id.as_str();
    let Some(raw) = r
        .state
        .short
        .take(&crate::authorize::code_key(t, code))
        .await?
    else {
        if let Some(minted) = r.state.short.take(&redeemed_key(t, code)).await?
            && let Ok(m) = serde_json::from_slice::<Minted>(&minted)
        {
            revoke_minted(r, &m).await?;
            tracing::warn!(tenant = t, client = %r.client.client_id, "authorization code replayed; tokens issued from it revoked");
        }
        return Err(OAuthError::invalid_grant(INVALID_CODE));
    };
    let bound: crate::authorize::CodeGrant =
        serde_json::from_slice(&raw).map_err(OAuthError::server_error)?;
    if bound.client_id != r.client.client_id {
        return Err(OAuthError::invalid_grant(
            "The grant was issued to another client. Please make sure the 'client_id' matches the one used at the authorize request.",
        ));
    }
    if bound.server_id != r.server.server_id {
        return Err(OAuthError::invalid_request(
            "The grant was issued for another authorization server.",
        ));
    }
    if r.form.get("redirect_uri") != Some(bound.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        ));
    }
    let verified = match (&bound.code_challenge, r.form.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
            let computed = base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                digest.as_ref(),
            );
            (43..=128).contains(&verifier.len())
                && tessera_domain::secrets::constant_time_eq(
                    computed.as_bytes(),
                    challenge.as_bytes(),
                )
        }
        (None, None) => true,
        _ => false,
    };
    if !verified {
        return Err(OAuthError::invalid_grant("PKCE verification failed."));
    }
    let u = repo::find::<user::Entity>(&r.state.db, t, &bound.user_id)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_CODE))?;
    let (info, _) = assigned_user(r, &u)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_CODE))?;
    let grant = bound.grant();
    let signed_in = IdTokenFor {
        nonce: bound.nonce.as_deref(),
        auth_time: bound.auth_time,
        fat: None,
    };
    let (mut body, at) = user_tokens(r, &grant, &info, signed_in, None).await?;
    let mut family = None;
    if grant.scopes.iter().any(|s| s == "offline_access")
        && r.client.grant_types.iter().any(|g| g == "refresh_token")
    {
        let (token, fam) = new_refresh_family(r, "authorization_code", &grant, &info, &at).await?;
        body.insert("refresh_token".into(), json!(token));
        family = Some(fam);
    }
    let minted = Minted {
        access_token_jti: at.jti.clone(),
        access_token_exp: at.exp,
        refresh_family: family,
    };
    let value = serde_json::to_vec(&minted).map_err(OAuthError::server_error)?;
    let ttl = Duration::from_secs(u64::try_from(at.expires_in).unwrap_or(3600).max(300));
    r.state
        .short
        .put(&redeemed_key(t, code), &value, ttl)
        .await?;
    Ok(body)
}

async fn revoke_minted(r: &GrantRequest<'_>, m: &Minted) -> Result<(), OAuthError> {
    let t = r.tenant.tenant_id.as_str();
    if m.access_token_exp > r.now {
        r.state
            .revocations
            .revoke_jti(&r.state.db, t, &m.access_token_jti, m.access_token_exp)
            .await?;
    }
    if let Some(family) = &m.refresh_family {
        let rows = repo::all::<refresh_token::Entity>(
            &r.state.db,
            t,
            refresh_token::Column::FamilyId.eq(family),
        )
        .await
        .map_err(OAuthError::server_error)?;
        tessera_core::revoke::refresh_tokens(r.state, t, rows)
            .await
            .map_err(OAuthError::from)?;
    }
    Ok(())
}
