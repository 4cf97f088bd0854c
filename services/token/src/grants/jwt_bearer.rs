//! `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1), as Okta's custom
//! authorization servers take it for Cross App Access: the `assertion` is an identity assertion
//! authorization grant (ID-JAG) the tenant's org authorization server issued ([`super::id_jag`]).
//!
//! An assertion is accepted only when every one of these holds (`invalid_grant` otherwise,
//! saying which):
//!
//! * its issuer is permitted: the tenant's org authorization server, and it is signed by one of
//!   that server's published keys with `typ` `oauth-id-jag+jwt`;
//! * its audience (`aud`) is this server's issuer (RFC 7523 §3 item 3; Okta requires the issuer,
//!   not the token endpoint URL);
//! * it has not expired, was not issued in the future, and lives no longer than five minutes;
//! * its `jti` has not been presented before (single use, remembered in the short-lived store
//!   until the assertion expires);
//! * its `client_id` is the authenticated client, and its subject an active user of the tenant
//!   assigned to that client.
//!
//! The scopes are the request's `scope` (each of which the assertion must name), or the
//! assertion's; this server's access policies then decide as for any grant, with the rule's
//! grant types naming `jwt-bearer`. No refresh token and no ID token is issued (a new assertion
//! is the way to a new token), so `offline_access` and `openid` are refused.

use std::time::Duration;

use jsonwebtoken::Validation;
use serde_json::{Map, Value};
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::OAuthError;
use tessera_store::entities::user;
use tessera_store::repo;

use super::{GrantRequest, Granted, assigned_user, decide, id_jag, user_access};

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The longest assertion read; an ID-JAG is well under a kilobyte.
const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// Clock skew allowed on `iat` and `nbf`.
const SKEW_SECS: i64 = 60;
const INVALID: &str = "The 'assertion' is invalid.";
/// Scopes a JWT bearer grant cannot ask for: it issues neither refresh nor ID tokens.
const REFUSED_SCOPES: &[&str] = &["offline_access", "openid"];

pub async fn grant(
    r: &GrantRequest<'_>,
    assertion: &str,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
    refuse_scopes(scopes.as_deref())?;
    let claims = verified(r, assertion).await?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == &r.server.issuer,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&r.server.issuer)),
        _ => false,
    };
    if !audience_ok {
        return Err(OAuthError::invalid_grant(
            "The 'assertion' audience must be the authorization server's issuer.",
        ));
    }
    let (Some(exp), Some(iat)) = (int("exp"), int("iat")) else {
        return Err(OAuthError::invalid_grant(
            "The 'assertion' must have 'exp' and 'iat' claims.",
        ));
    };
    if exp <= r.now {
        return Err(OAuthError::invalid_grant("The 'assertion' has expired."));
    }
    if iat > r.now + SKEW_SECS || int("nbf").is_some_and(|nbf| nbf > r.now + SKEW_SECS) {
        return Err(OAuthError::invalid_grant(
            "The 'assertion' is not valid yet.",
        ));
    }
    if exp - iat > id_jag::LIFETIME_SECS {
        return Err(OAuthError::invalid_grant(format!(
            "The 'assertion' must not live longer than {} seconds.",
            id_jag::LIFETIME_SECS
        )));
    }
    if text("client_id") != Some(r.client.client_id.as_str()) {
        return Err(OAuthError::invalid_grant(
            "The 'assertion' was not issued for the requesting client.",
        ));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| OAuthError::invalid_grant("The 'assertion' must have a 'jti' claim."))?;
    let asserted = text("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>();
    if let Some(beyond) = scopes.iter().flatten().find(|s| !asserted.contains(s)) {
        return Err(OAuthError::invalid_scope(format!(
            "The scope '{beyond}' is not granted by the assertion."
        )));
    }
    let scopes = scopes.or_else(|| (!asserted.is_empty()).then_some(asserted));
    let uid = text("sub").ok_or_else(|| OAuthError::invalid_grant(INVALID))?;
    let u = repo::find::<user::Entity>(&r.state.db, &r.tenant.tenant_id, uid)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
        .ok_or_else(|| {
            OAuthError::invalid_grant("The 'assertion' subject is not an active user.")
        })?;
    let (info, facts) = assigned_user(r, &u).await?.ok_or_else(|| {
        OAuthError::access_denied("User is not assigned to the client application.")
    })?;
    let grant = decide(r, GRANT_TYPE, Some(&facts), scopes.as_deref())?;
    // Single use, claimed last so that a refused request does not burn the assertion.
    let seen = Key::tenant(
        &r.tenant.tenant_id,
        Kind::AssertionJti,
        &format!("grant:{}:{jti}", r.server.server_id),
    );
    let ttl = Duration::from_secs(u64::try_from(exp - r.now).unwrap_or(1).max(1));
    if !r.state.short.put_if_absent(&seen, b"1", ttl).await? {
        return Err(OAuthError::invalid_grant(
            "The 'assertion' has already been used.",
        ));
    }
    let auth_time = int("auth_time").unwrap_or(iat);
    let access = user_access(r, &grant, &info, auth_time).await?;
    Ok(Granted {
        scopes: grant.scopes,
        access,
        id_token: None,
        refresh_token: None,
        issued_token_type: None,
    })
}

/// Before anything else: the scopes this grant never issues.
pub(super) fn refuse_scopes(scopes: Option<&[String]>) -> Result<(), OAuthError> {
    match scopes
        .into_iter()
        .flatten()
        .find(|s| REFUSED_SCOPES.contains(&s.as_str()))
    {
        Some(refused) => Err(OAuthError::invalid_scope(format!(
            "The scope '{refused}' cannot be requested with the JWT bearer grant."
        ))),
        None => Ok(()),
    }
}

/// The claims of `assertion` once its signature is verified with a key of the permitted issuer
/// (the tenant's org server) and its `typ` is an ID-JAG's. Anything else is `invalid_grant`,
/// without saying why.
async fn verified(r: &GrantRequest<'_>, assertion: &str) -> Result<Map<String, Value>, OAuthError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    let header =
        tessera_jose::compact::header(assertion).map_err(|_| OAuthError::invalid_grant(INVALID))?;
    if header.typ.as_deref() != Some(id_jag::JWT_TYPE) {
        return Err(OAuthError::invalid_grant(format!(
            "The 'assertion' must be an identity assertion (typ '{}').",
            id_jag::JWT_TYPE
        )));
    }
    let Some((_, issuer)) = r
        .state
        .hot
        .org_server(&r.tenant.name)
        .await
        .map_err(OAuthError::server_error)?
    else {
        return Err(OAuthError::invalid_grant(INVALID));
    };
    if !issuer.active {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    let key = issuer
        .verify_keys
        .iter()
        .find(|k| Some(&k.kid) == header.kid.as_ref() && k.alg == header.alg)
        .ok_or_else(|| {
            OAuthError::invalid_grant("The 'assertion' is not signed by a permitted issuer.")
        })?;
    let mut validation = Validation::new(key.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[issuer.issuer.as_str()]);
    jsonwebtoken::decode::<Map<String, Value>>(assertion, &key.key, &validation)
        .map(|data| data.claims)
        .map_err(|_| {
            OAuthError::invalid_grant("The 'assertion' is not signed by a permitted issuer.")
        })
}
