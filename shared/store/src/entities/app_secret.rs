//! The `app_secrets` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "app_secrets")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub app_id: String,
    pub status: String,
    pub salt: String,
    pub digest: String,
    pub secret_hash: String,
    /// The secret sealed with the master key (for `client_secret_jwt`).
    pub sealed: Option<String>,
    pub master_key_id: Option<String>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "ClientSecret", tenant_id);
