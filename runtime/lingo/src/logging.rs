//! Log set-up: human lines by default, JSON on request, `RUST_LOG` filters.
//!
//! Lines go to stderr through a dedicated thread. A job never waits for its
//! log line: if whoever reads stderr stops reading (a full pipe), lines are
//! dropped instead of blocking the runtime's threads, and with them every job.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. Keep the guard until the end of `main`:
/// dropping it writes out the lines still queued.
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    let (stderr, guard) = tracing_appender::non_blocking(std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(stderr);
    match format {
        LogFormat::Human => builder.with_target(false).compact().init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}
