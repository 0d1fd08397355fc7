//! Log set-up: human lines by default, JSON on request, `RUST_LOG` filters.
//!
//! Lines go to stderr through a dedicated thread. A job never waits for its
//! log line: if whoever reads stderr stops reading (a full pipe), lines are
//! dropped instead of blocking the runtime's threads, and with them every job.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Lines queued for the writer thread before new ones are dropped. The
/// queue is allocated whole at start: the library's default of 128,000
/// lines held 4 MiB for a worker that logs a few lines a second.
const QUEUED_LINES: usize = 8_192;

/// Installs the global subscriber. Keep the guard until the end of `main`:
/// dropping it writes out the lines still queued.
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    // The writer thread takes every line queued at once, then flushes: one
    // write(2) per batch rather than per line.
    let stderr = BufWriter::with_capacity(64 << 10, std::io::stderr());
    let (stderr, guard) = NonBlockingBuilder::default().buffered_lines_limit(QUEUED_LINES).finish(stderr);
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
