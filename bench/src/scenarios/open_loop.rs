//! Scenario 3: open loop. A producer adds cache-hit jobs at each of
//! `plan.open_loop_rates` for `plan.open_loop_seconds` while one worker
//! (lingo or a peer, at `plan.open_loop_concurrency`) takes them; latency is
//! `finishedOn − timestamp`. A worker that cannot keep up leaves a backlog,
//! and its latencies are those of the jobs it finished in the drain time.

use serde::Serialize;

use super::run::{OpenMeasured, open_loop};
use super::{Bench, rotated};
use crate::data;
use crate::stats::Spread;
use crate::workers::{Launch, Protocol, Worker};

/// One worker at one rate.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub rate: u64,
    pub runs: Vec<OpenMeasured>,
}

impl Row {
    pub fn spread(&self, metric: impl Fn(&OpenMeasured) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let mut rows = Vec::new();
    for &rate in &plan.open_loop_rates {
        for protocol in Protocol::ALL {
            for &worker in Worker::of(protocol) {
                rows.push(Row { protocol, worker, rate, runs: Vec::new() });
            }
        }
    }
    let bar = bench.progress.scenario("open loop", rows.len() * plan.reps);
    let concurrency = plan.open_loop_concurrency;
    for rep in 0..plan.reps {
        let order: Vec<usize> = (0..rows.len()).collect();
        for i in rotated(&order, rep) {
            let (protocol, worker, rate) = (rows[i].protocol, rows[i].worker, rows[i].rate);
            let queue = data::queue_name(&["open", protocol.id(), &rate.to_string(), worker.id(), &format!("r{rep}")]);
            bar.set_message(format!("{} {} {rate}/s rep {}", protocol.id(), worker.label(), rep + 1));
            let launch = Launch::cache_hit(worker, protocol, &queue, concurrency);
            let m = open_loop(bench, launch, rate, plan.open_loop_seconds)?;
            bench.progress.line(format!(
                "open loop {:<6} {rate:>5}/s {:<28} rep {}: done {:>6.0}/s, p50 {} ms, p99 {} ms, max {} ms, backlog {}",
                protocol.id(),
                worker.label(),
                rep + 1,
                m.done_per_s,
                m.p50_ms,
                m.p99_ms,
                m.max_ms,
                m.backlog
            ));
            rows[i].runs.push(m);
            bar.inc(1);
        }
    }
    bar.finish();
    Ok(rows)
}
