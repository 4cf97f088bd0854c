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
        let uuid = self.uuid();
        tracing::debug!(
            target: "tessera::system_log",
            tenant = %event.tenant_id,
            event_type = %event.event_type,
            outcome = event.outcome.result,
            reason = event.outcome.reason.as_deref().unwrap_or(""),
            "{}", event.display_message
        );
        let line = serde_json::to_vec(&SpoolRow::of(&event, &uuid, now_ms)).unwrap_or_default();
        if let Err(e) = self.spool.append(&line) {
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

/// A record as its spool line: the columns of `log_events` in the inserts' order
/// ([`INSERT_SQLITE`]), serialised straight from the event. The JSON columns are nested as JSON
/// (not as strings), so nothing is escaped twice; the inserts store each one's text.
#[derive(Serialize)]
struct SpoolRow<'a>(
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a Party,
    &'a [Party],
    &'a Outcome,
    Client<'a>,
    Details<'a>,
    i64,
);

impl<'a> SpoolRow<'a> {
    fn of(e: &'a Event, uuid: &'a str, now_ms: i64) -> Self {
        let ip = e.origin.ip.as_deref();
        Self(
            &e.tenant_id,
            uuid,
            &e.event_type,
            e.severity,
            &e.display_message,
            &e.actor,
            &e.targets,
            &e.outcome,
            Client {
                ip_address: ip,
                user_agent: e
                    .origin
                    .user_agent
                    .as_deref()
                    .map(|raw_user_agent| UserAgent { raw_user_agent }),
                zone: "null",
                device: if e.origin.user_agent.is_some() {
                    "Unknown"
                } else {
                    "Computer"
                },
            },
            Details {
                transaction: Transaction {
                    kind: "WEB",
                    id: e.origin.transaction.as_deref(),
                    detail: Empty {},
                },
                debug_context: DebugContext {
                    debug_data: DebugData(e),
                },
                request: Request {
                    ip_chain: ip.map(|ip| Ip { ip }).into_iter().collect(),
                },
                follow_ups: &e.follow_ups,
            },
            now_ms,
        )
    }
}

/// Okta's `client` of an event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Client<'a> {
    ip_address: Option<&'a str>,
    user_agent: Option<UserAgent<'a>>,
    zone: &'static str,
    device: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserAgent<'a> {
    raw_user_agent: &'a str,
}

/// What the row's `details` column holds: the event's transaction, debug context and request,
/// and its follow-ups.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Details<'a> {
    transaction: Transaction<'a>,
    debug_context: DebugContext<'a>,
    request: Request<'a>,
    #[serde(skip_serializing_if = "<[FollowUp]>::is_empty")]
    follow_ups: &'a [FollowUp],
}

#[derive(Serialize)]
struct Transaction<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: Option<&'a str>,
    detail: Empty,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugContext<'a> {
    debug_data: DebugData<'a>,
}

/// `debugData`: the event's debug entries and the request's path (`requestUri`).
struct DebugData<'a>(&'a Event);

impl Serialize for DebugData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let e = self.0;
        let path = e.origin.path.as_deref();
        let mut map = s.serialize_map(Some(e.debug.len() + usize::from(path.is_some())))?;
        for (k, v) in &e.debug {
            if !(path.is_some() && k == "requestUri") {
                map.serialize_entry(k, v)?;
            }
        }
        if let Some(path) = path {
            map.serialize_entry("requestUri", path)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    ip_chain: Vec<Ip<'a>>,
}

#[derive(Serialize)]
struct Ip<'a> {
    ip: &'a str,
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

/// A spooled record (a row as [`SpoolRow`] wrote it) as the row to store (`seq` 0: the
/// database assigns it). The JSON columns are nested JSON, stored as their text; a spool
/// written before they were nested holds them as strings, read the same. `None` for a line
/// that is not a record.
pub(crate) fn spooled_row(record: &[u8]) -> Option<log_event::Model> {
    type Json<'a> = &'a serde_json::value::RawValue;
    type Row<'a> = (
        String,
        String,
        String,
        String,
        String,
        Json<'a>,
        Json<'a>,
        Json<'a>,
        Json<'a>,
        Json<'a>,
        i64,
    );
    let r: Row<'_> = serde_json::from_slice(record).ok()?;
    let text = |raw: Json<'_>| match raw.get().starts_with('"') {
        true => serde_json::from_str::<String>(raw.get()).unwrap_or_default(),
        false => raw.get().to_owned(),
    };
    Some(log_event::Model {
        seq: 0,
        tenant_id: r.0,
        id: r.1,
        event_type: r.2,
        severity: r.3,
        display_message: r.4,
        actor: text(r.5),
        target: text(r.6),
        outcome: text(r.7),
        client: text(r.8),
        details: text(r.9),
        created: r.10,
        last_updated: r.10,
    })
}

/// A spooled record as export lines: one `{"tenantId", "event"}` object per `LogEvent` the
/// API serves for its row (the row's own event, then its follow-ups), each serialised. A line
/// that is not a record yields none.
pub(crate) fn exported(record: &[u8]) -> Vec<String> {
    let Some(row) = spooled_row(record) else {
        return Vec::new();
    };
    to_json(&row)
        .into_iter()
        .map(|(_, event)| json!({ "tenantId": row.tenant_id, "event": event }).to_string())
        .collect()
}

/// Rows one insert statement of [`insert_sql`] stores at most (12 parameters each).
pub(crate) const INSERT_ROWS: usize = 64;

/// `INSERT INTO log_events … VALUES (…), …` for `rows` rows, with `backend`'s bind markers (`$n` or `?`).
/// A load binds its rows' columns to statements of at most [`INSERT_ROWS`] rows: each text is
/// prepared once per connection and reused, and the database parses no JSON.
pub(crate) fn insert_sql(backend: tessera_store::sea_orm::DbBackend, rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::from(
        "INSERT INTO log_events (tenant_id, id, event_type, severity, display_message, actor, \
         target, outcome, client, details, created, last_updated) VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..12 {
            if c > 0 {
                sql.push_str(", ");
            }
            match backend {
                tessera_store::sea_orm::DbBackend::Postgres => {
                    let _ = write!(sql, "${}", r * 12 + c + 1);
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

/// How often a loader records where the log stands (the `log_marks` table): a query from
/// `since` walks at most this long's events, plus [`CLOCK_TOLERANCE_MS`], before its first.
pub const MARK_EVERY_MS: i64 = 1_000;
/// How far the clocks of the processes sharing a database may disagree without a query from
/// `since` missing an event: a mark is used only when it was taken this much before `since`.
pub const CLOCK_TOLERANCE_MS: i64 = 10_000;

/// `INSERT INTO log_marks`: the highest `seq` stored, at the time bound to the one parameter.
/// Run in the loader's transaction after its inserts, so the table is not empty.
pub(crate) fn mark_sql(backend: tessera_store::sea_orm::DbBackend) -> &'static str {
    // `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join's `ON`.
    match backend {
        tessera_store::sea_orm::DbBackend::Postgres => {
            "INSERT INTO log_marks (seq, stored) SELECT MAX(seq), $1 FROM log_events WHERE true \
             ON CONFLICT (seq) DO NOTHING"
        }
        _ => {
            "INSERT INTO log_marks (seq, stored) SELECT MAX(seq), ? FROM log_events WHERE true \
             ON CONFLICT (seq) DO NOTHING"
        }
    }
}

/// The `seq` at or below which no event published at or after `since_ms` can be: the latest
/// mark taken [`CLOCK_TOLERANCE_MS`] before it (an event is stored after it is published), or
/// `None` when there is no such mark (walk from the beginning).
pub async fn floor(
    db: &DatabaseConnection,
    since_ms: i64,
) -> Result<Option<i64>, tessera_store::sea_orm::DbErr> {
    use tessera_store::ConnectionTrait as _;
    use tessera_store::sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT seq FROM log_marks WHERE stored < $1 ORDER BY stored DESC LIMIT 1"
        }
        _ => "SELECT seq FROM log_marks WHERE stored < ? ORDER BY stored DESC LIMIT 1",
    };
    let before = since_ms.saturating_sub(CLOCK_TOLERANCE_MS);
    match db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [before.into()],
        ))
        .await?
    {
        Some(row) => Ok(Some(row.try_get("", "seq")?)),
        None => Ok(None),
    }
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
            // The marks of the same span: one statement, there are at most a few per second.
            let marks = match backend {
                DbBackend::Postgres => "DELETE FROM log_marks WHERE stored < $1",
                _ => "DELETE FROM log_marks WHERE stored < ?",
            };
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                marks,
                [cutoff_ms.into()],
            ))
            .await?;
            return Ok(deleted);
        }
        tokio::task::yield_now().await;
    }
}

/// Rows one pruning statement deletes at most.
pub const PRUNE_BATCH: i64 = 5_000;
