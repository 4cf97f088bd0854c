//! The org authorization server's grants: `client_credentials` for service apps, for the
//! `okta.*` scopes an admin granted them (Okta: "OAuth 2.0 for Okta API scopes"), and the
//! decision for a user signing in to the tenant itself. Access tokens live an hour and are only
//! for the management API (`aud` is the org).

use tessera_domain::org_scopes;
use tessera_domain::policy::{self, Grant};
use tessera_hot::ClientSnapshot;
use tessera_oauth::OAuthError;

use super::{GrantRequest, Granted, app_tokens};

/// The org server's fixed decision: `scopes`, an hour's access token, no refresh token.
fn fixed(scopes: Vec<String>) -> Grant {
    Grant {
        policy_id: String::new(),
        rule_id: String::new(),
        scopes,
        lifetimes: policy::Lifetimes {
            access_token_minutes: 60,
            refresh_token_minutes: 0,
            refresh_window_minutes: 0,
        },
        inline_hook: None,
    }
}

/// The `okta.*` scopes among `requested` that `client` was not granted.
fn not_granted<'a>(client: &ClientSnapshot, requested: &'a [String]) -> Vec<&'a str> {
    requested
        .iter()
        .filter(|s| org_scopes::is_org_scope(s) && !client.org_scopes.contains(s))
        .map(String::as_str)
        .collect()
}

fn not_granted_error(missing: &[&str]) -> String {
    format!(
        "The following scopes are not granted to the client: [{}]",
        missing.join(", ")
    )
}

/// `client_credentials` at the org server: `private_key_jwt` only, `okta.*` scopes only.
pub async fn client_credentials(
    r: &GrantRequest<'_>,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
    if r.client.token_endpoint_auth_method != "private_key_jwt" {
        return Err(OAuthError::invalid_client(
            "Client Credentials requests to the Org Authorization Server must use the private_key_jwt token_endpoint_auth_method",
        ));
    }
    let requested = scopes.unwrap_or_default();
    if requested.is_empty() {
        return Err(OAuthError::invalid_scope(
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        ));
    }
    if !requested.iter().all(|s| org_scopes::is_org_scope(s)) {
        return Err(OAuthError::invalid_scope(
            "Custom scopes are not allowed for this request",
        ));
    }
    let missing = not_granted(r.client, &requested);
    if !missing.is_empty() {
        return Err(OAuthError::invalid_scope(not_granted_error(&missing)));
    }
    app_tokens(r, fixed(requested)).await
}

/// The scopes a user may be granted at the org server when signing in to the tenant itself:
/// the OpenID Connect ones.
const SIGN_IN_SCOPES: [&str; 6] = ["openid", "profile", "email", "address", "phone", "groups"];

/// The org server's decision for a user's sign-in: the OpenID scopes, and `okta.*` scopes the
/// app was granted; fixed lifetimes. It has no custom scopes and no access policies; refresh
/// tokens are not issued there.
pub fn sign_in_grant(client: &ClientSnapshot, requested: &[String]) -> Result<Grant, OAuthError> {
    if let Some(custom) = requested
        .iter()
        .find(|s| !SIGN_IN_SCOPES.contains(&s.as_str()) && !org_scopes::is_org_scope(s))
    {
        let text = if custom == "offline_access" {
            "The org authorization server does not issue refresh tokens in Tessera.".to_owned()
        } else {
            "Custom scopes are not allowed for this request".to_owned()
        };
        return Err(OAuthError::invalid_scope(text));
    }
    let missing = not_granted(client, requested);
    if !missing.is_empty() {
        return Err(OAuthError::invalid_scope(not_granted_error(&missing)));
    }
    Ok(fixed(requested.to_vec()))
}
