//! `lingo`: a drop-in worker for Bull queues that translates chat through
//! sandboxed WebAssembly stages.
//!
//! Subcommands (`cli.rs` has them all, `commands/` one module each): `run`
//! (the worker), `reload` and `status` (a running worker, through its admin
//! endpoints), `check` (validate a pipeline), `try` (one line through the
//! pipeline, no Redis), `gateway` (`POST /api/v1/translate`), `demo`,
//! `cache-import`, `dev-llm` (the stand-in LLM server), `new stage` (a stage
//! project from `templates/`). This crate is glue:
//! config from `lingo-config`, stages from `lingo-engine`, queues from
//! `lingo-queue`; the places that see both queue and engine are
//! [`translator`] (a job through the pipeline) and [`host`] (tenants' workers
//! on one engine).

mod admin;
mod allocator;
mod cli;
mod commands;
mod host;
mod logging;
mod metrics;
mod services;
mod translator;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let log = logging::init(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = runtime.block_on(commands::dispatch(cli.command));
    // The log's last lines come before the final word.
    drop(log);
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, as `main` reports them.
fn chain(err: &anyhow::Error) -> String {
    err.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")
}
