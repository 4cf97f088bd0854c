//! The System Log API (`GET {org}/api/v1/logs`). Management changes are recorded by the commit
//! that makes them durable (`tessera_web::tenant::Admin::commit`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;
use tessera_core::AppState;
use tessera_core::syslog::{Position, to_json};
use tessera_domain::admin_roles::{Guard, Resource};
use tessera_domain::syslog::{self, Filter};
use tessera_domain::timefmt;
use tessera_store::ColumnTrait as _;
use tessera_store::entities::log_event;
use tessera_store::sea_orm::{
    EntityTrait as _, Order, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use tessera_web::ApiError;
use tessera_web::paging::QueryText;
use tessera_web::routes::Api;
use tessera_web::tenant::Admin;

pub fn routes(api: &mut Api) {
    api.get("/logs", Guard::of(Resource::Logs), list);
}

/// Okta's defaults: 100 events, at most 1000; a bounded query reaches back 7 days.
const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;
const DEFAULT_WINDOW_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Rows read from the database per step while filtering, and steps per request: a filter that
/// matches rarely answers a partial page with a `next` link rather than scanning the whole log.
const SCAN_CHUNK: u64 = 500;
const SCAN_STEPS: usize = 20;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogParams {
    since: Option<String>,
    until: Option<String>,
    filter: Option<QueryText>,
    q: Option<QueryText>,
    limit: Option<String>,
    after: Option<String>,
    sort_order: Option<String>,
}

struct Query {
    since: i64,
    until: i64,
    filter: Option<Filter>,
    q: Option<String>,
    limit: u64,
    after: Option<Position>,
    descending: bool,
    /// A polling request (ascending, no `until`): its answer always links to the next page,
    /// even an empty one, so a client polling for new events keeps going (Okta's contract).
    polling: bool,
}

fn instant(field: &str, raw: &str) -> Result<i64, ApiError> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(timefmt::to_millis)
        .map_err(|_| {
            ApiError::invalid(
                field,
                "must be an ISO 8601 date-time such as 2026-11-26T10:00:00Z",
            )
        })
}

impl LogParams {
    fn parse(&self, now_ms: i64) -> Result<Query, ApiError> {
        let since = self
            .since
            .as_deref()
            .map(|s| instant("since", s))
            .transpose()?;
        let until = match self.until.as_deref() {
            Some(u) => instant("until", u)?,
            // Open-ended: up to now (or to `since`, when that is in the future: nothing).
            None => (now_ms + 1).max(since.unwrap_or(0)),
        };
        let since = since.unwrap_or(until - DEFAULT_WINDOW_MS);
        if since > until {
            return Err(ApiError::invalid("since", "must not be later than until"));
        }
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid(
                        "limit",
                        format!("must be an integer between 1 and {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let filter = match self.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(f) => Some(
                syslog::parse_filter(f)
                    .map_err(|e| ApiError::invalid("filter", format!("Invalid filter: {e}")))?,
            ),
            None => None,
        };
        let descending = match self.sort_order.as_deref() {
            None | Some("ASCENDING") => false,
            Some("DESCENDING") => true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "sortOrder",
                    "must be ASCENDING or DESCENDING",
                ));
            }
        };
        let after = match self.after.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(
                cursor(a, descending)
                    .ok_or_else(|| ApiError::invalid("after", "is not a valid cursor"))?,
            ),
            None => None,
        };
        Ok(Query {
            since,
            until,
            filter,
            q: self
                .q
                .as_deref()
                .filter(|q| !q.trim().is_empty())
                .map(str::to_owned),
            limit,
            after,
            descending,
            polling: self.until.is_none() && !descending,
        })
    }
}

/// `{seq}.{n}` (after that event) or `{seq}` (after that whole row, in the direction of the
/// listing).
fn cursor(text: &str, descending: bool) -> Option<Position> {
    match text.split_once('.') {
        Some((seq, n)) => Some((seq.parse().ok()?, n.parse().ok()?)),
        None => Some((text.parse().ok()?, if descending { 0 } else { usize::MAX })),
    }
}

/// `GET /api/v1/logs`: events of this tenant published in `[since, until)`, matching `filter`
/// and every keyword of `q`, in insertion order (`sortOrder=DESCENDING` for newest first), at
/// most `limit`, continued through `Link: …; rel="next"`.
async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    params: web::Query<LogParams>,
) -> Result<HttpResponse, ApiError> {
    let query = params.parse(state.now_ms())?;
    // This process's own recent events are in the database before it is read.
    state.syslog.flush().await;
    // No event of the window is at or below this `seq`: the walk starts there, not at the
    // tenant's oldest event.
    let floor = tessera_core::syslog::floor(&state.db, query.since)
        .await
        .map_err(ApiError::internal)?;
    let mut events = Vec::new();
    // The position of the last event looked at, and of the last row read.
    let mut last: Option<Position> = None;
    let mut last_row = query.after.map(|(seq, _)| seq);
    let mut exhausted = false;
    let full = |events: &Vec<Value>| events.len() as u64 == query.limit;
    'scan: for _ in 0..SCAN_STEPS {
        let mut select = log_event::Entity::find()
            .filter(log_event::Column::TenantId.eq(&admin.tenant.id))
            .filter(log_event::Column::Created.gte(query.since))
            .filter(log_event::Column::Created.lt(query.until));
        if let Some(floor) = floor {
            select = select.filter(log_event::Column::Seq.gt(floor));
        }
        if let Some(seq) = last_row {
            // The cursor's own row again on the first step: it may have events left.
            let first_step = last.is_none() && query.after.is_some();
            select = select.filter(match (query.descending, first_step) {
                (false, true) => log_event::Column::Seq.gte(seq),
                (false, false) => log_event::Column::Seq.gt(seq),
                (true, true) => log_event::Column::Seq.lte(seq),
                (true, false) => log_event::Column::Seq.lt(seq),
            });
        }
        let rows = select
            .order_by(
                log_event::Column::Seq,
                if query.descending {
                    Order::Desc
                } else {
                    Order::Asc
                },
            )
            .limit(SCAN_CHUNK)
            .all(&state.db)
            .await
            .map_err(ApiError::internal)?;
        let fetched = rows.len() as u64;
        for row in rows {
            last_row = Some(row.seq);
            let mut expanded = to_json(&row);
            if query.descending {
                expanded.reverse();
            }
            for (position, event) in expanded {
                let seen_already = query.after.is_some_and(|a| {
                    if query.descending {
                        position >= a
                    } else {
                        position <= a
                    }
                });
                if seen_already {
                    continue;
                }
                last = Some(position);
                let keep = query.filter.as_ref().is_none_or(|f| f.matches(&event))
                    && query
                        .q
                        .as_deref()
                        .is_none_or(|q| syslog::matches_keywords(&event, q));
                if keep {
                    events.push(event);
                    if full(&events) {
                        break 'scan;
                    }
                }
            }
            // The whole row is looked at.
            last = Some((row.seq, if query.descending { 0 } else { usize::MAX }));
        }
        if fetched < SCAN_CHUNK {
            exhausted = true;
            break;
        }
    }
    let at = |(seq, n): Position| {
        if n == usize::MAX || (query.descending && n == 0) {
            seq.to_string()
        } else {
            format!("{seq}.{n}")
        }
    };
    let next = match last {
        // A poll continues from where it stands, even with nothing new: from the last event
        // looked at, else from its own cursor, else from the start of the window.
        _ if query.polling => Some(last.or(query.after).map_or_else(|| "0".to_owned(), at)),
        _ if exhausted && !full(&events) => None,
        None => None,
        Some(position) => Some(at(position)),
    };
    Ok(HttpResponse::Ok()
        .insert_header((
            "Link",
            tessera_web::paging::link_header_with(&admin.tenant.org_url, &req, next),
        ))
        .json(Value::Array(events)))
}
