//! One configured stage, and one call into it: a warm instance of this stage
//! (`warm.rs`) or a new one from the pre-instantiated plugin, given this
//! call's deadline, memory cap and capabilities; call; check it back in. A
//! trap, a timeout or a blown memory cap ends that call and that instance,
//! and nothing else.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lingo_config::{OnError, StageSpec};
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::bindings::{Outcome, Request, StageError};
use crate::capabilities::{Http, HttpClient, Kv, KvStore, Log, Scratch};
use crate::cpu::{HostCpu, StageCpu, metered};
use crate::engine::{EPOCH_TICK, StageEngine};
use crate::plugin::Plugin;
use crate::state::{CallParts, StageState};
use crate::wall::{Limit, LimitHits, Wall};
use crate::warm::{Instantiated, WarmPool};

/// Largest value a stage may put in `kv`.
const MAX_KV_VALUE: usize = 1 << 20;

/// A call that ended without the guest answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageFault {
    /// The deadline passed (a loop, or a backend that never answered).
    Timeout(Duration),
    /// The guest wanted more linear memory than its cap.
    OutOfMemory(u64),
    /// The guest panicked; the panic message.
    Panic(String),
    /// Any other trap (stack overflow, unreachable, ...).
    Trap(String),
}

impl StageFault {
    /// Only a timeout may pass by itself; a trap happens again on the same input.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StageFault::Timeout(_))
    }
}

impl fmt::Display for StageFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageFault::Timeout(t) => write!(f, "timed out after {}", humanize(*t)),
            StageFault::OutOfMemory(cap) => write!(f, "ran out of memory (limit {} MiB)", cap >> 20),
            StageFault::Panic(message) => write!(f, "panicked: {message}"),
            StageFault::Trap(message) => write!(f, "trapped: {message}"),
        }
    }
}

/// Why a stage gave no outcome: its own typed error, or a fault.
#[derive(Debug, Clone)]
pub enum StageFailure {
    /// The guest reported an error.
    Error(StageError),
    /// The call did not finish properly.
    Fault(StageFault),
}

impl fmt::Display for StageFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageFailure::Error(StageError::Retryable(m) | StageError::Fatal(m)) => f.write_str(m),
            StageFailure::Error(StageError::RateLimited(r)) => {
                write!(f, "{} (retry after {} ms)", r.message, r.retry_after_ms)
            }
            StageFailure::Fault(fault) => fmt::Display::fmt(fault, f),
        }
    }
}

/// The process-wide services every stage shares: the engine, the one HTTP
/// client, the `kv` backend, and the count of limits hit per tenant.
#[derive(Clone)]
pub struct Services {
    /// The wasmtime engine.
    pub engine: StageEngine,
    /// The one HTTP client.
    pub http: Arc<HttpClient>,
    /// The `kv` backend.
    pub kv: KvStore,
    /// How often each tenant hit each limit.
    pub hits: Arc<LimitHits>,
}

impl Services {
    /// Services over `engine`, `http` and `kv`, with no limit hit yet.
    pub fn new(engine: StageEngine, http: Arc<HttpClient>, kv: KvStore) -> Self {
        Self { engine, http, kv, hits: Arc::default() }
    }
}

/// A stage ready to be called.
pub struct Stage {
    /// Its name, as in `pipeline.toml`.
    pub name: Arc<str>,
    /// What its failure does.
    pub on_error: OnError,
    /// Extra calls on failure when `on_error = "retry"`.
    pub retries: u32,
    /// The job data fields it sees in `request.metadata`.
    pub metadata: Arc<[String]>,
    plugin: Arc<Plugin>,
    config: String,
    timeout: Duration,
    memory: u64,
    allowed: Arc<[lingo_config::AllowedHost]>,
    max_redirects: u32,
    /// Its `kv`, already scoped to the tenant and namespace: each call clones it.
    kv: Kv,
    /// The tenant's share of the process and its limits.
    wall: Wall,
    /// Its idle instances.
    warm: WarmPool,
    services: Services,
}

enum Call<'a> {
    Init,
    Process(&'a Request),
    Remember(&'a Request, &'a str, &'a str),
}

enum Reply {
    Init(Result<(), String>),
    Process(Result<Outcome, StageError>),
    Remember(Result<(), StageError>),
}

impl Stage {
    /// A stage from its spec and its loaded plugin, running inside `wall`.
    pub fn new(spec: &StageSpec, plugin: Arc<Plugin>, wall: Wall, services: Services) -> Self {
        Self {
            name: spec.name.as_str().into(),
            on_error: spec.on_error,
            retries: spec.retries,
            metadata: spec.metadata.clone().into(),
            plugin,
            config: spec.config.to_string(),
            timeout: spec.timeout,
            memory: spec.memory,
            allowed: spec.allowed_hosts.clone().into(),
            max_redirects: spec.max_redirects,
            kv: Kv::new(services.kv.clone(), &wall, &spec.kv_namespace, MAX_KV_VALUE),
            wall,
            warm: WarmPool::new(spec.instances.max_reuse(), services.engine.idle.clone()),
            services,
        }
    }

    /// Idle instances kept for later calls now.
    pub fn idle_instances(&self) -> usize {
        self.warm.idle()
    }

    /// The plugin's own check of its config.
    pub async fn init(&self) -> Result<(), String> {
        match self.call("init", Call::Init, None).await.0 {
            Ok(Reply::Init(result)) => result,
            Ok(_) => unreachable!("init answers init"),
            Err(fault) => Err(fault.to_string()),
        }
    }

    /// Asks the stage to decide on `request`; with the call's CPU when the
    /// engine counts it. `scratch` is what the stage kept for this unit so
    /// far, and becomes what the call left when the call succeeds.
    pub async fn process(
        &self,
        job_id: &str,
        request: &Request,
        scratch: &mut Option<Vec<u8>>,
    ) -> (Result<Outcome, StageFailure>, Option<StageCpu>) {
        let (reply, cpu, kept) = self.call(job_id, Call::Process(request), scratch.clone()).await;
        let result = match reply {
            Ok(Reply::Process(Ok(outcome))) => self.bounded(outcome),
            Ok(Reply::Process(Err(error))) => Err(StageFailure::Error(self.cut_error(error))),
            Ok(_) => unreachable!("process answers process"),
            Err(fault) => Err(StageFailure::Fault(fault)),
        };
        if result.is_ok() {
            *scratch = kept;
        }
        (result, cpu)
    }

    /// The outcome, unless its text is over `limits.max_translation_bytes`,
    /// or a `detected` language or `kept` reason is not one: both go into the
    /// job's result and `/metrics`, so they are checked where they come in.
    /// A detected language comes out in its normal case.
    fn bounded(&self, outcome: Outcome) -> Result<Outcome, StageFailure> {
        let max = self.wall.limits.max_translation_bytes;
        let refused = |why: String| Err(StageFailure::Error(StageError::Fatal(why)));
        match outcome {
            Outcome::Translated(text) | Outcome::Rewritten(text) if text.len() > max => {
                self.wall.hit(Limit::TranslationBytes, 1);
                refused(format!(
                    "produced {} bytes of text; the limit is {max} (limits.max_translation_bytes)",
                    text.len()
                ))
            }
            Outcome::Detected(language) => match lingo_job::normal_language(&language) {
                Some(code) => Ok(Outcome::Detected(code)),
                None => {
                    refused(format!("detected `{}`, which is not a language code", crate::wall::cut(&language, 40)))
                }
            },
            Outcome::Kept(why) if !is_reason(&why) => refused(format!(
                "kept the line with the reason `{}`; a reason is 1 to 32 of `a-z`, `0-9` and `-`",
                crate::wall::cut(&why, 40)
            )),
            outcome => Ok(outcome),
        }
    }

    /// The error with its message cut to `limits.max_error_bytes`.
    fn cut_error(&self, error: StageError) -> StageError {
        let max = self.wall.limits.max_error_bytes;
        let cut = |message: String| {
            if message.len() <= max {
                return message;
            }
            self.wall.hit(Limit::ErrorBytes, 1);
            crate::wall::cut(&message, max).into_owned()
        };
        match error {
            StageError::Retryable(m) => StageError::Retryable(cut(m)),
            StageError::Fatal(m) => StageError::Fatal(cut(m)),
            StageError::RateLimited(mut r) => {
                r.message = cut(r.message);
                StageError::RateLimited(r)
            }
        }
    }

    /// Tells the stage what a later stage translated; with the call's CPU
    /// when the engine counts it. `scratch` as in [`Self::process`].
    pub async fn remember(
        &self,
        job_id: &str,
        request: &Request,
        (translation, producer): (&str, &str),
        scratch: &mut Option<Vec<u8>>,
    ) -> (Result<(), StageFailure>, Option<StageCpu>) {
        let call = Call::Remember(request, translation, producer);
        let (reply, cpu, kept) = self.call(job_id, call, scratch.clone()).await;
        let result = match reply {
            Ok(Reply::Remember(result)) => result.map_err(|e| StageFailure::Error(self.cut_error(e))),
            Ok(_) => unreachable!("remember answers remember"),
            Err(fault) => Err(StageFailure::Fault(fault)),
        };
        if result.is_ok() {
            *scratch = kept;
        }
        (result, cpu)
    }

    /// One call, given what the stage kept in `scratch`; what it answered,
    /// its CPU, and what it left in `scratch`.
    async fn call(
        &self,
        job_id: &str,
        call: Call<'_>,
        scratch: Option<Vec<u8>>,
    ) -> (Result<Reply, StageFault>, Option<StageCpu>, Option<Vec<u8>>) {
        let engine = &self.services.engine;
        // The tenant's slice first: a tenant that fans out waits on its own.
        let _share = self.wall.instances.acquire().await.expect("tenant semaphore open");
        // Counted at its cap, which it can never pass: a hard bound.
        let _memory = self.wall.memory_room(self.memory as usize).await;
        let _instance = engine.instances.acquire().await.expect("instance semaphore open");
        let parts = self.call_parts(job_id, scratch);
        let ((reply, host, kept), polls) = metered(engine.cpu_accounting, self.call_in_instance(parts, call)).await;
        (reply, polls.zip(host).map(|(polls, host)| StageCpu::split(polls, host)), kept)
    }

    /// One call on a warm instance of this stage, or a new one; what it
    /// answered, its host calls' CPU and what it left in `scratch`. `init`
    /// always runs on a new instance that is not kept.
    async fn call_in_instance(
        &self,
        parts: CallParts,
        call: Call<'_>,
    ) -> (Result<Reply, StageFault>, Option<HostCpu>, Option<Vec<u8>>) {
        let keep = !matches!(call, Call::Init);
        let warm = if keep { self.warm.take() } else { None };
        let mut instance = match warm {
            Some(mut warm) => {
                warm.store.data_mut().begin_call(parts);
                warm
            }
            None => match self.instantiate(parts).await {
                Ok(fresh) => fresh,
                Err(fault) => return (Err(fault), None, None),
            },
        };
        instance.calls += 1;
        instance.store.set_epoch_deadline(1);
        // Epochs stop a guest that computes; this stops one that waits.
        let result = match tokio::time::timeout(self.timeout + 2 * EPOCH_TICK, self.invoke(&mut instance, call)).await {
            Err(_) => Err(StageFault::Timeout(self.timeout)),
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(err)) => Err(classify(&err, instance.store.data(), self.timeout)),
        };
        let state = instance.store.data_mut();
        // A kept instance must not keep its tenant's turn at the CPU.
        state.turn.give_up();
        state.log.report_dropped();
        let host = state.host_cpu.take();
        let kept = state.scratch.take();
        let clean = result.is_ok() && state.stderr_is_empty() && !state.limits.exceeded;
        let dropped = if keep { self.warm.give_back(instance, clean) } else { Some(instance) };
        if let Some(dropped) = dropped {
            self.services.engine.wasi.give_back(dropped.store.into_data().into_wasi());
        }
        (result, host, kept)
    }

    /// A new instance of the plugin, in a new store set up for one call.
    async fn instantiate(&self, parts: CallParts) -> Result<Instantiated, StageFault> {
        let engine = &self.services.engine;
        let state = StageState::new(engine.wasi.take(), self.memory as usize, parts);
        let mut store = Store::new(&engine.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|context| {
            let state = context.data();
            Ok(if Instant::now() >= state.deadline {
                UpdateDeadline::Interrupt
            } else {
                // Yield through tokio so a busy guest never starves timers and
                // I/O, and wait for the tenant's next turn at the CPU.
                UpdateDeadline::YieldCustom(1, Box::pin(state.turn.next()))
            })
        });
        match self.plugin.pre.instantiate(&mut store).await {
            Ok(instance) => {
                let initial_memory = store.data().limits.current();
                Ok(Instantiated { store, instance, calls: 0, initial_memory })
            }
            Err(err) => Err(classify(&err, store.data(), self.timeout)),
        }
    }

    /// Calls the export `call` asks for, through the handles the instance
    /// resolved once (no export lookup or type check per call).
    async fn invoke(&self, instance: &mut Instantiated, call: Call<'_>) -> wasmtime::Result<Reply> {
        let Instantiated { store, instance, .. } = instance;
        let config = self.config.as_str();
        Ok(match call {
            Call::Init => Reply::Init(instance.call_init(&mut *store, config).await?),
            Call::Process(request) => Reply::Process(instance.call_process(&mut *store, config, request).await?),
            Call::Remember(request, translation, producer) => {
                Reply::Remember(instance.call_remember(&mut *store, config, request, translation, producer).await?)
            }
        })
    }

    /// What belongs to one call of this stage: its deadline, turn,
    /// capabilities and scratch.
    fn call_parts(&self, job_id: &str, scratch: Option<Vec<u8>>) -> CallParts {
        let services = &self.services;
        let deadline = Instant::now() + self.timeout;
        let turn = self.wall.turn();
        let http = Http {
            client: services.http.clone(),
            allowed: self.allowed.clone(),
            deadline,
            stage: self.name.clone(),
            max_redirects: self.max_redirects,
            requests_left: Arc::new(self.wall.limits.max_http_requests.into()),
            wall: self.wall.clone(),
            turn: turn.clone(),
        };
        let log = Log::new(job_id, self.name.clone(), &self.wall);
        let scratch = Scratch::new(scratch, &self.wall);
        let cpu_accounting = services.engine.cpu_accounting;
        CallParts { http, kv: self.kv.clone(), log, scratch, deadline, turn, cpu_accounting }
    }
}

fn classify(err: &wasmtime::Error, state: &StageState, timeout: Duration) -> StageFault {
    if state.limits.exceeded {
        return StageFault::OutOfMemory(state.limits.max_bytes() as u64);
    }
    let stderr = state.stderr_text();
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => StageFault::Timeout(timeout),
        Some(Trap::StackOverflow) => StageFault::Trap("stack overflow (unbounded recursion?)".into()),
        // Rust guests keep their stack in linear memory: running off its end
        // is an out-of-bounds access, not a wasm stack overflow.
        Some(Trap::MemoryOutOfBounds) => {
            StageFault::Trap("out of bounds memory access (a stack overflow, or a memory bug in the plugin)".into())
        }
        _ if stderr.contains("panicked") => StageFault::Panic(panic_message(&stderr)),
        // A guest that reports before it traps (a JavaScript engine prints the
        // uncaught error) has said more than the trap can.
        Some(trap) if !stderr.is_empty() => StageFault::Trap(format!("{trap}: {}", stderr_summary(&stderr))),
        Some(trap) => StageFault::Trap(trap.to_string()),
        None => StageFault::Trap(format!("{err:#}")),
    }
}

/// The first lines of what a guest wrote to stderr, on one line.
fn stderr_summary(stderr: &str) -> String {
    stderr.lines().map(str::trim).filter(|l| !l.is_empty()).take(3).collect::<Vec<_>>().join(" | ")
}

/// The guest's panic line without the thread preamble.
fn panic_message(stderr: &str) -> String {
    let text = stderr.split_once("panicked at ").map(|(_, rest)| rest).unwrap_or(stderr);
    text.lines().take(2).collect::<Vec<_>>().join(" ").trim().to_string()
}

/// A `kept` reason: it becomes part of `providers` and of a metric label.
fn is_reason(why: &str) -> bool {
    (1..=32).contains(&why.len()) && why.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn humanize(d: Duration) -> String {
    if d.as_millis() < 1000 { format!("{} ms", d.as_millis()) } else { format!("{:.1} s", d.as_secs_f64()) }
}
