//! A job hash as `moveToActive` returns it (spec A2): the processor's [`Job`]
//! plus what finishing the job needs. Every value is a string on the wire and
//! is parsed leniently, since producers of any bull version wrote it.

use crate::Job;

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
}

impl Record {
    /// Builds the record of job `id` from `HGETALL` output (field, value, …).
    pub fn from_fields(id: String, flat: Vec<String>) -> Self {
        let (mut name, mut data, mut opts, mut stacktrace) = (None, None, None, None);
        let (mut priority, mut attempts_made, mut timestamp) = (None, None, None);
        let mut iter = flat.into_iter();
        while let (Some(field), Some(value)) = (iter.next(), iter.next()) {
            match field.as_str() {
                "name" => name = Some(value),
                "data" => data = Some(value),
                "opts" => opts = Some(value),
                "stacktrace" => stacktrace = Some(value),
                "priority" => priority = number(&value),
                "attemptsMade" => attempts_made = number(&value),
                "timestamp" => timestamp = number(&value),
                _ => {}
            }
        }
        let opts = JobOpts::parse(opts.as_deref());
        let job = Job {
            name: name.unwrap_or_else(|| "__default__".into()),
            data: data.unwrap_or_else(|| "{}".into()),
            attempts_made: attempts_made.map_or(0, |n| n.max(0.0) as u32),
            timestamp: timestamp.map_or(0, |n| n.max(0.0) as u64),
            id,
        };
        let stacktrace = stacktrace
            .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(&s).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        Self { job, priority: priority.map_or(opts.priority, |p| p as i64), opts, stacktrace }
    }
}

/// A numeric field; bull writes numbers as decimal text.
fn number(text: &str) -> Option<f64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::Record;

    fn flat(pairs: &[(&str, &str)]) -> Vec<String> {
        pairs.iter().flat_map(|(f, v)| [f.to_string(), v.to_string()]).collect()
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
    fn missing_fields_are_defaults() {
        let record = Record::from_fields("x".into(), Vec::new());
        assert_eq!(record.job.name, "__default__");
        assert_eq!(record.job.attempts_made, 0);
        assert_eq!(record.opts.attempts, 1);
        assert!(record.stacktrace.is_empty());
    }
}
