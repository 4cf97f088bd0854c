//! The `role_assignments` table: an admin role held by a user or by every member of a group.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_assignments")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    /// The role's `type` (`SUPER_ADMIN`, `API_ACCESS_MANAGEMENT_ADMIN`, …).
    pub role_type: String,
    /// `USER` or `GROUP`.
    pub principal_type: String,
    pub principal_id: String,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "Role", tenant_id);
