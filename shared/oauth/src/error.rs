//! RFC 6749 §5.2 errors: `{"error","error_description"}` with the right status, and
//! `WWW-Authenticate` on 401. Internal faults become `server_error` with a fixed text; their
//! cause goes to the log only (STYLE §4).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.error,
            self.description
        )
    }
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "access_denied", description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn missing(parameter: &str) -> Self {
        Self::invalid_request(format!("The required parameter '{parameter}' is missing."))
    }

    /// The authorization server does not exist or is inactive (SPEC §4).
    pub fn unknown_server() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request",
            "The authorization server id is invalid.",
        )
    }

    /// An internal fault: logged with its cause, answered without it.
    pub fn server_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error on an OAuth endpoint");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An unexpected error occurred.",
        )
    }

    pub fn temporarily_unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "a store is unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "The service is temporarily unavailable.",
        )
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("Cache-Control", "no-store"))
            .insert_header(("Pragma", "no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((
                "WWW-Authenticate",
                format!("Basic realm=\"tessera\", error=\"{}\"", self.error),
            ));
        }
        res.json(json!({ "error": self.error, "error_description": self.description }))
    }
}

impl From<tessera_ephemeral::StoreUnavailable> for OAuthError {
    fn from(e: tessera_ephemeral::StoreUnavailable) -> Self {
        Self::temporarily_unavailable(e)
    }
}

/// A revocation that cannot be recorded or checked fails the request: `503` while a store is
/// down or the markers are being reloaded (fail closed), `500` for a database fault.
impl From<tessera_core::revocation::RevocationError> for OAuthError {
    fn from(e: tessera_core::revocation::RevocationError) -> Self {
        use tessera_core::revocation::RevocationError as R;
        match e {
            R::Unavailable(_) | R::Reloading(_) => Self::temporarily_unavailable(e),
            R::Store(s) => Self::server_error(s),
        }
    }
}

/// The core's errors on OAuth endpoints: a store that is down is `503 temporarily_unavailable`;
/// anything else is `500 server_error` (the cause is logged, never sent).
impl From<tessera_core::Error> for OAuthError {
    fn from(e: tessera_core::Error) -> Self {
        match e {
            tessera_core::Error::Unavailable(u) => u.into(),
            tessera_core::Error::Revocation(r) => r.into(),
            other => Self::server_error(other),
        }
    }
}
