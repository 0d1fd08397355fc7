//! A run's log lines, written where both libraries keep a job's log: the
//! list `<prefix>:<queue>:<id>:logs`, which `job.log()` appends to, Bull
//! Board's "Logs" tab reads, and removing the job deletes. bullmq's
//! `keepLogs` keeps the newest lines, as its own `addLog` script does.
//!
//! Best effort, once, before the outcome is written: a log lost to an outage
//! costs no job.

use redis::aio::ConnectionManager;
use tracing::debug;

use super::record::Record;

/// Appends `lines` to the log of the job in `record`; `base` is
/// `<prefix>:<queue>:`.
pub(crate) async fn append(con: &ConnectionManager, base: &str, record: &Record, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let key = format!("{base}{}:logs", record.job.id);
    let mut pipe = redis::pipe();
    pipe.rpush(&key, lines).ignore();
    if let Some(keep) = record.opts.keep_logs {
        pipe.ltrim(&key, -(keep as isize), -1).ignore();
    }
    if let Err(err) = pipe.query_async::<()>(&mut con.clone()).await {
        debug!(job.id = %record.job.id, error = %err, "could not write the job's log");
    }
}
