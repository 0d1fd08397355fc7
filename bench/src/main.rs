//! `lingo-bench` — what `make bench` runs: lingo beside its peer workers, in
//! the same run, against one `redis-server`, on the same data, interleaved
//! rep by rep, written to `docs/BENCHMARKS.md` and `docs/benchmarks.json`.
//!
//! The peers do the work of lingo's cache-hit pipeline (one Redis GET per
//! job, the same return value) through their own library: npm `bullmq` and
//! `bull` (Node), PyPI `bullmq` (Python), and a bare `bullmq-official` Rust
//! worker, the floor under lingo's WebAssembly overhead.
//!
//! Map:
//! - `setup`: builds lingo and the bare peer, installs the Node and Python
//!   peers from their lock files, idempotently; where everything lives.
//! - `facts`: the machine, date, load and versions the report names.
//! - `procs`: the workers as child processes; their CPU time and RSS from `/proc`.
//! - `probe`: the bench's own Redis connection: INFO deltas, completion, job hashes.
//! - `workers`: how each worker starts and is known ready.
//! - `producer`: the real npm producers (`bench/peers/node/produce.js`).
//! - `data`: chat lines, their translations, lingo's pipeline files, the cache fill.
//! - `scenarios/`: one module per scenario, and `run.rs`, the measured run they share.
//! - `stats`, `progress`, `report`: medians, bars, the two output files.
//!
//! The per-call overhead is the criterion bench `lingo-engine` already has;
//! `scenarios/stage_call.rs` runs it and reads its figures. Where the rest of
//! a job's CPU goes comes from lingo's own `cpu_accounting`
//! (`scenarios/cpu_split.rs`); what a JavaScript stage costs in the worker
//! from the same counters (`scenarios/js_stage.rs`). What never needed an
//! LLM, on a chat corpus, with and without the stages that spare it
//! (`scenarios/savings.rs`).

mod data;
mod facts;
mod probe;
mod procs;
mod producer;
mod progress;
mod report;
mod scenarios;
mod setup;
mod stats;
mod workers;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use crate::scenarios::{Bench, Plan};

/// lingo against its peer workers, side by side.
#[derive(Debug, Parser)]
#[command(name = "lingo-bench")]
pub struct Args {
    /// Every scenario tiny (200 jobs, 1 rep), written to `target/bench-smoke/`: what `make test` runs.
    #[arg(long)]
    smoke: bool,
    /// Repetitions of every measurement, interleaved across workers.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Jobs per pre-filled throughput run.
    #[arg(long, default_value_t = 20_000)]
    jobs: usize,
    /// Jobs of the longer throughput run at concurrency 64 (0: none).
    #[arg(long, default_value_t = 100_000)]
    long_jobs: usize,
    /// How long the open-loop producer adds jobs, in seconds.
    #[arg(long, default_value_t = 20)]
    open_loop_seconds: u64,
    /// The scenarios to run, in this order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "throughput,llm,open-loop,gateway,memory,stage-call,cpu-split,js-stage,savings"
    )]
    scenarios: Vec<Scenario>,
    /// Where BENCHMARKS.md and benchmarks.json go (default `docs/`, or `target/bench-smoke/` with `--smoke`).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The scenarios of issue #7 this bench runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Cache-hit throughput on a pre-filled queue, lingo against every peer.
    Throughput,
    /// LLM-bound through the stand-in at 200 ms: jobs/s against slots/latency, lingo and its peers.
    Llm,
    /// A producer at a fixed rate: latency from `timestamp` to `finishedOn`.
    OpenLoop,
    /// `POST /api/v1/translate` at a fixed rate, through gateway and worker.
    Gateway,
    /// lingo's RSS with every slot busy.
    Memory,
    /// The criterion bench of one stage call (not run by `--smoke`).
    StageCall,
    /// lingo's CPU per cache-hit job split into queue, job, sandbox and host calls (`cpu_accounting`).
    CpuSplit,
    /// A JavaScript post stage (componentize-js) in the worker, warm and fresh.
    JsStage,
    /// The chat corpus with and without `detect` and `glossary`: LLM calls saved, by reason.
    Savings,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let paths = setup::Paths::discover();
    setup::prepare(&paths)?;
    let plan = Plan::new(&args);
    let out = args.out.clone().unwrap_or_else(|| paths.default_out(args.smoke));
    let mut bench = Bench::start(paths, plan)?;
    let mut results = report::Results::new(facts::collect(&bench.paths)?, &bench.plan);
    // The report is written after every scenario, so a failure keeps what was measured.
    for scenario in &args.scenarios {
        match scenario {
            Scenario::Throughput => results.throughput = scenarios::throughput::run(&mut bench)?,
            Scenario::Llm => results.llm = scenarios::llm::run(&mut bench)?,
            Scenario::OpenLoop => results.open_loop = scenarios::open_loop::run(&mut bench)?,
            Scenario::Gateway => results.gateway = scenarios::gateway::run(&mut bench)?,
            Scenario::Memory => results.memory = scenarios::memory::run(&mut bench)?,
            Scenario::StageCall if args.smoke => {}
            Scenario::StageCall => results.stage_call = scenarios::stage_call::run(&mut bench)?,
            Scenario::CpuSplit => results.cpu_split = scenarios::cpu_split::run(&mut bench)?,
            Scenario::JsStage => results.js_stage = scenarios::js_stage::run(&mut bench)?,
            Scenario::Savings => results.savings = scenarios::savings::run(&mut bench)?,
        }
        results.finish();
        report::write(&out, &results)?;
    }
    bench.progress.line(format!(
        "wrote {} and {}",
        out.join("BENCHMARKS.md").display(),
        out.join("benchmarks.json").display()
    ));
    Ok(())
}
