//! `client_credentials` (RFC 6749 §4.4): no user, no `openid`, no scope that needs consent.

use actix_web::http::StatusCode;
use tessera_oauth::{ErrorCode, OAuthError};

use super::{GrantRequest, Granted, app_tokens, decide, needing_consent};

pub async fn grant(
    r: &GrantRequest<'_>,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
    refuse_openid(scopes.as_deref())?;
    let grant = decide(r, "client_credentials", None, scopes.as_deref())?;
    refuse_consent(&needing_consent(r, &grant))?;
    app_tokens(r, grant).await
}

/// Before the policy: a client has no ID token to get.
pub(super) fn refuse_openid(scopes: Option<&[String]>) -> Result<(), OAuthError> {
    if scopes.is_some_and(|s| s.iter().any(|x| x == "openid")) {
        return Err(OAuthError::invalid_scope(
            "Cannot request 'openid' scopes using client credentials.",
        ));
    }
    Ok(())
}

/// After the policy: no user is there to consent to the granted scopes that need it.
pub(super) fn refuse_consent(consent: &[&str]) -> Result<(), OAuthError> {
    if consent.is_empty() {
        return Ok(());
    }
    Err(OAuthError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::ConsentRequired,
        format!(
            "The following scopes cannot be granted for the client credentials grant type: [{}]",
            consent.join(", ")
        ),
    ))
}
