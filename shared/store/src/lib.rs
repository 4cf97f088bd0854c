//! Tessera's durable store: SQLite (the embedded default) or PostgreSQL, through sea-orm.
//!
//! * [`entities`]: one entity per table; every table but `tenants` is keyed by tenant.
//! * [`migration`]: the schema, applied by `tessera migrate` and at start-up.
//! * [`repo`]: the tenant-scoped repository functions handlers use. Every function takes the
//!   tenant explicitly: there is no ambient "current tenant".

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

/// The PostgreSQL connection pool: its size and how long it waits (SQLite is a local file and
/// keeps a pool of 4 with sqlx's defaults).
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// Connections this process keeps open at most.
    pub max_connections: u32,
    /// The longest a caller waits for a pooled connection. While the database is down, every
    /// connection attempt is refused and retried until this passes: it is how long a request
    /// that needs the database takes to fail.
    pub acquire: std::time::Duration,
    /// The longest one connection attempt may take.
    pub connect: std::time::Duration,
    /// PostgreSQL's `statement_timeout`.
    pub statement: std::time::Duration,
}

impl Default for Pool {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire: std::time::Duration::from_secs(1),
            connect: std::time::Duration::from_secs(1),
            statement: std::time::Duration::from_secs(5),
        }
    }
}

/// The page cache of each pooled SQLite connection, in KiB (`PRAGMA cache_size`, negative:
/// a size rather than a page count).
pub const SQLITE_CACHE_KIB: u32 = 512;

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`) with the default
/// [`Pool`].
pub async fn connect(url: &str) -> Result<DatabaseConnection, StoreError> {
    connect_with(url, Pool::default()).await
}

/// Opens the database named by `url` with `pool` (PostgreSQL only).
pub async fn connect_with(url: &str, pool: Pool) -> Result<DatabaseConnection, StoreError> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .max_connections(if sqlite { 4 } else { pool.max_connections });
    if !sqlite {
        options
            .acquire_timeout(pool.acquire)
            .connect_timeout(pool.connect)
            .statement_timeout(pool.statement);
    }
    if sqlite {
        // Set on every pooled connection as it opens (a PRAGMA run through the pool reaches
        // only the one connection that runs it). WAL lets readers proceed while one writer
        // commits; the busy timeout matters when several pooled connections write; FULL makes
        // each commit durable in the WAL before it returns, which the System Log relies on: it
        // deletes a spool segment once its events are committed. Each connection's page cache
        // is capped at SQLITE_CACHE_KIB (SQLite's default is 2,000 KiB, kept once filled, on
        // each of the pool's connections); the operating system's file cache holds the rest.
        options.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(std::time::Duration::from_secs(5))
                .synchronous(SqliteSynchronous::Full)
                .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
        });
    }
    let db = Database::connect(options).await?;
    Ok(db)
}

/// Whether a failure to connect will not go away by waiting: the database does not exist, the
/// role does not exist or its password is wrong, or the URL is malformed. Start-up gives up at
/// once on these instead of retrying for `startup_wait_secs`.
pub fn permanent(err: &StoreError) -> bool {
    use sea_orm::{DbErr, RuntimeErr, SqlxError};
    let StoreError::Db(DbErr::Conn(RuntimeErr::SqlxError(e))) = err else {
        return false;
    };
    match e.as_ref() {
        SqlxError::Configuration(_) => true,
        // 3D000 invalid_catalog_name (no such database), 28000 invalid_authorization_specification
        // (no such role), 28P01 invalid_password.
        SqlxError::Database(db) => db
            .code()
            .is_some_and(|c| matches!(c.as_ref(), "3D000" | "28000" | "28P01")),
        _ => false,
    }
}

/// [`unreachable`] for an error of any type: `true` only for a [`sea_orm::DbErr`] or a
/// [`StoreError`] that says so. The wire-error constructors ask it, so that a database outage is
/// a 503 however the error reached them (`?`, or `map_err` into a 500).
pub fn unreachable_any(cause: &dyn std::any::Any) -> bool {
    if let Some(e) = cause.downcast_ref::<sea_orm::DbErr>() {
        return unreachable(e);
    }
    cause
        .downcast_ref::<StoreError>()
        .is_some_and(StoreError::is_unreachable)
}

/// Whether `err` says the database could not be reached or did not answer in time (its
/// caller gets a 503 and may retry), as opposed to an answer it gave (a 4xx or a 500).
pub fn unreachable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, SqlxError};
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx.as_ref() {
        SqlxError::Io(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed
        | SqlxError::Tls(_) => true,
        // SQLSTATE class 08 (connection exception), 57P01–57P03 (the server is shutting down
        // or starting), 57014 (the statement timeout cancelled the query).
        SqlxError::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "57014")
        }),
        _ => false,
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), StoreError> {
    migration::Migrator::up(db, None).await?;
    Ok(())
}

/// Whether the database answers, within `within`.
pub async fn ping(db: &DatabaseConnection, within: std::time::Duration) -> bool {
    matches!(tokio::time::timeout(within, db.ping()).await, Ok(Ok(())))
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

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait as _, Statement, TransactionTrait as _};

    /// Every pooled SQLite connection is in WAL mode, waits for the write lock, commits
    /// durably and caps its page cache, not only the first one the pool opened.
    #[tokio::test]
    async fn every_sqlite_connection_commits_durably() {
        let dir =
            std::env::temp_dir().join(format!("tessera-store-pragmas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let db = super::connect(&url).await.unwrap();
        // Open transactions hold their connections: four of them hold the whole pool.
        let mut open = Vec::new();
        for _ in 0..4 {
            open.push(db.begin().await.unwrap());
        }
        for tx in &open {
            let pragma = |name: &str| {
                Statement::from_string(sea_orm::DatabaseBackend::Sqlite, format!("PRAGMA {name}"))
            };
            let one = |row: Option<sea_orm::QueryResult>| row.unwrap();
            let synchronous: i32 = one(tx.query_one_raw(pragma("synchronous")).await.unwrap())
                .try_get_by_index(0)
                .unwrap();
            let busy: i32 = one(tx.query_one_raw(pragma("busy_timeout")).await.unwrap())
                .try_get_by_index(0)
                .unwrap();
            let journal: String = one(tx.query_one_raw(pragma("journal_mode")).await.unwrap())
                .try_get_by_index(0)
                .unwrap();
            let cache: i64 = one(tx.query_one_raw(pragma("cache_size")).await.unwrap())
                .try_get_by_index(0)
                .unwrap();
            assert_eq!(
                (synchronous, busy, journal.as_str(), cache),
                (2, 5000, "wal", -i64::from(super::SQLITE_CACHE_KIB)),
                "FULL, 5 s, WAL, a capped page cache"
            );
        }
        drop(open);
        std::fs::remove_dir_all(&dir).ok();
    }
}
