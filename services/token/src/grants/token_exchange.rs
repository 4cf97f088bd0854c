//! `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693), as Okta's On-Behalf-Of token
//! exchange (<https://developer.okta.com/docs/guides/set-up-token-exchange/main/>): an API that
//! received a user's access token exchanges it for one to call the next API as that user.
//!
//! * `subject_token` must be an active access token of this server, or of a server this one
//!   trusts (its associated servers), issued for a user; `subject_token_type` says so.
//! * `audience` must be this server's audience (`invalid_target` otherwise).
//! * The new token keeps the user (`sub`, `uid`) and names the exchanging client in `cid`; its
//!   scopes are what this server's policy grants the exchanging client for the user and the
//!   grant type — not limited to the subject token's.
//! * Service apps may not ask for `offline_access` or OpenID Connect scopes; no refresh token and
//!   no ID token is issued.

use tessera_oauth::tokens::{Active, Stores, examine};
use tessera_oauth::{ErrorCode, OAuthError};
use tessera_store::entities::user;
use tessera_store::repo;

use super::{GrantRequest, Granted, decide, user_access};
use crate::claims::UserInfo;
use tessera_domain::policy::UserFacts;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3: the only subject and issued token type here.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Scopes a service app cannot ask for in an exchange (Okta: no OpenID Connect scopes and no
/// refresh tokens for service apps).
const NOT_FOR_SERVICES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "groups",
    "offline_access",
    "device_sso",
];
const INVALID_SUBJECT: &str = "The 'subject_token' is invalid.";

pub async fn grant(
    r: &GrantRequest<'_>,
    subject_token: &str,
    subject_token_type: &str,
    audience: &str,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
    if subject_token_type != ACCESS_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "The 'subject_token_type' must be '{ACCESS_TOKEN_TYPE}'."
        )));
    }
    if audience != r.server.audience {
        return Err(OAuthError::code(
            ErrorCode::InvalidTarget,
            "The 'audience' must be the authorization server's audience.",
        ));
    }
    refuse_service_scopes(r.client, scopes.as_deref())?;
    let claims = subject(r, subject_token).await?;
    let uid = claims
        .get("uid")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            OAuthError::invalid_grant("The 'subject_token' was not issued for a user.")
        })?;
    let t = r.tenant.tenant_id.as_str();
    let u = repo::find::<user::Entity>(&r.state.db, t, uid)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
        .ok_or_else(|| OAuthError::invalid_grant(INVALID_SUBJECT))?;
    let info = UserInfo::load(&r.state.db, t, r.client, &u).await?;
    let facts = UserFacts {
        id: u.id.clone(),
        group_ids: info.group_ids.clone(),
    };
    let grant = decide(r, GRANT_TYPE, Some(&facts), scopes.as_deref())?;
    let auth_time = claims
        .get("auth_time")
        .or_else(|| claims.get("iat"))
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(r.now);
    let access = user_access(r, &grant, &info, auth_time).await?;
    Ok(Granted {
        scopes: grant.scopes,
        access,
        id_token: None,
        refresh_token: None,
        issued_token_type: Some(ACCESS_TOKEN_TYPE),
    })
}

/// Service apps may not ask for OpenID Connect scopes or `offline_access`.
pub(super) fn refuse_service_scopes(
    client: &tessera_hot::ClientSnapshot,
    scopes: Option<&[String]>,
) -> Result<(), OAuthError> {
    if client.application_type != "service" {
        return Ok(());
    }
    match scopes
        .into_iter()
        .flatten()
        .find(|s| NOT_FOR_SERVICES.contains(&s.as_str()))
    {
        Some(refused) => Err(OAuthError::invalid_scope(format!(
            "The scope '{refused}' cannot be requested by a service application in a token exchange."
        ))),
        None => Ok(()),
    }
}

/// The claims of the subject token: an active access token of this server or of a server it
/// trusts. Anything else is `invalid_grant`, saying nothing about why.
async fn subject(
    r: &GrantRequest<'_>,
    token: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
    let stores = Stores {
        db: &r.state.db,
        revocations: &r.state.revocations,
    };
    if let Some(Active::Access(claims)) = examine(stores, r.tenant, r.server, token, r.now).await? {
        return Ok(claims);
    }
    for trusted in &r.server.trusted_servers {
        let Some((_, server)) = r
            .state
            .hot
            .server(&r.tenant.name, trusted)
            .await
            .map_err(OAuthError::server_error)?
        else {
            continue;
        };
        let stores = Stores {
            db: &r.state.db,
            revocations: &r.state.revocations,
        };
        if let Some(Active::Access(claims)) =
            examine(stores, r.tenant, &server, token, r.now).await?
        {
            return Ok(claims);
        }
    }
    Err(OAuthError::invalid_grant(INVALID_SUBJECT))
}
