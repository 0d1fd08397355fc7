//! `lingo run`: the worker. Starts the [`Host`] on a pipeline or a hosted
//! config, serves the admin endpoints if configured, reloads on SIGHUP (and
//! on file changes with `--watch`), and stops on SIGINT or SIGTERM after
//! in-flight jobs finish.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::admin;
use crate::host::Host;

/// How often `--watch` looks at the config files.
const WATCH_EVERY: Duration = Duration::from_secs(1);

pub async fn run(path: &Path, watch: bool) -> anyhow::Result<ExitCode> {
    let host = Host::start(path).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(on_signal(shutdown.clone()));
    tokio::spawn(reload_on_hangup(host.clone()));
    if watch {
        tokio::spawn(reload_on_change(host.clone()));
    }
    if let Some(addr) = host.admin_listen() {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("admin_listen {addr}"))?;
        tracing::info!(%addr, "admin endpoints: GET /metrics, GET /healthz, POST /reload");
        let (router, stop) = (admin::router(host.clone()), shutdown.clone());
        tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await });
    }
    shutdown.cancelled().await;
    host.stop().await;
    tracing::info!("worker stopped");
    Ok(ExitCode::SUCCESS)
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

async fn reload_on_hangup(host: Arc<Host>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    while hangup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the config");
        let _ = host.reload().await;
    }
}

/// Reloads when any watched file's modification time changes (a config
/// file, or a stage's `.wasm`).
async fn reload_on_change(host: Arc<Host>) {
    let mut seen = modified(&host.watched_files().await);
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let now = modified(&host.watched_files().await);
        if now != seen {
            tracing::info!("config or plugin files changed: reloading");
            let _ = host.reload().await;
            // Read again: a reload can add tenants and so files.
            seen = modified(&host.watched_files().await);
        }
    }
}

fn modified(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files.iter().map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).collect()
}
