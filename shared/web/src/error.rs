//! Okta's management-API error body (<https://developer.okta.com/docs/reference/error-codes/>):
//! `{"errorCode","errorSummary","errorLink","errorId","errorCauses":[{"errorSummary"}]}`.
//!
//! Handlers return [`ApiError`]; extractor failures (bad JSON, bad query) are routed through
//! the same type by the JSON/query configs in [`json_config`] and [`query_config`]. Internal
//! faults are logged with their cause and answered with a bare `E0000009`, never a detail.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use tessera_domain::ids::{IdKind, new_id};
use tessera_domain::random::SystemRandom;

/// The Okta error codes the management and operator APIs answer with (Okta's error-code
/// reference: <https://developer.okta.com/docs/reference/error-codes/>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiCode {
    /// `E0000001`: API validation failed.
    Validation,
    /// `E0000003`: the request body was not well-formed.
    Malformed,
    /// `E0000006`: no permission for the action.
    Forbidden,
    /// `E0000007`: resource not found.
    NotFound,
    /// `E0000009`: internal server error.
    Internal,
    /// `E0000010`: service unavailable.
    Unavailable,
    /// `E0000011`: invalid token.
    InvalidToken,
    /// `E0000014`: update of credentials failed.
    CredentialsUpdate,
    /// `E0000022`: the endpoint does not support the method.
    MethodNotAllowed,
    /// `E0000032`: unlock is not allowed for this user.
    UnlockNotAllowed,
    /// `E0000038`: the operation is not allowed in the object's current status.
    BadLifecycle,
    /// `E0000047`: rate limit exceeded.
    RateLimited,
    /// `E0000056`: deleting an active application.
    DeleteActiveApp,
    /// `E0000090`: duplicate role assignment.
    DuplicateRole,
}

impl ApiCode {
    /// The code as it goes on the wire (`errorCode`, and `errorLink`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "E0000001",
            Self::Malformed => "E0000003",
            Self::Forbidden => "E0000006",
            Self::NotFound => "E0000007",
            Self::Internal => "E0000009",
            Self::Unavailable => "E0000010",
            Self::InvalidToken => "E0000011",
            Self::CredentialsUpdate => "E0000014",
            Self::MethodNotAllowed => "E0000022",
            Self::UnlockNotAllowed => "E0000032",
            Self::BadLifecycle => "E0000038",
            Self::RateLimited => "E0000047",
            Self::DeleteActiveApp => "E0000056",
            Self::DuplicateRole => "E0000090",
        }
    }
}

impl std::fmt::Display for ApiCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the management or operator API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ApiCode,
    pub summary: String,
    pub causes: Vec<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.summary
        )
    }
}

impl ApiError {
    fn new(status: StatusCode, code: ApiCode, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    /// `E0000001`: "Api validation failed: {field}", with one cause per problem.
    pub fn validation(field: &str, causes: Vec<String>) -> Self {
        Self {
            causes,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                ApiCode::Validation,
                format!("Api validation failed: {field}"),
            )
        }
    }

    /// One validation cause, prefixed with the field the way Okta writes them.
    pub fn invalid(field: &str, cause: impl std::fmt::Display) -> Self {
        Self::validation(field, vec![format!("{field}: {cause}")])
    }

    /// `E0000003`: the body is not JSON or not the expected shape.
    pub fn malformed(detail: impl std::fmt::Display) -> Self {
        Self {
            causes: vec![detail.to_string()],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                ApiCode::Malformed,
                "The request body was not well-formed.",
            )
        }
    }

    /// `E0000014` (403): a password change refused, with the reason as its cause.
    pub fn credentials_update_failed(cause: impl Into<String>) -> Self {
        Self {
            causes: vec![cause.into()],
            ..Self::new(
                StatusCode::FORBIDDEN,
                ApiCode::CredentialsUpdate,
                "Update of credentials failed",
            )
        }
    }

    /// `E0000032`: an unlock of a user who is not locked out.
    pub fn unlock_not_allowed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ApiCode::UnlockNotAllowed,
            "Unlock is not allowed for this user.",
        )
    }

    /// `E0000006`.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ApiCode::Forbidden,
            "You do not have permission to perform the requested action",
        )
    }

    /// `E0000007`: "Not found: Resource not found: {id} ({Kind})".
    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ApiCode::NotFound,
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    /// `E0000011`.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ApiCode::InvalidToken,
            "Invalid token provided",
        )
    }

    /// `E0000022`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ApiCode::MethodNotAllowed,
            "The endpoint does not support the provided HTTP method",
        )
    }

    /// `E0000038`: a lifecycle transition the object's status does not allow.
    pub fn bad_lifecycle(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ApiCode::BadLifecycle,
            format!("This operation is not allowed in the {what}'s current status."),
        )
    }

    /// `E0000056`: deleting an app that is still active.
    pub fn delete_active_app() -> Self {
        Self {
            causes: vec!["You must deactivate the app before deleting it.".into()],
            ..Self::new(
                StatusCode::BAD_REQUEST,
                ApiCode::DeleteActiveApp,
                "Delete application forbidden.",
            )
        }
    }

    /// `E0000090`: the admin role is already assigned to that user or group.
    pub fn duplicate_role() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ApiCode::DuplicateRole,
            "Duplicate role assignment exception.",
        )
    }

    /// 409 with the validation code: the operator API's duplicate tenant name.
    pub fn conflict(field: &str, cause: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            ..Self::validation(field, vec![cause.into()])
        }
    }

    /// `E0000047`: a rate limit refused the request (429).
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ApiCode::RateLimited,
            "You exceeded the maximum number of requests. Try again in a while.",
        )
    }

    /// `E0000009`, for faults the caller cannot fix. The cause is logged, not returned. A
    /// database that cannot be reached is not such a fault: that cause is a 503
    /// ([`ApiError::unavailable`]), which the caller may retry.
    pub fn internal(cause: impl std::fmt::Display + 'static) -> Self {
        if tessera_store::unreachable_any(&cause) {
            return Self::unavailable(cause);
        }
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiCode::Internal,
            "Internal Server Error",
        )
    }

    /// 503 while a store is unreachable.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "store unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::Unavailable,
            "Service is temporarily unavailable. Try again in a while.",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let causes: Vec<_> = self
            .causes
            .iter()
            .map(|c| json!({ "errorSummary": c }))
            .collect();
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header(("WWW-Authenticate", "SSWS realm=\"tessera\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header(("Retry-After", RETRY_AFTER_SECS));
        }
        res.json(json!({
            "errorCode": self.code.as_str(),
            "errorSummary": self.summary,
            "errorLink": self.code.as_str(),
            "errorId": new_id(IdKind::ErrorId, &SystemRandom),
            "errorCauses": causes,
        }))
    }
}

impl From<tessera_store::StoreError> for ApiError {
    fn from(e: tessera_store::StoreError) -> Self {
        Self::internal(e)
    }
}

/// What a 503 tells the caller to wait before retrying, in seconds: the stores are probed every
/// second, so a retry after one sees a store that has come back.
pub const RETRY_AFTER_SECS: &str = "1";

impl From<tessera_ephemeral::StoreUnavailable> for ApiError {
    fn from(e: tessera_ephemeral::StoreUnavailable) -> Self {
        Self::unavailable(e)
    }
}

/// JSON bodies: malformed input becomes `E0000003`; bodies are capped at 1 MiB.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(MAX_JSON_BODY)
        .error_handler(|err, _req| ApiError::malformed(err).into())
}

/// Query strings: a value of the wrong type becomes `E0000001` on that parameter.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::validation("query", vec![err.to_string()]).into())
}

/// The largest JSON body the management API reads (also [`json_config`]'s limit).
pub const MAX_JSON_BODY: usize = 1 << 20;

/// Middleware on the management and operator APIs: a request body is well-formed JSON or
/// nothing. Routes that take no body (a lifecycle call, a membership `PUT`) would otherwise
/// ignore whatever was sent; now `not json {` is refused with `400 E0000003` everywhere and
/// changes nothing. The body is read (at most [`MAX_JSON_BODY`] bytes), checked, and handed on.
pub async fn strict_json(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<actix_web::body::BoxBody>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::HttpMessage as _;
    use futures_util::StreamExt as _;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.call(req).await;
    }
    let mut payload = req.take_payload();
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(ApiError::malformed)?;
        if body.len() + chunk.len() > MAX_JSON_BODY {
            return Err(ApiError::malformed(format!(
                "the body is larger than {MAX_JSON_BODY} bytes"
            ))
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    if !body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<serde::de::IgnoredAny>(&body).map_err(ApiError::malformed)?;
    }
    let stream: std::pin::Pin<
        Box<
            dyn futures_util::Stream<
                    Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>,
                >,
        >,
    > = Box::pin(futures_util::stream::once(async move { Ok(body) }));
    req.set_payload(actix_web::dev::Payload::from(stream));
    next.call(req).await
}

impl From<tessera_core::revocation::RevocationError> for ApiError {
    fn from(e: tessera_core::revocation::RevocationError) -> Self {
        use tessera_core::revocation::RevocationError as R;
        match e {
            R::Unavailable(u) => u.into(),
            R::Store(s) => s.into(),
            R::Reloading(_) => Self::unavailable(e),
        }
    }
}

/// The core's errors on the management API: a store that is down is `503 E0000010`, the
/// database's own answers keep their meaning (not found, conflict), anything else is a 500.
impl From<tessera_core::Error> for ApiError {
    fn from(e: tessera_core::Error) -> Self {
        match e {
            tessera_core::Error::Store(s) => s.into(),
            tessera_core::Error::Unavailable(u) => u.into(),
            tessera_core::Error::Revocation(r) => r.into(),
            tessera_core::Error::Internal(m) => Self::internal(m),
        }
    }
}
