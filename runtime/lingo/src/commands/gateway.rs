//! `lingo gateway`: the HTTP front of the queue, for users without a gateway.
//! With a hosted config it serves every tenant, selected by API key.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lingo_gateway::{Gateway, RateLimit, TenantRoute};
use lingo_queue::Producer;
use tokio_util::sync::CancellationToken;

use super::run::on_signal;
use crate::host::queue_settings;

pub async fn serve(
    path: &Path,
    listen: Option<SocketAddr>,
    queue_timeout: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let config = lingo_config::load_hosted(path).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let protocol = config.worker.protocol;
    let mut tenants = Vec::new();
    for tenant in &config.tenants {
        let producer = Producer::connect(&queue_settings(&tenant.pipeline.worker), protocol).await?;
        tenants.push(TenantRoute {
            id: tenant.id.clone(),
            producer,
            limits: tenant.pipeline.limits,
            api_keys: tenant.api_keys.clone(),
            rate: tenant.jobs_per_second.map(RateLimit::new),
        });
    }
    let queues: Vec<&str> = config.tenants.iter().map(|t| t.pipeline.worker.queue.as_str()).collect();
    let mut gateway = Gateway::new(tenants, config.requires_api_keys, &config.gateway);
    if let Some(timeout) = queue_timeout {
        gateway = gateway.with_queue_timeout(timeout);
    }
    let addr = listen.unwrap_or(config.gateway.listen);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, queues = ?queues, "gateway listening: POST /api/v1/translate");
    let shutdown = CancellationToken::new();
    tokio::spawn(on_signal(shutdown.clone()));
    axum::serve(listener, gateway.router()).with_graceful_shutdown(shutdown.cancelled_owned()).await?;
    Ok(ExitCode::SUCCESS)
}
