//! The validated pipeline: what the rest of lingo reads instead of TOML.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Table;

use crate::env::Env;
use crate::error::ConfigErrors;
use crate::hosts::AllowedHost;
use crate::limits::JobLimits;
use crate::reader::{Errors, Fields};

/// A whole `pipeline.toml`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The file it came from, for messages.
    pub file: PathBuf,
    /// How the worker reaches and consumes its queue.
    pub worker: Worker,
    /// What a job's data may hold.
    pub limits: JobLimits,
    /// The stages in file order, disabled ones included.
    pub stages: Vec<StageSpec>,
    /// How `lingo gateway` serves this queue.
    pub gateway: Gateway,
}

/// The `[gateway]` table.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// Address to listen on.
    pub listen: std::net::SocketAddr,
    /// How long a request waits for its job.
    pub queue_timeout: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

impl Pipeline {
    /// The stages that run.
    pub fn enabled_stages(&self) -> impl Iterator<Item = &StageSpec> {
        self.stages.iter().filter(|s| s.enabled)
    }
}

/// Which producer library's protocol the queue speaks: the one type the
/// config, `lingo check`, the host, the worker and the producer share (a
/// third protocol is a variant here, a folder in `runtime/queue`, and the
/// match arms the compiler then asks for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// npm `bull` v4.
    Bull,
    /// npm `bullmq` v5+.
    BullMq,
}

impl Protocol {
    /// Every protocol, in the order the docs list them.
    pub const ALL: [Protocol; 2] = [Protocol::Bull, Protocol::BullMq];

    /// Its name in `pipeline.toml` (`worker.protocol`) and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Bull => "bull",
            Protocol::BullMq => "bullmq",
        }
    }

    /// The protocol `name` names.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// The `[worker]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// The queue's Redis (`REDIS_URL`).
    pub redis_url: String,
    /// Where the `kv` capability keeps its data; the queue's Redis by default.
    pub kv_url: String,
    /// `bull` or `bullmq`.
    pub protocol: Protocol,
    /// Key prefix, `bull` unless the producer uses another.
    pub prefix: String,
    /// Queue name.
    pub queue: String,
    /// Jobs at once (`WORKER_CONCURRENCY` overrides).
    pub concurrency: usize,
    /// Lock time-to-live; renewed at half of it.
    pub lock_duration: Duration,
    /// How often stalled jobs are looked for.
    pub stalled_interval: Duration,
    /// How often a job may stall before it fails.
    pub max_stalled_count: u32,
    /// How long in-flight jobs may run on at shutdown.
    pub shutdown_grace: Duration,
    /// The tenant whose `kv` namespace the stages use.
    pub tenant: String,
    /// Where `lingo run` serves `/metrics`, `/healthz` and `POST /reload`;
    /// not served unless set.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// The bearer token `POST /reload` must carry. Without one, reload over
    /// HTTP is served on loopback only.
    pub admin_token: Option<String>,
    /// Count the CPU of jobs, stage calls and host calls in `/metrics`: two
    /// reads of the thread's CPU clock per poll, so off unless asked for.
    pub cpu_accounting: bool,
    /// Write each job's stage trace as the job's log (Bull Board's "Logs").
    pub job_log: bool,
}

/// When a stage runs; ordered as a job meets the phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Once per job, on the source text.
    Pre,
    /// Per target language, until one stage translates.
    Translate,
    /// Per produced translation.
    Post,
}

/// How a stage's instances serve calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instances {
    /// An instance serves up to `max_reuse` calls of this stage for this
    /// tenant, and is dropped at the first sign of trouble.
    Reuse {
        /// Calls one instance serves at most.
        max_reuse: u32,
    },
    /// A new instance for every call.
    Fresh,
}

impl Instances {
    /// The default: reuse, 1,000 calls an instance.
    pub const DEFAULT: Instances = Instances::Reuse { max_reuse: 1000 };

    /// Calls one instance serves at most (1 when fresh).
    pub fn max_reuse(self) -> u32 {
        match self {
            Instances::Reuse { max_reuse } => max_reuse,
            Instances::Fresh => 1,
        }
    }
}

/// What a stage's failure does to its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Go on as if the stage had passed (a fallback).
    Next,
    /// Call the stage again, up to `retries` times, then fail the job.
    Retry,
    /// Fail the job with the stage's error.
    Fail,
}

/// Where a stage's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginRef {
    /// A stage bundled into `lingo`, by name.
    Bundled(String),
    /// A `.wasm` component on disk (relative paths resolved against the config's folder).
    File(PathBuf),
}

/// One `[[stage]]` table.
#[derive(Debug, Clone)]
pub struct StageSpec {
    /// Its TOML path (`stage[2]`), for messages about it.
    pub path: String,
    /// Its unique name, shown in traces and `providers`.
    pub name: String,
    /// The component to run.
    pub plugin: PluginRef,
    /// When it runs: one phase, or several (`phase = ["pre", "post"]`), in
    /// the order pre, translate, post; the stage learns which from its
    /// request, and one set of instances serves them all.
    pub phases: Vec<Phase>,
    /// What its failure does.
    pub on_error: OnError,
    /// Extra calls on failure when `on_error = "retry"`.
    pub retries: u32,
    /// Deadline of one call, its HTTP requests included.
    pub timeout: Duration,
    /// Linear memory cap of one instance.
    pub memory: u64,
    /// Hosts its `http` calls may reach.
    pub allowed_hosts: Vec<AllowedHost>,
    /// Redirects one request may follow, each hop checked against
    /// `allowed_hosts`; 0 hands a 3xx to the stage as it is.
    pub max_redirects: u32,
    /// Whether an instance serves many calls or one.
    pub instances: Instances,
    /// Its `kv` namespace (its name unless set).
    pub kv_namespace: String,
    /// The job data fields it sees in `request.metadata`: none unless
    /// listed, so a stage learns no more of a job than it needs, and lines
    /// whose other fields differ are still translated once.
    pub metadata: Vec<String>,
    /// Whether it runs at all.
    pub enabled: bool,
    /// Its `config` table as JSON, handed to the plugin.
    pub config: serde_json::Value,
}

/// Largest memory cap a stage may ask for.
pub const MAX_STAGE_MEMORY: u64 = 1 << 30;

pub(crate) fn build(table: Table, file: &Path, env: &Env) -> Result<Pipeline, ConfigErrors> {
    let mut errors = Errors { file: file.to_path_buf(), env, list: vec![] };
    let mut top = Fields::new("", table);
    let worker = worker(top.table("worker", &mut errors), &mut errors, false);
    let limits = crate::limits::pipeline_limits(top.table("limits", &mut errors), &mut errors);
    let gateway = gateway(top.table("gateway", &mut errors), &mut errors);
    let tables = top.tables("stage", &mut errors);
    let written = tables.len();
    let stages: Vec<StageSpec> = tables.into_iter().filter_map(|f| stage(f, &mut errors)).collect();
    top.finish(&mut errors);
    check_stages(&stages, &mut errors);
    // Whether any stage translates is only known once every stage was read.
    let all_read = stages.len() == written && !top_level_stage_error(&errors);
    if all_read && !stages.iter().any(|s| s.enabled && s.phases.contains(&Phase::Translate)) {
        errors.push_hint(
            "stage",
            "no enabled stage translates",
            "add a `[[stage]]` with `phase = \"translate\"` (the default), e.g. `plugin = \"cache\"`",
        );
    }
    if errors.list.is_empty() {
        Ok(Pipeline { file: file.to_path_buf(), worker, limits, stages, gateway })
    } else {
        Err(ConfigErrors(errors.list))
    }
}

/// The `[worker]` table. In a hosted config the queue and the tenant are
/// set per `[[tenant]]`, so those two keys are not read there.
pub(crate) fn worker(fields: Option<Fields>, errors: &mut Errors, hosted: bool) -> Worker {
    let mut f = fields.unwrap_or_else(|| Fields::new("worker", Table::new()));
    let default_redis = errors.env.get("REDIS_URL").unwrap_or("redis://127.0.0.1:6379").to_string();
    let redis_url = f.string("redis_url", errors).unwrap_or(default_redis);
    check_redis_url(&redis_url, &f.path_of("redis_url"), errors);
    let kv_url = match f.string("kv_url", errors) {
        Some(url) => {
            check_redis_url(&url, &f.path_of("kv_url"), errors);
            url
        }
        None => redis_url.clone(),
    };
    let protocol = f.parsed("protocol", "`bull` or `bullmq`", errors, Protocol::from_name);
    let prefix = non_empty(f.string("prefix", errors), "bull", &f.path_of("prefix"), errors);
    let queue = if hosted { None } else { f.string("queue", errors) };
    let queue = non_empty(queue, "translation-jobs", &f.path_of("queue"), errors);
    let mut concurrency = f.uint("concurrency", 1..=10_000, errors).unwrap_or(4) as usize;
    if let Some(text) = errors.env.get("WORKER_CONCURRENCY") {
        match text.trim().parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => concurrency = n,
            _ => errors.push("WORKER_CONCURRENCY", format!("expected a whole number from 1 to 10000, found `{text}`")),
        }
    }
    let worker = Worker {
        redis_url,
        kv_url,
        protocol: protocol.unwrap_or(Protocol::Bull),
        prefix,
        queue,
        concurrency,
        lock_duration: f.duration("lock_duration", errors).unwrap_or(Duration::from_secs(30)),
        stalled_interval: f.duration("stalled_interval", errors).unwrap_or(Duration::from_secs(30)),
        max_stalled_count: f.uint("max_stalled_count", 0..=1000, errors).unwrap_or(1) as u32,
        shutdown_grace: f.duration("shutdown_grace", errors).unwrap_or(Duration::from_secs(10)),
        admin_listen: f.parsed("admin_listen", "an address like `127.0.0.1:9464`", errors, |t| t.parse().ok()),
        admin_token: f.string("admin_token", errors).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        cpu_accounting: f.bool("cpu_accounting", errors).unwrap_or(false),
        job_log: f.bool("job_log", errors).unwrap_or(true),
        tenant: non_empty(
            if hosted { None } else { f.string("tenant", errors) },
            "default",
            &f.path_of("tenant"),
            errors,
        ),
    };
    if !is_identifier(&worker.tenant) {
        errors.push_hint(
            &f.path_of("tenant"),
            format!("`{}` is not a tenant id", worker.tenant),
            "use letters, digits, `-` and `_`",
        );
    }
    f.finish(errors);
    worker
}

pub(crate) fn gateway(fields: Option<Fields>, errors: &mut Errors) -> Gateway {
    let mut f = fields.unwrap_or_else(|| Fields::new("gateway", Table::new()));
    let gateway = Gateway {
        listen: f
            .parsed("listen", "an address like `127.0.0.1:3000`", errors, |t| t.parse().ok())
            .unwrap_or_else(|| "127.0.0.1:3000".parse().expect("default address")),
        queue_timeout: f.duration("queue_timeout", errors).unwrap_or(Duration::from_secs(30)),
        max_body_bytes: f.bytes("max_body_bytes", errors).unwrap_or(64 << 10) as usize,
    };
    f.finish(errors);
    gateway
}

fn stage(mut f: Fields, errors: &mut Errors) -> Option<StageSpec> {
    let path = f.path_of("").trim_end_matches('.').to_string();
    let name = f.string("name", errors);
    let plugin = f.string("plugin", errors);
    if name.is_none() {
        errors.push_hint(&path, "missing `name`", "give every stage a unique `name = \"...\"`");
    }
    if plugin.is_none() {
        errors.push_hint(&path, "missing `plugin`", crate::bundled::plugin_hint());
    }
    let phases = f.one_or_many("phase", errors).map(|names| phases(&names, &f.path_of("phase"), errors));
    let on_error = f.parsed("on_error", "`next`, `retry` or `fail`", errors, |t| match t {
        "next" => Some(OnError::Next),
        "retry" => Some(OnError::Retry),
        "fail" => Some(OnError::Fail),
        _ => None,
    });
    let retries = f.uint("retries", 0..=10, errors);
    if retries.is_some() && on_error != Some(OnError::Retry) {
        errors.push_hint(
            &f.path_of("retries"),
            "only applies with `on_error = \"retry\"`",
            "remove it, or set `on_error = \"retry\"`",
        );
    }
    let timeout = f.duration("timeout", errors);
    if timeout.is_some_and(|t| t > Duration::from_secs(300)) {
        errors.push_hint(
            &f.path_of("timeout"),
            "is longer than 5 minutes",
            "a chat line that waits that long is stale; use a shorter timeout",
        );
    }
    let memory = f.parsed("memory", "a size from `1MiB` to `1GiB`", errors, |t| {
        crate::units::parse_bytes(t).filter(|m| (1 << 20..=MAX_STAGE_MEMORY).contains(m))
    });
    let allowed_hosts = f.strings("allowed_hosts", errors).unwrap_or_default();
    let allowed_hosts: Vec<AllowedHost> = allowed_hosts
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            AllowedHost::parse(h)
                .map_err(|why| {
                    errors.push_hint(
                        &format!("{}[{i}]", f.path_of("allowed_hosts")),
                        why,
                        "write `host:port`, `http://host:port`, `*.domain` or `*`",
                    )
                })
                .ok()
        })
        .collect();
    let max_redirects = f.uint("max_redirects", 0..=10, errors).unwrap_or(0) as u32;
    let reuse = f.parsed("instances", "`reuse` or `fresh`", errors, |t| match t.trim() {
        "reuse" => Some(true),
        "fresh" => Some(false),
        _ => None,
    });
    let max_reuse = f.uint("max_reuse", 1..=1_000_000, errors);
    if max_reuse.is_some() && reuse == Some(false) {
        errors.push_hint(
            &f.path_of("max_reuse"),
            "`max_reuse` has no effect with `instances = \"fresh\"`",
            "remove it, or use `instances = \"reuse\"`",
        );
    }
    let instances = match (reuse, max_reuse) {
        (Some(false), _) => Instances::Fresh,
        (_, Some(max_reuse)) => Instances::Reuse { max_reuse: max_reuse as u32 },
        _ => Instances::DEFAULT,
    };
    let kv_namespace = f.string("kv_namespace", errors);
    let metadata = f.strings("metadata", errors).unwrap_or_default();
    if let Some(i) = metadata.iter().position(|field| field.trim().is_empty()) {
        errors.push_hint(
            &format!("{}[{i}]", f.path_of("metadata")),
            "is empty",
            "list the job data fields the stage reads, like `metadata = [\"channel\"]`",
        );
    }
    let enabled = f.bool("enabled", errors).unwrap_or(true);
    let config = f.json("config", errors).unwrap_or_else(|| serde_json::json!({}));
    if !config.is_object() {
        errors.push_hint(
            &f.path_of("config"),
            "expected a table",
            "write `config = { key = \"value\" }` or a `[stage.config]` table",
        );
    }
    if let Some(bundled) = plugin.as_deref()
        && crate::bundled::calls_config_url(bundled)
        && let Some(url) = config.get("url").and_then(serde_json::Value::as_str)
    {
        check_url_allowed(url, &allowed_hosts, &format!("{}.url", f.path_of("config")), errors);
    }
    f.finish(errors);
    let (name, plugin) = (name?, plugin?);
    let phases = phases.flatten().unwrap_or_else(|| vec![Phase::Translate]);
    Some(StageSpec {
        plugin: plugin_ref(&plugin, errors.file()),
        on_error: on_error.unwrap_or(if phases == [Phase::Translate] { OnError::Next } else { OnError::Fail }),
        retries: retries.unwrap_or(2) as u32,
        timeout: timeout.unwrap_or(Duration::from_secs(10)),
        memory: memory.unwrap_or(64 << 20),
        kv_namespace: kv_namespace.unwrap_or_else(|| name.clone()),
        metadata,
        path,
        name,
        phases,
        allowed_hosts,
        max_redirects,
        instances,
        enabled,
        config,
    })
}

/// The phases named, in pipeline order without repeats; `None` (and an
/// error naming the entry) when one is not a phase.
fn phases(names: &[String], path: &str, errors: &mut Errors) -> Option<Vec<Phase>> {
    let mut phases = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let phase = match name.trim() {
            "pre" => Phase::Pre,
            "translate" => Phase::Translate,
            "post" => Phase::Post,
            other => {
                let at = if names.len() == 1 { path.to_string() } else { format!("{path}[{i}]") };
                errors.push(&at, format!("expected `pre`, `translate` or `post`, found `{other}`"));
                return None;
            }
        };
        phases.push(phase);
    }
    phases.sort();
    phases.dedup();
    if phases.is_empty() {
        errors.push(path, "expected at least one of `pre`, `translate`, `post`");
        return None;
    }
    Some(phases)
}

fn check_url_allowed(url: &str, allowed: &[AllowedHost], path: &str, errors: &mut Errors) {
    // A URL that is not http(s) at all is the stage's own `init` to report.
    if let Ok(false) = crate::hosts::allows_url(allowed, url) {
        errors.push_hint(
            path,
            format!("`{url}` is not in this stage's allowed_hosts, so every call would be refused"),
            format!("add \"{url}\" to the stage's allowed_hosts"),
        );
    }
}

fn plugin_ref(plugin: &str, file: &Path) -> PluginRef {
    if plugin.ends_with(".wasm") || plugin.contains('/') {
        let dir = file.parent().unwrap_or(Path::new("."));
        PluginRef::File(dir.join(plugin))
    } else {
        PluginRef::Bundled(plugin.to_string())
    }
}

fn check_stages(stages: &[StageSpec], errors: &mut Errors) {
    for (i, stage) in stages.iter().enumerate() {
        if !is_identifier(&stage.name) {
            errors.push_hint(
                &format!("{}.name", stage.path),
                format!("`{}` is not a stage name", stage.name),
                "use letters, digits, `-` and `_`",
            );
        }
        if !is_identifier(&stage.kv_namespace) {
            errors.push_hint(
                &format!("{}.kv_namespace", stage.path),
                format!("`{}` is not a namespace", stage.kv_namespace),
                "use letters, digits, `-` and `_`",
            );
        }
        if let Some(first) = stages[..i].iter().find(|s| s.name == stage.name) {
            errors.push_hint(
                &format!("{}.name", stage.path),
                format!("`{}` is already the name of {}", stage.name, first.path),
                "stage names must be unique",
            );
        }
    }
}

fn top_level_stage_error(errors: &Errors) -> bool {
    errors.list.iter().any(|e| e.path == "stage")
}

/// Names that end up inside Redis keys: no `:`, so no name can reach into
/// another's keys.
pub(crate) fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_redis_url(url: &str, path: &str, errors: &mut Errors) {
    if !["redis://", "rediss://", "unix://", "redis+unix://"].iter().any(|s| url.starts_with(s)) {
        errors.push_hint(
            path,
            format!("`{url}` is not a Redis URL"),
            "write `redis://host:port` (or `rediss://` for TLS)",
        );
    }
}

fn non_empty(value: Option<String>, default: &str, path: &str, errors: &mut Errors) -> String {
    match value {
        Some(v) if v.trim().is_empty() => {
            errors.push(path, "must not be empty");
            default.to_string()
        }
        Some(v) => v,
        None => default.to_string(),
    }
}
