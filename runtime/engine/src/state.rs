//! What a store holds: the empty WASI context, the memory limiter, and for
//! the call in progress its deadline, its turn at the CPU and the
//! capabilities with this stage's permissions. A warm instance keeps its
//! store from call to call; [`StageState::begin_call`] gives it the next
//! call's own.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::{Http, Kv, Log, Scratch};
use crate::cpu::HostCpu;
use crate::wall::Turn;

/// How much of a panic message is kept from the guest's stderr.
const STDERR_CAPTURE: usize = 4096;

/// Store data of a stage instance: of one call, or of each call in turn.
pub struct StageState {
    wasi: Wasi,
    /// The guest's resources (WASI streams): this call's alone.
    table: ResourceTable,
    /// The linear-memory cap, which remembers whether it was hit.
    pub limits: MemoryLimit,
    /// Outbound HTTP under this stage's allow-list and deadline.
    pub http: Http,
    /// Key-value store under this stage's tenant and namespace prefix.
    pub kv: Kv,
    /// Logging tagged with job and stage.
    pub log: Log,
    /// What the stage keeps for this unit's later phases.
    pub scratch: Scratch,
    /// The CPU of this call's host calls, when the engine counts it.
    pub(crate) host_cpu: Option<HostCpu>,
    /// When the call in progress must be over.
    pub(crate) deadline: Instant,
    /// The call's turn at its tenant's share of the CPU.
    pub(crate) turn: Turn,
}

/// What belongs to one call, not to the instance.
pub(crate) struct CallParts {
    pub http: Http,
    pub kv: Kv,
    pub log: Log,
    pub scratch: Scratch,
    pub deadline: Instant,
    pub turn: Turn,
    pub cpu_accounting: bool,
}

impl StageState {
    /// State for a new instance with the given WASI context and memory
    /// cap, set up for its first call.
    pub(crate) fn new(wasi: Wasi, memory: usize, call: CallParts) -> Self {
        let CallParts { http, kv, log, scratch, deadline, turn, cpu_accounting } = call;
        let host_cpu = cpu_accounting.then(HostCpu::default);
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: MemoryLimit::new(memory),
            http,
            kv,
            log,
            scratch,
            host_cpu,
            deadline,
            turn,
        }
    }

    /// Sets a warm instance up for its next call: nothing of the last
    /// call's capabilities, counts or deadline is left.
    pub(crate) fn begin_call(&mut self, call: CallParts) {
        let CallParts { http, kv, log, scratch, deadline, turn, cpu_accounting } = call;
        (self.http, self.kv, self.log, self.scratch) = (http, kv, log, scratch);
        (self.deadline, self.turn) = (deadline, turn);
        self.host_cpu = cpu_accounting.then(HostCpu::default);
        self.limits.exceeded = false;
    }

    /// Whether the guest wrote nothing to stderr (a panic writes there).
    pub(crate) fn stderr_is_empty(&self) -> bool {
        self.wasi.stderr.contents().is_empty()
    }

    /// Whether this call's CPU is counted.
    pub(crate) fn counts_cpu(&self) -> bool {
        self.host_cpu.is_some()
    }

    /// Adds the CPU of a host call, measured with [`crate::cpu::metered`] and
    /// [`Self::counts_cpu`]. (A method that took the call would need
    /// `&self` to be `Send`, which the WASI context is not.)
    pub(crate) fn add_host_cpu(&mut self, spent: Option<Duration>) {
        if let (Some(cpu), Some(spent)) = (&mut self.host_cpu, spent) {
            cpu.in_call += spent;
        }
    }

    /// Adds the CPU of a host call's own task (the HTTP exchange).
    pub(crate) fn add_task_cpu(&mut self, spent: Option<Duration>) {
        if let (Some(cpu), Some(spent)) = (&mut self.host_cpu, spent) {
            cpu.in_tasks += spent;
        }
    }

    /// What the guest wrote to stderr (its panic message, if it panicked).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.wasi.stderr.contents()).trim().to_string()
    }

    /// The WASI context, to hand on once the call is over.
    pub(crate) fn into_wasi(self) -> Wasi {
        self.wasi
    }
}

/// WASI with nothing in it: no dirs, no env, no args, no sockets. Rust's std
/// needs the interfaces linked; the empty context makes them reach nothing.
/// Its stderr is kept so a panic's message can name its cause.
pub(crate) struct Wasi {
    ctx: WasiCtx,
    stderr: MemoryOutputPipe,
}

impl Wasi {
    fn new() -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        Self { ctx: WasiCtx::builder().stderr(stderr.clone()).build(), stderr }
    }
}

/// Contexts of finished calls, handed on to the next ones. Building one
/// seeds three random generators, twice (the builder leaves a fresh builder
/// behind): about 6 % of a stage call. A context keeps nothing of the call
/// that used it: the guest's resources live in the call's own table, and
/// only a context whose stderr stayed empty is handed on.
#[derive(Default)]
pub(crate) struct WasiContexts {
    free: Mutex<Vec<Wasi>>,
}

impl WasiContexts {
    /// A context for a new call.
    pub fn take(&self) -> Wasi {
        self.free.lock().expect("wasi contexts lock").pop().unwrap_or_else(Wasi::new)
    }

    /// Takes back the context of a finished call.
    pub fn give_back(&self, wasi: Wasi) {
        if wasi.stderr.contents().is_empty() {
            self.free.lock().expect("wasi contexts lock").push(wasi);
        }
    }
}

impl WasiView for StageState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi.ctx, table: &mut self.table }
    }
}

/// A cap on linear memory that records when a guest asked for more, so an
/// out-of-memory abort can be told apart from any other trap.
pub struct MemoryLimit {
    max_bytes: usize,
    /// The largest linear memory granted so far.
    current: usize,
    /// Set when a grow request was refused.
    pub exceeded: bool,
}

impl MemoryLimit {
    fn new(max_bytes: usize) -> Self {
        Self { max_bytes, current: 0, exceeded: false }
    }

    /// The cap in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The linear memory the instance has now, in bytes.
    pub fn current(&self) -> usize {
        self.current
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        self.current = self.current.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
