//! The glue between queue and pipeline: a [`Processor`] that parses a job's
//! data, runs it through the tenant's stages and maps the outcome to the
//! queue's retry semantics. With `host.rs` (tenants' workers on one
//! engine), one of the two modules that see both Bull and WebAssembly.
//!
//! The pipeline can be swapped while jobs run ([`Translator::swap`], hot
//! reload): each job takes the pipeline current when it starts and finishes
//! on it.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use lingo_config::PluginRef;
use lingo_engine::cpu::metered;
use lingo_engine::pipeline::Step;
use lingo_engine::{Failure, Pipeline};
use lingo_queue::{Job, JobError, Processor};

use crate::metrics::{JobOutcome, JobRecord, Metrics};

/// Translates one tenant's queue jobs.
pub struct Translator {
    tenant: String,
    current: RwLock<Loaded>,
    metrics: Arc<Metrics>,
    /// Whether each job's CPU is counted (`[worker] cpu_accounting`).
    cpu_accounting: bool,
    /// Whether each job's stage trace becomes its log (`[worker] job_log`).
    job_log: bool,
}

/// A pipeline and what the metrics need to know of it.
#[derive(Clone)]
pub struct Loaded {
    pipeline: Pipeline,
    /// Stages that run the bundled cache: their translations are cache hits.
    cache_stages: Arc<HashSet<String>>,
}

impl Loaded {
    /// `pipeline`, loaded from `config`.
    pub fn new(pipeline: Pipeline, config: &lingo_config::Pipeline) -> Self {
        let cache_stages = config
            .enabled_stages()
            .filter(|s| s.plugin == PluginRef::Bundled("cache".into()))
            .map(|s| s.name.clone())
            .collect();
        Self { pipeline, cache_stages: Arc::new(cache_stages) }
    }
}

impl Translator {
    /// A processor for `tenant`'s jobs over `loaded`, counting each job's CPU
    /// and writing its stage trace as its log as `worker` says.
    pub fn new(tenant: &str, loaded: Loaded, metrics: Arc<Metrics>, worker: &lingo_config::Worker) -> Self {
        let (cpu_accounting, job_log) = (worker.cpu_accounting, worker.job_log);
        Self { tenant: tenant.to_string(), current: RwLock::new(loaded), metrics, cpu_accounting, job_log }
    }

    /// Makes `loaded` the pipeline of every job that starts from now on.
    pub fn swap(&self, loaded: Loaded) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = loaded;
    }

    fn loaded(&self) -> Loaded {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn record(&self, job: &Finished, cpu: Option<Duration>, loaded: &Loaded) {
        let Finished { outcome, steps, providers, .. } = job;
        let providers: Vec<&str> = providers.iter().map(String::as_str).collect();
        let cache_hits = providers.iter().filter(|p| loaded.cache_stages.contains(**p)).count() as u64;
        let stage_calls = steps.iter().map(|s| (s.stage.as_str(), s.elapsed, s.cpu)).collect();
        self.metrics.record(&self.tenant, JobRecord { outcome: *outcome, cpu, stage_calls, providers, cache_hits });
    }

    /// Parses and runs one job, logging how it ended.
    async fn translate(&self, job: &Job, slot: usize, loaded: &Loaded) -> Finished {
        let started = Instant::now();
        let input = match loaded.pipeline.parse_job(&job.data) {
            Ok(input) => input,
            Err(reason) => {
                tracing::warn!(job.id = %job.id, slot, tenant = %self.tenant, "[slot-{slot}] job {} has bad data: {reason}", job.id);
                return Finished::failed(JobOutcome::Failed, vec![], JobError::Fatal(reason));
            }
        };
        match loaded.pipeline.run(&job.id, &input).await {
            Ok(report) => {
                let ms = started.elapsed().as_millis();
                let providers: Vec<String> =
                    report.providers.iter().map(|(lang, stage)| format!("{lang}: {stage}")).collect();
                tracing::info!(job.id = %job.id, slot, tenant = %self.tenant, elapsed_ms = ms as u64, "[slot-{slot}] job {} done in {ms} ms ({})", job.id, providers.join(", "));
                let value = report.return_value();
                Finished {
                    outcome: JobOutcome::Completed,
                    steps: report.steps,
                    providers: report.providers.into_values().collect(),
                    result: Ok(value),
                }
            }
            Err(failed) => {
                tracing::warn!(job.id = %job.id, slot, tenant = %self.tenant, "[slot-{slot}] job {} failed: {}", job.id, failed.failure.message());
                let (outcome, error) = match failed.failure {
                    Failure::Retryable(message) => (JobOutcome::Failed, JobError::Retryable(message)),
                    Failure::Fatal(message) => (JobOutcome::Failed, JobError::Fatal(message)),
                    Failure::RateLimited { message, retry_after } => {
                        (JobOutcome::RateLimited, JobError::RateLimited { message, retry_after })
                    }
                };
                Finished::failed(outcome, failed.steps, error)
            }
        }
    }
}

/// How a job ended, and what the metrics count of it.
struct Finished {
    outcome: JobOutcome,
    steps: Vec<Step>,
    /// The stage that produced each translation.
    providers: Vec<String>,
    result: Result<serde_json::Value, JobError>,
}

impl Finished {
    fn failed(outcome: JobOutcome, steps: Vec<Step>, error: JobError) -> Self {
        Self { outcome, steps, providers: vec![], result: Err(error) }
    }
}

impl Processor for Translator {
    async fn process(&self, job: &Job, slot: usize) -> Result<serde_json::Value, JobError> {
        let loaded = self.loaded();
        let (finished, cpu) = metered(self.cpu_accounting, self.translate(job, slot, &loaded)).await;
        self.record(&finished, cpu, &loaded);
        // The stage trace `lingo try` prints, as the job's log.
        if self.job_log {
            for step in &finished.steps {
                job.log.push(step.trace_line());
            }
        }
        finished.result
    }
}
