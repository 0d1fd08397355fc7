//! What a job produced, what each stage decided on the way, and why a job
//! failed.

use std::collections::BTreeMap;
use std::time::Duration;

use lingo_config::Phase;
use serde_json::json;

use crate::cpu::StageCpu;

/// A completed job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobReport {
    /// Translation per target language.
    pub translations: BTreeMap<String, String>,
    /// The source language, when known.
    pub source_language: Option<String>,
    /// The stage that produced each translation; `stage:reason` when a
    /// stage kept the line as it was (`detect:same-language`).
    pub providers: BTreeMap<String, String>,
    /// Every stage call the job made, in order per unit; a unit that joined
    /// an identical one in flight made none.
    pub steps: Vec<Step>,
    /// Languages whose result came from an identical unit already in flight.
    pub coalesced: usize,
}

impl JobReport {
    /// The job's return value as stored in the queue:
    /// `{"translations", "sourceLanguage", "providers"}`.
    pub fn return_value(&self) -> serde_json::Value {
        json!({
            "translations": self.translations,
            "sourceLanguage": self.source_language,
            "providers": self.providers,
        })
    }
}

/// One stage call and its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The stage's name.
    pub stage: String,
    /// Its phase.
    pub phase: Phase,
    /// The target language (none in the pre phase).
    pub target: Option<String>,
    /// What it decided.
    pub decision: Decision,
    /// How long the call took.
    pub elapsed: Duration,
    /// The CPU it used, when the engine counts it (`[worker] cpu_accounting`).
    pub cpu: Option<StageCpu>,
    /// The text it returned: its translation or rewrite (what `lingo try
    /// --show-text` prints).
    pub output: Option<String>,
}

impl Step {
    /// The step as one line of a trace, the same in `lingo try` and in a
    /// job's log: stage, phase, target, decision, time, and an error's message.
    pub fn trace_line(&self) -> String {
        let phase = match self.phase {
            Phase::Pre => "pre",
            Phase::Translate => "translate",
            Phase::Post => "post",
        };
        let ms = self.elapsed.as_secs_f64() * 1000.0;
        let detail = match &self.decision {
            Decision::Error(message) => format!("  {message}"),
            Decision::Detected(language) => format!("  {language}"),
            Decision::Kept(why) => format!("  {why}"),
            _ => String::new(),
        };
        let target = self.target.as_deref().unwrap_or("-");
        format!("{:<14} {:<10} {:<7} {:<11} {:>7.2} ms{detail}", self.stage, phase, target, self.decision.label(), ms)
    }
}

/// A stage's decision, as shown in traces.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Produced the translation.
    Translated,
    /// Rewrote the text or translation.
    Rewritten,
    /// Passed.
    Passed,
    /// Failed, with the message; the job may have gone on (`on_error = "next"`).
    Error(String),
    /// Stored a translation in `remember`.
    Remembered,
    /// Found the line's language (pre).
    Detected(String),
    /// Kept the line as its own translation, with the reason (translate).
    Kept(String),
}

impl Decision {
    /// One word for tables.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Translated => "translated",
            Decision::Rewritten => "rewritten",
            Decision::Passed => "passed",
            Decision::Error(_) => "error",
            Decision::Remembered => "remembered",
            Decision::Detected(_) => "detected",
            Decision::Kept(_) => "kept",
        }
    }
}

/// Why a job did not complete, typed the way the queue needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt.
    Retryable(String),
    /// Not worth another attempt.
    Fatal(String),
    /// A backend asked to wait this long.
    RateLimited {
        /// What it said.
        message: String,
        /// How long to wait.
        retry_after: Duration,
    },
}

impl Failure {
    /// The message, whatever the kind.
    pub fn message(&self) -> &str {
        match self {
            Failure::Retryable(m) | Failure::Fatal(m) | Failure::RateLimited { message: m, .. } => m,
        }
    }

    /// Combines the failures of several languages: waiting beats retrying
    /// beats giving up, because the milder kind may still succeed.
    pub fn combine(failures: Vec<Failure>) -> Failure {
        let message = failures.iter().map(Failure::message).collect::<Vec<_>>().join("; ");
        let wait = failures.iter().filter_map(|f| match f {
            Failure::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        });
        if let Some(retry_after) = wait.max() {
            Failure::RateLimited { message, retry_after }
        } else if failures.iter().any(|f| matches!(f, Failure::Retryable(_))) {
            Failure::Retryable(message)
        } else {
            Failure::Fatal(message)
        }
    }
}
