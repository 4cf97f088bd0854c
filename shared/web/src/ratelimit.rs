//! Rate limits per tenant and endpoint bucket, in the manner of Okta's
//! (<https://developer.okta.com/docs/reference/rate-limits/>); the buckets and their settings
//! are described in docs/operations.md ("Rate limits").
//!
//! Each bucket of a tenant has a per-minute quota ([`crate::config::RateLimits`]). The window
//! starts at the bucket's first request (not on the minute), and its counter lives in the
//! short-lived store, so replicas on one Redis share it; in embedded mode it is in-process.
//! Every limited response carries `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and
//! `X-Rate-Limit-Reset` (UTC epoch seconds); past the quota the answer is 429 with Okta's
//! `E0000047` body. Reaching 60% of a quota records `system.org.rate_limit.warning` in the
//! System Log and passing it `system.org.rate_limit.violation`, once per window each.
//!
//! When the store cannot be reached the request is let through (and logged): an unreachable
//! counter must not take the service down with it.

use std::time::Duration;

use actix_web::ResponseError as _;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use serde_json::json;
use tessera_domain::ratelimit::{Bucket, bucket};
use tessera_ephemeral::{Key, Kind};

use tessera_core::state::AppState;
use tessera_core::syslog::{Event, Outcome, Party};

const WINDOW: Duration = Duration::from_secs(60);
/// Okta's default warning threshold: 60% of a quota.
const WARNING_PERCENT: u64 = 60;

/// The three headers' values.
#[derive(Debug, Clone, Copy)]
struct Limit {
    limit: u64,
    remaining: u64,
    reset: i64,
}

impl Limit {
    fn apply(&self, headers: &mut actix_web::http::header::HeaderMap) {
        for (name, value) in [
            ("x-rate-limit-limit", self.limit.to_string()),
            ("x-rate-limit-remaining", self.remaining.to_string()),
            ("x-rate-limit-reset", self.reset.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
    }
}

/// The middleware. Mount inside host routing, so every path has its `/t/{tenant}` prefix.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req
        .app_data::<web::Data<AppState>>()
        .filter(|s| s.config.rate_limits.enabled)
        .cloned()
    else {
        return next.call(req).await;
    };
    let Some((tenant, b)) = req
        .path()
        .strip_prefix("/t/")
        .and_then(|p| p.split_once('/'))
        .and_then(|(tenant, rest)| bucket(rest).map(|b| (tenant.to_owned(), b)))
    else {
        return next.call(req).await;
    };
    let Some(quota) = state.config.rate_limits.quota(b) else {
        return next.call(req).await;
    };
    let key = Key::tenant(&tenant, Kind::RateLimit, b.name());
    let hit = match state.short.hit(&key, WINDOW).await {
        Ok(hit) => hit,
        // Redis is known to be down (logged once, when its breaker opened): fail open at once.
        Err(tessera_ephemeral::StoreUnavailable::Down) => return next.call(req).await,
        Err(e) => {
            tracing::warn!(error = %e, bucket = b.name(), "rate-limit counter unreachable; request let through");
            return next.call(req).await;
        }
    };
    let now = state.clock.now().unix_timestamp();
    let limit = Limit {
        limit: quota,
        remaining: quota.saturating_sub(hit.count),
        reset: now + i64::try_from(hit.resets_in.as_millis().div_ceil(1000)).unwrap_or(60),
    };
    let warning_at = (quota * WARNING_PERCENT).div_ceil(100);
    if hit.count == warning_at || hit.count == quota + 1 {
        record(&state, &req, &tenant, b, quota, hit.count > quota).await;
    }
    if hit.count > quota {
        tessera_core::metrics::metrics()
            .rate_limited
            .with_label_values(&[b.name()])
            .inc();
        let mut res = crate::error::ApiError::rate_limited().error_response();
        limit.apply(res.headers_mut());
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?;
    limit.apply(res.headers_mut());
    Ok(res)
}

/// `system.org.rate_limit.warning` / `.violation` in the tenant's System Log.
async fn record(
    state: &AppState,
    req: &ServiceRequest,
    tenant_name: &str,
    b: Bucket,
    quota: u64,
    violation: bool,
) {
    let Ok(Some(tenant)) = state.hot.tenant(tenant_name).await else {
        return;
    };
    let (event_type, message, outcome) = if violation {
        (
            "system.org.rate_limit.violation",
            "Rate limit violation",
            Outcome::failure("rate_limit_exceeded"),
        )
    } else {
        (
            "system.org.rate_limit.warning",
            "Rate limit warning",
            Outcome::success(),
        )
    };
    state.syslog.record(
        Event::new(
            &tenant.tenant_id,
            event_type,
            message,
            Party::new("SystemPrincipal", "tessera").named("Rate limiter"),
        )
        .origin(crate::client::origin(req.request()))
        .target(Party::new("RateLimitBucket", b.name()).detail(json!({ "limitPerMinute": quota })))
        .outcome(outcome),
    );
}
