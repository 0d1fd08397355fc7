//! `lingo run`: the worker. Loads the pipeline, then consumes the queue with
//! the configured protocol until SIGINT or SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use lingo_config::Protocol;
use lingo_queue::{QueueSettings, bull, bullmq};
use tokio_util::sync::CancellationToken;

use crate::services::{self, KvBackend};
use crate::translator::Translator;

pub async fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let config = lingo_config::load(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let services = services::build(&config, KvBackend::Redis).await?;
    let pipeline = services::load_pipeline(&config, &services).await?;
    let translator = Arc::new(Translator::new(pipeline));
    let settings = queue_settings(&config.worker);
    let shutdown = CancellationToken::new();
    tokio::spawn(on_signal(shutdown.clone()));
    match config.worker.protocol {
        Protocol::Bull => bull::Worker::connect(settings).await?.run(translator, shutdown).await?,
        Protocol::BullMq => bullmq::Worker::connect(settings).await?.run(translator, shutdown).await?,
    }
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// The queue adapters' settings from the `[worker]` table.
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

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
pub async fn on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("signal received: stopping");
    shutdown.cancel();
}
