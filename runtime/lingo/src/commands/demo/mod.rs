//! `lingo demo`: the whole system in one command. Starts what is missing —
//! a `redis-server` in a temp dir, the stand-in LLM server (unless
//! `VLLM_URL`/`OLLAMA_URL` answer), a worker and a gateway — sends a burst of
//! realistic chat (`lingo_chat`) through the gateway, prints what came back
//! and a summary with the LLM calls the `detect` and `cache` stages saved,
//! and stops everything it started.

mod report;
mod system;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use report::Outcome;
use system::System;

/// Lines in the burst.
const LINES: usize = 400;
/// Requests in flight at once, as from a busy chat.
const IN_FLIGHT: usize = 64;

pub async fn demo(keep_running: bool) -> anyhow::Result<ExitCode> {
    let system = System::start().await?;
    eprintln!("{}", system.describe());
    // The same burst every run.
    let burst = lingo_chat::corpus(LINES, 7);
    let bar = ProgressBar::new(burst.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} chat lines {bar:40} {pos}/{len} {elapsed_precise} {msg}")
            .expect("valid template"),
    );
    let client = reqwest::Client::new();
    let url = system.translate_url();
    let started = Instant::now();
    let outcomes: Vec<Outcome> = futures::stream::iter(burst)
        .map(|line| {
            let (client, url, bar) = (client.clone(), url.clone(), bar.clone());
            async move {
                let outcome = report::send(&client, &url, line).await;
                bar.inc(1);
                outcome
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    report::print(&outcomes, elapsed, system.llm_requests());
    let all_ok = outcomes.iter().all(|o| o.ok());
    if keep_running {
        eprintln!("\n{}\nCtrl-C stops everything.", system.how_to_reach());
        tokio::signal::ctrl_c().await?;
    }
    system.stop().await;
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// How long the demo waits for a component to come up.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);
