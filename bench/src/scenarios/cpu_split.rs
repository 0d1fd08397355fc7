//! Scenario 5, second half: where lingo's CPU per cache-hit job goes. Per
//! protocol, concurrency (the throughput scenario's: the sandbox's share
//! grows with the instances in flight) and instance mode (warm instances, a
//! fresh one per call), lingo runs the throughput
//! scenario's pre-filled jobs twice in each rep: as measured everywhere else, and with
//! `cpu_accounting` on, whose `/metrics` (read once every job is finished)
//! splits the worker's CPU, read from `/proc`, into:
//!
//! - the queue and the rest: worker − jobs (the queue protocol, both Redis
//!   connections' I/O, the kv GET's included, tokio, the log);
//! - the job: jobs − stage calls (parsing the data, the pipeline, the return
//!   value);
//! - the sandbox: wasmtime and the guests (the guest's code; with fresh
//!   instances also a new store and instance per call and its drop);
//! - host calls: the `kv` and `log` calls the stages make.
//!
//! The two runs of a rep give the counting's own cost; a third, with
//! `job_log = false`, the cost of writing each job's stage trace as its log.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::Bench;
use super::run::{Measured, prefilled, prefilled_records};
use crate::data::{self, Check, LingoOptions};
use crate::stats::Spread;
use crate::workers::{Launch, Protocol, Worker};

/// One rep: the run without counting, the counted one with its split, and
/// one without the job log.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rep {
    pub plain: Measured,
    pub counted: Measured,
    pub split: Split,
    pub unlogged: Measured,
}

/// The runs of a rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Plain,
    Counted,
    Unlogged,
}

/// Worker CPU per job of a counted run, in µs, by part; the parts add up to
/// the counted run's `worker_cpu_us_per_job`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Split {
    pub queue_and_rest: f64,
    pub job: f64,
    pub sandbox: f64,
    pub host_calls: f64,
}

/// One protocol's reps, lingo in one instance mode.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub concurrency: usize,
    pub jobs: usize,
    pub runs: Vec<Rep>,
}

impl Row {
    pub fn spread(&self, metric: impl Fn(&Rep) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let mut rows: Vec<Row> = plan
        .throughput_concurrency
        .iter()
        .flat_map(|&concurrency| {
            Protocol::ALL.iter().flat_map(move |&protocol| {
                Worker::LINGO.map(|worker| Row { protocol, worker, concurrency, jobs: plan.jobs, runs: Vec::new() })
            })
        })
        .collect();
    let bar = bench.progress.scenario("cpu split", rows.len() * plan.reps);
    for rep in 0..plan.reps {
        for row in rows.iter_mut() {
            bar.set_message(format!(
                "{} {} c={} rep {}",
                row.protocol.id(),
                row.worker.label(),
                row.concurrency,
                rep + 1
            ));
            let runs = rep_of(bench, row, rep)?;
            bench.progress.line(format!(
                "cpu split {:<6} {:<22} c={:<3} rep {}: worker {:.1} µs/job ({:.1} uncounted): queue and the rest {:.1}, job {:.1}, sandbox {:.1}, host calls {:.1}",
                row.protocol.id(),
                row.worker.label(),
                row.concurrency,
                rep + 1,
                runs.counted.worker_cpu_us_per_job,
                runs.plain.worker_cpu_us_per_job,
                runs.split.queue_and_rest,
                runs.split.job,
                runs.split.sandbox,
                runs.split.host_calls
            ));
            row.runs.push(runs);
            bar.inc(1);
        }
    }
    bar.finish();
    Ok(rows)
}

/// The three runs of one rep, in turn first by rep.
fn rep_of(bench: &mut Bench, row: &Row, rep: usize) -> anyhow::Result<Rep> {
    let (protocol, worker, concurrency, jobs) = (row.protocol, row.worker, row.concurrency, row.jobs);
    let lines = bench.cache_lines.clone();
    let (mut plain, mut counted, mut unlogged) = (None, None, None);
    for run in super::rotated(&[Run::Plain, Run::Counted, Run::Unlogged], rep) {
        let kind = format!("{run:?}").to_lowercase();
        let queue =
            data::queue_name(&["cpu", protocol.id(), worker.id(), &concurrency.to_string(), &kind, &format!("r{rep}")]);
        let port = (run == Run::Counted).then(lingo_testkit::free_port);
        let lingo = LingoOptions { cpu_metrics: port, job_log: run != Run::Unlogged, ..LingoOptions::default() };
        let launch = Launch { lingo, ..Launch::cache_hit(worker, protocol, &queue, concurrency) };
        match (run, port) {
            (Run::Counted, Some(port)) => {
                let (measured, read, _) =
                    prefilled_records(bench, launch, &lines, jobs, Check::CacheHit, || scrape(port))?;
                counted = Some((measured, read))
            }
            (Run::Unlogged, _) => unlogged = Some(prefilled(bench, launch, &lines, jobs, Check::CacheHit)?),
            _ => plain = Some(prefilled(bench, launch, &lines, jobs, Check::CacheHit)?),
        }
    }
    let (plain, (counted, cpu)) = (plain.expect("plain run"), counted.expect("counted run"));
    let unlogged = unlogged.expect("run without the job log");
    let per_job = |seconds: f64| seconds * 1e6 / jobs as f64;
    let worker = counted.worker_cpu_us_per_job;
    let split = Split {
        queue_and_rest: worker - per_job(cpu.jobs),
        job: per_job(cpu.jobs - cpu.sandbox - cpu.host_calls),
        sandbox: per_job(cpu.sandbox),
        host_calls: per_job(cpu.host_calls),
    };
    Ok(Rep { plain, counted, split, unlogged })
}

/// Seconds of CPU, summed over tenants and stages, from `/metrics`.
#[derive(Debug, Default)]
struct Counted {
    jobs: f64,
    sandbox: f64,
    host_calls: f64,
}

fn scrape(port: u16) -> anyhow::Result<Counted> {
    let text = get_metrics(port).with_context(|| format!("reading lingo's /metrics on port {port}"))?;
    let mut counted = Counted::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let value: f64 = value.parse().with_context(|| format!("a sample of /metrics: `{line}`"))?;
        if series.starts_with("lingo_job_cpu_seconds_total{") {
            counted.jobs += value;
        } else if series.starts_with("lingo_stage_cpu_seconds_total{") {
            match series.contains("part=\"host_calls\"") {
                true => counted.host_calls += value,
                false => counted.sandbox += value,
            }
        }
    }
    anyhow::ensure!(counted.jobs > 0.0, "no lingo_job_cpu_seconds_total in /metrics:\n{text}");
    Ok(counted)
}

/// `GET /metrics` over HTTP/1.0, which closes the connection after the answer.
pub(super) fn get_metrics(port: u16) -> anyhow::Result<String> {
    http_get(port, "/metrics")
}

/// The body of `GET path` from 127.0.0.1:`port`, which must answer 200.
pub(super) fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("an HTTP response")?;
    anyhow::ensure!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "answered `{head}`");
    Ok(body.to_string())
}
