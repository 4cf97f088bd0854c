//! `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–3.5): the client polls with
//! its device code until the user has answered on the hosted page (`crate::device`). The code
//! is spent by the poll that receives the tokens; the policy decides then, for the user who
//! approved, with the scopes the device asked for.

use std::time::Duration;

use tessera_domain::secrets::lookup_digest;
use tessera_ephemeral::{Key, Kind};
use tessera_oauth::{ErrorCode, OAuthError};
use tessera_store::entities::user;
use tessera_store::repo;

use super::{GrantRequest, Granted, assigned_user, decide, family, user_tokens};
use crate::device::{self, DeviceCode, GRANT_TYPE, INTERVAL, Status};
use crate::mint::IdTokenFor;

const INVALID: &str = "The device code is invalid or has expired.";

pub async fn grant(r: &GrantRequest<'_>, device_code: &str) -> Result<Granted, OAuthError> {
    let t = r.tenant.tenant_id.as_str();
    let digest = lookup_digest(device_code);
    let key = device::code_key(t, &digest);
    let record: DeviceCode = match r.state.short.get(&key).await? {
        Some(raw) => serde_json::from_slice(&raw).map_err(OAuthError::server_error)?,
        None => return Err(OAuthError::invalid_grant(INVALID)),
    };
    if record.client_id != r.client.client_id || record.server_id != r.server.server_id {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    // RFC 8628 §3.5: a poll sooner than the interval after the client's last one is told to slow down.
    let poll = Key::tenant(t, Kind::Throttle, &format!("device:{digest}"));
    if r.state
        .short
        .hit(&poll, Duration::from_secs(INTERVAL))
        .await?
        .count
        > 1
    {
        return Err(OAuthError::code(
            ErrorCode::SlowDown,
            "The client is polling too frequently.",
        ));
    }
    if record.expires_at <= r.now_ms {
        return Err(OAuthError::code(
            ErrorCode::ExpiredToken,
            "The device code has expired.",
        ));
    }
    let (user_id, auth_time) = match &record.status {
        Status::Pending => {
            return Err(OAuthError::code(
                ErrorCode::AuthorizationPending,
                "The device authorization is pending. Please try again later.",
            ));
        }
        Status::Denied => {
            r.state.short.delete(&key).await?;
            return Err(OAuthError::access_denied(
                "The resource owner denied the request.",
            ));
        }
        Status::Approved { user_id, auth_time } => (user_id.clone(), *auth_time),
    };
    // Single use: of two polls that both saw the approval, one takes the code.
    if r.state.short.take(&key).await?.is_none() {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    let u = repo::find::<user::Entity>(&r.state.db, t, &user_id)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
        .ok_or_else(|| OAuthError::invalid_grant(INVALID))?;
    let (info, facts) = assigned_user(r, &u).await?.ok_or_else(|| {
        OAuthError::access_denied("User is not assigned to the client application.")
    })?;
    let grant = decide(r, GRANT_TYPE, Some(&facts), record.scopes.as_deref())?;
    let signed_in = IdTokenFor {
        auth_time,
        ..IdTokenFor::default()
    };
    let mut granted = user_tokens(r, &grant, &info, signed_in, None).await?;
    if family::offered(r.client, &grant) {
        let (token, _) =
            family::start(r, GRANT_TYPE, &grant, &info, auth_time, &granted.access).await?;
        granted.refresh_token = Some(token);
    }
    Ok(granted)
}
