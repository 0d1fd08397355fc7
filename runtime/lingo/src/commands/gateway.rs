//! `lingo gateway`: the HTTP front of the queue, for users without a gateway.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lingo_config::Protocol;
use lingo_gateway::Gateway;
use lingo_queue::Producer;
use tokio_util::sync::CancellationToken;

use super::run::{on_signal, queue_settings};

pub async fn serve(
    path: &Path,
    listen: Option<SocketAddr>,
    queue_timeout: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let config = lingo_config::load(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let protocol = match config.worker.protocol {
        Protocol::Bull => lingo_queue::Protocol::Bull,
        Protocol::BullMq => lingo_queue::Protocol::BullMq,
    };
    let producer = Producer::connect(&queue_settings(&config.worker), protocol).await?;
    let mut gateway = Gateway::new(producer, &config);
    if let Some(timeout) = queue_timeout {
        gateway = gateway.with_queue_timeout(timeout);
    }
    let addr = listen.unwrap_or(config.gateway.listen);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, queue = %config.worker.queue, "gateway listening: POST /api/v1/translate");
    let shutdown = CancellationToken::new();
    tokio::spawn(on_signal(shutdown.clone()));
    axum::serve(listener, gateway.router()).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(ExitCode::SUCCESS)
}
