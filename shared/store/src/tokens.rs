//! Refresh-token and consent bookkeeping used by the management API's implicit revocation.

use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _};

use crate::entities::{consent, refresh_token};
use crate::repo::StoreError;

/// Marks the tenant's refresh tokens matching `cond` REVOKED; returns how many.
pub async fn revoke_refresh_tokens(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let res = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::Status, Expr::value("REVOKED"))
        .col_expr(refresh_token::Column::LastUpdated, Expr::value(now_ms))
        .filter(refresh_token::Column::TenantId.eq(tenant))
        .filter(refresh_token::Column::Status.eq("ACTIVE"))
        .filter(cond)
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Revokes the ACTIVE consent grants matching `cond`; returns how many.
pub async fn revoke_consents(
    db: &impl ConnectionTrait,
    tenant: &str,
    cond: impl IntoCondition,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let res = consent::Entity::update_many()
        .col_expr(consent::Column::Status, Expr::value("REVOKED"))
        .col_expr(consent::Column::LastUpdated, Expr::value(now_ms))
        .filter(consent::Column::TenantId.eq(tenant))
        .filter(consent::Column::Status.eq("ACTIVE"))
        .filter(cond)
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Marks one ACTIVE refresh token ROTATED; `false` when it was not ACTIVE any more (a
/// concurrent refresh won), so two refreshes of one token cannot both rotate it.
pub async fn mark_rotated(
    db: &impl ConnectionTrait,
    tenant: &str,
    id: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let res = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::Status, Expr::value("ROTATED"))
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now_ms))
        .col_expr(refresh_token::Column::LastUpdated, Expr::value(now_ms))
        .filter(refresh_token::Column::TenantId.eq(tenant))
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::Status.eq("ACTIVE"))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
