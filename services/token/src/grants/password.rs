//! `password` (RFC 6749 §4.3): the resource owner's credentials, checked by the shared sign-in
//! check (argon2id off the async workers, lockout, per-address throttle); the user must be
//! active and assigned to the app. Okta limits each username to a few requests a second.

use std::time::Duration;

use actix_web::http::StatusCode;
use tessera_domain::secrets::lookup_digest;
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::{ErrorCode, OAuthError};

use super::{GrantRequest, Granted, assigned_user, decide, family, needing_consent, user_tokens};
use crate::mint::IdTokenFor;

/// Requests per second one username may make to the password grant.
const RATE_PER_SECOND: u64 = 4;
const BAD_CREDENTIALS: &str = "The credentials provided were invalid.";
const RATE_LIMITED: &str = "API call exceeded rate limit due to too many requests.";

fn rate_limited() -> OAuthError {
    OAuthError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::InvalidGrant,
        RATE_LIMITED,
    )
}

pub async fn grant(
    r: &GrantRequest<'_>,
    username: &str,
    password: &str,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
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
        > RATE_PER_SECOND
    {
        return Err(rate_limited());
    }
    let t = r.tenant.tenant_id.as_str();
    let u = match crate::sign_in::authenticate(r.state, t, username, password.to_owned(), r.address)
        .await?
    {
        Ok(u) => u,
        Err(crate::sign_in::Refused::Throttled) => return Err(rate_limited()),
        Err(crate::sign_in::Refused::Invalid | crate::sign_in::Refused::Expired(_)) => {
            tracing::info!(client = %r.client.client_id, "password grant refused: bad credentials, locked, inactive or expired-password user");
            return Err(OAuthError::invalid_grant(BAD_CREDENTIALS));
        }
    };
    let (info, facts) = assigned_user(r, &u).await?.ok_or_else(|| {
        OAuthError::access_denied("User is not assigned to the client application.")
    })?;
    let grant = decide(r, "password", Some(&facts), scopes.as_deref())?;
    refuse_consent(r.client, &needing_consent(r, &grant))?;
    let signed_in = IdTokenFor {
        auth_time: r.now,
        ..IdTokenFor::default()
    };
    let mut granted = user_tokens(r, &grant, &info, signed_in, None).await?;
    if family::offered(r.client, &grant) {
        let (token, _) =
            family::start(r, "password", &grant, &info, r.now, &granted.access).await?;
        granted.refresh_token = Some(token);
    }
    Ok(granted)
}

/// After the policy: the password grant has no consent page, so an app that must ask cannot
/// be granted scopes that need consent.
pub(super) fn refuse_consent(
    client: &tessera_hot::ClientSnapshot,
    consent: &[&str],
) -> Result<(), OAuthError> {
    if consent.is_empty() || client.consent_method != "REQUIRED" {
        return Ok(());
    }
    Err(OAuthError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::ConsentRequired,
        format!(
            "The following scopes require user consent: [{}]. Set the application's consent_method to TRUSTED to use them with the password grant.",
            consent.join(", ")
        ),
    ))
}
