//! Scenario 6: lingo's memory with every slot busy. The stand-in answers
//! only after `plan.memory_latency_s`, so once `slots` jobs are active they
//! all stay in flight; RSS is read idle (ready, no job), then busy (every
//! slot active for a second, with PSS beside it), and the peak (VmHWM). The worker is then
//! killed: its jobs are abandoned with their queue. lingo runs in both
//! instance modes: warm instances, and a fresh one per call.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;

use super::Bench;
use crate::data::{self, Pipeline};
use crate::stats::Spread;
use crate::workers::{self, Launch, Protocol, Worker};

/// One reading.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Reading {
    pub idle_rss_mib: f64,
    pub busy_rss_mib: f64,
    pub busy_pss_mib: f64,
    pub peak_rss_mib: f64,
}

/// lingo, in one instance mode, with `slots` busy.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub protocol: Protocol,
    pub worker: Worker,
    pub slots: usize,
    pub runs: Vec<Reading>,
}

impl Row {
    pub fn spread(&self, metric: impl Fn(&Reading) -> f64) -> Spread {
        Spread::of(self.runs.iter().map(metric))
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let plan = bench.plan.clone();
    let (stand_in, url) = bench.start_stand_in("stand-in-llm-slow", Duration::from_secs(plan.memory_latency_s))?;
    let mut rows: Vec<Row> = Protocol::ALL
        .iter()
        .flat_map(|&protocol| {
            plan.memory_slots
                .iter()
                .flat_map(move |&slots| Worker::LINGO.map(|worker| Row { protocol, worker, slots, runs: Vec::new() }))
        })
        .collect();
    let bar = bench.progress.scenario("memory", rows.len() * plan.reps);
    let timeout = format!("{}s", plan.memory_latency_s * 2);
    for rep in 0..plan.reps {
        for row in rows.iter_mut() {
            let queue = data::queue_name(&[
                "mem",
                row.protocol.id(),
                row.worker.id(),
                &row.slots.to_string(),
                &format!("r{rep}"),
            ]);
            bar.set_message(format!(
                "{} {} {} slots rep {}",
                row.protocol.id(),
                row.worker.label(),
                row.slots,
                rep + 1
            ));
            let pipeline = Pipeline::Llm { url: &url, timeout: &timeout };
            let launch = Launch {
                worker: row.worker,
                protocol: row.protocol,
                queue: &queue,
                concurrency: row.slots,
                pipeline,
                lingo: Default::default(),
            };
            let reading = hold_busy(bench, launch)?;
            bench.progress.line(format!(
                "memory {:<6} {:<22} {:>5} slots rep {}: idle {:.1} MiB, busy {:.1} MiB, peak {:.1} MiB",
                row.protocol.id(),
                row.worker.label(),
                row.slots,
                rep + 1,
                reading.idle_rss_mib,
                reading.busy_rss_mib,
                reading.peak_rss_mib
            ));
            row.runs.push(reading);
            bar.inc(1);
        }
    }
    bar.finish();
    stand_in.stop(Duration::from_secs(2));
    Ok(rows)
}

fn hold_busy(bench: &mut Bench, launch: Launch) -> anyhow::Result<Reading> {
    let (queue, slots) = (launch.queue, launch.concurrency);
    let lines = data::write_lines(&bench.paths, queue, (0..slots).map(|i| format!("{queue} line {i}")))?;
    let mut worker = workers::start(&bench.paths, &bench.redis_url, launch)?;
    let idle_rss_mib = worker.rss_mib()?;
    bench.producer.fill_paused(launch.protocol, queue, &lines, slots)?;
    bench.producer.resume(launch.protocol, queue)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while bench.probe.list_len(queue, "active")? < slots as u64 {
        worker.check_alive()?;
        if Instant::now() > deadline {
            bail!("{queue}: {slots} slots not all busy after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let reading = Reading {
        idle_rss_mib,
        busy_rss_mib: worker.rss_mib()?,
        busy_pss_mib: worker.pss_mib()?,
        peak_rss_mib: worker.peak_rss_mib()?,
    };
    worker.stop(Duration::ZERO);
    bench.probe.delete_queue(queue)?;
    Ok(reading)
}
