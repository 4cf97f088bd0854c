//! The `users` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub status: String,
    pub login: String,
    pub email: String,
    pub profile: String,
    pub password_hash: Option<String>,
    pub activated: Option<i64>,
    pub status_changed: Option<i64>,
    pub password_changed: Option<i64>,
    pub last_login: Option<i64>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "User", tenant_id);
