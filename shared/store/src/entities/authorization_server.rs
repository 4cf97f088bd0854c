//! The `authorization_servers` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_servers")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    pub description: String,
    pub audiences: String,
    pub issuer_mode: String,
    pub status: String,
    pub is_default: bool,
    pub rotation_mode: String,
    pub last_rotated: Option<i64>,
    pub signing_alg: String,
    /// Tessera extension: this server's AUTO rotation interval, overriding the default.
    pub rotation_interval_minutes: Option<i64>,
    /// The tenant's org authorization server (issuer `{org}`, `okta.*` scopes only); hidden from
    /// the management API.
    pub org: bool,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "AuthorizationServer", tenant_id);
