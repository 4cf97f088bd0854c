//! Tessera's durable store: SQLite (the embedded default) or PostgreSQL, through sea-orm.
//!
//! * [`entities`]: one entity per table; every table but `tenants` is keyed by tenant.
//! * [`migration`]: the schema, applied by `tessera migrate` and at start-up.
//! * [`repo`]: the tenant-scoped repository functions handlers use. Every function takes the
//!   tenant explicitly: there is no ambient "current tenant" (STYLE §8).

pub mod entities;
pub mod fences;
pub mod migration;
pub mod repo;
pub mod tenants;
pub mod tokens;

pub use repo::{Page, Scoped, StoreError};
pub use sea_orm::{
    self, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    TransactionTrait,
};

use sea_orm::{ConnectOptions, Database};
use sea_orm_migration::MigratorTrait as _;

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a deferred transaction that reads and
/// then writes fails at once with "database is locked" when another connection (the System
/// Log's writer, say) wrote in between. On PostgreSQL it is a plain `BEGIN`.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`).
pub async fn connect(url: &str) -> Result<DatabaseConnection, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .max_connections(if url.starts_with("sqlite:") { 4 } else { 16 });
    let db = Database::connect(options).await?;
    if url.starts_with("sqlite:") {
        // WAL lets readers proceed while one writer commits; foreign keys are not used but the
        // busy timeout matters when several pooled connections write.
        for pragma in [
            "PRAGMA journal_mode=WAL",
            "PRAGMA busy_timeout=5000",
            "PRAGMA synchronous=NORMAL",
        ] {
            db.execute_unprepared(pragma).await?;
        }
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), StoreError> {
    migration::Migrator::up(db, None).await?;
    Ok(())
}

/// Whether the database answers (for `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

/// Text matching with `LIKE`, the caller's text taken literally: `%`, `_` and the escape
/// character itself are escaped, so `q=%` finds names containing a percent sign, not every row.
pub mod text {
    use sea_orm::ColumnTrait;
    use sea_orm::sea_query::{Expr, LikeExpr};

    fn literal(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 2);
        for c in text.chars() {
            if matches!(c, '\\' | '%' | '_') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    /// `column LIKE 'prefix%' ESCAPE '\'`.
    pub fn starts_with(column: impl ColumnTrait, prefix: &str) -> Expr {
        column.like(LikeExpr::new(format!("{}%", literal(prefix))).escape('\\'))
    }

    /// `column LIKE '%part%' ESCAPE '\'`.
    pub fn contains(column: impl ColumnTrait, part: &str) -> Expr {
        column.like(LikeExpr::new(format!("%{}%", literal(part))).escape('\\'))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn wildcards_in_the_callers_text_are_escaped() {
            assert_eq!(super::literal("50%_off\\"), "50\\%\\_off\\\\");
            assert_eq!(super::literal("plain"), "plain");
        }
    }
}
