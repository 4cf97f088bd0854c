//! Streaming the System Log out: with `system_log.export_path` set, every event is appended to
//! that file as one JSON line (JSON Lines, <https://jsonlines.org/>) for a log shipper
//! (Fluent Bit, Vector, the OpenTelemetry Collector's `filelog` receiver) to forward, as Okta
//! streams its System Log to external systems.
//!
//! Delivery is at least once, from the spool ([`crate::spool`]): the loader writes a batch's
//! events to the file, syncs it, and records how far it got (`{spool}/export.pos`) **before**
//! the same batch is loaded into the database and may be deleted from the spool. A crash
//! between the file's sync and the position's update writes those events again after the
//! restart; nothing in the spool is ever skipped. While the file cannot be written (a full
//! disk, a permission) the loader waits and retries, so events wait in the spool and the
//! System Log API falls behind with them: it says so in its error log line and the metrics.
//!
//! Each line is `{"tenantId": …, "event": LogEvent}`, the event exactly as `GET /api/v1/logs`
//! serves it (same `uuid`), so a consumer can drop the duplicates a crash may cause. The file
//! is opened for each batch, so a shipper's rotation by rename takes effect at the next batch;
//! an exclusive lock is held while a batch is written, so processes that share one file never
//! interleave their lines.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::spool::Position;

/// The export of one spool.
pub(crate) struct Export {
    path: PathBuf,
    /// Where the position is kept, in the spool's directory.
    position_file: PathBuf,
    /// Everything before this spool position is in the file.
    at: Position,
    failing: bool,
}

impl Export {
    /// The export of the spool in `spool_dir` to `path`, resuming where it stopped.
    pub(crate) fn open(path: PathBuf, spool_dir: &Path) -> Self {
        let position_file = spool_dir.join("export.pos");
        let at = std::fs::read_to_string(&position_file)
            .ok()
            .and_then(|s| {
                let (seg, off) = s.trim().split_once(' ')?;
                Some((seg.parse().ok()?, off.parse().ok()?))
            })
            .unwrap_or((0, 0));
        Self {
            path,
            position_file,
            at,
            failing: false,
        }
    }

    /// Whether the record that ends at `end` is already in the file.
    pub(crate) fn has(&self, end: Position) -> bool {
        end <= self.at
    }

    /// Appends the events of `records` (spooled lines, in order; the last ends at `end`),
    /// syncs the file and records `end`. On an error nothing is recorded: the same records
    /// are offered again.
    pub(crate) async fn write(&mut self, records: &[&[u8]], end: Position) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(records.iter().map(|r| r.len() * 2).sum());
        let mut events = 0u64;
        for record in records {
            for line in crate::syslog::exported(record) {
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                events += 1;
            }
        }
        let path = self.path.clone();
        let position_file = self.position_file.clone();
        let written = tokio::task::spawn_blocking(move || append(&path, &buf, &position_file, end))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        match written {
            Ok(()) => {
                self.at = end;
                crate::metrics::metrics().system_log_exported.inc_by(events);
                if self.failing {
                    self.failing = false;
                    tracing::info!(path = %self.path.display(), "System Log events are being exported again");
                }
                Ok(())
            }
            Err(e) => {
                if !self.failing {
                    self.failing = true;
                    tracing::error!(error = %e, path = %self.path.display(), "System Log events cannot be written to the export file (system_log.export_path); they wait in the spool, and the System Log API waits with them");
                }
                Err(e)
            }
        }
    }
}

fn append(path: &Path, buf: &[u8], position_file: &Path, end: Position) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.lock()?;
    file.write_all(buf)?;
    file.sync_data()?;
    drop(file);
    // The position after the events are on disk: a crash in between repeats them, never skips.
    let tmp = position_file.with_extension("pos.tmp");
    std::fs::write(&tmp, format!("{} {}\n", end.0, end.1))?;
    std::fs::rename(&tmp, position_file)
}
