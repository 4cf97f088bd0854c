//! Queries on the `tenants` table and tenant-wide operations (the one table not keyed by a
//! tenant, since it *is* the tenant).

use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, Order, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use crate::entities::{api_token, tenant};
use crate::repo::{Page, StoreError};

pub async fn by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<tenant::Model>, StoreError> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn by_id(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<tenant::Model>, StoreError> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Id.eq(id))
        .one(db)
        .await?)
}

pub async fn page(
    db: &impl ConnectionTrait,
    after: Option<i64>,
    limit: u64,
) -> Result<Page<tenant::Model>, StoreError> {
    let mut q = tenant::Entity::find();
    if let Some(after) = after {
        q = q.filter(tenant::Column::Seq.gt(after));
    }
    let mut items = q
        .order_by(tenant::Column::Seq, Order::Asc)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_after = if items.len() as u64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(|t| t.seq)
    } else {
        None
    };
    Ok(Page { items, next_after })
}

pub async fn insert(
    db: &impl ConnectionTrait,
    model: tenant::Model,
) -> Result<tenant::Model, StoreError> {
    use sea_orm::{ActiveModelTrait as _, IntoActiveModel as _};
    let mut am = model.into_active_model().reset_all();
    am.not_set(tenant::Column::Seq);
    am.insert(db).await.map_err(StoreError::from_write)
}

pub async fn set_status(
    db: &impl ConnectionTrait,
    id: &str,
    status: &str,
    now: i64,
) -> Result<(), StoreError> {
    tenant::Entity::update_many()
        .col_expr(tenant::Column::Status, Expr::value(status))
        .col_expr(tenant::Column::LastUpdated, Expr::value(now))
        .filter(tenant::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds one to the tenant's config version and returns the new value.
pub async fn bump_version(db: &impl ConnectionTrait, id: &str) -> Result<i64, StoreError> {
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::ConfigVersion,
            Expr::col(tenant::Column::ConfigVersion).add(1),
        )
        .filter(tenant::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(by_id(db, id).await?.map_or(0, |t| t.config_version))
}

/// The API token with this lookup digest, in any tenant (the caller checks the tenant).
pub async fn api_token_by_digest(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<api_token::Model>, StoreError> {
    Ok(api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(digest))
        .one(db)
        .await?)
}

/// Removes the tenant row itself (its data is purged first by the caller).
pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<(), StoreError> {
    tenant::Entity::delete_many()
        .filter(tenant::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The tenants with these ids (for the hot-state version check).
pub async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<Vec<tenant::Model>, StoreError> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// Every tenant (start-up maintenance).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<tenant::Model>, StoreError> {
    Ok(tenant::Entity::find().all(db).await?)
}
