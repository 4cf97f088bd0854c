//! The `refresh_tokens` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub server_id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub family_id: String,
    pub token_hash: String,
    pub status: String,
    pub scopes: String,
    pub expires_at: Option<i64>,
    pub window_expires_at: Option<i64>,
    pub rotated_at: Option<i64>,
    /// The access token minted with this refresh token (for revocation cascades).
    pub access_token_jti: Option<String>,
    /// Its expiry, in seconds since the epoch.
    pub access_token_exp: Option<i64>,
    /// The grant the family started with (policy is re-evaluated for it on refresh).
    pub grant_type: Option<String>,
    /// The original rule's access-token lifetime and idle window, kept for the family's life.
    pub access_token_minutes: Option<i64>,
    pub window_minutes: Option<i64>,
    /// When the user authenticated for the grant that started the family (seconds since the
    /// epoch): refreshed ID and access tokens keep it as `auth_time` (OIDC Core §12.2).
    pub auth_time: Option<i64>,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 §5), if any.
    pub dpop_jkt: Option<String>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "RefreshToken", tenant_id);
