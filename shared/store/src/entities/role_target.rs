//! The `role_targets` table: what a role assignment is narrowed to (Okta's role targets) — a
//! group, every app of a catalog name, or one app instance. An assignment without rows here
//! applies to the whole tenant.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_targets")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    /// The role assignment narrowed.
    pub assignment_id: String,
    /// `GROUP`, `APP` (every app named `target`) or `APP_INSTANCE`.
    pub kind: String,
    /// The group's id, or the app's catalog name (`oidc_client`).
    pub target: String,
    /// The app instance, for `APP_INSTANCE`.
    pub app_id: Option<String>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "RoleTarget", tenant_id);
