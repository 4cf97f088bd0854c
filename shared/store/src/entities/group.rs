//! The `groups` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub group_type: String,
    pub last_membership_updated: Option<i64>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "Group", tenant_id);
