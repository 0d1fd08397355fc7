//! The glue between queue and pipeline: a [`Processor`] that parses a job's
//! data, runs it through the tenant's stages and maps the outcome to the
//! queue's retry semantics. The only module that sees both Bull and
//! WebAssembly.
//!
//! The pipeline can be swapped while jobs run ([`Translator::swap`], hot
//! reload): each job takes the pipeline current when it starts and finishes
//! on it.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use lingo_config::PluginRef;
use lingo_engine::pipeline::Step;
use lingo_engine::{Failure, Pipeline};
use lingo_queue::{Job, JobError, Processor};

use crate::metrics::{JobOutcome, JobRecord, Metrics};

/// Translates one tenant's queue jobs.
pub struct Translator {
    tenant: String,
    current: RwLock<Loaded>,
    metrics: Arc<Metrics>,
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
    /// A processor for `tenant`'s jobs over `loaded`.
    pub fn new(tenant: &str, loaded: Loaded, metrics: Arc<Metrics>) -> Self {
        Self { tenant: tenant.to_string(), current: RwLock::new(loaded), metrics }
    }

    /// Makes `loaded` the pipeline of every job that starts from now on.
    pub fn swap(&self, loaded: Loaded) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = loaded;
    }

    fn loaded(&self) -> Loaded {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn record(&self, outcome: JobOutcome, steps: &[Step], providers: Vec<&str>, loaded: &Loaded) {
        let cache_hits = providers.iter().filter(|p| loaded.cache_stages.contains(**p)).count() as u64;
        let stage_calls = steps.iter().map(|s| (s.stage.as_str(), s.elapsed)).collect();
        self.metrics.record(&self.tenant, JobRecord { outcome, stage_calls, providers, cache_hits });
    }
}

impl Processor for Translator {
    async fn process(&self, job: &Job, slot: usize) -> Result<serde_json::Value, JobError> {
        let started = Instant::now();
        let loaded = self.loaded();
        let input = loaded.pipeline.parse_job(&job.data).map_err(|reason| {
            tracing::warn!(job.id = %job.id, slot, tenant = %self.tenant, "[slot-{slot}] job {} has bad data: {reason}", job.id);
            self.record(JobOutcome::Failed, &[], vec![], &loaded);
            JobError::Fatal(reason)
        })?;
        match loaded.pipeline.run(&job.id, &input).await {
            Ok(report) => {
                let providers: Vec<String> =
                    report.providers.iter().map(|(lang, stage)| format!("{lang}: {stage}")).collect();
                let ms = started.elapsed().as_millis();
                tracing::info!(job.id = %job.id, slot, tenant = %self.tenant, elapsed_ms = ms as u64, "[slot-{slot}] job {} done in {ms} ms ({})", job.id, providers.join(", "));
                self.record(
                    JobOutcome::Completed,
                    &report.steps,
                    report.providers.values().map(String::as_str).collect(),
                    &loaded,
                );
                Ok(report.return_value())
            }
            Err(failed) => {
                tracing::warn!(job.id = %job.id, slot, tenant = %self.tenant, "[slot-{slot}] job {} failed: {}", job.id, failed.failure.message());
                let outcome = match failed.failure {
                    Failure::RateLimited { .. } => JobOutcome::RateLimited,
                    _ => JobOutcome::Failed,
                };
                self.record(outcome, &failed.steps, vec![], &loaded);
                Err(match failed.failure {
                    Failure::Retryable(message) => JobError::Retryable(message),
                    Failure::Fatal(message) => JobError::Fatal(message),
                    Failure::RateLimited { message, retry_after } => JobError::RateLimited { message, retry_after },
                })
            }
        }
    }
}
