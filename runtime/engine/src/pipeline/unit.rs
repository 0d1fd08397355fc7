//! One unit: a text into one target language, through the translate chain,
//! `remember` and the post stages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use lingo_config::{OnError, Phase};

use super::Inner;
use super::metadata::Metadata;
use super::report::{Decision, Failure, Step};
use crate::bindings::{self, Outcome, Request, StageError};
use crate::cpu::StageCpu;
use crate::stage::{Stage, StageFailure};

/// What each stage kept in `scratch` so far, by stage name.
pub(super) type Scratchpad = BTreeMap<Arc<str>, Vec<u8>>;

/// What makes two units the same (within one pipeline, so one tenant and
/// one config version): everything a stage of the unit can see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct UnitKey {
    pub text: String,
    pub source: Option<String>,
    pub target: String,
    /// What the job shares with all its units.
    pub job: Arc<JobContext>,
}

/// What every unit of a job sees the same: the line as sent, the job's
/// metadata its translate and post stages see, and what the pre stages of
/// those phases kept in `scratch`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct JobContext {
    pub original: String,
    pub metadata: String,
    pub scratch: Scratchpad,
}

/// A unit's result, shared by every job that asked for it.
#[derive(Debug, Clone)]
pub(super) struct UnitResult {
    /// The translation and the stage that produced it.
    pub outcome: Result<(String, String), Failure>,
    pub steps: Vec<Step>,
}

/// First wait between in-process retries (`on_error = "retry"`); doubles.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

pub(super) async fn translate(inner: Arc<Inner>, job_id: Arc<str>, key: UnitKey) -> UnitResult {
    let mut steps = Vec::new();
    let outcome = run(&inner, &job_id, &key, &mut steps).await;
    UnitResult { outcome, steps }
}

async fn run(inner: &Inner, job_id: &str, key: &UnitKey, steps: &mut Vec<Step>) -> Result<(String, String), Failure> {
    let mut request = Request {
        phase: bindings::Phase::Translate,
        job_id: job_id.into(),
        text: key.text.clone(),
        source_language: key.source.clone(),
        target_language: Some(key.target.clone()),
        translation: None,
        original: key.job.original.clone(),
        metadata: String::new(),
    };
    let metadata = Metadata::parse(&key.job.metadata);
    let mut scratch = key.job.scratch.clone();
    let mut passed = Vec::new();
    let mut errors = Vec::new();
    let mut produced = None;
    for stage in &inner.translate {
        request.metadata = metadata.view(&stage.metadata);
        match call_stage(stage, job_id, &request, Some(&key.target), &mut scratch, steps).await {
            Ok(Outcome::Translated(text)) => {
                produced = Some((text, stage.name.to_string()));
                break;
            }
            // Nothing to translate: nothing worth remembering either.
            Ok(Outcome::Kept(why)) => {
                produced = Some((request.text.clone(), format!("{}:{why}", stage.name)));
                passed.clear();
                break;
            }
            Ok(_) => passed.push(stage.as_ref()),
            Err(failure) if stage.on_error == OnError::Next => errors.push(failure),
            Err(failure) => return Err(failure),
        }
    }
    let Some((mut translation, producer)) = produced else {
        return Err(nothing_translated(&key.target, &passed, errors));
    };
    remember(&passed, job_id, (&request, &metadata), (&translation, &producer), &mut scratch, steps).await;
    request.phase = bindings::Phase::Post;
    for stage in &inner.post {
        request.translation = Some(translation.clone());
        request.metadata = metadata.view(&stage.metadata);
        match call_stage(stage, job_id, &request, Some(&key.target), &mut scratch, steps).await {
            Ok(Outcome::Rewritten(text)) => translation = text,
            Ok(_) => {}
            Err(_) if stage.on_error == OnError::Next => {}
            Err(failure) => return Err(failure),
        }
    }
    Ok((translation, producer))
}

/// Calls a stage, retrying in-process when its `on_error` says so, and
/// records every call in `steps`; what a successful call left in scratch
/// goes into `scratchpad`.
pub(super) async fn call_stage(
    stage: &Stage,
    job_id: &str,
    request: &Request,
    target: Option<&str>,
    scratchpad: &mut Scratchpad,
    steps: &mut Vec<Step>,
) -> Result<Outcome, Failure> {
    let attempts = if stage.on_error == OnError::Retry { 1 + stage.retries } else { 1 };
    let mut attempt = 0;
    loop {
        let started = Instant::now();
        let mut scratch = scratchpad.get(&stage.name).cloned();
        let (result, cpu) = stage.process(job_id, request, &mut scratch).await;
        if result.is_ok() {
            keep(scratchpad, stage, scratch);
        }
        let (decision, output) = match &result {
            Ok(Outcome::Translated(text)) => (Decision::Translated, Some(text.clone())),
            Ok(Outcome::Rewritten(text)) => (Decision::Rewritten, Some(text.clone())),
            Ok(Outcome::Pass) => (Decision::Passed, None),
            Ok(Outcome::Detected(language)) => (Decision::Detected(language.clone()), None),
            Ok(Outcome::Kept(why)) => (Decision::Kept(why.clone()), Some(request.text.clone())),
            Err(failure) => (Decision::Error(failure.to_string()), None),
        };
        let phase = phase_of(request.phase);
        steps.push(Step { output, ..step(stage, phase, target, decision, started.elapsed(), cpu) });
        let failure = match result {
            Ok(outcome) => return Ok(outcome),
            Err(failure) => to_failure(stage, failure),
        };
        attempt += 1;
        if attempt >= attempts || matches!(failure, Failure::Fatal(_)) {
            return Err(failure);
        }
        tokio::time::sleep(RETRY_BACKOFF * 2u32.pow(attempt - 1)).await;
    }
}

/// Tells each stage that passed what `produced` (translation, producer),
/// all at once; a failure is logged and does not fail the unit.
async fn remember(
    passed: &[&Stage],
    job_id: &str,
    (request, metadata): (&Request, &Metadata),
    produced: (&str, &str),
    scratchpad: &mut Scratchpad,
    steps: &mut Vec<Step>,
) {
    let target = request.target_language.as_deref();
    let calls = passed.iter().map(|stage| {
        let mut scratch = scratchpad.get(&stage.name).cloned();
        let request = Request { metadata: metadata.view(&stage.metadata), ..request.clone() };
        async move {
            let started = Instant::now();
            let (result, cpu) = stage.remember(job_id, &request, produced, &mut scratch).await;
            if let Err(failure) = &result {
                tracing::warn!(job.id = job_id, stage = &*stage.name, cause = %failure, "remember failed");
            }
            let decision = result.map_or_else(|f| Decision::Error(f.to_string()), |_| Decision::Remembered);
            (step(stage, Phase::Translate, target, decision, started.elapsed(), cpu), scratch)
        }
    });
    for ((step, scratch), stage) in join_all(calls).await.into_iter().zip(passed) {
        keep(scratchpad, stage, scratch);
        steps.push(step);
    }
}

/// Records what `stage` left in scratch (a failed call leaves what it found).
fn keep(scratchpad: &mut Scratchpad, stage: &Stage, scratch: Option<Vec<u8>>) {
    match scratch {
        Some(value) => scratchpad.insert(stage.name.clone(), value),
        None => scratchpad.remove(&stage.name),
    };
}

fn step(
    stage: &Stage,
    phase: Phase,
    target: Option<&str>,
    decision: Decision,
    elapsed: Duration,
    cpu: Option<StageCpu>,
) -> Step {
    let target = target.map(str::to_string);
    Step { stage: stage.name.to_string(), phase, target, decision, elapsed, cpu, output: None }
}

/// The phase of a request, as the config names it.
fn phase_of(phase: bindings::Phase) -> Phase {
    match phase {
        bindings::Phase::Pre => Phase::Pre,
        bindings::Phase::Translate => Phase::Translate,
        bindings::Phase::Post => Phase::Post,
    }
}

/// A stage's failure as the job sees it, named after the stage.
fn to_failure(stage: &Stage, failure: StageFailure) -> Failure {
    let message = format!("stage `{}`: {failure}", stage.name);
    match failure {
        StageFailure::Error(StageError::Fatal(_)) => Failure::Fatal(message),
        StageFailure::Error(StageError::Retryable(_)) => Failure::Retryable(message),
        StageFailure::Error(StageError::RateLimited(limit)) => {
            Failure::RateLimited { message, retry_after: Duration::from_millis(limit.retry_after_ms) }
        }
        StageFailure::Fault(fault) if fault.is_retryable() => Failure::Retryable(message),
        StageFailure::Fault(_) => Failure::Fatal(message),
    }
}

fn nothing_translated(target: &str, passed: &[&Stage], errors: Vec<Failure>) -> Failure {
    if errors.is_empty() {
        let names: Vec<&str> = passed.iter().map(|s| &*s.name).collect();
        return Failure::Fatal(format!("no stage translated into `{target}` (passed: {})", names.join(", ")));
    }
    match Failure::combine(errors) {
        Failure::RateLimited { message, retry_after } => {
            Failure::RateLimited { message: format!("no stage translated into `{target}`: {message}"), retry_after }
        }
        Failure::Retryable(message) => Failure::Retryable(format!("no stage translated into `{target}`: {message}")),
        Failure::Fatal(message) => Failure::Fatal(format!("no stage translated into `{target}`: {message}")),
    }
}
