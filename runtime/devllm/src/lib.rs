//! lingo's stand-in LLM server, for tests, the demo and the benchmarks.
//!
//! **It is not a model.** No model can run where lingo is tested, so this
//! crate serves the two API shapes lingo's translation plugins talk to —
//! Ollama (`/api/chat`, `/api/generate`, `/api/tags`) and OpenAI/vLLM
//! (`/v1/chat/completions`, `/v1/models`) — with real field names, and
//! answers with a deterministic pseudo-translation: a small phrase table of
//! common chat lines, otherwise `[<target>] <text>`. Every response carries
//! `x-lingo-stand-in: true`.
//!
//! On top it injects what real servers do to clients: latency with jitter,
//! and faults — error statuses with `Retry-After`, slowness, malformed JSON,
//! dropped connections — on a deterministic fraction of requests, changeable
//! at runtime through `POST /faults`. `GET /stats` counts requests per path.
//!
//! ## Map
//! - [`DevLlm`] / [`serve`] (this file): start, address, shutdown.
//! - `routes/`: the router and the path every model request takes
//!   (`mod.rs`), the Ollama and OpenAI shapes, the control endpoints.
//! - `prompt.rs`: reading the text and target language out of a prompt —
//!   the format plugin authors must match is documented there.
//! - `phrases.rs`: the phrase table and [`translate`].
//! - `faults.rs`: [`Fault`], latency, and which request gets which fault.
//! - `behaviour.rs`: [`Behaviour`], the reply shapes beyond the happy path
//!   (served models, reasoning, length limits, `Retry-After` as a date).
//! - `stats.rs`: request counters. `conn.rs`: connections a handler can cut.
//!
//! ## Deliberately absent
//! No real streaming (a streaming request gets its whole reply in one NDJSON
//! line or one SSE chunk), no tokenizer (token counts are characters / 4),
//! no persistence, no TLS.

mod behaviour;
mod conn;
mod faults;
mod phrases;
mod prompt;
mod routes;
mod stats;

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use behaviour::{Behaviour, Reasoning};
pub use faults::{DEFAULT_RETRY_AFTER_SECS, Fault, ParseFaultError};
pub use phrases::translate;
pub use routes::STAND_IN_HEADER;

use conn::{ConnHandle, DropListener};
use faults::{FaultState, Settings, check_fail_rate};
use routes::{App, AppState};
use stats::Stats;

/// How long [`DevLlm::shutdown`] waits for open connections before it
/// abandons them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the server behaves at start; `POST /faults` changes it later.
#[derive(Debug, Clone, PartialEq)]
pub struct DevLlmOptions {
    /// Every model request waits this long before its outcome.
    pub latency: Duration,
    /// The wait is uniform in `latency ± jitter` (never below zero).
    pub jitter: Duration,
    /// Fraction in `[0, 1]` of model requests that get `fault`. Defaults to
    /// `1`, so setting only `fault` faults every request; `0` never does.
    pub fail_rate: f64,
    /// What goes wrong with a faulted request.
    pub fault: Fault,
    /// Which requests are faulted and their jitter follow from
    /// `(seed, request number)`.
    pub seed: u64,
    /// When set, model requests without `Authorization: Bearer <key>` get 401.
    pub api_key: Option<String>,
    /// The reply shapes beyond the happy path.
    pub behaviour: Behaviour,
}

impl Default for DevLlmOptions {
    fn default() -> Self {
        DevLlmOptions {
            latency: Duration::from_millis(200),
            jitter: Duration::ZERO,
            fail_rate: 1.0,
            fault: Fault::None,
            seed: 1,
            api_key: None,
            behaviour: Behaviour::default(),
        }
    }
}

/// A running stand-in server. Dropping it shuts the server down gracefully
/// in the background; [`DevLlm::shutdown`] waits for that.
#[must_use = "dropping a DevLlm shuts the server down"]
#[derive(Debug)]
pub struct DevLlm {
    addr: SocketAddr,
    /// Shared with the handlers, for [`DevLlm::requests`].
    app: App,
    /// Dropping it starts the shutdown.
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl DevLlm {
    /// Binds `addr` (port `0` picks a free port) and serves in a spawned task.
    pub async fn start(addr: SocketAddr, options: DevLlmOptions) -> io::Result<DevLlm> {
        let (app, closer) = build(options)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(run(listener, Arc::clone(&app), closer, shutdown));
        tracing::info!(%addr, "lingo-devllm stand-in LLM server listening");
        Ok(DevLlm { addr, app, stop, task })
    }

    /// The bound address, with the real port when started on port `0`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (a wildcard bind is reached over loopback).
    pub fn url(&self) -> String {
        let ip = match self.addr {
            SocketAddr::V4(a) if a.ip().is_unspecified() => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(a) if a.ip().is_unspecified() => Ipv6Addr::LOCALHOST.into(),
            other => other.ip(),
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// Requests that reached the handler of model API `path` (like
    /// `/v1/chat/completions`) since start or the last `POST /stats/reset`.
    pub fn requests(&self, path: &str) -> u64 {
        self.app.stats.get(path)
    }

    /// Stops accepting, cuts pending delays short (those requests get 503),
    /// lets open connections finish and returns; gives up on connections
    /// still open after 5 s.
    pub async fn shutdown(self) {
        let DevLlm { stop, mut task, .. } = self;
        drop(stop);
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => tracing::warn!(cause = %err, "lingo-devllm stopped with an error"),
            Ok(Err(err)) => tracing::warn!(cause = %err, "lingo-devllm task failed"),
            Err(_) => {
                tracing::warn!("lingo-devllm connections still open after shutdown grace; abandoning them");
                task.abort();
            }
        }
    }
}

/// Serves on `listener` until `shutdown` completes, then shuts down like
/// [`DevLlm::shutdown`] (without its 5 s limit).
pub async fn serve(
    listener: TcpListener,
    options: DevLlmOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (app, closer) = build(options)?;
    run(listener, app, closer, shutdown).await
}

/// Checks the options and builds the handlers' state, plus the sender that
/// tells pending handlers the server is closing.
fn build(options: DevLlmOptions) -> io::Result<(App, watch::Sender<bool>)> {
    let fail_rate = check_fail_rate(options.fail_rate).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let settings = Settings {
        latency: options.latency,
        jitter: options.jitter,
        fail_rate,
        fault: options.fault,
        seed: options.seed,
    };
    let (closer, closing) = watch::channel(false);
    let app = AppState {
        stats: Stats::new(),
        faults: FaultState::new(settings),
        api_key: options.api_key,
        behaviour: options.behaviour,
        closing,
        started: SystemTime::now(),
        replies: AtomicU64::new(0),
    };
    Ok((Arc::new(app), closer))
}

async fn run(
    listener: TcpListener,
    app: App,
    closer: watch::Sender<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let signal = async move {
        shutdown.await;
        closer.send_replace(true);
    };
    let service = routes::router(app).into_make_service_with_connect_info::<ConnHandle>();
    axum::serve(DropListener::new(listener), service).with_graceful_shutdown(signal).await
}
