//! Log set-up: human lines by default, JSON on request, `RUST_LOG` filters.
//!
//! Lines go to stderr in batches, written by a thread of their own
//! ([`batch`]). A job never waits for its log line: if whoever reads stderr
//! stops reading (a full pipe), lines are dropped instead of blocking the
//! runtime's threads, and with them every job.

mod batch;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. Keep the guard until the end of `main`:
/// dropping it writes out the lines still held.
pub fn init(format: LogFormat) -> batch::Guard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    let (stderr, guard) = batch::start(std::io::stderr(), batch::Batching::default());
    // Colours only for a terminal, and not there either with `NO_COLOR` set:
    // a log file or a collector gets plain text.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = std::io::stderr().is_terminal() && !no_color;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(stderr);
    match format {
        LogFormat::Human => builder.with_target(false).compact().init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}
