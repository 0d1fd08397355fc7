//! `lingo dev-llm`: the stand-in LLM server, for demos and tests. It speaks
//! the Ollama and OpenAI-compatible APIs with a pseudo-translation; it is not
//! a model.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lingo_devllm::{DevLlm, DevLlmOptions, Fault};

pub async fn serve(
    listen: SocketAddr,
    latency: Duration,
    jitter: Duration,
    fault: &str,
    fail_rate: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let fault: Fault = fault.parse().map_err(|e| anyhow::anyhow!("--fault: {e}"))?;
    let fail_rate = fail_rate.unwrap_or(if matches!(fault, Fault::None) { 0.0 } else { 1.0 });
    let options = DevLlmOptions { latency, jitter, fault, fail_rate, ..DevLlmOptions::default() };
    let server = DevLlm::start(listen, options).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(url = %server.url(), "stand-in LLM server (not a model) serving Ollama and OpenAI-compatible APIs");
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
