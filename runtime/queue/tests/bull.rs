//! The bull v4 worker against a real `redis-server`, fed by a producer that
//! writes exactly what npm bull's `Queue.add` writes (spec A3). The real npm
//! producer is exercised by the Node interop tests, not here.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use lingo_queue::bull::Worker;
use lingo_queue::{Job, JobError, Processor, QueueError, QueueSettings};
use lingo_testkit::RedisServer;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const QUEUE: &str = "translation-jobs";
const BASE: &str = "bull:translation-jobs:";
/// Generous: these tests assert outcomes, never speed.
const PATIENCE: Duration = Duration::from_secs(30);

fn key(name: &str) -> String {
    format!("{BASE}{name}")
}

// ---------------------------------------------------------------- producer

/// bull's add, as a script of our own: INCR id, HMSET the job, then delayed,
/// or wait/paused with bull's priority insertion, then `waiting@` (spec A3).
const ADD: &str = r#"
local id = tostring(redis.call("INCR", KEYS[1]))
local jobKey = ARGV[1] .. id
redis.call("HMSET", jobKey, "name", ARGV[2], "data", ARGV[3], "opts", ARGV[4],
  "timestamp", ARGV[5], "delay", ARGV[6], "priority", ARGV[7])
local delay = tonumber(ARGV[6])
local priority = tonumber(ARGV[7])
if delay > 0 then
  local due = tonumber(ARGV[5]) + delay
  redis.call("ZADD", KEYS[6], due * 4096 + bit.band(tonumber(id), 4095), id)
  redis.call("PUBLISH", KEYS[6], due)
else
  local list = KEYS[2]
  if redis.call("EXISTS", KEYS[4]) == 1 then list = KEYS[3] end
  if priority == 0 then
    if ARGV[8] == "1" then redis.call("RPUSH", list, id) else redis.call("LPUSH", list, id) end
  else
    redis.call("ZADD", KEYS[5], priority, id)
    local count = redis.call("ZCOUNT", KEYS[5], 0, priority)
    local pivot = redis.call("LINDEX", list, redis.call("LLEN", list) - (count - 1))
    if pivot then redis.call("LINSERT", list, "BEFORE", pivot, id) else redis.call("RPUSH", list, id) end
  end
end
redis.call("PUBLISH", ARGV[1] .. "waiting@producer", id)
return id
"#;

/// Adds a job with `data` and extra `opts` (merged over bull's defaults);
/// returns its id.
async fn add(con: &mut MultiplexedConnection, data: Value, extra_opts: Value) -> String {
    let now = now_ms();
    let mut opts = json!({ "attempts": 1, "delay": 0, "timestamp": now });
    if let (Some(opts), Some(extra)) = (opts.as_object_mut(), extra_opts.as_object()) {
        opts.extend(extra.clone());
    }
    if let Some(Value::Number(n)) = opts.get("backoff").cloned() {
        opts["backoff"] = json!({ "type": "fixed", "delay": n });
    }
    let int = |name: &str| opts.get(name).and_then(Value::as_i64).unwrap_or(0);
    let (delay, priority) = (int("delay"), int("priority"));
    let lifo = if opts.get("lifo") == Some(&json!(true)) { "1" } else { "0" };
    let script = redis::Script::new(ADD);
    let mut call = script.key(key("id"));
    call.key(key("wait")).key(key("paused")).key(key("meta-paused")).key(key("priority")).key(key("delayed"));
    call.arg(BASE).arg("__default__").arg(data.to_string()).arg(opts.to_string());
    call.arg(now).arg(delay).arg(priority).arg(lifo);
    call.invoke_async(con).await.expect("add job")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

// ---------------------------------------------------------------- processor

type Handler = dyn Fn(Job, usize) -> BoxFuture<'static, Result<Value, JobError>> + Send + Sync;

/// A processor that records every call and answers with `handler(job, n)`,
/// n being how many times this job id has been run, counting this one.
struct Recorder {
    calls: Mutex<Vec<Job>>,
    handler: Box<Handler>,
}

impl Recorder {
    fn new<F, Fut>(handler: F) -> Arc<Self>
    where
        F: Fn(Job, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
    {
        let handler: Box<Handler> = Box::new(move |job, n| Box::pin(handler(job, n)));
        Arc::new(Self { calls: Mutex::new(Vec::new()), handler })
    }

    fn calls(&self) -> Vec<Job> {
        self.calls.lock().unwrap().clone()
    }
}

impl Processor for Recorder {
    fn process(&self, job: &Job, _slot: usize) -> impl Future<Output = Result<Value, JobError>> + Send {
        let mut calls = self.calls.lock().unwrap();
        calls.push(job.clone());
        let n = calls.iter().filter(|c| c.id == job.id).count();
        (self.handler)(job.clone(), n)
    }
}

// ---------------------------------------------------------------- worker

fn settings(url: &str) -> QueueSettings {
    let mut settings = QueueSettings::new(url);
    settings.queue = QUEUE.into();
    settings.concurrency = 1;
    settings.lock_duration = Duration::from_millis(1000);
    settings.stalled_interval = Duration::from_millis(500);
    settings.drain_delay = Duration::from_secs(1);
    settings.shutdown_grace = Duration::from_secs(10);
    settings
}

struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), QueueError>>,
}

async fn start(settings: QueueSettings, processor: Arc<Recorder>) -> Running {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let worker = Worker::connect(settings).await.expect("worker connects");
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(async move { worker.run(processor, token).await });
    Running { shutdown, task }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(PATIENCE, self.task).await;
        stopped.expect("worker stops").expect("worker task").expect("worker run");
    }
}

// ---------------------------------------------------------------- helpers

async fn connect(server: &RedisServer) -> MultiplexedConnection {
    let client = redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Subscribes to `channel` and returns the stream of payloads.
async fn subscribe(server: &RedisServer, channel: &str) -> impl futures::Stream<Item = String> + Unpin + use<> {
    let client = redis::Client::open(server.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(channel).await.unwrap();
    pubsub.into_on_message().map(|m| m.get_payload::<String>().unwrap())
}

async fn next_message(stream: &mut (impl futures::Stream<Item = String> + Unpin)) -> Value {
    let payload = tokio::time::timeout(PATIENCE, stream.next()).await.expect("a message in time").unwrap();
    serde_json::from_str(&payload).expect("message is JSON")
}

/// Polls `check` until it holds or PATIENCE runs out.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + PATIENCE;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn field(con: &mut MultiplexedConnection, id: &str, name: &str) -> Option<String> {
    con.hget(key(id), name).await.unwrap()
}

async fn in_set(con: &mut MultiplexedConnection, set: &str, id: &str) -> bool {
    let score: Option<f64> = con.zscore(key(set), id).await.unwrap();
    score.is_some()
}

fn finished(con: &MultiplexedConnection, set: &'static str, id: &str) -> impl FnMut() -> BoxFuture<'static, bool> {
    let con = con.clone();
    let id = id.to_owned();
    move || {
        let mut con = con.clone();
        let id = id.clone();
        Box::pin(async move { in_set(&mut con, set, &id).await })
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_fast_when_redis_is_down() {
    let url = format!("redis://127.0.0.1:{}", lingo_testkit::free_port());
    let started = Instant::now();
    let result = Worker::connect(settings(&url)).await;
    assert!(matches!(result, Err(QueueError::Connect { .. })), "got {result:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completes_with_returnvalue_and_publishes_it() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let mut completed = subscribe(&server, &key("completed")).await;
    let processor = Recorder::new(|job, _| async move {
        let data: Value = serde_json::from_str(&job.data).unwrap();
        Ok(json!({ "doubled": data["n"].as_i64().unwrap() * 2, "text": "héllo \"q\"" }))
    });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({ "n": 21 }), json!({})).await;

    let message = next_message(&mut completed).await;
    assert_eq!(message["jobId"], json!(id));
    let val = message["val"].as_str().expect("val is a JSON string");
    assert_eq!(serde_json::from_str::<Value>(val).unwrap(), json!({ "doubled": 42, "text": "héllo \"q\"" }));

    eventually("the job is in completed", finished(&con, "completed", &id)).await;
    let returnvalue = field(&mut con, &id, "returnvalue").await.unwrap();
    assert_eq!(returnvalue, val);
    let processed: u64 = field(&mut con, &id, "processedOn").await.unwrap().parse().unwrap();
    let finished_on: u64 = field(&mut con, &id, "finishedOn").await.unwrap().parse().unwrap();
    assert!(processed <= finished_on);
    assert_eq!(field(&mut con, &id, "attemptsMade").await, None, "untouched on success");
    assert_eq!(con.llen::<_, usize>(key("active")).await.unwrap(), 0);
    assert!(!con.exists::<_, bool>(key(&format!("{id}:lock"))).await.unwrap());
    assert_eq!(processor.calls()[0].attempts_made, 0);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_job_is_promoted_when_due() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let worker = start(settings(&server.url()), Recorder::new(|_, _| async { Ok(Value::Null) })).await;
    let id = add(&mut con, json!({}), json!({ "delay": 800 })).await;

    eventually("the delayed job completes", finished(&con, "completed", &id)).await;
    let timestamp: u64 = field(&mut con, &id, "timestamp").await.unwrap().parse().unwrap();
    let processed: u64 = field(&mut con, &id, "processedOn").await.unwrap().parse().unwrap();
    assert!(processed >= timestamp + 800, "ran {} ms after creation", processed - timestamp);
    assert_eq!(field(&mut con, &id, "delay").await.as_deref(), Some("0"));
    assert_eq!(field(&mut con, &id, "returnvalue").await.as_deref(), Some("null"));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_exponential_backoff_then_fails() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let mut failed = subscribe(&server, &key("failed")).await;
    let processor = Recorder::new(|_, n| async move { Err(JobError::Retryable(format!("boom {n}"))) });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let opts = json!({ "attempts": 3, "backoff": { "type": "exponential", "delay": 200 } });
    let id = add(&mut con, json!({}), opts).await;

    let message = next_message(&mut failed).await;
    assert_eq!(message, json!({ "jobId": id, "val": "boom 3" }));
    assert!(in_set(&mut con, "failed", &id).await);
    assert_eq!(field(&mut con, &id, "attemptsMade").await.as_deref(), Some("3"));
    assert_eq!(field(&mut con, &id, "failedReason").await.as_deref(), Some("boom 3"));
    let stacktrace: Vec<String> = serde_json::from_str(&field(&mut con, &id, "stacktrace").await.unwrap()).unwrap();
    assert_eq!(stacktrace.len(), 3);
    let calls = processor.calls();
    assert_eq!(calls.iter().map(|c| c.attempts_made).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(con.zcard::<_, usize>(key("delayed")).await.unwrap(), 0);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_retry_without_backoff_then_success() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, n| async move {
        if n == 1 { Err(JobError::Retryable("first fails".into())) } else { Ok(json!("ok2")) }
    });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({}), json!({ "attempts": 2 })).await;

    eventually("the retried job completes", finished(&con, "completed", &id)).await;
    assert_eq!(field(&mut con, &id, "returnvalue").await.as_deref(), Some("\"ok2\""));
    assert_eq!(field(&mut con, &id, "attemptsMade").await.as_deref(), Some("1"));
    assert_eq!(processor.calls().len(), 2);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fatal_fails_at_once() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let mut failed = subscribe(&server, &key("failed")).await;
    let processor = Recorder::new(|_, _| async { Err(JobError::Fatal("bad input".into())) });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({}), json!({ "attempts": 5, "backoff": 100 })).await;

    assert_eq!(next_message(&mut failed).await, json!({ "jobId": id, "val": "bad input" }));
    assert_eq!(field(&mut con, &id, "attemptsMade").await.as_deref(), Some("1"));
    assert_eq!(field(&mut con, &id, "failedReason").await.as_deref(), Some("bad input"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(processor.calls().len(), 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_runs_again_without_using_an_attempt() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, n| async move {
        if n == 1 {
            Err(JobError::RateLimited { message: "429".into(), retry_after: Duration::from_millis(300) })
        } else {
            Ok(json!({ "ok": true }))
        }
    });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({}), json!({})).await;

    eventually("the rate-limited job completes", finished(&con, "completed", &id)).await;
    let calls = processor.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].attempts_made, 0, "no attempt used");
    assert_eq!(field(&mut con, &id, "attemptsMade").await, None);
    // Why it waited stays, as a retried job's last reason does in bull.
    let reason = field(&mut con, &id, "failedReason").await;
    assert_eq!(reason.as_deref(), Some("rate limited; runs again in 0.5 s: 429"));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prioritized_jobs_run_first_lowest_number_first() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    for (name, priority) in [("n1", 0), ("n2", 0), ("p10", 10), ("p1", 1), ("n3", 0), ("p5", 5)] {
        add(&mut con, json!({ "name": name }), json!({ "priority": priority })).await;
    }
    let processor = Recorder::new(|_, _| async { Ok(Value::Null) });
    let worker = start(settings(&server.url()), processor.clone()).await;

    let done = processor.clone();
    eventually("all six ran", move || {
        let n = done.calls().len();
        async move { n == 6 }
    })
    .await;
    let order: Vec<String> = processor
        .calls()
        .iter()
        .map(|job| serde_json::from_str::<Value>(&job.data).unwrap()["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, ["p1", "p5", "p10", "n1", "n2", "n3"]);
    assert_eq!(con.zcard::<_, usize>(key("priority")).await.unwrap(), 0);
    worker.stop().await;
}

/// Scripts run by Redis since the last `CONFIG RESETSTAT`.
async fn scripts_run(con: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(con).await.unwrap();
    info.lines()
        .filter(|line| line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:"))
        .filter_map(|line| line.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_completion_takes_the_next_job_in_the_same_script() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(add(&mut con, json!({ "n": n }), json!({})).await);
    }
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut con).await.unwrap();
    let processor = Recorder::new(|_, _| async { Ok(Value::Null) });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let last = ids.last().unwrap().clone();
    eventually("all 60 completed", finished(&con, "completed", &last)).await;

    let order: Vec<String> = processor.calls().iter().map(|job| job.id.clone()).collect();
    assert_eq!(order, ids, "FIFO, each once");
    // One script per job (plus the first fetch and housekeeping), where a
    // separate fetch would make it two.
    let scripts = scripts_run(&mut con).await;
    assert!(scripts < 60 + 15, "{scripts} scripts for 60 jobs");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_queue_is_not_taken_until_resumed() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, _| async { Ok(Value::Null) });
    let worker = start(settings(&server.url()), processor.clone()).await;

    // bull's queue.pause(): RENAME wait→paused (if any), meta-paused, meta.
    if con.exists::<_, bool>(key("wait")).await.unwrap() {
        let _: () = con.rename(key("wait"), key("paused")).await.unwrap();
    }
    let _: () = con.set(key("meta-paused"), 1).await.unwrap();
    let _: usize = con.hset(key("meta"), "paused", 1).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(add(&mut con, json!({ "n": n }), json!({})).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(processor.calls().is_empty(), "nothing runs while paused");
    assert_eq!(con.llen::<_, usize>(key("paused")).await.unwrap(), 3);

    // queue.resume(): RENAME paused→wait, clear the flags.
    let _: () = con.rename(key("paused"), key("wait")).await.unwrap();
    let _: usize = con.del(key("meta-paused")).await.unwrap();
    let _: usize = con.hdel(key("meta"), "paused").await.unwrap();
    for id in &ids {
        eventually("resumed jobs complete", finished(&con, "completed", id)).await;
    }
    assert_eq!(processor.calls().len(), 3);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_on_complete_deletes_the_job_but_still_publishes() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let mut completed = subscribe(&server, &key("completed")).await;
    let worker = start(settings(&server.url()), Recorder::new(|_, _| async { Ok(json!(7)) })).await;
    let id = add(&mut con, json!({}), json!({ "removeOnComplete": true })).await;

    assert_eq!(next_message(&mut completed).await, json!({ "jobId": id, "val": "7" }));
    eventually("the job hash is deleted", || {
        let mut con = con.clone();
        let id = id.clone();
        async move { !con.exists::<_, bool>(key(&id)).await.unwrap() }
    })
    .await;
    assert_eq!(con.zcard::<_, usize>(key("completed")).await.unwrap(), 0);
    assert_eq!(con.llen::<_, usize>(key("active")).await.unwrap(), 0);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_job_of_a_crashed_worker_is_recovered() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let mut stalled = subscribe(&server, &key("stalled@")).await;
    let id = add(&mut con, json!({}), json!({})).await;
    // A worker took the job and died: in active, its lock about to expire.
    let _: Option<String> = con.rpoplpush(key("wait"), key("active")).await.unwrap();
    let _: () = con.pset_ex(key(&format!("{id}:lock")), "dead-worker", 300).await.unwrap();
    let processor = Recorder::new(|_, _| async { Ok(json!("recovered")) });
    let worker = start(settings(&server.url()), processor.clone()).await;

    let recovered = tokio::time::timeout(PATIENCE, stalled.next()).await.unwrap().unwrap();
    assert_eq!(recovered, id);
    eventually("the stalled job completes", finished(&con, "completed", &id)).await;
    assert_eq!(field(&mut con, &id, "stalledCounter").await.as_deref(), Some("1"));
    assert_eq!(processor.calls().len(), 1);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_a_long_job_that_keeps_its_lock() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let signal = started.clone();
    // Runs 3× the lock duration: only renewal keeps the stalled check away.
    let processor = Recorder::new(move |_, _| {
        let signal = signal.clone();
        async move {
            signal.notify_one();
            tokio::time::sleep(Duration::from_millis(3000)).await;
            Ok(json!("done"))
        }
    });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({}), json!({})).await;

    tokio::time::timeout(PATIENCE, started.notified()).await.expect("job started");
    worker.stop().await;
    assert!(in_set(&mut con, "completed", &id).await, "finished before run returned");
    assert_eq!(field(&mut con, &id, "returnvalue").await.as_deref(), Some("\"done\""));
    assert_eq!(field(&mut con, &id, "stalledCounter").await, None, "never stalled");
    assert_eq!(processor.calls().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_started_at_different_times_all_keep_their_locks() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    // Each runs 3× the lock duration; one renewal task serves both, and the
    // second job starts between two of its rounds.
    let processor = Recorder::new(|_, _| async {
        tokio::time::sleep(Duration::from_millis(3000)).await;
        Ok(json!("done"))
    });
    let mut settings = settings(&server.url());
    settings.concurrency = 2;
    let worker = start(settings, processor.clone()).await;
    let first = add(&mut con, json!({ "n": 1 }), json!({})).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = add(&mut con, json!({ "n": 2 }), json!({})).await;

    for id in [&first, &second] {
        eventually("the job completes", finished(&con, "completed", id)).await;
        assert_eq!(field(&mut con, id, "stalledCounter").await, None, "job {id} never stalled");
    }
    assert_eq!(processor.calls().len(), 2, "each job ran once");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_grace_leaves_an_unfinished_job_in_active() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, _| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(Value::Null)
    });
    let mut settings = settings(&server.url());
    settings.shutdown_grace = Duration::from_millis(500);
    let worker = start(settings, processor.clone()).await;
    let id = add(&mut con, json!({}), json!({})).await;

    let calls = processor.clone();
    eventually("the job started", move || {
        let n = calls.calls().len();
        async move { n == 1 }
    })
    .await;
    worker.stop().await;
    let active: Vec<String> = con.lrange(key("active"), 0, -1).await.unwrap();
    assert_eq!(active, vec![id.clone()]);
    assert!(!in_set(&mut con, "failed", &id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_redis_restart() {
    let mut server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, _| async { Ok(json!("ok")) });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let first = add(&mut con, json!({ "before": true }), json!({})).await;
    eventually("the first job completes", finished(&con, "completed", &first)).await;

    // Down for a while (the worker backs off), then back, empty.
    tokio::task::block_in_place(|| {
        server.stop();
        std::thread::sleep(Duration::from_millis(1500));
        server.restart();
    });
    let mut con = connect(&server).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(add(&mut con, json!({ "after": n }), json!({})).await);
    }
    for id in &ids {
        eventually("jobs added after the restart complete", finished(&con, "completed", id)).await;
    }
    assert_eq!(processor.calls().len(), 4);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_is_written_after_connections_drop_mid_job() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let signal = started.clone();
    let processor = Recorder::new(move |_, _| {
        let signal = signal.clone();
        async move {
            signal.notify_one();
            tokio::time::sleep(Duration::from_millis(1000)).await;
            Ok(json!("survived"))
        }
    });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({}), json!({})).await;

    tokio::time::timeout(PATIENCE, started.notified()).await.expect("job started");
    // Every worker connection is cut while the job runs; no data is lost.
    let _: String = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .arg("SKIPME")
        .arg("yes")
        .query_async::<i64>(&mut con)
        .await
        .unwrap()
        .to_string();
    eventually("the job completes anyway", finished(&con, "completed", &id)).await;
    assert_eq!(field(&mut con, &id, "returnvalue").await.as_deref(), Some("\"survived\""));
    let next = add(&mut con, json!({}), json!({})).await;
    eventually("later jobs complete too", finished(&con, "completed", &next)).await;
    assert_eq!(processor.calls().len(), 2);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_worker_stops_without_waiting_out_its_blocking_fetch() {
    let server = RedisServer::start();
    let mut settings = settings(&server.url());
    settings.drain_delay = Duration::from_secs(60);
    let worker = start(settings, Recorder::new(|_, _| async { Ok(Value::Null) })).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stopping = Instant::now();
    worker.stop().await;
    assert!(stopping.elapsed() < Duration::from_secs(20), "blocked fetch was unblocked");
}

/// Before: the hash could not be read as text, the fetch failed as if Redis
/// were down, and stalled recovery put the job back to fail again for ever,
/// with every job behind it waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_data_that_is_not_utf8_fails_that_job_and_the_queue_goes_on() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, _| async { Ok(json!({ "ok": true })) });
    // The hashes are rewritten before any worker runs, so none can take a job first.
    let bad = add(&mut con, json!({ "text": "placeholder" }), json!({ "attempts": 3 })).await;
    let _: () = con.hset(key(&bad), "data", b"{\"text\":\"\xff\xfe\"}".as_slice()).await.unwrap();
    let missing = add(&mut con, json!({}), json!({})).await;
    let _: () = con.hdel(key(&missing), "data").await.unwrap();
    let good = add(&mut con, json!({ "text": "fine" }), json!({})).await;
    let worker = start(settings(&server.url()), processor.clone()).await;

    eventually("the good job behind them completes", finished(&con, "completed", &good)).await;
    eventually("the bad job failed", finished(&con, "failed", &bad)).await;
    eventually("the job without data failed", finished(&con, "failed", &missing)).await;
    let reason = field(&mut con, &bad, "failedReason").await.unwrap();
    assert!(reason.contains("not UTF-8") && reason.contains("byte 9"), "{reason}");
    assert_eq!(
        field(&mut con, &bad, "attemptsMade").await.as_deref(),
        Some("1"),
        "fails at once, whatever its attempts"
    );
    assert!(field(&mut con, &missing, "failedReason").await.unwrap().contains("no `data` field"));
    assert!(processor.calls().iter().all(|job| job.id == good), "the processor never saw the bad jobs");
    worker.stop().await;
}

/// Before: `Retry-After: 0` ran a job hundreds of times a second without
/// spending an attempt, and a huge one parked it in delayed for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_rate_limited_without_end_spends_its_attempts_and_fails() {
    let server = RedisServer::start();
    let mut con = connect(&server).await;
    let processor = Recorder::new(|_, _| async {
        Err(JobError::RateLimited { message: "429 from the backend".into(), retry_after: Duration::ZERO })
    });
    let worker = start(settings(&server.url()), processor.clone()).await;
    let id = add(&mut con, json!({}), json!({ "attempts": 2 })).await;

    // 20 free runs at the 500 ms floor, then two runs that spend attempts.
    let slow = || async { tokio::time::sleep(Duration::from_millis(50)).await };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !in_set(&mut con, "failed", &id).await {
        assert!(Instant::now() < deadline, "the job never failed");
        slow().await;
    }
    let runs = processor.calls().len();
    assert_eq!(runs, lingo_queue::FREE_RATE_LIMITS as usize + 2, "free runs, then its 2 attempts");
    let reason = field(&mut con, &id, "failedReason").await.unwrap();
    assert!(
        reason.contains(
            "429 from the backend (rate limited more than 20 times: each rate limit now counts as a failed attempt)"
        ),
        "{reason}"
    );
    worker.stop().await;
}
