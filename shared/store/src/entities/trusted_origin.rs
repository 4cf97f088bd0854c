//! The `trusted_origins` table: origins a tenant trusts for cross-origin calls (CORS), for
//! redirects after sign-in and sign-out, and for embedding its pages in a frame.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_origins")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    /// The origin as the administrator wrote it (`https://app.example.com`).
    pub origin: String,
    /// JSON `[{"type": "CORS"}, {"type": "IFRAME_EMBED", "allowedOktaApps": []}]`.
    pub scopes: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// The user (or API token) that created it and that changed it last.
    pub created_by: Option<String>,
    pub last_updated_by: Option<String>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "TrustedOrigin", tenant_id);
