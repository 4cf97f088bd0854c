//! The System Log spool: every event is appended to a local file before the request that
//! produced it answers, and a loader moves the file's events into the database in large
//! transactions. Nothing the service acknowledged is lost to a slow, down or restarting
//! database, or to a crash of the process:
//!
//! * **Append** ([`Spool::append`]): one `write(2)` of one line (the event's row as a JSON
//!   array) to the current segment, `{dir}/{seq:012}.log`, opened for append. Once it returns,
//!   the event is in the kernel: a SIGKILL of the process cannot lose it. The segment is
//!   `fdatasync`'d every [`SYNC_EVERY`], so a power loss or kernel crash loses at most that much.
//! * **Load**: a task reads complete lines from where the last load ended, inserts up to
//!   [`BATCH`] of them in one transaction (their columns bound to prepared multi-row
//!   inserts; at most one load per [`LOAD_EVERY`] while fewer wait), and records its position
//!   (segment, byte offset) in
//!   `spool_checkpoints` **in the same transaction**: after a crash the spool is replayed from
//!   that position, so every event is loaded exactly once. While the database is down the
//!   loader retries every second and events wait in the spool; they are loaded when it returns.
//! * **Segments** roll over at [`SEGMENT_BYTES`]; a segment is deleted once loaded. A new
//!   process always appends to a new segment, so older ones never change again.
//! * **Full**: past `spool_max_mb` the spool says so loudly (an error log line, the metrics)
//!   and keeps accepting events: backpressure on the operator, never loss.
//!
//! The only events lost are lines that cannot be loaded: a line torn by a machine crash in the
//! middle of a write, or one that is not JSON. They are counted
//! (`tessera_system_log_lost_total`) and logged.

use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_store::sea_orm::{DbBackend, Statement};
use tessera_store::{ConnectionTrait as _, DatabaseConnection};
use tokio::sync::{Notify, watch};

/// A segment rolls over past this size.
pub const SEGMENT_BYTES: u64 = 16 << 20;
/// The most events one load inserts.
pub const BATCH: usize = 5_000;
/// At most one load per this interval while fewer than [`BATCH`] events wait (unless a reader
/// is waiting for them): under load, one transaction stores many events.
pub const LOAD_EVERY: Duration = Duration::from_millis(50);
/// How often the current segment is synced to disk.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);
/// The most bytes one load reads: about 2,500 token events (a spooled token grant is about
/// 820 bytes), so under a backlog a batch is bounded by this rather than by [`BATCH`]. It is the largest buffer the loader holds (it
/// was 8 MiB, which showed in the process's peak RSS).
const READ_BYTES: usize = 2 << 20;

/// A position in the spool: a segment and a byte offset in it.
pub type Position = (u64, u64);

/// The spool of one process (one data directory).
#[derive(Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// Held for the life of the spool: one process per spool directory.
    _lock: std::fs::File,
    /// Names this spool's row in `spool_checkpoints`.
    id: String,
    current: Mutex<Segment>,
    /// Where appends have reached (the current segment and its length).
    appended: watch::Sender<Position>,
    /// Where loads have reached.
    loaded: watch::Sender<Position>,
    wake: Notify,
    /// A reader waits for the spool to be loaded ([`Spool::flush`]).
    urgent: Notify,
    dirty: AtomicBool,
    max_bytes: u64,
    full: AtomicBool,
    clock: Arc<dyn tessera_domain::Clock>,
}

struct Segment {
    seq: u64,
    file: std::fs::File,
    len: u64,
}

/// Why the spool cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error("the System Log spool at {path}: {source}")]
pub struct SpoolError {
    path: String,
    source: std::io::Error,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:012}.log"))
}

/// The segments in `dir`, oldest first.
fn segments(dir: &Path) -> Vec<u64> {
    let mut found: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    found.sort_unstable();
    found
}

impl Spool {
    /// Opens (or creates) the spool in `dir` and starts its loader and its sync task. Call
    /// inside a tokio runtime. A spool belongs to one process at a time (an exclusive lock on
    /// `{dir}/lock`); a second process on the same data directory uses `{dir}-2`, and so on,
    /// so each is replayed by the next process that takes it.
    pub fn open(
        dir: &Path,
        db: DatabaseConnection,
        max_bytes: u64,
        export_path: Option<PathBuf>,
        random: &dyn tessera_domain::Random,
        clock: Arc<dyn tessera_domain::Clock>,
    ) -> Result<Self, SpoolError> {
        let mut claimed = None;
        for n in 1..=16 {
            let candidate = if n == 1 {
                dir.to_owned()
            } else {
                PathBuf::from(format!("{}-{n}", dir.display()))
            };
            let failed = |source| SpoolError {
                path: candidate.display().to_string(),
                source,
            };
            std::fs::create_dir_all(&candidate).map_err(failed)?;
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(candidate.join("lock"))
                .map_err(failed)?;
            if lock.try_lock().is_ok() {
                claimed = Some((candidate, lock));
                break;
            }
        }
        let Some((dir, lock)) = claimed else {
            return Err(SpoolError {
                path: dir.display().to_string(),
                source: std::io::Error::other("16 processes hold spools in this data directory"),
            });
        };
        let dir = dir.as_path();
        let failed = |source| SpoolError {
            path: dir.display().to_string(),
            source,
        };
        let id_file = dir.join("id");
        let id = match std::fs::read_to_string(&id_file) {
            Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
            _ => {
                let id = format!(
                    "spool-{}",
                    tessera_domain::secrets::random_token(random, 12)
                );
                std::fs::write(&id_file, &id).map_err(failed)?;
                id
            }
        };
        // Always a fresh segment: the ones a previous process wrote never change again.
        let seq = segments(dir).last().map_or(1, |s| s + 1);
        let file = open_segment(dir, seq).map_err(failed)?;
        let inner = Arc::new(Inner {
            dir: dir.to_owned(),
            _lock: lock,
            id,
            current: Mutex::new(Segment { seq, file, len: 0 }),
            appended: watch::channel((seq, 0)).0,
            loaded: watch::channel((0, 0)).0,
            wake: Notify::new(),
            urgent: Notify::new(),
            dirty: AtomicBool::new(false),
            max_bytes,
            full: AtomicBool::new(false),
            clock,
        });
        let export = export_path.map(|path| crate::log_export::Export::open(path, dir));
        tokio::spawn(load(inner.clone(), db, export));
        tokio::spawn(sync(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// Appends one event (its row as a JSON array, on one line). When this returns `Ok`, the
    /// event survives a crash of this process.
    pub fn append(&self, line: &[u8]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        let position = {
            let mut seg = self
                .inner
                .current
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if seg.len >= SEGMENT_BYTES {
                let next = seg.seq + 1;
                let file = open_segment(&self.inner.dir, next)?;
                // The finished segment to disk before the loader may delete anything.
                let _ = seg.file.sync_data();
                *seg = Segment {
                    seq: next,
                    file,
                    len: 0,
                };
            }
            seg.file.write_all(&buf)?;
            seg.len += buf.len() as u64;
            (seg.seq, seg.len)
        };
        crate::metrics::metrics().system_log_spooled.inc();
        self.inner.dirty.store(true, Ordering::Release);
        self.inner.appended.send_replace(position);
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Waits until everything appended before the call is in the database, or `within` has
    /// passed (the database may be down: the events stay in the spool). `true` when loaded.
    pub async fn flush(&self, within: Duration) -> bool {
        let target = *self.inner.appended.borrow();
        let mut loaded = self.inner.loaded.subscribe();
        self.inner.wake.notify_one();
        self.inner.urgent.notify_one();
        tokio::time::timeout(within, loaded.wait_for(|at| *at >= target))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Bytes waiting to be loaded.
    pub fn waiting_bytes(&self) -> u64 {
        let (aseg, alen) = *self.inner.appended.borrow();
        let (lseg, lpos) = *self.inner.loaded.borrow();
        if lseg == aseg {
            return alen.saturating_sub(lpos);
        }
        // Whole segments between them, measured on disk.
        segments(&self.inner.dir)
            .into_iter()
            .filter(|s| *s >= lseg && *s <= aseg)
            .map(|s| {
                let len =
                    std::fs::metadata(segment_path(&self.inner.dir, s)).map_or(0, |m| m.len());
                if s == lseg {
                    len.saturating_sub(lpos)
                } else {
                    len
                }
            })
            .sum()
    }
}

fn open_segment(dir: &Path, seq: u64) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(segment_path(dir, seq))
}

/// Syncs the current segment every [`SYNC_EVERY`] while it has unsynced appends.
async fn sync(inner: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(SYNC_EVERY).await;
        let Some(inner) = inner.upgrade() else { return };
        if !inner.dirty.swap(false, Ordering::AcqRel) {
            continue;
        }
        let file = inner
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .file
            .try_clone();
        if let Ok(file) = file {
            let _ = tokio::task::spawn_blocking(move || file.sync_data()).await;
        }
    }
}

/// One spooled record, read back: its line (without the newline), where the line ends in its
/// segment, and when its event was recorded (ms since the epoch).
struct Line {
    /// Where the line's body (without its newline) is in the batch's buffer.
    body: std::ops::Range<usize>,
    end: u64,
    created_ms: i64,
}

/// Lines read for one load: one buffer and where each line is in it (one allocation for the
/// whole batch, not one per line).
struct Batch {
    buf: Vec<u8>,
    lines: Vec<Line>,
}

impl Batch {
    fn body(&self, line: &Line) -> &[u8] {
        &self.buf[line.body.clone()]
    }
}

/// Complete, well-formed lines from `at`: up to [`BATCH`] of them, the position after the last
/// one read, and how many malformed lines were skipped.
fn read_lines(dir: &Path, at: Position) -> std::io::Result<(Batch, Position, u64)> {
    let mut file = std::fs::File::open(segment_path(dir, at.0))?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(at.1))?;
    let want = usize::try_from(len.saturating_sub(at.1))
        .unwrap_or(READ_BYTES)
        .min(READ_BYTES);
    // Sized once: growing by doubling would reach twice the read at its peak.
    let mut buf = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut buf)?;
    let mut lines = Vec::new();
    let mut consumed = 0usize;
    let mut malformed = 0;
    for line in buf.split_inclusive(|b| *b == b'\n') {
        if line.last() != Some(&b'\n') || lines.len() >= BATCH {
            break; // a line still being written, or enough for one load
        }
        let start = consumed;
        consumed += line.len();
        let body = &line[..line.len() - 1];
        // The same reading the load stores, so a line is either stored or counted lost.
        match crate::syslog::spooled_row(body) {
            Some(row) => lines.push(Line {
                body: start..consumed - 1,
                end: at.1 + consumed as u64,
                created_ms: row.created,
            }),
            None => malformed += 1,
        }
    }
    Ok((
        Batch { buf, lines },
        (at.0, at.1 + consumed as u64),
        malformed,
    ))
}

fn lost(count: u64, why: &str) {
    if count > 0 {
        crate::metrics::metrics().system_log_lost.inc_by(count);
        tracing::error!(count, why, "System Log events lost");
    }
}

/// The loader: from the checkpoint, forever (until the spool is dropped and drained).
async fn load(
    inner: Arc<Inner>,
    db: DatabaseConnection,
    mut export: Option<crate::log_export::Export>,
) {
    let mut at = loop {
        match checkpoint(&db, &inner.id).await {
            Ok(at) => break at,
            Err(e) => {
                tracing::warn!(error = %e, "System Log spool: reading its checkpoint; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    // A checkpoint names a segment that may be gone (loaded, then deleted): start at the next.
    // One past every segment on disk means the segments were removed by hand while the `id`
    // file stayed: start again at the oldest one there is.
    let on_disk = segments(&inner.dir);
    match on_disk.iter().find(|s| **s >= at.0) {
        Some(first) if *first != at.0 => at = (*first, 0),
        Some(_) => {}
        None => at = (on_disk.first().copied().unwrap_or(at.0), 0),
    }
    inner.loaded.send_replace(at);
    let mut failing = false;
    // When this loader last wrote a mark (`crate::syslog::MARK_EVERY_MS`).
    let mut marked = i64::MIN;
    loop {
        let current = *inner.appended.borrow();
        let read = read_lines(&inner.dir, at);
        let (batch, next, malformed) = match read {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
                Batch {
                    buf: Vec::new(),
                    lines: Vec::new(),
                },
                at,
                0,
            ),
            Err(e) => {
                tracing::error!(error = %e, segment = at.0, "System Log spool: cannot read a segment; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        lost(malformed, "a spooled line is not an event");
        let lines = &batch.lines;
        if lines.is_empty() {
            if at.0 < current.0 {
                // A finished segment is loaded: what is left of it is a torn last line.
                let len = std::fs::metadata(segment_path(&inner.dir, at.0)).map_or(0, |m| m.len());
                lost(
                    u64::from(len > next.1),
                    "a spooled line was torn by a crash",
                );
                let following = segments(&inner.dir).into_iter().find(|s| *s > at.0);
                let _ = std::fs::remove_file(segment_path(&inner.dir, at.0));
                at = (following.unwrap_or(current.0), 0);
                inner.loaded.send_replace(at);
                continue;
            }
            inner.loaded.send_replace(next);
            crate::metrics::metrics().system_log_lag.set(0.0);
            note_fill(&inner);
            // Woken by an append (or a flush), or look again in a while.
            let _ = tokio::time::timeout(Duration::from_millis(500), inner.wake.notified()).await;
            continue;
        }
        let count = lines.len();
        let now = tessera_domain::timefmt::to_millis(inner.clock.now());
        #[expect(
            clippy::cast_precision_loss,
            reason = "a lag in ms fits an f64 exactly"
        )]
        crate::metrics::metrics()
            .system_log_lag
            .set(now.saturating_sub(lines[0].created_ms).max(0) as f64 / 1000.0);
        if let Some(export) = &mut export {
            // Out to the export file before the batch is loaded (and may be deleted): at
            // least once. Records it already holds (a load that failed) are not written again.
            let fresh: Vec<&[u8]> = lines
                .iter()
                .filter(|l| !export.has((at.0, l.end)))
                .map(|l| batch.body(l))
                .collect();
            if !fresh.is_empty() && export.write(&fresh, next).await.is_err() {
                note_fill(&inner);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        let mark = now.saturating_sub(marked) >= crate::syslog::MARK_EVERY_MS;
        match store(&db, &inner.id, &batch, next, now, mark).await {
            Ok(()) => {
                if mark {
                    marked = now;
                }
                if failing {
                    tracing::info!("System Log events are being stored again");
                    failing = false;
                }
                crate::metrics::metrics()
                    .system_log_events
                    .inc_by(count as u64);
                at = next;
                inner.loaded.send_replace(at);
                if count < BATCH && batch.buf.len() < READ_BYTES {
                    // The load reached the last event written: let events gather for the
                    // next transaction, unless a reader waits.
                    let _ = tokio::time::timeout(LOAD_EVERY, inner.urgent.notified()).await;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::error!(error = %e, "System Log events cannot be stored; they wait in the spool and are stored when the database answers");
                    failing = true;
                }
                note_fill(&inner);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Publishes how much waits, and says once, loudly, when the spool passes its size (and once
/// when it is back under it). Events are accepted either way.
fn note_fill(inner: &Arc<Inner>) {
    let waiting = Spool {
        inner: inner.clone(),
    }
    .waiting_bytes();
    crate::metrics::metrics()
        .system_log_spool_bytes
        .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    let full = waiting > inner.max_bytes;
    if full != inner.full.swap(full, Ordering::AcqRel) {
        if full {
            tracing::error!(
                waiting_bytes = waiting,
                max_bytes = inner.max_bytes,
                "the System Log spool is over its size (system_log.spool_max_mb): the database is down or not keeping up; events are still accepted and kept"
            );
        } else {
            tracing::info!(
                waiting_bytes = waiting,
                "the System Log spool is back under its size"
            );
        }
    }
}

/// The loader's position in the database, or the beginning.
async fn checkpoint(
    db: &DatabaseConnection,
    id: &str,
) -> Result<Position, tessera_store::sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT segment, position FROM spool_checkpoints WHERE id = $1",
        _ => "SELECT segment, position FROM spool_checkpoints WHERE id = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
        .await?;
    Ok(match row {
        Some(r) => {
            let segment: i64 = r.try_get("", "segment")?;
            let position: i64 = r.try_get("", "position")?;
            (
                u64::try_from(segment).unwrap_or(0),
                u64::try_from(position).unwrap_or(0),
            )
        }
        None => (0, 0),
    })
}

/// Inserts `lines` and moves the checkpoint to `next`, in one transaction; with `mark`, also
/// records where the log stands at `now` (`crate::syslog::MARK_EVERY_MS`).
async fn store(
    db: &DatabaseConnection,
    id: &str,
    batch: &Batch,
    next: Position,
    now: i64,
    mark: bool,
) -> Result<(), tessera_store::sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let upsert = match backend {
        DbBackend::Postgres => UPSERT_POSTGRES,
        _ => UPSERT_SQLITE,
    };
    let txn = tessera_store::begin_write(db).await?;
    // Every line was read as a row by `read_lines`; none is skipped here. Rows are read as
    // each insert binds them, so a batch is never held parsed all at once.
    for chunk in batch.lines.chunks(crate::syslog::INSERT_ROWS) {
        let mut values = Vec::with_capacity(chunk.len() * 12);
        let mut count = 0;
        for line in chunk {
            let Some(r) = crate::syslog::spooled_row(batch.body(line)) else {
                continue;
            };
            values.extend([
                r.tenant_id.into(),
                r.id.into(),
                r.event_type.into(),
                r.severity.into(),
                r.display_message.into(),
                r.actor.into(),
                r.target.into(),
                r.outcome.into(),
                r.client.into(),
                r.details.into(),
                r.created.into(),
                r.last_updated.into(),
            ]);
            count += 1;
        }
        if count == 0 {
            continue;
        }
        let sql = crate::syslog::insert_sql(backend, count);
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    if mark {
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            crate::syslog::mark_sql(backend),
            [now.into()],
        ))
        .await?;
    }
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        upsert,
        [
            id.into(),
            i64::try_from(next.0).unwrap_or(i64::MAX).into(),
            i64::try_from(next.1).unwrap_or(i64::MAX).into(),
            now.into(),
        ],
    ))
    .await?;
    txn.commit().await
}

const UPSERT_SQLITE: &str = "INSERT INTO spool_checkpoints (id, segment, position, last_updated) \
    VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET segment = excluded.segment, \
    position = excluded.position, last_updated = excluded.last_updated";
const UPSERT_POSTGRES: &str = "INSERT INTO spool_checkpoints (id, segment, position, last_updated) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET segment = excluded.segment, \
    position = excluded.position, last_updated = excluded.last_updated";
