//! The `tenants` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub id: String,
    pub name: String,
    pub status: String,
    pub config_version: i64,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
