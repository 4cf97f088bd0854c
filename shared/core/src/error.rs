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
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
