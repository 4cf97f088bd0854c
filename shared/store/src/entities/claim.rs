//! The `claims` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub server_id: String,
    pub name: String,
    pub status: String,
    pub claim_type: String,
    pub value_type: String,
    pub value: String,
    pub group_filter_type: Option<String>,
    pub always_include_in_token: bool,
    pub condition_scopes: String,
    pub system: bool,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "OAuth2Claim", tenant_id);
