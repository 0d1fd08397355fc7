//! The scenarios of issue #7, one module each, over a shared [`Bench`]: one
//! `redis-server` for the whole bench, the caches filled once, the producer,
//! the probe and the progress bars. [`Plan`] holds every size, so `--smoke`
//! is the same code with small numbers.

pub mod cpu_split;
pub mod gateway;
pub mod js_stage;
pub mod llm;
pub mod memory;
pub mod open_loop;
pub mod run;
pub mod savings;
pub mod stage_call;
pub mod throughput;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use lingo_testkit::RedisServer;
use serde::Serialize;

use crate::Args;
use crate::data;
use crate::probe::Probe;
use crate::procs::{Proc, Stream};
use crate::producer::Producer;
use crate::progress::Progress;
use crate::setup::Paths;

/// Every size the scenarios use.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub smoke: bool,
    pub reps: usize,
    /// Jobs per pre-filled cache-hit run; also the number of distinct cached lines.
    pub jobs: usize,
    pub throughput_concurrency: Vec<usize>,
    /// A longer cache-hit run at `long_concurrency`, cycling through the
    /// cached lines; every peer but BullMQ Python (a 100,000-job run of it
    /// would take about three minutes, each rep).
    pub long_jobs: usize,
    pub long_concurrency: usize,
    pub llm_concurrency: Vec<usize>,
    pub llm_latency_ms: u64,
    pub open_loop_rates: Vec<u64>,
    pub open_loop_seconds: u64,
    pub open_loop_concurrency: usize,
    /// How long an open-loop run may take to drain once the producer stops.
    pub drain_seconds: u64,
    /// Requests per second the gateway scenario sends, each for `gateway_seconds`.
    pub gateway_rates: Vec<u64>,
    pub gateway_seconds: u64,
    pub memory_slots: Vec<usize>,
    /// The stand-in's latency while slots are held busy.
    pub memory_latency_s: u64,
    /// Chat lines of the savings scenario's corpus.
    pub savings_lines: usize,
}

impl Plan {
    pub fn new(args: &Args) -> Self {
        if args.smoke {
            return Self {
                smoke: true,
                reps: 1,
                jobs: 200,
                throughput_concurrency: vec![4, 64],
                long_jobs: 400,
                long_concurrency: 64,
                llm_concurrency: vec![10],
                llm_latency_ms: 200,
                open_loop_rates: vec![200],
                open_loop_seconds: 1,
                open_loop_concurrency: 64,
                drain_seconds: 20,
                gateway_rates: vec![100],
                gateway_seconds: 1,
                memory_slots: vec![64],
                memory_latency_s: 30,
                savings_lines: 300,
            };
        }
        Self {
            smoke: false,
            reps: args.reps,
            jobs: args.jobs,
            throughput_concurrency: vec![4, 64],
            long_jobs: args.long_jobs,
            long_concurrency: 64,
            llm_concurrency: vec![1, 4, 10, 100, 200, 1000],
            llm_latency_ms: 200,
            open_loop_rates: vec![2000, 5000],
            open_loop_seconds: args.open_loop_seconds,
            open_loop_concurrency: 64,
            drain_seconds: 15,
            gateway_rates: vec![500, 1000],
            gateway_seconds: 10,
            memory_slots: vec![64, 1000],
            memory_latency_s: 60,
            savings_lines: 5_000,
        }
    }

    /// Jobs of an LLM-bound run: a few seconds of work at the ideal rate.
    pub fn llm_jobs(&self, concurrency: usize) -> usize {
        if self.smoke { 50 } else { (concurrency * 10).max(50) }
    }
}

/// What every scenario shares.
pub struct Bench {
    pub paths: Paths,
    pub plan: Plan,
    /// Kept for its lifetime: stopped on drop.
    pub _redis: RedisServer,
    pub redis_url: String,
    pub probe: Probe,
    pub producer: Producer,
    pub progress: Progress,
    /// The cached lines, one per line, for the producer.
    pub cache_lines: PathBuf,
}

impl Bench {
    /// Starts Redis and fills both caches with `plan.jobs` lines.
    pub fn start(paths: Paths, plan: Plan) -> anyhow::Result<Self> {
        let redis = RedisServer::start();
        let redis_url = redis.url();
        let mut probe = Probe::connect(&redis_url)?;
        let progress = Progress::new();
        progress.line(format!("bench: redis-server at {redis_url}; filling the caches with {} lines", plan.jobs));
        data::fill_caches(&paths, &redis_url, &mut probe, plan.jobs)?;
        let cache_lines = data::write_lines(&paths, "cache-lines", (0..plan.jobs).map(data::line))?;
        let producer = Producer::new(&paths, &redis_url);
        Ok(Self { paths, plan, _redis: redis, redis_url, probe, producer, progress, cache_lines })
    }

    /// Starts the stand-in LLM server with `latency`; returns it and its base URL.
    pub fn start_stand_in(&self, name: &str, latency: Duration) -> anyhow::Result<(Proc, String)> {
        let port = lingo_testkit::free_port();
        let mut command = Command::new(&self.paths.lingo);
        command.args([
            "dev-llm",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--latency",
            &format!("{}ms", latency.as_millis()),
        ]);
        let mut proc = Proc::spawn(name, command, &data::logs(&self.paths))?;
        proc.wait_ready("listening", Stream::Stderr, Duration::from_secs(20))?;
        Ok((proc, format!("http://127.0.0.1:{port}")))
    }
}

/// `order` rotated left by `rep`, so no worker always runs first in a rep.
pub fn rotated<T: Copy>(order: &[T], rep: usize) -> Vec<T> {
    let mut v = order.to_vec();
    if !v.is_empty() {
        v.rotate_left(rep % order.len());
    }
    v
}
