//! Why tokens could not be issued, as the claims engine, minting and the token inline hook know
//! it. The OAuth endpoints put these on the wire in one place, `From<IssueError> for
//! OAuthError` below; nothing inside issuance builds a wire error itself.

use actix_web::http::StatusCode;
use tessera_oauth::{ErrorCode, OAuthError};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// A claim's expression failed, ran over its budget, or its value was too large.
    #[error("the '{0}' claim could not be evaluated")]
    Claim(String),
    /// A groups claim matched more groups than a token may carry.
    #[error("a groups claim matched more than {0} groups")]
    TooManyGroups(usize),
    /// The rule's token inline hook answered with an error (its `errorSummary`).
    #[error("the token inline hook refused: {0}")]
    HookRefused(String),
    #[error("the server has no ACTIVE signing key")]
    NoSigningKey,
    #[error(transparent)]
    Sign(#[from] tessera_jose::JoseError),
    /// A stored user profile that is not JSON.
    #[error("a stored user profile is not JSON: {0}")]
    Profile(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] tessera_store::StoreError),
    #[error(transparent)]
    Core(#[from] tessera_core::Error),
}

impl From<IssueError> for OAuthError {
    fn from(e: IssueError) -> Self {
        match e {
            // Okta names the claim and answers 500 (its §9 behaviour for a failing expression).
            IssueError::Claim(name) => OAuthError::code(
                ErrorCode::ServerError,
                format!("The '{name}' user claim could not be evaluated."),
            ),
            IssueError::TooManyGroups(_) => OAuthError::code(
                ErrorCode::ServerError,
                "The groups claim matched too many groups and must be configured to match fewer groups.",
            ),
            // Okta answers a hook's `error` with 400 `server_error` and the hook's summary.
            IssueError::HookRefused(summary) => {
                OAuthError::new(StatusCode::BAD_REQUEST, ErrorCode::ServerError, summary)
            }
            IssueError::Core(core) => core.into(),
            fault @ (IssueError::NoSigningKey
            | IssueError::Sign(_)
            | IssueError::Profile(_)
            | IssueError::Store(_)) => OAuthError::server_error(fault),
        }
    }
}
