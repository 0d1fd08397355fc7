//! The process-wide services a pipeline needs, built once from its config:
//! the wasmtime engine sized for the worker, the one HTTP client, the `kv`
//! backend.

use std::sync::Arc;

use anyhow::Context;
use lingo_config::MAX_STAGE_MEMORY;
use lingo_engine::capabilities::{HttpClient, KvStore};
use lingo_engine::{EngineOptions, Pipeline, Plugins, Services, StageEngine};

/// Where `kv` keeps its data.
pub enum KvBackend {
    /// In this process only (`lingo try`).
    Memory,
    /// The config's `kv_url` (the queue's Redis by default).
    Redis,
}

/// Builds the services for a worker with `worker`'s settings. Any stage may
/// ask for up to [`MAX_STAGE_MEMORY`]: the pool reserves address space per
/// instance whatever the cap, and each stage's own cap is enforced per call,
/// so a reloaded pipeline can raise a stage's memory without a restart.
pub async fn build(worker: &lingo_config::Worker, kv: KvBackend) -> anyhow::Result<Services> {
    let max_memory = MAX_STAGE_MEMORY;
    let max_instances = (worker.concurrency * 4).clamp(64, 4096) as u32;
    let options = EngineOptions {
        max_instances,
        max_idle: max_instances / 2,
        pool_slots: worker.concurrency,
        max_memory,
        cpu_accounting: worker.cpu_accounting,
        ..EngineOptions::default()
    };
    let engine = StageEngine::new(&options).context("starting the WebAssembly engine")?;
    let kv = match kv {
        KvBackend::Memory => KvStore::memory(),
        KvBackend::Redis => KvStore::redis(&worker.kv_url)
            .await
            .with_context(|| format!("connecting to the kv Redis at `{}`", worker.kv_url))?,
    };
    // Every slot may wait on the same backend at once (1,000 slots on one
    // vLLM); fewer permits would queue jobs behind the cap instead of the LLM.
    let per_backend = worker.concurrency.max(256);
    let http = HttpClient::new(1 << 20, per_backend).forbid(unreachable_from_stages(worker).await);
    Ok(Services::new(engine, Arc::new(http), kv))
}

/// Loads `config`'s stages on `services`, turning config errors into one
/// error listing them all.
pub async fn load_pipeline(config: &lingo_config::Pipeline, services: &Services) -> anyhow::Result<Pipeline> {
    let plugins = Plugins::default();
    Pipeline::load(config, &config.worker.tenant, services, &plugins)
        .await
        .map_err(|errors| anyhow::anyhow!("{errors}"))
}

/// The worker's own addresses, which no stage may reach whatever its
/// `allowed_hosts` says: the admin listener (metrics of every tenant,
/// `POST /reload`) and the Redis servers of the queue and of `kv`.
async fn unreachable_from_stages(worker: &lingo_config::Worker) -> Vec<std::net::SocketAddr> {
    let mut addresses: Vec<std::net::SocketAddr> = worker.admin_listen.into_iter().collect();
    for url in [&worker.redis_url, &worker.kv_url] {
        let Ok(client) = redis::Client::open(url.as_str()) else { continue };
        if let redis::ConnectionAddr::Tcp(host, port) | redis::ConnectionAddr::TcpTls { host, port, .. } =
            client.get_connection_info().addr()
        {
            let port = *port;
            if let Ok(found) = tokio::net::lookup_host((host.as_str(), port)).await {
                addresses.extend(found);
            }
        }
    }
    addresses
}
