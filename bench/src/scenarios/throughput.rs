//! Scenario 1: cache-hit throughput on a pre-filled queue. For each
//! concurrency and protocol, lingo and every peer of that protocol run the
//! same `plan.jobs` jobs, one worker after another within a rep (the order
//! rotated each rep), for `plan.reps` reps.

use serde::Serialize;

use super::run::{Measured, prefilled};
use super::{Bench, rotated};
use crate::data::{self, Check, Pipeline};
use crate::stats::Spread;
use crate::workers::{Launch, Protocol, Worker};

/// One worker at one concurrency: its reps in order.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub concurrency: usize,
    pub runs: Vec<Measured>,
}

impl Row {
    pub fn spread(&self, metric: impl Fn(&Measured) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let mut rows = Vec::new();
    for &concurrency in &plan.throughput_concurrency {
        for protocol in Protocol::ALL {
            for &worker in Worker::of(protocol) {
                rows.push(Row { protocol, worker, concurrency, runs: Vec::new() });
            }
        }
    }
    let bar = bench.progress.scenario("throughput", rows.len() * plan.reps);
    for rep in 0..plan.reps {
        for group in groups(&rows) {
            for i in rotated(&group, rep) {
                let (protocol, worker, concurrency) = (rows[i].protocol, rows[i].worker, rows[i].concurrency);
                let queue =
                    data::queue_name(&["tp", protocol.id(), &concurrency.to_string(), worker.id(), &format!("r{rep}")]);
                bar.set_message(format!("{} {} c={concurrency} rep {}", protocol.id(), worker.label(), rep + 1));
                let launch = Launch { worker, protocol, queue: &queue, concurrency, pipeline: Pipeline::CacheHit };
                let lines = bench.cache_lines.clone();
                let measured = prefilled(bench, launch, &lines, plan.jobs, Check::CacheHit)?;
                bench.progress.line(format!(
                    "throughput {:<6} c={concurrency:<4} {:<28} rep {}: {:>8.0} jobs/s, worker {:>6.1} µs/job, redis {:>5.1} µs/job",
                    protocol.id(),
                    worker.label(),
                    rep + 1,
                    measured.jobs_per_s,
                    measured.worker_cpu_us_per_job,
                    measured.redis_cpu_us_per_job
                ));
                rows[i].runs.push(measured);
                bar.inc(1);
            }
        }
    }
    bar.finish();
    Ok(rows)
}

/// Indices of the rows compared with each other: same protocol and concurrency.
fn groups(rows: &[Row]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match groups
            .iter_mut()
            .find(|g| rows[g[0]].protocol == row.protocol && rows[g[0]].concurrency == row.concurrency)
        {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}
