//! Identity assertion authorization grants (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant;
//! Okta's Cross App Access): the org authorization server, as the tenant's identity provider,
//! exchanges a user's ID token for a short-lived signed assertion that one of the tenant's
//! custom authorization servers accepts with the JWT bearer grant ([`super::jwt_bearer`]).
//!
//! The request is an RFC 8693 token exchange at `{org}/oauth2/v1/token`:
//!
//! * `subject_token` is an active ID token of the org server issued to the requesting client,
//!   with `subject_token_type` `urn:ietf:params:oauth:token-type:id_token`;
//! * `requested_token_type` is `urn:ietf:params:oauth:token-type:id-jag`;
//! * `audience` is the issuer of an active custom authorization server of the tenant
//!   (`invalid_target` otherwise), and every requested `scope` is one of its scopes.
//!
//! The assertion (`typ` `oauth-id-jag+jwt`) names the user (`sub`), the client it is for
//! (`client_id`), the server (`aud`) and the scopes; it lives five minutes (Okta's limit) and is
//! single use at the receiving server. Whether it becomes an access token is that server's
//! decision: its access policies must allow the JWT bearer grant for the client and the user.
//! The response has `token_type` `N_A`, as RFC 8693 §2.2.1 says for a token that is not an
//! access token.

use serde_json::json;
use tessera_domain::secrets::random_token;
use tessera_oauth::tokens::{Active, Stores, examine};
use tessera_oauth::{ErrorCode, OAuthError};
use tessera_store::entities::user;
use tessera_store::repo;

use super::{GrantRequest, Granted};
use crate::mint::AccessToken;

/// The token type of an identity assertion authorization grant.
pub const TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The JWT `typ` an identity assertion carries, so that no other JWT of the org server (an ID
/// token, an access token) can stand in for one.
pub const JWT_TYPE: &str = "oauth-id-jag+jwt";
/// How long an assertion is valid: Okta's ceiling for ID-JAGs.
pub const LIFETIME_SECS: i64 = 300;
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
const INVALID_SUBJECT: &str = "The 'subject_token' is invalid.";

/// The org server's token exchange: an ID token of this client's user for an ID-JAG.
pub async fn issue(
    r: &GrantRequest<'_>,
    subject_token: &str,
    subject_token_type: &str,
    audience: &str,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
    if r.form.get("requested_token_type") != Some(TOKEN_TYPE) {
        return Err(OAuthError::invalid_request(format!(
            "The org authorization server exchanges tokens only for identity assertions: 'requested_token_type' must be '{TOKEN_TYPE}'."
        )));
    }
    if subject_token_type != ID_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "The 'subject_token_type' must be '{ID_TOKEN_TYPE}'."
        )));
    }
    let target = target_server(r, audience).await?;
    let scopes = scopes.unwrap_or_default();
    if let Some(unknown) = scopes
        .iter()
        .find(|s| !target.scopes.iter().any(|d| &d.name == *s))
    {
        return Err(OAuthError::invalid_scope(format!(
            "The scope '{unknown}' is not a scope of the authorization server '{audience}'."
        )));
    }
    let stores = Stores {
        db: &r.state.db,
        revocations: &r.state.revocations,
    };
    let Some(Active::Id(claims)) =
        examine(stores, r.tenant, r.server, subject_token, r.now).await?
    else {
        return Err(OAuthError::invalid_grant(INVALID_SUBJECT));
    };
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    // The ID token must be this client's: a client cannot assert another client's sign-in.
    if text("aud") != Some(r.client.client_id.as_str()) {
        return Err(OAuthError::invalid_grant(
            "The 'subject_token' was not issued to the requesting client.",
        ));
    }
    let uid = text("sub").ok_or_else(|| OAuthError::invalid_grant(INVALID_SUBJECT))?;
    let active = repo::find::<user::Entity>(&r.state.db, &r.tenant.tenant_id, uid)
        .await
        .map_err(OAuthError::server_error)?
        .is_some_and(|u| u.status == "ACTIVE");
    if !active {
        return Err(OAuthError::invalid_grant(INVALID_SUBJECT));
    }
    let key = r
        .server
        .signing_key
        .as_ref()
        .ok_or_else(|| OAuthError::server_error("the org server has no signing key"))?;
    let jti = format!("JAG.{}", random_token(r.state.random.as_ref(), 32));
    let exp = r.now + LIFETIME_SECS;
    let mut payload = json!({
        "iss": r.server.issuer,
        "sub": uid,
        "aud": target.issuer,
        "client_id": r.client.client_id,
        "jti": jti,
        "iat": r.now,
        "exp": exp,
        "scope": scopes.join(" "),
    });
    if let Some(auth_time) = claims.get("auth_time") {
        payload["auth_time"] = auth_time.clone();
    }
    let jwt = tessera_jose::jws(key, Some(JWT_TYPE), &payload).map_err(OAuthError::server_error)?;
    Ok(Granted {
        scopes,
        access: AccessToken {
            jwt,
            jti,
            sub: Some(json!(uid)),
            expires_in: LIFETIME_SECS,
            exp,
        },
        id_token: None,
        refresh_token: None,
        issued_token_type: Some(TOKEN_TYPE),
    })
}

/// The active custom server of this tenant whose issuer `audience` is.
async fn target_server(
    r: &GrantRequest<'_>,
    audience: &str,
) -> Result<std::sync::Arc<tessera_hot::ServerSnapshot>, OAuthError> {
    let unknown = || {
        OAuthError::code(
            ErrorCode::InvalidTarget,
            "The 'audience' must be the issuer of an active authorization server of this organization.",
        )
    };
    let prefix = format!("{}/oauth2/", r.tenant.org_url);
    let id = audience
        .strip_prefix(&prefix)
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(unknown)?;
    let (_, server) = r
        .state
        .hot
        .server(&r.tenant.name, id)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(unknown)?;
    if server.org || !server.active || server.issuer != audience {
        return Err(unknown());
    }
    Ok(server)
}
