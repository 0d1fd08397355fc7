//! The command side of one bullmq worker: every call of BullMQ's scripts,
//! with keys and arguments in the order each script's header lists them,
//! and their replies read into lingo's types.
//!
//! Each fetch locks its job with a token of its own (`<worker id>:<n>`, as
//! BullMQ's Node worker does), so a stale renewal or outcome of an earlier
//! run can never touch a later run of the same job.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redis::aio::ConnectionManager;
use redis::{RedisResult, ScriptInvocation, Value};

use super::keys::Keys;
use super::pack::{self, Value as Packed};
use super::scripts;
use crate::shared::locks::{Lock, Renew};
use crate::shared::now_ms;
use crate::shared::opts::KeepJobs;
use crate::shared::outcome::FailedAttempt;
use crate::shared::record::Record;

/// What the finishing scripts answer (negative: the job was not ours).
pub(crate) mod code {
    pub const OK: i64 = 0;
    pub const MISSING_JOB: i64 = -1;
    pub const MISSING_LOCK: i64 = -2;
    pub const NOT_ACTIVE: i64 = -3;
    pub const LOCK_MISMATCH: i64 = -6;
}

/// The name BullMQ records as the job's `processedBy` (Bull Board shows it).
const WORKER_NAME: &str = "lingo";

/// The command side of one worker: connection, key names, lock tokens.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    con: ConnectionManager,
    keys: Arc<Keys>,
    /// This worker's id, the first half of every lock token.
    worker: Arc<str>,
    next_token: Arc<AtomicU64>,
    lock_ms: u64,
}

/// A job this worker locked, with the token its lock holds.
#[derive(Debug)]
pub(crate) struct Taken {
    pub record: Record,
    pub token: Arc<str>,
}

/// What a fetch found.
#[derive(Debug)]
// One per job, moved once: boxing would cost an allocation per job.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Fetched {
    /// A locked job.
    Job(Taken),
    /// Nothing to take now.
    Empty {
        /// When the next delayed job is due (epoch ms), if any.
        delayed_until: Option<u64>,
        /// How long the queue's own rate limit holds every job back (ms).
        rate_limited_ms: u64,
    },
}

/// A finishing script's verdict, and the next job it took, if asked to.
#[derive(Debug)]
pub(crate) struct Finished {
    pub code: i64,
    pub next: Option<Fetched>,
}

/// Where a failed attempt goes, with the reason and stack trace written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    /// Back to wait at once (`retryJob`).
    Retry,
    /// To delayed for this long (`moveToDelayed`).
    Delay(u64),
    /// Failed for good (`moveToFinished`).
    Fail,
}

impl Store {
    pub fn new(con: ConnectionManager, keys: Arc<Keys>, lock_ms: u64) -> Self {
        let worker = uuid::Uuid::new_v4().to_string().into();
        Self { con, keys, worker, next_token: Arc::default(), lock_ms }
    }

    /// The command connection (cheap to clone).
    pub fn connection(&self) -> ConnectionManager {
        self.con.clone()
    }

    /// Appends a run's log lines to the job's log (best effort).
    pub async fn append_log(&self, record: &Record, lines: &[String]) {
        crate::shared::log::append(&self.con, &self.keys.base, record, lines).await;
    }

    fn new_token(&self) -> Arc<str> {
        format!("{}:{}", self.worker, self.next_token.fetch_add(1, Ordering::Relaxed)).into()
    }

    /// The options the fetching scripts lock a job with.
    fn fetch_opts(&self, token: &str) -> Vec<u8> {
        pack::map(&[
            ("token", Packed::Str(token)),
            ("lockDuration", Packed::Int(self.lock_ms as i64)),
            ("name", Packed::Str(WORKER_NAME)),
        ])
    }

    /// Takes the next job (promoting due delayed jobs first, as the script
    /// does on every call).
    pub async fn move_to_active(&self) -> RedisResult<Fetched> {
        let k = &self.keys;
        let token = self.new_token();
        let mut call = scripts::MOVE_TO_ACTIVE.key(&k.wait);
        call.key(&k.active).key(&k.prioritized).key(&k.events).key(&k.stalled).key(&k.limiter);
        call.key(&k.delayed).key(&k.paused).key(&k.meta).key(&k.pc).key(&k.marker);
        call.arg(&k.base).arg(now_ms()).arg(self.fetch_opts(&token));
        let reply: Value = self.invoke(&call).await?;
        fetched(reply, token)
    }

    /// Completes the job with `value`; with `fetch_next`, takes the next job
    /// in the same script, under the same token.
    pub async fn complete(&self, taken: &Taken, value: &serde_json::Value, fetch_next: bool) -> RedisResult<Finished> {
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
        let keep = taken.record.opts.remove_on_complete;
        self.move_to_finished(taken, Target::Completed, &text, keep, None, fetch_next).await
    }

    /// Records a failed attempt's reason and stack trace, and moves the job
    /// where `failure` says. Only a final failure may take the next job.
    pub async fn fail(
        &self,
        taken: &Taken,
        attempt: &FailedAttempt,
        failure: Failure,
        fetch_next: bool,
    ) -> RedisResult<Finished> {
        let fields = pack::strings(
            ["failedReason", attempt.reason.as_str(), "stacktrace", attempt.stacktrace.as_str()].into_iter(),
        );
        match failure {
            Failure::Fail => {
                let keep = taken.record.opts.remove_on_fail;
                self.move_to_finished(taken, Target::Failed, &attempt.reason, keep, Some(fields), fetch_next).await
            }
            Failure::Retry => self.retry(taken, fields).await,
            Failure::Delay(ms) => self.move_to_delayed(taken, ms, false, Some(fields)).await,
        }
    }

    /// Sends the job back to delayed for `ms` without spending an attempt (a
    /// backend's rate limit), with why it waits as its `failedReason`.
    pub async fn delay(&self, taken: &Taken, ms: u64, reason: &str) -> RedisResult<Finished> {
        let fields = pack::strings(["failedReason", reason].into_iter());
        self.move_to_delayed(taken, ms, true, Some(fields)).await
    }

    /// Counts one more rate-limited run of job `id`; how many so far.
    pub async fn count_rate_limit(&self, id: &str) -> RedisResult<u32> {
        let mut command = redis::cmd("HINCRBY");
        command.arg(self.keys.job(id)).arg(crate::job::RATE_LIMITED_FIELD).arg(1);
        command.query_async(&mut self.con.clone()).await
    }

    /// Moves jobs whose locks expired back to wait (failing those that
    /// stalled too often); at most once per `interval_ms` across all workers
    /// of the queue. The ids moved.
    pub async fn check_stalled(&self, max_stalled: u32, interval_ms: u64) -> RedisResult<Vec<String>> {
        let k = &self.keys;
        let mut call = scripts::MOVE_STALLED_JOBS_TO_WAIT.key(&k.stalled);
        call.key(&k.wait).key(&k.active).key(&k.stalled_check).key(&k.meta).key(&k.paused);
        call.key(&k.marker).key(&k.events).key(&k.repeat);
        call.arg(max_stalled).arg(&k.base).arg(now_ms()).arg(interval_ms);
        self.invoke(&call).await
    }

    async fn move_to_finished(
        &self,
        taken: &Taken,
        target: Target,
        value: &str,
        keep: KeepJobs,
        fields: Option<Vec<u8>>,
        fetch_next: bool,
    ) -> RedisResult<Finished> {
        let (k, record) = (&self.keys, &taken.record);
        let (set, metrics, property, name) = match target {
            Target::Completed => (&k.completed, &k.metrics_completed, "returnvalue", "completed"),
            Target::Failed => (&k.failed, &k.metrics_failed, "failedReason", "failed"),
        };
        let mut keep_jobs = vec![("count", Packed::Int(keep.count))];
        if keep.age_secs > 0 {
            keep_jobs.push(("age", Packed::Int(keep.age_secs as i64)));
        }
        let opts = pack::map(&[
            ("token", Packed::Str(&taken.token)),
            ("name", Packed::Str(WORKER_NAME)),
            ("keepJobs", Packed::Map(keep_jobs)),
            ("lockDuration", Packed::Int(self.lock_ms as i64)),
            ("attempts", Packed::Int(i64::from(record.opts.attempts))),
            ("maxMetricsSize", Packed::Str("")),
            ("fpof", Packed::Bool(false)),
            ("cpof", Packed::Bool(false)),
            ("idof", Packed::Bool(false)),
            ("rdof", Packed::Bool(false)),
        ]);
        let mut call = scripts::MOVE_TO_FINISHED.key(&k.wait);
        call.key(&k.active).key(&k.prioritized).key(&k.events).key(&k.stalled).key(&k.limiter);
        call.key(&k.delayed).key(&k.paused).key(&k.meta).key(&k.pc).key(set);
        call.key(k.job(&record.job.id)).key(metrics).key(&k.marker);
        call.arg(&record.job.id).arg(now_ms()).arg(property).arg(value).arg(name);
        call.arg(if fetch_next { "1" } else { "0" }).arg(&k.base).arg(opts).arg(fields.unwrap_or_default());
        let reply: Value = self.invoke(&call).await?;
        finished(reply, &taken.token)
    }

    async fn retry(&self, taken: &Taken, fields: Vec<u8>) -> RedisResult<Finished> {
        let (k, record) = (&self.keys, &taken.record);
        let mut call = scripts::RETRY_JOB.key(&k.active);
        call.key(&k.wait).key(&k.paused).key(k.job(&record.job.id)).key(&k.meta).key(&k.events);
        call.key(&k.delayed).key(&k.prioritized).key(&k.pc).key(&k.marker).key(&k.stalled);
        let push = if record.opts.lifo { "RPUSH" } else { "LPUSH" };
        call.arg(&k.base).arg(now_ms()).arg(push).arg(&record.job.id).arg(&*taken.token).arg(fields);
        let code: i64 = self.invoke(&call).await?;
        Ok(Finished { code, next: None })
    }

    async fn move_to_delayed(
        &self,
        taken: &Taken,
        ms: u64,
        skip_attempt: bool,
        fields: Option<Vec<u8>>,
    ) -> RedisResult<Finished> {
        let (k, record) = (&self.keys, &taken.record);
        let mut call = scripts::MOVE_TO_DELAYED.key(&k.marker);
        call.key(&k.active).key(&k.prioritized).key(&k.delayed).key(k.job(&record.job.id)).key(&k.events);
        call.key(&k.meta).key(&k.stalled).key(&k.wait).key(&k.limiter).key(&k.pc);
        call.arg(&k.base).arg(now_ms()).arg(&record.job.id).arg(&*taken.token).arg(ms);
        call.arg(if skip_attempt { "1" } else { "0" }).arg(fields.unwrap_or_default()).arg("0").arg("");
        let code: i64 = self.invoke(&call).await?;
        Ok(Finished { code, next: None })
    }

    async fn invoke<T: redis::FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> RedisResult<T> {
        call.invoke_async(&mut self.con.clone()).await
    }
}

/// All held locks in one `extendLocks` call; the script answers the ids it
/// could not renew.
impl Renew for Store {
    async fn renew(&self, locks: &[Lock]) -> RedisResult<Vec<bool>> {
        let mut call = scripts::EXTEND_LOCKS.key(&self.keys.stalled);
        call.arg(&self.keys.base).arg(pack::strings(locks.iter().map(|l| &*l.token)));
        call.arg(pack::strings(locks.iter().map(|l| l.id.as_str()))).arg(self.lock_ms);
        let lost: Vec<String> = self.invoke(&call).await?;
        Ok(locks.iter().map(|lock| !lost.contains(&lock.id)).collect())
    }
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Completed,
    Failed,
}

/// Reads `[job hash, id, rate limit ms, next delayed ms]`, as both
/// `moveToActive` and a fetching `moveToFinished` answer.
fn fetched(reply: Value, token: Arc<str>) -> RedisResult<Fetched> {
    let Value::Array(mut parts) = reply else { return Err(unexpected("moveToActive", &reply)) };
    parts.resize(4, Value::Int(0));
    let delayed_until = integer(&parts[3]).filter(|&ms| ms > 0).map(|ms| ms as u64);
    let rate_limited_ms = integer(&parts[2]).map_or(0, |ms| ms.max(0) as u64);
    let (Value::Array(hash), Some(id)) = (std::mem::replace(&mut parts[0], Value::Nil), text(&parts[1])) else {
        return Ok(Fetched::Empty { delayed_until, rate_limited_ms });
    };
    let flat = hash.into_iter().map(bytes).collect();
    Ok(Fetched::Job(Taken { record: Record::from_fields(id, flat), token }))
}

/// Reads a finishing script's reply: a code, or the next job's data.
fn finished(reply: Value, token: &Arc<str>) -> RedisResult<Finished> {
    match reply {
        Value::Int(code) => Ok(Finished { code, next: None }),
        array @ Value::Array(_) => Ok(Finished { code: code::OK, next: Some(fetched(array, Arc::clone(token))?) }),
        other => Err(unexpected("moveToFinished", &other)),
    }
}

fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        other => text(other)?.parse().ok(),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn bytes(value: Value) -> Vec<u8> {
    match value {
        Value::BulkString(b) => b,
        Value::SimpleString(s) => s.into_bytes(),
        Value::Int(n) => n.to_string().into_bytes(),
        _ => Vec::new(),
    }
}

fn unexpected(script: &str, reply: &Value) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected script reply",
        format!("{script}: {reply:?}"),
    ))
}
