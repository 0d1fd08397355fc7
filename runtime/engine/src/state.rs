//! What a store holds for one stage call: the empty WASI context, the
//! capabilities with this stage's permissions, and the memory limiter.

use std::sync::Mutex;
use std::time::Duration;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::{Http, Kv, Log};
use crate::cpu::HostCpu;

/// How much of a panic message is kept from the guest's stderr.
const STDERR_CAPTURE: usize = 4096;

/// Store data of one stage call; dropped with the store when the call ends.
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
    /// The CPU of this call's host calls, when the engine counts it.
    pub(crate) host_cpu: Option<HostCpu>,
}

impl StageState {
    /// State for one call with the given WASI context, capabilities and
    /// memory cap; `cpu_accounting` counts its host calls' CPU.
    pub(crate) fn new(wasi: Wasi, http: Http, kv: Kv, log: Log, memory: usize, cpu_accounting: bool) -> Self {
        let host_cpu = cpu_accounting.then(HostCpu::default);
        Self { wasi, table: ResourceTable::new(), limits: MemoryLimit::new(memory), http, kv, log, host_cpu }
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
    /// Set when a grow request was refused.
    pub exceeded: bool,
}

impl MemoryLimit {
    fn new(max_bytes: usize) -> Self {
        Self { max_bytes, exceeded: false }
    }

    /// The cap in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.max_bytes;
        self.exceeded |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
