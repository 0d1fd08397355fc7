//! A job's `opts` JSON as bull's and bullmq's producers store it (the same
//! names for what a worker acts on), reduced to that: retries, backoff, what
//! to keep when finished, where to push the job back, how many stack traces
//! to keep. Only the exponential backoff's formula differs by protocol.
//!
//! Parsing never fails: `opts` is written by other programs, so a missing or
//! unreadable field falls back to bull's default rather than stranding a job.

use serde_json::Value;

/// Longest backoff we schedule; keeps delayed scores well inside `f64` range
/// even for runaway exponential settings.
const MAX_DELAY_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

/// The options the worker needs, with bull's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobOpts {
    /// Total runs allowed; bull's producer stores 1 when none was given.
    pub attempts: u32,
    /// Wait before a retry; none means retry at once.
    pub backoff: Option<Backoff>,
    /// `removeOnComplete`: what stays in `completed` after this job finishes.
    pub remove_on_complete: KeepJobs,
    /// `removeOnFail`: what stays in `failed` after this job finally fails.
    pub remove_on_fail: KeepJobs,
    /// `lifo`: a retried job goes to the right end of wait (runs next).
    pub lifo: bool,
    /// `priority` from opts, used when the hash has no `priority` field.
    pub priority: i64,
    /// `stackTraceLimit`: how many stack traces the job keeps.
    pub stack_trace_limit: Option<usize>,
    /// bullmq's `keepLogs` (stored as `kl`): how many log lines the job keeps.
    pub keep_logs: Option<usize>,
}

/// How long to wait before retrying, by the job's `backoff` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backoff {
    /// The same delay before every retry (also a bare number in `opts`).
    Fixed(u64),
    /// Doubling: bull waits d, 3d, 7d, 15d …; bullmq d, 2d, 4d, 8d …
    Exponential(u64),
    /// A custom strategy that only a Node worker knows: no delay.
    Unknown,
}

/// How many finished jobs to keep, from `removeOnComplete` / `removeOnFail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeepJobs {
    /// 0 deletes the job at once, n > 0 keeps the newest n, −1 keeps all.
    pub count: i64,
    /// When > 0, jobs finished longer ago than this many seconds are deleted.
    pub age_secs: u64,
}

impl KeepJobs {
    /// Keep every finished job (the option is absent or `false`).
    pub const ALL: Self = Self { count: -1, age_secs: 0 };
}

impl Default for JobOpts {
    fn default() -> Self {
        Self {
            attempts: 1,
            backoff: None,
            remove_on_complete: KeepJobs::ALL,
            remove_on_fail: KeepJobs::ALL,
            lifo: false,
            priority: 0,
            stack_trace_limit: None,
            keep_logs: None,
        }
    }
}

impl JobOpts {
    /// Parses `opts` JSON text; anything unreadable gives the defaults.
    pub fn parse(text: Option<&str>) -> Self {
        let value = text.and_then(|t| serde_json::from_str::<Value>(t).ok());
        match value {
            Some(Value::Object(map)) => Self::from_map(&map),
            _ => Self::default(),
        }
    }

    fn from_map(map: &serde_json::Map<String, Value>) -> Self {
        let field = |name: &str| map.get(name).unwrap_or(&Value::Null);
        Self {
            attempts: number(field("attempts")).map_or(1, |n| n.clamp(0.0, u32::MAX as f64) as u32),
            backoff: Backoff::parse(field("backoff")),
            remove_on_complete: KeepJobs::parse(field("removeOnComplete")),
            remove_on_fail: KeepJobs::parse(field("removeOnFail")),
            lifo: field("lifo").as_bool().unwrap_or(false),
            priority: number(field("priority")).map_or(0, |n| n as i64),
            stack_trace_limit: number(field("stackTraceLimit")).filter(|n| *n > 0.0).map(|n| n as usize),
            keep_logs: number(field("kl"))
                .or_else(|| number(field("keepLogs")))
                .filter(|n| *n > 0.0)
                .map(|n| n as usize),
        }
    }
}

impl Backoff {
    fn parse(value: &Value) -> Option<Self> {
        if let Some(delay) = number(value) {
            return Some(Self::Fixed(delay_ms(delay)));
        }
        let map = value.as_object()?;
        let delay = map.get("delay").and_then(number).map_or(0, delay_ms);
        Some(match map.get("type").and_then(Value::as_str) {
            Some("fixed") => Self::Fixed(delay),
            Some("exponential") => Self::Exponential(delay),
            _ => Self::Unknown,
        })
    }

    /// bull's wait before the next run, after `attempts_made` failed runs:
    /// exponential is `(2^attemptsMade − 1) × delay`.
    pub fn bull_delay_ms(self, attempts_made: u32) -> u64 {
        self.delay_ms(attempts_made, -1.0)
    }

    /// bullmq's: exponential is `2^(attemptsMade − 1) × delay`. (bullmq's
    /// optional `jitter` only spreads retries out; it is not applied.)
    pub fn bullmq_delay_ms(self, attempts_made: u32) -> u64 {
        self.delay_ms(attempts_made.saturating_sub(1), 0.0)
    }

    /// `delay × (2^exponent + offset)` for exponential backoff.
    fn delay_ms(self, exponent: u32, offset: f64) -> u64 {
        match self {
            Self::Fixed(delay) => delay,
            Self::Exponential(delay) => {
                let factor = 2f64.powi(exponent.min(1024) as i32) + offset;
                delay_ms(factor * delay as f64)
            }
            Self::Unknown => 0,
        }
    }
}

impl KeepJobs {
    fn parse(value: &Value) -> Self {
        match value {
            Value::Bool(true) => Self { count: 0, age_secs: 0 },
            Value::Number(_) => Self { count: number(value).map_or(-1, |n| n as i64), age_secs: 0 },
            Value::Object(map) => Self {
                count: map.get("count").and_then(number).map_or(-1, |n| n as i64),
                age_secs: map.get("age").and_then(number).map_or(0, |n| n.max(0.0) as u64),
            },
            _ => Self::ALL,
        }
    }
}

/// A JSON number, or a string holding one (other programs write both).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

fn delay_ms(ms: f64) -> u64 {
    if ms.is_finite() { (ms.round().max(0.0) as u64).min(MAX_DELAY_MS) } else { MAX_DELAY_MS }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_is_2_pow_n_minus_1_times_delay() {
        let backoff = Backoff::Exponential(200);
        let delays: Vec<u64> = (1..=4).map(|n| backoff.bull_delay_ms(n)).collect();
        assert_eq!(delays, [200, 600, 1400, 3000]);
    }

    #[test]
    fn bullmq_exponential_backoff_is_2_pow_n_minus_1_times_delay() {
        let backoff = Backoff::Exponential(200);
        let delays: Vec<u64> = (1..=4).map(|n| backoff.bullmq_delay_ms(n)).collect();
        assert_eq!(delays, [200, 400, 800, 1600]);
        assert_eq!(Backoff::Fixed(70).bullmq_delay_ms(3), 70);
    }

    #[test]
    fn huge_exponents_are_capped() {
        assert_eq!(Backoff::Exponential(1000).bull_delay_ms(4000), MAX_DELAY_MS);
    }

    #[test]
    fn backoff_forms() {
        let parse = |s: &str| JobOpts::parse(Some(s)).backoff;
        assert_eq!(parse(r#"{"backoff":300}"#), Some(Backoff::Fixed(300)));
        assert_eq!(parse(r#"{"backoff":{"type":"fixed","delay":50}}"#), Some(Backoff::Fixed(50)));
        assert_eq!(parse(r#"{"backoff":{"type":"exponential","delay":10}}"#), Some(Backoff::Exponential(10)));
        assert_eq!(parse(r#"{"backoff":{"type":"jitter","delay":10}}"#), Some(Backoff::Unknown));
        assert_eq!(Backoff::Unknown.bull_delay_ms(3), 0);
        assert_eq!(parse(r#"{"attempts":3}"#), None);
    }

    #[test]
    fn keep_jobs_forms() {
        let parse = |s: &str| JobOpts::parse(Some(s)).remove_on_complete;
        assert_eq!(parse(r#"{"removeOnComplete":true}"#), KeepJobs { count: 0, age_secs: 0 });
        assert_eq!(parse(r#"{"removeOnComplete":false}"#), KeepJobs::ALL);
        assert_eq!(parse(r#"{"removeOnComplete":10}"#), KeepJobs { count: 10, age_secs: 0 });
        assert_eq!(parse(r#"{"removeOnComplete":{"age":60,"count":5}}"#), KeepJobs { count: 5, age_secs: 60 });
        assert_eq!(parse(r#"{"removeOnComplete":{"age":60}}"#), KeepJobs { count: -1, age_secs: 60 });
        assert_eq!(parse("{}"), KeepJobs::ALL);
        let on_fail = JobOpts::parse(Some(r#"{"removeOnFail":{"count":1}}"#)).remove_on_fail;
        assert_eq!(on_fail, KeepJobs { count: 1, age_secs: 0 });
    }

    #[test]
    fn missing_or_bad_opts_give_defaults() {
        assert_eq!(JobOpts::parse(None), JobOpts::default());
        assert_eq!(JobOpts::parse(Some("not json")), JobOpts::default());
        assert_eq!(JobOpts::parse(Some("[1]")).attempts, 1);
    }

    #[test]
    fn producer_defaults_and_extras() {
        let opts = JobOpts::parse(Some(
            r#"{"attempts":"3","delay":0,"lifo":true,"priority":5,"stackTraceLimit":2,"timestamp":1}"#,
        ));
        assert_eq!(opts.attempts, 3);
        assert!(opts.lifo);
        assert_eq!(opts.priority, 5);
        assert_eq!(opts.stack_trace_limit, Some(2));
    }
}
