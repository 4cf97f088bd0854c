//! The `app_groups` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_groups")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub app_id: String,
    pub group_id: String,
    pub priority: i32,
    pub profile: String,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "ApplicationGroupAssignment", tenant_id);
