//! Generic, tenant-scoped repository functions over the entities.
//!
//! Each entity declares through [`Scoped`] which columns hold its tenant, id and sequence;
//! the functions here then give every resource the same find / page / insert / update /
//! delete, always filtered by tenant. Resource-specific queries live beside the resource in
//! the services, built from these and from `Condition`s on the entity's own columns.

use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

/// Failures of the durable store. Handlers turn these into 500s (or, for a unique-constraint
/// race, a validation error).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("a row with the same unique key already exists")]
    Conflict,
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database could not be reached or did not answer in time (see
    /// [`crate::unreachable`]).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Db(e) if crate::unreachable(e))
    }

    pub(crate) fn from_write(err: sea_orm::DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict,
            _ => Self::Db(err),
        }
    }
}

/// An entity whose rows belong to one tenant.
pub trait Scoped: EntityTrait {
    /// The resource name used in Okta's "Resource not found" messages.
    const KIND: &'static str;
    fn tenant_column() -> Self::Column;
    fn id_column() -> Self::Column;
    fn seq_column() -> Self::Column;
    fn seq_of(model: &Self::Model) -> i64;
}

/// Implements [`Scoped`] for an entity module's `Entity`.
#[macro_export]
macro_rules! scoped {
    ($entity:ident, $kind:literal, $tenant:ident) => {
        impl $crate::repo::Scoped for $entity {
            const KIND: &'static str = $kind;
            fn tenant_column() -> Column {
                Column::TenantId
            }
            fn id_column() -> Column {
                Column::Id
            }
            fn seq_column() -> Column {
                Column::Seq
            }
            fn seq_of(model: &Model) -> i64 {
                model.seq
            }
        }
    };
}

/// One page of a list, and the cursor of the next page when there is one.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

/// The row of `E` with this id in this tenant.
pub async fn find<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: &str,
) -> Result<Option<E::Model>, StoreError> {
    Ok(E::find()
        .filter(E::tenant_column().eq(tenant))
        .filter(E::id_column().eq(id))
        .one(db)
        .await?)
}

/// The first row of `E` in this tenant matching `cond`.
pub async fn find_by<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
) -> Result<Option<E::Model>, StoreError> {
    Ok(E::find()
        .filter(E::tenant_column().eq(tenant))
        .filter(cond)
        .order_by(E::seq_column(), Order::Asc)
        .one(db)
        .await?)
}

/// Every row of `E` in this tenant matching `cond`, in creation order.
pub async fn all<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
) -> Result<Vec<E::Model>, StoreError> {
    Ok(E::find()
        .filter(E::tenant_column().eq(tenant))
        .filter(cond)
        .order_by(E::seq_column(), Order::Asc)
        .all(db)
        .await?)
}

/// How many rows of `E` in this tenant match `cond`.
pub async fn count<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
) -> Result<u64, StoreError>
where
    E::Model: Sync,
{
    Ok(E::find()
        .filter(E::tenant_column().eq(tenant))
        .filter(cond)
        .count(db)
        .await?)
}

/// A page of rows of `E` matching `cond`, in creation order, starting after the cursor.
pub async fn page<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
    after: Option<i64>,
    limit: u64,
) -> Result<Page<E::Model>, StoreError> {
    let mut q = E::find().filter(E::tenant_column().eq(tenant)).filter(cond);
    if let Some(after) = after {
        q = q.filter(E::seq_column().gt(after));
    }
    let mut items = q
        .order_by(E::seq_column(), Order::Asc)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_after = if items.len() as u64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        items.last().map(E::seq_of)
    } else {
        None
    };
    Ok(Page { items, next_after })
}

/// How many rows [`page_filtered`] reads at a time.
const SCAN_BATCH: u64 = 500;

/// One page of this tenant's `E` rows that match `cond` in the database and `keep` in memory,
/// for what SQL cannot express (a search over any attribute of a rendered resource). Rows are
/// read in batches from `after`, so memory holds one batch and one page whatever the table's
/// size; the time grows with the rows scanned, which is what an index-free search costs.
pub async fn page_filtered<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: Condition,
    after: Option<i64>,
    limit: u64,
    keep: impl Fn(&E::Model) -> bool,
) -> Result<Page<E::Model>, StoreError> {
    let mut items = Vec::new();
    let mut cursor = after;
    loop {
        let batch = page::<E>(db, tenant, cond.clone(), cursor, SCAN_BATCH).await?;
        for row in batch.items {
            if keep(&row) {
                if items.len() as u64 == limit {
                    let next_after = items.last().map(E::seq_of);
                    return Ok(Page { items, next_after });
                }
                items.push(row);
            }
        }
        match batch.next_after {
            Some(next) => cursor = Some(next),
            None => {
                return Ok(Page {
                    items,
                    next_after: None,
                });
            }
        }
    }
}

/// Inserts a new row; `seq` is assigned by the database whatever the model says.
pub async fn insert<E>(db: &impl ConnectionTrait, model: E::Model) -> Result<E::Model, StoreError>
where
    E: Scoped,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let mut am = model.into_active_model().reset_all();
    am.not_set(E::seq_column());
    am.insert(db).await.map_err(StoreError::from_write)
}

/// Writes every field of an existing row (found by its `seq`).
pub async fn update<E>(db: &impl ConnectionTrait, model: E::Model) -> Result<E::Model, StoreError>
where
    E: Scoped,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let am = model.into_active_model().reset_all();
    am.update(db).await.map_err(StoreError::from_write)
}

/// Deletes the rows of `E` in this tenant matching `cond`; returns how many went.
pub async fn delete_where<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
) -> Result<u64, StoreError> {
    let res = E::delete_many()
        .filter(E::tenant_column().eq(tenant))
        .filter(cond)
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Deletes every row of `E` belonging to the tenant (tenant removal).
pub async fn purge_tenant<E: Scoped>(
    db: &impl ConnectionTrait,
    tenant: &str,
) -> Result<u64, StoreError> {
    delete_where::<E>(db, tenant, Condition::all()).await
}

/// A condition that always holds, for "no further filter".
pub fn everything() -> Condition {
    Condition::all()
}
