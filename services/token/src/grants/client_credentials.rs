//! `client_credentials` (RFC 6749 §4.4): no user, no `openid`, no scope that needs consent.

use actix_web::http::StatusCode;
use tessera_oauth::{ErrorCode, OAuthError};

use super::{GrantRequest, Granted, app_tokens, decide, needing_consent};

pub async fn grant(
    r: &GrantRequest<'_>,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
    if scopes
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "openid"))
    {
        return Err(OAuthError::invalid_scope(
            "Cannot request 'openid' scopes using client credentials.",
        ));
    }
    let grant = decide(r, "client_credentials", None, scopes.as_deref())?;
    let consent = needing_consent(r, &grant);
    if !consent.is_empty() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ConsentRequired,
            format!(
                "The following scopes cannot be granted for the client credentials grant type: [{}]",
                consent.join(", ")
            ),
        ));
    }
    app_tokens(r, grant).await
}
