//! The `associated_servers` table: the authorization servers of the tenant that a server trusts
//! (Okta's "trusted servers"), whose access tokens it accepts as subject tokens of a token
//! exchange.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "associated_servers")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    /// The server that trusts.
    pub server_id: String,
    /// The server it trusts.
    pub trusted_server_id: String,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "AssociatedServer", tenant_id);
