//! The pipeline executor: one job through pre, translate and post stages.
//!
//! Pre stages run once, in order, on the source text. Then each target
//! language is a unit, translated concurrently with the others: the
//! translate stages are tried in order until one translates (cache → vLLM →
//! Ollama), the stages that passed are told the result (`remember`), and the
//! post stages rewrite it. Identical units in flight are computed once.

mod coalesce;
mod metadata;
mod report;
mod unit;

use std::sync::Arc;

use futures::future::join_all;
use lingo_config::{ConfigError, ConfigErrors, JobLimits, OnError, Phase, PluginRef, StageSpec};

use crate::bindings::{Outcome, Request};
use crate::plugin::Plugins;
use crate::stage::{Services, Stage};
use crate::wall::Wall;

pub use coalesce::Coalescer;
pub use lingo_job::TranslationJob;
use metadata::Metadata;
pub use report::{Decision, Failure, JobReport, Step};
use unit::{JobContext, Scratchpad, UnitKey, UnitResult, call_stage};

/// A job that did not complete, with the stage calls made before it stopped.
#[derive(Debug, Clone)]
pub struct JobFailed {
    /// Why, typed for the queue.
    pub failure: Failure,
    /// What each stage decided.
    pub steps: Vec<Step>,
}

/// A loaded pipeline: every enabled stage compiled, linked and checked.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    /// Each phase's stages in file order; a stage of several phases is in
    /// each list, one `Stage` (one set of warm instances) shared.
    pre: Vec<Arc<Stage>>,
    translate: Vec<Arc<Stage>>,
    post: Vec<Arc<Stage>>,
    limits: JobLimits,
    units: Coalescer<UnitKey, UnitResult>,
    /// The metadata fields a translate or post stage sees: a unit's share
    /// of its job's metadata.
    unit_metadata: Vec<String>,
    wall: Wall,
}

impl Pipeline {
    /// Loads the enabled stages of `config` for `tenant` and runs each
    /// plugin's own config check. Every problem is reported, as config errors
    /// pointing at the stage's `plugin` or `config`.
    ///
    /// The stages run inside a new [`Wall`]: the tenant's share of the
    /// engine's instances (by its slots, `config.worker.concurrency`) and
    /// its limits. A reload loads a new pipeline and so a new wall; jobs
    /// still running on the old one finish within the old one.
    pub async fn load(
        config: &lingo_config::Pipeline,
        tenant: &str,
        services: &Services,
        plugins: &Plugins,
    ) -> Result<Self, ConfigErrors> {
        let slots = config.worker.concurrency;
        let (instances, cores) = (services.engine.tenant_share(slots), services.engine.tenant_cores(slots));
        let wall = Wall::new(tenant, config.limits, instances, cores, services.hits.clone());
        let mut errors = Vec::new();
        let mut stages = Vec::new();
        for spec in config.enabled_stages() {
            match load_stage(spec, &wall, services, plugins).await {
                Ok(stage) => stages.push((Arc::new(stage), &spec.phases)),
                Err(why) => errors.push(why.into_config_error(&config.file, &spec.path)),
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let mut inner = Inner {
            pre: vec![],
            translate: vec![],
            post: vec![],
            limits: config.limits,
            units: Coalescer::new(),
            unit_metadata: vec![],
            wall,
        };
        for (stage, phases) in stages {
            for phase in phases {
                match phase {
                    Phase::Pre => inner.pre.push(stage.clone()),
                    Phase::Translate => inner.translate.push(stage.clone()),
                    Phase::Post => inner.post.push(stage.clone()),
                }
            }
        }
        let later = inner.translate.iter().chain(&inner.post);
        inner.unit_metadata = later.flat_map(|stage| stage.metadata.iter().cloned()).collect();
        inner.unit_metadata.sort();
        inner.unit_metadata.dedup();
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Parses and checks a job's data against this pipeline's limits.
    pub fn parse_job(&self, data: &str) -> Result<TranslationJob, String> {
        TranslationJob::parse(data, &self.inner.limits)
    }

    /// How many units joined an identical one already in flight, so far.
    pub fn coalesced_units(&self) -> u64 {
        self.inner.units.joined()
    }

    /// Units being computed now.
    pub fn units_in_flight(&self) -> usize {
        self.inner.units.in_flight()
    }

    /// The tenant's wall this pipeline runs in.
    pub fn wall(&self) -> &Wall {
        &self.inner.wall
    }

    /// Runs `job` through the stages, within the job deadline if one is set
    /// (`limits.job_timeout`); a job past it fails as retryable.
    pub async fn run(&self, job_id: &str, job: &TranslationJob) -> Result<JobReport, JobFailed> {
        let Some(deadline) = self.inner.limits.job_timeout else { return self.run_stages(job_id, job).await };
        match tokio::time::timeout(deadline, self.run_stages(job_id, job)).await {
            Ok(result) => result,
            Err(_) => Err(JobFailed {
                failure: Failure::Retryable(format!("the job took longer than its deadline of {deadline:?}")),
                steps: vec![],
            }),
        }
    }

    async fn run_stages(&self, job_id: &str, job: &TranslationJob) -> Result<JobReport, JobFailed> {
        let mut steps = Vec::new();
        let metadata = Metadata::parse(&job.metadata);
        let Prepared { text, source, mut scratch } = match self.pre(job_id, job, &metadata, &mut steps).await {
            Ok(prepared) => prepared,
            Err(failure) => return Err(JobFailed { failure, steps }),
        };
        // A unit holds what its own stages can read, and no more, so it is
        // shared with every job that would see the same.
        let later = |name: &Arc<str>| self.inner.translate.iter().chain(&self.inner.post).any(|s| s.name == *name);
        scratch.retain(|name, _| later(name));
        let context = Arc::new(JobContext {
            original: job.text.clone(),
            metadata: metadata.view(&self.inner.unit_metadata),
            scratch,
        });
        let job_id: Arc<str> = job_id.into();
        let units = job.target_languages.iter().map(|target| {
            let key =
                UnitKey { text: text.clone(), source: source.clone(), target: target.clone(), job: context.clone() };
            let compute = unit::translate(self.inner.clone(), job_id.clone(), key.clone());
            self.inner.units.run(key, compute)
        });
        let results = join_all(units).await;
        let mut report = JobReport {
            translations: Default::default(),
            source_language: source,
            providers: Default::default(),
            steps,
            coalesced: 0,
        };
        let mut failures = Vec::new();
        for (target, (result, joined)) in job.target_languages.iter().zip(results) {
            report.coalesced += usize::from(joined);
            // A joined unit's calls were made, and are reported, by the job that ran it.
            if !joined {
                report.steps.extend(result.steps);
            }
            match result.outcome {
                Ok((translation, provider)) => {
                    report.translations.insert(target.clone(), translation);
                    report.providers.insert(target.clone(), provider);
                }
                Err(failure) => failures.push(failure),
            }
        }
        if failures.is_empty() {
            Ok(report)
        } else {
            Err(JobFailed { failure: Failure::combine(failures), steps: report.steps })
        }
    }

    /// Tells every translate stage a known translation, as `remember` after
    /// a translation by `import` (how `lingo cache-import` fills a cache).
    pub async fn remember_known(
        &self,
        text: &str,
        source: Option<&str>,
        target: &str,
        translation: &str,
    ) -> Result<(), String> {
        let request = Request {
            phase: crate::bindings::Phase::Translate,
            job_id: "import".into(),
            text: text.into(),
            source_language: source.map(str::to_string),
            target_language: Some(target.into()),
            translation: None,
            original: text.into(),
            metadata: "{}".into(),
        };
        for stage in &self.inner.translate {
            stage
                .remember("import", &request, (translation, "import"), &mut None)
                .await
                .0
                .map_err(|e| format!("stage `{}`: {e}", stage.name))?;
        }
        Ok(())
    }

    /// The pre stages, in order, on the source text.
    async fn pre(
        &self,
        job_id: &str,
        job: &TranslationJob,
        metadata: &Metadata,
        steps: &mut Vec<Step>,
    ) -> Result<Prepared, Failure> {
        let mut text = job.text.clone();
        let mut source = job.source_language.clone();
        let mut scratch = Scratchpad::new();
        for stage in &self.inner.pre {
            let request = Request {
                phase: crate::bindings::Phase::Pre,
                job_id: job_id.into(),
                text: text.clone(),
                source_language: source.clone(),
                target_language: None,
                translation: None,
                original: job.text.clone(),
                metadata: metadata.view(&stage.metadata),
            };
            match call_stage(stage, job_id, &request, None, &mut scratch, steps).await {
                Ok(Outcome::Rewritten(new)) => text = new,
                Ok(Outcome::Detected(language)) => source = Some(language),
                Ok(_) => {}
                Err(_) if stage.on_error == OnError::Next => {}
                Err(failure) => return Err(failure),
            }
        }
        Ok(Prepared { text, source, scratch })
    }
}

/// What the pre stages left for the units.
struct Prepared {
    /// The line as rewritten.
    text: String,
    /// Its language: given by the producer, or detected.
    source: Option<String>,
    /// What each pre stage kept in scratch.
    scratch: Scratchpad,
}

/// Why a stage did not load: the key of its table at fault, what went
/// wrong, and what to do about it.
struct LoadError {
    key: &'static str,
    message: String,
    hint: Option<String>,
}

impl LoadError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self { key, message: message.into(), hint: None }
    }

    fn with_hint(self, hint: String) -> Self {
        Self { hint: Some(hint), ..self }
    }

    /// As a config error of the stage table at `stage_path` in `file`.
    fn into_config_error(self, file: &std::path::Path, stage_path: &str) -> ConfigError {
        let error = ConfigError::new(file, format!("{stage_path}.{}", self.key), self.message);
        match self.hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
    }
}

async fn load_stage(spec: &StageSpec, wall: &Wall, services: &Services, plugins: &Plugins) -> Result<Stage, LoadError> {
    let (name, wasm) = plugin_bytes(&spec.plugin)?;
    let plugin = plugins.get(&services.engine, &name, &wasm).map_err(|e| LoadError::new("plugin", e.to_string()))?;
    let stage = Stage::new(spec, plugin, wall.clone(), services.clone());
    stage
        .init()
        .await
        .map_err(|why| LoadError::new("config", format!("plugin `{name}` rejected its config: {why}")))?;
    Ok(stage)
}

fn plugin_bytes(plugin: &PluginRef) -> Result<(String, std::borrow::Cow<'static, [u8]>), LoadError> {
    match plugin {
        PluginRef::Bundled(name) => match lingo_bundled::find(name) {
            Some(bundled) => Ok((name.clone(), bundled.wasm.into())),
            None => Err(LoadError::new("plugin", format!("no bundled plugin is called `{name}`")).with_hint(format!(
                "bundled plugins: {}; or give a path to a `.wasm` component",
                lingo_bundled::names().join(", ")
            ))),
        },
        PluginRef::File(path) => match std::fs::read(path) {
            Ok(bytes) => Ok((path.display().to_string(), bytes.into())),
            Err(e) => Err(LoadError::new("plugin", format!("cannot read `{}`: {e}", path.display()))),
        },
    }
}
