//! A job hash as either protocol's `moveToActive` returns it: the
//! processor's [`Job`] plus what finishing the job needs. Every value is a
//! string on the wire and is parsed leniently, since producers of any
//! version wrote it. bull counts attempts in `attemptsMade`, bullmq in `atm`;
//! bullmq marks a job its stalled check gave up on with `defa`.
//!
//! The hash arrives as bytes: a `data` that is not UTF-8, or none at all,
//! makes a record that says why ([`Record::unreadable`]), which the runner
//! fails at once, instead of a reply that cannot be parsed and a job that
//! stays locked in active forever.

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tracing::warn;

use crate::{Job, JobError, JobLog, Processor};

use super::opts::JobOpts;

/// A locked job and the parts of its hash the worker needs later.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// What the processor sees.
    pub job: Job,
    /// The job's parsed `opts`.
    pub opts: JobOpts,
    /// The `priority` field (falling back to `opts.priority`), for push-backs.
    pub priority: i64,
    /// Stack traces of earlier failed attempts, to append to.
    pub stacktrace: Vec<String>,
    /// Why the job's data cannot be handed to the processor, if it cannot.
    pub unreadable: Option<String>,
    /// Runs of this job that a rate limit sent back to delayed so far.
    pub rate_limited: u32,
    /// bullmq's deferred failure: why the job must fail without running.
    pub deferred_failure: Option<String>,
}

impl Record {
    /// Builds the record of job `id` from `HGETALL` output (field, value, …).
    pub fn from_fields(id: String, flat: Vec<Vec<u8>>) -> Self {
        let (mut name, mut data, mut opts, mut stacktrace) = (None, None, None, None);
        let (mut priority, mut attempts_made, mut timestamp) = (None, None, None);
        let (mut unreadable, mut rate_limited, mut deferred_failure) = (None, None, None);
        let mut iter = flat.into_iter();
        while let (Some(field), Some(value)) = (iter.next(), iter.next()) {
            if field == b"data" {
                unreadable = crate::job::undecodable(Some(&value));
                data = String::from_utf8(value).ok();
                continue;
            }
            let value = String::from_utf8_lossy(&value).into_owned();
            match &*String::from_utf8_lossy(&field) {
                "name" => name = Some(value),
                "data" => data = Some(value),
                "opts" => opts = Some(value),
                "stacktrace" => stacktrace = Some(value),
                "priority" => priority = number(&value),
                "attemptsMade" | "atm" => attempts_made = number(&value),
                "defa" => deferred_failure = Some(value),
                "timestamp" => timestamp = number(&value),
                crate::job::RATE_LIMITED_FIELD => rate_limited = number(&value),
                _ => {}
            }
        }
        if data.is_none() && unreadable.is_none() {
            unreadable = crate::job::undecodable(None);
        }
        let opts = JobOpts::parse(opts.as_deref());
        let job = Job {
            name: name.unwrap_or_else(|| "__default__".into()),
            data: data.unwrap_or_default(),
            attempts_made: attempts_made.map_or(0, |n| n.max(0.0) as u32),
            timestamp: timestamp.map_or(0, |n| n.max(0.0) as u64),
            id,
            log: JobLog::default(),
        };
        let stacktrace = stacktrace
            .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(&s).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        Self {
            job,
            priority: priority.map_or(opts.priority, |p| p as i64),
            opts,
            stacktrace,
            unreadable,
            rate_limited: rate_limited.map_or(0, |n| n.max(0.0) as u32),
            deferred_failure,
        }
    }
}

/// Calls the processor; a panic counts as a failed (retryable) attempt
/// rather than leaving the job locked until the lock expires.
pub(crate) async fn run_processor<P: Processor>(
    processor: &P,
    record: &Record,
    slot: usize,
) -> Result<serde_json::Value, JobError> {
    if let Some(reason) = &record.unreadable {
        warn!(job.id = %record.job.id, slot, "[slot-{slot}] job {} has bad data: {reason}", record.job.id);
        return Err(JobError::Fatal(reason.clone()));
    }
    if let Some(reason) = &record.deferred_failure {
        return Err(JobError::Fatal(reason.clone()));
    }
    let run = AssertUnwindSafe(processor.process(&record.job, slot));
    run.catch_unwind().await.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(JobError::Retryable(format!("processor panicked: {message}")))
    })
}

/// A numeric field; bull writes numbers as decimal text.
fn number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::Record;

    fn flat(pairs: &[(&str, &str)]) -> Vec<Vec<u8>> {
        pairs.iter().flat_map(|(f, v)| [f.as_bytes().to_vec(), v.as_bytes().to_vec()]).collect()
    }

    #[test]
    fn reads_a_producer_hash() {
        let record = Record::from_fields(
            "7".into(),
            flat(&[
                ("name", "__default__"),
                ("data", r#"{"text":"hi"}"#),
                ("opts", r#"{"attempts":3,"priority":5}"#),
                ("timestamp", "1700000000000"),
                ("priority", "5"),
                ("attemptsMade", "2"),
                ("stacktrace", r#"["Error: a",null]"#),
            ]),
        );
        assert_eq!(record.job.id, "7");
        assert_eq!(record.job.data, r#"{"text":"hi"}"#);
        assert_eq!(record.job.attempts_made, 2);
        assert_eq!(record.job.timestamp, 1_700_000_000_000);
        assert_eq!(record.opts.attempts, 3);
        assert_eq!(record.priority, 5);
        assert_eq!(record.stacktrace, ["Error: a", "null"]);
    }

    #[test]
    fn reads_bullmqs_field_names() {
        let record = Record::from_fields(
            "9".into(),
            flat(&[
                ("name", "translate"),
                ("data", "{}"),
                ("atm", "2"),
                ("defa", "job stalled more than allowable limit"),
            ]),
        );
        assert_eq!(record.job.attempts_made, 2);
        assert_eq!(record.deferred_failure.as_deref(), Some("job stalled more than allowable limit"));
    }

    #[test]
    fn missing_fields_are_defaults() {
        let record = Record::from_fields("x".into(), flat(&[("data", "{}")]));
        assert_eq!(record.job.name, "__default__");
        assert_eq!(record.job.attempts_made, 0);
        assert_eq!(record.opts.attempts, 1);
        assert!(record.stacktrace.is_empty());
        assert_eq!(record.unreadable, None);
    }

    #[test]
    fn data_that_is_not_utf8_or_missing_says_so() {
        let mut fields = flat(&[("opts", "{}")]);
        fields.extend([b"data".to_vec(), b"{\"text\":\"\xff\"}".to_vec()]);
        let record = Record::from_fields("1".into(), fields);
        let why = record.unreadable.expect("unreadable");
        assert!(why.contains("not UTF-8") && why.contains("byte 9 of 12"), "{why}");
        let missing = Record::from_fields("2".into(), flat(&[("opts", "{}")])).unreadable.expect("unreadable");
        assert!(missing.contains("no `data` field"), "{missing}");
    }
}
