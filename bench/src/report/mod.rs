//! The bench's output: [`Results`] as `benchmarks.json` (every run of every
//! rep, plus the headline ratios) and as `BENCHMARKS.md` (see `markdown.rs`).

mod markdown;

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::facts::{self, Facts};
use crate::scenarios::{Plan, cpu_split, gateway, js_stage, llm, memory, open_loop, savings, stage_call, throughput};
use crate::stats::Spread;
use crate::workers::{Protocol, Worker};

/// Everything measured, with where and when.
#[derive(Debug, Serialize)]
pub struct Results {
    pub facts: Facts,
    pub plan: Plan,
    /// lingo's jobs/s over each peer's, per rep (computed by [`Results::finish`]).
    pub headline: Vec<Ratio>,
    pub throughput: Vec<throughput::Row>,
    pub llm: Vec<llm::Row>,
    pub open_loop: Vec<open_loop::Row>,
    pub gateway: Vec<gateway::Row>,
    pub memory: Vec<memory::Row>,
    pub stage_call: Vec<stage_call::Row>,
    pub cpu_split: Vec<cpu_split::Row>,
    pub js_stage: Vec<js_stage::Row>,
    pub savings: Vec<savings::Row>,
}

/// lingo against one peer at one concurrency: ratios of the same rep.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub protocol: Protocol,
    pub concurrency: usize,
    pub jobs: usize,
    pub peer: Worker,
    /// lingo jobs/s ÷ peer jobs/s (above 1: lingo faster).
    pub throughput: Spread,
    /// lingo worker CPU µs/job ÷ peer's (below 1: lingo cheaper).
    pub worker_cpu: Spread,
}

impl Results {
    pub fn new(facts: Facts, plan: &Plan) -> Self {
        Self {
            facts,
            plan: plan.clone(),
            headline: Vec::new(),
            throughput: Vec::new(),
            llm: Vec::new(),
            open_loop: Vec::new(),
            gateway: Vec::new(),
            memory: Vec::new(),
            stage_call: Vec::new(),
            cpu_split: Vec::new(),
            js_stage: Vec::new(),
            savings: Vec::new(),
        }
    }

    /// Reads the load average after, and computes the headline ratios.
    pub fn finish(&mut self) {
        self.facts.load_after = facts::load_average();
        self.headline = ratios(&self.throughput);
    }
}

fn ratios(rows: &[throughput::Row]) -> Vec<Ratio> {
    let lingo_rows = rows.iter().filter(|r| r.worker == Worker::Lingo);
    lingo_rows
        .flat_map(|lingo| {
            rows.iter().filter(move |peer| peer.worker != Worker::Lingo && peer.compares_with(lingo)).map(move |peer| {
                let per_rep = |f: fn(&crate::scenarios::run::Measured) -> f64| {
                    Spread::of(lingo.runs.iter().zip(&peer.runs).map(|(l, p)| f(l) / f(p)))
                };
                Ratio {
                    protocol: lingo.protocol,
                    concurrency: lingo.concurrency,
                    jobs: lingo.jobs,
                    peer: peer.worker,
                    throughput: per_rep(|m| m.jobs_per_s),
                    worker_cpu: per_rep(|m| m.worker_cpu_us_per_job),
                }
            })
        })
        .collect()
}

/// Writes `BENCHMARKS.md` and `benchmarks.json` into `dir`.
pub fn write(dir: &Path, results: &Results) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(results)? + "\n";
    std::fs::write(dir.join("benchmarks.json"), json)
        .with_context(|| format!("writing {}", dir.join("benchmarks.json").display()))?;
    let md = markdown::render(results);
    std::fs::write(dir.join("BENCHMARKS.md"), md)
        .with_context(|| format!("writing {}", dir.join("BENCHMARKS.md").display()))?;
    Ok(())
}
