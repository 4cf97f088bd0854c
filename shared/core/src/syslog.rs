//! The System Log (Okta's System Log API, <https://developer.okta.com/docs/reference/api/system-log/>): what happened in a tenant, stored durably and served
//! by `GET /api/v1/logs`.
//!
//! Recording never waits on the database: [`SystemLog::record`] appends the event to the
//! process's spool ([`crate::spool`]) before the request that caused it answers, and a loader
//! moves spooled events into the database in large transactions. A reader calls
//! [`SystemLog::flush`] first, so a process always reads its own events. With
//! `system_log.export_path` set, events are also streamed to a JSON Lines file
//! ([`crate::log_export`]).

use serde::Serialize;
use serde_json::{Value, json};
use tessera_store::DatabaseConnection;
use tessera_store::entities::log_event;

/// `SUCCESS`, `FAILURE`, or another of Okta's outcome results.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub result: &'static str,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn success() -> Self {
        Self {
            result: "SUCCESS",
            reason: None,
        }
    }

    pub fn failure(reason: impl Into<String>) -> Self {
        Self {
            result: "FAILURE",
            reason: Some(reason.into()),
        }
    }
}

/// An actor or a target: Okta's `{id, type, alternateId, displayName, detailEntry}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub alternate_id: Option<String>,
    pub display_name: Option<String>,
    pub detail_entry: Option<Value>,
}

impl Party {
    pub fn new(kind: &str, id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: kind.to_owned(),
            alternate_id: None,
            display_name: None,
            detail_entry: None,
        }
    }

    pub fn named(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = Some(display_name.into());
        self
    }

    pub fn alternate(mut self, alternate_id: impl Into<String>) -> Self {
        self.alternate_id = Some(alternate_id.into());
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail_entry = Some(detail);
        self
    }
}

/// Where a request came from. The IP address is the connection's, or the one a proxy put in
/// `Forwarded` / `X-Forwarded-For` (Tessera is meant to run behind one that sets it).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request's path, never its query (which may carry codes or tokens).
    pub path: Option<String>,
    /// The W3C trace id of the request, when one is known: the event's transaction id.
    pub transaction: Option<String>,
}

/// One event, before it is stored.
#[derive(Debug, Clone)]
pub struct Event {
    pub tenant_id: String,
    pub event_type: String,
    pub severity: &'static str,
    pub display_message: String,
    pub actor: Party,
    pub targets: Vec<Party>,
    pub outcome: Outcome,
    pub origin: Origin,
    /// Extra `debugContext.debugData` entries (grant type, scopes, …; never a secret).
    pub debug: serde_json::Map<String, Value>,
    /// Events that happened as part of this one and share its actor, client, outcome and
    /// context (`….token.grant.access_token` after `….token.grant`): stored in the same row,
    /// served as events of their own.
    pub follow_ups: Vec<FollowUp>,
}

/// An event recorded with its parent (see [`Event::follow_up`]).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUp {
    pub event_type: String,
    pub display_message: String,
    /// Its own target, added to the parent's targets.
    pub target: Party,
}

impl Event {
    pub fn new(
        tenant_id: impl Into<String>,
        event_type: impl Into<String>,
        display_message: impl Into<String>,
        actor: Party,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            event_type: event_type.into(),
            severity: "INFO",
            display_message: display_message.into(),
            actor,
            targets: Vec::new(),
            outcome: Outcome::success(),
            origin: Origin::default(),
            debug: serde_json::Map::new(),
            follow_ups: Vec::new(),
        }
    }

    /// Records `event_type` as a consequence of this event, about `target`. One row is stored
    /// for both, which halves the System Log's write cost on the token path; the API serves
    /// each as its own `LogEvent`.
    pub fn follow_up(
        mut self,
        event_type: impl Into<String>,
        display_message: impl Into<String>,
        target: Party,
    ) -> Self {
        self.follow_ups.push(FollowUp {
            event_type: event_type.into(),
            display_message: display_message.into(),
            target,
        });
        self
    }

    pub fn target(mut self, target: Party) -> Self {
        self.targets.push(target);
        self
    }

    /// Sets the outcome; a failure raises the severity to `WARN`.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        if outcome.result == "FAILURE" {
            self.severity = "WARN";
        }
        self.outcome = outcome;
        self
    }

    pub fn origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    pub fn debug(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.debug.insert(key.to_owned(), value.into());
        self
    }
}

/// The System Log record of a management change, prepared by the surface that authorised the
/// call (it knows the actor, the origin and the event type) and written by
/// [`AppState::commit`](crate::AppState::commit) once the change is durable, with the id the
/// commit names when the route had none (a create).
#[derive(Debug, Clone)]
pub struct Audit {
    event: Event,
    target_type: &'static str,
    target_id: Option<String>,
    /// The target's `alternateId` and `displayName`, when the handler names them.
    target_names: Option<(String, String)>,
}

impl Audit {
    pub fn new(event: Event, target_type: &'static str, target_id: Option<String>) -> Self {
        Self {
            event,
            target_type,
            target_id,
            target_names: None,
        }
    }

    /// Names the target as Okta does for users (`alternateId` the login, `displayName` the
    /// full name).
    pub fn name_target(&mut self, alternate_id: &str, display_name: &str) {
        self.target_names = Some((alternate_id.to_owned(), display_name.to_owned()));
    }

    /// The event to store, aimed at the route's object or, for a create, at `created`.
    pub fn event(self, created: &str) -> Event {
        let id = self.target_id.unwrap_or_else(|| created.to_owned());
        let mut target = Party::new(self.target_type, id);
        if let Some((alternate, display)) = &self.target_names {
            target = target.alternate(alternate).named(display);
        }
        self.event.target(target)
    }
}

/// The process's System Log writer: events go to the spool ([`crate::spool`]) before the
/// request that produced them answers, and from there into the database.
#[derive(Clone)]
pub struct SystemLog {
    spool: crate::spool::Spool,
    clock: std::sync::Arc<dyn tessera_domain::Clock>,
    random: std::sync::Arc<dyn tessera_domain::Random>,
}

impl SystemLog {
    /// Opens the spool in `dir` and starts loading it into `db` (and exporting it, when
    /// `settings` name an export file). Call inside a tokio runtime.
    pub fn start(
        db: DatabaseConnection,
        dir: &std::path::Path,
        settings: &crate::config::SystemLogSettings,
        clock: std::sync::Arc<dyn tessera_domain::Clock>,
        random: std::sync::Arc<dyn tessera_domain::Random>,
    ) -> Result<Self, crate::spool::SpoolError> {
        let spool = crate::spool::Spool::open(
            dir,
            db,
            settings.spool_max_mb.saturating_mul(1 << 20),
            settings.export_path.clone(),
            random.as_ref(),
            clock.clone(),
        )?;
        Ok(Self {
            spool,
            clock,
            random,
        })
    }

    /// Records `event`: once this returns, the event is in the spool and survives a crash of
    /// the process. Never waits on the database.
    pub fn record(&self, event: Event) {
        let now_ms = tessera_domain::timefmt::to_millis(self.clock.now());
        let row = to_row(&event, self.uuid(), now_ms);
        tracing::debug!(
            target: "tessera::system_log",
            tenant = %event.tenant_id,
            event_type = %event.event_type,
            outcome = event.outcome.result,
            reason = event.outcome.reason.as_deref().unwrap_or(""),
            "{}", event.display_message
        );
        let line = row_array(row).to_string();
        if let Err(e) = self.spool.append(line.as_bytes()) {
            crate::metrics::metrics().system_log_lost.inc();
            tracing::error!(error = %e, event_type = %event.event_type, "a System Log event could not be spooled and is lost");
        }
    }

    /// Waits until every event recorded before this call is in the database, for at most
    /// 5 s (the database may be down; the events then wait in the spool).
    pub async fn flush(&self) {
        self.spool.flush(std::time::Duration::from_secs(5)).await;
    }

    /// An RFC 4122 version-4 UUID, Okta's event id.
    fn uuid(&self) -> String {
        let mut b = [0u8; 16];
        self.random.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let h: String = b
            .iter()
            .flat_map(|x| [HEX[usize::from(x >> 4)], HEX[usize::from(x & 0xf)]])
            .map(char::from)
            .collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

fn to_row(e: &Event, uuid: String, now_ms: i64) -> log_event::Model {
    let mut debug_data = e.debug.clone();
    if let Some(path) = &e.origin.path {
        debug_data.insert("requestUri".into(), Value::String(path.clone()));
    }
    let mut details = json!({
        "transaction": {
            "type": "WEB",
            "id": e.origin.transaction,
            "detail": {},
        },
        "debugContext": { "debugData": debug_data },
        "request": {
            "ipChain": e.origin.ip.as_ref().map(|ip| vec![json!({ "ip": ip })]).unwrap_or_default(),
        },
    });
    if !e.follow_ups.is_empty() {
        details["followUps"] = serde_json::to_value(&e.follow_ups).unwrap_or(Value::Null);
    }
    let client = json!({
        "ipAddress": e.origin.ip,
        "userAgent": e.origin.user_agent.as_ref().map(|ua| json!({ "rawUserAgent": ua })),
        "zone": "null",
        "device": if e.origin.user_agent.is_some() { "Unknown" } else { "Computer" },
    });
    log_event::Model {
        seq: 0,
        tenant_id: e.tenant_id.clone(),
        id: uuid,
        event_type: e.event_type.clone(),
        severity: e.severity.to_owned(),
        display_message: e.display_message.clone(),
        actor: serde_json::to_string(&e.actor).unwrap_or_else(|_| "{}".into()),
        target: serde_json::to_string(&e.targets).unwrap_or_else(|_| "[]".into()),
        outcome: serde_json::to_string(&e.outcome).unwrap_or_else(|_| "{}".into()),
        client: client.to_string(),
        details: details.to_string(),
        created: now_ms,
        last_updated: now_ms,
    }
}

/// The position of an event in the log: its row's `seq`, and 0 for the row's own event or
/// 1, 2, … for its follow-ups. Ordered; the `after` cursor of `GET /api/v1/logs`.
pub type Position = (i64, usize);

/// A stored row as Okta's `LogEvent`s: the row's own event, then one per follow-up (with its
/// own uuid, derived from the row's, its own event type, message and target).
pub fn to_json(row: &log_event::Model) -> Vec<(Position, Value)> {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    let details = parse(&row.details);
    let targets = parse(&row.target);
    let actor = parse(&row.actor);
    let base = json!({
        "uuid": row.id,
        "published": tessera_domain::timefmt::millis_rfc3339(row.created),
        "eventType": row.event_type,
        "version": "0",
        "severity": row.severity,
        "legacyEventType": Value::Null,
        "displayMessage": row.display_message,
        "actor": actor,
        "client": parse(&row.client),
        "outcome": parse(&row.outcome),
        "target": targets,
        "transaction": details.get("transaction").cloned().unwrap_or(Value::Null),
        "debugContext": details.get("debugContext").cloned().unwrap_or(Value::Null),
        "request": details.get("request").cloned().unwrap_or(Value::Null),
        "authenticationContext": { "authenticationStep": 0 },
        "securityContext": {},
    });
    let mut out = vec![((row.seq, 0), base.clone())];
    for (i, f) in details
        .get("followUps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut e = base.clone();
        e["uuid"] = Value::String(derived_uuid(&row.id, i + 1));
        e["eventType"] = f["eventType"].clone();
        e["displayMessage"] = f["displayMessage"].clone();
        if let Some(list) = e["target"].as_array_mut() {
            list.push(f["target"].clone());
        }
        out.push(((row.seq, i + 1), e));
    }
    for (_, e) in &mut out {
        drop_absent(e);
    }
    out
}

/// Leaves out every absent member, at any depth (`legacyEventType`, an actor's `alternateId`,
/// an outcome's `reason`, …): Okta's `LogEvent` schema allows `null` for none of them.
fn drop_absent(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_absent);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_absent),
        _ => {}
    }
}

/// A follow-up's uuid: the row's, with its last byte changed by the follow-up's number.
fn derived_uuid(uuid: &str, n: usize) -> String {
    let (head, last) = uuid.split_at(uuid.len().saturating_sub(2));
    let byte = u8::from_str_radix(last, 16).unwrap_or(0) ^ u8::try_from(n).unwrap_or(0);
    format!("{head}{byte:02x}")
}

/// One `INSERT … SELECT` per batch with the rows as a single JSON parameter: the statement's
/// text never changes, so it is prepared once per connection, and a batch of 500 events is one
/// round trip (a multi-row `VALUES` would be re-planned for each batch size and bind 13
/// parameters per event).
pub(crate) const INSERT_SQLITE: &str = "INSERT INTO log_events (tenant_id, id, event_type, severity, \
    display_message, actor, target, outcome, client, details, created, last_updated) \
    SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, \
    value->>7, value->>8, value->>9, value->>10, value->>10 FROM json_each(?)";
pub(crate) const INSERT_POSTGRES: &str = "INSERT INTO log_events (tenant_id, id, event_type, severity, \
    display_message, actor, target, outcome, client, details, created, last_updated) \
    SELECT r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7, r->>8, r->>9, \
    (r->>10)::bigint, (r->>10)::bigint FROM json_array_elements($1::json) AS r";

/// A spooled record (a row as [`row_array`] wrote it) as export lines: one
/// `{"tenantId", "event"}` object per `LogEvent` the API serves for the row (the row's own
/// event, then its follow-ups), each serialised. A record that is not a row yields none.
pub(crate) fn exported(record: &[u8]) -> Vec<String> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
    );
    let Ok(r) = serde_json::from_slice::<Row>(record) else {
        return Vec::new();
    };
    let row = log_event::Model {
        seq: 0,
        tenant_id: r.0,
        id: r.1,
        event_type: r.2,
        severity: r.3,
        display_message: r.4,
        actor: r.5,
        target: r.6,
        outcome: r.7,
        client: r.8,
        details: r.9,
        created: r.10,
        last_updated: r.10,
    };
    to_json(&row)
        .into_iter()
        .map(|(_, event)| json!({ "tenantId": row.tenant_id, "event": event }).to_string())
        .collect()
}

/// A row as the JSON array the inserts read (`value->>0` …), in their column order.
fn row_array(r: log_event::Model) -> Value {
    json!([
        r.tenant_id,
        r.id,
        r.event_type,
        r.severity,
        r.display_message,
        r.actor,
        r.target,
        r.outcome,
        r.client,
        r.details,
        r.created
    ])
}

/// Deletes the events created before `cutoff_ms`, oldest first, in batches of [`PRUNE_BATCH`]
/// rows (each its own short statement, so writers never wait long). Returns how many rows went.
///
/// Each batch walks the primary key (`seq`, which grows with time) from its start, so old rows
/// are found first; the last batch of a pass reads the rest of the table once. The keys
/// service's leader runs a pass once an hour.
pub async fn prune(
    db: &DatabaseConnection,
    cutoff_ms: i64,
) -> Result<u64, tessera_store::sea_orm::DbErr> {
    use tessera_store::ConnectionTrait as _;
    use tessera_store::sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "DELETE FROM log_events WHERE seq IN (SELECT seq FROM log_events WHERE created < $1 ORDER BY seq LIMIT $2)"
        }
        _ => {
            "DELETE FROM log_events WHERE seq IN (SELECT seq FROM log_events WHERE created < ? ORDER BY seq LIMIT ?)"
        }
    };
    let mut deleted = 0;
    loop {
        let done = db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [cutoff_ms.into(), PRUNE_BATCH.into()],
            ))
            .await?
            .rows_affected();
        deleted += done;
        if done < u64::try_from(PRUNE_BATCH).unwrap_or(0) {
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}

/// Rows one pruning statement deletes at most.
pub const PRUNE_BATCH: i64 = 5_000;
