//! Scenario 1: cache-hit throughput on a pre-filled queue. For each
//! concurrency and protocol, lingo and every peer of that protocol run the
//! same `plan.jobs` jobs, one worker after another within a rep (the order
//! rotated each rep), for `plan.reps` reps; then a longer run of
//! `plan.long_jobs` at `plan.long_concurrency`, without BullMQ Python.

use serde::Serialize;

use super::run::{Measured, prefilled};
use super::{Bench, rotated};
use crate::data::{self, Check};
use crate::stats::Spread;
use crate::workers::{Launch, Protocol, Worker};

/// One worker at one concurrency: its reps in order.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub concurrency: usize,
    pub jobs: usize,
    pub runs: Vec<Measured>,
}

impl Row {
    /// Whether `other` ran the same work: protocol, concurrency and jobs.
    pub fn compares_with(&self, other: &Row) -> bool {
        (self.protocol, self.concurrency, self.jobs) == (other.protocol, other.concurrency, other.jobs)
    }

    pub fn spread(&self, metric: impl Fn(&Measured) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    // (concurrency, jobs, with BullMQ Python): the plan's runs, then the long one.
    let sizes = plan.throughput_concurrency.iter().map(|&c| (c, plan.jobs, true));
    let long = (plan.long_jobs > 0).then_some((plan.long_concurrency, plan.long_jobs, false));
    let mut rows = Vec::new();
    for (concurrency, jobs, with_python) in sizes.chain(long) {
        for protocol in Protocol::ALL {
            for &worker in Worker::of(protocol).iter().filter(|&&w| with_python || w != Worker::Python) {
                rows.push(Row { protocol, worker, concurrency, jobs, runs: Vec::new() });
            }
        }
    }
    let bar = bench.progress.scenario("throughput", rows.len() * plan.reps);
    for rep in 0..plan.reps {
        for group in groups(&rows) {
            for i in rotated(&group, rep) {
                let Row { protocol, worker, concurrency, jobs, .. } = rows[i];
                let queue = data::queue_name(&[
                    "tp",
                    protocol.id(),
                    &concurrency.to_string(),
                    &jobs.to_string(),
                    worker.id(),
                    &format!("r{rep}"),
                ]);
                bar.set_message(format!(
                    "{} {} c={concurrency} {jobs} jobs rep {}",
                    protocol.id(),
                    worker.label(),
                    rep + 1
                ));
                let launch = Launch::cache_hit(worker, protocol, &queue, concurrency);
                let lines = bench.cache_lines.clone();
                let measured = prefilled(bench, launch, &lines, jobs, Check::CacheHit)?;
                bench.progress.line(format!(
                    "throughput {:<6} c={concurrency:<4} {jobs:>6} jobs {:<28} rep {}: {:>8.0} jobs/s, worker {:>6.1} µs/job, redis {:>5.1} µs/job",
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

/// Indices of the rows compared with each other: same protocol, concurrency and jobs.
fn groups(rows: &[Row]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match groups.iter_mut().find(|g| rows[g[0]].compares_with(row)) {
            Some(group) => group.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}
