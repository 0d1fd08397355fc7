//! Every Redis operation of the bull v4 worker, as typed methods over the
//! command connection. Only this module invokes the worker's scripts (the
//! producer runs its own add script); the rest of the
//! worker decides *what* to do and calls one method per decision.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use redis::{RedisResult, ScriptInvocation};

use futures::future::join_all;

use super::clock::{delayed_score, due_bound, due_text, parse_due};
use super::keys::Keys;
use super::scripts;
use crate::shared::locks::{Lock, Renew};
use crate::shared::now_ms;
use crate::shared::outcome::{FailedAttempt, Next};
use crate::shared::record::Record;

/// Script reply codes (spec A12): the job is fine, or why it is not ours.
pub(crate) mod code {
    pub const OK: i64 = 0;
    pub const MISSING_JOB: i64 = -1;
    pub const MISSING_LOCK: i64 = -2;
    pub const NOT_ACTIVE: i64 = -3;
    pub const LOCK_MISMATCH: i64 = -6;
}

/// The command side of one worker: connection, key names, lock token.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    /// Reconnects by itself; callers retry through `Health::persist`.
    con: ConnectionManager,
    keys: Arc<Keys>,
    /// This worker's lock value (a UUID v4), shared by all its jobs.
    token: Arc<str>,
    /// Lock TTL in ms.
    lock_ms: u64,
}

/// What a fetch found.
#[derive(Debug)]
// One per job, moved once into its task: boxing the record would add an
// allocation per job to spare a few hundred bytes on the stack.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fetched {
    /// A job, now locked by this worker.
    Job(Record),
    /// `wait` was empty.
    Empty,
    /// The popped id had no hash (removed meanwhile); it was dropped.
    Missing(String),
}

/// A job as `takeJob` returns it: its id, and its hash unless it vanished.
type TakenJob = (String, Option<Vec<Vec<u8>>>);

fn fetched((id, fields): TakenJob) -> Fetched {
    match fields {
        None => Fetched::Missing(id),
        Some(fields) => Fetched::Job(Record::from_fields(id, fields)),
    }
}

/// What completing a job did.
#[derive(Debug)]
pub(crate) struct Completed {
    /// [`code::OK`], or why the job was not this worker's to complete.
    pub code: i64,
    /// The next job, when one was asked for and the queue had one.
    pub next: Option<Fetched>,
}

/// Ids the stalled check moved.
#[derive(Debug, Default)]
pub(crate) struct Stalled {
    /// Put back at the right end of wait.
    pub recovered: Vec<String>,
    /// Failed for stalling more than `maxStalledCount` times.
    pub failed: Vec<String>,
}

/// Each lock checked against the worker's token, all at once (pipelined on
/// the one multiplexed connection).
impl Renew for Store {
    async fn renew(&self, locks: &[Lock]) -> RedisResult<Vec<bool>> {
        join_all(locks.iter().map(|lock| self.extend_lock(&lock.id))).await.into_iter().collect()
    }
}

impl Store {
    pub fn new(con: ConnectionManager, keys: Arc<Keys>, token: String, lock_ms: u64) -> Self {
        Self { con, keys, token: token.into(), lock_ms }
    }

    async fn invoke<T: redis::FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> RedisResult<T> {
        call.invoke_async(&mut self.con.clone()).await
    }

    /// Locks and returns job `id` (already moved to active by BRPOPLPUSH),
    /// or pops the next one from wait when `id` is None (spec A4).
    pub async fn move_to_active(&self, id: Option<&str>) -> RedisResult<Fetched> {
        let k = &self.keys;
        let mut call = scripts::MOVE_TO_ACTIVE.key(&k.wait);
        call.key(&k.active).key(&k.priority).key(&k.stalled);
        call.arg(&k.base).arg(&*self.token).arg(self.lock_ms).arg(now_ms()).arg(id.unwrap_or(""));
        let reply: Option<TakenJob> = self.invoke(&call).await?;
        Ok(reply.map_or(Fetched::Empty, fetched))
    }

    /// The token this worker locks its jobs with.
    pub fn token(&self) -> &Arc<str> {
        &self.token
    }

    /// Renews the lock of job `id` if this worker still holds it (spec A5).
    async fn extend_lock(&self, id: &str) -> RedisResult<bool> {
        let mut call = scripts::EXTEND_LOCK.key(self.keys.lock(id));
        call.key(&self.keys.stalled).arg(&*self.token).arg(self.lock_ms).arg(id);
        self.invoke(&call).await
    }

    /// Completes the job with `value` and publishes it (spec A6); with
    /// `fetch_next`, takes the queue's next job in the same script, as bull's
    /// own moveToFinished does, saving a round trip and a script per job.
    pub async fn complete(
        &self,
        record: &Record,
        value: &serde_json::Value,
        fetch_next: bool,
    ) -> RedisResult<Completed> {
        let k = &self.keys;
        let id = &record.job.id;
        let returnvalue = value.to_string();
        let event = completed_event(id, (!value.is_null()).then_some(returnvalue.as_str()));
        let keep = record.opts.remove_on_complete;
        let mut call = scripts::COMPLETE.key(&k.active);
        call.key(&k.completed).key(&k.stalled).key(&k.wait).key(&k.priority);
        call.arg(&k.base).arg(id).arg(&*self.token).arg(now_ms()).arg(returnvalue);
        call.arg(keep.count).arg(keep.age_secs).arg(event);
        call.arg(if fetch_next { "1" } else { "0" }).arg(self.lock_ms);
        let reply: redis::Value = self.invoke(&call).await?;
        Ok(match reply {
            redis::Value::Int(code) => Completed { code, next: None },
            taken => Completed { code: code::OK, next: Some(fetched(redis::from_redis_value(taken)?)) },
        })
    }

    /// Records a failed attempt and retries, delays or fails the job, in one
    /// script (spec A7). Returns a [`code`].
    pub async fn fail(&self, record: &Record, attempt: &FailedAttempt, now: u64) -> RedisResult<i64> {
        let k = &self.keys;
        let id = &record.job.id;
        let (step, score) = match attempt.next {
            Next::Delay(ms) => ("delay", delayed_score(now.saturating_add(ms), id)),
            Next::Retry => ("retry", 0),
            Next::Fail => ("fail", 0),
        };
        let event = serde_json::json!({ "jobId": id, "val": attempt.reason }).to_string();
        let keep = record.opts.remove_on_fail;
        let mut call = scripts::FAIL.key(&k.active);
        call.key(&k.stalled).key(&k.wait).key(&k.paused).key(&k.meta_paused);
        call.key(&k.priority).key(&k.delayed).key(&k.failed);
        call.arg(&k.base).arg(id).arg(&*self.token).arg(now).arg(&attempt.reason);
        call.arg(&attempt.stacktrace).arg(attempt.attempts_made).arg(step);
        call.arg(score).arg(due_text(score)).arg(record.priority).arg(lifo_flag(record));
        call.arg(keep.count).arg(keep.age_secs).arg(event);
        self.invoke(&call).await
    }

    /// Sends the job back to delayed until `due_ms` without counting an
    /// attempt. Returns a [`code`].
    pub async fn delay(&self, record: &Record, due_ms: u64, reason: &str) -> RedisResult<i64> {
        let k = &self.keys;
        let id = &record.job.id;
        let score = delayed_score(due_ms, id);
        let mut call = scripts::MOVE_TO_DELAYED.key(&k.active);
        call.key(&k.stalled).key(&k.delayed);
        call.arg(&k.base).arg(id).arg(&*self.token).arg(score).arg(due_text(score));
        call.arg(crate::job::RATE_LIMITED_FIELD).arg(reason);
        self.invoke(&call).await
    }

    /// Promotes due delayed jobs (spec A9); returns how many, and when the
    /// next remaining one is due (epoch ms).
    pub async fn promote_delayed(&self) -> RedisResult<(u64, Option<u64>)> {
        let k = &self.keys;
        let mut call = scripts::PROMOTE_DELAYED.key(&k.delayed);
        call.key(&k.active).key(&k.wait).key(&k.paused).key(&k.meta_paused).key(&k.priority);
        call.arg(&k.base).arg(due_bound(now_ms())).arg(&*self.token);
        let (count, next): (u64, Option<String>) = self.invoke(&call).await?;
        let next_due = next.as_deref().and_then(parse_due).map(|score| score / 4096);
        Ok((count, next_due))
    }

    /// Runs the throttled stalled check (spec A10); None when another worker
    /// ran it within the last interval.
    pub async fn check_stalled(&self, max_stalled: u32, interval_ms: u64) -> RedisResult<Option<Stalled>> {
        let k = &self.keys;
        let mut call = scripts::CHECK_STALLED.key(&k.stalled);
        call.key(&k.wait).key(&k.active).key(&k.failed).key(&k.stalled_check);
        call.key(&k.meta_paused).key(&k.paused);
        call.arg(max_stalled).arg(&k.base).arg(now_ms()).arg(interval_ms.max(1));
        let reply: Option<(Vec<String>, Vec<String>)> = self.invoke(&call).await?;
        Ok(reply.map(|(recovered, failed)| Stalled { recovered, failed }))
    }

    /// The command connection (cheap to clone).
    pub fn connection(&self) -> ConnectionManager {
        self.con.clone()
    }

    /// Appends a run's log lines to the job's log (best effort).
    pub async fn append_log(&self, record: &Record, lines: &[String]) {
        crate::shared::log::append(&self.con, &self.keys.base, record, lines).await;
    }

    /// Gives back an unlocked job popped after shutdown began.
    pub async fn requeue(&self, id: &str) -> RedisResult<bool> {
        let k = &self.keys;
        let mut call = scripts::REQUEUE.key(&k.active);
        call.key(&k.wait).key(&k.paused).key(&k.meta_paused).arg(id);
        self.invoke(&call).await
    }
}

/// `{"jobId":"<id>","val":"<result JSON text>"}`: `val` is a JSON string
/// holding JSON (spec A8). A `null` result is bull's "handler returned
/// nothing", whose message has no `val`, so `job.finished()` resolves
/// `undefined` as with a Node worker; the hash still says `null`.
fn completed_event(id: &str, val: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Event<'a> {
        #[serde(rename = "jobId")]
        job_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        val: Option<&'a str>,
    }
    serde_json::to_string(&Event { job_id: id, val }).expect("strings serialize")
}

fn lifo_flag(record: &Record) -> &'static str {
    if record.opts.lifo { "1" } else { "0" }
}

#[cfg(test)]
mod tests {
    use super::completed_event;

    #[test]
    fn completed_event_double_encodes_val() {
        assert_eq!(completed_event("3", Some(r#"{"a":1}"#)), r#"{"jobId":"3","val":"{\"a\":1}"}"#);
        assert_eq!(completed_event("3", Some(r#""ok""#)), r#"{"jobId":"3","val":"\"ok\""}"#);
        assert_eq!(completed_event("3", None), r#"{"jobId":"3"}"#);
    }
}
