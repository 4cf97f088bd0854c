//! The `inline_hooks` table: a token inline hook's endpoint and how to authenticate to it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inline_hooks")]
pub struct Model {
    /// Insertion order; the pagination cursor.
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub tenant_id: String,
    pub id: String,
    pub name: String,
    /// `com.okta.oauth2.tokens.transform`.
    pub hook_type: String,
    pub version: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub uri: String,
    pub method: String,
    /// JSON `[{"key", "value"}]`: extra headers sent with every call.
    pub headers: String,
    /// The authentication header's name (`authScheme.key`), if any.
    pub auth_key: Option<String>,
    /// The OAUTH channel's non-secret settings (JSON `{authType, clientId, tokenUrl, scope}`).
    pub oauth: Option<String>,
    /// The authentication header's value or the OAUTH client secret, sealed under the master
    /// key `master_key_id`.
    pub auth_value_sealed: Option<String>,
    pub master_key_id: Option<String>,
    pub created: i64,
    pub last_updated: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::scoped!(Entity, "InlineHook", tenant_id);
