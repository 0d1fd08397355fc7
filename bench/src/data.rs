//! What the workers work on: the chat lines (one per job, unique within a
//! run so lingo never coalesces two jobs into one lookup), their known
//! translations, the cache fill (lingo's cache through `lingo cache-import`,
//! the peers' `bench:tr:<lang>:<text>` keys through SET), lingo's pipeline
//! files, and the check of every finished job's return value.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde_json::Value;

use crate::probe::Probe;
use crate::setup::{Paths, run};
use crate::workers::Protocol;

/// The only target language of the bench's jobs.
pub const TARGET: &str = "en";

/// The `i`-th cache-hit line, and its known translation.
pub fn line(i: usize) -> String {
    format!("chat line {i} from the bench")
}

pub fn translation(text: &str) -> String {
    format!("translated: {text}")
}

/// Writes each job's data as a line of `<work>/<name>.jsonl`, for the producer.
pub fn write_jobs(paths: &Paths, name: &str, jobs: impl Iterator<Item = Value>) -> anyhow::Result<PathBuf> {
    let path = paths.work.join(format!("{name}.jsonl"));
    let text: String = jobs.map(|job| job.to_string() + "\n").collect();
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Writes `lines` one per line to `<work>/<name>.txt`, for the producer.
pub fn write_lines(paths: &Paths, name: &str, lines: impl Iterator<Item = String>) -> anyhow::Result<PathBuf> {
    let path = paths.work.join(format!("{name}.txt"));
    let text: String = lines.map(|l| l + "\n").collect();
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The stages of a lingo run.
#[derive(Debug, Clone, Copy)]
pub enum Pipeline<'a> {
    /// cache → postprocess: the cache-hit pipeline of the issue.
    CacheHit,
    /// vllm (the stand-in at `url`) → postprocess; no cache, so every job reaches the LLM.
    Llm { url: &'a str, timeout: &'a str },
    /// cache → the JavaScript post stage at `wasm` (named `tidy-js`), in place of postprocess.
    CacheHitJs { wasm: &'a Path },
    /// cache (in `namespace`) → vllm (the stand-in at `url`), with `detect`
    /// and `glossary` in front when `spare_the_llm`: the savings scenario.
    Savings { url: &'a str, namespace: &'a str, spare_the_llm: bool },
}

/// `detect` and `glossary` as the savings scenario runs them: the chat's
/// languages, and the names `lingo-chat` puts in it.
const SPARE_THE_LLM: &str = "name = \"detect\"\nplugin = \"detect\"\nphase = [\"pre\", \"translate\"]\nconfig = { languages = [\"ko\", \"en\", \"ja\"] }\n";
const GLOSSARY: &str = "name = \"glossary\"\nplugin = \"glossary\"\nphase = [\"pre\", \"post\"]\nconfig = { keep = [\"Faker\", \"T1\", \"Chovy\", \"Gen.G\"] }\n";

/// How a lingo run is set up beyond its pipeline.
#[derive(Debug, Clone, Copy)]
pub struct LingoOptions {
    /// Turn on `cpu_accounting` and serve `/metrics` on this port.
    pub cpu_metrics: Option<u16>,
    /// `[worker] job_log`: each job's stage trace written as its log.
    pub job_log: bool,
    /// `instances = "fresh"` on every stage (set from [`Worker::LingoFresh`](crate::workers::Worker)).
    pub fresh_instances: bool,
}

impl Default for LingoOptions {
    fn default() -> Self {
        Self { cpu_metrics: None, job_log: true, fresh_instances: false }
    }
}

/// The post stage of the bench's pipelines but the JavaScript one.
const TIDY: &str = "name = \"tidy\"\nplugin = \"postprocess\"\nphase = \"post\"\n";

/// Writes lingo's pipeline file for one run and returns its path.
pub fn lingo_config(
    paths: &Paths,
    redis_url: &str,
    protocol: Protocol,
    queue: &str,
    concurrency: usize,
    pipeline: Pipeline,
    options: LingoOptions,
) -> anyhow::Result<PathBuf> {
    let mut toml = format!(
        "[worker]\nredis_url = \"{redis_url}\"\nprotocol = \"{}\"\nqueue = \"{queue}\"\nconcurrency = {concurrency}\n",
        protocol.id()
    );
    if let Some(port) = options.cpu_metrics {
        write!(toml, "cpu_accounting = true\nadmin_listen = \"127.0.0.1:{port}\"\n")?;
    }
    if !options.job_log {
        toml.push_str("job_log = false\n");
    }
    // Each stage's keys, in order.
    let vllm = |url: &str, timeout: &str| {
        format!(
            "name = \"vllm\"\nplugin = \"vllm\"\ntimeout = \"{timeout}\"\nallowed_hosts = [\"{url}\"]\nconfig = {{ url = \"{url}\", model = \"stand-in\" }}\n"
        )
    };
    let cache = "name = \"cache\"\nplugin = \"cache\"\n".to_string();
    let stages = match pipeline {
        Pipeline::CacheHit => vec![cache, TIDY.to_string()],
        Pipeline::Llm { url, timeout } => vec![vllm(url, timeout), TIDY.to_string()],
        Pipeline::CacheHitJs { wasm } => {
            vec![cache, format!("name = \"tidy-js\"\nplugin = \"{}\"\nphase = \"post\"\n", wasm.display())]
        }
        Pipeline::Savings { url, namespace, spare_the_llm } => {
            let cache = format!("{cache}config = {{ namespace = \"{namespace}\" }}\n");
            let front = if spare_the_llm { vec![SPARE_THE_LLM.to_string(), GLOSSARY.to_string()] } else { vec![] };
            front.into_iter().chain([cache, vllm(url, "5s")]).collect()
        }
    };
    let instances = if options.fresh_instances { "instances = \"fresh\"\n" } else { "" };
    for stage in stages {
        write!(toml, "\n[[stage]]\n{stage}{instances}")?;
    }
    let path = paths.work.join("configs").join(format!("{queue}.toml"));
    std::fs::create_dir_all(path.parent().expect("configs dir"))?;
    std::fs::write(&path, toml).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Fills both caches with the translations of `lines` lines: lingo's through
/// its own `cache-import` (so the keys are the cache stage's), the peers' by SET.
pub fn fill_caches(paths: &Paths, redis_url: &str, probe: &mut Probe, lines: usize) -> anyhow::Result<()> {
    let known: String = (0..lines)
        .map(|i| {
            let text = line(i);
            serde_json::json!({"text": text, "target": TARGET, "translation": translation(&text)}).to_string() + "\n"
        })
        .collect();
    let file = paths.work.join("known.jsonl");
    std::fs::write(&file, known)?;
    let config = lingo_config(
        paths,
        redis_url,
        Protocol::BullMq,
        "cache-import",
        64,
        Pipeline::CacheHit,
        LingoOptions::default(),
    )?;
    run(Command::new(&paths.lingo)
        .arg("cache-import")
        .arg("--config")
        .arg(&config)
        .arg(&file)
        .stdout(std::process::Stdio::null()))?;
    let pairs: Vec<(String, String)> = (0..lines)
        .map(|i| {
            let text = line(i);
            (format!("bench:tr:{TARGET}:{text}"), translation(&text))
        })
        .collect();
    probe.set_all(&pairs)
}

/// How a finished job's return value is checked.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Exactly the known translation, from the cache.
    CacheHit,
    /// Any translation, from the stage named `vllm`.
    Llm,
    /// A translation into every target of the job, from any stage.
    Answered,
}

impl Check {
    /// `None` when right, else what is wrong.
    pub fn problem(self, data: &str, returnvalue: &str) -> Option<String> {
        let data: Value = serde_json::from_str(data).unwrap_or_default();
        let value: Value = serde_json::from_str(returnvalue).unwrap_or_default();
        let text = data["text"].as_str().unwrap_or_default();
        let got = &value["translations"][TARGET];
        let targets = data["targetLanguages"].as_array().cloned().unwrap_or_default();
        let ok = match self {
            Check::CacheHit => {
                got.as_str() == Some(translation(text).as_str()) && value["providers"][TARGET] == "cache"
            }
            Check::Llm => got.as_str().is_some_and(|t| !t.is_empty()) && value["providers"][TARGET] == "vllm",
            Check::Answered => targets.iter().all(|target| {
                let target = target.as_str().unwrap_or_default();
                value["translations"][target].as_str().is_some_and(|t| !t.is_empty())
            }),
        };
        (!ok).then(|| format!("job for `{text}` returned {returnvalue}"))
    }
}

/// A queue name unique in the bench: letters, digits and `-`.
pub fn queue_name(parts: &[&str]) -> String {
    parts.join("-").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// The log folder of the bench's children.
pub fn logs(paths: &Paths) -> PathBuf {
    paths.work.join("logs")
}
