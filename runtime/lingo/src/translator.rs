//! The glue between queue and pipeline: a [`Processor`] that parses a job's
//! data, runs it through the stages and maps the outcome to the queue's
//! retry semantics. The only module that sees both Bull and WebAssembly.

use std::time::Instant;

use lingo_engine::{Failure, Pipeline};
use lingo_queue::{Job, JobError, Processor};

/// Translates queue jobs with one pipeline.
pub struct Translator {
    pipeline: Pipeline,
}

impl Translator {
    /// A processor over `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        Self { pipeline }
    }
}

impl Processor for Translator {
    async fn process(&self, job: &Job, slot: usize) -> Result<serde_json::Value, JobError> {
        let started = Instant::now();
        let input = self.pipeline.parse_job(&job.data).map_err(|reason| {
            tracing::warn!(job.id = %job.id, slot, "[slot-{slot}] job {} has bad data: {reason}", job.id);
            JobError::Fatal(reason)
        })?;
        match self.pipeline.run(&job.id, &input).await {
            Ok(report) => {
                let providers: Vec<String> =
                    report.providers.iter().map(|(lang, stage)| format!("{lang}: {stage}")).collect();
                let ms = started.elapsed().as_millis();
                tracing::info!(job.id = %job.id, slot, elapsed_ms = ms as u64, "[slot-{slot}] job {} done in {ms} ms ({})", job.id, providers.join(", "));
                Ok(report.return_value())
            }
            Err(failed) => {
                tracing::warn!(job.id = %job.id, slot, "[slot-{slot}] job {} failed: {}", job.id, failed.failure.message());
                Err(match failed.failure {
                    Failure::Retryable(message) => JobError::Retryable(message),
                    Failure::Fatal(message) => JobError::Fatal(message),
                    Failure::RateLimited { message, retry_after } => JobError::RateLimited { message, retry_after },
                })
            }
        }
    }
}
