//! A JavaScript stage in the worker. lingo runs the throughput scenario's
//! cache-hit jobs with its post stage written in JavaScript
//! (`bench/js-stage/`, built by the bench with componentize-js) in place of
//! `postprocess`, in both instance modes, at each throughput concurrency,
//! with `cpu_accounting` on. From `/metrics`, once every job is finished:
//! the JavaScript stage's CPU per call (the sandbox part: the JS engine and
//! the stage's code, with fresh instances also their instantiation) and its
//! time per call (`lingo_stage_seconds_total` ÷ `lingo_stage_calls_total`).
//! The call's own p50/p99, outside the worker, come from the stage-call
//! scenario.

use serde::Serialize;

use super::Bench;
use super::cpu_split::get_metrics;
use super::run::{Measured, prefilled_records};
use crate::data::{self, Check, LingoOptions, Pipeline};
use crate::stats::Spread;
use crate::workers::{Launch, Protocol, Worker};

/// The stage's name in the pipeline the bench writes.
const STAGE: &str = "tidy-js";

/// One rep: the run, and the JavaScript stage's share of it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rep {
    pub run: Measured,
    /// CPU per call of the JavaScript stage, sandbox part, µs.
    pub call_cpu_us: f64,
    /// Time per call of the JavaScript stage, µs (waits for a CPU included).
    pub call_us: f64,
}

/// lingo in one instance mode at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub concurrency: usize,
    pub jobs: usize,
    /// The component's size.
    pub component_mib: f64,
    pub runs: Vec<Rep>,
}

impl Row {
    pub fn spread(&self, metric: impl Fn(&Rep) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let wasm = bench.paths.js_wasm();
    let component_mib = std::fs::metadata(&wasm)?.len() as f64 / (1 << 20) as f64;
    let protocol = Protocol::BullMq;
    let mut rows: Vec<Row> = plan
        .throughput_concurrency
        .iter()
        .flat_map(|&concurrency| {
            Worker::LINGO.map(|worker| Row {
                protocol,
                worker,
                concurrency,
                jobs: plan.jobs,
                component_mib,
                runs: Vec::new(),
            })
        })
        .collect();
    let bar = bench.progress.scenario("javascript stage", rows.len() * plan.reps);
    for rep in 0..plan.reps {
        for row in rows.iter_mut() {
            let (worker, concurrency, jobs) = (row.worker, row.concurrency, row.jobs);
            bar.set_message(format!("{} c={concurrency} rep {}", worker.label(), rep + 1));
            let queue = data::queue_name(&["js", worker.id(), &concurrency.to_string(), &format!("r{rep}")]);
            let port = lingo_testkit::free_port();
            let launch = Launch {
                pipeline: Pipeline::CacheHitJs { wasm: &wasm },
                lingo: LingoOptions { cpu_metrics: Some(port), ..LingoOptions::default() },
                ..Launch::cache_hit(worker, protocol, &queue, concurrency)
            };
            let lines = bench.cache_lines.clone();
            let (run, metrics, _) =
                prefilled_records(bench, launch, &lines, jobs, Check::CacheHit, || get_metrics(port))?;
            let calls = stage_sample(&metrics, "lingo_stage_calls_total", None);
            anyhow::ensure!(calls > 0.0, "no calls of `{STAGE}` in /metrics:\n{metrics}");
            let per_call = |seconds: f64| seconds * 1e6 / calls;
            let measured = Rep {
                run,
                call_cpu_us: per_call(stage_sample(&metrics, "lingo_stage_cpu_seconds_total", Some("sandbox"))),
                call_us: per_call(stage_sample(&metrics, "lingo_stage_seconds_total", None)),
            };
            bench.progress.line(format!(
                "javascript stage {:<22} c={concurrency:<3} rep {}: {:.0} jobs/s, worker {:.1} µs/job; the stage {:.1} µs CPU and {:.1} µs a call",
                worker.label(),
                rep + 1,
                run.jobs_per_s,
                run.worker_cpu_us_per_job,
                measured.call_cpu_us,
                measured.call_us
            ));
            row.runs.push(measured);
            bar.inc(1);
        }
    }
    bar.finish();
    Ok(rows)
}

/// The sum of `family`'s samples for the JavaScript stage (and `part`).
fn stage_sample(metrics: &str, family: &str, part: Option<&str>) -> f64 {
    let (series, stage) = (format!("{family}{{"), format!("stage=\"{STAGE}\""));
    let part = part.map(|part| format!("part=\"{part}\""));
    metrics
        .lines()
        .filter(|line| line.starts_with(&series) && line.contains(&stage))
        .filter(|line| part.as_ref().is_none_or(|part| line.contains(part.as_str())))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}
