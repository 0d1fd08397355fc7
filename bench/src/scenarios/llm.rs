//! Scenario 2, the seed's table: lingo LLM-bound through the stand-in at
//! `plan.llm_latency_ms`, at each concurrency, beside the ideal
//! slots / latency and beside its peers making the same request natively.
//! Lines are unique per run and the pipeline has no cache, so every job makes
//! one request to the stand-in. BullMQ Python is left out: its worker does
//! only the cache hit, and the seed's own Python figures are the claim this
//! table checks.

use std::time::Duration;

use serde::Serialize;

use super::Bench;
use super::run::{Measured, prefilled};
use crate::data::{self, Check, Pipeline};
use crate::stats::Spread;
use crate::workers::{Launch, Protocol, Worker};

/// One worker at one concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub concurrency: usize,
    pub jobs: usize,
    /// concurrency × 1000 / latency_ms.
    pub ideal_jobs_per_s: f64,
    pub runs: Vec<Measured>,
}

impl Row {
    pub fn jobs_per_s(&self) -> Spread {
        Spread::of(self.runs.iter().map(|m| m.jobs_per_s))
    }

    /// Jobs/s as a percentage of slots / latency.
    pub fn percent_of_ideal(&self) -> Spread {
        Spread::of(self.runs.iter().map(|m| 100.0 * m.jobs_per_s / self.ideal_jobs_per_s))
    }
}

/// The workers of a protocol that can call an LLM, lingo first.
fn workers(protocol: Protocol) -> impl Iterator<Item = Worker> {
    Worker::of(protocol).iter().copied().filter(|&w| w != Worker::Python)
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let (stand_in, url) = bench.start_stand_in("stand-in-llm", Duration::from_millis(plan.llm_latency_ms))?;
    let mut rows = Vec::new();
    for protocol in Protocol::ALL {
        for &concurrency in &plan.llm_concurrency {
            let ideal_jobs_per_s = concurrency as f64 * 1000.0 / plan.llm_latency_ms as f64;
            for worker in workers(protocol) {
                rows.push(Row {
                    protocol,
                    worker,
                    concurrency,
                    jobs: plan.llm_jobs(concurrency),
                    ideal_jobs_per_s,
                    runs: Vec::new(),
                });
            }
        }
    }
    let bar = bench.progress.scenario("llm", rows.len() * plan.reps);
    for rep in 0..plan.reps {
        for row in rows.iter_mut() {
            let (protocol, worker, concurrency) = (row.protocol, row.worker, row.concurrency);
            let queue =
                data::queue_name(&["llm", protocol.id(), worker.id(), &concurrency.to_string(), &format!("r{rep}")]);
            bar.set_message(format!("{} {} c={concurrency} rep {}", protocol.id(), worker.id(), rep + 1));
            let lines = data::write_lines(&bench.paths, &queue, (0..row.jobs).map(|i| format!("{queue} line {i}")))?;
            let launch = Launch {
                worker,
                protocol,
                queue: &queue,
                concurrency,
                pipeline: Pipeline::Llm { url: &url, timeout: "10s" },
                lingo: Default::default(),
            };
            let measured = prefilled(bench, launch, &lines, row.jobs, Check::Llm)?;
            bench.progress.line(format!(
                "llm {:<6} {:<11} c={concurrency:<5} rep {}: {:>7.1} jobs/s of {:>6.0} ideal ({:.0}%)",
                protocol.id(),
                worker.id(),
                rep + 1,
                measured.jobs_per_s,
                row.ideal_jobs_per_s,
                100.0 * measured.jobs_per_s / row.ideal_jobs_per_s
            ));
            row.runs.push(measured);
            bar.inc(1);
        }
    }
    bar.finish();
    stand_in.stop(Duration::from_secs(2));
    Ok(rows)
}
