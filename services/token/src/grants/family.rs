//! Refresh-token families (RFC 6749 §6, OAuth 2.0 Security BCP §4.14): opaque tokens stored as
//! hashes, each carrying what the grant that started its family decided (user, absolute expiry,
//! access-token lifetime, idle window), and the access token minted with it.

use tessera_domain::ids::IdKind;
use tessera_domain::policy::Grant;
use tessera_domain::secrets::lookup_digest;
use tessera_oauth::OAuthError;
use tessera_store::entities::refresh_token;
use tessera_store::repo;

use super::GrantRequest;
use crate::claims::UserInfo;
use crate::mint::{self, AccessToken};

/// Whether this grant hands out a refresh token: `offline_access` granted to an app allowed
/// the `refresh_token` grant.
pub fn offered(client: &tessera_hot::ClientSnapshot, grant: &Grant) -> bool {
    grant.scopes.iter().any(|s| s == "offline_access")
        && client.grant_types.iter().any(|g| g == "refresh_token")
}

/// What every token of a refresh family carries from the grant that started it.
pub struct Origin {
    pub family: String,
    pub grant_type: String,
    pub user_id: String,
    /// Absolute expiry (ms), the same for every token of the family.
    pub expires_at: Option<i64>,
    pub access_token_minutes: i64,
    pub window_minutes: i64,
    /// When the user authenticated (seconds): the `auth_time` of every token of the family.
    pub auth_time: i64,
}

/// Starts a family and returns its first token and the family id. It is committed before the
/// response: a refresh token the client was given is never lost.
pub async fn start(
    r: &GrantRequest<'_>,
    grant_type: &str,
    grant: &Grant,
    user: &UserInfo,
    auth_time: i64,
    at: &AccessToken,
) -> Result<(String, String), OAuthError> {
    let l = grant.lifetimes;
    let family = r.state.new_id(IdKind::RefreshToken);
    let origin = Origin {
        family: family.clone(),
        grant_type: grant_type.to_owned(),
        user_id: user.id.clone(),
        expires_at: (l.refresh_token_minutes > 0)
            .then(|| r.now_ms + l.refresh_token_minutes * 60_000),
        access_token_minutes: l.access_token_minutes,
        window_minutes: l.refresh_window_minutes,
        auth_time,
    };
    let (token, row) = row(r, &origin, &grant.scopes, at, Some(family.clone()));
    repo::insert::<refresh_token::Entity>(&r.state.db, row)
        .await
        .map_err(OAuthError::server_error)?;
    Ok((token, family))
}

/// A new refresh token of `origin`'s family and its row (the row id is the family id for the
/// family's first token, a fresh `oar…` id after that).
pub fn row(
    r: &GrantRequest<'_>,
    origin: &Origin,
    scopes: &[String],
    at: &AccessToken,
    id: Option<String>,
) -> (String, refresh_token::Model) {
    let token = mint::refresh_token(r.state.random.as_ref());
    let now_ms = r.now_ms;
    let row = refresh_token::Model {
        seq: 0,
        tenant_id: r.tenant.tenant_id.clone(),
        id: id.unwrap_or_else(|| r.state.new_id(IdKind::RefreshToken)),
        server_id: r.server.server_id.clone(),
        client_id: r.client.client_id.clone(),
        user_id: Some(origin.user_id.clone()),
        family_id: origin.family.clone(),
        token_hash: lookup_digest(&token),
        status: "ACTIVE".into(),
        scopes: serde_json::to_string(scopes).unwrap_or_default(),
        expires_at: origin.expires_at,
        window_expires_at: Some(now_ms + origin.window_minutes * 60_000),
        rotated_at: None,
        access_token_jti: Some(at.jti.clone()),
        access_token_exp: Some(at.exp),
        grant_type: Some(origin.grant_type.clone()),
        access_token_minutes: Some(origin.access_token_minutes),
        window_minutes: Some(origin.window_minutes),
        auth_time: Some(origin.auth_time),
        dpop_jkt: r.dpop_jkt.clone(),
        created: now_ms,
        last_updated: now_ms,
    };
    (token, row)
}
