//! What happens to a job whose processor returned a [`JobError`]: a pure
//! decision, the same for both protocols but for the backoff formula,
//! written to Redis afterwards by one script.
//!
//! The error's variant decides, never its message: `Retryable` counts an
//! attempt and retries by the job's own `attempts`/`backoff`; `Fatal` counts
//! an attempt and fails at once; `RateLimited` goes back to delayed for a
//! clamped wait without counting an attempt, [`FREE_RATE_LIMITS`] times;
//! after that it counts as `Retryable`.

use std::time::Duration;

use crate::JobError;
use crate::job::{FREE_RATE_LIMITS, clamp_wait, rate_limits_spent};

use super::opts::Backoff;
use super::record::Record;

/// The plan for a job that did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Record a failed attempt, then go on as `FailedAttempt::next` says.
    Attempt(FailedAttempt),
    /// Back to delayed for this long; the job hash is not touched.
    RateLimited(Duration),
}

/// The hash writes of a failed attempt and where the job goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailedAttempt {
    /// `failedReason`: the error message, plain text.
    pub reason: String,
    /// `attemptsMade` after this attempt.
    pub attempts_made: u32,
    /// `stacktrace`: JSON array text, this attempt's line appended.
    pub stacktrace: String,
    /// Where the job goes.
    pub next: Next,
}

/// Where a job goes after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Retry after this many milliseconds (via `K(delayed)`).
    Delay(u64),
    /// Retry at once (back to wait or paused).
    Retry,
    /// No retry left: the job fails for good.
    Fail,
}

/// Decides what to do with `record` after `error`; `backoff_ms` is the
/// protocol's wait before the next run after so many failed runs.
pub(crate) fn plan(record: &Record, error: &JobError, backoff_ms: fn(Backoff, u32) -> u64) -> Plan {
    // A spent rate limit still waits what the backend asked, at least.
    let (reason, retryable, at_least) = match error {
        JobError::RateLimited { retry_after, .. } if record.rate_limited < FREE_RATE_LIMITS => {
            return Plan::RateLimited(clamp_wait(*retry_after));
        }
        JobError::RateLimited { message, retry_after } => {
            (rate_limits_spent(message), true, clamp_wait(*retry_after).as_millis() as u64)
        }
        JobError::Retryable(message) => (message.clone(), true, 0),
        JobError::Fatal(message) => (message.clone(), false, 0),
    };
    let attempts_made = record.job.attempts_made.saturating_add(1);
    let next = if retryable && attempts_made < record.opts.attempts {
        match record.opts.backoff.map_or(0, |b| backoff_ms(b, attempts_made)).max(at_least) {
            0 => Next::Retry,
            delay => Next::Delay(delay),
        }
    } else {
        Next::Fail
    };
    Plan::Attempt(FailedAttempt { stacktrace: stacktrace_with(record, &reason), reason, attempts_made, next })
}

/// The job's stack traces plus one for this attempt, keeping the last
/// `stackTraceLimit`. There is no JavaScript stack, so the line is the
/// message in the shape of a Node `err.stack` head.
fn stacktrace_with(record: &Record, reason: &str) -> String {
    let mut lines = record.stacktrace.clone();
    lines.push(format!("Error: {reason}"));
    if let Some(limit) = record.opts.stack_trace_limit {
        let excess = lines.len().saturating_sub(limit);
        lines.drain(..excess);
    }
    serde_json::to_string(&lines).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(opts: &str, attempts_made: &str) -> Record {
        let flat = ["opts", opts, "attemptsMade", attempts_made, "stacktrace", r#"["Error: old"]"#];
        Record::from_fields("1".into(), flat.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    fn bull_plan(record: &Record, error: &JobError) -> Plan {
        plan(record, error, Backoff::bull_delay_ms)
    }

    fn attempt(plan: Plan) -> FailedAttempt {
        match plan {
            Plan::Attempt(a) => a,
            other => panic!("expected an attempt, got {other:?}"),
        }
    }

    #[test]
    fn retries_with_exponential_backoff_until_attempts_used() {
        let opts = r#"{"attempts":3,"backoff":{"type":"exponential","delay":200}}"#;
        let err = JobError::Retryable("boom".into());
        assert_eq!(attempt(bull_plan(&record(opts, "0"), &err)).next, Next::Delay(200));
        assert_eq!(attempt(bull_plan(&record(opts, "1"), &err)).next, Next::Delay(600));
        let last = attempt(bull_plan(&record(opts, "2"), &err));
        assert_eq!((last.next, last.attempts_made), (Next::Fail, 3));
        assert_eq!(last.stacktrace, r#"["Error: old","Error: boom"]"#);
    }

    #[test]
    fn no_backoff_retries_at_once_and_default_attempts_do_not_retry() {
        let err = JobError::Retryable("x".into());
        assert_eq!(attempt(bull_plan(&record(r#"{"attempts":2}"#, "0"), &err)).next, Next::Retry);
        assert_eq!(attempt(bull_plan(&record("{}", "0"), &err)).next, Next::Fail);
    }

    #[test]
    fn fatal_fails_at_once_but_counts_the_attempt() {
        let failed = attempt(bull_plan(&record(r#"{"attempts":5}"#, "1"), &JobError::Fatal("bad".into())));
        assert_eq!((failed.next, failed.attempts_made, failed.reason.as_str()), (Next::Fail, 2, "bad"));
    }

    #[test]
    fn a_rate_limit_waits_within_bounds_and_is_free_only_so_often() {
        let wait = |ms: u64| JobError::RateLimited { message: "slow".into(), retry_after: Duration::from_millis(ms) };
        assert_eq!(bull_plan(&record("{}", "0"), &wait(0)), Plan::RateLimited(Duration::from_millis(500)));
        assert_eq!(bull_plan(&record("{}", "0"), &wait(u64::MAX)), Plan::RateLimited(Duration::from_secs(300)));
        let mut limited = record(r#"{"attempts":3}"#, "0");
        limited.rate_limited = FREE_RATE_LIMITS;
        let spent = attempt(bull_plan(&limited, &wait(1000)));
        assert_eq!((spent.next, spent.attempts_made), (Next::Delay(1000), 1), "it still waits what the backend asked");
        assert!(spent.reason.contains("rate limited more than 20 times"), "{}", spent.reason);
    }

    #[test]
    fn rate_limited_uses_no_attempt() {
        let err = JobError::RateLimited { message: "slow".into(), retry_after: Duration::from_secs(2) };
        assert_eq!(bull_plan(&record("{}", "0"), &err), Plan::RateLimited(Duration::from_secs(2)));
    }

    #[test]
    fn stack_trace_limit_keeps_the_last_entries() {
        let failed = attempt(bull_plan(&record(r#"{"stackTraceLimit":1}"#, "0"), &JobError::Fatal("new".into())));
        assert_eq!(failed.stacktrace, r#"["Error: new"]"#);
    }
}
