//! Fencing tokens for leader-only jobs (key rotation). A new leader *claims* the fence (adds one
//! and keeps the result); every write of its term checks, inside the write's transaction, that
//! the fence still holds its token. A former leader that was paused past its lease finds a
//! larger fence and writes nothing. The counter lives in the durable store, so it survives a
//! restart of Redis (whose lease counter does not).

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::repo::StoreError;

/// Increments the fence named `name` (creating it at 1) and returns the new value.
pub async fn claim(db: &impl ConnectionTrait, name: &str) -> Result<i64, StoreError> {
    let backend = db.get_database_backend();
    let upsert = match backend {
        DbBackend::Postgres => {
            "INSERT INTO rotation_fences (name, fence) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET fence = rotation_fences.fence + 1 RETURNING fence"
        }
        _ => {
            "INSERT INTO rotation_fences (name, fence) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET fence = rotation_fences.fence + 1 RETURNING fence"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            upsert,
            [name.into()],
        ))
        .await?
        .ok_or_else(|| StoreError::Corrupt("the fence upsert returned no row".into()))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Whether the fence still holds `token`; on PostgreSQL this also locks the row until the
/// transaction ends, so a newer claim waits for the write that checked.
pub async fn holds(db: &impl ConnectionTrait, name: &str, token: i64) -> Result<bool, StoreError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE rotation_fences SET fence = fence WHERE name = $1 AND fence = $2"
        }
        _ => "UPDATE rotation_fences SET fence = fence WHERE name = ? AND fence = ?",
    };
    let res = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [name.into(), token.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}
