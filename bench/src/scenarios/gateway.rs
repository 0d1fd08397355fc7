//! Scenario 4: the gateway end to end. `lingo gateway` and a `lingo run`
//! worker (concurrency `plan.open_loop_concurrency`) share one queue; a Rust
//! client POSTs cache-hit lines to `/api/v1/translate` at a fixed rate for
//! `plan.gateway_seconds`. The client sends open loop (a slow answer never
//! delays the next request), so latency is what a chat user would see: the
//! HTTP round trip, from sending the request to reading the whole answer.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::Bench;
use crate::data::{self, Pipeline};
use crate::procs::{Proc, Stream};
use crate::stats::{Spread, percentile};
use crate::workers::{self, Launch, Protocol, Worker};

/// How long a request may take before it counts as an error: the seed
/// gateway's own wait for a job.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One rep at one rate.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub sent: u64,
    /// Answered 200 with a translation.
    pub ok: u64,
    pub errors: u64,
    /// Requests sent per second, as achieved by the client.
    pub sent_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The first error's status or message, to tell a reader what went wrong.
    pub first_error: Option<String>,
    /// CPU of gateway and worker together, per request.
    pub cpu_us_per_request: f64,
}

/// The gateway at one rate, over one protocol, the worker in one instance mode.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub rate: u64,
    pub runs: Vec<Measured>,
}

impl Row {
    pub fn spread(&self, metric: impl Fn(&Measured) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let mut rows: Vec<Row> = Protocol::ALL
        .iter()
        .flat_map(|&protocol| {
            plan.gateway_rates
                .iter()
                .flat_map(move |&rate| Worker::LINGO.map(|worker| Row { protocol, worker, rate, runs: Vec::new() }))
        })
        .collect();
    let bar = bench.progress.scenario("gateway", rows.len() * plan.reps);
    for rep in 0..plan.reps {
        for row in rows.iter_mut() {
            let queue = data::queue_name(&[
                "gw",
                row.protocol.id(),
                row.worker.id(),
                &row.rate.to_string(),
                &format!("r{rep}"),
            ]);
            bar.set_message(format!("{} {} {}/s rep {}", row.protocol.id(), row.worker.label(), row.rate, rep + 1));
            let m = measure(bench, row.protocol, row.worker, &queue, row.rate)?;
            bench.progress.line(format!(
                "gateway {:<6} {:<22} {:>5}/s rep {}: {} ok, {} errors, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                row.protocol.id(),
                row.worker.label(),
                row.rate,
                rep + 1,
                m.ok,
                m.errors,
                m.p50_ms,
                m.p99_ms,
                m.max_ms
            ));
            row.runs.push(m);
            bar.inc(1);
        }
    }
    bar.finish();
    Ok(rows)
}

fn measure(bench: &mut Bench, protocol: Protocol, worker: Worker, queue: &str, rate: u64) -> anyhow::Result<Measured> {
    let plan = &bench.plan;
    let concurrency = plan.open_loop_concurrency;
    let launch = Launch::cache_hit(worker, protocol, queue, concurrency);
    let mut worker = workers::start(&bench.paths, &bench.redis_url, launch)?;
    let config = data::lingo_config(
        &bench.paths,
        &bench.redis_url,
        protocol,
        queue,
        concurrency,
        Pipeline::CacheHit,
        Default::default(),
    )?;
    let port = lingo_testkit::free_port();
    let mut command = Command::new(&bench.paths.lingo);
    command.arg("gateway").arg("--config").arg(&config).arg("--listen").arg(format!("127.0.0.1:{port}"));
    let mut gateway = Proc::spawn(&format!("{queue}-gateway"), command, &data::logs(&bench.paths))?;
    gateway.wait_ready("gateway listening", Stream::Stderr, Duration::from_secs(30))?;

    let lines: Vec<String> = (0..plan.jobs).map(data::line).collect();
    let url = format!("http://127.0.0.1:{port}/api/v1/translate");
    let cpu0 = worker.cpu_seconds()? + gateway.cpu_seconds()?;
    let answers = send_at_rate(&url, lines, rate, plan.gateway_seconds)?;
    let cpu1 = worker.cpu_seconds()? + gateway.cpu_seconds()?;
    gateway.check_alive()?;
    worker.check_alive()?;
    gateway.stop(Duration::from_secs(5));
    worker.stop(Duration::from_secs(10));
    bench.probe.delete_queue(queue)?;
    Ok(answers.summarize(cpu1 - cpu0))
}

/// What the client saw.
struct Answers {
    sent: u64,
    elapsed: Duration,
    /// Latencies of the requests answered 200 with a translation, in µs.
    ok_us: Vec<u64>,
    errors: Vec<String>,
}

impl Answers {
    fn summarize(mut self, cpu_seconds: f64) -> Measured {
        self.ok_us.sort_unstable();
        let ms = |p: f64| percentile(&self.ok_us, p) as f64 / 1000.0;
        Measured {
            sent: self.sent,
            ok: self.ok_us.len() as u64,
            errors: self.errors.len() as u64,
            sent_per_s: self.sent as f64 / self.elapsed.as_secs_f64(),
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            max_ms: self.ok_us.last().copied().unwrap_or(0) as f64 / 1000.0,
            first_error: self.errors.first().cloned(),
            cpu_us_per_request: cpu_seconds * 1e6 / self.sent.max(1) as f64,
        }
    }
}

/// POSTs one line every `1/rate` s for `seconds`, each on its own task, and
/// waits for every answer.
fn send_at_rate(url: &str, lines: Vec<String>, rate: u64, seconds: u64) -> anyhow::Result<Answers> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().context("HTTP client")?;
        let (url, lines) = (Arc::<str>::from(url), Arc::new(lines));
        let total = rate * seconds;
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let started = Instant::now();
        let mut requests = tokio::task::JoinSet::new();
        for i in 0..total as usize {
            ticks.tick().await;
            let (client, url, lines) = (client.clone(), url.clone(), lines.clone());
            requests.spawn(async move { translate(&client, &url, &lines[i % lines.len()]).await });
        }
        let elapsed = started.elapsed();
        let mut answers = Answers { sent: total, elapsed, ok_us: Vec::new(), errors: Vec::new() };
        while let Some(answer) = requests.join_next().await {
            match answer.context("request task")? {
                Ok(latency) => answers.ok_us.push(latency.as_micros() as u64),
                Err(error) => answers.errors.push(error),
            }
        }
        if answers.ok_us.is_empty() {
            bail!("the gateway answered no request: {:?}", answers.errors.first());
        }
        Ok(answers)
    })
}

/// One request; its latency, or why it did not give the known translation.
async fn translate(client: &reqwest::Client, url: &str, line: &str) -> Result<Duration, String> {
    let started = Instant::now();
    let body = serde_json::json!({ "text": line, "targetLanguages": [data::TARGET] });
    let response = client.post(url).json(&body).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    let latency = started.elapsed();
    if !status.is_success() {
        return Err(format!("{status}: {text}"));
    }
    match data::Check::CacheHit.problem(&body.to_string(), &text) {
        None => Ok(latency),
        Some(problem) => Err(problem),
    }
}
