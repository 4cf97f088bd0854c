//! RFC 6749 §5.2 errors: `{"error","error_description"}` with the right status, and
//! `WWW-Authenticate` on 401. Internal faults become `server_error` with a fixed text; their
//! cause goes to the log only.
//!
//! This is the OAuth endpoints' one conversion to the wire: the core's, the policy's and the
//! token service's typed errors become an [`OAuthError`] through the `From` impls here and in
//! `tessera_token`, and nowhere else.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tessera_domain::policy::Denied;

/// The `error` codes Tessera answers with: RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009,
/// OpenID Connect Core §3.1.2.6, RFC 9101 §6, RFC 8628 §3.5, RFC 8693 §2.2.2 and RFC 9449.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    InvalidToken,
    InvalidRequestObject,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    AccessDenied,
    InsufficientScope,
    ConsentRequired,
    LoginRequired,
    ServerError,
    TemporarilyUnavailable,
    /// RFC 8628 §3.5: the device grant's user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the client polls faster than the interval.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired.
    ExpiredToken,
    /// RFC 8693 §2.2.2: the `audience` (or `resource`) is not one this server issues for.
    InvalidTarget,
    /// RFC 9449 §5: the DPoP proof is missing or wrong.
    InvalidDpopProof,
    /// RFC 9449 §8: the proof must carry a nonce from the `DPoP-Nonce` header.
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::AccessDenied => "access_denied",
            Self::InsufficientScope => "insufficient_scope",
            Self::ConsentRequired => "consent_required",
            Self::LoginRequired => "login_required",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// The status a token-endpoint answer with this code has unless a caller says otherwise
    /// (RFC 6749 §5.2: 400, and 401 for client authentication).
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: ErrorCode,
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
    /// `error` with its usual status ([`ErrorCode::status`]).
    pub fn code(error: ErrorCode, description: impl Into<String>) -> Self {
        Self::new(error.status(), error, description)
    }

    /// `error` with a status other than its usual one (a 404 for an unknown server, a 429).
    pub fn new(status: StatusCode, error: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::code(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::code(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::code(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::code(ErrorCode::InvalidScope, description)
    }

    pub fn access_denied(description: impl Into<String>) -> Self {
        Self::code(ErrorCode::AccessDenied, description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::code(ErrorCode::UnauthorizedClient, description)
    }

    pub fn missing(parameter: &str) -> Self {
        Self::invalid_request(format!("The required parameter '{parameter}' is missing."))
    }

    /// The authorization server does not exist or is inactive.
    pub fn unknown_server() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::InvalidRequest,
            "The authorization server id is invalid.",
        )
    }

    /// An internal fault: logged with its cause, answered without it.
    /// `500 server_error`, unless the cause is a database that cannot be reached: that is
    /// `503 temporarily_unavailable`, which the client may retry.
    pub fn server_error(cause: impl std::fmt::Display + 'static) -> Self {
        if tessera_store::unreachable_any(&cause) {
            return Self::temporarily_unavailable(cause);
        }
        tracing::error!(error = %cause, "internal error on an OAuth endpoint");
        Self::code(ErrorCode::ServerError, "An unexpected error occurred.")
    }

    pub fn temporarily_unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "a store is unavailable");
        Self::code(
            ErrorCode::TemporarilyUnavailable,
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
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // The stores are probed every second: a retry after one sees a store that is back.
            res.insert_header(("Retry-After", "1"));
        }
        res.json(json!({ "error": self.error, "error_description": self.description }))
    }
}

/// A policy refusal, as the token and authorize endpoints answer it (Okta's codes and texts).
impl From<Denied> for OAuthError {
    fn from(d: Denied) -> Self {
        let (error, description) = match d {
            Denied::UnknownScope(_) => (
                ErrorCode::InvalidScope,
                "One or more scopes are not configured for the authorization server resource.",
            ),
            Denied::NoDefaultScopes => (
                ErrorCode::InvalidScope,
                "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
            ),
            Denied::NoScopes => (ErrorCode::InvalidScope, "No scopes were requested."),
            Denied::NoMatchingPolicy => (
                ErrorCode::AccessDenied,
                "Policy evaluation failed for this request, please check the policy configurations.",
            ),
        };
        Self::new(StatusCode::BAD_REQUEST, error, description)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refusals_carry_oktas_codes_and_texts() {
        let no_rule = OAuthError::from(Denied::NoMatchingPolicy);
        assert_eq!(
            (
                no_rule.status,
                no_rule.error.as_str(),
                no_rule.description.as_str()
            ),
            (
                StatusCode::BAD_REQUEST,
                "access_denied",
                "Policy evaluation failed for this request, please check the policy configurations."
            )
        );
        for d in [
            Denied::UnknownScope(vec!["nope".into()]),
            Denied::NoDefaultScopes,
            Denied::NoScopes,
        ] {
            assert_eq!(OAuthError::from(d).error, ErrorCode::InvalidScope);
        }
    }

    #[test]
    fn client_authentication_failures_are_401_with_a_challenge() {
        let e = OAuthError::invalid_client("Client authentication failed.");
        let res = e.error_response();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers().get("WWW-Authenticate").unwrap(),
            "Basic realm=\"tessera\", error=\"invalid_client\""
        );
    }
}
