//! The `revocations` table: every revocation marker, durably (a denylisted access-token `jti`,
//! or an *epoch* before which every token of a subject is revoked). The short-lived store holds
//! the same markers as a cache and is rebuilt from here when it comes back empty. `id` is the
//! marker's name (`jti:{jti}`, `epoch:user:{id}`, …); a row is dead once `expires_at` has passed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "revocations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    /// For an epoch, its time (milliseconds); for a `jti`, `0`.
    pub value: i64,
    /// When the marker stops mattering (milliseconds): every token it can concern has expired.
    pub expires_at: i64,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "Revocation", tenant_id);
