//! `refresh_token` (RFC 6749 §6): the client, the user and the policy are re-checked with the
//! same decision function as every grant (a refusal is `invalid_grant`); lifetimes stay those of
//! the original grant; `scope` may only narrow. ROTATE clients get a new token each time and the
//! old one becomes ROTATED; presenting a ROTATED token after the app's leeway is reuse, and
//! revokes the whole family (OAuth 2.0 Security BCP §4.14.2).

use tessera_domain::secrets::lookup_digest;
use tessera_oauth::{ErrorCode, OAuthError};
use tessera_store::entities::{refresh_token, user};
use tessera_store::{ColumnTrait as _, repo};

use super::family::{self, Origin};
use super::{GrantRequest, Granted, assigned_user, decide, user_tokens};
use crate::mint::IdTokenFor;

const INVALID_REFRESH: &str = "The refresh token is invalid or expired.";

fn invalid() -> OAuthError {
    OAuthError::invalid_grant(INVALID_REFRESH)
}

/// Reuse of a rotated token: its whole family is revoked and the System Log says so.
async fn reuse_detected(
    r: &GrantRequest<'_>,
    row: &refresh_token::Model,
) -> Result<(), OAuthError> {
    let t = r.tenant.tenant_id.as_str();
    let members = repo::all::<refresh_token::Entity>(
        &r.state.db,
        t,
        refresh_token::Column::FamilyId.eq(&row.family_id),
    )
    .await
    .map_err(OAuthError::server_error)?;
    tessera_core::revoke::refresh_tokens(r.state, t, members)
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
    Ok(())
}

pub async fn grant(
    r: &GrantRequest<'_>,
    presented: &str,
    scopes: Option<Vec<String>>,
) -> Result<Granted, OAuthError> {
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
    .ok_or_else(invalid)?;
    match row.status.as_str() {
        "ACTIVE" => {}
        "ROTATED"
            if row
                .rotated_at
                .is_some_and(|at| now_ms <= at + r.client.refresh_leeway * 1000) => {}
        "ROTATED" => {
            reuse_detected(r, &row).await?;
            return Err(invalid());
        }
        _ => return Err(invalid()),
    }
    if row.expires_at.is_some_and(|e| e <= now_ms)
        || row.window_expires_at.is_some_and(|w| w <= now_ms)
    {
        return Err(invalid());
    }
    // RFC 9449 §5: a bound refresh token is used only with a proof of the same key.
    if row.dpop_jkt.is_some() && row.dpop_jkt != r.dpop_jkt {
        return Err(OAuthError::code(
            ErrorCode::InvalidDpopProof,
            "The refresh token is bound to another DPoP key.",
        ));
    }
    let original: Vec<String> =
        serde_json::from_str(&row.scopes).map_err(OAuthError::server_error)?;
    let requested = scopes.unwrap_or_else(|| original.clone());
    let denied: Vec<&str> = requested
        .iter()
        .filter(|s| !original.contains(s))
        .map(String::as_str)
        .collect();
    if !denied.is_empty() {
        return Err(OAuthError::access_denied(format!(
            "Some of the scopes requested for the refresh request were not granted in the original authorize request. Denied scopes: [{}]",
            denied.join(", ")
        )));
    }
    // The user must still be active and assigned, and the policy must still allow the grant.
    let uid = row.user_id.clone().ok_or_else(invalid)?;
    let u = repo::find::<user::Entity>(db, t, &uid)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|u| u.status == "ACTIVE")
        .ok_or_else(invalid)?;
    let (info, facts) = assigned_user(r, &u).await?.ok_or_else(invalid)?;
    let grant_type = row.grant_type.clone().unwrap_or_else(|| "password".into());
    // A refresh the policy no longer allows is `invalid_grant` (the grant is what is no longer
    // valid), with the policy's description.
    let mut grant =
        decide(r, &grant_type, Some(&facts), Some(&requested)).map_err(|d| OAuthError {
            error: ErrorCode::InvalidGrant,
            ..OAuthError::from(d)
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
        auth_time: row.auth_time.unwrap_or(row.created / 1000),
    };
    grant.lifetimes.access_token_minutes = origin.access_token_minutes;
    // A refresh is not an authentication: the tokens keep the original `auth_time`.
    let refreshed = IdTokenFor {
        auth_time: origin.auth_time,
        ..IdTokenFor::default()
    };
    let mut granted = user_tokens(r, &grant, &info, refreshed, Some(&row.id)).await?;
    let at = &granted.access;
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
            return Err(invalid());
        }
        let (token, new_row) = family::row(r, &origin, &grant.scopes, at, None);
        repo::insert::<refresh_token::Entity>(&txn, new_row)
            .await
            .map_err(OAuthError::server_error)?;
        txn.commit().await.map_err(OAuthError::server_error)?;
        token
    };
    granted.refresh_token = Some(refresh_token);
    Ok(granted)
}
