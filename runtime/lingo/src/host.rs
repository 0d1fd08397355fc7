//! The worker as it runs: every tenant's queue consumed through one shared,
//! fair slot pool, on one engine, HTTP client and `kv` store, with the
//! config reloadable while jobs run.
//!
//! A plain `pipeline.toml` is one tenant holding every slot. A reload reads
//! the files again, validates them and loads every tenant's stages aside
//! (compiled, linked, each plugin's `init` run); only when all of that
//! succeeded does it swap, tenant by tenant: a changed pipeline is swapped
//! into the tenant's translator (jobs already running finish on the old
//! one), a changed weight is applied to the pool, a new tenant starts
//! consuming, a removed one stops fetching and lets its jobs finish; a
//! tenant whose queue or `max_slots` changed gets a new worker the same way. A
//! config that fails keeps the running one and says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use lingo_config::{Hosted, Tenant};
use lingo_engine::{Pipeline, Plugins, Services};
use lingo_queue::{QueueSettings, QueueWorker, SlotPool};
use redis::aio::ConnectionManager;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::{Metrics, Snapshot};
use crate::services::{self, KvBackend};
use crate::translator::{Loaded, Translator};

/// The running worker.
pub struct Host {
    path: PathBuf,
    /// The `[worker]` settings it started with; changing them needs a restart.
    worker: lingo_config::Worker,
    protocol: lingo_queue::Protocol,
    pool: SlotPool,
    services: Services,
    plugins: Plugins,
    metrics: Arc<Metrics>,
    redis: ConnectionManager,
    /// Held through a whole reload, so reloads run one at a time while
    /// `state` stays readable (metrics, health) as the new plugins compile.
    reloading: Mutex<()>,
    state: Mutex<State>,
}

struct State {
    config: Hosted,
    tenants: BTreeMap<String, Running>,
    /// Tenants removed by a reload whose last jobs may still be finishing.
    retired: Vec<JoinHandle<()>>,
    applied: u64,
    refused: u64,
    /// Why the config in the files is not the one running, if it is not.
    last_refusal: Option<String>,
    /// Set by `stop`: no reload may start workers again.
    stopping: bool,
}

/// One tenant's consuming worker.
struct Running {
    settings: QueueSettings,
    translator: Arc<Translator>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Why a reload kept the running config.
#[derive(Debug, thiserror::Error)]
pub enum ReloadRefused {
    #[error("the worker is stopping")]
    Stopping,
    /// The new config, or a tenant's stages in it, failed: every error.
    #[error("{0}")]
    Config(lingo_config::ConfigErrors),
    #[error(
        "{}: [worker] changed; its settings (Redis, protocol, slots, locks) apply only at start: restart lingo to change them",
        file.display()
    )]
    WorkerChanged { file: PathBuf },
    /// A new tenant's worker could not start (its queue, Redis).
    #[error("{0}")]
    TenantStart(String),
}

/// What a reload did.
#[derive(Debug, serde::Serialize)]
pub struct Applied {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<String>,
}

impl Host {
    /// Loads the config at `path`, every tenant's stages, and starts
    /// consuming every tenant's queue. Any error stops the start.
    pub async fn start(path: &Path) -> anyhow::Result<Arc<Self>> {
        let config = lingo_config::load_hosted(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
        let services = services::build(&config.worker, KvBackend::Redis).await?;
        let client = redis::Client::open(config.worker.redis_url.as_str()).context("the queue's Redis URL")?;
        let redis = ConnectionManager::new(client)
            .await
            .with_context(|| format!("connecting to the queue's Redis at `{}`", config.worker.redis_url))?;
        let host = Arc::new(Host {
            path: path.to_path_buf(),
            worker: config.worker.clone(),
            protocol: config.worker.protocol,
            pool: SlotPool::new(config.worker.concurrency),
            services,
            plugins: Plugins::default(),
            metrics: Arc::new(Metrics::default()),
            redis,
            reloading: Mutex::new(()),
            state: Mutex::new(State {
                config: config.clone(),
                tenants: BTreeMap::new(),
                retired: vec![],
                applied: 0,
                refused: 0,
                last_refusal: None,
                stopping: false,
            }),
        });
        let loaded = host.load_all(&config).await?;
        let mut state = host.state.lock().await;
        for (tenant, loaded) in config.tenants.iter().zip(loaded) {
            let running = host.start_tenant(tenant, loaded).await?;
            state.tenants.insert(tenant.id.clone(), running);
        }
        drop(state);
        Ok(host)
    }

    /// Where the admin endpoints are served, if anywhere.
    pub fn admin_listen(&self) -> Option<std::net::SocketAddr> {
        self.worker.admin_listen
    }

    /// The token `POST /reload` must carry, if one is set.
    pub fn admin_token(&self) -> Option<&str> {
        self.worker.admin_token.as_deref()
    }

    /// The files whose change `--watch` reloads on: the config files and
    /// every stage's component on disk (a rebuilt `.wasm`).
    pub async fn watched_files(&self) -> Vec<PathBuf> {
        let state = self.state.lock().await;
        let mut files = vec![self.path.clone()];
        for tenant in &state.config.tenants {
            files.push(tenant.pipeline.file.clone());
            files.extend(tenant.pipeline.stages.iter().filter_map(|stage| match &stage.plugin {
                lingo_config::PluginRef::File(path) => Some(path.clone()),
                lingo_config::PluginRef::Bundled(_) => None,
            }));
        }
        files
    }

    /// Reads the config again and applies it, or keeps the running one and
    /// says why not.
    #[tracing::instrument(name = "reload", skip_all, fields(file = %self.path.display()))]
    pub async fn reload(&self) -> Result<Applied, ReloadRefused> {
        let _one_at_a_time = self.reloading.lock().await;
        if self.state.lock().await.stopping {
            return Err(ReloadRefused::Stopping);
        }
        let prepared = self.prepare_reload().await;
        let mut state = self.state.lock().await;
        // `stop` may have begun while the new config compiled.
        if state.stopping {
            return Err(ReloadRefused::Stopping);
        }
        let prepared = match prepared {
            Ok((config, loaded)) => self.apply(&mut state, config, loaded).await,
            Err(reason) => Err(reason),
        };
        match prepared {
            Ok(applied) => {
                state.applied += 1;
                state.last_refusal = None;
                tracing::info!(added = ?applied.added, updated = ?applied.updated, removed = ?applied.removed, "config reloaded");
                Ok(applied)
            }
            Err(reason) => {
                state.refused += 1;
                state.last_refusal = Some(reason.to_string());
                tracing::error!("config reload refused; the running config stays:\n{reason}");
                Err(reason)
            }
        }
    }

    async fn prepare_reload(&self) -> Result<(Hosted, Vec<Loaded>), ReloadRefused> {
        let config = lingo_config::load_hosted(&self.path).map_err(ReloadRefused::Config)?;
        if config.worker != self.worker {
            return Err(ReloadRefused::WorkerChanged { file: self.path.clone() });
        }
        let loaded = self.load_all(&config).await.map_err(ReloadRefused::Config)?;
        Ok((config, loaded))
    }

    /// Loads every tenant's stages, reporting every error of every tenant.
    async fn load_all(&self, config: &Hosted) -> Result<Vec<Loaded>, lingo_config::ConfigErrors> {
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        for tenant in &config.tenants {
            let pipeline = &tenant.pipeline;
            match Pipeline::load(pipeline, &tenant.id, &self.services, &self.plugins).await {
                Ok(stages) => loaded.push(Loaded::new(stages, pipeline)),
                Err(e) => errors.extend(e.0),
            }
        }
        if errors.is_empty() { Ok(loaded) } else { Err(lingo_config::ConfigErrors(errors)) }
    }

    /// Swaps `config` in. New workers are connected before anything changes,
    /// so a tenant that cannot start fails the reload and the old config stays.
    async fn apply(&self, state: &mut State, config: Hosted, loaded: Vec<Loaded>) -> Result<Applied, ReloadRefused> {
        let mut applied = Applied { added: vec![], updated: vec![], removed: vec![] };
        let mut swaps = Vec::new();
        let mut starts = Vec::new();
        for (tenant, loaded) in config.tenants.iter().zip(loaded) {
            // A new queue, or a new `max_slots` (bullmq's crate fetches up to it by
            // itself), needs a new worker; anything else is swapped in place.
            let in_place = state.tenants.get(&tenant.id).is_some_and(|r| {
                r.settings.queue == tenant.pipeline.worker.queue && r.settings.concurrency == tenant.max_slots
            });
            if in_place {
                swaps.push((tenant, loaded));
            } else {
                match self.start_tenant(tenant, loaded).await {
                    Ok(running) => starts.push((tenant, running)),
                    Err(err) => {
                        for (_, started) in starts {
                            started.stop.cancel();
                            state.retired.push(started.task);
                        }
                        return Err(ReloadRefused::TenantStart(format!("{err:#}")));
                    }
                }
            }
        }
        let keep: Vec<&str> = config.tenants.iter().map(|t| t.id.as_str()).collect();
        let gone: Vec<String> = state.tenants.keys().filter(|id| !keep.contains(&id.as_str())).cloned().collect();
        for id in gone {
            let running = state.tenants.remove(&id).expect("listed");
            running.stop.cancel();
            state.retired.push(running.task);
            applied.removed.push(id);
        }
        for (tenant, loaded) in swaps {
            state.tenants[&tenant.id].translator.swap(loaded);
            self.pool.tenant(&tenant.id, tenant.weight, tenant.max_slots);
            applied.updated.push(tenant.id.clone());
        }
        for (tenant, running) in starts {
            if let Some(old) = state.tenants.insert(tenant.id.clone(), running) {
                old.stop.cancel();
                state.retired.push(old.task);
            }
            applied.added.push(tenant.id.clone());
        }
        state.retired.retain(|task| !task.is_finished());
        state.config = config;
        Ok(applied)
    }

    async fn start_tenant(&self, tenant: &Tenant, loaded: Loaded) -> anyhow::Result<Running> {
        let mut settings = queue_settings(&tenant.pipeline.worker);
        settings.slots = Some(self.pool.tenant(&tenant.id, tenant.weight, tenant.max_slots));
        let worker = QueueWorker::connect(settings.clone(), self.protocol)
            .await
            .with_context(|| format!("tenant `{}`: connecting to queue `{}`", tenant.id, settings.queue))?;
        let translator = Arc::new(Translator::new(&tenant.id, loaded, self.metrics.clone(), &self.worker));
        let stop = CancellationToken::new();
        // Everything the tenant's queue worker logs carries the tenant.
        let span = tracing::info_span!("tenant", tenant = %tenant.id);
        let task = tokio::spawn(
            {
                let (translator, stop) = (translator.clone(), stop.clone());
                async move {
                    if let Err(err) = worker.run(translator, stop).await {
                        tracing::error!("worker stopped: {err}");
                    }
                }
            }
            .instrument(span),
        );
        Ok(Running { settings, translator, stop, task })
    }

    /// Stops fetching for every tenant and waits for in-flight jobs (each
    /// worker within its shutdown grace).
    pub async fn stop(&self) {
        let mut state = self.state.lock().await;
        state.stopping = true;
        let mut tasks: Vec<JoinHandle<()>> = state.retired.drain(..).collect();
        for (_, running) in std::mem::take(&mut state.tenants) {
            running.stop.cancel();
            tasks.push(running.task);
        }
        drop(state);
        for task in tasks {
            let _ = task.await;
        }
    }

    /// `/metrics`: the counters and the gauges as of now.
    pub async fn metrics_text(&self) -> String {
        let state = self.state.lock().await;
        let mut queued = Vec::new();
        for (id, running) in &state.tenants {
            let mut con = self.redis.clone();
            if let Ok(depth) = lingo_queue::depth(&mut con, &running.settings, self.protocol).await {
                queued.push((id.clone(), depth.waiting()));
            }
        }
        let snapshot = Snapshot {
            slots: self
                .pool
                .usage()
                .into_iter()
                .filter(|u| state.tenants.contains_key(&u.tenant))
                .map(|u| (u.tenant, u.held, u.waiting))
                .collect(),
            queued,
            last_reload_ok: state.last_refusal.is_none(),
            reloads: (state.applied, state.refused),
            limit_hits: self.services.hits.snapshot().into_iter().map(|(t, limit, n)| (t, limit.label(), n)).collect(),
        };
        drop(state);
        self.metrics.render(&snapshot)
    }

    /// `/healthz`: whether Redis answers, the tenants running, and whether
    /// the last reload was refused (and why).
    pub async fn health(&self) -> (bool, serde_json::Value) {
        let redis_ok = redis::cmd("PING").query_async::<String>(&mut self.redis.clone()).await.is_ok();
        let state = self.state.lock().await;
        let mut tenants = Vec::new();
        for t in &state.config.tenants {
            let stages: Vec<&str> = t.pipeline.enabled_stages().map(|s| s.name.as_str()).collect();
            let mut jobs = serde_json::Value::Null;
            if let Some(running) = state.tenants.get(&t.id)
                && let Ok(depth) = lingo_queue::depth(&mut self.redis.clone(), &running.settings, self.protocol).await
            {
                jobs = serde_json::json!(depth);
            }
            tenants.push(serde_json::json!({
                "id": t.id, "queue": t.pipeline.worker.queue, "max_slots": t.max_slots, "weight": t.weight,
                "stages": stages, "jobs": jobs,
            }));
        }
        let body = serde_json::json!({
            "status": if redis_ok { "ok" } else { "redis unreachable" },
            "config": {
                "file": self.path.display().to_string(),
                "reloads_applied": state.applied,
                "reloads_refused": state.refused,
                "last_reload": if state.last_refusal.is_some() { "refused" } else { "applied" },
                "refused_because": state.last_refusal,
            },
            "tenants": tenants,
        });
        (redis_ok, body)
    }
}

/// The queue adapters' settings from a `[worker]` table.
pub fn queue_settings(worker: &lingo_config::Worker) -> QueueSettings {
    QueueSettings {
        prefix: worker.prefix.clone(),
        queue: worker.queue.clone(),
        concurrency: worker.concurrency,
        lock_duration: worker.lock_duration,
        stalled_interval: worker.stalled_interval,
        max_stalled_count: worker.max_stalled_count,
        shutdown_grace: worker.shutdown_grace,
        ..QueueSettings::new(worker.redis_url.clone())
    }
}
