//! `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): the code is taken atomically (single
//! use) and must match the client, server, redirect URI and PKCE challenge it was issued with.
//! A replayed code fails and revokes every token issued from it (RFC 6749 §4.1.2).

use std::time::Duration;

use tessera_oauth::OAuthError;
use tessera_store::entities::{refresh_token, user};
use tessera_store::{ColumnTrait as _, repo};

use super::{GrantRequest, Granted, assigned_user, family, user_tokens};
use crate::code::{CodeGrant, code_key, redeemed_key};
use crate::mint::IdTokenFor;

const INVALID_CODE: &str = "The authorization code is invalid or has expired.";

/// What a redeemed code minted, kept so that a replay can revoke it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Minted {
    access_token_jti: String,
    access_token_exp: i64,
    refresh_family: Option<String>,
}

/// Whether `verifier` proves `challenge` (S256, RFC 7636 §4.6); with no challenge, no verifier.
fn pkce_verified(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
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
    }
}

pub async fn grant(
    r: &GrantRequest<'_>,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<Granted, OAuthError> {
    let t = r.tenant.tenant_id.as_str();
    let Some(raw) = r.state.short.take(&code_key(t, code)).await? else {
        if let Some(minted) = r.state.short.take(&redeemed_key(t, code)).await?
            && let Ok(m) = serde_json::from_slice::<Minted>(&minted)
        {
            revoke_minted(r, &m).await?;
            tracing::warn!(tenant = t, client = %r.client.client_id, "authorization code replayed; tokens issued from it revoked");
        }
        return Err(OAuthError::invalid_grant(INVALID_CODE));
    };
    let bound: CodeGrant = serde_json::from_slice(&raw).map_err(OAuthError::server_error)?;
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
    if redirect_uri != Some(bound.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
        ));
    }
    if !pkce_verified(bound.code_challenge.as_deref(), code_verifier) {
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
        requested: crate::claims::requested_claims(&u, &info.profile, &bound.claims.id_token),
    };
    let mut granted = user_tokens(r, &grant, &info, signed_in, None).await?;
    if !bound.claims.userinfo.is_empty() {
        crate::userinfo::remember_requested(r, &granted.access, &bound.claims.userinfo).await?;
    }
    let mut refresh_family = None;
    if family::offered(r.client, &grant) {
        let (token, fam) = family::start(
            r,
            "authorization_code",
            &grant,
            &info,
            bound.auth_time,
            &granted.access,
        )
        .await?;
        granted.refresh_token = Some(token);
        refresh_family = Some(fam);
    }
    let minted = Minted {
        access_token_jti: granted.access.jti.clone(),
        access_token_exp: granted.access.exp,
        refresh_family,
    };
    let value = serde_json::to_vec(&minted).map_err(OAuthError::server_error)?;
    let ttl = Duration::from_secs(
        u64::try_from(granted.access.expires_in)
            .unwrap_or(3600)
            .max(300),
    );
    r.state
        .short
        .put(&redeemed_key(t, code), &value, ttl)
        .await?;
    Ok(granted)
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
