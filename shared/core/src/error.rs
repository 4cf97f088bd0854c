//! The core's one error type. Each surface converts it to its wire error in one place:
//! `tessera_web::ApiError` (Okta's management body), `tessera_oauth::OAuthError` (RFC 6749).

use tessera_ephemeral::StoreUnavailable;
use tessera_store::StoreError;

use crate::revocation::RevocationError;

/// Why a core operation failed. None of these is the caller's fault: input is validated by the
/// surfaces before it reaches the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused or failed (not found, conflict, or a fault).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The short-lived store cannot be reached.
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
    /// A revocation could not be recorded or checked.
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// Anything else that should not happen (a task that panicked, a key that will not parse).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// An unexpected fault. A database error keeps its type instead, so that the surfaces
    /// answer 503 for a database that cannot be reached.
    pub fn internal(cause: impl std::fmt::Display + 'static) -> Self {
        let text = cause.to_string();
        let any: Box<dyn std::any::Any> = Box::new(cause);
        match any.downcast::<tessera_store::sea_orm::DbErr>() {
            Ok(db) => Self::Store(StoreError::Db(*db)),
            Err(any) => match any.downcast::<StoreError>() {
                Ok(s) => Self::Store(*s),
                Err(_) => Self::Internal(text),
            },
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
