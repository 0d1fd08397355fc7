//! bullmq (v5+) through the maintainers' `bullmq-official` crate, which runs
//! BullMQ's own Lua scripts: fetch and lock, renewal, stalled checks,
//! retries with the job's `attempts`/`backoff`, and the events stream that
//! `QueueEvents` and `waitUntilFinished` read. This module only adapts its
//! worker to lingo's [`Processor`] and outcome types, and fills one gap of the
//! crate: it writes no `failedReason` for retried attempts and no `stacktrace`
//! at all, which BullMQ's Node worker writes on every failed attempt
//! ([`Failures`]).

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bullmq::options::RedisConnectionOptions;
use bullmq::{Error as BullMqError, WorkerOptions};
use redis::Script;
use redis::aio::ConnectionManager;
use tokio_util::sync::CancellationToken;

use crate::job::{FREE_RATE_LIMITS, RATE_LIMITED_FIELD, clamp_wait, rate_limits_spent};
use crate::{Job, JobError, Processor, QueueError, QueueSettings, TenantSlots};

/// How long to wait before fetching again after a fetch failed (ms).
const RUN_RETRY_DELAY_MS: u64 = 1_000;

/// A bullmq worker over one queue.
pub struct Worker {
    settings: QueueSettings,
}

impl Worker {
    /// Checks that Redis answers, so a wrong URL fails at start.
    pub async fn connect(settings: QueueSettings) -> Result<Self, QueueError> {
        let client = redis::Client::open(settings.redis_url.as_str()).map_err(QueueError::from)?;
        let mut conn = client.get_multiplexed_async_connection().await.map_err(QueueError::from)?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(QueueError::from)?;
        Ok(Self { settings })
    }

    /// Runs `processor` on the queue's jobs until `shutdown`, then lets
    /// in-flight jobs finish within the grace period.
    pub async fn run<P: Processor>(&self, processor: Arc<P>, shutdown: CancellationToken) -> Result<(), QueueError> {
        let s = &self.settings;
        tracing::info!(protocol = "bullmq", queue = %s.queue, prefix = %s.prefix, "Starting Bull-compatible worker");
        tracing::info!("Concurrency: {} workers", s.concurrency);
        let slots = s.tenant_slots();
        let slots_for_events = slots.clone();
        let client = redis::Client::open(s.redis_url.as_str()).map_err(QueueError::from)?;
        let failures = Failures {
            con: ConnectionManager::new(client).await.map_err(QueueError::from)?,
            key_prefix: s.key_prefix(),
        };
        let handler = {
            let shutdown = shutdown.clone();
            // `process` itself is the job's future: an `async` block awaiting
            // it kept its own copy of the captured job (~1 KiB per job in
            // flight) beside `process`'s.
            move |job: bullmq::Job, _cancel| {
                let context = JobShared {
                    processor: processor.clone(),
                    slots: slots.clone(),
                    failures: failures.clone(),
                    shutdown: shutdown.clone(),
                };
                process(context, job)
            }
        };
        let worker = bullmq::Worker::with_options(&s.queue, handler, self.options())
            .await
            .map_err(|e| QueueError::Protocol(e.to_string()))?;
        let worker = Arc::new(worker);
        // The crate queues an event per job; unread, they would grow without
        // bound. `Drained` is also how the pool learns the queue ran dry.
        let drain = tokio::spawn({
            let (worker, slots) = (worker.clone(), slots_for_events.clone());
            async move {
                while let Some(event) = worker.next_event().await {
                    match event {
                        bullmq::worker::WorkerEvent::Drained => slots.set_backlogged(false),
                        bullmq::worker::WorkerEvent::Stalled { job_id } => {
                            tracing::warn!(job.id = %job_id, "stalled job moved back to wait")
                        }
                        _ => {}
                    }
                }
            }
        });
        shutdown.cancelled().await;
        tracing::info!(grace = ?s.shutdown_grace, "shutting down: finishing in-flight jobs");
        let result = worker.close(s.shutdown_grace.as_millis() as u64).await;
        drain.abort();
        slots_for_events.set_backlogged(false);
        result.map_err(|e| QueueError::Protocol(e.to_string()))
    }

    fn options(&self) -> WorkerOptions {
        let s = &self.settings;
        WorkerOptions {
            connection: RedisConnectionOptions::new().url(s.redis_url.clone()),
            prefix: s.prefix.clone(),
            name: Some("lingo".into()),
            concurrency: s.concurrency,
            lock_duration: s.lock_duration.as_millis() as u64,
            stalled_interval: s.stalled_interval.as_millis() as u64,
            max_stalled_count: s.max_stalled_count,
            // After a failed fetch (Redis gone) the crate sleeps this long; its
            // default, Node's 15 s, stalls the worker 15 s after every blip.
            run_retry_delay: RUN_RETRY_DELAY_MS,
            ..WorkerOptions::default()
        }
    }
}

/// What every job's future shares.
struct JobShared<P> {
    processor: Arc<P>,
    slots: TenantSlots,
    failures: Failures,
    shutdown: CancellationToken,
}

async fn process<P: Processor>(context: JobShared<P>, job: bullmq::Job) -> Result<serde_json::Value, BullMqError> {
    let JobShared { processor, slots, failures, shutdown } = context;
    let ours = Job {
        id: job.id().to_string(),
        name: job.name().to_string(),
        data: job.data().to_string(),
        attempts_made: job.attempts_made(),
        timestamp: job.timestamp(),
    };
    // A fetched job means the queue has more, likely: keep this tenant's
    // share of freed slots for it until the crate reports the queue drained.
    slots.set_backlogged(true);
    // The crate has fetched the job already (it fetches up to `concurrency`,
    // the tenant's `max_slots`); in a shared pool the job waits here, locked
    // and renewed, until the pool grants this tenant a slot.
    let slot = tokio::select! {
        slot = slots.acquire() => slot,
        // Not started yet: back to the queue at once, without using an attempt.
        _ = shutdown.cancelled() => {
            return match job.move_to_delayed(now_ms()).await {
                Ok(()) => Err(BullMqError::Delayed),
                Err(err) => Err(BullMqError::ProcessingError(format!("worker stopping before the job started ({err})"))),
            };
        }
    };
    let result = match failures.stored_data(&job).await {
        Err(reason) => {
            tracing::warn!(job.id = %ours.id, "[slot-{}] job {} has bad data: {reason}", slot.index(), ours.id);
            Err(JobError::Fatal(reason))
        }
        Ok(Some(raw)) => processor.process(&Job { data: raw, ..ours.clone() }, slot.index()).await,
        Ok(None) => processor.process(&ours, slot.index()).await,
    };
    drop(slot);
    match result {
        Ok(value) => Ok(value),
        Err(JobError::Fatal(message)) => {
            failures.record(&job, &message).await;
            Err(BullMqError::Unrecoverable(message))
        }
        Err(JobError::Retryable(message)) => {
            failures.record(&job, &message).await;
            Err(BullMqError::ProcessingError(message))
        }
        Err(JobError::RateLimited { message, retry_after }) => {
            let runs = failures.count_rate_limit(&job).await;
            if runs > FREE_RATE_LIMITS {
                let message = rate_limits_spent(&message);
                failures.record(&job, &message).await;
                return Err(BullMqError::ProcessingError(message));
            }
            let retry_after = clamp_wait(retry_after);
            let due = now_ms().saturating_add(retry_after.as_millis() as u64);
            match job.move_to_delayed(due).await {
                Ok(()) => {
                    tracing::debug!(job.id = %ours.id, ?retry_after, "rate limited: back to delayed");
                    Err(BullMqError::Delayed)
                }
                Err(err) => Err(BullMqError::ProcessingError(format!("{message} (and could not delay: {err})"))),
            }
        }
    }
}

/// Records a failed attempt's `failedReason` and appends to its `stacktrace`
/// (keeping the job's `stackTraceLimit`), only while this worker still holds
/// the job's lock; the crate then retries, delays or fails the job. Node's
/// worker writes the same fields in its retry/fail script.
/// KEYS: 1 job hash, 2 job lock. ARGV: 1 lock token, 2 reason, 3 stack line.
static RECORD_FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call("GET", KEYS[2]) ~= ARGV[1] then return 0 end
local lines = {}
local raw = redis.call("HGET", KEYS[1], "stacktrace")
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == "table" then lines = decoded end
end
table.insert(lines, ARGV[3])
local ok, opts = pcall(cjson.decode, redis.call("HGET", KEYS[1], "opts") or "{}")
local limit = ok and type(opts) == "table" and tonumber(opts["stackTraceLimit"])
if limit then
  while #lines > math.max(limit, 0) do table.remove(lines, 1) end
end
local text = #lines == 0 and "[]" or cjson.encode(lines)
redis.call("HSET", KEYS[1], "failedReason", ARGV[2], "stacktrace", text)
return 1
"#,
    )
});

/// Where failed attempts are recorded (see [`RECORD_FAILURE`]).
#[derive(Clone)]
struct Failures {
    con: ConnectionManager,
    /// `<prefix>:<queue>:`.
    key_prefix: String,
}

impl Failures {
    /// Counts one more rate-limited run of `job` in its hash; how many so
    /// far. Should Redis not answer, the run is counted as free.
    async fn count_rate_limit(&self, job: &bullmq::Job) -> u32 {
        let key = format!("{}{}", self.key_prefix, job.id());
        let mut command = redis::cmd("HINCRBY");
        command.arg(&key).arg(RATE_LIMITED_FIELD).arg(1);
        command.query_async::<u32>(&mut self.con.clone()).await.unwrap_or(0)
    }

    /// The job's data as stored, when the crate's reading of it cannot be
    /// trusted; or why it cannot be processed at all. The crate reads the
    /// hash lossily and turns data it cannot parse into `null`; only then,
    /// or when the text holds U+FFFD (the mark of a lossy read), is the
    /// field read again, as bytes, so the failure says exactly what is wrong
    /// (missing, not UTF-8, not JSON) instead of "found null".
    async fn stored_data(&self, job: &bullmq::Job) -> Result<Option<String>, String> {
        let data = job.data();
        let lossy = data.get("text").and_then(|t| t.as_str()).is_some_and(|t| t.contains('\u{FFFD}'));
        if !data.is_null() && !lossy {
            return Ok(None);
        }
        let key = format!("{}{}", self.key_prefix, job.id());
        let mut read = redis::cmd("HGET");
        read.arg(&key).arg("data");
        // Cannot look: let the processor judge what the crate gave.
        let Ok(raw) = read.query_async::<Option<Vec<u8>>>(&mut self.con.clone()).await else { return Ok(None) };
        match crate::job::undecodable(raw.as_deref()) {
            Some(reason) => Err(reason),
            None => Ok(raw.map(|bytes| String::from_utf8(bytes).expect("checked UTF-8"))),
        }
    }

    /// Best effort: a failure to record is logged, and the job's outcome
    /// is still handed to the crate.
    async fn record(&self, job: &bullmq::Job, reason: &str) {
        let Some(token) = job.token() else { return };
        let key = format!("{}{}", self.key_prefix, job.id());
        let written: Result<i64, _> = RECORD_FAILURE
            .key(&key)
            .key(format!("{key}:lock"))
            .arg(token)
            .arg(reason)
            .arg(format!("Error: {reason}"))
            .invoke_async(&mut self.con.clone())
            .await;
        if let Err(err) = written {
            tracing::warn!(job.id = %job.id(), error = %err, "could not record the failed attempt's reason");
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis() as u64
}
