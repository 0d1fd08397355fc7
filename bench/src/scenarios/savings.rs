//! What never needed an LLM. The `lingo-chat` corpus (its proportions in
//! `runtime/chat/src/lib.rs`), each line into Korean, English and Japanese
//! with its channel as metadata, through lingo on a bull queue twice: with
//! `cache → vllm` alone, and with `detect → glossary` in front. The LLM is
//! the stand-in at no latency (this scenario counts calls, it does not time
//! them), started afresh for each run, whose own count of chat requests is
//! the figure; each run's cache is its own.
//!
//! From the job hashes: each translation's provider (the LLM, the cache, or
//! `detect:<reason>`), and the language each job reported against the one
//! the corpus wrote the line in. From `/metrics` (`cpu_accounting`): the
//! `detect` stage's CPU per job beside the worker's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use super::Bench;
use super::cpu_split::{get_metrics, http_get};
use super::run::{Measured, prefilled_records};
use crate::data::{self, Check, LingoOptions, Pipeline};
use crate::workers::{Launch, Protocol, Worker};

/// Seed of the corpus: the same lines in every run.
const SEED: u64 = 11;

/// One run over the corpus.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Whether `detect` and `glossary` ran in front of the cache.
    pub spare_the_llm: bool,
    pub lines: usize,
    pub translations: usize,
    /// Chat requests the stand-in answered.
    pub llm_requests: u64,
    pub llm_requests_per_1000_lines: f64,
    /// Translations by who answered them: `llm`, `cache`, or `detect:<reason>`.
    pub answered_by: BTreeMap<String, usize>,
    /// Corpus lines written in a known language (sentences).
    pub known_language_lines: usize,
    /// Of those, lines whose job reported a language, and reported the right one.
    pub detected: usize,
    pub detected_right: usize,
    /// The `detect` stage's CPU per job, both phases, µs (0 without it).
    pub detect_cpu_us_per_job: f64,
    pub run: Measured,
}

impl Row {
    /// Translations answered without an LLM call, as a share of all.
    pub fn without_llm_share(&self) -> f64 {
        let llm = self.answered_by.get("llm").copied().unwrap_or(0);
        1.0 - llm as f64 / self.translations.max(1) as f64
    }
}

pub fn run(bench: &mut Bench) -> anyhow::Result<Vec<Row>> {
    let lines = lingo_chat::corpus(bench.plan.savings_lines, SEED);
    let jobs = data::write_jobs(
        &bench.paths,
        "savings-corpus",
        lines.iter().map(|l| json!({"text": l.text, "targetLanguages": lingo_chat::AUDIENCE, "channel": l.channel})),
    )?;
    let bar = bench.progress.scenario("what needs no LLM", 2);
    let mut rows = Vec::new();
    for spare_the_llm in [false, true] {
        let name = if spare_the_llm { "savings-with" } else { "savings-without" };
        bar.set_message(name);
        let (_llm, url) = bench.start_stand_in(&format!("{name}-llm"), Duration::ZERO)?;
        let llm_port: u16 = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port in the stand-in's URL");
        let metrics_port = lingo_testkit::free_port();
        let launch = Launch {
            pipeline: Pipeline::Savings { url: &url, namespace: name, spare_the_llm },
            lingo: LingoOptions { cpu_metrics: Some(metrics_port), ..LingoOptions::default() },
            ..Launch::cache_hit(Worker::Lingo, Protocol::Bull, name, 64)
        };
        let at_end = || Ok((get_metrics(metrics_port)?, http_get(llm_port, "/stats")?));
        let (run, (metrics, stats), records) =
            prefilled_records(bench, launch, &jobs, lines.len(), Check::Answered, at_end)?;
        let stats: Value = serde_json::from_str(&stats)?;
        let llm_requests = stats["requests"]["/v1/chat/completions"].as_u64().unwrap_or(0);
        let mut row = Row {
            spare_the_llm,
            lines: lines.len(),
            translations: 0,
            llm_requests,
            llm_requests_per_1000_lines: llm_requests as f64 * 1000.0 / lines.len() as f64,
            answered_by: BTreeMap::new(),
            known_language_lines: 0,
            detected: 0,
            detected_right: 0,
            detect_cpu_us_per_job: stage_cpu_seconds(&metrics, "detect") * 1e6 / lines.len() as f64,
            run,
        };
        // A text is written in one language, whichever line it came from.
        let known: BTreeMap<&str, Option<&str>> = lines.iter().map(|l| (l.text.as_str(), l.language)).collect();
        for record in &records {
            let value: Value = serde_json::from_str(&record.returnvalue)?;
            let data: Value = serde_json::from_str(&record.data)?;
            for provider in value["providers"].as_object().into_iter().flat_map(|p| p.values()) {
                let provider = provider.as_str().unwrap_or("?");
                let who = if provider == "vllm" { "llm" } else { provider };
                *row.answered_by.entry(who.to_string()).or_default() += 1;
                row.translations += 1;
            }
            if let Some(Some(language)) = data["text"].as_str().and_then(|text| known.get(text)) {
                row.known_language_lines += 1;
                if let Some(reported) = value["sourceLanguage"].as_str() {
                    row.detected += 1;
                    row.detected_right += usize::from(reported == *language);
                }
            }
        }
        bench.progress.line(format!(
            "what needs no LLM, {}: {} LLM requests for {} lines ({:.0} per 1,000), {:.1} % of translations without the LLM",
            if spare_the_llm { "detect → glossary → cache → llm" } else { "cache → llm" },
            row.llm_requests,
            row.lines,
            row.llm_requests_per_1000_lines,
            row.without_llm_share() * 100.0
        ));
        rows.push(row);
        bar.inc(1);
    }
    bar.finish();
    Ok(rows)
}

/// The `lingo_stage_cpu_seconds_total` of `stage`, every part summed.
fn stage_cpu_seconds(metrics: &str, stage: &str) -> f64 {
    let label = format!("stage=\"{stage}\"");
    metrics
        .lines()
        .filter(|line| line.starts_with("lingo_stage_cpu_seconds_total{") && line.contains(&label))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}
