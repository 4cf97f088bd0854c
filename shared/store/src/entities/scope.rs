//! The `scopes` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scopes")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub server_id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub consent: String,
    pub optional: bool,
    pub is_default: bool,
    pub metadata_publish: String,
    pub system: bool,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "OAuth2Scope", tenant_id);
