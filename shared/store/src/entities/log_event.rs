//! The `log_events` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "log_events")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub event_type: String,
    pub severity: String,
    pub display_message: String,
    pub actor: String,
    pub target: String,
    pub outcome: String,
    pub client: String,
    /// `transaction`, `debugContext` and `request`, as one JSON object.
    pub details: String,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "LogEvent", tenant_id);
