//! The hosted config (`lingo.toml`): many tenants' pipelines in one worker.
//!
//! ```toml
//! [worker]                  # shared: Redis, protocol, and `concurrency` = slots in the pool
//! concurrency = 64
//!
//! [[tenant]]
//! id = "acme"
//! pipeline = "acme/pipeline.toml"
//! queue = "acme-translations"
//! max_slots = 32
//! weight = 2
//! api_keys = ["${ACME_API_KEY}"]
//! jobs_per_second = 200
//! limits = { memory = "32MiB", stage_timeout = "5s", job_timeout = "20s", allowed_hosts = ["127.0.0.1:8000"] }
//! ```
//!
//! Each tenant's pipeline file is loaded as usual and then bounded by the
//! tenant: the worker settings come from the hosted file, the queue and the
//! `kv` tenant from the entry, and every stage's memory, timeout and
//! `allowed_hosts` are capped by the tenant's `limits`. A plain
//! `pipeline.toml` is a hosted config of one tenant ([`Hosted::single`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Table;

use crate::env::Env;
use crate::error::{ConfigError, ConfigErrors};
use crate::hosts::{AllowedHost, intersect};
use crate::limits::Knob;
use crate::model::{self, Gateway, MAX_STAGE_MEMORY, Pipeline, Worker, is_identifier};
use crate::reader::{Errors, Fields};

/// A whole hosted config, every tenant's pipeline loaded and bounded.
#[derive(Debug, Clone)]
pub struct Hosted {
    /// The file it came from.
    pub file: PathBuf,
    /// Shared worker settings; `concurrency` is the size of the shared slot pool.
    pub worker: Worker,
    /// How `lingo gateway` serves the tenants.
    pub gateway: Gateway,
    /// The tenants, in file order.
    pub tenants: Vec<Tenant>,
    /// Whether tenants must present an API key at the gateway (hosted files);
    /// a single `pipeline.toml` serves without one.
    pub requires_api_keys: bool,
}

/// One `[[tenant]]`.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Its id: the `kv` prefix, the metrics label.
    pub id: String,
    /// Its pipeline, bounded by its limits, with `worker.queue` its own queue
    /// and `worker.tenant` its id.
    pub pipeline: Pipeline,
    /// Most slots it may hold at once.
    pub max_slots: usize,
    /// Its share of free slots against other waiting tenants.
    pub weight: u32,
    /// Keys that select it at the gateway.
    pub api_keys: Vec<String>,
    /// Gateway requests per second it may make; `None` for no limit.
    pub jobs_per_second: Option<f64>,
}

/// What a tenant's `limits` cap.
#[derive(Debug, Default)]
struct Ceiling {
    memory: Option<u64>,
    stage_timeout: Option<Duration>,
    job_timeout: Option<Duration>,
    allowed_hosts: Option<Vec<AllowedHost>>,
    /// Ceilings on the pipeline's `[limits]`.
    limits: Vec<(&'static Knob, usize)>,
    /// Every stage on a new instance per call, whatever the tenant's file says.
    fresh_instances: bool,
}

impl Hosted {
    /// A single pipeline as a hosted config of one tenant that holds every slot.
    pub fn single(pipeline: Pipeline) -> Self {
        let tenant = Tenant {
            id: pipeline.worker.tenant.clone(),
            max_slots: pipeline.worker.concurrency,
            weight: 1,
            api_keys: vec![],
            jobs_per_second: None,
            pipeline: pipeline.clone(),
        };
        Hosted {
            file: pipeline.file.clone(),
            worker: pipeline.worker.clone(),
            gateway: pipeline.gateway.clone(),
            tenants: vec![tenant],
            requires_api_keys: false,
        }
    }
}

/// Whether a parsed TOML table is a hosted config rather than a pipeline.
pub(crate) fn is_hosted(table: &Table) -> bool {
    table.contains_key("tenant")
}

pub(crate) fn build(table: Table, file: &Path, env: &Env) -> Result<Hosted, ConfigErrors> {
    let mut errors = Errors { file: file.to_path_buf(), env, list: vec![] };
    let mut top = Fields::new("", table);
    let worker = model::worker(top.table("worker", &mut errors), &mut errors, true);
    let gateway = model::gateway(top.table("gateway", &mut errors), &mut errors);
    let entries = top.tables("tenant", &mut errors);
    top.finish(&mut errors);
    let mut tenants = Vec::new();
    let mut pipeline_errors = Vec::new();
    for entry in entries {
        if let Some(tenant) = tenant(entry, &worker, &mut errors, &mut pipeline_errors) {
            tenants.push(tenant);
        }
    }
    check_tenants(&tenants, &worker, &mut errors);
    errors.list.extend(pipeline_errors);
    if errors.list.is_empty() {
        Ok(Hosted { file: file.to_path_buf(), worker, gateway, tenants, requires_api_keys: true })
    } else {
        Err(ConfigErrors(errors.list))
    }
}

fn tenant(
    mut f: Fields,
    worker: &Worker,
    errors: &mut Errors,
    pipeline_errors: &mut Vec<ConfigError>,
) -> Option<Tenant> {
    let path = f.path_of("").trim_end_matches('.').to_string();
    let id = f.string("id", errors);
    let pipeline_file = f.string("pipeline", errors);
    let queue = f.string("queue", errors);
    let max_slots = f.uint("max_slots", 1..=10_000, errors);
    let weight = f.uint("weight", 1..=1000, errors).unwrap_or(1) as u32;
    // Keys often come from `${VAR}`; a stray newline must not make them unmatchable.
    let api_keys: Vec<String> =
        f.strings("api_keys", errors).unwrap_or_default().iter().map(|k| k.trim().to_string()).collect();
    let jobs_per_second =
        f.parsed("jobs_per_second", "a number of requests per second from 0.001 to 1000000", errors, |t| {
            t.trim().parse::<f64>().ok().filter(|r| (0.001..=1_000_000.0).contains(r))
        });
    let ceiling = f.table("limits", errors).map(|limits| ceiling(limits, errors)).unwrap_or_default();
    let at = |key: &str| format!("{path}.{key}");
    f.finish(errors);
    for (i, key) in api_keys.iter().enumerate() {
        if key.len() < 8 {
            errors.push_hint(
                &format!("{}[{i}]", at("api_keys")),
                "an API key must be at least 8 characters",
                "use a long random string, e.g. from `openssl rand -hex 16`, set through `${VAR}`",
            );
        }
    }
    let Some(id) = id else {
        errors.push_hint(&path, "missing `id`", "give every tenant a unique `id = \"...\"`");
        return None;
    };
    if !is_identifier(&id) {
        errors.push_hint(&at("id"), format!("`{id}` is not a tenant id"), "use letters, digits, `-` and `_`");
    }
    let Some(pipeline_file) = pipeline_file else {
        errors.push_hint(&path, "missing `pipeline`", "the path of this tenant's pipeline.toml");
        return None;
    };
    let dir = errors.file().parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut pipeline = match crate::load(&dir.join(&pipeline_file)) {
        Ok(pipeline) => pipeline,
        Err(ConfigErrors(list)) => {
            errors.push(&at("pipeline"), format!("tenant `{id}`: its pipeline `{pipeline_file}` is not valid"));
            pipeline_errors.extend(list);
            return None;
        }
    };
    let max_slots = max_slots.map_or(worker.concurrency, |m| m as usize);
    pipeline.worker = Worker {
        queue: queue.unwrap_or_else(|| format!("translation-jobs-{id}")),
        tenant: id.clone(),
        concurrency: max_slots,
        ..worker.clone()
    };
    bound(&mut pipeline, &ceiling);
    Some(Tenant { id, pipeline, max_slots, weight, api_keys, jobs_per_second })
}

fn ceiling(mut f: Fields, errors: &mut Errors) -> Ceiling {
    let memory = f.parsed("memory", "a size from `1MiB` to `1GiB`", errors, |t| {
        crate::units::parse_bytes(t).filter(|m| (1 << 20..=MAX_STAGE_MEMORY).contains(m))
    });
    let stage_timeout = f.duration("stage_timeout", errors);
    let job_timeout = f.duration("job_timeout", errors);
    let allowed_hosts = f.strings("allowed_hosts", errors).map(|hosts| {
        hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                AllowedHost::parse(h)
                    .map_err(|why| errors.push(&format!("{}[{i}]", f.path_of("allowed_hosts")), why))
                    .ok()
            })
            .collect()
    });
    let limits = crate::limits::ceilings(&mut f, errors);
    let fresh_instances = f.bool("fresh_instances", errors).unwrap_or(false);
    f.finish(errors);
    Ceiling { memory, stage_timeout, job_timeout, allowed_hosts, limits, fresh_instances }
}

/// Caps every stage and the job deadline by the tenant's ceiling.
fn bound(pipeline: &mut Pipeline, ceiling: &Ceiling) {
    for stage in &mut pipeline.stages {
        if let Some(memory) = ceiling.memory {
            stage.memory = stage.memory.min(memory);
        }
        if let Some(timeout) = ceiling.stage_timeout {
            stage.timeout = stage.timeout.min(timeout);
        }
        if let Some(hosts) = &ceiling.allowed_hosts {
            stage.allowed_hosts = intersect(&stage.allowed_hosts, hosts);
        }
        if ceiling.fresh_instances {
            stage.instances = crate::model::Instances::Fresh;
        }
    }
    crate::limits::cap_tenant(&mut pipeline.limits, &ceiling.limits);
    if let Some(deadline) = ceiling.job_timeout {
        pipeline.limits.job_timeout = Some(pipeline.limits.job_timeout.map_or(deadline, |own| own.min(deadline)));
    }
}

fn check_tenants(tenants: &[Tenant], worker: &Worker, errors: &mut Errors) {
    if tenants.is_empty() {
        errors.push_hint("tenant", "no tenant is configured", "add a `[[tenant]]` with an `id` and a `pipeline`");
    }
    // A bull worker keeps one slot on its blocking fetch while its queue is
    // empty; with no slot left over, busy tenants could never get one.
    if worker.protocol == crate::model::Protocol::Bull && tenants.len() >= worker.concurrency {
        errors.push_hint(
            "worker.concurrency",
            format!("{} slots are too few for {} tenants", worker.concurrency, tenants.len()),
            "with `protocol = \"bull\"` each idle tenant keeps one slot on its blocking fetch: give the pool more slots than tenants",
        );
    }
    let mut key_owners = std::collections::HashMap::new();
    for (i, tenant) in tenants.iter().enumerate() {
        let path = format!("tenant[{i}]");
        let earlier = &tenants[..i];
        if earlier.iter().any(|t| t.id == tenant.id) {
            errors.push_hint(
                &format!("{path}.id"),
                format!("`{}` is already a tenant's id", tenant.id),
                "ids must be unique",
            );
        }
        if let Some(other) = earlier.iter().find(|t| t.pipeline.worker.queue == tenant.pipeline.worker.queue) {
            errors.push_hint(
                &format!("{path}.queue"),
                format!("tenant `{}` already takes from queue `{}`", other.id, tenant.pipeline.worker.queue),
                "each tenant needs a queue of its own",
            );
        }
        for key in &tenant.api_keys {
            if let Some(owner) = key_owners.insert(key.as_str(), tenant.id.as_str()) {
                errors.push_hint(
                    &format!("{path}.api_keys"),
                    format!("an API key of tenant `{}` is also a key of tenant `{owner}`", tenant.id),
                    "a key must select exactly one tenant",
                );
            }
        }
        if tenant.max_slots > worker.concurrency {
            errors.push_hint(
                &format!("{path}.max_slots"),
                format!(
                    "{} is more than the {} slots of the pool (`worker.concurrency`)",
                    tenant.max_slots, worker.concurrency
                ),
                "lower it, or raise `worker.concurrency`",
            );
        }
    }
}
