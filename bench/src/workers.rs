//! The workers measured, and how each is started: lingo (`lingo run` with a
//! pipeline file written for the run) and its peers, each given the same
//! Redis, queue and concurrency, each known ready by a line it prints
//! (`ready`; lingo's `Concurrency:` log line) and then a quiet CPU.

use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use crate::data::{self, LingoOptions, Pipeline};
use crate::procs::{Proc, Stream};
use crate::setup::Paths;

/// The queue protocol, as the producer speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Bull,
    BullMq,
}

impl Protocol {
    pub const ALL: [Protocol; 2] = [Protocol::BullMq, Protocol::Bull];

    /// As in `pipeline.toml` and produce.js.
    pub fn id(self) -> &'static str {
        match self {
            Protocol::Bull => "bull",
            Protocol::BullMq => "bullmq",
        }
    }
}

/// One of the workers measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Worker {
    /// lingo as configured by default: warm instances, reused within a stage.
    Lingo,
    /// lingo with `instances = "fresh"` on every stage: a new instance per call.
    LingoFresh,
    /// bullmq-official with a native processor: no sandbox, no pipeline.
    Bare,
    /// npm `bullmq`.
    #[serde(rename = "node-bullmq")]
    NodeBullMq,
    /// PyPI `bullmq`.
    Python,
    /// npm `bull`.
    NodeBull,
}

impl Worker {
    /// lingo in both instance modes, side by side in every scenario.
    pub const LINGO: [Worker; 2] = [Worker::Lingo, Worker::LingoFresh];

    /// The workers of a protocol, lingo (both modes) first.
    pub fn of(protocol: Protocol) -> &'static [Worker] {
        match protocol {
            Protocol::BullMq => &[Worker::Lingo, Worker::LingoFresh, Worker::Bare, Worker::NodeBullMq, Worker::Python],
            Protocol::Bull => &[Worker::Lingo, Worker::LingoFresh, Worker::NodeBull],
        }
    }

    /// Whether this is lingo, in either instance mode.
    pub fn is_lingo(self) -> bool {
        Self::LINGO.contains(&self)
    }

    /// For tables.
    pub fn label(self) -> &'static str {
        match self {
            Worker::Lingo => "lingo",
            Worker::LingoFresh => "lingo, fresh instances",
            Worker::Bare => "bare Rust (bullmq-official)",
            Worker::NodeBullMq => "BullMQ Node",
            Worker::Python => "BullMQ Python",
            Worker::NodeBull => "bull Node",
        }
    }

    /// For queue names and log files.
    pub fn id(self) -> &'static str {
        match self {
            Worker::Lingo => "lingo",
            Worker::LingoFresh => "lingo-fresh",
            Worker::Bare => "bare",
            Worker::NodeBullMq => "node-bullmq",
            Worker::Python => "python",
            Worker::NodeBull => "node-bull",
        }
    }
}

/// What one worker process is started for.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    pub worker: Worker,
    pub protocol: Protocol,
    pub queue: &'a str,
    pub concurrency: usize,
    /// lingo's stages; the peers do the same work natively (a cache hit, or
    /// a chat request to the LLM server: `--llm URL`).
    pub pipeline: Pipeline<'a>,
    /// lingo only: how it is set up beyond its pipeline.
    pub lingo: LingoOptions,
}

impl<'a> Launch<'a> {
    /// `worker` on cache-hit jobs, its CPU not counted.
    pub fn cache_hit(worker: Worker, protocol: Protocol, queue: &'a str, concurrency: usize) -> Self {
        Self { worker, protocol, queue, concurrency, pipeline: Pipeline::CacheHit, lingo: LingoOptions::default() }
    }
}

/// Starts the worker and returns once it is ready.
pub fn start(paths: &Paths, redis_url: &str, launch: Launch) -> anyhow::Result<Proc> {
    let concurrency = launch.concurrency.to_string();
    let peer_args = ["--redis", redis_url, "--queue", launch.queue, "--concurrency", &concurrency];
    let (mut command, marker, stream) = match launch.worker {
        Worker::Lingo | Worker::LingoFresh => {
            let lingo = LingoOptions { fresh_instances: launch.worker == Worker::LingoFresh, ..launch.lingo };
            let config = data::lingo_config(
                paths,
                redis_url,
                launch.protocol,
                launch.queue,
                launch.concurrency,
                launch.pipeline,
                lingo,
            )?;
            let mut command = Command::new(&paths.lingo);
            command.arg("run").arg("--config").arg(config);
            (command, "Concurrency:", Stream::Stderr)
        }
        Worker::Bare => (Command::new(&paths.bare), "ready", Stream::Stdout),
        Worker::NodeBullMq | Worker::NodeBull => {
            let script = if launch.worker == Worker::NodeBull { "bull-worker.js" } else { "bullmq-worker.js" };
            let mut command = Command::new("node");
            command.arg(paths.node.join(script));
            (command, "ready", Stream::Stdout)
        }
        Worker::Python => {
            let mut command = Command::new(paths.venv_python());
            command.arg(paths.python.join("worker.py"));
            (command, "ready", Stream::Stdout)
        }
    };
    if !launch.worker.is_lingo() {
        command.args(peer_args);
        if let Pipeline::Llm { url, .. } = launch.pipeline {
            command.args(["--llm", url]);
        }
    }
    // Variables that would override the pipeline file.
    for var in ["WORKER_CONCURRENCY", "REDIS_URL", "USE_OLLAMA", "LINGO_CONFIG"] {
        command.env_remove(var);
    }
    let mut proc = Proc::spawn(launch.queue, command, &data::logs(paths))?;
    proc.wait_ready(marker, stream, Duration::from_secs(60))?;
    Ok(proc)
}
