//! `lingo dev-llm`: the stand-in LLM server, for demos and tests. It speaks
//! the Ollama and OpenAI-compatible APIs with a pseudo-translation; it is not
//! a model.

use std::process::ExitCode;

use anyhow::Context;
use lingo_devllm::{Behaviour, DevLlm, DevLlmOptions, Fault, Reasoning};

use crate::cli::DevLlmArgs;

pub async fn serve(args: DevLlmArgs) -> anyhow::Result<ExitCode> {
    let fault: Fault = args.fault.parse().map_err(|e| anyhow::anyhow!("--fault: {e}"))?;
    let fail_rate = args.fail_rate.unwrap_or(if matches!(fault, Fault::None) { 0.0 } else { 1.0 });
    let reasoning: Reasoning = args.reasoning.parse().map_err(|e| anyhow::anyhow!("--reasoning: {e}"))?;
    let behaviour = Behaviour {
        models: args.served_models,
        reasoning,
        reasoning_tokens: args.reasoning_tokens,
        retry_after_date: args.retry_after_date,
        mistranslate: args
            .mistranslate
            .iter()
            .map(|pair| match pair.split_once('=') {
                Some((from, to)) if !from.is_empty() => Ok((from.to_string(), to.to_string())),
                _ => Err(anyhow::anyhow!("--mistranslate: `{pair}` is not FROM=TO")),
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let options = DevLlmOptions {
        latency: args.latency,
        jitter: args.jitter,
        fault,
        fail_rate,
        api_key: args.api_key,
        behaviour,
        ..DevLlmOptions::default()
    };
    let listen = args.listen;
    let server = DevLlm::start(listen, options).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(url = %server.url(), "stand-in LLM server (not a model) serving Ollama and OpenAI-compatible APIs");
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
