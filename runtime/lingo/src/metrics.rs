//! Per-tenant counters for `/metrics`, in the Prometheus text format.
//!
//! Jobs by outcome, stage calls and their time, translations by the stage
//! that produced them (and so the cache hit ratio), plus gauges read at
//! scrape time: slots held and waiting, jobs waiting in each queue, and the
//! state of the last config reload. With `[worker] cpu_accounting`, also
//! the CPU of jobs and of each stage's calls, split into the sandbox and the
//! host calls.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use lingo_engine::cpu::StageCpu;

/// One metric family's samples: (labels, value).
type Samples = Vec<(String, String)>;

/// How a job ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobOutcome {
    Completed,
    /// Failed this attempt; the queue may retry it.
    Failed,
    /// Sent back to wait by a backend's rate limit.
    RateLimited,
}

impl JobOutcome {
    fn label(self) -> &'static str {
        match self {
            JobOutcome::Completed => "completed",
            JobOutcome::Failed => "failed",
            JobOutcome::RateLimited => "rate_limited",
        }
    }
}

/// Every tenant's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    tenants: Mutex<BTreeMap<String, TenantCounters>>,
}

#[derive(Debug, Default)]
struct TenantCounters {
    jobs: BTreeMap<JobOutcome, u64>,
    /// CPU seconds of its jobs, when counted.
    job_cpu: Option<f64>,
    stages: BTreeMap<String, StageCounters>,
    /// Per producing stage: translations.
    providers: BTreeMap<String, u64>,
    cache_hits: u64,
}

/// One stage's calls.
#[derive(Debug, Default)]
struct StageCounters {
    calls: u64,
    seconds: f64,
    /// CPU seconds in the sandbox and in host calls, when counted.
    cpu: Option<(f64, f64)>,
}

/// Gauges sampled when `/metrics` is read.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Per tenant: slots held, requests waiting for a slot.
    pub slots: Vec<(String, usize, usize)>,
    /// Per tenant: jobs waiting in its queue, when Redis answered.
    pub queued: Vec<(String, u64)>,
    /// Whether the last reload was applied.
    pub last_reload_ok: bool,
    /// Reloads applied and refused since start.
    pub reloads: (u64, u64),
    /// Per tenant and limit: how often it was hit since start.
    pub limit_hits: Vec<(String, &'static str, u64)>,
}

/// One job's figures, as the translator reports them.
#[derive(Debug)]
pub struct JobRecord<'a> {
    pub outcome: JobOutcome,
    /// The CPU of the job (parsing, the pipeline, its stage calls), when counted.
    pub cpu: Option<Duration>,
    /// Stage name, time and CPU of each call made.
    pub stage_calls: Vec<(&'a str, Duration, Option<StageCpu>)>,
    /// The stage that produced each translation.
    pub providers: Vec<&'a str>,
    /// How many of those came from a cache stage.
    pub cache_hits: u64,
}

impl Metrics {
    pub fn record(&self, tenant: &str, job: JobRecord<'_>) {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        let counters = match tenants.get_mut(tenant) {
            Some(counters) => counters,
            None => tenants.entry(tenant.to_string()).or_default(),
        };
        *counters.jobs.entry(job.outcome).or_default() += 1;
        if let Some(cpu) = job.cpu {
            *counters.job_cpu.get_or_insert_default() += cpu.as_secs_f64();
        }
        for (stage, elapsed, cpu) in job.stage_calls {
            let entry = counters.stages.entry(stage.to_string()).or_default();
            entry.calls += 1;
            entry.seconds += elapsed.as_secs_f64();
            if let Some(cpu) = cpu {
                let (sandbox, host) = entry.cpu.get_or_insert_default();
                *sandbox += cpu.sandbox.as_secs_f64();
                *host += cpu.host.as_secs_f64();
            }
        }
        for provider in job.providers {
            *counters.providers.entry(provider.to_string()).or_default() += 1;
        }
        counters.cache_hits += job.cache_hits;
    }

    /// The Prometheus text exposition of the counters and `snapshot`, one
    /// family per row of [`FAMILIES`].
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for family in FAMILIES {
            let (name, kind, help) = (family.name, family.kind, family.help);
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in (family.samples)(&tenants, snapshot) {
                let _ = match labels.is_empty() {
                    true => writeln!(out, "{name} {value}"),
                    false => writeln!(out, "{name}{{{labels}}} {value}"),
                };
            }
        }
        out
    }
}

/// One metric family: its name, type and help, and its samples (labels,
/// value) read from the tenants' counters or the snapshot.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: fn(&BTreeMap<String, TenantCounters>, &Snapshot) -> Samples,
}

/// Every family `/metrics` serves, in order.
const FAMILIES: &[Family] = &[
    Family {
        name: "lingo_jobs_total",
        kind: "counter",
        help: "Job attempts finished, by outcome.",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                c.jobs
                    .iter()
                    .map(|(o, n)| (format!("tenant=\"{t}\",outcome=\"{}\"", o.label()), n.to_string()))
                    .collect()
            })
        },
    },
    Family {
        name: "lingo_stage_calls_total",
        kind: "counter",
        help: "Stage calls made.",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                c.stages.iter().map(|(s, n)| (format!("tenant=\"{t}\",stage=\"{s}\""), n.calls.to_string())).collect()
            })
        },
    },
    Family {
        name: "lingo_stage_seconds_total",
        kind: "counter",
        help: "Time spent in stage calls; divide by lingo_stage_calls_total for the mean latency.",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                c.stages
                    .iter()
                    .map(|(s, n)| (format!("tenant=\"{t}\",stage=\"{s}\""), format!("{:.6}", n.seconds)))
                    .collect()
            })
        },
    },
    Family {
        name: "lingo_job_cpu_seconds_total",
        kind: "counter",
        help: "CPU time of job attempts on their own task: parsing, the pipeline, its stage calls (with cpu_accounting).",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                c.job_cpu.map(|secs| (format!("tenant=\"{t}\""), format!("{secs:.6}"))).into_iter().collect()
            })
        },
    },
    Family {
        name: "lingo_stage_cpu_seconds_total",
        kind: "counter",
        help: "CPU time of stage calls (with cpu_accounting): part=\"sandbox\" is wasmtime and the guest, part=\"host_calls\" the http, kv and log calls it made, HTTP exchanges (tasks of their own) included.",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                c.stages
                    .iter()
                    .filter_map(|(s, n)| n.cpu.map(|cpu| (s, cpu)))
                    .flat_map(|(s, (sandbox, host))| {
                        [("sandbox", sandbox), ("host_calls", host)].map(|(part, secs)| {
                            (format!("tenant=\"{t}\",stage=\"{s}\",part=\"{part}\""), format!("{secs:.6}"))
                        })
                    })
                    .collect()
            })
        },
    },
    Family {
        name: "lingo_translations_total",
        kind: "counter",
        help: "Translations produced, by the stage that produced them.",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                c.providers.iter().map(|(p, n)| (format!("tenant=\"{t}\",provider=\"{p}\""), n.to_string())).collect()
            })
        },
    },
    Family {
        name: "lingo_cache_hit_ratio",
        kind: "gauge",
        help: "Share of translations served by a cache stage since start.",
        samples: |tenants, _| {
            each(tenants, |t, c| {
                let total: u64 = c.providers.values().sum();
                let ratio = if total == 0 { 0.0 } else { c.cache_hits as f64 / total as f64 };
                vec![(format!("tenant=\"{t}\""), format!("{ratio:.4}"))]
            })
        },
    },
    Family {
        name: "lingo_slots_held",
        kind: "gauge",
        help: "Concurrency slots the tenant holds now.",
        samples: |_, snapshot| {
            snapshot.slots.iter().map(|(t, held, _)| (format!("tenant=\"{t}\""), held.to_string())).collect()
        },
    },
    Family {
        name: "lingo_slots_waiting",
        kind: "gauge",
        help: "Slot requests of the tenant waiting for a free slot.",
        samples: |_, snapshot| {
            snapshot.slots.iter().map(|(t, _, waiting)| (format!("tenant=\"{t}\""), waiting.to_string())).collect()
        },
    },
    Family {
        name: "lingo_queue_waiting",
        kind: "gauge",
        help: "Jobs waiting in the tenant's queue.",
        samples: |_, snapshot| {
            snapshot.queued.iter().map(|(t, n)| (format!("tenant=\"{t}\""), n.to_string())).collect()
        },
    },
    Family {
        name: "lingo_limit_hits_total",
        kind: "counter",
        help: "Times a tenant's stage ran into a limit (output, log, HTTP, kv), by the limit's config key.",
        samples: |_, snapshot| {
            snapshot
                .limit_hits
                .iter()
                .map(|(t, limit, n)| (format!("tenant=\"{t}\",limit=\"{limit}\""), n.to_string()))
                .collect()
        },
    },
    Family {
        name: "lingo_config_reloads_total",
        kind: "counter",
        help: "Config reloads, applied or refused.",
        samples: |_, snapshot| {
            vec![
                ("result=\"applied\"".into(), snapshot.reloads.0.to_string()),
                ("result=\"refused\"".into(), snapshot.reloads.1.to_string()),
            ]
        },
    },
    Family {
        name: "lingo_config_last_reload_ok",
        kind: "gauge",
        help: "1 when the config in the file is the one running.",
        samples: |_, snapshot| vec![(String::new(), u8::from(snapshot.last_reload_ok).to_string())],
    },
];

/// Every tenant's samples of one family.
fn each(tenants: &BTreeMap<String, TenantCounters>, f: impl Fn(&str, &TenantCounters) -> Samples) -> Samples {
    tenants.iter().flat_map(|(tenant, c)| f(tenant, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_tenant_and_renders_prometheus_text() {
        let metrics = Metrics::default();
        let ms = Duration::from_millis;
        metrics.record(
            "acme",
            JobRecord {
                outcome: JobOutcome::Completed,
                cpu: None,
                stage_calls: vec![("cache", ms(1), None), ("vllm", ms(200), None)],
                providers: vec!["vllm"],
                cache_hits: 0,
            },
        );
        metrics.record(
            "acme",
            JobRecord {
                outcome: JobOutcome::Completed,
                cpu: None,
                stage_calls: vec![("cache", ms(1), None)],
                providers: vec!["cache"],
                cache_hits: 1,
            },
        );
        metrics.record(
            "beta",
            JobRecord { outcome: JobOutcome::Failed, cpu: None, stage_calls: vec![], providers: vec![], cache_hits: 0 },
        );
        let text = metrics.render(&Snapshot {
            slots: vec![("acme".into(), 3, 1)],
            queued: vec![("acme".into(), 42)],
            last_reload_ok: true,
            reloads: (2, 1),
            limit_hits: vec![("beta".into(), "max_log_lines", 7)],
        });
        for line in [
            "lingo_jobs_total{tenant=\"acme\",outcome=\"completed\"} 2",
            "lingo_jobs_total{tenant=\"beta\",outcome=\"failed\"} 1",
            "lingo_limit_hits_total{tenant=\"beta\",limit=\"max_log_lines\"} 7",
            "lingo_stage_calls_total{tenant=\"acme\",stage=\"cache\"} 2",
            "lingo_stage_seconds_total{tenant=\"acme\",stage=\"vllm\"} 0.200000",
            "lingo_cache_hit_ratio{tenant=\"acme\"} 0.5000",
            "lingo_slots_held{tenant=\"acme\"} 3",
            "lingo_queue_waiting{tenant=\"acme\"} 42",
            "lingo_config_reloads_total{result=\"refused\"} 1",
            "lingo_config_last_reload_ok 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
        assert!(!text.contains("lingo_job_cpu_seconds_total{"), "no CPU samples unless counted:\n{text}");
        assert!(!text.contains("lingo_stage_cpu_seconds_total{"), "no CPU samples unless counted:\n{text}");
    }

    #[test]
    fn counted_cpu_is_split_by_stage_and_part() {
        let metrics = Metrics::default();
        let us = Duration::from_micros;
        for _ in 0..2 {
            let cache = StageCpu { sandbox: us(40), host: us(10) };
            let tidy = StageCpu { sandbox: us(30), host: us(0) };
            metrics.record(
                "acme",
                JobRecord {
                    outcome: JobOutcome::Completed,
                    cpu: Some(us(150)),
                    stage_calls: vec![("cache", us(900), Some(cache)), ("tidy", us(35), Some(tidy))],
                    providers: vec!["cache"],
                    cache_hits: 1,
                },
            );
        }
        let text = metrics.render(&Snapshot::default());
        for line in [
            "lingo_job_cpu_seconds_total{tenant=\"acme\"} 0.000300",
            "lingo_stage_cpu_seconds_total{tenant=\"acme\",stage=\"cache\",part=\"sandbox\"} 0.000080",
            "lingo_stage_cpu_seconds_total{tenant=\"acme\",stage=\"cache\",part=\"host_calls\"} 0.000020",
            "lingo_stage_cpu_seconds_total{tenant=\"acme\",stage=\"tidy\",part=\"sandbox\"} 0.000060",
            "lingo_stage_cpu_seconds_total{tenant=\"acme\",stage=\"tidy\",part=\"host_calls\"} 0.000000",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
    }
}
