//! The `[limits]` table: what a job may ask for and what a job or a stage
//! may produce, per tenant. A hosted tenant's `limits` table takes the same
//! keys as ceilings, so a tenant's own pipeline can never raise them.
//!
//! Every numeric limit is one row of [`KNOBS`]: its key, its default, its
//! kind and its field. Reading a pipeline's limits, capping them by a
//! tenant's and documenting them all walk that one list.

use std::time::Duration;

use toml::Table;

use crate::reader::{Errors, Fields};

/// The `[limits]` table, with every default applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Longest `text`, in bytes of UTF-8.
    pub max_text_bytes: usize,
    /// Most `targetLanguages`: each is a unit of stage calls.
    pub max_targets: usize,
    /// Deadline of a whole job, all its stages included; a job past it fails
    /// as retryable. `None`: only the stages' own timeouts apply.
    pub job_timeout: Option<Duration>,
    /// Longest translation (or rewrite) a stage may produce.
    pub max_translation_bytes: usize,
    /// Longest error message a stage may give; a longer one is cut.
    pub max_error_bytes: usize,
    /// Log lines one stage call may write; the rest are dropped and counted.
    pub max_log_lines: usize,
    /// Log bytes one stage call may write; the rest are dropped and counted.
    pub max_log_bytes: usize,
    /// HTTP requests one stage call may send (redirect hops included).
    pub max_http_requests: usize,
    /// Linear memory the tenant's calls in flight may have, all together,
    /// each counted at its stage's `memory` cap; a call waits for room.
    pub max_memory_in_use: usize,
    /// Bytes the tenant may keep in `kv`, keys and values, all namespaces.
    pub max_kv_bytes: usize,
    /// Keys the tenant may keep in `kv`, all namespaces.
    pub max_kv_keys: usize,
    /// Bytes one stage may keep in `scratch` for one unit.
    pub max_scratch_bytes: usize,
    /// Bytes of a job's metadata (its other fields, as JSON).
    pub max_metadata_bytes: usize,
}

impl Default for JobLimits {
    fn default() -> Self {
        let mut limits = JobLimits {
            max_text_bytes: 0,
            max_targets: 0,
            job_timeout: None,
            max_translation_bytes: 0,
            max_error_bytes: 0,
            max_log_lines: 0,
            max_log_bytes: 0,
            max_http_requests: 0,
            max_memory_in_use: 0,
            max_kv_bytes: 0,
            max_kv_keys: 0,
            max_scratch_bytes: 0,
            max_metadata_bytes: 0,
        };
        for knob in KNOBS {
            *(knob.field)(&mut limits) = knob.default;
        }
        limits
    }
}

/// How a limit is written.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A size: `4KiB`, `16MiB`, or a number of bytes.
    Size,
    /// A whole number.
    Count,
}

/// One numeric limit.
#[derive(Debug)]
pub struct Knob {
    /// Its key in `[limits]` and in a tenant's `limits`.
    pub key: &'static str,
    /// Its value when not set.
    pub default: usize,
    /// Its largest value.
    pub max: usize,
    /// How it is written.
    pub kind: Kind,
    /// What it bounds, for docs and `lingo check`.
    pub what: &'static str,
    field: fn(&mut JobLimits) -> &mut usize,
}

/// Every numeric limit, in the order the docs list them.
pub const KNOBS: &[Knob] = &[
    Knob {
        key: "max_text_bytes",
        default: 4096,
        max: 64 << 20,
        kind: Kind::Size,
        what: "longest `text` of a job",
        field: |l| &mut l.max_text_bytes,
    },
    Knob {
        key: "max_targets",
        default: 16,
        max: 256,
        kind: Kind::Count,
        what: "most `targetLanguages` of a job",
        field: |l| &mut l.max_targets,
    },
    Knob {
        key: "max_translation_bytes",
        default: 16 << 10,
        max: 1 << 20,
        kind: Kind::Size,
        what: "longest translation a stage may produce; a longer one fails the job",
        field: |l| &mut l.max_translation_bytes,
    },
    Knob {
        key: "max_error_bytes",
        default: 2 << 10,
        max: 64 << 10,
        kind: Kind::Size,
        what: "longest error a stage may report; a longer one is cut",
        field: |l| &mut l.max_error_bytes,
    },
    Knob {
        key: "max_log_lines",
        default: 100,
        max: 100_000,
        kind: Kind::Count,
        what: "log lines per stage call; the rest are dropped and counted",
        field: |l| &mut l.max_log_lines,
    },
    Knob {
        key: "max_log_bytes",
        default: 16 << 10,
        max: 16 << 20,
        kind: Kind::Size,
        what: "log bytes per stage call; the rest are dropped and counted",
        field: |l| &mut l.max_log_bytes,
    },
    Knob {
        key: "max_http_requests",
        default: 16,
        max: 10_000,
        kind: Kind::Count,
        what: "HTTP requests per stage call, redirect hops included",
        field: |l| &mut l.max_http_requests,
    },
    Knob {
        key: "max_memory_in_use",
        default: 64 << 30,
        max: 1 << 40,
        kind: Kind::Size,
        what: "linear memory of the tenant's calls in flight, each counted at its stage's `memory` cap",
        field: |l| &mut l.max_memory_in_use,
    },
    Knob {
        key: "max_kv_bytes",
        default: 256 << 20,
        max: 1 << 40,
        kind: Kind::Size,
        what: "bytes of keys and values the tenant keeps in `kv`",
        field: |l| &mut l.max_kv_bytes,
    },
    Knob {
        key: "max_kv_keys",
        default: 1_000_000,
        max: 1 << 32,
        kind: Kind::Count,
        what: "keys the tenant keeps in `kv`",
        field: |l| &mut l.max_kv_keys,
    },
    Knob {
        key: "max_scratch_bytes",
        default: 4 << 10,
        max: 1 << 20,
        kind: Kind::Size,
        what: "bytes one stage keeps in `scratch` for one unit; a larger `set` is refused",
        field: |l| &mut l.max_scratch_bytes,
    },
    Knob {
        key: "max_metadata_bytes",
        default: 4 << 10,
        max: 1 << 20,
        kind: Kind::Size,
        what: "bytes of a job's metadata (its fields beside text and languages, as JSON); over it the job fails",
        field: |l| &mut l.max_metadata_bytes,
    },
];

/// The numeric limits set in `f`, each checked against its range.
fn read_knobs(f: &mut Fields, errors: &mut Errors) -> Vec<(&'static Knob, usize)> {
    let mut set = Vec::new();
    for knob in KNOBS {
        let value = match knob.kind {
            Kind::Size => {
                let expected = format!("a size from 1 byte to {}", size_text(knob.max));
                f.parsed(knob.key, &expected, errors, |t| {
                    crate::units::parse_bytes(t).filter(|n| (1..=knob.max as u64).contains(n))
                })
            }
            Kind::Count => f.uint(knob.key, 1..=knob.max as u64, errors),
        };
        if let Some(value) = value {
            set.push((knob, value as usize));
        }
    }
    set
}

/// `16777216` as `16MiB`, for messages.
pub fn size_text(bytes: usize) -> String {
    match bytes {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{}GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// A pipeline's `[limits]` table.
pub(crate) fn pipeline_limits(fields: Option<Fields>, errors: &mut Errors) -> JobLimits {
    let mut f = fields.unwrap_or_else(|| Fields::new("limits", Table::new()));
    let mut limits = JobLimits::default();
    for (knob, value) in read_knobs(&mut f, errors) {
        *(knob.field)(&mut limits) = value;
    }
    limits.job_timeout = f.duration("job_timeout", errors);
    f.finish(errors);
    limits
}

/// A tenant's ceilings on the numeric limits of its pipeline: the knobs it
/// set, read from its `limits` table (which the caller finishes).
pub(crate) fn ceilings(f: &mut Fields, errors: &mut Errors) -> Vec<(&'static Knob, usize)> {
    read_knobs(f, errors)
}

/// Lowers each limit of a hosted tenant's pipeline to the tenant's ceiling,
/// or to the default where the operator set none: a tenant's own file can
/// lower its limits, never raise them past what the operator allows.
pub(crate) fn cap_tenant(limits: &mut JobLimits, ceilings: &[(&'static Knob, usize)]) {
    for knob in KNOBS {
        let ceiling = ceilings.iter().find(|(k, _)| k.key == knob.key).map_or(knob.default, |(_, v)| *v);
        let field = (knob.field)(limits);
        *field = (*field).min(ceiling);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_has_its_own_field() {
        let mut limits = JobLimits::default();
        for (i, knob) in KNOBS.iter().enumerate() {
            *(knob.field)(&mut limits) = 1_000_000 + i;
        }
        for (i, knob) in KNOBS.iter().enumerate() {
            assert_eq!(*(knob.field)(&mut limits), 1_000_000 + i, "{}", knob.key);
        }
    }

    #[test]
    fn ceilings_only_lower() {
        let mut limits = JobLimits::default();
        let targets = KNOBS.iter().find(|k| k.key == "max_targets").unwrap();
        let text = KNOBS.iter().find(|k| k.key == "max_text_bytes").unwrap();
        cap_tenant(&mut limits, &[(targets, 4), (text, 1 << 20)]);
        assert_eq!(limits.max_targets, 4);
        assert_eq!(limits.max_text_bytes, 4096, "a ceiling above the pipeline's own value changes nothing");
    }

    #[test]
    fn a_tenant_without_a_ceiling_gets_the_default_as_one() {
        let mut limits = JobLimits { max_targets: 256, max_log_lines: 5, ..JobLimits::default() };
        let lines = KNOBS.iter().find(|k| k.key == "max_log_lines").unwrap();
        cap_tenant(&mut limits, &[(lines, 1000)]);
        assert_eq!(limits.max_targets, 16, "256 in the tenant's own file is capped at the default");
        assert_eq!(limits.max_log_lines, 5, "a lower value of its own stays");
    }
}
